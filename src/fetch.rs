//! The fetcher: one HTTP GET of one feed, bounded and conditional.
//!
//! Takes: a feed URL and the validators stored for it. Gives: the raw body bytes with the headers
//! that matter (`Content-Type` for decoding, `ETag`/`Last-Modified` for the next poll), or
//! "not modified", or a typed [`FetchError`]. It never decodes text: the body is taken as bytes
//! and the normaliser decides the charset, because `reqwest`'s `.text()` trusts the HTTP header
//! alone and Chinese sites often declare the charset only in the XML prolog.
//!
//! Guarantees: every fetch is bounded — connect timeout, total timeout, a redirect limit, and a
//! body size limit enforced while streaming (after gzip/brotli decoding, so a compression bomb
//! stops at the limit).

use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use reqwest::header::{
    HeaderMap, ACCEPT, CONTENT_TYPE, ETAG, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED,
};
use reqwest::StatusCode;
use std::time::Duration;
use url::Url;

/// What a feed is asked for: feed formats first, anything else last (some servers only answer
/// `*/*` sensibly).
const ACCEPT_FEEDS: &str = "application/rss+xml, application/atom+xml, application/feed+json, \
     application/json;q=0.9, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.8";

/// How a fetch failed; each kind is counted separately in metrics and shown to the admin.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The server answered with an error status.
    #[error("fetch: HTTP {status} from {url}")]
    Status {
        /// The status received.
        status: u16,
        /// The URL that answered.
        url: String,
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
    /// Anything else at the network or protocol level (DNS, refused connection, TLS, too many
    /// redirects, a broken chunked body).
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
            FetchError::Status { .. } => "status",
            FetchError::Timeout { .. } => "timeout",
            FetchError::TooLarge { .. } => "too_large",
            FetchError::Network { .. } => "network",
        }
    }
}

/// Validators from the previous response, sent so an unchanged feed costs a 304 (RFC 9110 §13.1).
#[derive(Debug, Clone, Default)]
pub struct Validators {
    /// Sent as `If-None-Match`.
    pub etag: Option<String>,
    /// Sent as `If-Modified-Since`.
    pub last_modified: Option<String>,
}

/// A successful exchange.
#[derive(Debug)]
pub enum FetchOutcome {
    /// 304: the stored copy is current. Carries any validators the 304 sent, which replace the
    /// stored ones (RFC 9111 §4.3.4).
    NotModified {
        /// New validators, where the response had them.
        validators: Validators,
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
}

/// A shared HTTP client with feedsift's limits.
#[derive(Debug, Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    timeout: Duration,
    max_body: u64,
}

impl Fetcher {
    /// Builds a fetcher. `timeout` bounds a whole fetch, body included; `max_body` bounds the
    /// decompressed body.
    pub fn new(user_agent: &str, timeout: Duration, max_body: u64) -> Result<Fetcher, FetchError> {
        let client = reqwest::Client::builder()
            .user_agent(user_agent)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::limited(5))
            .pool_idle_timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| FetchError::Network {
                url: String::new(),
                message: format!("cannot build HTTP client: {e}"),
            })?;
        Ok(Fetcher {
            client,
            timeout,
            max_body,
        })
    }

    /// GETs `url`, conditionally when `validators` has any.
    pub async fn fetch(
        &self,
        url: &Url,
        validators: &Validators,
    ) -> Result<FetchOutcome, FetchError> {
        let mut req = self.client.get(url.clone()).header(ACCEPT, ACCEPT_FEEDS);
        if let Some(etag) = &validators.etag {
            req = req.header(IF_NONE_MATCH, etag);
        }
        if let Some(lm) = &validators.last_modified {
            req = req.header(IF_MODIFIED_SINCE, lm);
        }
        let resp = req.send().await.map_err(|e| self.map_err(url, e))?;
        let status = resp.status();
        let headers = resp.headers().clone();
        let got = validators_of(&headers);
        if status == StatusCode::NOT_MODIFIED {
            return Ok(FetchOutcome::NotModified { validators: got });
        }
        if !status.is_success() {
            return Err(FetchError::Status {
                status: status.as_u16(),
                url: resp.url().to_string(),
            });
        }
        let final_url = resp.url().clone();
        if let Some(len) = resp.content_length() {
            if len > self.max_body {
                return Err(FetchError::TooLarge {
                    limit: self.max_body,
                    url: final_url.to_string(),
                });
            }
        }
        let mut body = BytesMut::new();
        let mut stream = resp.bytes_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| self.map_err(&final_url, e))?;
            if body.len() as u64 + chunk.len() as u64 > self.max_body {
                return Err(FetchError::TooLarge {
                    limit: self.max_body,
                    url: final_url.to_string(),
                });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(FetchOutcome::Fetched(FetchedBody {
            body: body.freeze(),
            content_type: header_str(&headers, CONTENT_TYPE),
            final_url,
            validators: got,
        }))
    }

    fn map_err(&self, url: &Url, e: reqwest::Error) -> FetchError {
        if e.is_timeout() {
            return FetchError::Timeout {
                secs: self.timeout.as_secs(),
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
