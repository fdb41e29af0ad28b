//! Fuzz target: any bytes as a capture file given to `sipwall replay`,
//! through the pcap reader and, for each packet, the packet layer and the
//! SIP reader. A broken file must be an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sipwall::packet::{Direction, Packet};
use sipwall::pcap::Reader;

fuzz_target!(|data: &[u8]| {
    let Ok(reader) = Reader::new(data) else {
        return;
    };
    for record in reader.take(64) {
        let Ok(record) = record else { break };
        if let Ok(p) = Packet::parse(record.ip, Direction::ToPbx) {
            sipwall_fuzz::read_everything(p.payload);
        }
    }
});
