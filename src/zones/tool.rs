//! A [`ZoneSource`] that runs the router's own download tool
//! (`uclient-fetch`, else `wget`) instead of linking an HTTPS stack.
//!
//! Why: ureq + rustls + ring + webpki-roots are ~780 KB of a MIPS binary
//! whose budget is 1.5 MB, while every OpenWrt image already ships
//! `uclient-fetch` (TLS through libustream) and busybox `wget`. The router
//! packages are built without the `tls` feature and use this source.
//!
//! Same contract as the ureq client: a timeout per read (`-T`), an overall
//! deadline after which the tool is killed (a server trickling bytes), a
//! body size cap (stdout is read with a limit and the tool killed beyond
//! it), and HTTP errors as failures (the tools exit non-zero on them; an
//! HTML page sent with 200 is refused by the parser as usual). The tools
//! cannot send `If-None-Match`/`If-Modified-Since` portably (older
//! uclient-fetch has no `--header`), so every refresh downloads the body and the
//! refresh logic compares it with the stored zone (unchanged → `Same`).
//! The body is buffered (bounded by the cap) so that the tool's exit status
//! is known before anything is parsed.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use super::fetch::{Conditional, FetchError, Fetched, ZoneSource};

/// Environment variable naming the download tool (a name in `PATH` or a
/// path); it takes `wget`-style options: `-T SECS -U AGENT -O - URL`.
pub const FETCH_CMD_ENV: &str = "SIPWALL_FETCH_CMD";

/// The tools tried in order when [`FETCH_CMD_ENV`] is unset.
pub const TOOLS: [&str; 2] = ["uclient-fetch", "wget"];

const INSTALL_HINT: &str =
    "install one: `opkg install uclient-fetch libustream-mbedtls ca-bundle` \
(OpenWrt 24.10) or `apk add uclient-fetch libustream-mbedtls ca-bundle` (OpenWrt 25.12 and later), \
or name a wget-compatible tool in SIPWALL_FETCH_CMD";

/// Limits of [`ToolSource`].
#[derive(Clone, Debug)]
pub struct ToolOptions {
    /// The tool to run; `None`: [`FETCH_CMD_ENV`], else the first of
    /// [`TOOLS`] found in `PATH`.
    pub command: Option<String>,
    /// Passed as `-T`: the tool's own connect/read timeout.
    pub read_timeout: Duration,
    /// The whole download; the tool is killed after it.
    pub total_timeout: Duration,
    /// Largest body accepted; the `us` zone is ~380 KB.
    pub max_body: u64,
}

impl Default for ToolOptions {
    fn default() -> ToolOptions {
        ToolOptions {
            command: None,
            read_timeout: Duration::from_secs(20),
            total_timeout: Duration::from_secs(90),
            max_body: 4 * 1024 * 1024,
        }
    }
}

/// Downloads by running an external tool; see the module comment.
pub struct ToolSource {
    opts: ToolOptions,
}

impl ToolSource {
    pub fn new(opts: ToolOptions) -> ToolSource {
        ToolSource { opts }
    }

    /// The program that will run, or an error saying what to install.
    pub fn tool(&self) -> Result<PathBuf, FetchError> {
        let wanted = self
            .opts
            .command
            .clone()
            .or_else(|| std::env::var(FETCH_CMD_ENV).ok().filter(|s| !s.is_empty()));
        if let Some(w) = wanted {
            return find_program(&w).ok_or_else(|| FetchError {
                retry: false,
                not_found: false,
                message: format!("download tool '{w}' (from {FETCH_CMD_ENV} or the options) not found; {INSTALL_HINT}"),
            });
        }
        TOOLS
            .iter()
            .find_map(|t| find_program(t))
            .ok_or_else(|| FetchError {
                retry: false,
                not_found: false,
                message: format!(
                    "no download tool: neither uclient-fetch nor wget is in PATH; {INSTALL_HINT}"
                ),
            })
    }
}

impl ZoneSource for ToolSource {
    fn get(&mut self, url: &str, _cond: Conditional<'_>) -> Result<Fetched, FetchError> {
        let tool = self.tool()?;
        let name = tool
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let secs = self.opts.read_timeout.as_secs().max(1);
        let mut child = Command::new(&tool)
            .arg("-T")
            .arg(secs.to_string())
            .arg("-U")
            .arg(concat!("sipwall/", env!("CARGO_PKG_VERSION")))
            .arg("-O")
            .arg("-")
            .arg(url)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| FetchError {
                retry: false,
                not_found: false,
                message: format!("cannot run {}: {e}; {INSTALL_HINT}", tool.display()),
            })?;

        // The overall deadline: a watchdog kills the tool. The child is
        // reaped only after the watchdog is stopped, so its pid cannot be
        // reused by then.
        let pid = child.id() as libc::pid_t;
        let timed_out = Arc::new(AtomicBool::new(false));
        let (stop_tx, stop_rx) = mpsc::channel::<()>();
        let total = self.opts.total_timeout;
        let started = Instant::now();
        let flag = timed_out.clone();
        let watchdog = std::thread::spawn(move || {
            if let Err(mpsc::RecvTimeoutError::Timeout) = stop_rx.recv_timeout(total) {
                flag.store(true, Ordering::SeqCst);
                // SAFETY: plain kill(2) on our own unreaped child.
                unsafe {
                    libc::kill(pid, libc::SIGKILL);
                }
            }
        });
        // Stderr is drained in the background so a chatty tool never
        // blocks on a full pipe; only its tail is kept for the message.
        let stderr_reader = child.stderr.take().map(|mut e| {
            std::thread::spawn(move || {
                let mut tail: Vec<u8> = Vec::new();
                let mut buf = [0u8; 1024];
                while let Ok(n) = e.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    tail.extend_from_slice(&buf[..n]);
                    if tail.len() > 4096 {
                        let cut = tail.len() - 2048;
                        tail.drain(..cut);
                    }
                }
                tail
            })
        });

        let mut body = Vec::new();
        let mut too_big = false;
        let mut read_error = None;
        if let Some(out) = child.stdout.take() {
            // One byte over the cap tells "exactly at the cap" from "beyond".
            let mut limited = out.take(self.opts.max_body + 1);
            if let Err(e) = limited.read_to_end(&mut body) {
                read_error = Some(e);
            }
            if body.len() as u64 > self.opts.max_body {
                too_big = true;
                let _ = child.kill();
            }
        }
        let _ = stop_tx.send(());
        let _ = watchdog.join();
        // A tool that closed stdout but does not exit must not hang the
        // refresh either: poll up to the rest of the deadline, then kill.
        let status = wait_until(&mut child, started + total);
        let tail = stderr_reader
            .and_then(|h| h.join().ok())
            .map(|t| last_lines(&String::from_utf8_lossy(&t)))
            .unwrap_or_default();

        if too_big {
            return Err(FetchError {
                retry: false,
                not_found: false,
                message: format!(
                    "{name}: the body is over the size limit of {} bytes; not a zone",
                    self.opts.max_body
                ),
            });
        }
        if timed_out.load(Ordering::SeqCst) {
            return Err(FetchError {
                retry: true,
                not_found: false,
                message: format!("{name}: download timed out after {} s", total.as_secs()),
            });
        }
        if let Some(e) = read_error {
            return Err(FetchError {
                retry: true,
                not_found: false,
                message: format!("{name}: reading its output: {e}"),
            });
        }
        match status {
            Ok(s) if s.success() => Ok(Fetched::Body {
                body: Box::new(std::io::Cursor::new(body)),
                etag: None,
                last_modified: None,
            }),
            Ok(s) => Err(classify(&name, s.code(), &tail)),
            Err(e) => Err(FetchError {
                retry: true,
                not_found: false,
                message: format!("{name}: {e}"),
            }),
        }
    }
}

/// Reaps the child, killing it if it is still running at `deadline`.
fn wait_until(
    child: &mut std::process::Child,
    deadline: Instant,
) -> std::io::Result<std::process::ExitStatus> {
    loop {
        if let Some(s) = child.try_wait()? {
            return Ok(s);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            return child.wait();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A failed run of the tool, from its exit code and the end of its stderr.
fn classify(name: &str, code: Option<i32>, tail: &str) -> FetchError {
    let how = match code {
        Some(c) => format!("exit status {c}"),
        None => "killed by a signal".to_string(),
    };
    let lower = tail.to_ascii_lowercase();
    let detail = if tail.is_empty() {
        String::new()
    } else {
        format!(": {tail}")
    };
    if lower.contains("ssl support not available") || lower.contains("libustream") {
        return FetchError {
            retry: false,
            not_found: false,
            message: format!("{name} has no TLS support ({how}){detail}; {INSTALL_HINT}"),
        };
    }
    if lower.contains("certificate") || lower.contains("ssl") || lower.contains("tls") {
        return FetchError {
            retry: false,
            not_found: false,
            message: format!("{name}: TLS failed ({how}){detail} (the server's certificate is not trusted; check the URL, ca-bundle, a proxy or the clock)"),
        };
    }
    let status = http_status(tail);
    FetchError {
        // 4xx other than 408/429 will not change on a second try.
        retry: !matches!(status, Some(s) if (400..500).contains(&s) && s != 408 && s != 429),
        not_found: matches!(status, Some(404) | Some(410)),
        message: match status {
            Some(s) => format!("{name}: HTTP {s} ({how}){detail}"),
            None => format!("{name} failed ({how}){detail}"),
        },
    }
}

/// The HTTP status in a tool's error text: "HTTP error 404" (uclient-fetch),
/// "ERROR 404: Not Found." (GNU wget), "HTTP/1.1 404 Not Found" (busybox).
fn http_status(text: &str) -> Option<u16> {
    let words: Vec<&str> = text
        .split(|c: char| c.is_whitespace() || c == ':')
        .filter(|w| !w.is_empty())
        .collect();
    words.windows(2).rev().find_map(|w| {
        let before = w[0].to_ascii_lowercase();
        let marker = before == "error" || before.starts_with("http/");
        let code = w[1].parse::<u16>().ok().filter(|c| (100..600).contains(c));
        if marker {
            code
        } else {
            None
        }
    })
}

/// The last two non-empty lines, trimmed and bounded, for an error message.
fn last_lines(text: &str) -> String {
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let start = lines.len().saturating_sub(2);
    let mut s = lines[start..].join(" / ");
    if s.len() > 300 {
        let mut cut = 300;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
    }
    s
}

/// `name` itself when it has a slash, else its first match in `PATH`.
fn find_program(name: &str) -> Option<PathBuf> {
    if name.contains('/') {
        let p = Path::new(name);
        return p.is_file().then(|| p.to_path_buf());
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_read_from_each_tools_wording() {
        assert_eq!(http_status("HTTP error 404"), Some(404));
        assert_eq!(
            http_status("2026-01-01 00:00:00 ERROR 403: Forbidden."),
            Some(403)
        );
        assert_eq!(
            http_status("wget: server returned error: HTTP/1.1 500 Internal"),
            Some(500)
        );
        assert_eq!(http_status("Connection refused"), None);
    }

    #[test]
    fn a_404_is_final_and_a_500_is_retried() {
        let e = classify("wget", Some(8), "ERROR 404: Not Found.");
        assert!(!e.retry && e.not_found);
        assert!(classify("uclient-fetch", Some(8), "HTTP error 404").not_found);
        let e = classify("wget", Some(8), "ERROR 500: Oops.");
        assert!(e.retry && !e.not_found);
        assert!(!classify("wget", Some(8), "ERROR 403: Forbidden.").not_found);
        let e = classify(
            "uclient-fetch",
            Some(1),
            "SSL support not available, please install one of the libustream-.*[ssl|tls] packages",
        );
        assert!(!e.retry);
        assert!(
            e.message.contains("opkg install uclient-fetch"),
            "{}",
            e.message
        );
    }

    #[test]
    fn a_missing_tool_says_what_to_install() {
        let src = ToolSource::new(ToolOptions {
            command: Some("/nonexistent/uclient-fetch".into()),
            ..ToolOptions::default()
        });
        let e = src.tool().unwrap_err();
        assert!(!e.retry);
        assert!(e.message.contains("apk add uclient-fetch"), "{}", e.message);
    }
}
