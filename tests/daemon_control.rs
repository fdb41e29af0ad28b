//! The control socket and ban persistence, end to end but without root:
//! a real `Daemon` (real policy engine, real control socket, real ban file)
//! with a firewall that only records what it was asked to do, and the real
//! `sipwall` CLI talking to it.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use sipwall::config::Config;
use sipwall::daemon::contract::{Firewall, FwError, Plan};
use sipwall::daemon::control::{self, Request, Server};
use sipwall::daemon::logbook::Logbook;
use sipwall::daemon::persist;
use sipwall::daemon::world::Daemon;
use sipwall::json::Value;

/// What the daemon asked of the kernel, in order.
#[derive(Clone, Default)]
struct Calls(Arc<Mutex<Vec<String>>>);

impl Calls {
    fn all(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

struct Recorder(Calls);

impl Recorder {
    fn note(&mut self, s: String) -> Result<(), FwError> {
        (self.0).0.lock().unwrap().push(s);
        Ok(())
    }
}

impl Firewall for Recorder {
    fn install(&mut self, _plan: &Plan) -> Result<(), FwError> {
        self.note("install".into())
    }
    fn uninstall(&mut self) -> Result<(), FwError> {
        self.note("uninstall".into())
    }
    fn ban(&mut self, ip: IpAddr, secs: Option<u32>) -> Result<(), FwError> {
        let len = secs.map_or("forever".to_string(), |s| s.to_string());
        self.note(format!("ban {ip} {len}"))
    }
    fn unban(&mut self, ip: IpAddr) -> Result<(), FwError> {
        self.note(format!("unban {ip}"))
    }
    fn open_door(&mut self, ip: IpAddr, secs: u32) -> Result<(), FwError> {
        self.note(format!("door {ip} {secs}"))
    }
    fn set_allow(&mut self, nets: &[IpNet]) -> Result<(), FwError> {
        self.note(format!("allow {}", nets.len()))
    }
    fn set_geo(&mut self, _v4: &[Ipv4Net], _v6: &[Ipv6Net]) -> Result<(), FwError> {
        self.note("geo".into())
    }
    fn installed(&mut self) -> Result<bool, FwError> {
        Ok(true)
    }
    fn name(&self) -> &'static str {
        "recorder"
    }
}

/// A scratch directory unique to this test and process, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Scratch {
        let p = std::env::temp_dir().join(format!("sipwall-dc-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        Scratch(p)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn config(dir: &Path) -> Config {
    let mut c = Config::default();
    c.global.enabled = true;
    c.global.state_dir = dir.join("state");
    c.global.run_dir = dir.join("run");
    c.domains = vec!["pbx.example.test".into()];
    c
}

fn start(cfg: &Config, calls: &Calls) -> Daemon {
    Daemon::start(
        cfg.clone(),
        None,
        Box::new(Recorder(calls.clone())),
        Logbook::memory(1),
    )
    .expect("daemon starts")
}

/// Serves the daemon's socket while `client` runs on another thread.
fn with_client<T: Send + 'static>(
    d: &mut Daemon,
    server: &Server,
    client: impl FnOnce() -> T + Send + 'static,
) -> T {
    let h = std::thread::spawn(client);
    let t0 = std::time::Instant::now();
    while !h.is_finished() {
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "client did not finish"
        );
        server.serve(|r| d.handle(r, None));
        std::thread::sleep(Duration::from_millis(2));
    }
    h.join().expect("client thread")
}

fn ask(d: &mut Daemon, server: &Server, run_dir: &Path, req: Request) -> Result<Value, String> {
    let dir = run_dir.to_path_buf();
    with_client(d, server, move || control::call(&dir, &req))
}

fn ips(v: &Value, key: &str) -> Vec<String> {
    v.get(key)
        .and_then(|l| l.as_array())
        .unwrap_or(&[])
        .iter()
        .filter_map(|b| b.get("ip").and_then(|i| i.as_str()).map(str::to_string))
        .collect()
}

#[test]
fn bans_set_over_the_socket_reach_the_kernel_and_survive_a_restart() {
    let dir = Scratch::new("restart");
    let cfg = config(&dir.0);
    let run_dir = cfg.global.run_dir.clone();
    let calls = Calls::default();
    let mut d = start(&cfg, &calls);
    let server = Server::bind(&run_dir).unwrap();

    let a: IpAddr = "198.51.100.10".parse().unwrap();
    let b: IpAddr = "2001:db8::7".parse().unwrap();
    let r = ask(
        &mut d,
        &server,
        &run_dir,
        Request::Ban {
            ip: a,
            secs: Some(3600),
        },
    )
    .unwrap();
    assert_eq!(r.get("ok").and_then(|o| o.as_bool()), Some(true), "{r}");
    ask(
        &mut d,
        &server,
        &run_dir,
        Request::Ban { ip: b, secs: None },
    )
    .unwrap();
    assert!(
        calls.all().contains(&"ban 198.51.100.10 3600".to_string()),
        "{:?}",
        calls.all()
    );
    assert!(calls.all().contains(&"ban 2001:db8::7 forever".to_string()));

    let bans = ask(&mut d, &server, &run_dir, Request::Bans).unwrap();
    let mut listed = ips(&bans, "bans");
    listed.sort();
    assert_eq!(listed, vec!["198.51.100.10", "2001:db8::7"]);
    let first = &bans.get("bans").unwrap().as_array().unwrap()[0];
    assert_eq!(first.get("cause").and_then(|c| c.as_str()), Some("manual"));

    // A LAN address is trusted: the daemon refuses and says why.
    let lan = ask(
        &mut d,
        &server,
        &run_dir,
        Request::Ban {
            ip: "192.168.1.5".parse().unwrap(),
            secs: None,
        },
    )
    .unwrap();
    assert_eq!(lan.get("ok").and_then(|o| o.as_bool()), Some(false));
    assert!(
        lan.get("message")
            .and_then(|m| m.as_str())
            .unwrap()
            .contains("trusted"),
        "{lan}"
    );

    let r = ask(&mut d, &server, &run_dir, Request::Unban { ip: b }).unwrap();
    assert_eq!(r.get("ok").and_then(|o| o.as_bool()), Some(true));
    assert!(calls.all().contains(&"unban 2001:db8::7".to_string()));
    let r = ask(&mut d, &server, &run_dir, Request::Unban { ip: b }).unwrap();
    assert_eq!(
        r.get("message").and_then(|m| m.as_str()),
        Some("2001:db8::7 was not banned")
    );

    let status = ask(&mut d, &server, &run_dir, Request::Status).unwrap();
    assert_eq!(status.get("bans_total").and_then(|n| n.as_i64()), Some(1));
    assert_eq!(
        status.get("backend").and_then(|n| n.as_str()),
        Some("recorder")
    );
    assert_eq!(
        status
            .get("queue")
            .and_then(|q| q.get("bound"))
            .and_then(|b| b.as_bool()),
        Some(false)
    );
    for key in [
        "version",
        "uptime_secs",
        "counters",
        "engine",
        "daemon",
        "doors",
        "zones",
    ] {
        assert!(status.get(key).is_some(), "status lacks '{key}': {status}");
    }
    assert!(status
        .get("counters")
        .and_then(|c| c.get("wrong-domain"))
        .is_some());

    // Shutdown removes the rules and writes the file; the socket goes away.
    d.shutdown();
    drop(server);
    assert_eq!(calls.all().last().map(String::as_str), Some("uninstall"));
    assert!(
        !run_dir.join(control::SOCKET_NAME).exists(),
        "control socket left behind"
    );
    let file = persist::bans_path(&cfg.global.state_dir);
    let (records, warnings) = persist::load(&file).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(records[0].ip, a);
    let left = records[0].until.unwrap() - records[0].since;
    assert!((3599..=3601).contains(&left), "ban length on file: {left}");

    // A new daemon puts the ban back into the kernel right after the rules,
    // before it could see any packet.
    let calls2 = Calls::default();
    let mut d2 = start(&cfg, &calls2);
    let seen = calls2.all();
    assert_eq!(
        seen.first().map(String::as_str),
        Some("install"),
        "{seen:?}"
    );
    let ban_line = seen
        .iter()
        .find(|c| c.starts_with("ban 198.51.100.10 "))
        .expect("ban restored");
    let secs: u32 = ban_line.rsplit(' ').next().unwrap().parse().unwrap();
    assert!((3590..=3601).contains(&secs), "restored with {secs}s left");
    assert!(
        !seen.iter().any(|c| c.contains("2001:db8::7")),
        "an unbanned address came back"
    );
    let server2 = Server::bind(&run_dir).unwrap();
    let bans = ask(&mut d2, &server2, &run_dir, Request::Bans).unwrap();
    assert_eq!(ips(&bans, "bans"), vec!["198.51.100.10"]);
    assert!(
        d2.log.lines().iter().any(|l| l.contains("restored 1 bans")),
        "{:?}",
        d2.log.lines()
    );
}

#[test]
fn a_damaged_ban_file_costs_single_lines_not_the_file() {
    let dir = Scratch::new("damaged");
    let cfg = config(&dir.0);
    let file = persist::bans_path(&cfg.global.state_dir);
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    std::fs::write(
        &file,
        format!(
            "# edited by hand\n\
             198.51.100.10 auth-failures {} {}\n\
             198.51.100.11 scanner {} {}\n\
             garbage here\n\
             198.51.100.12 something-new {} forever\n\
             198.51.100.300 manual {} forever\n",
            now - 10,
            now + 600,
            now - 7200,
            now - 3600,
            now,
            now
        ),
    )
    .unwrap();
    let calls = Calls::default();
    let d = start(&cfg, &calls);
    let bans: Vec<String> = calls
        .all()
        .into_iter()
        .filter(|c| c.starts_with("ban "))
        .collect();
    assert_eq!(bans.len(), 2, "{bans:?}");
    assert!(bans[0].starts_with("ban 198.51.100.10 "), "{bans:?}");
    assert_eq!(
        bans[1], "ban 198.51.100.12 forever",
        "unknown cause must keep the ban"
    );
    let log = d.log.lines().join("\n");
    let name = file.display().to_string();
    assert!(
        log.contains(&format!("{name}:4: expected 'IP CAUSE SINCE UNTIL'")),
        "{log}"
    );
    assert!(
        log.contains(&format!("{name}:5: unknown cause 'something-new'")),
        "{log}"
    );
    assert!(
        log.contains(&format!("{name}:6: '198.51.100.300' is not an IP address")),
        "{log}"
    );
}

#[test]
fn the_cli_prints_tables_and_json_from_the_daemon() {
    let dir = Scratch::new("cli");
    let cfg = config(&dir.0);
    let run_dir = cfg.global.run_dir.clone();
    let calls = Calls::default();
    let mut d = start(&cfg, &calls);
    let server = Server::bind(&run_dir).unwrap();
    let cli = |args: &[&str]| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_sipwall"));
        cmd.args(args).arg("--run-dir").arg(&run_dir);
        move || {
            let o = cmd.output().expect("run sipwall");
            let mut s = String::from_utf8_lossy(&o.stdout).into_owned();
            s.push_str(&String::from_utf8_lossy(&o.stderr));
            (o.status.success(), s)
        }
    };
    let (ok, out) = with_client(
        &mut d,
        &server,
        cli(&["ban", "203.0.113.9", "--for", "30m"]),
    );
    assert!(ok, "{out}");
    assert_eq!(out.trim(), "banned 203.0.113.9 for 30m");
    assert!(calls.all().contains(&"ban 203.0.113.9 1800".to_string()));

    let (ok, out) = with_client(&mut d, &server, cli(&["bans"]));
    assert!(ok, "{out}");
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("IP "), "{out}");
    assert!(lines[1].starts_with("203.0.113.9  manual"), "{out}");
    assert!(lines[1].ends_with(" 30m"), "{out}");

    let (ok, out) = with_client(&mut d, &server, cli(&["status", "--json"]));
    assert!(ok, "{out}");
    let v = sipwall::json::parse(out.trim()).expect("status --json is JSON");
    assert_eq!(v.get("bans_total").and_then(|n| n.as_i64()), Some(1));

    let (ok, out) = with_client(&mut d, &server, cli(&["status"]));
    assert!(ok, "{out}");
    assert!(out.starts_with("sipwall "), "{out}");
    assert!(out.contains("bans: 1"), "{out}");

    let (ok, out) = with_client(&mut d, &server, cli(&["unban", "203.0.113.9"]));
    assert!(ok && out.trim() == "released 203.0.113.9", "{out}");
    let (ok, out) = with_client(&mut d, &server, cli(&["doors"]));
    assert!(ok && out.trim() == "no open doors", "{out}");

    // Wrong input is refused before anything is sent.
    let (ok, out) = cli(&["ban", "not-an-ip"])();
    assert!(
        !ok && out.contains("'not-an-ip' is not an IP address"),
        "{out}"
    );
    let (ok, out) = cli(&["ban", "203.0.113.9", "--for", "1w"])();
    assert!(!ok && out.contains("expected a duration"), "{out}");

    // No daemon: say so and how to start one.
    drop(server);
    let (ok, out) = cli(&["status"])();
    assert!(!ok && out.contains("sipwall is not running"), "{out}");
}

#[test]
fn garbage_on_the_socket_gets_an_error_answer() {
    use std::io::{Read, Write};
    let dir = Scratch::new("garbage");
    let cfg = config(&dir.0);
    let run_dir = cfg.global.run_dir.clone();
    let mut d = start(&cfg, &Calls::default());
    let server = Server::bind(&run_dir).unwrap();
    let path = run_dir.join(control::SOCKET_NAME);
    for req in [
        &b"reboot now\n"[..],
        &[0xff; 600][..],
        b"ban 198.51.100.1\n",
    ] {
        let p = path.clone();
        let req = req.to_vec();
        let answer = with_client(&mut d, &server, move || {
            let mut s = std::os::unix::net::UnixStream::connect(&p).unwrap();
            s.write_all(&req).unwrap();
            let _ = s.shutdown(std::net::Shutdown::Write);
            let mut out = String::new();
            s.read_to_string(&mut out)
                .expect("the answer arrives intact");
            out
        });
        let v = sipwall::json::parse(answer.trim()).expect("answer is JSON");
        assert!(
            v.get("error").and_then(|e| e.as_str()).is_some(),
            "{answer}"
        );
    }
}

#[test]
fn run_refuses_a_disabled_or_broken_configuration_and_says_why() {
    let dir = Scratch::new("disabled");
    let file = dir.0.join("sipwall.toml");
    std::fs::write(&file, "[sipwall]\nenabled = false\n").unwrap();
    let run = |file: &Path| {
        let o = Command::new(env!("CARGO_BIN_EXE_sipwall"))
            .args(["run", "--log-stderr", "--config"])
            .arg(file)
            .output()
            .expect("run sipwall");
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    let (code, err) = run(&file);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("sipwall is disabled in"), "{err}");
    assert!(err.contains("enabled = true"), "{err}");
    std::fs::write(&file, "[sipwall]\nenabled = true\nqueue = \"five\"\n").unwrap();
    let (code, err) = run(&file);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("sipwall.toml:3"),
        "the error does not point into the file: {err}"
    );
}
