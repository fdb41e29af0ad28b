//! `Policy`: the configuration compiled into the shapes the per-packet path
//! wants (lower-cased byte strings, a scanner filter, sorted tiers), built
//! once at start and on SIGHUP so `decide` never converts or allocates.
//!
//! `from_config` cannot fail: the config front ends have validated the
//! values. Anything the core cannot represent is clamped here and the clamp
//! is documented next to the field.

use std::net::IpAddr;

use ipnet::IpNet;

use super::matcher::SubstringSet;
use crate::config::{AllowEntry, BanTier, Config, KnockPlaces, RateLimit};

/// How many failure timestamps a source keeps: the sliding windows are
/// exact for tiers up to this many failures; a tier asking for more is
/// clamped to it (the window still applies).
pub const MAX_TIER_FAILURES: u32 = 16;

/// Door lifetime after a 2xx to REGISTER that names no expiry.
pub const REGISTER_DOOR_DEFAULT_SECS: u32 = 3600;
/// Added to the registration's expiry so a phone that re-registers a little
/// late (NAT, retransmission) keeps its door.
pub const REGISTER_DOOR_GRACE_SECS: u32 = 60;

#[derive(Clone, Debug)]
pub struct CompiledKnock {
    pub name: String,
    pub secret: Box<[u8]>,
    pub places: KnockPlaces,
    pub door_secs: u32,
}

/// The compiled, immutable policy the engine applies.
#[derive(Clone, Debug)]
pub struct Policy {
    /// Lower-case, no trailing dot.
    pub(crate) domains: Vec<Box<[u8]>>,
    pub(crate) knocks: Vec<CompiledKnock>,
    /// Allowlist CIDRs plus the LAN: never gated, never banned.
    pub(crate) trusted: Vec<IpNet>,
    /// Allowlist host names, resolved by the daemon (see
    /// `Engine::set_allow_hosts`).
    pub(crate) allow_hosts: Vec<String>,
    pub(crate) block: Vec<IpNet>,
    /// Sorted by ban severity, most severe first, so the first tier that
    /// triggers is the one to apply.
    pub(crate) tiers: Vec<BanTier>,
    pub(crate) scanners: SubstringSet,
    pub(crate) scanner_ban_secs: Option<u32>,
    pub(crate) rate: RateLimit,
    pub(crate) monitor: bool,
    pub(crate) capacity: crate::config::Capacity,
}

impl Policy {
    pub fn from_config(c: &Config) -> Policy {
        let domains = c
            .domains
            .iter()
            .map(|d| {
                let d = d.trim().trim_end_matches('.').to_ascii_lowercase();
                d.into_bytes().into_boxed_slice()
            })
            .filter(|d| !d.is_empty())
            .collect();
        let knocks = c
            .knocks
            .iter()
            .filter(|k| !k.secret.is_empty())
            .map(|k| CompiledKnock {
                name: k.name.clone(),
                secret: k.secret.as_bytes().into(),
                places: k.places,
                door_secs: k.door_secs.max(1),
            })
            .collect();
        let mut trusted: Vec<IpNet> = c.global.lan.clone();
        let mut allow_hosts = Vec::new();
        for a in &c.allow {
            match a {
                AllowEntry::Net(n) => trusted.push(*n),
                AllowEntry::Host(h) => allow_hosts.push(h.clone()),
            }
        }
        let mut tiers: Vec<BanTier> = c
            .ban_tiers
            .iter()
            .filter(|t| t.failures > 0 && t.window_secs > 0)
            .map(|t| BanTier {
                failures: t.failures.min(MAX_TIER_FAILURES),
                ..*t
            })
            .collect();
        // Permanent first, then longer bans first.
        tiers.sort_by_key(|t| std::cmp::Reverse(t.ban_secs.map_or(u64::MAX, u64::from)));
        let mut rate = c.rate_limit;
        rate.burst = rate.burst.max(1);
        Policy {
            domains,
            knocks,
            trusted,
            allow_hosts,
            block: c.block.clone(),
            tiers,
            scanners: SubstringSet::new(&c.scanners.signatures),
            scanner_ban_secs: c.scanners.ban_secs,
            rate,
            monitor: c.global.monitor,
            capacity: c.capacity,
        }
    }

    /// Allowlisted or LAN (CIDR part; resolved host names are added by the
    /// engine).
    pub(crate) fn trusts(&self, ip: IpAddr) -> bool {
        self.trusted.iter().any(|n| n.contains(&ip))
    }

    pub(crate) fn blocks(&self, ip: IpAddr) -> bool {
        self.block.iter().any(|n| n.contains(&ip))
    }

    pub(crate) fn is_domain(&self, host: &[u8]) -> bool {
        self.domains
            .iter()
            .any(|d| super::matcher::host_is(host, d))
    }

    /// Host names in the allowlist, for the daemon to resolve.
    pub fn allow_hosts(&self) -> &[String] {
        &self.allow_hosts
    }

    pub fn monitor(&self) -> bool {
        self.monitor
    }

    /// The longest failure window, i.e. how long a source's failure history
    /// must be remembered.
    pub(crate) fn longest_window_secs(&self) -> u32 {
        self.tiers
            .iter()
            .map(|t| t.window_secs)
            .chain(std::iter::once(self.rate.drop_window_secs))
            .max()
            .unwrap_or(0)
    }
}
