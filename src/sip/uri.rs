//! SIP URIs (`sip:user@host:port;params`), reduced to the parts the policy
//! looks at: scheme, user, host (name, IPv4 or bracketed IPv6) and port.
//!
//! Parameters and `?headers` are skipped, not interpreted: the domain gate
//! only needs the host, and a scanner's `sip:100@198.51.100.1` must show up
//! as an IP literal. Host names are returned as written (not lower-cased,
//! since that would need a copy); compare them case-insensitively.

use std::net::{Ipv4Addr, Ipv6Addr};

use super::bytes::{find, parse_u16, trim};

/// The host part of a URI.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Host<'a> {
    /// A host name as written (e.g. `pbx.example.test`); may be empty for
    /// schemes without a host such as `tel:`.
    Name(&'a [u8]),
    /// An IPv4 literal.
    V4(Ipv4Addr),
    /// A bracketed IPv6 literal (`[2001:db8::1]`).
    V6(Ipv6Addr),
}

impl Host<'_> {
    /// True for an IPv4 or IPv6 literal (what scanners use instead of the
    /// PBX's domain).
    pub fn is_ip(&self) -> bool {
        !matches!(self, Host::Name(_))
    }

    /// True if this is the host name `name`, compared case-insensitively
    /// (a trailing dot on either side is ignored).
    pub fn is_name(&self, name: &[u8]) -> bool {
        match self {
            Host::Name(h) => strip_dot(h).eq_ignore_ascii_case(strip_dot(name)),
            _ => false,
        }
    }
}

fn strip_dot(s: &[u8]) -> &[u8] {
    match s {
        [rest @ .., b'.'] => rest,
        _ => s,
    }
}

/// A URI as found in a Request-URI, From, To or Contact.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Uri<'a> {
    /// `sip`, `sips`, `tel`, ... as written.
    pub scheme: &'a [u8],
    /// The user part (`1001` in `sip:1001@pbx`), without any password.
    pub user: Option<&'a [u8]>,
    pub host: Host<'a>,
    pub port: Option<u16>,
}

impl<'a> Uri<'a> {
    /// Parses a URI without surrounding `<>`. `None` if it is not a URI
    /// (no scheme, empty or malformed host, bad port).
    pub fn parse(s: &'a [u8]) -> Option<Uri<'a>> {
        let s = trim(s);
        let colon = find(s, b':')?;
        let scheme = &s[..colon];
        if !valid_scheme(scheme) {
            return None;
        }
        let rest = &s[colon + 1..];
        if scheme.eq_ignore_ascii_case(b"sip") || scheme.eq_ignore_ascii_case(b"sips") {
            parse_sip(scheme, rest)
        } else if scheme.eq_ignore_ascii_case(b"tel") {
            let number = until_any(rest, b";?");
            if number.is_empty() {
                return None;
            }
            Some(Uri {
                scheme,
                user: Some(number),
                host: Host::Name(&rest[..0]),
                port: None,
            })
        } else {
            Some(Uri {
                scheme,
                user: None,
                host: Host::Name(until_any(rest, b";?")),
                port: None,
            })
        }
    }
}

fn valid_scheme(s: &[u8]) -> bool {
    match s.first() {
        Some(b) if b.is_ascii_alphabetic() => s
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.')),
        _ => false,
    }
}

fn until_any<'a>(s: &'a [u8], stops: &[u8]) -> &'a [u8] {
    match s.iter().position(|b| stops.contains(b)) {
        Some(i) => &s[..i],
        None => s,
    }
}

fn until(s: &[u8], stop: u8) -> &[u8] {
    match find(s, stop) {
        Some(i) => &s[..i],
        None => s,
    }
}

fn parse_sip<'a>(scheme: &'a [u8], rest: &'a [u8]) -> Option<Uri<'a>> {
    // The user part may contain ';' (user-unreserved) but never an unescaped
    // '@' or '?', so the first '@' before any '?' ends it.
    let before_headers = until(rest, b'?');
    let (user, hostport) = match find(before_headers, b'@') {
        Some(at) => {
            let userinfo = &before_headers[..at];
            let user = match find(userinfo, b':') {
                Some(c) => &userinfo[..c],
                None => userinfo,
            };
            (
                if user.is_empty() { None } else { Some(user) },
                &before_headers[at + 1..],
            )
        }
        None => (None, before_headers),
    };
    let hostport = until(hostport, b';');
    let (host, port) = parse_hostport(hostport)?;
    Some(Uri {
        scheme,
        user,
        host,
        port,
    })
}

/// Parses `host[:port]` where host is a name, IPv4 or `[IPv6]`. Shared with
/// the Via sent-by.
pub(crate) fn parse_hostport(s: &[u8]) -> Option<(Host<'_>, Option<u16>)> {
    let s = trim(s);
    let (host, after) = if let Some(inner) = s.strip_prefix(b"[") {
        let close = find(inner, b']')?;
        let addr = std::str::from_utf8(&inner[..close])
            .ok()?
            .parse::<Ipv6Addr>()
            .ok()?;
        (Host::V6(addr), &inner[close + 1..])
    } else {
        let end = find(s, b':').unwrap_or(s.len());
        let name = &s[..end];
        if name.is_empty() || !name.iter().all(|&b| is_host_char(b)) {
            return None;
        }
        let host = match ipv4(name) {
            Some(a) => Host::V4(a),
            None => Host::Name(name),
        };
        (host, &s[end..])
    };
    let port = match after {
        [] => None,
        [b':', digits @ ..] => Some(parse_u16(digits)?),
        _ => return None,
    };
    Some((host, port))
}

fn is_host_char(b: u8) -> bool {
    HOST[usize::from(b)]
}

/// Host names are alphanumerics, '-' and '.'; '_' shows up in the wild.
static HOST: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        t[i] = b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_');
        i += 1;
    }
    t
};

/// Dotted-quad IPv4 (1 to 3 digits per octet, each at most 255).
fn ipv4(name: &[u8]) -> Option<Ipv4Addr> {
    let mut octets = [0u8; 4];
    let mut n = 0;
    for part in name.split(|&b| b == b'.') {
        if n == 4 || part.is_empty() || part.len() > 3 {
            return None;
        }
        let mut v: u16 = 0;
        for &d in part {
            if !d.is_ascii_digit() {
                return None;
            }
            v = v * 10 + u16::from(d - b'0');
        }
        octets[n] = u8::try_from(v).ok()?;
        n += 1;
    }
    if n == 4 {
        Some(Ipv4Addr::from(octets))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Option<Uri<'_>> {
        Uri::parse(s.as_bytes())
    }

    #[test]
    fn domain_with_user_and_port() {
        let u = p("sip:1001@pbx.example.test:5060;transport=udp").unwrap();
        assert_eq!(u.scheme, b"sip");
        assert_eq!(u.user, Some(&b"1001"[..]));
        assert_eq!(u.host, Host::Name(b"pbx.example.test"));
        assert_eq!(u.port, Some(5060));
        assert!(u.host.is_name(b"PBX.Example.Test."));
    }

    #[test]
    fn ip_literals() {
        let u = p("sip:100@198.51.100.1").unwrap();
        assert_eq!(u.host, Host::V4(Ipv4Addr::new(198, 51, 100, 1)));
        assert!(u.host.is_ip());
        let u = p("sips:[2001:db8::10]:5061").unwrap();
        assert_eq!(u.scheme, b"sips");
        assert_eq!(u.user, None);
        assert_eq!(u.host, Host::V6("2001:db8::10".parse().unwrap()));
        assert_eq!(u.port, Some(5061));
        let u = p("sip:alice:secret@[2001:db8::1];transport=tcp?subject=x").unwrap();
        assert_eq!(u.user, Some(&b"alice"[..]));
        assert_eq!(u.port, None);
        // Not a valid IPv4 address: stays a (bogus) name.
        for bogus in ["1.2.3.999", "1.2.3", "1.2.3.4.5", "1..2.3", "1.2.3.4."] {
            let uri = format!("sip:{bogus}");
            assert_eq!(p(&uri).unwrap().host, Host::Name(bogus.as_bytes()));
        }
        assert_eq!(ipv4(b"010.0.0.255"), Some(Ipv4Addr::new(10, 0, 0, 255)));
    }

    #[test]
    fn user_with_semicolon_and_tel() {
        let u = p("sip:+4930123;npdi@gw.example.test;user=phone").unwrap();
        assert_eq!(u.user, Some(&b"+4930123;npdi"[..]));
        assert_eq!(u.host, Host::Name(b"gw.example.test"));
        let u = p("tel:+4930123;phone-context=x").unwrap();
        assert_eq!(u.user, Some(&b"+4930123"[..]));
    }

    #[test]
    fn malformed() {
        for s in [
            "",
            "sip:",
            "sip:@",
            "1001@host",
            "sip:host:99999",
            "sip:host:",
            "sip:[::1",
            "sip:[zz]",
            "sip:host:50x",
            "sip:a b",
            ":x",
            "sip:[::1]x",
        ] {
            assert_eq!(p(s), None, "{s}");
        }
    }
}
