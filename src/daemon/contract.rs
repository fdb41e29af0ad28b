//! The daemon's view of the other areas' APIs (policy engine, firewall
//! backends, config loader), in one place, so that the daemon compiles and
//! can be tested while those land in parallel. Each item here is the
//! contract from TEAM.md; when the real module lands this file shrinks to
//! re-exports.
//!
//! TEMPORARY stand-ins (marked `shim`) are deleted as soon as the real code
//! is on main (the firewall's are the last ones).

use std::net::IpAddr;
use std::path::Path;

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

use crate::config::Config;
use crate::policy::Reason;

/// `config::load`, with the error as the text the user sees.
pub fn load_config(path: Option<&Path>) -> Result<Config, String> {
    crate::config::load(path).map_err(|e| e.to_string())
}

/// shim: `firewall::MARK_INSPECTED`.
pub const MARK_INSPECTED: u32 = 0x005a_0000;

/// shim: `firewall::Plan`.
pub struct Plan;
impl Plan {
    pub fn from_config(_c: &Config) -> Plan {
        Plan
    }
}

/// shim: `firewall::FwError`.
pub type FwError = String;

/// shim: `firewall::Firewall`.
pub trait Firewall {
    fn install(&mut self, plan: &Plan) -> Result<(), FwError>;
    fn uninstall(&mut self) -> Result<(), FwError>;
    fn ban(&mut self, ip: IpAddr, secs: Option<u32>) -> Result<(), FwError>;
    fn unban(&mut self, ip: IpAddr) -> Result<(), FwError>;
    fn open_door(&mut self, ip: IpAddr, secs: u32) -> Result<(), FwError>;
    fn set_allow(&mut self, nets: &[IpNet]) -> Result<(), FwError>;
    fn set_geo(&mut self, v4: &[Ipv4Net], v6: &[Ipv6Net]) -> Result<(), FwError>;
    fn name(&self) -> &'static str;
}

/// shim: `firewall::detect`.
pub fn detect(_c: &Config) -> Result<Box<dyn Firewall>, FwError> {
    Err("no firewall backend is built into this sipwall yet".into())
}

pub use crate::policy::{BanInfo, Counters, DoorInfo, Engine, Policy};

/// Packets judged for `reason` so far.
pub fn reason_count(c: &Counters, r: Reason) -> u64 {
    c.reason(r)
}
