//! What a front end reads before meaning is given to it: sections with
//! their options as text, each with the line it came from.
//!
//! Both UCI and TOML are read into this shape and then built into a
//! [`super::Config`] by one builder, so the two formats cannot drift apart.

/// One `config TYPE ['NAME']` block (or TOML table).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawSection {
    pub kind: String,
    pub name: Option<String>,
    pub line: usize,
    pub options: Vec<RawOption>,
}

/// One `option NAME 'VALUE'` or `list NAME 'VALUE'` (repeated `list`
/// statements of one name are gathered into one `RawOption`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawOption {
    pub name: String,
    /// Written as `list` (or a TOML array) rather than `option`.
    pub list: bool,
    pub values: Vec<String>,
    pub line: usize,
}

impl RawSection {
    pub fn option(&self, name: &str) -> Option<&RawOption> {
        self.options.iter().find(|o| o.name == name)
    }
}
