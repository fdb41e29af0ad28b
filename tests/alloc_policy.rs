//! Zero heap allocations per packet: a counting global allocator (this
//! test binary's own) proves that `Packet::parse` + `Engine::decide`
//! allocate nothing for REGISTER, OPTIONS, INVITE with SDP and the PBX's
//! answers — including the paths that write state: opening doors, banning,
//! counting failures, evicting under a many-source flood.
//!
//! The counter is per thread so the test harness's own threads do not
//! disturb the count.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

mod policy_support;

use policy_support::*;
use sipwall::packet::{Direction, Packet};
use sipwall::policy::{Millis, Reason};

struct Counting;

thread_local! {
    static ALLOCS: Cell<usize> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
        System.alloc(layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new: usize) -> *mut u8 {
        let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
        System.realloc(ptr, layout, new)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocs() -> usize {
    ALLOCS.with(|c| c.get())
}

/// Wraps a payload into an IPv4/UDP packet as the kernel hands it over.
fn ipv4_udp(src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let total = 20 + 8 + payload.len();
    let mut p = vec![
        0x45,
        0,
        (total >> 8) as u8,
        total as u8,
        0,
        0,
        0x40,
        0,
        64,
        17,
        0,
        0,
    ];
    p.extend_from_slice(&src);
    p.extend_from_slice(&dst);
    let ulen = 8 + payload.len();
    p.extend_from_slice(&[
        (sport >> 8) as u8,
        sport as u8,
        (dport >> 8) as u8,
        dport as u8,
    ]);
    p.extend_from_slice(&[(ulen >> 8) as u8, ulen as u8, 0, 0]);
    p.extend_from_slice(payload);
    p
}

#[test]
fn parse_and_decide_allocate_nothing_per_packet() {
    let mut c = config();
    c.capacity.sources = 256;
    c.capacity.bans = 256;
    c.capacity.doors = 64;
    c.capacity.pending_auth = 64;
    let mut e = engine(&c);

    let phone = [198, 51, 100, 11];
    let pbx = [198, 51, 100, 1];
    let register = fixture("sip/yealink_register.sip");
    let register_auth = Req::register("1001").creds("1001").cseq(2);
    let invite = fixture("sip/asterisk_invite_sdp.sip");
    let svmap = sipwall::pcap::Capture::new(fixture("pcap/svmap.pcap")).unwrap();
    let mut options_ip: Vec<u8> = svmap.packets().next().unwrap().unwrap().ip.to_vec();
    let first = Req::register("1001").ua("MicroSIP/3.21.3");
    let challenge = answer(&first, 401, "Unauthorized", None);
    let forbidden = answer(&register_auth, 403, "Forbidden", None);
    let ok = answer(&register_auth, 200, "OK", Some(300));

    let to_pbx = [
        ("REGISTER", ipv4_udp(phone, pbx, 5062, 5060, &register)),
        (
            "REGISTER+auth",
            ipv4_udp(phone, pbx, 5062, 5060, &register_auth.bytes()),
        ),
        (
            "INVITE+SDP",
            ipv4_udp([203, 0, 113, 5], pbx, 5060, 5060, &invite),
        ),
        (
            "attacker REGISTER",
            ipv4_udp([203, 0, 113, 7], pbx, 5062, 5060, &first.bytes()),
        ),
    ];
    let from_pbx = [
        (
            "401",
            ipv4_udp(pbx, [203, 0, 113, 7], 5060, 5062, &challenge),
        ),
        (
            "403",
            ipv4_udp(pbx, [203, 0, 113, 7], 5060, 5062, &forbidden),
        ),
        ("200 REGISTER", ipv4_udp(pbx, phone, 5060, 5062, &ok)),
    ];
    // Warm-up outside the count: first-use initialisation in std, if any.
    for (_, bytes) in &to_pbx {
        let p = Packet::parse(bytes, Direction::ToPbx).unwrap();
        e.decide(&p, Millis(1));
    }

    let junk = Req::invite("1002@198.51.100.1").bytes();
    let mut flood = ipv4_udp([0, 0, 0, 0], pbx, 5060, 5060, &junk);

    let before = allocs();
    let mut now = 10_000u64;
    let mut decided = 0u32;
    for round in 0..50u64 {
        now += 1000;
        for (_, bytes) in &to_pbx {
            let p = Packet::parse(bytes, Direction::ToPbx).unwrap();
            e.decide(&p, Millis(now));
            decided += 1;
        }
        for (_, bytes) in &from_pbx {
            let p = Packet::parse(bytes, Direction::FromPbx).unwrap();
            e.decide(&p, Millis(now));
            decided += 1;
        }
        // sipvicious OPTIONS from the capture: a scanner ban each round
        // (a new source address each time).
        options_ip[15] = round as u8; // last octet of the IPv4 source
        let p = Packet::parse(&options_ip, Direction::ToPbx).unwrap();
        assert_eq!(e.decide(&p, Millis(now)).reason, Reason::Scanner);
        decided += 1;
    }
    // A flood from 5000 addresses: trackers and bans evicted, never grown.
    for n in 0..5000u32 {
        flood[12..16].copy_from_slice(&(0xcb00_7100u32 + n).to_be_bytes());
        let p = Packet::parse(&flood, Direction::ToPbx).unwrap();
        e.decide(&p, Millis(now));
        decided += 1;
    }
    let after = allocs();
    assert_eq!(
        after - before,
        0,
        "{} allocations over {decided} decisions",
        after - before
    );
    // The counter does count: one Vec is one allocation.
    let probe = vec![0u8; 16];
    assert_eq!(allocs() - after, 1);
    drop(probe);
    let k = e.counters();
    assert!(k.auth_failures > 0 && k.bans.len > 0 && k.doors.len > 0);
    assert_eq!(k.sources.len, 256);
}
