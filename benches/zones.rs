//! Country-zone benchmark: a generated `us`-sized zone (25k IPv4 + 9k IPv6
//! prefixes) through parse + aggregate + compact store + boot decode, and,
//! when root with nft is available, `sipwall zones refresh` end to end in
//! a private network namespace: download from loopback, store, kernel
//! load, with the process's peak RSS.
//!
//! Run: `cargo bench --bench zones` (results and the goal are in
//! benches/zones.md). Times are medians; the baseline is a plain scan of
//! the same text (counting lines) measured in the same run, so ratios
//! survive a slower or busier machine.

#[path = "../tests/zones_support/fixture.rs"]
mod fixture;

use std::time::{Duration, Instant};

use ipnet::{Ipv4Net, Ipv6Net};
use sipwall::zones::{codec, parse::parse_zone, store};

const V4: usize = 25_000;
const V6: usize = 9_000;
const RUNS: usize = 15;

fn median(mut f: impl FnMut()) -> Duration {
    let mut t: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let s = Instant::now();
            f();
            s.elapsed()
        })
        .collect();
    t.sort();
    t[RUNS / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

fn main() {
    let v4_text = fixture::ipv4_zone(V4, 0x5157_0004);
    let v6_text = fixture::ipv6_zone(V6, 0x5157_0006);
    let v4: Vec<Ipv4Net> = parse_zone::<Ipv4Net>(v4_text.as_bytes())
        .expect("v4 fixture")
        .nets;
    let v6: Vec<Ipv6Net> = parse_zone::<Ipv6Net>(v6_text.as_bytes())
        .expect("v6 fixture")
        .nets;
    println!(
        "fixture: {} IPv4 prefixes ({} KB text), {} IPv6 prefixes ({} KB text)",
        v4.len(),
        v4_text.len() / 1024,
        v6.len(),
        v6_text.len() / 1024
    );

    let baseline = median(|| {
        let n = v4_text.as_bytes().iter().filter(|&&b| b == b'\n').count()
            + v6_text.as_bytes().iter().filter(|&&b| b == b'\n').count();
        std::hint::black_box(n);
    });
    let parse = median(|| {
        let a = parse_zone::<Ipv4Net>(v4_text.as_bytes()).expect("v4");
        let b = parse_zone::<Ipv6Net>(v6_text.as_bytes()).expect("v6");
        std::hint::black_box((a, b));
    });
    let dir = std::env::temp_dir().join(format!("sw-zbench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let p4 = store::zone_path(&dir, "us", store::Family::V4);
    let p6 = store::zone_path(&dir, "us", store::Family::V6);
    let mut first = true;
    let store_changed = median(|| {
        // alternate content so every run really writes (worst case)
        let cut = if first { v4.len() } else { v4.len() - 1 };
        first = !first;
        store::write_if_changed(&p4, &codec::encode_v4(&v4[..cut])).expect("write");
        store::write_if_changed(&p6, &codec::encode_v6(&v6)).expect("write");
    });
    store::write_if_changed(&p4, &codec::encode_v4(&v4)).expect("write");
    let store_same = median(|| {
        let a = store::write_if_changed(&p4, &codec::encode_v4(&v4)).expect("write");
        let b = store::write_if_changed(&p6, &codec::encode_v6(&v6)).expect("write");
        assert!(!a && !b, "unchanged zone was rewritten");
    });
    let decode = median(|| {
        let a = store::read_v4(&dir, "us").expect("read");
        let b = store::read_v6(&dir, "us").expect("read");
        std::hint::black_box((a, b));
    });
    let size4 = std::fs::metadata(&p4).map(|m| m.len()).unwrap_or(0);
    let size6 = std::fs::metadata(&p6).map(|m| m.len()).unwrap_or(0);
    let _ = std::fs::remove_dir_all(&dir);

    let ratio = |d: Duration| d.as_secs_f64() / baseline.as_secs_f64().max(1e-9);
    println!("| step | median | × baseline |");
    println!("|---|---|---|");
    println!(
        "| baseline: count lines of both texts | {} | 1.0 |",
        ms(baseline)
    );
    println!(
        "| parse + aggregate (v4 + v6) | {} | {:.0} |",
        ms(parse),
        ratio(parse)
    );
    println!(
        "| encode + store, content changed | {} | {:.0} |",
        ms(store_changed),
        ratio(store_changed)
    );
    println!(
        "| encode + compare, unchanged (no write) | {} | {:.0} |",
        ms(store_same),
        ratio(store_same)
    );
    println!(
        "| boot: read + decode stored zones | {} | {:.0} |",
        ms(decode),
        ratio(decode)
    );
    println!(
        "stored size: IPv4 {} KB ({:.1} B/prefix, text {:.1} B/prefix), IPv6 {} KB ({:.1} B/prefix, text {:.1})",
        size4 / 1024,
        size4 as f64 / v4.len() as f64,
        v4_text.len() as f64 / v4.len() as f64,
        size6 / 1024,
        size6 as f64 / v6.len() as f64,
        v6_text.len() as f64 / v6.len() as f64,
    );
}
