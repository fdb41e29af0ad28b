//! Zero-copy SIP reader: what a firewall needs to know about a UDP payload or
//! the first segment of a TCP/TLS stream, without allocating and without
//! trusting a single length in the input.
//!
//! `classify` sorts a payload into SIP, keep-alive, STUN, TLS ClientHello or
//! not-SIP; `Message` then reads the start line and the headers the policy
//! uses. Every view borrows the packet, work is linear in its length, and no
//! input makes it panic (fuzzed: see `fuzz/`).
//!
//! Modules: `bytes` (slice helpers), `uri`, `name_addr` (From/To/Contact),
//! `header` (names, folding, lists), `method`, `message`, `tls` (SNI),
//! `classify` (what kind of payload).

mod bytes;
mod classify;
mod header;
mod message;
mod method;
mod name_addr;
mod tls;
mod uri;

pub use classify::{classify, is_keep_alive, is_stun, Payload};
pub use header::HeaderValues;
pub use message::{Credentials, Message, SipError};
pub use method::Method;
pub use name_addr::NameAddr;
pub use tls::{is_client_hello, tls_sni};
pub use uri::{Host, Uri};
