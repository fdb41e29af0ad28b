//! The few socket calls std does not offer (batched send/receive, raw IPv4
//! for spoofed sources), declared against the C library std already links,
//! so the generator stays dependency-free.

use std::ffi::c_void;
use std::io;
use std::net::Ipv4Addr;

#[repr(C)]
pub struct IoVec {
    pub base: *mut c_void,
    pub len: usize,
}

#[repr(C)]
pub struct MsgHdr {
    pub name: *mut c_void,
    pub namelen: u32,
    pub iov: *mut IoVec,
    pub iovlen: usize,
    pub control: *mut c_void,
    pub controllen: usize,
    pub flags: i32,
}

#[repr(C)]
pub struct MMsgHdr {
    pub hdr: MsgHdr,
    pub len: u32,
}

#[repr(C)]
pub struct SockAddrIn {
    pub family: u16,
    pub port_be: u16,
    pub addr: [u8; 4],
    pub zero: [u8; 8],
}

impl SockAddrIn {
    pub fn new(ip: Ipv4Addr, port: u16) -> SockAddrIn {
        SockAddrIn {
            family: 2, // AF_INET
            port_be: port.to_be(),
            addr: ip.octets(),
            zero: [0; 8],
        }
    }
}

extern "C" {
    fn socket(domain: i32, ty: i32, protocol: i32) -> i32;
    fn sendmmsg(fd: i32, msgvec: *mut MMsgHdr, vlen: u32, flags: i32) -> i32;
    fn close(fd: i32) -> i32;
    fn recvmmsg(fd: i32, msgvec: *mut MMsgHdr, vlen: u32, flags: i32, timeout: *mut c_void) -> i32;
    fn setsockopt(fd: i32, level: i32, name: i32, value: *const c_void, len: u32) -> i32;
}

/// A big receive buffer (SO_RCVBUFFORCE, root) so the sink never is the
/// bottleneck that loses packets.
pub fn force_rcvbuf(fd: i32, bytes: i32) -> io::Result<()> {
    // SAFETY: pointer to a live i32 for the call's duration.
    let r = unsafe { setsockopt(fd, 1, 33, &bytes as *const i32 as *const c_void, 4) }; // SOL_SOCKET, SO_RCVBUFFORCE
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// Receives up to `bufs.len()` datagrams in one call (blocking for the first,
/// as the socket's read timeout allows). Returns how many arrived.
pub fn recv_batch(fd: i32, bufs: &mut [[u8; 2048]]) -> io::Result<usize> {
    let mut iov: Vec<IoVec> = bufs
        .iter_mut()
        .map(|b| IoVec {
            base: b.as_mut_ptr() as *mut c_void,
            len: b.len(),
        })
        .collect();
    let mut msgs: Vec<MMsgHdr> = iov
        .iter_mut()
        .map(|v| MMsgHdr {
            hdr: MsgHdr {
                name: std::ptr::null_mut(),
                namelen: 0,
                iov: v as *mut IoVec,
                iovlen: 1,
                control: std::ptr::null_mut(),
                controllen: 0,
                flags: 0,
            },
            len: 0,
        })
        .collect();
    // SAFETY: every pointer refers to memory alive for the whole call;
    // MSG_WAITFORONE (0x10000) returns as soon as one datagram is there.
    let n = unsafe {
        recvmmsg(
            fd,
            msgs.as_mut_ptr(),
            msgs.len() as u32,
            0x10000,
            std::ptr::null_mut(),
        )
    };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

/// Sends up to `bufs.len()` datagrams in one system call. `dest` is needed
/// for unconnected (raw) sockets. Returns how many were sent.
pub fn send_batch(fd: i32, bufs: &mut [Vec<u8>], dest: Option<&SockAddrIn>) -> io::Result<usize> {
    let mut iov: Vec<IoVec> = bufs
        .iter_mut()
        .map(|b| IoVec {
            base: b.as_mut_ptr() as *mut c_void,
            len: b.len(),
        })
        .collect();
    let (name, namelen) = match dest {
        Some(d) => (
            d as *const SockAddrIn as *mut c_void,
            std::mem::size_of::<SockAddrIn>() as u32,
        ),
        None => (std::ptr::null_mut(), 0),
    };
    let mut msgs: Vec<MMsgHdr> = iov
        .iter_mut()
        .map(|v| MMsgHdr {
            hdr: MsgHdr {
                name,
                namelen,
                iov: v as *mut IoVec,
                iovlen: 1,
                control: std::ptr::null_mut(),
                controllen: 0,
                flags: 0,
            },
            len: 0,
        })
        .collect();
    // SAFETY: every pointer refers to memory alive for the whole call.
    let n = unsafe { sendmmsg(fd, msgs.as_mut_ptr(), msgs.len() as u32, 0) };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

/// A raw IPv4 socket that sends whole packets we build (IP_HDRINCL is
/// implied by IPPROTO_RAW): the only way to forge source addresses.
pub struct RawV4 {
    pub fd: i32,
}

impl RawV4 {
    pub fn open() -> io::Result<RawV4> {
        // SAFETY: plain system call.
        let fd = unsafe { socket(2, 3, 255) }; // AF_INET, SOCK_RAW, IPPROTO_RAW
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(RawV4 { fd })
    }
}

impl Drop for RawV4 {
    fn drop(&mut self) {
        // SAFETY: we own the descriptor.
        unsafe {
            close(self.fd);
        }
    }
}

/// An IPv4+UDP packet (no UDP checksum: allowed for IPv4; the kernel fills
/// the IP checksum and length for raw sockets).
pub fn udp4_packet(
    src: Ipv4Addr,
    sport: u16,
    dst: Ipv4Addr,
    dport: u16,
    payload: &[u8],
) -> Vec<u8> {
    let total = 20 + 8 + payload.len();
    let mut p = Vec::with_capacity(total);
    p.extend_from_slice(&[
        0x45,
        0,
        (total >> 8) as u8,
        total as u8,
        0,
        0,
        0x40,
        0,
        64,
        17,
        0,
        0,
    ]);
    p.extend_from_slice(&src.octets());
    p.extend_from_slice(&dst.octets());
    let ulen = 8 + payload.len();
    p.extend_from_slice(&sport.to_be_bytes());
    p.extend_from_slice(&dport.to_be_bytes());
    p.extend_from_slice(&(ulen as u16).to_be_bytes());
    p.extend_from_slice(&[0, 0]);
    p.extend_from_slice(payload);
    p
}
