//! Bounded state under attack: tables stay at their configured capacity,
//! many-address floods cannot push out real doors, bans or a brute
//! forcer's failure history; plus reloads, admin bans and housekeeping.

mod policy_support;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use policy_support::*;
use sipwall::config::{AllowEntry, Config, Knock, KnockPlaces};
use sipwall::packet::Transport;
use sipwall::policy::{BanCause, DoorVia, Effect, Policy, Reason, Verdict};

/// The n-th of many distinct attacker addresses (IPv6 documentation range).
fn many(n: u32) -> String {
    Ipv6Addr::new(0x2001, 0xdb8, 0xbad, 0, 0, 0, (n >> 16) as u16, n as u16).to_string()
}

fn small(c: &mut Config) {
    c.capacity.doors = 64;
    c.capacity.bans = 256;
    c.capacity.sources = 512;
    c.capacity.pending_auth = 64;
}

#[test]
fn a_100k_source_flood_keeps_every_table_at_capacity() {
    let mut c = config();
    small(&mut c);
    c.scanners.signatures.clear();
    let mut e = engine(&c);
    let junk = Req::invite("1002@198.51.100.1").bytes();
    let good = Req::invite("1002@pbx.example.test").bytes();
    for n in 0..100_000 {
        let payload = if n % 2 == 0 { &junk } else { &good };
        let d = e.decide(&udp(&many(n), payload), secs(1000 + u64::from(n) / 1000));
        assert!(d.verdict == Verdict::Drop || d.reason == Reason::Domain);
    }
    let k = e.counters();
    assert_eq!(k.sources.len, 512);
    assert_eq!(k.sources.capacity, 512);
    assert!(k.sources.evictions >= 99_000);
    assert!(k.pending.len <= k.pending.capacity);
    assert_eq!(k.pending.capacity, 64);
    assert_eq!(k.reason(Reason::WrongDomain), 50_000);
}

#[test]
fn a_brute_forcers_failures_outlive_a_crowd_of_one_packet_sources() {
    let mut c = config();
    small(&mut c);
    c.scanners.signatures.clear();
    let mut e = engine(&c);
    failed_attempt(&mut e, ATTACKER, 1, 403, secs(100));
    // 20 000 spoofed one-packet sources churn the 512-entry tracker table.
    let junk = Req::invite("1002@198.51.100.1").bytes();
    for n in 0..20_000 {
        e.decide(&udp(&many(n), &junk), secs(200));
    }
    // Trackers with failures are evicted last: the second failure still
    // finds the first and bans.
    let d = failed_attempt(&mut e, ATTACKER, 2, 403, secs(300));
    assert!(has_ban_effect(&d), "failure history was evicted");
}

#[test]
fn scanner_bans_from_many_addresses_never_evict_auth_bans() {
    let mut c = config();
    small(&mut c);
    let mut e = engine(&c);
    // 200 brute forcers banned for failures (of 256 slots).
    let mut brute = Vec::new();
    for n in 0..200u32 {
        let src = Ipv4Addr::from(0xcb00_7100 + n).to_string(); // 203.0.113.x and beyond
        failed_attempt(&mut e, &src, 1, 403, secs(10));
        let d = failed_attempt(&mut e, &src, 2, 403, secs(11));
        assert!(has_ban_effect(&d));
        brute.push(src);
    }
    // 10 000 spoofed scanner packets: each asks for a ban.
    let scan = Req::options("1@198.51.100.1")
        .ua("friendly-scanner")
        .bytes();
    let mut refused_but_sent = 0;
    for n in 0..10_000 {
        let d = e.decide(&udp(&many(n), &scan), secs(20));
        assert_eq!(d.reason, Reason::Scanner);
        if has_ban_effect(&d) {
            refused_but_sent += 1;
        }
    }
    assert_eq!(refused_but_sent, 10_000, "the kernel is always told");
    let k = e.counters();
    assert_eq!(k.bans.len, 256);
    assert!(k.bans.refused > 0);
    let t = secs(30);
    for src in &brute {
        assert_eq!(bans_of(&e, src, t).len(), 1, "{src} lost its ban");
    }
    // Room made by an admin is used at once by the next ban.
    assert!(e.unban(ip(&brute[0])));
    let refused = e.counters().bans.refused;
    e.decide(&udp("198.51.100.249", &scan), secs(21));
    assert_eq!(bans_of(&e, "198.51.100.249", secs(21)).len(), 1);
    assert_eq!(e.counters().bans.refused, refused);
    // A graver ban (until released) may displace scanner bans.
    let d = e.ban(ip("198.51.100.250"), None, BanCause::Manual, t);
    assert!(d.iter().any(|x| matches!(x, Effect::Ban { .. })));
    assert_eq!(bans_of(&e, "198.51.100.250", t).len(), 1);
}

#[test]
fn a_leaked_knock_cannot_push_out_registered_doors() {
    let mut c = config();
    small(&mut c); // 64 doors
    let mut e = engine(&c);
    let phones: Vec<String> = (0..40)
        .map(|n| Ipv4Addr::new(198, 51, 100, 100 + n).to_string())
        .collect();
    for p in &phones {
        let d = registers(&mut e, p, Transport::Udp, secs(10));
        assert!(d
            .effects
            .iter()
            .any(|x| matches!(x, Effect::OpenDoor { .. })));
    }
    let knocked = Req::register("1001").display("knock-7f3a").bytes();
    for n in 0..5000 {
        let d = e.decide(&udp(&many(n), &knocked), secs(20));
        assert_eq!(d.verdict, Verdict::Accept);
    }
    let k = e.counters();
    assert_eq!(k.doors.len, 64);
    assert!(k.doors.evictions > 0);
    for p in &phones {
        let door = e.doors(secs(21)).find(|d| d.ip == ip(p));
        assert_eq!(
            door.map(|d| d.via),
            Some(DoorVia::Register),
            "{p} lost its door"
        );
    }
}

#[test]
fn a_registered_door_lasts_as_long_as_the_phones_own_binding() {
    // The capture's 200 OK lists every binding of 1001 (1549, 1598 and
    // 300 s); the phone's own (198.51.100.11) is 300 s: door = 300 + 60 s.
    let mut e = engine(&config());
    let hits = replay(&mut e, "legit_udp.pcap");
    let ok = hits
        .iter()
        .find(|(_, l, _)| l.starts_with("SIP/2.0 200"))
        .unwrap();
    assert!(ok
        .2
        .effects
        .iter()
        .any(|x| matches!(x, Effect::OpenDoor { secs: 360, .. })));
}

#[test]
fn expire_forgets_what_ran_out_and_keeps_what_did_not() {
    let mut e = engine(&config());
    let scan = Req::options("1@198.51.100.1")
        .ua("friendly-scanner")
        .bytes();
    e.decide(&udp(ATTACKER, &scan), secs(0));
    e.decide(
        &udp(PHONE, &Req::register("1").display("knock-7f3a").bytes()),
        secs(0),
    );
    e.decide(
        &udp("198.51.100.30", &Req::invite("1@198.51.100.1").bytes()),
        secs(0),
    );
    assert_eq!(e.counters().sources.len, 1);
    e.expire(secs(3999));
    assert_eq!((e.counters().bans.len, e.counters().doors.len), (1, 1));
    e.expire(secs(4000));
    assert_eq!((e.counters().bans.len, e.counters().doors.len), (1, 0));
    e.expire(secs(86400));
    assert_eq!(e.counters().bans.len, 0);
    assert_eq!(
        e.counters().sources.len,
        0,
        "idle trackers go after the longest window"
    );
}

#[test]
fn reload_keeps_doors_bans_and_failures_and_releases_newly_allowlisted() {
    let mut e = engine(&config());
    let scan = Req::options("1@198.51.100.1")
        .ua("friendly-scanner")
        .bytes();
    e.decide(&udp(ATTACKER, &scan), secs(1));
    e.decide(&udp("198.51.100.77", &scan), secs(1));
    e.decide(
        &udp(PHONE, &Req::register("1").display("knock-7f3a").bytes()),
        secs(1),
    );
    failed_attempt(&mut e, "198.51.100.31", 1, 403, secs(1));

    let mut c = config();
    c.allow = vec![AllowEntry::Net("198.51.100.77/32".parse().unwrap())];
    c.knocks.insert(
        0,
        Knock {
            name: "trunks".into(),
            secret: "trunk-9".into(),
            places: KnockPlaces {
                display_name: true,
                user_agent: false,
                instance: false,
            },
            door_secs: 60,
        },
    );
    c.capacity.bans = 1000; // re-sized table keeps its content
    e.replace_policy(Policy::from_config(&c));
    assert_eq!(bans_of(&e, ATTACKER, secs(2)).len(), 1);
    assert!(
        bans_of(&e, "198.51.100.77", secs(2)).is_empty(),
        "allowlisted now"
    );
    assert_eq!(e.counters().bans.capacity, 1000);
    let door = e.doors(secs(2)).next().unwrap();
    assert_eq!(
        door.via,
        DoorVia::Knock("phones"),
        "door still names its knock"
    );
    let d = failed_attempt(&mut e, "198.51.100.31", 2, 403, secs(3));
    assert!(has_ban_effect(&d), "failure history survived the reload");
    // A knock removed by a reload: its doors stay until they expire.
    let mut c2 = config();
    c2.knocks.clear();
    e.replace_policy(Policy::from_config(&c2));
    assert_eq!(
        e.doors(secs(4)).next().unwrap().via,
        DoorVia::Knock("(removed knock)")
    );
}

#[test]
fn admin_bans_and_releases_and_lists() {
    let mut e = engine(&config());
    let fx = e.ban(ip(ATTACKER), Some(600), BanCause::Manual, secs(100));
    assert_eq!(
        fx.iter().copied().collect::<Vec<_>>(),
        vec![Effect::Ban {
            ip: ip(ATTACKER),
            secs: Some(600),
            cause: BanCause::Manual
        }]
    );
    let b = e.bans(secs(100)).next().unwrap();
    assert_eq!(
        (b.ip, b.cause, b.since, b.until),
        (ip(ATTACKER), BanCause::Manual, secs(100), Some(secs(700)))
    );
    assert_eq!(
        e.decide(&udp(ATTACKER, &Req::register("1").bytes()), secs(699))
            .reason,
        Reason::Banned
    );
    assert_eq!(e.bans(secs(700)).count(), 0);
    // Restoring a persisted permanent ban, then releasing it.
    e.ban(ip("2001:db8::66"), None, BanCause::AuthFailures, secs(800));
    assert_eq!(e.bans(secs(10_000_000)).count(), 1);
    assert!(e.unban(ip("2001:db8::66")));
    assert!(!e.unban(ip("2001:db8::66")));
    assert_eq!(e.bans(secs(900)).count(), 0);
}

#[test]
fn resolved_allow_hosts_are_trusted_and_released() {
    let mut c = config();
    c.allow = vec![AllowEntry::Host("office.dyndns.example".into())];
    let mut e = engine(&c);
    assert_eq!(
        e.policy().allow_hosts(),
        &["office.dyndns.example".to_string()]
    );
    let office: IpAddr = ip("203.0.113.9");
    e.ban(office, None, BanCause::Manual, secs(1));
    e.set_allow_hosts(&[office]);
    assert_eq!(e.bans(secs(2)).count(), 0);
    let scan = Req::options("1@198.51.100.1")
        .ua("friendly-scanner")
        .bytes();
    assert_eq!(
        e.decide(&udp("203.0.113.9", &scan), secs(3)).reason,
        Reason::Allowlisted
    );
}

#[test]
fn block_list_drops_as_banned() {
    let mut c = config();
    c.block = vec!["203.0.113.0/24".parse().unwrap()];
    let mut e = engine(&c);
    let d = e.decide(
        &udp(ATTACKER, &fixture("sip/yealink_register.sip")),
        secs(1),
    );
    assert_eq!((d.verdict, d.reason), (Verdict::Drop, Reason::Banned));
}

#[test]
fn state_memory_is_fixed_and_fits_a_small_router() {
    let mut e = engine(&config());
    let before = e.state_bytes();
    let junk = Req::invite("1002@198.51.100.1").bytes();
    for n in 0..20_000 {
        e.decide(&udp(&many(n), &junk), secs(1));
    }
    assert_eq!(e.state_bytes(), before);
    eprintln!("state with default capacities: {before} bytes");
    assert!(before < 10 * 1024 * 1024, "{before} bytes");
}
