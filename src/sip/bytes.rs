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

const LO: u64 = 0x0101_0101_0101_0101;
const HI: u64 = 0x8080_8080_8080_8080;

/// High bit set in every byte of `w` equal to the byte repeated in
/// `pattern` (exact for the lowest such byte: a borrow only propagates
/// upwards, past a byte that already matched).
#[inline(always)]
fn matches_of(w: u64, pattern: u64) -> u64 {
    let x = w ^ pattern;
    x.wrapping_sub(LO) & !x & HI
}

/// Position of the first byte equal to any of `needles` (one to three).
/// Reads eight bytes at a time (the classic "has zero byte" trick): line
/// ends and separators are searched on every header of every packet, and
/// this is several times faster than a byte loop.
#[inline(always)]
fn find_any<const N: usize>(s: &[u8], needles: [u8; N]) -> Option<usize> {
    let patterns = needles.map(|n| LO * u64::from(n));
    let mut chunks = s.chunks_exact(8);
    let mut base = 0;
    for c in &mut chunks {
        let w = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        let mut hit = 0;
        for p in patterns {
            hit |= matches_of(w, p);
        }
        if hit != 0 {
            return Some(base + (hit.trailing_zeros() / 8) as usize);
        }
        base += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|b| needles.contains(b))
        .map(|p| base + p)
}

/// Position of the first `needle` byte.
#[inline]
pub(crate) fn find(s: &[u8], needle: u8) -> Option<usize> {
    find_any(s, [needle])
}

/// Position of the first byte that is `a` or `b`.
#[inline]
pub(crate) fn find2(s: &[u8], a: u8, b: u8) -> Option<usize> {
    find_any(s, [a, b])
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
    TOKEN[usize::from(b)]
}

/// Lookup table for `is_token`: one load instead of a chain of compares.
static TOKEN: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        t[i] = b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'-' | b'.' | b'!' | b'%' | b'*' | b'_' | b'+' | b'`' | b'\'' | b'~'
            );
        i += 1;
    }
    t
};

/// Case-insensitive equality with a constant written in lower case (letters,
/// digits, '-'). Folds only bytes with bit 6 set (`x | (x & 0x40) >> 1`), so
/// no non-letter can be folded into a letter. Compares eight (or four)
/// bytes at a time with overlapping loads: header names are compared on
/// every line of every packet.
#[inline]
pub(crate) fn eq_lower(s: &[u8], lower: &[u8]) -> bool {
    let n = s.len();
    if n != lower.len() {
        return false;
    }
    if n >= 8 {
        let w = |b: &[u8], at: usize| {
            let c = &b[at..at + 8];
            u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]])
        };
        let fold = |x: u64| x | ((x & 0x4040_4040_4040_4040) >> 1);
        let mut at = 0;
        while at + 8 < n {
            if fold(w(s, at)) != w(lower, at) {
                return false;
            }
            at += 8;
        }
        fold(w(s, n - 8)) == w(lower, n - 8)
    } else if n >= 4 {
        let w = |b: &[u8], at: usize| u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]);
        let fold = |x: u32| x | ((x & 0x4040_4040) >> 1);
        fold(w(s, 0)) == w(lower, 0) && fold(w(s, n - 4)) == w(lower, n - 4)
    } else {
        s.iter()
            .zip(lower)
            .all(|(&x, &y)| (x | ((x & 0x40) >> 1)) == y)
    }
}

/// Finds the first `needle` that is outside a quoted string and outside
/// `<...>`. Used to split comma lists and parameters without being fooled by
/// `"Doe, John" <sip:a@b;x=y>`. A backslash escapes the next byte inside
/// quotes. An unterminated quote or bracket swallows the rest. Jumps from
/// one interesting byte to the next with `find_any`.
pub(crate) fn find_unquoted(s: &[u8], needle: u8) -> Option<usize> {
    let mut i = 0;
    loop {
        let j = i + find_any(s.get(i..)?, [needle, b'"', b'<'])?;
        match s[j] {
            b'"' => {
                i = j + 1;
                loop {
                    let k = i + find2(s.get(i..)?, b'"', b'\\')?;
                    if s[k] == b'"' {
                        i = k + 1;
                        break;
                    }
                    i = k + 2; // skip the escaped byte
                }
            }
            b'<' => i = j + 1 + find(s.get(j + 1..)?, b'>')? + 1,
            _ => return Some(j),
        }
    }
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
    fn find_agrees_with_a_byte_loop() {
        let hay: Vec<u8> = (0..200u32).map(|i| (i * 37 % 251) as u8).collect();
        for start in 0..20 {
            for needle in [0u8, 1, b'\n', 0x80, 0xff, 250] {
                let s = &hay[start..];
                assert_eq!(
                    find(s, needle),
                    s.iter().position(|&b| b == needle),
                    "{needle}"
                );
            }
        }
        // Every length and needle position, so that both the word loop and
        // the byte loop over the last few bytes get a hit.
        for len in 0..40 {
            for at in 0..=len {
                let mut s = vec![b'a'; len];
                if let Some(b) = s.get_mut(at) {
                    *b = b'\n';
                }
                if let Some(b) = s.get_mut(at + 3) {
                    *b = 0;
                }
                let expect = (at < len).then_some(at);
                assert_eq!(find(&s, b'\n'), expect, "{len} {at}");
                assert_eq!(find2(&s, b'x', b'\n'), expect, "{len} {at}");
                assert_eq!(find(&s, 0), s.iter().position(|&x| x == 0), "{len} {at}");
            }
        }
        assert_eq!(find(b"\x01\x01\x00\x01", 0), Some(2));
        assert_eq!(find(b"abcdefghij\n", b'\n'), Some(10));
        assert!(is_token(b'a') && is_token(b'~') && !is_token(b':') && !is_token(0x80));
        assert!(eq_lower(b"Call-ID", b"call-id") && eq_lower(b"VIA", b"via"));
        assert!(!eq_lower(b"Call\rID", b"call-id") && !eq_lower(b"vi", b"via"));
        let names = [
            "to",
            "via",
            "cseq",
            "call-id",
            "content-length",
            "proxy-authorization",
        ];
        for name in names {
            let upper = name.to_ascii_uppercase();
            assert!(eq_lower(upper.as_bytes(), name.as_bytes()));
            // A difference at any position is seen.
            for i in 0..name.len() {
                let mut v = upper.clone().into_bytes();
                v[i] ^= 0x01;
                assert!(!eq_lower(&v, name.as_bytes()), "{name} @{i}");
            }
        }
        for x in 0..=255u8 {
            for y in b"az-09".iter() {
                let folded = eq_lower(&[x], &[*y]);
                assert_eq!(folded, x.to_ascii_lowercase() == *y, "{x:#x} vs {y}");
            }
        }
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
        assert_eq!(find_unquoted(b"\"esc\\", b','), None);
        assert_eq!(find_unquoted(b"<a,b", b','), None);
        assert_eq!(find_unquoted(b"<a,b>,", b','), Some(5));
        assert_eq!(find_unquoted(b"\"a\\\"b,\",c", b','), Some(7));
        assert_eq!(find2(b"0123456789ab\"", b'"', b'\\'), Some(12));
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
