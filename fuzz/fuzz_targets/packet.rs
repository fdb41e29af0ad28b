//! Fuzz target: any bytes as an IP packet from NFQUEUE, through
//! `packet::Packet::parse` (etherparse) in both directions, then the SIP
//! reader on whatever payload it yields.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sipwall::packet::{Direction, Packet};

fuzz_target!(|data: &[u8]| {
    for direction in [Direction::ToPbx, Direction::FromPbx] {
        if let Ok(p) = Packet::parse(data, direction) {
            assert_eq!(p.direction, direction);
            sipwall_fuzz::read_everything(p.payload);
        }
    }
});
