//! The one error type of configuration loading.
//!
//! Every error should let an admin fix the file without reading our code:
//! it names the file, the line, the section and option, and says what was
//! expected and what was found. Rules that look at the whole model
//! ([`super::validate`]) know the section and option but not the line; the
//! front end that read the file fills the line in afterwards.

use std::fmt;
use std::path::{Path, PathBuf};

/// Which section an error is about: by kind and, for uci-style addressing,
/// its name or its index among the sections of that kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SectionRef {
    pub kind: String,
    pub name: Option<String>,
    /// Position among the sections of this kind (0-based), as in
    /// `uci get sipwall.@knock[0]`.
    pub index: usize,
}

impl fmt::Display for SectionRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(n) => write!(f, "{} '{}'", self.kind, n),
            None if super::schema::section(&self.kind).is_some_and(|s| s.unique) => {
                write!(f, "section '{}'", self.kind)
            }
            None => write!(f, "{} @{}[{}]", self.kind, self.kind, self.index),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    pub file: Option<PathBuf>,
    pub line: Option<usize>,
    /// Boxed to keep `Result<_, ConfigError>` small.
    pub section: Option<Box<SectionRef>>,
    pub option: Option<String>,
    /// What is wrong and what is expected, e.g. "expected a port (1..65535), got '0'".
    pub message: String,
}

impl ConfigError {
    /// An error about the file as a whole (or with no better place).
    pub fn new(message: impl Into<String>) -> ConfigError {
        ConfigError {
            file: None,
            line: None,
            section: None,
            option: None,
            message: message.into(),
        }
    }

    pub fn in_section(mut self, section: SectionRef) -> ConfigError {
        self.section = Some(Box::new(section));
        self
    }

    pub fn at_option(mut self, option: &str) -> ConfigError {
        self.option = Some(option.to_string());
        self
    }

    pub fn at_line(mut self, line: usize) -> ConfigError {
        self.line = Some(line);
        self
    }

    pub fn in_file(mut self, file: &Path) -> ConfigError {
        self.file = Some(file.to_path_buf());
        self
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.file, self.line) {
            (Some(file), Some(line)) => write!(f, "{}:{}: ", file.display(), line)?,
            (Some(file), None) => write!(f, "{}: ", file.display())?,
            (None, Some(line)) => write!(f, "line {line}: ")?,
            (None, None) => {}
        }
        match (&self.option, &self.section) {
            (Some(o), Some(s)) => write!(f, "option '{o}' in {s}: ")?,
            (Some(o), None) => write!(f, "option '{o}': ")?,
            (None, Some(s)) => write!(f, "{s}: ")?,
            (None, None) => {}
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for ConfigError {}
