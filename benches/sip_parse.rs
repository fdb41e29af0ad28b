//! The SIP reader's cost per packet: `classify` plus every field the policy
//! reads, on the three packets the issue names (a phone's 400-byte
//! REGISTER, a sipvicious OPTIONS, a 1.2 kB trunk INVITE with SDP), all
//! taken from the fixtures so the bytes are real.
//!
//! Baseline, measured in the same run: finding the end of the header block
//! with a plain `windows(4)` search, i.e. the least any reader must do.
//!
//! The machine is shared, so each sample times blocks of 64 calls and keeps
//! the fastest block (preemption only ever adds time), as the policy bench
//! does. Run: `cargo bench --bench sip_parse` (results in benches/sip.md).

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use sipwall::packet::{Direction, Packet};
use sipwall::pcap::Capture;
use sipwall::sip::{classify, Host, Payload};

fn fixture(rel: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel)
}

/// The payload of the first packet of a capture.
fn first_payload(capture: &str) -> Vec<u8> {
    let cap = Capture::read(&fixture(capture)).expect("fixture capture");
    let rec = cap.packets().next().expect("a packet").expect("readable");
    Packet::parse(rec.ip, Direction::ToPbx)
        .expect("IP/UDP")
        .payload
        .to_vec()
}

/// Everything the policy looks at, folded into a number so that nothing is
/// optimised away.
fn read_policy_fields(payload: &[u8]) -> usize {
    match classify(payload) {
        Payload::Sip(m) => {
            let mut n = m.method().map_or(0, |x| x as usize);
            if let Some(u) = m.request_uri() {
                n += matches!(u.host, Host::Name(_)) as usize;
            }
            if let Some(t) = m.to() {
                n += t.uri.map_or(0, |u| u.host.is_ip() as usize) + t.tag.is_some() as usize;
            }
            n += m.from().and_then(|f| f.display_name).map_or(0, |d| d.len());
            n += m.user_agent().map_or(0, |u| u.len());
            n += m.contact_instance().map_or(0, |c| c.len());
            n += m.call_id().map_or(0, |c| c.len());
            n += m.cseq().map_or(0, |c| c.0 as usize);
            n += m
                .authorization()
                .and_then(|a| a.username)
                .map_or(0, |u| u.len());
            n
        }
        _ => 0,
    }
}

fn header_end_baseline(payload: &[u8]) -> usize {
    payload
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(0)
}

const BLOCK: u64 = 64;

/// Time for `iters` calls of `f`, extrapolated from the fastest block.
fn fastest_block(iters: u64, mut f: impl FnMut() -> usize) -> Duration {
    let mut best = Duration::MAX;
    for _ in 0..iters.div_ceil(BLOCK).max(1) {
        let t = Instant::now();
        for _ in 0..BLOCK {
            black_box(f());
        }
        best = best.min(t.elapsed());
    }
    best.mul_f64(iters as f64 / BLOCK as f64)
}

fn bench(c: &mut Criterion) {
    let inputs = [
        ("register_396B", first_payload("pcap/legit_udp.pcap")),
        ("sipvicious_options_404B", first_payload("pcap/svmap.pcap")),
        (
            "invite_sdp_1258B",
            std::fs::read(fixture("sip/asterisk_invite_sdp.sip")).expect("fixture"),
        ),
    ];
    let mut g = c.benchmark_group("sip");
    for (name, payload) in &inputs {
        assert!(read_policy_fields(payload) > 0, "{name} did not parse");
        g.throughput(Throughput::Elements(1));
        g.bench_function(format!("classify+fields/{name}"), |b| {
            b.iter_custom(|n| fastest_block(n, || read_policy_fields(black_box(payload))))
        });
        g.bench_function(format!("classify/{name}"), |b| {
            b.iter_custom(|n| {
                fastest_block(n, || {
                    matches!(classify(black_box(payload)), Payload::Sip(_)) as usize
                })
            })
        });
        g.bench_function(format!("baseline_header_end/{name}"), |b| {
            b.iter_custom(|n| fastest_block(n, || header_end_baseline(black_box(payload))))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
