//! The daemon's view of the other areas' APIs (policy engine, firewall
//! backends, config loader), in one place, so that the daemon compiles and
//! can be tested while those land in parallel. Each item here is the
//! contract from TEAM.md.
//!
//! Keeping the names in one place means an API change in another area is
//! fixed here once, not across the daemon.

use std::path::Path;

use crate::config::Config;
use crate::policy::Reason;

/// `config::load`, with the error as the text the user sees.
pub fn load_config(path: Option<&Path>) -> Result<Config, String> {
    crate::config::load(path).map_err(|e| e.to_string())
}

pub use crate::firewall::{detect, Firewall, FwError, Plan, MARK_INSPECTED};
pub use crate::policy::{BanInfo, Counters, DoorInfo, Engine, Policy};

/// Packets judged for `reason` so far.
pub fn reason_count(c: &Counters, r: Reason) -> u64 {
    c.reason(r)
}
