//! Reading one textual value by its schema [`Kind`].
//!
//! Both front ends hand values over as text (TOML numbers and booleans are
//! spelled the way UCI would), so a value means the same thing whichever
//! file it came from. Each reader returns the message half of an error
//! ("expected ..., got '...'"); the caller adds file, line and option.

use std::net::IpAddr;
use std::path::PathBuf;

use ipnet::IpNet;

use super::model::AllowEntry;
use super::schema::Kind;

/// A converted value.
#[derive(Clone, Debug, PartialEq)]
pub enum Val {
    Bool(bool),
    /// Whole numbers and ports.
    Num(u32),
    /// `None` is `forever`.
    Secs(Option<u32>),
    Text(String),
    Net(IpNet),
    Source(AllowEntry),
    Path(PathBuf),
}

pub fn read(kind: Kind, raw: &str) -> Result<Val, String> {
    let s = raw.trim();
    match kind {
        Kind::Bool => read_bool(s).map(Val::Bool),
        Kind::UInt { min, max } => read_uint(s, min, max).map(Val::Num),
        Kind::Port => read_port(s).map(|p| Val::Num(u32::from(p))),
        Kind::Duration { min, max, forever } => read_duration(s, min, max, forever).map(Val::Secs),
        Kind::Choice(values) => {
            let lower = s.to_ascii_lowercase();
            match values.iter().find(|v| **v == lower) {
                Some(v) => Ok(Val::Text((*v).to_string())),
                None => Err(format!(
                    "expected one of {}, got '{raw}'{}",
                    values.iter().map(|v| format!("'{v}'")).collect::<Vec<_>>().join(", "),
                    super::schema::did_you_mean(s, values.iter().copied())
                )),
            }
        }
        Kind::Host => read_host(s).map(Val::Text),
        Kind::Net => read_net(s).map(Val::Net),
        Kind::Source => match read_net(s) {
            Ok(n) => Ok(Val::Source(AllowEntry::Net(n))),
            Err(e) if looks_like_ip(s) => Err(e),
            Err(_) => match read_host(s) {
                Ok(h) => Ok(Val::Source(AllowEntry::Host(h))),
                Err(_) => Err(format!(
                    "expected an IP address, a CIDR network (e.g. 203.0.113.0/24) or a host name (e.g. office.example.net), got '{raw}'"
                )),
            },
        },
        Kind::Country => read_country(s).map(Val::Text),
        Kind::Cron => read_cron(s).map(Val::Text),
        Kind::Url => read_url(s).map(Val::Text),
        Kind::Path => read_path(s).map(Val::Path),
        Kind::Secret => read_secret(raw).map(Val::Text),
        Kind::Signature => read_signature(s).map(Val::Text),
    }
}

/// UCI's boolean spellings (see `uci_get_bool` in OpenWrt's functions.sh).
pub fn read_bool(s: &str) -> Result<bool, String> {
    match s.to_ascii_lowercase().as_str() {
        "1" | "yes" | "on" | "true" | "enabled" => Ok(true),
        "0" | "no" | "off" | "false" | "disabled" => Ok(false),
        _ => Err(format!(
            "expected 0 or 1 (or yes/no, on/off, true/false), got '{s}'"
        )),
    }
}

fn digits(s: &str) -> Option<u64> {
    if s.is_empty() || s.len() > 12 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

pub fn read_uint(s: &str, min: u32, max: u32) -> Result<u32, String> {
    match digits(s) {
        Some(n) if n >= u64::from(min) && n <= u64::from(max) => Ok(n as u32),
        _ => Err(format!(
            "expected a whole number ({min}..={max}), got '{s}'"
        )),
    }
}

pub fn read_port(s: &str) -> Result<u16, String> {
    match digits(s) {
        Some(n) if (1..=65535).contains(&n) => Ok(n as u16),
        _ => Err(format!("expected a port number (1..=65535), got '{s}'")),
    }
}

/// `3600`, `3600s`, `90m`, `1h`, `2d`; `forever` where allowed.
pub fn read_duration(s: &str, min: u32, max: u32, forever: bool) -> Result<Option<u32>, String> {
    let lower = s.to_ascii_lowercase();
    if forever && lower == "forever" {
        return Ok(None);
    }
    let (num, unit) = match lower.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => lower.split_at(i),
        None => (lower.as_str(), ""),
    };
    let mult: u64 = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => 0,
    };
    let secs = digits(num).map(|n| n.saturating_mul(mult));
    match secs {
        Some(n) if mult > 0 && n >= u64::from(min) && n <= u64::from(max) => Ok(Some(n as u32)),
        _ => Err(format!(
            "expected a duration in seconds or with a unit s/m/h/d (e.g. 90m, 1h){} between {} and {}, got '{s}'",
            if forever { " or 'forever'" } else { "" },
            fmt_duration(min),
            fmt_duration(max)
        )),
    }
}

/// The shortest exact spelling: `1h`, `90m`, `4000`.
pub fn fmt_duration(secs: u32) -> String {
    if secs == 0 {
        "0".into()
    } else if secs % 86_400 == 0 {
        format!("{}d", secs / 86_400)
    } else if secs % 3600 == 0 {
        format!("{}h", secs / 3600)
    } else if secs % 60 == 0 {
        format!("{}m", secs / 60)
    } else {
        secs.to_string()
    }
}

pub fn fmt_ban(secs: Option<u32>) -> String {
    secs.map_or_else(|| "forever".into(), fmt_duration)
}

fn looks_like_ip(s: &str) -> bool {
    let head = s.split('/').next().unwrap_or("");
    head.contains(':')
        || (!head.is_empty() && head.bytes().all(|b| b.is_ascii_digit() || b == b'.'))
}

/// An address (a /32 or /128) or a CIDR network; host bits are cleared,
/// so `192.168.1.1/24` means `192.168.1.0/24`.
pub fn read_net(s: &str) -> Result<IpNet, String> {
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Ok(IpNet::from(ip));
    }
    match s.parse::<IpNet>() {
        Ok(n) => Ok(n.trunc()),
        Err(_) => Err(format!(
            "expected an IP address or a network in CIDR notation (e.g. 203.0.113.0/24, 2001:db8::/32), got '{s}'"
        )),
    }
}

/// RFC 1123 host name, lower-cased, without a trailing dot.
pub fn read_host(s: &str) -> Result<String, String> {
    if looks_like_ip(s) && (s.parse::<IpAddr>().is_ok() || s.contains(':')) {
        return Err(format!(
            "expected a host name, got the IP address '{s}': scanners address the bare IP, a domain must be a name"
        ));
    }
    let name = s.strip_suffix('.').unwrap_or(s).to_ascii_lowercase();
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    let last_numeric = name
        .rsplit('.')
        .next()
        .is_some_and(|l| l.bytes().all(|b| b.is_ascii_digit()));
    if name.is_empty() || name.len() > 253 || !name.split('.').all(label_ok) || last_numeric {
        return Err(format!(
            "expected a host name (RFC 1123: letters, digits, '-' and dots, e.g. sip.example.org), got '{s}'"
        ));
    }
    Ok(name)
}

pub fn read_country(s: &str) -> Result<String, String> {
    if s.len() == 2 && s.bytes().all(|b| b.is_ascii_alphabetic()) {
        Ok(s.to_ascii_lowercase())
    } else {
        Err(format!(
            "expected a two-letter country code (ISO 3166, e.g. cn, ru, us), got '{s}'"
        ))
    }
}

/// Five cron fields as busybox crond reads them (numbers, `*`, ranges,
/// steps, lists, month and weekday names); `@random` is allowed as the
/// minute, meaning "pick one at install" so that routers do not all hit the
/// zone servers at the same minute.
pub fn read_cron(s: &str) -> Result<String, String> {
    let fields: Vec<&str> = s.split_whitespace().collect();
    let expected = |why: String| {
        format!("expected a cron schedule of 5 fields (minute hour day month weekday, e.g. '17 4 * * *'): {why}, got '{s}'")
    };
    if fields.len() != 5 {
        return Err(expected(format!("found {} fields", fields.len())));
    }
    const MONTHS: &[&str] = &[
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    const DAYS: &[&str] = &["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
    let specs: [(&str, u32, u32, &[&str]); 5] = [
        ("minute", 0, 59, &[]),
        ("hour", 0, 23, &[]),
        ("day of month", 1, 31, &[]),
        ("month", 1, 12, MONTHS),
        ("weekday", 0, 7, DAYS),
    ];
    for (i, (field, (what, lo, hi, names))) in fields.iter().zip(specs).enumerate() {
        if i == 0 && *field == "@random" {
            continue;
        }
        let value = |v: &str| -> Option<u32> {
            if let Some(n) = digits(v) {
                return (n >= u64::from(lo) && n <= u64::from(hi)).then_some(n as u32);
            }
            let lower = v.to_ascii_lowercase();
            let offset = if names == MONTHS { 1 } else { 0 };
            names
                .iter()
                .position(|n| *n == lower)
                .map(|p| p as u32 + offset)
        };
        let ok = field.split(',').all(|item| {
            let (range, step) = match item.split_once('/') {
                Some((r, st)) => (r, Some(st)),
                None => (item, None),
            };
            let step_ok = step
                .is_none_or(|st| digits(st).is_some_and(|n| n >= 1 && n <= u64::from(hi.max(1))));
            let range_ok = range == "*"
                || match range.split_once('-') {
                    Some((a, b)) => matches!((value(a), value(b)), (Some(a), Some(b)) if a <= b),
                    None => value(range).is_some(),
                };
            step_ok && range_ok
        });
        if !ok {
            return Err(expected(format!(
                "the {what} field '{field}' is not {lo}..{hi}, '*', a range, a step or a list"
            )));
        }
    }
    Ok(fields.join(" "))
}

pub fn read_url(s: &str) -> Result<String, String> {
    let scheme_ok = s.starts_with("https://") || s.starts_with("http://");
    if scheme_ok
        && s.contains("{cc}")
        && s.len() <= 512
        && !s.bytes().any(|b| b <= b' ' || b == 0x7f)
    {
        Ok(s.to_string())
    } else {
        Err(format!(
            "expected an http(s) URL containing {{cc}} (replaced by the country code), got '{s}'"
        ))
    }
}

pub fn read_path(s: &str) -> Result<PathBuf, String> {
    let ok = s.starts_with('/')
        && s.len() <= 256
        && !s.chars().any(char::is_control)
        && !s.split('/').any(|c| c == "..");
    if ok {
        Ok(PathBuf::from(s))
    } else {
        Err(format!(
            "expected an absolute path without '..' (e.g. /etc/sipwall/state), got '{s}'"
        ))
    }
}

/// Characters a phone cannot reliably put into a display name, a
/// User-Agent or a `+sip.instance`, or that SIP would quote or split on.
const SECRET_FORBIDDEN: &[char] = &['"', '\'', '\\', '<', '>', '`'];

pub fn read_secret(s: &str) -> Result<String, String> {
    let printable = s
        .chars()
        .all(|c| c.is_ascii_graphic() && !SECRET_FORBIDDEN.contains(&c));
    if !(6..=64).contains(&s.chars().count()) || !printable {
        let shown: String = s.chars().flat_map(char::escape_default).collect();
        return Err(format!(
            "expected a knock secret of 6..64 characters a phone can send (letters, digits, punctuation; no spaces, quotes, backquote, backslash, '<' or '>'), got '{shown}'"
        ));
    }
    if is_trivial(s) {
        return Err(format!(
            "the knock secret '{s}' is trivial to guess (repeated, sequential or common): expected at least 6 mixed characters"
        ));
    }
    Ok(s.to_string())
}

fn is_trivial(s: &str) -> bool {
    let lower = s.to_ascii_lowercase();
    let b = lower.as_bytes();
    let same = b.iter().all(|c| *c == b[0]);
    let up = b.windows(2).all(|w| w[1] == w[0].wrapping_add(1));
    let down = b.windows(2).all(|w| w[0] == w[1].wrapping_add(1));
    const COMMON: &[&str] = &[
        "password",
        "secret",
        "qwerty",
        "qwertz",
        "azerty",
        "letmein",
        "sipwall",
        "knockknock",
        "changeme",
    ];
    same || up
        || down
        || COMMON
            .iter()
            .any(|c| lower.starts_with(c) && lower.len() <= c.len() + 2)
}

pub fn read_signature(s: &str) -> Result<String, String> {
    if (3..=64).contains(&s.len()) && s.chars().all(|c| c.is_ascii_graphic() || c == ' ') {
        Ok(s.to_ascii_lowercase())
    } else {
        Err(format!(
            "expected a scanner signature of 3..64 printable ASCII characters (a substring of a User-Agent, e.g. sipvicious), got '{s}'"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bools_accept_uci_spellings() {
        for t in ["1", "yes", "on", "true", "TRUE", "enabled"] {
            assert_eq!(read_bool(t), Ok(true), "{t}");
        }
        for f in ["0", "no", "off", "false", "disabled"] {
            assert_eq!(read_bool(f), Ok(false), "{f}");
        }
        assert!(read_bool("2").unwrap_err().contains("expected 0 or 1"));
    }

    #[test]
    fn numbers_and_ports_are_bounded() {
        assert_eq!(read_uint("42", 0, 100), Ok(42));
        assert_eq!(
            read_uint("101", 0, 100).unwrap_err(),
            "expected a whole number (0..=100), got '101'"
        );
        assert!(read_uint("-1", 0, 100).is_err());
        assert!(read_uint("1e3", 0, 10000).is_err());
        assert!(read_uint("99999999999999999999", 0, 100).is_err());
        assert_eq!(read_port("5060"), Ok(5060));
        assert_eq!(
            read_port("0").unwrap_err(),
            "expected a port number (1..=65535), got '0'"
        );
        assert!(read_port("65536").is_err());
    }

    #[test]
    fn durations_take_units_and_forever_where_allowed() {
        assert_eq!(read_duration("4000", 60, 86400, false), Ok(Some(4000)));
        assert_eq!(read_duration("4000s", 60, 86400, false), Ok(Some(4000)));
        assert_eq!(read_duration("90m", 60, 86400, false), Ok(Some(5400)));
        assert_eq!(read_duration("1h", 60, 86400, false), Ok(Some(3600)));
        assert_eq!(read_duration("24H", 60, 86400, false), Ok(Some(86400)));
        assert_eq!(read_duration("1d", 60, 86400, false), Ok(Some(86400)));
        assert_eq!(read_duration("forever", 60, 86400, true), Ok(None));
        let e = read_duration("forever", 60, 86400, false).unwrap_err();
        assert_eq!(
            e,
            "expected a duration in seconds or with a unit s/m/h/d (e.g. 90m, 1h) between 1m and 1d, got 'forever'"
        );
        assert!(read_duration("25h", 60, 86400, false).is_err());
        assert!(read_duration("59", 60, 86400, false).is_err());
        assert!(read_duration("1w", 60, 86400, true)
            .unwrap_err()
            .contains("or 'forever'"));
        assert!(read_duration("h", 60, 86400, false).is_err());
        assert!(read_duration("1.5h", 60, 86400, false).is_err());
        assert_eq!(fmt_duration(4000), "4000");
        assert_eq!(fmt_duration(5400), "90m");
        assert_eq!(fmt_ban(None), "forever");
    }

    #[test]
    fn nets_accept_addresses_and_clear_host_bits() {
        assert_eq!(
            read_net("203.0.113.7").unwrap().to_string(),
            "203.0.113.7/32"
        );
        assert_eq!(
            read_net("192.168.1.1/24").unwrap().to_string(),
            "192.168.1.0/24"
        );
        assert_eq!(
            read_net("2001:db8::1/32").unwrap().to_string(),
            "2001:db8::/32"
        );
        assert!(read_net("203.0.113.0/33").is_err());
        assert!(read_net("300.1.1.1").is_err());
        assert!(read_net("example.org")
            .unwrap_err()
            .contains("CIDR notation"));
    }

    #[test]
    fn sources_are_nets_or_host_names() {
        assert_eq!(
            read(Kind::Source, "office.example.net"),
            Ok(Val::Source(AllowEntry::Host("office.example.net".into())))
        );
        assert!(matches!(
            read(Kind::Source, "198.51.100.0/24"),
            Ok(Val::Source(AllowEntry::Net(_)))
        ));
        assert!(read(Kind::Source, "198.51.100.0/40")
            .unwrap_err()
            .contains("CIDR"));
        assert!(read(Kind::Source, "bad host!").is_err());
    }

    #[test]
    fn hosts_follow_rfc1123_and_refuse_ip_literals() {
        assert_eq!(read_host("SIP.Example.org."), Ok("sip.example.org".into()));
        assert_eq!(read_host("pbx"), Ok("pbx".into()));
        assert!(read_host("203.0.113.7").unwrap_err().contains("IP address"));
        assert!(read_host("[2001:db8::1]").is_err());
        assert!(read_host("-bad.example").is_err());
        assert!(read_host("a..b").is_err());
        assert!(read_host("under_score.example").is_err());
        assert!(read_host(&format!("{}.example", "a".repeat(64))).is_err());
        assert!(read_host("").is_err());
    }

    #[test]
    fn countries_are_two_letters() {
        assert_eq!(read_country("CN"), Ok("cn".into()));
        assert!(read_country("chn").is_err());
        assert!(read_country("c1").is_err());
    }

    #[test]
    fn cron_needs_five_valid_fields() {
        assert_eq!(read_cron("17  4 * * *"), Ok("17 4 * * *".into()));
        assert!(read_cron("@random 4 * * *").is_ok());
        assert!(read_cron("*/15 1-5 1,15 jan-jun mon-fri").is_ok());
        assert!(read_cron("0 4 * *").unwrap_err().contains("found 4 fields"));
        assert!(read_cron("60 4 * * *")
            .unwrap_err()
            .contains("minute field '60'"));
        assert!(read_cron("0 24 * * *").unwrap_err().contains("hour"));
        assert!(read_cron("0 4 0 * *").is_err());
        assert!(read_cron("0 4 * 13 *").is_err());
        assert!(read_cron("0 4 * * 8").is_err());
        assert!(read_cron("*/0 4 * * *").is_err());
        assert!(read_cron("5-1 4 * * *").is_err());
        assert!(read_cron("@daily").is_err());
    }

    #[test]
    fn urls_need_scheme_and_placeholder() {
        assert!(read_url("https://example.net/{cc}.zone").is_ok());
        assert!(read_url("https://example.net/cn.zone")
            .unwrap_err()
            .contains("{cc}"));
        assert!(read_url("ftp://example.net/{cc}").is_err());
        assert!(read_url("https://exa mple.net/{cc}").is_err());
    }

    #[test]
    fn paths_are_absolute() {
        assert!(read_path("/etc/sipwall/state").is_ok());
        assert!(read_path("state").is_err());
        assert!(read_path("/etc/../tmp").is_err());
    }

    #[test]
    fn secrets_must_be_sendable_and_non_trivial() {
        assert_eq!(read_secret("Zebra-42"), Ok("Zebra-42".into()));
        for bad in [
            "abc12",
            "has space1",
            "quote\"d1",
            "quo'ted1",
            "back\\slash",
            "<angle>1",
            &"x".repeat(65),
        ] {
            assert!(
                read_secret(bad).unwrap_err().contains("a phone can send"),
                "{bad}"
            );
        }
        for trivial in [
            "aaaaaa", "123456", "abcdefg", "654321", "password", "Secret1", "sipwall",
        ] {
            assert!(
                read_secret(trivial).unwrap_err().contains("trivial"),
                "{trivial}"
            );
        }
        assert!(read_secret("tab\tbed").is_err());
    }

    #[test]
    fn signatures_are_lowercased_and_not_too_short() {
        assert_eq!(read_signature("SIPVicious"), Ok("sipvicious".into()));
        assert!(read_signature("ab").is_err());
        assert!(read_signature("tab\there").is_err());
    }

    #[test]
    fn choices_suggest_close_values() {
        let e = read(Kind::Choice(&["router", "host"]), "routr").unwrap_err();
        assert_eq!(
            e,
            "expected one of 'router', 'host', got 'routr' (did you mean 'router'?)"
        );
        assert_eq!(
            read(Kind::Choice(&["router", "host"]), "HOST"),
            Ok(Val::Text("host".into()))
        );
    }
}
