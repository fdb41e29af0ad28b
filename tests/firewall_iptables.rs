//! The iptables + ipset backend against real kernels in network namespaces.
//! Root and iptables/ipset/conntrack needed (tests/install/firewall.sh);
//! otherwise each test prints SKIP (a failure under SIPWALL_STRICT=1).

#[path = "firewall_support/mod.rs"]
mod firewall_support;

use firewall_support::scenarios::{self, Make};
use firewall_support::{can_run, Ns};
use sipwall::config::Mode;
use sipwall::firewall::{Firewall, Flavour, Iptables, Tools};

const TOOLS: &[&str] = &[
    "ip",
    "iptables-restore",
    "ip6tables-restore",
    "ipset",
    "conntrack",
];

fn make(t: Tools) -> Box<dyn Firewall> {
    Box::new(Iptables::new(t, Flavour::Default))
}

fn make_legacy(t: Tools) -> Box<dyn Firewall> {
    Box::new(Iptables::new(t, Flavour::Legacy))
}

const MAKE: Make = make;

fn geo4_entries(ns: &Ns) -> usize {
    let out = ns.exec("ipset list -t sipwall_geo4");
    out.lines()
        .find_map(|l| l.strip_prefix("Number of entries: "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0)
}

fn leftovers(ns: &Ns) -> String {
    let sets = ns.exec("ipset list -n");
    sets.lines()
        .filter(|l| l.ends_with("_n"))
        .collect::<Vec<_>>()
        .join(",")
}

#[test]
fn ipt_kernel_decides() {
    if can_run(TOOLS) {
        scenarios::kernel_decides(MAKE, "ik");
    }
}

#[test]
fn ipt_fail_closed_and_doors() {
    if can_run(TOOLS) {
        scenarios::fail_closed_and_doors(MAKE, "if");
    }
}

#[test]
fn ipt_geo_modes() {
    if can_run(TOOLS) {
        scenarios::geo_modes(MAKE, "ig");
    }
}

#[test]
fn ipt_geo_big_swap() {
    if can_run(TOOLS) {
        scenarios::geo_big_swap(MAKE, "ib", geo4_entries);
    }
}

#[test]
fn ipt_bad_install_keeps_old() {
    if can_run(TOOLS) {
        scenarios::bad_install_keeps_old(MAKE, "ix", leftovers);
    }
}

#[test]
fn ipt_uninstall_leaves_nothing() {
    if can_run(TOOLS) {
        scenarios::uninstall_leaves_nothing(MAKE, "iu", Mode::Router);
        scenarios::uninstall_leaves_nothing(MAKE, "iv", Mode::Host);
    }
}

#[test]
fn ipt_legacy_flavour() {
    if can_run(&[
        "iptables-legacy-restore",
        "ip6tables-legacy-restore",
        "ipset",
        "ip",
    ]) {
        scenarios::kernel_decides(make_legacy, "il");
        scenarios::uninstall_leaves_nothing(make_legacy, "iw", Mode::Router);
    }
}

#[test]
fn ipt_ban_kills_conntrack() {
    if can_run(TOOLS) {
        scenarios::ban_kills_conntrack(MAKE, "ic");
    }
}

#[test]
fn ipt_queue_path() {
    if can_run(TOOLS) {
        scenarios::queue_path(MAKE, "iq");
    }
}

#[test]
fn ipt_router_mode() {
    if can_run(TOOLS) {
        scenarios::router_mode(MAKE, "ir");
    }
}

#[test]
fn ipt_router_queue_path() {
    if can_run(TOOLS) {
        scenarios::router_queue_path(MAKE, "iy");
    }
}

/// Without a netlink socket: one ipset process per ban/door change.
#[test]
fn ipt_without_netlink() {
    fn make_one_shot(t: Tools) -> Box<dyn Firewall> {
        Box::new(Iptables::new(t, Flavour::Default).without_netlink())
    }
    if can_run(TOOLS) {
        scenarios::fail_closed_and_doors(make_one_shot, "is");
        scenarios::kernel_decides(make_one_shot, "it");
    }
}

/// Packets (v4) counted by the first rule of `chain` in `table` that
/// matches on `set`.
fn rule_packets(ns: &Ns, table: &str, chain: &str, set: &str) -> u64 {
    ns.exec(&format!("iptables -t {table} -nvxL {chain}"))
        .lines()
        .find(|l| l.contains(&format!("match-set {set} src")))
        .and_then(|l| l.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// The nf_tables view of the namespace's tables: what iptables-nft made
/// (legacy tables are kernel modules, not ours to remove).
fn tables(ns: &Ns) -> String {
    let out = ns.exec("nft list tables");
    let mut t: Vec<&str> = out.lines().collect();
    t.sort();
    t.join(",")
}

/// A banned source's packets die in the raw table, before conntrack and
/// the port forward look at them: the filter chain's ban rule never sees
/// them. A door's flow, once marked, passes by one rule. And the raw table
/// iptables-nft made for this is gone after uninstall.
#[test]
fn ipt_banned_source_is_dropped_before_conntrack() {
    if !can_run(TOOLS) || !firewall_support::have("nft") {
        return;
    }
    let pair = firewall_support::Pair::new("ie");
    let before = tables(&pair.server);
    let mut fw = make(pair.server.tools());
    let mut plan = scenarios::host_plan();
    plan.fail_open = true; // no daemon: what passes the sets passes
    fw.install(&plan).unwrap();
    let banned = "203.0.113.10";
    fw.ban(banned.parse().unwrap(), Some(60)).unwrap();
    assert!(
        !pair.udp_passes(banned, 5060),
        "the banned source got through"
    );
    let door = "203.0.113.11";
    fw.open_door(door.parse().unwrap(), 60).unwrap();
    assert!(pair.udp_passes(door, 5060), "a door's source was dropped");
    // Its flow is marked at the first packet; the other two take the
    // one-rule fast path instead of the set lookups.
    let fast = pair
        .server
        .exec("iptables -nvxL SIPWALL_IN")
        .lines()
        .find(|l| l.contains("connmark match") && l.contains("ORIGINAL"))
        .and_then(|l| l.split_whitespace().next()?.parse::<u64>().ok());
    assert_eq!(
        fast,
        Some(2),
        "the door's flow did not take the fast path:\n{}",
        pair.server.exec("iptables -nvxL SIPWALL_IN")
    );
    let raw = rule_packets(&pair.server, "raw", "PREROUTING", "sipwall_ban4");
    let filter = rule_packets(&pair.server, "filter", "SIPWALL_REQ", "sipwall_ban4");
    assert!(
        raw == 3 && filter == 0,
        "banned packets: {raw} dropped in raw, {filter} reached the filter chain (want 3 and 0):\n{}",
        pair.server.exec("iptables -t raw -nvxL")
    );
    fw.uninstall().unwrap();
    assert_eq!(
        tables(&pair.server),
        before,
        "uninstall left a table behind:\n{}",
        pair.server.exec("nft list ruleset")
    );
}
