//! The JSON API: `/api/outputs`, `/api/sources`, `/api/items`, and the admin endpoints
//! `POST /api/reload` and `POST /api/sources/{id}/poll`.
//!
//! Takes: the configuration in force, the store, the scheduler's plan and its poll queue.
//! Gives: JSON documents (see each handler). Guarantees: store reads run off the async threads
//! through [`blocking`], all feeds' states in one call; admin endpoints answer only to the
//! configured token, compared in constant time; every failure is an [`ApiError`].

use super::{blocking, feed_health, ApiError, AppState};
use crate::config::{Config, MAX_LIMIT};
use crate::publish::{self, Format};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::ops::ControlFlow;
use std::sync::Arc;

/// `GET /api/outputs`: every output, its filter and its URLs.
pub(super) async fn outputs(State(st): State<AppState>) -> Result<Response, ApiError> {
    let c = st.config();
    let list: Vec<serde_json::Value> = c
        .output_names()
        .iter()
        .filter_map(|n| c.output(n))
        .map(|o| {
            let url = |f| publish::feed_url(&c.service.public_url, &o.name, f);
            serde_json::json!({
                "name": o.name,
                "title": crate::text::plain_text(&o.title),
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
    Ok(Json(list).into_response())
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

/// `GET /api/sources`: every configured feed with its state and item count.
pub(super) async fn sources(State(st): State<AppState>) -> Result<Response, ApiError> {
    let config = st.config();
    let ids: Vec<String> = config.feeds.iter().map(|f| f.id.clone()).collect();
    let (states, counts) = blocking(&st.store, move |store| Ok(feed_health(store, &ids)?)).await?;
    let out: Vec<SourceStatus> = config
        .feeds
        .iter()
        .zip(states.into_iter().zip(counts))
        .map(|(f, (state, items))| SourceStatus {
            id: f.id.clone(),
            url: f.url.to_string(),
            schedule: f.schedule.expr.clone(),
            enabled: f.enabled,
            next_fire: f.enabled.then(|| st.next_fires.get(&f.id)).flatten(),
            last_fetch: state.last_poll,
            last_status: state.last_status,
            last_error: state.last_error,
            consecutive_failures: state.consecutive_failures,
            items,
            etag: state.etag,
            last_modified: state.last_modified,
            redirected_to: state.redirected_to,
        })
        .collect();
    Ok(Json(out).into_response())
}

/// `GET /api/items?after=CURSOR&limit=N[&filters]`: items oldest to newest after a cursor,
/// `{"items":[...],"next":"c…"}`; a page that read anything also names the next page in a
/// `Link: <…>; rel="next"` header (RFC 8288), so a client can ask for it before it has read
/// this one's body.
pub(super) async fn api_items(
    State(st): State<AppState>,
    Query(params): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let (filter, limit) = publish::parse_query(&params, &["after"])?;
    let after = match params
        .iter()
        .rev()
        .find(|(k, _)| k == "after")
        .map(|(_, v)| v.as_str())
    {
        None | Some("") => None,
        Some(c) => Some(
            c.strip_prefix('c')
                .and_then(|h| u64::from_str_radix(h, 16).ok())
                .ok_or_else(|| ApiError::BadItemCursor(c.to_string()))?,
        ),
    };
    let limit = limit.unwrap_or(100).min(MAX_LIMIT);
    let config = st.config();
    let clean_titles = config.clean_titles;
    let public_url = config.service.public_url.clone();
    let (body, next) = blocking(&st.store, move |store| {
        // `{"items":[...],"next":"c…"}`, each item written as soon as it is read (the store
        // lends it and reuses its buffers for the next), on the blocking thread, into a buffer
        // sized for a typical item (about 1 KB of JSON) rather than grown by doubling.
        let mut body = Vec::with_capacity(256 + 1024 * limit);
        body.extend_from_slice(br#"{"items":["#);
        let (mut written, mut last, mut failed) = (0, after, None);
        // Bounded work per request: a filter that matches little still answers promptly, with
        // a cursor that skips what was examined.
        store.visit_after_seq(after, limit, 20_000, |item| {
            last = Some(item.seq);
            if !publish::matches(&filter, item) {
                return ControlFlow::Continue(());
            }
            if written > 0 {
                body.push(b',');
            }
            if let Err(e) = serde_json::to_writer(&mut body, &publish::api_item(item, clean_titles))
            {
                failed = Some(e);
                return ControlFlow::Break(());
            }
            written += 1;
            if written < limit {
                ControlFlow::Continue(())
            } else {
                ControlFlow::Break(())
            }
        })?;
        if let Some(e) = failed {
            return Err(ApiError::Serialize(e));
        }
        // Before any item exists the cursor is empty: "from the beginning".
        let next = last.map(|l| format!("c{l:x}")).unwrap_or_default();
        body.extend_from_slice(br#"],"next":"#);
        serde_json::to_writer(&mut body, &next).map_err(ApiError::Serialize)?;
        body.push(b'}');
        // Whether this page read anything: only then is there a next page to ask for now.
        let moved = (last != after).then_some(next);
        Ok((body, moved))
    })
    .await?;
    let mut response = ([(header::CONTENT_TYPE, "application/json")], body).into_response();
    // RFC 8288: the next page's address, in the headers, so a client can ask for it while it
    // still reads this one. Left out when the page read nothing (the cursor is at the end).
    if let Some(next) = next {
        let link = format!(
            "<{}>; rel=\"next\"",
            next_page_url(&public_url, &params, &next)
        );
        if let Ok(v) = HeaderValue::from_str(&link) {
            response.headers_mut().insert(header::LINK, v);
        }
    }
    Ok(response)
}

/// `/api/items` with the request's own query (filters and `limit`) and `after=next`.
fn next_page_url(public_url: &url::Url, params: &[(String, String)], next: &str) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in params.iter().filter(|(k, _)| k != "after") {
        query.append_pair(k, v);
    }
    query.append_pair("after", next);
    let base = public_url
        .join("api/items")
        .map(|u| u.to_string())
        .unwrap_or_else(|_| format!("{public_url}api/items"));
    format!("{base}?{}", query.finish())
}

/// The admin token in force: `FEEDSIFT_ADMIN_TOKEN`, else `[service] admin_token`.
pub(super) fn admin_token(config: &Config) -> Option<String> {
    std::env::var("FEEDSIFT_ADMIN_TOKEN")
        .ok()
        .filter(|t| !t.is_empty())
        .or_else(|| config.service.admin_token.clone())
}

/// Admin endpoints need `Authorization: Bearer <token>`; with no token configured they are
/// off. The comparison takes the same time wherever the strings differ.
pub(super) fn check_admin(config: &Config, headers: &HeaderMap) -> Result<(), ApiError> {
    let want = admin_token(config).ok_or(ApiError::AdminDisabled)?;
    let got = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if super::session::same_secret(got, &want) {
        Ok(())
    } else {
        Err(ApiError::Unauthorized)
    }
}

/// Queues a poll of feed `id` now, through the scheduler (the API's and the pages' poll-now).
pub(super) fn queue_poll(st: &AppState, config: &Config, id: &str) -> Result<(), ApiError> {
    match config.feed(id) {
        None => Err(ApiError::NoSuchSource(id.to_string())),
        Some(f) if !f.enabled => Err(ApiError::SourceDisabled(id.to_string())),
        Some(_) => st
            .poll_now
            .send(id.to_string())
            .map_err(|_| ApiError::ShuttingDown),
    }
}

/// `POST /api/sources/{id}/poll` (admin): poll one feed now, through the scheduler.
pub(super) async fn poll_source(
    State(st): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let config = st.config();
    check_admin(&config, &headers)?;
    queue_poll(&st, &config, &id)?;
    Ok((
        StatusCode::ACCEPTED,
        Json(serde_json::json!({"queued": id})),
    )
        .into_response())
}

/// `POST /api/reload` (admin): re-read the configuration file; an invalid one is refused and
/// the running one kept.
pub(super) async fn reload(
    State(st): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    check_admin(&st.config(), &headers)?;
    let reloader = Arc::clone(&st.reloader);
    // Not a store call: reading and checking the file is the blocking part.
    let report = tokio::task::spawn_blocking(move || reloader.reload())
        .await?
        .map_err(ApiError::ConfigRejected)?;
    Ok(Json(serde_json::json!({"ok": true, "report": report})).into_response())
}
