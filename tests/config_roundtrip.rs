//! Property tests: for many random valid configurations, the UCI and the
//! TOML spelling of the same settings parse back to exactly that
//! configuration — whatever quoting style the UCI file uses — and random
//! damage to a real file never panics the parsers and always yields an
//! error that points into the file.
//!
//! A small xorshift generator with fixed seeds keeps runs reproducible
//! without a dev-dependency.

use std::fmt::Write as _;
use std::path::Path;

use ipnet::IpNet;
use sipwall::config::{
    self, AllowEntry, BanTier, Config, GeoMode, Knock, KnockPlaces, Mode, DEFAULT_SCANNERS,
};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn range(&mut self, lo: u32, hi: u32) -> u32 {
        lo + self.below(u64::from(hi - lo) + 1) as u32
    }
    fn coin(&mut self) -> bool {
        self.next() & 1 == 1
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// A random configuration plus what the writers need to know beyond it.
struct Case {
    c: Config,
    builtin: bool,
    extra_signatures: Vec<String>,
    custom_tiers: bool,
}

fn secret(r: &mut Rng) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789-_.!+*%#;=";
    (0..r.range(8, 24))
        .map(|_| *r.pick(ALPHABET) as char)
        .collect()
}

fn net(r: &mut Rng) -> IpNet {
    let n = if r.coin() {
        format!(
            "{}.{}.{}.{}/{}",
            r.range(1, 223),
            r.below(256),
            r.below(256),
            r.below(256),
            r.range(8, 32)
        )
    } else {
        format!(
            "2001:db8:{:x}:{:x}::/{}",
            r.below(65536),
            r.below(65536),
            r.range(16, 128)
        )
    };
    n.parse::<IpNet>().unwrap().trunc()
}

fn duration_text(r: &mut Rng, secs: u32) -> String {
    match r.below(3) {
        0 => secs.to_string(),
        1 => format!("{secs}s"),
        _ => config::value::fmt_duration(secs),
    }
}

fn gen(r: &mut Rng) -> Case {
    let mut c = Config::default();
    let g = &mut c.global;
    g.enabled = r.coin();
    g.mode = if r.coin() { Mode::Host } else { Mode::Router };
    g.udp_ports = (0..r.range(1, 3)).map(|i| 5060 + i as u16 * 10).collect();
    g.tcp_ports = (0..r.range(1, 3)).map(|i| 5060 + i as u16 * 10).collect();
    g.tls_ports = vec![r.range(5061, 5069) as u16];
    g.queue = r.range(0, 65534) as u16;
    g.queue_maxlen = r.range(16, 100_000);
    g.fail_open = r.coin();
    g.monitor = r.coin();
    g.lan = (0..r.range(1, 4)).map(|_| net(r)).collect();
    g.lan.dedup();
    g.state_dir = format!("/srv/sipwall {}/state", r.below(100)).into();
    g.log_level = r.range(0, 2) as u8;
    for i in 0..r.range(0, 3) {
        c.domains
            .push(format!("sip{i}-{}.example.org", r.below(1000)));
    }
    for i in 0..r.range(if c.domains.is_empty() { 1 } else { 0 }, 3) {
        let mut places = KnockPlaces {
            display_name: r.coin(),
            user_agent: r.coin(),
            instance: r.coin(),
        };
        if !(places.display_name || places.user_agent || places.instance) {
            places.instance = true;
        }
        c.knocks.push(Knock {
            name: format!("k{i}_{}", r.below(99)),
            secret: secret(r),
            places,
            door_secs: r.range(60, 86400),
        });
    }
    for _ in 0..r.range(0, 3) {
        c.allow.push(if r.coin() {
            AllowEntry::Net(net(r))
        } else {
            AllowEntry::Host(format!("h{}.example.net", r.below(1000)))
        });
    }
    for _ in 0..r.range(0, 3) {
        c.block.push(net(r));
    }
    let custom_tiers = r.coin();
    if custom_tiers {
        let mut failures = 0;
        let mut window = 60;
        let mut ban = 60;
        c.ban_tiers = (0..r.range(1, 4))
            .map(|_| {
                failures += r.range(1, 20);
                window = r.range(window, window + 86400);
                ban = r.range(ban, ban + 86400);
                BanTier {
                    failures,
                    window_secs: window,
                    ban_secs: Some(ban),
                }
            })
            .collect();
        if r.coin() {
            if let Some(last) = c.ban_tiers.last_mut() {
                last.ban_secs = None;
            }
        }
    }
    let builtin = r.coin();
    let extra_signatures: Vec<String> = (0..r.range(0, 2))
        .map(|i| format!("bad dialer {i}/{}", r.below(9)))
        .collect();
    c.scanners.signatures = if builtin {
        DEFAULT_SCANNERS.iter().map(|s| s.to_string()).collect()
    } else {
        Vec::new()
    };
    c.scanners
        .signatures
        .extend(extra_signatures.iter().cloned());
    c.scanners.ban_secs = if r.coin() {
        None
    } else {
        Some(r.range(60, 86400 * 30))
    };
    let rl = &mut c.rate_limit;
    rl.rate = r.range(1, 1000);
    rl.burst = r.range(rl.rate, 5000);
    rl.drops_before_ban = r.range(0, 10_000);
    rl.drop_window_secs = r.range(1, 3600);
    rl.flood_ban_secs = r.range(60, 86400);
    let geo = &mut c.geo;
    geo.enabled = r.coin();
    geo.mode = if r.coin() {
        GeoMode::Allow
    } else {
        GeoMode::Block
    };
    geo.countries = ["cn", "ru", "de", "us", "br"]
        .iter()
        .take(r.range(1, 5) as usize)
        .map(|s| s.to_string())
        .collect();
    geo.schedule = format!("{} {} * * {}", r.below(60), r.below(24), r.below(7));
    let cap = &mut c.capacity;
    cap.doors = r.range(16, 1_048_576);
    cap.bans = r.range(16, 1_048_576);
    cap.sources = r.range(16, 1_048_576);
    cap.pending_auth = r.range(16, 262_144);
    Case {
        c,
        builtin,
        extra_signatures,
        custom_tiers,
    }
}

/// A UCI word in a random quoting style that libuci reads back as `s`.
fn uci_word(r: &mut Rng, s: &str) -> String {
    let plain = !s.is_empty()
        && !s
            .chars()
            .any(|c| c.is_whitespace() || "'\"\\#;".contains(c));
    match r.below(4) {
        0 if plain => s.to_string(),
        1 => format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\"")),
        2 if s.len() > 1 => {
            // Two halves glued: 'ab'"cd".
            let mid = s
                .char_indices()
                .nth(s.chars().count() / 2)
                .map_or(0, |(i, _)| i);
            let (a, b) = s.split_at(mid);
            format!(
                "'{}'\"{}\"",
                a.replace('\'', "'\\''"),
                b.replace('\\', "\\\\").replace('"', "\\\"")
            )
        }
        _ => format!("'{}'", s.replace('\'', "'\\''")),
    }
}

fn to_uci(r: &mut Rng, k: &Case) -> String {
    let c = &k.c;
    let mut o = String::from("# generated\npackage sipwall\n\n");
    let opt = |r: &mut Rng, o: &mut String, kw: &str, name: &str, v: &str| {
        let sep = if r.coin() { "\t" } else { "  " };
        let _ = writeln!(o, "{sep}{kw} {name} {}", uci_word(r, v));
    };
    let g = &c.global;
    o.push_str("config sipwall 'global'\n");
    let on = *r.pick(&["1", "yes", "on", "true"]);
    opt(
        r,
        &mut o,
        "option",
        "enabled",
        if g.enabled { on } else { "0" },
    );
    opt(
        r,
        &mut o,
        "option",
        "mode",
        if g.mode == Mode::Host {
            "host"
        } else {
            "router"
        },
    );
    for (name, ports) in [
        ("udp_port", &g.udp_ports),
        ("tcp_port", &g.tcp_ports),
        ("tls_port", &g.tls_ports),
    ] {
        for p in ports {
            opt(r, &mut o, "list", name, &p.to_string());
        }
    }
    opt(r, &mut o, "option", "queue", &g.queue.to_string());
    opt(
        r,
        &mut o,
        "option",
        "queue_maxlen",
        &g.queue_maxlen.to_string(),
    );
    opt(
        r,
        &mut o,
        "option",
        "fail_open",
        if g.fail_open { "1" } else { "off" },
    );
    opt(
        r,
        &mut o,
        "option",
        "monitor",
        if g.monitor { "1" } else { "0" },
    );
    for n in &g.lan {
        opt(r, &mut o, "list", "lan", &n.to_string());
    }
    opt(
        r,
        &mut o,
        "option",
        "state_dir",
        &g.state_dir.to_string_lossy(),
    );
    opt(r, &mut o, "option", "log_level", &g.log_level.to_string());
    for d in &c.domains {
        o.push_str("\nconfig domain\n");
        opt(r, &mut o, "option", "host", d);
    }
    for kn in &c.knocks {
        let _ = writeln!(o, "\nconfig knock '{}'  # a knock", kn.name);
        opt(r, &mut o, "option", "secret", &kn.secret);
        for (on, p) in [
            (kn.places.display_name, "display_name"),
            (kn.places.user_agent, "user_agent"),
            (kn.places.instance, "instance"),
        ] {
            if on {
                opt(r, &mut o, "list", "look_in", p);
            }
        }
        let d = duration_text(r, kn.door_secs);
        opt(r, &mut o, "option", "door_time", &d);
    }
    for a in &c.allow {
        o.push_str("\nconfig allow\n");
        let v = match a {
            AllowEntry::Net(n) => n.to_string(),
            AllowEntry::Host(h) => h.clone(),
        };
        opt(r, &mut o, "option", "source", &v);
    }
    for b in &c.block {
        o.push_str("config block; ");
        let _ = writeln!(o, "option source {}", uci_word(r, &b.to_string()));
    }
    if k.custom_tiers {
        for t in &c.ban_tiers {
            o.push_str("\nconfig ban_tier\n");
            opt(r, &mut o, "option", "failures", &t.failures.to_string());
            let w = duration_text(r, t.window_secs);
            opt(r, &mut o, "option", "window", &w);
            let b = t
                .ban_secs
                .map_or_else(|| "forever".to_string(), |s| duration_text(r, s));
            opt(r, &mut o, "option", "ban_time", &b);
        }
    }
    o.push_str("\nconfig scanners\n");
    opt(
        r,
        &mut o,
        "option",
        "builtin",
        if k.builtin { "1" } else { "0" },
    );
    for s in &k.extra_signatures {
        opt(r, &mut o, "list", "signature", s);
    }
    let b = c
        .scanners
        .ban_secs
        .map_or_else(|| "forever".to_string(), |s| duration_text(r, s));
    opt(r, &mut o, "option", "ban_time", &b);
    let rl = &c.rate_limit;
    o.push_str("\nconfig ratelimit 'ratelimit'\n");
    opt(r, &mut o, "option", "rate", &rl.rate.to_string());
    opt(r, &mut o, "option", "burst", &rl.burst.to_string());
    opt(
        r,
        &mut o,
        "option",
        "drops_before_ban",
        &rl.drops_before_ban.to_string(),
    );
    let w = duration_text(r, rl.drop_window_secs);
    opt(r, &mut o, "option", "drop_window", &w);
    let f = duration_text(r, rl.flood_ban_secs);
    opt(r, &mut o, "option", "flood_ban_time", &f);
    let geo = &c.geo;
    o.push_str("\nconfig geo\n");
    opt(
        r,
        &mut o,
        "option",
        "enabled",
        if geo.enabled { "1" } else { "0" },
    );
    opt(
        r,
        &mut o,
        "option",
        "mode",
        if geo.mode == GeoMode::Allow {
            "allow"
        } else {
            "block"
        },
    );
    for cc in &geo.countries {
        opt(r, &mut o, "list", "country", &cc.to_uppercase());
    }
    opt(r, &mut o, "option", "schedule", &geo.schedule);
    let cap = &c.capacity;
    o.push_str("\nconfig limits\n");
    for (n, v) in [
        ("doors", cap.doors),
        ("bans", cap.bans),
        ("sources", cap.sources),
        ("pending_auth", cap.pending_auth),
    ] {
        opt(r, &mut o, "option", n, &v.to_string());
    }
    o
}

fn toml_str(s: &str) -> String {
    sipwall::json::quote(s)
}

fn toml_duration(r: &mut Rng, secs: u32) -> String {
    if r.coin() {
        secs.to_string()
    } else {
        toml_str(&duration_text(r, secs))
    }
}

fn to_toml(r: &mut Rng, k: &Case) -> String {
    let c = &k.c;
    let g = &c.global;
    let mut o = String::new();
    let list = |items: Vec<String>| format!("[{}]", items.join(", "));
    let _ = writeln!(
        o,
        "[sipwall]\nenabled = {}\nmode = {}",
        g.enabled,
        toml_str(if g.mode == Mode::Host {
            "host"
        } else {
            "router"
        })
    );
    for (name, ports) in [
        ("udp_port", &g.udp_ports),
        ("tcp_port", &g.tcp_ports),
        ("tls_port", &g.tls_ports),
    ] {
        let _ = writeln!(
            o,
            "{name} = {}",
            list(ports.iter().map(|p| p.to_string()).collect())
        );
    }
    let _ = writeln!(
        o,
        "queue = {}\nqueue_maxlen = \"{}\"\nfail_open = {}\nmonitor = {}",
        g.queue, g.queue_maxlen, g.fail_open, g.monitor
    );
    let _ = writeln!(
        o,
        "lan = {}",
        list(g.lan.iter().map(|n| toml_str(&n.to_string())).collect())
    );
    let _ = writeln!(
        o,
        "state_dir = {}\nlog_level = {}",
        toml_str(&g.state_dir.to_string_lossy()),
        g.log_level
    );
    let rl = &c.rate_limit;
    let _ = writeln!(
        o,
        "\n[ratelimit]\nrate = {}\nburst = {}\ndrops_before_ban = {}",
        rl.rate, rl.burst, rl.drops_before_ban
    );
    let _ = writeln!(
        o,
        "drop_window = {}\nflood_ban_time = {}",
        toml_duration(r, rl.drop_window_secs),
        toml_duration(r, rl.flood_ban_secs)
    );
    for d in &c.domains {
        let _ = writeln!(o, "\n[[domain]]\nhost = {}", toml_str(d));
    }
    for kn in &c.knocks {
        let places: Vec<String> = [
            (kn.places.display_name, "display_name"),
            (kn.places.user_agent, "user_agent"),
            (kn.places.instance, "instance"),
        ]
        .iter()
        .filter(|(on, _)| *on)
        .map(|(_, p)| toml_str(p))
        .collect();
        let _ = writeln!(
            o,
            "\n[[knock]]\nname = {}\nsecret = {}\nlook_in = {}\ndoor_time = {}",
            toml_str(&kn.name),
            toml_str(&kn.secret),
            list(places),
            toml_duration(r, kn.door_secs)
        );
    }
    for a in &c.allow {
        let v = match a {
            AllowEntry::Net(n) => n.to_string(),
            AllowEntry::Host(h) => h.clone(),
        };
        let _ = writeln!(o, "\n[[allow]]\nsource = {}", toml_str(&v));
    }
    for b in &c.block {
        let _ = writeln!(o, "\n[[block]]\nsource = {}", toml_str(&b.to_string()));
    }
    if k.custom_tiers {
        for t in &c.ban_tiers {
            let ban = t
                .ban_secs
                .map_or_else(|| toml_str("forever"), |s| toml_duration(r, s));
            let _ = writeln!(
                o,
                "\n[[ban_tier]]\nfailures = {}\nwindow = {}\nban_time = {}",
                t.failures,
                toml_duration(r, t.window_secs),
                ban
            );
        }
    }
    let ban = c
        .scanners
        .ban_secs
        .map_or_else(|| toml_str("forever"), |s| toml_duration(r, s));
    let _ = writeln!(
        o,
        "\n[scanners]\nbuiltin = {}\nsignature = {}\nban_time = {}",
        k.builtin,
        list(k.extra_signatures.iter().map(|s| toml_str(s)).collect()),
        ban
    );
    let geo = &c.geo;
    let _ = writeln!(
        o,
        "\n[geo]\nenabled = {}\nmode = {}\ncountry = {}\nschedule = {}",
        geo.enabled,
        toml_str(if geo.mode == GeoMode::Allow {
            "allow"
        } else {
            "block"
        }),
        list(geo.countries.iter().map(|s| toml_str(s)).collect()),
        toml_str(&geo.schedule)
    );
    let cap = &c.capacity;
    let _ = writeln!(
        o,
        "\n[limits]\ndoors = {}\nbans = {}\nsources = {}\npending_auth = {}",
        cap.doors, cap.bans, cap.sources, cap.pending_auth
    );
    o
}

#[test]
fn uci_and_toml_spellings_of_random_configs_mean_the_same() {
    let mut r = Rng(0x5eed_1234_abcd_9876);
    let mut checked = 0;
    for _ in 0..400 {
        let case = gen(&mut r);
        if config::validate(&case.c).is_err() {
            continue; // e.g. a random secret that happens to contain "smap"
        }
        let uci = to_uci(&mut r, &case);
        let parsed = config::parse_uci(&uci, Path::new("/etc/config/sipwall"))
            .unwrap_or_else(|e| panic!("{e}\n{uci}"));
        assert_eq!(parsed, case.c, "UCI:\n{uci}");
        if !cfg!(feature = "toml") {
            checked += 1;
            continue;
        }
        let toml = to_toml(&mut r, &case);
        let parsed = config::parse_toml(&toml, Path::new("/etc/sipwall/sipwall.toml"))
            .unwrap_or_else(|e| panic!("{e}\n{toml}"));
        assert_eq!(parsed, case.c, "TOML:\n{toml}");
        checked += 1;
    }
    assert!(checked > 300, "only {checked} random configs were valid");
}

/// Byte-level damage: delete, duplicate, flip and insert quote/backslash
/// characters at random places of a real file.
fn damage(r: &mut Rng, text: &str) -> String {
    let mut b = text.as_bytes().to_vec();
    for _ in 0..r.range(1, 6) {
        if b.is_empty() {
            break;
        }
        let i = r.below(b.len() as u64) as usize;
        match r.below(5) {
            0 => {
                b.remove(i);
            }
            1 => b.insert(i, *r.pick(b"'\"\\#;\n\t =[]{}0")),
            2 => b[i] ^= 1 << r.below(8),
            3 => {
                let end = (i + r.below(40) as usize).min(b.len());
                let chunk = b[i..end].to_vec();
                b.splice(i..i, chunk);
            }
            _ => b.truncate(i),
        }
    }
    String::from_utf8_lossy(&b).into_owned()
}

#[test]
fn damaged_files_never_panic_and_errors_point_into_the_file() {
    let uci = include_str!("../files/etc/config/sipwall");
    let toml = include_str!("../files/etc/sipwall/sipwall.toml");
    let mut r = Rng(0xdead_beef_0bad_f00d);
    let mut errors = 0;
    for _ in 0..1500 {
        for (text, is_toml) in [(uci, false), (toml, true)] {
            if is_toml && !cfg!(feature = "toml") {
                continue;
            }
            let bad = damage(&mut r, text);
            let lines = bad.lines().count().max(1);
            let res = if is_toml {
                config::parse_toml(&bad, Path::new("f.toml"))
            } else {
                config::parse_uci(&bad, Path::new("f"))
            };
            if let Err(e) = res {
                errors += 1;
                let shown = e.to_string();
                assert!(shown.starts_with("f"), "{shown}");
                assert!(!e.message.is_empty(), "{shown}");
                if !is_toml {
                    let line = e
                        .line
                        .unwrap_or_else(|| panic!("UCI error without a line: {shown}\n{bad}"));
                    assert!(
                        (1..=lines).contains(&line),
                        "line {line} of {lines}: {shown}"
                    );
                }
            }
        }
    }
    assert!(
        errors > 500,
        "damage should usually be caught, got {errors} errors"
    );
}
