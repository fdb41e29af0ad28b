//! Fuzz target: any text as `/etc/config/sipwall` (UCI) and as
//! `sipwall.toml`. The front ends must never panic; a UCI error must point
//! at a line of the input (admins fix files by line number); an accepted
//! file must print (text and JSON) and its JSON must read back.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use sipwall::config::{self, show, Config};

fn printable(c: &Config) {
    let _ = show::to_text(c, true);
    let j = show::to_json(c, false).to_string();
    assert!(
        sipwall::json::parse(&j).is_ok(),
        "check-config --json wrote invalid JSON: {j}"
    );
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match config::parse_uci(text, Path::new("f")) {
        Ok(c) => printable(&c),
        Err(e) => {
            let lines = text.lines().count().max(1);
            let line = e.line.unwrap_or(0);
            assert!(
                (1..=lines).contains(&line),
                "UCI error outside the file (line {line} of {lines}): {e}"
            );
            assert!(!e.message.is_empty());
        }
    }
    if let Ok(c) = config::parse_toml(text, Path::new("f.toml")) {
        printable(&c);
    }
});
