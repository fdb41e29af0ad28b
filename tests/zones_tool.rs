//! `zones refresh` through the external download tool (the router packages'
//! zone source, built without the `tls` feature) against a real HTTP server
//! on loopback: a good zone loads; a 404, an HTML page sent with 200, an
//! endless body and a stalled one fail, and the previous zone stays on storage and in what
//! the kernel was last given. GNU or busybox `wget` plays uclient-fetch
//! (same options); tests/install/zones.sh installs wget.

mod zones_support;

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use sipwall::config::{Config, GeoMode};
use sipwall::zones::{self, Family, Outcome, RetryPolicy, ToolOptions, ToolSource};
use zones_support::{fixture, skip, temp_dir, zone_reply, Cleanup, Recorder, Reply, Server};

/// GNU `wget` and `busybox wget` (busybox dispatches on argv[0], so a
/// symlink named wget is enough), whichever are installed.
fn tools(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let runs = std::process::Command::new("wget")
        .arg("--help")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok();
    if runs {
        found.push("wget".to_string());
    }
    for bb in ["/bin/busybox", "/usr/bin/busybox"] {
        if Path::new(bb).is_file() {
            let link = dir.join("bb").join("wget");
            let _ = fs::create_dir_all(dir.join("bb"));
            if std::os::unix::fs::symlink(bb, &link).is_err() {
                break;
            }
            // Debian's busybox is built without wget's -T and crashes on
            // it (OpenWrt's has it): use it only if -T works.
            let probe = std::process::Command::new(&link)
                .args(["-T", "1", "-O", "-", "http://127.0.0.1:1/"])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status();
            match probe {
                Ok(s) if s.code().is_some() => found.push(link.to_string_lossy().into_owned()),
                _ => println!("note: this busybox wget crashes on -T; testing GNU wget only"),
            }
            break;
        }
    }
    found
}

fn stored(state: &Path, cc: &str, f: Family) -> Vec<u8> {
    fs::read(zones::store::zone_path(&zones::zones_dir(state), cc, f)).expect("stored zone")
}

#[test]
fn the_external_tool_loads_a_zone_and_faults_keep_the_old_one() {
    let dir = temp_dir("tool");
    let _c = Cleanup(dir.clone());
    let found = tools(&dir);
    if found.is_empty() {
        skip("neither wget nor busybox is installed (tests/install/zones.sh)");
        return;
    }
    for (i, tool) in found.iter().enumerate() {
        println!("tool: {tool}");
        one_tool(tool, &dir.join(format!("state{i}")));
    }
}

fn one_tool(tool: &str, state: &Path) {
    let state = state.to_path_buf();
    let server = Server::http();
    let zone = fixture("xa-aggregated.zone");
    server.route(
        "/ipdeny/xa-aggregated.zone",
        zone_reply(&zone, Some("\"xa4-1\"")),
    );
    server.route(
        "/ipdeny/v6/xa-aggregated.zone",
        zone_reply(&fixture("xa-v6-aggregated.zone"), None),
    );
    let mut cfg = Config::default();
    cfg.global.state_dir = state.clone();
    cfg.geo.enabled = true;
    cfg.geo.mode = GeoMode::Block;
    cfg.geo.countries = vec!["xa".to_string()];
    cfg.geo.ipv4_url = server.url("http", "/ipdeny/{cc}-aggregated.zone");
    cfg.geo.ipv6_url = server.url("http", "/ipdeny/v6/{cc}-aggregated.zone");
    cfg.geo.fallback_ipv4_url = server.url("http", "/ipverse/{cc}/ipv4.txt");
    cfg.geo.fallback_ipv6_url = server.url("http", "/ipverse/{cc}/ipv6.txt");
    let mut src = ToolSource::new(ToolOptions {
        command: Some(tool.to_string()),
        read_timeout: Duration::from_secs(2),
        total_timeout: Duration::from_secs(4),
        max_body: 256 * 1024,
    });
    let retry = RetryPolicy {
        attempts: 2,
        backoff: Duration::from_millis(20),
    };
    let mut kernel = Recorder::default();
    let rep = zones::refresh(&cfg, false, &mut src, &mut kernel, retry);
    assert!(rep.ok(), "{tool}: {rep:#?}");
    assert_eq!(kernel.loads.len(), 1);
    assert!(!kernel.loads[0].0.is_empty(), "no IPv4 prefixes loaded");
    let good_v4 = stored(&state, "xa", Family::V4);
    let good_kernel = kernel.loads[0].clone();

    // Same body again: no conditional request with a tool, the body is
    // compared with the stored zone instead.
    let rep = zones::refresh(&cfg, false, &mut src, &mut kernel, retry);
    assert!(
        matches!(rep.zones[0].outcome, Outcome::Same { .. }),
        "{}",
        rep.zones[0]
    );

    let faults: Vec<(&str, Reply, &str, usize)> = vec![
        ("404", Reply::Status(404), "404", 1),
        ("html-200", Reply::Html, "HTML", 1),
        ("endless", Reply::Endless, "limit", 1),
        // One byte a second: only the overall deadline (4 s) stops it.
        ("slow", Reply::Slow, "timed out", 2),
    ];
    for (name, reply, word, tries) in faults {
        server.route("/ipdeny/xa-aggregated.zone", reply);
        server.reset_hits();
        let started = Instant::now();
        let rep = zones::refresh(&cfg, false, &mut src, &mut kernel, retry);
        let took = started.elapsed();
        let z = &rep.zones[0];
        println!("{tool}: fault {name}: {z} ({} ms)", took.as_millis());
        assert!(!rep.ok(), "{name}: refresh claimed success");
        assert!(
            matches!(z.outcome, Outcome::Failed { kept: Some(_), .. }),
            "{name}: {z}"
        );
        assert!(
            z.to_string().contains(word),
            "{name}: '{word}' missing: {z}"
        );
        assert_eq!(
            server.hits("/ipdeny/xa-aggregated.zone"),
            tries,
            "{name}: attempts"
        );
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
    }
}
