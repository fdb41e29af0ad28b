//! Signals as readable bytes: the handler writes the signal number into a
//! non-blocking pipe, and the main loop polls the read end next to the queue
//! socket and the control socket. No async runtime, no work in the handler.

use std::os::fd::RawFd;
use std::sync::atomic::{AtomicI32, Ordering};

/// Write end of the pipe, for the handler (-1 until installed).
static PIPE_W: AtomicI32 = AtomicI32::new(-1);

extern "C" fn on_signal(sig: libc::c_int) {
    let fd = PIPE_W.load(Ordering::Relaxed);
    if fd >= 0 {
        let b = sig as u8;
        // SAFETY: write(2) is async-signal-safe; a full pipe just loses a
        // duplicate byte, which is harmless.
        unsafe { libc::write(fd, &b as *const u8 as *const _, 1) };
    }
}

/// What the main loop is asked to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signal {
    /// SIGTERM or SIGINT: remove everything and exit.
    Stop,
    /// SIGHUP: reload the configuration.
    Reload,
}

pub struct Signals {
    read: RawFd,
}

impl Signals {
    /// Installs handlers for SIGTERM, SIGINT and SIGHUP and ignores SIGPIPE
    /// (a control client that hangs up must not kill the daemon).
    pub fn install() -> Result<Signals, String> {
        let mut fds = [0 as libc::c_int; 2];
        // SAFETY: fds is valid for two ints.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC) } != 0 {
            return Err(format!(
                "cannot create the signal pipe: {}",
                std::io::Error::last_os_error()
            ));
        }
        PIPE_W.store(fds[1], Ordering::Relaxed);
        // SAFETY: a zeroed sigaction with a plain handler and no flags.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_signal as *const () as usize;
            libc::sigemptyset(&mut sa.sa_mask);
            for sig in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP] {
                libc::sigaction(sig, &sa, std::ptr::null_mut());
            }
            libc::signal(libc::SIGPIPE, libc::SIG_IGN);
        }
        Ok(Signals { read: fds[0] })
    }

    pub fn fd(&self) -> RawFd {
        self.read
    }

    /// Signals received since the last call; `Stop` wins over `Reload`.
    pub fn take(&self) -> Option<Signal> {
        let mut buf = [0u8; 32];
        let mut got = None;
        loop {
            // SAFETY: buf is valid for its length.
            let n = unsafe { libc::read(self.read, buf.as_mut_ptr() as *mut _, buf.len()) };
            if n <= 0 {
                break;
            }
            for &b in &buf[..n as usize] {
                let s = b as libc::c_int;
                if s == libc::SIGTERM || s == libc::SIGINT {
                    got = Some(Signal::Stop);
                } else if s == libc::SIGHUP && got.is_none() {
                    got = Some(Signal::Reload);
                }
            }
        }
        got
    }
}
