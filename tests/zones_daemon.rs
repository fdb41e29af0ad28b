//! Country zones with the real daemon on the test bed (router mode, the
//! iptables + ipset backend): `sipwall run` loads the stored zones at start,
//! before any download, so a blocked country's scanner is dropped by the
//! kernel and never even reaches the daemon; `sipwall zones refresh` (run
//! from cron, here from the test) downloads a new zone from a server on
//! loopback and hands it to the running daemon over the control socket.
//! Needs root and tests/install/bed.sh; otherwise SKIP (a failure under
//! SIPWALL_STRICT=1).

#[path = "bed/mod.rs"]
mod bed;
mod zones_support;

use std::fs;

use bed::{Bed, Setup, ATTACKER};
use ipnet::{Ipv4Net, Ipv6Net};
use sipwall::zones::{codec, store, Family};
use zones_support::{zone_reply, Server};

/// The geo section pointing at `server`.
fn geo_section(server: &Server) -> String {
    format!(
        "\n[geo]\nenabled = true\nmode = \"block\"\ncountry = [\"xa\"]\n\
         ipv4_url = \"{}\"\nipv6_url = \"{}\"\nfallback_ipv4_url = \"{}\"\nfallback_ipv6_url = \"{}\"\n",
        server.url("http", "/v4/{cc}.zone"),
        server.url("http", "/v6/{cc}.zone"),
        server.url("http", "/fb4/{cc}.zone"),
        server.url("http", "/fb6/{cc}.zone"),
    )
}

/// A zone server listening inside network namespace `ns` (where the
/// daemon's own background refresh runs).
fn server_in(ns: &str) -> Server {
    let path = format!("/run/netns/{ns}");
    std::thread::spawn(move || {
        use std::os::fd::AsRawFd;
        let f = fs::File::open(&path).expect("open netns");
        // SAFETY: setns on this thread only; the fd is valid for the call.
        assert_eq!(
            unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) },
            0,
            "setns {path}"
        );
        Server::http()
    })
    .join()
    .expect("server thread")
}

#[test]
fn stored_zones_guard_from_the_start_and_a_refresh_reaches_the_daemon() {
    let Some(mut bed) = Bed::up("zone", Setup::default()) else {
        return;
    };
    let server = Server::http();
    let mut text = bed.config_text();
    text.push_str(&geo_section(&server));
    fs::write(&bed.config, text).expect("config");
    // The zone a previous run kept: country "xa" is the attacker's address.
    let zones = store::zones_dir(&bed.run.join("state"));
    let v4: Vec<Ipv4Net> = vec![format!("{ATTACKER}/32").parse().unwrap()];
    let v6: Vec<Ipv6Net> = vec!["2001:db8:ff::/48".parse().unwrap()];
    store::write_atomic(
        &store::zone_path(&zones, "xa", Family::V4),
        &codec::encode_v4(&v4),
    )
    .unwrap();
    store::write_atomic(
        &store::zone_path(&zones, "xa", Family::V6),
        &codec::encode_v6(&v6),
    )
    .unwrap();

    bed.start_sipwall();
    let log = bed.sipwall_log();
    assert!(
        log.contains("country zones loaded: 1 IPv4 and 1 IPv6"),
        "no zone load at start:\n{log}"
    );
    let (ok, status) = bed.ctl(&["status", "--json"]);
    assert!(
        ok && status.contains("\"country\":\"xa\",\"family\":\"v4\",\"entries\":1"),
        "status has no zones:\n{status}"
    );

    assert!(
        !bed.attack("svmap", &[]),
        "svmap found the PBX from a blocked country"
    );
    assert!(
        !bed.is_banned(ATTACKER),
        "the daemon saw the blocked country's packets: the kernel should have dropped them first"
    );
    assert_eq!(
        bed.count("attacker"),
        0,
        "the blocked country reached Kamailio"
    );

    // Upstream now lists another network for xa: the refresh downloads it,
    // stores it and the daemon swaps the kernel set.
    server.route("/v4/xa.zone", zone_reply("203.0.113.0/24\n", Some("\"2\"")));
    server.route(
        "/v6/xa.zone",
        zone_reply("2001:db8:ff::/48\n", Some("\"2\"")),
    );
    let (ok, out) = bed.ctl(&["zones", "refresh"]);
    assert!(ok, "zones refresh failed:\n{out}\n{}", bed.sipwall_log());
    assert!(
        out.contains("country zones loaded: 1 IPv4 and 1 IPv6"),
        "{out}"
    );
    // The attacker's address left the zone: its scanner now meets the
    // daemon, which bans it on sight.
    assert!(!bed.attack("svmap", &[]), "svmap found the PBX");
    assert!(
        bed.wait_for(3, || bed.is_banned(ATTACKER)),
        "the refreshed zone did not reach the kernel (attacker still dropped before the daemon)\n{}",
        bed.sipwall_log()
    );
}

#[test]
fn a_zone_missing_at_start_is_downloaded_in_the_background() {
    let Some(mut bed) = Bed::up("zdl", Setup::default()) else {
        return;
    };
    let rtr = format!("{}-rtr", bed.name);
    let _ = bed.exec("rtr", &["ip", "link", "set", "lo", "up"]);
    let server = server_in(&rtr);
    server.route(
        "/v4/xa.zone",
        zone_reply(&format!("{ATTACKER}/32\n"), Some("\"1\"")),
    );
    server.route(
        "/v6/xa.zone",
        zone_reply("2001:db8:ff::/48\n", Some("\"1\"")),
    );
    let mut text = bed.config_text();
    text.push_str(&geo_section(&server));
    fs::write(&bed.config, text).expect("config");

    bed.start_sipwall();
    // Nothing stored: the daemon starts a refresh itself, which hands the
    // zone back over the control socket.
    assert!(
        bed.wait_for(15, || bed
            .sipwall_log()
            .contains("country zones loaded: 1 IPv4 and 1 IPv6")),
        "the missing zone was not downloaded at start:\n{}",
        bed.sipwall_log()
    );
    assert!(
        bed.sipwall_log().contains("downloading now"),
        "{}",
        bed.sipwall_log()
    );
    assert_eq!(server.hits("/v4/xa.zone"), 1);
    assert!(
        !bed.attack("svmap", &[]),
        "svmap found the PBX from a blocked country"
    );
    assert!(
        !bed.is_banned(ATTACKER),
        "the kernel did not drop the blocked country"
    );
}
