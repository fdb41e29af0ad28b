//! SIP requests the generator sends: what a phone, a probe or an attacker
//! would put on the wire (the filter must parse them like real traffic).

/// A REGISTER without credentials to `ruri_host` (the secret domain for
/// legit traffic, an IP literal for the usual attack).
pub fn register(ruri_host: &str, src: &str, sport: u16, seq: u64, ua: &str) -> Vec<u8> {
    format!(
        "REGISTER sip:{ruri_host} SIP/2.0\r\n\
         Via: SIP/2.0/UDP {src}:{sport};branch=z9hG4bK-gen{seq};rport\r\n\
         Max-Forwards: 70\r\n\
         From: \"Bench\" <sip:1001@{ruri_host}>;tag=gen{seq}\r\n\
         To: <sip:1001@{ruri_host}>\r\n\
         Call-ID: gen-{seq}@{src}\r\n\
         CSeq: {cseq} REGISTER\r\n\
         Contact: <sip:1001@{src}:{sport}>\r\n\
         Expires: 300\r\n\
         User-Agent: {ua}\r\n\
         Content-Length: 0\r\n\r\n",
        cseq = seq % 1_000_000 + 1
    )
    .into_bytes()
}

/// A REGISTER as a spoofer would forge it from `src`: with `auth`, it
/// carries a digest answer to a nonce the PBX never gave (the PBX answers
/// 401 to the forged address: a "failed login" of someone else).
pub fn forged_register(ruri_host: &str, src: &str, ua: &str, auth: bool) -> Vec<u8> {
    let authz = if auth {
        format!(
            "Authorization: Digest username=\"1001\",realm=\"{ruri_host}\",nonce=\"forged\",uri=\"sip:{ruri_host}\",\
             response=\"00000000000000000000000000000000\",algorithm=MD5,cnonce=\"0a4f113b\",nc=00000001,qop=auth\r\n"
        )
    } else {
        String::new()
    };
    format!(
        "REGISTER sip:{ruri_host} SIP/2.0\r\n\
         Via: SIP/2.0/UDP {src}:5062;branch=z9hG4bK-forged;rport\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:1001@{ruri_host}>;tag=forged\r\n\
         To: <sip:1001@{ruri_host}>\r\n\
         Call-ID: forged@{src}\r\n\
         CSeq: 1 REGISTER\r\n\
         Contact: <sip:1001@{src}:5062>\r\n\
         {authz}User-Agent: {ua}\r\n\
         Content-Length: 0\r\n\r\n"
    )
    .into_bytes()
}

/// An OPTIONS probe whose CSeq number identifies it in the answer.
pub fn options(domain: &str, src: &str, sport: u16, seq: u64) -> Vec<u8> {
    format!(
        "OPTIONS sip:{domain} SIP/2.0\r\n\
         Via: SIP/2.0/UDP {src}:{sport};branch=z9hG4bK-probe{seq};rport\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:probe@{domain}>;tag=probe\r\n\
         To: <sip:{domain}>\r\n\
         Call-ID: probe@{src}\r\n\
         CSeq: {seq} OPTIONS\r\n\
         User-Agent: Bench-Probe/1.0\r\n\
         Content-Length: 0\r\n\r\n"
    )
    .into_bytes()
}

/// One REGISTER of a password guesser's dialog `call_id`: without `nonce`
/// the opening request (the PBX challenges it with 401), with `nonce` a
/// digest answer with a wrong response (the PBX answers 403: one failed
/// authentication).
pub fn guess(
    domain: &str,
    src: &str,
    sport: u16,
    call_id: &str,
    cseq: u64,
    nonce: Option<&str>,
) -> Vec<u8> {
    let authz = match nonce {
        Some(n) => format!(
            "Authorization: Digest username=\"1001\",realm=\"{domain}\",nonce=\"{n}\",uri=\"sip:{domain}\",\
             response=\"00000000000000000000000000000000\",algorithm=MD5,cnonce=\"0a4f113b\",nc=00000001,qop=auth\r\n"
        ),
        None => String::new(),
    };
    format!(
        "REGISTER sip:{domain} SIP/2.0\r\n\
         Via: SIP/2.0/UDP {src}:{sport};branch=z9hG4bK-{call_id}-{cseq};rport\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:1001@{domain}>;tag=guess\r\n\
         To: <sip:1001@{domain}>\r\n\
         Call-ID: {call_id}\r\n\
         CSeq: {cseq} REGISTER\r\n\
         Contact: <sip:1001@{src}:{sport}>\r\n\
         {authz}User-Agent: Bench-Guesser/1.0\r\n\
         Content-Length: 0\r\n\r\n"
    )
    .into_bytes()
}

/// Status code of a SIP response, if `buf` is one.
pub fn status(buf: &[u8]) -> Option<u16> {
    let s = buf.strip_prefix(b"SIP/2.0 ")?;
    std::str::from_utf8(s.get(..3)?).ok()?.parse().ok()
}

/// The CSeq number of a message.
pub fn cseq(buf: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(buf).ok()?;
    let line = text
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("cseq:"))?;
    line[5..].split_whitespace().next()?.parse().ok()
}

/// The nonce of a digest challenge.
pub fn nonce(buf: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(buf).ok()?;
    let at = text.find("nonce=\"")? + 7;
    let end = text[at..].find('"')?;
    Some(text[at..at + end].to_string())
}
