//! The status document served on the control socket: what `sipwall status`
//! prints and what the LuCI status page reads. Its shape is a contract,
//! documented in ARCHITECTURE.md ("Control"); add fields, never rename.

use super::contract::reason_count;
use super::nfqueue::{kernel_queues, Queues};
use super::world::Daemon;
use crate::json::Value;
use crate::policy::Reason;

/// Longest ban and door lists embedded in `status` (the full lists are
/// `sipwall bans` / `sipwall doors`); keeps the page small in a flood.
pub const STATUS_LIST_MAX: usize = 200;

pub fn document(d: &Daemon, queues: Option<&Queues>) -> Value {
    let now_wall = d.clock.wall_now();
    let cfg = &d.cfg.global;
    let mut reasons = Value::object();
    let counters = d.engine.counters();
    for r in Reason::ALL {
        reasons.set(r.as_str(), reason_count(counters, r));
    }
    let c = &d.counters;
    let daemon = Value::object()
        .with("malformed", c.malformed)
        .with("bans", c.bans)
        .with("doors_opened", c.doors_opened)
        .with("auth_failures", c.auth_failures)
        .with("bans_refused_allowlisted", c.bans_refused_allowlisted)
        .with("firewall_errors", c.firewall_errors)
        .with("ban_latency_last_us", c.ban_latency_last_us)
        .with("ban_latency_max_us", c.ban_latency_max_us)
        .with("reloads", d.reloads)
        .with("last_reload_error", d.last_reload_error.clone());
    let mut bans_total = 0u64;
    let bans = {
        let mut a = Value::array();
        for b in d.engine.bans(d.now()) {
            if bans_total < STATUS_LIST_MAX as u64 {
                a.push(ban_json(d, &b));
            }
            bans_total += 1;
        }
        a
    };
    let doors_list = doors(d, STATUS_LIST_MAX);
    let doors_total = d.engine.doors(d.now()).count() as u64;
    let t = &counters;
    let table = |s: &crate::policy::TableStats| {
        Value::object()
            .with("len", s.len)
            .with("capacity", s.capacity)
            .with("evictions", s.evictions)
            .with("refused", s.refused)
    };
    let engine = Value::object()
        .with("auth_failures", t.auth_failures)
        .with("evidence_shielded", t.evidence_shielded)
        .with("answers_uncorrelated", t.answers_uncorrelated)
        .with("bans_issued", t.bans_issued)
        .with("doors_opened", t.doors_opened)
        .with(
            "tables",
            Value::object()
                .with("bans", table(&t.bans))
                .with("doors", table(&t.doors))
                .with("sources", table(&t.sources))
                .with("pending", table(&t.pending)),
        );
    let mut zones = Value::array();
    for z in crate::zones::status(&d.cfg) {
        let mut v = z.to_json();
        v.set("loaded_at", d.zones_loaded_at);
        zones.push(v);
    }
    let mut hosts = Value::array();
    for h in &d.resolver.hosts {
        let addrs: Vec<String> = h.addrs.iter().map(|a| a.to_string()).collect();
        hosts.push(
            Value::object()
                .with("name", h.name.clone())
                .with("addresses", addrs)
                .with("last_error", h.last_error.clone()),
        );
    }
    Value::object()
        .with("version", env!("CARGO_PKG_VERSION"))
        .with("pid", std::process::id())
        .with("started", d.started_wall)
        .with("uptime_secs", now_wall.saturating_sub(d.started_wall))
        .with("mode", format!("{:?}", cfg.mode).to_lowercase())
        .with("backend", d.backend())
        .with("monitor", cfg.monitor)
        .with("fail_open", cfg.fail_open)
        .with("queue", queue_json(queues))
        .with("counters", reasons)
        .with("engine", engine)
        .with("daemon", daemon)
        .with("bans_total", bans_total)
        .with("bans", bans)
        .with("doors_total", doors_total)
        .with("doors", doors_list)
        .with("zones", zones)
        .with("allow_hosts", hosts)
}

fn queue_json(queues: Option<&Queues>) -> Value {
    let Some(q) = queues else {
        return Value::object().with("bound", false);
    };
    let s = &q.stats;
    let setup = q.setup();
    let kernel = kernel_queues();
    let k = |n: u16| {
        kernel
            .iter()
            .find(|k| k.queue == n)
            .copied()
            .unwrap_or_default()
    };
    let (kr, ka) = (k(setup.requests), k(setup.answers));
    let lost_fate = if setup.fail_open {
        "uninspected"
    } else {
        "dropped"
    };
    Value::object()
        .with("bound", true)
        .with("requests_queue", setup.requests)
        .with("answers_queue", setup.answers)
        .with("maxlen", setup.maxlen)
        .with("kernel_maxlen", setup.kernel_maxlen)
        .with("rcvbuf", q.rcvbuf)
        .with("waiting", kr.waiting + ka.waiting)
        .with("requests", s.requests)
        .with("answers", s.answers)
        .with("accepted", s.accepted)
        .with("dropped", s.dropped)
        .with("malformed", s.malformed)
        .with(
            "overload",
            Value::object()
                .with("events", s.overload_events)
                .with("lost_requests", s.lost_requests)
                .with("lost_requests_were", lost_fate)
                .with("lost_answers", s.lost_answers)
                .with("kernel_queue_full", kr.queue_dropped)
                .with("kernel_socket_full", kr.user_dropped),
        )
        .with("netlink_errors", s.netlink_errors)
        .with("last_error", q.last_error().map(|e| e.to_string()))
        .with("wakeups", s.wakeups)
        .with("max_drain", s.max_drain)
        .with("batch_verdicts", s.batch_verdicts)
        .with("single_verdicts", s.single_verdicts)
}

fn ban_json(d: &Daemon, b: &super::contract::BanInfo) -> Value {
    Value::object()
        .with("ip", b.ip.to_string())
        .with("cause", b.cause.as_str())
        .with("since", d.clock.wall(b.since))
        .with("until", b.until.map(|u| d.clock.wall(u)))
}

/// Up to `max` bans.
pub fn bans(d: &Daemon, max: usize) -> Value {
    let mut a = Value::array();
    for b in d.engine.bans(d.now()).take(max) {
        a.push(ban_json(d, &b));
    }
    a
}

/// Up to `max` open doors.
pub fn doors(d: &Daemon, max: usize) -> Value {
    let mut a = Value::array();
    for door in d.engine.doors(d.now()).take(max) {
        a.push(
            Value::object()
                .with("ip", door.ip.to_string())
                .with("via", door.via.as_str())
                .with("opened", d.clock.wall(door.opened))
                .with("until", d.clock.wall(door.until)),
        );
    }
    a
}
