//! A deterministic, realistic country-zone fixture: about as many prefixes
//! as ipdeny's `us` zone (25k IPv4, 9k IPv6 after aggregation), with a
//! plausible spread of prefix lengths. Generated, not committed: 600 KB of
//! text would bloat the repository for no information.

#![allow(dead_code)]

/// xorshift64*: small, fast, the same sequence on every machine.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// `count` non-overlapping, non-adjacent IPv4 prefixes in ipdeny's text
/// layout, ascending. Lengths mostly /24../19 like real RIR allocations.
pub fn ipv4_zone(count: usize, seed: u64) -> String {
    let mut rng = Rng::new(seed);
    let mut out = String::with_capacity(count * 16);
    // Spread over 1.0.0.0 – 223.255.255.255 (unicast space).
    let mut at: u64 = 1 << 24;
    let span: u64 = (224u64 << 24) - at;
    let avg_step = span / count as u64;
    for _ in 0..count {
        let len = match rng.below(100) {
            0..=39 => 24,
            40..=54 => 23,
            55..=69 => 22,
            70..=79 => 21,
            80..=87 => 20,
            88..=92 => 19,
            93..=95 => 18,
            96..=97 => 16,
            _ => 25 + rng.below(4) as u32,
        };
        let size = 1u64 << (32 - len);
        at = at.div_ceil(size) * size; // align to the prefix
        out.push_str(&format!(
            "{}.{}.{}.{}/{len}\n",
            (at >> 24) & 255,
            (at >> 16) & 255,
            (at >> 8) & 255,
            at & 255
        ));
        // a gap at least one block wide keeps neighbours from aggregating
        at += size * 2 + rng.below(avg_step.max(1));
        if at >= 224 << 24 {
            at = 1 << 24;
        }
    }
    out
}

/// `count` IPv6 prefixes in 2000::/3, mostly /32, /48 and /29..44.
pub fn ipv6_zone(count: usize, seed: u64) -> String {
    let mut rng = Rng::new(seed);
    let mut out = String::with_capacity(count * 24);
    // Work on the top 64 bits: every prefix here is /64 or shorter.
    let mut at: u64 = 0x2000 << 48;
    let end: u64 = 0x4000 << 48;
    let avg_step = (end - at) / count as u64 / 4;
    for _ in 0..count {
        let len: u32 = match rng.below(100) {
            0..=24 => 32,
            25..=59 => 48,
            60..=69 => 29,
            70..=79 => 36,
            80..=89 => 44,
            90..=95 => 40,
            _ => 64,
        };
        let size = 1u64 << (64 - len);
        at = at.div_ceil(size) * size;
        out.push_str(&format!(
            "{:x}:{:x}:{:x}:{:x}::/{len}\n",
            (at >> 48) & 0xffff,
            (at >> 32) & 0xffff,
            (at >> 16) & 0xffff,
            at & 0xffff
        ));
        at = at
            .saturating_add(size.saturating_mul(2))
            .saturating_add(rng.below(avg_step.max(1)));
        if at >= end {
            at = 0x2000 << 48;
        }
    }
    out
}
