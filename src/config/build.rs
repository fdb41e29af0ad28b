//! Gives meaning to raw sections: looks every section and option up in the
//! schema, converts values by their kind, fills in defaults and assembles a
//! [`Config`]. Both front ends end here, then in [`super::validate`].

use super::error::{ConfigError, SectionRef};
use super::model::*;
use super::raw::RawSection;
use super::schema::{self, Kind, SectionSpec};
use super::value::{self, Val};

/// One section with its values converted.
struct Sec<'a> {
    spec: &'static SectionSpec,
    raw: &'a RawSection,
    values: Vec<(&'static str, Vec<Val>)>,
}

impl Sec<'_> {
    fn all(&self, name: &str) -> Option<&[Val]> {
        self.values
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_slice())
    }
    fn one(&self, name: &str) -> Option<&Val> {
        self.all(name).and_then(|v| v.first())
    }
    fn bool(&self, name: &str, default: bool) -> bool {
        match self.one(name) {
            Some(Val::Bool(b)) => *b,
            _ => default,
        }
    }
    fn num(&self, name: &str, default: u32) -> u32 {
        match self.one(name) {
            Some(Val::Num(n)) => *n,
            _ => default,
        }
    }
    fn secs(&self, name: &str, default: Option<u32>) -> Option<u32> {
        match self.one(name) {
            Some(Val::Secs(s)) => *s,
            _ => default,
        }
    }
    fn text(&self, name: &str, default: &str) -> String {
        match self.one(name) {
            Some(Val::Text(t)) => t.clone(),
            _ => default.to_string(),
        }
    }
    fn texts(&self, name: &str) -> Option<Vec<String>> {
        self.all(name).map(|v| {
            v.iter()
                .filter_map(|x| match x {
                    Val::Text(t) => Some(t.clone()),
                    _ => None,
                })
                .collect()
        })
    }
    fn ports(&self, name: &str, default: &[u16]) -> Vec<u16> {
        match self.all(name) {
            Some(v) => v
                .iter()
                .filter_map(|x| match x {
                    Val::Num(n) => u16::try_from(*n).ok(),
                    _ => None,
                })
                .collect(),
            None => default.to_vec(),
        }
    }
}

fn section_ref(raw: &RawSection, index: usize) -> SectionRef {
    SectionRef {
        kind: raw.kind.clone(),
        name: raw.name.clone(),
        index,
    }
}

/// Looks up and converts one section; errors carry line, section and option.
fn convert<'a>(
    raw: &'a RawSection,
    index: usize,
    seen_unique: &[&str],
) -> Result<Sec<'a>, ConfigError> {
    let kinds = || schema::SECTIONS.iter().map(|s| s.kind);
    let Some(spec) = schema::section(&raw.kind) else {
        let list = kinds().collect::<Vec<_>>().join(", ");
        return Err(ConfigError::new(format!(
            "unknown section type '{}'{}: expected one of {list}",
            raw.kind,
            schema::did_you_mean(&raw.kind, kinds())
        ))
        .at_line(raw.line));
    };
    let sref = section_ref(raw, index);
    let here = |line: usize| ConfigError::new("").in_section(sref.clone()).at_line(line);
    if spec.unique && seen_unique.contains(&spec.kind) {
        let mut e = here(raw.line);
        e.message = format!(
            "a second '{}' section: there can be only one, merge them",
            spec.kind
        );
        return Err(e);
    }
    if spec.name_required && raw.name.is_none() {
        let mut e = here(raw.line);
        e.message = format!(
            "expected a name for this section (e.g. config {} 'phones'): it labels doors in logs and status",
            spec.kind
        );
        return Err(e);
    }
    let mut values = Vec::new();
    for o in &raw.options {
        let at = |msg: String| {
            let mut e = here(o.line).at_option(&o.name);
            e.message = msg;
            e
        };
        let Some(ospec) = spec.option(&o.name) else {
            let mut msg = format!(
                "unknown option{}",
                schema::did_you_mean(&o.name, spec.options.iter().map(|x| x.name))
            );
            if schema::closest(&o.name, spec.options.iter().map(|x| x.name)).is_none() {
                if let Some(other) = schema::SECTIONS
                    .iter()
                    .find(|s| s.option(&o.name).is_some())
                {
                    msg = format!(
                        "unknown option here: '{}' belongs in a '{}' section",
                        o.name, other.kind
                    );
                } else {
                    let names: Vec<_> = spec.options.iter().map(|x| x.name).collect();
                    msg = format!("unknown option: expected one of {}", names.join(", "));
                }
            }
            return Err(at(msg));
        };
        if !ospec.list && (o.list || o.values.len() > 1) {
            return Err(at(format!(
                "takes one value: write option {} '...', not a list",
                o.name
            )));
        }
        // OpenWrt habit (fw3's `option proto 'tcp udp'`): a list written as
        // one `option` with space-separated words, where words cannot
        // contain spaces themselves.
        let splits = matches!(
            ospec.kind,
            Kind::Port | Kind::Net | Kind::Source | Kind::Country | Kind::Choice(_) | Kind::Host
        );
        let words: Vec<&str> = if ospec.list && !o.list && splits {
            o.values.iter().flat_map(|v| v.split_whitespace()).collect()
        } else {
            o.values.iter().map(String::as_str).collect()
        };
        let mut converted = Vec::with_capacity(words.len());
        for v in words {
            converted.push(value::read(ospec.kind, v).map_err(at)?);
        }
        if !converted.is_empty() {
            values.push((ospec.name, converted));
        }
    }
    for ospec in spec.options.iter().filter(|o| o.required) {
        if !values.iter().any(|(n, _)| *n == ospec.name) {
            let mut e = here(raw.line).at_option(ospec.name);
            e.message = format!("missing: {}", ospec.help);
            return Err(e);
        }
    }
    Ok(Sec { spec, raw, values })
}

/// Raw sections to a `Config` (not yet validated as a whole).
pub fn build(sections: &[RawSection]) -> Result<Config, ConfigError> {
    let mut c = Config::default();
    let mut seen_unique: Vec<&str> = Vec::new();
    let mut counts: Vec<(&str, usize)> = Vec::new();
    let mut custom_tiers = Vec::new();
    let mut custom_signatures: Option<Vec<String>> = None;
    let mut builtin_signatures = true;
    for raw in sections {
        let index = match counts.iter_mut().find(|(k, _)| *k == raw.kind) {
            Some((_, n)) => {
                *n += 1;
                *n - 1
            }
            None => {
                counts.push((raw.kind.as_str(), 1));
                0
            }
        };
        let s = convert(raw, index, &seen_unique)?;
        if s.spec.unique {
            seen_unique.push(s.spec.kind);
        }
        match s.spec.kind {
            "sipwall" => {
                let d = Global::default();
                let g = &mut c.global;
                g.enabled = s.bool("enabled", d.enabled);
                g.mode = if s.text("mode", "router") == "host" {
                    Mode::Host
                } else {
                    Mode::Router
                };
                g.backend = match s.text("backend", "auto").as_str() {
                    "nft" => Backend::Nft,
                    "iptables" => Backend::Iptables,
                    _ => Backend::Auto,
                };
                g.udp_ports = s.ports("udp_port", &d.udp_ports);
                g.tcp_ports = s.ports("tcp_port", &d.tcp_ports);
                g.tls_ports = s.ports("tls_port", &d.tls_ports);
                g.queue = u16::try_from(s.num("queue", u32::from(d.queue))).unwrap_or(d.queue);
                g.queue_maxlen = s.num("queue_maxlen", d.queue_maxlen);
                g.fail_open = s.bool("fail_open", d.fail_open);
                g.monitor = s.bool("monitor", d.monitor);
                if let Some(v) = s.all("lan") {
                    g.lan = nets(v);
                }
                if let Some(Val::Path(p)) = s.one("state_dir") {
                    g.state_dir = p.clone();
                }
                if let Some(Val::Path(p)) = s.one("run_dir") {
                    g.run_dir = p.clone();
                }
                g.log_level =
                    u8::try_from(s.num("log_level", u32::from(d.log_level))).unwrap_or(d.log_level);
            }
            "domain" => c.domains.push(s.text("host", "")),
            "knock" => {
                let places = s
                    .texts("look_in")
                    .unwrap_or_else(|| schema::LOOK_IN.iter().map(|p| p.to_string()).collect());
                c.knocks.push(Knock {
                    name: s.raw.name.clone().unwrap_or_default(),
                    secret: s.text("secret", ""),
                    places: KnockPlaces {
                        display_name: places.iter().any(|p| p == "display_name"),
                        user_agent: places.iter().any(|p| p == "user_agent"),
                        instance: places.iter().any(|p| p == "instance"),
                    },
                    door_secs: s.secs("door_time", Some(4000)).unwrap_or(4000),
                });
            }
            "allow" => {
                if let Some(Val::Source(a)) = s.one("source") {
                    c.allow.push(a.clone());
                }
            }
            "block" => {
                if let Some(Val::Net(n)) = s.one("source") {
                    c.block.push(*n);
                }
            }
            "ban_tier" => custom_tiers.push(BanTier {
                failures: s.num("failures", 1),
                window_secs: s.secs("window", Some(3600)).unwrap_or(3600),
                ban_secs: s.secs("ban_time", None),
            }),
            "scanners" => {
                builtin_signatures = s.bool("builtin", true);
                custom_signatures = s.texts("signature");
                c.scanners.ban_secs = s.secs("ban_time", c.scanners.ban_secs);
            }
            "ratelimit" => {
                let r = &mut c.rate_limit;
                r.rate = s.num("rate", r.rate);
                r.burst = s.num("burst", r.burst);
                r.drops_before_ban = s.num("drops_before_ban", r.drops_before_ban);
                r.drop_window_secs = s
                    .secs("drop_window", Some(r.drop_window_secs))
                    .unwrap_or(r.drop_window_secs);
                r.flood_ban_secs = s
                    .secs("flood_ban_time", Some(r.flood_ban_secs))
                    .unwrap_or(r.flood_ban_secs);
            }
            "geo" => {
                let g = &mut c.geo;
                g.enabled = s.bool("enabled", g.enabled);
                g.mode = if s.text("mode", "block") == "allow" {
                    GeoMode::Allow
                } else {
                    GeoMode::Block
                };
                if let Some(v) = s.texts("country") {
                    g.countries = v;
                }
                g.ipv6 = s.text("family", "both") != "ipv4";
                g.schedule = s.text("schedule", &g.schedule);
                g.ipv4_url = s.text("ipv4_url", &g.ipv4_url);
                g.ipv6_url = s.text("ipv6_url", &g.ipv6_url);
                g.fallback_ipv4_url = s.text("fallback_ipv4_url", &g.fallback_ipv4_url);
                g.fallback_ipv6_url = s.text("fallback_ipv6_url", &g.fallback_ipv6_url);
            }
            "limits" => {
                let l = &mut c.capacity;
                l.doors = s.num("doors", l.doors);
                l.bans = s.num("bans", l.bans);
                l.sources = s.num("sources", l.sources);
                l.pending_auth = s.num("pending_auth", l.pending_auth);
            }
            _ => {}
        }
    }
    if !custom_tiers.is_empty() {
        c.ban_tiers = custom_tiers;
    }
    let mut signatures: Vec<String> = if builtin_signatures {
        DEFAULT_SCANNERS.iter().map(|s| s.to_string()).collect()
    } else {
        Vec::new()
    };
    for sig in custom_signatures.unwrap_or_default() {
        if !signatures.contains(&sig) {
            signatures.push(sig);
        }
    }
    c.scanners.signatures = signatures;
    Ok(c)
}

fn nets(v: &[Val]) -> Vec<ipnet::IpNet> {
    v.iter()
        .filter_map(|x| match x {
            Val::Net(n) => Some(*n),
            _ => None,
        })
        .collect()
}

/// Puts a line on an error from [`super::validate`], which knows the
/// section and option but not where they were written.
pub fn locate(mut e: ConfigError, sections: &[RawSection]) -> ConfigError {
    if e.line.is_some() {
        return e;
    }
    let Some(sref) = e.section.clone() else {
        return e;
    };
    let raw = sections
        .iter()
        .filter(|s| s.kind == sref.kind)
        .nth(sref.index);
    if let Some(raw) = raw {
        let option_line = e
            .option
            .as_deref()
            .and_then(|o| raw.option(o))
            .map(|o| o.line);
        e.line = Some(option_line.unwrap_or(raw.line));
        e.section = Some(Box::new(section_ref(raw, sref.index)));
    }
    e
}
