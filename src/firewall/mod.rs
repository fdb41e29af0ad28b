//! Kernel backends: nftables (fw4) and iptables + ipset (fw3 / plain Linux).
//!
//! Both backends install the same meaning (see ARCHITECTURE.md, "What sipwall
//! puts in the kernel"): for packets towards the PBX's SIP ports from outside
//! the LAN, in this order
//!
//! 0. banned source (not allowlisted) → drop before conntrack and DNAT (nft:
//!    prerouting priority -300; iptables: the `raw` table); then a flow
//!    accepted before (conntrack mark [`MARK_INSPECTED`]) → accept: the fast
//!    path, one rule per packet;
//! 1. allowlisted source → accept;
//! 2. banned source → drop;
//! 3. blocked source (static blocklist) → drop;
//! 4. geo: block mode drops listed countries; allow mode drops everyone else,
//!    but only while the zone is loaded (an empty zone never locks anyone out);
//! 5. source with an open door → mark the flow, accept;
//! 6. flow already inspected (conntrack mark [`MARK_INSPECTED`]) → accept;
//! 7. a packet the daemon accepted with `NF_REPEAT` carries
//!    [`MARK_INSPECTED`] in its nfmark: save it to the conntrack mark, accept;
//! 8. everything else (UDP, and TCP segments that carry data; handshake
//!    packets pass) → NFQUEUE `global.queue`, fail-closed unless `fail_open`.
//!
//! The PBX's answers that matter to the failed-auth logic (`SIP/2.0 401`,
//! `403`, `407` and `2xx`, towards non-LAN addresses) are copied to the daemon
//! through queue `global.queue + 1`, always with bypass: observation must
//! never block the PBX. Everything else never leaves the kernel.
//!
//! The kernel work is done by the `nft`, `iptables-restore`, `ipset` and
//! `conntrack` tools rather than hand-written netlink: they exist on every
//! target (fw4 ships nft, fw3 ships iptables/ipset), keep the binary small,
//! and their transactions give atomic installs for free. The one hot path —
//! a ban on the nft backend — goes over netlink directly, so it costs no
//! process spawn (see `nft` and `nftnl`).

mod conntrack;
mod exec;
mod iptables;
mod nft;
mod nftnl;
mod plan;
mod state;

use std::fmt;
use std::net::IpAddr;

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

use crate::config::{Backend, Config};

pub use exec::Tools;
pub use iptables::{Flavour, Iptables};
pub use nft::Nft;
pub use plan::Plan;

/// The nfmark bit the daemon sets on a packet it accepts with `NF_REPEAT`,
/// and the conntrack-mark bit the ruleset saves it to, so the rest of that
/// flow never re-enters the queue.
///
/// Bit 28. Why this bit: the marks already taken on OpenWrt and PBX hosts are
/// mwan3 (`0x3F00` by default), pbr / vpn-policy-routing and Tailscale
/// (`0x00FF0000`), Kubernetes kube-proxy (`0x4000`, `0x8000`), Docker/Cilium
/// (`0x0F00`) and WireGuard's fwmark in the low 16 bits. fw4 itself sets no
/// marks. Bit 28 is outside all of them. The rules only ever test and OR
/// this one bit (`ct mark | MARK_INSPECTED`), never overwrite the whole mark,
/// so the other bits keep their owners' meaning. The daemon must likewise
/// OR it into the packet's existing nfmark in the verdict.
pub const MARK_INSPECTED: u32 = 0x1000_0000;

/// Names the kernel objects carry, so `nft list ruleset` / `iptables-save`
/// / `ipset list` show whose they are.
pub const NFT_TABLE: &str = "sipwall";

#[derive(Debug)]
pub enum FwError {
    /// A tool could not be started (not installed?).
    Missing { tool: String, hint: &'static str },
    /// A tool ran and refused; `detail` is what it printed.
    Failed {
        tool: String,
        action: String,
        detail: String,
    },
    /// Reading from or writing to a tool failed.
    Io { tool: String, err: std::io::Error },
    /// No usable backend on this system.
    NoBackend(String),
}

impl fmt::Display for FwError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FwError::Missing { tool, hint } => {
                write!(f, "cannot run '{tool}': not installed? {hint}")
            }
            FwError::Failed {
                tool,
                action,
                detail,
            } => {
                let detail = detail.trim();
                write!(f, "{tool} failed to {action}: {detail}")?;
                // nft's own words are misleading for the two failures a
                // router admin will meet.
                if detail.contains("Too many open files") || detail.contains("Hash is full") {
                    write!(
                        f,
                        " (a kernel set is full: raise capacity.bans / capacity.doors, \
                         or unban before shrinking them)"
                    )?;
                } else if detail.contains("queue") && detail.contains("No such file or directory") {
                    write!(
                        f,
                        " (this kernel lacks the nft queue statement: on OpenWrt install \
                         kmod-nft-queue, or set global.backend to iptables)"
                    )?;
                }
                Ok(())
            }
            FwError::Io { tool, err } => write!(f, "talking to '{tool}' failed: {err}"),
            FwError::NoBackend(why) => write!(f, "no firewall backend usable: {why}"),
        }
    }
}

impl std::error::Error for FwError {}

/// What the daemon and the zones refresher need from the kernel.
pub trait Firewall {
    /// Atomic, idempotent; replaces our own table/chains/sets. Bans, doors,
    /// the allow set and geo sets this process set earlier are carried over.
    /// On failure the previous rules stay in place.
    fn install(&mut self, plan: &Plan) -> Result<(), FwError>;
    /// Leaves nothing behind: no table, chain, rule, jump or set.
    fn uninstall(&mut self) -> Result<(), FwError>;
    /// `secs == None`: until unbanned. Also deletes the source's conntrack
    /// entries, so an established flow (or an offloaded one) dies at once.
    fn ban(&mut self, ip: IpAddr, secs: Option<u32>) -> Result<(), FwError>;
    fn unban(&mut self, ip: IpAddr) -> Result<(), FwError>;
    /// Opens (or refreshes) a door for `secs` seconds.
    fn open_door(&mut self, ip: IpAddr, secs: u32) -> Result<(), FwError>;
    /// Replaces the allow set (static nets plus resolved host names).
    fn set_allow(&mut self, nets: &[IpNet]) -> Result<(), FwError>;
    /// Replaces the geo sets: atomic, batched, never empty mid-swap. In
    /// allow mode a family whose list is empty is not filtered at all.
    fn set_geo(&mut self, v4: &[Ipv4Net], v6: &[Ipv6Net]) -> Result<(), FwError>;
    /// Whether our rules are still in the kernel as installed: a firewall
    /// restart flushes fw3's chains, and `fw4 flush` (`/etc/init.d/firewall
    /// stop`) deletes every nftables table, ours included. `false` before
    /// the first install.
    fn installed(&mut self) -> Result<bool, FwError>;
    /// Which backend this is, for `status` and logs ("nft", "iptables").
    fn name(&self) -> &'static str;
}

impl<F: Firewall + ?Sized> crate::zones::GeoSets for F {
    fn set_geo(&mut self, v4: &[Ipv4Net], v6: &[Ipv6Net]) -> Result<(), String> {
        Firewall::set_geo(self, v4, v6).map_err(|e| e.to_string())
    }
}

/// Picks the backend the config asks for; `auto` prefers nft when it is
/// installed and the kernel has the nft `queue` statement (fw4 with
/// kmod-nft-queue, any stock distribution kernel), else iptables + ipset.
pub fn detect(c: &Config) -> Result<Box<dyn Firewall>, FwError> {
    detect_with(c, Tools::host())
}

/// [`detect`] with the tools run through `tools` (e.g. inside a network
/// namespace).
pub fn detect_with(c: &Config, tools: Tools) -> Result<Box<dyn Firewall>, FwError> {
    let queue = c.global.queue;
    match c.global.backend {
        Backend::Nft => Ok(Box::new(Nft::new(tools))),
        Backend::Iptables => Ok(Box::new(Iptables::new(tools, Flavour::Default))),
        Backend::Auto => {
            let nft_err = match nft::probe(&tools, queue) {
                Ok(()) => return Ok(Box::new(Nft::new(tools))),
                Err(e) => e,
            };
            match iptables::probe(&tools) {
                Ok(()) => Ok(Box::new(Iptables::new(tools, Flavour::Default))),
                Err(ipt_err) => Err(FwError::NoBackend(format!(
                    "nft: {nft_err}; iptables: {ipt_err}. Install nftables with the \
                     nft queue module (OpenWrt: kmod-nft-queue) or iptables, ipset and \
                     the NFQUEUE target (OpenWrt: iptables-mod-nfqueue, kmod-ipt-ipset), \
                     or set global.backend"
                ))),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_say_what_to_do() {
        let full = FwError::Failed {
            tool: "nft".into(),
            action: "install the sipwall table".into(),
            detail: "Error: Could not process rule: Too many open files in system".into(),
        };
        assert!(full.to_string().contains("capacity.bans"), "{full}");
        let noq = FwError::Failed {
            tool: "nft".into(),
            action: "install the sipwall table".into(),
            detail: "Error: Could not process rule: No such file or directory\n queue to 5060"
                .into(),
        };
        assert!(noq.to_string().contains("kmod-nft-queue"), "{noq}");
        let missing = FwError::Missing {
            tool: "ipset".into(),
            hint: "install ipset (OpenWrt: ipset, kmod-ipt-ipset)",
        };
        assert!(missing.to_string().contains("install ipset"));
    }
}
