//! Helpers shared by the policy tests: a demo configuration, packets built
//! from real message bytes, realistic messages with chosen fields, answers
//! from the PBX, and pcap replay with the capture's clock.
#![allow(dead_code)]

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use sipwall::config::{Config, Knock, KnockPlaces};
use sipwall::packet::{Direction, Packet, Transport};
use sipwall::policy::{Decision, Effect, Engine, Millis, Policy};

pub const PBX: &str = "198.51.100.1";
pub const PHONE: &str = "198.51.100.11";
pub const ATTACKER: &str = "203.0.113.66";

/// The testbed's PBX domain and phone knock, otherwise the defaults (2
/// failures in 1 h → 1 h; 12 in 24 h → until released; 20/s burst 40).
pub fn config() -> Config {
    Config {
        domains: vec!["pbx.example.test".into()],
        knocks: vec![Knock {
            name: "phones".into(),
            secret: "knock-7f3a".into(),
            places: KnockPlaces {
                display_name: true,
                user_agent: true,
                instance: true,
            },
            door_secs: 4000,
        }],
        ..Config::default()
    }
}

pub fn engine(c: &Config) -> Engine {
    Engine::new(Policy::from_config(c))
}

pub fn ip(s: &str) -> IpAddr {
    s.parse().expect("test address")
}

pub fn secs(s: u64) -> Millis {
    Millis::from_secs(s)
}

pub fn fixture(rel: &str) -> Vec<u8> {
    let p: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

pub fn packet<'a>(src: &str, payload: &'a [u8], transport: Transport) -> Packet<'a> {
    Packet {
        src: ip(src),
        dst: ip(PBX),
        src_port: 5062,
        dst_port: 5060,
        transport,
        direction: Direction::ToPbx,
        payload,
        flow_inspected: false,
    }
}

/// A request from `src` over UDP.
pub fn udp<'a>(src: &str, payload: &'a [u8]) -> Packet<'a> {
    packet(src, payload, Transport::Udp)
}

pub fn tcp<'a>(src: &str, payload: &'a [u8]) -> Packet<'a> {
    packet(src, payload, Transport::Tcp)
}

/// An answer from the PBX to `dst`.
pub fn from_pbx<'a>(dst: &str, payload: &'a [u8], transport: Transport) -> Packet<'a> {
    Packet {
        src: ip(PBX),
        dst: ip(dst),
        src_port: 5060,
        dst_port: 5062,
        transport,
        direction: Direction::FromPbx,
        payload,
        flow_inspected: false,
    }
}

/// Fields of a request; `Req::register(..)` gives a phone's REGISTER.
#[derive(Clone)]
pub struct Req {
    pub method: &'static str,
    pub ruri: String,
    pub to: String,
    pub display: String,
    pub ua: String,
    pub call_id: String,
    pub cseq: u32,
    pub auth_user: Option<String>,
    pub instance: Option<String>,
    pub body: String,
}

impl Req {
    pub fn register(user: &str) -> Req {
        Req {
            method: "REGISTER",
            ruri: "sip:pbx.example.test".into(),
            to: format!("<sip:{user}@pbx.example.test>"),
            display: "Office".into(),
            ua: "Yealink SIP-T46S 66.86.0.15".into(),
            call_id: format!("reg-{user}@192.168.1.42"),
            cseq: 1,
            auth_user: None,
            instance: None,
            body: String::new(),
        }
    }

    pub fn invite(target: &str) -> Req {
        Req {
            method: "INVITE",
            ruri: format!("sip:{target}"),
            to: format!("<sip:{target}>"),
            display: "Alice".into(),
            ua: "Zoiper rv2.10.20.2".into(),
            call_id: "inv-1@192.168.1.77".into(),
            cseq: 101,
            auth_user: None,
            instance: None,
            body: String::new(),
        }
    }

    pub fn options(target: &str) -> Req {
        Req {
            method: "OPTIONS",
            ..Req::invite(target)
        }
    }

    pub fn creds(mut self, user: &str) -> Req {
        self.auth_user = Some(user.into());
        self
    }

    pub fn cseq(mut self, n: u32) -> Req {
        self.cseq = n;
        self
    }

    pub fn call_id(mut self, c: &str) -> Req {
        self.call_id = c.into();
        self
    }

    pub fn ua(mut self, ua: &str) -> Req {
        self.ua = ua.into();
        self
    }

    pub fn display(mut self, d: &str) -> Req {
        self.display = d.into();
        self
    }

    pub fn ruri(mut self, r: &str) -> Req {
        self.ruri = r.into();
        self
    }

    pub fn to(mut self, t: &str) -> Req {
        self.to = t.into();
        self
    }

    pub fn method(mut self, m: &'static str) -> Req {
        self.method = m;
        self
    }

    pub fn instance(mut self, i: &str) -> Req {
        self.instance = Some(i.into());
        self
    }

    pub fn bytes(&self) -> Vec<u8> {
        let mut s = format!(
            "{m} {ruri} SIP/2.0\r\n\
             Via: SIP/2.0/UDP 192.168.1.42:5062;branch=z9hG4bK{cseq}x{cid_len};rport\r\n\
             From: \"{display}\" <sip:1001@pbx.example.test>;tag=2917371544\r\n\
             To: {to}\r\n\
             Call-ID: {cid}\r\n\
             CSeq: {cseq} {m}\r\n",
            m = self.method,
            ruri = self.ruri,
            display = self.display,
            to = self.to,
            cid = self.call_id,
            cid_len = self.call_id.len(),
            cseq = self.cseq,
        );
        match &self.instance {
            Some(i) => s.push_str(&format!(
                "Contact: <sip:1001@192.168.1.42:5062>;+sip.instance=\"<urn:uuid:{i}>\"\r\n"
            )),
            None => s.push_str("Contact: <sip:1001@192.168.1.42:5062>\r\n"),
        }
        if let Some(u) = &self.auth_user {
            s.push_str(&format!(
                "Authorization: Digest username=\"{u}\",realm=\"pbx.example.test\",\
                 nonce=\"awEqaGsBKizeTg7M\",uri=\"{}\",response=\"4461f689e11aefba31bb5a24ac0c702b\",algorithm=MD5\r\n",
                self.ruri
            ));
        }
        s.push_str(&format!(
            "Max-Forwards: 70\r\nUser-Agent: {}\r\nExpires: 300\r\n",
            self.ua
        ));
        if self.body.is_empty() {
            s.push_str("Content-Length: 0\r\n\r\n");
        } else {
            s.push_str(&format!(
                "Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{}",
                self.body.len(),
                self.body
            ));
        }
        s.into_bytes()
    }
}

/// The PBX's answer to `req` (same Call-ID and CSeq); `expires` adds an
/// Expires header (2xx to REGISTER).
pub fn answer(req: &Req, code: u16, reason: &str, expires: Option<u32>) -> Vec<u8> {
    let mut s = format!(
        "SIP/2.0 {code} {reason}\r\n\
         Via: SIP/2.0/UDP 192.168.1.42:5062;rport=5062;branch=z9hG4bK{cseq}x\r\n\
         From: \"{display}\" <sip:1001@pbx.example.test>;tag=2917371544\r\n\
         To: {to};tag=as5bf765cf\r\n\
         Call-ID: {cid}\r\n\
         CSeq: {cseq} {m}\r\n\
         Server: Asterisk PBX 20.5.0\r\n",
        display = req.display,
        to = req.to,
        cid = req.call_id,
        cseq = req.cseq,
        m = req.method,
    );
    if code == 401 {
        s.push_str("WWW-Authenticate: Digest realm=\"pbx.example.test\",nonce=\"1712345678/5f1a\",algorithm=md5,qop=\"auth\"\r\n");
    }
    if let Some(e) = expires {
        s.push_str(&format!("Expires: {e}\r\n"));
    }
    s.push_str("Content-Length: 0\r\n\r\n");
    s.into_bytes()
}

/// One authentication attempt that the PBX rejects: REGISTER → 401,
/// REGISTER with credentials → `code` (403 or 401). Returns the decision
/// on the final answer.
pub fn failed_attempt(e: &mut Engine, src: &str, n: u32, code: u16, now: Millis) -> Decision {
    let first = Req::register("1001")
        .ua("MicroSIP/3.21.3")
        .call_id(&format!("att-{n}"));
    e.decide(&udp(src, &first.bytes()), now);
    e.decide(
        &from_pbx(
            src,
            &answer(&first, 401, "Unauthorized", None),
            Transport::Udp,
        ),
        now,
    );
    let second = first.clone().cseq(2).creds("1001");
    e.decide(&udp(src, &second.bytes()), now);
    e.decide(
        &from_pbx(
            src,
            &answer(&second, code, "Forbidden", None),
            Transport::Udp,
        ),
        now,
    )
}

/// A successful registration: REGISTER → 401 → REGISTER with credentials
/// → 200 OK (Expires 300). Returns the decision on the 200.
pub fn registers(e: &mut Engine, src: &str, transport: Transport, now: Millis) -> Decision {
    let first = Req::register("1001").call_id(&format!("ok-{src}"));
    e.decide(&packet(src, &first.bytes(), transport), now);
    e.decide(
        &from_pbx(src, &answer(&first, 401, "Unauthorized", None), transport),
        now,
    );
    let second = first.clone().cseq(2).creds("1001");
    e.decide(&packet(src, &second.bytes(), transport), now);
    e.decide(
        &from_pbx(src, &answer(&second, 200, "OK", Some(300)), transport),
        now,
    )
}

pub fn bans_of(e: &Engine, who: &str, now: Millis) -> Vec<sipwall::policy::BanInfo> {
    e.bans(now).filter(|b| b.ip == ip(who)).collect()
}

pub fn has_door(e: &Engine, who: &str, now: Millis) -> bool {
    e.doors(now).any(|d| d.ip == ip(who))
}

pub fn has_ban_effect(d: &Decision) -> bool {
    d.effects.iter().any(|e| matches!(e, Effect::Ban { .. }))
}

/// Direction of a captured packet: towards a SIP port is a request to
/// judge, from one is the PBX answering (when both ports are SIP ports, a
/// status line tells).
pub fn direction(p: &Packet<'_>) -> Direction {
    let sip = |port: u16| port == 5060 || port == 5061;
    match (sip(p.src_port), sip(p.dst_port)) {
        (true, false) => Direction::FromPbx,
        (false, true) => Direction::ToPbx,
        _ if p.payload.starts_with(b"SIP/2.0 ") => Direction::FromPbx,
        _ => Direction::ToPbx,
    }
}

/// Runs a capture through `e` with the capture's own clock; returns (src or
/// dst, first line, decision) for every packet with a payload.
pub fn replay(e: &mut Engine, pcap: &str) -> Vec<(IpAddr, String, Decision)> {
    let cap = sipwall::pcap::Capture::new(fixture(&format!("pcap/{pcap}"))).expect("pcap");
    let mut out = Vec::new();
    for rec in cap.packets() {
        let rec = rec.expect("pcap record");
        let Ok(p) = Packet::parse(rec.ip, Direction::ToPbx) else {
            continue;
        };
        if p.payload.is_empty() {
            continue;
        }
        let p = Packet {
            direction: direction(&p),
            ..p
        };
        let now = Millis(u64::from(rec.ts_sec) * 1000 + u64::from(rec.ts_usec) / 1000);
        let d = e.decide(&p, now);
        let first = p.payload.split(|b| *b == b'\r').next().unwrap_or(b"");
        let who = if p.direction == Direction::ToPbx {
            p.src
        } else {
            p.dst
        };
        out.push((who, String::from_utf8_lossy(first).into_owned(), d));
    }
    out
}
