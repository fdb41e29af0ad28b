//! Network namespaces for the firewall tests: a client namespace with many
//! TEST-NET source addresses and a server namespace whose kernel runs the
//! sipwall rules (host mode), or client → router → PBX (router mode, with a
//! port forward). Test threads enter a namespace with setns(2), so senders
//! and receivers are plain std sockets.
//!
//! Names carry the process id and a per-test tag, so tests run in parallel
//! and never collide with another engineer's. Everything is removed on drop,
//! also when the test fails.

#![allow(dead_code)]

use std::fs::File;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use sipwall::firewall::Tools;

/// Prints `SKIP: why` and returns false, or panics under SIPWALL_STRICT=1.
pub fn can_run(tools: &[&str]) -> bool {
    let strict = std::env::var("SIPWALL_STRICT")
        .map(|v| v == "1")
        .unwrap_or(false);
    let why = if unsafe { libc::geteuid() } != 0 {
        Some("not root (network namespaces need root)".to_string())
    } else {
        tools
            .iter()
            .find(|t| !have(t))
            .map(|t| format!("tool '{t}' not installed (run tests/install/firewall.sh)"))
    };
    match why {
        None => true,
        Some(why) if strict => panic!("SIPWALL_STRICT=1 and {why}"),
        Some(why) => {
            println!("SKIP: {why}");
            false
        }
    }
}

pub fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// Whether this kernel has the nft `queue` statement (probed once per
/// process: tests run in parallel).
pub fn kernel_has_nft_queue() -> bool {
    static HAS: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *HAS.get_or_init(probe_nft_queue)
}

fn probe_nft_queue() -> bool {
    let ns = Ns::new("qprobe");
    let out = Command::new("ip")
        .args(["netns", "exec", &ns.name, "nft", "-c", "-f", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            if let Some(mut i) = c.stdin.take() {
                let _ = i.write_all(b"table inet p {\n chain c {\n  type filter hook input priority 0;\n  queue to 1\n }\n}\n");
            }
            c.wait()
        });
    matches!(out, Ok(s) if s.success())
}

pub fn sh(cmd: &str) -> String {
    let out = Command::new("sh").args(["-c", cmd]).output().expect("sh");
    assert!(
        out.status.success(),
        "`{cmd}` failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn sh_ok(cmd: &str) -> (bool, String) {
    let out = Command::new("sh").args(["-c", cmd]).output().expect("sh");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

/// One network namespace, deleted on drop.
pub struct Ns {
    pub name: String,
}

impl Ns {
    pub fn new(tag: &str) -> Ns {
        let name = format!("sw{}-{tag}", std::process::id());
        let _ = Command::new("ip").args(["netns", "del", &name]).output();
        sh(&format!(
            "ip netns add {name} && ip -n {name} link set lo up"
        ));
        Ns { name }
    }

    pub fn tools(&self) -> Tools {
        Tools::in_netns(&self.name)
    }

    /// Waits (at most 5 s) until no IPv6 address is tentative: until then
    /// neighbour discovery fails and the first IPv6 probes would be lost.
    pub fn wait_ipv6_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            let (_, out) = self.exec_ok("ip -6 addr show tentative");
            if out.trim().is_empty() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn exec(&self, cmd: &str) -> String {
        sh(&format!("ip netns exec {} {cmd}", self.name))
    }

    pub fn exec_ok(&self, cmd: &str) -> (bool, String) {
        sh_ok(&format!("ip netns exec {} {cmd}", self.name))
    }

    /// Runs `f` on a thread inside this namespace.
    pub fn spawn<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> JoinHandle<T> {
        let path = format!("/run/netns/{}", self.name);
        std::thread::spawn(move || {
            let file = File::open(&path).expect("open netns");
            let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
            assert_eq!(rc, 0, "setns {path}");
            f()
        })
    }
}

impl Drop for Ns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .output();
    }
}

/// Addresses the client side sends from.
pub const CLIENT4: [&str; 6] = [
    "203.0.113.10",
    "203.0.113.11",
    "203.0.113.20",
    "203.0.113.30",
    "198.51.100.11",
    "198.51.100.12",
];
pub const CLIENT6: [&str; 3] = ["2001:db8::10", "2001:db8::11", "2001:db8::20"];
pub const SERVER4: &str = "203.0.113.1";
pub const SERVER6: &str = "2001:db8::1";

/// client ⇄ server, host mode: sipwall's rules go into `server`.
pub struct Pair {
    pub client: Ns,
    pub server: Ns,
}

impl Pair {
    pub fn new(tag: &str) -> Pair {
        let client = Ns::new(&format!("{tag}-c"));
        let server = Ns::new(&format!("{tag}-s"));
        let vc = format!("v{}{tag}c", std::process::id());
        let vs = format!("v{}{tag}s", std::process::id());
        sh(&format!(
            "ip link add {vc} netns {c} type veth peer name {vs} netns {s} && \
             ip -n {c} link set {vc} up && ip -n {s} link set {vs} up && \
             ip -n {s} addr add {SERVER4}/24 dev {vs} && \
             ip -n {s} addr add 198.51.100.1/24 dev {vs} && \
             ip -n {s} addr add {SERVER6}/64 dev {vs} nodad",
            c = client.name,
            s = server.name
        ));
        for a in CLIENT4 {
            sh(&format!("ip -n {} addr add {a}/24 dev {vc}", client.name));
        }
        for a in CLIENT6 {
            sh(&format!(
                "ip -n {} addr add {a}/64 dev {vc} nodad",
                client.name
            ));
        }
        client.wait_ipv6_ready();
        server.wait_ipv6_ready();
        Pair { client, server }
    }

    /// Sends 3 datagrams from `src` to the server's `port`; true if any
    /// arrived at a socket in the server namespace.
    pub fn udp_passes(&self, src: &str, port: u16) -> bool {
        let src: IpAddr = src.parse().unwrap();
        let dst: IpAddr = if src.is_ipv4() {
            SERVER4.parse().unwrap()
        } else {
            SERVER6.parse().unwrap()
        };
        let bind: SocketAddr = if src.is_ipv4() {
            format!("0.0.0.0:{port}").parse().unwrap()
        } else {
            format!("[::]:{port}").parse().unwrap()
        };
        let rx = self.server.spawn(move || bind_udp(bind));
        let rx_sock = rx.join().unwrap();
        rx_sock
            .set_read_timeout(Some(Duration::from_millis(300)))
            .unwrap();
        let token = format!("OPTIONS sip:probe SIP/2.0 from {src}");
        let t2 = token.clone();
        self.client
            .spawn(move || {
                let s = UdpSocket::bind(SocketAddr::new(src, 0)).expect("bind sender");
                for _ in 0..3 {
                    let _ = s.send_to(t2.as_bytes(), SocketAddr::new(dst, port));
                    std::thread::sleep(Duration::from_millis(5));
                }
            })
            .join()
            .unwrap();
        let mut buf = [0u8; 1500];
        while let Ok((n, _)) = rx_sock.recv_from(&mut buf) {
            if &buf[..n] == token.as_bytes() {
                return true;
            }
        }
        false
    }
}

/// wan → router (sipwall, port forward) → pbx, router mode. The router
/// forwards 203.0.113.1:5060 and [2001:db8::1]:5060 (UDP and TCP) to the PBX
/// on port 5080, so the rules must match the port the remote side
/// addressed (`ct original`), not the translated one.
pub struct Triple {
    pub wan: Ns,
    pub router: Ns,
    pub pbx: Ns,
}

pub const PBX4: &str = "192.168.50.10";
pub const PBX6: &str = "fd00:50::10";
pub const PBX_PORT: u16 = 5080;

impl Triple {
    pub fn new(tag: &str) -> Triple {
        let wan = Ns::new(&format!("{tag}-w"));
        let router = Ns::new(&format!("{tag}-r"));
        let pbx = Ns::new(&format!("{tag}-p"));
        let pid = std::process::id();
        let (vw, vr, vl, vp) = (
            format!("v{pid}{tag}w"),
            format!("v{pid}{tag}r"),
            format!("v{pid}{tag}l"),
            format!("v{pid}{tag}p"),
        );
        let (w, r, p) = (&wan.name, &router.name, &pbx.name);
        sh(&format!(
            "ip link add {vw} netns {w} type veth peer name {vr} netns {r} && \
             ip link add {vl} netns {r} type veth peer name {vp} netns {p} && \
             for l in {vw}@{w} {vr}@{r} {vl}@{r} {vp}@{p}; do ip -n ${{l#*@}} link set ${{l%@*}} up; done && \
             ip -n {r} addr add {SERVER4}/24 dev {vr} && ip -n {r} addr add 198.51.100.1/24 dev {vr} && \
             ip -n {r} addr add {SERVER6}/64 dev {vr} nodad && \
             ip -n {r} addr add 192.168.50.1/24 dev {vl} && ip -n {r} addr add fd00:50::1/64 dev {vl} nodad && \
             ip -n {p} addr add {PBX4}/24 dev {vp} && ip -n {p} addr add {PBX6}/64 dev {vp} nodad && \
             ip -n {p} route add default via 192.168.50.1 && ip -n {p} -6 route add default via fd00:50::1 && \
             ip netns exec {r} sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1"
        ));
        for a in CLIENT4 {
            sh(&format!("ip -n {w} addr add {a}/24 dev {vw}"));
        }
        for a in CLIENT6 {
            sh(&format!("ip -n {w} addr add {a}/64 dev {vw} nodad"));
        }
        let nat = format!(
            "table ip fwdnat {{\n chain pre {{\n  type nat hook prerouting priority -100;\n  \
             ip daddr {{ {SERVER4}, 198.51.100.1 }} meta l4proto {{ udp, tcp }} th dport 5060 dnat to {PBX4}:{PBX_PORT}\n }}\n}}\n\
             table ip6 fwdnat {{\n chain pre {{\n  type nat hook prerouting priority -100;\n  \
             ip6 daddr {SERVER6} meta l4proto {{ udp, tcp }} th dport 5060 dnat to [{PBX6}]:{PBX_PORT}\n }}\n}}\n"
        );
        let mut child = Command::new("ip")
            .args(["netns", "exec", r, "nft", "-f", "-"])
            .stdin(std::process::Stdio::piped())
            .spawn()
            .expect("nft");
        {
            use std::io::Write;
            child
                .stdin
                .take()
                .unwrap()
                .write_all(nat.as_bytes())
                .unwrap();
        }
        assert!(child.wait().unwrap().success(), "port forward");
        for ns in [&wan, &router, &pbx] {
            ns.wait_ipv6_ready();
        }
        Triple { wan, router, pbx }
    }

    /// 3 datagrams from `src` (a wan address) to the router's forwarded
    /// port 5060; true if any reached the PBX.
    pub fn forwarded(&self, src: &str) -> bool {
        let src: IpAddr = src.parse().unwrap();
        let (dst, bind): (IpAddr, SocketAddr) = if src.is_ipv4() {
            (
                SERVER4.parse().unwrap(),
                format!("0.0.0.0:{PBX_PORT}").parse().unwrap(),
            )
        } else {
            (
                SERVER6.parse().unwrap(),
                format!("[::]:{PBX_PORT}").parse().unwrap(),
            )
        };
        probe(&self.wan, src, SocketAddr::new(dst, 5060), &self.pbx, bind)
    }

    /// The PBX sends to a wan address's port 5060 (LAN → WAN): true if it
    /// arrived.
    pub fn outbound(&self, to: &str) -> bool {
        let to: IpAddr = to.parse().unwrap();
        let (src, bind): (IpAddr, SocketAddr) = if to.is_ipv4() {
            (PBX4.parse().unwrap(), "0.0.0.0:5060".parse().unwrap())
        } else {
            (PBX6.parse().unwrap(), "[::]:5060".parse().unwrap())
        };
        probe(&self.pbx, src, SocketAddr::new(to, 5060), &self.wan, bind)
    }
}

fn probe(from: &Ns, src: IpAddr, dst: SocketAddr, to: &Ns, bind: SocketAddr) -> bool {
    let rx = to.spawn(move || bind_udp(bind)).join().unwrap();
    rx.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let token = format!("OPTIONS sip:probe SIP/2.0 from {src}");
    let t2 = token.clone();
    from.spawn(move || {
        let s = UdpSocket::bind(SocketAddr::new(src, 0)).expect("bind sender");
        for _ in 0..3 {
            let _ = s.send_to(t2.as_bytes(), dst);
            std::thread::sleep(Duration::from_millis(5));
        }
    })
    .join()
    .unwrap();
    let mut buf = [0u8; 1500];
    while let Ok((n, _)) = rx.recv_from(&mut buf) {
        if &buf[..n] == token.as_bytes() {
            return true;
        }
    }
    false
}

/// Binds a receiver, retrying briefly: a socket just closed by an earlier
/// probe can still be held by a child another test thread is forking
/// (between fork and exec), which is slow under emulation.
pub fn bind_udp(addr: SocketAddr) -> UdpSocket {
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        match UdpSocket::bind(addr) {
            Ok(s) => return s,
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20))
            }
            Err(e) => panic!("bind {addr}: {e}"),
        }
    }
}

/// A sender that keeps sending from `src` until stopped; returns how many
/// datagrams it sent.
pub struct Stream {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<u64>>,
}

impl Stream {
    pub fn start(from: &Ns, src: &str, dst: &str, port: u16) -> Stream {
        let stop = Arc::new(AtomicBool::new(false));
        let s2 = stop.clone();
        let src: IpAddr = src.parse().unwrap();
        let dst: IpAddr = dst.parse().unwrap();
        let handle = from.spawn(move || {
            let s = UdpSocket::bind(SocketAddr::new(src, 0)).expect("bind");
            let deadline = Instant::now() + Duration::from_secs(30);
            let mut n = 0u64;
            while !s2.load(Ordering::Relaxed) && Instant::now() < deadline {
                let _ = s.send_to(b"OPTIONS sip:stream SIP/2.0", SocketAddr::new(dst, port));
                n += 1;
                std::thread::sleep(Duration::from_micros(500));
            }
            n
        });
        Stream {
            stop,
            handle: Some(handle),
        }
    }

    pub fn stop(mut self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        self.handle.take().map(|h| h.join().unwrap()).unwrap_or(0)
    }
}

impl Drop for Stream {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// Counts datagrams arriving on `port` in `ns` until stopped.
pub struct Counter {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<u64>>,
}

impl Counter {
    pub fn start(ns: &Ns, bind: &str) -> Counter {
        let stop = Arc::new(AtomicBool::new(false));
        let s2 = stop.clone();
        let bind: SocketAddr = bind.parse().unwrap();
        let sock = ns
            .spawn(move || UdpSocket::bind(bind).expect("bind counter"))
            .join()
            .unwrap();
        sock.set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        let handle = std::thread::spawn(move || {
            let mut n = 0;
            let mut buf = [0u8; 2048];
            loop {
                match sock.recv_from(&mut buf) {
                    Ok(_) => n += 1,
                    Err(_) if s2.load(Ordering::Relaxed) => break,
                    Err(_) => {}
                }
            }
            n
        });
        Counter {
            stop,
            handle: Some(handle),
        }
    }

    pub fn stop(mut self) -> u64 {
        std::thread::sleep(Duration::from_millis(100));
        self.stop.store(true, Ordering::Relaxed);
        self.handle.take().map(|h| h.join().unwrap()).unwrap_or(0)
    }
}

/// A "country" of `n4` IPv4 and `n6` IPv6 prefixes that do not aggregate:
/// every other address of the benchmarking range 198.18.0.0/15 as /32s, and
/// every other /48 of 2001:db8:1000::/36. `shift` makes a different zone
/// of the same size (for swaps).
pub fn big_zone(n4: usize, n6: usize, shift: u32) -> (Vec<ipnet::Ipv4Net>, Vec<ipnet::Ipv6Net>) {
    let v4 = (0..n4 as u32)
        .map(|i| {
            let a = 0xC612_0000u32 + ((i * 2 + shift) % 0x2_0000);
            ipnet::Ipv4Net::new(a.into(), 32).unwrap()
        })
        .collect();
    let v6 = (0..n6 as u128)
        .map(|i| {
            let a: u128 =
                0x2001_0db8_1000_0000_0000_0000_0000_0000u128 + ((i * 2 + u128::from(shift)) << 80);
            ipnet::Ipv6Net::new(a.into(), 48).unwrap()
        })
        .collect();
    (v4, v6)
}
pub mod scenarios;
