//! The ban table: which sources are banned, since when, until when, why.
//!
//! Eviction rule (an attacker must not be able to push real bans out): a
//! ban is only ever removed by its expiry, by an admin, or — when the table
//! is full — by a *strictly more severe* new ban. Severity:
//! flood < scanner < auth-failures (timed) < auth-failures (until
//! released) < manual. So a flood of spoofed scanner packets can only
//! displace expired, flood or other scanner-less bans, never a brute
//! forcer's; when nothing in the sample may go, the new ban is *refused*
//! here but still sent to the kernel (its set has its own timeout), so the
//! packet flood is absorbed either way and only our bookkeeping is lost.

use std::net::IpAddr;

use super::table::{Rng, Table};
use super::types::{BanCause, BanInfo, Millis, TableStats};

/// Stored in seconds to keep the table small (65 536 bans ≈ 3 MB).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ban {
    pub since_s: u32,
    /// `u32::MAX`: until released.
    pub until_s: u32,
    pub cause: BanCause,
}

pub const FOREVER: u32 = u32::MAX;

impl Ban {
    pub fn severity(&self) -> u8 {
        severity(self.cause, self.until_s == FOREVER)
    }

    pub fn active(&self, now: Millis) -> bool {
        self.until_s == FOREVER || now.0 < u64::from(self.until_s) * 1000
    }

    /// Seconds left (rounded up); `None` until released.
    pub fn remaining_secs(&self, now: Millis) -> Option<u32> {
        if self.until_s == FOREVER {
            return None;
        }
        let left = (u64::from(self.until_s) * 1000)
            .saturating_sub(now.0)
            .div_ceil(1000);
        Some(left.min(u64::from(u32::MAX)) as u32)
    }

    pub fn info(&self, ip: IpAddr) -> BanInfo {
        BanInfo {
            ip,
            cause: self.cause,
            since: Millis(u64::from(self.since_s) * 1000),
            until: (self.until_s != FOREVER).then(|| Millis(u64::from(self.until_s) * 1000)),
        }
    }
}

pub fn severity(cause: BanCause, forever: bool) -> u8 {
    match (cause, forever) {
        (BanCause::Flood, _) => 1,
        (BanCause::Scanner, _) => 2,
        (BanCause::AuthFailures, false) => 3,
        (BanCause::AuthFailures, true) => 4,
        (BanCause::Manual, _) => 5,
    }
}

/// Seconds since the clock's epoch, rounded up so a ban never ends early.
pub fn secs_ceil(m: Millis) -> u64 {
    m.0.div_ceil(1000)
}

/// What `Bans::put` did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Put {
    /// New ban stored.
    Stored,
    /// Existing ban lengthened or made more severe: tell the kernel again.
    Extended,
    /// An existing ban already covers this one: nothing to do.
    Covered,
    /// Table full of bans at least as severe: not stored (kernel still
    /// gets it).
    Refused,
}

#[derive(Clone, Debug)]
pub struct Bans {
    table: Table<Ban>,
    pub evictions: u64,
    pub refused: u64,
    /// After a refusal: bans of this severity or less are refused without
    /// sampling again until `refusing_until` or until anything leaves the
    /// table. A spoofed scanner flood against a full table then costs no
    /// cache misses per packet.
    refusing_sev: u8,
    refusing_until: Millis,
}

const EVICTION_SAMPLES: usize = 16;

impl Bans {
    pub fn new(capacity: u32) -> Bans {
        Bans {
            table: Table::new(capacity),
            evictions: 0,
            refused: 0,
            refusing_sev: 0,
            refusing_until: Millis(0),
        }
    }

    pub fn get(&self, hash: u64, ip: IpAddr) -> Option<&Ban> {
        self.table.get(hash, ip)
    }

    pub fn is_banned(&self, hash: u64, ip: IpAddr, now: Millis) -> bool {
        self.get(hash, ip).is_some_and(|b| b.active(now))
    }

    /// Bans `ip` for `secs` (`None`: until released) from `now`.
    pub fn put(
        &mut self,
        hash: u64,
        ip: IpAddr,
        secs: Option<u32>,
        cause: BanCause,
        now: Millis,
        rng: &mut Rng,
    ) -> Put {
        let now_s = (now.0 / 1000).min(u64::from(FOREVER - 1)) as u32;
        let until_s = match secs {
            None => FOREVER,
            Some(s) => (secs_ceil(now) + u64::from(s)).min(u64::from(FOREVER - 1)) as u32,
        };
        let new = Ban {
            since_s: now_s,
            until_s,
            cause,
        };
        if let Some(old) = self.table.get_mut(hash, ip) {
            if !old.active(now) {
                *old = new;
                return Put::Extended;
            }
            let longer = until_s > old.until_s;
            let graver = new.severity() > old.severity();
            if longer {
                old.until_s = until_s;
            }
            if graver {
                old.cause = cause;
            }
            return if longer || graver {
                Put::Extended
            } else {
                Put::Covered
            };
        }
        let new_sev = new.severity();
        if self.table.is_full() {
            if new_sev <= self.refusing_sev && now < self.refusing_until {
                self.refused += 1;
                return Put::Refused;
            }
            let score = |b: &Ban| {
                if !b.active(now) {
                    Some(0)
                } else if b.severity() < new_sev {
                    // Least severe first, then the one ending soonest.
                    Some((u64::from(b.severity()) << 32) | u64::from(b.until_s))
                } else {
                    None
                }
            };
            match self
                .table
                .evict_one(rng, EVICTION_SAMPLES, score, |b| b.active(now))
            {
                Some(live) => self.evictions += u64::from(live),
                None => {
                    self.refused += 1;
                    self.refusing_sev = new_sev;
                    self.refusing_until = now.saturating_add_secs(1);
                    return Put::Refused;
                }
            }
        }
        match self.table.insert_new(hash, ip, new) {
            Ok(_) => Put::Stored,
            Err(_) => {
                self.refused += 1;
                Put::Refused
            }
        }
    }

    /// Re-inserts a ban as it was (table re-sizing on reload).
    pub fn insert_raw(&mut self, hash: u64, ip: IpAddr, ban: Ban, _rng: &mut Rng) {
        if self.table.insert_new(hash, ip, ban).is_err() {
            self.refused += 1;
        }
    }

    pub fn remove(&mut self, hash: u64, ip: IpAddr) -> Option<Ban> {
        self.refusing_sev = 0;
        self.table.remove(hash, ip)
    }

    pub fn expire(&mut self, now: Millis) -> usize {
        self.retain(|_, b| b.active(now))
    }

    pub fn retain(&mut self, keep: impl FnMut(IpAddr, &Ban) -> bool) -> usize {
        let removed = self.table.retain(keep);
        if removed > 0 {
            self.refusing_sev = 0;
        }
        removed
    }

    pub fn iter(&self) -> impl Iterator<Item = (IpAddr, &Ban)> + '_ {
        self.table.iter()
    }

    pub fn bytes(&self) -> usize {
        self.table.bytes()
    }

    pub fn stats(&self) -> TableStats {
        TableStats {
            len: self.table.len() as u32,
            capacity: self.table.capacity() as u32,
            evictions: self.evictions,
            refused: self.refused,
        }
    }
}
