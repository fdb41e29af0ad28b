//! Fuzz target: any bytes as a UDP payload or first TCP segment, through
//! `sip::classify` and every accessor (see `src/lib.rs` for the invariants).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    sipwall_fuzz::read_everything(data);
});
