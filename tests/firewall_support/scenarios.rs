//! The behaviour both backends must show, written once: each scenario gets
//! a constructor for the backend under test and its own namespaces.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use ipnet::IpNet;
use sipwall::config::{Config, GeoMode, Mode};
use sipwall::firewall::{Firewall, Plan, Tools};

use super::*;

pub type Make = fn(Tools) -> Box<dyn Firewall>;

pub fn host_plan() -> Plan {
    let mut p = Plan::from_config(&Config::default());
    p.mode = Mode::Host;
    p
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn net(s: &str) -> IpNet {
    s.parse().unwrap()
}

/// Allow, ban, block, unban; v4 and v6; only SIP ports are governed.
pub fn kernel_decides(make: Make, tag: &str) {
    let pair = Pair::new(tag);
    let mut fw = make(pair.server.tools());
    let mut plan = host_plan();
    plan.fail_open = true; // unknown sources pass: drops below are the sets'
    plan.allow = vec![net("203.0.113.20/32")];
    plan.block = vec![net("203.0.113.30/32"), net("2001:db8::20/128")];
    fw.install(&plan).expect("install");
    assert!(
        pair.udp_passes("203.0.113.11", 5060),
        "unknown source, fail-open"
    );
    fw.ban(ip("203.0.113.10"), Some(600)).unwrap();
    fw.ban(ip("2001:db8::10"), None).unwrap();
    fw.ban(ip("203.0.113.20"), None).unwrap();
    assert!(
        !pair.udp_passes("203.0.113.10", 5060),
        "banned v4 source must be dropped"
    );
    assert!(
        !pair.udp_passes("2001:db8::10", 5060),
        "banned v6 source must be dropped"
    );
    assert!(
        pair.udp_passes("203.0.113.20", 5060),
        "the allowlist beats a ban"
    );
    assert!(!pair.udp_passes("203.0.113.30", 5060), "blocklisted v4");
    assert!(!pair.udp_passes("2001:db8::20", 5060), "blocklisted v6");
    assert!(
        pair.udp_passes("2001:db8::11", 5060),
        "unknown v6 source, fail-open"
    );
    assert!(
        pair.udp_passes("2001:db8::10", 5070),
        "a ban only governs the SIP ports"
    );
    fw.unban(ip("203.0.113.10")).unwrap();
    assert!(pair.udp_passes("203.0.113.10", 5060), "unbanned");
    fw.unban(ip("203.0.113.10")).expect("unban twice is fine");
    fw.uninstall().unwrap();
}

/// Fail-closed with nobody bound to the queue; doors let a source in;
/// a ban beats a door.
pub fn fail_closed_and_doors(make: Make, tag: &str) {
    let pair = Pair::new(tag);
    let mut fw = make(pair.server.tools());
    let plan = host_plan();
    fw.install(&plan).expect("install");
    assert!(
        !pair.udp_passes("203.0.113.11", 5060),
        "fail-closed: nothing passes uninspected"
    );
    fw.open_door(ip("203.0.113.11"), 60).unwrap();
    fw.open_door(ip("2001:db8::11"), 60).unwrap();
    assert!(pair.udp_passes("203.0.113.11", 5060), "door");
    assert!(pair.udp_passes("2001:db8::11", 5060), "v6 door");
    fw.open_door(ip("203.0.113.11"), 120)
        .expect("refreshing a door");
    fw.ban(ip("203.0.113.11"), Some(60)).unwrap();
    assert!(!pair.udp_passes("203.0.113.11", 5060), "a ban beats a door");
    fw.open_door(ip("203.0.113.12"), 1).unwrap();
    std::thread::sleep(Duration::from_millis(2100));
    // 203.0.113.12 is not a client address; check the v6 door survived a
    // re-install (carried over) while the 1 s door expired in the kernel.
    fw.install(&plan).expect("re-install");
    assert!(
        pair.udp_passes("2001:db8::11", 5060),
        "doors survive a re-install"
    );
    assert!(
        !pair.udp_passes("203.0.113.11", 5060),
        "bans survive a re-install"
    );
    fw.uninstall().unwrap();
}

/// Block mode, allow mode, and "an empty zone never locks anyone out".
pub fn geo_modes(make: Make, tag: &str) {
    let pair = Pair::new(tag);
    let mut fw = make(pair.server.tools());
    let mut plan = host_plan();
    plan.fail_open = true;
    plan.geo = Some(GeoMode::Block);
    fw.install(&plan).unwrap();
    let v4 = ["203.0.113.0/25".parse().unwrap()];
    let v6 = ["2001:db8::10/128".parse().unwrap()];
    fw.set_geo(&v4, &v6).unwrap();
    assert!(
        !pair.udp_passes("203.0.113.11", 5060),
        "block mode: listed v4"
    );
    assert!(
        pair.udp_passes("198.51.100.11", 5060),
        "block mode: unlisted v4"
    );
    assert!(
        !pair.udp_passes("2001:db8::10", 5060),
        "block mode: listed v6"
    );
    assert!(
        pair.udp_passes("2001:db8::11", 5060),
        "block mode: unlisted v6"
    );

    plan.geo = Some(GeoMode::Allow);
    fw.install(&plan).unwrap(); // zones carried over
    assert!(
        pair.udp_passes("203.0.113.11", 5060),
        "allow mode: listed v4"
    );
    assert!(
        !pair.udp_passes("198.51.100.11", 5060),
        "allow mode: unlisted v4"
    );
    assert!(
        pair.udp_passes("2001:db8::10", 5060),
        "allow mode: listed v6"
    );
    assert!(
        !pair.udp_passes("2001:db8::11", 5060),
        "allow mode: unlisted v6"
    );
    plan.allow = vec![net("198.51.100.11/32")];
    fw.install(&plan).unwrap();
    assert!(
        pair.udp_passes("198.51.100.11", 5060),
        "the allowlist is not subject to geo"
    );

    fw.set_geo(&v4, &[]).unwrap();
    assert!(
        !pair.udp_passes("198.51.100.12", 5060),
        "allow mode, v4 loaded"
    );
    assert!(
        pair.udp_passes("2001:db8::11", 5060),
        "allow mode: an empty v6 zone filters nothing"
    );
    fw.set_geo(&[], &[]).unwrap();
    assert!(
        pair.udp_passes("198.51.100.12", 5060),
        "allow mode: empty zones lock nobody out"
    );
    fw.uninstall().unwrap();
}

/// 25k IPv4 + 9k IPv6 prefixes load; a swap to another big zone never
/// lets a listed source through (the set is never empty mid-swap).
pub fn geo_big_swap(make: Make, tag: &str, count4: fn(&Ns) -> usize) {
    let pair = Pair::new(tag);
    let mut fw = make(pair.server.tools());
    let mut plan = host_plan();
    plan.fail_open = true;
    plan.geo = Some(GeoMode::Block);
    fw.install(&plan).unwrap();
    let (mut v4, v6) = big_zone(25_000, 9_000, 0);
    v4.push("198.51.100.0/24".parse().unwrap());
    let t = Instant::now();
    fw.set_geo(&v4, &v6).expect("25k + 9k prefixes load");
    println!("geo load 25001 v4 + 9000 v6: {:?}", t.elapsed());
    assert_eq!(count4(&pair.server), 25_001);
    assert!(
        !pair.udp_passes("198.51.100.11", 5060),
        "listed in the big zone"
    );
    assert!(pair.udp_passes("203.0.113.11", 5060), "not listed");

    let counter = Counter::start(&pair.server, "0.0.0.0:5060");
    let stream = Stream::start(&pair.client, "198.51.100.12", SERVER4, 5060);
    std::thread::sleep(Duration::from_millis(50));
    let (mut w4, w6) = big_zone(25_000, 9_000, 1);
    w4.push("198.51.100.0/24".parse().unwrap());
    fw.set_geo(&w4, &w6).expect("swap to another zone");
    fw.set_geo(&v4, &v6).expect("and back");
    std::thread::sleep(Duration::from_millis(50));
    let sent = stream.stop();
    let got = counter.stop();
    assert!(sent > 20, "the stream ran during the swaps ({sent} sent)");
    assert_eq!(
        got, 0,
        "a listed source got through during a swap ({got} of {sent})"
    );
    fw.uninstall().unwrap();
}

/// An install the kernel refuses (the live bans no longer fit the new
/// capacity) fails and leaves the previous rules and sets working.
pub fn bad_install_keeps_old(make: Make, tag: &str, leftovers: fn(&Ns) -> String) {
    let pair = Pair::new(tag);
    let mut fw = make(pair.server.tools());
    let mut plan = host_plan();
    plan.fail_open = true;
    plan.ban_capacity = 8;
    fw.install(&plan).unwrap();
    for a in ["203.0.113.10", "203.0.113.30", "198.51.100.12"] {
        fw.ban(ip(a), Some(600)).unwrap();
    }
    let mut bad = plan.clone();
    bad.ban_capacity = 2;
    bad.udp_ports = vec![5070];
    let err = fw
        .install(&bad)
        .expect_err("3 live bans cannot fit a set of 2");
    println!("refused as expected: {err}");
    assert!(
        !pair.udp_passes("203.0.113.10", 5060),
        "old rules: still banned on 5060"
    );
    assert!(
        pair.udp_passes("203.0.113.10", 5070),
        "the refused plan (port 5070) is not in force"
    );
    assert!(
        pair.udp_passes("203.0.113.11", 5060),
        "old rules: fail-open still"
    );
    assert_eq!(
        leftovers(&pair.server),
        "",
        "no half-built objects left behind"
    );
    fw.uninstall().unwrap();
}

/// Install twice (idempotent), use everything, uninstall: nothing left.
pub fn uninstall_leaves_nothing(make: Make, tag: &str, mode: Mode) {
    let pair = Pair::new(tag);
    let mut fw = make(pair.server.tools());
    let mut plan = host_plan();
    plan.mode = mode;
    plan.geo = Some(GeoMode::Allow);
    fw.install(&plan).unwrap();
    fw.install(&plan).expect("install is idempotent");
    let jumps = ruleset(&pair.server).matches("-j SIPWALL_").count();
    fw.ban(ip("203.0.113.10"), None).unwrap();
    fw.open_door(ip("2001:db8::11"), 60).unwrap();
    fw.set_allow(&[net("203.0.113.20/32"), net("2001:db8::20/128")])
        .unwrap();
    fw.set_geo(
        &["203.0.113.0/25".parse().unwrap()],
        &["2001:db8::/64".parse().unwrap()],
    )
    .unwrap();
    let before = ruleset(&pair.server);
    assert!(
        before.to_lowercase().contains("sipwall"),
        "installed: {before}"
    );
    let again = {
        fw.install(&plan).unwrap();
        ruleset(&pair.server)
    };
    assert_eq!(
        again.matches("-j SIPWALL_").count(),
        before.matches("-j SIPWALL_").count(),
        "no duplicate rules after a re-install"
    );
    let _ = jumps;
    fw.uninstall().expect("uninstall");
    let after = ruleset(&pair.server);
    assert!(
        !after.to_lowercase().contains("sipwall"),
        "uninstall left something behind:\n{after}"
    );
    fw.uninstall().expect("uninstall twice is fine");
}

/// What a user would look at: nft ruleset, iptables-save (v4+v6), ipsets.
pub fn ruleset(ns: &Ns) -> String {
    let mut s = String::new();
    for cmd in [
        "nft list ruleset",
        "iptables-save",
        "ip6tables-save",
        "ipset list",
    ] {
        let (_, out) = ns.exec_ok(cmd);
        s.push_str(&format!("## {cmd}\n{out}\n"));
    }
    s
}

/// A brute-forcer's established UDP flow loses its conntrack entry when
/// it is banned.
pub fn ban_kills_conntrack(make: Make, tag: &str) {
    let pair = Pair::new(tag);
    let mut fw = make(pair.server.tools());
    let mut plan = host_plan();
    plan.fail_open = true;
    fw.install(&plan).unwrap();
    // An echoing "PBX" so the flow is established in both directions.
    let server = pair.server.spawn(|| {
        let s = bind_udp("0.0.0.0:5060".parse().unwrap());
        s.set_read_timeout(Some(Duration::from_millis(1500)))
            .unwrap();
        let mut buf = [0u8; 1500];
        let mut n = 0;
        while let Ok((len, from)) = s.recv_from(&mut buf) {
            let _ = s.send_to(&buf[..len], from);
            n += 1;
            if n == 3 {
                break;
            }
        }
        n
    });
    std::thread::sleep(Duration::from_millis(100));
    let got = pair
        .client
        .spawn(|| {
            let s = std::net::UdpSocket::bind("203.0.113.10:0").unwrap();
            s.set_read_timeout(Some(Duration::from_millis(500)))
                .unwrap();
            let mut answers = 0;
            let mut buf = [0u8; 1500];
            for _ in 0..3 {
                let _ = s.send_to(b"REGISTER sip:x SIP/2.0", (SERVER4, 5060));
                if s.recv_from(&mut buf).is_ok() {
                    answers += 1;
                }
            }
            answers
        })
        .join()
        .unwrap();
    assert_eq!(got, 3, "the flow is established before the ban");
    let _ = server.join();
    let flows = |ns: &Ns| {
        ns.exec_ok("conntrack -L -s 203.0.113.10")
            .1
            .matches("dport=5060")
            .count()
    };
    assert!(flows(&pair.server) >= 1, "conntrack has the flow");
    fw.ban(ip("203.0.113.10"), Some(60)).unwrap();
    let deadline = Instant::now() + Duration::from_secs(3);
    while flows(&pair.server) > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        flows(&pair.server),
        0,
        "the banned source's conntrack entries are gone"
    );
    fw.uninstall().unwrap();
}

/// Router mode: the forward hook after the port forward (5060 → PBX
/// 5080): fail-closed, doors, bans, v4 and v6; the LAN's own SIP traffic
/// towards the WAN is never gated.
pub fn router_mode(make: Make, tag: &str) {
    let t = Triple::new(tag);
    let mut fw = make(t.router.tools());
    let mut plan = host_plan();
    plan.mode = Mode::Router;
    fw.install(&plan).unwrap();
    assert!(
        !t.forwarded("203.0.113.11"),
        "fail-closed on the forwarded port"
    );
    assert!(
        !t.forwarded("2001:db8::11"),
        "fail-closed on the forwarded port (v6)"
    );
    fw.open_door(ip("203.0.113.11"), 60).unwrap();
    fw.open_door(ip("2001:db8::11"), 60).unwrap();
    fw.open_door(ip("203.0.113.10"), 60).unwrap();
    assert!(
        t.forwarded("203.0.113.11"),
        "door, matched on the port the remote side addressed"
    );
    assert!(t.forwarded("2001:db8::11"), "door (v6)");
    fw.ban(ip("203.0.113.10"), None).unwrap();
    assert!(!t.forwarded("203.0.113.10"), "banned despite a door");
    assert!(
        t.outbound("203.0.113.20"),
        "the PBX's own traffic to the WAN is not gated"
    );
    assert!(
        t.outbound("2001:db8::20"),
        "the PBX's own traffic to the WAN is not gated (v6)"
    );
    fw.uninstall().unwrap();
    assert!(
        t.forwarded("203.0.113.20"),
        "after uninstall the port forward is open again"
    );
}

/// Length of the transport payload of a raw IP packet (0 for anything we
/// cannot read).
fn l4_payload_len(p: &[u8]) -> usize {
    let (proto, l4) = match p.first().map(|b| b >> 4) {
        Some(4) if p.len() >= 20 => (p[9], usize::from(p[0] & 0x0f) * 4),
        Some(6) if p.len() >= 40 => (p[6], 40),
        _ => return 0,
    };
    let hdr = match proto {
        17 => 8,
        6 if p.len() > l4 + 12 => usize::from(p[l4 + 12] >> 4) * 4,
        _ => return 0,
    };
    p.len().saturating_sub(l4 + hdr)
}

/// Where the queue path runs: who sends, whose kernel filters, who answers.
pub struct QueueScene<'a> {
    pub client: &'a Ns,
    pub filter: &'a Ns,
    pub pbx: &'a Ns,
    /// Where the client sends (router's WAN address or the host).
    pub dst: IpAddr,
    /// Where the PBX listens (5060 on a host, 5080 behind the forward).
    pub pbx_port: u16,
}

/// The queue path with a real NFQUEUE listener standing in for the daemon:
/// fail-closed while nobody listens; the listener's `NF_REPEAT` with
/// MARK_INSPECTED marks the flow so its later packets skip the queue (UDP,
/// and TCP after the first data segment); the PBX's 401s towards the remote
/// side are copied to queue+1.
pub fn queue_path(make: Make, tag: &str) {
    let pair = Pair::new(tag);
    let scene = QueueScene {
        client: &pair.client,
        filter: &pair.server,
        pbx: &pair.server,
        dst: ip(SERVER4),
        pbx_port: 5060,
    };
    queue_scene(make, &scene, Mode::Host);
}

/// [`queue_path`] behind a port forward (router mode).
pub fn router_queue_path(make: Make, tag: &str) {
    let t = Triple::new(tag);
    let scene = QueueScene {
        client: &t.wan,
        filter: &t.router,
        pbx: &t.pbx,
        dst: ip(SERVER4),
        pbx_port: PBX_PORT,
    };
    queue_scene(make, &scene, Mode::Router);
}

fn queue_scene(make: Make, sc: &QueueScene<'_>, mode: Mode) {
    use sipwall::firewall::MARK_INSPECTED;
    use std::io::{Read, Write};
    let mut fw = make(sc.filter.tools());
    let mut plan = host_plan();
    plan.mode = mode;
    plan.queue = 7;
    fw.install(&plan).unwrap();
    let dst = sc.dst;
    // A "PBX" that answers 401 to everything, over UDP and TCP.
    let port = sc.pbx_port;
    let pbx = sc.pbx.spawn(move || {
        let s = bind_udp(format!("0.0.0.0:{port}").parse().unwrap());
        let l = std::net::TcpListener::bind(("0.0.0.0", port)).unwrap();
        l.set_nonblocking(true).unwrap();
        s.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
        let mut buf = [0u8; 1500];
        let (mut udp, mut tcp) = (0, 0);
        let deadline = Instant::now() + Duration::from_secs(6);
        let mut conns: Vec<std::net::TcpStream> = Vec::new();
        let mut idle_since = Instant::now();
        while Instant::now() < deadline && idle_since.elapsed() < Duration::from_millis(1500) {
            if let Ok((_, from)) = s.recv_from(&mut buf) {
                let _ = s.send_to(b"SIP/2.0 401 Unauthorized\r\n\r\n", from);
                udp += 1;
                idle_since = Instant::now();
            }
            if let Ok((c, _)) = l.accept() {
                c.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
                conns.push(c);
            }
            for c in conns.iter_mut() {
                if let Ok(n) = c.read(&mut buf) {
                    if n > 0 {
                        let _ = c.write_all(b"SIP/2.0 401 Unauthorized\r\n\r\n");
                        tcp += 1;
                        idle_since = Instant::now();
                    }
                }
            }
        }
        (udp, tcp)
    });
    std::thread::sleep(Duration::from_millis(100));
    let answered = sc
        .client
        .spawn(move || {
            let s = std::net::UdpSocket::bind("203.0.113.20:0").unwrap();
            s.set_read_timeout(Some(Duration::from_millis(400)))
                .unwrap();
            let _ = s.send_to(b"REGISTER sip:pbx.example.test SIP/2.0\r\n", (dst, 5060));
            s.recv_from(&mut [0u8; 100]).is_ok()
        })
        .join()
        .unwrap();
    assert!(
        !answered,
        "fail-closed: nothing reaches the PBX while nobody listens on the queue"
    );
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stop2 = stop.clone();
    let listener = sc.filter.spawn(move || {
        let mut q = nfq::Queue::open().expect("nfq open");
        q.bind(7).expect("bind 7");
        q.bind(8).expect("bind 8");
        q.set_nonblocking(true);
        let (mut requests, mut answers) = (Vec::new(), Vec::new());
        let deadline = Instant::now() + Duration::from_secs(30);
        while !stop2.load(std::sync::atomic::Ordering::Relaxed) && Instant::now() < deadline {
            match q.recv() {
                Ok(mut m) => {
                    let payload = m.get_payload().to_vec();
                    if m.get_queue_num() == 8 {
                        answers.push(payload);
                        m.set_verdict(nfq::Verdict::Accept);
                    } else if l4_payload_len(&payload) == 0 {
                        // A bare TCP segment (iptables queues them): pass,
                        // but do not mark the flow.
                        m.set_verdict(nfq::Verdict::Accept);
                    } else {
                        let accept = payload.windows(7).any(|w| w == b"example");
                        requests.push(payload);
                        if accept {
                            let mark = m.get_nfmark() | MARK_INSPECTED;
                            m.set_nfmark(mark);
                            m.set_verdict(nfq::Verdict::Repeat);
                        } else {
                            m.set_verdict(nfq::Verdict::Drop);
                        }
                    }
                    let _ = q.verdict(m);
                }
                Err(_) => std::thread::sleep(Duration::from_millis(1)),
            }
        }
        (requests.len(), answers.len())
    });
    std::thread::sleep(Duration::from_millis(200));
    std::thread::sleep(Duration::from_millis(100));
    let (good, bad, tcp_answers) = sc
        .client
        .spawn(move || {
            let mut buf = [0u8; 1500];
            let good = std::net::UdpSocket::bind("203.0.113.11:0").unwrap();
            good.set_read_timeout(Some(Duration::from_millis(500)))
                .unwrap();
            let mut g = 0;
            for _ in 0..5 {
                let _ = good.send_to(b"REGISTER sip:pbx.example.test SIP/2.0\r\n", (dst, 5060));
                if good.recv_from(&mut buf).is_ok() {
                    g += 1;
                }
            }
            let bad = std::net::UdpSocket::bind("203.0.113.10:0").unwrap();
            bad.set_read_timeout(Some(Duration::from_millis(300)))
                .unwrap();
            let mut b = 0;
            for _ in 0..3 {
                let _ = bad.send_to(b"REGISTER sip:203.0.113.1 SIP/2.0\r\n", (dst, 5060));
                if bad.recv_from(&mut buf).is_ok() {
                    b += 1;
                }
            }
            // TCP from a third address: handshake, then two requests on the
            // same connection.
            let sock = std::net::TcpStream::connect_timeout(
                &SocketAddr::new(dst, 5060),
                Duration::from_secs(2),
            );
            let mut t = 0;
            if let Ok(mut c) = sock {
                c.set_read_timeout(Some(Duration::from_millis(800)))
                    .unwrap();
                for _ in 0..2 {
                    let _ = c.write_all(b"REGISTER sip:pbx.example.test SIP/2.0\r\n\r\n");
                    if matches!(c.read(&mut buf), Ok(n) if n > 0) {
                        t += 1;
                    }
                }
            }
            (g, b, t)
        })
        .join()
        .unwrap();
    let (pbx_udp, pbx_tcp) = pbx.join().unwrap();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (requests, answers) = listener.join().unwrap();
    assert_eq!(good, 5, "the accepted UDP flow gets all its answers");
    assert_eq!(bad, 0, "the dropped source gets nothing");
    assert_eq!(
        pbx_udp, 5,
        "only the accepted flow's requests reach the PBX"
    );
    assert_eq!(tcp_answers, 2, "the TCP connection works through the queue");
    assert_eq!(pbx_tcp, 2, "both TCP requests reached the PBX");
    assert_eq!(
        requests,
        1 + 3 + 1,
        "one request of the accepted UDP flow (then it is marked), every rejected one, one TCP data segment"
    );
    assert_eq!(
        answers,
        5 + 2,
        "each 401 towards the remote side is copied to queue+1"
    );
    fw.uninstall().unwrap();
}
