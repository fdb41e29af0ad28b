//! The schema: every section type and option sipwall understands, in one
//! static table.
//!
//! It is the single source of truth for three readers: the UCI and TOML
//! front ends look options up here (unknown names are errors, with a "did
//! you mean"), values are converted by the [`Kind`] given here, and
//! `sipwall check-config --schema` exports it as JSON for the LuCI app, whose
//! form fields (and their LuCI datatypes) are checked against it by a
//! contract test. Defaults are written here as a UCI file would spell them;
//! a test proves they equal the model's `Default`.

use crate::json::Value;

/// How a value is read and checked. Ranges are inclusive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Bool,
    UInt {
        min: u32,
        max: u32,
    },
    Port,
    /// Seconds, or a number with `s`/`m`/`h`/`d`; `forever` where allowed.
    Duration {
        min: u32,
        max: u32,
        forever: bool,
    },
    Choice(&'static [&'static str]),
    /// A DNS name (RFC 1123), not an IP literal.
    Host,
    /// An IP address or a CIDR network.
    Net,
    /// An IP address, a CIDR network or a host name (resolved by the daemon).
    Source,
    /// ISO 3166 alpha-2 country code.
    Country,
    /// Cron schedule, 5 fields.
    Cron,
    /// http(s) URL containing `{cc}`.
    Url,
    /// Absolute path.
    Path,
    /// A knock secret a phone can send.
    Secret,
    /// A scanner signature (case-insensitive substring).
    Signature,
}

impl Kind {
    /// The matching LuCI `o.datatype` (see LuCI's validation.js), so the
    /// browser refuses what the daemon would refuse.
    pub fn luci_datatype(self) -> String {
        match self {
            Kind::Bool => "bool".into(),
            Kind::UInt { min, max } => format!("range({min},{max})"),
            Kind::Port => "port".into(),
            Kind::Duration { .. } => "string".into(),
            Kind::Choice(_) => "string".into(),
            Kind::Host => "hostname".into(),
            Kind::Net => "or(ipaddr,cidr)".into(),
            Kind::Source => "or(ipaddr,cidr,hostname)".into(),
            Kind::Country => "and(string,rangelength(2,2))".into(),
            Kind::Cron => "string".into(),
            Kind::Url => "string".into(),
            Kind::Path => "string".into(),
            Kind::Secret => "and(string,rangelength(6,64))".into(),
            Kind::Signature => "and(string,rangelength(3,64))".into(),
        }
    }

    /// Our own name for the kind, for tools that want more than LuCI's.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Bool => "bool",
            Kind::UInt { .. } => "uinteger",
            Kind::Port => "port",
            Kind::Duration { .. } => "duration",
            Kind::Choice(_) => "choice",
            Kind::Host => "hostname",
            Kind::Net => "cidr",
            Kind::Source => "cidr_or_hostname",
            Kind::Country => "country",
            Kind::Cron => "cron",
            Kind::Url => "url",
            Kind::Path => "path",
            Kind::Secret => "secret",
            Kind::Signature => "signature",
        }
    }
}

#[derive(Debug)]
pub struct OptionSpec {
    pub name: &'static str,
    /// `list` (several values) rather than `option` (one value).
    pub list: bool,
    pub kind: Kind,
    /// As a UCI file spells it; empty when there is no default.
    pub default: &'static [&'static str],
    pub required: bool,
    pub help: &'static str,
}

#[derive(Debug)]
pub struct SectionSpec {
    pub kind: &'static str,
    /// At most one section of this type.
    pub unique: bool,
    /// The section must have a name (`config knock 'phones'`).
    pub name_required: bool,
    pub help: &'static str,
    pub options: &'static [OptionSpec],
}

impl SectionSpec {
    pub fn option(&self, name: &str) -> Option<&'static OptionSpec> {
        self.options.iter().find(|o| o.name == name)
    }
}

const fn opt(
    name: &'static str,
    kind: Kind,
    default: &'static [&'static str],
    help: &'static str,
) -> OptionSpec {
    OptionSpec {
        name,
        list: false,
        kind,
        default,
        required: false,
        help,
    }
}

const fn list(
    name: &'static str,
    kind: Kind,
    default: &'static [&'static str],
    help: &'static str,
) -> OptionSpec {
    OptionSpec {
        name,
        list: true,
        kind,
        default,
        required: false,
        help,
    }
}

const fn req(name: &'static str, kind: Kind, help: &'static str) -> OptionSpec {
    OptionSpec {
        name,
        list: false,
        kind,
        default: &[],
        required: true,
        help,
    }
}

const DAY: u32 = 86_400;
const BAN: Kind = Kind::Duration {
    min: 60,
    max: 365 * DAY,
    forever: true,
};

pub const LOOK_IN: &[&str] = &["display_name", "user_agent", "instance"];

pub static SECTIONS: &[SectionSpec] = &[
    SectionSpec {
        kind: "sipwall",
        unique: true,
        name_required: false,
        help: "Global settings: the master switch, which ports are SIP, how packets reach sipwall.",
        options: &[
            opt("enabled", Kind::Bool, &["0"], "Master switch. Needs at least one domain or knock."),
            opt("mode", Kind::Choice(&["router", "host"]), &["router"],
                "router: the PBX is port-forwarded behind this router; host: sipwall runs on the PBX host."),
            opt("backend", Kind::Choice(&["auto", "nft", "iptables"]), &["auto"],
                "Firewall backend: auto picks nftables (fw4) if present, else iptables + ipset."),
            list("udp_port", Kind::Port, &["5060"], "UDP ports carrying SIP."),
            list("tcp_port", Kind::Port, &["5060"], "TCP ports carrying SIP."),
            list("tls_port", Kind::Port, &["5061"], "TCP ports carrying SIP over TLS (gated on the TLS SNI)."),
            opt("queue", Kind::UInt { min: 0, max: 65534 }, &["5060"],
                "NFQUEUE number for requests; the next number carries the PBX's answers."),
            opt("queue_maxlen", Kind::UInt { min: 16, max: 1_048_576 }, &["4096"],
                "Kernel queue length in packets before overload."),
            opt("fail_open", Kind::Bool, &["0"],
                "When sipwall is down or overloaded: 0 drops new SIP requests, 1 lets them pass uninspected."),
            opt("monitor", Kind::Bool, &["0"], "Accept everything and only log what would have been dropped."),
            list("lan", Kind::Net, &["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7", "fe80::/10"],
                "Local networks: never gated, never banned."),
            opt("state_dir", Kind::Path, &["/etc/sipwall/state"], "Where bans and zones are kept across restarts."),
            opt("run_dir", Kind::Path, &["/var/run/sipwall"], "Where the control socket lives."),
            opt("log_level", Kind::UInt { min: 0, max: 2 }, &["1"], "0 quiet, 1 normal, 2 debug."),
        ],
    },
    SectionSpec {
        kind: "domain",
        unique: false,
        name_required: false,
        help: "A secret SIP domain: requests addressed to it pass; requests to the bare IP are dropped.",
        options: &[req("host", Kind::Host, "The domain your phones register to, e.g. sip.example.org.")],
    },
    SectionSpec {
        kind: "knock",
        unique: false,
        name_required: true,
        help: "A knock: a secret in a SIP request opens a door for the sender's address.",
        options: &[
            req("secret", Kind::Secret, "The secret (6..64 characters; no spaces, quotes, backquote, backslash or < >)."),
            list("look_in", Kind::Choice(LOOK_IN), LOOK_IN,
                "Where to look: display_name (From), user_agent, instance (Contact +sip.instance)."),
            opt("door_time", Kind::Duration { min: 60, max: DAY, forever: false }, &["4000"],
                "How long the door stays open; refreshed by every knocked request."),
        ],
    },
    SectionSpec {
        kind: "allow",
        unique: false,
        name_required: false,
        help: "A source that always passes and is never banned.",
        options: &[req("source", Kind::Source,
            "IP address, CIDR network, or host name (dynamic DNS; resolved again periodically).")],
    },
    SectionSpec {
        kind: "block",
        unique: false,
        name_required: false,
        help: "A source that never reaches SIP.",
        options: &[req("source", Kind::Net, "IP address or CIDR network.")],
    },
    SectionSpec {
        kind: "ban_tier",
        unique: false,
        name_required: false,
        help: "Failed authentications within a window ban the source. No tiers: the defaults (2 in 1h -> 1h; 12 in 24h -> forever).",
        options: &[
            req("failures", Kind::UInt { min: 1, max: 1000 }, "Failed authentications that trigger this tier."),
            req("window", Kind::Duration { min: 60, max: 30 * DAY, forever: false },
                "Time window the failures are counted in."),
            req("ban_time", BAN, "Ban length, or 'forever' (until an admin unbans)."),
        ],
    },
    SectionSpec {
        kind: "scanners",
        unique: true,
        name_required: false,
        help: "Scanner signatures in User-Agent or From display name: banned on sight.",
        options: &[
            opt("builtin", Kind::Bool, &["1"], "Use the built-in list (friendly-scanner, sipvicious, ...)."),
            list("signature", Kind::Signature, &[], "Extra signatures (case-insensitive substrings)."),
            opt("ban_time", BAN, &["24h"], "Ban length for scanners, or 'forever'."),
        ],
    },
    SectionSpec {
        kind: "ratelimit",
        unique: true,
        name_required: false,
        help: "Per-source token bucket; sources that keep being dropped get a short ban.",
        options: &[
            opt("rate", Kind::UInt { min: 1, max: 10_000 }, &["20"], "Requests per second per source."),
            opt("burst", Kind::UInt { min: 1, max: 100_000 }, &["40"], "Requests allowed in a burst."),
            opt("drops_before_ban", Kind::UInt { min: 0, max: 1_000_000 }, &["200"],
                "Drops within drop_window that ban a source (0: never)."),
            opt("drop_window", Kind::Duration { min: 1, max: 3600, forever: false }, &["60"],
                "Window for counting drops."),
            opt("flood_ban_time", Kind::Duration { min: 60, max: DAY, forever: false }, &["10m"],
                "Ban length for a flooding source."),
        ],
    },
    SectionSpec {
        kind: "geo",
        unique: true,
        name_required: false,
        help: "Country zones: block listed countries, or allow only them.",
        options: &[
            opt("enabled", Kind::Bool, &["0"], "Use country zones."),
            opt("mode", Kind::Choice(&["block", "allow"]), &["block"],
                "block: listed countries never reach SIP; allow: only listed countries do."),
            list("country", Kind::Country, &[], "ISO 3166 two-letter country codes, e.g. cn, ru."),
            opt("family", Kind::Choice(&["both", "ipv4"]), &["both"],
                "both: IPv4 and IPv6 zones; ipv4: IPv6 zones are never fetched and IPv6 is not filtered by country (no IPv6 towards the PBX)."),
            opt("schedule", Kind::Cron, &["@random 4 * * *"],
                "Cron schedule for refreshing zones (5 fields; @random as minute picks one at install)."),
            opt("ipv4_url", Kind::Url, &["https://www.ipdeny.com/ipblocks/data/aggregated/{cc}-aggregated.zone"],
                "IPv4 zone source; {cc} is replaced by the country code."),
            opt("ipv6_url", Kind::Url, &["https://www.ipdeny.com/ipv6/ipaddresses/aggregated/{cc}-aggregated.zone"],
                "IPv6 zone source."),
            opt("fallback_ipv4_url", Kind::Url,
                &["https://raw.githubusercontent.com/ipverse/rir-ip/master/country/{cc}/ipv4-aggregated.txt"],
                "IPv4 fallback source."),
            opt("fallback_ipv6_url", Kind::Url,
                &["https://raw.githubusercontent.com/ipverse/rir-ip/master/country/{cc}/ipv6-aggregated.txt"],
                "IPv6 fallback source."),
        ],
    },
    SectionSpec {
        kind: "limits",
        unique: true,
        name_required: false,
        help: "Table sizes: memory stays fixed whatever an attacker sends.",
        options: &[
            opt("doors", Kind::UInt { min: 16, max: 1_048_576 }, &["1024"], "Open doors."),
            opt("bans", Kind::UInt { min: 16, max: 1_048_576 }, &["4096"],
                "Banned sources remembered by the daemon (the kernel set holds at least 65536)."),
            opt("sources", Kind::UInt { min: 16, max: 1_048_576 }, &["4096"],
                "Tracked sources (failure windows, rate buckets)."),
            opt("pending_auth", Kind::UInt { min: 16, max: 262_144 }, &["1024"],
                "Requests with credentials awaiting the PBX's answer."),
        ],
    },
];

pub fn section(kind: &str) -> Option<&'static SectionSpec> {
    SECTIONS.iter().find(|s| s.kind == kind)
}

/// The spec of `kind.option`; panics only on a typo in our own code, which
/// the schema tests catch.
pub fn spec(kind: &str, option: &str) -> &'static OptionSpec {
    match section(kind).and_then(|s| s.option(option)) {
        Some(o) => o,
        None => unreachable_spec(kind, option),
    }
}

#[cold]
fn unreachable_spec(kind: &str, option: &str) -> &'static OptionSpec {
    // Never reached with our own constant names (tested); fall back to a
    // harmless spec rather than panicking in a daemon.
    debug_assert!(false, "no schema entry {kind}.{option}");
    &SECTIONS[0].options[0]
}

/// Edit distance counting a swap of two neighbours as one edit (optimal
/// string alignment), for "did you mean": `burts` is one slip from `burst`.
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let w = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * w];
    for i in 0..=a.len() {
        d[i * w] = i;
    }
    for (j, cell) in d.iter_mut().enumerate().take(w) {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[(i - 1) * w + j] + 1)
                .min(d[i * w + j - 1] + 1)
                .min(d[(i - 1) * w + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[(i - 2) * w + j - 2] + 1);
            }
            d[i * w + j] = v;
        }
    }
    d[a.len() * w + b.len()]
}

/// The closest candidate, if it is close enough to be a plausible typo.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let w = word.to_ascii_lowercase();
    let mut best: Option<(usize, &'a str)> = None;
    for c in candidates {
        let mut d = distance(&w, c);
        if d > 0 && (c.starts_with(&w) || w.starts_with(c)) && w.len() >= 3 {
            d = d.min(1);
        }
        // Same first word (`door_secs` for `door_time`): a plausible slip.
        let common = w.bytes().zip(c.bytes()).take_while(|(a, b)| a == b).count();
        if common >= 4 {
            d = d.min(2);
        }
        if best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    let limit = (w.chars().count() / 3).clamp(1, 3);
    best.filter(|(d, _)| *d <= limit).map(|(_, c)| c)
}

/// " (did you mean 'x'?)" or "".
pub fn did_you_mean<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    match closest(word, candidates) {
        Some(c) => format!(" (did you mean '{c}'?)"),
        None => String::new(),
    }
}

/// The schema as JSON (`sipwall check-config --schema`).
pub fn to_json() -> Value {
    let mut sections = Value::array();
    for s in SECTIONS {
        let mut options = Value::array();
        for o in s.options {
            let mut v = Value::object()
                .with("name", o.name)
                .with("list", o.list)
                .with("type", o.kind.name())
                .with("datatype", o.kind.luci_datatype())
                .with("required", o.required);
            if o.list {
                v.set("default", o.default.to_vec());
            } else {
                v.set("default", o.default.first().copied());
            }
            match o.kind {
                Kind::UInt { min, max } => {
                    v.set("min", min);
                    v.set("max", max);
                }
                Kind::Duration { min, max, forever } => {
                    v.set("min", min);
                    v.set("max", max);
                    v.set("forever", forever);
                }
                Kind::Choice(values) => v.set("values", values.to_vec()),
                _ => {}
            }
            v.set("help", o.help);
            options.push(v);
        }
        sections.push(
            Value::object()
                .with("type", s.kind)
                .with("unique", s.unique)
                .with("name_required", s.name_required)
                .with("help", s.help)
                .with("options", options),
        );
    }
    Value::object()
        .with("schema_version", 1u32)
        .with("config", "sipwall")
        .with("sections", sections)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_uci_names_and_unique() {
        let valid =
            |n: &str| !n.is_empty() && n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        let mut kinds = Vec::new();
        for s in SECTIONS {
            assert!(valid(s.kind), "{}", s.kind);
            assert!(!kinds.contains(&s.kind));
            kinds.push(s.kind);
            let mut names = Vec::new();
            for o in s.options {
                assert!(valid(o.name) && o.name != "name", "{}.{}", s.kind, o.name);
                assert!(!names.contains(&o.name), "{}.{} twice", s.kind, o.name);
                names.push(o.name);
                assert!(o.list || o.default.len() <= 1);
                assert!(!o.required || o.default.is_empty());
                assert!(!o.help.is_empty());
            }
        }
    }

    #[test]
    fn did_you_mean_suggests_close_names_only() {
        let opts = ["door_time", "secret", "look_in"];
        assert_eq!(closest("door_tme", opts), Some("door_time"));
        assert_eq!(closest("door", opts), Some("door_time"));
        assert_eq!(closest("secrets", opts), Some("secret"));
        assert_eq!(closest("zzzzzz", opts), None);
        assert_eq!(
            did_you_mean("ratelimt", SECTIONS.iter().map(|s| s.kind)),
            " (did you mean 'ratelimit'?)"
        );
    }

    #[test]
    fn schema_json_names_every_option_with_a_luci_datatype() {
        let j = to_json();
        let text = j.to_string();
        let back = crate::json::parse(&text).unwrap();
        let sections = back.get("sections").unwrap().as_array().unwrap();
        assert_eq!(sections.len(), SECTIONS.len());
        let knock = sections
            .iter()
            .find(|s| s.get("type").unwrap().as_str() == Some("knock"))
            .unwrap();
        let door = knock
            .get("options")
            .unwrap()
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o.get("name").unwrap().as_str() == Some("door_time"))
            .unwrap();
        assert_eq!(door.get("default").unwrap().as_str(), Some("4000"));
        assert_eq!(door.get("min").unwrap().as_i64(), Some(60));
        let port = spec("sipwall", "udp_port");
        assert_eq!(port.kind.luci_datatype(), "port");
    }
}
