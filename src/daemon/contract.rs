//! The daemon's view of the other areas' APIs (policy engine, firewall
//! backends, config loader), in one place, so that the daemon compiles and
//! can be tested while those land in parallel. Each item here is the
//! contract from TEAM.md; when the real module lands this file shrinks to
//! re-exports.
//!
//! TEMPORARY stand-ins (marked `shim`) are deleted as soon as the real code
//! is on main.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::Path;

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

use crate::config::Config;
use crate::packet::{Direction, Packet};
use crate::policy::{BanCause, Decision, Effect, Effects, Millis, Reason, Verdict};

/// `config::load`, with the error as the text the user sees.
pub fn load_config(path: Option<&Path>) -> Result<Config, String> {
    crate::config::load(path).map_err(|e| e.to_string())
}

/// shim: `firewall::MARK_INSPECTED`.
pub const MARK_INSPECTED: u32 = 0x005a_0000;

/// shim: `firewall::Plan`.
pub struct Plan;
impl Plan {
    pub fn from_config(_c: &Config) -> Plan {
        Plan
    }
}

/// shim: `firewall::Firewall`.
pub trait Firewall {
    fn install(&mut self, plan: &Plan) -> Result<(), String>;
    fn uninstall(&mut self) -> Result<(), String>;
    fn ban(&mut self, ip: IpAddr, secs: Option<u32>) -> Result<(), String>;
    fn unban(&mut self, ip: IpAddr) -> Result<(), String>;
    fn open_door(&mut self, ip: IpAddr, secs: u32) -> Result<(), String>;
    fn set_allow(&mut self, nets: &[IpNet]) -> Result<(), String>;
    fn set_geo(&mut self, v4: &[Ipv4Net], v6: &[Ipv6Net]) -> Result<(), String>;
}

/// shim: `firewall::detect`.
pub fn detect(_c: &Config) -> Result<Box<dyn Firewall>, String> {
    Err("no firewall backend is built into this sipwall yet".into())
}

/// shim: `policy::BanInfo`.
#[derive(Clone, Debug)]
pub struct BanInfo {
    pub ip: IpAddr,
    pub cause: BanCause,
    pub since: Millis,
    pub until: Option<Millis>,
}

/// shim: `policy::DoorInfo`.
#[derive(Clone, Debug)]
pub struct DoorInfo {
    pub ip: IpAddr,
    pub opened: Millis,
    pub until: Millis,
    pub via: String,
}

/// shim: `policy::Counters`.
#[derive(Clone, Debug, Default)]
pub struct Counters {
    pub by_reason: [u64; 14],
}

/// Packets judged for `reason` so far.
pub fn reason_count(c: &Counters, r: Reason) -> u64 {
    c.by_reason[r.index()]
}

/// shim: `policy::Policy`.
pub struct Policy;
impl Policy {
    pub fn from_config(_c: &Config) -> Policy {
        Policy
    }
}

/// shim: `policy::Engine` (accepts everything that is not banned).
pub struct Engine {
    bans: HashMap<IpAddr, BanInfo>,
    counters: Counters,
}

impl Engine {
    pub fn new(_p: Policy) -> Engine {
        Engine {
            bans: HashMap::new(),
            counters: Counters::default(),
        }
    }
    pub fn decide(&mut self, pkt: &Packet<'_>, now: Millis) -> Decision {
        let banned = pkt.direction == Direction::ToPbx
            && self
                .bans
                .get(&pkt.src)
                .is_some_and(|b| b.until.is_none_or(|u| u > now));
        let (verdict, reason) = if banned {
            (Verdict::Drop, Reason::Banned)
        } else {
            (Verdict::Accept, Reason::Domain)
        };
        self.counters.by_reason[reason.index()] += 1;
        Decision {
            verdict,
            reason,
            effects: Effects::default(),
        }
    }
    pub fn replace_policy(&mut self, _p: Policy) {}
    pub fn ban(&mut self, ip: IpAddr, secs: Option<u32>, cause: BanCause, now: Millis) -> Effects {
        let until = secs.map(|s| now.saturating_add_secs(s as u64));
        self.bans.insert(
            ip,
            BanInfo {
                ip,
                cause,
                since: now,
                until,
            },
        );
        let mut e = Effects::default();
        e.push(Effect::Ban { ip, secs, cause });
        e
    }
    pub fn unban(&mut self, ip: IpAddr) -> bool {
        self.bans.remove(&ip).is_some()
    }
    pub fn bans(&self, now: Millis) -> impl Iterator<Item = BanInfo> + '_ {
        self.bans
            .values()
            .filter(move |b| b.until.is_none_or(|u| u > now))
            .cloned()
    }
    pub fn doors(&self, _now: Millis) -> impl Iterator<Item = DoorInfo> + '_ {
        std::iter::empty()
    }
    pub fn counters(&self) -> &Counters {
        &self.counters
    }
    pub fn expire(&mut self, now: Millis) {
        self.bans.retain(|_, b| b.until.is_none_or(|u| u > now));
    }
}
