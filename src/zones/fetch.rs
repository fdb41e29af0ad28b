//! Getting a zone body from a URL: the [`ZoneSource`] seam and its HTTP(S)
//! implementation on ureq + rustls (cargo feature `tls`, on by default; the
//! router packages leave it out and use [`super::tool::ToolSource`], which
//! runs uclient-fetch/wget, to save ~780 KB).
//!
//! The refresh logic only sees this trait, so its decisions (fallback,
//! retries, shrink guard, allow-mode safety) are unit-tested with canned
//! bodies; the real client is tested against servers on loopback. Every
//! request is bounded: connect and response timeouts, an overall deadline
//! that also covers a server trickling bytes, and a body size cap.

use std::io::Read;
use std::time::Duration;

/// Validators of the copy we already hold, for a conditional request.
#[derive(Clone, Copy, Debug, Default)]
pub struct Conditional<'a> {
    pub etag: Option<&'a str>,
    pub last_modified: Option<&'a str>,
}

/// What a source answered.
pub enum Fetched {
    /// "304 Not Modified": the stored copy is still current.
    NotModified,
    /// A body to parse; reading it may still fail (cut, timeout, size cap).
    Body {
        body: Box<dyn Read>,
        etag: Option<String>,
        last_modified: Option<String>,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FetchError {
    /// Worth another attempt (timeouts, 5xx, cut connections); a 404 or a
    /// certificate the client does not trust is not.
    pub retry: bool,
    /// The server said the file does not exist (HTTP 404 or 410). Kept
    /// apart from other failures: ipdeny publishes no IPv6 zone for some
    /// small territories, and that is a fact to record, not an outage.
    pub not_found: bool,
    pub message: String,
}

/// Where zone bodies come from.
pub trait ZoneSource {
    fn get(&mut self, url: &str, cond: Conditional<'_>) -> Result<Fetched, FetchError>;
    /// Waits between attempts; tests replace it to run instantly.
    fn pause(&mut self, d: Duration) {
        std::thread::sleep(d);
    }
}

#[cfg(feature = "tls")]
/// Limits and retry policy of [`HttpSource`].
#[derive(Clone, Debug)]
pub struct HttpOptions {
    pub connect_timeout: Duration,
    /// Until the response headers arrive.
    pub response_timeout: Duration,
    /// The whole exchange including the body (a slow-drip server).
    pub total_timeout: Duration,
    /// Largest body accepted; the `us` zone is ~380 KB.
    pub max_body: u64,
    /// DER certificates to trust instead of the built-in Mozilla roots.
    /// `None` in production; tests use it to trust their own CA.
    pub trusted_roots: Option<Vec<Vec<u8>>>,
}

#[cfg(feature = "tls")]
impl Default for HttpOptions {
    fn default() -> HttpOptions {
        HttpOptions {
            connect_timeout: Duration::from_secs(10),
            response_timeout: Duration::from_secs(20),
            total_timeout: Duration::from_secs(90),
            max_body: 4 * 1024 * 1024,
            trusted_roots: None,
        }
    }
}

#[cfg(feature = "tls")]
/// HTTP and HTTPS with certificate verification always on.
pub struct HttpSource {
    agent: ureq::Agent,
    max_body: u64,
}

#[cfg(feature = "tls")]
impl HttpSource {
    pub fn new(opts: &HttpOptions) -> HttpSource {
        let mut tls = ureq::tls::TlsConfig::builder();
        if let Some(roots) = &opts.trusted_roots {
            let certs: Vec<ureq::tls::Certificate<'static>> = roots
                .iter()
                .map(|d| ureq::tls::Certificate::from_der(d).to_owned())
                .collect();
            tls = tls.root_certs(ureq::tls::RootCerts::new_with_certs(&certs));
        }
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(opts.connect_timeout))
            .timeout_recv_response(Some(opts.response_timeout))
            .timeout_global(Some(opts.total_timeout))
            .max_redirects(5)
            .user_agent(concat!("sipwall/", env!("CARGO_PKG_VERSION")))
            .tls_config(tls.build())
            .build();
        HttpSource {
            agent: ureq::Agent::new_with_config(config),
            max_body: opts.max_body,
        }
    }
}

#[cfg(feature = "tls")]
impl ZoneSource for HttpSource {
    fn get(&mut self, url: &str, cond: Conditional<'_>) -> Result<Fetched, FetchError> {
        let mut req = self.agent.get(url);
        if let Some(e) = cond.etag {
            req = req.header("If-None-Match", e);
        }
        if let Some(lm) = cond.last_modified {
            req = req.header("If-Modified-Since", lm);
        }
        let resp = req.call().map_err(transport_error)?;
        let status = resp.status().as_u16();
        if status == 304 {
            return Ok(Fetched::NotModified);
        }
        if status != 200 {
            return Err(FetchError {
                retry: status >= 500 || status == 429 || status == 408,
                not_found: status == 404 || status == 410,
                message: format!(
                    "HTTP {status} {}",
                    resp.status().canonical_reason().unwrap_or("")
                ),
            });
        }
        let header = |name: &str| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(|s| s.to_string())
        };
        let etag = header("etag");
        let last_modified = header("last-modified");
        let body = resp
            .into_body()
            .into_with_config()
            .limit(self.max_body)
            .reader();
        Ok(Fetched::Body {
            body: Box::new(body),
            etag,
            last_modified,
        })
    }
}

#[cfg(feature = "tls")]
fn transport_error(e: ureq::Error) -> FetchError {
    let text = e.to_string();
    // rustls failures during the handshake arrive wrapped in an I/O error.
    let tls =
        matches!(e, ureq::Error::Tls(_) | ureq::Error::Rustls(_)) || text.contains("certificate");
    let permanent = matches!(
        e,
        ureq::Error::BadUri(_) | ureq::Error::TooManyRedirects | ureq::Error::RedirectFailed
    );
    let message = if tls {
        format!("TLS: {text} (the server's certificate is not trusted; check the URL, a proxy or the clock)")
    } else {
        text
    };
    FetchError {
        retry: !tls && !permanent,
        not_found: false,
        message,
    }
}
