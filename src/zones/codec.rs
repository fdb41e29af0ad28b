//! Compact binary form of a sorted prefix list, for the copy kept on flash.
//!
//! A text zone spends ~15 bytes per IPv4 prefix; here a prefix is its length
//! plus the varint distance from the previous network (2–4 bytes for real
//! zones), so the `us` zone (~25k IPv4 prefixes) fits in about 90 KB
//! without a compression crate. IPv6 zones are almost all /64 or shorter,
//! so only the high 64 bits are delta-coded and the low half is written
//! only for longer prefixes. A checksum catches flash corruption; decoding
//! never panics and never allocates more than the input can describe.
//!
//! Layout: `b"SWZ1"`, family (4 or 6), varint count, entries, FNV-1a-32 of
//! everything before it (little endian).

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use ipnet::{Ipv4Net, Ipv6Net};

const MAGIC: &[u8; 4] = b"SWZ1";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodecError {
    BadMagic,
    WrongFamily { want: u8, got: u8 },
    Truncated,
    BadPrefix { index: usize },
    Unsorted { index: usize },
    Checksum,
}

impl fmt::Display for CodecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CodecError::BadMagic => write!(f, "not a sipwall zone file (bad header)"),
            CodecError::WrongFamily { want, got } => {
                write!(f, "holds IPv{got} prefixes where IPv{want} were expected")
            }
            CodecError::Truncated => write!(f, "file is truncated"),
            CodecError::BadPrefix { index } => write!(f, "entry {index} has an invalid prefix"),
            CodecError::Unsorted { index } => write!(f, "entry {index} is out of order"),
            CodecError::Checksum => write!(f, "checksum mismatch (flash corruption?)"),
        }
    }
}

pub fn encode_v4(nets: &[Ipv4Net]) -> Vec<u8> {
    let mut out = header(4, nets.len());
    let mut prev = 0u32;
    for n in nets {
        let a = u32::from(n.network());
        out.push(n.prefix_len());
        put_varint(&mut out, u128::from(a.wrapping_sub(prev)));
        prev = a;
    }
    finish(out)
}

pub fn encode_v6(nets: &[Ipv6Net]) -> Vec<u8> {
    let mut out = header(6, nets.len());
    let mut prev_hi = 0u64;
    for n in nets {
        let a = u128::from(n.network());
        let hi = (a >> 64) as u64;
        let lo = a as u64;
        out.push(n.prefix_len());
        put_varint(&mut out, u128::from(hi.wrapping_sub(prev_hi)));
        if n.prefix_len() > 64 {
            put_varint(&mut out, u128::from(lo));
        }
        prev_hi = hi;
    }
    finish(out)
}

pub fn decode_v4(data: &[u8]) -> Result<Vec<Ipv4Net>, CodecError> {
    let (mut r, count) = open(data, 4)?;
    // Each entry takes at least 2 bytes, so the input bounds the allocation.
    let mut nets = Vec::with_capacity(count.min(r.remaining() / 2));
    let mut prev = 0u32;
    for index in 0..count {
        let len = r.byte()?;
        let delta = u32::try_from(r.varint()?).map_err(|_| CodecError::BadPrefix { index })?;
        let a = prev
            .checked_add(delta)
            .ok_or(CodecError::Unsorted { index })?;
        if index > 0 && delta == 0 {
            return Err(CodecError::Unsorted { index });
        }
        let net =
            Ipv4Net::new(Ipv4Addr::from(a), len).map_err(|_| CodecError::BadPrefix { index })?;
        if net.trunc() != net {
            return Err(CodecError::BadPrefix { index });
        }
        nets.push(net);
        prev = a;
    }
    r.end()?;
    Ok(nets)
}

pub fn decode_v6(data: &[u8]) -> Result<Vec<Ipv6Net>, CodecError> {
    let (mut r, count) = open(data, 6)?;
    let mut nets = Vec::with_capacity(count.min(r.remaining() / 2));
    let mut prev_hi = 0u64;
    for index in 0..count {
        let len = r.byte()?;
        let delta = u64::try_from(r.varint()?).map_err(|_| CodecError::BadPrefix { index })?;
        let hi = prev_hi
            .checked_add(delta)
            .ok_or(CodecError::Unsorted { index })?;
        let lo = if len > 64 {
            u64::try_from(r.varint()?).map_err(|_| CodecError::BadPrefix { index })?
        } else {
            0
        };
        let a = (u128::from(hi) << 64) | u128::from(lo);
        let net =
            Ipv6Net::new(Ipv6Addr::from(a), len).map_err(|_| CodecError::BadPrefix { index })?;
        if net.trunc() != net {
            return Err(CodecError::BadPrefix { index });
        }
        nets.push(net);
        prev_hi = hi;
    }
    r.end()?;
    Ok(nets)
}

/// The prefix count from the first bytes of an encoded zone (the header
/// alone: no checksum check), so `status` can show it without reading the
/// whole file.
pub fn peek_count(head: &[u8]) -> Option<u64> {
    if head.len() < 6 || &head[..4] != MAGIC {
        return None;
    }
    let mut r = Reader { data: head, pos: 5 };
    r.varint().ok().and_then(|v| u64::try_from(v).ok())
}

fn header(family: u8, count: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(count.saturating_mul(4).saturating_add(16).min(1 << 20));
    out.extend_from_slice(MAGIC);
    out.push(family);
    put_varint(&mut out, count as u128);
    out
}

fn finish(mut out: Vec<u8>) -> Vec<u8> {
    let sum = fnv1a(&out);
    out.extend_from_slice(&sum.to_le_bytes());
    out
}

fn open(data: &[u8], family: u8) -> Result<(Reader<'_>, usize), CodecError> {
    if data.len() < MAGIC.len() + 1 + 1 + 4 {
        return Err(if data.starts_with(MAGIC) || data.is_empty() {
            CodecError::Truncated
        } else {
            CodecError::BadMagic
        });
    }
    if &data[..4] != MAGIC {
        return Err(CodecError::BadMagic);
    }
    let (body, sum) = data.split_at(data.len() - 4);
    let mut want = [0u8; 4];
    want.copy_from_slice(sum);
    if fnv1a(body) != u32::from_le_bytes(want) {
        return Err(CodecError::Checksum);
    }
    if body[4] != family {
        return Err(CodecError::WrongFamily {
            want: family,
            got: body[4],
        });
    }
    let mut r = Reader { data: body, pos: 5 };
    let count = usize::try_from(r.varint()?).map_err(|_| CodecError::Truncated)?;
    Ok((r, count))
}

fn put_varint(out: &mut Vec<u8>, mut v: u128) {
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn remaining(&self) -> usize {
        self.data.len().saturating_sub(self.pos)
    }
    fn byte(&mut self) -> Result<u8, CodecError> {
        let b = *self.data.get(self.pos).ok_or(CodecError::Truncated)?;
        self.pos += 1;
        Ok(b)
    }
    fn varint(&mut self) -> Result<u128, CodecError> {
        let mut v = 0u128;
        for shift in (0..128).step_by(7) {
            let b = self.byte()?;
            v |= u128::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(CodecError::Truncated)
    }
    fn end(&self) -> Result<(), CodecError> {
        if self.pos == self.data.len() {
            Ok(())
        } else {
            Err(CodecError::Truncated)
        }
    }
}

fn fnv1a(data: &[u8]) -> u32 {
    let mut h = 0x811c_9dc5u32;
    for &b in data {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nets4(s: &[&str]) -> Vec<Ipv4Net> {
        s.iter().map(|x| x.parse().unwrap()).collect()
    }

    #[test]
    fn round_trip_v4_and_small() {
        let n = nets4(&[
            "0.0.0.0/8",
            "1.0.0.0/24",
            "198.51.100.0/24",
            "255.255.255.255/32",
        ]);
        let e = encode_v4(&n);
        assert_eq!(decode_v4(&e).unwrap(), n);
        // 4 header + 1 family + 1 count + 4 entries of <= 6 bytes + 4 sum
        assert!(e.len() <= 34, "{}", e.len());
        assert_eq!(decode_v4(&encode_v4(&[])).unwrap(), vec![]);
    }

    #[test]
    fn round_trip_v6_with_long_prefixes() {
        let n: Vec<Ipv6Net> = [
            "2001:db8::/32",
            "2001:db8:1::/48",
            "2001:db8:1:2::80/121",
            "2001:db9::/64",
        ]
        .iter()
        .map(|x| x.parse().unwrap())
        .collect();
        assert_eq!(decode_v6(&encode_v6(&n)).unwrap(), n);
    }

    #[test]
    fn corruption_is_detected_never_panics() {
        let n = nets4(&["10.0.0.0/8", "198.51.100.0/24", "203.0.113.0/24"]);
        let e = encode_v4(&n);
        for i in 0..e.len() {
            let mut bad = e.clone();
            bad[i] ^= 0x40;
            assert!(decode_v4(&bad).is_err(), "flip at {i} went unnoticed");
            assert!(decode_v4(&e[..i]).is_err());
        }
        assert_eq!(
            decode_v6(&e),
            Err(CodecError::WrongFamily { want: 6, got: 4 })
        );
        assert_eq!(decode_v4(b"10.0.0.0/8\n"), Err(CodecError::BadMagic));
    }

    #[test]
    fn the_count_is_readable_from_the_header() {
        let n = nets4(&["10.0.0.0/8", "198.51.100.0/24", "203.0.113.0/24"]);
        let e = encode_v4(&n);
        assert_eq!(peek_count(&e[..8]), Some(3));
        assert_eq!(peek_count(b"junk junk"), None);
    }

    #[test]
    fn a_huge_claimed_count_does_not_allocate() {
        let mut data = header(4, usize::MAX >> 1);
        data = finish(data);
        assert_eq!(decode_v4(&data), Err(CodecError::Truncated));
    }
}
