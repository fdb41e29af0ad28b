//! The SNI host name from a TLS ClientHello, for SIP over TLS (port 5061):
//! the only cleartext fact a firewall can read before the handshake, and
//! enough for the domain gate (a scanner connecting to an IP sends no SNI or
//! the IP, a phone provisioned with the PBX's domain sends that name).
//!
//! Only the first record of the first segment is read; every length is
//! checked against both the declared and the available bytes, so a
//! truncated or lying ClientHello gives `None`, never a panic.

/// TLS record type "handshake".
const HANDSHAKE: u8 = 22;
/// Handshake type "client_hello".
const CLIENT_HELLO: u8 = 1;
/// Extension "server_name" (RFC 6066).
const SERVER_NAME: u16 = 0;

/// True if `payload` starts like a TLS record carrying a ClientHello.
pub fn is_client_hello(payload: &[u8]) -> bool {
    matches!(payload, [HANDSHAKE, 3, 0..=4, _, _, CLIENT_HELLO, ..])
}

/// A bounds-checked cursor over a byte slice.
struct Cursor<'a> {
    b: &'a [u8],
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.b.len() {
            return None;
        }
        let (head, tail) = self.b.split_at(n);
        self.b = tail;
        Some(head)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }
    fn u16(&mut self) -> Option<u16> {
        self.take(2).map(|b| u16::from_be_bytes([b[0], b[1]]))
    }
    fn u24(&mut self) -> Option<usize> {
        self.take(3)
            .map(|b| usize::from(b[0]) << 16 | usize::from(b[1]) << 8 | usize::from(b[2]))
    }
    /// A vector with a 1- or 2-byte length prefix.
    fn vec8(&mut self) -> Option<&'a [u8]> {
        let n = self.u8()?;
        self.take(usize::from(n))
    }
    fn vec16(&mut self) -> Option<&'a [u8]> {
        let n = self.u16()?;
        self.take(usize::from(n))
    }
}

/// The `host_name` of the server_name extension, as sent.
pub fn tls_sni(payload: &[u8]) -> Option<&[u8]> {
    if !is_client_hello(payload) {
        return None;
    }
    let mut rec = Cursor {
        b: payload.get(3..)?,
    };
    let record_len = usize::from(rec.u16()?);
    // A ClientHello larger than the segment (or than one record) is read
    // as far as we have it.
    let record = &rec.b[..record_len.min(rec.b.len())];
    let mut hs = Cursor { b: record };
    if hs.u8()? != CLIENT_HELLO {
        return None;
    }
    let hs_len = hs.u24()?;
    let mut hello = Cursor {
        b: &hs.b[..hs_len.min(hs.b.len())],
    };
    hello.take(2 + 32)?; // legacy_version, random
    hello.vec8()?; // session id
    hello.vec16()?; // cipher suites
    hello.vec8()?; // compression methods
    let mut exts = Cursor { b: hello.vec16()? };
    while !exts.b.is_empty() {
        let ty = exts.u16()?;
        let data = exts.vec16()?;
        if ty != SERVER_NAME {
            continue;
        }
        let mut list = Cursor {
            b: Cursor { b: data }.vec16()?,
        };
        while !list.b.is_empty() {
            let name_type = list.u8()?;
            let name = list.vec16()?;
            if name_type == 0 && !name.is_empty() {
                return Some(name);
            }
        }
        return None;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds a ClientHello with the given extensions block.
    pub(crate) fn client_hello(sni: Option<&[u8]>) -> Vec<u8> {
        let mut exts = Vec::new();
        // A GREASE-like unknown extension first.
        exts.extend_from_slice(&[0x0a, 0x0a, 0, 1, 0]);
        if let Some(name) = sni {
            let entry_len = 3 + name.len();
            exts.extend_from_slice(&0u16.to_be_bytes());
            exts.extend_from_slice(&((entry_len + 2) as u16).to_be_bytes());
            exts.extend_from_slice(&(entry_len as u16).to_be_bytes());
            exts.push(0);
            exts.extend_from_slice(&(name.len() as u16).to_be_bytes());
            exts.extend_from_slice(name);
        }
        let mut body = vec![3, 3];
        body.extend_from_slice(&[7; 32]);
        body.extend_from_slice(&[0]); // session id
        body.extend_from_slice(&[0, 2, 0x13, 0x01]); // one cipher suite
        body.extend_from_slice(&[1, 0]); // null compression
        body.extend_from_slice(&(exts.len() as u16).to_be_bytes());
        body.extend_from_slice(&exts);
        let mut hs = vec![CLIENT_HELLO, 0, 0, 0];
        hs[1..4].copy_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
        hs.extend_from_slice(&body);
        let mut rec = vec![HANDSHAKE, 3, 1];
        rec.extend_from_slice(&(hs.len() as u16).to_be_bytes());
        rec.extend_from_slice(&hs);
        rec
    }

    #[test]
    fn finds_sni() {
        let ch = client_hello(Some(b"pbx.example.test"));
        assert!(is_client_hello(&ch));
        assert_eq!(tls_sni(&ch), Some(&b"pbx.example.test"[..]));
        assert_eq!(tls_sni(&client_hello(None)), None);
    }

    #[test]
    fn every_truncation_is_none_or_the_name() {
        let ch = client_hello(Some(b"pbx.example.test"));
        for n in 0..ch.len() {
            assert_eq!(tls_sni(&ch[..n]), None, "prefix {n}");
        }
        // Corrupt each byte in turn: never a panic.
        for i in 0..ch.len() {
            let mut c = ch.clone();
            c[i] ^= 0xff;
            let _ = tls_sni(&c);
        }
    }
}
