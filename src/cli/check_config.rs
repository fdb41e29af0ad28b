//! `sipwall check-config [--config PATH] [--json] [--schema] [--show-secrets]`:
//! validates the configuration and prints the effective policy, or the
//! schema the LuCI app is checked against. Exit 1 on an invalid file, with
//! the error (file, line, option, what is expected) on stderr; the init
//! script runs this before starting the daemon.

use std::path::PathBuf;

use super::Args;
use crate::config::{self, schema, show};
use crate::json::Value;

const HELP: &str = "\
sipwall check-config — validate the configuration and print the effective policy

USAGE:
    sipwall check-config [--config PATH] [--json] [--show-secrets]
    sipwall check-config --schema

OPTIONS:
    --config PATH     file to check (default: /etc/config/sipwall if present,
                      else /etc/sipwall/sipwall.toml); UCI or TOML by content
    --json            print the effective configuration as JSON
    --show-secrets    print knock secrets instead of masking them
    --schema          print every section and option sipwall knows, as JSON
                      (types, LuCI datatypes, defaults, help)

Exit status: 0 valid, 1 invalid (the error names file, line and option), 2 usage.
";

/// Writes to stdout; a closed pipe (`| head`) is not worth a panic.
fn emit(text: &str) {
    use std::io::Write;
    let _ = std::io::stdout().write_all(text.as_bytes());
}

/// Runs the command; `Err` carries the message for stderr (exit 1).
pub fn run(mut args: Args) -> Result<(), String> {
    if args.flag("help") {
        emit(HELP);
        return Ok(());
    }
    let path = args.value("config")?.map(PathBuf::from);
    let json = args.flag("json");
    let schema_only = args.flag("schema");
    let show_secrets = args.flag("show-secrets");
    args.finish()?;
    if schema_only {
        emit(&format!("{}\n", schema::to_json().pretty()));
        return Ok(());
    }
    match config::load_from(path.as_deref()) {
        Ok(loaded) => {
            if json {
                let mut out = Value::object()
                    .with("valid", true)
                    .with("file", loaded.path.display().to_string())
                    .with("format", loaded.format.as_str());
                if let Value::Object(fields) = show::to_json(&loaded.config, show_secrets) {
                    for (k, v) in fields {
                        out.set(&k, v);
                    }
                }
                emit(&format!("{}\n", out.pretty()));
            } else {
                emit(&format!(
                    "{} ({}): valid\n\n{}",
                    loaded.path.display(),
                    loaded.format.as_str(),
                    show::to_text(&loaded.config, show_secrets)
                ));
            }
            Ok(())
        }
        Err(e) => {
            if json {
                let out = Value::object()
                    .with("valid", false)
                    .with("error", e.to_string())
                    .with("file", e.file.as_ref().map(|f| f.display().to_string()))
                    .with("line", e.line)
                    .with("section", e.section.as_ref().map(|s| s.to_string()))
                    .with("option", e.option.clone())
                    .with("message", e.message.clone());
                emit(&format!("{}\n", out.pretty()));
            }
            Err(e.to_string())
        }
    }
}
