//! Rules over the whole model. Both front ends call [`validate`] after
//! building; so may any code that builds a [`Config`] itself.
//!
//! Per-value ranges are checked by re-reading the value's text through the
//! schema's reader, so a range lives in exactly one place (the schema).
//! Errors name the section and option; the front end adds file and line.

use super::error::{ConfigError, SectionRef};
use super::model::*;
use super::schema;
use super::value::{self, fmt_ban, Val};

fn at(kind: &str, index: usize, option: &str, message: String) -> ConfigError {
    let sref = SectionRef {
        kind: kind.to_string(),
        name: None,
        index,
    };
    ConfigError::new(message).in_section(sref).at_option(option)
}

/// Re-reads `text` as `kind.option` would be read from a file.
fn check(kind: &str, index: usize, option: &str, text: &str) -> Result<Val, ConfigError> {
    value::read(schema::spec(kind, option).kind, text).map_err(|m| at(kind, index, option, m))
}

fn check_secs(
    kind: &str,
    index: usize,
    option: &str,
    secs: Option<u32>,
) -> Result<(), ConfigError> {
    check(
        kind,
        index,
        option,
        &secs.map_or_else(|| "forever".into(), |s| s.to_string()),
    )
    .map(drop)
}

fn check_num(kind: &str, index: usize, option: &str, n: u32) -> Result<(), ConfigError> {
    check(kind, index, option, &n.to_string()).map(drop)
}

fn no_duplicates<T: PartialEq + std::fmt::Display>(
    items: &[T],
    mut locate: impl FnMut(usize) -> (String, usize, String),
) -> Result<(), ConfigError> {
    for (i, item) in items.iter().enumerate() {
        if let Some(first) = items[..i].iter().position(|x| x == item) {
            let (kind, index, option) = locate(i);
            return Err(at(
                &kind,
                index,
                &option,
                format!(
                    "'{item}' is listed twice (also entry {}): list it once",
                    first + 1
                ),
            ));
        }
    }
    Ok(())
}

pub fn validate(c: &Config) -> Result<(), ConfigError> {
    validate_global(c)?;
    for (i, d) in c.domains.iter().enumerate() {
        if let Val::Text(norm) = check("domain", i, "host", d)? {
            if norm != *d {
                return Err(at(
                    "domain",
                    i,
                    "host",
                    format!("expected a lower-case host name, got '{d}'"),
                ));
            }
        }
    }
    no_duplicates(&c.domains, |i| ("domain".into(), i, "host".into()))?;
    validate_knocks(c)?;
    for (i, a) in c.allow.iter().enumerate() {
        match a {
            AllowEntry::Host(h) => {
                check("allow", i, "source", h)?;
            }
            AllowEntry::Net(n) if n.prefix_len() == 0 => {
                return Err(at(
                    "allow",
                    i,
                    "source",
                    format!("'{n}' allows every address, so sipwall would filter nothing: expected the networks of your phones or trunks"),
                ));
            }
            AllowEntry::Net(_) => {}
        }
    }
    for (i, b) in c.block.iter().enumerate() {
        if b.prefix_len() == 0 {
            return Err(at(
                "block",
                i,
                "source",
                format!("'{b}' blocks every address: expected a narrower network (to stop SIP entirely, set enabled '0' and close the port)"),
            ));
        }
    }
    validate_tiers(c)?;
    let s = &c.scanners;
    for (i, sig) in s.signatures.iter().enumerate() {
        if let Val::Text(norm) = check("scanners", 0, "signature", sig)? {
            if norm != *sig {
                return Err(at(
                    "scanners",
                    0,
                    "signature",
                    format!("entry {}: expected lower case, got '{sig}'", i + 1),
                ));
            }
        }
    }
    check_secs("scanners", 0, "ban_time", s.ban_secs)?;
    let r = &c.rate_limit;
    check_num("ratelimit", 0, "rate", r.rate)?;
    check_num("ratelimit", 0, "burst", r.burst)?;
    check_num("ratelimit", 0, "drops_before_ban", r.drops_before_ban)?;
    check_secs("ratelimit", 0, "drop_window", Some(r.drop_window_secs))?;
    check_secs("ratelimit", 0, "flood_ban_time", Some(r.flood_ban_secs))?;
    if r.burst < r.rate {
        return Err(at(
            "ratelimit",
            0,
            "burst",
            format!("expected a burst of at least the rate ({}), got {}: a phone's normal second would be cut", r.rate, r.burst),
        ));
    }
    validate_geo(&c.geo)?;
    let l = &c.capacity;
    check_num("limits", 0, "doors", l.doors)?;
    check_num("limits", 0, "bans", l.bans)?;
    check_num("limits", 0, "sources", l.sources)?;
    check_num("limits", 0, "pending_auth", l.pending_auth)?;
    Ok(())
}

fn validate_global(c: &Config) -> Result<(), ConfigError> {
    let g = &c.global;
    for (option, ports) in [
        ("udp_port", &g.udp_ports),
        ("tcp_port", &g.tcp_ports),
        ("tls_port", &g.tls_ports),
    ] {
        for p in ports.iter() {
            check_num("sipwall", 0, option, u32::from(*p))?;
        }
        no_duplicates(ports, |_| ("sipwall".into(), 0, option.into()))?;
    }
    if let Some(p) = g.tls_ports.iter().find(|p| g.tcp_ports.contains(p)) {
        return Err(at(
            "sipwall",
            0,
            "tls_port",
            format!("port {p} is also a tcp_port: a TCP port carries either plain SIP or SIP over TLS, not both"),
        ));
    }
    if let Some(n) = g.lan.iter().find(|n| n.prefix_len() == 0) {
        return Err(at(
            "sipwall",
            0,
            "lan",
            format!("'{n}' makes the whole internet local, so sipwall would filter nothing: expected your local networks (e.g. 192.168.1.0/24)"),
        ));
    }
    check_num("sipwall", 0, "queue", u32::from(g.queue))?;
    check_num("sipwall", 0, "queue_maxlen", g.queue_maxlen)?;
    check_num("sipwall", 0, "log_level", u32::from(g.log_level))?;
    check("sipwall", 0, "state_dir", &g.state_dir.to_string_lossy())?;
    check("sipwall", 0, "run_dir", &g.run_dir.to_string_lossy())?;
    if g.enabled {
        // The router must never be left open or locked out by a mistake.
        if c.domains.is_empty() && c.knocks.is_empty() {
            return Err(at(
                "sipwall",
                0,
                "enabled",
                "sipwall would drop every SIP request: set a domain or a knock (or keep enabled '0')".into(),
            ));
        }
        if g.udp_ports.is_empty() && g.tcp_ports.is_empty() && g.tls_ports.is_empty() {
            return Err(at(
                "sipwall",
                0,
                "enabled",
                "no SIP port is set (udp_port, tcp_port, tls_port): expected at least one port to protect".into(),
            ));
        }
    }
    Ok(())
}

fn validate_knocks(c: &Config) -> Result<(), ConfigError> {
    for (i, k) in c.knocks.iter().enumerate() {
        let sref = SectionRef {
            kind: "knock".into(),
            name: Some(k.name.clone()),
            index: i,
        };
        if !super::uci::is_uci_name(&k.name) {
            return Err(ConfigError::new(format!(
                "expected a knock name of letters, digits and '_', got '{}'",
                k.name
            ))
            .in_section(sref));
        }
        check("knock", i, "secret", &k.secret)?;
        check_secs("knock", i, "door_time", Some(k.door_secs))?;
        let p = k.places;
        if !(p.display_name || p.user_agent || p.instance) {
            return Err(at(
                "knock",
                i,
                "look_in",
                "is empty: expected at least one of display_name, user_agent, instance".into(),
            ));
        }
        let lower = k.secret.to_ascii_lowercase();
        if let Some(sig) = c
            .scanners
            .signatures
            .iter()
            .find(|s| lower.contains(s.as_str()))
        {
            return Err(at(
                "knock",
                i,
                "secret",
                format!("contains the scanner signature '{sig}': a phone knocking with it would be banned as a scanner"),
            ));
        }
        if let Some(j) = c.knocks[..i].iter().position(|o| o.name == k.name) {
            return Err(
                ConfigError::new(format!("knock name used twice (also knock #{})", j + 1))
                    .in_section(sref),
            );
        }
        if let Some(o) = c.knocks[..i].iter().find(|o| o.secret == k.secret) {
            return Err(at(
                "knock",
                i,
                "secret",
                format!(
                    "is the same as knock '{}': give each knock its own secret",
                    o.name
                ),
            ));
        }
    }
    Ok(())
}

fn validate_tiers(c: &Config) -> Result<(), ConfigError> {
    const MAX_TIERS: usize = 8;
    if c.ban_tiers.len() > MAX_TIERS {
        return Err(at(
            "ban_tier",
            MAX_TIERS,
            "failures",
            format!(
                "expected at most {MAX_TIERS} ban tiers, got {}",
                c.ban_tiers.len()
            ),
        ));
    }
    // `None` (forever) is the longest ban.
    let rank = |b: Option<u32>| b.map_or(u64::MAX, u64::from);
    for (i, t) in c.ban_tiers.iter().enumerate() {
        check_num("ban_tier", i, "failures", t.failures)?;
        check_secs("ban_tier", i, "window", Some(t.window_secs))?;
        check_secs("ban_tier", i, "ban_time", t.ban_secs)?;
        if i == 0 {
            continue;
        }
        let p = &c.ban_tiers[i - 1];
        if t.failures <= p.failures {
            return Err(at(
                "ban_tier",
                i,
                "failures",
                format!(
                    "expected more failures than the tier before ({}), got {}: list tiers from the mildest to the strictest",
                    p.failures, t.failures
                ),
            ));
        }
        if t.window_secs < p.window_secs {
            return Err(at(
                "ban_tier",
                i,
                "window",
                format!(
                    "expected a window at least as long as the tier before ({}), got {}",
                    value::fmt_duration(p.window_secs),
                    value::fmt_duration(t.window_secs)
                ),
            ));
        }
        if rank(t.ban_secs) < rank(p.ban_secs) {
            return Err(at(
                "ban_tier",
                i,
                "ban_time",
                format!(
                    "expected a ban at least as long as the tier before ({}), got {}: more failures must not mean a shorter ban",
                    fmt_ban(p.ban_secs),
                    fmt_ban(t.ban_secs)
                ),
            ));
        }
    }
    Ok(())
}

fn validate_geo(g: &Geo) -> Result<(), ConfigError> {
    for (i, cc) in g.countries.iter().enumerate() {
        if let Val::Text(norm) = check("geo", 0, "country", cc)? {
            if norm != *cc {
                return Err(at(
                    "geo",
                    0,
                    "country",
                    format!("entry {}: expected lower case, got '{cc}'", i + 1),
                ));
            }
        }
    }
    no_duplicates(&g.countries, |_| ("geo".into(), 0, "country".into()))?;
    check("geo", 0, "schedule", &g.schedule)?;
    check("geo", 0, "ipv4_url", &g.ipv4_url)?;
    check("geo", 0, "ipv6_url", &g.ipv6_url)?;
    check("geo", 0, "fallback_ipv4_url", &g.fallback_ipv4_url)?;
    check("geo", 0, "fallback_ipv6_url", &g.fallback_ipv6_url)?;
    if g.enabled && g.countries.is_empty() {
        let what = match g.mode {
            GeoMode::Allow => "allow mode with no country would shut every caller out",
            GeoMode::Block => "there is nothing to block",
        };
        return Err(at("geo", 0, "enabled", format!("geo is enabled but no country is listed: {what}; add list country or set enabled '0'")));
    }
    Ok(())
}
