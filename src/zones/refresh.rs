//! One refresh run: for every configured country and family, get a new
//! zone (primary source, then the fallback), judge it, keep it, and load
//! the union into the kernel.
//!
//! The rules that keep a router safe live here and nowhere else:
//! * a body that is not a zone never replaces a good copy;
//! * a zone that shrank by more than half is held back unless forced
//!   (a half-published upstream file looks exactly like that);
//! * in allow mode the kernel set is replaced only when every listed
//!   country has a zone, so a failed download never locks everyone out;
//! * an IPv6 zone that every source answers 404 for, while the country's
//!   IPv4 zone is fine, is a fact ("none published": ipdeny has no IPv6
//!   zone for some small territories), not a failure. It is stored as an
//!   empty zone, reported once, and asked for again only weekly or with
//!   `--force`, so cron does not cry wolf on every run. A 404 for an IPv4
//!   zone stays an error: the country code is most likely mistyped.
//!
//! I/O goes through [`ZoneSource`] (network) and [`GeoSets`] (kernel); the
//! clock is a parameter. Storage is the state directory.

use std::fmt;
use std::fs;
use std::io::BufReader;
use std::path::Path;
use std::time::{Duration, Instant};

use ipnet::{Ipv4Net, Ipv6Net};

use super::codec;
use super::fetch::{Conditional, FetchError, Fetched, ZoneSource};
use super::parse::{parse_zone, ParseError, Parsed, ZoneNet};
use super::store::{self, Family, Record};
use crate::config::{Geo, GeoMode};

/// The kernel side: replaces the geo sets in one go. Implemented for every
/// [`crate::firewall::Firewall`] backend; tests use a recorder.
pub trait GeoSets {
    fn set_geo(&mut self, v4: &[Ipv4Net], v6: &[Ipv6Net]) -> Result<(), String>;
}

/// How often and how patiently one URL is tried.
#[derive(Clone, Copy, Debug)]
pub struct RetryPolicy {
    pub attempts: u32,
    /// Wait before the second attempt; doubled for each further one.
    pub backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> RetryPolicy {
        RetryPolicy {
            attempts: 3,
            backoff: Duration::from_secs(5),
        }
    }
}

/// How long a zone known to be unpublished is trusted before the sources
/// are asked again (a zone that appears later is picked up within it).
pub const RECHECK_ABSENT_SECS: u64 = 7 * 86_400;

/// What happened to one zone in this run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// New content accepted and stored.
    Updated {
        entries: usize,
        before: Option<usize>,
        source: &'static str,
    },
    /// The source sent the same content we had (not rewritten on flash).
    Same {
        entries: usize,
        source: &'static str,
    },
    /// The source answered 304 Not Modified.
    NotModified { entries: usize },
    /// Shrank by more than half: the old copy stays (use --force).
    HeldBack { kept: usize, offered: usize },
    /// No source worked; `kept` is the stored copy still in use.
    Failed { error: String, kept: Option<usize> },
    /// Every source answered 404 for this IPv6 zone while the IPv4 zone is
    /// published: the country has none; it contributes nothing. `at` names
    /// the sources; `first` is true when this is news (worth a log line).
    NonePublished { at: String, first: bool },
    /// Every source answered 404 for a zone we hold prefixes of: the stored
    /// copy stays unless forced (an upstream mistake looks just like it).
    Withdrawn { kept: usize, at: String },
}

#[derive(Clone, Debug)]
pub struct ZoneReport {
    pub cc: String,
    pub family: Family,
    pub outcome: Outcome,
    /// Rejected lines of the accepted body, with the first one.
    pub rejected: u64,
    pub first_rejected: Option<(u64, String)>,
    /// Failures of sources that were tried before the one that worked.
    pub warnings: Vec<String>,
}

impl ZoneReport {
    pub fn ok(&self) -> bool {
        !matches!(
            self.outcome,
            Outcome::HeldBack { .. } | Outcome::Failed { .. } | Outcome::Withdrawn { .. }
        )
    }

    /// False for a zone already known to be unpublished: cron output goes
    /// to syslog, and the same fact every night would bury real failures.
    pub fn worth_logging(&self) -> bool {
        !matches!(self.outcome, Outcome::NonePublished { first: false, .. })
    }
}

impl fmt::Display for ZoneReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: ", self.cc, self.family.as_str())?;
        match &self.outcome {
            Outcome::Updated { entries, before: Some(b), source } => {
                write!(f, "updated from {source}: {entries} prefixes (was {b})")?
            }
            Outcome::Updated { entries, before: None, source } => {
                write!(f, "new from {source}: {entries} prefixes")?
            }
            Outcome::Same { entries, source } => write!(f, "unchanged at {source}: {entries} prefixes")?,
            Outcome::NotModified { entries } => write!(f, "not modified: {entries} prefixes")?,
            Outcome::HeldBack { kept, offered } => write!(
                f,
                "HELD BACK: the new zone has {offered} prefixes against {kept} before (shrank by more \
                 than half); keeping the old one — run `sipwall zones refresh --force` to accept it"
            )?,
            Outcome::Failed { error, kept: Some(k) } => {
                write!(f, "FAILED: {error}; keeping the stored zone ({k} prefixes)")?
            }
            Outcome::Failed { error, kept: None } => write!(f, "FAILED: {error}; no stored zone")?,
            Outcome::NonePublished { at, .. } => write!(
                f,
                "no IPv6 zone published (404 at {at}): {} is matched by its IPv4 zone only; \
                 asked again weekly or with `sipwall zones refresh --force`",
                self.cc
            )?,
            Outcome::Withdrawn { kept, at } => write!(
                f,
                "HELD BACK: no source publishes this zone any more (404 at {at}); keeping the \
                 stored zone ({kept} prefixes) — run `sipwall zones refresh --force` to drop it"
            )?,
        }
        if self.rejected > 0 {
            write!(f, "; {} lines rejected", self.rejected)?;
            if let Some((no, text)) = &self.first_rejected {
                write!(f, " (first: line {no} '{text}')")?;
            }
        }
        for w in &self.warnings {
            write!(f, "; {w}")?;
        }
        Ok(())
    }
}

#[derive(Clone, Debug, Default)]
pub struct RefreshReport {
    pub zones: Vec<ZoneReport>,
    /// Prefixes handed to the kernel (IPv4, IPv6), if it was loaded.
    pub loaded: Option<(usize, usize)>,
    /// Why the kernel was not loaded or the load failed.
    pub load_error: Option<String>,
    /// Problems writing the state directory (the kernel may still be fine).
    pub storage_errors: Vec<String>,
}

impl RefreshReport {
    /// Every zone current and the kernel loaded: exit status 0.
    pub fn ok(&self) -> bool {
        self.zones.iter().all(ZoneReport::ok)
            && self.load_error.is_none()
            && self.storage_errors.is_empty()
    }
}

/// Everything one run needs besides the two I/O seams.
pub struct Refresh<'a> {
    pub geo: &'a Geo,
    pub state_dir: &'a Path,
    pub force: bool,
    /// Unix seconds.
    pub now: u64,
    pub retry: RetryPolicy,
    /// No new download starts after this (a run from cron must end even
    /// when every mirror is a slow drip); zones not reached keep their
    /// stored copy.
    pub deadline: Option<Instant>,
}

impl Refresh<'_> {
    pub fn run(&self, src: &mut dyn ZoneSource, sets: &mut dyn GeoSets) -> RefreshReport {
        let dir = store::zones_dir(self.state_dir);
        let old = store::read_status(&dir);
        let mut report = RefreshReport::default();
        let mut records = Vec::new();
        let mut all4: Vec<Ipv4Net> = Vec::new();
        let mut all6: Vec<Ipv6Net> = Vec::new();
        let mut missing: Vec<String> = Vec::new();
        for cc in &self.geo.countries {
            let (r4, n4) = self.one::<Ipv4Net>(&dir, cc, &old, src, &mut report, false);
            // A 404 for IPv6 means "none published" only if the same
            // sources know the country (its IPv4 zone came through).
            let v4_published = !matches!(
                report.zones.last().map(|z| &z.outcome),
                Some(Outcome::Failed { .. })
            );
            records.push(r4);
            match n4 {
                Some(n) => all4.extend(n),
                None => missing.push(format!("{cc} v4")),
            }
            if !self.geo.ipv6 {
                continue;
            }
            let (r6, n6) = self.one::<Ipv6Net>(&dir, cc, &old, src, &mut report, v4_published);
            records.push(r6);
            match n6 {
                Some(n) => all6.extend(n),
                None => missing.push(format!("{cc} v6")),
            }
        }
        if let Err(e) = store::write_status(&dir, &records) {
            report.storage_errors.push(format!(
                "cannot write {}: {e}",
                dir.join("status").display()
            ));
        }
        prune(&dir, self.geo, &mut report);
        load(self.geo, all4, all6, &missing, sets, &mut report);
        report
    }

    fn one<N: Kept>(
        &self,
        dir: &Path,
        cc: &str,
        old: &[Record],
        src: &mut dyn ZoneSource,
        report: &mut RefreshReport,
        absence_ok: bool,
    ) -> (Record, Option<Vec<N>>) {
        let mut rec = old
            .iter()
            .find(|r| r.cc == *cc && r.family == Some(N::KIND))
            .cloned()
            .unwrap_or_else(|| Record {
                cc: cc.to_string(),
                family: Some(N::KIND),
                ..Record::default()
            });
        let mut warnings = Vec::new();
        let stored = match N::read(dir, cc) {
            Ok(s) => s,
            Err(e) => {
                warnings.push(format!("stored copy unusable: {e}"));
                None
            }
        };
        if stored.is_none() {
            rec.etag = None;
            rec.last_modified = None;
        }
        let at = not_found_at(self.geo, N::KIND);
        if absence_ok && !self.force && known_absent(&rec, &stored, self.now) {
            rec.entries = 0;
            rec.error = None;
            report.zones.push(ZoneReport {
                cc: cc.to_string(),
                family: N::KIND,
                outcome: Outcome::NonePublished { at, first: false },
                rejected: 0,
                first_rejected: None,
                warnings,
            });
            return (rec, Some(Vec::new()));
        }
        let sources: [(&'static str, &str); 2] = [
            ("primary", N::url(self.geo, false)),
            ("fallback", N::url(self.geo, true)),
        ];
        let mut outcome = None;
        let mut result = None;
        let mut rejected = (0, None);
        // Whether every source tried so far said 404 (and at least one was).
        let mut all_not_found: Option<bool> = None;
        for (name, template) in sources {
            if template.is_empty() {
                continue;
            }
            let url = template.replace("{cc}", cc);
            let cond = if rec.source == name {
                Conditional {
                    etag: rec.etag.as_deref(),
                    last_modified: rec.last_modified.as_deref(),
                }
            } else {
                Conditional::default()
            };
            match self.attempt::<N>(src, &url, cond) {
                Ok(None) if stored.is_none() => {
                    all_not_found = Some(false);
                    warnings.push(format!(
                        "{name} {url}: answered 304 Not Modified but no copy is stored"
                    ));
                }
                Ok(None) => {
                    let entries = stored.as_ref().map(Vec::len).unwrap_or(0);
                    rec.fetched = Some(self.now);
                    rec.error = None;
                    rec.absent = None;
                    outcome = Some(Outcome::NotModified { entries });
                    result = stored.clone();
                    break;
                }
                Ok(Some((parsed, etag, last_modified))) => {
                    rejected = (parsed.rejected, parsed.first_rejected.clone());
                    let (o, nets) = self.accept(
                        dir,
                        cc,
                        name,
                        parsed,
                        etag,
                        last_modified,
                        &stored,
                        &mut rec,
                        report,
                    );
                    outcome = Some(o);
                    result = nets;
                    break;
                }
                Err(e) => {
                    all_not_found = Some(all_not_found.unwrap_or(true) && e.not_found);
                    warnings.push(format!("{name} {url}: {}", e.message));
                }
            }
        }
        let nowhere = outcome.is_none() && all_not_found == Some(true);
        if nowhere && absence_ok {
            let (o, nets) = self.absent::<N>(dir, cc, at.clone(), &stored, &mut rec, report);
            warnings.clear();
            outcome = Some(o);
            result = nets;
        }
        let outcome = match outcome {
            Some(o) => o,
            None => {
                let details = warnings.join("; ");
                let error = if warnings.is_empty() {
                    "no source URL configured".to_string()
                } else if nowhere && N::KIND == Family::V4 {
                    format!(
                        "no IPv4 zone for '{cc}' at any source (404 at {at}): '{cc}' is most \
                         likely not a country code these sources know — check `list country` \
                         in the geo section (ISO 3166 two-letter codes such as de, us) ({details})"
                    )
                } else if nowhere {
                    format!(
                        "no IPv6 zone for '{cc}' at any source (404 at {at}); not taken as \
                         'none published' while its IPv4 zone fails too ({details})"
                    )
                } else {
                    details
                };
                warnings.clear();
                rec.error = Some(error.clone());
                result = stored.clone();
                Outcome::Failed {
                    error,
                    kept: stored.as_ref().map(Vec::len),
                }
            }
        };
        if let Some(r) = &result {
            rec.entries = r.len() as u64;
        } else {
            rec.entries = 0;
        }
        report.zones.push(ZoneReport {
            cc: cc.to_string(),
            family: N::KIND,
            outcome,
            rejected: rejected.0,
            first_rejected: rejected.1,
            warnings,
        });
        (rec, result)
    }

    /// Tries one URL with retries. `Ok(None)`: not modified.
    #[allow(clippy::type_complexity)]
    fn attempt<N: Kept>(
        &self,
        src: &mut dyn ZoneSource,
        url: &str,
        cond: Conditional<'_>,
    ) -> Result<Option<(Parsed<N>, Option<String>, Option<String>)>, FetchError> {
        let attempts = self.retry.attempts.max(1);
        let mut wait = self.retry.backoff;
        let mut last = FetchError {
            retry: false,
            not_found: false,
            message: String::new(),
        };
        for n in 1..=attempts {
            if self.deadline.is_some_and(|d| Instant::now() >= d) {
                last.message = if last.message.is_empty() {
                    "not tried: this refresh ran out of time (other sources were too slow)".into()
                } else {
                    format!("{}; then this refresh ran out of time", last.message)
                };
                last.not_found = false;
                return Err(last);
            }
            let err = match src.get(url, cond) {
                Ok(Fetched::NotModified) => return Ok(None),
                Ok(Fetched::Body {
                    body,
                    etag,
                    last_modified,
                }) => {
                    match parse_zone::<N>(BufReader::with_capacity(16 * 1024, body)) {
                        Ok(p) => return Ok(Some((p, etag, last_modified))),
                        Err(e) => {
                            // A cut or stalled body may work next time; a
                            // page that is not a zone will not.
                            let retry = matches!(&e, ParseError::Truncated { .. })
                                || matches!(&e, ParseError::Read(m) if !m.contains("limit"));
                            FetchError {
                                retry,
                                not_found: false,
                                message: e.to_string(),
                            }
                        }
                    }
                }
                Err(e) => e,
            };
            let retry = err.retry;
            last = err;
            if n > 1 {
                last.message = format!("{} (after {n} attempts)", last.message);
            }
            if !retry || n == attempts {
                break;
            }
            src.pause(wait);
            wait = wait.saturating_mul(2);
        }
        Err(last)
    }

    #[allow(clippy::too_many_arguments)]
    fn accept<N: Kept>(
        &self,
        dir: &Path,
        cc: &str,
        source: &'static str,
        parsed: Parsed<N>,
        etag: Option<String>,
        last_modified: Option<String>,
        stored: &Option<Vec<N>>,
        rec: &mut Record,
        report: &mut RefreshReport,
    ) -> (Outcome, Option<Vec<N>>) {
        let offered = parsed.nets.len();
        if let Some(old) = stored {
            if !self.force && offered.saturating_mul(2) < old.len() {
                rec.error = Some(format!(
                    "held back: {source} offered {offered} prefixes against {} stored; \
                     run `sipwall zones refresh --force` to accept",
                    old.len()
                ));
                return (
                    Outcome::HeldBack {
                        kept: old.len(),
                        offered,
                    },
                    Some(old.clone()),
                );
            }
        }
        let path = store::zone_path(dir, cc, N::KIND);
        let changed = match store::write_if_changed(&path, &N::encode(&parsed.nets)) {
            Ok(c) => c,
            Err(e) => {
                report
                    .storage_errors
                    .push(format!("cannot write {}: {e}", path.display()));
                true
            }
        };
        let same = stored.as_ref() == Some(&parsed.nets);
        // A zone that was "none published" until now is new, not "was 0".
        let before = stored
            .as_ref()
            .map(Vec::len)
            .filter(|&n| n > 0 || rec.absent.is_none());
        rec.absent = None;
        rec.fetched = Some(self.now);
        if !same || rec.changed.is_none() {
            rec.changed = Some(self.now);
        }
        rec.source = source.to_string();
        rec.etag = etag;
        rec.last_modified = last_modified;
        rec.rejected = parsed.rejected;
        rec.error = None;
        let outcome = if same && !changed {
            Outcome::Same {
                entries: offered,
                source,
            }
        } else {
            Outcome::Updated {
                entries: offered,
                before,
                source,
            }
        };
        (outcome, Some(parsed.nets))
    }

    /// Every source answered 404 and the IPv4 zone is fine: record that
    /// the country publishes no zone of this family (an empty stored zone),
    /// unless we hold prefixes of it — a zone that vanished upstream keeps
    /// its stored copy until `--force`, like one that shrank.
    fn absent<N: Kept>(
        &self,
        dir: &Path,
        cc: &str,
        at: String,
        stored: &Option<Vec<N>>,
        rec: &mut Record,
        report: &mut RefreshReport,
    ) -> (Outcome, Option<Vec<N>>) {
        let kept = stored.as_ref().map(Vec::len).unwrap_or(0);
        if kept > 0 && !self.force {
            rec.error = Some(format!(
                "held back: no source publishes this zone any more (404 at {at}); \
                 run `sipwall zones refresh --force` to drop the stored {kept} prefixes"
            ));
            return (Outcome::Withdrawn { kept, at }, stored.clone());
        }
        let path = store::zone_path(dir, cc, N::KIND);
        if let Err(e) = store::write_if_changed(&path, &N::encode(&[])) {
            report
                .storage_errors
                .push(format!("cannot write {}: {e}", path.display()));
        }
        let first = rec.absent.is_none() || kept > 0 || self.force;
        if kept > 0 || rec.changed.is_none() {
            rec.changed = Some(self.now);
        }
        rec.absent = Some(self.now);
        rec.fetched = Some(self.now);
        rec.source = String::new();
        rec.etag = None;
        rec.last_modified = None;
        rec.rejected = 0;
        rec.error = None;
        (Outcome::NonePublished { at, first }, Some(Vec::new()))
    }
}

/// A zone known to be unpublished whose empty stored copy is younger than
/// [`RECHECK_ABSENT_SECS`]: not worth a request. A clock that went
/// backwards makes it due at once rather than never.
fn known_absent<N>(rec: &Record, stored: &Option<Vec<N>>, now: u64) -> bool {
    match (rec.absent, stored) {
        (Some(t), Some(nets)) => nets.is_empty() && now >= t && now - t < RECHECK_ABSENT_SECS,
        _ => false,
    }
}

/// The sources of a family as an admin knows them, for "404 at ...":
/// the host without `www.`, or the GitHub project for raw GitHub files
/// ("ipdeny.com, ipverse" with the default URLs).
pub(super) fn not_found_at(geo: &Geo, family: Family) -> String {
    let templates = match family {
        Family::V4 => [&geo.ipv4_url, &geo.fallback_ipv4_url],
        Family::V6 => [&geo.ipv6_url, &geo.fallback_ipv6_url],
    };
    let mut labels: Vec<String> = Vec::new();
    for t in templates.iter().filter(|t| !t.is_empty()) {
        let label = source_label(t);
        if !labels.contains(&label) {
            labels.push(label);
        }
    }
    labels.join(", ")
}

fn source_label(url: &str) -> String {
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    let mut parts = rest.split('/');
    let host = parts.next().unwrap_or("");
    if host.eq_ignore_ascii_case("raw.githubusercontent.com") {
        if let Some(owner) = parts.next().filter(|o| !o.is_empty()) {
            return owner.to_string();
        }
    }
    host.strip_prefix("www.").unwrap_or(host).to_string()
}

/// Merges the zones and replaces the kernel sets, unless that would lock
/// everyone out (allow mode with a zone missing or nothing at all).
fn load(
    geo: &Geo,
    mut v4: Vec<Ipv4Net>,
    mut v6: Vec<Ipv6Net>,
    missing: &[String],
    sets: &mut dyn GeoSets,
    report: &mut RefreshReport,
) {
    v4 = Ipv4Net::aggregate(&v4);
    v6 = Ipv6Net::aggregate(&v6);
    if geo.mode == GeoMode::Allow {
        if !missing.is_empty() {
            report.load_error = Some(format!(
                "allow mode: no zone for {}; the kernel's country sets were left as they were so \
                 nobody is locked out — fix the download (see above) and run `sipwall zones refresh`",
                missing.join(", ")
            ));
            return;
        }
        if v4.is_empty() && v6.is_empty() {
            report.load_error = Some(
                "allow mode with no country listed in geo.countries: refusing to allow nobody"
                    .into(),
            );
            return;
        }
    }
    match sets.set_geo(&v4, &v6) {
        Ok(()) => report.loaded = Some((v4.len(), v6.len())),
        Err(e) => {
            report.load_error = Some(format!(
                "loading the country sets into the kernel failed: {e}"
            ))
        }
    }
}

/// The families a configuration fetches and loads (`geo.family`).
pub(super) fn families(geo: &Geo) -> &'static [Family] {
    if geo.ipv6 {
        &[Family::V4, Family::V6]
    } else {
        &[Family::V4]
    }
}

/// Removes stored zones no longer configured (flash space): countries
/// removed, and IPv6 zones under `family 'ipv4'` (else a boot would load
/// them).
fn prune(dir: &Path, geo: &Geo, report: &mut RefreshReport) {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(_) => return,
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let (stem, family) = match (name.strip_suffix(".v4"), name.strip_suffix(".v6")) {
            (Some(s), _) => (s, Family::V4),
            (_, Some(s)) => (s, Family::V6),
            _ => continue,
        };
        if !geo.countries.iter().any(|c| c == stem) || !families(geo).contains(&family) {
            if let Err(e) = fs::remove_file(entry.path()) {
                report
                    .storage_errors
                    .push(format!("cannot remove {}: {e}", entry.path().display()));
            }
        }
    }
}

/// Reads the stored zones of every configured country and loads them, so
/// the router protects itself at boot before any download. Allow mode
/// with a country missing loads nothing and says so (the caller decides
/// whether the allow rule may be active).
pub fn load_stored_into(
    geo: &Geo,
    state_dir: &Path,
    sets: &mut dyn GeoSets,
) -> Result<(usize, usize), String> {
    let dir = store::zones_dir(state_dir);
    let mut v4 = Vec::new();
    let mut v6 = Vec::new();
    let mut missing = Vec::new();
    let mut problems = Vec::new();
    for cc in &geo.countries {
        match store::read_v4(&dir, cc) {
            Ok(Some(n)) => v4.extend(n),
            Ok(None) => missing.push(format!("{cc} v4")),
            Err(e) => {
                problems.push(e);
                missing.push(format!("{cc} v4"));
            }
        }
        if !geo.ipv6 {
            continue;
        }
        match store::read_v6(&dir, cc) {
            Ok(Some(n)) => v6.extend(n),
            Ok(None) => missing.push(format!("{cc} v6")),
            Err(e) => {
                problems.push(e);
                missing.push(format!("{cc} v6"));
            }
        }
    }
    let mut report = RefreshReport::default();
    load(geo, v4, v6, &missing, sets, &mut report);
    match (report.loaded, report.load_error) {
        (Some(counts), None) if missing.is_empty() => Ok(counts),
        (Some(_), None) => {
            Err(format!(
            "loaded the stored zones but none is stored yet for {}{}; run `sipwall zones refresh`",
            missing.join(", "),
            if problems.is_empty() { String::new() } else { format!(" ({})", problems.join("; ")) }
        ))
        }
        (_, Some(e)) => Err(if problems.is_empty() {
            e
        } else {
            format!("{e} ({})", problems.join("; "))
        }),
        (None, None) => Err("nothing loaded".into()),
    }
}

/// Per-family storage and configuration hooks for the generic code above.
trait Kept: ZoneNet + PartialEq {
    const KIND: Family;
    fn encode(nets: &[Self]) -> Vec<u8>;
    fn read(dir: &Path, cc: &str) -> Result<Option<Vec<Self>>, String>;
    fn url(geo: &Geo, fallback: bool) -> &str;
}

impl Kept for Ipv4Net {
    const KIND: Family = Family::V4;
    fn encode(nets: &[Self]) -> Vec<u8> {
        codec::encode_v4(nets)
    }
    fn read(dir: &Path, cc: &str) -> Result<Option<Vec<Self>>, String> {
        store::read_v4(dir, cc)
    }
    fn url(geo: &Geo, fallback: bool) -> &str {
        if fallback {
            &geo.fallback_ipv4_url
        } else {
            &geo.ipv4_url
        }
    }
}

impl Kept for Ipv6Net {
    const KIND: Family = Family::V6;
    fn encode(nets: &[Self]) -> Vec<u8> {
        codec::encode_v6(nets)
    }
    fn read(dir: &Path, cc: &str) -> Result<Option<Vec<Self>>, String> {
        store::read_v6(dir, cc)
    }
    fn url(geo: &Geo, fallback: bool) -> &str {
        if fallback {
            &geo.fallback_ipv6_url
        } else {
            &geo.ipv6_url
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// Canned answers per URL, consumed in order (the last one repeats).
    #[derive(Default)]
    struct Canned {
        answers: HashMap<String, Vec<Answer>>,
        calls: Vec<(String, Option<String>)>,
        pauses: Vec<Duration>,
    }

    #[derive(Clone)]
    enum Answer {
        Body(&'static str, Option<&'static str>),
        NotModified,
        Fail(bool),
        CutBody(&'static str),
    }

    struct Cut(std::io::Cursor<&'static [u8]>);
    impl std::io::Read for Cut {
        fn read(&mut self, b: &mut [u8]) -> std::io::Result<usize> {
            match self.0.read(b)? {
                0 => Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "connection closed early",
                )),
                n => Ok(n),
            }
        }
    }

    impl Canned {
        fn on(&mut self, url: &str, a: Vec<Answer>) {
            self.answers.insert(url.to_string(), a);
        }
    }

    impl ZoneSource for Canned {
        fn get(&mut self, url: &str, cond: Conditional<'_>) -> Result<Fetched, FetchError> {
            self.calls
                .push((url.to_string(), cond.etag.map(str::to_string)));
            let list = self.answers.get_mut(url);
            let a = match list {
                Some(l) if l.len() > 1 => l.remove(0),
                Some(l) if l.len() == 1 => l[0].clone(),
                _ => Answer::Fail(false),
            };
            match a {
                Answer::Body(b, etag) => Ok(Fetched::Body {
                    body: Box::new(b.as_bytes()),
                    etag: etag.map(str::to_string),
                    last_modified: None,
                }),
                Answer::CutBody(b) => Ok(Fetched::Body {
                    body: Box::new(Cut(std::io::Cursor::new(b.as_bytes()))),
                    etag: None,
                    last_modified: None,
                }),
                Answer::NotModified => Ok(Fetched::NotModified),
                Answer::Fail(retry) => Err(FetchError {
                    retry,
                    not_found: !retry,
                    message: if retry {
                        "HTTP 503".into()
                    } else {
                        "HTTP 404".into()
                    },
                }),
            }
        }
        fn pause(&mut self, d: Duration) {
            self.pauses.push(d);
        }
    }

    #[derive(Default)]
    struct Kernel {
        loads: Vec<(Vec<Ipv4Net>, Vec<Ipv6Net>)>,
        fail: bool,
    }
    impl GeoSets for Kernel {
        fn set_geo(&mut self, v4: &[Ipv4Net], v6: &[Ipv6Net]) -> Result<(), String> {
            if self.fail {
                return Err("netlink: Message too long".into());
            }
            self.loads.push((v4.to_vec(), v6.to_vec()));
            Ok(())
        }
    }

    fn geo(mode: GeoMode, ccs: &[&str]) -> Geo {
        Geo {
            enabled: true,
            mode,
            countries: ccs.iter().map(|s| s.to_string()).collect(),
            ipv6: true,
            schedule: "@random 4 * * *".into(),
            ipv4_url: "p4/{cc}".into(),
            ipv6_url: "p6/{cc}".into(),
            fallback_ipv4_url: "f4/{cc}".into(),
            fallback_ipv6_url: "f6/{cc}".into(),
        }
    }

    fn dir(name: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("sw-zref-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        d
    }

    const V4_BIG: &str = "198.51.100.0/26\n198.51.100.128/26\n203.0.113.0/26\n203.0.113.128/26\n";
    const V4_SMALL: &str = "198.51.100.0/26\n";
    const V6: &str = "2001:db8:1::/48\n";

    fn run(g: &Geo, d: &Path, force: bool, src: &mut Canned, k: &mut Kernel) -> RefreshReport {
        run_at(1_000, g, d, force, src, k)
    }

    fn run_at(
        now: u64,
        g: &Geo,
        d: &Path,
        force: bool,
        src: &mut Canned,
        k: &mut Kernel,
    ) -> RefreshReport {
        let r = Refresh {
            geo: g,
            state_dir: d,
            force,
            now,
            retry: RetryPolicy {
                attempts: 3,
                backoff: Duration::from_millis(100),
            },
            deadline: None,
        };
        r.run(src, k)
    }

    #[test]
    fn block_mode_happy_path_then_not_modified() {
        let d = dir("happy");
        let g = geo(GeoMode::Block, &["xa"]);
        let mut src = Canned::default();
        src.on(
            "p4/xa",
            vec![Answer::Body(V4_BIG, Some("\"e1\"")), Answer::NotModified],
        );
        src.on("p6/xa", vec![Answer::Body(V6, None)]);
        let mut k = Kernel::default();
        let rep = run(&g, &d, false, &mut src, &mut k);
        assert!(rep.ok(), "{rep:?}");
        assert_eq!(rep.loaded, Some((4, 1)));
        assert!(store::zone_path(&store::zones_dir(&d), "xa", Family::V4).is_file());
        // second run: conditional request, 304, same kernel content
        let rep = run(&g, &d, false, &mut src, &mut k);
        assert!(rep.ok(), "{rep:?}");
        assert_eq!(rep.zones[0].outcome, Outcome::NotModified { entries: 4 });
        assert_eq!(
            src.calls[2],
            ("p4/xa".to_string(), Some("\"e1\"".to_string()))
        );
        assert_eq!(k.loads.len(), 2);
        assert_eq!(k.loads[0], k.loads[1]);
        let _ = fs::remove_dir_all(&d);
    }

    #[test]
    fn primary_down_uses_fallback_after_retries_with_backoff() {
        let d = dir("fallback");
        let g = geo(GeoMode::Block, &["xa"]);
        let mut src = Canned::default();
        src.on("p4/xa", vec![Answer::Fail(true)]);
        src.on("f4/xa", vec![Answer::Body(V4_BIG, None)]);
        src.on("p6/xa", vec![Answer::Body(V6, None)]);
        let mut k = Kernel::default();
        let rep = run(&g, &d, false, &mut src, &mut k);
        assert!(rep.ok(), "{rep:?}");
        assert!(matches!(
            rep.zones[0].outcome,
            Outcome::Updated {
                source: "fallback",
                ..
            }
        ));
        assert_eq!(
            src.pauses,
            vec![Duration::from_millis(100), Duration::from_millis(200)]
        );
        assert!(
            rep.zones[0]
                .to_string()
                .contains("HTTP 503 (after 3 attempts)"),
            "{}",
            rep.zones[0]
        );
        let st = store::read_status(&store::zones_dir(&d));
        assert_eq!(st[0].source, "fallback");
        let _ = fs::remove_dir_all(&d);
    }

    #[test]
    fn a_404_is_not_retried() {
        let d = dir("404");
        let g = geo(GeoMode::Block, &["xa"]);
        let mut src = Canned::default();
        src.on("p6/xa", vec![Answer::Body(V6, None)]);
        let mut k = Kernel::default();
        let rep = run(&g, &d, false, &mut src, &mut k);
        assert!(!rep.ok());
        assert!(src.pauses.is_empty());
        // block mode: what we have is still loaded (blocking less locks nobody out)
        assert_eq!(rep.loaded, Some((0, 1)));
        let _ = fs::remove_dir_all(&d);
    }

    #[test]
    fn shrink_is_held_back_unless_forced() {
        let d = dir("shrink");
        let g = geo(GeoMode::Block, &["xa"]);
        let mut src = Canned::default();
        src.on(
            "p4/xa",
            vec![
                Answer::Body(V4_BIG, Some("\"e1\"")),
                Answer::Body(V4_SMALL, Some("\"e2\"")),
            ],
        );
        src.on("p6/xa", vec![Answer::Body(V6, None)]);
        let mut k = Kernel::default();
        assert!(run(&g, &d, false, &mut src, &mut k).ok());
        let rep = run(&g, &d, false, &mut src, &mut k);
        assert!(!rep.ok());
        assert_eq!(
            rep.zones[0].outcome,
            Outcome::HeldBack {
                kept: 4,
                offered: 1
            }
        );
        assert_eq!(k.loads.last().map(|l| l.0.len()), Some(4));
        let st = store::read_status(&store::zones_dir(&d));
        assert!(st[0].error.as_deref().unwrap_or("").contains("--force"));
        // the held-back body's etag was not remembered: next run re-downloads
        assert_eq!(st[0].etag.as_deref(), Some("\"e1\""));
        let rep = run(&g, &d, true, &mut src, &mut k);
        assert!(rep.ok(), "{rep:?}");
        assert_eq!(k.loads.last().map(|l| l.0.len()), Some(1));
        let _ = fs::remove_dir_all(&d);
    }

    #[test]
    fn faults_keep_the_previous_zone() {
        let d = dir("faults");
        let g = geo(GeoMode::Block, &["xa"]);
        let mut k = Kernel::default();
        let mut src = Canned::default();
        src.on("p4/xa", vec![Answer::Body(V4_BIG, None)]);
        src.on("p6/xa", vec![Answer::Body(V6, None)]);
        assert!(run(&g, &d, false, &mut src, &mut k).ok());
        let stored = fs::read(store::zone_path(&store::zones_dir(&d), "xa", Family::V4)).unwrap();
        for fault in [
            Answer::Body("<html><body>503</body></html>\n", None),
            Answer::Body("", None),
            Answer::CutBody("198.51.100.0/24\n203.0"),
            Answer::Fail(false),
        ] {
            let mut src = Canned::default();
            src.on("p4/xa", vec![fault.clone()]);
            src.on("f4/xa", vec![fault]);
            src.on("p6/xa", vec![Answer::Body(V6, None)]);
            let rep = run(&g, &d, false, &mut src, &mut k);
            assert!(!rep.ok());
            assert!(
                matches!(rep.zones[0].outcome, Outcome::Failed { kept: Some(4), .. }),
                "{rep:?}"
            );
            assert_eq!(
                fs::read(store::zone_path(&store::zones_dir(&d), "xa", Family::V4)).unwrap(),
                stored
            );
            assert_eq!(k.loads.last().map(|l| l.0.len()), Some(4));
        }
        let _ = fs::remove_dir_all(&d);
    }

    #[test]
    fn allow_mode_never_loads_with_a_zone_missing() {
        let d = dir("allow");
        let g = geo(GeoMode::Allow, &["xa", "xb"]);
        let mut src = Canned::default();
        src.on("p4/xa", vec![Answer::Body(V4_BIG, None)]);
        src.on("p6/xa", vec![Answer::Body(V6, None)]);
        src.on("p6/xb", vec![Answer::Body("2001:db8:2::/48\n", None)]);
        let mut k = Kernel::default();
        let rep = run(&g, &d, false, &mut src, &mut k);
        assert!(k.loads.is_empty(), "allow mode loaded with xb v4 missing");
        let e = rep.load_error.unwrap();
        assert!(e.contains("xb v4") && e.contains("locked out"), "{e}");
        // once xb appears, the union is loaded
        src.on("p4/xb", vec![Answer::Body("203.0.113.0/24\n", None)]);
        let rep = run(&g, &d, false, &mut src, &mut k);
        assert!(rep.ok(), "{rep:?}");
        assert_eq!(k.loads.len(), 1);
        assert_eq!(k.loads[0].1.len(), 2);
        // and a later total failure keeps using the stored zones
        let mut down = Canned::default();
        let rep = run(&g, &d, false, &mut down, &mut k);
        assert!(!rep.ok());
        assert_eq!(k.loads.len(), 2);
        assert_eq!(k.loads[0], k.loads[1]);
        let _ = fs::remove_dir_all(&d);
    }

    #[test]
    fn load_stored_at_boot_and_kernel_errors_are_reported() {
        let d = dir("boot");
        let g = geo(GeoMode::Allow, &["xa"]);
        let mut k = Kernel::default();
        assert!(load_stored_into(&g, &d, &mut k).is_err());
        assert!(k.loads.is_empty());
        let mut src = Canned::default();
        src.on("p4/xa", vec![Answer::Body(V4_BIG, None)]);
        src.on("p6/xa", vec![Answer::Body(V6, None)]);
        assert!(run(&g, &d, false, &mut src, &mut k).ok());
        let mut boot = Kernel::default();
        assert_eq!(load_stored_into(&g, &d, &mut boot), Ok((4, 1)));
        let mut broken = Kernel {
            fail: true,
            ..Kernel::default()
        };
        let rep = run(&g, &d, false, &mut src, &mut broken);
        assert!(rep.load_error.unwrap().contains("Message too long"));
        let _ = fs::remove_dir_all(&d);
    }

    #[test]
    fn a_spent_deadline_stops_new_downloads_and_keeps_stored_zones() {
        let d = dir("deadline");
        let g = geo(GeoMode::Block, &["xa"]);
        let mut src = Canned::default();
        src.on("p4/xa", vec![Answer::Body(V4_BIG, None)]);
        src.on("p6/xa", vec![Answer::Body(V6, None)]);
        let mut k = Kernel::default();
        assert!(run(&g, &d, false, &mut src, &mut k).ok());
        let calls = src.calls.len();
        let late = Refresh {
            geo: &g,
            state_dir: &d,
            force: false,
            now: 2_000,
            retry: RetryPolicy::default(),
            deadline: Some(Instant::now()),
        };
        let rep = late.run(&mut src, &mut k);
        assert_eq!(
            src.calls.len(),
            calls,
            "a download started after the deadline"
        );
        assert!(matches!(
            rep.zones[0].outcome,
            Outcome::Failed { kept: Some(4), .. }
        ));
        assert!(rep.zones[0].to_string().contains("ran out of time"));
        assert_eq!(k.loads.last().map(|l| l.0.len()), Some(4));
        let _ = fs::remove_dir_all(&d);
    }

    #[test]
    fn removed_countries_are_pruned_from_storage() {
        let d = dir("prune");
        let mut src = Canned::default();
        for cc in ["xa", "xb"] {
            src.on(&format!("p4/{cc}"), vec![Answer::Body(V4_BIG, None)]);
            src.on(&format!("p6/{cc}"), vec![Answer::Body(V6, None)]);
        }
        let mut k = Kernel::default();
        assert!(run(
            &geo(GeoMode::Block, &["xa", "xb"]),
            &d,
            false,
            &mut src,
            &mut k
        )
        .ok());
        assert!(run(&geo(GeoMode::Block, &["xa"]), &d, false, &mut src, &mut k).ok());
        let zd = store::zones_dir(&d);
        assert!(store::zone_path(&zd, "xa", Family::V4).is_file());
        assert!(!store::zone_path(&zd, "xb", Family::V4).exists());
        let _ = fs::remove_dir_all(&d);
    }

    fn v6_calls(src: &Canned) -> usize {
        src.calls.iter().filter(|(u, _)| u.contains("6/")).count()
    }

    #[test]
    fn a_v6_zone_404_everywhere_is_none_published_logged_once_and_rechecked_weekly() {
        let d = dir("nov6");
        let g = geo(GeoMode::Block, &["xa"]);
        let mut src = Canned::default();
        src.on("p4/xa", vec![Answer::Body(V4_BIG, None)]);
        let mut k = Kernel::default();
        let rep = run(&g, &d, false, &mut src, &mut k);
        assert!(rep.ok(), "{rep:?}");
        assert_eq!(rep.loaded, Some((4, 0)));
        let z = &rep.zones[1];
        assert!(matches!(
            z.outcome,
            Outcome::NonePublished { first: true, .. }
        ));
        assert!(z.worth_logging());
        assert!(
            z.to_string()
                .contains("no IPv6 zone published (404 at p6, f6)"),
            "{z}"
        );
        assert!(src.pauses.is_empty(), "a 404 was retried");
        assert_eq!(v6_calls(&src), 2);
        let zd = store::zones_dir(&d);
        assert_eq!(store::read_v6(&zd, "xa"), Ok(Some(Vec::new())));
        // The next nightly run asks nobody and says nothing.
        let rep = run_at(1_000 + 86_400, &g, &d, false, &mut src, &mut k);
        assert!(rep.ok(), "{rep:?}");
        assert_eq!(v6_calls(&src), 2, "asked again within the week");
        assert!(!rep.zones[1].worth_logging(), "{}", rep.zones[1]);
        assert_eq!(rep.loaded, Some((4, 0)));
        // A week later it is asked again: still none, still quiet.
        let later = 1_000 + RECHECK_ABSENT_SECS;
        let rep = run_at(later, &g, &d, false, &mut src, &mut k);
        assert!(rep.ok() && !rep.zones[1].worth_logging(), "{rep:?}");
        assert_eq!(v6_calls(&src), 4);
        // --force asks at once; a zone that appeared is picked up as new.
        src.on("p6/xa", vec![Answer::Body(V6, None)]);
        let rep = run_at(later + 60, &g, &d, true, &mut src, &mut k);
        assert!(rep.ok(), "{rep:?}");
        assert!(
            matches!(
                rep.zones[1].outcome,
                Outcome::Updated {
                    entries: 1,
                    before: None,
                    ..
                }
            ),
            "{rep:?}"
        );
        assert_eq!(rep.loaded, Some((4, 1)));
        let st = store::read_status(&zd);
        assert_eq!(st[1].absent, None);
        let _ = fs::remove_dir_all(&d);
    }

    #[test]
    fn allow_mode_with_no_v6_zone_loads_ipv4_and_says_ipv6_is_unfiltered() {
        let d = dir("nov6-allow");
        let g = geo(GeoMode::Allow, &["xa"]);
        let mut src = Canned::default();
        src.on("p4/xa", vec![Answer::Body(V4_BIG, None)]);
        let mut k = Kernel::default();
        let rep = run(&g, &d, false, &mut src, &mut k);
        assert!(rep.ok(), "{rep:?}");
        assert_eq!(
            k.loads,
            vec![(Ipv4Net::aggregate(&parse4(V4_BIG)), Vec::new())]
        );
        let mut boot = Kernel::default();
        assert_eq!(load_stored_into(&g, &d, &mut boot), Ok((4, 0)));
        let mut c = crate::config::Config::default();
        c.global.state_dir = d.clone();
        c.geo = g.clone();
        assert!(super::super::allow_mode_ready(&c));
        assert!(super::super::missing(&c).is_empty());
        let st = super::super::status_at(&c, 1_000 + 3 * 86_400);
        let line = st[1].to_string();
        assert!(
            line.starts_with("xa v6: none published (404 at p6, f6), checked 3d ago"),
            "{line}"
        );
        assert!(line.contains("IPv6 is not filtered"), "{line}");
        assert_eq!(st[1].last_error, None);
        assert_eq!(st[0].note, None);
        let _ = fs::remove_dir_all(&d);
    }

    fn parse4(text: &str) -> Vec<Ipv4Net> {
        text.lines().map(|l| l.parse().unwrap()).collect()
    }

    #[test]
    fn a_v6_zone_that_vanishes_is_kept_until_forced() {
        let d = dir("withdrawn");
        let g = geo(GeoMode::Block, &["xa"]);
        let mut src = Canned::default();
        src.on("p4/xa", vec![Answer::Body(V4_BIG, None)]);
        src.on("p6/xa", vec![Answer::Body(V6, None), Answer::Fail(false)]);
        let mut k = Kernel::default();
        assert!(run(&g, &d, false, &mut src, &mut k).ok());
        let rep = run(&g, &d, false, &mut src, &mut k);
        assert!(!rep.ok());
        assert!(
            matches!(rep.zones[1].outcome, Outcome::Withdrawn { kept: 1, .. }),
            "{rep:?}"
        );
        assert!(rep.zones[1].to_string().contains("--force"));
        assert_eq!(rep.loaded, Some((4, 1)));
        let rep = run(&g, &d, true, &mut src, &mut k);
        assert!(rep.ok(), "{rep:?}");
        assert!(matches!(
            rep.zones[1].outcome,
            Outcome::NonePublished { first: true, .. }
        ));
        assert_eq!(rep.loaded, Some((4, 0)));
        let _ = fs::remove_dir_all(&d);
    }

    #[test]
    fn a_v4_404_names_the_country_code_and_v6_404_is_then_no_fact() {
        let d = dir("v4-404");
        let g = geo(GeoMode::Block, &["xq"]);
        let mut src = Canned::default();
        let mut k = Kernel::default();
        let rep = run(&g, &d, false, &mut src, &mut k);
        assert!(!rep.ok());
        let v4 = rep.zones[0].to_string();
        assert!(
            v4.contains("no IPv4 zone for 'xq'") && v4.contains("country code"),
            "{v4}"
        );
        assert!(matches!(
            rep.zones[1].outcome,
            Outcome::Failed { kept: None, .. }
        ));
        assert!(rep.zones[1].to_string().contains("IPv4 zone fails too"));
        assert_eq!(store::read_status(&store::zones_dir(&d))[1].absent, None);
        let _ = fs::remove_dir_all(&d);
    }

    #[test]
    fn a_v6_404_with_the_fallback_down_stays_an_error() {
        let d = dir("v6-mixed");
        let g = geo(GeoMode::Block, &["xa"]);
        let mut src = Canned::default();
        src.on("p4/xa", vec![Answer::Body(V4_BIG, None)]);
        src.on("f6/xa", vec![Answer::Fail(true)]);
        let mut k = Kernel::default();
        let rep = run(&g, &d, false, &mut src, &mut k);
        assert!(!rep.ok());
        assert!(
            matches!(rep.zones[1].outcome, Outcome::Failed { .. }),
            "{rep:?}"
        );
        let _ = fs::remove_dir_all(&d);
    }

    #[test]
    fn sources_are_named_as_an_admin_knows_them() {
        let g = Geo::default();
        assert_eq!(not_found_at(&g, Family::V6), "ipdeny.com, ipverse");
        assert_eq!(
            source_label("http://127.0.0.1:8080/x/{cc}"),
            "127.0.0.1:8080"
        );
        assert_eq!(source_label("mirror.example/z/{cc}"), "mirror.example");
    }

    #[test]
    fn family_ipv4_never_fetches_ipv6_and_drops_stored_ipv6_zones() {
        let d = dir("family4");
        let mut g = geo(GeoMode::Allow, &["xa"]);
        let mut src = Canned::default();
        src.on("p4/xa", vec![Answer::Body(V4_BIG, None)]);
        src.on("p6/xa", vec![Answer::Body(V6, None)]);
        let mut k = Kernel::default();
        assert!(run(&g, &d, false, &mut src, &mut k).ok());
        let zd = store::zones_dir(&d);
        assert!(store::zone_path(&zd, "xa", Family::V6).is_file());
        g.ipv6 = false;
        let rep = run(&g, &d, false, &mut src, &mut k);
        assert!(rep.ok(), "{rep:?}");
        assert_eq!(rep.zones.len(), 1);
        assert_eq!(
            v6_calls(&src),
            1,
            "an IPv6 zone was fetched under family ipv4"
        );
        assert_eq!(rep.loaded, Some((4, 0)));
        assert!(!store::zone_path(&zd, "xa", Family::V6).exists());
        let mut boot = Kernel::default();
        assert_eq!(load_stored_into(&g, &d, &mut boot), Ok((4, 0)));
        let mut c = crate::config::Config::default();
        c.global.state_dir = d.clone();
        c.geo = g;
        assert!(super::super::allow_mode_ready(&c));
        assert!(super::super::missing(&c).is_empty());
        let st = super::super::status_at(&c, 1_000);
        assert_eq!(st.len(), 1);
        assert!(
            st[0].to_string().contains("IPv6 is not filtered"),
            "{}",
            st[0]
        );
        let _ = fs::remove_dir_all(&d);
    }
}
