//! What the kernel should do, derived once from the configuration.
//!
//! A `Plan` is plain data so both backends render the same meaning from it
//! and tests can build one without a config file. Only what the kernel needs
//! is here: the policy core keeps the rest.

use ipnet::IpNet;

use crate::config::{AllowEntry, Config, GeoMode, Mode};

#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// Router: forward hook, after DNAT (port forward). Host: input hook for
    /// requests, output hook for the PBX's answers.
    pub mode: Mode,
    /// Ports as the remote side addresses them (before any port forward).
    pub udp_ports: Vec<u16>,
    pub tcp_ports: Vec<u16>,
    pub tls_ports: Vec<u16>,
    /// Requests are queued here; answers to `queue + 1`.
    pub queue: u16,
    /// Let requests pass uninspected while the daemon is down or overloaded.
    pub fail_open: bool,
    /// Kernel drops (ban, block, geo) only count; the daemon decides.
    pub monitor: bool,
    /// Never gated, never banned; answers towards them are not observed.
    pub lan: Vec<IpNet>,
    /// Static allowlist entries (host names are resolved by the daemon and
    /// handed over with `set_allow`).
    pub allow: Vec<IpNet>,
    pub block: Vec<IpNet>,
    /// `None`: no geo filtering at all.
    pub geo: Option<GeoMode>,
    /// Kernel set sizes: bans and doors beyond these fail loudly instead of
    /// eating the router's memory.
    pub ban_capacity: u32,
    pub door_capacity: u32,
}

/// Bans the kernel set holds at least, even when `limits.bans` (what the
/// daemon itself remembers for status, persistence and tiers) is smaller.
pub const KERNEL_BANS: u32 = 65536;

impl Plan {
    pub fn from_config(c: &Config) -> Plan {
        let g = &c.global;
        Plan {
            mode: g.mode,
            udp_ports: g.udp_ports.clone(),
            tcp_ports: g.tcp_ports.clone(),
            tls_ports: g.tls_ports.clone(),
            queue: g.queue,
            fail_open: g.fail_open,
            monitor: g.monitor,
            lan: g.lan.clone(),
            allow: c
                .allow
                .iter()
                .filter_map(|a| match a {
                    AllowEntry::Net(n) => Some(*n),
                    AllowEntry::Host(_) => None,
                })
                .collect(),
            block: c.block.clone(),
            geo: if c.geo.enabled {
                Some(c.geo.mode)
            } else {
                None
            },
            // The kernel keeps every ban whatever userspace remembers (its
            // hash set grows on demand, so a high cap costs nothing idle).
            ban_capacity: c.capacity.bans.max(KERNEL_BANS),
            door_capacity: c.capacity.doors.max(1),
        }
    }

    /// The queue that carries the PBX's answers. Config validation keeps
    /// `queue` below 65535; should it not, answers share the request queue
    /// rather than wrap to queue 0.
    pub fn answer_queue(&self) -> u16 {
        self.queue.checked_add(1).unwrap_or(self.queue)
    }

    /// TCP ports inspected: plain SIP over TCP and SIP over TLS.
    pub fn tcp_and_tls_ports(&self) -> Vec<u16> {
        let mut p: Vec<u16> = self
            .tcp_ports
            .iter()
            .chain(&self.tls_ports)
            .copied()
            .collect();
        p.sort_unstable();
        p.dedup();
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_config_keeps_kernel_relevant_parts() {
        let mut c = Config {
            allow: vec![
                AllowEntry::Net("203.0.113.0/24".parse().unwrap()),
                AllowEntry::Host("office.example.net".into()),
            ],
            ..Config::default()
        };
        c.geo.enabled = true;
        c.geo.mode = GeoMode::Allow;
        let p = Plan::from_config(&c);
        assert_eq!(p.allow, vec!["203.0.113.0/24".parse::<IpNet>().unwrap()]);
        assert_eq!(p.geo, Some(GeoMode::Allow));
        assert_eq!(p.answer_queue(), 5061);
        assert_eq!(p.tcp_and_tls_ports(), vec![5060, 5061]);
        c.global.queue = u16::MAX;
        assert_eq!(Plan::from_config(&c).answer_queue(), u16::MAX);
    }
}
