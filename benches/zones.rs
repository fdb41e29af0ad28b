//! Country-zone benchmark: a generated `us`-sized zone (25k IPv4 + 9k IPv6
//! prefixes) through parse + aggregate + compact store + boot decode, and,
//! when root with nft is available, `sipwall zones refresh` end to end in
//! a private network namespace: download from loopback, store, kernel
//! load, with the process's peak RSS.
//!
//! Run: `cargo bench --bench zones` (results and the goal are in
//! benches/zones.md). Times are medians; the baseline is a plain scan of
//! the same text (counting lines) measured in the same run, so ratios
//! survive a slower or busier machine.

#[path = "../tests/firewall_support/mod.rs"]
mod firewall_support;
#[path = "../tests/zones_support/fixture.rs"]
mod fixture;
#[path = "../tests/zones_support/mod.rs"]
mod zones_support;

use std::time::{Duration, Instant};

use ipnet::{Ipv4Net, Ipv6Net};
use sipwall::zones::{codec, parse::parse_zone, store};

const V4: usize = 25_000;
const V6: usize = 9_000;
const RUNS: usize = 15;

/// `cargo bench` passes `--bench`; `cargo test --all-targets` (CI) runs
/// this binary without it: then one quick pass proves the bench still
/// works, without the kernel rows (tests/zones_netns.rs covers that path).
fn full() -> bool {
    std::env::args().any(|a| a == "--bench")
}

fn runs() -> usize {
    if full() {
        RUNS
    } else {
        1
    }
}

fn median(mut f: impl FnMut()) -> Duration {
    let n = runs();
    let mut t: Vec<Duration> = (0..n)
        .map(|_| {
            let s = Instant::now();
            f();
            s.elapsed()
        })
        .collect();
    t.sort();
    t[n / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

fn main() {
    if let Ok(spec) = std::env::var("SW_ZBENCH_CHILD") {
        kernel_child(&spec);
        return;
    }
    let v4_text = fixture::ipv4_zone(V4, 0x5157_0004);
    let v6_text = fixture::ipv6_zone(V6, 0x5157_0006);
    let v4: Vec<Ipv4Net> = parse_zone::<Ipv4Net>(v4_text.as_bytes())
        .expect("v4 fixture")
        .nets;
    let v6: Vec<Ipv6Net> = parse_zone::<Ipv6Net>(v6_text.as_bytes())
        .expect("v6 fixture")
        .nets;
    println!(
        "fixture: {} IPv4 prefixes ({} KB text), {} IPv6 prefixes ({} KB text)",
        v4.len(),
        v4_text.len() / 1024,
        v6.len(),
        v6_text.len() / 1024
    );

    let baseline = median(|| {
        let n = v4_text.as_bytes().iter().filter(|&&b| b == b'\n').count()
            + v6_text.as_bytes().iter().filter(|&&b| b == b'\n').count();
        std::hint::black_box(n);
    });
    let parse = median(|| {
        let a = parse_zone::<Ipv4Net>(v4_text.as_bytes()).expect("v4");
        let b = parse_zone::<Ipv6Net>(v6_text.as_bytes()).expect("v6");
        std::hint::black_box((a, b));
    });
    let dir = std::env::temp_dir().join(format!("sw-zbench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let p4 = store::zone_path(&dir, "us", store::Family::V4);
    let p6 = store::zone_path(&dir, "us", store::Family::V6);
    let mut first = true;
    let store_changed = median(|| {
        // alternate content so every run really writes (worst case)
        let cut = if first { v4.len() } else { v4.len() - 1 };
        first = !first;
        store::write_if_changed(&p4, &codec::encode_v4(&v4[..cut])).expect("write");
        store::write_if_changed(&p6, &codec::encode_v6(&v6)).expect("write");
    });
    store::write_if_changed(&p4, &codec::encode_v4(&v4)).expect("write");
    let store_same = median(|| {
        let a = store::write_if_changed(&p4, &codec::encode_v4(&v4)).expect("write");
        let b = store::write_if_changed(&p6, &codec::encode_v6(&v6)).expect("write");
        assert!(!a && !b, "unchanged zone was rewritten");
    });
    let decode = median(|| {
        let a = store::read_v4(&dir, "us").expect("read");
        let b = store::read_v6(&dir, "us").expect("read");
        std::hint::black_box((a, b));
    });
    let size4 = std::fs::metadata(&p4).map(|m| m.len()).unwrap_or(0);
    let size6 = std::fs::metadata(&p6).map(|m| m.len()).unwrap_or(0);
    let _ = std::fs::remove_dir_all(&dir);

    let ratio = |d: Duration| d.as_secs_f64() / baseline.as_secs_f64().max(1e-9);
    println!("| step | median | × baseline |");
    println!("|---|---|---|");
    println!(
        "| baseline: count lines of both texts | {} | 1.0 |",
        ms(baseline)
    );
    println!(
        "| parse + aggregate (v4 + v6) | {} | {:.0} |",
        ms(parse),
        ratio(parse)
    );
    println!(
        "| encode + store, content changed | {} | {:.0} |",
        ms(store_changed),
        ratio(store_changed)
    );
    println!(
        "| encode + compare, unchanged (no write) | {} | {:.0} |",
        ms(store_same),
        ratio(store_same)
    );
    println!(
        "| boot: read + decode stored zones | {} | {:.0} |",
        ms(decode),
        ratio(decode)
    );
    println!(
        "stored size: IPv4 {} KB ({:.1} B/prefix, text {:.1} B/prefix), IPv6 {} KB ({:.1} B/prefix, text {:.1})",
        size4 / 1024,
        size4 as f64 / v4.len() as f64,
        v4_text.len() as f64 / v4.len() as f64,
        size6 / 1024,
        size6 as f64 / v6.len() as f64,
        v6_text.len() as f64 / v6.len() as f64,
    );
    end_to_end(&v4_text, &v6_text);
    if full() {
        kernel(&v4, &v6);
    } else {
        println!("quick pass (no --bench): kernel rows skipped; run `cargo bench --bench zones`");
    }
}

/// Kernel load through the nft backend in a private network namespace,
/// done by a child process (this binary again) so its peak RSS is the
/// load's and nothing else's.
fn kernel(v4: &[Ipv4Net], v6: &[Ipv6Net]) {
    use firewall_support::Ns;
    let root = unsafe { libc::geteuid() } == 0;
    let nft = std::process::Command::new("nft")
        .arg("--version")
        .output()
        .is_ok();
    if !root || !nft {
        println!("kernel load: SKIP: needs root and nft (tests/install/zones.sh)");
        return;
    }
    let ns = Ns::new("zbench");
    let dir = std::env::temp_dir().join(format!("sw-zbench-k-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let zd = store::zones_dir(&dir);
    let write = |cc: &str, a: &[Ipv4Net], b: &[Ipv6Net]| {
        store::write_atomic(
            &store::zone_path(&zd, cc, store::Family::V4),
            &codec::encode_v4(a),
        )
        .expect("store");
        store::write_atomic(
            &store::zone_path(&zd, cc, store::Family::V6),
            &codec::encode_v6(b),
        )
        .expect("store");
    };
    write("us", v4, v6);
    write("xa", &v4[..1], &v6[..1]);
    // a second big zone for the swap: the same shape, shifted by one prefix
    write("ca", &v4[1..], &v6[1..]);
    let have = |t: &str| {
        std::process::Command::new("sh")
            .args(["-c", &format!("command -v {t}")])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
    };
    for backend in ["nft", "iptables"] {
        if backend == "iptables" && !(have("iptables") && have("ipset")) {
            println!("iptables + ipset rows: SKIP: iptables or ipset not installed (tests/install/bed.sh)");
            continue;
        }
        println!("| kernel load ({backend}, netns; child process) | median | × baseline | child's peak RSS | tool's peak RSS |");
        println!("|---|---|---|---|---|");
        let mut base = 0.0;
        for (label, countries) in [
            ("baseline: 1 + 1 prefixes", "xa"),
            ("25k IPv4 + 9k IPv6 into empty sets", "us"),
            ("swap 25k + 9k to another 25k + 9k", "us,ca"),
        ] {
            // three child runs; the row shows the one with the median time
            let mut runs: Vec<String> = (0..3)
                .map(|_| {
                    let out = std::process::Command::new(std::env::current_exe().expect("exe"))
                        .env(
                            "SW_ZBENCH_CHILD",
                            format!("{}|{}|{countries}|{backend}", ns.name, dir.display()),
                        )
                        .output()
                        .expect("child");
                    let text = String::from_utf8_lossy(&out.stdout).into_owned();
                    assert!(
                        out.status.success(),
                        "{text}{}",
                        String::from_utf8_lossy(&out.stderr)
                    );
                    text
                })
                .collect();
            let get = |text: &str, k: &str| -> f64 {
                text.split_whitespace()
                    .find_map(|w| w.strip_prefix(k).and_then(|v| v.parse().ok()))
                    .unwrap_or(f64::NAN)
            };
            runs.sort_by(|a, b| get(a, "load_ms=").total_cmp(&get(b, "load_ms=")));
            let text = runs[1].clone();
            let field = |k: &str| get(&text, k);
            let ms = field("load_ms=");
            if base == 0.0 {
                base = ms;
            }
            println!(
                "| {label} | {ms:.1} ms | {:.1} | {:.1} MB | {:.1} MB |",
                ms / base,
                field("hwm_kb=") / 1024.0,
                field("children_kb=") / 1024.0
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// In the child: install the ruleset (geo block), then time loading the
/// stored zones of the listed countries; for "a,b" load a first, then time
/// the swap to b. Prints `load_ms= hwm_kb= children_kb=`.
fn kernel_child(spec: &str) {
    use sipwall::config::{Config, GeoMode};
    use sipwall::firewall::{Firewall, Flavour, Iptables, Nft, Tools};
    let parts: Vec<&str> = spec.split('|').collect();
    let (ns, dir, ccs, backend) = (parts[0], parts[1], parts[2], parts[3]);
    let mut fw: Box<dyn Firewall> = if backend == "iptables" {
        Box::new(Iptables::new(Tools::in_netns(ns), Flavour::Default))
    } else if firewall_support::kernel_has_nft_queue() {
        Box::new(Nft::new(Tools::in_netns(ns)))
    } else {
        Box::new(Nft::new(Tools::in_netns(ns)).without_queue())
    };
    let mut c = Config::default();
    c.global.state_dir = dir.into();
    c.global.mode = sipwall::config::Mode::Host;
    c.global.fail_open = true;
    c.geo.enabled = true;
    c.geo.mode = GeoMode::Block;
    let mut plan = sipwall::firewall::Plan::from_config(&c);
    plan.geo = Some(GeoMode::Block);
    fw.install(&plan).expect("install");
    let list: Vec<&str> = ccs.split(',').collect();
    if list.len() > 1 {
        c.geo.countries = vec![list[0].to_string()];
        sipwall::zones::load_stored(&c, &mut *fw).expect("first load");
    }
    c.geo.countries = vec![list[list.len() - 1].to_string()];
    let started = Instant::now();
    sipwall::zones::load_stored(&c, &mut *fw).expect("load");
    let took = started.elapsed();
    let hwm = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(|l| l[6..].trim().trim_end_matches(" kB").to_string())
        })
        .unwrap_or_default();
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut ru) };
    fw.uninstall().expect("uninstall");
    println!(
        "load_ms={:.3} hwm_kb={hwm} children_kb={}",
        took.as_secs_f64() * 1000.0,
        ru.ru_maxrss
    );
}

/// `sipwall zones refresh --stats` (the release binary) against a zone
/// server on loopback: download, parse, aggregate, compare and store, as
/// cron runs it. Prints its wall time and its own peak RSS (VmHWM).
fn end_to_end(v4_text: &str, v6_text: &str) {
    use zones_support::{zone_reply, Server};
    let dir = std::env::temp_dir().join(format!("sw-zbench-e2e-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let server = Server::http();
    server.route("/4/us.zone", zone_reply(v4_text, Some("\"v4\"")));
    server.route("/6/us.zone", zone_reply(v6_text, Some("\"v6\"")));
    let cfg = dir.join("sipwall.toml");
    std::fs::write(
        &cfg,
        format!(
            "[sipwall]\nstate_dir = \"{}\"\nrun_dir = \"{}\"\n[geo]\nenabled = true\ncountry = [\"us\"]\n\
             ipv4_url = \"{}\"\nipv6_url = \"{}\"\n",
            dir.join("state").display(),
            dir.join("run").display(),
            server.url("http", "/4/{cc}.zone"),
            server.url("http", "/6/{cc}.zone"),
        ),
    )
    .expect("config");
    let bin = env!("CARGO_BIN_EXE_sipwall");
    let run = |label: &str| {
        let started = Instant::now();
        let out = std::process::Command::new(bin)
            .args(["zones", "refresh", "--stats", "--config"])
            .arg(&cfg)
            .output()
            .expect("run sipwall");
        let took = started.elapsed();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let hwm = text
            .lines()
            .find(|l| l.starts_with("stats:"))
            .unwrap_or("stats: ?")
            .to_string();
        assert!(
            out.status.success(),
            "{text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        println!(
            "| `zones refresh` {label} | {} | {} |",
            ms(took),
            hwm.trim_start_matches("stats: ")
        );
    };
    println!("| end to end (release binary) | wall | sipwall's own figures |");
    println!("|---|---|---|");
    run("first download (store written)");
    run("again, 304 Not Modified");
    server.route("/4/us.zone", zone_reply(v4_text, None));
    server.route("/6/us.zone", zone_reply(v6_text, None));
    run("again, full body, unchanged (no write)");
    let _ = std::fs::remove_dir_all(&dir);
}
