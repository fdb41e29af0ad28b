//! The rule order on real message bytes: allowlist, bans, scanner
//! signatures, knocks, doors, the domain gate, the rate limit, flood bans,
//! monitor mode, and what happens to dialogs, keep-alives, TLS and garbage.
//! Time is a fake clock: every window and expiry is stepped explicitly.

mod policy_support;

use policy_support::*;
use sipwall::config::{AllowEntry, Knock, KnockPlaces};
use sipwall::packet::Transport;
use sipwall::policy::{BanCause, DoorVia, Effect, Reason, Verdict};

#[test]
fn lan_and_allowlisted_sources_pass_even_as_scanners() {
    let mut c = config();
    c.allow = vec![AllowEntry::Net("203.0.113.0/28".parse().unwrap())];
    let mut e = engine(&c);
    let scan = Req::options("100@198.51.100.1")
        .ua("friendly-scanner")
        .bytes();
    for src in ["192.168.1.42", "10.1.2.3", "203.0.113.5"] {
        let d = e.decide(&udp(src, &scan), secs(1));
        assert_eq!(
            (d.verdict, d.reason),
            (Verdict::Accept, Reason::Allowlisted),
            "{src}"
        );
        assert!(d.effects.is_empty());
    }
    // Just outside the allowlisted /28: an ordinary source, banned on sight.
    let d = e.decide(&udp("203.0.113.16", &scan), secs(1));
    assert_eq!((d.verdict, d.reason), (Verdict::Drop, Reason::Scanner));
    assert_eq!(e.bans(secs(1)).count(), 1);
}

#[test]
fn svmap_scanner_is_banned_for_a_day_and_then_dropped_as_banned() {
    let mut e = engine(&config());
    let hits = replay(&mut e, "svmap.pcap");
    let (who, line, d) = &hits[0];
    assert_eq!(line, "OPTIONS sip:100@198.51.100.1 SIP/2.0");
    assert_eq!((d.verdict, d.reason), (Verdict::Drop, Reason::Scanner));
    assert!(d.effects.iter().any(|x| *x
        == Effect::Ban {
            ip: *who,
            secs: Some(86400),
            cause: BanCause::Scanner
        }));
    // Its next request (any content) is dropped as banned, for 24 h.
    let hello = Req::register("1001").bytes();
    let ban = e.bans(secs(0)).next().expect("ban recorded");
    assert_eq!(ban.cause, BanCause::Scanner);
    let banned_at = ban.since;
    let d = e.decide(
        &udp(&who.to_string(), &hello),
        banned_at.saturating_add_secs(86399),
    );
    assert_eq!(d.reason, Reason::Banned);
    let d = e.decide(
        &udp(&who.to_string(), &hello),
        banned_at.saturating_add_secs(86401),
    );
    assert_eq!(d.reason, Reason::Domain, "a day later the ban is over");
}

#[test]
fn scanner_signature_matches_display_name_in_any_case() {
    let mut e = engine(&config());
    let req = Req::register("1001").display("SIPVicious").ua("curl");
    let d = e.decide(&udp(ATTACKER, &req.bytes()), secs(5));
    assert_eq!(d.reason, Reason::Scanner);
    // A custom list replaces the defaults.
    let mut c = config();
    c.scanners.signatures = vec!["EvilDialer".into()];
    let mut e = engine(&c);
    let d = e.decide(
        &udp(ATTACKER, &Req::register("1").ua("friendly-scanner").bytes()),
        secs(5),
    );
    assert_eq!(d.reason, Reason::Domain, "not in the custom list");
    let d = e.decide(
        &udp(ATTACKER, &Req::register("1").ua("evildialer/2").bytes()),
        secs(5),
    );
    assert_eq!(d.reason, Reason::Scanner);
}

#[test]
fn knock_in_display_name_opens_a_door_for_4000_s_refreshed_by_each_knock() {
    let mut e = engine(&config());
    let hits = replay(&mut e, "legit_udp.pcap");
    let (phone, _, d) = &hits[0];
    assert_eq!((d.verdict, d.reason), (Verdict::Accept, Reason::Knock));
    assert!(d.effects.iter().any(|x| *x
        == Effect::OpenDoor {
            ip: *phone,
            secs: 4000
        }));
    let door = e
        .doors(secs(0))
        .find(|x| x.ip == *phone)
        .expect("door open");
    // The pcap's 200 OK upgrades the knock door to a registered one.
    assert_eq!(door.via, DoorVia::Register);

    // A knock-only door: refreshed by each knocked request, closes 4000 s
    // after the last one.
    let mut e = engine(&config());
    let knocked = Req::register("1001").display("knock-7f3a").bytes();
    let plain = Req::invite("1002@198.51.100.1").bytes(); // IP literal: needs the door
    e.decide(&udp(PHONE, &knocked), secs(100));
    e.decide(&udp(PHONE, &knocked), secs(3000));
    let d = e.decide(&udp(PHONE, &plain), secs(6999));
    assert_eq!((d.verdict, d.reason), (Verdict::Accept, Reason::Door));
    let d = e.decide(&udp(PHONE, &plain), secs(7000));
    assert_eq!((d.verdict, d.reason), (Verdict::Drop, Reason::WrongDomain));
}

#[test]
fn knocks_look_only_where_configured_and_each_has_its_own_door_time() {
    let mut c = config();
    c.knocks = vec![
        Knock {
            name: "yealinks".into(),
            secret: "805ec0a1b2c3".into(),
            places: KnockPlaces {
                display_name: false,
                user_agent: false,
                instance: true,
            },
            door_secs: 600,
        },
        Knock {
            name: "softphones".into(),
            secret: "Zoiper-ABC".into(),
            places: KnockPlaces {
                display_name: false,
                user_agent: true,
                instance: false,
            },
            door_secs: 90,
        },
    ];
    let mut e = engine(&c);
    // The real Yealink REGISTER carries the instance UUID ending 805ec0a1b2c3.
    let yealink = fixture("sip/yealink_register.sip");
    let d = e.decide(&udp("198.51.100.42", &yealink), secs(10));
    assert_eq!(d.reason, Reason::Knock);
    assert!(d
        .effects
        .iter()
        .any(|x| matches!(x, Effect::OpenDoor { secs: 600, .. })));
    let door = e.doors(secs(10)).next().unwrap();
    assert_eq!(door.via, DoorVia::Knock("yealinks"));
    // Secret in the display name, but that knock only looks at the UA.
    let wrong_place = Req::invite("1002@198.51.100.1")
        .display("Zoiper-ABC")
        .bytes();
    let d = e.decide(&udp("198.51.100.43", &wrong_place), secs(10));
    assert_eq!(d.reason, Reason::WrongDomain);
    let right_place = Req::invite("1002@198.51.100.1")
        .ua("Zoiper-ABC 5.6")
        .bytes();
    let d = e.decide(&udp("198.51.100.43", &right_place), secs(10));
    assert_eq!(d.reason, Reason::Knock);
    assert!(d
        .effects
        .iter()
        .any(|x| matches!(x, Effect::OpenDoor { secs: 90, .. })));
    // Knock secrets are case-sensitive.
    let upper = Req::invite("1002@198.51.100.1").ua("ZOIPER-ABC").bytes();
    let d = e.decide(&udp("198.51.100.44", &upper), secs(10));
    assert_eq!(d.reason, Reason::WrongDomain);
}

#[test]
fn domain_gate_wants_the_domain_in_request_uri_and_for_register_in_to() {
    let mut e = engine(&config());
    let ok = [
        fixture("sip/yealink_register.sip"),
        fixture("sip/zoiper_register.sip"),
        fixture("sip/polycom_register_auth.sip"),
        Req::invite("1002@PBX.Example.TEST").bytes(),
        Req::invite("1002@pbx.example.test.").bytes(),
    ];
    for (i, m) in ok.iter().enumerate() {
        let d = e.decide(&udp(&format!("198.51.100.{}", 50 + i), m), secs(1));
        assert_eq!(
            (d.verdict, d.reason),
            (Verdict::Accept, Reason::Domain),
            "message {i}"
        );
    }
    let no_scanners = {
        let mut c = config();
        c.scanners.signatures.clear();
        c
    };
    let mut e = engine(&no_scanners);
    let bad = [
        Req::invite("1002@198.51.100.1").bytes(),
        Req::invite("1002@[2001:db8::10]").bytes(),
        Req::invite("1002@pbx.example.test.evil").bytes(),
        Req::register("1001").to("<sip:1001@198.51.100.1>").bytes(),
        Req::register("1001").ruri("sip:198.51.100.1").bytes(),
        fixture("sip/ipv6_invite.sip"),
    ];
    for (i, m) in bad.iter().enumerate() {
        let d = e.decide(&udp(&format!("203.0.113.{}", 10 + i), m), secs(1));
        assert_eq!(
            (d.verdict, d.reason),
            (Verdict::Drop, Reason::WrongDomain),
            "message {i}"
        );
        assert!(d
            .effects
            .iter()
            .any(|x| matches!(x, Effect::FirstDrop { .. })));
    }
    // svwar aimed at the IP, scanner list off: the gate alone stops it.
    let hits = replay(&mut e, "svwar.pcap");
    assert!(hits
        .iter()
        .filter(|(_, l, _)| l.starts_with("REGISTER"))
        .all(|(_, _, d)| d.reason == Reason::WrongDomain));
}

#[test]
fn rate_limit_drops_over_burst_and_refills_with_time() {
    let mut c = config();
    c.rate_limit.rate = 2;
    c.rate_limit.burst = 5;
    let mut e = engine(&c);
    let m = Req::options("1001@pbx.example.test").bytes();
    let reasons: Vec<Reason> = (0..7)
        .map(|_| e.decide(&udp(PHONE, &m), secs(10)).reason)
        .collect();
    assert_eq!(&reasons[..5], &[Reason::Domain; 5]);
    assert_eq!(&reasons[5..], &[Reason::RateLimited; 2]);
    // 2 per second: after 1 s two more pass, the third does not.
    let t = secs(11);
    assert_eq!(e.decide(&udp(PHONE, &m), t).reason, Reason::Domain);
    assert_eq!(e.decide(&udp(PHONE, &m), t).reason, Reason::Domain);
    assert_eq!(e.decide(&udp(PHONE, &m), t).reason, Reason::RateLimited);
    // Another source has its own bucket.
    assert_eq!(
        e.decide(&udp("198.51.100.99", &m), t).reason,
        Reason::Domain
    );
}

#[test]
fn a_source_that_keeps_being_dropped_gets_a_short_flood_ban() {
    let mut c = config();
    c.rate_limit.drops_before_ban = 50;
    c.rate_limit.drop_window_secs = 60;
    c.rate_limit.flood_ban_secs = 600;
    let mut e = engine(&c);
    let junk = Req::register("1")
        .ruri("sip:198.51.100.1")
        .to("<sip:1@198.51.100.1>")
        .bytes();
    for i in 0..49 {
        let d = e.decide(&udp(ATTACKER, &junk), secs(100 + i / 2));
        assert_eq!(d.reason, Reason::WrongDomain);
        assert!(!has_ban_effect(&d));
    }
    let d = e.decide(&udp(ATTACKER, &junk), secs(130));
    assert!(d.effects.iter().any(|x| *x
        == Effect::Ban {
            ip: ip(ATTACKER),
            secs: Some(600),
            cause: BanCause::Flood
        }));
    assert_eq!(
        e.decide(&udp(ATTACKER, &junk), secs(131)).reason,
        Reason::Banned
    );
    assert_eq!(
        e.decide(&udp(ATTACKER, &junk), secs(730)).reason,
        Reason::WrongDomain
    );
    // Drops spread thinner than the window never add up to a ban.
    let mut e = engine(&c);
    for i in 0..200 {
        let d = e.decide(&udp(ATTACKER, &junk), secs(i * 2));
        assert!(!has_ban_effect(&d), "drop {i}");
    }
}

#[test]
fn monitor_mode_accepts_what_it_would_drop_and_bans_nobody() {
    let mut c = config();
    c.global.monitor = true;
    let mut e = engine(&c);
    let d = e.decide(
        &udp(ATTACKER, &Req::invite("1@198.51.100.1").bytes()),
        secs(1),
    );
    assert_eq!((d.verdict, d.reason), (Verdict::Accept, Reason::Monitor));
    assert!(d.effects.iter().any(|x| *x
        == Effect::WouldDrop {
            ip: ip(ATTACKER),
            reason: Reason::WrongDomain
        }));
    let hits = replay(&mut e, "svmap.pcap");
    let d = &hits[0].2;
    assert_eq!((d.verdict, d.reason), (Verdict::Accept, Reason::Monitor));
    assert!(d.effects.iter().any(|x| matches!(
        x,
        Effect::WouldBan {
            cause: BanCause::Scanner,
            ..
        }
    )));
    assert!(!has_ban_effect(d));
    assert_eq!(e.bans(secs(1)).count(), 0);
    // Failed authentications: counted, ban only "would".
    let mut last = None;
    for n in 0..2 {
        last = Some(failed_attempt(
            &mut e,
            ATTACKER,
            n,
            403,
            secs(10 + n as u64),
        ));
    }
    let d = last.unwrap();
    assert!(d.effects.iter().any(|x| matches!(
        x,
        Effect::WouldBan {
            cause: BanCause::AuthFailures,
            ..
        }
    )));
    assert_eq!(e.bans(secs(20)).count(), 0);
    // Good traffic keeps its own reason.
    let d = e.decide(&udp(PHONE, &fixture("sip/yealink_register.sip")), secs(30));
    assert_eq!(d.reason, Reason::Domain);
}

#[test]
fn in_dialog_requests_pass_rate_limited_but_register_with_a_to_tag_is_gated() {
    let mut c = config();
    c.rate_limit.burst = 3;
    c.rate_limit.rate = 1;
    let mut e = engine(&c);
    // A BYE from the far end of a long call: Request-URI is the PBX's
    // Contact (an IP), To carries the PBX's tag.
    let bye = Req::invite("asterisk@198.51.100.1:5060")
        .method("BYE")
        .to("<sip:1002@pbx.example.test>;tag=as5bf765cf")
        .bytes();
    for _ in 0..3 {
        let d = e.decide(&udp("198.51.100.70", &bye), secs(1));
        assert_eq!((d.verdict, d.reason), (Verdict::Accept, Reason::Dialog));
    }
    assert_eq!(
        e.decide(&udp("198.51.100.70", &bye), secs(1)).reason,
        Reason::RateLimited
    );
    let tagged_register = Req::register("1001")
        .ruri("sip:198.51.100.1")
        .to("<sip:1001@198.51.100.1>;tag=x")
        .bytes();
    assert_eq!(
        e.decide(&udp("198.51.100.71", &tagged_register), secs(1))
            .reason,
        Reason::WrongDomain
    );
    // CANCEL and a non-2xx ACK carry the INVITE's Request-URI: same gate.
    let cancel = Req::invite("1002@pbx.example.test")
        .method("CANCEL")
        .bytes();
    assert_eq!(
        e.decide(&udp("198.51.100.72", &cancel), secs(1)).reason,
        Reason::Domain
    );
    let cancel_ip = Req::invite("1002@198.51.100.1").method("CANCEL").bytes();
    assert_eq!(
        e.decide(&udp("198.51.100.73", &cancel_ip), secs(1)).reason,
        Reason::WrongDomain
    );
}

#[test]
fn keep_alives_and_stun_pass_only_with_a_door() {
    let mut e = engine(&config());
    let mut stun = vec![0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42];
    stun.extend_from_slice(&[7; 12]);
    for payload in [
        &b"\r\n\r\n"[..],
        &stun[..],
        &b"\xde\xad\xbe\xef garbage"[..],
    ] {
        let d = e.decide(&udp(PHONE, payload), secs(1));
        assert_eq!((d.verdict, d.reason), (Verdict::Drop, Reason::NotSip));
    }
    e.decide(
        &udp(PHONE, &Req::register("1001").display("knock-7f3a").bytes()),
        secs(2),
    );
    for payload in [&b"\r\n\r\n"[..], &stun[..]] {
        let d = e.decide(&udp(PHONE, payload), secs(3));
        assert_eq!((d.verdict, d.reason), (Verdict::Accept, Reason::Door));
    }
}

#[test]
fn tls_client_hello_passes_on_the_secret_domain_in_sni() {
    let mut e = engine(&config());
    let hello = fixture("tls/client_hello_openssl.bin");
    let d = e.decide(&tcp(PHONE, &hello), secs(1));
    assert_eq!((d.verdict, d.reason), (Verdict::Accept, Reason::TlsSni));
    let no_sni = fixture("tls/client_hello_no_sni.bin");
    let d = e.decide(&tcp(ATTACKER, &no_sni), secs(1));
    assert_eq!((d.verdict, d.reason), (Verdict::Drop, Reason::TlsWrongSni));
    let mut other = config();
    other.domains = vec!["hk76dl34z.example.test".into()];
    let mut e = engine(&other);
    assert_eq!(
        e.decide(&tcp(PHONE, &hello), secs(1)).reason,
        Reason::TlsWrongSni
    );
}

#[test]
fn malformed_and_truncated_input_gets_a_verdict_never_a_panic() {
    let mut e = engine(&config());
    let no_call_id = b"INVITE sip:1@pbx.example.test SIP/2.0\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:1@pbx.example.test>\r\nCSeq: 1 INVITE\r\n\r\n";
    let d = e.decide(&udp(ATTACKER, no_call_id), secs(1));
    assert_eq!((d.verdict, d.reason), (Verdict::Drop, Reason::Malformed));
    // Every prefix of every fixture, both directions.
    let mut n = 0;
    for f in [
        "sip/asterisk_invite_sdp.sip",
        "sip/compact_folded.sip",
        "sip/asterisk_401.sip",
        "tls/client_hello_openssl.bin",
    ] {
        let bytes = fixture(f);
        for cut in 0..bytes.len() {
            let d = e.decide(&udp(ATTACKER, &bytes[..cut]), secs(2));
            n += 1;
            if d.verdict == Verdict::Accept {
                assert!(
                    matches!(d.reason, Reason::Domain | Reason::Dialog),
                    "{f}[..{cut}]: {d:?}"
                );
            }
            let d = e.decide(&from_pbx(ATTACKER, &bytes[..cut], Transport::Udp), secs(2));
            assert_eq!(d.verdict, Verdict::Accept, "answers always pass");
        }
    }
    assert!(n > 2000);
}

#[test]
fn every_decision_is_counted_under_its_reason() {
    let mut e = engine(&config());
    replay(&mut e, "svmap.pcap");
    replay(&mut e, "legit_udp.pcap");
    let c = e.counters();
    assert_eq!(c.reason(Reason::Scanner), 1);
    assert_eq!(c.reason(Reason::Knock), 2);
    assert_eq!(c.reason(Reason::Dialog), 3, "three answers from the PBX");
    assert_eq!(c.bans.len, 1);
    assert_eq!(c.doors.len, 1);
    assert_eq!(c.bans.capacity, 4096);
    let total: u64 = c.reasons.iter().sum();
    assert_eq!(total, 6);
    for r in Reason::ALL {
        assert_eq!(Reason::ALL[r.index()], r);
    }
}

#[test]
fn random_bytes_and_mutated_messages_never_panic() {
    // Deterministic xorshift so a failure reproduces.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut e = engine(&config());
    let seeds = [
        fixture("sip/asterisk_invite_sdp.sip"),
        fixture("sip/compact_folded.sip"),
        fixture("sip/grandstream_register_auth.sip"),
        answer(&Req::register("1").creds("1"), 401, "Unauthorized", None),
    ];
    let mut verdicts = [0u32; 2];
    for round in 0..20_000u64 {
        let mut buf = seeds[(round % 4) as usize].clone();
        // Flip, insert or cut a few bytes; every 8th round pure noise.
        if round % 8 == 0 {
            buf = (0..next() % 600).map(|_| next() as u8).collect();
        } else {
            for _ in 0..1 + next() % 6 {
                let at = (next() as usize) % buf.len().max(1);
                match next() % 3 {
                    0 if !buf.is_empty() => buf[at] = next() as u8,
                    1 => {
                        let special = b":;<>\"\r\n,=";
                        buf.insert(at.min(buf.len()), special[(next() % 9) as usize]);
                    }
                    _ => buf.truncate(at),
                }
            }
        }
        let src = format!("203.0.113.{}", round % 200);
        let d = e.decide(&udp(&src, &buf), secs(round / 10));
        verdicts[(d.verdict == sipwall::policy::Verdict::Accept) as usize] += 1;
        let d = e.decide(&from_pbx(&src, &buf, Transport::Udp), secs(round / 10));
        assert_eq!(d.verdict, Verdict::Accept);
    }
    assert!(verdicts[0] > 0 && verdicts[1] > 0, "{verdicts:?}");
}
