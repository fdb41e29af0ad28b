//! The decision core: a packet and a clock reading in; a verdict, a reason
//! and a list of effects out.
//!
//! Nothing here does I/O or reads a clock: the daemon passes `now`, applies
//! the effects to the kernel (ban set, door set) and to syslog. That keeps
//! every rule testable with plain tests and a fake clock.
//!
//! ```text
//! let policy = Policy::from_config(&config);         // compiled, immutable
//! let mut engine = Engine::new(policy);              // allocates all tables
//! let d: Decision = engine.decide(&packet, now);     // per packet, no allocation
//! engine.replace_policy(new_policy);                 // SIGHUP, keeps state
//! engine.ban / unban / bans / doors / counters / expire
//! ```
//!
//! # Rule order (requests towards the PBX; first match wins)
//!
//! 1. source allowlisted or in the LAN → accept (`allowlisted`); never
//!    banned, whatever it does;
//! 2. source banned or in the block list → drop (`banned`);
//! 3. scanner signature in User-Agent or From display name (ASCII
//!    case-insensitive substring) → ban (default 24 h), drop (`scanner`);
//! 4. knock secret in a place the knock names (From display name,
//!    User-Agent, Contact `+sip.instance`; exact substring) → open or
//!    refresh a door for the knock's seconds, accept (`knock`);
//! 5. open door → accept (`door`);
//! 6. (for what is left) a request missing From, To, Call-ID or CSeq →
//!    drop (`malformed`); an in-dialog request (To tag, not REGISTER) →
//!    step 7 with reason `dialog`; otherwise the domain gate: Request-URI
//!    host (for REGISTER also the To host) must be a configured domain
//!    (case-insensitive) — an IP literal or any other host → drop
//!    (`wrong-domain`);
//! 7. per-source token bucket (rate, burst): over → drop (`rate-limited`),
//!    else accept (`domain`);
//! 8. every drop of rules 6–7 and of non-SIP payloads counts towards the
//!    flood ban (`drops_before_ban` within `drop_window_secs` → banned for
//!    `flood_ban_secs`); in monitor mode a drop becomes accept (`monitor`)
//!    with a `WouldDrop` effect, and bans become `WouldBan` effects.
//!
//! Non-SIP payloads: keep-alives, STUN and anything unreadable are accepted
//! only from a source with a door (`door`), else dropped (`not-sip`). A TLS
//! ClientHello passes if its SNI is a configured domain (`tls-sni`, rate
//! limited), else `tls-wrong-sni`. Answers from the PBX are always
//! accepted (`dialog`) and learned from. ARCHITECTURE.md ("Policy") gives
//! the reasons and the evidence rule against spoofed sources.

mod bans;
mod compiled;
mod doors;
mod engine;
mod hash;
mod matcher;
mod pending;
mod sources;
mod table;
mod types;

pub use compiled::{
    Policy, MAX_TIER_FAILURES, REGISTER_DOOR_DEFAULT_SECS, REGISTER_DOOR_GRACE_SECS,
};
pub use engine::Engine;
pub use types::*;
