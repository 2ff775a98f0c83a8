//! The admin's corrections of item labels over HTTP: `POST /api/items/{id}/label` and
//! `GET /api/corrections`.
//!
//! Takes: the admin's credentials — `Authorization: Bearer <admin token>` with a JSON body
//! `{"label": "finance"}`, or (the river's relabel form) the signed-in page session's cookie
//! with a form body `csrf=…&label=…&back=…` — the item's id as `/api/items` gives it
//! (`urn:feedsift:KEY`, or the bare KEY), and the store. Gives: the item relabelled at once
//! ([`crate::store::Backend::correct`], timed by the service's [`crate::clock::Clock`]) and the
//! correction in JSON ([`CorrectionJson`]); for the form, a 303 back to the page it came from.
//! `GET /api/corrections?before=CURSOR&limit=N` (admin) lists the corrections newest first:
//! `{"corrections": [CorrectionJson…], "next": CURSOR}` (`next` empty after the last page).
//!
//! Guarantees: credentials are checked before the body is read, exactly as the other admin
//! endpoints check them (no admin token configured: 403; a missing or wrong bearer token: 401;
//! a form without a live session or with a wrong CSRF token: 403); then a body that is not the
//! JSON or form asked for is a 400 saying what is expected, an unknown label a 400 naming the
//! four labels, an unknown item a 404. Every failure is an [`ApiError`]; store calls go through
//! [`blocking`].

use super::admin::admin_session;
use super::api::check_admin;
use super::{blocking, ApiError, AppState};
use crate::config::MAX_LIMIT;
use crate::model::Category;
use crate::store::Correction;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Json;

/// A correction as the API shows it.
#[derive(Debug, serde::Serialize)]
pub struct CorrectionJson {
    /// The correction's number (1, 2, 3… in the order they were made).
    pub correction: u64,
    /// The item's id, as `/api/items` gives it (`urn:feedsift:KEY`).
    pub item: String,
    /// The label the admin chose.
    pub label: Category,
    /// The label it had before.
    pub previous: Category,
    /// When (RFC 3339, UTC).
    pub at: String,
    /// How: `api`, `page` or `cli`.
    pub by: String,
    /// The feed that carried the item first.
    pub source: String,
    /// The item's title.
    pub title: String,
}

impl From<&Correction> for CorrectionJson {
    fn from(c: &Correction) -> CorrectionJson {
        CorrectionJson {
            correction: c.id,
            item: format!("urn:feedsift:{}", c.key),
            label: c.label,
            previous: c.previous,
            at: c.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            by: c.by.clone(),
            source: c.feed_id.clone(),
            title: crate::text::plain_text(&c.title).into_owned(),
        }
    }
}

/// The JSON body of `POST /api/items/{id}/label`.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct LabelBody {
    label: String,
}

/// The relabel form of the river: `csrf`, `label` and `back` (the page to go back to, a path
/// on this site); other fields are ignored.
#[derive(Default)]
struct LabelForm {
    csrf: String,
    label: String,
    back: String,
}

impl LabelForm {
    fn parse(body: &[u8]) -> LabelForm {
        let mut f = LabelForm::default();
        for (k, v) in url::form_urlencoded::parse(body) {
            match &*k {
                "csrf" => f.csrf = v.into_owned(),
                "label" => f.label = v.into_owned(),
                "back" => f.back = v.into_owned(),
                _ => {}
            }
        }
        f
    }
}

/// The label named `s`, or a 400 naming the labels there are.
fn parse_label(s: &str) -> Result<Category, ApiError> {
    s.trim()
        .parse::<Category>()
        .map_err(|_| ApiError::UnknownLabel(s.to_string()))
}

/// The store key of an item id as `/api/items` gives it (`urn:feedsift:KEY`) or a bare key.
pub fn item_key(id: &str) -> &str {
    id.strip_prefix("urn:feedsift:").unwrap_or(id)
}

/// Relabels item `id` as `label`, asked `by`: the correction, or a 404.
async fn relabel(
    st: &AppState,
    id: &str,
    label: Category,
    by: &'static str,
) -> Result<Correction, ApiError> {
    let key = item_key(id).to_string();
    let at = st.clock.now();
    let c = blocking(&st.store, move |store| {
        Ok(store.correct(&key, label, by, at)?)
    })
    .await?
    .ok_or_else(|| ApiError::NoSuchItem(id.to_string()))?;
    st.metrics.record_correction();
    tracing::info!(item = %c.key, label = %c.label, previous = %c.previous, by, "item relabelled");
    Ok(c)
}

/// Whether the request's body is a form (the river's relabel form) rather than JSON.
fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"))
}

/// `POST /api/items/{id}/label`: relabels an item (see the module's docs for the two ways in).
pub(super) async fn label(
    State(st): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let config = st.config();
    if is_form(&headers) {
        let form = LabelForm::parse(&body);
        admin_session(&st, &config, &headers, &form.csrf)?;
        let label = parse_label(&form.label)?;
        let c = relabel(&st, &id, label, "page").await?;
        return Ok(
            Redirect::to(&format!("{}#story-{}", local_path(&form.back), c.key)).into_response(),
        );
    }
    check_admin(&config, &headers)?;
    let b: LabelBody = serde_json::from_slice(&body).map_err(|e| {
        ApiError::BadBody(format!(
            "expected a JSON body {{\"label\": \"finance\"}} (one of {}): {e}",
            labels()
        ))
    })?;
    let label = parse_label(&b.label)?;
    let c = relabel(&st, &id, label, "api").await?;
    Ok(Json(CorrectionJson::from(&c)).into_response())
}

/// The four labels, as a list for messages.
pub(super) fn labels() -> String {
    Category::ALL
        .iter()
        .map(|c| c.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// `back` when it is a path on this site (`/…`, not `//host`), else `/`: a form cannot send
/// the admin elsewhere.
fn local_path(back: &str) -> &str {
    let ok = back.starts_with('/')
        && !back.starts_with("//")
        && !back.contains(['\\', '\r', '\n', '#'])
        && back.len() < 2048;
    if ok {
        back
    } else {
        "/"
    }
}

/// `GET /api/corrections?before=CURSOR&limit=N` (admin): corrections newest first.
pub(super) async fn list(
    State(st): State<AppState>,
    headers: HeaderMap,
    Query(params): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    check_admin(&st.config(), &headers)?;
    let (mut before, mut limit) = (None, 100usize);
    for (k, v) in &params {
        match k.as_str() {
            "before" if v.is_empty() => before = None,
            "before" => {
                before = Some(
                    v.parse::<u64>()
                        .ok()
                        .filter(|n| *n > 0)
                        .ok_or_else(|| ApiError::BadCorrectionCursor(v.clone()))?,
                )
            }
            "limit" => {
                limit = v
                    .parse::<usize>()
                    .ok()
                    .filter(|n| (1..=MAX_LIMIT).contains(n))
                    .ok_or_else(|| ApiError::BadLimit(v.clone(), MAX_LIMIT))?
            }
            _ => return Err(ApiError::UnknownParam(k.clone(), "before, limit")),
        }
    }
    let page = blocking(
        &st.store,
        move |store| Ok(store.corrections(before, limit)?),
    )
    .await?;
    let next = match page.last() {
        Some(c) if page.len() == limit && c.id > 1 => c.id.to_string(),
        _ => String::new(),
    };
    let corrections: Vec<CorrectionJson> = page.iter().map(CorrectionJson::from).collect();
    Ok(Json(serde_json::json!({"corrections": corrections, "next": next})).into_response())
}
