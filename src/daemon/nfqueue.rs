//! The two NFQUEUE queues sipwall listens on: `global.queue` carries new
//! requests towards the PBX, `global.queue + 1` the PBX's answers that teach
//! the policy (401/403/407, 2xx to REGISTER).
//!
//! Each queue has its own netlink socket, and the answers are always served
//! first: a flood that fills the requests queue must not delay the PBX's
//! 401/403 (the ban it leads to) or its 200 OK to a phone. Why the loop is
//! shaped so (measured on the test bed: crate defaults reach 0.64 of no-rules
//! throughput with 9-29 % loss, this shape 0.91 with none):
//!
//! * a large socket receive buffer, sized to hold a full kernel queue, so
//!   the socket never overflows before the queue does;
//! * each wake-up drains up to [`DRAIN`] packets before answering;
//! * accepted packets are answered with one `NFQNL_MSG_VERDICT_BATCH` per run
//!   (see `verdicts.rs`), drops one by one;
//! * overload is never silent: the kernel numbers every packet it queues, so
//!   ids we never read count the packets that never reached us (dropped when
//!   fail-closed, passed uninspected when fail-open).
//!
//! nfq 0.2.5 keeps its socket private and has no batch verdict. We therefore
//! learn the descriptor once at open time (see [`open_socket`]) and send
//! verdicts ourselves; the crate still does binding, configuration and
//! message parsing. Upstreamable patch that would remove both work-arounds
//! (about 30 lines in nfq-rs `src/lib.rs`):
//!
//! ```text
//! impl std::os::fd::AsRawFd for Queue { fn as_raw_fd(&self) -> RawFd { self.fd } }
//! impl Queue {
//!     /// NFQNL_MSG_VERDICT_BATCH: `verdict` (and `mark`, if any) for every
//!     /// packet of `queue_num` with id <= `max_id` still waiting.
//!     pub fn verdict_batch(&mut self, queue_num: u16, max_id: u32,
//!                          verdict: Verdict, mark: Option<u32>) -> Result<()>;
//! }
//! ```

use std::io;
use std::os::fd::RawFd;

use super::verdicts::{self, Answer, Kernel, Send};

/// Bytes of each packet copied to us. SIP requests and the PBX's answers
/// fit easily (RFC 3261 asks UDP senders to stay under 1300 bytes; TCP is
/// segmented before queueing). A longer packet arrives truncated and is
/// judged as malformed rather than guessed at.
pub const COPY_RANGE: u16 = 8192;

/// Packets drained per wake-up before the verdicts go out.
pub const DRAIN: usize = 64;

/// Which of our two queues a packet came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Which {
    Requests,
    Answers,
}

/// How the queues are set up (from `global.*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueueSetup {
    pub requests: u16,
    pub answers: u16,
    pub maxlen: u32,
    pub fail_open: bool,
    /// Socket receive buffer to ask for, bytes.
    pub rcvbuf: usize,
    /// Queue length given to the kernel. Fail-closed: `maxlen`, and the
    /// kernel counts what it drops when the queue is full. Fail-open: a
    /// packet passed because the queue is full is counted nowhere, so the
    /// kernel limit is raised above what the socket buffer can hold; the
    /// socket then overflows first, and every packet it waves through left
    /// a gap in the packet ids that we count as uninspected. Memory stays
    /// bounded by the socket buffer either way.
    pub kernel_maxlen: u32,
}

impl QueueSetup {
    /// `global.queue` for requests, the next number for answers, and a
    /// receive buffer that can hold a full queue of typical SIP packets
    /// (about 2 KiB of kernel memory each), between 1 and 32 MiB.
    pub fn new(queue: u16, maxlen: u32, fail_open: bool) -> QueueSetup {
        let rcvbuf = (maxlen as usize)
            .saturating_mul(2048)
            .clamp(1 << 20, 32 << 20);
        // The kernel doubles the buffer we ask for, and no queued packet
        // costs less than 256 bytes of it (sk_buff and shared info alone),
        // so rcvbuf / 128 packets are more than the socket can ever hold.
        let kernel_maxlen = if fail_open {
            maxlen.max((rcvbuf / 128).min(u32::MAX as usize) as u32)
        } else {
            maxlen
        };
        QueueSetup {
            requests: queue,
            answers: queue.wrapping_add(1),
            maxlen,
            fail_open,
            rcvbuf,
            kernel_maxlen,
        }
    }
}

/// Counters of the queue loop, shown by `status` and read by the benches.
/// Plain `u64`s owned by the single loop thread (no 64-bit atomics on MIPS).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QueueStats {
    /// Request packets read from the requests queue.
    pub requests: u64,
    /// Answer packets read from the answers queue.
    pub answers: u64,
    /// Requests let through (verdict repeat + inspected mark).
    pub accepted: u64,
    /// Requests dropped by verdict.
    pub dropped: u64,
    /// Requests that arrived truncated or did not parse as IP/UDP/TCP.
    pub malformed: u64,
    /// Seconds (housekeeping ticks) in which requests were lost.
    pub overload_events: u64,
    /// Requests the kernel queued for us that never arrived (id gaps):
    /// dropped when fail-closed, passed uninspected when fail-open.
    pub lost_requests: u64,
    /// Answers that never arrived (always passed: the answers queue bypasses).
    pub lost_answers: u64,
    /// Netlink errors (failed verdicts and the like).
    pub netlink_errors: u64,
    /// Wake-ups that found packets, and the largest drain seen.
    pub wakeups: u64,
    pub max_drain: u32,
    /// Verdict messages sent: batched (many packets each) and single.
    pub batch_verdicts: u64,
    pub single_verdicts: u64,
}

/// Who decides the queued packets: a verdict per packet, then one call to
/// [`Judge::settle`] per drained batch, before the kernel gets the verdicts.
pub trait Judge {
    fn judge(&mut self, q: &Queued<'_>) -> Kernel;
    /// Carries out what judging the batch decided (bans above all) while
    /// its packets are still held: the PBX's 403 that triggers a ban
    /// reaches the guesser only once the kernel drops the guesser, so a
    /// fast guesser has no window for one more guess.
    fn settle(&mut self) {}
}

impl<F: FnMut(&Queued<'_>) -> Kernel> Judge for F {
    fn judge(&mut self, q: &Queued<'_>) -> Kernel {
        self(q)
    }
}

/// The packet handed to the judge.
pub struct Queued<'a> {
    pub which: Which,
    /// The IP packet (first [`COPY_RANGE`] bytes).
    pub bytes: &'a [u8],
    /// The kernel cut the packet at [`COPY_RANGE`].
    pub truncated: bool,
    /// The packet's nfmark. On answers the ruleset ORs `MARK_INSPECTED`
    /// in when the flow's conntrack mark has it.
    pub mark: u32,
}

/// One queue on its own netlink socket.
struct Sock {
    q: nfq::Queue,
    fd: RawFd,
    num: u16,
    rcvbuf: usize,
    last_id: Option<u32>,
}

impl Sock {
    fn open(num: u16, fail_open: bool, maxlen: u32, rcvbuf: usize) -> Result<Sock, String> {
        let (mut q, fd) = open_socket()?;
        let rcvbuf = set_rcvbuf(fd, rcvbuf);
        // ENOBUFS reporting stays off (the crate's default): measured on
        // Linux 6.18, a socket that reported ENOBUFS stayed "congested" for
        // over a second after the overflow and took no packet meanwhile
        // (all dropped when fail-closed, all waved through when fail-open);
        // with reporting off it takes packets again as soon as there is
        // room. Losses are counted from the kernel's packet ids instead
        // (`reconcile`).
        q.set_recv_enobufs(false)
            .map_err(|e| format!("cannot configure the queue socket: {e}"))?;
        q.bind(num).map_err(|e| bind_error(num, &e))?;
        q.set_copy_range(num, COPY_RANGE)
            .and_then(|_| q.set_queue_max_len(num, maxlen))
            .and_then(|_| q.set_fail_open(num, fail_open))
            .map_err(|e| format!("cannot configure NFQUEUE {num}: {e}"))?;
        q.set_nonblocking(true);
        Ok(Sock {
            q,
            fd,
            num,
            rcvbuf,
            last_id: None,
        })
    }
}

/// Both queues. Each has its own socket so that a flood of requests can
/// never delay the PBX's answers: those are served first on every wake-up,
/// which keeps the reaction from a failed login to a kernel ban short even
/// while the requests queue is full.
pub struct Queues {
    req: Sock,
    ans: Sock,
    setup: QueueSetup,
    /// Receive buffer the kernel granted the requests socket (bytes).
    pub rcvbuf: usize,
    pub stats: QueueStats,
    lost_at_last_reconcile: u64,
    last_error: Option<String>,
    msgs: Vec<nfq::Message>,
    answers: Vec<Answer>,
    plan: Vec<Send>,
}

/// Packets handled by one [`Queues::serve`] call, per queue.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Served {
    pub answers: usize,
    pub requests: usize,
}

impl Served {
    /// A queue gave a full drain: more is probably waiting.
    pub fn more(&self) -> bool {
        self.answers >= DRAIN || self.requests >= DRAIN
    }

    pub fn total(&self) -> usize {
        self.answers + self.requests
    }
}

/// NFNL_SUBSYS_QUEUE << 8 | message type.
const MSG_VERDICT: u16 = (3 << 8) | 1;
const MSG_VERDICT_BATCH: u16 = (3 << 8) | 3;
const NFQA_VERDICT_HDR: u16 = 2;
const NFQA_MARK: u16 = 3;

/// The answers queue carries a few packets per login: a modest buffer.
const ANSWERS_RCVBUF: usize = 1 << 20;

impl Queues {
    /// Opens both sockets, binds and configures the queues. Call this
    /// before the ruleset starts queueing: the crate reads configuration
    /// acknowledgements off the same socket and would swallow packets that
    /// arrive meanwhile.
    pub fn open(setup: QueueSetup) -> Result<Queues, String> {
        let req = Sock::open(
            setup.requests,
            setup.fail_open,
            setup.kernel_maxlen,
            setup.rcvbuf,
        )?;
        // Observation must never block the PBX: the answers queue always
        // fails open.
        let ans = Sock::open(setup.answers, true, setup.maxlen, ANSWERS_RCVBUF)?;
        Ok(Queues {
            rcvbuf: req.rcvbuf,
            req,
            ans,
            setup,
            stats: QueueStats::default(),
            lost_at_last_reconcile: 0,
            last_error: None,
            msgs: Vec::with_capacity(DRAIN),
            answers: Vec::with_capacity(DRAIN),
            plan: Vec::with_capacity(DRAIN),
        })
    }

    /// The descriptors to poll: answers, requests.
    pub fn fds(&self) -> [RawFd; 2] {
        [self.ans.fd, self.req.fd]
    }

    pub fn setup(&self) -> QueueSetup {
        self.setup
    }

    /// The last netlink error seen, for `status`.
    pub fn last_error(&self) -> Option<&str> {
        self.last_error.as_deref()
    }

    /// Drains the answers queue, then up to [`DRAIN`] requests, asks
    /// `judge` for each verdict and answers the kernel.
    pub fn serve<J: Judge + ?Sized>(&mut self, mark_inspected: u32, judge: &mut J) -> Served {
        let mut answers = 0;
        // Answers first, and all of them (bounded), before any request.
        for _ in 0..4 {
            let n = self.serve_one(Which::Answers, mark_inspected, judge);
            answers += n;
            if n < DRAIN {
                break;
            }
        }
        let requests = self.serve_one(Which::Requests, mark_inspected, judge);
        Served { answers, requests }
    }

    fn serve_one<J: Judge + ?Sized>(
        &mut self,
        which: Which,
        mark_inspected: u32,
        judge: &mut J,
    ) -> usize {
        let sock = match which {
            Which::Requests => &mut self.req,
            Which::Answers => &mut self.ans,
        };
        self.msgs.clear();
        let mut errors = 0;
        while self.msgs.len() < DRAIN && errors < DRAIN {
            match sock.q.recv() {
                Ok(m) => self.msgs.push(m),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => {
                    self.stats.overload_events += 1;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    // Errors the kernel sends back for a verdict it could not
                    // apply arrive here; count them and keep serving.
                    errors += 1;
                    self.stats.netlink_errors += 1;
                    self.last_error = Some(e.to_string());
                }
            }
        }
        let n = self.msgs.len();
        if n == 0 {
            return 0;
        }
        self.stats.wakeups += 1;
        self.stats.max_drain = self.stats.max_drain.max(n as u32);
        self.answers.clear();
        for m in &self.msgs {
            let id = m.get_packet_id();
            if let Some(last) = sock.last_id {
                let gap = id.wrapping_sub(last).wrapping_sub(1);
                // A huge "gap" is a restart of the sequence, not a loss.
                if gap > 0 && gap < (1 << 30) {
                    match which {
                        Which::Requests => self.stats.lost_requests += gap as u64,
                        Which::Answers => self.stats.lost_answers += gap as u64,
                    }
                }
            }
            sock.last_id = Some(id);
            let bytes = m.get_payload();
            let queued = Queued {
                which,
                bytes,
                truncated: m.get_original_len() > bytes.len(),
                mark: m.get_nfmark(),
            };
            let verdict = judge.judge(&queued);
            match which {
                Which::Requests => {
                    self.stats.requests += 1;
                    if verdict == Kernel::Drop {
                        self.stats.dropped += 1;
                    } else {
                        self.stats.accepted += 1;
                    }
                }
                Which::Answers => self.stats.answers += 1,
            }
            let mark = match verdict {
                Kernel::Repeat => Some(m.get_nfmark() | mark_inspected),
                _ => None,
            };
            self.answers.push(Answer {
                queue: sock.num,
                id,
                verdict,
                mark,
            });
        }
        judge.settle();
        verdicts::plan(&self.answers, &mut self.plan);
        for i in 0..self.plan.len() {
            let (typ, queue, id, verdict, mark) = match self.plan[i] {
                Send::One(k) => {
                    let a = self.answers[k];
                    self.stats.single_verdicts += 1;
                    (MSG_VERDICT, a.queue, a.id, a.verdict, a.mark)
                }
                Send::Batch {
                    queue,
                    max_id,
                    verdict,
                    mark,
                } => {
                    self.stats.batch_verdicts += 1;
                    (MSG_VERDICT_BATCH, queue, max_id, verdict, mark)
                }
            };
            if let Err(e) = send_verdict(sock.fd, typ, queue, id, verdict, mark) {
                self.stats.netlink_errors += 1;
                self.last_error = Some(format!("verdict for packet {id} of queue {queue}: {e}"));
            }
        }
        // Messages hold the crate's receive buffer; release them now so the
        // next recv reuses it instead of allocating.
        self.msgs.clear();
        n
    }

    /// Squares our counts with the kernel's: every id the kernel handed out
    /// for a queue was either read by us, is still waiting, or never reached
    /// us. Gaps between the ids we read count the last kind at once, but
    /// not the packets after the last one we read (a burst that ends in
    /// overload); this catches those. Call between batches, when every
    /// packet read has had its verdict.
    pub fn reconcile(&mut self, kernel: &[KernelQueue]) {
        reconcile_counts(&mut self.stats, kernel, self.req.num, self.ans.num);
        if self.stats.lost_requests > self.lost_at_last_reconcile {
            self.stats.overload_events += 1;
        }
        self.lost_at_last_reconcile = self.stats.lost_requests;
    }

    /// Unbinds both queues. Packets still waiting in the kernel are dropped
    /// by it (fail-closed), so callers drain first.
    pub fn close(mut self) {
        let _ = self.req.q.unbind(self.setup.requests);
        let _ = self.ans.q.unbind(self.setup.answers);
    }
}

fn bind_error(num: u16, e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(libc::EBUSY) => format!(
            "NFQUEUE {num} is already bound by another program (another sipwall, or an NFQUEUE \
             tool); stop it or set global.queue to a free number (sipwall uses queue and queue+1)"
        ),
        Some(libc::EPERM) => {
            format!("cannot bind NFQUEUE {num}: permission denied (run as root / CAP_NET_ADMIN)")
        }
        _ => format!("cannot bind NFQUEUE {num}: {e}"),
    }
}

/// Opens the crate's queue and learns its socket descriptor.
///
/// The crate keeps its socket private, so we list the netfilter netlink
/// sockets this process has before and after opening the queue: the new
/// one is the crate's. Opens are serialised, because two threads opening
/// queues at once (the tests do) would otherwise each see both new sockets
/// and could answer on the other's — verdicts for the wrong queue.
pub fn open_socket() -> Result<(nfq::Queue, RawFd), String> {
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _guard = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let before = netfilter_sockets();
    let q = nfq::Queue::open().map_err(|e| {
        format!(
            "cannot open the netfilter queue socket: {e} (sipwall run needs root / CAP_NET_ADMIN)"
        )
    })?;
    match netfilter_sockets()
        .into_iter()
        .find(|fd| !before.contains(fd))
    {
        Some(fd) => Ok((q, fd)),
        None => Err("opened the netfilter queue socket but cannot find its descriptor".into()),
    }
}

/// This process's NETLINK_NETFILTER sockets (from /proc/self/fd; a scan of
/// the low descriptors where /proc is not mounted).
fn netfilter_sockets() -> Vec<RawFd> {
    let listed: Option<Vec<RawFd>> = std::fs::read_dir("/proc/self/fd").ok().map(|dir| {
        dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
            .collect()
    });
    listed
        .unwrap_or_else(|| (0..4096).collect())
        .into_iter()
        .filter(|fd| is_nfqueue_socket(*fd))
        .collect()
}

fn sockopt_int(fd: RawFd, level: libc::c_int, name: libc::c_int) -> Option<libc::c_int> {
    let mut v: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: v and len are valid for writing; a bad fd just fails.
    let r = unsafe { libc::getsockopt(fd, level, name, &mut v as *mut _ as *mut _, &mut len) };
    (r == 0).then_some(v)
}

fn is_nfqueue_socket(fd: RawFd) -> bool {
    sockopt_int(fd, libc::SOL_SOCKET, libc::SO_DOMAIN) == Some(libc::AF_NETLINK)
        && sockopt_int(fd, libc::SOL_SOCKET, libc::SO_PROTOCOL) == Some(libc::NETLINK_NETFILTER)
}

/// Asks for `bytes` of receive buffer (SO_RCVBUFFORCE passes the
/// `rmem_max` limit with CAP_NET_ADMIN; plain SO_RCVBUF otherwise) and
/// returns what the kernel granted.
fn set_rcvbuf(fd: RawFd, bytes: usize) -> usize {
    let v = bytes.min(i32::MAX as usize) as libc::c_int;
    let len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    for opt in [libc::SO_RCVBUFFORCE, libc::SO_RCVBUF] {
        // SAFETY: v lives across the call.
        let r =
            unsafe { libc::setsockopt(fd, libc::SOL_SOCKET, opt, &v as *const _ as *const _, len) };
        if r == 0 {
            break;
        }
    }
    sockopt_int(fd, libc::SOL_SOCKET, libc::SO_RCVBUF).map_or(0, |v| v.max(0) as usize)
}

/// Builds and sends one verdict message (single or batch: same layout).
fn send_verdict(
    fd: RawFd,
    typ: u16,
    queue: u16,
    id: u32,
    verdict: Kernel,
    mark: Option<u32>,
) -> io::Result<()> {
    let mut b = [0u8; 40];
    let len: usize = if mark.is_some() { 40 } else { 32 };
    b[0..4].copy_from_slice(&(len as u32).to_ne_bytes());
    b[4..6].copy_from_slice(&typ.to_ne_bytes());
    b[6..8].copy_from_slice(&(libc::NLM_F_REQUEST as u16).to_ne_bytes());
    // seq, portid stay 0; nfgenmsg: AF_UNSPEC, version 0, queue (big endian)
    b[18..20].copy_from_slice(&queue.to_be_bytes());
    b[20..22].copy_from_slice(&12u16.to_ne_bytes());
    b[22..24].copy_from_slice(&NFQA_VERDICT_HDR.to_ne_bytes());
    b[24..28].copy_from_slice(&verdict.code().to_be_bytes());
    b[28..32].copy_from_slice(&id.to_be_bytes());
    if let Some(mark) = mark {
        b[32..34].copy_from_slice(&8u16.to_ne_bytes());
        b[34..36].copy_from_slice(&NFQA_MARK.to_ne_bytes());
        b[36..40].copy_from_slice(&mark.to_be_bytes());
    }
    // SAFETY: zeroed sockaddr_nl is the kernel's address; b outlives the call.
    let mut sa: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
    sa.nl_family = libc::AF_NETLINK as libc::sa_family_t;
    let r = unsafe {
        libc::sendto(
            fd,
            b.as_ptr() as *const _,
            len,
            0,
            &sa as *const libc::sockaddr_nl as *const libc::sockaddr,
            std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
        )
    };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// See [`Queues::reconcile`].
pub fn reconcile_counts(
    stats: &mut QueueStats,
    kernel: &[KernelQueue],
    requests: u16,
    answers: u16,
) {
    for (num, is_req) in [(requests, true), (answers, false)] {
        let Some(k) = kernel.iter().find(|k| k.queue == num) else {
            continue;
        };
        let read = if is_req {
            stats.requests
        } else {
            stats.answers
        };
        // ids start at 1 for a freshly bound queue and wrap at 2^32.
        let lost = (k.id_sequence as u64)
            .wrapping_sub(read)
            .wrapping_sub(k.waiting as u64)
            % (1 << 32);
        if lost >= 1 << 31 {
            continue; // a packet in flight between the two readings
        }
        if is_req {
            stats.lost_requests = stats.lost_requests.max(lost);
        } else {
            stats.lost_answers = stats.lost_answers.max(lost);
        }
    }
}

/// One line of `/proc/net/netfilter/nfnetlink_queue` (per network namespace).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KernelQueue {
    pub queue: u16,
    /// Packets waiting for a verdict right now.
    pub waiting: u32,
    /// Dropped because the queue was at its maximum length (fail-closed).
    pub queue_dropped: u64,
    /// Dropped because our socket buffer was full (fail-closed).
    pub user_dropped: u64,
    /// Packet ids handed out so far (wraps at 2^32).
    pub id_sequence: u32,
}

/// The kernel's own view of our queues in this thread's network namespace;
/// empty if the file is missing.
pub fn kernel_queues() -> Vec<KernelQueue> {
    [
        "/proc/thread-self/net/netfilter/nfnetlink_queue",
        "/proc/net/netfilter/nfnetlink_queue",
    ]
    .iter()
    .find_map(|p| std::fs::read_to_string(p).ok())
    .map(|t| parse_kernel_queues(&t))
    .unwrap_or_default()
}

/// Columns: queue, portid, waiting, copy mode, copy range, queue dropped,
/// user dropped, id sequence, 1.
pub fn parse_kernel_queues(text: &str) -> Vec<KernelQueue> {
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            if f.len() < 7 {
                return None;
            }
            Some(KernelQueue {
                queue: f[0].parse().ok()?,
                waiting: f[2].parse().ok()?,
                queue_dropped: f[5].parse().ok()?,
                user_dropped: f[6].parse().ok()?,
                id_sequence: f.get(7).and_then(|v| v.parse().ok()).unwrap_or(0),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_lines_are_read_and_garbage_skipped() {
        let t = " 5060  12345     3 2  8192     7     9      120  1\n 5061 12345 0 2 8192 0 0 4 1\nbroken\n";
        let q = parse_kernel_queues(t);
        assert_eq!(q.len(), 2);
        assert_eq!(
            q[0],
            KernelQueue {
                queue: 5060,
                waiting: 3,
                queue_dropped: 7,
                user_dropped: 9,
                id_sequence: 120
            }
        );
        assert_eq!(q[1].queue, 5061);
    }

    #[test]
    fn ids_the_kernel_handed_out_but_we_never_read_count_as_lost() {
        let (mut req, mut ans) = (KernelQueue::default(), KernelQueue::default());
        req.queue = 5060;
        ans.queue = 5061;
        req.id_sequence = 1000;
        req.waiting = 10;
        let mut stats = QueueStats {
            requests: 900,
            ..QueueStats::default()
        };
        reconcile_counts(&mut stats, &[req, ans], 5060, 5061);
        assert_eq!(stats.lost_requests, 90);
        // Wrapped id sequence.
        req.id_sequence = 5;
        req.waiting = 0;
        stats.requests = (1 << 32) + 5;
        stats.lost_requests = 0;
        reconcile_counts(&mut stats, &[req, ans], 5060, 5061);
        assert_eq!(stats.lost_requests, 0);
    }

    #[test]
    fn receive_buffer_follows_queue_length_within_bounds() {
        assert_eq!(QueueSetup::new(7, 4096, false).rcvbuf, 8 << 20);
        assert_eq!(QueueSetup::new(7, 16, false).rcvbuf, 1 << 20);
        assert_eq!(QueueSetup::new(7, 1 << 20, false).rcvbuf, 32 << 20);
        assert_eq!(QueueSetup::new(65535, 16, false).answers, 0);
        // Fail-open: the socket, not the queue length, is the limit.
        assert_eq!(QueueSetup::new(7, 4096, false).kernel_maxlen, 4096);
        assert_eq!(QueueSetup::new(7, 4096, true).kernel_maxlen, 65536);
        assert_eq!(QueueSetup::new(7, 100_000, true).kernel_maxlen, 262_144);
    }
}
