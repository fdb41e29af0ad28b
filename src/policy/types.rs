//! The vocabulary the core speaks: verdicts, reasons, effects, time.

use std::net::IpAddr;

/// Monotonic milliseconds, supplied by the caller (the daemon reads the
/// clock; tests pass a fake one). A plain `u64`, never an atomic: 32-bit
/// MIPS has no 64-bit atomics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Millis(pub u64);

impl Millis {
    pub const fn from_secs(s: u64) -> Millis {
        Millis(s * 1000)
    }
    pub fn saturating_add_secs(self, s: u64) -> Millis {
        Millis(self.0.saturating_add(s.saturating_mul(1000)))
    }
}

/// What the kernel is told to do with the packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Accept,
    Drop,
}

/// Why a verdict was made. Every verdict carries one; the daemon keeps a
/// counter per reason and `status` shows them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Reason {
    /// Source is in the allowlist (or the LAN).
    Allowlisted,
    /// Source is banned.
    Banned,
    /// User-Agent or From display name matched a scanner signature.
    Scanner,
    /// A knock secret was found; a door was opened.
    Knock,
    /// The source has an open door.
    Door,
    /// Request-URI (or To, for REGISTER) host is a configured domain.
    Domain,
    /// Request addressed to an IP literal or an unknown host.
    WrongDomain,
    /// Source exceeded its rate limit.
    RateLimited,
    /// A response, or an in-dialog request/ACK/CANCEL: see ARCHITECTURE.md.
    Dialog,
    /// Payload is not SIP (keep-alive CRLF, STUN, garbage).
    NotSip,
    /// Malformed SIP or packet.
    Malformed,
    /// TLS ClientHello whose SNI is a configured domain.
    TlsSni,
    /// TLS ClientHello without a matching SNI.
    TlsWrongSni,
    /// Monitor mode: would have been dropped, accepted instead.
    Monitor,
}

impl Reason {
    pub const ALL: [Reason; 14] = [
        Reason::Allowlisted,
        Reason::Banned,
        Reason::Scanner,
        Reason::Knock,
        Reason::Door,
        Reason::Domain,
        Reason::WrongDomain,
        Reason::RateLimited,
        Reason::Dialog,
        Reason::NotSip,
        Reason::Malformed,
        Reason::TlsSni,
        Reason::TlsWrongSni,
        Reason::Monitor,
    ];

    /// Stable machine name, used in logs, JSON and persisted ban records.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Allowlisted => "allowlisted",
            Reason::Banned => "banned",
            Reason::Scanner => "scanner",
            Reason::Knock => "knock",
            Reason::Door => "door",
            Reason::Domain => "domain",
            Reason::WrongDomain => "wrong-domain",
            Reason::RateLimited => "rate-limited",
            Reason::Dialog => "dialog",
            Reason::NotSip => "not-sip",
            Reason::Malformed => "malformed",
            Reason::TlsSni => "tls-sni",
            Reason::TlsWrongSni => "tls-wrong-sni",
            Reason::Monitor => "monitor",
        }
    }

    /// Position in [`Reason::ALL`] (the declaration order), for counters.
    pub fn index(self) -> usize {
        self as usize
    }
}

/// Why a source was banned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BanCause {
    Scanner,
    AuthFailures,
    Flood,
    Manual,
}

impl BanCause {
    pub fn as_str(self) -> &'static str {
        match self {
            BanCause::Scanner => "scanner",
            BanCause::AuthFailures => "auth-failures",
            BanCause::Flood => "flood",
            BanCause::Manual => "manual",
        }
    }
}

/// Something the daemon must do in the world because of a decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Put `ip` into the kernel door set for `secs` seconds.
    OpenDoor { ip: IpAddr, secs: u32 },
    /// Put `ip` into the kernel ban set; `secs: None` means until an admin
    /// releases it. The daemon also deletes the source's conntrack entries.
    Ban {
        ip: IpAddr,
        secs: Option<u32>,
        cause: BanCause,
    },
    /// One failed authentication of `ip` was seen (for logs): `count` in
    /// the current window.
    AuthFailed { ip: IpAddr, count: u32 },
    /// First drop of this source for this reason (rate-limited logging).
    FirstDrop { ip: IpAddr, reason: Reason },
    /// Monitor mode: this packet would have been dropped for `reason`.
    WouldDrop { ip: IpAddr, reason: Reason },
    /// Monitor mode: this ban would have been issued (nothing was banned).
    WouldBan {
        ip: IpAddr,
        secs: Option<u32>,
        cause: BanCause,
    },
}

/// Up to four effects, kept inline so a decision never allocates.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Effects {
    items: [Option<Effect>; 4],
    len: u8,
}

impl Effects {
    pub fn push(&mut self, e: Effect) {
        if let Some(slot) = self.items.get_mut(self.len as usize) {
            *slot = Some(e);
            self.len += 1;
        }
    }
    pub fn len(&self) -> usize {
        self.len as usize
    }
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    pub fn iter(&self) -> impl Iterator<Item = &Effect> {
        self.items[..self.len as usize].iter().flatten()
    }
}

/// The outcome of one packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decision {
    pub verdict: Verdict,
    pub reason: Reason,
    pub effects: Effects,
}

impl Effect {
    /// Stable machine name of the effect's kind, for logs and JSON.
    pub fn kind(&self) -> &'static str {
        match self {
            Effect::OpenDoor { .. } => "open-door",
            Effect::Ban { .. } => "ban",
            Effect::AuthFailed { .. } => "auth-failed",
            Effect::FirstDrop { .. } => "first-drop",
            Effect::WouldDrop { .. } => "would-drop",
            Effect::WouldBan { .. } => "would-ban",
        }
    }
}

/// How a door was opened. A door opened by the PBX's own 2xx to a REGISTER
/// is stronger evidence than a knock (see the spoofing rule in
/// ARCHITECTURE.md): it is never evicted by a knock door and UDP evidence
/// does not count against it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DoorVia<'a> {
    /// The knock of this name (or `"(removed knock)"` after a reload).
    Knock(&'a str),
    /// The PBX accepted a REGISTER from this source.
    Register,
}

impl DoorVia<'_> {
    pub fn as_str(&self) -> &str {
        match self {
            DoorVia::Knock(name) => name,
            DoorVia::Register => "register",
        }
    }
}

/// One ban, as `status`/`bans` show it and the daemon persists it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BanInfo {
    pub ip: IpAddr,
    pub cause: BanCause,
    pub since: Millis,
    /// `None`: until an admin releases it.
    pub until: Option<Millis>,
}

/// One open door.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DoorInfo<'a> {
    pub ip: IpAddr,
    pub opened: Millis,
    pub until: Millis,
    pub via: DoorVia<'a>,
}

/// Size, capacity and churn of one bounded table.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TableStats {
    pub len: u32,
    pub capacity: u32,
    /// Live entries pushed out to make room for a new one.
    pub evictions: u64,
    /// New entries not stored because nothing could be evicted (bans: the
    /// kernel still gets the ban, only our bookkeeping of it is lost).
    pub refused: u64,
}

/// Everything `status` shows about the core. Plain `u64`s: the engine is
/// single-threaded and 32-bit MIPS has no 64-bit atomics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Decisions per reason, indexed by [`Reason::index`].
    pub reasons: [u64; Reason::ALL.len()],
    /// Failed authentications counted against a source.
    pub auth_failures: u64,
    /// Failure or ban evidence ignored because the source is protected by
    /// the spoofing rule (allowlisted, LAN, or a registered door over UDP).
    pub evidence_shielded: u64,
    /// 401/403/407 answers that matched no recorded request.
    pub answers_uncorrelated: u64,
    pub bans_issued: u64,
    pub doors_opened: u64,
    pub bans: TableStats,
    pub doors: TableStats,
    pub sources: TableStats,
    pub pending: TableStats,
}

impl Counters {
    pub fn reason(&self, r: Reason) -> u64 {
        self.reasons[r.index()]
    }
}
