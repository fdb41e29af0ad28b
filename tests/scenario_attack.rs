//! Attacks meet a live sipwall: real sipvicious (svmap, svwar, svcrack) from
//! the WAN namespace against the router's port forward, a real Kamailio
//! behind it, and counters on the PBX side that say what got through.
//! Needs root and tests/install/bed.sh; otherwise prints SKIP (fails under
//! SIPWALL_STRICT=1).

#[path = "bed/mod.rs"]
mod bed;

use std::time::Duration;

use bed::{Bed, Setup, ATTACKER, DOMAIN, OFFICE, ROUTER};

fn sleep_ms(ms: u64) {
    std::thread::sleep(Duration::from_millis(ms));
}

/// After the ban is in place, nothing more from the attacker reaches the
/// PBX: neither the established UDP flow nor a fresh run of `tool`.
fn assert_cut_off(bed: &Bed, tool: &str) {
    sleep_ms(300); // packets already past the router when the ban landed
    bed.count_reset();
    sleep_ms(1500); // the flow keeps sending every 100 ms meanwhile
    assert!(
        !bed.attack(tool, &["--domain", DOMAIN]),
        "{tool} learned something after its source was banned"
    );
    assert_eq!(
        bed.count("attacker"),
        0,
        "packets from the banned attacker reached the PBX after the ban (established flow or new requests)"
    );
}

#[test]
fn scanner_is_banned_on_first_sight_and_sipvicious_learns_nothing() {
    let Some(mut bed) = Bed::up("scn", Setup::default()) else {
        return;
    };
    bed.start_sipwall();
    assert!(
        !bed.attack("svmap", &[]),
        "svmap found the PBX through sipwall"
    );
    assert!(
        bed.wait_for(2, || bed.is_banned(ATTACKER)),
        "svmap's User-Agent 'friendly-scanner' did not get {ATTACKER} banned; `sipwall bans`:\n{}",
        bed.ctl(&["bans"]).1
    );
    assert!(
        !bed.attack("svwar", &[]),
        "svwar enumerated extensions through sipwall"
    );
    assert!(
        !bed.attack("svcrack", &[]),
        "svcrack cracked a password through sipwall"
    );
    assert_eq!(
        bed.count("attacker"),
        0,
        "a scanner's packet reached the PBX"
    );
}

#[test]
fn without_the_secret_sipvicious_learns_nothing_even_when_not_recognised() {
    // No scanner signatures: only the domain gate stands in the way.
    let setup = Setup {
        scanners: Some(Vec::new()),
        ..Setup::default()
    };
    let Some(mut bed) = Bed::up("gate", setup) else {
        return;
    };
    bed.start_sipwall();
    assert!(
        !bed.attack("svmap", &[]),
        "svmap found the PBX through the domain gate"
    );
    assert!(
        !bed.attack("svwar", &[]),
        "svwar enumerated extensions through the domain gate"
    );
    assert!(
        !bed.attack("svcrack", &[]),
        "svcrack cracked a password through the domain gate"
    );
    assert_eq!(
        bed.count("attacker"),
        0,
        "a request to sip:{ROUTER} reached the PBX"
    );
    // The phone that knows the domain still gets in.
    assert!(bed.phone(&[]), "the phone was not let in beside the attack");
}

#[test]
fn svwar_with_the_secret_domain_is_banned_and_its_established_flow_dies() {
    let Some(mut bed) = Bed::up("swar", Setup::default()) else {
        return;
    };
    bed.start_sipwall();
    // The attacker first holds an ordinary-looking flow that the PBX answers
    // (conntrack: established), then runs svwar from the same address.
    let (ok, out) = bed.sh(&["flow", "start", "60"]);
    assert!(ok, "flow: {out}");
    assert!(
        bed.wait_for(5, || bed.count("attacker") >= 5),
        "the attacker's innocent-looking flow did not reach the PBX (domain gate should let it in)"
    );
    assert!(
        !bed.attack("svwar", &["--domain", DOMAIN]),
        "svwar --domain enumerated extensions"
    );
    assert!(
        bed.wait_for(3, || bed.is_banned(ATTACKER)),
        "svwar --domain did not get {ATTACKER} banned; `sipwall bans`:\n{}",
        bed.ctl(&["bans"]).1
    );
    assert_cut_off(&bed, "svwar");
}

#[test]
fn svcrack_with_the_secret_domain_is_banned_after_the_configured_failures() {
    // Signatures off, so the PBX's 403s are what bans: 3 failures -> 1 h.
    let setup = Setup {
        scanners: Some(Vec::new()),
        tiers: vec![(3, 3600, 3600)],
        ..Setup::default()
    };
    let Some(mut bed) = Bed::up("crk", setup) else {
        return;
    };
    bed.start_sipwall();
    assert!(
        bed.phone(&[]),
        "the phone did not register before the attack"
    );
    let (ok, out) = bed.sh(&["flow", "start", "60"]);
    assert!(ok, "flow: {out}");
    assert!(
        bed.wait_for(5, || bed.count("attacker") >= 5),
        "the attacker's flow did not reach the PBX"
    );
    assert!(
        !bed.attack("svcrack", &["--domain", DOMAIN]),
        "svcrack --domain cracked the password (it is the 15th guess; the ban must come first)"
    );
    assert!(
        bed.wait_for(3, || bed.is_banned(ATTACKER)),
        "3 failed authentications did not ban {ATTACKER}; `sipwall bans`:\n{}",
        bed.ctl(&["bans"]).1
    );
    let (_, bans) = bed.ctl(&["bans"]);
    assert!(
        bans.contains("auth"),
        "the ban does not say it was for failed authentication:\n{bans}"
    );
    assert_cut_off(&bed, "svcrack");
    // The phone that registered keeps working while the attacker is banned.
    assert!(
        bed.phone(&["--proto", "udp"]),
        "the registered phone lost service (UDP) during the ban"
    );
    assert!(
        bed.phone(&["--proto", "tcp"]),
        "the registered phone lost service (TCP) during the ban"
    );
}

#[test]
fn allowlisted_source_failing_auth_many_times_is_never_banned() {
    let setup = Setup {
        allow: vec![format!("{OFFICE}/32")],
        tiers: vec![(2, 3600, 3600)],
        ..Setup::default()
    };
    let Some(mut bed) = Bed::up("alw", setup) else {
        return;
    };
    bed.start_sipwall();
    assert!(
        !bed.phone(&[
            "--from", OFFICE, "--user", "1004", "--pass", "wrong", "--count", "8", "--rate", "20"
        ]),
        "a wrong password was accepted by the PBX"
    );
    assert!(
        bed.count("office") >= 16,
        "the office's failing registrations did not reach the PBX"
    );
    sleep_ms(300);
    assert!(
        !bed.is_banned(OFFICE),
        "allowlisted {OFFICE} was banned:\n{}",
        bed.ctl(&["bans"]).1
    );
    assert!(
        bed.phone(&[
            "--from",
            OFFICE,
            "--user",
            "1004",
            "--pass",
            "office-pw",
            "--ruri",
            ROUTER
        ]),
        "allowlisted office could not register after its failures"
    );
}

/// A guesser that talks SIP itself (no sipvicious fingerprint) and
/// replays one nonce with rising CSeq in one dialog is banned after the
/// configured failures, and its probe flow is cut off. The ban is in the
/// kernel before the PBX's last 403 reaches the guesser, so a guess sent
/// the moment that answer arrives is already dropped.
#[test]
fn guesser_replaying_one_nonce_is_banned_after_the_configured_failures() {
    let setup = Setup::default();
    let failures = setup.tiers[0].0;
    let Some(mut bed) = Bed::up("nonc", setup) else {
        return;
    };
    bed.start_sipwall();
    let dst = format!("{ROUTER}:5060");
    let out = bed.netgen(&[
        "react",
        "--src",
        bed::STRANGER,
        "--dst",
        &dst,
        "--domain",
        DOMAIN,
        "--failures",
        &failures.to_string(),
        "--reuse-nonce",
    ]);
    eprintln!("[{}] {}", bed.name, out.trim());
    assert!(
        bed.is_banned(bed::STRANGER),
        "{failures} replayed-nonce failures did not ban the guesser:\n{out}"
    );
    assert!(
        out.contains(&format!("failures_answered={failures} ")),
        "the PBX's answer that triggered the ban did not reach the guesser:\n{out}"
    );
    assert!(
        out.contains("next_guess_answered=false"),
        "a guess sent the moment the banning 403 arrived still reached the PBX:\n{out}"
    );
    assert!(
        out.contains("cut_off=true"),
        "the guesser's flow was not cut off after the ban:\n{out}"
    );
}

/// Guesses that replay a valid nonce, each in a dialog of its own and never
/// challenged, travel in a flow the kernel already passes without asking
/// sipwall (marked inspected), so sipwall never sees them; the PBX's 403s
/// still count because the answer rules tell the daemon the flow is marked.
/// Kamailio and Asterisk accept a nonce again within its lifetime unless
/// nonce counting is on.
#[test]
fn guesser_replaying_one_nonce_in_fresh_dialogs_is_banned() {
    let Some(mut bed) = Bed::up("nonf", Setup::default()) else {
        return;
    };
    bed.start_sipwall();
    let dst = format!("{ROUTER}:5060");
    let out = bed.netgen(&[
        "react",
        "--src",
        bed::STRANGER,
        "--dst",
        &dst,
        "--domain",
        DOMAIN,
        "--failures",
        "4",
        "--reuse-nonce",
        "--fresh-call-id",
    ]);
    assert!(
        bed.is_banned(bed::STRANGER),
        "4 failed guesses in fresh dialogs did not ban the guesser:\n{out}"
    );
}

#[test]
fn over_ipv6_the_scanner_is_banned_and_the_phone_still_registers() {
    let Some(mut bed) = Bed::up("ipv6", Setup::default()) else {
        return;
    };
    bed.start_sipwall();
    assert!(
        bed.phone(&["--target", bed::ROUTER6, "--from", bed::PHONE6]),
        "IPv6 phone did not register"
    );
    assert!(
        !bed.attack6("svmap", &[]),
        "svmap -6 found the PBX over IPv6"
    );
    assert!(
        bed.wait_for(2, || bed.is_banned(bed::ATTACKER6)),
        "the IPv6 scanner {} was not banned:\n{}",
        bed::ATTACKER6,
        bed.ctl(&["bans"]).1
    );
    assert!(
        !bed.attack6("svcrack", &["--domain", DOMAIN]),
        "svcrack -6 --domain cracked a password"
    );
    assert_eq!(
        bed.count("attacker"),
        0,
        "the IPv6 scanner's packets reached the PBX"
    );
    assert!(
        bed.phone(&[
            "--target",
            bed::ROUTER6,
            "--from",
            bed::PHONE6,
            "--proto",
            "tcp"
        ]),
        "the IPv6 phone lost service (TCP) while the scanner was banned"
    );
}
