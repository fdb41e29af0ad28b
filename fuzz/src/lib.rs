//! What every fuzz target does with a payload: classify it, call every
//! accessor, and check the invariants a zero-copy reader promises (every
//! returned slice lies inside the input; `header` is the first of
//! `headers`; hosts and numbers are well-formed). A broken invariant panics,
//! which libFuzzer reports as a crash, just like a panic in the reader.

use sipwall::sip::{classify, Host, Message, NameAddr, Payload, Uri};

fn inside(input: &[u8], s: &[u8]) {
    let start = input.as_ptr() as usize;
    let end = start + input.len();
    let p = s.as_ptr() as usize;
    assert!(
        s.is_empty() || (p >= start && p + s.len() <= end),
        "a returned slice points outside the input"
    );
}

fn check_uri(input: &[u8], u: &Uri<'_>) {
    inside(input, u.scheme);
    assert!(!u.scheme.is_empty());
    if let Some(user) = u.user {
        inside(input, user);
    }
    if let Host::Name(n) = u.host {
        inside(input, n);
    }
}

fn check_name_addr(input: &[u8], n: &NameAddr<'_>) {
    if let Some(d) = n.display_name {
        inside(input, d);
    }
    if let Some(u) = &n.uri {
        check_uri(input, u);
    }
    if let Some(t) = n.tag {
        inside(input, t);
        assert!(!t.is_empty());
    }
}

const NAMES: [&str; 16] = [
    "Via",
    "v",
    "From",
    "f",
    "TO",
    "t",
    "call-id",
    "i",
    "CSeq",
    "Contact",
    "m",
    "User-Agent",
    "Content-Length",
    "l",
    "Authorization",
    "X-Unknown",
];

fn check_message(input: &[u8], m: &Message<'_>) {
    assert_ne!(m.is_request(), m.status().is_some());
    assert_eq!(m.is_request(), m.method().is_some());
    if let Some(b) = m.method_bytes() {
        inside(input, b);
    }
    if let Some(u) = m.request_uri() {
        check_uri(input, &u);
    }
    if let Some(code) = m.status() {
        assert!((100..=699).contains(&code));
    }
    for name in NAMES {
        let first = m.header(name);
        assert_eq!(
            first,
            m.headers(name).next(),
            "header({name}) is not the first of headers()"
        );
        for v in m.headers(name) {
            inside(input, v);
            assert!(!v.is_empty());
        }
    }
    if let Some(f) = m.from() {
        check_name_addr(input, &f);
    }
    if let Some(t) = m.to() {
        check_name_addr(input, &t);
    }
    for s in [
        m.user_agent(),
        m.contact_instance(),
        m.call_id(),
        m.via_sent_by(),
    ]
    .into_iter()
    .flatten()
    {
        inside(input, s);
    }
    let _ = (m.cseq(), m.expires(), m.content_length());
    if let Some(c) = m.authorization() {
        if let Some(u) = c.username {
            inside(input, u);
        }
    }
    inside(input, m.body());
    inside(input, m.header_block());
}

/// Classifies `payload` and reads everything there is to read.
pub fn read_everything(payload: &[u8]) {
    match classify(payload) {
        Payload::Sip(m) => check_message(payload, &m),
        Payload::TlsClientHello { sni } => {
            if let Some(s) = sni {
                inside(payload, s);
                assert!(!s.is_empty());
            }
        }
        Payload::KeepAlive | Payload::Stun | Payload::NotSip => {}
    }
}
