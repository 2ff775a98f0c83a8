//! The fetcher: one HTTP GET of one feed, bounded, conditional and polite.
//!
//! Takes: a feed URL and the validators stored for it. Gives: the raw body bytes with the headers
//! that matter (`Content-Type` for decoding, `ETag`/`Last-Modified` for the next poll, freshness
//! and redirects for the scheduler), or "not modified", or a typed [`FetchError`]. It never
//! decodes text: the body is taken as bytes and the normaliser decides the charset, because
//! `reqwest`'s `.text()` trusts the HTTP header alone and Chinese sites often declare the charset
//! only in the XML prolog.
//!
//! Guarantees:
//! - Every fetch is bounded: connect timeout, a total timeout (not counting the wait for a
//!   permit), a redirect limit, and a body size limit enforced while streaming — after
//!   gzip/brotli decoding, so a compression bomb stops at the limit.
//! - At most `max_concurrent` fetches run at once and at most `per_host` to any one host. The
//!   host permit is taken *before* the global one, so requests queued for a slow host never
//!   hold global permits that other hosts could use.
//! - Redirects are followed here, hop by hop, so that a chain made only of permanent redirects
//!   (301/308, RFC 9110 §15.4) can be reported and the new URL used from then on; a temporary
//!   hop anywhere in the chain means the configured URL stays the one to poll.
//! - `Accept`, `Accept-Encoding` (gzip, br, deflate) and a descriptive `User-Agent` are sent.

use crate::clock::Clock;
use bytes::{Bytes, BytesMut};
use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use reqwest::header::{
    HeaderMap, ACCEPT, CACHE_CONTROL, CONTENT_TYPE, DATE, ETAG, EXPIRES, IF_MODIFIED_SINCE,
    IF_NONE_MATCH, LAST_MODIFIED, LOCATION, RETRY_AFTER,
};
use reqwest::StatusCode;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use url::Url;

/// What a feed is asked for: feed formats first, anything else last (some servers only answer
/// `*/*` sensibly).
const ACCEPT_FEEDS: &str = "application/rss+xml, application/atom+xml, application/feed+json, \
     application/json;q=0.9, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.8";

/// The longest a server's `Retry-After` or freshness is believed: beyond a day it is more likely
/// a misconfiguration than a wish never to be polled again.
pub const MAX_SERVER_DELAY: Duration = Duration::from_secs(24 * 3600);

/// How a fetch failed; each kind is counted separately in metrics and shown to the admin.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The server answered with an error status.
    #[error("fetch: HTTP {status} from {url}{}", retry_after.map(|d| format!(" (retry after {}s)", d.as_secs())).unwrap_or_default())]
    Status {
        /// The status received.
        status: u16,
        /// The URL that answered.
        url: String,
        /// How long the server asked us to wait (`Retry-After` on 429/503), capped at a day.
        retry_after: Option<Duration>,
    },
    /// The request did not complete in time.
    #[error("fetch: timed out after {secs}s fetching {url}")]
    Timeout {
        /// The configured total timeout.
        secs: u64,
        /// The URL.
        url: String,
    },
    /// The body was larger than allowed.
    #[error("fetch: body of {url} exceeds the limit of {limit} bytes")]
    TooLarge {
        /// The configured limit.
        limit: u64,
        /// The URL.
        url: String,
    },
    /// More redirects than allowed, or a loop.
    #[error("fetch: more than {limit} redirects starting at {url}")]
    TooManyRedirects {
        /// The configured limit.
        limit: usize,
        /// The URL first asked for.
        url: String,
    },
    /// A redirect without a usable `Location`.
    #[error("fetch: {url} redirects ({status}) without a valid Location header")]
    BadRedirect {
        /// The redirect status.
        status: u16,
        /// The URL that answered.
        url: String,
    },
    /// The URL's host is, or resolves to, a loopback, private or link-local address, and
    /// `[service] allow_private_addresses` is off.
    #[error("fetch: {url}: {host} is a private address ({addr}); refused (allow_private_addresses = false)")]
    PrivateAddress {
        /// The URL asked for (possibly a redirect target).
        url: String,
        /// Its host.
        host: String,
        /// The address that is not public.
        addr: std::net::IpAddr,
    },
    /// A redirect to something other than http(s) (`file:`, `ftp:`, `javascript:` …): never
    /// followed, so a hostile server cannot make feedsift read local files or other protocols.
    #[error(
        "fetch: {url} redirects ({status}) to {target}, which is not an http(s) URL: not followed"
    )]
    RedirectScheme {
        /// The redirect status.
        status: u16,
        /// The URL that answered.
        url: String,
        /// Where it pointed.
        target: String,
    },
    /// Anything else at the network or protocol level (DNS, refused connection, TLS, a broken
    /// chunked body).
    #[error("fetch: {url}: {message}")]
    Network {
        /// The URL.
        url: String,
        /// What the HTTP client said, with its causes.
        message: String,
    },
}

impl FetchError {
    /// A stable, low-cardinality name for metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            FetchError::Status { status, .. } if *status >= 500 => "http_5xx",
            FetchError::Status { status: 429, .. } => "http_429",
            FetchError::Status { .. } => "http_4xx",
            FetchError::Timeout { .. } => "timeout",
            FetchError::TooLarge { .. } => "too_large",
            FetchError::TooManyRedirects { .. }
            | FetchError::BadRedirect { .. }
            | FetchError::RedirectScheme { .. } => "redirect",
            FetchError::PrivateAddress { .. } => "private_address",
            FetchError::Network { .. } => "network",
        }
    }

    /// The server's requested delay, if it gave one.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            FetchError::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// The HTTP status, when the failure was one.
    pub fn status(&self) -> Option<u16> {
        match self {
            FetchError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// Validators from the previous response, sent so an unchanged feed costs a 304 (RFC 9110 §13.1).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Validators {
    /// Sent as `If-None-Match`.
    pub etag: Option<String>,
    /// Sent as `If-Modified-Since`.
    pub last_modified: Option<String>,
}

/// Facts about a response that the scheduler and the admin care about.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResponseMeta {
    /// The final status (after redirects).
    pub status: u16,
    /// Set when every redirect hop was permanent (301/308): the URL to poll from now on.
    pub permanent_redirect: Option<Url>,
    /// How long the response stays fresh (`Cache-Control: max-age`, else `Expires` − `Date`,
    /// RFC 9111 §4.2.1); `None` when it said nothing or forbade caching.
    pub fresh_for: Option<Duration>,
    /// Bytes received (after decompression).
    pub bytes: u64,
    /// Time from the first byte sent to the last received, permit waits excluded.
    pub elapsed: Duration,
}

/// A successful exchange.
#[derive(Debug)]
pub enum FetchOutcome {
    /// 304: the stored copy is current. Carries any validators the 304 sent, which replace the
    /// stored ones (RFC 9111 §4.3.4).
    NotModified {
        /// New validators, where the response had them.
        validators: Validators,
        /// Status, freshness, redirects.
        meta: ResponseMeta,
    },
    /// 2xx with a body.
    Fetched(FetchedBody),
}

/// A body and the headers the later stages need.
#[derive(Debug)]
pub struct FetchedBody {
    /// The raw, undecoded bytes (after content-encoding is undone).
    pub body: Bytes,
    /// The `Content-Type` header, for the charset.
    pub content_type: Option<String>,
    /// The URL that finally answered, after redirects: the base for relative links.
    pub final_url: Url,
    /// Validators to store for the next poll.
    pub validators: Validators,
    /// Status, freshness, redirects.
    pub meta: ResponseMeta,
}

/// The fetcher's limits; built from `[service]`.
#[derive(Debug, Clone)]
pub struct FetchLimits {
    /// Total time for one fetch, redirects and body included.
    pub timeout: Duration,
    /// Largest body accepted, after decompression.
    pub max_body: u64,
    /// Most redirects followed.
    pub max_redirects: usize,
    /// Most fetches at once, service-wide.
    pub max_concurrent: usize,
    /// Most fetches at once to one host.
    pub per_host: usize,
    /// Whether loopback, private and link-local addresses may be fetched (see
    /// [`is_private_address`]); when not, they are refused before connecting, on every hop.
    pub allow_private_addresses: bool,
}

impl Default for FetchLimits {
    fn default() -> Self {
        FetchLimits {
            timeout: Duration::from_secs(30),
            max_body: 10 * 1024 * 1024,
            max_redirects: 5,
            max_concurrent: 16,
            per_host: 2,
            allow_private_addresses: true,
        }
    }
}

/// A shared HTTP client with feedsift's limits. Cheap to clone; clones share limits.
#[derive(Debug, Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    limits: FetchLimits,
    global: Arc<Semaphore>,
    /// One semaphore per host, created on first use. A std mutex: held only for the map lookup.
    hosts: Arc<Mutex<HashMap<String, Arc<Semaphore>>>>,
    /// Reads HTTP dates (`Expires`, `Retry-After`) against the service's time.
    clock: Clock,
}

impl Fetcher {
    /// Builds a fetcher.
    pub fn new(user_agent: &str, limits: FetchLimits) -> Result<Fetcher, FetchError> {
        let mut builder = reqwest::Client::builder();
        if !limits.allow_private_addresses {
            // Names are checked where they are resolved for the connection itself, so a DNS
            // answer cannot differ between a check and the connect.
            builder = builder.dns_resolver(Arc::new(PublicOnly));
        }
        let client = builder
            .user_agent(user_agent)
            .connect_timeout(limits.timeout.min(Duration::from_secs(10)))
            .timeout(limits.timeout)
            // Redirects are followed by hand (see the module docs).
            .redirect(reqwest::redirect::Policy::none())
            .pool_idle_timeout(Duration::from_secs(30))
            .pool_max_idle_per_host(limits.per_host.max(1))
            .build()
            .map_err(|e| FetchError::Network {
                url: String::new(),
                message: format!("cannot build HTTP client: {e}"),
            })?;
        Ok(Fetcher {
            client,
            global: Arc::new(Semaphore::new(limits.max_concurrent.max(1))),
            hosts: Arc::default(),
            limits,
            clock: Clock::system(),
        })
    }

    /// The same fetcher on another clock (tests run on paused time).
    pub fn with_clock(mut self, clock: Clock) -> Fetcher {
        self.clock = clock;
        self
    }

    /// Waits for a host permit, then a global one (in that order: see the module docs).
    async fn permits(&self, url: &Url) -> (OwnedSemaphorePermit, OwnedSemaphorePermit) {
        let host_key = format!(
            "{}:{}",
            url.host_str().unwrap_or(""),
            url.port_or_known_default().unwrap_or(0)
        );
        let host = {
            let mut hosts = self.hosts.lock().expect("host map poisoned");
            Arc::clone(
                hosts
                    .entry(host_key)
                    .or_insert_with(|| Arc::new(Semaphore::new(self.limits.per_host.max(1)))),
            )
        };
        let h = host
            .acquire_owned()
            .await
            .expect("host semaphores are never closed");
        let g = Arc::clone(&self.global)
            .acquire_owned()
            .await
            .expect("the global semaphore is never closed");
        (h, g)
    }

    /// GETs `url`, conditionally when `validators` has any.
    pub async fn fetch(
        &self,
        url: &Url,
        validators: &Validators,
    ) -> Result<FetchOutcome, FetchError> {
        let _permits = self.permits(url).await;
        let started = Instant::now();
        match tokio::time::timeout(
            self.limits.timeout,
            self.fetch_inner(url, validators, started),
        )
        .await
        {
            Ok(r) => r,
            Err(_) => Err(FetchError::Timeout {
                secs: self.limits.timeout.as_secs(),
                url: url.to_string(),
            }),
        }
    }

    async fn fetch_inner(
        &self,
        start_url: &Url,
        validators: &Validators,
        started: Instant,
    ) -> Result<FetchOutcome, FetchError> {
        let mut url = start_url.clone();
        let mut all_permanent = true;
        let mut hops = 0;
        let resp = loop {
            if !self.limits.allow_private_addresses {
                check_literal_host(&url)?;
            }
            let mut req = self.client.get(url.clone()).header(ACCEPT, ACCEPT_FEEDS);
            if let Some(etag) = &validators.etag {
                req = req.header(IF_NONE_MATCH, etag);
            }
            if let Some(lm) = &validators.last_modified {
                req = req.header(IF_MODIFIED_SINCE, lm);
            }
            let resp = req.send().await.map_err(|e| self.map_err(&url, e))?;
            let status = resp.status();
            if !status.is_redirection() || status == StatusCode::NOT_MODIFIED {
                break resp;
            }
            let next = resp
                .headers()
                .get(LOCATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|l| url.join(l.trim()).ok())
                .ok_or_else(|| FetchError::BadRedirect {
                    status: status.as_u16(),
                    url: url.to_string(),
                })?;
            if !matches!(next.scheme(), "http" | "https") {
                return Err(FetchError::RedirectScheme {
                    status: status.as_u16(),
                    url: url.to_string(),
                    target: next.to_string(),
                });
            }
            hops += 1;
            if hops > self.limits.max_redirects {
                return Err(FetchError::TooManyRedirects {
                    limit: self.limits.max_redirects,
                    url: start_url.to_string(),
                });
            }
            all_permanent &= matches!(
                status,
                StatusCode::MOVED_PERMANENTLY | StatusCode::PERMANENT_REDIRECT
            );
            url = next;
        };

        let status = resp.status();
        let headers = resp.headers().clone();
        let mut meta = ResponseMeta {
            status: status.as_u16(),
            permanent_redirect: (hops > 0 && all_permanent).then(|| url.clone()),
            fresh_for: freshness(&headers, self.clock.now()),
            bytes: 0,
            elapsed: Duration::ZERO,
        };
        let got = validators_of(&headers);
        if status == StatusCode::NOT_MODIFIED {
            meta.elapsed = started.elapsed();
            return Ok(FetchOutcome::NotModified {
                validators: got,
                meta,
            });
        }
        if !status.is_success() {
            let retry_after = matches!(
                status,
                StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE
            )
            .then(|| retry_after(&headers, self.clock.now()))
            .flatten();
            return Err(FetchError::Status {
                status: status.as_u16(),
                url: url.to_string(),
                retry_after,
            });
        }
        if let Some(len) = resp.content_length() {
            if len > self.limits.max_body {
                return Err(FetchError::TooLarge {
                    limit: self.limits.max_body,
                    url: url.to_string(),
                });
            }
        }
        let mut body = BytesMut::new();
        let mut stream = resp.bytes_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| self.map_err(&url, e))?;
            if body.len() as u64 + chunk.len() as u64 > self.limits.max_body {
                return Err(FetchError::TooLarge {
                    limit: self.limits.max_body,
                    url: url.to_string(),
                });
            }
            body.extend_from_slice(&chunk);
        }
        meta.bytes = body.len() as u64;
        meta.elapsed = started.elapsed();
        Ok(FetchOutcome::Fetched(FetchedBody {
            body: body.freeze(),
            content_type: header_str(&headers, CONTENT_TYPE),
            final_url: url,
            validators: got,
            meta,
        }))
    }

    fn map_err(&self, url: &Url, e: reqwest::Error) -> FetchError {
        if e.is_timeout() {
            return FetchError::Timeout {
                secs: self.limits.timeout.as_secs(),
                url: url.to_string(),
            };
        }
        // reqwest's Display is terse ("error sending request") and repeats the URL; the cause
        // chain says why.
        let e = e.without_url();
        let mut message = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            message.push_str(": ");
            message.push_str(&s.to_string());
            source = s.source();
        }
        FetchError::Network {
            url: url.to_string(),
            message,
        }
    }
}

fn header_str(h: &HeaderMap, name: reqwest::header::HeaderName) -> Option<String> {
    h.get(name)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

fn validators_of(h: &HeaderMap) -> Validators {
    Validators {
        etag: header_str(h, ETAG),
        last_modified: header_str(h, LAST_MODIFIED),
    }
}

fn http_date(s: &str) -> Option<DateTime<Utc>> {
    // IMF-fixdate is RFC 2822-shaped (RFC 9110 §5.6.7).
    DateTime::parse_from_rfc2822(s.trim())
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

/// `Retry-After` as delay-seconds or an HTTP-date (RFC 9110 §10.2.3), capped at a day.
pub fn retry_after(h: &HeaderMap, now: DateTime<Utc>) -> Option<Duration> {
    let v = header_str(h, RETRY_AFTER)?;
    let d = match v.parse::<u64>() {
        Ok(secs) => Duration::from_secs(secs),
        Err(_) => (http_date(&v)? - now).to_std().unwrap_or(Duration::ZERO),
    };
    Some(d.min(MAX_SERVER_DELAY))
}

/// Freshness lifetime of a response (RFC 9111 §4.2.1): `max-age` wins over `Expires`
/// (taken relative to the response's `Date`, else `now`); `no-cache`/`no-store` mean none.
pub fn freshness(h: &HeaderMap, now: DateTime<Utc>) -> Option<Duration> {
    if let Some(cc) = header_str(h, CACHE_CONTROL) {
        let mut max_age = None;
        for d in cc.split(',').map(|d| d.trim().to_ascii_lowercase()) {
            if d == "no-cache" || d == "no-store" {
                return None;
            }
            if let Some(v) = d.strip_prefix("max-age=") {
                max_age = v.trim_matches('"').parse::<u64>().ok();
            }
        }
        if let Some(s) = max_age {
            return Some(Duration::from_secs(s).min(MAX_SERVER_DELAY));
        }
    }
    let expires = http_date(&header_str(h, EXPIRES)?)?;
    let date = header_str(h, DATE)
        .and_then(|d| http_date(&d))
        .unwrap_or(now);
    (expires - date)
        .to_std()
        .ok()
        .map(|d| d.min(MAX_SERVER_DELAY))
}

/// Whether `addr` is not a public internet address: loopback, private (RFC 1918, RFC 4193),
/// link-local, carrier-grade NAT (RFC 6598), unspecified, broadcast, multicast or documentation
/// ranges — and IPv4 addresses mapped into IPv6 by the same rules.
pub fn is_private_address(addr: std::net::IpAddr) -> bool {
    use std::net::IpAddr;
    match addr {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_private_address(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
        }
    }
}

/// Refuses a URL whose host is a private IP literal (names are checked by [`PublicOnly`]).
fn check_literal_host(url: &Url) -> Result<(), FetchError> {
    let addr = match url.host() {
        Some(url::Host::Ipv4(a)) => std::net::IpAddr::V4(a),
        Some(url::Host::Ipv6(a)) => std::net::IpAddr::V6(a),
        _ => return Ok(()),
    };
    if is_private_address(addr) {
        return Err(FetchError::PrivateAddress {
            url: url.to_string(),
            host: url.host_str().unwrap_or_default().to_string(),
            addr,
        });
    }
    Ok(())
}

/// A DNS resolver that refuses names resolving to any non-public address (so a public name
/// pointing at 127.0.0.1 or 169.254.169.254 cannot reach inside).
struct PublicOnly;

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addrs: Vec<std::net::SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if let Some(bad) = addrs.iter().find(|a| is_private_address(a.ip())) {
                let message = format!(
                    "{host} resolves to a private address ({}); refused (allow_private_addresses = false)",
                    bad.ip()
                );
                return Err(message.into());
            }
            let addrs: reqwest::dns::Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn private_address_ranges() {
        let cases = [
            ("127.0.0.1", true),
            ("10.1.2.3", true),
            ("172.16.0.1", true),
            ("172.32.0.1", false),
            ("192.168.1.1", true),
            ("169.254.169.254", true),
            ("100.64.0.1", true),
            ("100.128.0.1", false),
            ("0.0.0.0", true),
            ("224.0.0.1", true),
            ("8.8.8.8", false),
            ("::1", true),
            ("fd00::1", true),
            ("fe80::1", true),
            ("::ffff:10.0.0.1", true),
            ("2606:4700::1111", false),
        ];
        for (addr, private) in cases {
            assert_eq!(is_private_address(addr.parse().unwrap()), private, "{addr}");
        }
    }
    use super::*;
    use reqwest::header::HeaderValue;

    /// Response headers, and the expected result in seconds.
    type Case<'a> = (&'a [(&'static str, &'static str)], Option<u64>);

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2024-03-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn freshness_rules() {
        let cases: &[Case] = &[
            (&[], None),
            (&[("cache-control", "public, max-age=600")], Some(600)),
            (&[("cache-control", "max-age=600, no-cache")], None),
            (&[("cache-control", "no-store")], None),
            // max-age wins over Expires.
            (
                &[
                    ("cache-control", "max-age=60"),
                    ("expires", "Fri, 01 Mar 2024 01:00:00 GMT"),
                ],
                Some(60),
            ),
            // Expires relative to Date.
            (
                &[
                    ("date", "Fri, 01 Mar 2024 00:30:00 GMT"),
                    ("expires", "Fri, 01 Mar 2024 01:00:00 GMT"),
                ],
                Some(1800),
            ),
            // Expires relative to now without Date; in the past means stale.
            (&[("expires", "Fri, 01 Mar 2024 00:10:00 GMT")], Some(600)),
            (&[("expires", "Thu, 29 Feb 2024 00:00:00 GMT")], None),
            (&[("expires", "0")], None),
            // Capped at a day.
            (&[("cache-control", "max-age=31536000")], Some(86400)),
        ];
        for (h, want) in cases {
            assert_eq!(
                freshness(&headers(h), now()),
                want.map(Duration::from_secs),
                "{h:?}"
            );
        }
    }

    #[test]
    fn retry_after_rules() {
        let cases: &[Case] = &[
            (&[], None),
            (&[("retry-after", "120")], Some(120)),
            (
                &[("retry-after", "Fri, 01 Mar 2024 00:05:00 GMT")],
                Some(300),
            ),
            (&[("retry-after", "Thu, 29 Feb 2024 00:05:00 GMT")], Some(0)),
            (&[("retry-after", "soon")], None),
            (&[("retry-after", "9999999")], Some(86400)),
        ];
        for (h, want) in cases {
            assert_eq!(
                retry_after(&headers(h), now()),
                want.map(Duration::from_secs),
                "{h:?}"
            );
        }
    }
}
