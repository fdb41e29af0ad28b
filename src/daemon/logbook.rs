//! What the daemon tells the admin: syslog (facility daemon, ident
//! `sipwall`, read with `logread -e sipwall`) or stderr for tests and
//! foreground debugging.
//!
//! Every line explains itself (who, what, why, what the packet was), and no
//! flood can turn the log into a line per packet: each kind of event has a
//! budget per minute, and what went over budget is summed up in one line.

use std::fmt::Write as _;

use crate::policy::Millis;

/// Kinds of events, each with its own budget.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Ban,
    Door,
    AuthFailed,
    Drop,
}

impl Kind {
    const ALL: [Kind; 4] = [Kind::Ban, Kind::Door, Kind::AuthFailed, Kind::Drop];

    fn budget(self) -> u32 {
        match self {
            Kind::Ban => 60,
            Kind::Door => 60,
            Kind::AuthFailed => 60,
            Kind::Drop => 30,
        }
    }

    fn plural(self) -> &'static str {
        match self {
            Kind::Ban => "bans",
            Kind::Door => "doors opened",
            Kind::AuthFailed => "failed authentications",
            Kind::Drop => "first drops",
        }
    }

    /// Lowest `log_level` at which this kind is logged (0 quiet, 1 normal).
    fn level(self) -> u8 {
        match self {
            Kind::Ban => 0,
            _ => 1,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Severity {
    Err,
    Warning,
    Notice,
    Info,
}

type Syslog = syslog::Logger<syslog::LoggerBackend, syslog::Formatter3164>;

enum Sink {
    /// The logger, its socket (`None`: the system's), and when it last
    /// failed (to reconnect after a syslog daemon restart, at most every
    /// ten seconds).
    Syslog(
        Syslog,
        Option<std::path::PathBuf>,
        Option<std::time::Instant>,
    ),
    Stderr,
    /// Lines kept in memory (tests).
    Memory(Vec<String>),
}

pub struct Logbook {
    sink: Sink,
    level: u8,
    window_start: Millis,
    used: [u32; 4],
    suppressed: [u64; 4],
}

const WINDOW_MS: u64 = 60_000;

impl Logbook {
    /// Syslog if reachable (else stderr, with one line saying why), or
    /// stderr when asked.
    pub fn open(stderr: bool, level: u8) -> Logbook {
        let sink = if stderr {
            Sink::Stderr
        } else {
            match connect_syslog(None) {
                Ok(l) => Sink::Syslog(l, None, None),
                Err(e) => {
                    eprintln!("sipwall: syslog unavailable ({e}); logging to stderr");
                    Sink::Stderr
                }
            }
        };
        Logbook::with_sink(sink, level)
    }

    /// Syslog on the socket at `path` (tests; a router uses [`Logbook::open`]).
    pub fn syslog_at(path: &std::path::Path, level: u8) -> Result<Logbook, String> {
        let l =
            connect_syslog(Some(path)).map_err(|e| format!("syslog at {}: {e}", path.display()))?;
        Ok(Logbook::with_sink(
            Sink::Syslog(l, Some(path.to_path_buf()), None),
            level,
        ))
    }

    /// A logbook that keeps its lines in memory, for tests.
    pub fn memory(level: u8) -> Logbook {
        Logbook::with_sink(Sink::Memory(Vec::new()), level)
    }

    fn with_sink(sink: Sink, level: u8) -> Logbook {
        Logbook {
            sink,
            level,
            window_start: Millis(0),
            used: [0; 4],
            suppressed: [0; 4],
        }
    }

    pub fn set_level(&mut self, level: u8) {
        self.level = level;
    }

    /// Lines written so far to a memory logbook.
    pub fn lines(&self) -> &[String] {
        match &self.sink {
            Sink::Memory(v) => v,
            _ => &[],
        }
    }

    fn write(&mut self, sev: Severity, msg: &str) {
        match &mut self.sink {
            Sink::Syslog(l, path, failed) => {
                let send = |l: &mut Syslog| match sev {
                    Severity::Err => l.err(msg),
                    Severity::Warning => l.warning(msg),
                    Severity::Notice => l.notice(msg),
                    Severity::Info => l.info(msg),
                };
                if send(l).is_ok() {
                    *failed = None;
                    return;
                }
                // logd/syslogd restarted (OpenWrt does on config changes):
                // reconnect, but do not hammer a syslog that is gone.
                let due = failed.is_none_or(|t| t.elapsed() >= std::time::Duration::from_secs(10));
                if due {
                    *failed = Some(std::time::Instant::now());
                    if let Ok(mut fresh) = connect_syslog(path.as_deref()) {
                        if send(&mut fresh).is_ok() {
                            *l = fresh;
                            *failed = None;
                        }
                    }
                }
            }
            Sink::Stderr => {
                let tag = match sev {
                    Severity::Err => "error",
                    Severity::Warning => "warning",
                    Severity::Notice => "notice",
                    Severity::Info => "info",
                };
                eprintln!("sipwall[{}]: {tag}: {msg}", std::process::id());
            }
            Sink::Memory(v) => v.push(msg.to_string()),
        }
    }

    pub fn error(&mut self, msg: &str) {
        self.write(Severity::Err, msg);
    }

    pub fn warning(&mut self, msg: &str) {
        self.write(Severity::Warning, msg);
    }

    pub fn notice(&mut self, msg: &str) {
        self.write(Severity::Notice, msg);
    }

    pub fn info(&mut self, msg: &str) {
        if self.level >= 1 {
            self.write(Severity::Info, msg);
        }
    }

    pub fn debug(&mut self, msg: &str) {
        if self.level >= 2 {
            self.write(Severity::Info, msg);
        }
    }

    /// Whether an event of `kind` may be written now; counts it either way.
    /// Callers build the text only when this says yes, so a flood costs a
    /// counter increment per packet, not a string.
    pub fn admit(&mut self, kind: Kind, now: Millis) -> bool {
        self.roll(now);
        if self.level < kind.level() {
            return false;
        }
        let i = kind as usize;
        if self.used[i] < kind.budget() {
            self.used[i] += 1;
            true
        } else {
            self.suppressed[i] += 1;
            false
        }
    }

    /// Whether an event of `kind` would be written now (nothing counted):
    /// lets callers skip building context for lines that cannot be logged.
    pub fn has_budget(&self, kind: Kind, now: Millis) -> bool {
        let new_window = now.0.saturating_sub(self.window_start.0) >= WINDOW_MS;
        self.level >= kind.level() && (new_window || self.used[kind as usize] < kind.budget())
    }

    /// Writes an admitted event.
    pub fn event(&mut self, kind: Kind, msg: &str) {
        let sev = match kind {
            Kind::Ban => Severity::Notice,
            _ => Severity::Info,
        };
        self.write(sev, msg);
    }

    /// Starts a new minute when due, first summing up what was suppressed.
    /// Nothing suppressed that `roll` would still have to summarise.
    pub fn quiet(&self) -> bool {
        self.suppressed.iter().all(|s| *s == 0)
    }

    pub fn roll(&mut self, now: Millis) {
        if now.0.saturating_sub(self.window_start.0) < WINDOW_MS {
            return;
        }
        if self.suppressed.iter().any(|s| *s > 0) {
            let mut msg = String::from("log budget exceeded, not logged in the last minute:");
            for k in Kind::ALL {
                let n = self.suppressed[k as usize];
                if n > 0 {
                    let _ = write!(msg, " {n} {}", k.plural());
                }
            }
            msg.push_str(" (see `sipwall status` for totals)");
            self.write(Severity::Notice, &msg);
        }
        self.window_start = now;
        self.used = [0; 4];
        self.suppressed = [0; 4];
    }
}

fn connect_syslog(path: Option<&std::path::Path>) -> Result<Syslog, syslog::Error> {
    let f = syslog::Formatter3164 {
        facility: syslog::Facility::LOG_DAEMON,
        hostname: None,
        process: "sipwall".into(),
        pid: std::process::id(),
    };
    match path {
        Some(p) => syslog::unix_custom(f, p),
        None => syslog::unix(f),
    }
}

/// A short, printable description of a SIP message for a log line:
/// `REGISTER sip:1001@pbx.example.test user 1001 UA "friendly-scanner"` for
/// a request, `403 to REGISTER sip:1001@pbx.example.test` for an answer.
/// Attacker-controlled bytes are cut short and stripped of anything that is
/// not printable ASCII, so a packet cannot forge log lines.
pub fn describe_sip(payload: &[u8]) -> String {
    let head = &payload[..payload.len().min(2048)];
    let mut lines = head.split(|b| *b == b'\n').map(trim_cr);
    let first = lines.next().unwrap_or_default();
    let mut cseq: &[u8] = b"";
    let mut to: &[u8] = b"";
    let mut from: &[u8] = b"";
    let mut ua: &[u8] = b"";
    let mut user: &[u8] = b"";
    for l in lines {
        if l.is_empty() {
            break;
        }
        let Some(colon) = l.iter().position(|b| *b == b':') else {
            continue;
        };
        let name = trim(&l[..colon]);
        let value = trim(&l[colon + 1..]);
        if name.eq_ignore_ascii_case(b"CSeq") {
            cseq = value;
        } else if name.eq_ignore_ascii_case(b"To") || name.eq_ignore_ascii_case(b"t") {
            to = value;
        } else if name.eq_ignore_ascii_case(b"From") || name.eq_ignore_ascii_case(b"f") {
            from = value;
        } else if name.eq_ignore_ascii_case(b"User-Agent") {
            ua = value;
        } else if name.eq_ignore_ascii_case(b"Authorization")
            || name.eq_ignore_ascii_case(b"Proxy-Authorization")
        {
            user = digest_username(value);
        }
    }
    let mut out = String::new();
    if first.starts_with(b"SIP/2.0 ") {
        let code = first.get(8..11).unwrap_or_default();
        let method = cseq.split(|b| *b == b' ').nth(1).unwrap_or_default();
        push_clean(&mut out, code, 3);
        out.push_str(" to ");
        push_clean(&mut out, method, 16);
        if let Some(uri) = angle_uri(to) {
            out.push(' ');
            push_clean(&mut out, uri, 64);
        }
    } else {
        let mut parts = first.splitn(3, |b| *b == b' ');
        push_clean(&mut out, parts.next().unwrap_or_default(), 16);
        out.push(' ');
        push_clean(&mut out, parts.next().unwrap_or_default(), 64);
        if let Some(uri) = angle_uri(from) {
            out.push_str(" from ");
            push_clean(&mut out, uri, 64);
        }
        if !user.is_empty() {
            out.push_str(" user ");
            push_clean(&mut out, user, 32);
        }
        if !ua.is_empty() {
            out.push_str(" UA \"");
            push_clean(&mut out, ua, 48);
            out.push('"');
        }
    }
    out
}

fn trim_cr(l: &[u8]) -> &[u8] {
    l.strip_suffix(b"\r").unwrap_or(l)
}

fn trim(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

/// The URI between `<` and `>`, or the value up to `;` without brackets.
fn angle_uri(v: &[u8]) -> Option<&[u8]> {
    if v.is_empty() {
        return None;
    }
    if let Some(lt) = v.iter().position(|b| *b == b'<') {
        let rest = &v[lt + 1..];
        let gt = rest.iter().position(|b| *b == b'>').unwrap_or(rest.len());
        return Some(&rest[..gt]);
    }
    let end = v.iter().position(|b| *b == b';').unwrap_or(v.len());
    Some(trim(&v[..end]))
}

fn digest_username(v: &[u8]) -> &[u8] {
    let key = b"username=";
    let Some(p) = v
        .windows(key.len())
        .position(|w| w.eq_ignore_ascii_case(key))
    else {
        return b"";
    };
    let rest = &v[p + key.len()..];
    let rest = rest.strip_prefix(b"\"").unwrap_or(rest);
    let end = rest
        .iter()
        .position(|b| *b == b'"' || *b == b',')
        .unwrap_or(rest.len());
    &rest[..end]
}

fn push_clean(out: &mut String, bytes: &[u8], max: usize) {
    for &b in bytes.iter().take(max) {
        out.push(if (0x20..0x7f).contains(&b) {
            b as char
        } else {
            '?'
        });
    }
    if bytes.len() > max {
        out.push_str("...");
    }
}

/// `3600` -> `1h`, `90` -> `1m30s`, for log lines and tables.
pub fn human_secs(secs: u64) -> String {
    if secs == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    let mut left = secs;
    for (unit, n) in [("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)] {
        if left >= n {
            let _ = write!(out, "{}{unit}", left / n);
            left %= n;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_and_answers_are_described_briefly() {
        let req = b"REGISTER sip:198.51.100.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5060\r\nTo: \"1010\"<sip:1010@198.51.100.1>\r\nFrom: \"1010\"<sip:1010@198.51.100.1>;tag=31\r\nUser-Agent: friendly-scanner\r\nAuthorization: Digest username=\"1001\",realm=\"x\"\r\nCSeq: 2 REGISTER\r\n\r\n";
        assert_eq!(
            describe_sip(req),
            "REGISTER sip:198.51.100.1 from sip:1010@198.51.100.1 user 1001 UA \"friendly-scanner\""
        );
        let ans = b"SIP/2.0 403 Forbidden\r\nTo: <sip:1001@pbx.example.test>;tag=x\r\nCSeq: 2 REGISTER\r\n\r\n";
        assert_eq!(
            describe_sip(ans),
            "403 to REGISTER sip:1001@pbx.example.test"
        );
    }

    #[test]
    fn hostile_bytes_cannot_forge_log_lines() {
        let d = describe_sip(b"OPTIONS sip:a\x1b[31m\x00b SIP/2.0\r\nUser-Agent: x\rFAKE\r\n\r\n");
        assert!(d.bytes().all(|b| (0x20..0x7f).contains(&b)), "{d}");
        assert!(describe_sip(&[0xff; 5000]).len() < 200);
        assert_eq!(describe_sip(b""), " ");
    }

    #[test]
    fn a_flood_is_summed_up_not_logged_line_by_line() {
        let mut log = Logbook::memory(1);
        let mut written = 0;
        for i in 0..10_000u64 {
            if log.admit(Kind::Drop, Millis(1_000 + i)) {
                log.event(Kind::Drop, "drop");
                written += 1;
            }
        }
        assert_eq!(written, Kind::Drop.budget());
        assert!(!log.has_budget(Kind::Drop, Millis(20_000)));
        assert!(
            log.has_budget(Kind::Drop, Millis(70_000)),
            "a new minute has room again"
        );
        log.roll(Millis(70_000));
        let last = log.lines().last().unwrap();
        assert!(
            last.contains(&format!("{} first drops", 10_000 - written)),
            "{last}"
        );
        assert!(log.admit(Kind::Drop, Millis(70_001)));
    }

    #[test]
    fn syslog_lines_are_daemon_facility_and_survive_a_syslog_restart() {
        use std::os::unix::net::UnixDatagram;
        let dir = std::env::temp_dir().join(format!("sipwall-log-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("log");
        let server = UnixDatagram::bind(&path).unwrap();
        server
            .set_read_timeout(Some(std::time::Duration::from_secs(2)))
            .unwrap();
        let mut log = Logbook::syslog_at(&path, 1).unwrap();
        let mut buf = [0u8; 512];
        log.event(Kind::Ban, "ban 198.51.100.10 for 1h: test");
        let n = server.recv(&mut buf).unwrap();
        let line = String::from_utf8_lossy(&buf[..n]).into_owned();
        // daemon (3) * 8 + notice (5) = 29; ident sipwall with our pid.
        assert!(line.starts_with("<29>"), "{line}");
        assert!(
            line.contains(&format!(
                "sipwall[{}]: ban 198.51.100.10",
                std::process::id()
            )),
            "{line}"
        );
        // syslogd restarts: the socket is replaced.
        drop(server);
        std::fs::remove_file(&path).unwrap();
        let server = UnixDatagram::bind(&path).unwrap();
        server
            .set_read_timeout(Some(std::time::Duration::from_secs(2)))
            .unwrap();
        log.info("after the restart");
        let n = server.recv(&mut buf).expect("line after a syslog restart");
        assert!(String::from_utf8_lossy(&buf[..n]).ends_with("after the restart"));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(human_secs(3600), "1h");
        assert_eq!(human_secs(90), "1m30s");
        assert_eq!(human_secs(86_400 * 2 + 5), "2d5s");
    }
}
