//! Test helpers for the zones tests: a real HTTP/HTTPS server on loopback
//! that serves fixture zones and the faults a zone mirror can produce, and
//! a throw-away CA made with the `openssl` CLI.
//!
//! Every connection is handled in its own thread with hard bounds (a slow
//! or endless reply stops after a few seconds or when the client goes), so
//! a broken client can never hang the test run.

#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use ipnet::{Ipv4Net, Ipv6Net};
use sipwall::zones::GeoSets;

/// The fixture zones (`tests/fixtures/zones`).
pub const FIX: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/zones");

/// A fixture zone's text.
pub fn fixture(name: &str) -> String {
    std::fs::read_to_string(Path::new(FIX).join(name)).expect("fixture")
}

/// Remembers what the kernel would have been given.
#[derive(Default)]
pub struct Recorder {
    pub loads: Vec<(Vec<Ipv4Net>, Vec<Ipv6Net>)>,
}

impl GeoSets for Recorder {
    fn set_geo(&mut self, v4: &[Ipv4Net], v6: &[Ipv6Net]) -> Result<(), String> {
        self.loads.push((v4.to_vec(), v6.to_vec()));
        Ok(())
    }
}

/// What the server answers for a path.
#[derive(Clone, Debug)]
pub enum Reply {
    /// 200 with this body; `304` when the request's If-None-Match equals `etag`.
    Zone {
        body: String,
        etag: Option<String>,
        last_modified: Option<String>,
    },
    Status(u16),
    /// 200 with a Content-Length larger than what is sent before closing.
    Truncated {
        body: String,
        declared: usize,
    },
    /// 200, `text/html`, an error page.
    Html,
    /// Headers, then one byte per second (a stalled mirror).
    Slow,
    /// 200 without a length, zone lines forever (until the client hangs up
    /// or 64 MiB were sent).
    Endless,
}

pub struct Server {
    pub addr: SocketAddr,
    pub routes: Arc<Mutex<HashMap<String, Reply>>>,
    /// Requests received, per path.
    pub hits: Arc<Mutex<HashMap<String, usize>>>,
    /// The last If-None-Match seen per path (If-Modified-Since under
    /// "PATH since").
    pub conditionals: Arc<Mutex<HashMap<String, String>>>,
    stop: Arc<AtomicBool>,
    accepted: Arc<AtomicUsize>,
}

impl Server {
    /// Plain HTTP on 127.0.0.1, a free port.
    pub fn http() -> Server {
        Server::start(None)
    }

    /// HTTPS with the given certificate chain and key (PEM files).
    pub fn https(cert_pem: &Path, key_pem: &Path) -> Server {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert_pem)
            .expect("read cert")
            .map(|c| c.expect("cert pem"))
            .collect();
        let key = PrivateKeyDer::from_pem_file(key_pem).expect("key pem");
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("tls versions")
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .expect("server cert");
        Server::start(Some(Arc::new(config)))
    }

    fn start(tls: Option<Arc<rustls::ServerConfig>>) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().expect("addr");
        let routes: Arc<Mutex<HashMap<String, Reply>>> = Arc::default();
        let hits: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
        let conditionals: Arc<Mutex<HashMap<String, String>>> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let accepted = Arc::new(AtomicUsize::new(0));
        {
            let (routes, hits, conditionals, stop, accepted) = (
                routes.clone(),
                hits.clone(),
                conditionals.clone(),
                stop.clone(),
                accepted.clone(),
            );
            thread::spawn(move || {
                // Bounded life: a forgotten server stops by itself.
                let deadline = Instant::now() + Duration::from_secs(300);
                while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
                    match listener.accept() {
                        Ok((sock, _)) => {
                            accepted.fetch_add(1, Ordering::Relaxed);
                            let (routes, hits, conditionals, tls, stop) = (
                                routes.clone(),
                                hits.clone(),
                                conditionals.clone(),
                                tls.clone(),
                                stop.clone(),
                            );
                            thread::spawn(move || {
                                let _ = sock.set_nonblocking(false);
                                let _ = sock.set_read_timeout(Some(Duration::from_secs(5)));
                                let _ = sock.set_write_timeout(Some(Duration::from_secs(5)));
                                match tls {
                                    None => serve(sock, &routes, &hits, &conditionals, &stop),
                                    Some(cfg) => {
                                        let conn = match rustls::ServerConnection::new(cfg) {
                                            Ok(c) => c,
                                            Err(_) => return,
                                        };
                                        let stream = rustls::StreamOwned::new(conn, sock);
                                        serve(stream, &routes, &hits, &conditionals, &stop)
                                    }
                                }
                            });
                        }
                        Err(_) => thread::sleep(Duration::from_millis(5)),
                    }
                }
            });
        }
        Server {
            addr,
            routes,
            hits,
            conditionals,
            stop,
            accepted,
        }
    }

    pub fn url(&self, scheme: &str, path: &str) -> String {
        let host = if scheme == "https" {
            "localhost".to_string()
        } else {
            "127.0.0.1".to_string()
        };
        format!("{scheme}://{host}:{}{path}", self.addr.port())
    }

    pub fn route(&self, path: &str, reply: Reply) {
        self.routes.lock().unwrap().insert(path.to_string(), reply);
    }

    pub fn hits(&self, path: &str) -> usize {
        self.hits.lock().unwrap().get(path).copied().unwrap_or(0)
    }

    pub fn reset_hits(&self) {
        self.hits.lock().unwrap().clear();
    }

    pub fn conditional(&self, path: &str) -> Option<String> {
        self.conditionals.lock().unwrap().get(path).cloned()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

pub fn zone_reply(body: &str, etag: Option<&str>) -> Reply {
    Reply::Zone {
        body: body.to_string(),
        etag: etag.map(str::to_string),
        last_modified: Some("Mon, 02 Jan 2023 03:04:05 GMT".to_string()),
    }
}

fn serve<S: Read + Write>(
    stream: S,
    routes: &Mutex<HashMap<String, Reply>>,
    hits: &Mutex<HashMap<String, usize>>,
    conditionals: &Mutex<HashMap<String, String>>,
    stop: &AtomicBool,
) {
    let mut reader = BufReader::new(stream);
    // One request per connection (we answer with Connection: close).
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    let path = request_line
        .split_whitespace()
        .nth(1)
        .unwrap_or("/")
        .to_string();
    let mut if_none_match = None;
    let mut if_modified_since = None;
    for _ in 0..100 {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            if k.trim().eq_ignore_ascii_case("if-none-match") {
                if_none_match = Some(v.trim().to_string());
            }
            if k.trim().eq_ignore_ascii_case("if-modified-since") {
                if_modified_since = Some(v.trim().to_string());
            }
        }
    }
    *hits.lock().unwrap().entry(path.clone()).or_default() += 1;
    if let Some(e) = &if_none_match {
        conditionals.lock().unwrap().insert(path.clone(), e.clone());
    }
    if let Some(lm) = &if_modified_since {
        conditionals
            .lock()
            .unwrap()
            .insert(format!("{path} since"), lm.clone());
    }
    let reply = routes
        .lock()
        .unwrap()
        .get(&path)
        .cloned()
        .unwrap_or(Reply::Status(404));
    let mut out = reader.into_inner();
    let _ = answer(&mut out, reply, if_none_match.as_deref(), stop);
    let _ = out.flush();
}

fn answer<S: Write>(
    out: &mut S,
    reply: Reply,
    inm: Option<&str>,
    stop: &AtomicBool,
) -> std::io::Result<()> {
    match reply {
        Reply::Zone {
            body,
            etag,
            last_modified,
        } => {
            if etag.is_some() && etag.as_deref() == inm {
                return write!(
                    out,
                    "HTTP/1.1 304 Not Modified\r\nConnection: close\r\n\r\n"
                );
            }
            let mut h = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n",
                body.len()
            );
            if let Some(e) = etag {
                h.push_str(&format!("ETag: {e}\r\n"));
            }
            if let Some(lm) = last_modified {
                h.push_str(&format!("Last-Modified: {lm}\r\n"));
            }
            h.push_str("\r\n");
            out.write_all(h.as_bytes())?;
            out.write_all(body.as_bytes())
        }
        Reply::Status(code) => {
            let body = format!("error {code}\n");
            write!(
                out,
                "HTTP/1.1 {code} Oops\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
        }
        Reply::Truncated { body, declared } => {
            write!(
                out,
                "HTTP/1.1 200 OK\r\nContent-Length: {declared}\r\nConnection: close\r\n\r\n"
            )?;
            out.write_all(body.as_bytes())
        }
        Reply::Html => {
            let body = "<!DOCTYPE html>\n<html><head><title>Down for maintenance</title></head>\n<body><p>We'll be back.</p></body></html>\n";
            write!(
                out,
                "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
        }
        Reply::Slow => {
            write!(
                out,
                "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\nConnection: close\r\n\r\n"
            )?;
            out.flush()?;
            for _ in 0..20 {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                out.write_all(b"1")?;
                out.flush()?;
                thread::sleep(Duration::from_secs(1));
            }
            Ok(())
        }
        Reply::Endless => {
            write!(
                out,
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n"
            )?;
            let chunk = "198.51.100.0/24\n".repeat(4096);
            let mut sent = 0usize;
            while sent < 64 << 20 && !stop.load(Ordering::Relaxed) {
                out.write_all(chunk.as_bytes())?;
                sent += chunk.len();
            }
            Ok(())
        }
    }
}

/// A CA and a leaf for `localhost`/127.0.0.1 signed by it, in `dir`.
pub struct TestPki {
    pub ca_der: Vec<u8>,
    pub leaf_cert: PathBuf,
    pub leaf_key: PathBuf,
}

/// Makes a CA + leaf with the openssl CLI. `Err` carries a SKIP reason.
pub fn make_pki(dir: &Path, name: &str) -> Result<TestPki, String> {
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let p = |f: &str| dir.join(format!("{name}-{f}"));
    let ext = p("ext.cnf");
    std::fs::write(
        &ext,
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n\
         keyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n",
    )
    .map_err(|e| e.to_string())?;
    let steps: Vec<Vec<String>> = vec![
        vec![
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "2",
        ]
        .into_iter()
        .map(String::from)
        .chain([
            "-subj".into(),
            format!("/CN=sipwall test CA {name}"),
            "-keyout".into(),
            path(&p("ca.key")),
            "-out".into(),
            path(&p("ca.pem")),
        ])
        .collect(),
        vec![
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-subj",
            "/CN=localhost",
        ]
        .into_iter()
        .map(String::from)
        .chain([
            "-keyout".into(),
            path(&p("leaf.key")),
            "-out".into(),
            path(&p("leaf.csr")),
        ])
        .collect(),
        vec!["x509", "-req", "-days", "2", "-set_serial", "7"]
            .into_iter()
            .map(String::from)
            .chain([
                "-in".into(),
                path(&p("leaf.csr")),
                "-CA".into(),
                path(&p("ca.pem")),
                "-CAkey".into(),
                path(&p("ca.key")),
                "-extfile".into(),
                path(&ext),
                "-out".into(),
                path(&p("leaf.pem")),
            ])
            .collect(),
        vec!["x509", "-outform", "DER"]
            .into_iter()
            .map(String::from)
            .chain([
                "-in".into(),
                path(&p("ca.pem")),
                "-out".into(),
                path(&p("ca.der")),
            ])
            .collect(),
    ];
    for args in steps {
        let out = Command::new("openssl").args(&args).output().map_err(|e| {
            format!("openssl CLI not runnable ({e}); install the 'openssl' package")
        })?;
        if !out.status.success() {
            return Err(format!(
                "openssl {} failed: {}",
                args[0],
                String::from_utf8_lossy(&out.stderr)
            ));
        }
    }
    Ok(TestPki {
        ca_der: std::fs::read(p("ca.der")).map_err(|e| e.to_string())?,
        leaf_cert: p("leaf.pem"),
        leaf_key: p("leaf.key"),
    })
}

fn path(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// `SKIP: reason` and false, or a panic under SIPWALL_STRICT=1.
pub fn skip(reason: &str) -> bool {
    if std::env::var("SIPWALL_STRICT")
        .map(|v| v == "1")
        .unwrap_or(false)
    {
        panic!("SIPWALL_STRICT=1 and a prerequisite is missing: {reason}");
    }
    println!("SKIP: {reason}");
    false
}

/// A fresh temporary directory unique to this process and test.
pub fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("sw-zones-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

/// Drops a directory when the test ends, even on panic.
pub struct Cleanup(pub PathBuf);
impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Keeps the TCP types in scope for callers that poke the server directly.
pub fn connect(addr: SocketAddr) -> std::io::Result<TcpStream> {
    TcpStream::connect_timeout(&addr, Duration::from_secs(2))
}
