//! Small byte-slice helpers shared by the SIP reader: trimming, ASCII
//! case-insensitive comparison, number parsing and quote/bracket-aware
//! searching.
//!
//! They work on `&[u8]` (SIP is not guaranteed to be UTF-8) and never index
//! out of bounds, so the parsers built on them cannot panic on any input.

/// Linear whitespace inside a header value, including the CR/LF a folded
/// header keeps (the reader is zero-copy, so folds are not rewritten).
#[inline]
pub(crate) fn is_lws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// Trims linear whitespace (including folds) from both ends.
#[inline]
pub(crate) fn trim(mut s: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = s {
        if is_lws(*first) {
            s = rest;
        } else {
            break;
        }
    }
    while let [rest @ .., last] = s {
        if is_lws(*last) {
            s = rest;
        } else {
            break;
        }
    }
    s
}

/// ASCII case-insensitive equality.
#[inline]
pub(crate) fn eq_ic(a: &[u8], b: &[u8]) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// Position of the first `needle` byte.
#[inline]
pub(crate) fn find(s: &[u8], needle: u8) -> Option<usize> {
    s.iter().position(|&b| b == needle)
}

/// Parses a decimal number made only of ASCII digits (after trimming);
/// values above `u32::MAX` saturate, as RFC 3261 asks for Expires.
pub(crate) fn parse_u32_saturating(s: &[u8]) -> Option<u32> {
    let s = trim(s);
    if s.is_empty() {
        return None;
    }
    let mut n: u32 = 0;
    for &b in s {
        if !b.is_ascii_digit() {
            return None;
        }
        n = n.saturating_mul(10).saturating_add(u32::from(b - b'0'));
    }
    Some(n)
}

/// Parses a decimal number that must fit in `u32`.
pub(crate) fn parse_u32(s: &[u8]) -> Option<u32> {
    let s = trim(s);
    if s.is_empty() || s.len() > 10 {
        return None;
    }
    let mut n: u64 = 0;
    for &b in s {
        if !b.is_ascii_digit() {
            return None;
        }
        n = n * 10 + u64::from(b - b'0');
    }
    u32::try_from(n).ok()
}

/// Parses a port number (1 to 5 digits, at most 65535).
pub(crate) fn parse_u16(s: &[u8]) -> Option<u16> {
    if s.len() > 5 {
        return None;
    }
    parse_u32(s).and_then(|n| u16::try_from(n).ok())
}

/// RFC 3261 token characters (method names, header names, parameter names).
#[inline]
pub(crate) fn is_token(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'-' | b'.' | b'!' | b'%' | b'*' | b'_' | b'+' | b'`' | b'\'' | b'~'
        )
}

/// Finds the first `needle` that is outside a quoted string and outside
/// `<...>`. Used to split comma lists and parameters without being fooled by
/// `"Doe, John" <sip:a@b;x=y>`. A backslash escapes the next byte inside
/// quotes. An unterminated quote or bracket swallows the rest.
pub(crate) fn find_unquoted(s: &[u8], needle: u8) -> Option<usize> {
    let mut in_quote = false;
    let mut in_angle = false;
    let mut escaped = false;
    for (i, &b) in s.iter().enumerate() {
        if in_quote {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_quote = false;
            }
            continue;
        }
        if in_angle {
            if b == b'>' {
                in_angle = false;
            }
            continue;
        }
        match b {
            b'"' => in_quote = true,
            b'<' => in_angle = true,
            _ if b == needle => return Some(i),
            _ => {}
        }
    }
    None
}

/// Removes one pair of surrounding double quotes, if present.
pub(crate) fn unquote(s: &[u8]) -> &[u8] {
    match s {
        [b'"', inner @ .., b'"'] => inner,
        _ => s,
    }
}

/// Iterates over `;name=value` parameters (as `(name, value)`, value empty
/// when absent), honouring quotes. `s` starts after the first `;`.
pub(crate) struct Params<'a> {
    rest: &'a [u8],
    sep: u8,
}

impl<'a> Params<'a> {
    pub(crate) fn new(s: &'a [u8], sep: u8) -> Params<'a> {
        Params { rest: s, sep }
    }
}

impl<'a> Iterator for Params<'a> {
    type Item = (&'a [u8], &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.rest.is_empty() {
                return None;
            }
            let (item, rest) = match find_unquoted(self.rest, self.sep) {
                Some(i) => (&self.rest[..i], &self.rest[i + 1..]),
                None => (self.rest, &self.rest[..0]),
            };
            self.rest = rest;
            let item = trim(item);
            if item.is_empty() {
                continue;
            }
            return Some(match find(item, b'=') {
                Some(i) => (trim(&item[..i]), trim(&item[i + 1..])),
                None => (item, &item[..0]),
            });
        }
    }
}

/// Value of the parameter `name` (case-insensitive) in a `;`-list.
pub(crate) fn param<'a>(s: &'a [u8], name: &[u8]) -> Option<&'a [u8]> {
    Params::new(s, b';')
        .find(|(n, _)| eq_ic(n, name))
        .map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_folds_and_spaces() {
        assert_eq!(trim(b" \t a b\r\n "), b"a b");
        assert_eq!(trim(b"\r\n"), b"");
        assert_eq!(trim(b""), b"");
    }

    #[test]
    fn numbers() {
        assert_eq!(parse_u32(b" 3600 "), Some(3600));
        assert_eq!(parse_u32(b"4294967295"), Some(u32::MAX));
        assert_eq!(parse_u32(b"4294967296"), None);
        assert_eq!(parse_u32(b"99999999999"), None);
        assert_eq!(parse_u32(b"-1"), None);
        assert_eq!(parse_u32(b""), None);
        assert_eq!(parse_u32_saturating(b"99999999999999"), Some(u32::MAX));
        assert_eq!(parse_u16(b"5060"), Some(5060));
        assert_eq!(parse_u16(b"65536"), None);
        assert_eq!(parse_u16(b"005060"), None);
    }

    #[test]
    fn unquoted_search_skips_quotes_and_angles() {
        let s = br#""Doe, \"J\"" <sip:a@b;x=1,2>, <sip:c@d>"#;
        let i = find_unquoted(s, b',').unwrap();
        assert_eq!(&s[i..], b", <sip:c@d>");
        assert_eq!(find_unquoted(b"\"unterminated, x", b','), None);
    }

    #[test]
    fn params() {
        let v: Vec<_> = Params::new(b"tag=abc; lr ;q=\"a;b\"", b';').collect();
        assert_eq!(
            v,
            vec![(&b"tag"[..], &b"abc"[..]), (b"lr", b""), (b"q", b"\"a;b\"")]
        );
        assert_eq!(param(b"Tag=x", b"tag"), Some(&b"x"[..]));
    }
}
