//! Configuration: one model ([`Config`]) and two front ends with the same
//! meaning and validation — UCI (`/etc/config/sipwall`, OpenWrt) and TOML
//! (`/etc/sipwall/sipwall.toml`, plain Linux PBX hosts).
//!
//! The path of a file: front end (`uci`, `toml_file`) → raw sections →
//! [`build`] (schema lookup, value conversion, defaults) → [`validate`].
//! Everything here is pure except [`load`], which reads the file.

mod build;
mod error;
mod model;
mod raw;
pub mod schema;
pub mod show;
#[cfg(feature = "toml")]
mod toml_file;
mod uci;
mod validate;
pub mod value;

use std::path::{Path, PathBuf};

pub use error::{ConfigError, SectionRef};
pub use model::*;
pub use validate::validate;

/// The UCI file OpenWrt uses.
pub const UCI_PATH: &str = "/etc/config/sipwall";
/// The TOML file for plain Linux hosts.
pub const TOML_PATH: &str = "/etc/sipwall/sipwall.toml";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Uci,
    Toml,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Uci => "uci",
            Format::Toml => "toml",
        }
    }
}

/// A loaded, validated configuration and where it came from.
#[derive(Clone, Debug, PartialEq)]
pub struct Loaded {
    pub config: Config,
    pub path: PathBuf,
    pub format: Format,
}

/// `/etc/config/sipwall` if it exists, else `/etc/sipwall/sipwall.toml`.
pub fn default_path() -> PathBuf {
    if Path::new(UCI_PATH).exists() {
        PathBuf::from(UCI_PATH)
    } else {
        PathBuf::from(TOML_PATH)
    }
}

/// TOML when the name ends in `.toml` or the first statement looks like
/// TOML (`[table]` or `key = value`); UCI otherwise.
pub fn detect_format(path: &Path, text: &str) -> Format {
    if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("toml"))
    {
        return Format::Toml;
    }
    let first = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'));
    match first {
        Some(l) if l.starts_with('[') => Format::Toml,
        Some(l) => {
            let word = l
                .split(|c: char| c.is_whitespace() || c == '=')
                .next()
                .unwrap_or("");
            let uci_keyword = matches!(
                word,
                "config" | "package" | "option" | "list" | "c" | "p" | "o" | "l"
            );
            if !uci_keyword && l.contains('=') {
                Format::Toml
            } else {
                Format::Uci
            }
        }
        None => Format::Uci,
    }
}

/// Reads, parses and validates the configuration; `None` uses
/// [`default_path`].
pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
    load_from(path).map(|l| l.config)
}

/// As [`load`], also saying which file and format were used.
pub fn load_from(path: Option<&Path>) -> Result<Loaded, ConfigError> {
    let path = path.map_or_else(default_path, Path::to_path_buf);
    let text = read_bounded(&path).map_err(|e| {
        let hint = if path.as_os_str() == TOML_PATH {
            format!(" (neither {UCI_PATH} nor {TOML_PATH} is readable; create one or pass --config PATH)")
        } else {
            String::new()
        };
        ConfigError::new(format!("cannot read the configuration: {e}{hint}")).in_file(&path)
    })?;
    let format = detect_format(&path, &text);
    let config = parse(&text, &path, format)?;
    Ok(Loaded {
        config,
        path,
        format,
    })
}

/// A configuration is a few kilobytes; refusing more keeps a wrong path
/// (a log, a device) from eating the router's memory.
const MAX_CONFIG_BYTES: u64 = 1 << 20;

fn read_bounded(path: &Path) -> std::io::Result<String> {
    use std::io::Read;
    let mut text = String::new();
    std::fs::File::open(path)?
        .take(MAX_CONFIG_BYTES + 1)
        .read_to_string(&mut text)?;
    if text.len() as u64 > MAX_CONFIG_BYTES {
        return Err(std::io::Error::other(format!(
            "larger than {} KiB; is this the configuration file?",
            MAX_CONFIG_BYTES / 1024
        )));
    }
    Ok(text)
}

pub fn parse(text: &str, file: &Path, format: Format) -> Result<Config, ConfigError> {
    match format {
        Format::Uci => parse_uci(text, file),
        Format::Toml => parse_toml(text, file),
    }
}

pub fn parse_uci(text: &str, file: &Path) -> Result<Config, ConfigError> {
    let sections = uci::read(text, file)?;
    finish(&sections, file)
}

#[cfg(feature = "toml")]
pub fn parse_toml(text: &str, file: &Path) -> Result<Config, ConfigError> {
    let sections = toml_file::read(text, file)?;
    finish(&sections, file)
}

/// Router builds leave the TOML front end out (feature `toml`).
#[cfg(not(feature = "toml"))]
pub fn parse_toml(_text: &str, file: &Path) -> Result<Config, ConfigError> {
    Err(ConfigError::new(format!(
        "this sipwall was built without TOML support (router builds read UCI only): write the settings to {UCI_PATH}"
    ))
    .in_file(file))
}

fn finish(sections: &[raw::RawSection], file: &Path) -> Result<Config, ConfigError> {
    let config = build::build(sections).map_err(|e| e.in_file(file))?;
    validate(&config).map_err(|e| build::locate(e, sections).in_file(file))?;
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_is_told_by_extension_then_content() {
        let p = Path::new("/etc/config/sipwall");
        assert_eq!(
            detect_format(Path::new("x.toml"), "config sipwall"),
            Format::Toml
        );
        assert_eq!(
            detect_format(p, "# c\n\nconfig sipwall 'global'\n"),
            Format::Uci
        );
        assert_eq!(detect_format(p, "package sipwall\n"), Format::Uci);
        assert_eq!(
            detect_format(p, "# c\n[sipwall]\nenabled = true\n"),
            Format::Toml
        );
        assert_eq!(detect_format(p, "[[knock]]\n"), Format::Toml);
        assert_eq!(detect_format(p, "enabled = true\n"), Format::Toml);
        assert_eq!(detect_format(p, "option x 'a=b'\n"), Format::Uci);
        assert_eq!(detect_format(p, ""), Format::Uci);
    }

    #[test]
    fn empty_files_of_either_format_are_the_disabled_default() {
        let p = Path::new("f");
        assert_eq!(
            parse(" \n# nothing\n", p, Format::Uci).unwrap(),
            Config::default()
        );
        #[cfg(feature = "toml")]
        assert_eq!(parse("", p, Format::Toml).unwrap(), Config::default());
    }
}
