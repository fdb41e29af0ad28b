//! A tiny argument reader: positionals, `--flag`, `--opt VALUE` and
//! `--opt=VALUE`. Errors say which option was wrong and what it expects.

use std::ffi::OsString;

pub struct Args {
    rest: std::collections::VecDeque<String>,
}

impl Args {
    pub fn new(raw: Vec<OsString>) -> Args {
        Args {
            rest: raw
                .into_iter()
                .map(|s| s.to_string_lossy().into_owned())
                .collect(),
        }
    }

    /// The next argument that is not an option, removing it.
    pub fn next_positional(&mut self) -> Option<String> {
        let i = self
            .rest
            .iter()
            .position(|a| !a.starts_with("--") || a == "--help")?;
        self.rest.remove(i)
    }

    /// All remaining positionals, in order.
    pub fn positionals(&mut self) -> Vec<String> {
        let mut out = Vec::new();
        while let Some(p) = self.next_positional() {
            out.push(p);
        }
        out
    }

    /// `--name` present (removed if so).
    pub fn flag(&mut self, name: &str) -> bool {
        let long = format!("--{name}");
        match self.rest.iter().position(|a| *a == long) {
            Some(i) => {
                self.rest.remove(i);
                true
            }
            None => false,
        }
    }

    /// `--name VALUE` or `--name=VALUE` (removed if present).
    pub fn value(&mut self, name: &str) -> Result<Option<String>, String> {
        let long = format!("--{name}");
        let eq = format!("--{name}=");
        if let Some(i) = self.rest.iter().position(|a| a.starts_with(&eq)) {
            let a = self.rest.remove(i).unwrap_or_default();
            return Ok(Some(a[eq.len()..].to_string()));
        }
        if let Some(i) = self.rest.iter().position(|a| *a == long) {
            self.rest.remove(i);
            return match self.rest.remove(i) {
                Some(v) => Ok(Some(v)),
                None => Err(format!("option --{name} needs a value")),
            };
        }
        Ok(None)
    }

    /// Fails on anything not consumed, so a typo is never silently ignored.
    pub fn finish(self) -> Result<(), String> {
        match self.rest.front() {
            None => Ok(()),
            Some(a) => Err(format!("unexpected argument '{a}'; see --help")),
        }
    }
}
