//! `name-addr` / `addr-spec` values as found in From, To and Contact:
//! `"Display Name" <sip:user@host>;tag=abc` or `sip:user@host;tag=abc`.
//!
//! Scanners put their signature in the display name (`"sipvicious"`) and
//! some knocks live there too, so the display name is returned raw (inside
//! the quotes, escapes untouched): matching a substring needs no unescaping.

use super::bytes::{find, find_unquoted, param, trim};
use super::uri::Uri;

/// A From/To/Contact value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NameAddr<'a> {
    /// The display name without quotes, or the unquoted token(s) before `<`.
    pub display_name: Option<&'a [u8]>,
    /// The URI, if it could be read.
    pub uri: Option<Uri<'a>>,
    /// The `tag` parameter (From/To), if any.
    pub tag: Option<&'a [u8]>,
}

/// The three parts of a name-addr value, unparsed.
pub(crate) struct Parts<'a> {
    pub display_name: Option<&'a [u8]>,
    pub uri: &'a [u8],
    /// Header parameters after the URI, starting after the first `;`
    /// (empty if none).
    pub params: &'a [u8],
}

pub(crate) fn split(value: &[u8]) -> Option<Parts<'_>> {
    let v = trim(value);
    if v.is_empty() {
        return None;
    }
    let (display_name, rest) = if let Some(after) = v.strip_prefix(b"\"") {
        let close = closing_quote(after)?;
        (Some(&after[..close]), trim(&after[close + 1..]))
    } else {
        // A token display name has no quotes, so the first '<' opens the URI.
        match find(v, b'<') {
            Some(lt) => {
                let name = trim(&v[..lt]);
                (if name.is_empty() { None } else { Some(name) }, &v[lt..])
            }
            None => (None, v),
        }
    };
    if let Some(inner) = rest.strip_prefix(b"<") {
        let gt = find(inner, b'>')?;
        let after = &inner[gt + 1..];
        let params = match find(after, b';') {
            Some(i) => &after[i + 1..],
            None => &after[after.len()..],
        };
        Some(Parts {
            display_name,
            uri: &inner[..gt],
            params,
        })
    } else if display_name.is_some() {
        // A quoted name must be followed by <uri>.
        None
    } else {
        // addr-spec: a URI with ';' in it must be in <>, so ';' starts the
        // header parameters here.
        match find_unquoted(rest, b';') {
            Some(i) => Some(Parts {
                display_name: None,
                uri: &rest[..i],
                params: &rest[i + 1..],
            }),
            None => Some(Parts {
                display_name: None,
                uri: rest,
                params: &rest[rest.len()..],
            }),
        }
    }
}

/// Index of the closing quote in `s` (which starts after the opening one).
fn closing_quote(s: &[u8]) -> Option<usize> {
    let mut escaped = false;
    for (i, &b) in s.iter().enumerate() {
        if escaped {
            escaped = false;
        } else if b == b'\\' {
            escaped = true;
        } else if b == b'"' {
            return Some(i);
        }
    }
    None
}

impl<'a> NameAddr<'a> {
    /// Parses one From/To/Contact value. `None` only if the value is empty or
    /// its quotes/brackets are unbalanced; a bad URI gives `uri: None`.
    pub fn parse(value: &'a [u8]) -> Option<NameAddr<'a>> {
        let parts = split(value)?;
        Some(NameAddr {
            display_name: parts.display_name,
            uri: Uri::parse(parts.uri),
            tag: param(parts.params, b"tag").filter(|t| !t.is_empty()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::Host;

    #[test]
    fn quoted_display_name_without_space() {
        let n = NameAddr::parse(b"\"sipvicious\"<sip:100@1.1.1.1>;tag=6336").unwrap();
        assert_eq!(n.display_name, Some(&b"sipvicious"[..]));
        assert_eq!(n.uri.unwrap().user, Some(&b"100"[..]));
        assert_eq!(n.tag, Some(&b"6336"[..]));
    }

    #[test]
    fn token_display_name_and_quoted_specials() {
        let n = NameAddr::parse(b"Bob Smith <sip:bob@example.test> ; tag = x1").unwrap();
        assert_eq!(n.display_name, Some(&b"Bob Smith"[..]));
        assert_eq!(n.tag, Some(&b"x1"[..]));
        let n = NameAddr::parse(br#""Doe, \"J\" <x>" <sip:j@example.test;lr>"#).unwrap();
        assert_eq!(n.display_name, Some(&br#"Doe, \"J\" <x>"#[..]));
        assert_eq!(n.uri.unwrap().host, Host::Name(b"example.test"));
        assert_eq!(n.tag, None);
    }

    #[test]
    fn addr_spec_params_belong_to_the_header() {
        let n = NameAddr::parse(b"sip:100@127.0.0.1:5060;tag=abc").unwrap();
        assert_eq!(n.display_name, None);
        assert_eq!(n.uri.unwrap().port, Some(5060));
        assert_eq!(n.tag, Some(&b"abc"[..]));
    }

    #[test]
    fn broken_values() {
        assert_eq!(NameAddr::parse(b""), None);
        assert_eq!(NameAddr::parse(b"\"unterminated <sip:a@b>"), None);
        assert_eq!(NameAddr::parse(b"<sip:a@b"), None);
        assert_eq!(NameAddr::parse(b"\"x\" sip:a@b"), None);
        let n = NameAddr::parse(b"<garbage>").unwrap();
        assert_eq!(n.uri, None);
    }
}
