//! The daemon's state between packets, and the edge where the pure policy
//! meets the world: judged packets become verdicts, effects become kernel
//! set entries, ban-file writes and log lines, control requests become
//! answers. The queue loop in `mod.rs` owns the sockets and calls in here.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use ipnet::IpNet;

use super::contract::{load_config, Engine, Firewall, Plan, Policy, MARK_INSPECTED};
use super::control::{self, Request};
use super::logbook::{describe_sip, human_secs, Kind, Logbook};
use super::nfqueue::{kernel_queues, Judge, KernelQueue, Queued, Queues, Which};
use super::persist::{self, BanRecord};
use super::resolve::{self, Resolver};
use super::status;
use super::verdicts::Kernel;
use crate::config::{AllowEntry, Config};
use crate::json::Value;
use crate::packet::{Direction, Packet};
use crate::policy::{BanCause, Effect, Effects, Millis, Reason, Verdict};

/// Bans are written at most this often (flash wears).
const BANS_WRITE_EVERY_MS: u64 = 60_000;

/// Overload is logged at most this often.
const OVERLOAD_LOG_EVERY_MS: u64 = 60_000;

/// Monotonic time for the policy, wall time for people and the ban file.
pub struct Clock {
    start: Instant,
}

impl Clock {
    pub fn new() -> Clock {
        Clock {
            start: Instant::now(),
        }
    }

    /// Milliseconds since the daemon started (never 0).
    pub fn now(&self) -> Millis {
        Millis(self.start.elapsed().as_millis() as u64 + 1)
    }

    /// Unix seconds of the monotonic instant `m`, computed against the wall
    /// clock now (so a clock set by NTP after start is honoured).
    pub fn wall(&self, m: Millis) -> u64 {
        self.wall_with(self.wall_offset(), m)
    }

    /// Wall-clock milliseconds minus monotonic milliseconds, right now. Use
    /// one offset for related instants so their differences stay exact.
    pub fn wall_offset(&self) -> i128 {
        let wall_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i128);
        wall_ms - self.now().0 as i128
    }

    /// Unix seconds (rounded) of `m` with a given [`Clock::wall_offset`].
    pub fn wall_with(&self, offset: i128, m: Millis) -> u64 {
        ((offset + m.0 as i128 + 500).max(0) / 1000) as u64
    }

    pub fn wall_now(&self) -> u64 {
        self.wall(self.now())
    }
}

impl Default for Clock {
    fn default() -> Clock {
        Clock::new()
    }
}

/// Counters kept by the daemon itself (the engine counts its own reasons).
#[derive(Clone, Debug, Default)]
pub struct DaemonCounters {
    /// Requests that were not IP/UDP/TCP or arrived truncated.
    pub malformed: u64,
    /// Kernel operations that failed (ban, door, allow set).
    pub firewall_errors: u64,
    /// Bans refused because the source is allowlisted by host name.
    pub bans_refused_allowlisted: u64,
    /// Effects seen, by kind.
    pub bans: u64,
    pub doors_opened: u64,
    pub auth_failures: u64,
    /// Time from judging the packet that caused a ban to the kernel having
    /// it (microseconds): the last one and the largest seen.
    pub ban_latency_last_us: u64,
    pub ban_latency_max_us: u64,
}

pub struct Daemon {
    pub(super) cfg: Config,
    config_path: Option<PathBuf>,
    pub(super) engine: Engine,
    fw: Box<dyn Firewall>,
    pub log: Logbook,
    pub(super) clock: Clock,
    pub(super) started_wall: u64,
    bans_dirty: bool,
    /// `None` until the first write: the first ban after start is saved at
    /// once, later ones at most once a minute.
    last_bans_write: Option<Millis>,
    /// Doors we put into the kernel and until when, so a re-REGISTER every
    /// few minutes refreshes the kernel entry only when half of it is gone.
    doors: HashMap<IpAddr, Millis>,
    pub(super) resolver: Resolver,
    allow_pushed: Option<Vec<IpNet>>,
    /// Effects of the batch being judged, with their log context and when
    /// the packet that caused them was judged.
    pending: Vec<(Effect, String, Instant)>,
    pub(super) counters: DaemonCounters,
    overload_logged_total: u64,
    overload_logged_at: Option<Millis>,
    /// Requests lost since the last overload report that are not reported
    /// yet (the report is rate-limited): keeps housekeeping awake.
    overload_unreported: bool,
    /// When the stored country zones were last loaded into the kernel.
    pub(super) zones_loaded_at: Option<u64>,
    pub(super) reloads: u64,
    pub(super) last_reload_error: Option<String>,
}

impl Daemon {
    /// Installs the firewall plan, restores persisted bans and fills the
    /// allow set. Call after the queues are bound and before reading them.
    pub fn start(
        cfg: Config,
        config_path: Option<PathBuf>,
        fw: Box<dyn Firewall>,
        log: Logbook,
    ) -> Result<Daemon, String> {
        let clock = Clock::new();
        let started_wall = clock.wall_now();
        let engine = Engine::new(Policy::from_config(&cfg));
        let names = host_names(&cfg);
        let mut d = Daemon {
            cfg,
            config_path,
            engine,
            fw,
            log,
            clock,
            started_wall,
            bans_dirty: false,
            last_bans_write: None,
            doors: HashMap::new(),
            resolver: Resolver::start(names, resolve::EVERY),
            allow_pushed: None,
            pending: Vec::new(),
            counters: DaemonCounters::default(),
            overload_logged_total: 0,
            overload_logged_at: None,
            overload_unreported: false,
            zones_loaded_at: None,
            reloads: 0,
            last_reload_error: None,
        };
        d.fw.install(&Plan::from_config(&d.cfg))
            .map_err(|e| format!("cannot install the firewall rules: {e}"))?;
        d.restore_bans();
        d.push_allow();
        d.load_zones();
        d.fetch_missing_zones();
        Ok(d)
    }

    pub fn now(&self) -> Millis {
        self.clock.now()
    }

    /// The firewall backend in use ("nft", "iptables").
    pub fn backend(&self) -> &'static str {
        self.fw.name()
    }

    pub fn config(&self) -> &Config {
        &self.cfg
    }

    fn bans_file(&self) -> PathBuf {
        persist::bans_path(&self.cfg.global.state_dir)
    }

    fn restore_bans(&mut self) {
        let path = self.bans_file();
        let (records, warnings) = match persist::load(&path) {
            Ok(r) => r,
            Err(e) => {
                self.log
                    .error(&format!("{e}; starting without persisted bans"));
                return;
            }
        };
        for w in warnings {
            self.log.warning(&w);
        }
        let now = self.now();
        let wall = self.clock.wall_now();
        let mut restored = 0;
        for r in records {
            let Some(secs) = r.remaining(wall) else {
                continue;
            };
            let effects = self.engine.ban(r.ip, secs, r.cause, now);
            if effects.is_empty() {
                self.log.info(&format!(
                    "not restoring the ban of {}: it is trusted now (LAN or allowlist)",
                    r.ip
                ));
                continue;
            }
            for e in effects.iter() {
                if let Effect::Ban { ip, secs, .. } = *e {
                    if let Err(e) = self.fw.ban(ip, secs) {
                        self.counters.firewall_errors += 1;
                        self.log.error(&format!(
                            "cannot restore the ban of {ip} in the kernel: {e}"
                        ));
                    }
                }
            }
            restored += 1;
        }
        if restored > 0 {
            self.log
                .notice(&format!("restored {restored} bans from {}", path.display()));
        }
    }

    /// The allow set: configured networks plus the addresses of allowlisted
    /// host names. Pushed only when it changed.
    fn push_allow(&mut self) {
        let mut nets: Vec<IpNet> = self
            .cfg
            .allow
            .iter()
            .filter_map(|a| match a {
                AllowEntry::Net(n) => Some(*n),
                AllowEntry::Host(_) => None,
            })
            .collect();
        let hosts: Vec<IpAddr> = self.resolver.addrs().collect();
        self.engine.set_allow_hosts(&hosts);
        nets.extend(hosts.into_iter().map(IpNet::from));
        nets.sort();
        nets.dedup();
        if self.allow_pushed.as_ref() == Some(&nets) {
            return;
        }
        match self.fw.set_allow(&nets) {
            Ok(()) => self.allow_pushed = Some(nets),
            Err(e) => {
                self.counters.firewall_errors += 1;
                self.log.error(&format!("cannot update the allow set: {e}"));
            }
        }
    }

    fn allowlisted(&self, ip: IpAddr) -> Option<String> {
        for a in &self.cfg.allow {
            if let AllowEntry::Net(n) = a {
                if n.contains(&ip) {
                    return Some(format!("allowlisted network {n}"));
                }
            }
        }
        self.resolver
            .name_of(ip)
            .map(|n| format!("allowlisted host {n}"))
    }

    /// The verdict for one queued packet. Effects are collected and applied
    /// by [`Daemon::apply_pending`] once per batch (see [`Judge::settle`]),
    /// so one netlink round serves many packets.
    pub fn judge(&mut self, q: &Queued<'_>) -> Kernel {
        let now = self.clock.now();
        match q.which {
            Which::Requests => {
                let parsed = if q.truncated {
                    None
                } else {
                    Packet::parse(q.bytes, Direction::ToPbx).ok()
                };
                let Some(pkt) = parsed else {
                    self.counters.malformed += 1;
                    return if self.cfg.global.monitor {
                        Kernel::Repeat
                    } else {
                        Kernel::Drop
                    };
                };
                let d = self.engine.decide(&pkt, now);
                self.collect(&d.effects, pkt.payload);
                match d.verdict {
                    Verdict::Accept => Kernel::Repeat,
                    Verdict::Drop => Kernel::Drop,
                }
            }
            Which::Answers => {
                // Observation only: whatever happens, the answer passes.
                if let Ok(mut pkt) = Packet::parse(q.bytes, Direction::FromPbx) {
                    pkt.flow_inspected = q.mark & MARK_INSPECTED != 0;
                    let d = self.engine.decide(&pkt, now);
                    self.collect(&d.effects, pkt.payload);
                }
                Kernel::Accept
            }
        }
    }

    fn collect(&mut self, effects: &Effects, payload: &[u8]) {
        if effects.is_empty() {
            return;
        }
        // In a flood of fresh sources nearly every packet brings a first
        // drop; when the log has no room for it, skip the description too.
        let only_drops = effects
            .iter()
            .all(|e| matches!(e, Effect::FirstDrop { .. } | Effect::WouldDrop { .. }));
        let ctx = if only_drops && !self.log.has_budget(Kind::Drop, self.clock.now()) {
            String::new()
        } else {
            describe_sip(payload)
        };
        let at = Instant::now();
        for e in effects.iter() {
            self.pending.push((*e, ctx.clone(), at));
        }
    }

    /// Applies the effects gathered while judging the last batch.
    pub fn apply_pending(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let now = self.now();
        let pending = std::mem::take(&mut self.pending);
        for (e, ctx, at) in &pending {
            self.apply(*e, ctx, now);
            if matches!(e, Effect::Ban { .. }) {
                // From judging the packet to the kernel having the ban: the
                // reaction time the benches report (goal: a few ms).
                let us = at.elapsed().as_micros().min(u64::MAX as u128) as u64;
                self.counters.ban_latency_last_us = us;
                self.counters.ban_latency_max_us = self.counters.ban_latency_max_us.max(us);
            }
        }
        self.pending = pending;
        self.pending.clear();
    }

    fn apply(&mut self, e: Effect, ctx: &str, now: Millis) {
        match e {
            Effect::Ban { ip, secs, cause } => self.apply_ban(ip, secs, cause, ctx, now),
            Effect::OpenDoor { ip, secs } => self.apply_door(ip, secs, ctx, now),
            Effect::AuthFailed { ip, count } => {
                self.counters.auth_failures += 1;
                if self.log.admit(Kind::AuthFailed, now) {
                    let window = self.cfg.ban_tiers.first().map_or(0, |t| t.window_secs);
                    self.log.event(
                        Kind::AuthFailed,
                        &format!(
                            "auth failed {ip}: {count} in {}; {ctx}",
                            human_secs(window as u64)
                        ),
                    );
                }
            }
            Effect::FirstDrop { ip, reason } => {
                if self.log.admit(Kind::Drop, now) {
                    let verb = if self.cfg.global.monitor {
                        "would drop (monitor mode)"
                    } else {
                        "drop"
                    };
                    self.log.event(
                        Kind::Drop,
                        &format!("{verb} {ip}: {}; {ctx}", explain(reason)),
                    );
                }
            }
            // Every monitored drop carries one; the first per source is
            // logged through FirstDrop above, the rest are counted.
            Effect::WouldDrop { .. } => {}
            Effect::WouldBan { ip, secs, cause } => {
                if self.log.admit(Kind::Ban, now) {
                    let len = match secs {
                        Some(s) => format!("for {}", human_secs(s as u64)),
                        None => "until unbanned".to_string(),
                    };
                    let why = self.ban_reason(secs, cause);
                    self.log.event(
                        Kind::Ban,
                        &format!(
                            "would ban {ip} {len} (monitor mode, not banned): {why}; last: {ctx}"
                        ),
                    );
                }
            }
        }
    }

    fn apply_ban(
        &mut self,
        ip: IpAddr,
        secs: Option<u32>,
        cause: BanCause,
        ctx: &str,
        now: Millis,
    ) {
        if cause != BanCause::Manual {
            if let Some(why) = self.allowlisted(ip) {
                // The kernel accepts allowlisted sources before the queue,
                // but their answers still teach the engine: never ban them.
                self.engine.unban(ip);
                self.counters.bans_refused_allowlisted += 1;
                if self.log.admit(Kind::Ban, now) {
                    self.log.event(
                        Kind::Ban,
                        &format!("not banning {ip} ({}): {why}", cause.as_str()),
                    );
                }
                return;
            }
        }
        self.counters.bans += 1;
        if let Err(e) = self.fw.ban(ip, secs) {
            self.counters.firewall_errors += 1;
            self.log
                .error(&format!("cannot ban {ip} in the kernel: {e}"));
        }
        self.doors.remove(&ip);
        self.bans_dirty = true;
        if self.log.admit(Kind::Ban, now) {
            let len = match secs {
                Some(s) => format!("for {}", human_secs(s as u64)),
                None => "until unbanned".to_string(),
            };
            let why = self.ban_reason(secs, cause);
            let last = if ctx.is_empty() {
                String::new()
            } else {
                format!("; last: {ctx}")
            };
            self.log
                .event(Kind::Ban, &format!("ban {ip} {len}: {why}{last}"));
        }
    }

    fn ban_reason(&self, secs: Option<u32>, cause: BanCause) -> String {
        match cause {
            BanCause::AuthFailures => {
                let tier = self
                    .cfg
                    .ban_tiers
                    .iter()
                    .enumerate()
                    .find(|(_, t)| t.ban_secs == secs);
                match tier {
                    Some((i, t)) => format!(
                        "{} failed authentications in {} (tier {})",
                        t.failures,
                        human_secs(t.window_secs as u64),
                        i + 1
                    ),
                    None => "too many failed authentications".into(),
                }
            }
            BanCause::Scanner => "scanner signature in User-Agent or From".into(),
            BanCause::Flood => {
                let r = &self.cfg.rate_limit;
                format!(
                    "flood: {} drops in {} (rate limit {}/s, burst {})",
                    r.drops_before_ban,
                    human_secs(r.drop_window_secs as u64),
                    r.rate,
                    r.burst
                )
            }
            BanCause::Manual => "manual".into(),
        }
    }

    fn apply_door(&mut self, ip: IpAddr, secs: u32, ctx: &str, now: Millis) {
        let until = now.saturating_add_secs(secs as u64);
        let known = self.doors.get(&ip).copied();
        let fresh = known.is_none_or(|u| u <= now);
        let half = now.saturating_add_secs(secs as u64 / 2);
        if known.is_none_or(|u| u < half) {
            if let Err(e) = self.fw.open_door(ip, secs) {
                self.counters.firewall_errors += 1;
                self.log
                    .error(&format!("cannot open a door for {ip} in the kernel: {e}"));
                return;
            }
            if self.doors.len() >= self.cfg.capacity.doors as usize {
                self.doors.retain(|_, u| *u > now);
            }
            if self.doors.len() < self.cfg.capacity.doors as usize || known.is_some() {
                self.doors.insert(ip, until);
            }
        }
        if fresh {
            self.counters.doors_opened += 1;
            if self.log.admit(Kind::Door, now) {
                self.log.event(
                    Kind::Door,
                    &format!(
                        "door opened for {ip} for {}: {ctx}",
                        human_secs(secs as u64)
                    ),
                );
            }
        }
    }

    /// Whether housekeeping has nothing left to do until packets, a signal
    /// or a control request arrive: no ban waiting to be saved, no overload
    /// waiting to be reported, no suppressed log lines waiting for their
    /// summary. Expiry can wait while idle: the kernel sets time bans and
    /// doors out by themselves and the engine checks `until` on every
    /// lookup, so `expire` only frees slots, which the next packets need.
    pub fn settled(&self) -> bool {
        !self.bans_dirty
            && !self.overload_unreported
            && self.log.quiet()
            && !self.resolver.waiting()
    }

    /// Housekeeping: about once a second while packets flow, then once
    /// more after they stop (see `settled` and the main loop).
    pub fn tick(&mut self, queues: Option<&mut Queues>) {
        let now = self.now();
        self.engine.expire(now);
        if now.0 % 10_000 < 1_000 {
            self.doors.retain(|_, u| *u > now);
        }
        let due = self
            .last_bans_write
            .is_none_or(|t| now.0.saturating_sub(t.0) >= BANS_WRITE_EVERY_MS);
        if self.bans_dirty && due {
            self.write_bans();
        }
        let changed = self.resolver.poll();
        if !changed.is_empty() {
            for l in &changed {
                match &l.result {
                    Ok(a) => self.log.info(&format!(
                        "allowlisted host {} is now {}",
                        l.name,
                        a.iter()
                            .map(|a| a.to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )),
                    Err(e) => self.log.warning(&format!(
                        "cannot resolve allowlisted host '{}': {e}; keeping its last addresses",
                        l.name
                    )),
                }
            }
            self.push_allow();
        }
        if let Some(q) = queues {
            let kq = kernel_queues();
            q.reconcile(&kq);
            self.check_overload(q, &kq, now);
        }
        self.log.roll(now);
    }

    fn check_overload(&mut self, q: &Queues, kq: &[KernelQueue], now: Millis) {
        let setup = q.setup();
        // Queue-full drops get no packet id; everything else that never
        // reached us (socket full) is in lost_requests.
        let full: u64 = kq
            .iter()
            .filter(|k| k.queue == setup.requests)
            .map(|k| k.queue_dropped)
            .sum();
        let total = q.stats.lost_requests + full;
        self.overload_unreported = total > self.overload_logged_total;
        if total <= self.overload_logged_total {
            return;
        }
        if self
            .overload_logged_at
            .is_some_and(|t| now.0.saturating_sub(t.0) < OVERLOAD_LOG_EVERY_MS)
        {
            return;
        }
        let fate = if setup.fail_open {
            "they passed UNINSPECTED (fail_open is on)"
        } else {
            "they were dropped (fail-closed)"
        };
        self.log.warning(&format!(
            "overload: {} requests never reached sipwall since the last report (in all: {} lost \
             at the socket, {} dropped at the full queue); {fate}. Raise global.queue_maxlen or \
             find what floods the queue (`sipwall status`)",
            total - self.overload_logged_total,
            q.stats.lost_requests,
            full,
        ));
        self.overload_logged_total = total;
        self.overload_logged_at = Some(now);
        self.overload_unreported = false;
    }

    fn ban_records(&self) -> Vec<BanRecord> {
        let now = self.now();
        let off = self.clock.wall_offset();
        self.engine
            .bans(now)
            .map(|b| BanRecord {
                ip: b.ip,
                cause: b.cause,
                since: self.clock.wall_with(off, b.since),
                until: b.until.map(|u| self.clock.wall_with(off, u)),
            })
            .collect()
    }

    /// Writes the ban file now.
    pub fn write_bans(&mut self) {
        let text = persist::format(&self.ban_records());
        match persist::write_atomic(&self.bans_file(), &text) {
            Ok(()) => self.bans_dirty = false,
            Err(e) => self.log.error(&e),
        }
        self.last_bans_write = Some(self.now());
    }

    /// A firewall restart can take our rules away under us (fw3 flushes
    /// every chain; `/etc/init.d/firewall stop` deletes every nftables
    /// table). The package's firewall include sends SIGHUP after each
    /// firewall start and reload; here the rules come back, with the bans,
    /// doors and zones this process holds, before anything else.
    fn restore_rules_if_gone(&mut self) {
        match self.fw.installed() {
            Ok(true) => {}
            Ok(false) => match self.fw.install(&Plan::from_config(&self.cfg)) {
                Ok(()) => self.log.warning(
                    "the firewall rules were gone (a firewall restart removes them); reinstalled, with the current bans, doors and zones",
                ),
                Err(e) => self.log.error(&format!(
                    "the firewall rules are gone and cannot be reinstalled: {e}; the SIP ports are NOT protected until this is fixed (then send SIGHUP or restart sipwall)"
                )),
            },
            Err(e) => self
                .log
                .error(&format!("cannot check the firewall rules: {e}")),
        }
    }

    /// SIGHUP: load the configuration again; on any error keep running with
    /// the old one and say why.
    pub fn reload(&mut self) {
        self.reloads += 1;
        self.restore_rules_if_gone();
        let path = self.config_path.clone();
        let mut new = match load_config(path.as_deref()) {
            Ok(c) => c,
            Err(e) => {
                self.log.error(&format!(
                    "reload failed, keeping the running configuration: {e}"
                ));
                self.last_reload_error = Some(e);
                return;
            }
        };
        if !new.global.enabled {
            let e = "the new configuration has enabled off; keeping the running policy \
                     (to stop filtering, stop the service)"
                .to_string();
            self.log.warning(&format!("reload: {e}"));
            self.last_reload_error = Some(e);
            return;
        }
        let (old, newg) = (&self.cfg.global, &new.global);
        if (old.queue, old.queue_maxlen, old.fail_open)
            != (newg.queue, newg.queue_maxlen, newg.fail_open)
        {
            self.log.warning(
                "global.queue, queue_maxlen and fail_open apply at the next restart; keeping the running values",
            );
            new.global.queue = old.queue;
            new.global.queue_maxlen = old.queue_maxlen;
            new.global.fail_open = old.fail_open;
        }
        let reinstall =
            new.global != self.cfg.global || new.block != self.cfg.block || new.geo != self.cfg.geo;
        let hosts_changed = host_names(&new) != host_names(&self.cfg);
        self.engine.replace_policy(Policy::from_config(&new));
        if reinstall {
            if let Err(e) = self.fw.install(&Plan::from_config(&new)) {
                self.log.error(&format!(
                    "reload: cannot install the new firewall rules ({e}); the old rules stay"
                ));
            }
        }
        self.log.set_level(new.global.log_level);
        let geo_changed = new.geo != self.cfg.geo;
        self.cfg = new;
        if geo_changed {
            self.load_zones();
            self.fetch_missing_zones();
        }
        if hosts_changed {
            self.resolver = Resolver::start(host_names(&self.cfg), resolve::EVERY);
        }
        self.push_allow();
        self.last_reload_error = None;
        let from = match &path {
            Some(p) => p.display().to_string(),
            None => "the default location".into(),
        };
        self.log
            .notice(&format!("configuration reloaded from {from}"));
    }

    /// Answers one control request.
    pub fn handle(&mut self, req: Result<Request, String>, queues: Option<&Queues>) -> Value {
        let req = match req {
            Ok(r) => r,
            Err(e) => return control::error(e),
        };
        let now = self.now();
        match req {
            Request::Status => status::document(self, queues),
            Request::Bans => Value::object().with("bans", status::bans(self, usize::MAX)),
            Request::Doors => Value::object().with("doors", status::doors(self, usize::MAX)),
            Request::Ban { ip, secs } => {
                let effects = self.engine.ban(ip, secs, BanCause::Manual, now);
                if effects.is_empty() {
                    let why = self
                        .allowlisted(ip)
                        .unwrap_or_else(|| "it is in global.lan or the allowlist".into());
                    return Value::object().with("ok", false).with(
                        "message",
                        format!("not banned: {ip} is trusted ({why}); remove it from the allowlist first"),
                    );
                }
                for e in effects.iter() {
                    self.apply(*e, "by `sipwall ban`", now);
                }
                self.bans_dirty = true;
                let len = match secs {
                    Some(s) => format!("for {}", human_secs(s as u64)),
                    None => "until unbanned".to_string(),
                };
                Value::object()
                    .with("ok", true)
                    .with("message", format!("banned {ip} {len}"))
            }
            Request::LoadZones => self.load_zones(),
            Request::Unban { ip } => {
                let was = self.engine.unban(ip);
                if let Err(e) = self.fw.unban(ip) {
                    self.counters.firewall_errors += 1;
                    self.log.error(&format!(
                        "cannot remove the ban of {ip} from the kernel: {e}"
                    ));
                }
                self.bans_dirty = true;
                let msg = if was {
                    self.log.notice(&format!("unban {ip} (by `sipwall unban`)"));
                    format!("released {ip}")
                } else {
                    format!("{ip} was not banned")
                };
                Value::object().with("ok", was).with("message", msg)
            }
        }
    }

    /// Loads the country zones kept on storage into the kernel (at start,
    /// before any download, and after `sipwall zones refresh` stored new
    /// ones) and notes them for `status`. In allow mode a missing zone
    /// loads nothing (see `zones::load_stored`): the error is logged loudly.
    pub fn load_zones(&mut self) -> Value {
        if !self.cfg.geo.enabled || self.cfg.geo.countries.is_empty() {
            self.zones_loaded_at = None;
            return Value::object()
                .with("ok", true)
                .with("message", "country zones are off");
        }
        let result = crate::zones::load_stored(&self.cfg, &mut GeoVia(&mut *self.fw));
        self.zones_loaded_at = result.is_ok().then(|| self.clock.wall_now());
        match result {
            Ok((v4, v6)) => {
                let msg = format!("country zones loaded: {v4} IPv4 and {v6} IPv6 prefixes");
                self.log.notice(&msg);
                Value::object().with("ok", true).with("message", msg)
            }
            Err(e) => {
                let msg = format!("country zones: {e}");
                self.log.error(&msg);
                Value::object().with("ok", false).with("message", msg)
            }
        }
    }

    /// A configured country without a stored zone is downloaded now, in the
    /// background, instead of at the next scheduled refresh.
    fn fetch_missing_zones(&mut self) {
        let missing = crate::zones::missing(&self.cfg);
        if missing.is_empty() {
            return;
        }
        self.log.notice(&format!(
            "country zones not stored yet ({}): downloading now",
            missing.join(", ")
        ));
        if let Err(e) = crate::zones::spawn_refresh(self.config_path.as_deref()) {
            self.log
                .error(&format!("country zones: {e}; run `sipwall zones refresh`"));
        }
    }

    /// SIGTERM: remove every rule and set, then save the bans.
    pub fn shutdown(&mut self) {
        if let Err(e) = self.fw.uninstall() {
            self.log
                .error(&format!("cannot remove the firewall rules: {e}"));
        }
        self.write_bans();
    }
}

impl Judge for Daemon {
    fn judge(&mut self, q: &Queued<'_>) -> Kernel {
        Daemon::judge(self, q)
    }

    fn settle(&mut self) {
        self.apply_pending();
    }
}

/// The firewall's geo sets as the zones code sees them.
struct GeoVia<'a>(&'a mut dyn Firewall);

impl crate::zones::GeoSets for GeoVia<'_> {
    fn set_geo(&mut self, v4: &[ipnet::Ipv4Net], v6: &[ipnet::Ipv6Net]) -> Result<(), String> {
        self.0.set_geo(v4, v6).map_err(|e| e.to_string())
    }
}

fn host_names(cfg: &Config) -> Vec<String> {
    cfg.allow
        .iter()
        .filter_map(|a| match a {
            AllowEntry::Host(h) => Some(h.clone()),
            AllowEntry::Net(_) => None,
        })
        .collect()
}

/// Why a packet was dropped, in words for the log.
pub fn explain(reason: Reason) -> &'static str {
    match reason {
        Reason::WrongDomain => "request not addressed to a configured domain",
        Reason::Scanner => "scanner signature",
        Reason::RateLimited => "over its rate limit",
        Reason::Banned => "banned",
        Reason::Malformed => "malformed SIP",
        Reason::TlsWrongSni => "TLS without a configured domain as SNI",
        Reason::NotSip => "not SIP",
        other => other.as_str(),
    }
}
