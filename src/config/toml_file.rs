//! The TOML front end, for plain Linux PBX hosts (`/etc/sipwall/sipwall.toml`).
//!
//! The file mirrors the UCI file one to one: a unique section is a table
//! (`[sipwall]`, `[ratelimit]`), a repeatable one an array of tables
//! (`[[knock]]`), with `name = "..."` where UCI would write
//! `config knock 'name'`; option names are the same. serde (with
//! `deny_unknown_fields`) checks the shape; every value is then handed on
//! as text, exactly as UCI would spell it, to the same builder and
//! validation as the UCI front end — so the two formats mean the same.

use std::fmt;
use std::path::Path;

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::Deserialize;
use toml::Spanned;

use super::error::ConfigError;
use super::raw::{RawOption, RawSection};
use super::schema;

/// A value as UCI would spell it: one scalar, or a list of scalars.
enum Any {
    One(String),
    Many(Vec<String>),
}

struct Scalar(String);

struct ScalarVisitor;

impl<'de> Visitor<'de> for ScalarVisitor {
    type Value = String;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string, a number or a boolean")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<String, E> {
        Ok(if v { "1" } else { "0" }.to_string())
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        Ok(v.to_string())
    }
}

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Scalar, D::Error> {
        d.deserialize_any(ScalarVisitor).map(Scalar)
    }
}

struct AnyVisitor;

impl<'de> Visitor<'de> for AnyVisitor {
    type Value = Any;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string, a number, a boolean or an array of them")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Any, E> {
        ScalarVisitor.visit_bool(v).map(Any::One)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Any, E> {
        ScalarVisitor.visit_i64(v).map(Any::One)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Any, E> {
        ScalarVisitor.visit_u64(v).map(Any::One)
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Any, E> {
        ScalarVisitor.visit_f64(v).map(Any::One)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Any, E> {
        Ok(Any::One(v.to_string()))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Any, A::Error> {
        let mut out = Vec::new();
        while let Some(Scalar(s)) = seq.next_element()? {
            out.push(s);
        }
        Ok(Any::Many(out))
    }
}

impl<'de> Deserialize<'de> for Any {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Any, D::Error> {
        d.deserialize_any(AnyVisitor)
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

fn option(name: &str, v: Spanned<Any>, text: &str) -> RawOption {
    let line = line_of(text, v.span().start);
    let (list, values) = match v.into_inner() {
        Any::One(s) => (false, if s.is_empty() { Vec::new() } else { vec![s] }),
        Any::Many(v) => (true, v),
    };
    RawOption {
        name: name.to_string(),
        list,
        values,
        line,
    }
}

/// One struct per section type, fields named exactly as the schema's
/// options (a test proves every schema option is accepted here).
macro_rules! section_struct {
    ($ty:ident $kind:literal { $($field:ident),* }) => {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct $ty {
            #[serde(default)]
            name: Option<String>,
            $(#[serde(default)] $field: Option<Spanned<Any>>,)*
        }

        impl $ty {
            fn into_raw(self, line: usize, text: &str) -> RawSection {
                let mut options = Vec::new();
                $(if let Some(v) = self.$field {
                    options.push(option(stringify!($field), v, text));
                })*
                RawSection { kind: $kind.to_string(), name: self.name, line, options }
            }
        }
    };
}

macro_rules! sections {
    (unique { $($uty:ident $ukind:literal { $($ufield:ident),* })* }
     repeated { $($rty:ident $rkind:literal { $($rfield:ident),* })* }) => {
        $(section_struct!($uty $ukind { $($ufield),* });)*
        $(section_struct!($rty $rkind { $($rfield),* });)*

        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        #[allow(non_snake_case)]
        struct TomlFile {
            $(#[serde(default, rename = $ukind)] $uty: Option<Spanned<$uty>>,)*
            $(#[serde(default, rename = $rkind)] $rty: Vec<Spanned<$rty>>,)*
        }

        impl TomlFile {
            /// Sections in schema order; within a type, in file order.
            fn into_raw(self, text: &str) -> Vec<RawSection> {
                let mut out: Vec<(usize, RawSection)> = Vec::new();
                $(if let Some(s) = self.$uty {
                    let line = line_of(text, s.span().start);
                    out.push((schema_rank($ukind), s.into_inner().into_raw(line, text)));
                })*
                $(for s in self.$rty {
                    let line = line_of(text, s.span().start);
                    out.push((schema_rank($rkind), s.into_inner().into_raw(line, text)));
                })*
                out.sort_by_key(|(rank, _)| *rank);
                out.into_iter().map(|(_, s)| s).collect()
            }
        }
    };
}

fn schema_rank(kind: &str) -> usize {
    schema::SECTIONS
        .iter()
        .position(|s| s.kind == kind)
        .unwrap_or(usize::MAX)
}

sections! {
    unique {
        Sipwall "sipwall" { enabled, mode, backend, udp_port, tcp_port, tls_port, queue, queue_maxlen,
                            fail_open, monitor, lan, state_dir, run_dir, log_level }
        ScannersT "scanners" { builtin, signature, ban_time }
        Ratelimit "ratelimit" { rate, burst, drops_before_ban, drop_window, flood_ban_time }
        GeoT "geo" { enabled, mode, country, family, schedule, ipv4_url, ipv6_url,
                     fallback_ipv4_url, fallback_ipv6_url }
        Limits "limits" { doors, bans, sources, pending_auth }
    }
    repeated {
        Domain "domain" { host }
        KnockT "knock" { secret, look_in, door_time }
        Allow "allow" { source }
        Block "block" { source }
        BanTierT "ban_tier" { failures, window, ban_time }
    }
}

/// Reads TOML text into raw sections (no meaning yet).
pub fn read(text: &str, file: &Path) -> Result<Vec<RawSection>, ConfigError> {
    // A friendlier word than serde's "invalid type" for the commonest slip:
    // [x] versus [[x]].
    if let Ok(table) = text.parse::<toml::Table>() {
        for (key, value) in &table {
            let Some(spec) = schema::section(key) else {
                continue;
            };
            let wrong = if spec.unique && value.is_array() {
                Some(format!(
                    "'{key}' is written as [[{key}]]: there is only one, write [{key}]"
                ))
            } else if !spec.unique && value.is_table() {
                Some(format!(
                    "'{key}' is written as [{key}]: there may be several, write [[{key}]]"
                ))
            } else {
                None
            };
            if let Some(msg) = wrong {
                let line = text.find(&format!("[{key}]")).map(|o| line_of(text, o));
                let mut e = ConfigError::new(msg).in_file(file);
                e.line = line;
                return Err(e);
            }
        }
    }
    let parsed: TomlFile = toml::from_str(text).map_err(|e| from_toml(&e, text, file))?;
    Ok(parsed.into_raw(text))
}

/// toml's error with our file name and, for unknown names, a "did you mean".
fn from_toml(e: &toml::de::Error, text: &str, file: &Path) -> ConfigError {
    let msg = e.message().trim().to_string();
    let mut out = ConfigError::new(msg.clone()).in_file(file);
    if let Some(span) = e.span() {
        out = out.at_line(line_of(text, span.start));
    }
    if let Some(rest) = msg.strip_prefix("unknown field `") {
        let name = rest.split('`').next().unwrap_or("");
        let candidates: Vec<&str> = rest
            .split('`')
            .skip(2)
            .step_by(2)
            .filter(|c| *c != "name")
            .collect();
        let top_level = candidates.contains(&"sipwall");
        let what = if top_level { "section" } else { "option" };
        let mut message = format!(
            "unknown {what} '{name}'{}",
            schema::did_you_mean(name, candidates.iter().copied())
        );
        if !top_level && schema::closest(name, candidates.iter().copied()).is_none() {
            if let Some(other) = schema::SECTIONS.iter().find(|s| s.option(name).is_some()) {
                message = format!(
                    "unknown option '{name}' here: it belongs in a [{}] section",
                    other.kind
                );
            } else {
                message = format!(
                    "unknown option '{name}': expected one of {}",
                    candidates.join(", ")
                );
            }
        }
        if top_level && schema::closest(name, candidates.iter().copied()).is_none() {
            let owner = schema::SECTIONS.iter().find(|s| s.option(name).is_some());
            message = match owner {
                Some(s) => format!(
                    "'{name}' is an option of the {} section: put it under a {} header",
                    s.kind,
                    if s.unique {
                        format!("[{}]", s.kind)
                    } else {
                        format!("[[{}]]", s.kind)
                    }
                ),
                None => format!(
                    "unknown section '{name}': expected one of {}",
                    candidates.join(", ")
                ),
            };
        }
        out.message = message;
    }
    out
}
