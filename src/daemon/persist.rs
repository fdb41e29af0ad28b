//! Bans that survive restarts and reboots: `<state_dir>/bans`.
//!
//! One ban per line, `IP CAUSE SINCE UNTIL`, times in Unix seconds and
//! `forever` for a ban without end, `#` starts a comment:
//!
//! ```text
//! # sipwall bans: ip cause since until
//! 198.51.100.10 auth-failures 1763700000 1763703600
//! 2001:db8::7 manual 1763700000 forever
//! ```
//!
//! A line format rather than JSON or TOML: an admin can read and edit it with
//! `vi` on the router, and a damaged line costs one ban, not the file. On
//! OpenWrt the state directory is on flash, so the daemon writes at most
//! once a minute (and at shutdown), always via a temporary file and a rename
//! so a power cut leaves the old or the new file, never half of one.

use std::io::Write;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use crate::policy::BanCause;

/// One persisted ban. Times are wall-clock Unix seconds, because the
/// monotonic clock restarts with the daemon.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BanRecord {
    pub ip: IpAddr,
    pub cause: BanCause,
    pub since: u64,
    /// `None`: until an admin releases it.
    pub until: Option<u64>,
}

impl BanRecord {
    /// Seconds left at `now` (Unix seconds): `Some(None)` for a ban without
    /// end, `None` if it has already run out. Never more than the ban's own
    /// length: a router without a clock may start before NTP has set the
    /// time, and a ban must not grow by decades because of it.
    pub fn remaining(&self, now: u64) -> Option<Option<u32>> {
        match self.until {
            None => Some(None),
            Some(u) if u > now => {
                let left = (u - now).min(u.saturating_sub(self.since)).max(1);
                Some(Some(left.min(u32::MAX as u64) as u32))
            }
            Some(_) => None,
        }
    }
}

/// The file inside the state directory.
pub fn bans_path(state_dir: &Path) -> PathBuf {
    state_dir.join("bans")
}

pub fn cause_from_str(s: &str) -> Option<BanCause> {
    [
        BanCause::Scanner,
        BanCause::AuthFailures,
        BanCause::Flood,
        BanCause::Manual,
    ]
    .into_iter()
    .find(|c| c.as_str() == s)
}

/// The file's text for `records`.
pub fn format(records: &[BanRecord]) -> String {
    let mut out = String::from("# sipwall bans: ip cause since until (Unix seconds or forever)\n");
    for r in records {
        let until = match r.until {
            Some(u) => u.to_string(),
            None => "forever".to_string(),
        };
        out.push_str(&format!(
            "{} {} {} {}\n",
            r.ip,
            r.cause.as_str(),
            r.since,
            until
        ));
    }
    out
}

/// Reads the file's text. Bad lines are skipped with a warning that names
/// the file and line; an unknown cause is kept as `manual` (losing a ban is
/// worse than mislabelling it).
pub fn parse(text: &str, file: &Path) -> (Vec<BanRecord>, Vec<String>) {
    let mut records = Vec::new();
    let mut warnings = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let where_ = format!("{}:{}", file.display(), n + 1);
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() != 4 {
            warnings.push(format!(
                "{where_}: expected 'IP CAUSE SINCE UNTIL', got '{line}'; line skipped"
            ));
            continue;
        }
        let Ok(ip) = f[0].parse::<IpAddr>() else {
            warnings.push(format!(
                "{where_}: '{}' is not an IP address; line skipped",
                f[0]
            ));
            continue;
        };
        let cause = match cause_from_str(f[1]) {
            Some(c) => c,
            None => {
                warnings.push(format!(
                    "{where_}: unknown cause '{}' (expected scanner, auth-failures, flood or manual); kept as manual",
                    f[1]
                ));
                BanCause::Manual
            }
        };
        let Ok(since) = f[2].parse::<u64>() else {
            warnings.push(format!(
                "{where_}: since '{}' is not Unix seconds; line skipped",
                f[2]
            ));
            continue;
        };
        let until = if f[3] == "forever" {
            None
        } else {
            match f[3].parse::<u64>() {
                Ok(u) => Some(u),
                Err(_) => {
                    warnings.push(format!(
                        "{where_}: until '{}' is neither Unix seconds nor 'forever'; line skipped",
                        f[3]
                    ));
                    continue;
                }
            }
        };
        records.push(BanRecord {
            ip,
            cause,
            since,
            until,
        });
    }
    (records, warnings)
}

/// Reads `path`; a missing file is an empty list (first start).
pub fn load(path: &Path) -> Result<(Vec<BanRecord>, Vec<String>), String> {
    match std::fs::read_to_string(path) {
        Ok(t) => Ok(parse(&t, path)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok((Vec::new(), Vec::new())),
        Err(e) => Err(format!("cannot read the ban file {}: {e}", path.display())),
    }
}

/// Replaces `path` with `contents` atomically: write `path.tmp`, sync,
/// rename over `path`, sync the directory. Creates the directory if needed.
pub fn write_atomic(path: &Path, contents: &str) -> Result<(), String> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)
        .map_err(|e| format!("cannot create the state directory {}: {e}", dir.display()))?;
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(contents.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        format!("cannot write the ban file {}: {e}", path.display())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remaining_time_of_a_record() {
        let r = BanRecord {
            ip: "198.51.100.10".parse().unwrap(),
            cause: BanCause::Flood,
            since: 100,
            until: Some(160),
        };
        assert_eq!(r.remaining(100), Some(Some(60)));
        assert_eq!(r.remaining(160), None);
        // Clock not yet set (1970): the ban keeps its own length.
        assert_eq!(r.remaining(5), Some(Some(60)));
        let forever = BanRecord { until: None, ..r };
        assert_eq!(forever.remaining(1 << 40), Some(None));
    }
}
