//! The HTTP face: published feeds, health and metrics, over `axum`.
//!
//! Takes: the configuration, the store and the metrics. Gives:
//! - `GET /feeds/{output}.rss|.atom|.json` — an output rendered by [`crate::publish`]; the same
//!   bytes `feedsift export` writes. `ETag` and `Last-Modified` on every response and
//!   `304 Not Modified` for a matching `If-None-Match` (RFC 9110 §13.1.2), so feed readers that
//!   poll every few minutes cost a render and a hash, not a transfer.
//! - `GET /` — a small page listing the outputs to subscribe to and the state of every source.
//! - `GET /healthz` — `ok` while the store answers.
//! - `GET /metrics` — Prometheus text.
//!
//! Unknown outputs and formats are a 404 with a one-line plain-text reason.

use crate::config::{Config, Filter, MAX_LIMIT};
use crate::metrics::Metrics;
use crate::model::hex;
use crate::publish::{self, Format};
use crate::reload::Reloader;
use crate::scheduler::NextFires;
use crate::store::Store;
use crate::text::escape_html;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::fmt::Write;
use std::sync::Arc;
use tokio::sync::watch;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    /// The configuration in force; follows reloads.
    pub config: watch::Receiver<Arc<Config>>,
    /// Reloads the configuration on `POST /api/reload`.
    pub reloader: Arc<Reloader>,
    /// The item store.
    pub store: Store,
    /// Service counters.
    pub metrics: Arc<Metrics>,
    /// The scheduler's plan.
    pub next_fires: NextFires,
    /// Rendered outputs.
    pub cache: FeedCache,
    /// Asks the scheduler to poll a feed now (`POST /api/sources/{id}/poll`).
    pub poll_now: tokio::sync::mpsc::UnboundedSender<String>,
}

impl AppState {
    /// The configuration in force now.
    fn config(&self) -> Arc<Config> {
        Arc::clone(&self.config.borrow())
    }
}

/// The service's routes.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/feeds/{file}", get(feed))
        .route("/api/sources", get(sources))
        .route("/api/reload", post(reload))
        .route("/api/sources/{id}/poll", post(poll_source))
        .route("/api/items", get(api_items))
        .route("/api/outputs", get(outputs))
        .route("/{file}", get(opml))
        .fallback(|| async { (StatusCode::NOT_FOUND, "not found\n") })
        .layer(axum::middleware::from_fn(time_limit))
        // No endpoint reads a request body; anything sent is refused past 64 KiB.
        .layer(axum::extract::DefaultBodyLimit::max(MAX_REQUEST_BODY))
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&state.metrics),
            count_request,
        ))
        .with_state(state)
}

/// Longest a client may take to send a request's headers (slowloris): after it, hyper closes
/// the connection. Also the longest an idle keep-alive connection waits for its next request.
pub const HEADER_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Largest request head (request line and headers) accepted; a larger one is refused (431).
pub const MAX_HEADER_BYTES: usize = 64 * 1024;

/// Serves `app` on `listener` until `shutdown` resolves, then stops accepting and waits for
/// open connections to finish (the caller bounds that wait). Like `axum::serve`, plus the
/// limits it does not set: [`HEADER_READ_TIMEOUT`] and [`MAX_HEADER_BYTES`].
pub async fn serve_http(
    listener: tokio::net::TcpListener,
    app: Router,
    shutdown: impl std::future::Future<Output = ()>,
) {
    use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
    let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .max_buf_size(MAX_HEADER_BYTES);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(c) => c,
                Err(e) => {
                    // Out of file descriptors and the like: pause rather than spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let service = hyper_util::service::TowerToHyperService::new(app.clone());
        let conn = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), service)
            .into_owned();
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

/// Longest a request may take to answer before it gets a 503: a bound on what one client can
/// hold (a page of 1,000 items from a cold store takes well under a second).
pub const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Largest request body accepted.
pub const MAX_REQUEST_BODY: usize = 64 * 1024;

async fn time_limit(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    match tokio::time::timeout(REQUEST_TIMEOUT, next.run(req)).await {
        Ok(resp) => resp,
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "the request took too long and was abandoned\n",
        )
            .into_response(),
    }
}

/// Counts every request by route (the pattern, not the path: `/feeds/{file}`, so the label set
/// stays small) and status, with its time.
async fn count_request(
    State(metrics): State<Arc<Metrics>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let route = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let started = std::time::Instant::now();
    let resp = next.run(req).await;
    metrics.record_http(&route, resp.status().as_u16(), started.elapsed());
    resp
}

/// Renders an output exactly as HTTP serves it (used by `feedsift export` too).
pub fn render_output(
    config: &Config,
    store: &Store,
    name: &str,
    format: Format,
    extra: &Filter,
    limit: Option<usize>,
) -> Result<Option<String>, crate::store::StoreError> {
    let Some(output) = config.output(name) else {
        return Ok(None);
    };
    let items = publish::select(store, &output, extra, limit, None)?;
    Ok(Some(publish::render(
        format,
        &output,
        &items,
        &config.service.public_url,
        config.clean_titles,
    )))
}

/// A rendered output, kept until the store or the config changes.
#[derive(Clone)]
pub struct CachedFeed {
    /// [`Store::generation`] when rendered.
    generation: u64,
    /// Address of the config it was rendered under (a reload publishes a new one).
    config: usize,
    body: Arc<String>,
    etag: String,
    last_modified: Option<String>,
}

/// Rendered outputs by request (`name.ext?query`). Bounded: cleared when it grows past
/// [`CACHE_ENTRIES`] (a hot feed is re-rendered once, then served from here again).
pub type FeedCache = Arc<std::sync::Mutex<HashMap<String, CachedFeed>>>;

/// The most rendered variants kept at once.
const CACHE_ENTRIES: usize = 512;

async fn feed(
    State(st): State<AppState>,
    Path(file): Path<String>,
    Query(params): Query<Vec<(String, String)>>,
    headers: HeaderMap,
) -> Response {
    let (extra, limit) = match publish::parse_query(&params, &["before"]) {
        Ok(q) => q,
        Err(m) => return bad_request(m),
    };
    let before = match params.iter().rev().find(|(k, _)| k == "before") {
        None => None,
        Some((_, v)) => match publish::parse_page_cursor(v) {
            Some(b) => Some(b),
            None => {
                return bad_request(format!(
                    "`before={v}`: not a page cursor from this feed's links"
                ))
            }
        },
    };
    let Some((name, ext)) = file.rsplit_once('.') else {
        return not_found(format!(
            "no such feed `{file}`: use /feeds/NAME.rss, .atom or .json"
        ));
    };
    let Ok(format) = ext.parse::<Format>() else {
        return not_found(format!("unknown format `.{ext}`: use .rss, .atom or .json"));
    };
    let config = st.config();
    let Some(output) = config.output(name) else {
        return not_found(format!(
            "no such output `{name}`; outputs: {}",
            config.output_names().join(", ")
        ));
    };
    let key = format!(
        "{file}?{}",
        params
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&")
    );
    let generation = st.store.generation();
    let config_id = Arc::as_ptr(&config) as usize;
    let hit = st
        .cache
        .lock()
        .ok()
        .and_then(|c| c.get(&key).cloned())
        .filter(|c| c.generation == generation && c.config == config_id);
    st.metrics.record_render(hit.is_some());
    let cached = match hit {
        Some(c) => c,
        None => {
            let store = st.store.clone();
            let cfg = Arc::clone(&config);
            let rest: Vec<(String, String)> = params
                .iter()
                .filter(|(k, _)| k != "before")
                .cloned()
                .collect();
            let rendered = tokio::task::spawn_blocking(move || {
                let items = publish::select(&store, &output, &extra, limit, before)?;
                // RFC 5005: a full page may have older items behind it; an older page points
                // back to the current one.
                let base = publish::feed_url(&cfg.service.public_url, &output.name, format);
                let with = |extra: Option<String>| {
                    let mut q: Vec<String> = rest
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
                let full = items.len() >= limit.unwrap_or(output.filter.limit);
                let links = publish::PageLinks {
                    hub: cfg.service.websub_hub.as_ref().map(|h| h.to_string()),
                    older: items
                        .last()
                        .filter(|_| full)
                        .map(|last| with(Some(format!("before={}", publish::page_cursor(last))))),
                    current: before.map(|_| with(None)),
                };
                let body = publish::render_page(
                    format,
                    &output,
                    &items,
                    &cfg.service.public_url,
                    cfg.clean_titles,
                    &links,
                );
                Ok::<_, crate::store::StoreError>((body, publish::last_change(&items)))
            })
            .await;
            let (body, changed) = match rendered {
                Ok(Ok(r)) => r,
                Ok(Err(e)) => {
                    tracing::error!(error = %e, "rendering failed");
                    return (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")).into_response();
                }
                Err(e) => {
                    return (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")).into_response()
                }
            };
            let c = CachedFeed {
                generation,
                config: config_id,
                etag: format!("\"{}\"", hex(&Sha256::digest(body.as_bytes())[..16])),
                // RFC 9110 §5.6.7 IMF-fixdate.
                last_modified: changed.map(|d| d.format("%a, %d %b %Y %H:%M:%S GMT").to_string()),
                body: Arc::new(body),
            };
            if let Ok(mut cache) = st.cache.lock() {
                if cache.len() >= CACHE_ENTRIES {
                    cache.clear();
                }
                cache.insert(key, c.clone());
            }
            c
        }
    };
    // RFC 9110 §13.2.2: If-None-Match decides when present; If-Modified-Since only without it.
    let not_modified = match headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
    {
        Some(inm) => inm.split(',').any(|t| {
            let t = t.trim();
            t == "*" || t == cached.etag || t.strip_prefix("W/") == Some(cached.etag.as_str())
        }),
        None => match (
            headers
                .get(header::IF_MODIFIED_SINCE)
                .and_then(|v| v.to_str().ok()),
            &cached.last_modified,
        ) {
            (Some(ims), Some(lm)) => match (
                chrono::DateTime::parse_from_rfc2822(ims.trim()),
                chrono::DateTime::parse_from_rfc2822(lm),
            ) {
                (Ok(ims), Ok(lm)) => lm <= ims,
                _ => false,
            },
            _ => false,
        },
    };
    st.metrics.record_feed_request(not_modified);
    let mut resp = if not_modified {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut r = cached.body.as_str().to_owned().into_response();
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(format.content_type()),
        );
        r
    };
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&cached.etag) {
        h.insert(header::ETAG, v);
    }
    if let Some(v) = cached
        .last_modified
        .as_deref()
        .and_then(|l| HeaderValue::from_str(l).ok())
    {
        h.insert(header::LAST_MODIFIED, v);
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

/// `GET /api/outputs`: every output, its filter and its URLs.
async fn outputs(State(st): State<AppState>) -> Response {
    let c = st.config();
    let list: Vec<serde_json::Value> = c
        .output_names()
        .iter()
        .filter_map(|n| c.output(n))
        .map(|o| {
            let url = |f| publish::feed_url(&c.service.public_url, &o.name, f);
            serde_json::json!({
                "name": o.name,
                "title": o.title,
                "description": o.description,
                "filter": {
                    "categories": o.filter.categories,
                    "sources": o.filter.sources,
                    "regions": o.filter.regions,
                    "include": o.filter.include.iter().map(|p| p.as_str()).collect::<Vec<_>>(),
                    "exclude": o.filter.exclude.iter().map(|p| p.as_str()).collect::<Vec<_>>(),
                    "languages": o.filter.languages,
                    "max_age_secs": o.filter.max_age.map(|d| d.as_secs()),
                    "min_confidence": o.filter.min_confidence,
                    "limit": o.filter.limit,
                },
                "urls": {"rss": url(Format::Rss), "atom": url(Format::Atom), "json": url(Format::Json)},
            })
        })
        .collect();
    Json(list).into_response()
}

/// `GET /outputs.opml` (what to subscribe to) and `/sources.opml` (what is polled), OPML 2.0.
async fn opml(State(st): State<AppState>, Path(file): Path<String>) -> Response {
    let c = st.config();
    let esc = escape_html;
    let mut s =
        String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<opml version=\"2.0\"><head>");
    let outlines: Vec<String> = match file.as_str() {
        "outputs.opml" => {
            s.push_str("<title>feedsift outputs</title>");
            c.output_names()
                .iter()
                .filter_map(|n| c.output(n))
                .map(|o| {
                    format!(
                        "<outline type=\"rss\" text=\"{0}\" title=\"{0}\" xmlUrl=\"{1}\" htmlUrl=\"{2}\"/>",
                        esc(&o.title),
                        esc(&publish::feed_url(&c.service.public_url, &o.name, Format::Rss)),
                        esc(c.service.public_url.as_str())
                    )
                })
                .collect()
        }
        "sources.opml" => {
            s.push_str("<title>feedsift sources</title>");
            c.feeds
                .iter()
                .map(|f| {
                    let title = f.title.clone().unwrap_or_else(|| f.id.clone());
                    format!(
                        "<outline type=\"rss\" text=\"{0}\" title=\"{0}\" xmlUrl=\"{1}\"/>",
                        esc(&title),
                        esc(f.url.as_str())
                    )
                })
                .collect()
        }
        _ => {
            return not_found(format!(
                "no such document `{file}`: use /outputs.opml or /sources.opml"
            ))
        }
    };
    s.push_str("</head><body>");
    for o in outlines {
        s.push_str(&o);
    }
    s.push_str("</body></opml>\n");
    ([(header::CONTENT_TYPE, "text/x-opml; charset=utf-8")], s).into_response()
}

/// Percent-encodes a query value (everything but unreserved characters, RFC 3986 §2.3).
fn url_escape(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b',' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn bad_request(message: String) -> Response {
    (StatusCode::BAD_REQUEST, format!("{message}\n")).into_response()
}

fn not_found(message: String) -> Response {
    (StatusCode::NOT_FOUND, format!("{message}\n")).into_response()
}

async fn healthz(State(st): State<AppState>) -> Response {
    match st.store.feed_state("__healthz__") {
        Ok(_) => "ok\n".into_response(),
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, format!("store: {e}\n")).into_response(),
    }
}

async fn metrics(State(st): State<AppState>) -> Response {
    let config = st.config();
    let in_backoff = config
        .feeds
        .iter()
        .filter(|f| f.enabled)
        .filter(|f| {
            st.store
                .feed_state(&f.id)
                .is_ok_and(|s| s.consecutive_failures > 0)
        })
        .count();
    let stored = match st.store.len() {
        Ok(n) => n,
        Err(e) => return (StatusCode::SERVICE_UNAVAILABLE, format!("{e}\n")).into_response(),
    };
    let body = st.metrics.render(stored, in_backoff);
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    )
        .into_response()
}

/// One source as `GET /api/sources` shows it.
#[derive(Debug, Serialize)]
pub struct SourceStatus {
    /// Feed id.
    pub id: String,
    /// Configured URL.
    pub url: String,
    /// Effective cron schedule (the feed's own or the default).
    pub schedule: String,
    /// Whether it is polled.
    pub enabled: bool,
    /// The scheduler's next planned poll.
    pub next_fire: Option<DateTime<Utc>>,
    /// When the last poll finished.
    pub last_fetch: Option<DateTime<Utc>>,
    /// HTTP status of the last response.
    pub last_status: Option<u16>,
    /// The last error; null when the last fetch and parse succeeded.
    pub last_error: Option<String>,
    /// Polls failed in a row.
    pub consecutive_failures: u32,
    /// Items stored from this feed.
    pub items: u64,
    /// Stored `ETag`.
    pub etag: Option<String>,
    /// Stored `Last-Modified`.
    pub last_modified: Option<String>,
    /// Where a permanent redirect moved the feed.
    pub redirected_to: Option<String>,
}

async fn sources(State(st): State<AppState>) -> Response {
    let config = st.config();
    let mut out = Vec::with_capacity(config.feeds.len());
    for f in &config.feeds {
        let state = match st.store.feed_state(&f.id) {
            Ok(s) => s,
            Err(e) => return (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")).into_response(),
        };
        out.push(SourceStatus {
            id: f.id.clone(),
            url: f.url.to_string(),
            schedule: f.schedule.expr.clone(),
            enabled: f.enabled,
            next_fire: f.enabled.then(|| st.next_fires.get(&f.id)).flatten(),
            last_fetch: state.last_poll,
            last_status: state.last_status,
            last_error: state.last_error,
            consecutive_failures: state.consecutive_failures,
            items: st.store.items_of_feed(&f.id).unwrap_or(0),
            etag: state.etag,
            last_modified: state.last_modified,
            redirected_to: state.redirected_to,
        });
    }
    Json(out).into_response()
}

/// The admin token in force: `FEEDSIFT_ADMIN_TOKEN`, else `[service] admin_token`.
fn admin_token(config: &Config) -> Option<String> {
    std::env::var("FEEDSIFT_ADMIN_TOKEN")
        .ok()
        .filter(|t| !t.is_empty())
        .or_else(|| config.service.admin_token.clone())
}

/// Admin endpoints need `Authorization: Bearer <token>`; with no token configured they are
/// off. Returns the refusal, if any. The comparison takes the same time wherever the strings
/// differ.
fn check_admin(config: &Config, headers: &HeaderMap) -> Option<Response> {
    let Some(want) = admin_token(config) else {
        return Some(
            (
                StatusCode::FORBIDDEN,
                "admin endpoints are disabled: set FEEDSIFT_ADMIN_TOKEN or [service] admin_token\n",
            )
                .into_response(),
        );
    };
    let got = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    // Compared as SHA-256 digests, byte by byte without an early exit: the time taken says
    // nothing about how much of the token matched, nor how long it is.
    use sha2::Digest;
    let (g, w) = (
        sha2::Sha256::digest(got),
        sha2::Sha256::digest(want.as_bytes()),
    );
    let same = g
        .iter()
        .zip(w.iter())
        .fold(0u8, |acc, (a, b)| acc | (a ^ b))
        == 0;
    (!same).then(|| {
        (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            "a valid admin token is required (Authorization: Bearer …)\n",
        )
            .into_response()
    })
}

/// `GET /api/items?after=CURSOR&limit=N[&filters]`: items oldest to newest after a cursor.
async fn api_items(
    State(st): State<AppState>,
    Query(params): Query<Vec<(String, String)>>,
) -> Response {
    let (filter, limit) = match publish::parse_query(&params, &["after"]) {
        Ok(q) => q,
        Err(m) => return bad_request(m),
    };
    let after = match params
        .iter()
        .rev()
        .find(|(k, _)| k == "after")
        .map(|(_, v)| v.as_str())
    {
        None | Some("") => None,
        Some(c) => match c
            .strip_prefix('c')
            .and_then(|h| u64::from_str_radix(h, 16).ok())
        {
            Some(s) => Some(s),
            None => return bad_request(format!("`after={c}`: not a cursor returned by this API")),
        },
    };
    let limit = limit.unwrap_or(100).min(MAX_LIMIT);
    let store = st.store.clone();
    let config = st.config();
    /// One page of `/api/items`.
    #[derive(serde::Serialize)]
    struct Page<'a> {
        items: Vec<publish::ApiItem<'a>>,
        next: String,
    }
    let result = tokio::task::spawn_blocking(move || {
        let mut items = Vec::new();
        let mut last = after;
        // Bounded work per request: a filter that matches little still answers promptly, with
        // a cursor that skips what was examined.
        for item in store.after_seq(after).take(20_000) {
            let item = item.map_err(|e| e.to_string())?;
            last = Some(item.seq);
            if publish::matches(&filter, &item) {
                items.push(item);
                if items.len() >= limit {
                    break;
                }
            }
        }
        // Before any item exists the cursor is empty: "from the beginning".
        let page = Page {
            items: items
                .iter()
                .map(|i| publish::api_item(i, config.clean_titles))
                .collect(),
            next: last.map(|l| format!("c{l:x}")).unwrap_or_default(),
        };
        // Serialised here, on the blocking thread, straight from the stored items.
        serde_json::to_vec(&page).map_err(|e| format!("serialising a page of items: {e}"))
    })
    .await;
    match result {
        Ok(Ok(body)) => (
            [(axum::http::header::CONTENT_TYPE, "application/json")],
            body,
        )
            .into_response(),
        Ok(Err(e)) => (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")).into_response(),
    }
}

/// `POST /api/sources/{id}/poll` (admin): poll one feed now, through the scheduler.
async fn poll_source(
    State(st): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let config = st.config();
    if let Some(refused) = check_admin(&config, &headers) {
        return refused;
    }
    match config.feed(&id) {
        None => not_found(format!("no such feed `{id}`")),
        Some(f) if !f.enabled => {
            (StatusCode::CONFLICT, format!("feed `{id}` is disabled\n")).into_response()
        }
        Some(_) => match st.poll_now.send(id.clone()) {
            Ok(()) => (
                StatusCode::ACCEPTED,
                Json(serde_json::json!({"queued": id})),
            )
                .into_response(),
            Err(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "the scheduler is shutting down\n",
            )
                .into_response(),
        },
    }
}

async fn reload(State(st): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(refused) = check_admin(&st.config(), &headers) {
        return refused;
    }
    let reloader = Arc::clone(&st.reloader);
    match tokio::task::spawn_blocking(move || reloader.reload()).await {
        Ok(Ok(report)) => Json(serde_json::json!({"ok": true, "report": report})).into_response(),
        Ok(Err(e)) => {
            tracing::error!("config rejected, keeping the running one: {e}");
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                Json(serde_json::json!({"ok": false, "error": e.to_string()})),
            )
                .into_response()
        }
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")).into_response(),
    }
}

async fn index(State(st): State<AppState>) -> Html<String> {
    let config = st.config();
    let c = &config;
    let mut s = String::from(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>feedsift</title>\
         <style>body{font:16px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}\
         table{border-collapse:collapse}td,th{padding:.2rem .6rem;border-bottom:1px solid #ddd;text-align:left}\
         .err{color:#b00}</style></head><body><h1>feedsift</h1><h2>Feeds to subscribe to</h2><ul>",
    );
    // Items first seen in the last 24 hours, by category (a bounded walk from the newest).
    let since = chrono::Utc::now() - chrono::Duration::hours(24);
    let store = st.store.clone();
    let counts = tokio::task::spawn_blocking(move || {
        let mut n = [0usize; 4];
        for item in store.newest_inserted().take(50_000).flatten() {
            if item.first_seen < since {
                break;
            }
            let k = crate::model::Category::ALL
                .iter()
                .position(|c| *c == item.class.category)
                .unwrap_or(3);
            n[k] += 1;
        }
        n
    })
    .await
    .unwrap_or_default();
    for name in c.output_names() {
        let title = c.output(&name).map(|o| o.title).unwrap_or_default();
        let _ = write!(
            s,
            "<li><b>{}</b> — {}: ",
            escape_html(&name),
            escape_html(&title)
        );
        for f in [Format::Rss, Format::Atom, Format::Json] {
            let url = publish::feed_url(&c.service.public_url, &name, f);
            let _ = write!(s, "<a href=\"{0}\">{1}</a> ", escape_html(&url), f);
        }
        s.push_str("</li>");
    }
    let _ = write!(s, "</ul><h2>Last 24 hours</h2><p>");
    for (c, n) in crate::model::Category::ALL.iter().zip(counts) {
        let _ = write!(s, "{}: <b>{n}</b> &nbsp; ", c.as_str());
    }
    let _ = write!(
        s,
        "</p><h2>Sources</h2><p>{} items stored.</p><table><tr><th>id</th><th>url</th><th>schedule</th><th>last poll</th><th>status</th></tr>",
        st.store.len().map_or_else(|e| e.to_string(), |n| n.to_string())
    );
    for f in &c.feeds {
        let state = st.store.feed_state(&f.id).unwrap_or_default();
        let status = match (&state.last_error, state.last_poll) {
            _ if !f.enabled => "disabled".to_string(),
            (Some(e), _) => format!("<span class=\"err\">{}</span>", escape_html(e)),
            (None, Some(_)) => "ok".into(),
            (None, None) => "not polled yet".into(),
        };
        let _ = write!(
            s,
            "<tr><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
            escape_html(&f.id),
            escape_html(f.url.as_str()),
            escape_html(&f.schedule.expr),
            state
                .last_poll
                .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
                .unwrap_or_else(|| "—".into()),
            status
        );
    }
    s.push_str("</table><p><a href=\"/metrics\">metrics</a> · <a href=\"/healthz\">health</a></p></body></html>");
    Html(s)
}
