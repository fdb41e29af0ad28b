//! `sipwall check-config` as an admin (and the init script, and LuCI) runs
//! it: the real binary on real files.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use sipwall::json;

const BIN: &str = env!("CARGO_BIN_EXE_sipwall");

/// A scratch directory per test, removed on drop (also on failure).
struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("sipwall-cfg-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
    fn file(&self, name: &str, text: &str) -> PathBuf {
        let p = self.0.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn run(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().expect("run sipwall")
}

fn check(path: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["check-config", "--config", path.to_str().unwrap()];
    args.extend_from_slice(extra);
    run(&args)
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

const GOOD: &str = "config sipwall 'global'\n\toption enabled '1'\n\toption monitor '1'\n\nconfig domain\n\toption host 'sip.example.org'\n\nconfig knock 'phones'\n\toption secret 'Zebra-42-Lantern'\n\nconfig ratelimit\n\toption rate '5'\n\toption burst '10'\n";

#[test]
fn shipped_uci_file_is_valid_and_prints_disabled() {
    let out = check(Path::new("files/etc/config/sipwall"), &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let s = text(&out.stdout);
    assert!(s.contains("(uci): valid"), "{s}");
    assert!(s.contains("sipwall is disabled"), "{s}");
    assert!(
        !s.contains("warning:"),
        "the shipped file needs no warning: {s}"
    );
    assert!(s.contains("\tmode               router   (default)"), "{s}");
}

#[cfg(feature = "toml")]
#[test]
fn shipped_toml_file_is_valid() {
    let out = check(Path::new("files/etc/sipwall/sipwall.toml"), &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("(toml): valid"));
}

#[test]
fn effective_policy_marks_defaults_and_masks_secrets() {
    let d = Scratch::new("good");
    let out = check(&d.file("sipwall", GOOD), &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let s = text(&out.stdout);
    assert!(s.contains("MONITOR mode"), "{s}");
    assert!(
        s.contains("warning: monitor '1': nothing is dropped"),
        "{s}"
    );
    assert!(
        s.contains("addressed to sip.example.org or carrying a knock (phones)"),
        "{s}"
    );
    assert!(
        s.contains("\trate               5/s\n"),
        "set values are not marked: {s}"
    );
    assert!(s.contains("\tdoor_time          4000   (default)"), "{s}");
    assert!(s.contains("Ze************** (16 characters)"), "{s}");
    assert!(!s.contains("Zebra-42-Lantern"), "secret leaked: {s}");
    let shown = check(&d.file("sipwall", GOOD), &["--show-secrets"]);
    assert!(text(&shown.stdout).contains("Zebra-42-Lantern"));
}

#[test]
fn json_output_is_the_effective_config() {
    let d = Scratch::new("json");
    let out = check(&d.file("sipwall", GOOD), &["--json"]);
    assert!(out.status.success());
    let v = json::parse(&text(&out.stdout)).expect("valid JSON");
    assert_eq!(v.get("valid").and_then(|v| v.as_bool()), Some(true));
    assert_eq!(v.get("format").and_then(|v| v.as_str()), Some("uci"));
    let c = v.get("config").unwrap();
    assert_eq!(
        c.get("ratelimit")
            .and_then(|r| r.get("rate"))
            .and_then(|r| r.as_i64()),
        Some(5)
    );
    let knocks = c.get("knock").and_then(|k| k.as_array()).unwrap();
    assert_eq!(
        knocks[0].get("name").and_then(|n| n.as_str()),
        Some("phones")
    );
    assert_eq!(
        knocks[0].get("door_time").and_then(|n| n.as_i64()),
        Some(4000)
    );
    let tiers = c.get("ban_tier").and_then(|k| k.as_array()).unwrap();
    assert_eq!(
        tiers[1].get("ban_time"),
        Some(&json::Value::Null),
        "forever is null"
    );
    assert_eq!(
        c.get("block").and_then(|b| b.as_array()).map(|b| b.len()),
        Some(0)
    );
    let warnings = v.get("warnings").and_then(|w| w.as_array()).unwrap();
    assert_eq!(warnings.len(), 1, "only the monitor warning: {warnings:?}");
    let defaults = v.get("defaults").and_then(|d| d.as_array()).unwrap();
    assert!(defaults.iter().any(|d| d.as_str() == Some("sipwall.mode")));
    assert!(!defaults
        .iter()
        .any(|d| d.as_str() == Some("ratelimit.rate")));
}

#[test]
fn a_bad_file_exits_1_with_the_error() {
    let d = Scratch::new("bad");
    let path = d.file("sipwall", "config sipwall\n\toption enabled '1'\n\nconfig knock 'phones'\n\toption secret 'Zebra-42'\n\toption door_time '4000x'\n");
    let out = check(&path, &[]);
    assert_eq!(out.status.code(), Some(1));
    let e = text(&out.stderr);
    assert_eq!(
        e.trim_end(),
        format!(
            "sipwall: {}:6: option 'door_time' in knock 'phones': expected a duration in seconds or with a unit s/m/h/d (e.g. 90m, 1h) between 1m and 1d, got '4000x'",
            path.display()
        )
    );
    let out = check(&path, &["--json"]);
    assert_eq!(out.status.code(), Some(1));
    let v = json::parse(&text(&out.stdout)).unwrap();
    assert_eq!(v.get("valid").and_then(|v| v.as_bool()), Some(false));
    assert_eq!(v.get("line").and_then(|v| v.as_i64()), Some(6));
    assert_eq!(v.get("option").and_then(|v| v.as_str()), Some("door_time"));
    assert_eq!(
        v.get("section").and_then(|v| v.as_str()),
        Some("knock 'phones'")
    );
}

#[test]
fn a_missing_file_and_bad_arguments_are_errors() {
    let d = Scratch::new("missing");
    let out = check(&d.0.join("nope"), &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("cannot read the configuration"));
    let out = check(Path::new("/dev/zero"), &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("larger than 1024 KiB"),
        "{}",
        text(&out.stderr)
    );
    let out = run(&["check-config", "--bogus"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("unexpected argument '--bogus'"));
    let out = run(&["check-config", "--help"]);
    assert!(out.status.success());
    assert!(text(&out.stdout).contains("--schema"));
}

#[cfg(feature = "toml")]
#[test]
fn format_is_detected_by_content_when_the_name_does_not_say() {
    let d = Scratch::new("detect");
    let toml_named_plainly = d.file("settings", "# comment\n[sipwall]\nenabled = false\n");
    let out = check(&toml_named_plainly, &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("(toml): valid"));
}

#[test]
fn schema_json_lists_every_section_with_luci_datatypes() {
    let out = run(&["check-config", "--schema"]);
    assert!(out.status.success());
    let v = json::parse(&text(&out.stdout)).unwrap();
    let sections = v.get("sections").and_then(|s| s.as_array()).unwrap();
    let kinds: Vec<&str> = sections
        .iter()
        .filter_map(|s| s.get("type").and_then(|t| t.as_str()))
        .collect();
    assert_eq!(
        kinds,
        [
            "sipwall",
            "domain",
            "knock",
            "allow",
            "block",
            "ban_tier",
            "scanners",
            "ratelimit",
            "geo",
            "limits"
        ]
    );
    let option = |kind: &str, name: &str| {
        let s = sections
            .iter()
            .find(|s| s.get("type").and_then(|t| t.as_str()) == Some(kind))
            .unwrap();
        s.get("options")
            .and_then(|o| o.as_array())
            .unwrap()
            .iter()
            .find(|o| o.get("name").and_then(|n| n.as_str()) == Some(name))
            .unwrap()
            .clone()
    };
    let dt = |kind: &str, name: &str| {
        option(kind, name)
            .get("datatype")
            .and_then(|d| d.as_str())
            .unwrap()
            .to_string()
    };
    assert_eq!(dt("sipwall", "udp_port"), "port");
    assert_eq!(dt("sipwall", "enabled"), "bool");
    assert_eq!(dt("sipwall", "lan"), "or(ipaddr,cidr)");
    assert_eq!(dt("domain", "host"), "hostname");
    assert_eq!(dt("allow", "source"), "or(ipaddr,cidr,hostname)");
    assert_eq!(dt("limits", "doors"), "range(16,1048576)");
    assert_eq!(
        option("sipwall", "udp_port").get("list"),
        Some(&json::Value::Bool(true))
    );
    assert_eq!(
        option("knock", "secret").get("required"),
        Some(&json::Value::Bool(true))
    );
}
