//! The effective configuration, for people (`sipwall check-config`) and for
//! programs (`--json`): every value that is in force, whether written in
//! the file or left at its default, with defaults marked.
//!
//! Names and units are the schema's (durations in seconds in JSON, the
//! shortest exact spelling in text), so what is printed can be pasted back
//! into a config file. Knock secrets are masked unless asked for, because
//! this output ends up in logs.

use super::model::*;
use super::schema;
use super::value::{fmt_ban, fmt_duration};
use crate::json::Value;

/// One printed option.
pub struct Row {
    pub option: &'static str,
    pub text: String,
    pub json: Value,
    pub default: bool,
}

/// One printed section.
pub struct Block {
    pub kind: &'static str,
    pub name: Option<String>,
    pub rows: Vec<Row>,
}

/// A plain text option: shown and written to JSON as it is, marked default
/// when it equals the default's value.
fn text_row(option: &'static str, value: &str, default: &str) -> Row {
    row(option, value, value, value == default)
}

fn row(
    option: &'static str,
    text: impl Into<String>,
    json: impl Into<Value>,
    default: bool,
) -> Row {
    Row {
        option,
        text: text.into(),
        json: json.into(),
        default,
    }
}

fn yes(b: bool) -> &'static str {
    if b {
        "1"
    } else {
        "0"
    }
}

fn join<T: ToString>(items: &[T]) -> String {
    if items.is_empty() {
        "(none)".into()
    } else {
        items.iter().map(T::to_string).collect::<Vec<_>>().join(" ")
    }
}

fn strings<T: ToString>(items: &[T]) -> Value {
    Value::Array(items.iter().map(|x| Value::Str(x.to_string())).collect())
}

fn nums(items: &[u16]) -> Value {
    Value::Array(items.iter().map(|p| Value::from(*p)).collect())
}

fn ban_json(b: Option<u32>) -> Value {
    b.map_or(Value::Null, Value::from)
}

/// `Zebra-42` → `Ze****** (8 characters)`.
pub fn mask(secret: &str) -> String {
    let head: String = secret.chars().take(2).collect();
    let n = secret.chars().count();
    format!("{head}{} ({n} characters)", "*".repeat(n.saturating_sub(2)))
}

/// The effective configuration as blocks of rows, in schema order.
pub fn blocks(c: &Config, show_secrets: bool) -> Vec<Block> {
    let d = Config::default();
    let (g, dg) = (&c.global, &d.global);
    let mut out = Vec::new();
    let mode = |m: Mode| if m == Mode::Host { "host" } else { "router" };
    let backend = |b: Backend| match b {
        Backend::Auto => "auto",
        Backend::Nft => "nft",
        Backend::Iptables => "iptables",
    };
    out.push(Block {
        kind: "sipwall",
        name: None,
        rows: vec![
            row(
                "enabled",
                yes(g.enabled),
                g.enabled,
                g.enabled == dg.enabled,
            ),
            row("mode", mode(g.mode), mode(g.mode), g.mode == dg.mode),
            row(
                "backend",
                backend(g.backend),
                backend(g.backend),
                g.backend == dg.backend,
            ),
            row(
                "udp_port",
                join(&g.udp_ports),
                nums(&g.udp_ports),
                g.udp_ports == dg.udp_ports,
            ),
            row(
                "tcp_port",
                join(&g.tcp_ports),
                nums(&g.tcp_ports),
                g.tcp_ports == dg.tcp_ports,
            ),
            row(
                "tls_port",
                join(&g.tls_ports),
                nums(&g.tls_ports),
                g.tls_ports == dg.tls_ports,
            ),
            row(
                "queue",
                format!("{} (answers on {})", g.queue, u32::from(g.queue) + 1),
                g.queue,
                g.queue == dg.queue,
            ),
            row(
                "queue_maxlen",
                g.queue_maxlen.to_string(),
                g.queue_maxlen,
                g.queue_maxlen == dg.queue_maxlen,
            ),
            row(
                "fail_open",
                yes(g.fail_open),
                g.fail_open,
                g.fail_open == dg.fail_open,
            ),
            row(
                "monitor",
                yes(g.monitor),
                g.monitor,
                g.monitor == dg.monitor,
            ),
            row("lan", join(&g.lan), strings(&g.lan), g.lan == dg.lan),
            row(
                "state_dir",
                g.state_dir.display().to_string(),
                g.state_dir.display().to_string(),
                g.state_dir == dg.state_dir,
            ),
            row(
                "run_dir",
                g.run_dir.display().to_string(),
                g.run_dir.display().to_string(),
                g.run_dir == dg.run_dir,
            ),
            row(
                "log_level",
                g.log_level.to_string(),
                g.log_level,
                g.log_level == dg.log_level,
            ),
        ],
    });
    for host in &c.domains {
        out.push(Block {
            kind: "domain",
            name: None,
            rows: vec![row("host", host.as_str(), host.as_str(), false)],
        });
    }
    for k in &c.knocks {
        let places: Vec<&str> = [
            (k.places.display_name, "display_name"),
            (k.places.user_agent, "user_agent"),
            (k.places.instance, "instance"),
        ]
        .iter()
        .filter(|(on, _)| *on)
        .map(|(_, n)| *n)
        .collect();
        let all = places.len() == schema::LOOK_IN.len();
        let secret = if show_secrets {
            k.secret.clone()
        } else {
            mask(&k.secret)
        };
        out.push(Block {
            kind: "knock",
            name: Some(k.name.clone()),
            rows: vec![
                row("secret", secret.clone(), secret, false),
                row("look_in", join(&places), strings(&places), all),
                row(
                    "door_time",
                    fmt_duration(k.door_secs),
                    k.door_secs,
                    k.door_secs == 4000,
                ),
            ],
        });
    }
    for a in &c.allow {
        let text = match a {
            AllowEntry::Net(n) => n.to_string(),
            AllowEntry::Host(h) => format!("{h} (host name, resolved by the daemon)"),
        };
        let json = match a {
            AllowEntry::Net(n) => n.to_string(),
            AllowEntry::Host(h) => h.clone(),
        };
        out.push(Block {
            kind: "allow",
            name: None,
            rows: vec![row("source", text, json, false)],
        });
    }
    for b in &c.block {
        out.push(Block {
            kind: "block",
            name: None,
            rows: vec![row("source", b.to_string(), b.to_string(), false)],
        });
    }
    let default_tiers = c.ban_tiers == d.ban_tiers;
    for t in &c.ban_tiers {
        out.push(Block {
            kind: "ban_tier",
            name: None,
            rows: vec![
                row(
                    "failures",
                    t.failures.to_string(),
                    t.failures,
                    default_tiers,
                ),
                row(
                    "window",
                    fmt_duration(t.window_secs),
                    t.window_secs,
                    default_tiers,
                ),
                row(
                    "ban_time",
                    fmt_ban(t.ban_secs),
                    ban_json(t.ban_secs),
                    default_tiers,
                ),
            ],
        });
    }
    let s = &c.scanners;
    let builtin = DEFAULT_SCANNERS
        .iter()
        .all(|d| s.signatures.iter().any(|x| x == d));
    out.push(Block {
        kind: "scanners",
        name: None,
        rows: vec![
            row("builtin", yes(builtin), builtin, builtin),
            row(
                "signature",
                join(&s.signatures),
                strings(&s.signatures),
                s.signatures == d.scanners.signatures,
            ),
            row(
                "ban_time",
                fmt_ban(s.ban_secs),
                ban_json(s.ban_secs),
                s.ban_secs == d.scanners.ban_secs,
            ),
        ],
    });
    let (r, dr) = (&c.rate_limit, &d.rate_limit);
    out.push(Block {
        kind: "ratelimit",
        name: None,
        rows: vec![
            row("rate", format!("{}/s", r.rate), r.rate, r.rate == dr.rate),
            row("burst", r.burst.to_string(), r.burst, r.burst == dr.burst),
            row(
                "drops_before_ban",
                if r.drops_before_ban == 0 {
                    "0 (never)".to_string()
                } else {
                    r.drops_before_ban.to_string()
                },
                r.drops_before_ban,
                r.drops_before_ban == dr.drops_before_ban,
            ),
            row(
                "drop_window",
                fmt_duration(r.drop_window_secs),
                r.drop_window_secs,
                r.drop_window_secs == dr.drop_window_secs,
            ),
            row(
                "flood_ban_time",
                fmt_duration(r.flood_ban_secs),
                r.flood_ban_secs,
                r.flood_ban_secs == dr.flood_ban_secs,
            ),
        ],
    });
    let (geo, dgeo) = (&c.geo, &d.geo);
    let gmode = if geo.mode == GeoMode::Allow {
        "allow"
    } else {
        "block"
    };
    let gfamily = if geo.ipv6 { "both" } else { "ipv4" };
    out.push(Block {
        kind: "geo",
        name: None,
        rows: vec![
            row(
                "enabled",
                yes(geo.enabled),
                geo.enabled,
                geo.enabled == dgeo.enabled,
            ),
            row("mode", gmode, gmode, geo.mode == dgeo.mode),
            row(
                "country",
                join(&geo.countries),
                strings(&geo.countries),
                geo.countries == dgeo.countries,
            ),
            row("family", gfamily, gfamily, geo.ipv6 == dgeo.ipv6),
            text_row("schedule", &geo.schedule, &dgeo.schedule),
            text_row("ipv4_url", &geo.ipv4_url, &dgeo.ipv4_url),
            text_row("ipv6_url", &geo.ipv6_url, &dgeo.ipv6_url),
            text_row(
                "fallback_ipv4_url",
                &geo.fallback_ipv4_url,
                &dgeo.fallback_ipv4_url,
            ),
            text_row(
                "fallback_ipv6_url",
                &geo.fallback_ipv6_url,
                &dgeo.fallback_ipv6_url,
            ),
        ],
    });
    let (l, dl) = (&c.capacity, &d.capacity);
    out.push(Block {
        kind: "limits",
        name: None,
        rows: vec![
            row("doors", l.doors.to_string(), l.doors, l.doors == dl.doors),
            row("bans", l.bans.to_string(), l.bans, l.bans == dl.bans),
            row(
                "sources",
                l.sources.to_string(),
                l.sources,
                l.sources == dl.sources,
            ),
            row(
                "pending_auth",
                l.pending_auth.to_string(),
                l.pending_auth,
                l.pending_auth == dl.pending_auth,
            ),
        ],
    });
    out
}

/// One paragraph saying what sipwall will do with this configuration.
pub fn summary(c: &Config) -> String {
    let g = &c.global;
    if !g.enabled {
        return "sipwall is disabled (enabled '0'): it installs no rules and filters nothing."
            .into();
    }
    let mut gates = Vec::new();
    if !c.domains.is_empty() {
        gates.push(format!("addressed to {}", c.domains.join(" or ")));
    }
    if !c.knocks.is_empty() {
        gates.push(format!(
            "carrying a knock ({})",
            c.knocks
                .iter()
                .map(|k| k.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let tiers: Vec<String> = c
        .ban_tiers
        .iter()
        .map(|t| {
            format!(
                "{} in {} -> {}",
                t.failures,
                fmt_duration(t.window_secs),
                fmt_ban(t.ban_secs)
            )
        })
        .collect();
    let scanners = if c.scanners.signatures.is_empty() {
        "Scanner signatures: none.".to_string()
    } else {
        format!(
            "{} scanner signatures ban for {}.",
            c.scanners.signatures.len(),
            fmt_ban(c.scanners.ban_secs)
        )
    };
    let geo = match (c.geo.enabled, c.geo.mode) {
        (false, _) => "Country zones: off.".to_string(),
        (true, GeoMode::Block) => format!(
            "Country zones: {} never reach SIP.",
            c.geo.countries.join(", ")
        ),
        (true, GeoMode::Allow) => format!(
            "Country zones: only {} reach SIP.",
            c.geo.countries.join(", ")
        ),
    };
    format!(
        "{}: new SIP requests pass when {}, from an open door, the LAN or the allowlist; everything else is {}. Failed logins ban: {}. {scanners} {geo}",
        if g.monitor { "MONITOR mode (nothing is dropped, drops are only logged)" } else { "enforcing" },
        gates.join(" or "),
        if g.monitor { "logged" } else { "dropped" },
        if tiers.is_empty() { "never".into() } else { tiers.join("; ") }
    )
}

/// Valid but risky choices an admin should make knowingly.
pub fn warnings(c: &Config) -> Vec<String> {
    let mut out = Vec::new();
    let g = &c.global;
    if g.enabled && g.fail_open {
        out.push("fail_open '1': while sipwall is stopped or overloaded, SIP requests reach the PBX uninspected".into());
    }
    if g.enabled && g.monitor {
        out.push(
            "monitor '1': nothing is dropped; the PBX is as exposed as without sipwall".into(),
        );
    }
    if c.geo.enabled && c.geo.mode == GeoMode::Allow {
        out.push(format!(
            "geo mode 'allow': only {} reach SIP; your own phones abroad are dropped unless allowlisted or knocking",
            c.geo.countries.join(", ")
        ));
    }
    if g.enabled && c.scanners.signatures.is_empty() {
        out.push("no scanner signatures (builtin '0' and no signature): scanners are only stopped by the gate".into());
    }
    let short = |t: &BanTier| t.ban_secs.is_some_and(|b| b < 600);
    if !c.ban_tiers.is_empty() && c.ban_tiers.iter().all(short) {
        out.push(
            "every ban tier bans for less than 10 minutes: password guessers come back quickly"
                .into(),
        );
    }
    out
}

/// Readable text: one block per section, defaults marked.
pub fn to_text(c: &Config, show_secrets: bool) -> String {
    let mut out = String::new();
    out.push_str(&summary(c));
    out.push('\n');
    for w in warnings(c) {
        out.push_str(&format!("warning: {w}\n"));
    }
    for b in blocks(c, show_secrets) {
        out.push('\n');
        match &b.name {
            Some(n) => out.push_str(&format!("config {} '{}'\n", b.kind, n)),
            None => out.push_str(&format!("config {}\n", b.kind)),
        }
        for r in &b.rows {
            let mark = if r.default { "   (default)" } else { "" };
            out.push_str(&format!("\t{:<18} {}{}\n", r.option, r.text, mark));
        }
    }
    out
}

/// JSON: unique sections as objects, repeatable ones as arrays of objects;
/// `defaults` lists `section.option` left at their default.
pub fn to_json(c: &Config, show_secrets: bool) -> Value {
    let mut config = Value::object();
    let mut defaults = Value::array();
    for b in blocks(c, show_secrets) {
        let mut obj = Value::object();
        if let Some(n) = &b.name {
            obj.set("name", n.as_str());
        }
        for r in b.rows {
            if r.default && schema::section(b.kind).is_some_and(|s| s.unique) {
                defaults.push(format!("{}.{}", b.kind, r.option));
            }
            obj.set(r.option, r.json);
        }
        let unique = schema::section(b.kind).is_some_and(|s| s.unique);
        if unique {
            config.set(b.kind, obj);
        } else {
            let mut list = match config.get(b.kind) {
                Some(v) => v.clone(),
                None => Value::array(),
            };
            list.push(obj);
            config.set(b.kind, list);
        }
    }
    for s in schema::SECTIONS.iter().filter(|s| !s.unique) {
        if config.get(s.kind).is_none() {
            config.set(s.kind, Value::array());
        }
    }
    Value::object()
        .with("summary", summary(c))
        .with("warnings", warnings(c))
        .with("config", config)
        .with("defaults", defaults)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warnings_name_risky_choices_only() {
        assert!(warnings(&Config::default()).is_empty());
        let mut c = Config::default();
        c.ban_tiers.clear();
        assert!(warnings(&c).is_empty(), "no tiers is not 'short tiers'");
        c.ban_tiers.push(BanTier {
            failures: 3,
            window_secs: 600,
            ban_secs: Some(300),
        });
        assert!(warnings(&c)[0].contains("less than 10 minutes"));
        let mut c = Config::default();
        c.global.enabled = true;
        c.global.fail_open = true;
        assert!(warnings(&c)[0].starts_with("fail_open '1'"));
    }
}
