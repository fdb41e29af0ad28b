//! Header lines: names (full and compact forms, case-insensitive), logical
//! lines with RFC 3261 folding, and comma-separated values.
//!
//! Everything is a view into the message bytes. A folded value keeps its
//! CR LF and leading whitespace (rewriting it would need a copy); the field
//! readers treat CR/LF as whitespace, so a fold reads like a space. Values
//! of headers whose grammar has bare commas (Authorization, User-Agent,
//! Date, ...) are never split.

use super::bytes::{eq_ic, find, find_unquoted, is_token, trim};

/// Compact forms (RFC 3261 §7.3.3, plus the registered extensions).
const COMPACT: [(u8, &str); 19] = [
    (b'a', "Accept-Contact"),
    (b'b', "Referred-By"),
    (b'c', "Content-Type"),
    (b'd', "Request-Disposition"),
    (b'e', "Content-Encoding"),
    (b'f', "From"),
    (b'i', "Call-ID"),
    (b'j', "Reject-Contact"),
    (b'k', "Supported"),
    (b'l', "Content-Length"),
    (b'm', "Contact"),
    (b'n', "Identity-Info"),
    (b'o', "Event"),
    (b'r', "Refer-To"),
    (b's', "Subject"),
    (b't', "To"),
    (b'u', "Allow-Events"),
    (b'v', "Via"),
    (b'x', "Session-Expires"),
];

/// Headers whose value may contain commas that do not separate values.
const NOT_LISTS: [&str; 15] = [
    "Authorization",
    "Proxy-Authorization",
    "WWW-Authenticate",
    "Proxy-Authenticate",
    "Authentication-Info",
    "User-Agent",
    "Server",
    "Date",
    "Subject",
    "Organization",
    "From",
    "To",
    "Call-ID",
    "CSeq",
    "Retry-After",
];

/// The full name for a compact one; any other name unchanged.
pub(crate) fn canonical(name: &[u8]) -> &[u8] {
    if let [c] = name {
        let c = c.to_ascii_lowercase();
        for (k, full) in COMPACT {
            if k == c {
                return full.as_bytes();
            }
        }
    }
    name
}

/// True if `a` and `b` name the same header (full or compact, any case).
pub(crate) fn same_name(a: &[u8], b: &[u8]) -> bool {
    eq_ic(canonical(a), canonical(b))
}

/// True if values of this (canonical) header are comma-separated lists.
pub(crate) fn is_list(canonical_name: &[u8]) -> bool {
    !NOT_LISTS
        .iter()
        .any(|n| eq_ic(n.as_bytes(), canonical_name))
}

/// The headers the reader indexes while parsing, so that the accessors the
/// policy calls on every packet need no second scan.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Known {
    Via,
    From,
    To,
    CallId,
    CSeq,
    Contact,
    UserAgent,
    Expires,
    ContentLength,
    Authorization,
    ProxyAuthorization,
}

pub(crate) const KNOWN_COUNT: usize = 11;

impl Known {
    /// Recognises a header name (full or compact, any case). Dispatches on
    /// the length first so that unknown headers cost one or two compares.
    #[inline]
    pub(crate) fn of(name: &[u8]) -> Option<Known> {
        let is = |s: &str| eq_ic(name, s.as_bytes());
        match name.len() {
            1 => match name[0].to_ascii_lowercase() {
                b'v' => Some(Known::Via),
                b'f' => Some(Known::From),
                b't' => Some(Known::To),
                b'i' => Some(Known::CallId),
                b'm' => Some(Known::Contact),
                b'l' => Some(Known::ContentLength),
                _ => None,
            },
            2 if is("To") => Some(Known::To),
            3 if is("Via") => Some(Known::Via),
            4 if is("From") => Some(Known::From),
            4 if is("CSeq") => Some(Known::CSeq),
            7 if is("Call-ID") => Some(Known::CallId),
            7 if is("Contact") => Some(Known::Contact),
            7 if is("Expires") => Some(Known::Expires),
            10 if is("User-Agent") => Some(Known::UserAgent),
            13 if is("Authorization") => Some(Known::Authorization),
            14 if is("Content-Length") => Some(Known::ContentLength),
            19 if is("Proxy-Authorization") => Some(Known::ProxyAuthorization),
            _ => None,
        }
    }

    pub(crate) fn is_list(self) -> bool {
        matches!(self, Known::Via | Known::Contact)
    }
}

/// Logical header lines of a header block (no start line, no blank line):
/// `(name, value)` with folded continuation lines joined into the value.
/// Lines without a valid `name:` are skipped. Each byte is looked at a
/// bounded number of times, so the work is linear in the input.
#[derive(Clone)]
pub(crate) struct Lines<'a> {
    rest: &'a [u8],
}

impl<'a> Lines<'a> {
    pub(crate) fn new(block: &'a [u8]) -> Lines<'a> {
        Lines { rest: block }
    }
}

/// Splits off one physical line (without its CR LF) and the rest.
#[inline]
fn physical_line(s: &[u8]) -> (&[u8], &[u8]) {
    match find(s, b'\n') {
        Some(i) => {
            let line = &s[..i];
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            (line, &s[i + 1..])
        }
        None => (s, &s[s.len()..]),
    }
}

impl<'a> Iterator for Lines<'a> {
    type Item = (&'a [u8], &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        while !self.rest.is_empty() {
            let start = self.rest;
            let (first, mut rest) = physical_line(start);
            // Continuation lines start with SP or HT.
            while let [b' ' | b'\t', ..] = rest {
                rest = physical_line(rest).1;
            }
            self.rest = rest;
            if matches!(first.first(), Some(b' ' | b'\t')) {
                continue; // a fold with nothing to continue
            }
            let Some(colon) = find(first, b':') else {
                continue;
            };
            let name = trim(&first[..colon]);
            if name.is_empty() || !name.iter().all(|&b| is_token(b)) {
                continue;
            }
            let consumed = start.len() - rest.len();
            let value = trim(&start[colon + 1..consumed]);
            return Some((name, value));
        }
        None
    }
}

/// Splits a header value into its comma-separated elements (quotes and
/// `<...>` respected), skipping empty ones.
#[derive(Clone)]
pub(crate) struct Elements<'a> {
    rest: &'a [u8],
    list: bool,
}

impl<'a> Elements<'a> {
    pub(crate) fn new(value: &'a [u8], list: bool) -> Elements<'a> {
        Elements { rest: value, list }
    }
}

impl<'a> Iterator for Elements<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        while !self.rest.is_empty() {
            let split = if self.list {
                find_unquoted(self.rest, b',')
            } else {
                None
            };
            let (item, rest) = match split {
                Some(i) => (&self.rest[..i], &self.rest[i + 1..]),
                None => (self.rest, &self.rest[self.rest.len()..]),
            };
            self.rest = rest;
            let item = trim(item);
            if !item.is_empty() {
                return Some(item);
            }
        }
        None
    }
}

/// Every value of the header `name` (full or compact, any case) in a header
/// block, comma lists split. Returned by `Message::headers`.
#[derive(Clone)]
pub struct HeaderValues<'a, 'n> {
    lines: Lines<'a>,
    name: &'n [u8],
    list: bool,
    current: Elements<'a>,
}

impl<'a, 'n> HeaderValues<'a, 'n> {
    pub(crate) fn new(block: &'a [u8], name: &'n [u8]) -> HeaderValues<'a, 'n> {
        let name = canonical(name);
        HeaderValues {
            lines: Lines::new(block),
            name,
            list: is_list(name),
            current: Elements::new(&block[..0], false),
        }
    }
}

impl<'a> Iterator for HeaderValues<'a, '_> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        loop {
            if let Some(v) = self.current.next() {
                return Some(v);
            }
            let (name, value) = self.lines.next()?;
            if same_name(name, self.name) {
                self.current = Elements::new(value, self.list);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folded_lines_join() {
        let block = b"Subject: I know you're there,\r\n   pick up the phone\r\n\tand talk\r\nv: SIP/2.0/UDP h\r\n";
        let lines: Vec<_> = Lines::new(block).collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].0, b"Subject");
        assert_eq!(
            lines[0].1,
            &b"I know you're there,\r\n   pick up the phone\r\n\tand talk"[..]
        );
        assert_eq!(lines[1], (&b"v"[..], &b"SIP/2.0/UDP h"[..]));
    }

    #[test]
    fn junk_lines_are_skipped() {
        let block = b"  orphan fold\r\nno colon here\r\nbad name: x\r\n: empty\nTo :  <sip:a@b>\n";
        let lines: Vec<_> = Lines::new(block).collect();
        assert_eq!(lines, vec![(&b"To"[..], &b"<sip:a@b>"[..])]);
    }

    #[test]
    fn compact_and_case() {
        assert!(same_name(b"m", b"CONTACT"));
        assert!(same_name(b"Call-Id", b"i"));
        assert!(!same_name(b"t", b"From"));
        assert_eq!(Known::of(b"L"), Some(Known::ContentLength));
        assert_eq!(
            Known::of(b"proxy-authorization"),
            Some(Known::ProxyAuthorization)
        );
        assert_eq!(Known::of(b"Max-Forwards"), None);
    }

    #[test]
    fn values_split_on_commas_outside_quotes() {
        let block = b"Contact: \"A, B\" <sip:a@h;x=1,2>, <sip:b@h>\r\nm: sip:c@h\r\nAuthorization: Digest a=1, b=2\r\n";
        let v: Vec<_> = HeaderValues::new(block, b"contact").collect();
        assert_eq!(
            v,
            vec![&b"\"A, B\" <sip:a@h;x=1,2>"[..], b"<sip:b@h>", b"sip:c@h"]
        );
        let v: Vec<_> = HeaderValues::new(block, b"Authorization").collect();
        assert_eq!(v, vec![&b"Digest a=1, b=2"[..]]);
    }
}
