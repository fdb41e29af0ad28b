//! One SIP message (request or response) as a view over its bytes: the start
//! line, an index of the headers the policy reads on every packet, and
//! accessors for the fields that matter to a firewall.
//!
//! Parsing is a single linear pass over the header block that fills a
//! fixed-size index (first occurrence of each `Known` header); nothing is
//! allocated and the body is never read. Any other header is found by a
//! second linear scan when asked for. Leniency is deliberate: a missing or
//! broken field reads as `None` and the policy decides what that means; only
//! a start line that is not SIP makes the whole message an error.

use super::bytes::{
    eq_ic, eq_lower, find, is_lws, is_token, param, parse_u32, parse_u32_saturating, trim, unquote,
    Params,
};
use super::header::{logical_line_end, Elements, HeaderValues, Known, KNOWN_COUNT};
use super::method::Method;
use super::name_addr::{self, NameAddr};
use super::uri::Uri;

/// Why bytes are not a SIP message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SipError {
    /// Nothing but line breaks (or nothing at all).
    Empty,
    /// The first line is neither `METHOD uri SIP/2.0` nor `SIP/2.0 code reason`.
    BadStartLine,
}

impl std::fmt::Display for SipError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SipError::Empty => f.write_str("empty SIP message"),
            SipError::BadStartLine => f.write_str(
                "not SIP: the first line is neither a request line (METHOD uri SIP/2.0) \
                 nor a status line (SIP/2.0 code reason)",
            ),
        }
    }
}

impl std::error::Error for SipError {}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum StartLine<'a> {
    Request { method: &'a [u8], uri: &'a [u8] },
    Response { code: u16 },
}

/// Username presented in an Authorization or Proxy-Authorization header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Credentials<'a> {
    /// The `username` auth parameter without quotes; `None` if the header
    /// has none.
    pub username: Option<&'a [u8]>,
}

/// A parsed SIP message borrowing the packet's bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Message<'a> {
    start: StartLine<'a>,
    /// Header lines, from after the start line up to (not including) the
    /// blank line.
    headers: &'a [u8],
    /// Everything after the blank line (may be empty or truncated).
    body: &'a [u8],
    /// First value (whole line value, folds included) of each known header.
    known: [Option<&'a [u8]>; KNOWN_COUNT],
    /// Bit `Known as u16` set if that header occurs more than once (then
    /// `headers` has to scan the block).
    repeated: u16,
}

const VERSION: &[u8] = b"SIP/2.0";
/// `VERSION` for `eq_lower`, which compares a word at a time (exact for
/// the digits and punctuation, case-folding for the letters).
const VERSION_LOWER: &[u8] = b"sip/2.0";
/// Longest message read: the largest IP packet's payload is shorter.
const MAX_MESSAGE: usize = 65_535;

impl<'a> Message<'a> {
    /// Reads a SIP message from a UDP payload or the start of a TCP stream.
    /// CRLFs before the start line are skipped (RFC 3261 §7.5). A missing
    /// blank line (a truncated first TCP segment) is tolerated: whatever
    /// header lines are there are read.
    pub fn parse(bytes: &'a [u8]) -> Result<Message<'a>, SipError> {
        // No IP packet is longer; the cap also bounds the work on any input.
        let mut b = &bytes[..bytes.len().min(MAX_MESSAGE)];
        while let [b'\r' | b'\n', rest @ ..] = b {
            b = rest;
        }
        if b.is_empty() {
            return Err(SipError::Empty);
        }
        let (line, after_start) = match find(b, b'\n') {
            Some(i) => (&b[..i], &b[i + 1..]),
            None => (b, &b[b.len()..]),
        };
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let start = start_line(line).ok_or(SipError::BadStartLine)?;
        let Index {
            headers,
            body,
            known,
            repeated,
        } = index(after_start);
        Ok(Message {
            start,
            headers,
            body,
            known,
            repeated,
        })
    }

    /// True for a request, false for a response.
    pub fn is_request(&self) -> bool {
        matches!(self.start, StartLine::Request { .. })
    }

    /// The request method; `None` for a response.
    pub fn method(&self) -> Option<Method> {
        self.method_bytes().map(Method::from_bytes)
    }

    /// The request method as written; `None` for a response.
    pub fn method_bytes(&self) -> Option<&'a [u8]> {
        match self.start {
            StartLine::Request { method, .. } => Some(method),
            StartLine::Response { .. } => None,
        }
    }

    /// The Request-URI, parsed; `None` for a response or an unreadable URI.
    pub fn request_uri(&self) -> Option<Uri<'a>> {
        self.request_uri_bytes().and_then(Uri::parse)
    }

    /// The Request-URI as written; `None` for a response.
    pub fn request_uri_bytes(&self) -> Option<&'a [u8]> {
        match self.start {
            StartLine::Request { uri, .. } => Some(uri),
            StartLine::Response { .. } => None,
        }
    }

    /// The status code of a response; `None` for a request.
    pub fn status(&self) -> Option<u16> {
        match self.start {
            StartLine::Response { code } => Some(code),
            StartLine::Request { .. } => None,
        }
    }

    /// The first value of a header, by full or compact name in any case.
    /// For list headers (Via, Contact, Allow, ...) that is the first
    /// comma-separated element; other headers give their whole value.
    /// Empty values are skipped.
    pub fn header(&self, name: &str) -> Option<&'a [u8]> {
        if let Some(k) = Known::of(name.as_bytes()) {
            if let Some(v) = self.known_first(k) {
                return Some(v);
            }
            // Present, but the first line's value was empty: look further.
            self.known[k as usize]?;
        }
        self.headers(name).next()
    }

    /// Every value of a header (all lines, comma lists split), in order.
    pub fn headers<'n>(&self, name: &'n str) -> HeaderValues<'a, 'n> {
        match Known::of(name.as_bytes()) {
            Some(k) if self.repeated & (1 << k as u16) == 0 => {
                HeaderValues::single(self.known[k as usize], k)
            }
            _ => HeaderValues::new(self.headers, name.as_bytes()),
        }
    }

    /// The raw header block (for logging a dropped request).
    pub fn header_block(&self) -> &'a [u8] {
        self.headers
    }

    /// The message body (SDP etc.), as far as it is in this packet.
    pub fn body(&self) -> &'a [u8] {
        self.body
    }

    fn known_first(&self, k: Known) -> Option<&'a [u8]> {
        let value = self.known[k as usize]?;
        if k.is_list() {
            Elements::new(value, true).next()
        } else {
            // Already trimmed by the index pass: what `Elements` would give
            // for a value that is not a list, without a second trim.
            Some(value).filter(|v| !v.is_empty())
        }
    }

    /// The From header.
    pub fn from(&self) -> Option<NameAddr<'a>> {
        NameAddr::parse(self.known_first(Known::From)?)
    }

    /// The To header.
    pub fn to(&self) -> Option<NameAddr<'a>> {
        NameAddr::parse(self.known_first(Known::To)?)
    }

    /// The From header's display name, its URI left unparsed (the scanner
    /// and knock rules read only the name, on every packet). `None` when
    /// `from()` is `None`; `Some(None)` when From has no display name.
    pub fn from_display_name(&self) -> Option<Option<&'a [u8]>> {
        name_addr::split(self.known_first(Known::From)?).map(|p| p.display_name)
    }

    /// The To header's `tag`, its URI left unparsed. `None` when `to()` is
    /// `None`; `Some(None)` when To has no (or an empty) tag.
    pub fn to_tag(&self) -> Option<Option<&'a [u8]>> {
        name_addr::split(self.known_first(Known::To)?)
            .map(|p| param(p.params, b"tag").filter(|t| !t.is_empty()))
    }

    /// The User-Agent header, whole (`friendly-scanner`, `Yealink SIP-T46S ...`).
    pub fn user_agent(&self) -> Option<&'a [u8]> {
        self.known_first(Known::UserAgent)
    }

    /// The `+sip.instance` parameter of the first Contact that has one,
    /// without its quotes (e.g. `<urn:uuid:...>`).
    pub fn contact_instance(&self) -> Option<&'a [u8]> {
        self.known[Known::Contact as usize]?;
        self.headers("Contact").find_map(|v| {
            let parts = name_addr::split(v)?;
            param(parts.params, b"+sip.instance").map(unquote)
        })
    }

    /// The Call-ID.
    pub fn call_id(&self) -> Option<&'a [u8]> {
        self.known_first(Known::CallId)
    }

    /// CSeq number and method; `None` if either part is missing or invalid.
    pub fn cseq(&self) -> Option<(u32, Method)> {
        let v = self.known_first(Known::CSeq)?;
        // `v` is trimmed, so the number is the run of digits it starts
        // with, and whitespace must end that run: one pass, no re-trim.
        let split = v.iter().position(|b| !b.is_ascii_digit())?;
        if !is_lws(v[split]) {
            return None;
        }
        let number = parse_u32(&v[..split])?;
        let method = trim(&v[split..]);
        if method.is_empty() || !method.iter().all(|&b| is_token(b)) {
            return None;
        }
        Some((number, Method::from_bytes(method)))
    }

    /// The sent-by (`host[:port]`) of the topmost Via, as written.
    pub fn via_sent_by(&self) -> Option<&'a [u8]> {
        sent_by(self.known_first(Known::Via)?)
    }

    /// The Expires header in seconds (values too large saturate).
    pub fn expires(&self) -> Option<u32> {
        parse_u32_saturating(self.known_first(Known::Expires)?)
    }

    /// The Content-Length header.
    pub fn content_length(&self) -> Option<u32> {
        parse_u32(self.known_first(Known::ContentLength)?)
    }

    /// Credentials from Authorization, else Proxy-Authorization; `None` if
    /// the message carries neither.
    pub fn authorization(&self) -> Option<Credentials<'a>> {
        let v = self
            .known_first(Known::Authorization)
            .or_else(|| self.known_first(Known::ProxyAuthorization))?;
        // `Digest username="1001",realm=...`: the scheme, then auth-params.
        let params = match v.iter().position(|&b| is_lws(b)) {
            Some(i) => &v[i..],
            None => &v[v.len()..],
        };
        let username = Params::new(params, b',')
            .find(|(n, _)| eq_ic(n, b"username"))
            .map(|(_, v)| unquote(v));
        Some(Credentials { username })
    }
}

/// What the index pass finds: the header block (up to the blank line),
/// the body, the first value of each known header and which of them repeat.
#[derive(Debug, PartialEq, Eq)]
struct Index<'a> {
    headers: &'a [u8],
    body: &'a [u8],
    known: [Option<&'a [u8]>; KNOWN_COUNT],
    repeated: u16,
}

/// The same lines and values as `Lines` + `Known::of`, but a line's name
/// is only matched at its start and its colon only looked for when it is a
/// known name: this runs on every line of every packet, and most lines
/// (Allow, Supported, Max-Forwards, ...) are only skipped to their end.
fn index(after_start: &[u8]) -> Index<'_> {
    let mut known = [None; KNOWN_COUNT];
    let mut repeated = 0u16;
    let mut s = after_start;
    loop {
        match s {
            [] => {
                return Index {
                    headers: after_start,
                    body: s,
                    known,
                    repeated,
                }
            }
            [b'\n', body @ ..] | [b'\r', b'\n', body @ ..] => {
                return Index {
                    headers: &after_start[..after_start.len() - s.len()],
                    body,
                    known,
                    repeated,
                }
            }
            _ => {}
        }
        let line = Known::at_line_start(s);
        let end = logical_line_end(s, line.map_or(0, |(_, colon)| colon + 1));
        if let Some((k, colon)) = line {
            let slot = &mut known[k as usize];
            if slot.is_none() {
                *slot = Some(trim(s.get(colon + 1..end).unwrap_or_default()));
            } else {
                repeated |= 1 << k as u16;
            }
        }
        s = s.get(end + 1..).unwrap_or(&s[s.len()..]);
    }
}

fn start_line(line: &[u8]) -> Option<StartLine<'_>> {
    if line.len() > VERSION.len() && eq_lower(&line[..VERSION.len()], VERSION_LOWER) {
        // SIP/2.0 200 OK
        let rest = &line[VERSION.len()..];
        let rest = rest.strip_prefix(b" ")?;
        let (code, reason) = rest.split_at(rest.len().min(3));
        if code.len() != 3 || !code.iter().all(u8::is_ascii_digit) {
            return None;
        }
        if !(reason.is_empty() || reason[0] == b' ') {
            return None;
        }
        let code = parse_u32(code)? as u16;
        if !(100..=699).contains(&code) {
            return None;
        }
        return Some(StartLine::Response { code });
    }
    // METHOD SP Request-URI SP SIP/2.0
    let sp1 = find(line, b' ')?;
    let method = &line[..sp1];
    if method.is_empty() || !method.iter().all(|&b| is_token(b)) {
        return None;
    }
    let rest = &line[sp1 + 1..];
    let sp2 = find(rest, b' ')?;
    let uri = &rest[..sp2];
    if uri.is_empty() || find(uri, b':').is_none() {
        return None;
    }
    if !eq_lower(&rest[sp2 + 1..], VERSION_LOWER) {
        return None;
    }
    Some(StartLine::Request { method, uri })
}

/// `SIP/2.0/UDP host:port;branch=...` -> `host:port`. Whitespace is allowed
/// around the slashes and before the sent-by.
fn sent_by(via: &[u8]) -> Option<&[u8]> {
    let head = match find(via, b';') {
        Some(i) => &via[..i],
        None => via,
    };
    let slash = head.iter().rposition(|&b| b == b'/')?;
    let after = trim(&head[slash + 1..]);
    let transport_end = after.iter().position(|&b| !is_token(b))?;
    let rest = trim(&after[transport_end..]);
    let end = rest.iter().position(|&b| is_lws(b)).unwrap_or(rest.len());
    let sent_by = &rest[..end];
    if sent_by.is_empty() {
        None
    } else {
        Some(sent_by)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::header::Lines;
    use crate::sip::Host;

    #[test]
    fn lazy_from_and_to_agree_with_the_full_parse() {
        for from_to in [
            &b"From: \"sipvicious\"<sip:100@1.1.1.1>;tag=63\r\nTo: <sip:a@b>;tag=\r\n"[..],
            b"f: sip:100@127.0.0.1:5060;tag=abc\r\nt: Bob <sip:bob@x>;tag=9\r\n",
            b"From: \"unterminated <sip:a@b>\r\nTo: <sip:a@b\r\n",
            b"From: <garbage>\r\nTo: \"x\" sip:a@b\r\n",
            b"Via: SIP/2.0/UDP h\r\n",
        ] {
            let mut text = b"OPTIONS sip:h SIP/2.0\r\n".to_vec();
            text.extend_from_slice(from_to);
            text.extend_from_slice(b"\r\n");
            let m = Message::parse(&text).unwrap();
            assert_eq!(m.from_display_name(), m.from().map(|f| f.display_name));
            assert_eq!(m.to_tag(), m.to().map(|t| t.tag));
        }
    }

    /// The index pass as it was first written (every line split at its
    /// colon, then its name looked up): the fast pass must agree with it
    /// on any input, odd names, folds and line ends included.
    fn reference_index(after_start: &[u8]) -> Index<'_> {
        let mut known = [None; KNOWN_COUNT];
        let mut repeated = 0u16;
        let mut lines = Lines::new(after_start);
        for (name, value) in &mut lines {
            if let Some(k) = Known::of(name) {
                let slot = &mut known[k as usize];
                if slot.is_none() {
                    *slot = Some(value);
                } else {
                    repeated |= 1 << k as u16;
                }
            }
        }
        Index {
            headers: &after_start[..after_start.len() - lines.blank_line_and_body()],
            body: lines.rest(),
            known,
            repeated,
        }
    }

    #[test]
    fn index_agrees_with_the_line_by_line_reference() {
        const NAMES: &[&[u8]] = &[
            b"Via",
            b"VIA",
            b"v",
            b"V",
            b"Via ",
            b"Via\t",
            b"Vias",
            b"From",
            b"f",
            b"FROM ",
            b"To",
            b"t",
            b"T\t ",
            b"To-x",
            b"Call-ID",
            b"call-id",
            b"i",
            b"CSeq",
            b"cseq",
            b"Cseqx",
            b"Contact",
            b"m",
            b"Contacts",
            b"Content-Length",
            b"content-length",
            b"l",
            b"Content-Type",
            b"c",
            b"User-Agent",
            b"user-agent",
            b"Expires",
            b"e",
            b"Expire",
            b"Authorization",
            b"Proxy-Authorization",
            b"proxy-authorizatio",
            b"Allow",
            b"x",
            b"",
            b" ",
            b" Via",
            b"\tFrom",
            b"Via\r",
            b"Ca",
            b"Co",
            b"C",
            b"[ia",
            b"Vi\xc1",
            b"To\x01",
            b"u",
            b"a",
            b"p",
        ];
        const SEPS: &[&[u8]] = &[b":", b" :", b"\t: ", b"", b"::", b": ", b"\r\n :"];
        const VALUES: &[&[u8]] = &[
            b"sip:a@b",
            b"",
            b"  x  ",
            b"\"a:b\" <sip:c>",
            b"1 REGISTER",
            b"a\r\n b",
            b"a\n\tb",
            b":",
            b"\r",
        ];
        const ENDS: &[&[u8]] = &[b"\r\n", b"\n", b"\r\n ", b"\r\n\t", b"\r", b"", b"\r\n\r\n"];
        let mut rng = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = |n: usize| {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            (rng % n as u64) as usize
        };
        let mut block = Vec::new();
        for round in 0..20_000 {
            block.clear();
            for _ in 0..next(8) {
                block.extend_from_slice(NAMES[next(NAMES.len())]);
                block.extend_from_slice(SEPS[next(SEPS.len())]);
                block.extend_from_slice(VALUES[next(VALUES.len())]);
                block.extend_from_slice(ENDS[next(ENDS.len())]);
            }
            if round % 3 == 0 && !block.is_empty() {
                let at = next(block.len());
                block[at] = [b'\r', b'\n', b':', b' ', b'\t', b'A', 0x80, 0x0b][next(8)];
            }
            if round % 5 == 0 {
                block.extend_from_slice(b"\r\nv=0\r\nVia: body\r\n");
            }
            if round % 7 == 0 {
                // A VT right after a LF: the byte a borrow-based search
                // would wrongly take for a second LF.
                block.extend_from_slice(b"To: a\n\x0b\nFrom: b\n\n\x0b");
            }
            assert_eq!(
                index(&block),
                reference_index(&block),
                "{:?}",
                String::from_utf8_lossy(&block)
            );
        }
    }

    #[test]
    fn cseq_agrees_with_split_at_whitespace() {
        // The first reading: split at the first whitespace, then parse.
        fn reference(v: &[u8]) -> Option<(u32, Method)> {
            let split = v.iter().position(|&b| is_lws(b))?;
            let number = parse_u32(&v[..split])?;
            let method = trim(&v[split..]);
            if method.is_empty() || !method.iter().all(|&b| is_token(b)) {
                return None;
            }
            Some((number, Method::from_bytes(method)))
        }
        for v in [
            "1 REGISTER",
            "1\tINVITE",
            "01 ACK",
            "x1 INVITE",
            "1x INVITE",
            "1 IN VITE",
            "4294967295 BYE",
            "4294967296 BYE",
            "12345678901 BYE",
            "1",
            "1 ",
            "INVITE",
            "1 \r\n INVITE",
            "1:INVITE",
            "1  INVITE",
            "1 INV\"ITE",
        ] {
            let text = format!("OPTIONS sip:h SIP/2.0\r\nCSeq: {v}\r\n\r\n");
            let m = Message::parse(text.as_bytes()).unwrap();
            let value = trim(v.as_bytes());
            let expect = if value.is_empty() {
                None
            } else {
                reference(value)
            };
            assert_eq!(m.cseq(), expect, "{v:?}");
        }
    }

    const SVMAP: &[u8] = b"OPTIONS sip:100@198.51.100.1 SIP/2.0\r\n\
Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK-3139657180;rport\r\n\
Max-Forwards: 70\r\n\
To: \"sipvicious\"<sip:100@1.1.1.1>\r\n\
From: \"sipvicious\"<sip:100@1.1.1.1>;tag=6336333336343031313363340132323834393532343833\r\n\
User-Agent: friendly-scanner\r\n\
Call-ID: 1142086286290122614125138\r\n\
Contact: sip:100@127.0.0.1:5060\r\n\
CSeq: 1 OPTIONS\r\n\
Accept: application/sdp\r\n\
Content-Length: 0\r\n\r\n";

    #[test]
    fn sipvicious_options() {
        let m = Message::parse(SVMAP).unwrap();
        assert!(m.is_request());
        assert_eq!(m.method(), Some(Method::Options));
        let uri = m.request_uri().unwrap();
        assert_eq!(uri.host, Host::V4("198.51.100.1".parse().unwrap()));
        assert_eq!(m.user_agent(), Some(&b"friendly-scanner"[..]));
        assert_eq!(m.from().unwrap().display_name, Some(&b"sipvicious"[..]));
        assert_eq!(m.to().unwrap().tag, None);
        assert_eq!(m.cseq(), Some((1, Method::Options)));
        assert_eq!(m.via_sent_by(), Some(&b"127.0.0.1:5060"[..]));
        assert_eq!(m.content_length(), Some(0));
        assert_eq!(m.header("max-forwards"), Some(&b"70"[..]));
        assert_eq!(m.header("Accept"), Some(&b"application/sdp"[..]));
        assert_eq!(m.header("Expires"), None);
        assert_eq!(m.expires(), None);
        assert_eq!(m.authorization(), None);
        assert_eq!(m.contact_instance(), None);
        assert_eq!(m.status(), None);
        assert!(m.body().is_empty());
    }

    #[test]
    fn compact_forms_and_folding() {
        let msg = b"REGISTER sip:pbx.example.test SIP/2.0\r\n\
v: SIP/2.0/TCP [2001:db8::5]:5070;branch=z9hG4bK1\r\n\
f: Alice\r\n <sip:alice@pbx.example.test>;tag=a1\r\n\
t: <sip:alice@pbx.example.test>\r\n\
i: abc@h\r\n\
CSEQ:  7\r\n   REGISTER\r\n\
m: <sip:alice@[2001:db8::5]:5070>;+sip.instance=\"<urn:uuid:0001>\";expires=60\r\n\
l: 0\r\n\r\n";
        let m = Message::parse(msg).unwrap();
        assert_eq!(m.via_sent_by(), Some(&b"[2001:db8::5]:5070"[..]));
        let from = m.from().unwrap();
        assert_eq!(from.display_name, Some(&b"Alice"[..]));
        assert_eq!(from.tag, Some(&b"a1"[..]));
        assert_eq!(m.call_id(), Some(&b"abc@h"[..]));
        assert_eq!(m.cseq(), Some((7, Method::Register)));
        assert_eq!(m.contact_instance(), Some(&b"<urn:uuid:0001>"[..]));
        assert_eq!(m.header("Contact"), m.header("m"));
        assert_eq!(m.content_length(), Some(0));
    }

    #[test]
    fn responses() {
        let m = Message::parse(b"SIP/2.0 401 Unauthorized\r\nCSeq: 2 REGISTER\r\n\r\n").unwrap();
        assert!(!m.is_request());
        assert_eq!(m.status(), Some(401));
        assert_eq!(m.method(), None);
        assert_eq!(m.request_uri(), None);
        assert_eq!(m.cseq(), Some((2, Method::Register)));
        assert_eq!(Message::parse(b"SIP/2.0 200").unwrap().status(), Some(200));
        for bad in [
            &b"SIP/2.0 2000 OK"[..],
            b"SIP/2.0 099 x",
            b"SIP/2.0 20x OK",
            b"SIP/2.0  200",
        ] {
            assert_eq!(Message::parse(bad), Err(SipError::BadStartLine));
        }
    }

    #[test]
    fn not_sip() {
        assert_eq!(Message::parse(b""), Err(SipError::Empty));
        assert_eq!(Message::parse(b"\r\n\r\n"), Err(SipError::Empty));
        for bad in [
            &b"GET / HTTP/1.1\r\n"[..],
            b"INVITE sip:a@b SIP/3.0\r\n",
            b"INVITE  sip:a@b SIP/2.0",
            b"INVITE nocolon SIP/2.0",
            b"IN VITE sip:a@b SIP/2.0",
            b"\x16\x03\x01",
        ] {
            assert_eq!(Message::parse(bad), Err(SipError::BadStartLine));
        }
    }

    #[test]
    fn authorization_username() {
        let msg = b"REGISTER sip:h SIP/2.0\r\nProxy-Authorization: Digest realm=\"r, x\", USERNAME = \"1001\" ,nonce=\"n\"\r\n\r\n";
        let m = Message::parse(msg).unwrap();
        assert_eq!(m.authorization().unwrap().username, Some(&b"1001"[..]));
        let m = Message::parse(b"REGISTER sip:h SIP/2.0\r\nAuthorization: Digest\r\n\r\n").unwrap();
        assert_eq!(m.authorization(), Some(Credentials { username: None }));
    }

    #[test]
    fn leading_crlf_bare_lf_and_missing_blank_line() {
        let m = Message::parse(
            b"\r\n\r\nBYE sip:a@h SIP/2.0\nCall-ID: x\nExpires: 99999999999\n\nbody",
        )
        .unwrap();
        assert_eq!(m.method(), Some(Method::Bye));
        assert_eq!(m.call_id(), Some(&b"x"[..]));
        assert_eq!(m.expires(), Some(u32::MAX));
        assert_eq!(m.body(), b"body");
        let m = Message::parse(b"INVITE sip:a@h SIP/2.0\r\nCall-ID: y").unwrap();
        assert_eq!(m.call_id(), Some(&b"y"[..]));
    }

    #[test]
    fn multiple_vias_and_contacts() {
        let msg = b"INVITE sip:a@h SIP/2.0\r\nVia: SIP/2.0/UDP p1:5060;branch=1, SIP/2.0/UDP p2\r\nVia: SIP / 2.0 / TLS p3 ;branch=3\r\n\r\n";
        let m = Message::parse(msg).unwrap();
        assert_eq!(m.via_sent_by(), Some(&b"p1:5060"[..]));
        assert_eq!(m.headers("v").count(), 3);
        assert_eq!(sent_by(b"SIP / 2.0 / TLS p3 ;branch=3"), Some(&b"p3"[..]));
        assert_eq!(sent_by(b"garbage"), None);
    }
}
