//! netgen: the bounded traffic generator and counting sink of sipwall's
//! network benchmarks (benches/net.sh). Every mode stops at a packet count
//! and a time limit, whichever comes first; it only ever talks to the
//! addresses it is given (the bench's namespaces).
//!
//!   netgen blast --src IP[:PORT] --dst IP:PORT [--count N] [--rate PPS] [--max-secs S] [--ruri HOST]
//!   netgen sink  --bind IP:PORT [--idle-ms MS] [--max-secs S]
//!   netgen spoof --dst IP:PORT --base IP --sources N [--count N] [--rate PPS] [--max-secs S] [--ruri HOST]
//!                [--ua UA] [--auth] [--vary-port]   (forged REGISTERs; --auth adds a digest
//!                answer to a forged nonce; --vary-port makes every packet a new flow)
//!   netgen react --src IP --dst IP:PORT --domain D --failures N [--probe-us US] [--reuse-nonce [--fresh-call-id]]
//!
//! Each prints one line of `key=value` pairs that net.sh reads.

mod sip;
mod sys;

use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

struct Opts(Vec<String>);

impl Opts {
    fn get(&self, name: &str) -> Option<&str> {
        let flag = format!("--{name}");
        let i = self.0.iter().position(|a| *a == flag)?;
        self.0.get(i + 1).map(|s| s.as_str())
    }
    fn num(&self, name: &str, default: u64) -> u64 {
        match self.get(name) {
            Some(v) => v
                .parse()
                .unwrap_or_else(|_| fail(&format!("--{name}: expected a number, got '{v}'"))),
            None => default,
        }
    }
    fn need(&self, name: &str) -> &str {
        self.get(name)
            .unwrap_or_else(|| fail(&format!("--{name} is required")))
    }
}

fn fail(msg: &str) -> ! {
    eprintln!("netgen: {msg}");
    std::process::exit(2)
}

fn sock_addr(s: &str, default_port: u16) -> SocketAddr {
    s.parse()
        .or_else(|_| {
            s.parse::<std::net::IpAddr>()
                .map(|ip| SocketAddr::new(ip, default_port))
        })
        .unwrap_or_else(|_| fail(&format!("'{s}' is not an address (IP or IP:PORT)")))
}

/// Paces a sender to `rate` packets/s (0 = as fast as it can).
struct Pace {
    start: Instant,
    rate: u64,
}

impl Pace {
    fn wait(&self, sent: u64) {
        if self.rate == 0 {
            return;
        }
        let due = self.start + Duration::from_nanos(sent.saturating_mul(1_000_000_000) / self.rate);
        let now = Instant::now();
        if due > now {
            std::thread::sleep(due - now);
        }
    }
}

fn blast(o: &Opts) {
    let src = sock_addr(o.need("src"), 0);
    let dst = sock_addr(o.need("dst"), 5060);
    let count = o.num("count", 200_000);
    let rate = o.num("rate", 0);
    let max = Duration::from_secs(o.num("max-secs", 30));
    let ruri = o.get("ruri").unwrap_or("pbx.example.test").to_string();
    let sock = UdpSocket::bind(src).unwrap_or_else(|e| fail(&format!("bind {src}: {e}")));
    sock.connect(dst)
        .unwrap_or_else(|e| fail(&format!("connect {dst}: {e}")));
    let local = sock.local_addr().map(|a| a.port()).unwrap_or(0);
    let payload = sip::register(&ruri, &src.ip().to_string(), local, 1, "Bench-Phone/1.0");
    let batch = if rate > 0 && rate < 20_000 { 1 } else { 32 };
    let mut bufs = vec![payload; batch];
    let pace = Pace {
        start: Instant::now(),
        rate,
    };
    let mut sent = 0u64;
    let mut errors = 0u64;
    while sent < count && pace.start.elapsed() < max {
        let n = ((count - sent) as usize).min(batch);
        match sys::send_batch(sock.as_raw_fd(), &mut bufs[..n], None) {
            Ok(k) => sent += k as u64,
            Err(_) => {
                errors += 1;
                std::thread::yield_now();
            }
        }
        pace.wait(sent);
    }
    let secs = pace.start.elapsed().as_secs_f64();
    println!(
        "sent={sent} secs={secs:.3} pps={:.0} errors={errors}",
        sent as f64 / secs
    );
}

fn sink(o: &Opts) {
    let bind = sock_addr(o.need("bind"), 5060);
    let idle = Duration::from_millis(o.num("idle-ms", 1000));
    let max = Duration::from_secs(o.num("max-secs", 60));
    let sock = UdpSocket::bind(bind).unwrap_or_else(|e| fail(&format!("bind {bind}: {e}")));
    sock.set_read_timeout(Some(Duration::from_millis(100))).ok();
    if let Err(e) = sys::force_rcvbuf(sock.as_raw_fd(), 32 << 20) {
        eprintln!("netgen: SO_RCVBUFFORCE: {e} (the sink may drop under load)");
    }
    println!("ready");
    let started = Instant::now();
    let mut bufs = vec![[0u8; 2048]; 64];
    let (mut n, mut first, mut last) = (0u64, None::<Instant>, started);
    while started.elapsed() < max {
        match sys::recv_batch(sock.as_raw_fd(), &mut bufs) {
            Ok(k) => {
                last = Instant::now();
                first.get_or_insert(last);
                n += k as u64;
            }
            Err(_) => {
                if first.is_some() && last.elapsed() > idle {
                    break;
                }
            }
        }
    }
    let secs = first.map(|f| (last - f).as_secs_f64()).unwrap_or(0.0);
    let pps = if secs > 0.0 { n as f64 / secs } else { 0.0 };
    println!("received={n} secs={secs:.3} pps={pps:.0}");
}

fn spoof(o: &Opts) {
    let dst = sock_addr(o.need("dst"), 5060);
    let SocketAddr::V4(dst) = dst else {
        fail("spoof: IPv4 only")
    };
    let base: Ipv4Addr = o
        .need("base")
        .parse()
        .unwrap_or_else(|_| fail("--base: an IPv4 address"));
    let sources = o.num("sources", 100_000).max(1);
    let count = o.num("count", 1_000_000);
    let rate = o.num("rate", 0);
    let max = Duration::from_secs(o.num("max-secs", 30));
    let ruri = o.get("ruri").unwrap_or("198.51.100.1").to_string();
    let ua = o.get("ua").unwrap_or("Bench-Flood/1.0").to_string();
    let raw =
        sys::RawV4::open().unwrap_or_else(|e| fail(&format!("raw socket (root needed): {e}")));
    let to = sys::SockAddrIn::new(*dst.ip(), dst.port());
    let base = u32::from(base);
    let vary_port = o.0.iter().any(|a| a == "--vary-port");
    let batch = 64usize;
    // One request, re-addressed per packet: only the IP source changes (the
    // filter keys on it; the Via keeps the first address, as spoofers do).
    let payload = sip::forged_register(
        &ruri,
        &Ipv4Addr::from(base).to_string(),
        &ua,
        o.0.iter().any(|a| a == "--auth"),
    );
    let template = sys::udp4_packet(Ipv4Addr::from(base), 5062, *dst.ip(), dst.port(), &payload);
    let mut bufs = vec![template; batch];
    let pace = Pace {
        start: Instant::now(),
        rate,
    };
    let (mut sent, mut errors) = (0u64, 0u64);
    while sent < count && pace.start.elapsed() < max {
        let n = ((count - sent) as usize).min(batch);
        for (k, b) in bufs[..n].iter_mut().enumerate() {
            let i = sent + k as u64;
            let src = base.wrapping_add((i % sources) as u32);
            b[12..16].copy_from_slice(&src.to_be_bytes());
            if vary_port {
                // A new source port per packet: every packet a new flow.
                let port = 1024 + (i % 60_000) as u16;
                b[20..22].copy_from_slice(&port.to_be_bytes());
            }
        }
        match sys::send_batch(raw.fd, &mut bufs[..n], Some(&to)) {
            Ok(k) => sent += k as u64,
            Err(_) => {
                errors += 1;
                std::thread::yield_now();
            }
        }
        pace.wait(sent);
    }
    let secs = pace.start.elapsed().as_secs_f64();
    println!(
        "sent={sent} secs={secs:.3} pps={:.0} sources={} errors={errors}",
        sent as f64 / secs,
        sources.min(sent)
    );
}

/// Reaction time: the attacker fails authentication `--failures` times
/// while a probe flow from the same address asks the PBX every
/// `--probe-us`; the last answered probe tells when the kernel started to
/// drop the source, relative to the arrival of the Nth failed answer.
fn react(o: &Opts) {
    let src: Ipv4Addr = o
        .need("src")
        .parse()
        .unwrap_or_else(|_| fail("--src: an IPv4 address"));
    let dst = sock_addr(o.need("dst"), 5060);
    let domain = o.need("domain").to_string();
    let failures = o.num("failures", 2).max(1);
    let reuse = o.0.iter().any(|a| a == "--reuse-nonce");
    // With --reuse-nonce: every replayed guess in a dialog of its own, never
    // challenged (the PBX still answers 403: the nonce is valid).
    let fresh = o.0.iter().any(|a| a == "--fresh-call-id");
    let probe_every = Duration::from_micros(o.num("probe-us", 250).max(50));
    let probe = UdpSocket::bind((src, 0)).unwrap_or_else(|e| fail(&format!("bind {src}: {e}")));
    probe
        .connect(dst)
        .unwrap_or_else(|e| fail(&format!("connect {dst}: {e}")));
    probe.set_read_timeout(Some(Duration::from_millis(50))).ok();
    let reg = UdpSocket::bind((src, 0)).unwrap_or_else(|e| fail(&format!("bind {src}: {e}")));
    reg.connect(dst)
        .unwrap_or_else(|e| fail(&format!("connect {dst}: {e}")));
    reg.set_read_timeout(Some(Duration::from_millis(1000))).ok();
    let t0 = Instant::now();
    let stop = Arc::new(AtomicBool::new(false));

    let sender = {
        let probe = probe
            .try_clone()
            .unwrap_or_else(|e| fail(&format!("clone: {e}")));
        let stop = stop.clone();
        let domain = domain.clone();
        let sport = probe.local_addr().map(|a| a.port()).unwrap_or(0);
        std::thread::spawn(move || {
            let mut sent: Vec<Duration> = Vec::new();
            let srcs = src.to_string();
            while !stop.load(Ordering::Relaxed) && t0.elapsed() < Duration::from_secs(20) {
                let seq = sent.len() as u64 + 1;
                sent.push(t0.elapsed());
                let _ = probe.send(&sip::options(&domain, &srcs, sport, seq));
                std::thread::sleep(probe_every);
            }
            sent
        })
    };
    let receiver = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut answered: Vec<(u64, Duration)> = Vec::new();
            let mut buf = [0u8; 4096];
            while !stop.load(Ordering::Relaxed) {
                if let Ok(n) = probe.recv(&mut buf) {
                    if let Some(seq) = sip::cseq(&buf[..n]) {
                        answered.push((seq, t0.elapsed()));
                    }
                }
            }
            answered
        })
    };
    // Warm up: the probe flow must be answered before the failures start.
    std::thread::sleep(Duration::from_millis(300));
    let srcs = src.to_string();
    let sport = reg.local_addr().map(|a| a.port()).unwrap_or(0);
    let mut buf = [0u8; 4096];
    // Each guess as svcrack and phones make it: a new dialog, challenged
    // (401), answered with a wrong digest (403). With --reuse-nonce the
    // guesser skips the challenge after the first and replays its nonce
    // with rising CSeq in one dialog (a cheaper guesser).
    let mut failed = Vec::new();
    let mut nonce = String::new();
    for k in 0..failures {
        let call_id = if reuse && !fresh {
            format!("guess-0@{srcs}")
        } else {
            format!("guess-{k}@{srcs}")
        };
        let cseq = if reuse { 2 + k } else { 2 };
        if !reuse || k == 0 {
            let _ = reg.send(&sip::guess(&domain, &srcs, sport, &call_id, cseq - 1, None));
            match reg.recv(&mut buf) {
                Ok(n) => match sip::nonce(&buf[..n]) {
                    Some(v) => nonce = v,
                    None => break,
                },
                Err(_) => break,
            }
        }
        let _ = reg.send(&sip::guess(
            &domain,
            &srcs,
            sport,
            &call_id,
            cseq,
            Some(&nonce),
        ));
        match reg.recv(&mut buf) {
            Ok(n) if matches!(sip::status(&buf[..n]), Some(401 | 403 | 407)) => {
                failed.push(t0.elapsed())
            }
            Ok(n) => eprintln!("netgen: unexpected answer {:?}", sip::status(&buf[..n])),
            Err(_) => break,
        }
    }
    // One more guess the moment the Nth failure is back: a guesser as fast
    // as the kernel. If the ban landed before that answer, it goes nowhere.
    let mut after_ban_answered = None;
    if failed.len() == failures as usize {
        let call_id = format!("guess-after@{srcs}");
        let _ = reg.send(&sip::guess(
            &domain,
            &srcs,
            sport,
            &call_id,
            1,
            Some(&nonce),
        ));
        reg.set_read_timeout(Some(Duration::from_millis(300))).ok();
        after_ban_answered = Some(reg.recv(&mut buf).is_ok());
    }
    std::thread::sleep(Duration::from_millis(700));
    stop.store(true, Ordering::Relaxed);
    let sent = sender.join().unwrap_or_default();
    let answered = receiver.join().unwrap_or_default();
    let Some(&t_fail) = failed.get(failures as usize - 1) else {
        println!(
            "failures_answered={} reaction_ms=NA note=the_Nth_failure_never_came_back",
            failed.len()
        );
        return;
    };
    let last_ok = answered.iter().map(|(s, _)| *s).max().unwrap_or(0);
    let ms = |d: Duration| d.as_secs_f64() * 1000.0 - t_fail.as_secs_f64() * 1000.0;
    let lo = sent.get(last_ok.saturating_sub(1) as usize).map(|d| ms(*d));
    let hi = sent.get(last_ok as usize).map(|d| ms(*d));
    let still_answered_at_end = sent.len() as u64 <= last_ok + 2;
    println!(
        "failures_answered={} probes_sent={} probes_answered={} last_answered_probe_ms={} first_dropped_probe_ms={} cut_off={} next_guess_answered={}",
        failed.len(),
        sent.len(),
        answered.len(),
        lo.map(|v| format!("{v:.2}")).unwrap_or("NA".into()),
        hi.map(|v| format!("{v:.2}")).unwrap_or("NA".into()),
        !still_answered_at_end,
        after_ban_answered.map_or("NA".into(), |b| b.to_string())
    );
}

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    if args.is_empty() {
        fail("usage: netgen blast|sink|spoof|react [options] (see src/main.rs)");
    }
    let mode = args.remove(0);
    let o = Opts(args);
    match mode.as_str() {
        "blast" => blast(&o),
        "sink" => sink(&o),
        "spoof" => spoof(&o),
        "react" => react(&o),
        m => fail(&format!("unknown mode '{m}': blast, sink, spoof or react")),
    }
}
