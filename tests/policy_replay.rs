//! `sipwall replay` through the real binary: the demo a user runs first
//! must show the scanner banned, the phone let in, and a summary; a policy
//! file changes the verdicts; a wrong path says what is wrong.

use std::path::Path;
use std::process::Command;

fn sipwall(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_sipwall"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run sipwall");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn pcaps() -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pcap");
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path().display().to_string())
        .filter(|p| p.ends_with(".pcap"))
        .collect();
    v.sort();
    v
}

#[test]
fn demo_replay_bans_the_scanner_and_lets_the_phone_in() {
    let mut args = vec!["replay"];
    let files = pcaps();
    args.extend(files.iter().map(String::as_str));
    let (code, out, err) = sipwall(&args);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("policy: embedded demo"), "{out}");
    // The svcrack capture's first REGISTER: signature, banned for a day.
    let first_crack = out
        .lines()
        .find(|l| l.contains("198.51.100.10:5060") && l.contains("REGISTER sip:198.51.100.1"))
        .expect("svcrack line");
    assert!(
        first_crack.contains("DROP") && first_crack.contains("scanner"),
        "{first_crack}"
    );
    assert!(first_crack.contains("ban 24h (scanner)"), "{first_crack}");
    // The phone knocks and registers: door opened for its binding time.
    assert!(out.lines().any(|l| l.contains("198.51.100.11")
        && l.contains("knock")
        && l.contains("open door 4000s")));
    assert!(out
        .lines()
        .any(|l| l.contains("200 OK (REGISTER)") && l.contains("open door 6m")));
    // Summary.
    let summary = out.split("== summary").nth(1).expect("summary");
    assert!(summary.contains("scanner             1"), "{summary}");
    assert!(
        summary.contains("bans at the end of the capture: 1"),
        "{summary}"
    );
    assert!(summary.contains("198.51.100.10"), "{summary}");
    assert!(summary.contains("via register"), "{summary}");
}

#[test]
fn a_policy_file_changes_the_verdicts() {
    let dir = std::env::temp_dir().join(format!("sipwall-replay-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let conf = dir.join("sipwall.toml");
    std::fs::write(
        &conf,
        "[sipwall]\nenabled = true\nmonitor = true\n\n[[domain]]\nhost = \"pbx.example.test\"\n",
    )
    .unwrap();
    let (code, out, err) = sipwall(&[
        "replay",
        "tests/fixtures/pcap/svmap.pcap",
        "tests/fixtures/pcap/legit_udp.pcap",
        "--config",
        conf.to_str().unwrap(),
    ]);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("monitor: on"), "{out}");
    let scan = out
        .lines()
        .find(|l| l.contains("OPTIONS sip:100@198.51.100.1"))
        .unwrap();
    assert!(
        scan.contains("accept") && scan.contains("monitor"),
        "{scan}"
    );
    assert!(scan.contains("would ban 24h (scanner)"), "{scan}");
    // No knock in this policy: the phone passes by its domain instead.
    assert!(out
        .lines()
        .any(|l| l.contains("198.51.100.11") && l.contains("domain")));
    assert!(out.contains("bans at the end of the capture: 0"), "{out}");
}

#[test]
fn errors_name_what_is_wrong() {
    let (code, _, err) = sipwall(&["replay"]);
    assert_eq!(code, 1);
    assert!(err.contains("at least one pcap file"), "{err}");
    let (code, _, err) = sipwall(&["replay", "no/such/file.pcap"]);
    assert_eq!(code, 1);
    assert!(err.contains("no/such/file.pcap"), "{err}");
}
