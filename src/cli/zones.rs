//! `sipwall zones refresh|load|status|cron`: the country-zone commands.
//!
//! `refresh` is what cron runs; `load` asks the running daemon to put the
//! stored zones into the kernel without network; `status` shows per zone
//! what is stored and why the last refresh failed; `cron install|remove`
//! is called by the package's postinst/prerm.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use super::Args;
use crate::config::Config;
use crate::daemon::control::{self, Request};
use crate::zones::{self, cron, GeoSets, RetryPolicy, ZoneSource};

const HELP: &str = "\
sipwall zones — country zones (ipdeny / ipverse) in the kernel's geo sets

USAGE:
    sipwall zones refresh [--force] [--stats] [--config PATH]
        download every configured country (IPv4, and IPv6 unless geo
        family is 'ipv4'), keep the good zones on storage and load them;
        --force accepts a zone that shrank by more than half or that no
        source publishes any more, and asks again for IPv6 zones known to
        be unpublished; --stats prints time and peak memory. An IPv6 zone that every source answers 404 for
        (ipdeny has none for some small territories) is not an error: it
        is reported once and asked for again weekly. A 404 for an IPv4
        zone is an error (check the country code).
    sipwall zones load [--config PATH]
        have the running sipwall load the stored zones (no download)
    sipwall zones status [--json] [--config PATH]
        per zone: prefixes, age, source, last error, or none published (404)
    sipwall zones cron install|remove [--crontab PATH] [--config PATH]
        add (idempotently, random minute) or remove the refresh cron line;
        install removes it while zones are off (geo.enabled 0 or no country);
        default crontab /etc/crontabs/root (OpenWrt) or /etc/cron.d/sipwall

Exit status: 0 when every zone is current and loaded, 1 otherwise.
";

pub fn run(mut args: Args) -> Result<(), String> {
    let sub = args.next_positional();
    if args.flag("help") || matches!(sub.as_deref(), Some("help") | Some("--help") | None) {
        print!("{HELP}");
        return if sub.is_none() {
            Err("zones needs a subcommand; see above".into())
        } else {
            Ok(())
        };
    }
    match sub.as_deref() {
        Some("refresh") => refresh(args),
        Some("load") => load(args),
        Some("status") => status(args),
        Some("cron") => cron_cmd(args),
        Some(other) => Err(format!(
            "unknown zones subcommand '{other}'; run `sipwall zones --help`"
        )),
        None => Ok(()),
    }
}

fn config(args: &mut Args) -> Result<(Config, Option<PathBuf>), String> {
    let path = args.value("config")?.map(PathBuf::from);
    let c = crate::config::load(path.as_deref()).map_err(|e| e.to_string())?;
    Ok((c, path))
}

fn refresh(mut args: Args) -> Result<(), String> {
    let force = args.flag("force");
    let stats = args.flag("stats");
    let (c, _) = config(&mut args)?;
    args.finish()?;
    if !c.geo.enabled || c.geo.countries.is_empty() {
        println!("country zones are off (geo.enabled = 0 or no geo.country listed); nothing to do");
        return Ok(());
    }
    let started = Instant::now();
    let _lock = match RefreshLock::take(&zones::zones_dir(&c.global.state_dir))? {
        Some(l) => l,
        None => {
            println!("another `sipwall zones refresh` is running; leaving it to finish");
            return Ok(());
        }
    };
    let mut kernel = Kernel::open(&c)?;
    let mut src = zone_source();
    let report = zones::refresh(&c, force, src.as_mut(), &mut kernel, RetryPolicy::default());
    for z in report.zones.iter().filter(|z| z.worth_logging()) {
        if z.ok() {
            println!("{z}");
        } else {
            eprintln!("sipwall: zone {z}");
        }
    }
    for e in &report.storage_errors {
        eprintln!("sipwall: {e}");
    }
    match (&report.loaded, &report.load_error) {
        (Some((v4, v6)), _) => {
            let allow = c.geo.mode == crate::config::GeoMode::Allow;
            println!(
                "zones: {v4} IPv4 and {v6} IPv6 prefixes ({} mode){}; {}",
                if allow { "allow" } else { "block" },
                if !c.geo.ipv6 {
                    " — IPv6 is not filtered by country (geo family 'ipv4')"
                } else if allow && *v6 == 0 {
                    " — IPv6 is not filtered by country: no allowed country has an IPv6 zone"
                } else {
                    ""
                },
                kernel.said.as_deref().unwrap_or("")
            )
        }
        (None, Some(e)) => eprintln!("sipwall: {e}"),
        (None, None) => {}
    }
    if stats {
        print_stats(started);
    }
    if report.ok() {
        Ok(())
    } else {
        Err("zones refresh finished with errors (see above); the previous zones stay in use".into())
    }
}

fn load(mut args: Args) -> Result<(), String> {
    let stats = args.flag("stats");
    let (c, _) = config(&mut args)?;
    args.finish()?;
    let started = Instant::now();
    let mut kernel = Kernel::open(&c)?;
    kernel.load()?;
    if !kernel.running {
        return Err(kernel.said.unwrap_or_default());
    }
    println!("{}", kernel.said.as_deref().unwrap_or("loaded"));
    if stats {
        print_stats(started);
    }
    Ok(())
}

fn status(mut args: Args) -> Result<(), String> {
    let json = args.flag("json");
    let (c, _) = config(&mut args)?;
    args.finish()?;
    let st = zones::status(&c);
    if json {
        let mut arr = crate::json::Value::array();
        for z in &st {
            arr.push(z.to_json());
        }
        println!("{}", arr.pretty());
    } else if st.is_empty() {
        println!("no country configured (geo.country)");
    } else {
        for z in &st {
            println!("{z}");
        }
    }
    Ok(())
}

fn cron_cmd(mut args: Args) -> Result<(), String> {
    let action = args.next_positional();
    let crontab = args.value("crontab")?.map(PathBuf::from);
    let restart = crontab.is_none();
    let path = crontab.unwrap_or_else(|| cron::default_crontab().to_path_buf());
    match action.as_deref() {
        Some("install") => {
            let (c, cfg_path) = config(&mut args)?;
            args.finish()?;
            if !c.geo.enabled || c.geo.countries.is_empty() {
                // Nothing to refresh: no job waking the router every day.
                let change = cron::remove(&path)?;
                report_cron(&path, &change, false, "removed (country zones are off)");
                return Ok(());
            }
            let command = refresh_command(cfg_path.as_deref());
            let change = cron::install(&path, &c.geo.schedule, &command)?;
            report_cron(&path, &change, restart, "installed");
            Ok(())
        }
        Some("remove") => {
            // The config may already be gone when the package is removed.
            let _ = args.value("config")?;
            args.finish()?;
            let change = cron::remove(&path)?;
            report_cron(&path, &change, false, "removed");
            Ok(())
        }
        _ => {
            Err("usage: sipwall zones cron install|remove [--crontab PATH] [--config PATH]".into())
        }
    }
}

/// The command cron runs: output goes to syslog, which is where an admin
/// of a router looks (crond itself discards it).
fn refresh_command(config: Option<&Path>) -> String {
    let exe = std::env::current_exe()
        .ok()
        .map(|p| p.to_string_lossy().into_owned())
        .filter(|p| !p.contains(char::is_whitespace))
        .unwrap_or_else(|| "sipwall".into());
    let mut cmd = format!("{exe} zones refresh");
    if let Some(p) = config {
        let p = p.to_string_lossy();
        if !p.contains(char::is_whitespace) {
            cmd.push_str(&format!(" --config {p}"));
        }
    }
    cmd.push_str(" 2>&1 | logger -t sipwall-zones");
    cmd
}

fn report_cron(path: &Path, change: &cron::CronChange, restart: bool, what: &str) {
    match change {
        cron::CronChange::Unchanged => println!("{}: cron line already {what}", path.display()),
        cron::CronChange::Written { created } => {
            println!("{}: cron line {what}", path.display());
            // BusyBox crond does not run with an empty crontab directory,
            // so the first crontab needs a (re)start; later changes are
            // renames, which crond notices by the directory's mtime.
            if restart && *created && Path::new("/etc/init.d/cron").exists() {
                let ok = Command::new("/etc/init.d/cron")
                    .arg("restart")
                    .status()
                    .map(|s| s.success());
                if !matches!(ok, Ok(true)) {
                    eprintln!("sipwall: could not restart cron; run `/etc/init.d/cron restart`");
                }
            }
        }
    }
}

/// One refresh at a time (cron and the daemon's start-up download may
/// meet): an flock on `<zones>/.lock`, released when the process ends.
struct RefreshLock(#[allow(dead_code)] std::fs::File);

impl RefreshLock {
    fn take(dir: &Path) -> Result<Option<RefreshLock>, String> {
        use std::os::fd::AsRawFd;
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let path = dir.join(".lock");
        let f = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
        // SAFETY: flock on a descriptor we own; no memory is involved.
        let r = unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if r == 0 {
            Ok(Some(RefreshLock(f)))
        } else {
            Ok(None)
        }
    }
}

fn print_stats(started: Instant) {
    let hwm = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(|l| l[6..].trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into());
    println!(
        "stats: {} ms, peak RSS of this process {hwm}",
        started.elapsed().as_millis()
    );
}

/// The kernel side. `sipwall run` owns the ruleset (and carries the geo
/// sets over its own reinstalls), so a refresh stores the zones and asks
/// the running daemon to load them from storage; when it is not running
/// there is no ruleset to fill and it loads them when it starts.
struct Kernel {
    run_dir: PathBuf,
    /// The daemon's answer, or why it was not asked.
    said: Option<String>,
    running: bool,
}

impl Kernel {
    fn open(c: &Config) -> Result<Kernel, String> {
        Ok(Kernel {
            run_dir: c.global.run_dir.clone(),
            said: None,
            running: false,
        })
    }

    fn load(&mut self) -> Result<(), String> {
        let socket = self.run_dir.join(control::SOCKET_NAME);
        if let Err(e) = std::os::unix::net::UnixStream::connect(&socket) {
            use std::io::ErrorKind::{ConnectionRefused, NotFound};
            if matches!(e.kind(), NotFound | ConnectionRefused) {
                self.said = Some(format!(
                    "sipwall is not running ({} absent): the stored zones are loaded when it starts",
                    socket.display()
                ));
                return Ok(());
            }
        }
        self.running = true;
        let answer = control::call(&self.run_dir, &Request::LoadZones)?;
        let msg = answer
            .get("message")
            .or_else(|| answer.get("error"))
            .and_then(|m| m.as_str())
            .unwrap_or("no answer")
            .to_string();
        if answer.get("ok").and_then(|o| o.as_bool()) == Some(true) {
            self.said = Some(msg);
            Ok(())
        } else {
            Err(format!(
                "the running sipwall could not load the zones: {msg}"
            ))
        }
    }
}

impl GeoSets for Kernel {
    fn set_geo(&mut self, _v4: &[ipnet::Ipv4Net], _v6: &[ipnet::Ipv6Net]) -> Result<(), String> {
        // The union just computed is exactly what is now on storage.
        self.load()
    }
}

/// With the `tls` feature: the built-in HTTPS client, unless
/// `SIPWALL_FETCH_CMD` asks for an external tool. Without it (the router
/// packages): uclient-fetch or wget.
#[cfg(feature = "tls")]
fn zone_source() -> Box<dyn ZoneSource> {
    if std::env::var_os(zones::FETCH_CMD_ENV).is_some() {
        return Box::new(zones::ToolSource::new(zones::ToolOptions::default()));
    }
    Box::new(zones::HttpSource::new(&zones::HttpOptions::default()))
}

#[cfg(not(feature = "tls"))]
fn zone_source() -> Box<dyn ZoneSource> {
    Box::new(zones::ToolSource::new(zones::ToolOptions::default()))
}
