//! The HTTP face: published feeds, health and metrics, over `axum`.
//!
//! Takes: the configuration, the store and the metrics. Gives:
//! - `GET /feeds/{output}.rss|.atom|.json` — an output rendered by [`crate::publish`]; the same
//!   bytes `feedsift export` writes. `ETag` and `Last-Modified` on every response and
//!   `304 Not Modified` for a matching `If-None-Match` (RFC 9110 §13.1.2), so feed readers that
//!   poll every few minutes cost a render and a hash, not a transfer.
//! - Pages for people (`pages.rs`, templates in `templates/`): `GET /` — the outputs with
//!   their newest items and feed URLs; `GET /outputs/{name}` — a river of an output's items,
//!   narrowed by the feeds' query filters, paged by their cursors; `GET /sources` — every
//!   feed's health, failing first. For the admin (`admin.rs`, sessions in [`session`]):
//!   `GET`/`POST /signin`, `POST /signout`, `POST /sources/{id}/poll`, each form with a CSRF
//!   token.
//! - `GET /healthz` — `ok` while the store answers.
//! - `GET /metrics` — Prometheus text.
//! - `GET /api/outputs`, `/api/sources`, `/api/items` — JSON; `POST /api/reload` and
//!   `POST /api/sources/{id}/poll` for the admin; `GET /outputs.opml`, `/sources.opml`.
//! - The admin's corrections of item labels (`corrections.rs`): `POST /api/items/{id}/label`
//!   (bearer token and JSON, or the river's form with the session and its CSRF token) and
//!   `GET /api/corrections`.
//!
//! Guarantees: every handler returns `Result<_, ApiError>`, so every failure is typed and
//! answered in one place ([`ApiError`]): unknown outputs and formats are a 404 with a one-line
//! plain-text reason, a malformed query a 400 naming the parameter. No store call runs on an
//! async worker thread: each goes through [`blocking`].
//!
//! Layout, one file per concern: `error.rs` (every failure and its response), `feed.rs` (the
//! published feeds, their render cache and RFC 5005 links), [`conditional`] (the pure
//! conditional-GET decision), `api.rs` (the JSON API and the admin endpoints),
//! `corrections.rs` (relabelling items and listing the corrections), `pages.rs` (the
//! pages for people), `admin.rs` (the admin's forms on them), [`session`] (sign-in cookies and
//! CSRF tokens), `opml.rs` (OPML), `ops.rs` (health and metrics). Here: the shared state, the router, the
//! HTTP server loop and its limits, and [`blocking`], the one way handlers reach the store.

mod admin;
mod api;
pub mod conditional;
mod corrections;
mod error;
mod feed;
mod opml;
mod ops;
mod pages;
pub mod session;

pub use api::SourceStatus;
pub use corrections::{item_key, CorrectionJson};
pub use error::ApiError;
pub use feed::{CachedFeed, FeedCache};

use crate::config::{Config, Filter};
use crate::metrics::Metrics;
use crate::model::FeedState;
use crate::publish::{self, Format};
use crate::reload::Reloader;
use crate::scheduler::NextFires;
use crate::store::{Store, StoreError};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use std::sync::Arc;
use tokio::sync::watch;

/// What every handler shares: one reference-counted [`Shared`], so the clone axum makes of the
/// state for each request is one counter increment. (A struct of ten handles cost ten
/// increments and ten decrements on counters both cores write: 7% of serving a cached feed,
/// docs/PERFORMANCE.md.)
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl AppState {
    /// The state handlers share.
    pub fn new(shared: Shared) -> AppState {
        AppState(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// What [`AppState`] holds.
pub struct Shared {
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
    /// Admin sessions of the pages (in memory: a restart signs the admin out).
    pub sessions: Arc<session::Sessions>,
    /// The service's clock: what time a correction is recorded at.
    pub clock: crate::clock::Clock,
}

impl AppState {
    /// The configuration in force now.
    fn config(&self) -> Arc<Config> {
        Arc::clone(&self.config.borrow())
    }
}

/// The service's routes.
pub fn router(state: AppState) -> Router {
    // Fix "when the service started" now, not at the first request for an empty output.
    publish::started();
    Router::new()
        .route("/", get(pages::index))
        .route("/outputs/{name}", get(pages::river))
        .route("/sources", get(pages::sources))
        .route("/sources/{id}/poll", post(admin::poll_now))
        .route("/signin", get(admin::signin_form).post(admin::signin))
        .route("/signout", post(admin::signout))
        .route("/assets/site.css", get(pages::stylesheet))
        .route("/healthz", get(ops::healthz))
        .route("/metrics", get(ops::metrics))
        .route("/feeds/{file}", get(feed::feed))
        .route("/api/sources", get(api::sources))
        .route("/api/reload", post(api::reload))
        .route("/api/sources/{id}/poll", post(api::poll_source))
        .route("/api/items", get(api::api_items))
        .route("/api/items/{id}/label", post(corrections::label))
        .route("/api/corrections", get(corrections::list))
        .route("/api/outputs", get(api::outputs))
        .route("/{file}", get(opml::opml))
        .fallback(|| async { (StatusCode::NOT_FOUND, "not found\n") })
        .layer(axum::middleware::from_fn(time_limit))
        // Only the pages' small forms have bodies; anything sent is refused past 64 KiB.
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
            accepted = accept(&listener) => match accepted {
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

/// Accepts one connection, ready to serve: with `TCP_NODELAY` set, as `axum::serve` and nginx
/// (`tcp_nodelay on`) do. Without it a response's last short segment waits behind Nagle's
/// algorithm for the client's delayed ACK (RFC 1122, 4.2.3.2 and 4.2.3.4; 40 ms on Linux): a
/// 1 MB page of `/api/items` took 41 ms instead of a few, and keep-alive clients saw it on
/// every response.
async fn accept(
    listener: &tokio::net::TcpListener,
) -> std::io::Result<(tokio::net::TcpStream, std::net::SocketAddr)> {
    let (stream, peer) = listener.accept().await?;
    if let Err(e) = stream.set_nodelay(true) {
        // Not fatal: the connection still works, only slower.
        tracing::debug!(error = %e, "could not set TCP_NODELAY");
    }
    Ok((stream, peer))
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
    // A shared string, not a copy: this runs for every request.
    let route = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .cloned();
    let started = std::time::Instant::now();
    let resp = next.run(req).await;
    let route = route.as_ref().map_or("unmatched", |p| p.as_str());
    metrics.record_http(route, resp.status().as_u16(), started.elapsed());
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
    let links = publish::PageLinks {
        // As `GET /feeds/…` dates a page with no items.
        empty_updated: if items.is_empty() {
            publish::store_updated(store)?
        } else {
            None
        },
        ..Default::default()
    };
    Ok(Some(publish::render_page(
        format,
        &output,
        &items,
        &config.service.public_url,
        config.clean_titles,
        &links,
    )))
}

/// Runs `f` with the store on the blocking pool and waits for it: the one boundary between
/// the async handlers and the (synchronous) store, so a slow store — PostgreSQL round trips,
/// a cold sled page — never stalls a worker thread. A panic in `f` is an [`ApiError::Task`].
pub async fn blocking<T, F>(store: &Store, f: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&Store) -> Result<T, ApiError> + Send + 'static,
{
    let store = store.clone();
    tokio::task::spawn_blocking(move || f(&store)).await?
}

/// The states of the feeds `ids`, in that order, in one batched read: the one place
/// `/api/sources`, `/metrics` and the pages read feed states, run inside [`blocking`].
fn feed_states(store: &Store, ids: &[String]) -> Result<Vec<FeedState>, StoreError> {
    store.feed_states(ids)
}

/// The states and stored-item counts of the feeds `ids`, in that order (two batched reads):
/// what `/api/sources` and `/sources` show. Blocking.
fn feed_health(store: &Store, ids: &[String]) -> Result<(Vec<FeedState>, Vec<u64>), StoreError> {
    Ok((feed_states(store, ids)?, store.items_of_feeds(ids)?))
}

#[cfg(test)]
mod tests {
    /// Every accepted connection has Nagle's algorithm off (see [`super::accept`]).
    #[tokio::test]
    async fn accepted_connections_have_nodelay_set() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let client = tokio::net::TcpStream::connect(addr);
        let (accepted, client) = tokio::join!(super::accept(&listener), client);
        let (stream, peer) = accepted.unwrap();
        assert_eq!(peer, client.unwrap().local_addr().unwrap());
        assert!(stream.nodelay().unwrap(), "TCP_NODELAY is not set");
    }
}
