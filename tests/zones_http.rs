//! `zones refresh` against real HTTP and HTTPS servers on loopback: fixture
//! zones, conditional requests, the fallback source, and every fault a
//! mirror can produce. After each fault the previous zone must be intact,
//! both on storage and in what the kernel was last given.

// The built-in HTTPS client exists only with the `tls` feature.
#![cfg(feature = "tls")]

mod zones_support;

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use ipnet::Ipv4Net;
use sipwall::config::{Config, GeoMode};
use sipwall::zones::{self, Family, HttpOptions, HttpSource, Outcome, RetryPolicy};
use zones_support::{
    fixture, make_pki, skip, temp_dir, zone_reply, Cleanup, Recorder, Reply, Server,
};

fn config(server: &Server, scheme: &str, state: &Path, ccs: &[&str]) -> Config {
    let mut c = Config::default();
    c.global.state_dir = state.to_path_buf();
    c.geo.enabled = true;
    c.geo.mode = GeoMode::Block;
    c.geo.countries = ccs.iter().map(|s| s.to_string()).collect();
    c.geo.ipv4_url = server.url(scheme, "/ipdeny/{cc}-aggregated.zone");
    c.geo.ipv6_url = server.url(scheme, "/ipdeny/v6/{cc}-aggregated.zone");
    c.geo.fallback_ipv4_url = server.url(scheme, "/ipverse/country/{cc}/ipv4-aggregated.txt");
    c.geo.fallback_ipv6_url = server.url(scheme, "/ipverse/country/{cc}/ipv6-aggregated.txt");
    c
}

fn options(roots: Option<Vec<Vec<u8>>>) -> HttpOptions {
    HttpOptions {
        connect_timeout: Duration::from_secs(2),
        response_timeout: Duration::from_secs(2),
        total_timeout: Duration::from_secs(2),
        max_body: 256 * 1024,
        trusted_roots: roots,
    }
}

const RETRY: RetryPolicy = RetryPolicy {
    attempts: 2,
    backoff: Duration::from_millis(20),
};

fn serve_xa(server: &Server) {
    server.route(
        "/ipdeny/xa-aggregated.zone",
        zone_reply(&fixture("xa-aggregated.zone"), Some("\"xa4-1\"")),
    );
    server.route(
        "/ipdeny/v6/xa-aggregated.zone",
        zone_reply(&fixture("xa-v6-aggregated.zone"), Some("\"xa6-1\"")),
    );
}

fn stored(state: &Path, cc: &str, f: Family) -> Vec<u8> {
    fs::read(zones::store::zone_path(&zones::zones_dir(state), cc, f)).expect("stored zone")
}

#[test]
fn https_download_is_stored_loaded_and_revalidated() {
    let dir = temp_dir("https-ok");
    let _c = Cleanup(dir.clone());
    let pki = match make_pki(&dir, "good") {
        Ok(p) => p,
        Err(e) => {
            skip(&e);
            return;
        }
    };
    let server = Server::https(&pki.leaf_cert, &pki.leaf_key);
    serve_xa(&server);
    let cfg = config(&server, "https", &dir.join("state"), &["xa"]);
    let mut src = HttpSource::new(&options(Some(vec![pki.ca_der.clone()])));
    let mut kernel = Recorder::default();

    let rep = zones::refresh(&cfg, false, &mut src, &mut kernel, RETRY);
    assert!(rep.ok(), "first refresh: {:#?}", rep);
    // 203.0.113.0/24 aggregated from three pieces, plus 192.0.2.64/26
    let v4: Vec<Ipv4Net> = vec![
        "192.0.2.64/26".parse().unwrap(),
        "203.0.113.0/24".parse().unwrap(),
    ];
    assert_eq!(kernel.loads[0].0, v4);
    assert_eq!(kernel.loads[0].1.len(), 2);
    let path = zones::store::zone_path(&zones::zones_dir(&dir.join("state")), "xa", Family::V4);
    let mtime = fs::metadata(&path).unwrap().modified().unwrap();

    // Second run: the server sees If-None-Match and answers 304; flash is not rewritten.
    std::thread::sleep(Duration::from_millis(20));
    let rep = zones::refresh(&cfg, false, &mut src, &mut kernel, RETRY);
    assert!(rep.ok(), "second refresh: {:#?}", rep);
    assert_eq!(
        server.conditional("/ipdeny/xa-aggregated.zone").as_deref(),
        Some("\"xa4-1\"")
    );
    assert_eq!(
        server
            .conditional("/ipdeny/xa-aggregated.zone since")
            .as_deref(),
        Some("Mon, 02 Jan 2023 03:04:05 GMT")
    );
    assert_eq!(rep.zones[0].outcome, Outcome::NotModified { entries: 2 });
    assert_eq!(fs::metadata(&path).unwrap().modified().unwrap(), mtime);
    assert_eq!(kernel.loads[1], kernel.loads[0]);

    let st = zones::status(&cfg);
    assert_eq!(st.len(), 2);
    assert_eq!(
        (st[0].entries, st[0].source.as_str(), st[0].stored),
        (2, "primary", true)
    );
    assert!(st[0].last_error.is_none());
}

#[test]
fn an_untrusted_certificate_is_refused_and_the_old_zone_stays() {
    let dir = temp_dir("https-bad");
    let _c = Cleanup(dir.clone());
    let (trusted, rogue) = match (make_pki(&dir, "trusted"), make_pki(&dir, "rogue")) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => {
            skip(&e);
            return;
        }
    };
    let state = dir.join("state");
    let good = Server::https(&trusted.leaf_cert, &trusted.leaf_key);
    serve_xa(&good);
    let mut src = HttpSource::new(&options(Some(vec![trusted.ca_der.clone()])));
    let mut kernel = Recorder::default();
    assert!(zones::refresh(
        &config(&good, "https", &state, &["xa"]),
        false,
        &mut src,
        &mut kernel,
        RETRY
    )
    .ok());
    let before = stored(&state, "xa", Family::V4);

    // Same names, certificate from a CA the client does not trust (a MITM).
    let evil = Server::https(&rogue.leaf_cert, &rogue.leaf_key);
    evil.route(
        "/ipdeny/xa-aggregated.zone",
        zone_reply("0.0.0.0/1\n128.0.0.0/1\n", None),
    );
    evil.route("/ipdeny/v6/xa-aggregated.zone", zone_reply("::/0\n", None));
    let rep = zones::refresh(
        &config(&evil, "https", &state, &["xa"]),
        false,
        &mut src,
        &mut kernel,
        RETRY,
    );
    assert!(!rep.ok());
    let text = rep.zones[0].to_string();
    println!("{text}");
    assert!(
        matches!(rep.zones[0].outcome, Outcome::Failed { kept: Some(2), .. }),
        "{text}"
    );
    assert!(
        text.to_lowercase().contains("cert") || text.contains("UnknownIssuer"),
        "{text}"
    );
    assert_eq!(
        evil.hits("/ipdeny/xa-aggregated.zone"),
        0,
        "a request went through the rogue TLS"
    );
    assert_eq!(stored(&state, "xa", Family::V4), before);
    assert_eq!(kernel.loads.last().unwrap(), &kernel.loads[0]);
}

#[test]
fn fault_matrix_over_http_keeps_the_previous_zone() {
    let dir = temp_dir("faults");
    let _c = Cleanup(dir.clone());
    let state = dir.join("state");
    let server = Server::http();
    serve_xa(&server);
    let cfg = config(&server, "http", &state, &["xa"]);
    let mut src = HttpSource::new(&options(None));
    let mut kernel = Recorder::default();
    assert!(zones::refresh(&cfg, false, &mut src, &mut kernel, RETRY).ok());
    let good_v4 = stored(&state, "xa", Family::V4);
    let good_kernel = kernel.loads[0].clone();
    let zone = fixture("xa-aggregated.zone");

    let faults: Vec<(&str, Reply, &[&str], usize)> = vec![
        ("404", Reply::Status(404), &["404"], 1),
        ("500", Reply::Status(500), &["500"], 2),
        (
            "truncated",
            Reply::Truncated {
                body: zone[..20].to_string(),
                declared: zone.len() + 500,
            },
            &[],
            2,
        ),
        ("html-200", Reply::Html, &["HTML"], 1),
        ("slow", Reply::Slow, &["tim"], 2),
        ("endless", Reply::Endless, &["limit"], 1),
    ];
    server.route(
        "/ipverse/country/xa/ipv4-aggregated.txt",
        Reply::Status(404),
    );
    for (name, reply, words, tries) in faults {
        server.route("/ipdeny/xa-aggregated.zone", reply);
        server.reset_hits();
        let started = Instant::now();
        let rep = zones::refresh(&cfg, false, &mut src, &mut kernel, RETRY);
        let took = started.elapsed();
        let z = &rep.zones[0];
        println!("fault {name}: {z} ({} ms)", took.as_millis());
        assert!(!rep.ok(), "{name}: refresh claimed success");
        assert!(
            matches!(z.outcome, Outcome::Failed { kept: Some(2), .. }),
            "{name}: {z}"
        );
        let text = z.to_string();
        for w in words {
            assert!(text.contains(w), "{name}: '{w}' missing from: {text}");
        }
        assert_eq!(
            server.hits("/ipdeny/xa-aggregated.zone"),
            tries,
            "{name}: attempts"
        );
        // A hung download must not hang the router's cron job.
        assert!(took < Duration::from_secs(20), "{name}: took {took:?}");
        assert_eq!(
            stored(&state, "xa", Family::V4),
            good_v4,
            "{name}: stored zone changed"
        );
        assert_eq!(
            kernel.loads.last().unwrap(),
            &good_kernel,
            "{name}: kernel set changed"
        );
        let st = zones::status(&cfg);
        assert!(st[0].last_error.is_some(), "{name}: status shows no error");
        assert_eq!(st[0].entries, 2);
    }

    // The mirror recovers: back to normal, error cleared.
    serve_xa(&server);
    let rep = zones::refresh(&cfg, false, &mut src, &mut kernel, RETRY);
    assert!(rep.ok(), "{rep:#?}");
    assert!(zones::status(&cfg)[0].last_error.is_none());
}

#[test]
fn the_fallback_source_serves_when_the_primary_is_down() {
    let dir = temp_dir("fallback");
    let _c = Cleanup(dir.clone());
    let state = dir.join("state");
    let server = Server::http();
    server.route("/ipdeny/xa-aggregated.zone", Reply::Status(503));
    server.route("/ipdeny/v6/xa-aggregated.zone", Reply::Html);
    server.route(
        "/ipverse/country/xa/ipv4-aggregated.txt",
        zone_reply(&fixture("xa-ipverse-ipv4.txt"), None),
    );
    server.route(
        "/ipverse/country/xa/ipv6-aggregated.txt",
        zone_reply(
            &format!("# ipverse\n{}", fixture("xa-v6-aggregated.zone")),
            None,
        ),
    );
    let cfg = config(&server, "http", &state, &["xa"]);
    let mut src = HttpSource::new(&options(None));
    let mut kernel = Recorder::default();
    let rep = zones::refresh(&cfg, false, &mut src, &mut kernel, RETRY);
    assert!(rep.ok(), "{rep:#?}");
    assert!(matches!(
        rep.zones[0].outcome,
        Outcome::Updated {
            source: "fallback",
            entries: 2,
            ..
        }
    ));
    assert!(
        rep.zones[0].to_string().contains("503"),
        "primary failure not reported: {}",
        rep.zones[0]
    );
    assert_eq!(zones::status(&cfg)[0].source, "fallback");
    assert_eq!(kernel.loads[0].0.len(), 2);
}

#[test]
fn allow_mode_over_http_never_empties_the_set() {
    let dir = temp_dir("allow");
    let _c = Cleanup(dir.clone());
    let state = dir.join("state");
    let server = Server::http();
    serve_xa(&server);
    let mut cfg = config(&server, "http", &state, &["xa"]);
    cfg.geo.mode = GeoMode::Allow;
    let mut src = HttpSource::new(&options(None));
    let mut kernel = Recorder::default();
    // Nothing stored and the v4 zone is down: nothing may be loaded.
    server.route("/ipdeny/xa-aggregated.zone", Reply::Status(500));
    let rep = zones::refresh(&cfg, false, &mut src, &mut kernel, RETRY);
    assert!(kernel.loads.is_empty());
    assert!(rep.load_error.unwrap().contains("locked out"));
    let mut boot = Recorder::default();
    assert!(zones::load_stored(&cfg, &mut boot).is_err());
    assert!(boot.loads.is_empty());
    // It comes back: loaded; a reboot loads the stored copy without network.
    serve_xa(&server);
    assert!(zones::refresh(&cfg, false, &mut src, &mut kernel, RETRY).ok());
    drop(server);
    let mut boot = Recorder::default();
    assert_eq!(zones::load_stored(&cfg, &mut boot), Ok((2, 2)));
    assert_eq!(boot.loads[0], kernel.loads[0]);
}

#[test]
fn allow_mode_with_a_country_that_publishes_no_ipv6_zone() {
    let dir = temp_dir("allow-nov6");
    let _c = Cleanup(dir.clone());
    let state = dir.join("state");
    let server = Server::http();
    serve_xa(&server);
    // xb has an IPv4 zone only: both sources answer 404 for its IPv6 one.
    server.route(
        "/ipdeny/xb-aggregated.zone",
        zone_reply(&fixture("xb-aggregated.zone"), None),
    );
    let mut cfg = config(&server, "http", &state, &["xa", "xb"]);
    cfg.geo.mode = GeoMode::Allow;
    let mut src = HttpSource::new(&options(None));
    let mut kernel = Recorder::default();
    let rep = zones::refresh(&cfg, false, &mut src, &mut kernel, RETRY);
    assert!(rep.ok(), "{rep:#?}");
    assert!(matches!(
        rep.zones[3].outcome,
        Outcome::NonePublished { first: true, .. }
    ));
    // Both countries' IPv4 prefixes are allowed; IPv6 is xa's alone.
    let (v4, v6) = kernel.loads[0].clone();
    let want: Vec<Ipv4Net> = ["192.0.2.0/25", "198.51.100.0/24", "203.0.113.0/24"]
        .iter()
        .map(|n| n.parse().unwrap())
        .collect();
    assert_eq!(v4, want, "xa + xb IPv4, aggregated");
    assert_eq!(v6.len(), 2);
    let st = zones::status(&cfg);
    assert!(st[3]
        .to_string()
        .starts_with("xb v6: none published (404 at 127.0.0.1:"));
    assert_eq!(st[3].note, None, "xa has an IPv6 zone: IPv6 is filtered");
    // The next run does not ask again and still loads the same sets.
    server.reset_hits();
    let rep = zones::refresh(&cfg, false, &mut src, &mut kernel, RETRY);
    assert!(rep.ok(), "{rep:#?}");
    assert_eq!(server.hits("/ipdeny/v6/xb-aggregated.zone"), 0);
    assert_eq!(kernel.loads[1], kernel.loads[0]);
    // A reboot without network: the same sets, and allow mode is not
    // blocked by the zone that does not exist.
    drop(server);
    let mut boot = Recorder::default();
    assert_eq!(zones::load_stored(&cfg, &mut boot), Ok((v4.len(), 2)));
    // With xb alone nothing is allowed over IPv6 by country: the IPv6 set
    // stays empty (so unfiltered) and status says so.
    cfg.geo.countries = vec!["xb".into()];
    let mut boot = Recorder::default();
    let (_, n6) = zones::load_stored(&cfg, &mut boot).unwrap();
    assert_eq!(n6, 0);
    let st = zones::status(&cfg);
    assert!(
        st[1].to_string().contains("IPv6 is not filtered"),
        "{}",
        st[1]
    );
}
