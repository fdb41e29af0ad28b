//! The last good zones on persistent storage, and the small status file.
//!
//! On OpenWrt the state directory is on flash (JFFS2/UBIFS), so a zone file
//! is rewritten only when its content changed, always through a temporary
//! file and a rename so a power cut leaves the old copy or the new one,
//! never half of each. The status file is one line per zone (tab-separated,
//! human-readable with `cat`) and is written once per refresh.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use ipnet::{Ipv4Net, Ipv6Net};

use super::codec;

/// IPv4 or IPv6 half of a country's zone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Family {
    V4,
    V6,
}

impl Family {
    pub fn as_str(self) -> &'static str {
        match self {
            Family::V4 => "v4",
            Family::V6 => "v6",
        }
    }
    fn parse(s: &str) -> Option<Family> {
        match s {
            "v4" => Some(Family::V4),
            "v6" => Some(Family::V6),
            _ => None,
        }
    }
}

/// `<state_dir>/zones`.
pub fn zones_dir(state_dir: &Path) -> PathBuf {
    state_dir.join("zones")
}

pub fn zone_path(dir: &Path, cc: &str, family: Family) -> PathBuf {
    dir.join(format!("{cc}.{}", family.as_str()))
}

/// The stored IPv4 zone of `cc`: `Ok(None)` if there is none yet.
pub fn read_v4(dir: &Path, cc: &str) -> Result<Option<Vec<Ipv4Net>>, String> {
    let path = zone_path(dir, cc, Family::V4);
    match read_opt(&path)? {
        None => Ok(None),
        Some(data) => codec::decode_v4(&data).map(Some).map_err(|e| {
            format!(
                "{}: {e}; delete it and run `sipwall zones refresh`",
                path.display()
            )
        }),
    }
}

pub fn read_v6(dir: &Path, cc: &str) -> Result<Option<Vec<Ipv6Net>>, String> {
    let path = zone_path(dir, cc, Family::V6);
    match read_opt(&path)? {
        None => Ok(None),
        Some(data) => codec::decode_v6(&data).map(Some).map_err(|e| {
            format!(
                "{}: {e}; delete it and run `sipwall zones refresh`",
                path.display()
            )
        }),
    }
}

/// Prefixes in the stored zone, from its header (`None`: no stored zone).
pub fn stored_entries(dir: &Path, cc: &str, family: Family) -> Option<u64> {
    use std::io::Read;
    let mut head = [0u8; 24];
    let mut f = fs::File::open(zone_path(dir, cc, family)).ok()?;
    let n = f.read(&mut head).ok()?;
    codec::peek_count(&head[..n])
}

fn read_opt(path: &Path) -> Result<Option<Vec<u8>>, String> {
    match fs::read(path) {
        Ok(d) => Ok(Some(d)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("cannot read {}: {e}", path.display())),
    }
}

/// Writes `data` to `path` unless the file already holds exactly that;
/// returns whether it wrote.
pub fn write_if_changed(path: &Path, data: &[u8]) -> io::Result<bool> {
    if let Ok(old) = fs::read(path) {
        if old == data {
            return Ok(false);
        }
    }
    write_atomic(path, data)?;
    Ok(true)
}

/// Temporary file, fsync, rename, fsync of the directory.
pub fn write_atomic(path: &Path, data: &[u8]) -> io::Result<()> {
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    fs::create_dir_all(dir)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp{}", std::process::id()));
    let result = (|| {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
        fs::rename(&tmp, path)?;
        if let Ok(d) = fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// What we remember about one zone between runs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Record {
    pub cc: String,
    pub family: Option<Family>,
    /// Prefixes in the stored copy (after aggregation).
    pub entries: u64,
    /// Unix seconds when a source last confirmed the stored copy (a fresh
    /// body or "304 Not Modified").
    pub fetched: Option<u64>,
    /// Unix seconds when the stored content last changed.
    pub changed: Option<u64>,
    /// "primary" or "fallback": where the stored copy came from.
    pub source: String,
    /// Validators of the stored copy, sent back for conditional requests.
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    /// Lines the last accepted body had that were not prefixes.
    pub rejected: u64,
    /// Why the last refresh did not update this zone (None: it did).
    pub error: Option<String>,
    /// Unix seconds when every source last answered 404 for this zone: it
    /// is not published (ipdeny has no IPv6 zone for some territories).
    /// The stored copy is then an empty zone, so boot, allow mode and
    /// "missing zone" checks need no special case.
    pub absent: Option<u64>,
}

const STATUS_FILE: &str = "status";
const STATUS_HEADER: &str = "# sipwall zones status v2: cc family entries fetched changed source etag last_modified rejected error absent";

pub fn read_status(dir: &Path) -> Vec<Record> {
    let text = match fs::read_to_string(dir.join(STATUS_FILE)) {
        Ok(t) => t,
        Err(_) => return Vec::new(),
    };
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(parse_record)
        .collect()
}

fn parse_record(line: &str) -> Option<Record> {
    let f: Vec<&str> = line.split('\t').collect();
    // v1 files (before `absent`) have 10 fields; they still load.
    if f.len() != 10 && f.len() != 11 {
        return None;
    }
    let opt = |s: &str| {
        if s.is_empty() {
            None
        } else {
            Some(s.to_string())
        }
    };
    Some(Record {
        cc: f[0].to_string(),
        family: Some(Family::parse(f[1])?),
        entries: f[2].parse().ok()?,
        fetched: f[3].parse().ok(),
        changed: f[4].parse().ok(),
        source: f[5].to_string(),
        etag: opt(f[6]),
        last_modified: opt(f[7]),
        rejected: f[8].parse().unwrap_or(0),
        error: opt(f[9]),
        absent: f.get(10).and_then(|v| v.parse().ok()),
    })
}

pub fn write_status(dir: &Path, records: &[Record]) -> io::Result<bool> {
    let mut text = String::from(STATUS_HEADER);
    text.push('\n');
    for r in records {
        let num = |v: Option<u64>| v.map(|x| x.to_string()).unwrap_or_default();
        let fields = [
            clean(&r.cc),
            r.family.map(Family::as_str).unwrap_or("v4").to_string(),
            r.entries.to_string(),
            num(r.fetched),
            num(r.changed),
            clean(&r.source),
            clean(r.etag.as_deref().unwrap_or("")),
            clean(r.last_modified.as_deref().unwrap_or("")),
            r.rejected.to_string(),
            clean(r.error.as_deref().unwrap_or("")),
            num(r.absent),
        ];
        text.push_str(&fields.join("\t"));
        text.push('\n');
    }
    write_if_changed(&dir.join(STATUS_FILE), text.as_bytes())
}

/// Tabs and line breaks would break the one-line-per-zone format.
fn clean(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(300)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmpdir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("sw-zstore-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn status_round_trips_and_survives_odd_values() {
        let d = tmpdir("status");
        let r = Record {
            cc: "de".into(),
            family: Some(Family::V6),
            entries: 3025,
            fetched: Some(1_700_000_000),
            changed: None,
            source: "fallback".into(),
            etag: Some("\"abc\tdef\"".into()),
            last_modified: Some("Tue, 01 Jan 2030 00:00:00 GMT".into()),
            rejected: 2,
            error: Some("line1\nline2".into()),
            absent: Some(1_700_000_100),
        };
        assert!(write_status(&d, std::slice::from_ref(&r)).unwrap());
        assert!(
            !write_status(&d, std::slice::from_ref(&r)).unwrap(),
            "unchanged status rewrote flash"
        );
        let back = read_status(&d);
        assert_eq!(back.len(), 1);
        assert_eq!(back[0].etag.as_deref(), Some("\"abc def\""));
        assert_eq!(back[0].error.as_deref(), Some("line1 line2"));
        assert_eq!(back[0].entries, 3025);
        assert_eq!(back[0].changed, None);
        assert_eq!(back[0].absent, Some(1_700_000_100));
        let _ = fs::remove_dir_all(&d);
    }

    #[test]
    fn a_v1_status_file_still_loads() {
        let d = tmpdir("status-v1");
        fs::write(
            d.join(STATUS_FILE),
            "# sipwall zones status v1: ...\nde\tv4\t12\t100\t90\tprimary\t\t\t0\t\n",
        )
        .unwrap();
        let back = read_status(&d);
        assert_eq!(back.len(), 1);
        assert_eq!((back[0].entries, back[0].absent), (12, None));
        let _ = fs::remove_dir_all(&d);
    }

    #[test]
    fn zone_files_are_written_only_when_changed() {
        let d = tmpdir("zone");
        let nets: Vec<Ipv4Net> = vec!["198.51.100.0/24".parse().unwrap()];
        let p = zone_path(&d, "xa", Family::V4);
        assert!(write_if_changed(&p, &codec::encode_v4(&nets)).unwrap());
        let mtime = fs::metadata(&p).unwrap().modified().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        assert!(!write_if_changed(&p, &codec::encode_v4(&nets)).unwrap());
        assert_eq!(fs::metadata(&p).unwrap().modified().unwrap(), mtime);
        assert_eq!(read_v4(&d, "xa").unwrap(), Some(nets));
        assert_eq!(read_v4(&d, "xb").unwrap(), None);
        fs::write(&p, b"junk").unwrap();
        let e = read_v4(&d, "xa").unwrap_err();
        assert!(e.contains("xa.v4") && e.contains("zones refresh"), "{e}");
        let _ = fs::remove_dir_all(&d);
    }
}
