//! The files we ship are the first thing an admin reads and edits: they
//! must parse, be disabled, mean the same in UCI and TOML, teach every
//! option the schema knows, and match the model's defaults exactly.

use std::path::Path;

use sipwall::config::{self, schema, Config};

const UCI: &str = include_str!("../files/etc/config/sipwall");
const TOML: &str = include_str!("../files/etc/sipwall/sipwall.toml");

fn uci(text: &str) -> Config {
    config::parse_uci(text, Path::new("/etc/config/sipwall")).unwrap_or_else(|e| panic!("{e}"))
}

#[cfg(feature = "toml")]
fn toml(text: &str) -> Config {
    config::parse_toml(text, Path::new("/etc/sipwall/sipwall.toml"))
        .unwrap_or_else(|e| panic!("{e}"))
}

#[cfg(feature = "toml")]
#[test]
fn shipped_files_are_disabled_and_equal_to_the_defaults() {
    let u = uci(UCI);
    let t = toml(TOML);
    assert!(!u.global.enabled, "installing must never start filtering");
    assert_eq!(u, t);
    assert_eq!(
        u,
        Config::default(),
        "the shipped file must spell out the model's defaults"
    );
}

#[cfg(feature = "toml")]
#[test]
fn shipped_files_mean_the_same_once_enabled() {
    let u = UCI.replacen("option enabled '0'", "option enabled '1'", 1)
        + "\nconfig domain\n\toption host 'sip.example.org'\n"
        + "\nconfig knock 'phones'\n\toption secret 'Zebra-42-Lantern'\n\tlist look_in 'user_agent'\n\toption door_time '2h'\n"
        + "\nconfig allow 'office'\n\toption source 'office.example.net'\n"
        + "\nconfig block\n\toption source '198.51.100.7'\n";
    let t = TOML.replacen("enabled = false", "enabled = true", 1)
        + "\n[[domain]]\nhost = \"sip.example.org\"\n"
        + "\n[[knock]]\nname = \"phones\"\nsecret = \"Zebra-42-Lantern\"\nlook_in = [\"user_agent\"]\ndoor_time = 7200\n"
        + "\n[[allow]]\nname = \"office\"\nsource = \"office.example.net\"\n"
        + "\n[[block]]\nsource = \"198.51.100.7/32\"\n";
    let (u, t) = (uci(&u), toml(&t));
    assert!(u.global.enabled);
    assert_eq!(u.knocks[0].door_secs, 7200);
    assert!(u.knocks[0].places.user_agent && !u.knocks[0].places.display_name);
    assert_eq!(u, t);
}

/// `option NAME` / `list NAME`, live or commented out, inside the right
/// `config TYPE` block (commented blocks count).
fn documented(text: &str, kind: &str, option: &str, list: bool) -> bool {
    let mut current = String::new();
    for line in text.lines() {
        let l = line.trim_start().trim_start_matches('#').trim_start();
        let mut w = l.split_whitespace();
        match (w.next(), w.next()) {
            (Some("config"), Some(k)) => current = k.to_string(),
            (Some(kw), Some(name))
                if current == kind
                    && name == option
                    && kw == if list { "list" } else { "option" } =>
            {
                return true;
            }
            _ => {}
        }
    }
    false
}

#[test]
fn every_schema_option_is_taught_in_the_shipped_uci_file() {
    let mut missing = Vec::new();
    for s in schema::SECTIONS {
        for o in s.options {
            if !documented(UCI, s.kind, o.name, o.list) {
                missing.push(format!("{}.{}", s.kind, o.name));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "not in files/etc/config/sipwall: {missing:?}"
    );
}

#[test]
fn every_schema_option_is_taught_in_the_shipped_toml_file() {
    let mut missing = Vec::new();
    for s in schema::SECTIONS {
        let header = if s.unique {
            format!("[{}]", s.kind)
        } else {
            format!("[[{}]]", s.kind)
        };
        let Some(start) = TOML.find(&header) else {
            missing.push(header);
            continue;
        };
        let body = &TOML[start..];
        for o in s.options {
            let key = format!("\n{} = ", o.name);
            let commented = format!("\n#{} = ", o.name);
            if !body.contains(&key) && !body.contains(&commented) {
                missing.push(format!("{}.{}", s.kind, o.name));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "not in files/etc/sipwall/sipwall.toml: {missing:?}"
    );
}

#[test]
fn schema_defaults_are_the_model_defaults() {
    // Write every option of the unique sections at its schema default and
    // enable nothing else: the result must be `Config::default()`.
    let mut text = String::new();
    for s in schema::SECTIONS.iter().filter(|s| s.unique) {
        text.push_str(&format!("config {}\n", s.kind));
        for o in s.options {
            for d in o.default {
                let kw = if o.list { "list" } else { "option" };
                text.push_str(&format!("\t{kw} {} '{d}'\n", o.name));
            }
        }
    }
    let mut c = uci(&text);
    // An empty default list (signature, country) leaves the model default.
    c.scanners.signatures = Config::default().scanners.signatures;
    assert_eq!(c, Config::default());
    // Knock defaults: door_time and look_in.
    let k = uci("config knock k\n\toption secret 'Zebra-42-Lantern'\n");
    let spec = schema::spec("knock", "door_time");
    assert_eq!(k.knocks[0].door_secs.to_string(), spec.default[0]);
    let p = k.knocks[0].places;
    assert!(p.display_name && p.user_agent && p.instance);
}

#[test]
fn uncommenting_the_examples_gives_a_valid_enabled_config() {
    // What an admin does first: uncomment the domain and knock examples,
    // switch on. It must be accepted as is.
    let text = UCI
        .replacen("option enabled '0'", "option enabled '1'", 1)
        .replace(
            "#config domain\n#\toption host",
            "config domain\n\toption host",
        )
        .replace(
            "#config knock 'phones'\n#\toption secret 'Zebra-42-Lantern'",
            "config knock 'phones'\n\toption secret 'Zebra-42-Lantern'",
        );
    let c = uci(&text);
    assert!(c.global.enabled);
    assert_eq!(c.domains, ["sip.example.org"]);
    assert_eq!(c.knocks[0].name, "phones");
}
