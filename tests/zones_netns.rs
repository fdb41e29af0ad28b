//! Zones into real kernel sets: `zones::refresh` downloads from a server on
//! loopback and loads the firewall backend's geo sets inside a network
//! namespace; packets from a client namespace show what the kernel does.
//! After each fault the kernel set still holds the previous zone.
//! Root, ip and nft needed (tests/install/zones.sh, tests/install/firewall.sh);
//! otherwise SKIP (a failure under SIPWALL_STRICT=1).

// The built-in HTTPS client exists only with the `tls` feature.
#![cfg(feature = "tls")]

#[path = "firewall_support/mod.rs"]
mod firewall_support;
mod zones_support;

use std::time::Duration;

use firewall_support::scenarios::host_plan;
use firewall_support::{can_run, kernel_has_nft_queue, Ns, Pair};
use ipnet::{Ipv4Net, Ipv6Net};
use sipwall::config::{Config, GeoMode};
use sipwall::firewall::{Firewall, Nft, Tools};
use sipwall::zones::{self, GeoSets, HttpOptions, HttpSource, RetryPolicy};
use zones_support::{temp_dir, zone_reply, Cleanup, Reply, Server};

const TOOLS: &[&str] = &["ip", "nft"];

fn make(t: Tools) -> Box<dyn Firewall> {
    if kernel_has_nft_queue() {
        Box::new(Nft::new(t))
    } else {
        Box::new(Nft::new(t).without_queue())
    }
}

/// The backend's geo sets as the zones code drives them.
struct Kernel<'a>(&'a mut dyn Firewall);
impl GeoSets for Kernel<'_> {
    fn set_geo(&mut self, v4: &[Ipv4Net], v6: &[Ipv6Net]) -> Result<(), String> {
        Firewall::set_geo(self.0, v4, v6).map_err(|e| e.to_string())
    }
}

fn geo4(ns: &Ns) -> String {
    let out = ns.exec("nft list set inet sipwall geo4");
    out.find("elements")
        .map(|i| out[i..].to_string())
        .unwrap_or_default()
}

fn config(server: &Server, state: &std::path::Path, mode: GeoMode, ccs: &[&str]) -> Config {
    let mut c = Config::default();
    c.global.state_dir = state.to_path_buf();
    c.geo.enabled = true;
    c.geo.mode = mode;
    c.geo.countries = ccs.iter().map(|s| s.to_string()).collect();
    c.geo.ipv4_url = server.url("http", "/v4/{cc}.zone");
    c.geo.ipv6_url = server.url("http", "/v6/{cc}.zone");
    c.geo.fallback_ipv4_url = server.url("http", "/fb4/{cc}.zone");
    c.geo.fallback_ipv6_url = server.url("http", "/fb6/{cc}.zone");
    c
}

/// Country "xa": 203.0.113.0/25 and 2001:db8::10; "xb": 198.51.100.0/24
/// and 2001:db8::20 (the client namespace has addresses in both).
fn serve_countries(server: &Server) {
    server.route(
        "/v4/xa.zone",
        zone_reply("203.0.113.0/25\n", Some("\"xa4\"")),
    );
    server.route(
        "/v6/xa.zone",
        zone_reply("2001:db8::10/128\n", Some("\"xa6\"")),
    );
    server.route(
        "/v4/xb.zone",
        zone_reply("198.51.100.0/24\n", Some("\"xb4\"")),
    );
    server.route(
        "/v6/xb.zone",
        zone_reply("2001:db8::20/128\n", Some("\"xb6\"")),
    );
}

fn http() -> HttpSource {
    HttpSource::new(&HttpOptions {
        connect_timeout: Duration::from_secs(2),
        response_timeout: Duration::from_secs(2),
        total_timeout: Duration::from_secs(2),
        max_body: 64 * 1024,
        trusted_roots: None,
    })
}

const RETRY: RetryPolicy = RetryPolicy {
    attempts: 1,
    backoff: Duration::from_millis(10),
};

#[test]
fn block_mode_drops_the_listed_country_and_survives_faults() {
    if !can_run(TOOLS) {
        return;
    }
    let dir = temp_dir("netns-block");
    let _c = Cleanup(dir.clone());
    let pair = Pair::new("zb");
    let mut fw = make(pair.server.tools());
    let mut plan = host_plan();
    plan.fail_open = true; // no daemon reads the queue here: passing packets are accepted
    plan.geo = Some(GeoMode::Block);
    fw.install(&plan).expect("install");

    let server = Server::http();
    serve_countries(&server);
    let cfg = config(&server, &dir.join("state"), GeoMode::Block, &["xa"]);
    let mut src = http();
    let rep = zones::refresh(&cfg, false, &mut src, &mut Kernel(&mut *fw), RETRY);
    assert!(rep.ok(), "{rep:#?}");
    assert!(
        !pair.udp_passes("203.0.113.11", 5060),
        "xa (blocked) reached SIP"
    );
    assert!(
        !pair.udp_passes("2001:db8::10", 5060),
        "xa v6 (blocked) reached SIP"
    );
    assert!(
        pair.udp_passes("198.51.100.11", 5060),
        "an unlisted country was dropped"
    );
    assert!(
        pair.udp_passes("2001:db8::20", 5060),
        "an unlisted v6 source was dropped"
    );
    assert!(
        pair.udp_passes("203.0.113.11", 5070),
        "geo must govern SIP ports only"
    );
    let good = geo4(&pair.server);
    assert!(good.contains("203.0.113.0/25"), "{good}");

    for (name, fault) in [
        ("500", Reply::Status(500)),
        ("html-200", Reply::Html),
        (
            "truncated",
            Reply::Truncated {
                body: "203.0.113.0/2".into(),
                declared: 400,
            },
        ),
        ("empty", zone_reply("", None)),
    ] {
        server.route("/v4/xa.zone", fault);
        let rep = zones::refresh(&cfg, false, &mut src, &mut Kernel(&mut *fw), RETRY);
        assert!(!rep.ok(), "{name}: refresh claimed success");
        assert_eq!(geo4(&pair.server), good, "{name}: the kernel set changed");
        assert!(
            !pair.udp_passes("203.0.113.11", 5060),
            "{name}: xa got through after the fault"
        );
        assert!(
            pair.udp_passes("198.51.100.11", 5060),
            "{name}: the fault blocked others"
        );
    }
    fw.uninstall().expect("uninstall");
}

#[test]
fn allow_mode_passes_only_the_listed_country_and_never_locks_out() {
    if !can_run(TOOLS) {
        return;
    }
    let dir = temp_dir("netns-allow");
    let _c = Cleanup(dir.clone());
    let pair = Pair::new("za");
    let mut fw = make(pair.server.tools());
    let mut plan = host_plan();
    plan.fail_open = true;
    plan.geo = Some(GeoMode::Allow);
    fw.install(&plan).expect("install");

    let server = Server::http();
    serve_countries(&server);
    // The first download fails: nothing stored, nothing loaded, nobody locked out.
    server.route("/v4/xb.zone", Reply::Status(503));
    let cfg = config(&server, &dir.join("state"), GeoMode::Allow, &["xb"]);
    let mut src = http();
    let rep = zones::refresh(&cfg, false, &mut src, &mut Kernel(&mut *fw), RETRY);
    assert!(
        rep.load_error
            .as_deref()
            .unwrap_or("")
            .contains("locked out"),
        "{rep:#?}"
    );
    assert!(
        pair.udp_passes("198.51.100.11", 5060),
        "allow mode locked out before a zone existed"
    );
    assert!(
        pair.udp_passes("203.0.113.11", 5060),
        "allow mode locked out before a zone existed"
    );

    serve_countries(&server);
    let rep = zones::refresh(&cfg, false, &mut src, &mut Kernel(&mut *fw), RETRY);
    assert!(rep.ok(), "{rep:#?}");
    assert!(
        pair.udp_passes("198.51.100.11", 5060),
        "xb (allowed) was dropped"
    );
    assert!(
        pair.udp_passes("2001:db8::20", 5060),
        "xb v6 (allowed) was dropped"
    );
    assert!(
        !pair.udp_passes("203.0.113.11", 5060),
        "xa (not listed) reached SIP"
    );
    assert!(
        !pair.udp_passes("2001:db8::10", 5060),
        "xa v6 (not listed) reached SIP"
    );

    // Every source down: the stored zones stay in the kernel.
    for p in ["/v4/xb.zone", "/v6/xb.zone"] {
        server.route(p, Reply::Html);
    }
    let rep = zones::refresh(&cfg, false, &mut src, &mut Kernel(&mut *fw), RETRY);
    assert!(!rep.ok());
    assert!(
        pair.udp_passes("198.51.100.11", 5060),
        "allowed country locked out after a failed refresh"
    );
    assert!(
        !pair.udp_passes("203.0.113.11", 5060),
        "failed refresh opened the door to everyone"
    );

    // Reboot: a fresh backend gets the stored zones before any download.
    fw.uninstall().expect("uninstall");
    let mut fw = make(pair.server.tools());
    fw.install(&plan).expect("install again");
    assert_eq!(zones::load_stored(&cfg, &mut Kernel(&mut *fw)), Ok((1, 1)));
    assert!(pair.udp_passes("198.51.100.11", 5060));
    assert!(!pair.udp_passes("203.0.113.11", 5060));
    fw.uninstall().expect("uninstall");
}
