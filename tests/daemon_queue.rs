//! The queue loop against the real kernel: sipwall's NFQUEUE code (two
//! queues on one socket, drained batches, batch verdicts with the inspected
//! mark, overload accounting) in a network namespace with hand-written
//! iptables rules, independent of the firewall backends. Needs root.

#[path = "daemon_support/mod.rs"]
mod support;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sipwall::daemon::nfqueue::{kernel_queues, KernelQueue, QueueSetup, QueueStats, Queues, Which};
use sipwall::daemon::verdicts::Kernel;
use sipwall::packet::{Direction, Packet};
use support::{in_ns, options, Pair, Responder, DOMAIN, SERVER};

const MARK: u32 = 0x005a_0000;
const QUEUE: u16 = 5060;

/// Rules in the server namespace: marked packets pass, other SIP requests
/// go to the requests queue (fail-closed), the server's answers to the
/// answers queue (bypass).
fn rules(pair: &Pair) {
    let mark = format!("{MARK:#x}/{MARK:#x}");
    for rule in [
        vec![
            "-A", "INPUT", "-p", "udp", "--dport", "5060", "-m", "mark", "--mark", &mark, "-j",
            "ACCEPT",
        ],
        vec![
            "-A",
            "INPUT",
            "-p",
            "udp",
            "--dport",
            "5060",
            "-j",
            "NFQUEUE",
            "--queue-num",
            "5060",
        ],
        vec![
            "-A",
            "OUTPUT",
            "-p",
            "udp",
            "--sport",
            "5060",
            "-j",
            "NFQUEUE",
            "--queue-num",
            "5061",
            "--queue-bypass",
        ],
    ] {
        let mut cmd = vec!["iptables"];
        cmd.extend(rule);
        let (ok, out) = pair.exec(&pair.server, &cmd);
        assert!(ok, "{}: {out}", cmd.join(" "));
    }
}

/// The queue loop on its own thread inside the server namespace: drops
/// requests addressed to a bare IP, lets the rest through. Returns the
/// loop's counters when `stop` is set.
fn serve(
    ns: &str,
    setup: QueueSetup,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<(QueueStats, usize, Vec<KernelQueue>)> {
    let (tx, rx) = std::sync::mpsc::channel();
    let h = in_ns(ns, move || {
        let mut q = Queues::open(setup).expect("open queues");
        let rcvbuf = q.rcvbuf;
        let _ = tx.send(());
        while !stop.load(Ordering::Relaxed) {
            let mut p = q.fds().map(|fd| libc::pollfd {
                fd,
                events: libc::POLLIN,
                revents: 0,
            });
            // SAFETY: two valid pollfds.
            unsafe { libc::poll(p.as_mut_ptr(), 2, 50) };
            while q.serve(MARK, &mut judge).total() > 0 {}
        }
        let stats = q.stats.clone();
        let kernel = kernel_queues();
        q.close();
        (stats, rcvbuf, kernel)
    });
    rx.recv_timeout(Duration::from_secs(5))
        .expect("queues bound");
    h
}

fn judge(q: &sipwall::daemon::nfqueue::Queued<'_>) -> Kernel {
    if q.which == Which::Answers {
        return Kernel::Accept;
    }
    match Packet::parse(q.bytes, Direction::ToPbx) {
        Ok(p)
            if request_line(p.payload).starts_with(format!("OPTIONS sip:{DOMAIN} ").as_bytes()) =>
        {
            Kernel::Repeat
        }
        _ => Kernel::Drop,
    }
}

fn request_line(payload: &[u8]) -> &[u8] {
    let end = payload
        .iter()
        .position(|b| *b == b'\r')
        .unwrap_or(payload.len());
    &payload[..end]
}

#[test]
fn verdicts_reach_the_kernel_and_nothing_passes_uninspected() {
    let Some(pair) = Pair::up("q", &["iptables"]) else {
        return;
    };
    rules(&pair);
    let pbx = Responder::start(&pair.server);
    let stop = Arc::new(AtomicBool::new(false));
    let setup = QueueSetup::new(QUEUE, 1024, false);
    let loop_ = serve(&pair.server, setup, stop.clone());
    let to: SocketAddr = format!("{SERVER}:5060").parse().unwrap();

    // One request each way: the domain passes (and is answered through the
    // answers queue), the bare IP is dropped.
    let ok = support::ask(
        &pair.client,
        to,
        options(&format!("sip:{DOMAIN}"), 1),
        Duration::from_secs(2),
    );
    assert_eq!(
        ok.as_deref(),
        Some("SIP/2.0 200 OK"),
        "OPTIONS to the domain got no answer"
    );
    let bad = support::ask(
        &pair.client,
        to,
        options(&format!("sip:{SERVER}"), 2),
        Duration::from_millis(500),
    );
    assert_eq!(bad, None, "OPTIONS to a bare IP was answered");
    assert_eq!(pbx.count(), 1, "the PBX saw the dropped request");

    // A bounded paced stream: every packet is judged, none is lost, and the
    // PBX sees exactly the accepted ones.
    let sent_ok = support::blast(
        &pair.client,
        to,
        options(&format!("sip:{DOMAIN}"), 3),
        3000,
        20_000,
        Duration::from_secs(10),
    );
    let sent_bad = support::blast(
        &pair.client,
        to,
        options(&format!("sip:{SERVER}"), 4),
        1000,
        20_000,
        Duration::from_secs(10),
    );
    support::wait_for(5, || pbx.count() > sent_ok);
    let paced_seen = pbx.count();

    // Unpaced blast: more than the loop can take. Report the rates, and
    // check that overload is fail-closed and visible: whatever the PBX got
    // had a verdict, and what the queue did not judge was counted.
    let before = pbx.count();
    let t0 = Instant::now();
    let sent_blast = support::blast(
        &pair.client,
        to,
        options(&format!("sip:{DOMAIN}"), 5),
        50_000,
        0,
        Duration::from_secs(10),
    );
    let send_secs = t0.elapsed().as_secs_f64();
    support::wait_for(3, || pbx.count() >= before + sent_blast);
    stop.store(true, Ordering::Relaxed);
    let (stats, rcvbuf, kernel) = loop_.join().expect("queue loop");
    let through = pbx.count() - before;
    let k = kernel
        .iter()
        .find(|k| k.queue == QUEUE)
        .copied()
        .unwrap_or_default();
    let judged_blast = stats.requests - (2 + sent_ok + sent_bad) as u64;
    eprintln!(
        "queue loop: blast of {sent_blast} sent in {send_secs:.2}s ({:.0}/s): {judged_blast} judged \
         ({:.0}/s), {through} reached the PBX, {} lost at the socket, {} queue-full drops, \
         {} socket-full drops; rcvbuf {} KiB; {stats:?}",
        sent_blast as f64 / send_secs,
        judged_blast as f64 / send_secs,
        stats.lost_requests,
        k.queue_dropped,
        k.user_dropped,
        rcvbuf / 1024,
    );
    assert_eq!(
        paced_seen,
        1 + sent_ok,
        "paced stream: the PBX missed requests; {stats:?}"
    );
    assert_eq!(
        stats.dropped as usize,
        1 + sent_bad,
        "the bare-IP requests were not all dropped by verdict"
    );
    assert!(
        pbx.count() as u64 <= stats.accepted,
        "the PBX got {} requests but only {} were accepted: something passed uninspected",
        pbx.count(),
        stats.accepted
    );
    assert!(
        judged_blast + stats.lost_requests + k.queue_dropped + k.user_dropped <= sent_blast as u64,
        "more requests accounted for than sent"
    );
    if (judged_blast as usize) < sent_blast {
        // Some never reached us: the kernel must have counted them, unless
        // they were lost before netfilter (veth backlog), which the
        // responder-side count would then also show.
        eprintln!(
            "overload seen: {} requests not judged",
            sent_blast as u64 - judged_blast
        );
    }
    assert!(
        stats.answers > sent_ok as u64,
        "answers were not seen on the answers queue"
    );
    assert!(stats.batch_verdicts > 0, "no batch verdict was used");
    assert!(rcvbuf >= 1 << 20, "receive buffer not enlarged: {rcvbuf}");
}

#[test]
fn fail_open_overload_is_counted_as_uninspected() {
    let Some(pair) = Pair::up("qo", &["iptables"]) else {
        return;
    };
    rules(&pair);
    let pbx = Responder::start(&pair.server);
    let stop = Arc::new(AtomicBool::new(false));
    // A small queue, fail-open, and a judge slower than the blast: the
    // kernel must wave requests through, and every one it waves through
    // must be counted.
    let setup = QueueSetup::new(QUEUE, 256, true);
    let (tx, rx) = std::sync::mpsc::channel();
    let stop2 = stop.clone();
    let judged = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let judged2 = judged.clone();
    let h = in_ns(&pair.server, move || {
        let mut q = Queues::open(setup).expect("open queues");
        let _ = tx.send(());
        let mut slow = |q: &sipwall::daemon::nfqueue::Queued<'_>| {
            let t0 = Instant::now();
            while t0.elapsed() < Duration::from_micros(50) {}
            judge(q)
        };
        while !stop2.load(Ordering::Relaxed) {
            let mut p = q.fds().map(|fd| libc::pollfd {
                fd,
                events: libc::POLLIN,
                revents: 0,
            });
            // SAFETY: two valid pollfds.
            unsafe { libc::poll(p.as_mut_ptr(), 2, 50) };
            while q.serve(MARK, &mut slow).total() > 0 {
                judged2.store(q.stats.requests as usize, Ordering::Relaxed);
            }
            judged2.store(q.stats.requests as usize, Ordering::Relaxed);
        }
        let kernel = kernel_queues();
        q.reconcile(&kernel);
        let stats = q.stats.clone();
        q.close();
        (stats, kernel)
    });
    rx.recv_timeout(Duration::from_secs(5))
        .expect("queues bound");
    let to: SocketAddr = format!("{SERVER}:5060").parse().unwrap();
    // Requests to a bare IP: the judge drops every one it sees, so whatever
    // reaches the PBX passed uninspected.
    let sent = support::blast(
        &pair.client,
        to,
        options(&format!("sip:{SERVER}"), 9),
        30_000,
        0,
        Duration::from_secs(10),
    );
    let settle = |c: &dyn Fn() -> usize| {
        let t0 = Instant::now();
        let mut last = usize::MAX;
        while c() != last && t0.elapsed() < Duration::from_secs(20) {
            last = c();
            std::thread::sleep(Duration::from_millis(300));
        }
        c()
    };
    let judged_before = settle(&|| judged.load(Ordering::Relaxed));
    // After the overload the queue must work again: a gentle stream is
    // judged (and dropped), none of it waved through.
    let later = support::blast(
        &pair.client,
        to,
        options(&format!("sip:{SERVER}"), 19),
        200,
        1000,
        Duration::from_secs(5),
    );
    let judged_later = settle(&|| judged.load(Ordering::Relaxed)) - judged_before;
    // Let the PBX work off what it was sent (its count stops moving).
    let uninspected = settle(&|| pbx.count()) as u64;
    stop.store(true, Ordering::Relaxed);
    let (stats, kernel) = h.join().expect("queue loop");
    let k = kernel
        .iter()
        .find(|k| k.queue == QUEUE)
        .copied()
        .unwrap_or_default();
    eprintln!(
        "fail-open overload: {sent} sent, {} judged (all dropped), {uninspected} reached the PBX \
         uninspected, {} counted as uninspected; kernel {k:?}; {stats:?}",
        stats.requests, stats.lost_requests
    );
    assert_eq!(stats.accepted, 0);
    assert!(
        uninspected > 0,
        "the blast never overloaded the queue: the test proves nothing"
    );
    assert!(
        uninspected <= stats.lost_requests,
        "{uninspected} requests passed uninspected but only {} were counted",
        stats.lost_requests
    );
    assert!(
        stats.overload_events >= 1,
        "the overload was not reported as an event"
    );
    assert_eq!(
        judged_later, later,
        "{judged_later} of {later} requests sent after the overload were judged: \
         the queue did not recover"
    );
}
