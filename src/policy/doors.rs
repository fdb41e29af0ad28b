//! The door table: sources allowed in without passing the domain gate,
//! because they knocked or because the PBX accepted their REGISTER.
//!
//! Eviction rule: doors are only created by evidence an attacker does not
//! have cheaply (a knock secret, or valid credentials), so the table fills
//! only if a knock leaks. When full, a new door may push out an expired
//! door, or the live door ending soonest among a random sample — but a knock
//! door never pushes out a registered door (the PBX vouched for that one).
//! A leaked knock can therefore only churn other knock doors.

use std::net::IpAddr;

use super::table::{Rng, Table};
use super::types::{Millis, TableStats};

/// How the door was opened; `Knock` holds the knock's index in the policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Via {
    Knock(u16),
    Register,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Door {
    pub opened: Millis,
    pub until: Millis,
    pub via: Via,
}

impl Door {
    pub fn open(&self, now: Millis) -> bool {
        now < self.until
    }

    pub fn registered(&self) -> bool {
        self.via == Via::Register
    }
}

#[derive(Clone, Debug)]
pub struct Doors {
    table: Table<Door>,
    pub evictions: u64,
    pub refused: u64,
}

const EVICTION_SAMPLES: usize = 16;

fn rank(via: Via) -> u64 {
    match via {
        Via::Knock(_) => 0,
        Via::Register => 1,
    }
}

impl Doors {
    pub fn new(capacity: u32) -> Doors {
        Doors {
            table: Table::new(capacity),
            evictions: 0,
            refused: 0,
        }
    }

    /// The open door of `ip`, if any.
    pub fn get(&self, hash: u64, ip: IpAddr, now: Millis) -> Option<&Door> {
        self.table.get(hash, ip).filter(|d| d.open(now))
    }

    /// Opens or refreshes a door until `now + secs`. A refresh never
    /// shortens a door and a registered door stays registered. Returns
    /// false when the table is full of doors this one may not displace.
    pub fn open(
        &mut self,
        hash: u64,
        ip: IpAddr,
        secs: u32,
        via: Via,
        now: Millis,
        rng: &mut Rng,
    ) -> bool {
        let until = now.saturating_add_secs(u64::from(secs));
        if let Some(d) = self.table.get_mut(hash, ip) {
            if !d.open(now) {
                *d = Door {
                    opened: now,
                    until,
                    via,
                };
                return true;
            }
            d.until = d.until.max(until);
            if rank(via) > rank(d.via) {
                d.via = via;
            }
            return true;
        }
        if self.table.is_full() {
            let score = |d: &Door| {
                if !d.open(now) {
                    Some(0)
                } else if rank(d.via) <= rank(via) {
                    Some(1 + ((rank(d.via) << 48) | (d.until.0 & 0xffff_ffff_ffff)))
                } else {
                    None
                }
            };
            match self
                .table
                .evict_one(rng, EVICTION_SAMPLES, score, |d| d.open(now))
            {
                Some(live) => self.evictions += u64::from(live),
                None => {
                    self.refused += 1;
                    return false;
                }
            }
        }
        self.table
            .insert_new(
                hash,
                ip,
                Door {
                    opened: now,
                    until,
                    via,
                },
            )
            .is_ok()
    }

    /// Re-inserts a door as it was (table re-sizing on reload).
    pub fn insert_raw(&mut self, hash: u64, ip: IpAddr, door: Door) {
        if self.table.insert_new(hash, ip, door).is_err() {
            self.refused += 1;
        }
    }

    pub fn close(&mut self, hash: u64, ip: IpAddr) -> Option<Door> {
        self.table.remove(hash, ip)
    }

    pub fn expire(&mut self, now: Millis) -> usize {
        self.table.retain(|_, d| d.open(now))
    }

    pub fn iter(&self) -> impl Iterator<Item = (IpAddr, &Door)> + '_ {
        self.table.iter()
    }

    /// Rewrites how doors were opened (knock indices move on reload).
    pub fn remap_via(&mut self, mut f: impl FnMut(Via) -> Via) {
        self.table.for_each_mut(|_, d| d.via = f(d.via));
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
