//! Country zones: download, parse, aggregate, store, load into kernel sets.
//!
//! * [`fetch`]: the [`ZoneSource`] seam and the ureq/rustls client (feature `tls`);
//! * [`tool`]: a [`ZoneSource`] running uclient-fetch/wget (router packages);
//! * [`parse`]: zone text to aggregated prefixes, refusing non-zones;
//! * [`codec`]: the compact form kept on flash;
//! * [`store`]: stored zones and the status file in `<state_dir>/zones`;
//! * `refresh`: the policy of one run (fallback, shrink guard, allow-mode
//!   safety) against the [`ZoneSource`] and [`GeoSets`] seams;
//! * [`cron`]: the package's own crontab line.
//!
//! Entry points for the rest of sipwall: [`refresh`] (`sipwall zones
//! refresh`), [`load_stored`] (the daemon at boot, before any download) and
//! [`status`] (`sipwall status`).

pub mod codec;
pub mod cron;
pub mod fetch;
pub mod parse;
mod refresh;
pub mod store;
pub mod tool;

use std::path::Path;

use crate::config::{Config, GeoMode};
use crate::json::Value;

pub use fetch::{Conditional, FetchError, Fetched, ZoneSource};
#[cfg(feature = "tls")]
pub use fetch::{HttpOptions, HttpSource};
pub use refresh::{GeoSets, Outcome, Refresh, RefreshReport, RetryPolicy, ZoneReport};
pub use store::Family;
pub use tool::{ToolOptions, ToolSource, FETCH_CMD_ENV};

/// The longest a refresh keeps starting downloads (each one is bounded by
/// the source's own timeouts).
pub const REFRESH_BUDGET: std::time::Duration = std::time::Duration::from_secs(15 * 60);

/// Downloads every configured zone and loads the result (see `refresh`).
/// `sets` may be any [`GeoSets`], including a `dyn Firewall` backend.
pub fn refresh<S: GeoSets + ?Sized>(
    config: &Config,
    force: bool,
    src: &mut dyn ZoneSource,
    sets: &mut S,
    retry: RetryPolicy,
) -> RefreshReport {
    Refresh {
        geo: &config.geo,
        state_dir: &config.global.state_dir,
        force,
        now: now_unix(),
        retry,
        deadline: Some(std::time::Instant::now() + REFRESH_BUDGET),
    }
    .run(src, &mut SizedSets(sets))
}

/// Loads the zones kept in `<state_dir>/zones` into the kernel without any
/// download: call at boot, after the firewall is installed. Returns the
/// prefixes loaded (IPv4, IPv6). `Ok((0, 0))` without touching the kernel
/// when zones are disabled. An error is worth logging loudly; in allow mode
/// it means nothing was loaded (a missing zone must not lock everyone out).
pub fn load_stored<S: GeoSets + ?Sized>(
    config: &Config,
    sets: &mut S,
) -> Result<(usize, usize), String> {
    if !config.geo.enabled || config.geo.countries.is_empty() {
        return Ok((0, 0));
    }
    refresh::load_stored_into(&config.geo, &config.global.state_dir, &mut SizedSets(sets))
}

/// Lets an unsized `GeoSets` (a `dyn Firewall`) pass where the core takes
/// `&mut dyn GeoSets`.
struct SizedSets<'a, S: ?Sized>(&'a mut S);

impl<S: GeoSets + ?Sized> GeoSets for SizedSets<'_, S> {
    fn set_geo(&mut self, v4: &[ipnet::Ipv4Net], v6: &[ipnet::Ipv6Net]) -> Result<(), String> {
        self.0.set_geo(v4, v6)
    }
}

/// What `sipwall status` shows for one zone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ZoneStatus {
    pub country: String,
    pub family: Family,
    /// Prefixes in the stored copy (0: none stored).
    pub entries: u64,
    /// Seconds since a source last confirmed the stored copy.
    pub age_secs: Option<u64>,
    /// "primary", "fallback" or "" (never downloaded).
    pub source: String,
    /// Why the last refresh did not update it.
    pub last_error: Option<String>,
    /// Whether a copy is on storage (it is what the kernel gets at boot).
    pub stored: bool,
    /// The sources that answered 404 when the country publishes no zone
    /// of this family ("ipdeny.com, ipverse"); `age_secs` is then the age
    /// of that answer.
    pub none_published: Option<String>,
    /// What the admin must know beyond this zone, e.g. that IPv6 is not
    /// filtered at all in allow mode.
    pub note: Option<String>,
}

impl ZoneStatus {
    pub fn to_json(&self) -> Value {
        let mut v = Value::object()
            .with("country", self.country.as_str())
            .with("family", self.family.as_str())
            .with("entries", self.entries)
            .with("stored", self.stored)
            .with("source", self.source.as_str());
        v.set(
            "age_secs",
            self.age_secs.map(Value::from).unwrap_or(Value::Null),
        );
        v.set(
            "last_error",
            self.last_error
                .as_deref()
                .map(Value::from)
                .unwrap_or(Value::Null),
        );
        let opt = |s: &Option<String>| s.as_deref().map(Value::from).unwrap_or(Value::Null);
        v.set("none_published", opt(&self.none_published));
        v.set("note", opt(&self.note));
        v
    }
}

impl std::fmt::Display for ZoneStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: ", self.country, self.family.as_str())?;
        if let Some(at) = &self.none_published {
            write!(f, "none published (404 at {at})")?;
            if let Some(a) = self.age_secs {
                write!(f, ", checked {} ago", human_age(a))?;
            }
            if let Some(n) = &self.note {
                write!(f, "; {n}")?;
            }
            return Ok(());
        }
        if self.stored {
            write!(f, "{} prefixes", self.entries)?;
        } else {
            write!(f, "none stored")?;
        }
        if let Some(a) = self.age_secs {
            write!(f, ", {} old", human_age(a))?;
        }
        if !self.source.is_empty() {
            write!(f, ", from {}", self.source)?;
        }
        if let Some(e) = &self.last_error {
            write!(f, "; last error: {e}")?;
        }
        if let Some(n) = &self.note {
            write!(f, "; {n}")?;
        }
        Ok(())
    }
}

/// Per configured country and family, from the status file and the stored
/// copies. Cheap: reads one small file and stats the zone files.
pub fn status(config: &Config) -> Vec<ZoneStatus> {
    status_at(config, now_unix())
}

fn status_at(config: &Config, now: u64) -> Vec<ZoneStatus> {
    let dir = store::zones_dir(&config.global.state_dir);
    let records = store::read_status(&dir);
    let mut out = Vec::new();
    for cc in &config.geo.countries {
        for &family in refresh::families(&config.geo) {
            let rec = records
                .iter()
                .find(|r| r.cc == *cc && r.family == Some(family));
            // The stored file is the truth (it is what the kernel gets).
            let entries = store::stored_entries(&dir, cc, family);
            let stored = entries.is_some();
            let none_published = (entries == Some(0) && rec.is_some_and(|r| r.absent.is_some()))
                .then(|| refresh::not_found_at(&config.geo, family));
            out.push(ZoneStatus {
                country: cc.clone(),
                family,
                entries: entries.unwrap_or(0),
                age_secs: rec.and_then(|r| r.fetched).map(|t| now.saturating_sub(t)),
                source: rec.map(|r| r.source.clone()).unwrap_or_default(),
                last_error: rec.and_then(|r| r.error.clone()),
                stored,
                none_published,
                note: None,
            });
        }
    }
    // Allow mode filters a family only while its set holds something: say
    // so when no allowed country has an IPv6 zone, or an admin would
    // believe IPv6 callers are held to the list too.
    if !config.geo.ipv6 {
        if let Some(first) = out.first_mut() {
            first.note = Some(
                "geo family 'ipv4': IPv6 zones are not fetched and IPv6 is not filtered by country"
                    .into(),
            );
        }
    }
    let v6 = || out.iter().filter(|z| z.family == Family::V6);
    if config.geo.mode == GeoMode::Allow
        && v6().count() > 0
        && v6().all(|z| z.stored && z.entries == 0)
    {
        for z in out.iter_mut().filter(|z| z.family == Family::V6) {
            z.note = Some(
                "no allowed country has an IPv6 zone, so IPv6 is not filtered by country \
                 (an empty zone never locks anyone out)"
                    .into(),
            );
        }
    }
    out
}

/// Whether the kernel's geo rule can safely be active: in allow mode only
/// once every listed country has a stored zone.
pub fn allow_mode_ready(config: &Config) -> bool {
    if config.geo.mode != GeoMode::Allow {
        return true;
    }
    let dir = store::zones_dir(&config.global.state_dir);
    !config.geo.countries.is_empty()
        && config.geo.countries.iter().all(|cc| {
            refresh::families(&config.geo)
                .iter()
                .all(|f| store::zone_path(&dir, cc, *f).is_file())
        })
}

/// Configured zones with no stored copy yet ("de v4"), e.g. right after
/// install or after a country was added: worth a download now rather than
/// at the next scheduled refresh.
pub fn missing(config: &Config) -> Vec<String> {
    if !config.geo.enabled {
        return Vec::new();
    }
    let dir = store::zones_dir(&config.global.state_dir);
    let mut out = Vec::new();
    for cc in &config.geo.countries {
        for &f in refresh::families(&config.geo) {
            if !store::zone_path(&dir, cc, f).is_file() {
                out.push(format!("{cc} {}", f.as_str()));
            }
        }
    }
    out
}

/// Starts `sipwall zones refresh` in the background (detached, output to
/// syslog) and returns at once; the refresh hands the zones back to the
/// daemon over the control socket. The daemon calls this at start and on a
/// configuration change when [`missing`] is not empty — never in answer to
/// the refresh's own request, so a failing mirror cannot cause a loop.
pub fn spawn_refresh(config_path: Option<&Path>) -> Result<(), String> {
    let exe =
        std::env::current_exe().map_err(|e| format!("cannot find the sipwall binary: {e}"))?;
    let mut cmd = std::process::Command::new("sh");
    // sh backgrounds the job and exits: the refresh is re-parented to init,
    // so the daemon never has a child to reap.
    cmd.arg("-c")
        .arg(
            r#""$0" zones refresh ${1:+--config "$1"} </dev/null 2>&1 | logger -t sipwall-zones &"#,
        )
        .arg(&exe)
        .arg(config_path.map(|p| p.as_os_str()).unwrap_or_default());
    let status = cmd
        .status()
        .map_err(|e| format!("cannot start sh for the zones refresh: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("starting the zones refresh failed ({status})"))
    }
}

/// Where zones are kept for a state directory.
pub fn zones_dir(state_dir: &Path) -> std::path::PathBuf {
    store::zones_dir(state_dir)
}

pub fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn human_age(secs: u64) -> String {
    match secs {
        s if s < 120 => format!("{s}s"),
        s if s < 7200 => format!("{}m", s / 60),
        s if s < 2 * 86400 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_and_status_follow_the_stored_files() {
        let dir = std::env::temp_dir().join(format!("sw-zmod-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut c = Config::default();
        c.global.state_dir = dir.clone();
        c.geo.countries = vec!["xa".into()];
        assert!(missing(&c).is_empty(), "zones off: nothing is missing");
        c.geo.enabled = true;
        assert_eq!(missing(&c), vec!["xa v4".to_string(), "xa v6".to_string()]);
        let zd = zones_dir(&dir);
        let v4: Vec<ipnet::Ipv4Net> = vec!["198.51.100.0/24".parse().unwrap()];
        store::write_atomic(
            &store::zone_path(&zd, "xa", Family::V4),
            &codec::encode_v4(&v4),
        )
        .unwrap();
        assert_eq!(missing(&c), vec!["xa v6".to_string()]);
        c.geo.mode = GeoMode::Allow;
        assert!(!allow_mode_ready(&c));
        let st = status_at(&c, 100);
        assert!(st[0].stored && !st[1].stored);
        assert_eq!(st[1].to_string(), "xa v6: none stored");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
