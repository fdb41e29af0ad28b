//! Learning from the PBX's answers (failed authentications, ban tiers,
//! doors for registered phones) and the spoofing rule: which evidence
//! counts against whom. Fake clock throughout.

mod policy_support;

use policy_support::*;
use sipwall::config::{AllowEntry, BanTier};
use sipwall::packet::Transport;
use sipwall::policy::{BanCause, DoorVia, Effect, Reason, Verdict};

const HOUR: u64 = 3600;

#[test]
fn two_failures_within_an_hour_ban_for_an_hour() {
    let mut e = engine(&config());
    let d = failed_attempt(&mut e, ATTACKER, 1, 403, secs(1000));
    assert!(d.effects.iter().any(|x| *x
        == Effect::AuthFailed {
            ip: ip(ATTACKER),
            count: 1
        }));
    assert!(!has_ban_effect(&d));
    let d = failed_attempt(&mut e, ATTACKER, 2, 403, secs(1000 + HOUR - 1));
    assert_eq!(d.verdict, Verdict::Accept, "answers always pass");
    assert!(d.effects.iter().any(|x| *x
        == Effect::Ban {
            ip: ip(ATTACKER),
            secs: Some(3600),
            cause: BanCause::AuthFailures
        }));
    let t = secs(1000 + HOUR);
    let hello = Req::register("1001").bytes();
    assert_eq!(e.decide(&udp(ATTACKER, &hello), t).reason, Reason::Banned);
    assert_eq!(
        e.decide(&udp(ATTACKER, &hello), secs(1000 + 2 * HOUR))
            .reason,
        Reason::Domain
    );
}

#[test]
fn failures_further_apart_than_the_window_do_not_ban() {
    let mut e = engine(&config());
    for n in 0..5 {
        let d = failed_attempt(
            &mut e,
            ATTACKER,
            n,
            403,
            secs(10 + u64::from(n) * (HOUR + 1)),
        );
        assert!(!has_ban_effect(&d), "failure {n}");
    }
    assert_eq!(e.counters().auth_failures, 5);
}

#[test]
fn twelve_failures_in_a_day_ban_until_released() {
    let mut e = engine(&config());
    let mut t = 0;
    let mut bans = Vec::new();
    for n in 0..12 {
        // Two failures, then the attacker waits out the hour ban.
        t += if n % 2 == 0 { HOUR + 60 } else { 30 };
        let d = failed_attempt(&mut e, ATTACKER, n, 403, secs(t));
        bans.extend(d.effects.iter().filter_map(|x| match x {
            Effect::Ban { secs, .. } => Some(*secs),
            _ => None,
        }));
    }
    assert!(t < 24 * HOUR);
    assert_eq!(bans.len(), 6);
    assert!(bans[..5].iter().all(|s| *s == Some(3600)));
    assert_eq!(bans[5], None, "the 12th failure bans until released");
    let hello = Req::register("1001").bytes();
    assert_eq!(
        e.decide(&udp(ATTACKER, &hello), secs(t + 365 * 24 * HOUR))
            .reason,
        Reason::Banned
    );
    assert!(e.unban(ip(ATTACKER)));
    assert_eq!(
        e.decide(&udp(ATTACKER, &hello), secs(t + 10)).reason,
        Reason::Domain
    );
    // Released means a fresh start: one more failure is not a ban.
    let d = failed_attempt(&mut e, ATTACKER, 99, 403, secs(t + 20));
    assert!(!has_ban_effect(&d));
}

#[test]
fn configured_tiers_replace_the_defaults() {
    let mut c = config();
    c.ban_tiers = vec![BanTier {
        failures: 3,
        window_secs: 600,
        ban_secs: Some(120),
    }];
    let mut e = engine(&c);
    for n in 0..2 {
        assert!(!has_ban_effect(&failed_attempt(
            &mut e,
            ATTACKER,
            n,
            403,
            secs(100)
        )));
    }
    let d = failed_attempt(&mut e, ATTACKER, 2, 403, secs(100));
    assert!(d.effects.iter().any(|x| matches!(
        x,
        Effect::Ban {
            secs: Some(120),
            ..
        }
    )));
}

#[test]
fn a_phone_challenged_every_time_it_registers_is_never_banned() {
    let mut e = engine(&config());
    for n in 0..100 {
        let d = registers(&mut e, PHONE, Transport::Udp, secs(n * 300));
        assert!(!has_ban_effect(&d));
    }
    assert_eq!(e.counters().auth_failures, 0);
    assert_eq!(e.bans(secs(0)).count(), 0);
}

#[test]
fn asterisk_style_401_to_a_request_with_credentials_is_a_failure() {
    let mut e = engine(&config());
    let d1 = failed_attempt(&mut e, ATTACKER, 1, 401, secs(50));
    assert!(d1
        .effects
        .iter()
        .any(|x| matches!(x, Effect::AuthFailed { count: 1, .. })));
    let d2 = failed_attempt(&mut e, ATTACKER, 2, 401, secs(60));
    assert!(has_ban_effect(&d2));
}

#[test]
fn a_retransmitted_answer_is_not_a_second_failure() {
    let mut e = engine(&config());
    let req = Req::register("1001").creds("1001").cseq(2);
    let no = answer(&req, 403, "Forbidden", None);
    e.decide(&udp(ATTACKER, &req.bytes()), secs(1));
    e.decide(&from_pbx(ATTACKER, &no, Transport::Udp), secs(1));
    e.decide(&udp(ATTACKER, &req.bytes()), secs(2)); // phone retransmits
    let d = e.decide(&from_pbx(ATTACKER, &no, Transport::Udp), secs(2));
    assert!(!has_ban_effect(&d));
    assert_eq!(e.counters().auth_failures, 1);
}

#[test]
fn answers_to_requests_nobody_saw_are_not_failures_unless_they_reject_a_retry() {
    let mut e = engine(&config());
    // A 403 out of the blue (or to a request the kernel let through).
    let req = Req::invite("1002@pbx.example.test").creds("1001");
    let d = e.decide(
        &from_pbx(
            ATTACKER,
            &answer(&req, 403, "Forbidden", None),
            Transport::Udp,
        ),
        secs(1),
    );
    assert!(d.effects.is_empty());
    assert_eq!(e.counters().answers_uncorrelated, 1);
    // A source whose requests bypass the queue (a knock door): the PBX
    // challenges CSeq 1, then rejects CSeq 2 on the same Call-ID — the
    // retry that carried credentials.
    let src = "198.51.100.80";
    let first = Req::register("1001").call_id("door-1");
    let retry = first.clone().cseq(2);
    let d = e.decide(
        &from_pbx(
            src,
            &answer(&first, 401, "Unauthorized", None),
            Transport::Udp,
        ),
        secs(5),
    );
    assert!(d.effects.is_empty(), "a challenge is not a failure");
    let d = e.decide(
        &from_pbx(
            src,
            &answer(&retry, 401, "Unauthorized", None),
            Transport::Udp,
        ),
        secs(5),
    );
    assert!(d
        .effects
        .iter()
        .any(|x| matches!(x, Effect::AuthFailed { count: 1, .. })));
}

#[test]
fn svcrack_capture_is_banned_by_its_failures_when_the_signature_is_unknown() {
    // The capture aims at an IP literal (the gate would stop it) with a
    // known signature. To see learning alone, let its display name "1001"
    // be a knock and forget the signature: every attempt reaches the PBX.
    let mut c = config();
    c.scanners.signatures.clear();
    c.knocks[0].secret = "1001".into();
    let mut e = engine(&c);
    let hits = replay(&mut e, "svcrack.pcap");
    let banned_at = hits
        .iter()
        .position(|(_, _, d)| has_ban_effect(d))
        .expect("svcrack gets banned");
    let failures = hits[..=banned_at]
        .iter()
        .filter(|(_, l, _)| l.starts_with("SIP/2.0 403"))
        .count();
    assert_eq!(failures, 2, "banned at the second 403");
    assert!(hits[banned_at + 1..]
        .iter()
        .filter(|(_, l, _)| l.starts_with("REGISTER"))
        .all(|(_, _, d)| d.reason == Reason::Banned));
}

#[test]
fn a_2xx_to_register_opens_a_door_for_the_registration_time() {
    let mut e = engine(&config());
    let d = registers(&mut e, PHONE, Transport::Udp, secs(100));
    assert!(d.effects.iter().any(|x| *x
        == Effect::OpenDoor {
            ip: ip(PHONE),
            secs: 360
        }));
    let door = e.doors(secs(100)).next().unwrap();
    assert_eq!(door.via, DoorVia::Register);
    // With a door, a request to an IP literal passes (no knock needed).
    let call = Req::invite("1002@198.51.100.1").bytes();
    assert_eq!(e.decide(&udp(PHONE, &call), secs(459)).reason, Reason::Door);
    assert_eq!(
        e.decide(&udp(PHONE, &call), secs(460)).reason,
        Reason::WrongDomain
    );
    // A de-registration (Expires: 0) opens nothing and closes nothing.
    registers(&mut e, PHONE, Transport::Udp, secs(500));
    let bye = Req::register("1001").creds("1001").cseq(9);
    let d = e.decide(
        &from_pbx(PHONE, &answer(&bye, 200, "OK", Some(0)), Transport::Udp),
        secs(501),
    );
    assert!(d.effects.is_empty());
    assert!(has_door(&e, PHONE, secs(501)));
}

// ---- spoofing: which evidence counts against whom ------------------------

#[test]
fn forged_lan_or_allowlisted_addresses_can_never_be_banned() {
    let mut c = config();
    c.allow = vec![AllowEntry::Net("198.51.100.200/32".parse().unwrap())];
    c.rate_limit.drops_before_ban = 5;
    let mut e = engine(&c);
    for victim in ["192.168.1.42", "198.51.100.200"] {
        for n in 0..20 {
            failed_attempt(&mut e, victim, n, 403, secs(10));
        }
        let scan = Req::options("1@198.51.100.1")
            .ua("friendly-scanner")
            .bytes();
        for _ in 0..20 {
            e.decide(&udp(victim, &scan), secs(11));
            e.decide(&udp(victim, b"junk junk"), secs(11));
        }
        assert!(bans_of(&e, victim, secs(12)).is_empty(), "{victim}");
        assert!(e
            .ban(ip(victim), None, BanCause::Manual, secs(12))
            .is_empty());
        assert!(
            bans_of(&e, victim, secs(12)).is_empty(),
            "{victim}: even by hand"
        );
    }
    assert_eq!(e.counters().auth_failures, 0);
}

#[test]
fn forged_udp_from_a_registered_phone_neither_bans_it_nor_closes_its_door() {
    let mut c = config();
    c.rate_limit.drops_before_ban = 5;
    let mut e = engine(&c);
    registers(&mut e, PHONE, Transport::Udp, secs(100));
    // The forger, using the phone's address over UDP: a scanner signature,
    // failed logins, a flood.
    let scan = Req::options("1@198.51.100.1")
        .ua("friendly-scanner")
        .bytes();
    let d = e.decide(&udp(PHONE, &scan), secs(110));
    assert_eq!(
        (d.verdict, d.reason),
        (Verdict::Drop, Reason::Scanner),
        "the packet itself is dropped"
    );
    assert!(!has_ban_effect(&d));
    for n in 0..15 {
        let d = failed_attempt(&mut e, PHONE, n, 403, secs(120));
        assert!(!has_ban_effect(&d));
    }
    for _ in 0..100 {
        e.decide(&udp(PHONE, b"junk"), secs(130));
    }
    assert!(bans_of(&e, PHONE, secs(131)).is_empty());
    assert!(has_door(&e, PHONE, secs(131)), "the door stays open");
    assert!(e.counters().evidence_shielded >= 16);
    // The real phone carries on.
    let call = Req::invite("1002@pbx.example.test").bytes();
    assert_eq!(
        e.decide(&udp(PHONE, &call), secs(140)).verdict,
        Verdict::Accept
    );
}

#[test]
fn tcp_evidence_counts_against_a_registered_phone() {
    // Over TCP the handshake proved the address: that is the phone itself
    // (or whoever took it over).
    let mut e = engine(&config());
    registers(&mut e, PHONE, Transport::Udp, secs(100));
    let scan = Req::options("1@198.51.100.1").ua("sipvicious").bytes();
    let d = e.decide(&tcp(PHONE, &scan), secs(110));
    assert!(has_ban_effect(&d));
    assert!(!has_door(&e, PHONE, secs(110)), "a ban closes the door");
    assert_eq!(
        e.decide(&udp(PHONE, &Req::register("1001").bytes()), secs(111))
            .reason,
        Reason::Banned
    );
}

#[test]
fn failures_count_against_a_phone_that_only_knocked() {
    // A knock is a shared secret in clear text, not proof of an account:
    // until the PBX accepts a REGISTER, evidence counts as for anyone.
    let mut e = engine(&config());
    e.decide(
        &udp(PHONE, &Req::register("1001").display("knock-7f3a").bytes()),
        secs(1),
    );
    assert!(has_door(&e, PHONE, secs(1)));
    failed_attempt(&mut e, PHONE, 1, 403, secs(2));
    let d = failed_attempt(&mut e, PHONE, 2, 403, secs(3));
    assert!(has_ban_effect(&d));
    assert!(!has_door(&e, PHONE, secs(3)));
}

#[test]
fn once_the_registered_door_expires_evidence_counts_again() {
    let mut e = engine(&config());
    registers(&mut e, PHONE, Transport::Udp, secs(0));
    failed_attempt(&mut e, PHONE, 1, 403, secs(400));
    let d = failed_attempt(&mut e, PHONE, 2, 403, secs(401));
    assert!(has_ban_effect(&d));
}

#[test]
fn ipv4_mapped_ipv6_sources_are_the_same_source() {
    let mut e = engine(&config());
    let scan = Req::options("1@198.51.100.1")
        .ua("friendly-scanner")
        .bytes();
    e.decide(&udp("::ffff:203.0.113.66", &scan), secs(1));
    let d = e.decide(&udp(ATTACKER, &Req::register("1").bytes()), secs(2));
    assert_eq!(d.reason, Reason::Banned);
    // And a LAN address in mapped form is still the LAN.
    let d = e.decide(&udp("::ffff:192.168.1.42", &scan), secs(2));
    assert_eq!(d.reason, Reason::Allowlisted);
}

/// An answer on a flow the kernel passes without asking us (its conntrack
/// mark says inspected), as the daemon hands it over.
fn inspected<'a>(dst: &str, payload: &'a [u8]) -> sipwall::packet::Packet<'a> {
    sipwall::packet::Packet {
        flow_inspected: true,
        ..from_pbx(dst, payload, Transport::Udp)
    }
}

#[test]
fn a_403_in_an_inspected_flow_counts_once_even_without_the_request() {
    let mut e = engine(&config());
    // A guesser replays one nonce, each guess in a fresh dialog the kernel
    // lets through unseen: only the PBX's 403s reach sipwall.
    let guess1 = Req::register("1001").creds("1001").call_id("replay-1");
    let no1 = answer(&guess1, 403, "Forbidden", None);
    let d = e.decide(&inspected(ATTACKER, &no1), secs(10));
    assert!(d.effects.iter().any(|x| *x
        == Effect::AuthFailed {
            ip: ip(ATTACKER),
            count: 1
        }));
    // The PBX retransmits its 403 (the guesser retransmitted): still one.
    let d = e.decide(&inspected(ATTACKER, &no1), secs(11));
    assert!(d.effects.is_empty(), "a retransmission counted: {d:?}");
    // A 401 in such a flow may be an honest first challenge: not counted.
    let hello = Req::register("1002").call_id("replay-2");
    let d = e.decide(
        &inspected(ATTACKER, &answer(&hello, 401, "Unauthorized", None)),
        secs(12),
    );
    assert!(d.effects.is_empty(), "a first challenge counted: {d:?}");
    assert_eq!(e.counters().auth_failures, 1);
    // The second refused guess reaches the default tier: banned.
    let guess2 = Req::register("1001").creds("1001").call_id("replay-3");
    let d = e.decide(
        &inspected(ATTACKER, &answer(&guess2, 403, "Forbidden", None)),
        secs(13),
    );
    assert!(has_ban_effect(&d), "two refused guesses did not ban: {d:?}");
    // The same 403 on a flow that is not marked stays uncorrelated.
    let other = "203.0.113.67";
    let d = e.decide(
        &from_pbx(
            other,
            &answer(&guess2, 403, "Forbidden", None),
            Transport::Udp,
        ),
        secs(14),
    );
    assert!(d.effects.is_empty());
}

#[test]
fn a_403_in_an_inspected_flow_follows_the_spoofing_rule() {
    let mut c = config();
    c.allow
        .push(AllowEntry::Net("203.0.113.0/28".parse().unwrap()));
    let mut e = engine(&c);
    // A registered phone over UDP: forged 403-provoking guesses from its
    // address must neither ban it nor close its door.
    registers(&mut e, PHONE, Transport::Udp, secs(1));
    assert!(has_door(&e, PHONE, secs(1)));
    for n in 0..4 {
        let g = Req::register("1001")
            .creds("1001")
            .call_id(&format!("f{n}"));
        let d = e.decide(
            &inspected(PHONE, &answer(&g, 403, "Forbidden", None)),
            secs(2 + n),
        );
        assert!(!has_ban_effect(&d), "a registered phone was banned");
    }
    assert!(has_door(&e, PHONE, secs(10)), "the phone's door closed");
    // An allowlisted source: never.
    for n in 0..4 {
        let g = Req::register("1001")
            .creds("1001")
            .call_id(&format!("a{n}"));
        let d = e.decide(
            &inspected("203.0.113.5", &answer(&g, 403, "Forbidden", None)),
            secs(2 + n),
        );
        assert!(
            d.effects.is_empty(),
            "evidence against an allowlisted source"
        );
    }
    assert!(e.counters().evidence_shielded >= 4);
}
