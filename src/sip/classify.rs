//! First look at a payload: is it SIP, a NAT keep-alive, STUN, a TLS
//! ClientHello, or something else?
//!
//! Keep-alives and STUN share the SIP port with real requests (RFC 5626
//! CRLF pings, ICE/STUN binding requests), so the policy must be able to
//! tell them apart from garbage without parsing them as SIP.

use super::message::Message;
use super::tls::{is_client_hello, tls_sni};

/// What a payload is.
// `Sip` is much larger than the other variants; boxing it would allocate on
// every packet, which is exactly what the reader must not do.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Payload<'a> {
    /// A SIP request or response.
    Sip(Message<'a>),
    /// A NAT keep-alive: CRLFs (RFC 5626), or the short runs of NULs or
    /// spaces some phones send instead.
    KeepAlive,
    /// A STUN message (RFC 5389 magic cookie).
    Stun,
    /// The start of a TLS handshake; `sni` is the server name asked for.
    TlsClientHello { sni: Option<&'a [u8]> },
    /// Anything else, including an empty payload.
    NotSip,
}

/// Longest payload still taken for a keep-alive.
const KEEP_ALIVE_MAX: usize = 16;
const STUN_MAGIC: [u8; 4] = [0x21, 0x12, 0xa4, 0x42];

/// Sorts a payload. Never panics; work is linear in the payload length.
pub fn classify(payload: &[u8]) -> Payload<'_> {
    if is_keep_alive(payload) {
        return Payload::KeepAlive;
    }
    if is_stun(payload) {
        return Payload::Stun;
    }
    if is_client_hello(payload) {
        return Payload::TlsClientHello {
            sni: tls_sni(payload),
        };
    }
    match Message::parse(payload) {
        Ok(m) => Payload::Sip(m),
        Err(_) => Payload::NotSip,
    }
}

/// A short, non-empty run of CR, LF, NUL, space or tab.
pub fn is_keep_alive(payload: &[u8]) -> bool {
    !payload.is_empty()
        && payload.len() <= KEEP_ALIVE_MAX
        && payload
            .iter()
            .all(|b| matches!(b, b'\r' | b'\n' | 0 | b' ' | b'\t'))
}

/// A STUN header: two zero top bits, a length that is a multiple of 4 and
/// fits the payload, and the magic cookie.
pub fn is_stun(payload: &[u8]) -> bool {
    match payload {
        [t0, _, l0, l1, c0, c1, c2, c3, ..] if payload.len() >= 20 => {
            let len = usize::from(u16::from_be_bytes([*l0, *l1]));
            t0 & 0xc0 == 0
                && len % 4 == 0
                && 20 + len <= payload.len()
                && [*c0, *c1, *c2, *c3] == STUN_MAGIC
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keep_alives() {
        assert_eq!(classify(b"\r\n\r\n"), Payload::KeepAlive);
        assert_eq!(classify(b"\r\n"), Payload::KeepAlive);
        assert_eq!(classify(&[0, 0, 0, 0]), Payload::KeepAlive);
        assert_eq!(classify(b""), Payload::NotSip);
        assert_eq!(classify(&[b'\n'; 17]), Payload::NotSip);
    }

    #[test]
    fn stun_binding_request() {
        let mut stun = vec![0x00, 0x01, 0x00, 0x08, 0x21, 0x12, 0xa4, 0x42];
        stun.extend_from_slice(&[9; 12]); // transaction id
        stun.extend_from_slice(&[0x80, 0x22, 0x00, 0x04, b't', b'e', b's', b't']);
        assert_eq!(classify(&stun), Payload::Stun);
        stun.truncate(24); // declared length exceeds the payload
        assert_eq!(classify(&stun), Payload::NotSip);
    }

    #[test]
    fn sip_and_garbage() {
        assert!(matches!(
            classify(b"OPTIONS sip:h SIP/2.0\r\n\r\n"),
            Payload::Sip(_)
        ));
        assert_eq!(classify(b"\xde\xad\xbe\xef random"), Payload::NotSip);
        assert_eq!(
            classify(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
            Payload::NotSip
        );
    }
}
