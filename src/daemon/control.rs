//! The control socket: `<run_dir>/control.sock`, a Unix stream socket that
//! only root can open (mode 0600).
//!
//! One request per connection: the client writes one line, the daemon
//! answers with one JSON document and closes. Lines:
//!
//! ```text
//! status            -> the status object (see ARCHITECTURE.md, "Control")
//! bans              -> {"bans": [...]}
//! doors             -> {"doors": [...]}
//! ban IP SECS       -> {"ok": true, "message": "..."}   (SECS or "forever")
//! unban IP          -> {"ok": true|false, "message": "..."}
//! ```
//!
//! Any failure is `{"error": "what went wrong and what to do"}`. A line
//! protocol with JSON answers keeps the daemon side tiny, lets LuCI's rpcd
//! or `socat` talk to it, and reuses the JSON writer the CLI needs anyway.
//! The daemon serves a connection with short timeouts, so a stuck client
//! delays packets by at most that long.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::IpAddr;
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::json::Value;

/// File name of the socket inside `global.run_dir`.
pub const SOCKET_NAME: &str = "control.sock";

/// Longest request line accepted.
const MAX_LINE: usize = 512;

/// How long the daemon waits on one client.
const CLIENT_TIMEOUT: Duration = Duration::from_millis(500);

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    Status,
    Bans,
    Doors,
    /// `secs: None`: until unbanned.
    Ban {
        ip: IpAddr,
        secs: Option<u32>,
    },
    Unban {
        ip: IpAddr,
    },
    /// Load the country zones kept on storage into the kernel (sent by
    /// `sipwall zones refresh` after it stored new ones).
    LoadZones,
}

impl Request {
    /// The wire form (without the newline).
    pub fn line(&self) -> String {
        match self {
            Request::Status => "status".into(),
            Request::Bans => "bans".into(),
            Request::Doors => "doors".into(),
            Request::Ban { ip, secs: Some(s) } => format!("ban {ip} {s}"),
            Request::Ban { ip, secs: None } => format!("ban {ip} forever"),
            Request::Unban { ip } => format!("unban {ip}"),
            Request::LoadZones => "zones-load".into(),
        }
    }

    pub fn parse(line: &str) -> Result<Request, String> {
        let words: Vec<&str> = line.split_whitespace().collect();
        let ip = |w: Option<&&str>| -> Result<IpAddr, String> {
            let w = w.ok_or("missing IP address")?;
            w.parse().map_err(|_| {
                format!("'{w}' is not an IP address (expected e.g. 198.51.100.10 or 2001:db8::1)")
            })
        };
        match words.as_slice() {
            ["status"] => Ok(Request::Status),
            ["bans"] => Ok(Request::Bans),
            ["doors"] => Ok(Request::Doors),
            ["ban", _, secs] => {
                let secs = if *secs == "forever" {
                    None
                } else {
                    match secs.parse::<u32>() {
                        Ok(s) if s > 0 => Some(s),
                        _ => return Err(format!("ban length '{secs}': expected seconds > 0 or 'forever'")),
                    }
                };
                Ok(Request::Ban { ip: ip(words.get(1))?, secs })
            }
            ["unban", _] => Ok(Request::Unban { ip: ip(words.get(1))? }),
            ["zones-load"] => Ok(Request::LoadZones),
            _ => Err(format!(
                "unknown request '{}': expected status, bans, doors, 'ban IP SECS|forever', 'unban IP' or zones-load",
                line.chars().take(64).collect::<String>()
            )),
        }
    }
}

/// An error answer.
pub fn error(msg: impl Into<String>) -> Value {
    Value::object().with("error", msg.into())
}

/// The daemon's end: a listening socket that removes its file when dropped.
pub struct Server {
    listener: UnixListener,
    path: PathBuf,
}

impl Server {
    /// Creates `run_dir` if needed and listens on the socket in it. A stale
    /// socket file is replaced; one that still answers means another sipwall
    /// is running, which is an error.
    pub fn bind(run_dir: &Path) -> Result<Server, String> {
        std::fs::create_dir_all(run_dir).map_err(|e| {
            format!(
                "cannot create the run directory {} (global.run_dir): {e}",
                run_dir.display()
            )
        })?;
        let path = run_dir.join(SOCKET_NAME);
        if path.exists() {
            if UnixStream::connect(&path).is_ok() {
                return Err(format!(
                    "another sipwall is already running (its control socket {} answers); stop it first",
                    path.display()
                ));
            }
            let _ = std::fs::remove_file(&path);
        }
        // Created 0600 from the start (umask), not chmod-ed afterwards: no
        // moment in which another user could connect.
        // SAFETY: umask only swaps the process file mode mask.
        let old = unsafe { libc::umask(0o177) };
        let bound = UnixListener::bind(&path);
        unsafe { libc::umask(old) };
        let listener = bound
            .map_err(|e| format!("cannot create the control socket {}: {e}", path.display()))?;
        let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600));
        listener
            .set_nonblocking(true)
            .map_err(|e| format!("control socket {}: {e}", path.display()))?;
        Ok(Server { listener, path })
    }

    pub fn fd(&self) -> RawFd {
        self.listener.as_raw_fd()
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Serves the connections waiting now (at most a few, so packets are
    /// never starved), answering each request with `handle`.
    pub fn serve(&self, mut handle: impl FnMut(Result<Request, String>) -> Value) {
        for _ in 0..8 {
            let Ok((stream, _)) = self.listener.accept() else {
                return;
            };
            let _ = serve_one(stream, &mut handle);
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

fn serve_one(
    stream: UnixStream,
    handle: &mut impl FnMut(Result<Request, String>) -> Value,
) -> std::io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(CLIENT_TIMEOUT))?;
    stream.set_write_timeout(Some(CLIENT_TIMEOUT))?;
    let mut line = String::new();
    let mut reader = BufReader::new((&stream).take(MAX_LINE as u64));
    let req = match reader.read_line(&mut line) {
        Ok(_) if line.ends_with('\n') => Request::parse(line.trim_end()),
        Ok(_) => Err(format!(
            "request longer than {MAX_LINE} bytes or not ended by a newline"
        )),
        Err(e) => Err(format!("cannot read the request: {e}")),
    };
    let answer = handle(req);
    let mut out = answer.to_string();
    out.push('\n');
    (&stream).write_all(out.as_bytes())?;
    // Closing with unread input would reset the connection and could
    // destroy the answer on its way: discard what the client still sends.
    let _ = stream.shutdown(std::net::Shutdown::Write);
    stream.set_nonblocking(true)?;
    let mut sink = [0u8; 1024];
    for _ in 0..64 {
        match (&stream).read(&mut sink) {
            Ok(n) if n > 0 => {}
            _ => break,
        }
    }
    Ok(())
}

/// The client's end: sends `req` to the daemon listening in `run_dir` and
/// returns its answer (an `{"error": ...}` answer becomes `Err`).
pub fn call(run_dir: &Path, req: &Request) -> Result<Value, String> {
    let path = run_dir.join(SOCKET_NAME);
    let mut stream = UnixStream::connect(&path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused => format!(
            "sipwall is not running (no control socket at {}); start it with `sipwall run` \
             or `/etc/init.d/sipwall start`",
            path.display()
        ),
        std::io::ErrorKind::PermissionDenied => {
            format!("permission denied on {}: run this as root", path.display())
        }
        _ => format!("cannot connect to {}: {e}", path.display()),
    })?;
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    stream
        .write_all(format!("{}\n", req.line()).as_bytes())
        .map_err(|e| format!("cannot send the request to {}: {e}", path.display()))?;
    let mut text = String::new();
    stream
        .read_to_string(&mut text)
        .map_err(|e| format!("no answer from {}: {e}", path.display()))?;
    let v = crate::json::parse(text.trim()).map_err(|e| {
        format!(
            "garbled answer from the daemon ({e}): {}",
            text.chars().take(80).collect::<String>()
        )
    })?;
    if let Some(e) = v.get("error").and_then(|e| e.as_str()) {
        return Err(e.to_string());
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_round_trip_through_their_wire_form() {
        let ip: IpAddr = "2001:db8::7".parse().unwrap();
        for r in [
            Request::Status,
            Request::Bans,
            Request::Doors,
            Request::Ban {
                ip,
                secs: Some(3600),
            },
            Request::Ban { ip, secs: None },
            Request::Unban { ip },
        ] {
            assert_eq!(Request::parse(&r.line()), Ok(r));
        }
    }

    #[test]
    fn bad_requests_say_what_is_expected() {
        assert!(Request::parse("ban 1.2.3 60")
            .unwrap_err()
            .contains("not an IP address"));
        assert!(Request::parse("ban 198.51.100.1 0")
            .unwrap_err()
            .contains("seconds > 0"));
        assert!(Request::parse("reboot")
            .unwrap_err()
            .contains("unknown request 'reboot'"));
    }
}
