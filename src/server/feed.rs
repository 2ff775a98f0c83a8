//! `GET /feeds/{output}.rss|.atom|.json`: a published output, rendered once per store or
//! configuration change and answered conditionally.
//!
//! Takes: the path, the query (an output's filter narrowed by [`publish::parse_query`],
//! `limit`, and `before`, an RFC 5005 page cursor) and the request's preconditions. Gives: the
//! rendered page with `ETag`, `Last-Modified`, `Cache-Control` and CORS headers, or a bodiless
//! `304 Not Modified` (decided by [`conditional::not_modified`]). Guarantees: the same bytes
//! `feedsift export` writes for the first page; a page is rendered at most once per store
//! generation and configuration ([`FeedCache`]); the store is read off the async threads.

use super::conditional::{self, Preconditions};
use super::{blocking, ApiError, AppState};
use crate::config::{Config, Filter, OutputConfig};
use crate::model::hex;
use crate::model::StoredItem;
use crate::publish::{self, Format};
use crate::store::StoreError;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::sync::Arc;

/// A rendered output, kept until the store or the config changes. Shared, never copied: a
/// response takes its body and validators by reference count.
pub struct CachedFeed {
    /// [`crate::store::Store::generation`] when rendered.
    generation: u64,
    /// Address of the config it was rendered under (a reload publishes a new one).
    config: usize,
    body: bytes::Bytes,
    /// `None` only if the text were no valid header value (hex digits and an IMF-fixdate
    /// always are); the header is then left out, as it always was.
    etag: Option<HeaderValue>,
    last_modified: Option<HeaderValue>,
}

impl CachedFeed {
    /// A rendered `body` with its validators: a strong `ETag` from its BLAKE3 hash and
    /// `Last-Modified` from the page's date ([`publish::page_updated`]: its latest change, or
    /// for a page with no items the store's).
    ///
    /// BLAKE3, not SHA-256: a query no one asked before (`?max_age=…`) is rendered and hashed
    /// for one response, and hashing 80 KB with SHA-256 was a quarter of the server's CPU for
    /// such queries (docs/PERFORMANCE.md, session 14). The tag is still a cryptographic hash of
    /// the bytes, so equal tags mean equal bytes on every replica and across restarts.
    fn new(generation: u64, config: usize, body: String, changed: DateTime<Utc>) -> Self {
        let etag = format!(
            "\"{}\"",
            hex(&blake3::hash(body.as_bytes()).as_bytes()[..16])
        );
        // RFC 9110 §5.6.7 IMF-fixdate.
        let last_modified = changed.format("%a, %d %b %Y %H:%M:%S GMT").to_string();
        CachedFeed {
            generation,
            config,
            etag: HeaderValue::from_str(&etag).ok(),
            last_modified: HeaderValue::from_str(&last_modified).ok(),
            body: bytes::Bytes::from(body),
        }
    }
}

/// Rendered outputs by request (`name.ext?query`). Bounded: cleared when it grows past
/// `CACHE_ENTRIES` (a hot feed is re-rendered once, then served from here again).
pub type FeedCache = Arc<std::sync::Mutex<HashMap<String, Arc<CachedFeed>>>>;

/// The most rendered variants kept at once.
const CACHE_ENTRIES: usize = 512;

/// What a feed request asks for, from its path and query.
struct FeedRequest {
    /// The output's name.
    name: String,
    format: Format,
    /// Filters narrowing the output's own.
    extra: Filter,
    limit: Option<usize>,
    /// RFC 5005: the page older than this position.
    before: Option<[u8; 16]>,
    /// The query without `before`, repeated in the page links.
    rest: Vec<(String, String)>,
    /// The render cache key: the file and the whole query.
    key: String,
}

impl FeedRequest {
    /// Parses a request; the query is checked first (400), then the file name (404).
    fn parse(file: &str, params: &[(String, String)]) -> Result<FeedRequest, ApiError> {
        let (extra, limit) = publish::parse_query(params, &["before"])?;
        let before = match params.iter().rev().find(|(k, _)| k == "before") {
            None => None,
            Some((_, v)) => Some(
                publish::parse_page_cursor(v).ok_or_else(|| ApiError::BadPageCursor(v.clone()))?,
            ),
        };
        let (name, ext) = file
            .rsplit_once('.')
            .ok_or_else(|| ApiError::NoSuchFeedFile(file.to_string()))?;
        let format = ext
            .parse::<Format>()
            .map_err(|_| ApiError::UnknownFormat(ext.to_string()))?;
        let query: Vec<String> = params.iter().map(|(k, v)| format!("{k}={v}")).collect();
        Ok(FeedRequest {
            name: name.to_string(),
            format,
            extra,
            limit,
            before,
            rest: params
                .iter()
                .filter(|(k, _)| k != "before")
                .cloned()
                .collect(),
            key: format!("{file}?{}", query.join("&")),
        })
    }
}

/// The handler.
pub(super) async fn feed(
    State(st): State<AppState>,
    Path(file): Path<String>,
    Query(params): Query<Vec<(String, String)>>,
    method: Method,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let req = FeedRequest::parse(&file, &params)?;
    let config = st.config();
    let output = config
        .output(&req.name)
        .ok_or_else(|| ApiError::NoSuchOutput {
            name: req.name.clone(),
            outputs: config.output_names(),
        })?;
    let format = req.format;
    let config_id = Arc::as_ptr(&config) as usize;
    // A cached rendering is answered here, on the async thread, when the store's generation
    // is known without I/O: no hand-off to a blocking thread (a third of the CPU of serving
    // a hot feed, measured: docs/PERFORMANCE.md).
    let hit = st
        .store
        .generation_if_known()
        .and_then(|generation| cache_get(&st.cache, &req.key, generation, config_id));
    let cached = match hit {
        Some(hit) => {
            st.metrics.record_render(true);
            hit
        }
        None => {
            let (cache, metrics) = (Arc::clone(&st.cache), Arc::clone(&st.metrics));
            blocking(&st.store, move |store| {
                let generation = store.generation();
                let hit = cache_get(&cache, &req.key, generation, config_id);
                metrics.record_render(hit.is_some());
                if let Some(hit) = hit {
                    return Ok(hit);
                }
                let (body, changed) = render_page(store, &config, &output, &req)?;
                let fresh = Arc::new(CachedFeed::new(generation, config_id, body, changed));
                cache_put(&cache, req.key, Arc::clone(&fresh));
                Ok(fresh)
            })
            .await?
        }
    };
    let header_text = |name| {
        headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    let not_modified = conditional::not_modified(
        &method,
        Preconditions {
            if_none_match: header_text(header::IF_NONE_MATCH),
            if_modified_since: header_text(header::IF_MODIFIED_SINCE),
        },
        conditional::Validators {
            etag: header_str(&cached.etag).unwrap_or_default(),
            last_modified: header_str(&cached.last_modified),
        },
    );
    st.metrics.record_feed_request(not_modified);
    Ok(respond(&cached, format, not_modified))
}

/// A validator's text.
fn header_str(v: &Option<HeaderValue>) -> Option<&str> {
    v.as_ref().and_then(|v| v.to_str().ok())
}

/// The cached rendering of `key`, if it is of this store generation and configuration.
fn cache_get(
    cache: &FeedCache,
    key: &str,
    generation: u64,
    config: usize,
) -> Option<Arc<CachedFeed>> {
    cache
        .lock()
        .ok()
        .and_then(|c| c.get(key).cloned())
        .filter(|c| c.generation == generation && c.config == config)
}

/// Keeps a rendering, clearing the cache first when it is full.
fn cache_put(cache: &FeedCache, key: String, feed: Arc<CachedFeed>) {
    if let Ok(mut cache) = cache.lock() {
        if cache.len() >= CACHE_ENTRIES {
            cache.clear();
        }
        cache.insert(key, feed);
    }
}

/// Selects and renders one page, with its RFC 5005 links; gives the body and its date (the
/// latest change among its items, or for a page with none the store's). Blocking.
fn render_page(
    store: &crate::store::Store,
    config: &Config,
    output: &OutputConfig,
    req: &FeedRequest,
) -> Result<(String, DateTime<Utc>), StoreError> {
    let items = publish::select(store, output, &req.extra, req.limit, req.before)?;
    let mut links = page_links(config, output, req, &items);
    if items.is_empty() {
        links.empty_updated = publish::store_updated(store)?;
    }
    let body = publish::render_page(
        req.format,
        output,
        &items,
        &config.service.public_url,
        config.clean_titles,
        &links,
    );
    Ok((body, publish::page_updated(&items, &links)))
}

/// RFC 5005: a full page may have older items behind it; an older page points back to the
/// current one. Links keep the request's other query parameters.
fn page_links(
    config: &Config,
    output: &OutputConfig,
    req: &FeedRequest,
    items: &[Arc<StoredItem>],
) -> publish::PageLinks {
    let base = publish::feed_url(&config.service.public_url, &output.name, req.format);
    let with = |extra: Option<String>| {
        let mut q: Vec<String> = req
            .rest
            .iter()
            .map(|(k, v)| format!("{k}={}", url_escape(v)))
            .collect();
        q.extend(extra);
        if q.is_empty() {
            base.clone()
        } else {
            format!("{base}?{}", q.join("&"))
        }
    };
    let full = items.len() >= req.limit.unwrap_or(output.filter.limit);
    publish::PageLinks {
        empty_updated: None,
        hub: config.service.websub_hub.as_ref().map(|h| h.to_string()),
        older: items
            .last()
            .filter(|_| full)
            .map(|last| with(Some(format!("before={}", publish::page_cursor(last))))),
        current: req.before.map(|_| with(None)),
    }
}

/// The response: the body (or none, for a 304) with validators and caching headers.
fn respond(cached: &CachedFeed, format: Format, not_modified: bool) -> Response {
    let mut resp = if not_modified {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut r = axum::body::Body::from(cached.body.clone()).into_response();
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(format.content_type()),
        );
        r
    };
    let h = resp.headers_mut();
    if let Some(v) = &cached.etag {
        h.insert(header::ETAG, v.clone());
    }
    if let Some(v) = &cached.last_modified {
        h.insert(header::LAST_MODIFIED, v.clone());
    }
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    resp
}

/// Percent-encodes a query value (everything but unreserved characters, RFC 3986 §2.3).
pub(super) fn url_escape(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b',' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(q: &[(&str, &str)]) -> Vec<(String, String)> {
        q.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn a_request_is_parsed_query_first() {
        let r = FeedRequest::parse("merged.atom", &params(&[("limit", "2"), ("q", "x")])).unwrap();
        assert_eq!(
            (r.name.as_str(), r.format, r.limit),
            ("merged", Format::Atom, Some(2))
        );
        assert_eq!(r.key, "merged.atom?limit=2&q=x");
        // A bad query is a 400 even when the file does not exist either.
        assert!(matches!(
            FeedRequest::parse("nope", &params(&[("bogus", "1")])),
            Err(ApiError::Query(_))
        ));
        assert!(matches!(
            FeedRequest::parse("merged.rss", &params(&[("before", "nonsense")])),
            Err(ApiError::BadPageCursor(v)) if v == "nonsense"
        ));
        assert!(matches!(
            FeedRequest::parse("merged", &[]),
            Err(ApiError::NoSuchFeedFile(_))
        ));
        assert!(matches!(
            FeedRequest::parse("merged.pdf", &[]),
            Err(ApiError::UnknownFormat(e)) if e == "pdf"
        ));
    }

    #[test]
    fn query_values_are_escaped_in_links() {
        assert_eq!(url_escape("四川 a,b&c"), "%E5%9B%9B%E5%B7%9D%20a,b%26c");
    }
}
