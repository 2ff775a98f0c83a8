//! Every way a request can fail, typed, and how each one is answered.
//!
//! Takes: the failures of the handlers (bad queries, unknown names, store and task errors,
//! refusals). Gives: [`ApiError`], which axum turns into a response through [`IntoResponse`].
//! Guarantees: one status per variant; a plain-text body that is the error's text and a
//! newline (the reload refusal alone answers in JSON, as `POST /api/reload` always has); the
//! underlying error is kept as the source; every 5xx is logged.

use crate::config::ConfigError;
use crate::publish::QueryError;
use crate::store::StoreError;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

/// Why a request was not answered with what it asked for.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A query parameter is unknown or malformed: 400.
    #[error(transparent)]
    Query(#[from] QueryError),
    /// `before=` is not a cursor from a feed's links: 400.
    #[error("`before={0}`: not a page cursor from this feed's links")]
    BadPageCursor(String),
    /// `after=` is not a cursor returned by `/api/items`: 400.
    #[error("`after={0}`: not a cursor returned by this API")]
    BadItemCursor(String),
    /// `GET /api/corrections?before=` is not a cursor it gave: 400.
    #[error("`before={0}`: not a cursor returned by /api/corrections")]
    BadCorrectionCursor(String),
    /// `limit=` out of range: 400.
    #[error("`limit={0}`: expected a number from 1 to {1}")]
    BadLimit(String, usize),
    /// A query parameter this endpoint does not take: 400, listing those it takes.
    #[error("unknown query parameter `{0}` (supported: {1})")]
    UnknownParam(String, &'static str),
    /// A request body that is not what the endpoint reads: 400, saying what it expects.
    #[error("{0}")]
    BadBody(String),
    /// A label that is none of the four: 400, naming them.
    #[error("unknown label `{0}`: use one of regional_politics, finance, lifestyle, other")]
    UnknownLabel(String),
    /// No stored item has that id: 404.
    #[error("no such item `{0}` (use an id as /api/items gives it)")]
    NoSuchItem(String),
    /// `/feeds/{file}` without an extension: 404.
    #[error("no such feed `{0}`: use /feeds/NAME.rss, .atom or .json")]
    NoSuchFeedFile(String),
    /// An extension that is no feed format: 404.
    #[error("unknown format `.{0}`: use .rss, .atom or .json")]
    UnknownFormat(String),
    /// No output of that name: 404, listing the outputs there are.
    #[error("no such output `{name}`; outputs: {}", .outputs.join(", "))]
    NoSuchOutput {
        /// The name asked for.
        name: String,
        /// Every configured output.
        outputs: Vec<String>,
    },
    /// A top-level document that does not exist: 404.
    #[error("no such document `{0}`: use /outputs.opml or /sources.opml")]
    NoSuchDocument(String),
    /// No configured feed of that id: 404.
    #[error("no such feed `{0}`")]
    NoSuchSource(String),
    /// The feed exists but is not polled: 409.
    #[error("feed `{0}` is disabled")]
    SourceDisabled(String),
    /// No admin token is configured, so admin endpoints are off: 403.
    #[error("admin endpoints are disabled: set FEEDSIFT_ADMIN_TOKEN or [service] admin_token")]
    AdminDisabled,
    /// The admin token is missing or wrong: 401 with `WWW-Authenticate: Bearer`.
    #[error("a valid admin token is required (Authorization: Bearer …)")]
    Unauthorized,
    /// A form was posted without its CSRF token, with a wrong one, or without a session: 403.
    #[error("{0}")]
    Forbidden(&'static str),
    /// A page's template failed to render: 500.
    #[error("rendering a page: {0}")]
    Render(#[from] askama::Error),
    /// The scheduler no longer takes requests: 503.
    #[error("the scheduler is shutting down")]
    ShuttingDown,
    /// The new configuration is invalid; the running one stays: 422, in JSON.
    #[error("{0}")]
    ConfigRejected(#[source] ConfigError),
    /// `/healthz`: the store does not answer: 503.
    #[error("store: {0}")]
    StoreUnavailable(#[source] StoreError),
    /// Reading the store failed: 500.
    #[error("{0}")]
    Store(#[from] StoreError),
    /// A page of items could not be serialised: 500.
    #[error("serialising a page of items: {0}")]
    Serialize(#[source] serde_json::Error),
    /// The blocking task doing the work panicked or was cancelled: 500.
    #[error("{0}")]
    Task(#[from] tokio::task::JoinError),
}

impl ApiError {
    /// The status this error is answered with.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Query(_)
            | ApiError::BadPageCursor(_)
            | ApiError::BadItemCursor(_)
            | ApiError::BadCorrectionCursor(_)
            | ApiError::BadLimit(..)
            | ApiError::UnknownParam(..)
            | ApiError::BadBody(_)
            | ApiError::UnknownLabel(_) => StatusCode::BAD_REQUEST,
            ApiError::NoSuchFeedFile(_)
            | ApiError::UnknownFormat(_)
            | ApiError::NoSuchOutput { .. }
            | ApiError::NoSuchDocument(_)
            | ApiError::NoSuchSource(_)
            | ApiError::NoSuchItem(_) => StatusCode::NOT_FOUND,
            ApiError::SourceDisabled(_) => StatusCode::CONFLICT,
            ApiError::AdminDisabled | ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::ShuttingDown | ApiError::StoreUnavailable(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            ApiError::ConfigRejected(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Store(_)
            | ApiError::Serialize(_)
            | ApiError::Render(_)
            | ApiError::Task(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        match &self {
            ApiError::ConfigRejected(e) => {
                tracing::error!("config rejected, keeping the running one: {e}");
                return (
                    status,
                    Json(serde_json::json!({"ok": false, "error": e.to_string()})),
                )
                    .into_response();
            }
            ApiError::Unauthorized => {
                return (
                    status,
                    [(header::WWW_AUTHENTICATE, "Bearer")],
                    format!("{self}\n"),
                )
                    .into_response();
            }
            _ if status.is_server_error() => {
                tracing::error!(error = %self, status = status.as_u16(), "request failed");
            }
            _ => {}
        }
        (status, format!("{self}\n")).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn answer(e: ApiError) -> (StatusCode, Option<String>, String) {
        let resp = e.into_response();
        let auth = resp
            .headers()
            .get(header::WWW_AUTHENTICATE)
            .map(|v| v.to_str().unwrap().to_string());
        let status = resp.status();
        let body = axum::body::to_bytes(resp.into_body(), 1 << 16)
            .await
            .unwrap();
        (status, auth, String::from_utf8(body.to_vec()).unwrap())
    }

    /// Status and body of each kind of refusal, as clients have always seen them.
    #[tokio::test]
    async fn each_error_keeps_its_status_and_body() {
        let cases = [
            (
                ApiError::BadPageCursor("x".into()),
                400,
                "`before=x`: not a page cursor from this feed's links\n",
            ),
            (
                ApiError::NoSuchOutput {
                    name: "n".into(),
                    outputs: vec!["a".into(), "b".into()],
                },
                404,
                "no such output `n`; outputs: a, b\n",
            ),
            (
                ApiError::SourceDisabled("f".into()),
                409,
                "feed `f` is disabled\n",
            ),
            (
                ApiError::StoreUnavailable(StoreError::Spec("down".into())),
                503,
                "store: store: down\n",
            ),
            (
                ApiError::Store(StoreError::Spec("down".into())),
                500,
                "store: down\n",
            ),
        ];
        for (e, status, body) in cases {
            let (s, _, b) = answer(e).await;
            assert_eq!((s.as_u16(), b.as_str()), (status, body));
        }
        let (s, auth, b) = answer(ApiError::Unauthorized).await;
        assert_eq!(
            (s.as_u16(), auth.as_deref(), b.as_str()),
            (
                401,
                Some("Bearer"),
                "a valid admin token is required (Authorization: Bearer …)\n"
            )
        );
    }

    /// `parse_query`'s refusals keep their 400 texts, each naming the parameter.
    #[tokio::test]
    async fn query_errors_keep_their_400_texts() {
        let max = crate::config::MAX_LIMIT;
        let exact = [
            (
                "region",
                "火星",
                "`region=火星`: unknown region (use a province, city or county, e.g. 四川, 成都)"
                    .to_string(),
            ),
            (
                "min_confidence",
                "2",
                "`min_confidence=2`: expected a number from 0 to 1".into(),
            ),
            (
                "limit",
                "0",
                format!("`limit=0`: expected a number from 1 to {max}"),
            ),
            ("bogus", "1", "unknown query parameter `bogus` (supported: category, source, region, language, q, exclude, max_age, min_confidence, limit, before)".into()),
        ];
        for (k, v, want) in exact {
            let e = crate::publish::parse_query(&[(k.into(), v.into())], &["before"]).unwrap_err();
            let (s, _, b) = answer(e.into()).await;
            assert_eq!((s.as_u16(), b), (400, format!("{want}\n")));
        }
        for (k, v, prefix) in [
            ("category", "nope", "`category=nope`: "),
            ("q", "/[/", "`q`: "),
            ("exclude", "/[/", "`exclude`: "),
            ("max_age", "soon", "`max_age`: "),
        ] {
            let e = crate::publish::parse_query(&[(k.into(), v.into())], &[]).unwrap_err();
            let (s, _, b) = answer(e.into()).await;
            assert!(
                s == 400 && b.starts_with(prefix) && b.ends_with('\n'),
                "{b}"
            );
        }
    }
}
