//! The decision core: a packet and a clock reading in, a verdict, a reason
//! and a list of effects out.
//!
//! Nothing here does I/O or reads a clock: the daemon passes `now`, applies
//! the effects to the kernel (ban set, door set) and to syslog. That keeps
//! every rule testable with plain unit tests and a fake clock.
//!
//! API contract (used by `daemon/`, `cli/`, benches and tests):
//!
//! ```text
//! let policy = Policy::from_config(&config)?;        // compiled, immutable
//! let mut engine = Engine::new(policy);              // owns the bounded State
//! let d: Decision = engine.decide(&packet, now);     // per packet, no allocation
//! engine.replace_policy(new_policy);                 // SIGHUP, keeps state
//! engine.state() / engine.state_mut()                // status, manual ban/unban, restore
//! ```

mod types;

pub use types::*;
