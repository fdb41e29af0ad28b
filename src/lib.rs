//! sipwall: a per-IP SIP firewall for OpenWrt routers and Linux PBX hosts.
//!
//! The crate is split so that the decision about a packet is pure and the
//! world is touched only at the edges (see ARCHITECTURE.md):
//!
//! * [`packet`] and [`sip`] are zero-copy views over bytes (pure);
//! * [`policy`] turns a packet and a clock reading into a verdict and a list
//!   of effects (pure, no I/O, no clock of its own);
//! * [`config`] reads UCI or TOML into one validated model (pure parsers,
//!   file reading at the edge);
//! * [`firewall`], [`daemon`] and [`zones`] talk to the kernel, the network,
//!   files and syslog;
//! * [`cli`] is the command line.

pub mod cli;
pub mod config;
pub mod daemon;
pub mod firewall;
pub mod json;
pub mod packet;
pub mod pcap;
pub mod policy;
pub mod sip;
pub mod zones;
