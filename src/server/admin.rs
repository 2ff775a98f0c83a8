//! The admin's forms on the pages: `GET`/`POST /signin`, `POST /signout` and
//! `POST /sources/{id}/poll` (poll a feed now).
//!
//! Takes: the admin token in force (the JSON API's, [`api::admin_token`]), the request's
//! cookies and the posted form. Gives: a session cookie on sign-in, its end on sign-out, a poll
//! queued on the scheduler's poll-now channel (the one `POST /api/sources/{id}/poll` uses).
//! Guarantees (see [`super::session`] for the design): with no admin token configured, no form
//! is offered and every one is refused (403); every POST is refused (403) unless its hidden
//! `csrf` field is the token of the cookie it came with; a wrong admin token is refused (401)
//! after a short pause; a new session id is made at each sign-in.
//!
//! Relabelling an item from the river posts its form to the corrections API itself
//! (`POST /api/items/{id}/label`, `corrections.rs`), which checks the session and CSRF token
//! with [`admin_session`], exactly as [`poll_now`] does.

use super::pages::{page, Chrome, Visitor};
use super::session::{self, SESSION_COOKIE, SESSION_TTL, SIGNIN_COOKIE, SIGNIN_TTL};
use super::{api, ApiError, AppState};
use crate::config::Config;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{AppendHeaders, IntoResponse, Redirect, Response};
use axum::Form;
use std::time::Duration;

/// A form that carries nothing but its CSRF token.
#[derive(Debug, serde::Deserialize)]
pub(super) struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// The sign-in form.
#[derive(serde::Deserialize)]
pub(super) struct SignInForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    token: String,
}

/// `GET /signin`.
#[derive(Template)]
#[template(path = "signin.html")]
pub(super) struct SignInPage {
    pub chrome: Chrome,
    /// The sign-in form's CSRF token.
    pub csrf: String,
    /// Why the last attempt failed.
    pub message: Option<&'static str>,
}

/// Whether cookies must be `Secure`: the service is published over https.
fn secure(config: &Config) -> bool {
    config.service.public_url.scheme() == "https"
}

/// The sign-in form, with its anonymous cookie (kept, or made).
fn signin_page(
    st: &AppState,
    config: &Config,
    headers: &HeaderMap,
    status: StatusCode,
    message: Option<&'static str>,
) -> Result<Response, ApiError> {
    let (id, fresh) = match session::cookie(headers, SIGNIN_COOKIE) {
        Some(id) => (id, false),
        None => (session::new_id(), true),
    };
    let t = SignInPage {
        chrome: Chrome::new(
            "Admin sign-in",
            "signin",
            config,
            Visitor::of(st, config, headers),
        ),
        csrf: st.sessions.csrf_token(&id),
        message,
    };
    let mut resp = page(status, &t)?;
    if fresh {
        let c = session::set_cookie(SIGNIN_COOKIE, &id, SIGNIN_TTL, secure(config));
        if let Ok(v) = c.parse() {
            resp.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    Ok(resp)
}

/// `GET /signin`: the form (403 when no admin token is configured).
pub(super) async fn signin_form(
    State(st): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let config = st.config();
    api::admin_token(&config).ok_or(ApiError::AdminDisabled)?;
    signin_page(&st, &config, &headers, StatusCode::OK, None)
}

/// `POST /signin`: checks the form's CSRF token, then the admin token; on success opens a
/// session and sends the admin to `/sources`.
pub(super) async fn signin(
    State(st): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<SignInForm>,
) -> Result<Response, ApiError> {
    let config = st.config();
    let want = api::admin_token(&config).ok_or(ApiError::AdminDisabled)?;
    let pre = session::cookie(&headers, SIGNIN_COOKIE).unwrap_or_default();
    if !st.sessions.csrf_ok(&pre, &form.csrf) {
        return Err(ApiError::Forbidden(
            "the form's CSRF token is missing or wrong: open /signin again",
        ));
    }
    if !session::same_secret(&form.token, &want) {
        // A pause per wrong guess; the comparison itself takes the same time whatever matched.
        tokio::time::sleep(Duration::from_millis(300)).await;
        return signin_page(
            &st,
            &config,
            &headers,
            StatusCode::UNAUTHORIZED,
            Some("That is not the admin token."),
        );
    }
    let id = st.sessions.open(&want);
    let secure = secure(&config);
    Ok((
        AppendHeaders([
            (
                header::SET_COOKIE,
                session::set_cookie(SESSION_COOKIE, &id, SESSION_TTL, secure),
            ),
            (
                header::SET_COOKIE,
                session::set_cookie(SIGNIN_COOKIE, "", Duration::ZERO, secure),
            ),
        ]),
        Redirect::to("/sources"),
    )
        .into_response())
}

/// The session id of a signed-in admin whose form carries the session's CSRF token; else 403.
pub(super) fn admin_session(
    st: &AppState,
    config: &Config,
    headers: &HeaderMap,
    csrf: &str,
) -> Result<String, ApiError> {
    let token = api::admin_token(config).ok_or(ApiError::AdminDisabled)?;
    let id = session::cookie(headers, SESSION_COOKIE)
        .filter(|id| st.sessions.is_admin(id, Some(&token)))
        .ok_or(ApiError::Forbidden("sign in as the admin first (/signin)"))?;
    if !st.sessions.csrf_ok(&id, csrf) {
        return Err(ApiError::Forbidden(
            "the form's CSRF token is missing or wrong: reload the page and try again",
        ));
    }
    Ok(id)
}

/// `POST /signout`: ends the session.
pub(super) async fn signout(
    State(st): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Result<Response, ApiError> {
    let config = st.config();
    let id = admin_session(&st, &config, &headers, &form.csrf)?;
    st.sessions.close(&id);
    Ok((
        AppendHeaders([(
            header::SET_COOKIE,
            session::set_cookie(SESSION_COOKIE, "", Duration::ZERO, secure(&config)),
        )]),
        Redirect::to("/"),
    )
        .into_response())
}

/// `POST /sources/{id}/poll`: queues a poll of the feed now and goes back to `/sources`.
pub(super) async fn poll_now(
    State(st): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Result<Response, ApiError> {
    let config = st.config();
    admin_session(&st, &config, &headers, &form.csrf)?;
    api::queue_poll(&st, &config, &id)?;
    tracing::info!(feed = %id, "poll now, asked from /sources");
    let q = super::feed::url_escape(&id);
    Ok(Redirect::to(&format!("/sources?polled={q}")).into_response())
}
