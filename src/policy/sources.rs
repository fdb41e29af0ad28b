//! Per-source trackers: the token bucket of the rate limit, the count of
//! recent drops (for the flood ban) and the recent failed authentications
//! (for the ban tiers).
//!
//! These are the table an attacker with many addresses *can* fill: every
//! dropped packet from a new address needs a tracker to be counted. So it
//! is a table of its own (a flood of trackers never displaces a door or a
//! ban), and when it is full the new tracker replaces the one with the
//! least evidence among a random sample: trackers without failures go
//! first, oldest first. A brute forcer's failure history therefore outlives
//! a crowd of one-packet spoofed sources.

use std::net::IpAddr;

use super::compiled::MAX_TIER_FAILURES;
use super::table::{Rng, Table};
use super::types::{Millis, TableStats};

const RING: usize = MAX_TIER_FAILURES as usize;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tracker {
    pub last_seen_s: u32,
    /// Token bucket, in thousandths of a request.
    pub tokens_milli: u32,
    pub bucket_at: Millis,
    /// Drops since `drops_since_s`.
    pub drops: u32,
    pub drops_since_s: u32,
    /// Times (s) of the most recent failed authentications, a ring.
    fails: [u32; RING],
    fail_len: u8,
    fail_next: u8,
}

impl Tracker {
    fn new(now: Millis, burst: u32) -> Tracker {
        Tracker {
            last_seen_s: secs(now),
            tokens_milli: burst.saturating_mul(1000),
            bucket_at: now,
            drops: 0,
            drops_since_s: secs(now),
            fails: [0; RING],
            fail_len: 0,
            fail_next: 0,
        }
    }

    /// Takes one token; false when the source is over its rate.
    pub fn take_token(&mut self, now: Millis, rate: u32, burst: u32) -> bool {
        let elapsed = now.0.saturating_sub(self.bucket_at.0);
        // rate tokens/s = rate milli-tokens/ms.
        let refill = elapsed.saturating_mul(u64::from(rate));
        let cap = u64::from(burst) * 1000;
        let tokens = (u64::from(self.tokens_milli) + refill).min(cap);
        self.bucket_at = now;
        if tokens >= 1000 {
            self.tokens_milli = (tokens - 1000) as u32;
            true
        } else {
            self.tokens_milli = tokens as u32;
            false
        }
    }

    /// Counts one drop; returns the number of drops in the current window
    /// (the window restarts when it has run out).
    pub fn count_drop(&mut self, now: Millis, window_secs: u32) -> u32 {
        let now_s = secs(now);
        if now_s.saturating_sub(self.drops_since_s) >= window_secs {
            self.drops = 0;
            self.drops_since_s = now_s;
        }
        self.drops = self.drops.saturating_add(1);
        self.drops
    }

    pub fn add_failure(&mut self, now: Millis) {
        self.fails[self.fail_next as usize] = secs(now);
        self.fail_next = ((self.fail_next as usize + 1) % RING) as u8;
        self.fail_len = (self.fail_len + 1).min(RING as u8);
    }

    /// Failures within the last `window_secs` (inclusive of now).
    pub fn failures_within(&self, now: Millis, window_secs: u32) -> u32 {
        let now_s = secs(now);
        self.fails[..self.fail_len as usize]
            .iter()
            .filter(|t| now_s.saturating_sub(**t) < window_secs)
            .count() as u32
    }

    pub fn failures(&self) -> u32 {
        u32::from(self.fail_len)
    }

    /// Still worth keeping: it holds failures or drops inside `keep_secs`,
    /// or a bucket that has not refilled yet.
    fn relevant(&self, now: Millis, keep_secs: u32) -> bool {
        let now_s = secs(now);
        now_s.saturating_sub(self.last_seen_s) < keep_secs.max(1)
    }
}

fn secs(m: Millis) -> u32 {
    (m.0 / 1000).min(u64::from(u32::MAX)) as u32
}

#[derive(Clone, Debug)]
pub struct Sources {
    table: Table<Tracker>,
    pub evictions: u64,
}

const EVICTION_SAMPLES: usize = 8;

impl Sources {
    pub fn new(capacity: u32) -> Sources {
        Sources {
            table: Table::new(capacity),
            evictions: 0,
        }
    }

    /// The tracker of `ip`, created (evicting the least-evidence one if the
    /// table is full) when absent. Always succeeds: a tracker is cheap to
    /// lose, a source without one is not counted.
    /// The tracker of `ip`, created when absent; if the table is full the
    /// least-evidence tracker of a random sample makes room. `None` only if
    /// the table cannot hold even one tracker.
    pub fn track(
        &mut self,
        hash: u64,
        ip: IpAddr,
        now: Millis,
        burst: u32,
        rng: &mut Rng,
    ) -> Option<&mut Tracker> {
        let idx = match self.table.find(hash, ip) {
            Some(i) => i,
            None => {
                if self.table.is_full() {
                    let score = |t: &Tracker| {
                        Some((u64::from(t.failures()) << 32) | u64::from(t.last_seen_s))
                    };
                    if self
                        .table
                        .evict_one(rng, EVICTION_SAMPLES, score, |_| true)
                        .is_some()
                    {
                        self.evictions += 1;
                    }
                }
                self.table
                    .insert_new(hash, ip, Tracker::new(now, burst))
                    .ok()?
            }
        };
        let t = self.table.at_mut(idx)?;
        t.last_seen_s = secs(now);
        Some(t)
    }

    pub fn remove(&mut self, hash: u64, ip: IpAddr) -> Option<Tracker> {
        self.table.remove(hash, ip)
    }

    /// Forgets trackers idle for longer than `keep_secs`.
    pub fn expire(&mut self, now: Millis, keep_secs: u32) -> usize {
        self.table.retain(|_, t| t.relevant(now, keep_secs))
    }

    pub fn bytes(&self) -> usize {
        self.table.bytes()
    }

    pub fn stats(&self) -> TableStats {
        TableStats {
            len: self.table.len() as u32,
            capacity: self.table.capacity() as u32,
            evictions: self.evictions,
            refused: 0,
        }
    }
}
