//! `sipwall zones refresh|load|status` through the real binary, against a
//! zone server on loopback and a stand-in for the daemon's control socket
//! (the daemon owns the kernel ruleset; a refresh hands it the zones).

mod zones_support;

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixListener;
use std::path::Path;
use std::process::Command;
use std::thread;
use std::time::Duration;

use zones_support::{fixture, temp_dir, zone_reply, Cleanup, Reply, Server};

fn sipwall(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_sipwall"))
        .args(args)
        .output()
        .expect("run sipwall");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn config(dir: &Path, server: &Server, mode: &str) -> String {
    let p = dir.join("sipwall.toml");
    fs::write(
        &p,
        format!(
            "[sipwall]\nstate_dir = \"{}\"\nrun_dir = \"{}\"\n\n[geo]\nenabled = true\nmode = \"{mode}\"\n\
             country = [\"xa\"]\nipv4_url = \"{}\"\nipv6_url = \"{}\"\nfallback_ipv4_url = \"{}\"\nfallback_ipv6_url = \"{}\"\n",
            dir.join("state").display(),
            dir.join("run").display(),
            server.url("http", "/ipdeny/{cc}-aggregated.zone"),
            server.url("http", "/ipdeny/v6/{cc}-aggregated.zone"),
            server.url("http", "/ipverse/{cc}/ipv4-aggregated.txt"),
            server.url("http", "/ipverse/{cc}/ipv6-aggregated.txt"),
        ),
    )
    .unwrap();
    p.to_string_lossy().into_owned()
}

fn serve_xa(server: &Server) {
    let f = fixture;
    server.route(
        "/ipdeny/xa-aggregated.zone",
        zone_reply(&f("xa-aggregated.zone"), Some("\"a\"")),
    );
    server.route(
        "/ipdeny/v6/xa-aggregated.zone",
        zone_reply(&f("xa-v6-aggregated.zone"), Some("\"b\"")),
    );
}

/// Answers `zones-load` requests on `<run_dir>/control.sock` like the
/// daemon would; returns the requests it saw.
fn fake_daemon(run_dir: &Path, ok: bool) -> thread::JoinHandle<Vec<String>> {
    fs::create_dir_all(run_dir).unwrap();
    let listener = UnixListener::bind(run_dir.join("control.sock")).unwrap();
    listener.set_nonblocking(true).unwrap();
    thread::spawn(move || {
        let mut seen = Vec::new();
        for _ in 0..200 {
            match listener.accept() {
                Ok((s, _)) => {
                    s.set_nonblocking(false).unwrap();
                    s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
                    let mut line = String::new();
                    let mut r = BufReader::new(&s);
                    if r.read_line(&mut line).unwrap_or(0) == 0 {
                        continue; // the client's liveness probe
                    }
                    seen.push(line.trim().to_string());
                    let answer = if ok {
                        "{\"ok\":true,\"message\":\"country zones loaded: 2 IPv4 and 2 IPv6 prefixes\"}\n"
                    } else {
                        "{\"ok\":false,\"message\":\"country zones: nft said no\"}\n"
                    };
                    let _ = (&s).write_all(answer.as_bytes());
                    return seen;
                }
                Err(_) => thread::sleep(Duration::from_millis(10)),
            }
        }
        seen
    })
}

#[test]
fn refresh_without_a_daemon_stores_the_zones_and_says_so() {
    let dir = temp_dir("cli-nodaemon");
    let _c = Cleanup(dir.clone());
    let server = Server::http();
    serve_xa(&server);
    let cfg = config(&dir, &server, "block");
    let (ok, out) = sipwall(&["zones", "refresh", "--stats", "--config", &cfg]);
    assert!(ok, "{out}");
    assert!(out.contains("xa v4: new from primary: 2 prefixes"), "{out}");
    assert!(out.contains("not running"), "{out}");
    assert!(out.contains("peak RSS"), "{out}");
    let (ok, out) = sipwall(&["zones", "status", "--config", &cfg]);
    assert!(ok, "{out}");
    assert!(
        out.contains("xa v4: 2 prefixes") && out.contains("from primary"),
        "{out}"
    );
    // `zones load` needs the daemon and says so.
    let (ok, out) = sipwall(&["zones", "load", "--config", &cfg]);
    assert!(!ok && out.contains("not running"), "{out}");
}

#[test]
fn refresh_hands_the_zones_to_the_running_daemon() {
    let dir = temp_dir("cli-daemon");
    let _c = Cleanup(dir.clone());
    let server = Server::http();
    serve_xa(&server);
    let cfg = config(&dir, &server, "allow");
    let daemon = fake_daemon(&dir.join("run"), true);
    let (ok, out) = sipwall(&["zones", "refresh", "--config", &cfg]);
    assert!(ok, "{out}");
    assert!(out.contains("country zones loaded: 2 IPv4"), "{out}");
    assert_eq!(daemon.join().unwrap(), vec!["zones-load".to_string()]);
}

#[test]
fn a_failed_download_or_a_daemon_error_fails_the_command() {
    let dir = temp_dir("cli-fail");
    let _c = Cleanup(dir.clone());
    let server = Server::http();
    serve_xa(&server);
    let cfg = config(&dir, &server, "block");
    // Kernel side refuses: exit status 1 and the daemon's words.
    let _ = fs::remove_file(dir.join("run").join("control.sock"));
    let daemon = fake_daemon(&dir.join("run"), false);
    let (ok, out) = sipwall(&["zones", "refresh", "--config", &cfg]);
    assert!(!ok, "{out}");
    assert!(out.contains("nft said no"), "{out}");
    daemon.join().unwrap();
    // A 404 with nothing stored for v6 and the fallback broken: exit 1, a
    // message naming the zone. (404 at every source is a fact instead:
    // see `a_country_without_an_ipv6_zone_is_a_fact_not_a_failure`.)
    fs::remove_file(dir.join("run").join("control.sock")).unwrap();
    server.route("/ipdeny/v6/xa-aggregated.zone", Reply::Status(404));
    server.route("/ipverse/xa/ipv6-aggregated.txt", Reply::Html);
    fs::remove_dir_all(dir.join("state")).unwrap();
    let (ok, out) = sipwall(&["zones", "refresh", "--config", &cfg]);
    assert!(!ok, "{out}");
    assert!(
        out.contains("xa v6: FAILED") && out.contains("404"),
        "{out}"
    );
}

#[test]
fn one_refresh_at_a_time() {
    use std::os::fd::AsRawFd;
    let dir = temp_dir("cli-lock");
    let _c = Cleanup(dir.clone());
    let server = Server::http();
    serve_xa(&server);
    let cfg = config(&dir, &server, "block");
    let zones = dir.join("state").join("zones");
    fs::create_dir_all(&zones).unwrap();
    let held = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(zones.join(".lock"))
        .unwrap();
    assert_eq!(
        unsafe { libc::flock(held.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) },
        0
    );
    let (ok, out) = sipwall(&["zones", "refresh", "--config", &cfg]);
    assert!(ok && out.contains("another"), "{out}");
    assert_eq!(
        server.hits("/ipdeny/xa-aggregated.zone"),
        0,
        "a second refresh downloaded"
    );
    drop(held);
    // Another test of this process may fork while `held` is open; until
    // that child execs, it shares the lock. So "another" may come back a
    // moment longer.
    let mut tries = 0;
    let (ok, out) = loop {
        let (ok, out) = sipwall(&["zones", "refresh", "--config", &cfg]);
        tries += 1;
        if !out.contains("another") || tries == 40 {
            break (ok, out);
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert!(ok && !out.contains("another"), "{out}");
    assert_eq!(server.hits("/ipdeny/xa-aggregated.zone"), 1);
}

#[test]
fn a_country_without_an_ipv6_zone_is_a_fact_not_a_failure() {
    let dir = temp_dir("cli-nov6");
    let _c = Cleanup(dir.clone());
    let server = Server::http();
    let v4 = fixture("xa-aggregated.zone");
    server.route("/ipdeny/xa-aggregated.zone", zone_reply(&v4, Some("\"a\"")));
    // Neither source has an IPv6 zone for xa: both answer 404.
    let cfg = config(&dir, &server, "allow");
    let v6_hits = || {
        server.hits("/ipdeny/v6/xa-aggregated.zone")
            + server.hits("/ipverse/xa/ipv6-aggregated.txt")
    };
    let (ok, out) = sipwall(&["zones", "refresh", "--config", &cfg]);
    assert!(ok, "a missing IPv6 zone failed the refresh: {out}");
    assert!(out.contains("xa v4: new from primary: 2 prefixes"), "{out}");
    assert!(
        out.contains("xa v6: no IPv6 zone published (404 at 127.0.0.1:"),
        "{out}"
    );
    assert!(!out.contains("FAILED"), "{out}");
    assert!(out.contains("IPv6 is not filtered by country"), "{out}");
    assert_eq!(v6_hits(), 2);
    let (ok, out) = sipwall(&["zones", "status", "--config", &cfg]);
    assert!(ok, "{out}");
    assert!(out.contains("xa v4: 2 prefixes"), "{out}");
    assert!(
        out.contains("xa v6: none published (404 at 127.0.0.1:"),
        "{out}"
    );
    assert!(
        out.contains("IPv6 is not filtered") && !out.contains("last error"),
        "{out}"
    );

    // The nightly run: nobody is asked about IPv6 again, nothing is logged about it.
    let (ok, out) = sipwall(&["zones", "refresh", "--config", &cfg]);
    assert!(ok, "{out}");
    assert!(!out.contains("xa v6"), "re-logged a known fact: {out}");
    assert_eq!(
        v6_hits(),
        2,
        "asked for the unpublished zone again within a week"
    );
    // --force asks again.
    let (ok, out) = sipwall(&["zones", "refresh", "--force", "--config", &cfg]);
    assert!(ok, "{out}");
    assert_eq!(v6_hits(), 4);

    // A 404 for the IPv4 zone is an error naming the code; the stored copy stays.
    let stored = dir.join("state").join("zones").join("xa.v4");
    let before = fs::read(&stored).unwrap();
    server.route("/ipdeny/xa-aggregated.zone", Reply::Status(404));
    let (ok, out) = sipwall(&["zones", "refresh", "--config", &cfg]);
    assert!(!ok, "{out}");
    assert!(
        out.contains("no IPv4 zone for 'xa' at any source (404") && out.contains("country code"),
        "{out}"
    );
    assert!(
        out.contains("keeping the stored zone (2 prefixes)"),
        "{out}"
    );
    assert_eq!(fs::read(&stored).unwrap(), before);
    let (_, out) = sipwall(&["zones", "status", "--config", &cfg]);
    assert!(
        out.contains("xa v4: 2 prefixes") && out.contains("last error: no IPv4 zone for 'xa'"),
        "{out}"
    );
}

#[test]
fn family_ipv4_never_fetches_ipv6_zones() {
    let dir = temp_dir("cli-family4");
    let _c = Cleanup(dir.clone());
    let server = Server::http();
    serve_xa(&server);
    let cfg = config(&dir, &server, "block");
    let text = fs::read_to_string(&cfg).unwrap();
    fs::write(
        &cfg,
        text.replace("mode = \"block\"", "mode = \"block\"\nfamily = \"ipv6\""),
    )
    .unwrap();
    let (ok, out) = sipwall(&["check-config", "--config", &cfg]);
    assert!(
        !ok && out.contains("family") && out.contains("ipv4"),
        "{out}"
    );
    fs::write(
        &cfg,
        text.replace("mode = \"block\"", "mode = \"block\"\nfamily = \"ipv4\""),
    )
    .unwrap();
    let (ok, out) = sipwall(&["zones", "refresh", "--config", &cfg]);
    assert!(ok, "{out}");
    assert!(
        out.contains("xa v4: new from primary") && !out.contains("xa v6"),
        "{out}"
    );
    assert!(
        out.contains("IPv6 is not filtered by country (geo family 'ipv4')"),
        "{out}"
    );
    assert_eq!(server.hits("/ipdeny/v6/xa-aggregated.zone"), 0);
    let (ok, out) = sipwall(&["zones", "status", "--config", &cfg]);
    assert!(ok && !out.contains("xa v6"), "{out}");
    assert!(out.contains("IPv6 zones are not fetched"), "{out}");
}
