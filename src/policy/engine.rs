//! `Engine`: the policy plus its bounded state, and the one function that
//! matters — `decide(packet, now) -> Decision`.
//!
//! The rule order and the evidence rule are in `policy/mod.rs` and
//! ARCHITECTURE.md ("Policy"); this file implements them in that order.
//! Everything is allocation-free after `Engine::new`: the tables are fixed
//! arrays, the SIP reader borrows the packet, effects are inline.

use std::net::IpAddr;

use super::bans::{Bans, Put};
use super::compiled::{Policy, REGISTER_DOOR_DEFAULT_SECS, REGISTER_DOOR_GRACE_SECS};
use super::doors::{Door, Doors, Via};
use super::hash::Keyed;
use super::pending::{Answered, Pending};
use super::sources::Sources;
use super::table::Rng;
use super::types::*;
use crate::packet::{Direction, Packet, Transport};
use crate::sip::{classify, Host, Message, Method, NameAddr, Payload};

/// The policy engine: owns the compiled policy and all state.
pub struct Engine {
    policy: Policy,
    hasher: Keyed,
    rng: Rng,
    bans: Bans,
    doors: Doors,
    sources: Sources,
    pending: Pending,
    /// Allowlist host names, resolved by the daemon.
    allow_hosts: Vec<IpAddr>,
    counters: Counters,
}

/// Facts about the source of the packet being judged.
#[derive(Clone, Copy)]
struct Src {
    ip: IpAddr,
    hash: u64,
    /// Arrived over TCP (TLS included): the handshake proved the address.
    tcp: bool,
    now: Millis,
}

fn decision(verdict: Verdict, reason: Reason, effects: Effects) -> Decision {
    Decision {
        verdict,
        reason,
        effects,
    }
}

/// Drops that say "this source keeps sending what we do not want": they
/// feed the flood ban. (Scanner drops ban by themselves; Banned never gets
/// here.)
fn counts_as_flood(reason: Reason) -> bool {
    matches!(
        reason,
        Reason::WrongDomain
            | Reason::RateLimited
            | Reason::NotSip
            | Reason::Malformed
            | Reason::TlsWrongSni
    )
}

impl Engine {
    /// Allocates every bounded table now, sized from the policy's
    /// capacities.
    pub fn new(policy: Policy) -> Engine {
        let hasher = Keyed::new();
        let seed = hasher.seed();
        let cap = policy.capacity;
        let mut counters = Counters::default();
        let bans = Bans::new(cap.bans);
        let doors = Doors::new(cap.doors);
        let sources = Sources::new(cap.sources);
        let pending = Pending::new(cap.pending_auth);
        counters.bans = bans.stats();
        counters.doors = doors.stats();
        counters.sources = sources.stats();
        counters.pending = pending.stats();
        Engine {
            policy,
            hasher,
            rng: Rng::new(seed),
            bans,
            doors,
            sources,
            pending,
            allow_hosts: Vec::new(),
            counters,
        }
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Judges one packet. Never allocates, never panics.
    pub fn decide(&mut self, pkt: &Packet<'_>, now: Millis) -> Decision {
        let d = match pkt.direction {
            Direction::ToPbx => self.judge(pkt, now),
            Direction::FromPbx => self.learn(pkt, now),
        };
        self.counters.reasons[d.reason.index()] += 1;
        self.refresh_stats();
        d
    }

    fn refresh_stats(&mut self) {
        self.counters.bans = self.bans.stats();
        self.counters.doors = self.doors.stats();
        self.counters.sources = self.sources.stats();
        self.counters.pending = self.pending.stats();
    }

    fn trusted(&self, ip: IpAddr) -> bool {
        self.policy.trusts(ip) || self.allow_hosts.contains(&ip)
    }

    // ---- requests towards the PBX -------------------------------------

    fn judge(&mut self, pkt: &Packet<'_>, now: Millis) -> Decision {
        let ip = pkt.src.to_canonical();
        // Rule 1: allowlist and LAN.
        if self.trusted(ip) {
            return decision(Verdict::Accept, Reason::Allowlisted, Effects::default());
        }
        let hash = self.hasher.ip(ip);
        // Rule 2: banned (or in the block list). Enforced in monitor mode
        // too: only an admin (or a restored ban) puts a source here then.
        if self.policy.blocks(ip) || self.bans.is_banned(hash, ip, now) {
            return decision(Verdict::Drop, Reason::Banned, Effects::default());
        }
        let src = Src {
            ip,
            hash,
            tcp: pkt.transport == Transport::Tcp,
            now,
        };
        let door = self.doors.get(hash, ip, now).copied();
        let mut fx = Effects::default();
        let (verdict, reason) = match classify(pkt.payload) {
            Payload::Sip(msg) => self.judge_sip(src, &msg, door, &mut fx),
            // Keep-alives and STUN carry no domain and no knock: only a
            // source that already has a door (a registered phone keeping
            // its NAT binding) has a reason to send them.
            Payload::KeepAlive | Payload::Stun | Payload::NotSip if door.is_some() => {
                (Verdict::Accept, Reason::Door)
            }
            Payload::KeepAlive | Payload::Stun | Payload::NotSip => (Verdict::Drop, Reason::NotSip),
            Payload::TlsClientHello { .. } if door.is_some() => (Verdict::Accept, Reason::Door),
            Payload::TlsClientHello { sni } => {
                if sni.is_some_and(|s| self.policy.is_domain(s)) {
                    self.rate_gate(src, Reason::TlsSni)
                } else {
                    (Verdict::Drop, Reason::TlsWrongSni)
                }
            }
        };
        self.finish(src, verdict, reason, fx)
    }

    fn judge_sip(
        &mut self,
        src: Src,
        msg: &Message<'_>,
        door: Option<Door>,
        fx: &mut Effects,
    ) -> (Verdict, Reason) {
        if !msg.is_request() {
            // A response towards the PBX answers a transaction the PBX
            // started; without one the PBX discards it. Nothing to gate.
            if door.is_some() {
                return (Verdict::Accept, Reason::Door);
            }
            return self.rate_gate(src, Reason::Dialog);
        }
        // From and To are read without parsing their URIs: only the
        // display name, To's tag and (REGISTER) To's host matter here.
        let from_name = msg.from_display_name();
        let ua = msg.user_agent();
        // Rule 3: scanner signature.
        let display = from_name.flatten();
        let scanner = ua
            .and_then(|u| self.policy.scanners.find_in(u))
            .or_else(|| display.and_then(|d| self.policy.scanners.find_in(d)))
            .is_some();
        if scanner {
            self.issue_ban(src, self.policy.scanner_ban_secs, BanCause::Scanner, fx);
            return (Verdict::Drop, Reason::Scanner);
        }
        // Rule 4: knock.
        if let Some(k) = self.knock(msg, display, ua) {
            let secs = self.policy.knocks[k].door_secs;
            self.open_door(src, secs, Via::Knock(k as u16), fx);
            self.remember_request(src, msg, msg.cseq());
            return (Verdict::Accept, Reason::Knock);
        }
        // Rule 5: open door.
        if door.is_some() {
            self.remember_request(src, msg, msg.cseq());
            return (Verdict::Accept, Reason::Door);
        }
        let method = msg.method().unwrap_or(Method::Other);
        let to_tag = msg.to_tag();
        // Read once: the request record below needs it again.
        let cseq = msg.cseq();
        if from_name.is_none() || to_tag.is_none() || msg.call_id().is_none() || cseq.is_none() {
            return (Verdict::Drop, Reason::Malformed);
        }
        // In-dialog request (To tag): the PBX answers 481 to a dialog it
        // does not know and never challenges, so it exposes no account;
        // blocking it would cut hang-ups of calls whose conntrack entry
        // timed out. Rate-limited like everything else.
        if method != Method::Register && to_tag.flatten().is_some() {
            return self.rate_gate(src, Reason::Dialog);
        }
        // Rule 6: domain gate (ACK and CANCEL of an INVITE carry its
        // Request-URI, so they pass exactly when their INVITE did).
        let ruri_ok = msg.request_uri().is_some_and(|u| self.host_ok(u.host));
        let to_ok = method != Method::Register
            || msg
                .to()
                .and_then(|t| t.uri)
                .is_some_and(|u| self.host_ok(u.host));
        if !(ruri_ok && to_ok) {
            return (Verdict::Drop, Reason::WrongDomain);
        }
        // Rule 7: per-source rate.
        let out = self.rate_gate(src, Reason::Domain);
        if out.0 == Verdict::Accept {
            self.remember_request(src, msg, cseq);
        }
        out
    }

    fn host_ok(&self, host: Host<'_>) -> bool {
        match host {
            Host::Name(n) => self.policy.is_domain(n),
            Host::V4(_) | Host::V6(_) => false,
        }
    }

    /// Index of the first knock whose secret is in one of its places.
    fn knock(&self, msg: &Message<'_>, display: Option<&[u8]>, ua: Option<&[u8]>) -> Option<usize> {
        if self.policy.knocks.is_empty() {
            return None;
        }
        // The instance is looked for in the first Contact (phones send one):
        // its value comes from the reader's index, while `contact_instance`
        // walks every header — so it is only asked once the secret is known
        // to be in that Contact at all.
        let mut contact: Option<Option<&[u8]>> = None;
        let mut instance: Option<Option<&[u8]>> = None;
        for (i, k) in self.policy.knocks.iter().enumerate() {
            let hit = (k.places.display_name
                && display.is_some_and(|d| super::matcher::contains(d, &k.secret)))
                || (k.places.user_agent
                    && ua.is_some_and(|u| super::matcher::contains(u, &k.secret)))
                || (k.places.instance
                    && contact
                        .get_or_insert_with(|| msg.header("Contact"))
                        .is_some_and(|c| super::matcher::contains(c, &k.secret))
                    && instance
                        .get_or_insert_with(|| msg.contact_instance())
                        .is_some_and(|v| super::matcher::contains(v, &k.secret)));
            if hit {
                return Some(i);
            }
        }
        None
    }

    /// Token bucket of the source: accept for `reason`, or drop.
    fn rate_gate(&mut self, src: Src, reason: Reason) -> (Verdict, Reason) {
        let rate = self.policy.rate;
        let allowed = match self
            .sources
            .track(src.hash, src.ip, src.now, rate.burst, &mut self.rng)
        {
            Some(t) => t.take_token(src.now, rate.rate, rate.burst),
            // Not trackable (zero-capacity table): do not punish the source.
            None => true,
        };
        if allowed {
            (Verdict::Accept, reason)
        } else {
            (Verdict::Drop, Reason::RateLimited)
        }
    }

    /// Remembers an accepted request so the PBX's answer can be judged.
    /// `cseq` is `msg.cseq()`, passed in by callers that already read it.
    fn remember_request(&mut self, src: Src, msg: &Message<'_>, cseq: Option<(u32, Method)>) {
        let (Some(call_id), Some((cseq, method))) = (msg.call_id(), cseq) else {
            return;
        };
        if matches!(method, Method::Ack | Method::Cancel) {
            return;
        }
        let fp = self.hasher.transaction(src.ip, call_id, cseq);
        self.pending
            .request(fp, msg.authorization().is_some(), src.now);
    }

    /// Flood accounting, then monitor mode's rewrite of drops.
    fn finish(&mut self, src: Src, verdict: Verdict, reason: Reason, mut fx: Effects) -> Decision {
        if verdict == Verdict::Drop && counts_as_flood(reason) {
            let rate = self.policy.rate;
            let drops =
                match self
                    .sources
                    .track(src.hash, src.ip, src.now, rate.burst, &mut self.rng)
                {
                    Some(t) => {
                        let n = t.count_drop(src.now, rate.drop_window_secs);
                        if rate.drops_before_ban > 0 && n >= rate.drops_before_ban {
                            t.drops = 0;
                        }
                        n
                    }
                    None => 0,
                };
            if drops == 1 {
                fx.push(Effect::FirstDrop { ip: src.ip, reason });
            }
            if rate.drops_before_ban > 0 && drops >= rate.drops_before_ban {
                self.issue_ban(src, Some(rate.flood_ban_secs), BanCause::Flood, &mut fx);
            }
        }
        if verdict == Verdict::Drop && self.policy.monitor {
            fx.push(Effect::WouldDrop { ip: src.ip, reason });
            return decision(Verdict::Accept, Reason::Monitor, fx);
        }
        decision(verdict, reason, fx)
    }

    // ---- evidence and its consequences --------------------------------

    /// The spoofing rule: is evidence about `src` to be ignored? Trusted
    /// sources are never banned; a source the PBX authenticated (door via
    /// REGISTER) is not judged on UDP evidence, whose source address
    /// anyone can forge.
    fn shielded(&self, src: Src) -> bool {
        self.trusted(src.ip)
            || (!src.tcp
                && self
                    .doors
                    .get(src.hash, src.ip, src.now)
                    .is_some_and(|d| d.registered()))
    }

    fn issue_ban(&mut self, src: Src, secs: Option<u32>, cause: BanCause, fx: &mut Effects) {
        if self.shielded(src) {
            self.counters.evidence_shielded += 1;
            return;
        }
        if self.policy.monitor {
            fx.push(Effect::WouldBan {
                ip: src.ip,
                secs,
                cause,
            });
            return;
        }
        self.record_ban(src, secs, cause, fx);
    }

    fn record_ban(&mut self, src: Src, secs: Option<u32>, cause: BanCause, fx: &mut Effects) {
        let put = self
            .bans
            .put(src.hash, src.ip, secs, cause, src.now, &mut self.rng);
        if put == Put::Covered {
            return;
        }
        // Tell the kernel the ban as it now stands: a graver cause with a
        // shorter time must not shorten a longer ban already in the set.
        let (secs, cause) = match (put, self.bans.get(src.hash, src.ip)) {
            (Put::Extended, Some(b)) => (b.remaining_secs(src.now), b.cause),
            _ => (secs, cause),
        };
        // A banned source loses its door: the kernel checks bans first,
        // and the door must not outlive the ban either.
        self.doors.close(src.hash, src.ip);
        self.counters.bans_issued += 1;
        fx.push(Effect::Ban {
            ip: src.ip,
            secs,
            cause,
        });
    }

    fn open_door(&mut self, src: Src, secs: u32, via: Via, fx: &mut Effects) {
        let was_open = self.doors.get(src.hash, src.ip, src.now).is_some();
        if self
            .doors
            .open(src.hash, src.ip, secs, via, src.now, &mut self.rng)
        {
            if !was_open {
                self.counters.doors_opened += 1;
            }
            fx.push(Effect::OpenDoor { ip: src.ip, secs });
        }
    }

    fn auth_failed(&mut self, src: Src, fx: &mut Effects) {
        if self.shielded(src) {
            self.counters.evidence_shielded += 1;
            return;
        }
        self.counters.auth_failures += 1;
        let burst = self.policy.rate.burst;
        let Some(t) = self
            .sources
            .track(src.hash, src.ip, src.now, burst, &mut self.rng)
        else {
            return;
        };
        t.add_failure(src.now);
        let longest = self.policy.longest_window_secs();
        let count = t.failures_within(src.now, longest);
        // Tiers are sorted most severe first: apply the first that fires.
        let fired = self
            .policy
            .tiers
            .iter()
            .find(|tier| t.failures_within(src.now, tier.window_secs) >= tier.failures)
            .map(|tier| tier.ban_secs);
        fx.push(Effect::AuthFailed { ip: src.ip, count });
        if let Some(secs) = fired {
            self.issue_ban(src, secs, BanCause::AuthFailures, fx);
        }
    }

    // ---- answers from the PBX -----------------------------------------

    fn learn(&mut self, pkt: &Packet<'_>, now: Millis) -> Decision {
        let mut fx = Effects::default();
        let accept = |fx| decision(Verdict::Accept, Reason::Dialog, fx);
        let ip = pkt.dst.to_canonical();
        let msg = match classify(pkt.payload) {
            Payload::Sip(m) if !m.is_request() => m,
            _ => return accept(fx),
        };
        if self.trusted(ip) {
            return accept(fx);
        }
        let (Some(status), Some((cseq, method))) = (msg.status(), msg.cseq()) else {
            return accept(fx);
        };
        let src = Src {
            ip,
            hash: self.hasher.ip(ip),
            tcp: pkt.transport == Transport::Tcp,
            now,
        };
        match status {
            200..=299 if method == Method::Register => {
                // Expires header, else the longest Contact binding (the
                // 200 lists them with `;expires=`), else a default.
                let secs = match msg.expires().or_else(|| contact_expires(&msg, ip)) {
                    // A de-registration: nothing to open (and nothing to
                    // close: a forged one must not shut a phone out).
                    Some(0) => None,
                    Some(e) => Some(e.saturating_add(REGISTER_DOOR_GRACE_SECS)),
                    None => Some(REGISTER_DOOR_DEFAULT_SECS),
                };
                if let Some(secs) = secs {
                    if !self.bans.is_banned(src.hash, ip, now) {
                        self.open_door(src, secs, Via::Register, &mut fx);
                    }
                }
            }
            401 | 403 | 407 => {
                let Some(call_id) = msg.call_id() else {
                    self.counters.answers_uncorrelated += 1;
                    return accept(fx);
                };
                let by_request = self
                    .pending
                    .answer(self.hasher.transaction(ip, call_id, cseq), now);
                let chained = self
                    .pending
                    .challenge(self.hasher.dialog(ip, call_id), cseq, now);
                let failed = match by_request {
                    Answered::Request { creds } => status == 403 || creds,
                    Answered::Again => false,
                    Answered::Unknown if chained => true,
                    // The kernel passes a flow we accepted without asking
                    // us again, so its later requests (a guesser replaying
                    // one nonce, each guess in a dialog of its own) are
                    // never seen. A 403 there is a refusal of that source;
                    // a 401/407 may be the first challenge of an honest
                    // request, so it does not count. The answer is
                    // recorded as answered: a retransmitted 403 counts once.
                    Answered::Unknown if pkt.flow_inspected && status == 403 => {
                        let fp = self.hasher.transaction(ip, call_id, cseq);
                        self.pending.request(fp, false, now);
                        self.pending.answer(fp, now);
                        true
                    }
                    Answered::Unknown => {
                        self.counters.answers_uncorrelated += 1;
                        false
                    }
                };
                if failed {
                    self.auth_failed(src, &mut fx);
                }
            }
            _ => {}
        }
        accept(fx)
    }

    // ---- admin and housekeeping ---------------------------------------

    /// Replaces the policy (SIGHUP). Doors, bans and failure histories are
    /// kept; tables are re-sized if the capacities changed (this allocates,
    /// once); sources that became trusted lose their bans.
    pub fn replace_policy(&mut self, policy: Policy) {
        // Knock indices follow knock names.
        let old_names: Vec<String> = self.policy.knocks.iter().map(|k| k.name.clone()).collect();
        let remap: Vec<Option<u16>> = old_names
            .iter()
            .map(|n| {
                policy
                    .knocks
                    .iter()
                    .position(|k| &k.name == n)
                    .map(|i| i as u16)
            })
            .collect();
        self.doors.remap_via(|via| match via {
            Via::Knock(i) => {
                Via::Knock(remap.get(i as usize).copied().flatten().unwrap_or(u16::MAX))
            }
            Via::Register => Via::Register,
        });
        let old_cap = self.policy.capacity;
        self.policy = policy;
        let cap = self.policy.capacity;
        if cap.bans != old_cap.bans {
            let mut bans = Bans::new(cap.bans);
            for (ip, b) in self.bans.iter() {
                bans.insert_raw(self.hasher.ip(ip), ip, *b, &mut self.rng);
            }
            self.bans = bans;
        }
        if cap.doors != old_cap.doors {
            let mut doors = Doors::new(cap.doors);
            for (ip, d) in self.doors.iter() {
                doors.insert_raw(self.hasher.ip(ip), ip, *d);
            }
            self.doors = doors;
        }
        if cap.sources != old_cap.sources {
            self.sources = Sources::new(cap.sources);
        }
        if cap.pending_auth != old_cap.pending_auth {
            self.pending = Pending::new(cap.pending_auth);
        }
        self.release_trusted();
        self.refresh_stats();
    }

    /// Sets the addresses the allowlist's host names resolved to (the
    /// daemon resolves them at start and on a schedule).
    pub fn set_allow_hosts(&mut self, ips: &[IpAddr]) {
        self.allow_hosts = ips.iter().map(|ip| ip.to_canonical()).collect();
        self.release_trusted();
        self.refresh_stats();
    }

    fn release_trusted(&mut self) {
        let policy = &self.policy;
        let hosts = &self.allow_hosts;
        self.bans
            .retain(|ip, _| !(policy.trusts(ip) || hosts.contains(&ip)));
    }

    /// Bans `ip` on an admin's command, or restores a persisted ban.
    /// Allowlisted and LAN sources are never banned: nothing happens and
    /// the returned effects are empty.
    pub fn ban(&mut self, ip: IpAddr, secs: Option<u32>, cause: BanCause, now: Millis) -> Effects {
        let ip = ip.to_canonical();
        let mut fx = Effects::default();
        if self.trusted(ip) {
            return fx;
        }
        let hash = self.hasher.ip(ip);
        let _ = self.bans.put(hash, ip, secs, cause, now, &mut self.rng);
        self.doors.close(hash, ip);
        self.counters.bans_issued += 1;
        fx.push(Effect::Ban { ip, secs, cause });
        self.refresh_stats();
        fx
    }

    /// Releases `ip`: its ban and its failure history go (a fresh start,
    /// or the next failure would ban it again at once). True if it was
    /// banned.
    pub fn unban(&mut self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        let hash = self.hasher.ip(ip);
        self.sources.remove(hash, ip);
        let was = self.bans.remove(hash, ip).is_some();
        self.refresh_stats();
        was
    }

    /// Active bans.
    pub fn bans(&self, now: Millis) -> impl Iterator<Item = BanInfo> + '_ {
        self.bans
            .iter()
            .filter(move |(_, b)| b.active(now))
            .map(|(ip, b)| b.info(ip))
    }

    /// Open doors.
    pub fn doors(&self, now: Millis) -> impl Iterator<Item = DoorInfo<'_>> + '_ {
        self.doors
            .iter()
            .filter(move |(_, d)| d.open(now))
            .map(|(ip, d)| DoorInfo {
                ip,
                opened: d.opened,
                until: d.until,
                via: match d.via {
                    Via::Register => DoorVia::Register,
                    Via::Knock(i) => DoorVia::Knock(
                        self.policy
                            .knocks
                            .get(i as usize)
                            .map_or("(removed knock)", |k| k.name.as_str()),
                    ),
                },
            })
    }

    /// Heap bytes held by the state tables: fixed at `new` (and at a
    /// reload that changes capacities), whatever the traffic.
    pub fn state_bytes(&self) -> usize {
        self.bans.bytes() + self.doors.bytes() + self.sources.bytes() + self.pending.bytes()
    }

    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// Housekeeping (~1/s): forgets expired bans, doors, idle trackers and
    /// stale correlations, so `status` shows live state.
    pub fn expire(&mut self, now: Millis) {
        self.bans.expire(now);
        self.doors.expire(now);
        let keep = self.policy.longest_window_secs();
        self.sources.expire(now, keep);
        self.pending.expire(now);
        self.refresh_stats();
    }
}

/// The registration time of `ip`'s own binding in a 2xx to REGISTER (the
/// answer lists every binding of the address-of-record, other phones'
/// too); if no binding names `ip` (a phone behind NAT registers a private
/// address), the longest one.
fn contact_expires(msg: &Message<'_>, ip: IpAddr) -> Option<u32> {
    let mut own = None;
    let mut longest = None;
    for v in msg.headers("Contact") {
        let Some(e) = expires_param(v) else { continue };
        longest = longest.max(Some(e));
        let host = NameAddr::parse(v).and_then(|n| n.uri).map(|u| u.host);
        let is_own = match (host, ip) {
            (Some(Host::V4(h)), IpAddr::V4(i)) => h == i,
            (Some(Host::V6(h)), IpAddr::V6(i)) => h == i,
            _ => false,
        };
        if is_own {
            own = own.max(Some(e));
        }
    }
    own.or(longest)
}

/// The `expires` parameter of one Contact value.
fn expires_param(v: &[u8]) -> Option<u32> {
    v.split(|b| *b == b';').skip(1).find_map(|p| {
        let p = p.trim_ascii();
        let (name, value) = p.split_at(p.iter().position(|b| *b == b'=')?);
        if !name.trim_ascii().eq_ignore_ascii_case(b"expires") {
            return None;
        }
        let digits = value[1..].trim_ascii();
        if digits.is_empty() || digits.len() > 9 || !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        Some(
            digits
                .iter()
                .fold(0u32, |n, d| n * 10 + u32::from(d - b'0')),
        )
    })
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("counters", &self.counters)
            .finish_non_exhaustive()
    }
}
