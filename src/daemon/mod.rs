//! The running agent (`sipwall run`): NFQUEUE loop, kernel sets, control
//! socket, ban persistence, syslog.
//!
//! One thread does everything that touches packets, so the policy engine
//! needs no locks and a verdict never waits on another thread; it sleeps in
//! `poll(2)` on four descriptors (the two queue sockets, the signal pipe,
//! the control socket). Housekeeping (overload accounting against the
//! kernel's packet ids, expiry, ban persistence, picking up resolved names)
//! runs once a second while anything happens and stops when idle: every
//! loss of a request happens while packets arrive, which wakes the loop, so
//! the tick that follows a burst accounts for it and "overload is never
//! silent" holds without a timer; an idle daemon sleeps in `poll` without
//! a timeout (0 wake-ups per second). The only other thread resolves
//! allowlisted host names, because DNS can block for seconds. No async runtime: a router has 16 MB of flash.
//!
//! Start-up order matters (see ARCHITECTURE.md, "Daemon"):
//! 1. bind the queues (before any rule queues, so configuration replies are
//!    never mixed with packets);
//! 2. install the firewall plan, restore persisted bans into the engine and
//!    the kernel ban set, fill the allow set;
//! 3. only then read packets. Packets queued meanwhile wait in the socket
//!    and are judged with the bans already in place.
//!
//! SIGTERM uninstalls everything, answers what is still queued, saves the
//! bans and exits 0. SIGHUP reloads the configuration.

pub mod contract;
pub mod control;
pub mod logbook;
pub mod nfqueue;
pub mod persist;
pub mod resolve;
pub mod signals;
pub mod status;
pub mod verdicts;
pub mod world;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use contract::{detect, load_config, MARK_INSPECTED};
use logbook::Logbook;
use nfqueue::{QueueSetup, Queues};
use signals::{Signal, Signals};
use world::Daemon;

/// Options of `sipwall run`.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    pub config: Option<PathBuf>,
    /// Log to stderr instead of syslog.
    pub log_stderr: bool,
}

/// Housekeeping period while anything happens.
const TICK: Duration = Duration::from_secs(1);

/// When allowlisted names are resolved in the background, how often an
/// otherwise idle daemon looks for their results (the thread looks them up
/// every `resolve::EVERY`, so a changed address lands within both).
const IDLE_RESOLVE: Duration = Duration::from_secs(60);

/// Rounds of draining per wake-up before looking at signals, the control
/// socket and the timer again (so a flood cannot starve them).
const ROUNDS: usize = 16;

/// Runs until SIGTERM/SIGINT. Errors are for the user: what failed and what
/// to do.
pub fn run(opts: RunOptions) -> Result<(), String> {
    let cfg = load_config(opts.config.as_deref())?;
    if !cfg.global.enabled {
        let file = opts.config.as_ref().map_or_else(
            || "the configuration".to_string(),
            |p| p.display().to_string(),
        );
        return Err(format!(
            "sipwall is disabled in {file} (enabled is off): set a domain or a knock, \
             then enabled = true (UCI: option enabled '1'), and start it again"
        ));
    }
    let mut log = Logbook::open(opts.log_stderr, cfg.global.log_level);
    let signals = Signals::install()?;
    let setup = QueueSetup::new(
        cfg.global.queue,
        cfg.global.queue_maxlen,
        cfg.global.fail_open,
    );
    let mut queues = Queues::open(setup)?;
    let fw = match detect(&cfg) {
        Ok(f) => f,
        Err(e) => {
            queues.close();
            return Err(format!("cannot use the firewall: {e}"));
        }
    };
    let run_dir = cfg.global.run_dir.clone();
    log.debug(&format!(
        "queues {} and {} bound, rcvbuf {} bytes",
        setup.requests, setup.answers, queues.rcvbuf
    ));
    let mut d = match Daemon::start(cfg, opts.config.clone(), fw, log) {
        Ok(d) => d,
        Err(e) => {
            queues.close();
            return Err(e);
        }
    };
    let server = match control::Server::bind(&run_dir) {
        Ok(s) => s,
        Err(e) => {
            d.shutdown();
            queues.close();
            return Err(e);
        }
    };
    d.log.notice(&format!(
        "started: queues {}/{} ({}), maxlen {}, socket buffer {} KiB, control {}",
        setup.requests,
        setup.answers,
        if setup.fail_open {
            "fail-open"
        } else {
            "fail-closed"
        },
        setup.maxlen,
        queues.rcvbuf / 1024,
        server.path().display()
    ));

    // `None`: nothing due, poll sleeps until a descriptor is ready.
    let mut next_tick = Some(Instant::now() + TICK);
    // Something happened since the last tick (packets, a control request,
    // a reload): tick once more after it so its aftermath is accounted.
    let mut busy = false;
    loop {
        let timeout: libc::c_int = match next_tick {
            None => -1,
            Some(t) => t
                .saturating_duration_since(Instant::now())
                .as_millis()
                .min(i32::MAX as u128) as libc::c_int,
        };
        let [ans_fd, req_fd] = queues.fds();
        let mut fds = [
            pollfd(ans_fd),
            pollfd(req_fd),
            pollfd(signals.fd()),
            pollfd(server.fd()),
        ];
        // SAFETY: fds is a valid array of pollfd for its length.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout) };
        if n < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() != std::io::ErrorKind::Interrupted {
                d.log.error(&format!("poll failed: {e}"));
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        if n > 0 {
            busy = true;
            let soon = Instant::now() + TICK;
            next_tick = Some(next_tick.map_or(soon, |t| t.min(soon)));
        }
        if fds[2].revents != 0 {
            match signals.take() {
                Some(Signal::Stop) => break,
                Some(Signal::Reload) => d.reload(),
                None => {}
            }
        }
        if fds[0].revents != 0 || fds[1].revents != 0 {
            for _ in 0..ROUNDS {
                let served = queues.serve(MARK_INSPECTED, &mut d);
                if !served.more() {
                    break;
                }
            }
        }
        if fds[3].revents != 0 {
            server.serve(|req| d.handle(req, Some(&queues)));
        }
        if next_tick.is_some_and(|t| Instant::now() >= t) {
            d.tick(Some(&mut queues));
            let now = Instant::now();
            next_tick = if busy || !d.settled() {
                Some(now + TICK)
            } else if d.resolver.active() {
                Some(now + IDLE_RESOLVE)
            } else {
                None
            };
            busy = false;
        }
    }

    d.log.notice("stopping: removing firewall rules and sets");
    d.shutdown();
    // The rules are gone, so nothing new is queued; answer what is left so
    // the kernel does not drop it when we unbind.
    for _ in 0..ROUNDS {
        let served = queues.serve(MARK_INSPECTED, &mut d);
        if served.total() == 0 {
            break;
        }
    }
    let stats = queues.stats.clone();
    queues.close();
    drop(server);
    d.log.notice(&format!(
        "stopped: {} requests judged ({} accepted, {} dropped), {} answers seen, {} lost to overload",
        stats.requests, stats.accepted, stats.dropped, stats.answers, stats.lost_requests
    ));
    Ok(())
}

fn pollfd(fd: std::os::fd::RawFd) -> libc::pollfd {
    libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    }
}
