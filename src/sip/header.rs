//! Header lines: names (full and compact forms, case-insensitive), logical
//! lines with RFC 3261 folding, and comma-separated values.
//!
//! Everything is a view into the message bytes. A folded value keeps its
//! CR LF and leading whitespace (rewriting it would need a copy); the field
//! readers treat CR/LF as whitespace, so a fold reads like a space. Values
//! of headers whose grammar has bare commas (Authorization, User-Agent,
//! Date, ...) are never split.

use super::bytes::{eq_ic, eq_lower, find, find2, find_unquoted, trim};

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
    /// length and first letter so that any header costs at most one
    /// full comparison.
    #[inline]
    pub(crate) fn of(name: &[u8]) -> Option<Known> {
        let first = name.first()?.to_ascii_lowercase();
        let (known, full) = match (name.len(), first) {
            (1, _) => {
                return match first {
                    b'v' => Some(Known::Via),
                    b'f' => Some(Known::From),
                    b't' => Some(Known::To),
                    b'i' => Some(Known::CallId),
                    b'm' => Some(Known::Contact),
                    b'l' => Some(Known::ContentLength),
                    _ => None,
                }
            }
            (2, b't') => (Known::To, "to"),
            (3, b'v') => (Known::Via, "via"),
            (4, b'f') => (Known::From, "from"),
            (4, b'c') => (Known::CSeq, "cseq"),
            (7, b'c') if name[1] | 0x20 == b'a' => (Known::CallId, "call-id"),
            (7, b'c') => (Known::Contact, "contact"),
            (7, b'e') => (Known::Expires, "expires"),
            (10, b'u') => (Known::UserAgent, "user-agent"),
            (13, b'a') => (Known::Authorization, "authorization"),
            (14, b'c') => (Known::ContentLength, "content-length"),
            (19, b'p') => (Known::ProxyAuthorization, "proxy-authorization"),
            _ => return None,
        };
        if eq_lower(name, full.as_bytes()) {
            Some(known)
        } else {
            None
        }
    }

    /// The known header a header line starts with, and its colon: the
    /// same answer as `Known::of` on the line's name (the bytes before its
    /// first colon, trailing SP/HT trimmed), but found by matching the few
    /// names a first letter allows at the line start. The index pass runs
    /// this on every line of every packet; it never searches for a colon
    /// in lines the policy does not read.
    #[inline]
    pub(crate) fn at_line_start(s: &[u8]) -> Option<(Known, usize)> {
        let first = s.first()?.to_ascii_lowercase();
        if let Some(colon) = colon_after(s, 1) {
            let k = match first {
                b'v' => Known::Via,
                b'f' => Known::From,
                b't' => Known::To,
                b'i' => Known::CallId,
                b'm' => Known::Contact,
                b'l' => Known::ContentLength,
                _ => return None,
            };
            return Some((k, colon));
        }
        let (k, colon) = match first {
            b'v' => (Known::Via, named(s, "via")),
            b'f' => (Known::From, named(s, "from")),
            b't' => (Known::To, named(s, "to")),
            b'c' => match s.get(1).map(|b| b | 0x20) {
                Some(b's') => (Known::CSeq, named(s, "cseq")),
                Some(b'a') => (Known::CallId, named(s, "call-id")),
                Some(b'o') => match named(s, "contact") {
                    Some(c) => (Known::Contact, Some(c)),
                    None => (Known::ContentLength, named(s, "content-length")),
                },
                _ => return None,
            },
            b'e' => (Known::Expires, named(s, "expires")),
            b'u' => (Known::UserAgent, named(s, "user-agent")),
            b'a' => (Known::Authorization, named(s, "authorization")),
            b'p' => (Known::ProxyAuthorization, named(s, "proxy-authorization")),
            _ => return None,
        };
        Some((k, colon?))
    }

    /// Must agree with `is_list` on the full name.
    pub(crate) fn is_list(self) -> bool {
        !matches!(
            self,
            Known::From
                | Known::To
                | Known::CallId
                | Known::CSeq
                | Known::UserAgent
                | Known::Authorization
                | Known::ProxyAuthorization
        )
    }
}

/// End of the logical line that starts `s`: the first LF at or after
/// `from` that is not followed by SP/HT (which would fold the next line
/// into this one), or `s.len()`. `from` must not pass that LF (a colon's
/// position + 1 is fine: names hold no LF).
#[inline]
pub(crate) fn logical_line_end(s: &[u8], from: usize) -> usize {
    let from = from.min(s.len());
    let mut end = from + find(&s[from..], b'\n').unwrap_or(s.len() - from);
    while let Some(b' ' | b'\t') = s.get(end + 1) {
        let next = end + 1;
        end = next + find(&s[next..], b'\n').unwrap_or(s.len() - next);
    }
    end
}

/// Where the colon is if `s[at..]` starts with optional SP/HT and a colon.
#[inline]
fn colon_after(s: &[u8], mut at: usize) -> Option<usize> {
    loop {
        match s.get(at)? {
            b':' => return Some(at),
            b' ' | b'\t' => at += 1,
            _ => return None,
        }
    }
}

/// The colon's position if `s` starts with the header name `lower` (any
/// case) followed by optional SP/HT and a colon.
#[inline]
fn named(s: &[u8], lower: &str) -> Option<usize> {
    let n = lower.len();
    if eq_lower(s.get(..n)?, lower.as_bytes()) {
        colon_after(s, n)
    } else {
        None
    }
}

/// Logical header lines: `(name, value)` with folded continuation lines
/// joined into the value. Lines without a valid `name:` are skipped. The
/// iteration stops at the blank line that ends the header block; `rest()`
/// is then the body. Each byte is looked at a bounded number of times, so
/// the work is linear in the input.
#[derive(Clone)]
pub(crate) struct Lines<'a> {
    rest: &'a [u8],
    /// Bytes from the start of the blank line to the end of the input, once
    /// the blank line was reached.
    tail: usize,
}

impl<'a> Lines<'a> {
    pub(crate) fn new(block: &'a [u8]) -> Lines<'a> {
        Lines {
            rest: block,
            tail: 0,
        }
    }

    #[cfg(test)]
    /// Length of the blank line plus the body (0 if no blank line was met):
    /// the header block is the input minus this many bytes at the end.
    pub(crate) fn blank_line_and_body(&self) -> usize {
        self.tail
    }

    #[cfg(test)]
    /// What is left: after the blank line once `next` returned `None`
    /// because of it, else empty.
    pub(crate) fn rest(&self) -> &'a [u8] {
        self.rest
    }
}

impl<'a> Iterator for Lines<'a> {
    type Item = (&'a [u8], &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let s = self.rest;
            match s {
                [] => return None,
                [b'\n', body @ ..] | [b'\r', b'\n', body @ ..] => {
                    self.tail = s.len();
                    self.rest = body;
                    return None;
                }
                _ => {}
            }
            // One pass: the colon, if it comes before the line end, then
            // the line end. Header names are not checked for token
            // characters: they are only ever compared with valid names.
            let colon = match find2(s, b':', b'\n') {
                Some(i) if s[i] == b':' => Some(i),
                _ => None,
            };
            let end = logical_line_end(s, colon.map_or(0, |c| c + 1));
            self.rest = s.get(end + 1..).unwrap_or(&[]);
            let Some(colon) = colon else { continue };
            let mut name = &s[..colon];
            while let [rest @ .., b' ' | b'\t'] = name {
                name = rest;
            }
            if !name.is_empty() {
                return Some((name, trim(&s[colon + 1..end])));
            }
        }
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
    /// Values of a header that occurs at most once (`value` is its whole
    /// line value, if present): no scan of the header block needed.
    pub(crate) fn single(value: Option<&'a [u8]>, known: Known) -> HeaderValues<'a, 'n> {
        let list = known.is_list();
        let value = value.unwrap_or(&[]);
        HeaderValues {
            lines: Lines::new(&[]),
            name: &[],
            list,
            current: Elements::new(value, list),
        }
    }

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
        // A name with a space is kept but can never equal a real name.
        assert_eq!(
            lines,
            vec![(&b"bad name"[..], &b"x"[..]), (b"To", b"<sip:a@b>")]
        );
        assert_eq!(Known::of(b"bad name"), None);
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
        for (k, name) in [
            (Known::Via, "via"),
            (Known::From, "from"),
            (Known::To, "to"),
            (Known::CallId, "call-id"),
            (Known::CSeq, "cseq"),
            (Known::Contact, "contact"),
            (Known::UserAgent, "user-agent"),
            (Known::Expires, "expires"),
            (Known::ContentLength, "content-length"),
            (Known::Authorization, "authorization"),
            (Known::ProxyAuthorization, "proxy-authorization"),
        ] {
            assert_eq!(Known::of(name.as_bytes()), Some(k));
            assert_eq!(k.is_list(), is_list(name.as_bytes()), "{name}");
        }
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
