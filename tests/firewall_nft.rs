//! The nftables backend against real kernels in network namespaces.
//! Root, nft and conntrack needed (tests/install/firewall.sh); otherwise
//! each test prints SKIP (a failure under SIPWALL_STRICT=1).
//!
//! Kernels built without CONFIG_NFT_QUEUE (this project's dev machines) get
//! the ruleset without its queue statements (`Nft::without_queue`), which
//! proves everything the kernel decides alone; the queue path itself runs
//! where the kernel has it, and always in the VM (tests/suite-vm.sh).

#[path = "firewall_support/mod.rs"]
mod firewall_support;

use firewall_support::scenarios::{self, host_plan};
use firewall_support::{can_run, kernel_has_nft_queue, Ns, Pair};
use sipwall::config::Mode;
use sipwall::firewall::{Firewall, Nft, Tools};

const TOOLS: &[&str] = &["ip", "nft", "conntrack"];

/// The full ruleset where the kernel can take it, else without queues.
fn make(t: Tools) -> Box<dyn Firewall> {
    if kernel_has_nft_queue() {
        Box::new(Nft::new(t))
    } else {
        Box::new(Nft::new(t).without_queue())
    }
}

fn geo4_entries(ns: &Ns) -> usize {
    let out = ns.exec("nft list set inet sipwall geo4");
    let Some(start) = out.find("elements = {") else {
        return 0;
    };
    let body = &out[start
        ..out[start..]
            .find('}')
            .map(|e| start + e)
            .unwrap_or(out.len())];
    body.matches(',').count() + 1
}

fn leftovers(ns: &Ns) -> String {
    // Only our table may exist, and only once.
    let tables = ns.exec("nft list tables");
    let n = tables.lines().filter(|l| l.contains("sipwall")).count();
    if n == 1 {
        String::new()
    } else {
        tables
    }
}

#[test]
fn nft_kernel_decides() {
    if can_run(TOOLS) {
        scenarios::kernel_decides(make, "nk");
    }
}

#[test]
fn nft_fail_closed_and_doors() {
    if can_run(TOOLS) {
        scenarios::fail_closed_and_doors(make, "nf");
    }
}

#[test]
fn nft_geo_modes() {
    if can_run(TOOLS) {
        scenarios::geo_modes(make, "ng");
    }
}

#[test]
fn nft_geo_big_swap() {
    if can_run(TOOLS) {
        scenarios::geo_big_swap(make, "nb", geo4_entries);
    }
}

#[test]
fn nft_bad_install_keeps_old() {
    if can_run(TOOLS) {
        scenarios::bad_install_keeps_old(make, "nx", leftovers);
    }
}

/// On a kernel without nft `queue`, the full ruleset is refused as a
/// whole and the previous (queue-less) one keeps working.
#[test]
fn nft_refused_ruleset_keeps_old() {
    if !can_run(TOOLS) {
        return;
    }
    if kernel_has_nft_queue() {
        println!("SKIP: this kernel has the nft queue statement, so the full ruleset is not refused here");
        return;
    }
    let pair = Pair::new("nz");
    let mut plan = host_plan();
    plan.fail_open = true;
    let mut old = Nft::new(pair.server.tools()).without_queue();
    old.install(&plan).unwrap();
    old.ban("203.0.113.10".parse().unwrap(), None).unwrap();
    let mut full = Nft::new(pair.server.tools());
    let err = full.install(&plan).expect_err("kernel lacks nft queue");
    assert!(err.to_string().contains("nft"), "{err}");
    assert!(
        !pair.udp_passes("203.0.113.10", 5060),
        "old rules still ban"
    );
    assert!(
        pair.udp_passes("203.0.113.11", 5060),
        "old rules still fail-open"
    );
    old.uninstall().unwrap();
}

#[test]
fn nft_uninstall_leaves_nothing() {
    if can_run(TOOLS) {
        scenarios::uninstall_leaves_nothing(make, "nu", Mode::Router);
        scenarios::uninstall_leaves_nothing(make, "nv", Mode::Host);
    }
}

#[test]
fn nft_ban_kills_conntrack() {
    if can_run(TOOLS) {
        scenarios::ban_kills_conntrack(make, "nc");
    }
}

#[test]
fn nft_queue_path() {
    if !can_run(TOOLS) {
        return;
    }
    if !kernel_has_nft_queue() {
        println!("SKIP: kernel lacks the nft queue statement (CONFIG_NFT_QUEUE); tests/suite-vm.sh runs the nft queue path in a VM");
        return;
    }
    scenarios::queue_path(|t| Box::new(Nft::new(t)), "nq");
}

#[test]
fn nft_router_mode() {
    if can_run(TOOLS) {
        scenarios::router_mode(make, "nr");
    }
}

#[test]
fn nft_router_queue_path() {
    if !can_run(TOOLS) {
        return;
    }
    if !kernel_has_nft_queue() {
        println!("SKIP: kernel lacks the nft queue statement (CONFIG_NFT_QUEUE); tests/suite-vm.sh runs the nft queue path in a VM");
        return;
    }
    scenarios::router_queue_path(|t| Box::new(Nft::new(t)), "ny");
}

/// Without a netlink socket: one nft process per ban/door change.
#[test]
fn nft_without_netlink() {
    fn make_one_shot(t: Tools) -> Box<dyn Firewall> {
        let nft = Nft::new(t).without_netlink();
        if kernel_has_nft_queue() {
            Box::new(nft)
        } else {
            Box::new(nft.without_queue())
        }
    }
    if can_run(TOOLS) {
        scenarios::fail_closed_and_doors(make_one_shot, "ns");
        scenarios::kernel_decides(make_one_shot, "nt");
    }
}
