//! The real `sipwall run` with the iptables backend, in a network namespace
//! on a veth pair (host mode: the "PBX" is a UDP responder in the same
//! namespace): a request to the secret domain passes, one to a bare IP is
//! dropped, `sipwall ban` makes the kernel drop, SIGTERM leaves nothing
//! behind, and a restart restores the ban. Needs root, iptables and ipset.

#[path = "daemon_support/mod.rs"]
mod support;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use support::{ask, options, wait_for, Pair, Responder, CLIENT, DOMAIN, SERVER};

/// `sipwall run` inside the server namespace; killed if the test fails.
struct Sipwall {
    child: Option<Child>,
    log: PathBuf,
}

impl Sipwall {
    fn start(ns: &str, config: &Path, log: PathBuf) -> Sipwall {
        let file = std::fs::File::create(&log).expect("log file");
        let child = Command::new("ip")
            .args(["netns", "exec", ns])
            .arg(env!("CARGO_BIN_EXE_sipwall"))
            .args(["run", "--log-stderr", "--config"])
            .arg(config)
            .stdin(Stdio::null())
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .spawn()
            .expect("spawn sipwall run");
        Sipwall {
            child: Some(child),
            log,
        }
    }

    fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn signal(&self, sig: i32) {
        let c = self.child.as_ref().expect("running");
        // SAFETY: signalling our own child.
        unsafe { libc::kill(c.id() as i32, sig) };
    }

    /// Sends `sig` and waits for the exit status.
    fn stop(&mut self, sig: i32) -> std::process::ExitStatus {
        let mut c = self.child.take().expect("running");
        // SAFETY: signalling our own child (ip netns exec execs sipwall).
        unsafe { libc::kill(c.id() as i32, sig) };
        let t0 = Instant::now();
        loop {
            if let Ok(Some(st)) = c.try_wait() {
                return st;
            }
            if t0.elapsed() > Duration::from_secs(10) {
                let _ = c.kill();
                panic!(
                    "sipwall did not exit within 10 s of signal {sig}:\n{}",
                    self.output()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Sipwall {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
            eprintln!("sipwall output:\n{}", self.output());
        }
    }
}

fn ctl(run_dir: &Path, args: &[&str]) -> (bool, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_sipwall"))
        .args(args)
        .arg("--run-dir")
        .arg(run_dir)
        .output()
        .expect("run sipwall");
    let mut s = String::from_utf8_lossy(&o.stdout).into_owned();
    s.push_str(&String::from_utf8_lossy(&o.stderr));
    (o.status.success(), s)
}

fn status(run_dir: &Path) -> sipwall::json::Value {
    let (ok, out) = ctl(run_dir, &["status", "--json"]);
    assert!(ok, "sipwall status failed: {out}");
    sipwall::json::parse(out.trim()).expect("status is JSON")
}

fn num(v: &sipwall::json::Value, path: &[&str]) -> i64 {
    let mut cur = v;
    for k in path {
        cur = cur
            .get(k)
            .unwrap_or_else(|| panic!("status lacks {path:?}: {v}"));
    }
    cur.as_i64().unwrap_or(0)
}

/// RSS of a process in KiB.
fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// Makes the server's built-in filter chains exist, as on a host whose
/// firewall uses them (iptables-nft creates them on first use only).
fn make_builtin_chains(pair: &Pair) {
    for ipt in ["iptables", "ip6tables"] {
        for op in ["-A", "-D"] {
            for chain in ["INPUT", "FORWARD", "OUTPUT"] {
                let (ok, out) = pair.exec(&pair.server, &[ipt, op, chain, "-j", "ACCEPT"]);
                assert!(ok, "{ipt} {op} {chain}: {out}");
            }
        }
    }
}

#[test]
fn sipwall_run_gates_bans_restores_and_leaves_nothing_behind() {
    let Some(pair) = Pair::up("run", &["iptables", "ipset"]) else {
        return;
    };
    let dir = std::env::temp_dir().join(format!("sipwall-dn-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let run_dir = dir.join("run");
    let config = dir.join("sipwall.toml");
    let write_config = |extra_domain: &str| {
        std::fs::write(
            &config,
            format!(
                "[sipwall]\nenabled = true\nmode = \"host\"\nbackend = \"iptables\"\n\
             udp_port = [5060]\ntcp_port = []\ntls_port = []\nqueue = 5060\n\
             lan = [\"192.168.77.0/24\"]\nstate_dir = \"{}\"\nrun_dir = \"{}\"\nlog_level = 2\n\n\
             [[domain]]\nhost = \"{DOMAIN}\"\n\n{extra_domain}\
             # a host name in the allowlist is resolved and put into the allow set\n\
             [[allow]]\nname = \"loopback\"\nsource = \"localhost\"\n\n\
             # one client sends thousands of new flows below: no flood ban\n\
             [ratelimit]\nrate = 10000\nburst = 10000\n",
                dir.join("state").display(),
                run_dir.display()
            ),
        )
        .unwrap()
    };
    write_config("");
    // A real host already uses its filter tables; iptables-nft creates the
    // built-in chains on first use and they outlive any rule. Create them up
    // front so the comparison below is about sipwall's own chains, rules and
    // sets.
    make_builtin_chains(&pair);
    let clean = pair.netfilter_state();
    let pbx = Responder::start(&pair.server);
    let to: SocketAddr = format!("{SERVER}:5060").parse().unwrap();
    let wait = Duration::from_secs(2);

    let mut sw = Sipwall::start(&pair.server, &config, dir.join("run-1.log"));
    let up = wait_for(10, || ctl(&run_dir, &["status"]).0);
    if !up
        && sw
            .output()
            .contains("no firewall backend is built into this sipwall yet")
    {
        // TEMPORARY: until the firewall backends are on main.
        support::skip("this build has no firewall backend yet");
        return;
    }
    assert!(up, "sipwall did not come up:\n{}", sw.output());

    // The secret domain passes; a bare IP (what scanners send) does not.
    let ok = ask(&pair.client, to, options(&format!("sip:{DOMAIN}"), 1), wait);
    assert_eq!(
        ok.as_deref(),
        Some("SIP/2.0 200 OK"),
        "OPTIONS to the domain:\n{}",
        sw.output()
    );
    let seen = pbx.count();
    let bad = ask(
        &pair.client,
        to,
        options(&format!("sip:{SERVER}"), 2),
        Duration::from_millis(700),
    );
    assert_eq!(bad, None, "OPTIONS to a bare IP was answered");
    assert_eq!(pbx.count(), seen, "the PBX saw the request to a bare IP");
    // IPv6: the same gate.
    let to6: SocketAddr = "[2001:db8:d::1]:5060".parse().unwrap();
    let ok6 = ask(
        &pair.client,
        to6,
        options(&format!("sip:{DOMAIN}"), 30),
        wait,
    );
    assert_eq!(
        ok6.as_deref(),
        Some("SIP/2.0 200 OK"),
        "IPv6 OPTIONS to the domain"
    );
    let bad6 = ask(
        &pair.client,
        to6,
        options("sip:[2001:db8:d::1]", 31),
        Duration::from_millis(700),
    );
    assert_eq!(bad6, None, "IPv6 OPTIONS to a bare IP was answered");
    // The allowlisted host name was resolved and reached the kernel.
    assert!(
        wait_for(5, || pair.netfilter_state().contains("127.0.0.1")),
        "localhost from the allowlist is not in the kernel's allow set:\n{}",
        pair.netfilter_state()
    );
    let s = status(&run_dir);
    assert!(
        s.to_string().contains("\"addresses\":[\"127.0.0.1\""),
        "{s}"
    );
    assert!(num(&s, &["counters", "domain"]) >= 1, "{s}");
    assert!(num(&s, &["counters", "wrong-domain"]) >= 1, "{s}");
    assert_eq!(s.get("backend").and_then(|b| b.as_str()), Some("iptables"));

    // New flows through the queue: one socket (source port) per request.
    let n = 2000;
    let before = pbx.count();
    let t0 = Instant::now();
    let sent = support::in_ns(&pair.client, move || {
        let mut sent = 0;
        for i in 0..n {
            let s = std::net::UdpSocket::bind("0.0.0.0:0").unwrap();
            if s.send_to(options(&format!("sip:{DOMAIN}"), 100 + i).as_bytes(), to)
                .is_ok()
            {
                sent += 1;
            }
        }
        sent
    })
    .join()
    .unwrap();
    wait_for(5, || pbx.count() >= before + sent);
    let secs = t0.elapsed().as_secs_f64();
    let through = pbx.count() - before;
    let pid = sw.child.as_ref().unwrap().id();
    eprintln!(
        "sipwall run: {through} of {sent} new flows through the queue in {secs:.2}s ({:.0}/s); RSS {} KiB",
        through as f64 / secs,
        rss_kib(pid)
    );
    assert_eq!(through, sent, "new flows were lost:\n{}", status(&run_dir));

    // SIGHUP with a broken file keeps the running policy and says why; a
    // good file takes effect without a restart.
    std::fs::write(&config, "[sipwall]\nqueue = \"five\"\n").unwrap();
    sw.signal(libc::SIGHUP);
    assert!(
        wait_for(5, || sw
            .output()
            .contains("reload failed, keeping the running configuration")),
        "no word about the bad reload:\n{}",
        sw.output()
    );
    let ok = ask(&pair.client, to, options(&format!("sip:{DOMAIN}"), 6), wait);
    assert_eq!(
        ok.as_deref(),
        Some("SIP/2.0 200 OK"),
        "policy lost after a bad reload"
    );
    write_config("[[domain]]\nhost = \"other.example.test\"\n\n");
    let other = || {
        ask(
            &pair.client,
            to,
            options("sip:other.example.test", 7),
            Duration::from_millis(700),
        )
    };
    assert_eq!(other(), None, "a domain that is not configured passed");
    sw.signal(libc::SIGHUP);
    assert!(
        wait_for(5, || sw.output().contains("configuration reloaded")),
        "no reload:\n{}",
        sw.output()
    );
    assert_eq!(
        other().as_deref(),
        Some("SIP/2.0 200 OK"),
        "the reloaded domain does not pass"
    );
    write_config("");

    // Failed logins seen in the PBX's answers ban the source (default tier:
    // 2 failures in 1h), and the kernel then drops it.
    let (_, before) = ctl(&run_dir, &["bans"]);
    assert!(!before.contains(CLIENT), "banned too early:\n{before}");
    for seq in [10, 11] {
        let a = ask(&pair.client, to, support::register_with_password(seq), wait);
        assert_eq!(
            a.as_deref(),
            Some("SIP/2.0 403 Forbidden"),
            "guess {seq}:\n{}",
            sw.output()
        );
    }
    assert!(
        wait_for(3, || ctl(&run_dir, &["bans"]).1.contains(CLIENT)),
        "two failed logins did not ban the source:\n{}",
        sw.output()
    );
    let s = status(&run_dir);
    let latency = num(&s, &["daemon", "ban_latency_last_us"]);
    eprintln!(
        "sipwall run: auth-failure ban applied {latency} us after the PBX's answer was judged"
    );
    assert!(
        sw.output().contains(&format!(
            "ban {CLIENT} for 1h: 2 failed authentications in 1h (tier 1)"
        )),
        "the ban's log line does not explain it:\n{}",
        sw.output()
    );
    let seen = pbx.count();
    let after = ask(
        &pair.client,
        to,
        options(&format!("sip:{DOMAIN}"), 12),
        Duration::from_millis(700),
    );
    assert_eq!(after, None, "the banned password guesser was answered");
    assert_eq!(
        pbx.count(),
        seen,
        "the banned password guesser reached the PBX"
    );
    let (ok, out) = ctl(&run_dir, &["unban", CLIENT]);
    assert!(ok, "{out}");

    // A manual ban: the kernel drops the source before the queue.
    let (ok, out) = ctl(&run_dir, &["ban", CLIENT, "--for", "1h"]);
    assert!(ok, "{out}");
    let judged = num(&status(&run_dir), &["queue", "requests"]);
    let seen = pbx.count();
    let banned = ask(
        &pair.client,
        to,
        options(&format!("sip:{DOMAIN}"), 3),
        Duration::from_millis(700),
    );
    assert_eq!(banned, None, "a banned source was answered");
    assert_eq!(pbx.count(), seen, "a banned source reached the PBX");
    assert_eq!(
        num(&status(&run_dir), &["queue", "requests"]),
        judged,
        "the banned source's request reached userspace: the kernel should have dropped it"
    );
    let kernel = pair.netfilter_state();
    assert!(
        kernel.contains(CLIENT),
        "the ban is not in the kernel:\n{kernel}"
    );

    // A firewall restart flushes every chain (fw3; on fw4 `firewall stop`
    // deletes every table) and would leave the port open. The package's
    // firewall include then sends SIGHUP: the rules come back, ban included.
    for ipt in ["iptables", "ip6tables"] {
        for table in ["filter", "raw"] {
            for op in ["-F", "-X"] {
                let (ok, out) = pair.exec(&pair.server, &[ipt, "-t", table, op]);
                assert!(ok, "{ipt} -t {table} {op}: {out}");
            }
        }
    }
    // ... and the restarted firewall has its built-in chains again
    // (iptables-nft's `-X` also took the empty ones away).
    make_builtin_chains(&pair);
    assert!(
        !pair.netfilter_state().contains("SIPWALL_"),
        "the simulated firewall restart left our chains"
    );
    sw.signal(libc::SIGHUP);
    assert!(
        wait_for(5, || sw.output().contains("the firewall rules were gone")),
        "SIGHUP did not notice the rules were gone:\n{}",
        sw.output()
    );
    let seen = pbx.count();
    let banned = ask(
        &pair.client,
        to,
        options(&format!("sip:{DOMAIN}"), 4),
        Duration::from_millis(700),
    );
    assert_eq!(
        banned, None,
        "the banned source was answered after the firewall restart and SIGHUP"
    );
    assert_eq!(pbx.count(), seen, "the banned source reached the PBX");

    // SIGTERM: exit 0 and leave nothing behind.
    let st = sw.stop(libc::SIGTERM);
    assert!(st.success(), "sipwall exited with {st}:\n{}", sw.output());
    assert_eq!(
        pair.netfilter_state(),
        clean,
        "SIGTERM left netfilter state behind"
    );
    assert!(
        !run_dir.join("control.sock").exists(),
        "control socket left behind"
    );

    // Restart: the ban is back before any packet is judged.
    let mut sw = Sipwall::start(&pair.server, &config, dir.join("run-2.log"));
    assert!(
        wait_for(10, || ctl(&run_dir, &["status"]).0),
        "no restart:\n{}",
        sw.output()
    );
    let (_, bans) = ctl(&run_dir, &["bans"]);
    assert!(
        bans.lines().any(|l| l.starts_with(CLIENT)),
        "the ban did not survive a restart:\n{bans}"
    );
    let seen = pbx.count();
    let banned = ask(
        &pair.client,
        to,
        options(&format!("sip:{DOMAIN}"), 4),
        Duration::from_millis(700),
    );
    assert_eq!(banned, None, "a restored ban let the source in");
    assert_eq!(pbx.count(), seen);

    // Unban: the source is back.
    let (ok, out) = ctl(&run_dir, &["unban", CLIENT]);
    assert!(ok, "{out}");
    let back = ask(&pair.client, to, options(&format!("sip:{DOMAIN}"), 5), wait);
    assert_eq!(
        back.as_deref(),
        Some("SIP/2.0 200 OK"),
        "unbanned source still blocked"
    );

    let st = sw.stop(libc::SIGTERM);
    assert!(st.success(), "sipwall exited with {st}:\n{}", sw.output());
    assert_eq!(
        pair.netfilter_state(),
        clean,
        "SIGTERM left netfilter state behind"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
