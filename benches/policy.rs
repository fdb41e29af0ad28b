//! Per-packet cost of the decision: `Packet::parse` (IP/UDP) + `classify`
//! + `Engine::decide`, on the three packets the issue names:
//!
//! * the test bed's 396-byte phone REGISTER (knock in the display name),
//! * sipvicious' OPTIONS from the svmap capture, each time from a new
//!   source (signature match + ban; the ban table fills and stays full),
//! * a 1.26 kB INVITE with SDP to the secret domain (full rule walk:
//!   signatures, knocks, domain gate, token bucket, request record).
//!
//! Sources rotate and the fake clock advances 1 ms per packet, so buckets,
//! trackers and tables behave as under real traffic rather than as one hot
//! entry. Baselines measured in the same run: the seed users' iptables
//! approach (search the payload for the domain string) and the reader
//! alone (parse + classify, no decision).
//!
//! The machine is shared (load average often > 10 on 2 cores), so each
//! sample is timed as chunks of 64 packets and the *fastest* chunk stands
//! for the sample: a chunk that was not preempted shows what a packet
//! costs; preemption only ever adds time. Criterion's statistics then run
//! over those samples as usual.
//!
//! Run: `cargo bench --bench policy` (results: benches/policy.md).

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use criterion::{criterion_group, Criterion, Throughput};
use sipwall::config::{Config, Knock, KnockPlaces};
use sipwall::packet::{Direction, Packet};
use sipwall::policy::{Engine, Millis, Policy};

fn fixture(rel: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(rel),
    )
    .expect("fixture")
}

/// The first IP packet of a capture.
fn first_ip_packet(pcap: &str) -> Vec<u8> {
    let cap = sipwall::pcap::Capture::new(fixture(pcap)).expect("pcap");
    let rec = cap.packets().next().expect("a packet").expect("readable");
    rec.ip.to_vec()
}

/// IPv4/UDP around a payload, as NFQUEUE hands it over.
fn ipv4_udp(payload: &[u8]) -> Vec<u8> {
    let total = 28 + payload.len();
    let ulen = 8 + payload.len();
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
    p.extend_from_slice(&[203, 0, 113, 5, 198, 51, 100, 1]);
    p.extend_from_slice(&[0x13, 0xc4, 0x13, 0xc4, (ulen >> 8) as u8, ulen as u8, 0, 0]);
    p.extend_from_slice(payload);
    p
}

fn config() -> Config {
    Config {
        domains: vec!["pbx.example.test".into()],
        knocks: vec![Knock {
            name: "phones".into(),
            secret: "knock-7f3a".into(),
            places: KnockPlaces {
                display_name: true,
                user_agent: true,
                instance: true,
            },
            door_secs: 4000,
        }],
        ..Config::default()
    }
}

/// Sets the IPv4 source (bytes 12..16) to the n-th address of 203.0.0.0/8.
fn set_source(pkt: &mut [u8], n: u32) {
    pkt[12..16].copy_from_slice(&(0xcb00_0000 | (n & 0x00ff_ffff)).to_be_bytes());
}

const CHUNK: u64 = 64;

/// Runs `f` `iters` times in chunks; returns the fastest chunk's time per
/// call, scaled back to `iters` calls.
fn fastest_chunks(iters: u64, mut f: impl FnMut()) -> Duration {
    let chunks = iters.div_ceil(CHUNK).max(1);
    let mut best = Duration::MAX;
    for _ in 0..chunks {
        let start = Instant::now();
        for _ in 0..CHUNK {
            f();
        }
        best = best.min(start.elapsed());
    }
    best / CHUNK as u32 * iters as u32
}

fn bench_packet(c: &mut Criterion, name: &str, mut pkt: Vec<u8>, sources: u32) {
    let mut engine = Engine::new(Policy::from_config(&config()));
    let mut g = c.benchmark_group(name);
    g.throughput(Throughput::Elements(1));
    let mut n = 0u32;
    let mut now = 1_000_000u64;
    g.bench_function("parse+decide", |b| {
        b.iter_custom(|iters| {
            fastest_chunks(iters, || {
                n = n.wrapping_add(1);
                now += 1;
                set_source(&mut pkt, n % sources);
                let p = Packet::parse(black_box(&pkt), Direction::ToPbx).expect("packet");
                black_box(engine.decide(&p, Millis(now)));
            })
        })
    });
    g.bench_function("baseline: parse+classify only", |b| {
        b.iter_custom(|iters| {
            fastest_chunks(iters, || {
                let p = Packet::parse(black_box(&pkt), Direction::ToPbx).expect("packet");
                black_box(matches!(
                    sipwall::sip::classify(p.payload),
                    sipwall::sip::Payload::Sip(_)
                ));
            })
        })
    });
    g.bench_function("baseline: iptables-style string match", |b| {
        b.iter_custom(|iters| {
            fastest_chunks(iters, || {
                let hay = black_box(&pkt[28..]);
                black_box(hay.windows(16).any(|w| w == b"pbx.example.test"));
            })
        })
    });
    g.finish();
}

fn packets() -> Vec<(&'static str, Vec<u8>, u32)> {
    let register = first_ip_packet("pcap/legit_udp.pcap");
    let options = first_ip_packet("pcap/svmap.pcap");
    let invite_text = String::from_utf8(fixture("sip/asterisk_invite_sdp.sip")).expect("text");
    let invite = ipv4_udp(
        invite_text
            .replace("trunk.example.test", "pbx.example.test")
            .as_bytes(),
    );
    vec![
        ("register_396B_knock", register, 4096),
        ("sipvicious_options_new_source", options, 1 << 24),
        ("invite_sdp_1260B_domain", invite, 4096),
    ]
}

fn policy(c: &mut Criterion) {
    for (name, pkt, sources) in packets() {
        bench_packet(c, name, pkt, sources);
    }
}

/// Instruction counting under callgrind: `SIPWALL_BENCH_LOOP=<packet>:<n>`
/// runs `n` parse+decide calls of one packet (register, options, invite)
/// in a plain loop, no criterion, so `valgrind --tool=callgrind` counts
/// what one packet costs regardless of the machine's load. A third field
/// `reader` times `Packet::parse` + `classify` only.
/// `SIPWALL_BENCH_SOURCES=<n>` changes how many sources rotate: the
/// REGISTER's 4096 exceed the default door capacity (1024), so each packet
/// there opens a door by evicting one; 1024 measures the plain refresh.
fn instruction_loop(spec: &str) {
    let mut parts = spec.split(':');
    let which = parts.next().unwrap_or("");
    let n = parts.next().unwrap_or("100000");
    let reader_only = parts.next() == Some("reader");
    let n: u32 = n.parse().expect("SIPWALL_BENCH_LOOP=<packet>:<count>");
    let (pkt, sources) = packets()
        .into_iter()
        .find(|(name, _, _)| name.starts_with(which))
        .map(|(_, p, s)| (p, s))
        .expect("packet: register, sipvicious or invite");
    let sources = match std::env::var("SIPWALL_BENCH_SOURCES") {
        Ok(n) => n.parse().expect("SIPWALL_BENCH_SOURCES=<count>"),
        Err(_) => sources,
    };
    let mut pkt = pkt;
    let mut engine = Engine::new(Policy::from_config(&config()));
    let mut now = 1_000_000u64;
    for i in 0..n {
        now += 1;
        set_source(&mut pkt, i % sources);
        let p = Packet::parse(black_box(&pkt), Direction::ToPbx).expect("packet");
        if reader_only {
            black_box(sipwall::sip::classify(p.payload));
        } else {
            black_box(engine.decide(&p, Millis(now)));
        }
    }
}

criterion_group!(benches, policy);

fn main() {
    if let Ok(spec) = std::env::var("SIPWALL_BENCH_LOOP") {
        instruction_loop(&spec);
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
