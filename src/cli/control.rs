//! The commands that talk to a running daemon over its control socket:
//! `status [--json]`, `bans`, `doors`, `ban IP [--for DURATION]`,
//! `unban IP`. Human output is plain aligned tables; `--json` prints the
//! daemon's document unchanged (that is what LuCI reads).

use std::net::IpAddr;
use std::path::PathBuf;

use super::Args;
use crate::daemon::contract::load_config;
use crate::daemon::control::{call, Request};
use crate::daemon::logbook::human_secs;
use crate::json::Value;

pub const HELP: &str = "\
sipwall status|bans|doors|ban|unban — talk to the running daemon

USAGE:
    sipwall status [--json]
    sipwall bans [--json]
    sipwall doors [--json]
    sipwall ban IP [--for DURATION]     DURATION: 3600, 90s, 30m, 12h, 7d or forever (default)
    sipwall unban IP

OPTIONS:
    --config PATH    configuration file, to find global.run_dir
    --run-dir DIR    where the control socket is (overrides the configuration)
    --json           print the daemon's JSON document
";

/// Entry for the five commands.
pub fn main(cmd: &str, mut args: Args) -> Result<(), String> {
    if args.flag("help") {
        print!("{HELP}");
        return Ok(());
    }
    let run_dir = run_dir(&mut args)?;
    let json = args.flag("json");
    let req = match cmd {
        "status" => Request::Status,
        "bans" => Request::Bans,
        "doors" => Request::Doors,
        "ban" => {
            let ip = ip_arg(&mut args, "ban")?;
            let secs = match args.value("for")? {
                Some(d) => parse_duration(&d)?,
                None => None,
            };
            Request::Ban { ip, secs }
        }
        "unban" => Request::Unban {
            ip: ip_arg(&mut args, "unban")?,
        },
        other => return Err(format!("unknown control command '{other}'")),
    };
    args.finish()?;
    let answer = call(&run_dir, &req)?;
    if json {
        println!("{answer}");
        return Ok(());
    }
    match req {
        Request::Status => print!("{}", render_status(&answer)),
        Request::Bans => print!("{}", render_bans(answer.get("bans"), now_secs())),
        Request::Doors => print!("{}", render_doors(answer.get("doors"), now_secs())),
        Request::Ban { .. } | Request::Unban { .. } | Request::LoadZones => {
            println!(
                "{}",
                answer
                    .get("message")
                    .and_then(|m| m.as_str())
                    .unwrap_or("done")
            );
        }
    }
    Ok(())
}

fn run_dir(args: &mut Args) -> Result<PathBuf, String> {
    if let Some(d) = args.value("run-dir")? {
        return Ok(d.into());
    }
    let config = args.value("config")?.map(PathBuf::from);
    match load_config(config.as_deref()) {
        Ok(c) => Ok(c.global.run_dir),
        Err(e) if config.is_some() => Err(e),
        Err(_) => Ok(crate::config::Global::default().run_dir),
    }
}

fn ip_arg(args: &mut Args, cmd: &str) -> Result<IpAddr, String> {
    let ip = args.next_positional().ok_or_else(|| {
        format!("`sipwall {cmd}` needs an IP address, e.g. `sipwall {cmd} 198.51.100.10`")
    })?;
    ip.parse().map_err(|_| {
        format!("'{ip}' is not an IP address (expected e.g. 198.51.100.10 or 2001:db8::1)")
    })
}

/// `3600`, `90s`, `30m`, `12h`, `7d`, `forever` -> seconds (`None`: forever).
pub fn parse_duration(s: &str) -> Result<Option<u32>, String> {
    if s == "forever" {
        return Ok(None);
    }
    let bad =
        || format!("--for '{s}': expected a duration like 3600, 90s, 30m, 12h, 7d or 'forever'");
    let (num, mult) = match s.char_indices().last() {
        Some((i, 's')) => (&s[..i], 1u64),
        Some((i, 'm')) => (&s[..i], 60),
        Some((i, 'h')) => (&s[..i], 3600),
        Some((i, 'd')) => (&s[..i], 86_400),
        Some(_) => (s, 1),
        None => return Err(bad()),
    };
    let n: u64 = num.parse().map_err(|_| bad())?;
    let secs = n
        .checked_mul(mult)
        .filter(|v| *v > 0 && *v <= u32::MAX as u64)
        .ok_or_else(bad)?;
    Ok(Some(secs as u32))
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn int(v: Option<&Value>) -> i64 {
    v.and_then(|v| v.as_i64()).unwrap_or(0)
}

fn text(v: Option<&Value>) -> String {
    match v {
        Some(Value::Str(s)) => s.clone(),
        Some(Value::Null) | None => "-".into(),
        Some(other) => other.to_string(),
    }
}

/// Columns padded to their widest cell.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut width: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            if i < width.len() {
                width[i] = width[i].max(c.len());
            }
        }
    }
    let mut out = String::new();
    let line = |cells: Vec<&str>, out: &mut String| {
        let mut l = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                l.push_str(c);
            } else {
                l.push_str(&format!("{:w$}  ", c, w = width[i]));
            }
        }
        out.push_str(l.trim_end());
        out.push('\n');
    };
    line(header.to_vec(), &mut out);
    for r in rows {
        line(r.iter().map(|s| s.as_str()).collect(), &mut out);
    }
    out
}

/// A duration for a table: to the second below ten minutes, to the
/// minute above (a ban's "59m57s" is noise).
pub fn coarse(secs: u64) -> String {
    if secs >= 600 {
        human_secs((secs + 30) / 60 * 60)
    } else {
        human_secs(secs)
    }
}

fn left(until: Option<&Value>, now: u64) -> String {
    match until.and_then(|u| u.as_i64()) {
        Some(u) => coarse((u as u64).saturating_sub(now)),
        None => "forever".into(),
    }
}

fn ago(t: Option<&Value>, now: u64) -> String {
    match t.and_then(|u| u.as_i64()) {
        Some(t) => format!("{} ago", coarse(now.saturating_sub(t as u64))),
        None => "-".into(),
    }
}

pub fn render_bans(list: Option<&Value>, now: u64) -> String {
    let items = list.and_then(|l| l.as_array()).unwrap_or(&[]);
    if items.is_empty() {
        return "no bans\n".into();
    }
    let rows: Vec<Vec<String>> = items
        .iter()
        .map(|b| {
            vec![
                text(b.get("ip")),
                text(b.get("cause")),
                ago(b.get("since"), now),
                left(b.get("until"), now),
            ]
        })
        .collect();
    table(&["IP", "CAUSE", "SINCE", "LEFT"], &rows)
}

pub fn render_doors(list: Option<&Value>, now: u64) -> String {
    let items = list.and_then(|l| l.as_array()).unwrap_or(&[]);
    if items.is_empty() {
        return "no open doors\n".into();
    }
    let rows: Vec<Vec<String>> = items
        .iter()
        .map(|d| {
            vec![
                text(d.get("ip")),
                text(d.get("via")),
                ago(d.get("opened"), now),
                left(d.get("until"), now),
            ]
        })
        .collect();
    table(&["IP", "VIA", "OPENED", "LEFT"], &rows)
}

pub fn render_status(s: &Value) -> String {
    let now = now_secs();
    let mut out = String::new();
    out.push_str(&format!(
        "sipwall {} (pid {}), up {}, mode {}{}{}\n",
        text(s.get("version")),
        int(s.get("pid")),
        human_secs(int(s.get("uptime_secs")).max(0) as u64),
        text(s.get("mode")),
        if s.get("monitor").and_then(|v| v.as_bool()) == Some(true) {
            ", MONITOR (nothing is dropped)"
        } else {
            ""
        },
        if s.get("fail_open").and_then(|v| v.as_bool()) == Some(true) {
            ", fail-open"
        } else {
            ", fail-closed"
        },
    ));
    if let Some(q) = s.get("queue") {
        if q.get("bound").and_then(|b| b.as_bool()) == Some(true) {
            let o = q.get("overload");
            out.push_str(&format!(
                "queue {} (requests) / {} (answers): {} requests ({} accepted, {} dropped), {} answers, {} waiting\n",
                int(q.get("requests_queue")),
                int(q.get("answers_queue")),
                int(q.get("requests")),
                int(q.get("accepted")),
                int(q.get("dropped")),
                int(q.get("answers")),
                int(q.get("waiting")),
            ));
            out.push_str(&format!(
                "overload: {} requests lost at the socket ({}), {} seconds with losses, {} queue-full drops, {} socket-full drops\n",
                int(o.and_then(|o| o.get("lost_requests"))),
                text(o.and_then(|o| o.get("lost_requests_were"))),
                int(o.and_then(|o| o.get("events"))),
                int(o.and_then(|o| o.get("kernel_queue_full"))),
                int(o.and_then(|o| o.get("kernel_socket_full"))),
            ));
        } else {
            out.push_str("queue: not bound\n");
        }
    }
    if let Some(Value::Object(fields)) = s.get("counters") {
        let rows: Vec<Vec<String>> = fields
            .iter()
            .filter(|(_, v)| v.as_i64().unwrap_or(0) > 0)
            .map(|(k, v)| vec![k.clone(), v.to_string()])
            .collect();
        out.push('\n');
        if rows.is_empty() {
            out.push_str("no packets judged yet\n");
        } else {
            out.push_str(&table(&["REASON", "PACKETS"], &rows));
        }
    }
    let d = s.get("daemon");
    if int(d.and_then(|d| d.get("bans"))) > 0 {
        out.push_str(&format!(
            "ban reaction (packet judged -> kernel drops): last {:.1} ms, max {:.1} ms\n",
            int(d.and_then(|d| d.get("ban_latency_last_us"))) as f64 / 1000.0,
            int(d.and_then(|d| d.get("ban_latency_max_us"))) as f64 / 1000.0,
        ));
    }
    out.push_str(&format!("\nbans: {}\n", int(s.get("bans_total"))));
    if int(s.get("bans_total")) > 0 {
        out.push_str(&render_bans(s.get("bans"), now));
    }
    out.push_str(&format!("\ndoors: {}\n", int(s.get("doors_total"))));
    if int(s.get("doors_total")) > 0 {
        out.push_str(&render_doors(s.get("doors"), now));
    }
    if let Some(z) = s.get("zones").and_then(|z| z.as_array()) {
        if !z.is_empty() {
            let rows: Vec<Vec<String>> = z
                .iter()
                .map(|z| {
                    let age = match z.get("age_secs").and_then(|a| a.as_i64()) {
                        Some(a) => human_secs(a as u64),
                        None => "never".into(),
                    };
                    vec![
                        format!("{} {}", text(z.get("country")), text(z.get("family"))),
                        int(z.get("entries")).to_string(),
                        age,
                        match z.get("none_published").and_then(|n| n.as_str()) {
                            Some(at) => format!("none published (404 at {at})"),
                            None => text(z.get("source")),
                        },
                        text(z.get("last_error")),
                    ]
                })
                .collect();
            out.push('\n');
            out.push_str(&table(
                &["ZONE", "ENTRIES", "AGE", "SOURCE", "LAST ERROR"],
                &rows,
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_in_the_units_people_type() {
        assert_eq!(parse_duration("3600"), Ok(Some(3600)));
        assert_eq!(parse_duration("90s"), Ok(Some(90)));
        assert_eq!(parse_duration("30m"), Ok(Some(1800)));
        assert_eq!(parse_duration("12h"), Ok(Some(43_200)));
        assert_eq!(parse_duration("7d"), Ok(Some(604_800)));
        assert_eq!(parse_duration("forever"), Ok(None));
        for bad in ["", "0", "1w", "h", "-5m", "99999999d"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn bans_print_as_a_table() {
        let list = crate::json::parse(
            r#"[{"ip":"198.51.100.10","cause":"auth-failures","since":1000,"until":4600},
                {"ip":"2001:db8::7","cause":"manual","since":1000,"until":null}]"#,
        )
        .unwrap();
        let t = render_bans(Some(&list), 1000);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines[0], "IP             CAUSE          SINCE   LEFT");
        assert_eq!(lines[1], "198.51.100.10  auth-failures  0s ago  1h");
        assert_eq!(lines[2], "2001:db8::7    manual         0s ago  forever");
    }

    #[test]
    fn a_zone_that_is_not_published_says_so_in_the_status_table() {
        let st = crate::json::parse(
            r#"{"zones":[{"country":"xa","family":"v4","entries":12,"age_secs":60,
                "source":"primary","last_error":null,"none_published":null},
               {"country":"xa","family":"v6","entries":0,"age_secs":60,"source":"",
                "last_error":null,"none_published":"ipdeny.com, ipverse"}]}"#,
        )
        .unwrap();
        let t = render_status(&st);
        let v6 = t.lines().find(|l| l.starts_with("xa v6")).unwrap_or("");
        assert!(
            v6.contains("none published (404 at ipdeny.com, ipverse)"),
            "{t}"
        );
        let v4 = t.lines().find(|l| l.starts_with("xa v4")).unwrap_or("");
        assert!(v4.contains("primary"), "{t}");
    }
}
