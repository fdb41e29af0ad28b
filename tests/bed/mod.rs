//! The scenario tests' handle on the network-namespace test bed.
//!
//! `tests/bed/bed.sh` builds the world (namespaces, router port forward,
//! Kamailio, counters on the PBX side) and drives the real peers (SIPp,
//! sipvicious); this module gives each test its own bed with unique names,
//! runs the real `sipwall run` binary inside the router namespace with a
//! config file the test writes, and tears everything down in `Drop`, so a
//! failing assertion still leaves nothing behind.
//!
//! A test that cannot run here (not root, a tool missing) gets `None` from
//! [`Bed::up`] after `SKIP: <reason>` was printed — unless `SIPWALL_STRICT=1`,
//! where the same reason fails the test.
#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

pub const DOMAIN: &str = "pbx.example.test";
pub const KNOCK: &str = "knock-7f3a";
pub const ROUTER: &str = "198.51.100.1";
pub const ROUTER6: &str = "2001:db8:5::1";
pub const ATTACKER: &str = "198.51.100.10";
pub const ATTACKER6: &str = "2001:db8:5::10";
pub const PHONE: &str = "198.51.100.11";
pub const PHONE6: &str = "2001:db8:5::11";
pub const OFFICE: &str = "198.51.100.20";
/// Spare WAN sources (198.51.100.30-39) for tests that need a stranger.
pub const STRANGER: &str = "198.51.100.30";
pub const QUEUE: u16 = 5060;

static SEQ: AtomicUsize = AtomicUsize::new(0);

/// Where the test bed lives in the source tree.
pub fn bed_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bed")
}

/// The bench generator (benches/net), built once per test process into the
/// same target directory as sipwall (its own workspace, std only).
pub fn netgen() -> PathBuf {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| {
            let target = Path::new(env!("CARGO_BIN_EXE_sipwall"))
                .parent()
                .and_then(|p| p.parent())
                .map(|p| p.join("netgen"))
                .expect("target directory");
            let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/net/Cargo.toml");
            let st = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
                .args(["build", "--release", "--quiet", "--manifest-path"])
                .arg(&manifest)
                .env("CARGO_TARGET_DIR", &target)
                .status()
                .expect("run cargo build for benches/net");
            assert!(st.success(), "building the generator (benches/net) failed");
            target.join("release/netgen")
        })
        .clone()
}

/// Prints `SKIP: reason` (or panics when SIPWALL_STRICT=1).
pub fn skip(reason: &str) {
    if std::env::var("SIPWALL_STRICT").as_deref() == Ok("1") {
        panic!("SIPWALL_STRICT=1 and this test cannot run: {reason}");
    }
    eprintln!("SKIP: {reason}");
}

fn have(tool: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .stdout(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// Why this machine cannot run the bed, if it cannot.
pub fn missing_prerequisite() -> Option<String> {
    let uid = Command::new("id").arg("-u").output().ok()?;
    if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
        return Some("needs root (network namespaces, netfilter)".into());
    }
    for tool in [
        "ip",
        "nft",
        "iptables",
        "ip6tables",
        "ipset",
        "conntrack",
        "kamailio",
        "sipp",
    ] {
        if !have(tool) {
            return Some(format!(
                "tool '{tool}' not installed (run tests/install/bed.sh as root)"
            ));
        }
    }
    if !bed_dir().join(".venv/bin/sipvicious_svwar").exists() {
        return Some(
            "sipvicious venv missing in tests/bed/.venv (run tests/install/bed.sh)".into(),
        );
    }
    None
}

/// The policy and daemon options of one scenario.
#[derive(Clone, Debug)]
pub struct Setup {
    /// Scanner signatures; `None` keeps sipwall's defaults.
    pub scanners: Option<Vec<String>>,
    pub allow: Vec<String>,
    /// (failures, window secs, ban secs)
    pub tiers: Vec<(u32, u32, u32)>,
    pub fail_open: bool,
    pub mode_host: bool,
    /// The knock secret (From display name).
    pub knock: String,
}

impl Default for Setup {
    fn default() -> Setup {
        Setup {
            scanners: None,
            allow: Vec::new(),
            tiers: vec![(2, 3600, 3600), (12, 86400, 0)],
            fail_open: false,
            mode_host: false,
            knock: KNOCK.to_string(),
        }
    }
}

pub struct Bed {
    pub name: String,
    pub run: PathBuf,
    pub config: PathBuf,
    pub setup: Setup,
    sipwall: Option<Child>,
    starts: u32,
}

impl Bed {
    /// Builds a fresh bed named after the test (`sw<pid><seq><tag>`), or
    /// returns `None` after printing why it cannot.
    pub fn up(tag: &str, setup: Setup) -> Option<Bed> {
        if let Some(reason) = missing_prerequisite() {
            skip(&reason);
            return None;
        }
        let tag: String = tag
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .take(4)
            .collect();
        let name = format!(
            "sw{}{}{}",
            std::process::id() % 100_000,
            SEQ.fetch_add(1, Ordering::SeqCst),
            tag
        );
        let run = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/.run")
            .join(&name);
        let _ = fs::remove_dir_all(&run);
        fs::create_dir_all(run.join("state")).expect("create run dir");
        fs::create_dir_all(run.join("ctl")).expect("create run dir");
        let config = run.join("sipwall.toml");
        let bed = Bed {
            name,
            run,
            config,
            setup,
            sipwall: None,
            starts: 0,
        };
        let mode = if bed.setup.mode_host {
            "host"
        } else {
            "router"
        };
        let (ok, out) = bed.sh(&["up", mode]);
        assert!(ok, "bed {} did not come up:\n{out}", bed.name);
        fs::write(&bed.config, bed.config_text()).expect("write config");
        Some(bed)
    }

    /// Runs `bed.sh ARGS` for this bed: (success, stdout+stderr).
    pub fn sh(&self, args: &[&str]) -> (bool, String) {
        self.sh_env(args, &[])
    }

    /// [`Bed::sh`] with extra environment (e.g. `BED_TARGET`).
    pub fn sh_env(&self, args: &[&str], env: &[(&str, &str)]) -> (bool, String) {
        let out = Command::new("bash")
            .arg(bed_dir().join("bed.sh"))
            .args(args)
            .env("BED", &self.name)
            .env("BED_RUN", &self.run)
            .env("BED_KEEP_LOGS", "1")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .output()
            .expect("run tests/bed/bed.sh");
        let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.push_str(&String::from_utf8_lossy(&out.stderr));
        (out.status.success(), text)
    }

    /// A command inside one of the bed's namespaces (`wan`, `rtr`, `lan`).
    pub fn exec(&self, ns: &str, cmd: &[&str]) -> (bool, String) {
        let mut args = vec!["exec", ns];
        args.extend_from_slice(cmd);
        self.sh(&args)
    }

    /// One phone registration (bed.sh phone options); true on 200 OK.
    pub fn phone(&self, opts: &[&str]) -> bool {
        let mut args = vec!["phone"];
        args.extend_from_slice(opts);
        let (ok, out) = self.sh(&args);
        eprintln!("[{}] {}", self.name, out.trim());
        ok
    }

    /// sipvicious TOOL with extra arguments; true if it learned something.
    pub fn attack(&self, tool: &str, extra: &[&str]) -> bool {
        let mut args = vec!["attack", tool];
        args.extend_from_slice(extra);
        let (ok, out) = self.sh(&args);
        eprintln!("[{}] {}", self.name, out.trim());
        ok
    }

    /// sipvicious TOOL over IPv6 against the router's IPv6 address (from the
    /// attacker's 2001:db8:5::10); true if it learned something.
    pub fn attack6(&self, tool: &str, extra: &[&str]) -> bool {
        let mut args = vec!["attack", tool, "-6"];
        args.extend_from_slice(extra);
        let (ok, out) = self.sh_env(&args, &[("BED_TARGET", ROUTER6)]);
        eprintln!("[{}] {}", self.name, out.trim());
        ok
    }

    /// Runs the generator in the WAN namespace (`netgen spoof ...`, etc.).
    pub fn netgen(&self, args: &[&str]) -> String {
        let gen = netgen();
        let mut cmd = vec![gen.to_str().expect("utf-8 path")];
        cmd.extend_from_slice(args);
        let (ok, out) = self.exec("wan", &cmd);
        assert!(ok, "netgen {args:?} failed: {out}");
        out
    }

    /// The generator in the WAN namespace, in the background.
    pub fn netgen_bg(&self, args: &[&str]) -> Child {
        Command::new("ip")
            .args(["netns", "exec", &format!("{}-wan", self.name)])
            .arg(netgen())
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start netgen")
    }

    /// Packets to port 5060 that reached the PBX from `who` (attacker,
    /// phone, office, wan, sink).
    pub fn count(&self, who: &str) -> u64 {
        let (_, out) = self.sh(&["count", who]);
        out.trim().parse().unwrap_or(u64::MAX)
    }

    pub fn count_reset(&self) {
        let (ok, out) = self.sh(&["count-reset"]);
        assert!(ok, "resetting the PBX-side counters failed: {out}");
    }

    /// The config file the scenario's sipwall runs with.
    pub fn config_text(&self) -> String {
        config_text(&self.setup, &self.run)
    }

    /// Rewrites the config file from `self.setup` (then SIGHUP to apply).
    pub fn rewrite_config(&self) {
        fs::write(&self.config, self.config_text()).expect("write config");
    }

    /// Starts `sipwall run` in the router (or PBX host) namespace and waits
    /// until its queue is bound, so the first packet meets a live filter;
    /// a sipwall that does not start fails the test with its output.
    pub fn start_sipwall(&mut self) {
        assert!(self.sipwall.is_none(), "sipwall already running");
        self.starts += 1;
        let log = self.run.join(format!("sipwall-{}.log", self.starts));
        let file = fs::File::create(&log).expect("create sipwall log");
        let child = Command::new("ip")
            .args(["netns", "exec", &format!("{}-rtr", self.name)])
            .arg(env!("CARGO_BIN_EXE_sipwall"))
            .args(["run", "--config"])
            .arg(&self.config)
            .stdin(Stdio::null())
            .stdout(file.try_clone().expect("dup log"))
            .stderr(file)
            .spawn()
            .expect("spawn sipwall run");
        self.sipwall = Some(child);
        let t0 = Instant::now();
        loop {
            if self.queue_bound() {
                // Bans restored before the first packet is queued; give the
                // daemon a moment past binding to finish its start.
                std::thread::sleep(Duration::from_millis(200));
                return;
            }
            if let Some(c) = self.sipwall.as_mut() {
                if let Ok(Some(st)) = c.try_wait() {
                    self.sipwall = None;
                    panic!(
                        "`sipwall run` exited ({st}) before binding queue {QUEUE}; its output:\n{}",
                        self.sipwall_log()
                    );
                }
            }
            if t0.elapsed() > Duration::from_secs(10) {
                panic!(
                    "`sipwall run` did not bind NFQUEUE {QUEUE} within 10 s; its output:\n{}",
                    self.sipwall_log()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// True when some process listens on our queue in the router namespace.
    pub fn queue_bound(&self) -> bool {
        let (_, out) = self.exec("rtr", &["cat", "/proc/net/netfilter/nfnetlink_queue"]);
        out.lines().any(|l| {
            l.split_whitespace()
                .next()
                .and_then(|n| n.parse::<u16>().ok())
                == Some(QUEUE)
        })
    }

    /// Everything the running (or last) sipwall printed.
    pub fn sipwall_log(&self) -> String {
        let mut all = String::new();
        for i in 1..=self.starts {
            let p = self.run.join(format!("sipwall-{i}.log"));
            all.push_str(&format!("--- start {i}\n"));
            all.push_str(&fs::read_to_string(p).unwrap_or_default());
        }
        all
    }

    /// Sends `sig` (e.g. "KILL", "TERM", "HUP") and, unless HUP, waits.
    pub fn signal_sipwall(&mut self, sig: &str) {
        let Some(child) = self.sipwall.as_mut() else {
            panic!("sipwall is not running");
        };
        let pid = child.id().to_string();
        // The child is `ip netns exec`, which execs sipwall: same PID.
        let _ = Command::new("kill")
            .args([&format!("-{sig}"), &pid])
            .status();
        if sig == "HUP" {
            return;
        }
        let t0 = Instant::now();
        loop {
            if let Ok(Some(_)) = child.try_wait() {
                break;
            }
            if t0.elapsed() > Duration::from_secs(10) {
                let _ = child.kill();
                let _ = child.wait();
                panic!("sipwall did not exit within 10 s of SIG{sig}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.sipwall = None;
    }

    /// The exit status after SIGTERM, for tests that care.
    pub fn sipwall_running(&mut self) -> bool {
        match self.sipwall.as_mut() {
            Some(c) => matches!(c.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// A control command (`status`, `bans`, `ban IP`, ...) against this bed's
    /// daemon: (success, output).
    pub fn ctl(&self, args: &[&str]) -> (bool, String) {
        let out = Command::new(env!("CARGO_BIN_EXE_sipwall"))
            .args(args)
            .arg("--config")
            .arg(&self.config)
            .stdin(Stdio::null())
            .output()
            .expect("run sipwall");
        let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.push_str(&String::from_utf8_lossy(&out.stderr));
        (out.status.success(), text)
    }

    /// Whether `sipwall bans` lists `ip`.
    pub fn is_banned(&self, ip: &str) -> bool {
        let (ok, out) = self.ctl(&["bans"]);
        ok && out.lines().any(|l| {
            l.split(|c: char| c.is_whitespace() || c == ',' || c == '"')
                .any(|w| w == ip)
        })
    }

    /// Polls `cond` every 20 ms for up to `secs`.
    pub fn wait_for(&self, secs: u64, mut cond: impl FnMut() -> bool) -> bool {
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(secs) {
            if cond() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        cond()
    }

    /// The router's netfilter state as text, without counters, comments
    /// and empty built-in tables: nft ruleset, iptables-save (v4+v6) and
    /// ipset list. (iptables-nft creates `table ip filter` with empty
    /// built-in chains on first use and never removes it; to an iptables
    /// user that table is "nothing", so it is left out on both sides.)
    pub fn netfilter_state(&self) -> String {
        let mut all = String::new();
        for cmd in [
            &["nft", "list", "ruleset"][..],
            &["iptables-save"][..],
            &["ip6tables-save"][..],
            &["ipset", "list"][..],
        ] {
            let (_, out) = self.exec("rtr", cmd);
            all.push_str(&format!("### {}\n", cmd.join(" ")));
            let text: String = out
                .lines()
                .filter(|l| !l.starts_with('#') && !l.starts_with("XT target"))
                .map(|l| strip_counters(l) + "\n")
                .collect();
            all.push_str(&drop_empty_tables(&text));
        }
        all
    }
}

/// The TOML config of one scenario (the TOML front end;
/// files/etc/sipwall/sipwall.toml documents every option).
pub fn config_text(s: &Setup, run: &Path) -> String {
    let mut t = String::new();
    t.push_str("# written by the sipwall scenario test bed\n[sipwall]\nenabled = true\n");
    t.push_str(&format!(
        "mode = \"{}\"\n",
        if s.mode_host { "host" } else { "router" }
    ));
    t.push_str("backend = \"iptables\"\nudp_port = [5060]\ntcp_port = [5060]\n");
    t.push_str(&format!("queue = {QUEUE}\nfail_open = {}\n", s.fail_open));
    t.push_str("lan = [\"192.168.50.0/24\", \"fd00:50::/64\"]\n");
    t.push_str(&format!(
        "state_dir = \"{}\"\nrun_dir = \"{}\"\nlog_level = 2\n\n",
        run.join("state").display(),
        run.join("ctl").display()
    ));
    t.push_str(&format!("[[domain]]\nhost = \"{DOMAIN}\"\n\n"));
    t.push_str(&format!(
        "[[knock]]\nname = \"display\"\nsecret = \"{}\"\nlook_in = [\"display_name\"]\ndoor_time = 4000\n\n",
        s.knock
    ));
    for (i, a) in s.allow.iter().enumerate() {
        t.push_str(&format!(
            "[[allow]]\nname = \"allow{i}\"\nsource = \"{a}\"\n\n"
        ));
    }
    for (failures, window, ban) in &s.tiers {
        let ban = if *ban == 0 {
            "\"forever\"".to_string()
        } else {
            ban.to_string()
        };
        t.push_str(&format!(
            "[[ban_tier]]\nfailures = {failures}\nwindow = {window}\nban_time = {ban}\n\n"
        ));
    }
    if let Some(sigs) = &s.scanners {
        t.push_str("[scanners]\nbuiltin = false\n");
        if !sigs.is_empty() {
            let list: Vec<String> = sigs.iter().map(|x| format!("\"{x}\"")).collect();
            t.push_str(&format!("signature = [{}]\n", list.join(", ")));
        }
        t.push('\n');
    }
    t
}

/// Leaves out tables that hold no rule: nft `table ... { chain X { type
/// ...; policy accept; } }` blocks and iptables-save `*table` blocks with
/// only built-in ACCEPT policies.
fn drop_empty_tables(text: &str) -> String {
    let mut out = String::new();
    let mut block: Vec<&str> = Vec::new();
    let mut in_nft = false;
    let mut in_ipt = false;
    let empty_nft = |b: &[&str]| {
        b.iter().all(|l| {
            let t = l.trim();
            t.is_empty()
                || t.starts_with("table ")
                || t.starts_with("chain ")
                || (t.starts_with("type ") && !t.contains("policy drop"))
                || t == "}"
        })
    };
    let empty_ipt = |b: &[&str]| {
        b.iter().all(|l| {
            l.starts_with('*')
                || *l == "COMMIT"
                || (l.starts_with(':')
                    && l.contains(" ACCEPT ")
                    && ["INPUT", "FORWARD", "OUTPUT", "PREROUTING", "POSTROUTING"]
                        .iter()
                        .any(|c| l[1..].starts_with(c)))
        })
    };
    for line in text.lines() {
        if in_nft {
            block.push(line);
            if line == "}" {
                in_nft = false;
                if !empty_nft(&block) {
                    block.iter().for_each(|l| {
                        out.push_str(l);
                        out.push('\n')
                    });
                }
                block.clear();
            }
        } else if in_ipt {
            block.push(line);
            if line == "COMMIT" {
                in_ipt = false;
                if !empty_ipt(&block) {
                    block.iter().for_each(|l| {
                        out.push_str(l);
                        out.push('\n')
                    });
                }
                block.clear();
            }
        } else if line.starts_with("table ") {
            in_nft = true;
            block.push(line);
        } else if line.starts_with('*') {
            in_ipt = true;
            block.push(line);
        } else if !line.trim().is_empty() {
            out.push_str(line);
            out.push('\n');
        }
    }
    for l in block {
        out.push_str(l);
        out.push('\n');
    }
    out
}

/// `counter packets 3 bytes 120` → `counter`, `[3:120]` → `[0:0]`.
fn strip_counters(line: &str) -> String {
    let mut out = Vec::new();
    let mut words = line.split(' ').peekable();
    while let Some(w) = words.next() {
        if w == "packets" || w == "bytes" {
            words.next();
            continue;
        }
        if w.starts_with('[') && w.ends_with(']') && w.contains(':') {
            out.push("[0:0]");
            continue;
        }
        out.push(w);
    }
    out.join(" ")
}

impl Drop for Bed {
    fn drop(&mut self) {
        if let Some(mut c) = self.sipwall.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        if std::thread::panicking() {
            eprintln!(
                "[{}] sipwall output:\n{}\n[{}] PBX saw:\n{}",
                self.name,
                self.sipwall_log(),
                self.name,
                self.sh(&["pbx-log"]).1
            );
        }
        let keep = std::env::var("BED_KEEP_LOGS").as_deref() == Ok("1");
        let _ = Command::new("bash")
            .arg(bed_dir().join("bed.sh"))
            .arg("down")
            .env("BED", &self.name)
            .env("BED_RUN", &self.run)
            .env("BED_KEEP_LOGS", if keep { "1" } else { "0" })
            .stdin(Stdio::null())
            .status();
    }
}
