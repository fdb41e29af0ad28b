//! Shared helpers of the daemon's root tests: a pair of network namespaces
//! joined by a veth link (client 198.51.100.20, server 198.51.100.1 and
//! 2001:db8:d::20 / ::1), threads that run inside a namespace, and a tiny
//! SIP responder that answers every datagram with 200 OK and counts them.
//!
//! Namespace names carry the test's tag and the process id, so tests run in
//! parallel with each other and with other engineers' tests; `Drop` deletes
//! the namespaces (and with them the veth pair, rules and sets) even when an
//! assertion failed.
#![allow(dead_code)]

use std::net::{SocketAddr, UdpSocket};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub const CLIENT: &str = "198.51.100.20";
pub const SERVER: &str = "198.51.100.1";
pub const DOMAIN: &str = "pbx.example.test";

/// Prints `SKIP: reason`, or fails under SIPWALL_STRICT=1.
pub fn skip(reason: &str) {
    if std::env::var("SIPWALL_STRICT").as_deref() == Ok("1") {
        panic!("SIPWALL_STRICT=1 and this test cannot run: {reason}");
    }
    eprintln!("SKIP: {reason}");
}

fn have(tool: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Why the root tests cannot run here, if they cannot.
pub fn missing(tools: &[&str]) -> Option<String> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Some("needs root (network namespaces, iptables, NFQUEUE)".into());
    }
    for t in tools {
        if !have(t) {
            return Some(format!(
                "`{t}` is not installed (tests/install/base.sh installs it)"
            ));
        }
    }
    None
}

pub fn run(cmd: &[&str]) -> (bool, String) {
    match Command::new(cmd[0])
        .args(&cmd[1..])
        .stdin(Stdio::null())
        .output()
    {
        Ok(o) => {
            let mut s = String::from_utf8_lossy(&o.stdout).into_owned();
            s.push_str(&String::from_utf8_lossy(&o.stderr));
            (o.status.success(), s)
        }
        Err(e) => (false, format!("cannot run {}: {e}", cmd[0])),
    }
}

/// Two namespaces and a veth link between them.
pub struct Pair {
    pub client: String,
    pub server: String,
}

impl Pair {
    /// `None` (after SKIP) if this machine cannot run it.
    pub fn up(tag: &str, tools: &[&str]) -> Option<Pair> {
        let mut need = vec!["ip"];
        need.extend_from_slice(tools);
        if let Some(why) = missing(&need) {
            skip(&why);
            return None;
        }
        let pid = std::process::id();
        let pair = Pair {
            client: format!("sw{pid}-{tag}-c"),
            server: format!("sw{pid}-{tag}-s"),
        };
        for ns in [&pair.client, &pair.server] {
            let _ = run(&["ip", "netns", "del", ns]);
            let (ok, out) = run(&["ip", "netns", "add", ns]);
            assert!(ok, "ip netns add {ns}: {out}");
        }
        let steps: Vec<Vec<&str>> = vec![
            vec![
                "ip",
                "link",
                "add",
                "c0",
                "netns",
                &pair.client,
                "type",
                "veth",
                "peer",
                "name",
                "s0",
                "netns",
                &pair.server,
            ],
            vec![
                "ip",
                "-n",
                &pair.client,
                "addr",
                "add",
                "198.51.100.20/24",
                "dev",
                "c0",
            ],
            vec![
                "ip",
                "-n",
                &pair.client,
                "addr",
                "add",
                "2001:db8:d::20/64",
                "dev",
                "c0",
                "nodad",
            ],
            vec![
                "ip",
                "-n",
                &pair.server,
                "addr",
                "add",
                "198.51.100.1/24",
                "dev",
                "s0",
            ],
            vec![
                "ip",
                "-n",
                &pair.server,
                "addr",
                "add",
                "2001:db8:d::1/64",
                "dev",
                "s0",
                "nodad",
            ],
            vec!["ip", "-n", &pair.client, "link", "set", "c0", "up"],
            vec!["ip", "-n", &pair.server, "link", "set", "s0", "up"],
            vec!["ip", "-n", &pair.client, "link", "set", "lo", "up"],
            vec!["ip", "-n", &pair.server, "link", "set", "lo", "up"],
        ];
        for s in steps {
            let (ok, out) = run(&s);
            assert!(ok, "{}: {out}", s.join(" "));
        }
        Some(pair)
    }

    /// Runs a command inside namespace `ns`.
    pub fn exec(&self, ns: &str, cmd: &[&str]) -> (bool, String) {
        let mut full = vec!["ip", "netns", "exec", ns];
        full.extend_from_slice(cmd);
        run(&full)
    }

    /// The server namespace's netfilter state, counters stripped.
    pub fn netfilter_state(&self) -> String {
        let mut all = String::new();
        for cmd in [
            &["iptables-save"][..],
            &["ip6tables-save"][..],
            &["ipset", "list"][..],
            &["nft", "list", "ruleset"][..],
        ] {
            let (_, out) = self.exec(&self.server, cmd);
            all.push_str(&format!("### {}\n", cmd.join(" ")));
            for l in out.lines().filter(|l| !l.starts_with('#')) {
                let l: Vec<&str> = l
                    .split(' ')
                    .map(|w| {
                        if w.starts_with('[') && w.contains(':') {
                            "[0:0]"
                        } else {
                            w
                        }
                    })
                    .collect();
                all.push_str(&l.join(" "));
                all.push('\n');
            }
        }
        all
    }
}

impl Drop for Pair {
    fn drop(&mut self) {
        for ns in [&self.client, &self.server] {
            let _ = run(&["ip", "netns", "del", ns]);
        }
    }
}

/// Runs `f` on a new thread that has entered namespace `ns` (a network
/// namespace is per thread, so sockets made there live in `ns`).
pub fn in_ns<T: Send + 'static>(ns: &str, f: impl FnOnce() -> T + Send + 'static) -> JoinHandle<T> {
    let path = format!("/run/netns/{ns}");
    std::thread::spawn(move || {
        let file = std::fs::File::open(&path).unwrap_or_else(|e| panic!("open {path}: {e}"));
        use std::os::fd::AsRawFd;
        // SAFETY: a valid namespace descriptor; affects this thread only.
        let r = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
        assert_eq!(r, 0, "setns {path}: {}", std::io::Error::last_os_error());
        f()
    })
}

/// A UDP SIP "PBX" on port 5060 of the server namespace: answers every
/// datagram with `SIP/2.0 200 OK` and counts what arrived.
pub struct Responder {
    pub received: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Responder {
    pub fn start(ns: &str) -> Responder {
        let received = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (r, s) = (received.clone(), stop.clone());
        let (tx, rx) = std::sync::mpsc::channel();
        let thread = in_ns(ns, move || {
            let sock = UdpSocket::bind("[::]:5060").expect("bind responder on 5060");
            set_rcvbuf(&sock, 8 << 20);
            sock.set_read_timeout(Some(Duration::from_millis(50)))
                .unwrap();
            let _ = tx.send(());
            let mut buf = [0u8; 4096];
            while !s.load(Ordering::Relaxed) {
                if let Ok((n, from)) = sock.recv_from(&mut buf) {
                    r.fetch_add(1, Ordering::Relaxed);
                    let reply = answer(&buf[..n]);
                    let _ = sock.send_to(reply.as_bytes(), from);
                }
            }
        });
        rx.recv_timeout(Duration::from_secs(5))
            .expect("responder started");
        Responder {
            received,
            stop,
            thread: Some(thread),
        }
    }

    pub fn count(&self) -> usize {
        self.received.load(Ordering::Relaxed)
    }
}

impl Drop for Responder {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A big receive buffer, so the test's own PBX never loses a burst.
pub fn set_rcvbuf(sock: &UdpSocket, bytes: i32) {
    use std::os::fd::AsRawFd;
    // SAFETY: plain setsockopt on an open socket.
    unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVBUFFORCE,
            &bytes as *const i32 as *const libc::c_void,
            4,
        )
    };
}

/// The answer to a request (Via, From, To, Call-ID, CSeq copied): 403 to
/// a REGISTER with credentials (this PBX knows no passwords), 200 OK to
/// anything else.
fn answer(req: &[u8]) -> String {
    let text = String::from_utf8_lossy(req);
    let failed = text.starts_with("REGISTER ") && text.contains("\r\nAuthorization:");
    let mut out = String::from(if failed {
        "SIP/2.0 403 Forbidden\r\n"
    } else {
        "SIP/2.0 200 OK\r\n"
    });
    for l in text.lines() {
        let lower = l.to_ascii_lowercase();
        if ["via:", "from:", "to:", "call-id:", "cseq:"]
            .iter()
            .any(|h| lower.starts_with(h))
        {
            out.push_str(l.trim_end());
            out.push_str("\r\n");
        }
    }
    out.push_str("Content-Length: 0\r\n\r\n");
    out
}

/// A SIP OPTIONS request to `ruri` from the client.
pub fn options(ruri: &str, seq: u32) -> String {
    format!(
        "OPTIONS {ruri} SIP/2.0\r\nVia: SIP/2.0/UDP {CLIENT}:5070;branch=z9hG4bK-{seq};rport\r\n\
         Max-Forwards: 70\r\nFrom: <sip:probe@{DOMAIN}>;tag={seq}\r\nTo: <{ruri}>\r\n\
         Call-ID: {seq}-daemon-test@{CLIENT}\r\nCSeq: {seq} OPTIONS\r\nUser-Agent: daemon-test/1.0\r\n\
         Content-Length: 0\r\n\r\n"
    )
}

/// A REGISTER for user 1001 with (wrong) digest credentials, as a password
/// guesser sends it.
pub fn register_with_password(seq: u32) -> String {
    format!(
        "REGISTER sip:{DOMAIN} SIP/2.0\r\nVia: SIP/2.0/UDP {CLIENT}:5070;branch=z9hG4bK-r{seq};rport\r\n\
         Max-Forwards: 70\r\nFrom: <sip:1001@{DOMAIN}>;tag=r{seq}\r\nTo: <sip:1001@{DOMAIN}>\r\n\
         Call-ID: guess-{seq}@{CLIENT}\r\nCSeq: {seq} REGISTER\r\nContact: <sip:1001@{CLIENT}:5070>\r\n\
         Authorization: Digest username=\"1001\",realm=\"{DOMAIN}\",nonce=\"abc\",uri=\"sip:{DOMAIN}\",\
         response=\"00000000000000000000000000000000\",algorithm=MD5\r\n\
         Expires: 300\r\nUser-Agent: daemon-test/1.0\r\nContent-Length: 0\r\n\r\n"
    )
}

/// Sends one request from the client namespace and waits up to `wait` for
/// any answer: the answer's first line, or `None`. Each call uses a source
/// port no earlier call used (below the ephemeral range), so it is a new
/// flow: an accepted flow is marked and bypasses inspection afterwards.
pub fn ask(client_ns: &str, to: SocketAddr, payload: String, wait: Duration) -> Option<String> {
    static PORT: AtomicUsize = AtomicUsize::new(21000);
    let port = PORT.fetch_add(1, Ordering::Relaxed);
    in_ns(client_ns, move || {
        let bind = if to.is_ipv4() {
            format!("0.0.0.0:{port}")
        } else {
            format!("[::]:{port}")
        };
        let sock = UdpSocket::bind(&bind).expect("client socket");
        sock.set_read_timeout(Some(wait)).unwrap();
        sock.send_to(payload.as_bytes(), to).expect("send");
        let mut buf = [0u8; 2048];
        let t0 = Instant::now();
        while t0.elapsed() < wait {
            if let Ok((n, _)) = sock.recv_from(&mut buf) {
                let s = String::from_utf8_lossy(&buf[..n]).into_owned();
                return s.lines().next().map(str::to_string);
            }
        }
        None
    })
    .join()
    .expect("client thread")
}

/// Sends `count` copies of `payload` from the client namespace, `rate` per
/// second at most (0: as fast as possible), bounded by `max` time. Returns
/// how many were sent.
pub fn blast(
    client_ns: &str,
    to: SocketAddr,
    payload: String,
    count: usize,
    rate: u32,
    max: Duration,
) -> usize {
    in_ns(client_ns, move || {
        let sock = UdpSocket::bind("0.0.0.0:0").expect("client socket");
        let t0 = Instant::now();
        let mut sent = 0;
        while sent < count && t0.elapsed() < max {
            if rate > 0 {
                let due = Duration::from_secs_f64(sent as f64 / rate as f64);
                if let Some(wait) = due.checked_sub(t0.elapsed()) {
                    std::thread::sleep(wait);
                }
            }
            if sock.send_to(payload.as_bytes(), to).is_ok() {
                sent += 1;
            }
        }
        sent
    })
    .join()
    .expect("blast thread")
}

/// Polls `cond` every 20 ms for up to `secs`.
pub fn wait_for(secs: u64, mut cond: impl FnMut() -> bool) -> bool {
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(secs) {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    cond()
}
