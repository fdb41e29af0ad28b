//! Reader for classic pcap files (the tcpdump format), reduced to what
//! fixtures, `sipwall replay` and the benches need: each recorded frame as the
//! IP packet inside it, so it can go straight into `packet::Packet::parse`
//! exactly like a packet NFQUEUE hands over.
//!
//! The whole file is read into memory once and packets are borrowed slices
//! of it: captures we replay are small, and borrowing keeps the per-packet
//! path free of copies. Link types understood: Ethernet (with 802.1Q/802.1ad
//! tags), Linux cooked capture v1 and v2 (`tcpdump -i any`) and raw IP.
//! pcapng is recognised and refused with a hint how to convert it. A broken
//! file is an error, never a panic.

use std::fmt;
use std::path::{Path, PathBuf};

/// Link-layer header type from the pcap global header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkType {
    /// DLT_EN10MB (1).
    Ethernet,
    /// DLT_LINUX_SLL (113), `tcpdump -i any` before libpcap 1.10.
    LinuxSll,
    /// DLT_LINUX_SLL2 (276), `tcpdump -i any` since libpcap 1.10.
    LinuxSll2,
    /// DLT_RAW (101 or 12), DLT_IPV4 (228), DLT_IPV6 (229): no link header.
    RawIp,
}

impl LinkType {
    fn from_code(code: u32) -> Option<LinkType> {
        match code {
            1 => Some(LinkType::Ethernet),
            113 => Some(LinkType::LinuxSll),
            276 => Some(LinkType::LinuxSll2),
            12 | 14 | 101 | 228 | 229 => Some(LinkType::RawIp),
            _ => None,
        }
    }
}

/// Why a capture could not be read.
#[derive(Debug)]
pub enum PcapError {
    /// The file could not be opened or read.
    Io { file: PathBuf, err: std::io::Error },
    /// Shorter than the 24-byte global header.
    TooShort,
    /// A pcapng file; we read only classic pcap.
    Pcapng,
    /// Not a pcap file at all (the 4-byte magic number is unknown).
    BadMagic(u32),
    /// A link type we do not unwrap.
    UnsupportedLinkType(u32),
    /// A record header or record body runs past the end of the file.
    Truncated { record: usize, offset: usize },
    /// A file-level error, with the file name attached.
    InFile { file: PathBuf, err: Box<PcapError> },
}

impl fmt::Display for PcapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PcapError::Io { file, err } => write!(f, "{}: cannot read: {err}", file.display()),
            PcapError::TooShort => f.write_str("not a pcap file: shorter than the 24-byte header"),
            PcapError::Pcapng => f.write_str(
                "pcapng is not supported; convert it with `editcap -F pcap IN.pcapng OUT.pcap` \
                 or capture with `tcpdump -w` (classic pcap)",
            ),
            PcapError::BadMagic(m) => write!(
                f,
                "not a pcap file: magic number {m:#010x}, expected 0xa1b2c3d4 or 0xa1b23c4d"
            ),
            PcapError::UnsupportedLinkType(t) => write!(
                f,
                "unsupported link type {t}; expected Ethernet (1), Linux cooked (113, 276) \
                 or raw IP (101, 228, 229)"
            ),
            PcapError::Truncated { record, offset } => write!(
                f,
                "capture truncated in record {record} at byte {offset} (was the capture \
                 interrupted?)"
            ),
            PcapError::InFile { file, err } => write!(f, "{}: {err}", file.display()),
        }
    }
}

impl std::error::Error for PcapError {}

/// One recorded frame, unwrapped down to its IP packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Record<'a> {
    /// 0-based index of the record in the file (counting non-IP frames too).
    pub index: usize,
    /// Capture time: seconds since the epoch.
    pub ts_sec: u32,
    /// Capture time: microseconds (or nanoseconds for nanosecond files,
    /// normalised here to microseconds).
    pub ts_usec: u32,
    /// The IPv4/IPv6 packet, starting at the IP header; link padding removed.
    pub ip: &'a [u8],
}

/// A capture held in memory. `Capture::read` for files, `Capture::new` for
/// bytes already in memory (tests, fuzzing).
pub struct Capture {
    data: Vec<u8>,
}

impl Capture {
    /// Reads and checks a pcap file.
    pub fn read(path: &Path) -> Result<Capture, PcapError> {
        let data = std::fs::read(path).map_err(|err| PcapError::Io {
            file: path.to_path_buf(),
            err,
        })?;
        Reader::new(&data).map_err(|err| PcapError::InFile {
            file: path.to_path_buf(),
            err: Box::new(err),
        })?;
        Ok(Capture { data })
    }

    /// Wraps bytes already read; checks the header.
    pub fn new(data: Vec<u8>) -> Result<Capture, PcapError> {
        Reader::new(&data)?;
        Ok(Capture { data })
    }

    /// Iterates over the IP packets of the capture.
    pub fn packets(&self) -> Reader<'_> {
        // The header was checked when the capture was built.
        match Reader::new(&self.data) {
            Ok(r) => r,
            Err(_) => Reader::empty(),
        }
    }
}

/// Iterator over the IP packets of a pcap held in a byte slice. Frames that
/// carry no IP packet (ARP, LLDP, ...) are skipped. After an error the
/// iterator ends.
pub struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
    big_endian: bool,
    nanos: bool,
    link: LinkType,
    index: usize,
    failed: bool,
}

impl<'a> Reader<'a> {
    /// Checks the global header of `data`.
    pub fn new(data: &'a [u8]) -> Result<Reader<'a>, PcapError> {
        if data.len() >= 4 && data[..4] == [0x0a, 0x0d, 0x0d, 0x0a] {
            return Err(PcapError::Pcapng);
        }
        if data.len() < 24 {
            return Err(PcapError::TooShort);
        }
        let magic = u32::from_le_bytes([data[0], data[1], data[2], data[3]]);
        let (big_endian, nanos) = match magic {
            0xa1b2_c3d4 => (false, false),
            0xa1b2_3c4d => (false, true),
            0xd4c3_b2a1 => (true, false),
            0x4d3c_b2a1 => (true, true),
            other => return Err(PcapError::BadMagic(other)),
        };
        let code = read_u32(data, 20, big_endian).unwrap_or(0);
        // The upper bits of the field may carry FCS information.
        let link =
            LinkType::from_code(code & 0x0fff_ffff).ok_or(PcapError::UnsupportedLinkType(code))?;
        Ok(Reader {
            data,
            pos: 24,
            big_endian,
            nanos,
            link,
            index: 0,
            failed: false,
        })
    }

    fn empty() -> Reader<'a> {
        Reader {
            data: &[],
            pos: 0,
            big_endian: false,
            nanos: false,
            link: LinkType::RawIp,
            index: 0,
            failed: true,
        }
    }

    /// The capture's link type.
    pub fn link_type(&self) -> LinkType {
        self.link
    }
}

impl<'a> Iterator for Reader<'a> {
    type Item = Result<Record<'a>, PcapError>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.failed && self.pos < self.data.len() {
            let index = self.index;
            let header = self.pos;
            let fields = (
                read_u32(self.data, header, self.big_endian),
                read_u32(self.data, header + 4, self.big_endian),
                read_u32(self.data, header + 8, self.big_endian),
            );
            let (ts_sec, frac, caplen) = match fields {
                (Some(a), Some(b), Some(c)) => (a, b, c as usize),
                _ => return self.fail(index, header),
            };
            let body = header + 16;
            let end = match body.checked_add(caplen) {
                Some(end) if end <= self.data.len() => end,
                _ => return self.fail(index, header),
            };
            self.pos = end;
            self.index += 1;
            let ts_usec = if self.nanos { frac / 1000 } else { frac };
            if let Some(ip) = unwrap_link(self.link, &self.data[body..end]) {
                return Some(Ok(Record {
                    index,
                    ts_sec,
                    ts_usec,
                    ip: trim_to_ip_length(ip),
                }));
            }
        }
        None
    }
}

impl<'a> Reader<'a> {
    fn fail(&mut self, record: usize, offset: usize) -> Option<Result<Record<'a>, PcapError>> {
        self.failed = true;
        Some(Err(PcapError::Truncated { record, offset }))
    }
}

fn read_u32(data: &[u8], at: usize, big_endian: bool) -> Option<u32> {
    let b = data.get(at..at.checked_add(4)?)?;
    let b = [b[0], b[1], b[2], b[3]];
    Some(if big_endian {
        u32::from_be_bytes(b)
    } else {
        u32::from_le_bytes(b)
    })
}

const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86dd;
const ETHERTYPE_VLAN: u16 = 0x8100;
const ETHERTYPE_QINQ: u16 = 0x88a8;

fn be16(b: &[u8], at: usize) -> Option<u16> {
    let s = b.get(at..at + 2)?;
    Some(u16::from_be_bytes([s[0], s[1]]))
}

/// Strips the link-layer header; `None` for frames that carry no IP.
fn unwrap_link(link: LinkType, frame: &[u8]) -> Option<&[u8]> {
    let (ethertype, start) = match link {
        LinkType::RawIp => return ip_version_ok(frame),
        LinkType::Ethernet => {
            let mut at = 12;
            let mut ty = be16(frame, at)?;
            // At most two stacked tags (802.1ad + 802.1Q).
            for _ in 0..2 {
                if ty == ETHERTYPE_VLAN || ty == ETHERTYPE_QINQ {
                    at += 4;
                    ty = be16(frame, at)?;
                }
            }
            (ty, at + 2)
        }
        LinkType::LinuxSll => (be16(frame, 14)?, 16),
        LinkType::LinuxSll2 => (be16(frame, 0)?, 20),
    };
    match ethertype {
        ETHERTYPE_IPV4 | ETHERTYPE_IPV6 => ip_version_ok(frame.get(start..)?),
        _ => None,
    }
}

fn ip_version_ok(ip: &[u8]) -> Option<&[u8]> {
    match ip.first()? >> 4 {
        4 | 6 => Some(ip),
        _ => None,
    }
}

/// Ethernet pads short frames to 60 bytes; NFQUEUE never shows that padding,
/// so remove it to hand over exactly what the kernel would.
fn trim_to_ip_length(ip: &[u8]) -> &[u8] {
    let declared = match ip.first().map(|b| b >> 4) {
        Some(4) => be16(ip, 2).map(usize::from),
        Some(6) => be16(ip, 4).map(|l| usize::from(l) + 40),
        _ => None,
    };
    match declared {
        Some(len) if len >= 20 && len < ip.len() => &ip[..len],
        _ => ip,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(link: u32) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
        v.extend_from_slice(&2u16.to_le_bytes());
        v.extend_from_slice(&4u16.to_le_bytes());
        v.extend_from_slice(&[0; 8]);
        v.extend_from_slice(&65535u32.to_le_bytes());
        v.extend_from_slice(&link.to_le_bytes());
        v
    }

    fn record(v: &mut Vec<u8>, frame: &[u8]) {
        v.extend_from_slice(&1u32.to_le_bytes());
        v.extend_from_slice(&2u32.to_le_bytes());
        v.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        v.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        v.extend_from_slice(frame);
    }

    // A minimal IPv4 header claiming a total length of 20.
    const IPV4: [u8; 20] = [
        0x45, 0, 0, 20, 0, 0, 0, 0, 64, 17, 0, 0, 192, 0, 2, 1, 192, 0, 2, 2,
    ];

    #[test]
    fn ethernet_frames_are_unwrapped_and_padding_removed() {
        let mut file = header(1);
        let mut frame = vec![0u8; 12];
        frame.extend_from_slice(&[0x08, 0x00]);
        frame.extend_from_slice(&IPV4);
        frame.extend_from_slice(&[0; 26]); // Ethernet padding
        record(&mut file, &frame);
        // An ARP frame is skipped.
        let mut arp = vec![0u8; 12];
        arp.extend_from_slice(&[0x08, 0x06, 0, 1]);
        record(&mut file, &arp);
        let packets: Vec<_> = Reader::new(&file).unwrap().collect();
        assert_eq!(packets.len(), 1);
        let r = packets[0].as_ref().unwrap();
        assert_eq!(r.ip, &IPV4[..]);
        assert_eq!((r.ts_sec, r.ts_usec), (1, 2));
    }

    #[test]
    fn vlan_sll_and_raw_links() {
        let mut file = header(1);
        let mut frame = vec![0u8; 12];
        frame.extend_from_slice(&[0x81, 0x00, 0, 5, 0x08, 0x00]);
        frame.extend_from_slice(&IPV4);
        record(&mut file, &frame);
        assert_eq!(
            Reader::new(&file).unwrap().next().unwrap().unwrap().ip,
            &IPV4[..]
        );

        let mut file = header(113);
        let mut frame = vec![0u8; 14];
        frame.extend_from_slice(&[0x08, 0x00]);
        frame.extend_from_slice(&IPV4);
        record(&mut file, &frame);
        assert_eq!(
            Reader::new(&file).unwrap().next().unwrap().unwrap().ip,
            &IPV4[..]
        );

        let mut file = header(101);
        record(&mut file, &IPV4);
        assert_eq!(
            Reader::new(&file).unwrap().next().unwrap().unwrap().ip,
            &IPV4[..]
        );
    }

    #[test]
    fn broken_files_are_errors() {
        assert!(matches!(Reader::new(b"short"), Err(PcapError::TooShort)));
        assert!(matches!(
            Reader::new(&[0x0a, 0x0d, 0x0d, 0x0a, 0, 0]),
            Err(PcapError::Pcapng)
        ));
        assert!(matches!(
            Reader::new(&[0u8; 24]),
            Err(PcapError::BadMagic(0))
        ));
        assert!(matches!(
            Reader::new(&header(42)),
            Err(PcapError::UnsupportedLinkType(42))
        ));
        let mut file = header(101);
        record(&mut file, &IPV4);
        file.truncate(file.len() - 3);
        let mut r = Reader::new(&file).unwrap();
        assert!(matches!(
            r.next(),
            Some(Err(PcapError::Truncated {
                record: 0,
                offset: 24
            }))
        ));
        assert!(r.next().is_none());
        // Every prefix of a valid file reads without panicking.
        let mut file = header(1);
        let mut frame = vec![0u8; 12];
        frame.extend_from_slice(&[0x81, 0x00, 0, 5, 0x08, 0x00]);
        frame.extend_from_slice(&IPV4);
        record(&mut file, &frame);
        for n in 0..file.len() {
            if let Ok(r) = Reader::new(&file[..n]) {
                for _ in r {}
            }
        }
    }
}
