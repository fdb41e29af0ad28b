//! The package's own cron line for `sipwall zones refresh`, managed
//! idempotently.
//!
//! BusyBox crond (OpenWrt) rereads its directory when the directory's mtime
//! changes, so the crontab is always replaced by rename, never appended in
//! place (an in-place append may go unnoticed for an hour). It also refuses
//! to start while /etc/crontabs is empty, so the caller restarts cron after
//! creating the first crontab. The minute is random per router so a fleet
//! does not hit ipdeny at the same second; re-installing keeps the minute
//! already chosen.

use std::fs;
use std::io;
use std::path::Path;

use super::store::write_atomic;

/// Marks our line; everything else in the crontab is the admin's.
pub const MARKER: &str = "# sipwall-zones";

/// What `install`/`remove` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CronChange {
    Unchanged,
    /// The file was written; `created` when it did not exist or was empty
    /// (BusyBox cron must then be restarted to notice it).
    Written {
        created: bool,
    },
}

/// The crontab line for `schedule` (five fields; `@random` in the minute
/// field, or `@random` alone, means a random minute).
pub fn line(
    schedule: &str,
    command: &str,
    system_format: bool,
    minute: u8,
) -> Result<String, String> {
    let mut fields: Vec<String> = schedule.split_whitespace().map(str::to_string).collect();
    if fields.len() == 1 && fields[0] == "@random" {
        fields = vec![
            "@random".into(),
            "4".into(),
            "*".into(),
            "*".into(),
            "*".into(),
        ];
    }
    if fields.len() != 5 {
        return Err(format!(
            "geo schedule '{schedule}' must have five cron fields (minute hour day month weekday), \
             e.g. '@random 4 * * *'"
        ));
    }
    for f in &fields {
        if !f
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ",-*/@".contains(c))
        {
            return Err(format!(
                "geo schedule '{schedule}': field '{f}' is not a cron field"
            ));
        }
    }
    if fields[0] == "@random" {
        fields[0] = (minute % 60).to_string();
    }
    let user = if system_format { " root" } else { "" };
    Ok(format!("{}{user} {command} {MARKER}", fields.join(" ")))
}

/// Adds or updates our line in `path`, keeping the random minute of an
/// existing line when the schedule asks for one.
pub fn install(path: &Path, schedule: &str, command: &str) -> Result<CronChange, String> {
    let old = read(path)?;
    let system = is_system_crontab(path);
    let minute = old
        .lines()
        .find(|l| l.ends_with(MARKER))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|m| m.parse::<u8>().ok())
        .filter(|m| *m < 60)
        .unwrap_or_else(random_minute);
    let ours = line(schedule, command, system, minute)?;
    let mut out: Vec<&str> = old.lines().filter(|l| !l.ends_with(MARKER)).collect();
    out.push(&ours);
    write(path, &old, &out)
}

/// Removes our line; leaves the admin's lines alone.
pub fn remove(path: &Path) -> Result<CronChange, String> {
    let old = read(path)?;
    let out: Vec<&str> = old.lines().filter(|l| !l.ends_with(MARKER)).collect();
    write(path, &old, &out)
}

/// The default crontab: BusyBox's per-user file on OpenWrt, a cron.d file
/// on other Linux systems.
pub fn default_crontab() -> &'static Path {
    if Path::new("/etc/crontabs").is_dir() || !Path::new("/etc/cron.d").is_dir() {
        Path::new("/etc/crontabs/root")
    } else {
        Path::new("/etc/cron.d/sipwall")
    }
}

/// Files in a `cron.d` directory carry a user field.
fn is_system_crontab(path: &Path) -> bool {
    path.parent()
        .and_then(|p| p.file_name())
        .map(|n| n == "cron.d")
        .unwrap_or(false)
}

fn read(path: &Path) -> Result<String, String> {
    match fs::read_to_string(path) {
        Ok(s) => Ok(s),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(String::new()),
        Err(e) => Err(format!("cannot read crontab {}: {e}", path.display())),
    }
}

fn write(path: &Path, old: &str, lines: &[&str]) -> Result<CronChange, String> {
    let mut text = lines.join("\n");
    if !text.is_empty() {
        text.push('\n');
    }
    if text == old {
        return Ok(CronChange::Unchanged);
    }
    write_atomic(path, text.as_bytes())
        .map_err(|e| format!("cannot write crontab {}: {e}", path.display()))?;
    Ok(CronChange::Written {
        created: old.trim().is_empty(),
    })
}

fn random_minute() -> u8 {
    let mut b = [0u8; 2];
    let from_urandom =
        fs::File::open("/dev/urandom").and_then(|mut f| io::Read::read_exact(&mut f, &mut b));
    let v = match from_urandom {
        Ok(()) => u16::from_le_bytes(b) as u32,
        Err(_) => {
            let t = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.subsec_nanos())
                .unwrap_or(0);
            t ^ std::process::id()
        }
    };
    (v % 60) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_shapes() {
        let l = line(
            "@random 4 * * *",
            "/usr/sbin/sipwall zones refresh",
            false,
            17,
        )
        .unwrap();
        assert_eq!(
            l,
            "17 4 * * * /usr/sbin/sipwall zones refresh # sipwall-zones"
        );
        let l = line("30 */6 * * *", "x", true, 17).unwrap();
        assert_eq!(l, "30 */6 * * * root x # sipwall-zones");
        assert!(line("4 * *", "x", false, 1)
            .unwrap_err()
            .contains("five cron fields"));
        assert!(line("1 2 3 4 5; rm -rf /", "x", false, 1).is_err());
    }
}
