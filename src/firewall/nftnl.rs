//! Adding and removing single set elements (bans, doors) over nf_tables
//! netlink, without a process: one batch `NEWSETELEM [DELSETELEM
//! NEWSETELEM]` per change, acknowledged by the kernel after the
//! transaction committed. About 100 µs instead of an `nft` process (a few
//! milliseconds on a PC, tens on a MIPS router): the Nth failed login is
//! answered by a kernel drop well inside the 5 ms goal.
//!
//! Only what bans and doors need is here: hash sets of `ipv4_addr` /
//! `ipv6_addr` with an optional timeout. Everything bigger (installs, geo,
//! allow) stays with `nft -f`, whose parser and batching we want.
//!
//! The same socket speaks the ipset protocol ([`Socket::ipset`]) for the
//! iptables backend's bans and doors: `IPSET_CMD_ADD`/`DEL` of one address,
//! "exist" semantics (an existing entry gets the new timeout).

use std::io;
use std::net::IpAddr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

const NETLINK_NETFILTER: i32 = 12;
const NFNL_SUBSYS_NFTABLES: u16 = 10;
const NFNL_MSG_BATCH_BEGIN: u16 = 16;
const NFNL_MSG_BATCH_END: u16 = 17;
const NFT_MSG_NEWSETELEM: u16 = 12;
const NFT_MSG_DELSETELEM: u16 = 14;
const NFT_MSG_GETTABLE: u16 = 1;
const NFT_MSG_DELTABLE: u16 = 2;
const NFTA_TABLE_NAME: u16 = 1;
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_ACK: u16 = 0x4;
const NLM_F_CREATE: u16 = 0x400;
const NLMSG_ERROR: u16 = 2;
const NFPROTO_INET: u8 = 1;
const NLA_F_NESTED: u16 = 0x8000;
const NFTA_SET_ELEM_LIST_TABLE: u16 = 1;
const NFTA_SET_ELEM_LIST_SET: u16 = 2;
const NFTA_SET_ELEM_LIST_ELEMENTS: u16 = 3;
const NFTA_LIST_ELEM: u16 = 1;
const NFTA_SET_ELEM_KEY: u16 = 1;
const NFTA_SET_ELEM_TIMEOUT: u16 = 4;
const NFTA_DATA_VALUE: u16 = 1;
const NFNL_SUBSYS_IPSET: u16 = 6;
const IPSET_CMD_ADD: u16 = 9;
const IPSET_CMD_DEL: u16 = 10;
const IPSET_PROTOCOL: u8 = 7;
const IPSET_ATTR_PROTOCOL: u16 = 1;
const IPSET_ATTR_SETNAME: u16 = 2;
const IPSET_ATTR_DATA: u16 = 7;
const IPSET_ATTR_IP: u16 = 1;
const IPSET_ATTR_IPADDR_IPV4: u16 = 1;
const IPSET_ATTR_IPADDR_IPV6: u16 = 2;
const IPSET_ATTR_TIMEOUT: u16 = 6;
/// ipset's "element does not exist" (IPSET_ERR_EXIST, 4097+...): the
/// kernel's first type-specific error code.
const IPSET_ERR_EXIST: i32 = 4103;
const NLA_F_NET_BYTEORDER: u16 = 0x4000;
const NFPROTO_IPV4: u8 = 2;
const NFPROTO_IPV6: u8 = 10;

/// One step of a change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// Add (no error if present); `Some(secs)`: with this timeout.
    Add(Option<u32>),
    Delete,
}

pub struct Socket {
    fd: OwnedFd,
    seq: u32,
}

/// The backends' netlink socket for bans and doors, opened on first use.
/// When it cannot be opened the backend falls back to one tool process per
/// change for the rest of the run; when the kernel refuses a change the
/// socket is dropped and reopened next time (the tool's message for that
/// change is the readable one).
pub struct Lazy {
    sock: Option<Socket>,
    enabled: bool,
}

impl Lazy {
    pub fn new() -> Lazy {
        Lazy {
            sock: None,
            enabled: true,
        }
    }

    /// Never use netlink (tests of the process fallback).
    pub fn disable(&mut self) {
        self.enabled = false;
    }

    /// Forget the socket (it is reopened on the next change).
    pub fn reset(&mut self) {
        self.sock = None;
    }

    /// Runs `f` over the socket; `false` when netlink is off, cannot be had,
    /// or `f` failed — the caller then uses its tool process.
    pub fn try_with(
        &mut self,
        netns: Option<&str>,
        tool: &str,
        f: impl FnOnce(&mut Socket) -> io::Result<()>,
    ) -> bool {
        if !self.enabled {
            return false;
        }
        if self.sock.is_none() {
            match Socket::open(netns) {
                Ok(s) => self.sock = Some(s),
                Err(e) => {
                    self.enabled = false;
                    eprintln!(
                        "sipwall: no netfilter netlink socket ({e}); one {tool} process per ban from now on"
                    );
                    return false;
                }
            }
        }
        match self.sock.as_mut().map(f) {
            Some(Ok(())) => true,
            _ => {
                self.sock = None;
                false
            }
        }
    }
}

impl Default for Lazy {
    fn default() -> Lazy {
        Lazy::new()
    }
}

impl Socket {
    /// A netfilter netlink socket in the current network namespace, or in
    /// the named one (`/run/netns/NAME`, for tests and the demo).
    pub fn open(netns: Option<&str>) -> io::Result<Socket> {
        let fd = match netns {
            None => raw_socket()?,
            Some(name) => {
                let path = format!("/run/netns/{name}");
                std::thread::spawn(move || -> io::Result<OwnedFd> {
                    let ns = std::fs::File::open(&path)?;
                    // SAFETY: setns on a valid fd affects only this thread,
                    // which ends right after creating the socket.
                    if unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
                        return Err(io::Error::last_os_error());
                    }
                    raw_socket()
                })
                .join()
                .map_err(|_| io::Error::other("netns thread panicked"))??
            }
        };
        Ok(Socket { fd, seq: 1 })
    }

    /// Applies `ops` to `ip` in `table`/`set` as one transaction.
    pub fn apply(&mut self, table: &str, set: &str, ip: IpAddr, ops: &[Op]) -> io::Result<()> {
        self.transaction(ops.len() as u32, |buf, seq| {
            for (i, op) in ops.iter().enumerate() {
                let seq = seq.wrapping_add(i as u32);
                let (ty, flags) = match op {
                    Op::Add(_) => (NFT_MSG_NEWSETELEM, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE),
                    Op::Delete => (NFT_MSG_DELSETELEM, NLM_F_REQUEST | NLM_F_ACK),
                };
                let start = begin_msg(
                    buf,
                    (NFNL_SUBSYS_NFTABLES << 8) | ty,
                    flags,
                    seq,
                    NFPROTO_INET,
                    0,
                );
                put_str(buf, NFTA_SET_ELEM_LIST_TABLE, table);
                put_str(buf, NFTA_SET_ELEM_LIST_SET, set);
                let list = begin_nest(buf, NFTA_SET_ELEM_LIST_ELEMENTS);
                let elem = begin_nest(buf, NFTA_LIST_ELEM);
                let key = begin_nest(buf, NFTA_SET_ELEM_KEY);
                match ip {
                    IpAddr::V4(a) => put(buf, NFTA_DATA_VALUE, &a.octets()),
                    IpAddr::V6(a) => put(buf, NFTA_DATA_VALUE, &a.octets()),
                }
                end_nest(buf, key);
                if let Op::Add(Some(secs)) = op {
                    let ms = u64::from(*secs) * 1000;
                    put(buf, NFTA_SET_ELEM_TIMEOUT, &ms.to_be_bytes());
                }
                end_nest(buf, elem);
                end_nest(buf, list);
                end_msg(buf, start);
            }
        })
    }

    /// Whether the nf_tables table `name` of family `ip` (`v6`: `ip6`)
    /// exists.
    pub fn table_exists(&mut self, v6: bool, name: &str) -> io::Result<bool> {
        let mut buf = Vec::with_capacity(64);
        let seq = self.seq;
        self.seq = self.seq.wrapping_add(1);
        let start = begin_msg(
            &mut buf,
            (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETTABLE,
            NLM_F_REQUEST | NLM_F_ACK,
            seq,
            if v6 { NFPROTO_IPV6 } else { NFPROTO_IPV4 },
            0,
        );
        put_str(&mut buf, NFTA_TABLE_NAME, name);
        end_msg(&mut buf, start);
        self.send(&buf)?;
        // The table comes back as a NEWTABLE message, then the ACK.
        match self.wait_acks(&[seq]) {
            Ok(()) => Ok(true),
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Deletes the nf_tables table `name` of family `ip` (`v6`: `ip6`).
    /// iptables-nft creates a table on first use and has no command that
    /// removes it; the iptables backend deletes the ones it made.
    pub fn delete_table(&mut self, v6: bool, name: &str) -> io::Result<()> {
        let family = if v6 { NFPROTO_IPV6 } else { NFPROTO_IPV4 };
        self.transaction(1, |buf, seq| {
            let start = begin_msg(
                buf,
                (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_DELTABLE,
                NLM_F_REQUEST | NLM_F_ACK,
                seq,
                family,
                0,
            );
            put_str(buf, NFTA_TABLE_NAME, name);
            end_msg(buf, start);
        })
    }

    /// Sends `n` messages, which `body` appends numbered from the sequence
    /// number it is given, as one nf_tables transaction, and waits until
    /// the kernel acknowledged each (it does after the commit).
    fn transaction(&mut self, n: u32, body: impl FnOnce(&mut Vec<u8>, u32)) -> io::Result<()> {
        let mut buf = Vec::with_capacity(512);
        let first = self.seq;
        push_msg(
            &mut buf,
            NFNL_MSG_BATCH_BEGIN,
            NLM_F_REQUEST,
            first,
            0,
            NFNL_SUBSYS_NFTABLES,
        );
        body(&mut buf, first.wrapping_add(1));
        let end_seq = first.wrapping_add(1 + n);
        push_msg(
            &mut buf,
            NFNL_MSG_BATCH_END,
            NLM_F_REQUEST,
            end_seq,
            0,
            NFNL_SUBSYS_NFTABLES,
        );
        self.seq = end_seq.wrapping_add(1);
        self.send(&buf)?;
        let acks: Vec<u32> = (1..=n).map(|i| first.wrapping_add(i)).collect();
        self.wait_acks(&acks)
    }

    /// Adds (`Some(timeout)`, 0 = permanent) or deletes (`None`) one
    /// address in an ipset; no error if it is already there / not there.
    pub fn ipset(&mut self, set: &str, ip: IpAddr, add: Option<u32>) -> io::Result<()> {
        let mut buf = Vec::with_capacity(256);
        let seq = self.seq;
        self.seq = self.seq.wrapping_add(1);
        let (cmd, flags) = match add {
            Some(_) => (IPSET_CMD_ADD, NLM_F_REQUEST | NLM_F_ACK),
            None => (IPSET_CMD_DEL, NLM_F_REQUEST | NLM_F_ACK),
        };
        let family = if ip.is_ipv4() {
            NFPROTO_IPV4
        } else {
            NFPROTO_IPV6
        };
        let start = begin_msg(
            &mut buf,
            (NFNL_SUBSYS_IPSET << 8) | cmd,
            flags,
            seq,
            family,
            0,
        );
        put(&mut buf, IPSET_ATTR_PROTOCOL, &[IPSET_PROTOCOL]);
        put_str(&mut buf, IPSET_ATTR_SETNAME, set);
        let data = begin_nest(&mut buf, IPSET_ATTR_DATA);
        let addr = begin_nest(&mut buf, IPSET_ATTR_IP);
        match ip {
            IpAddr::V4(a) => put(
                &mut buf,
                IPSET_ATTR_IPADDR_IPV4 | NLA_F_NET_BYTEORDER,
                &a.octets(),
            ),
            IpAddr::V6(a) => put(
                &mut buf,
                IPSET_ATTR_IPADDR_IPV6 | NLA_F_NET_BYTEORDER,
                &a.octets(),
            ),
        }
        end_nest(&mut buf, addr);
        if let Some(t) = add {
            put(
                &mut buf,
                IPSET_ATTR_TIMEOUT | NLA_F_NET_BYTEORDER,
                &t.to_be_bytes(),
            );
        }
        end_nest(&mut buf, data);
        end_msg(&mut buf, start);
        self.send(&buf)?;
        match self.wait_acks(&[seq]) {
            // Deleting an address that is not in the set.
            Err(e) if add.is_none() && e.raw_os_error() == Some(IPSET_ERR_EXIST) => Ok(()),
            r => r,
        }
    }

    fn send(&self, buf: &[u8]) -> io::Result<()> {
        // SAFETY: buf is a valid buffer of its length; the kernel address is
        // a zeroed sockaddr_nl.
        let sent = unsafe {
            let mut addr: libc::sockaddr_nl = std::mem::zeroed();
            addr.nl_family = libc::AF_NETLINK as libc::sa_family_t;
            libc::sendto(
                self.fd.as_raw_fd(),
                buf.as_ptr().cast(),
                buf.len(),
                0,
                (&addr as *const libc::sockaddr_nl).cast(),
                std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
            )
        };
        if sent < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Reads until every message we asked an ACK for is answered; the
    /// first error wins.
    fn wait_acks(&mut self, seqs: &[u32]) -> io::Result<()> {
        let mut pending: Vec<u32> = seqs.to_vec();
        let mut first_err: Option<io::Error> = None;
        let mut buf = vec![0u8; 8192];
        while !pending.is_empty() {
            // SAFETY: buf is valid for its length.
            let n =
                unsafe { libc::recv(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
            if n < 0 {
                return Err(io::Error::last_os_error());
            }
            let mut off = 0usize;
            let n = n as usize;
            while off + 16 <= n {
                let len = u32::from_ne_bytes([buf[off], buf[off + 1], buf[off + 2], buf[off + 3]])
                    as usize;
                let ty = u16::from_ne_bytes([buf[off + 4], buf[off + 5]]);
                let seq =
                    u32::from_ne_bytes([buf[off + 8], buf[off + 9], buf[off + 10], buf[off + 11]]);
                if len < 16 || off + len > n {
                    break;
                }
                if ty == NLMSG_ERROR && len >= 20 {
                    let code = i32::from_ne_bytes([
                        buf[off + 16],
                        buf[off + 17],
                        buf[off + 18],
                        buf[off + 19],
                    ]);
                    pending.retain(|s| *s != seq);
                    if code < 0 && first_err.is_none() {
                        first_err = Some(io::Error::from_raw_os_error(-code));
                    }
                }
                off += (len + 3) & !3;
            }
        }
        match first_err {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

fn raw_socket() -> io::Result<OwnedFd> {
    // SAFETY: plain socket(2); the fd is owned right away.
    let fd = unsafe {
        libc::socket(
            libc::AF_NETLINK,
            libc::SOCK_RAW | libc::SOCK_CLOEXEC,
            NETLINK_NETFILTER,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fd is a fresh, valid descriptor nobody else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    // A kernel that never answers must not hang the packet loop.
    let tv = libc::timeval {
        tv_sec: 1,
        tv_usec: 0,
    };
    // SAFETY: valid option value of the right size.
    unsafe {
        let mut addr: libc::sockaddr_nl = std::mem::zeroed();
        addr.nl_family = libc::AF_NETLINK as libc::sa_family_t;
        if libc::bind(
            fd.as_raw_fd(),
            (&addr as *const libc::sockaddr_nl).cast(),
            std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
        ) != 0
        {
            return Err(io::Error::last_os_error());
        }
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVTIMEO,
            (&tv as *const libc::timeval).cast(),
            std::mem::size_of::<libc::timeval>() as libc::socklen_t,
        );
    }
    Ok(fd)
}

fn push_msg(buf: &mut Vec<u8>, ty: u16, flags: u16, seq: u32, family: u8, res_id: u16) {
    let start = begin_msg(buf, ty, flags, seq, family, res_id);
    end_msg(buf, start);
}

/// nlmsghdr + nfgenmsg; returns where the message starts.
fn begin_msg(buf: &mut Vec<u8>, ty: u16, flags: u16, seq: u32, family: u8, res_id: u16) -> usize {
    let start = buf.len();
    buf.extend_from_slice(&0u32.to_ne_bytes()); // length, patched in end_msg
    buf.extend_from_slice(&ty.to_ne_bytes());
    buf.extend_from_slice(&flags.to_ne_bytes());
    buf.extend_from_slice(&seq.to_ne_bytes());
    buf.extend_from_slice(&0u32.to_ne_bytes()); // port id: the kernel fills it
    buf.push(family);
    buf.push(0); // NFNETLINK_V0
    buf.extend_from_slice(&res_id.to_be_bytes());
    start
}

fn end_msg(buf: &mut [u8], start: usize) {
    let len = (buf.len() - start) as u32;
    buf[start..start + 4].copy_from_slice(&len.to_ne_bytes());
}

fn put(buf: &mut Vec<u8>, ty: u16, data: &[u8]) {
    let len = 4 + data.len();
    buf.extend_from_slice(&(len as u16).to_ne_bytes());
    buf.extend_from_slice(&ty.to_ne_bytes());
    buf.extend_from_slice(data);
    while buf.len() % 4 != 0 {
        buf.push(0);
    }
}

fn put_str(buf: &mut Vec<u8>, ty: u16, s: &str) {
    let mut v = s.as_bytes().to_vec();
    v.push(0);
    put(buf, ty, &v);
}

fn begin_nest(buf: &mut Vec<u8>, ty: u16) -> usize {
    let start = buf.len();
    buf.extend_from_slice(&0u16.to_ne_bytes());
    buf.extend_from_slice(&(ty | NLA_F_NESTED).to_ne_bytes());
    start
}

fn end_nest(buf: &mut [u8], start: usize) {
    let len = (buf.len() - start) as u16;
    buf[start..start + 2].copy_from_slice(&len.to_ne_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_layout_is_aligned_and_sized() {
        let mut buf = Vec::new();
        let start = begin_msg(
            &mut buf,
            (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWSETELEM,
            5,
            7,
            NFPROTO_INET,
            0,
        );
        put_str(&mut buf, NFTA_SET_ELEM_LIST_TABLE, "sipwall");
        let n = begin_nest(&mut buf, NFTA_SET_ELEM_LIST_ELEMENTS);
        put(&mut buf, NFTA_DATA_VALUE, &[203, 0, 113, 9]);
        end_nest(&mut buf, n);
        end_msg(&mut buf, start);
        assert_eq!(buf.len() % 4, 0);
        assert_eq!(
            u32::from_ne_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize,
            buf.len()
        );
        // "sipwall\0" is 8 bytes: attribute of 12, already aligned.
        assert_eq!(u16::from_ne_bytes([buf[20], buf[21]]), 12);
        assert_eq!(u16::from_ne_bytes([buf[32], buf[33]]), 4 + 8);
    }
}
