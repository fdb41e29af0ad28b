//! Configuration: one model ([`Config`]) and two front ends with the same
//! meaning and validation — UCI (`/etc/config/sipwall`, OpenWrt) and TOML
//! (`/etc/sipwall/sipwall.toml`, plain Linux PBX hosts).

mod model;

pub use model::*;
