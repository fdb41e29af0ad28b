//! Killing a banned source's conntrack entries.
//!
//! Our rules drop a banned source's packets even on established flows, so
//! why delete the entries? Because some packets never reach a rule: with
//! fw4 flow offloading an established flow bypasses the forward hook
//! entirely, and a NAT'ed UDP "dialog" keeps its mapping alive for as long
//! as the brute-forcer keeps sending. Deleting the entries closes both (the
//! gap fail2ban leaves open).
//!
//! Done with the `conntrack` tool (conntrack-tools) rather than our own
//! ctnetlink code: deleting "every entry whose original source is X" needs a
//! dump plus a delete per tuple on kernels older than 6.3 (OpenWrt 23.05 runs
//! 5.15), which the tool already does correctly; it runs after the set
//! update, so it adds nothing to the time until the kernel drops the source.
//! Without the tool the ban still holds (only offloaded flows escape it until
//! they time out), so a missing tool is reported once, not treated as a
//! failed ban.
//!
//! The deletion runs on one background worker ([`Cleaner`]): the ban is
//! already in force (the set element was added first), so the caller — the
//! packet loop — need not wait the few milliseconds a `conntrack` process
//! takes, and a burst of bans runs one process at a time.

use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, SyncSender, TrySendError};

use super::exec::Tools;
use super::FwError;

/// Deletes every conntrack entry whose original source is `ip`.
/// Returns how many were deleted.
pub fn kill_flows_from(tools: &Tools, ip: IpAddr) -> Result<u32, FwError> {
    let ip_s = ip.to_string();
    let family = if ip.is_ipv4() { "ipv4" } else { "ipv6" };
    let out = tools
        .command("conntrack")
        .args(["-D", "-f", family, "-s", &ip_s])
        .output()
        .map_err(|e| super::exec::spawn_error("conntrack", e))?;
    // conntrack prints "N flow entries have been deleted." on stderr and
    // exits 1 when N is 0: both are success for us.
    let text = String::from_utf8_lossy(&out.stderr);
    let n = text
        .lines()
        .find_map(|l| {
            l.strip_suffix(" flow entries have been deleted.")
                .or_else(|| l.strip_suffix(" flow entry has been deleted."))
        })
        .and_then(|n| n.trim().rsplit(' ').next().and_then(|n| n.parse().ok()));
    match n {
        Some(n) => Ok(n),
        None if out.status.success() => Ok(0),
        None => Err(FwError::Failed {
            tool: "conntrack".into(),
            action: format!("delete the flows of {ip}"),
            detail: text.into_owned(),
        }),
    }
}

static MISSING_REPORTED: AtomicBool = AtomicBool::new(false);

/// How many cleanups may wait; beyond that a burst of bans (a flood from
/// many sources) skips the cleanup rather than piling up processes: the
/// bans themselves are already in force.
const BACKLOG: usize = 256;

/// One background worker that deletes banned sources' flows one after the
/// other, so a burst of bans costs one `conntrack` process at a time, never
/// hundreds at once on a router's single core.
pub struct Cleaner {
    tx: Option<SyncSender<IpAddr>>,
    tools: Tools,
    skipped: u32,
}

impl Cleaner {
    pub fn new(tools: &Tools) -> Cleaner {
        Cleaner {
            tx: None,
            tools: tools.clone(),
            skipped: 0,
        }
    }

    /// Queues the deletion of `ip`'s flows; never blocks.
    pub fn kill_flows_later(&mut self, ip: IpAddr) {
        if self.tx.is_none() {
            let (tx, rx) = sync_channel::<IpAddr>(BACKLOG);
            let tools = self.tools.clone();
            let spawned = std::thread::Builder::new()
                .name("sipwall-conntrack".into())
                .spawn(move || {
                    for ip in rx {
                        match kill_flows_from(&tools, ip) {
                            Ok(_) => {}
                            Err(e @ FwError::Missing { .. }) => {
                                if !MISSING_REPORTED.swap(true, Ordering::Relaxed) {
                                    eprintln!("sipwall: {e}; bans hold, but offloaded flows of banned sources survive until they time out");
                                }
                            }
                            Err(e) => eprintln!("sipwall: {e}"),
                        }
                    }
                });
            match spawned {
                Ok(_) => self.tx = Some(tx),
                Err(e) => {
                    eprintln!("sipwall: cannot start the conntrack cleanup: {e}");
                    return;
                }
            }
        }
        let full = match &self.tx {
            Some(tx) => match tx.try_send(ip) {
                Ok(()) => false,
                Err(TrySendError::Full(_)) => true,
                Err(TrySendError::Disconnected(_)) => {
                    self.tx = None;
                    true
                }
            },
            None => true,
        };
        if full {
            self.skipped = self.skipped.saturating_add(1);
            if self.skipped.is_power_of_two() {
                eprintln!(
                    "sipwall: conntrack cleanup skipped for {} banned sources so far (burst of bans); their bans hold",
                    self.skipped
                );
            }
        }
    }
}
