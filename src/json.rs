//! A tiny JSON writer (and a small reader for tests and tools), so that
//! `check-config --json`, `status --json`, `check-config --schema` and the
//! LuCI contract can speak JSON without pulling serde_json onto a router with
//! 16 MB of flash.
//!
//! Writing is done by building a [`Value`] (objects keep their insertion
//! order, so output is stable and diffable) and printing it with `Display`
//! (compact) or [`Value::pretty`]. [`escape_into`] is exposed for callers that
//! stream JSON themselves. [`parse`] reads JSON back; it is bounded in depth
//! and never panics, which makes it fit for round-trip tests and for reading
//! the daemon's own status output.

use std::fmt::{self, Write as _};

/// A JSON value. Numbers keep their Rust kind so integers print exactly.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    /// Non-finite floats have no JSON form and print as `null`.
    Float(f64),
    Str(String),
    Array(Vec<Value>),
    /// Key order is kept as inserted.
    Object(Vec<(String, Value)>),
}

impl Value {
    /// An empty object, to be filled with [`Value::with`] / [`Value::set`].
    pub fn object() -> Value {
        Value::Object(Vec::new())
    }

    /// An empty array, to be filled with [`Value::push`].
    pub fn array() -> Value {
        Value::Array(Vec::new())
    }

    /// Builder form of [`Value::set`].
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Value {
        self.set(key, value);
        self
    }

    /// Sets `key` on an object (replacing an existing key in place). On a
    /// non-object this does nothing: a writer must never panic.
    pub fn set(&mut self, key: &str, value: impl Into<Value>) {
        if let Value::Object(fields) = self {
            let value = value.into();
            match fields.iter_mut().find(|(k, _)| k == key) {
                Some(slot) => slot.1 = value,
                None => fields.push((key.to_string(), value)),
            }
        }
    }

    /// Appends to an array; does nothing on a non-array.
    pub fn push(&mut self, value: impl Into<Value>) {
        if let Value::Array(items) = self {
            items.push(value.into());
        }
    }

    /// The value under `key` of an object.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Object(fields) => fields.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// Integer view of `Int`/`UInt` (and of whole `Float`s, as a reader sees
    /// them).
    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            Value::Int(i) => Some(i),
            Value::UInt(u) => i64::try_from(u).ok(),
            Value::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Some(f as i64),
            _ => None,
        }
    }

    /// Indented output (two spaces), for humans and for files under review.
    pub fn pretty(&self) -> String {
        let mut out = String::new();
        write_value(&mut out, self, Some(0));
        out
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::new();
        write_value(&mut out, self, None);
        f.write_str(&out)
    }
}

/// Appends `s` as a JSON string literal (with quotes). Escapes `"`, `\`,
/// and every control character; `/` and non-ASCII pass through as UTF-8.
/// U+2028/U+2029 are escaped too, so the output is also valid JavaScript.
pub fn escape_into(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || c == '\u{7f}' || c == '\u{2028}' || c == '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// `s` as a JSON string literal.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    escape_into(&mut out, s);
    out
}

fn newline(out: &mut String, indent: Option<usize>) {
    if let Some(n) = indent {
        out.push('\n');
        for _ in 0..n {
            out.push_str("  ");
        }
    }
}

fn write_value(out: &mut String, v: &Value, indent: Option<usize>) {
    let inner = indent.map(|n| n + 1);
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Value::UInt(u) => {
            let _ = write!(out, "{u}");
        }
        Value::Float(f) => {
            if f.is_finite() {
                // Rust's shortest round-trip form; a whole float keeps a
                // ".0" so that it reads back as a float, not an integer.
                let start = out.len();
                let _ = write!(out, "{f}");
                if !out[start..].contains(['.', 'e', 'E']) {
                    out.push_str(".0");
                }
            } else {
                out.push_str("null");
            }
        }
        Value::Str(s) => escape_into(out, s),
        Value::Array(items) => {
            if items.is_empty() {
                out.push_str("[]");
                return;
            }
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, inner);
                write_value(out, item, inner);
            }
            newline(out, indent);
            out.push(']');
        }
        Value::Object(fields) => {
            if fields.is_empty() {
                out.push_str("{}");
                return;
            }
            out.push('{');
            for (i, (k, item)) in fields.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, inner);
                escape_into(out, k);
                out.push(':');
                if indent.is_some() {
                    out.push(' ');
                }
                write_value(out, item, inner);
            }
            newline(out, indent);
            out.push('}');
        }
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Bool(b)
    }
}
impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::Str(s.to_string())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::Str(s)
    }
}
impl From<&String> for Value {
    fn from(s: &String) -> Value {
        Value::Str(s.clone())
    }
}
impl From<f64> for Value {
    fn from(f: f64) -> Value {
        Value::Float(f)
    }
}
macro_rules! from_signed {
    ($($t:ty),*) => {$(impl From<$t> for Value { fn from(i: $t) -> Value { Value::Int(i as i64) } })*};
}
macro_rules! from_unsigned {
    ($($t:ty),*) => {$(impl From<$t> for Value { fn from(u: $t) -> Value { Value::UInt(u as u64) } })*};
}
from_signed!(i8, i16, i32, i64, isize);
from_unsigned!(u8, u16, u32, u64, usize);
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(o: Option<T>) -> Value {
        match o {
            Some(v) => v.into(),
            None => Value::Null,
        }
    }
}
impl<T: Into<Value>> From<Vec<T>> for Value {
    fn from(v: Vec<T>) -> Value {
        Value::Array(v.into_iter().map(Into::into).collect())
    }
}

/// Why [`parse`] refused its input: byte offset and what was expected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    pub offset: usize,
    pub expected: &'static str,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "JSON byte {}: expected {}", self.offset, self.expected)
    }
}

impl std::error::Error for ParseError {}

/// Nesting deeper than this is refused, so hostile input cannot exhaust
/// the stack.
const MAX_DEPTH: usize = 64;

/// Reads one JSON document (RFC 8259). Integers that fit become
/// `Int`/`UInt`, other numbers `Float`.
pub fn parse(text: &str) -> Result<Value, ParseError> {
    let mut r = Reader {
        s: text.as_bytes(),
        i: 0,
    };
    let v = r.value(0)?;
    r.ws();
    if r.i != r.s.len() {
        return Err(r.err("end of input"));
    }
    Ok(v)
}

struct Reader<'a> {
    s: &'a [u8],
    i: usize,
}

impl Reader<'_> {
    fn err(&self, expected: &'static str) -> ParseError {
        ParseError {
            offset: self.i,
            expected,
        }
    }

    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.s.get(self.i) {
            self.i += 1;
        }
    }

    fn eat(&mut self, lit: &[u8]) -> bool {
        if self.s[self.i.min(self.s.len())..].starts_with(lit) {
            self.i += lit.len();
            true
        } else {
            false
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value, ParseError> {
        if depth > MAX_DEPTH {
            return Err(self.err("less nesting"));
        }
        self.ws();
        match self.s.get(self.i) {
            Some(b'{') => {
                self.i += 1;
                let mut fields = Vec::new();
                self.ws();
                if self.eat(b"}") {
                    return Ok(Value::Object(fields));
                }
                loop {
                    self.ws();
                    if self.s.get(self.i) != Some(&b'"') {
                        return Err(self.err("a string key"));
                    }
                    let k = self.string()?;
                    self.ws();
                    if !self.eat(b":") {
                        return Err(self.err("':'"));
                    }
                    let v = self.value(depth + 1)?;
                    fields.push((k, v));
                    self.ws();
                    if self.eat(b",") {
                        continue;
                    }
                    if self.eat(b"}") {
                        return Ok(Value::Object(fields));
                    }
                    return Err(self.err("',' or '}'"));
                }
            }
            Some(b'[') => {
                self.i += 1;
                let mut items = Vec::new();
                self.ws();
                if self.eat(b"]") {
                    return Ok(Value::Array(items));
                }
                loop {
                    items.push(self.value(depth + 1)?);
                    self.ws();
                    if self.eat(b",") {
                        continue;
                    }
                    if self.eat(b"]") {
                        return Ok(Value::Array(items));
                    }
                    return Err(self.err("',' or ']'"));
                }
            }
            Some(b'"') => Ok(Value::Str(self.string()?)),
            Some(b't') if self.eat(b"true") => Ok(Value::Bool(true)),
            Some(b'f') if self.eat(b"false") => Ok(Value::Bool(false)),
            Some(b'n') if self.eat(b"null") => Ok(Value::Null),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => Err(self.err("a JSON value")),
        }
    }

    fn hex4(&mut self) -> Result<u32, ParseError> {
        let digits = self
            .s
            .get(self.i..self.i + 4)
            .ok_or_else(|| self.err("4 hex digits"))?;
        let mut v = 0u32;
        for d in digits {
            let n = (*d as char)
                .to_digit(16)
                .ok_or_else(|| self.err("4 hex digits"))?;
            v = v * 16 + n;
        }
        self.i += 4;
        Ok(v)
    }

    fn string(&mut self) -> Result<String, ParseError> {
        self.i += 1; // opening quote
        let mut out = String::new();
        loop {
            let start = self.i;
            while let Some(&b) = self.s.get(self.i) {
                if b == b'"' || b == b'\\' || b < 0x20 {
                    break;
                }
                self.i += 1;
            }
            // The input is a &str and we stop only at ASCII bytes, so the
            // slice is valid UTF-8.
            out.push_str(std::str::from_utf8(&self.s[start..self.i]).unwrap_or(""));
            match self.s.get(self.i) {
                Some(b'"') => {
                    self.i += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.i += 1;
                    let c = match self.s.get(self.i) {
                        Some(b'"') => '"',
                        Some(b'\\') => '\\',
                        Some(b'/') => '/',
                        Some(b'b') => '\u{08}',
                        Some(b'f') => '\u{0c}',
                        Some(b'n') => '\n',
                        Some(b'r') => '\r',
                        Some(b't') => '\t',
                        Some(b'u') => {
                            self.i += 1;
                            let hi = self.hex4()?;
                            let code = if (0xd800..0xdc00).contains(&hi) {
                                if !self.eat(b"\\u") {
                                    return Err(self.err("a low surrogate"));
                                }
                                let lo = self.hex4()?;
                                if !(0xdc00..0xe000).contains(&lo) {
                                    return Err(self.err("a low surrogate"));
                                }
                                0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00)
                            } else {
                                hi
                            };
                            out.push(
                                char::from_u32(code)
                                    .ok_or_else(|| self.err("a valid code point"))?,
                            );
                            continue;
                        }
                        _ => return Err(self.err("an escape")),
                    };
                    self.i += 1;
                    out.push(c);
                }
                _ => return Err(self.err("closing '\"'")),
            }
        }
    }

    fn number(&mut self) -> Result<Value, ParseError> {
        let start = self.i;
        let mut float = false;
        while let Some(&b) = self.s.get(self.i) {
            match b {
                b'0'..=b'9' | b'-' | b'+' => {}
                b'.' | b'e' | b'E' => float = true,
                _ => break,
            }
            self.i += 1;
        }
        let text = std::str::from_utf8(&self.s[start..self.i]).unwrap_or("");
        let valid_shape = {
            let t = text.strip_prefix('-').unwrap_or(text);
            let int_part = t.split(['.', 'e', 'E']).next().unwrap_or("");
            let leading_zero = int_part.len() > 1 && int_part.starts_with('0');
            let digits = !int_part.is_empty() && int_part.bytes().all(|b| b.is_ascii_digit());
            digits && !leading_zero && !t.ends_with(['.', 'e', 'E', '+', '-'])
        };
        if !valid_shape {
            self.i = start;
            return Err(self.err("a number"));
        }
        if !float {
            if let Ok(u) = text.parse::<u64>() {
                return Ok(Value::UInt(u));
            }
            if let Ok(i) = text.parse::<i64>() {
                return Ok(Value::Int(i));
            }
        }
        match text.parse::<f64>() {
            Ok(f) if f.is_finite() => Ok(Value::Float(f)),
            _ => {
                self.i = start;
                Err(self.err("a number"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_quotes_backslashes_and_controls() {
        assert_eq!(quote("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(quote("l1\nl2\r\t"), r#""l1\nl2\r\t""#);
        assert_eq!(quote("\u{0}\u{1f}\u{7f}"), r#""\u0000\u001f\u007f""#);
        assert_eq!(quote("\u{8}\u{c}"), r#""\b\f""#);
        assert_eq!(quote("x\u{2028}y"), r#""x\u2028y""#);
        assert_eq!(quote("Zürich ☎ /"), "\"Zürich ☎ /\"");
    }

    #[test]
    fn writes_nested_values_in_insertion_order() {
        let v = Value::object()
            .with("b", 1u32)
            .with("a", -2i32)
            .with("ok", true)
            .with("none", Value::Null)
            .with("list", vec!["x", "y"])
            .with("empty", Value::array())
            .with("obj", Value::object())
            .with("f", 1.5)
            .with("nan", f64::NAN)
            .with("big", u64::MAX);
        assert_eq!(
            v.to_string(),
            r#"{"b":1,"a":-2,"ok":true,"none":null,"list":["x","y"],"empty":[],"obj":{},"f":1.5,"nan":null,"big":18446744073709551615}"#
        );
    }

    #[test]
    fn set_replaces_existing_key() {
        let mut v = Value::object().with("k", 1u8);
        v.set("k", "two");
        assert_eq!(v.to_string(), r#"{"k":"two"}"#);
        let mut not_obj = Value::Null;
        not_obj.set("k", 1u8);
        not_obj.push(1u8);
        assert_eq!(not_obj, Value::Null);
    }

    #[test]
    fn pretty_output_parses_back_to_the_same_value() {
        let v = Value::object().with("name", "door \"phones\"\n").with(
            "items",
            vec![Value::from(1u8), Value::object().with("x", Value::array())],
        );
        let pretty = v.pretty();
        assert!(pretty.contains("\n  \"items\": ["), "{pretty}");
        assert_eq!(parse(&pretty).unwrap(), v);
        assert_eq!(parse(&v.to_string()).unwrap(), v);
    }

    #[test]
    fn reader_handles_escapes_and_surrogates() {
        let v = parse(r#"["\u00e9\ud83d\ude00\/", -0, 1e3, -12]"#).unwrap();
        assert_eq!(
            v,
            Value::Array(vec![
                Value::Str("é😀/".into()),
                Value::Int(0),
                Value::Float(1000.0),
                Value::Int(-12)
            ])
        );
    }

    #[test]
    fn reader_rejects_bad_input_without_panicking() {
        for bad in [
            "",
            "{",
            "[1,]",
            "{\"a\" 1}",
            "01",
            "1.",
            "-",
            "\"\\x\"",
            "\"\\ud800\"",
            "tru",
            "[1] x",
            "\"a\nb\"",
            "{1:2}",
            "1e",
            "\"\\u12\"",
        ] {
            assert!(parse(bad).is_err(), "accepted {bad:?}");
        }
        let deep = "[".repeat(10_000);
        assert_eq!(parse(&deep).unwrap_err().expected, "less nesting");
    }

    #[test]
    fn every_string_round_trips() {
        // Every char class the escaper treats specially, plus multi-byte text.
        let mut s = String::new();
        for c in (0u32..0x80).chain([0xe9, 0x2028, 0x2029, 0x1f600]) {
            s.push(char::from_u32(c).unwrap());
        }
        let q = quote(&s);
        assert!(!q[1..q.len() - 1].bytes().any(|b| b < 0x20));
        assert_eq!(parse(&q).unwrap(), Value::Str(s));
    }
}
