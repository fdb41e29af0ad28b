//! The engine's keyed hash: SipHash-1-3 (the same function and the same
//! random keys strength as std's `RandomState`) written over whole 64-bit
//! words of the few keys the engine hashes — a source address, and
//! (source, Call-ID, CSeq) fingerprints.
//!
//! Why not `RandomState::hash_one`: std's `Hasher` interface feeds the
//! address as several small writes (enum tag, octets, length prefixes) that
//! SipHash has to buffer byte by byte; on every packet that cost more than
//! the table lookups it serves. Here each key is packed into words first,
//! so an IPv4 source is two compression rounds plus finalisation. The keys
//! are random per process (drawn from `RandomState`), so an attacker still
//! cannot aim addresses at one probe chain: hash-flooding resistance is
//! unchanged.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::net::IpAddr;

/// Random keys, fixed for the life of the engine.
#[derive(Clone, Copy, Debug)]
pub struct Keyed {
    k0: u64,
    k1: u64,
}

/// SipHash state.
struct Sip {
    v0: u64,
    v1: u64,
    v2: u64,
    v3: u64,
    /// Bytes fed so far (SipHash puts the length in the last word).
    len: u64,
}

impl Sip {
    #[inline(always)]
    fn round(&mut self) {
        self.v0 = self.v0.wrapping_add(self.v1);
        self.v1 = self.v1.rotate_left(13);
        self.v1 ^= self.v0;
        self.v0 = self.v0.rotate_left(32);
        self.v2 = self.v2.wrapping_add(self.v3);
        self.v3 = self.v3.rotate_left(16);
        self.v3 ^= self.v2;
        self.v0 = self.v0.wrapping_add(self.v3);
        self.v3 = self.v3.rotate_left(21);
        self.v3 ^= self.v0;
        self.v2 = self.v2.wrapping_add(self.v1);
        self.v1 = self.v1.rotate_left(17);
        self.v1 ^= self.v2;
        self.v2 = self.v2.rotate_left(32);
    }

    /// One message word (c = 1 compression round).
    #[inline(always)]
    fn word(&mut self, m: u64) {
        self.v3 ^= m;
        self.round();
        self.v0 ^= m;
        self.len = self.len.wrapping_add(8);
    }

    /// Arbitrary bytes: whole words, then the tail zero-padded, then the
    /// byte count as a word of its own so that ("ab", "c") and ("a", "bc")
    /// differ.
    #[inline]
    fn bytes(&mut self, b: &[u8]) {
        let mut chunks = b.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.word(u64::from_le_bytes(w));
        }
        let tail = chunks.remainder();
        if !tail.is_empty() {
            let mut w = [0u8; 8];
            w[..tail.len()].copy_from_slice(tail);
            self.word(u64::from_le_bytes(w));
        }
        self.word(b.len() as u64);
    }

    /// Finalisation (d = 3 rounds), length in the top byte of the last word.
    #[inline(always)]
    fn finish(mut self) -> u64 {
        let b = self.len << 56;
        self.v3 ^= b;
        self.round();
        self.v0 ^= b;
        self.v2 ^= 0xff;
        self.round();
        self.round();
        self.round();
        self.v0 ^ self.v1 ^ self.v2 ^ self.v3
    }
}

impl Keyed {
    /// Fresh random keys (from the process's `RandomState` source).
    pub fn new() -> Keyed {
        let rs = RandomState::new();
        Keyed {
            k0: rs.hash_one(0x6b30_u64),
            k1: rs.hash_one(0x6b31_u64),
        }
    }

    #[inline(always)]
    fn start(&self) -> Sip {
        Sip {
            v0: self.k0 ^ 0x736f_6d65_7073_6575,
            v1: self.k1 ^ 0x646f_7261_6e64_6f6d,
            v2: self.k0 ^ 0x6c79_6765_6e65_7261,
            v3: self.k1 ^ 0x7465_6462_7974_6573,
            len: 0,
        }
    }

    #[inline(always)]
    fn feed_ip(s: &mut Sip, ip: IpAddr) {
        match ip {
            // The family tag keeps ::a.b.c.d and a.b.c.d apart.
            IpAddr::V4(v4) => s.word(u64::from(v4.to_bits()) | 4 << 32),
            IpAddr::V6(v6) => {
                let bits = v6.to_bits();
                s.word(bits as u64);
                s.word((bits >> 64) as u64);
                s.word(6);
            }
        }
    }

    /// Hash of a source address.
    #[inline]
    pub fn ip(&self, ip: IpAddr) -> u64 {
        let mut s = self.start();
        Keyed::feed_ip(&mut s, ip);
        s.finish()
    }

    /// Fingerprint of a transaction: source, Call-ID and CSeq number.
    pub fn transaction(&self, ip: IpAddr, call_id: &[u8], cseq: u32) -> u64 {
        let mut s = self.start();
        Keyed::feed_ip(&mut s, ip);
        s.bytes(call_id);
        s.word(u64::from(cseq) | 1 << 40);
        s.finish()
    }

    /// Fingerprint of a dialog: source and Call-ID.
    pub fn dialog(&self, ip: IpAddr, call_id: &[u8]) -> u64 {
        let mut s = self.start();
        Keyed::feed_ip(&mut s, ip);
        s.bytes(call_id);
        s.finish()
    }

    /// A random 64-bit seed derived from the keys (for the eviction RNG).
    pub fn seed(&self) -> u64 {
        let mut s = self.start();
        s.word(0x0515_7a11);
        s.finish()
    }
}

impl Default for Keyed {
    fn default() -> Keyed {
        Keyed::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    #[test]
    fn keys_are_random_per_engine_and_stable_within_one() {
        let (a, b) = (Keyed::new(), Keyed::new());
        let ip = IpAddr::V4(Ipv4Addr::new(203, 0, 113, 5));
        assert_eq!(a.ip(ip), a.ip(ip));
        assert_ne!(a.ip(ip), b.ip(ip));
    }

    #[test]
    fn distinct_keys_give_distinct_hashes() {
        let k = Keyed::new();
        let v4 = IpAddr::V4(Ipv4Addr::new(203, 0, 113, 5));
        let mapped = IpAddr::V6(Ipv4Addr::new(203, 0, 113, 5).to_ipv6_mapped());
        let v6 = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1));
        assert_ne!(k.ip(v4), k.ip(mapped));
        assert_ne!(k.ip(v4), k.ip(v6));
        assert_ne!(k.transaction(v4, b"ab", 1), k.transaction(v4, b"ab", 2));
        assert_ne!(k.transaction(v4, b"ab", 1), k.transaction(v4, b"ab\0", 1));
        assert_ne!(k.dialog(v4, b"abc"), k.dialog(v6, b"abc"));
        // Low 32 bits (what the tables use) spread: 4096 sources, few clashes.
        let mut seen = std::collections::HashSet::new();
        for n in 0..4096u32 {
            seen.insert(k.ip(IpAddr::V4(Ipv4Addr::from(0xcb00_0000 | n))) as u32);
        }
        assert!(seen.len() > 4090);
    }
}
