//! `sipwall replay PCAP... [--config PATH]`: runs the policy over recorded
//! packets and prints, per packet, what sipwall would have done and why,
//! then a summary (decisions per reason, bans, doors).
//!
//! It is the real engine with the capture's timestamps as its clock, so a
//! replay shows exactly what the daemon would decide on that traffic —
//! useful to try a policy before enabling it, and as a demo: without
//! `--config` an embedded policy matching the bundled captures is used
//! (domain `pbx.example.test`, knock `knock-7f3a`).

use std::fmt::Write as _;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use super::Args;
use crate::config::{self, Config, Knock, KnockPlaces};
use crate::packet::{Direction, Packet};
use crate::pcap::Capture;
use crate::policy::{BanCause, Effect, Engine, Millis, Policy, Reason, Verdict};
use crate::sip::{classify, Payload};

const HELP: &str = "\
sipwall replay — run the policy over recorded packets and print each verdict

USAGE:
    sipwall replay PCAP... [--config PATH]

Reads classic pcap files (Ethernet, Linux cooked or raw IP). Packets towards
a configured SIP port are requests to judge; packets from one are the PBX's
answers to learn from. The capture's timestamps are the clock, so ban tiers
and door lifetimes play out as they would have. Files share one engine: a
source banned in the first file is still banned in the next.

OPTIONS:
    --config PATH   the policy to apply (UCI or TOML). Without it, an
                    embedded demo policy: domain pbx.example.test, knock
                    'knock-7f3a' (display name, User-Agent or +sip.instance),
                    default tiers, scanner list and rate limit.

Example:
    sipwall replay tests/fixtures/pcap/*.pcap
";

/// The demo policy: what the bundled test-bed captures were recorded with.
pub fn demo_config() -> Config {
    Config {
        domains: vec!["pbx.example.test".into()],
        knocks: vec![Knock {
            name: "demo".into(),
            secret: "knock-7f3a".into(),
            places: KnockPlaces {
                display_name: true,
                user_agent: true,
                instance: true,
            },
            door_secs: 4000,
        }],
        ..Config::default()
    }
}

pub fn run(mut args: Args) -> Result<(), String> {
    if args.flag("help") {
        print!("{HELP}");
        return Ok(());
    }
    let config_path = args.value("config")?.map(PathBuf::from);
    let files = args.positionals();
    args.finish()?;
    if files.is_empty() {
        return Err("replay needs at least one pcap file, e.g. \
                    `sipwall replay tests/fixtures/pcap/*.pcap`; see `sipwall replay --help`"
            .into());
    }
    let (config, origin) = match &config_path {
        Some(p) => (
            config::load(Some(p)).map_err(|e| e.to_string())?,
            p.display().to_string(),
        ),
        None => (demo_config(), "embedded demo".to_string()),
    };
    let mut out = String::new();
    let mut replay = Replay::new(&config);
    let _ = writeln!(
        out,
        "policy: {origin} — domains: {}; knocks: {}; monitor: {}",
        list(&config.domains),
        list(
            &config
                .knocks
                .iter()
                .map(|k| k.name.clone())
                .collect::<Vec<_>>()
        ),
        if config.global.monitor { "on" } else { "off" },
    );
    for f in &files {
        replay.file(Path::new(f), &mut out)?;
        flush(&mut out);
    }
    replay.summary(&mut out);
    flush(&mut out);
    Ok(())
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "(none)".into()
    } else {
        items.join(", ")
    }
}

/// Writes and clears; a closed pipe (`| head`) is not worth a panic.
fn flush(out: &mut String) {
    use std::io::Write;
    let _ = std::io::stdout().write_all(out.as_bytes());
    out.clear();
}

struct Replay {
    engine: Engine,
    sip_ports: Vec<u16>,
    last: Millis,
    packets: u64,
    skipped: u64,
}

impl Replay {
    fn new(c: &Config) -> Replay {
        let mut sip_ports: Vec<u16> = c.global.udp_ports.clone();
        sip_ports.extend(&c.global.tcp_ports);
        sip_ports.extend(&c.global.tls_ports);
        Replay {
            engine: Engine::new(Policy::from_config(c)),
            sip_ports,
            last: Millis(0),
            packets: 0,
            skipped: 0,
        }
    }

    /// Towards a SIP port: a request to judge; from one: the PBX answering.
    /// Scanners often send from 5060 to 5060; then a status line tells.
    fn direction(&self, p: &Packet<'_>) -> Direction {
        let sip = |port| self.sip_ports.contains(&port);
        match (sip(p.src_port), sip(p.dst_port)) {
            (true, false) => Direction::FromPbx,
            (false, true) => Direction::ToPbx,
            _ if p.payload.starts_with(b"SIP/2.0 ") => Direction::FromPbx,
            _ => Direction::ToPbx,
        }
    }

    fn file(&mut self, path: &Path, out: &mut String) -> Result<(), String> {
        let cap = Capture::read(path).map_err(|e| e.to_string())?;
        let _ = writeln!(out, "\n== {}", path.display());
        let _ = writeln!(
            out,
            "{:<12}  {:<22}  {:<48}  {:<6}  {:<13}  effects",
            "time (UTC)", "source", "request / answer", "verdict", "reason"
        );
        for rec in cap.packets() {
            let rec = match rec {
                Ok(r) => r,
                Err(e) => {
                    let _ = writeln!(out, "   (stopped reading {}: {e})", path.display());
                    break;
                }
            };
            let Ok(p) = Packet::parse(rec.ip, Direction::ToPbx) else {
                self.skipped += 1;
                continue;
            };
            if p.payload.is_empty() {
                // TCP handshakes and bare ACKs: never queued, nothing to judge.
                self.skipped += 1;
                continue;
            }
            let p = Packet {
                direction: self.direction(&p),
                ..p
            };
            let now = Millis(u64::from(rec.ts_sec) * 1000 + u64::from(rec.ts_usec) / 1000);
            self.last = self.last.max(now);
            let d = self.engine.decide(&p, now);
            self.packets += 1;
            let (who, what) = match p.direction {
                Direction::ToPbx => (endpoint(p.src, p.src_port), describe(p.payload, 48)),
                Direction::FromPbx => (
                    format!("→ {}", endpoint(p.dst, p.dst_port)),
                    describe(p.payload, 48),
                ),
            };
            let verdict = match d.verdict {
                Verdict::Accept => "accept",
                Verdict::Drop => "DROP",
            };
            let effects: Vec<String> = d.effects.iter().map(effect).collect();
            let _ = writeln!(
                out,
                "{:<12}  {:<22}  {:<48}  {:<6}  {:<13}  {}",
                clock(rec.ts_sec, rec.ts_usec),
                who,
                what,
                verdict,
                d.reason.as_str(),
                effects.join("; ")
            );
        }
        Ok(())
    }

    fn summary(&self, out: &mut String) {
        let c = self.engine.counters();
        let _ = writeln!(
            out,
            "\n== summary: {} packets judged ({} without payload skipped)",
            self.packets, self.skipped
        );
        let _ = writeln!(out, "decisions by reason:");
        for r in Reason::ALL {
            let n = c.reason(r);
            if n > 0 {
                let _ = writeln!(out, "  {:<14} {n:>6}   {}", r.as_str(), explain(r));
            }
        }
        let _ = writeln!(
            out,
            "failed authentications counted: {}   ignored by the spoofing rule: {}",
            c.auth_failures, c.evidence_shielded
        );
        let bans: Vec<_> = self.engine.bans(self.last).collect();
        let _ = writeln!(out, "bans at the end of the capture: {}", bans.len());
        for b in bans {
            let until = match b.until {
                None => "until released".to_string(),
                Some(u) => format!("{} left", approx(u.0.saturating_sub(self.last.0) / 1000)),
            };
            let _ = writeln!(
                out,
                "  {:<39} {:<14} {until}",
                b.ip.to_string(),
                b.cause.as_str()
            );
        }
        let doors: Vec<_> = self.engine.doors(self.last).collect();
        let _ = writeln!(out, "open doors at the end of the capture: {}", doors.len());
        for d in doors {
            let left = d.until.0.saturating_sub(self.last.0) / 1000;
            let _ = writeln!(
                out,
                "  {:<39} via {:<12} {} left",
                d.ip.to_string(),
                d.via.as_str(),
                approx(left)
            );
        }
    }
}

fn explain(r: Reason) -> &'static str {
    match r {
        Reason::Allowlisted => "source in the allowlist or LAN",
        Reason::Banned => "source already banned (the kernel drops these once banned)",
        Reason::Scanner => "scanner signature in User-Agent or From",
        Reason::Knock => "knock secret found: door opened",
        Reason::Door => "source has an open door",
        Reason::Domain => "addressed to a configured domain",
        Reason::WrongDomain => "addressed to an IP literal or an unknown host",
        Reason::RateLimited => "over the per-source rate",
        Reason::Dialog => "answer from the PBX, or in-dialog request",
        Reason::NotSip => "not SIP (keep-alive/STUN without a door, garbage)",
        Reason::Malformed => "SIP without From/To/Call-ID/CSeq",
        Reason::TlsSni => "TLS to a configured domain",
        Reason::TlsWrongSni => "TLS without the domain in SNI",
        Reason::Monitor => "monitor mode: would have been dropped",
    }
}

fn endpoint(ip: IpAddr, port: u16) -> String {
    match ip {
        IpAddr::V4(v4) => format!("{v4}:{port}"),
        IpAddr::V6(v6) => format!("[{v6}]:{port}"),
    }
}

fn clock(sec: u32, usec: u32) -> String {
    let s = sec % 86400;
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        s / 3600,
        s / 60 % 60,
        s % 60,
        usec / 1000
    )
}

/// A remaining time to the minute: `23h59m`, `5m00s`, `42s`.
fn approx(secs: u64) -> String {
    match secs {
        s if s >= 3600 => format!("{}h{:02}m", s / 3600, s / 60 % 60),
        s if s >= 60 => format!("{}m{:02}s", s / 60, s % 60),
        s => format!("{s}s"),
    }
}

fn duration(secs: u64) -> String {
    match secs {
        0 => "0s".into(),
        s if s % 3600 == 0 => format!("{}h", s / 3600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

/// First line of a SIP message (answers name their CSeq method), or what
/// the payload is.
fn describe(payload: &[u8], width: usize) -> String {
    let text = match classify(payload) {
        Payload::Sip(m) => {
            let line = payload
                .split(|b| *b == b'\n')
                .find(|l| !l.iter().all(|b| b.is_ascii_whitespace()))
                .unwrap_or(b"");
            let line = String::from_utf8_lossy(line).trim_end().to_string();
            match (m.is_request(), m.cseq()) {
                (false, Some((_, method))) => {
                    let line = line.strip_prefix("SIP/2.0 ").unwrap_or(&line).to_string();
                    format!("{line} ({})", method.as_str())
                }
                _ => line.strip_suffix(" SIP/2.0").unwrap_or(&line).to_string(),
            }
        }
        Payload::KeepAlive => "keep-alive".into(),
        Payload::Stun => "STUN".into(),
        Payload::TlsClientHello { sni: Some(s) } => {
            format!("TLS ClientHello sni={}", String::from_utf8_lossy(s))
        }
        Payload::TlsClientHello { sni: None } => "TLS ClientHello (no SNI)".into(),
        Payload::NotSip => format!("not SIP ({} bytes)", payload.len()),
    };
    if text.chars().count() > width {
        let cut: String = text.chars().take(width - 1).collect();
        format!("{cut}…")
    } else {
        text
    }
}

fn effect(e: &Effect) -> String {
    let ban = |secs: &Option<u32>, cause: &BanCause| match secs {
        Some(s) => format!("{} {} ({})", "ban", duration(u64::from(*s)), cause.as_str()),
        None => format!("ban until released ({})", cause.as_str()),
    };
    match e {
        Effect::OpenDoor { secs, .. } => format!("open door {}", duration(u64::from(*secs))),
        Effect::Ban { secs, cause, .. } => ban(secs, cause),
        Effect::AuthFailed { count, .. } => format!("failed auth #{count}"),
        Effect::FirstDrop { .. } => "first drop (logged)".into(),
        Effect::WouldDrop { reason, .. } => format!("would drop ({})", reason.as_str()),
        Effect::WouldBan { secs, cause, .. } => format!("would {}", ban(secs, cause)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_a_person_wrote_them() {
        assert_eq!(duration(86400), "24h");
        assert_eq!(duration(600), "10m");
        assert_eq!(duration(4000), "4000s");
        assert_eq!(approx(86399), "23h59m");
        assert_eq!(approx(300), "5m00s");
        assert_eq!(clock(1_763_702_451, 282_751), "05:20:51.282");
    }

    #[test]
    fn payloads_are_described_by_their_first_line() {
        assert_eq!(
            describe(
                b"OPTIONS sip:100@198.51.100.1 SIP/2.0\r\nCSeq: 1 OPTIONS\r\n\r\n",
                48
            ),
            "OPTIONS sip:100@198.51.100.1"
        );
        assert_eq!(
            describe(b"SIP/2.0 401 Unauthorized\r\nCSeq: 1 REGISTER\r\n\r\n", 48),
            "401 Unauthorized (REGISTER)"
        );
        assert_eq!(describe(b"\r\n\r\n", 48), "keep-alive");
        assert_eq!(
            describe(
                b"INVITE sip:a-very-long-user-name@pbx.example.test;transport=udp SIP/2.0\r\n\r\n",
                20
            )
            .chars()
            .count(),
            20
        );
    }
}
