//! Byte-string matching for the rules: scanner signatures (case-insensitive
//! substrings), knock secrets (exact substrings) and domain names
//! (case-insensitive equality).
//!
//! Scanner lists have ~20 entries and are checked against two header values
//! on every request, so a naive "every pattern at every offset" search would
//! eat most of the per-packet budget. `SubstringSet` first looks up each
//! byte pair of the haystack, as it is, in a 65 536-bit filter holding
//! every upper/lower-case spelling of the patterns' first two bytes (8 KB):
//! no case folding per byte, one bit test. Only a hit compares patterns.
//! Typical headers ("Yealink SIP-T46S 66.86.0.15") cost one bit test per
//! byte.

/// Case-insensitive substring search for a fixed set of patterns.
#[derive(Clone, Debug)]
pub struct SubstringSet {
    /// Lower-cased patterns, non-empty.
    patterns: Vec<Box<[u8]>>,
    /// Bit `a << 8 | b` set when some pattern starts with the bytes `a b`
    /// in any case (1024 words; an array, so that a pair's word needs no
    /// bounds check in the per-byte loop).
    first_pairs: Box<[u64; 1024]>,
    /// Some pattern is a single byte (then the pair filter cannot be used).
    has_single: bool,
}

fn pair_bit(a: u8, b: u8) -> usize {
    (usize::from(a) << 8) | usize::from(b)
}

impl SubstringSet {
    pub fn new<S: AsRef<[u8]>>(patterns: &[S]) -> SubstringSet {
        let mut set = SubstringSet {
            patterns: Vec::new(),
            first_pairs: Box::new([0; 1024]),
            has_single: false,
        };
        for p in patterns {
            let p = p.as_ref();
            if p.is_empty() {
                continue;
            }
            let lower: Box<[u8]> = p.iter().map(|b| b.to_ascii_lowercase()).collect();
            if lower.len() == 1 {
                set.has_single = true;
            } else {
                for a in [lower[0], lower[0].to_ascii_uppercase()] {
                    for b in [lower[1], lower[1].to_ascii_uppercase()] {
                        let bit = pair_bit(a, b);
                        set.first_pairs[bit >> 6] |= 1 << (bit & 63);
                    }
                }
            }
            set.patterns.push(lower);
        }
        set
    }

    /// The first pattern found anywhere in `hay`, ignoring ASCII case.
    pub fn find_in(&self, hay: &[u8]) -> Option<&[u8]> {
        if self.patterns.is_empty() || hay.is_empty() {
            return None;
        }
        if self.has_single {
            return self.slow_find(hay);
        }
        for (i, pair) in hay.windows(2).enumerate() {
            let bit = pair_bit(pair[0], pair[1]);
            if self.first_pairs[bit >> 6] & (1 << (bit & 63)) == 0 {
                continue;
            }
            for p in &self.patterns {
                if starts_with_ignore_case(&hay[i..], p) {
                    return Some(p);
                }
            }
        }
        None
    }

    fn slow_find(&self, hay: &[u8]) -> Option<&[u8]> {
        (0..hay.len()).find_map(|i| {
            self.patterns
                .iter()
                .find(|p| starts_with_ignore_case(&hay[i..], p))
                .map(|p| &p[..])
        })
    }
}

/// `hay` starts with the lower-case `lower_pat`, ignoring ASCII case.
fn starts_with_ignore_case(hay: &[u8], lower_pat: &[u8]) -> bool {
    hay.len() >= lower_pat.len()
        && hay
            .iter()
            .zip(lower_pat)
            .all(|(h, p)| h.to_ascii_lowercase() == *p)
}

/// Exact (case-sensitive) substring: knock secrets are secrets, and the
/// classic iptables `string` knock they replace is case-sensitive too.
pub fn contains(hay: &[u8], needle: &[u8]) -> bool {
    if needle.is_empty() || hay.len() < needle.len() {
        return false;
    }
    let first = needle[0];
    let last_start = hay.len() - needle.len();
    let mut i = 0;
    while i <= last_start {
        match hay[i..=last_start].iter().position(|b| *b == first) {
            None => return false,
            Some(p) => {
                i += p;
                if &hay[i..i + needle.len()] == needle {
                    return true;
                }
                i += 1;
            }
        }
    }
    false
}

/// A host name compared to a configured (lower-case, no trailing dot)
/// domain: ASCII case-insensitive, a single trailing dot (FQDN form)
/// ignored.
pub fn host_is(host: &[u8], lower_domain: &[u8]) -> bool {
    let host = host.strip_suffix(b".").unwrap_or(host);
    host.eq_ignore_ascii_case(lower_domain)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scanner_set_finds_any_case_anywhere() {
        let set = SubstringSet::new(&["friendly-scanner", "sipvicious", "iWar"]);
        assert_eq!(
            set.find_in(b"friendly-scanner"),
            Some(&b"friendly-scanner"[..])
        );
        assert_eq!(set.find_in(b"X SIPVicious 0.3"), Some(&b"sipvicious"[..]));
        assert_eq!(set.find_in(b"iwar-1.0"), Some(&b"iwar"[..]));
        assert_eq!(set.find_in(b"x IWar"), Some(&b"iwar"[..]));
        assert_eq!(set.find_in(b"Yealink SIP-T46S 66.86.0.15"), None);
        assert_eq!(set.find_in(b"friendly-scanne"), None);
        assert_eq!(set.find_in(b""), None);
        assert_eq!(SubstringSet::new::<&str>(&[]).find_in(b"anything"), None);
    }

    #[test]
    fn single_byte_patterns_still_match() {
        let set = SubstringSet::new(&["Z"]);
        assert!(set.find_in(b"abz").is_some());
        assert!(set.find_in(b"abc").is_none());
    }

    #[test]
    fn knock_is_exact_substring() {
        assert!(contains(b"\"knock-7f3a\" Alice", b"knock-7f3a"));
        assert!(!contains(b"KNOCK-7F3A", b"knock-7f3a"));
        assert!(contains(b"aaab", b"aab"));
        assert!(!contains(b"ab", b"abc"));
        assert!(!contains(b"abc", b""));
    }

    #[test]
    fn domains_ignore_case_and_trailing_dot() {
        assert!(host_is(b"PBX.Example.Test", b"pbx.example.test"));
        assert!(host_is(b"pbx.example.test.", b"pbx.example.test"));
        assert!(!host_is(b"pbx.example.test.evil", b"pbx.example.test"));
        assert!(!host_is(b"198.51.100.1", b"pbx.example.test"));
    }
}
