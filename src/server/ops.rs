//! Operations endpoints: `GET /healthz` and `GET /metrics`.
//!
//! Takes: the store, the service counters and the configuration in force. Gives: `ok` while
//! the store answers (else 503 naming the store's error); the Prometheus text of
//! [`crate::metrics::Metrics::render`] with the two gauges read at scrape time. Guarantees:
//! each scrape reads the store in one blocking call, off the async threads (one read of all
//! feeds' states, not one call per feed); `/metrics` still answers while the store does not.

use super::{blocking, feed_states, ApiError, AppState};
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};

/// `GET /healthz`.
pub(super) async fn healthz(State(st): State<AppState>) -> Result<Response, ApiError> {
    blocking(&st.store, |store| {
        store
            .feed_state("__healthz__")
            .map_err(ApiError::StoreUnavailable)
    })
    .await?;
    Ok("ok\n".into_response())
}

/// `GET /metrics`.
pub(super) async fn metrics(State(st): State<AppState>) -> Result<Response, ApiError> {
    let config = st.config();
    let enabled: Vec<String> = config
        .feeds
        .iter()
        .filter(|f| f.enabled)
        .map(|f| f.id.clone())
        .collect();
    // A store that cannot be read fails the scrape (503), which Prometheus records as `up 0`:
    // a gauge reading 0 would say something false.
    let (stored, in_backoff) = blocking(&st.store, move |store| {
        let in_backoff = feed_states(store, &enabled)?
            .iter()
            .filter(|s| s.consecutive_failures > 0)
            .count();
        Ok((store.len()?, in_backoff))
    })
    .await
    .map_err(|e| match e {
        ApiError::Store(e) => ApiError::StoreUnavailable(e),
        e => e,
    })?;
    let body = st.metrics.render(stored, in_backoff);
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    )
        .into_response())
}
