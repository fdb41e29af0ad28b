//! Reading a zone file (one CIDR per line) into aggregated prefixes.
//!
//! Zone files come from the network and are untrusted: a captive portal or a
//! CDN error page can arrive with status 200, a connection can drop in the
//! middle of a line. The reader therefore counts what it could not use and
//! refuses bodies that are clearly not zones (HTML, nothing usable, mostly
//! junk) instead of turning them into an empty or partial set — an empty
//! zone in allow mode would lock everyone out.

use std::fmt;
use std::io::BufRead;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use ipnet::{Ipv4Net, Ipv6Net};

/// Longest line we consider (an IPv6 CIDR is at most 43 characters; a
/// little room for trailing comments).
const MAX_LINE: usize = 256;

/// Above this share of rejected lines (1 in 20) the body is not a zone.
const MAX_REJECTED_PER_MILLE: u64 = 50;

/// The two address families a zone can hold; lets one parser serve both.
pub trait ZoneNet: Sized + Copy + Ord + fmt::Display {
    const FAMILY: &'static str;
    /// A prefix, or a bare address as a host prefix. A prefix with host
    /// bits set ("198.51.100.7/24") is refused: real zones never have them,
    /// and a cut line ("203.0.113.0/2") must not widen to a quarter of the
    /// Internet.
    fn parse_line(s: &str) -> Option<Self>;
    fn aggregate(nets: Vec<Self>) -> Vec<Self>;
}

impl ZoneNet for Ipv4Net {
    const FAMILY: &'static str = "IPv4";
    fn parse_line(s: &str) -> Option<Self> {
        if let Ok(n) = Ipv4Net::from_str(s) {
            return if n.trunc() == n { Some(n) } else { None };
        }
        Ipv4Addr::from_str(s).ok().map(Ipv4Net::from)
    }
    fn aggregate(nets: Vec<Self>) -> Vec<Self> {
        Ipv4Net::aggregate(&nets)
    }
}

impl ZoneNet for Ipv6Net {
    const FAMILY: &'static str = "IPv6";
    fn parse_line(s: &str) -> Option<Self> {
        if let Ok(n) = Ipv6Net::from_str(s) {
            return if n.trunc() == n { Some(n) } else { None };
        }
        Ipv6Addr::from_str(s).ok().map(Ipv6Net::from)
    }
    fn aggregate(nets: Vec<Self>) -> Vec<Self> {
        Ipv6Net::aggregate(&nets)
    }
}

/// A zone read from a body: aggregated, sorted prefixes plus what was
/// thrown away.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed<N> {
    pub nets: Vec<N>,
    /// Lines that held something but not a prefix of this family.
    pub rejected: u64,
    /// The first rejected line (number, shortened text), for the log.
    pub first_rejected: Option<(u64, String)>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ParseError {
    /// An HTML page (error page, captive portal) instead of a zone.
    Html { line: u64 },
    /// No usable prefix at all.
    Empty { rejected: u64 },
    /// The body ends in the middle of a line: a cut download.
    Truncated { line: u64 },
    /// Too much junk to trust the rest.
    MostlyJunk {
        rejected: u64,
        accepted: u64,
        first: (u64, String),
    },
    /// The body could not be read to its end (timeout, cut connection,
    /// size cap); the message is the transport's.
    Read(String),
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::Html { line } => write!(
                f,
                "the server sent an HTML page (line {line}), not a zone file; \
                 check the URL or try again later"
            ),
            ParseError::Truncated { line } => write!(
                f,
                "the body ends in the middle of line {line} (cut download; zone files end with a newline)"
            ),
            ParseError::Empty { rejected } => write!(
                f,
                "the body holds no prefix ({rejected} unusable lines); \
                 a zone file has one CIDR per line"
            ),
            ParseError::MostlyJunk { rejected, accepted, first } => write!(
                f,
                "{rejected} lines are not prefixes against {accepted} that are \
                 (first: line {} '{}'); refusing the body",
                first.0, first.1
            ),
            ParseError::Read(e) => write!(f, "reading the body failed: {e}"),
        }
    }
}

/// Reads a zone of family `N` and aggregates it.
pub fn parse_zone<N: ZoneNet>(mut body: impl BufRead) -> Result<Parsed<N>, ParseError> {
    let mut nets: Vec<N> = Vec::new();
    let mut rejected = 0u64;
    let mut first_rejected: Option<(u64, String)> = None;
    let mut line = Vec::with_capacity(64);
    let mut no = 0u64;
    loop {
        line.clear();
        // Bounded: read at most MAX_LINE + 1 bytes per step so a body
        // without newlines cannot grow this buffer.
        let n =
            read_line_bounded(&mut body, &mut line).map_err(|e| ParseError::Read(e.to_string()))?;
        if n.bytes == 0 {
            break;
        }
        no += 1;
        let text = String::from_utf8_lossy(&line);
        let content = strip_comment(&text).trim();
        if content.is_empty() {
            continue;
        }
        if content.starts_with('<') {
            return Err(ParseError::Html { line: no });
        }
        if !n.terminated {
            // Cut in the middle of a line: the rest of the zone is missing
            // too, so the whole body is unusable.
            return Err(ParseError::Truncated { line: no });
        }
        if n.too_long {
            note_rejected(&mut rejected, &mut first_rejected, no, content);
            continue;
        }
        match N::parse_line(content) {
            Some(net) => nets.push(net),
            None => note_rejected(&mut rejected, &mut first_rejected, no, content),
        }
    }
    let accepted = nets.len() as u64;
    if accepted == 0 {
        return Err(ParseError::Empty { rejected });
    }
    if rejected.saturating_mul(1000) > accepted.saturating_mul(MAX_REJECTED_PER_MILLE) {
        let first = first_rejected.unwrap_or((0, String::new()));
        return Err(ParseError::MostlyJunk {
            rejected,
            accepted,
            first,
        });
    }
    let nets = N::aggregate(nets);
    Ok(Parsed {
        nets,
        rejected,
        first_rejected,
    })
}

fn note_rejected(count: &mut u64, first: &mut Option<(u64, String)>, no: u64, text: &str) {
    *count += 1;
    if first.is_none() {
        *first = Some((no, text.chars().take(60).collect()));
    }
}

fn strip_comment(s: &str) -> &str {
    match s.find(['#', ';']) {
        Some(i) => &s[..i],
        None => s,
    }
}

struct LineRead {
    bytes: usize,
    terminated: bool,
    too_long: bool,
}

/// Reads one line into `out`, keeping at most `MAX_LINE` bytes of it and
/// skipping the rest of an overlong line.
fn read_line_bounded(r: &mut impl BufRead, out: &mut Vec<u8>) -> std::io::Result<LineRead> {
    let mut total = 0usize;
    let mut too_long = false;
    loop {
        let buf = match r.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if buf.is_empty() {
            return Ok(LineRead {
                bytes: total,
                terminated: false,
                too_long,
            });
        }
        let (chunk, found) = match buf.iter().position(|&b| b == b'\n') {
            Some(i) => (&buf[..i], Some(i)),
            None => (buf, None),
        };
        let room = MAX_LINE.saturating_sub(out.len());
        if chunk.len() > room {
            too_long = true;
        }
        out.extend_from_slice(&chunk[..chunk.len().min(room)]);
        let used = match found {
            Some(i) => i + 1,
            None => buf.len(),
        };
        total += used;
        r.consume(used);
        if found.is_some() {
            return Ok(LineRead {
                bytes: total,
                terminated: true,
                too_long,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(s: &str) -> Result<Parsed<Ipv4Net>, ParseError> {
        parse_zone::<Ipv4Net>(s.as_bytes())
    }

    #[test]
    fn reads_and_aggregates_ipdeny_style() {
        let p = v4("198.51.100.0/25\n198.51.100.128/25\n203.0.113.0/24\n").unwrap();
        let want: Vec<Ipv4Net> = vec![
            "198.51.100.0/24".parse().unwrap(),
            "203.0.113.0/24".parse().unwrap(),
        ];
        assert_eq!(p.nets, want);
        assert_eq!(p.rejected, 0);
    }

    #[test]
    fn ipverse_comment_header_and_crlf_are_fine() {
        let p = v4("# ipverse\r\n# generated\r\n198.51.100.0/24\r\n\r\n").unwrap();
        assert_eq!(p.nets.len(), 1);
        assert_eq!(p.rejected, 0);
    }

    #[test]
    fn html_with_200_is_an_error() {
        let e =
            v4("\n<!DOCTYPE html>\n<html><body>Service unavailable</body></html>\n").unwrap_err();
        assert_eq!(e, ParseError::Html { line: 2 });
        // Even after valid lines: a page spliced into a body is not a zone.
        assert!(matches!(
            v4("198.51.100.0/24\n<html>\n"),
            Err(ParseError::Html { .. })
        ));
    }

    #[test]
    fn empty_body_is_an_error_not_an_empty_zone() {
        assert_eq!(v4(""), Err(ParseError::Empty { rejected: 0 }));
        assert_eq!(
            v4("\n\n# nothing\n"),
            Err(ParseError::Empty { rejected: 0 })
        );
    }

    #[test]
    fn a_few_bad_lines_are_counted_many_refuse_the_body() {
        let mut body = String::new();
        for i in 0..100 {
            body.push_str(&format!("10.{i}.0.0/16\n"));
        }
        body.push_str("2001:db8::/32\nnot-a-prefix\n");
        let p = v4(&body).unwrap();
        assert_eq!(p.rejected, 2);
        assert_eq!(p.first_rejected, Some((101, "2001:db8::/32".to_string())));
        let junk = "10.0.0.0/8\nfoo\nbar\n";
        assert!(matches!(
            v4(junk),
            Err(ParseError::MostlyJunk {
                rejected: 2,
                accepted: 1,
                ..
            })
        ));
    }

    #[test]
    fn a_body_cut_mid_line_is_refused() {
        assert_eq!(
            v4("198.51.100.0/24\n203.0.113.0/2"),
            Err(ParseError::Truncated { line: 2 })
        );
    }

    #[test]
    fn overlong_lines_are_rejected_with_bounded_memory() {
        let mut body = "198.51.100.0/24\n".repeat(30);
        body.push_str(&"x".repeat(100_000));
        body.push('\n');
        let p = v4(&body).unwrap();
        assert_eq!(p.rejected, 1);
        assert_eq!(p.nets.len(), 1);
    }

    #[test]
    fn host_bits_are_rejected_bare_addresses_are_hosts() {
        let mut body = "203.0.113.9\n".to_string();
        body.push_str(
            &(0..30)
                .map(|i| format!("10.{i}.0.0/16\n"))
                .collect::<String>(),
        );
        body.push_str("198.51.100.7/24\n");
        let p = v4(&body).unwrap();
        assert_eq!(p.rejected, 1);
        assert!(p.nets.contains(&"203.0.113.9/32".parse().unwrap()));
        assert!(!p
            .nets
            .iter()
            .any(|n| n.contains(&"198.51.100.7".parse::<std::net::Ipv4Addr>().unwrap())));
    }

    #[test]
    fn ipv6_zone() {
        let p = parse_zone::<Ipv6Net>("2001:db8::/33\n2001:db8:8000::/33\n10.0.0.0/8\n".as_bytes());
        // one IPv4 line among two IPv6 lines is too much junk
        assert!(p.is_err());
        let body: String = (0..40).map(|i| format!("2001:db8:{i:x}::/48\n")).collect();
        let p = parse_zone::<Ipv6Net>(body.as_bytes()).unwrap();
        assert_eq!(p.nets.len(), 2); // 0-1f is one /43, 20-27 one /45
    }
}
