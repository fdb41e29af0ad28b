//! The SIP reader on real bytes: every packet of every recorded capture
//! (sipvicious scanning, enumerating and cracking; a phone registering over
//! UDP and TCP) and messages shaped like real phones and trunks, checked
//! for the facts the policy acts on.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};

use sipwall::packet::{Direction, Packet, Transport};
use sipwall::pcap::Capture;
use sipwall::sip::{classify, tls_sni, Host, Message, Method, Payload};

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel)
}

fn read(rel: &str) -> Vec<u8> {
    std::fs::read(fixture(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// One recorded packet with its payload copied out of the capture.
struct Rec {
    src: IpAddr,
    transport: Transport,
    payload: Vec<u8>,
}

fn capture(name: &str) -> Vec<Rec> {
    let cap = Capture::read(&fixture(&format!("pcap/{name}.pcap"))).unwrap();
    cap.packets()
        .map(|r| {
            let r = r.unwrap();
            let p = Packet::parse(r.ip, Direction::ToPbx).unwrap();
            Rec {
                src: p.src,
                transport: p.transport,
                payload: p.payload.to_vec(),
            }
        })
        .collect()
}

fn sip(payload: &[u8]) -> Option<Message<'_>> {
    match classify(payload) {
        Payload::Sip(m) => Some(m),
        _ => None,
    }
}

const ATTACKER: IpAddr = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 10));
const PBX_WAN: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 1);

fn requests(recs: &[Rec]) -> Vec<Message<'_>> {
    recs.iter()
        .filter_map(|r| sip(&r.payload))
        .filter(|m| m.is_request())
        .collect()
}

fn responses(recs: &[Rec]) -> Vec<Message<'_>> {
    recs.iter()
        .filter_map(|r| sip(&r.payload))
        .filter(|m| !m.is_request())
        .collect()
}

const CAPTURES: [&str; 7] = [
    "legit_udp",
    "legit_tcp",
    "nfq_lan",
    "svmap",
    "svwar",
    "svwar_domain",
    "svcrack",
];

#[test]
fn every_payload_of_every_capture_is_read() {
    for name in CAPTURES {
        let recs = capture(name);
        assert!(!recs.is_empty(), "{name}: no packets");
        for (i, r) in recs.iter().enumerate() {
            if r.payload.is_empty() {
                // TCP handshake and ACK segments.
                assert_eq!(r.transport, Transport::Tcp, "{name}#{i}");
                assert_eq!(classify(&r.payload), Payload::NotSip);
                continue;
            }
            let m = sip(&r.payload).unwrap_or_else(|| panic!("{name}#{i} is not SIP"));
            // Facts every request and response in these captures carries.
            assert!(m.call_id().is_some(), "{name}#{i} Call-ID");
            assert!(m.cseq().is_some(), "{name}#{i} CSeq");
            assert!(m.via_sent_by().is_some(), "{name}#{i} Via");
            assert!(
                m.from().and_then(|f| f.tag).is_some(),
                "{name}#{i} From tag"
            );
            assert!(m.to().and_then(|t| t.uri).is_some(), "{name}#{i} To URI");
            assert_eq!(
                m.content_length(),
                Some(m.body().len() as u32),
                "{name}#{i}"
            );
            if m.is_request() {
                assert!(m.request_uri().is_some(), "{name}#{i} Request-URI");
                assert_eq!(m.cseq().map(|c| c.1), m.method(), "{name}#{i}");
            } else {
                assert!(m.status().is_some());
                assert!(
                    m.header("Server").is_some(),
                    "{name}#{i}: the PBX names itself"
                );
            }
        }
    }
}

#[test]
fn svmap_options_is_a_friendly_scanner_aimed_at_an_ip() {
    let recs = capture("svmap");
    let reqs = requests(&recs);
    assert_eq!(reqs.len(), 1);
    let m = &reqs[0];
    assert_eq!(m.method(), Some(Method::Options));
    let uri = m.request_uri().unwrap();
    assert_eq!(uri.host, Host::V4(PBX_WAN));
    assert_eq!(uri.user, Some(&b"100"[..]));
    assert_eq!(m.user_agent(), Some(&b"friendly-scanner"[..]));
    let from = m.from().unwrap();
    assert_eq!(from.display_name, Some(&b"sipvicious"[..]));
    assert_eq!(from.uri.unwrap().host, Host::V4(Ipv4Addr::new(1, 1, 1, 1)));
    assert_eq!(m.via_sent_by(), Some(&b"127.0.0.1:5060"[..]));
    assert_eq!(m.authorization(), None);
    assert_eq!(responses(&recs)[0].status(), Some(404));
}

#[test]
fn svwar_enumerates_extensions_and_the_pbx_leaks_which_exist() {
    let recs = capture("svwar");
    let reqs = requests(&recs);
    assert_eq!(reqs.len(), 12);
    let mut users = BTreeSet::new();
    for m in &reqs {
        assert_eq!(m.method(), Some(Method::Register));
        assert_eq!(m.request_uri().unwrap().host, Host::V4(PBX_WAN));
        assert_eq!(m.user_agent(), Some(&b"friendly-scanner"[..]));
        let to = m.to().unwrap();
        // svwar puts the extension in the display name and the user part.
        let user = to.uri.unwrap().user.unwrap();
        assert_eq!(to.display_name, Some(user));
        users.insert(String::from_utf8(user.to_vec()).unwrap());
    }
    for ext in 1000..=1010 {
        assert!(users.contains(&ext.to_string()), "extension {ext} probed");
    }
    // 401 (exists) only for the accounts the PBX has; 404 for the rest.
    let mut existing = BTreeSet::new();
    for m in responses(&recs) {
        let user = m.to().unwrap().uri.unwrap().user.unwrap().to_vec();
        match m.status() {
            Some(401) => {
                assert!(m.header("WWW-Authenticate").is_some());
                existing.insert(String::from_utf8(user).unwrap());
            }
            Some(404) => {}
            other => panic!("unexpected answer {other:?}"),
        }
    }
    assert_eq!(
        existing,
        BTreeSet::from(["1001".to_string(), "1002".to_string()])
    );
    assert!(recs
        .iter()
        .filter(|r| sip(&r.payload).unwrap().is_request())
        .all(|r| r.src == ATTACKER));
}

#[test]
fn svwar_with_a_domain_passes_a_domain_gate_but_not_the_signature() {
    let recs = capture("svwar_domain");
    for m in requests(&recs) {
        let uri = m.request_uri().unwrap();
        assert!(uri.host.is_name(b"pbx.example.test"));
        assert!(m
            .to()
            .unwrap()
            .uri
            .unwrap()
            .host
            .is_name(b"PBX.EXAMPLE.TEST"));
        assert_eq!(m.user_agent(), Some(&b"friendly-scanner"[..]));
    }
}

#[test]
fn svcrack_failures_can_be_matched_to_the_credentials_that_caused_them() {
    let recs = capture("svcrack");
    let reqs = requests(&recs);
    let resps = responses(&recs);
    assert_eq!(reqs.len(), 22);
    let with_creds: Vec<_> = reqs
        .iter()
        .filter(|m| m.authorization().is_some())
        .collect();
    assert_eq!(with_creds.len(), 11);
    for m in &with_creds {
        assert_eq!(m.authorization().unwrap().username, Some(&b"1001"[..]));
        assert_eq!(m.cseq(), Some((2, Method::Register)));
    }
    // Each 403 answers a request with credentials (same Call-ID and CSeq).
    let forbidden: Vec<_> = resps.iter().filter(|m| m.status() == Some(403)).collect();
    assert_eq!(forbidden.len(), 10);
    for r in &forbidden {
        assert!(with_creds
            .iter()
            .any(|q| q.call_id() == r.call_id() && q.cseq() == r.cseq()));
    }
    // The last guess was right.
    let last = resps.last().unwrap();
    assert_eq!(last.status(), Some(200));
    assert_eq!(last.cseq(), Some((2, Method::Register)));
    assert!(with_creds.iter().any(|q| q.call_id() == last.call_id()));
}

#[test]
fn legit_phone_registers_with_a_knock_over_udp_and_tcp() {
    for (name, transport) in [("legit_udp", "UDP"), ("legit_tcp", "TCP")] {
        let recs = capture(name);
        let reqs = requests(&recs);
        assert_eq!(reqs.len(), 2, "{name}");
        for m in &reqs {
            assert_eq!(m.method(), Some(Method::Register));
            assert!(m.request_uri().unwrap().host.is_name(b"pbx.example.test"));
            assert_eq!(m.from().unwrap().display_name, Some(&b"knock-7f3a"[..]));
            assert_eq!(m.user_agent(), Some(&b"TestBed-Phone/1.0"[..]));
            assert_eq!(m.expires(), Some(300));
            let via = m.header("Via").unwrap();
            assert!(
                via.starts_with(format!("SIP/2.0/{transport} ").as_bytes()),
                "{name}"
            );
            assert!(m.via_sent_by().unwrap().starts_with(b"198.51.100.11:"));
        }
        assert_eq!(reqs[0].authorization(), None);
        assert_eq!(
            reqs[1].authorization().unwrap().username,
            Some(&b"1001"[..])
        );
        let statuses: Vec<_> = responses(&recs)
            .iter()
            .map(|m| m.status().unwrap())
            .collect();
        assert_eq!(statuses, vec![401, 200], "{name}");
        let ok = responses(&recs)[1];
        assert_eq!(ok.cseq(), Some((2, Method::Register)));
        assert_eq!(ok.call_id(), reqs[1].call_id());
    }
}

#[test]
fn yealink_register() {
    let b = read("sip/yealink_register.sip");
    let m = sip(&b).unwrap();
    assert_eq!(m.method(), Some(Method::Register));
    assert!(m.request_uri().unwrap().host.is_name(b"pbx.example.test"));
    assert_eq!(m.user_agent(), Some(&b"Yealink SIP-T46S 66.86.0.15"[..]));
    assert_eq!(m.from().unwrap().display_name, Some(&b"Reception"[..]));
    assert_eq!(
        m.contact_instance(),
        Some(&b"<urn:uuid:00000000-0000-1000-8000-805ec0a1b2c3>"[..])
    );
    assert_eq!(m.expires(), Some(3600));
    assert_eq!(m.headers("Allow").count(), 14);
    assert_eq!(m.header("allow"), Some(&b"INVITE"[..]));
    assert_eq!(m.via_sent_by(), Some(&b"192.168.1.42:5062"[..]));
}

#[test]
fn grandstream_register_with_credentials() {
    let b = read("sip/grandstream_register_auth.sip");
    let m = sip(&b).unwrap();
    assert_eq!(m.cseq(), Some((2003, Method::Register)));
    assert_eq!(m.authorization().unwrap().username, Some(&b"1002"[..]));
    assert_eq!(m.user_agent(), Some(&b"Grandstream GXP2170 1.0.11.3"[..]));
    assert_eq!(m.from().unwrap().display_name, None);
    assert_eq!(m.from().unwrap().tag, Some(&b"1392531178"[..]));
    assert_eq!(
        m.contact_instance(),
        Some(&b"<urn:uuid:00000000-0000-1000-8000-000b82a1b2c3>"[..])
    );
    // The Authorization header is one value despite its commas.
    assert_eq!(m.headers("Authorization").count(), 1);
    assert_eq!(m.header("X-GS-Cookie"), Some(&b"knock-7f3a"[..]));
}

#[test]
fn linphone_register_over_ipv6() {
    let b = read("sip/linphone_register_ipv6.sip");
    let m = sip(&b).unwrap();
    assert_eq!(m.via_sent_by(), Some(&b"[2001:db8:1::20]:41234"[..]));
    assert_eq!(
        m.contact_instance(),
        Some(&b"<urn:uuid:0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0>"[..])
    );
    // An addr-spec To without <>.
    let to = m.to().unwrap();
    assert_eq!(to.uri.unwrap().user, Some(&b"alice"[..]));
    assert!(to.uri.unwrap().host.is_name(b"pbx.example.test"));
    assert!(m
        .user_agent()
        .unwrap()
        .starts_with(b"Linphone-Desktop/5.2.6"));
    // Three Accept lines, one value each; Supported is a list.
    assert_eq!(m.headers("Accept").count(), 3);
    assert_eq!(m.headers("k").count(), 5);
    assert_eq!(m.expires(), Some(600));
}

#[test]
fn zoiper_register_with_uri_parameters() {
    let b = read("sip/zoiper_register.sip");
    let m = sip(&b).unwrap();
    let ruri = m.request_uri().unwrap();
    assert!(ruri.host.is_name(b"pbx.example.test"));
    assert_eq!(ruri.port, None);
    assert_eq!(m.user_agent(), Some(&b"Z 5.6.1 v2.10.20.2"[..]));
    assert_eq!(m.contact_instance(), None);
    assert_eq!(m.expires(), Some(60));
    let contact = m.header("Contact").unwrap();
    assert!(contact.starts_with(b"<sip:1003@192.168.1.77:52344;"));
}

#[test]
fn polycom_register_with_quoted_commas_in_contact() {
    let b = read("sip/polycom_register_auth.sip");
    let m = sip(&b).unwrap();
    let ruri = m.request_uri().unwrap();
    assert_eq!(ruri.port, Some(5060));
    // The methods="INVITE, ACK, ..." parameter must not split the Contact.
    assert_eq!(m.headers("Contact").count(), 1);
    assert_eq!(
        m.contact_instance(),
        Some(&b"<urn:uuid:00000000-0000-1000-8000-0004f2a1b2c3>"[..])
    );
    assert_eq!(
        m.from().unwrap().display_name,
        Some(&b"Conference Room"[..])
    );
    assert_eq!(m.authorization().unwrap().username, Some(&b"1004"[..]));
    assert_eq!(m.expires(), Some(120));
}

#[test]
fn asterisk_trunk_invite_with_sdp() {
    let b = read("sip/asterisk_invite_sdp.sip");
    assert!(b.len() > 1200);
    let m = sip(&b).unwrap();
    assert_eq!(m.method(), Some(Method::Invite));
    let ruri = m.request_uri().unwrap();
    assert_eq!(ruri.user, Some(&b"+4930123456"[..]));
    assert!(ruri.host.is_name(b"trunk.example.test"));
    assert_eq!(
        m.from().unwrap().uri.unwrap().host,
        Host::V4(Ipv4Addr::new(203, 0, 113, 5))
    );
    assert_eq!(m.cseq(), Some((31726, Method::Invite)));
    assert_eq!(m.user_agent(), Some(&b"Asterisk PBX 20.5.0"[..]));
    assert_eq!(m.header("Content-Type"), Some(&b"application/sdp"[..]));
    assert_eq!(m.header("c"), Some(&b"application/sdp"[..]));
    assert_eq!(m.content_length(), Some(m.body().len() as u32));
    assert!(m.body().starts_with(b"v=0\r\n"));
    // The SDP's "c=" line is body, not a compact Content-Type header.
    assert_eq!(m.headers("c").count(), 1);
}

#[test]
fn ipv6_invite_from_sipcli() {
    let b = read("sip/ipv6_invite.sip");
    let m = sip(&b).unwrap();
    let ruri = m.request_uri().unwrap();
    assert_eq!(ruri.host, Host::V6("2001:db8::10".parse().unwrap()));
    assert_eq!(ruri.port, Some(5060));
    assert!(ruri.host.is_ip());
    assert_eq!(
        m.to().unwrap().uri.unwrap().host,
        Host::V6("2001:db8::10".parse().unwrap())
    );
    assert_eq!(m.from().unwrap().display_name, Some(&b"Alice"[..]));
    assert_eq!(m.user_agent(), Some(&b"sipcli/v1.8"[..]));
    assert_eq!(m.call_id(), Some(&b"a84b4c76e66710@2001:db8:1::20"[..]));
}

#[test]
fn compact_and_folded_headers() {
    let b = read("sip/compact_folded.sip");
    let m = sip(&b).unwrap();
    assert_eq!(m.method(), Some(Method::Subscribe));
    let from = m.from().unwrap();
    assert_eq!(from.display_name, Some(&b"Trunk, Main Office"[..]));
    assert_eq!(from.tag, Some(&b"98asjd8"[..]));
    assert!(from.uri.unwrap().host.is_name(b"trunk.example.test"));
    assert_eq!(m.cseq(), Some((8, Method::Subscribe)));
    assert_eq!(m.via_sent_by(), Some(&b"198.51.100.23:5060"[..]));
    assert_eq!(m.headers("Via").count(), 2);
    assert_eq!(m.headers("Contact").count(), 2);
    assert_eq!(
        m.contact_instance(),
        Some(&b"<urn:uuid:folded-and-compact>"[..])
    );
    assert_eq!(m.header("Event"), Some(&b"presence"[..]));
    assert_eq!(m.expires(), Some(1800));
    let ua = m.user_agent().unwrap();
    assert!(ua.starts_with(b"Cisco-SIPGateway/IOS-15.x"));
    assert!(ua.ends_with(b"(lab build)"));
    assert_eq!(m.content_length(), Some(0));
}

#[test]
fn asterisk_challenge() {
    let b = read("sip/asterisk_401.sip");
    let m = sip(&b).unwrap();
    assert_eq!(m.status(), Some(401));
    assert_eq!(m.cseq(), Some((1, Method::Register)));
    assert_eq!(m.to().unwrap().tag, Some(&b"z9hG4bK1962370419"[..]));
    assert_eq!(m.headers("WWW-Authenticate").count(), 1);
    assert_eq!(m.header("server"), Some(&b"FPBX-16.0.40(20.5.0)"[..]));
}

#[test]
fn tls_client_hello_names_the_domain() {
    let b = read("tls/client_hello_openssl.bin");
    assert_eq!(
        classify(&b),
        Payload::TlsClientHello {
            sni: Some(b"pbx.example.test")
        }
    );
    let b = read("tls/client_hello_no_sni.bin");
    assert_eq!(classify(&b), Payload::TlsClientHello { sni: None });
    assert_eq!(tls_sni(&b), None);
}

/// Every fixture file plus the first request and answer of each capture
/// (the rest of a capture differs only in numbers).
fn sample_payloads() -> Vec<Vec<u8>> {
    let mut v: Vec<Vec<u8>> = Vec::new();
    for name in CAPTURES {
        v.extend(
            capture(name)
                .into_iter()
                .map(|r| r.payload)
                .filter(|p| !p.is_empty())
                .take(2),
        );
    }
    for dir in ["sip", "tls"] {
        for e in std::fs::read_dir(fixture(dir)).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "sip" || x == "bin") {
                v.push(std::fs::read(p).unwrap());
            }
        }
    }
    v
}

/// Calls every accessor; the result only has to exist.
fn read_everything(payload: &[u8]) -> usize {
    match classify(payload) {
        Payload::Sip(m) => {
            let mut n = 0;
            n += m.method().is_some() as usize + m.request_uri().is_some() as usize;
            n += m.status().is_some() as usize + m.from().is_some() as usize;
            n += m.to().is_some() as usize + m.user_agent().is_some() as usize;
            n += m.contact_instance().is_some() as usize + m.call_id().is_some() as usize;
            n += m.cseq().is_some() as usize + m.via_sent_by().is_some() as usize;
            n += m.expires().is_some() as usize + m.content_length().is_some() as usize;
            n += m.authorization().is_some() as usize;
            n += m.headers("Contact").count() + m.headers("v").count();
            n
        }
        Payload::TlsClientHello { sni } => sni.map_or(0, |s| s.len()),
        _ => 0,
    }
}

#[test]
fn truncated_and_corrupted_fixtures_never_panic() {
    let payloads = sample_payloads();
    assert!(payloads.len() > 20);
    for p in &payloads {
        for n in (0..p.len()).step_by(7) {
            read_everything(&p[..n]);
        }
        // Flip bytes that steer the parser: separators and quotes.
        let mut c = p.clone();
        for i in 0..c.len() {
            let old = c[i];
            for new in [b'"', b'<', b',', b'\n'] {
                c[i] = new;
                read_everything(&c);
            }
            c[i] = old;
        }
    }
}

#[test]
fn a_full_truncation_of_a_register_reads_only_whole_fields() {
    // A first TCP segment cut anywhere gives a message or NotSip, and the
    // Call-ID, once present, is never a half-read value followed by junk.
    let b = read("sip/yealink_register.sip");
    let full = sip(&b).unwrap().call_id().unwrap();
    for n in 0..b.len() {
        if let Some(m) = sip(&b[..n]) {
            if let Some(id) = m.call_id() {
                assert!(full.starts_with(id), "cut at {n}");
            }
        }
    }
}
