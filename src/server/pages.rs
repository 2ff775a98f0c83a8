//! The pages for people: `GET /` (the outputs with their newest items and what to paste into a
//! reader), `GET /outputs/{name}` (a river of one output's items), `GET /sources` (every
//! feed's health), and their stylesheet `GET /assets/site.css`.
//!
//! Takes: the configuration in force, the store, the scheduler's plan and the visitor's
//! session (see [`super::session`]). Gives: HTML rendered by `askama` templates
//! (`templates/*.html`), no JavaScript. Guarantees: every text is escaped by the template
//! engine; links taken from feeds are shown only when they are `http(s)`; the river takes the
//! feeds' query filters ([`publish::parse_query`]) and page cursors ([`publish::page_cursor`]);
//! errors of feeds are shown without the feed's URL repeated; times are in `[service]
//! timezone`; the store is read in one blocking call per page; admin forms (poll now, sign
//! out) are offered only to a signed-in admin and carry the session's CSRF token.

use super::session::{self, SESSION_COOKIE};
use super::{api, blocking, feed::url_escape, feed_health, feed_states, ApiError, AppState};
use crate::config::{Config, Filter};
use crate::model::{Category, FeedState, StoredItem};
use crate::publish::{self, Format};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use std::sync::Arc;

/// Newest items shown per output on `/`.
pub const NEWEST_ON_INDEX: usize = 5;
/// Items per page of a river, unless `limit=` says otherwise.
pub const RIVER_PAGE: usize = 30;

/// Who is looking, as far as the pages care.
pub(super) struct Visitor {
    /// An admin token is configured, so admin sign-in is offered.
    pub admin_enabled: bool,
    /// Holds a live admin session.
    pub signed_in: bool,
    /// The CSRF token of the session's forms (empty when not signed in).
    pub csrf: String,
}

impl Visitor {
    /// The visitor of a request, from its session cookie.
    pub(super) fn of(st: &AppState, config: &Config, headers: &HeaderMap) -> Visitor {
        let token = api::admin_token(config);
        let sid = session::cookie(headers, SESSION_COOKIE)
            .filter(|id| st.sessions.is_admin(id, token.as_deref()));
        Visitor {
            admin_enabled: token.is_some(),
            signed_in: sid.is_some(),
            csrf: sid
                .map(|id| st.sessions.csrf_token(&id))
                .unwrap_or_default(),
        }
    }
}

/// What the layout (`base.html`) shows on every page.
pub(super) struct Chrome {
    /// The page's title.
    pub title: String,
    /// Which navigation entry is this page: `index`, `sources`, `signin` or `output`.
    pub nav: &'static str,
    pub visitor: Visitor,
    /// The time zone times are shown in.
    pub tz: String,
}

impl Chrome {
    pub(super) fn new(
        title: impl Into<String>,
        nav: &'static str,
        config: &Config,
        visitor: Visitor,
    ) -> Chrome {
        Chrome {
            title: title.into(),
            nav,
            visitor,
            tz: config.service.timezone.name().to_string(),
        }
    }
}

/// A link.
pub(super) struct Link {
    pub text: String,
    pub href: String,
}

/// A moment, for people: compact (`18:57`, `11-30 18:57` or `2025-11-30 18:57`) with the full time
/// as a tooltip and the machine-readable one in `datetime`.
pub(super) struct TimeView {
    pub iso: String,
    pub short: String,
    pub full: String,
}

impl TimeView {
    fn new(t: DateTime<Utc>, tz: Tz, now: DateTime<Utc>) -> TimeView {
        let local = t.with_timezone(&tz);
        let today = now.with_timezone(&tz);
        let short = if local.date_naive() == today.date_naive() {
            local.format("%H:%M").to_string()
        } else if local.format("%Y").to_string() == today.format("%Y").to_string() {
            local.format("%m-%d %H:%M").to_string()
        } else {
            local.format("%Y-%m-%d %H:%M").to_string()
        };
        TimeView {
            iso: t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            short,
            full: local.format("%Y-%m-%d %H:%M:%S %Z").to_string(),
        }
    }
}

/// One item, as the pages show it.
pub(super) struct ItemView {
    /// The story's key: the anchor of the item, and what a relabel form will post.
    pub key: String,
    /// The cleaned title, plain text.
    pub title: String,
    /// The original's link, when it is an `http(s)` URL.
    pub link: Option<String>,
    /// The language of the title (`zh`, `en`, …), so browsers pick the right glyphs.
    pub lang: String,
    pub time: TimeView,
    /// The feed that carried it first, and a link narrowing the river to it.
    pub source: Link,
    /// The other feeds that carried the story, linking to their copies.
    pub also: Vec<Link>,
    /// The label chip: label, link narrowing to it, confidence in percent.
    pub category: &'static str,
    pub category_label: String,
    pub category_href: String,
    pub confidence: u32,
    /// Region chips, each narrowing to its region.
    pub regions: Vec<Link>,
    /// The page the item is shown on (path and query), for the relabel form to come back to.
    pub back: String,
    /// The relabel form's choices.
    pub labels: Vec<LabelChoice>,
}

/// One choice of the relabel form.
pub(super) struct LabelChoice {
    /// The label, as the form posts it.
    pub value: &'static str,
    /// The label, for people.
    pub text: String,
    /// Whether it is the item's label now.
    pub selected: bool,
}

/// An `http(s)` URL from a feed, or nothing: a `javascript:` link never becomes an `href`.
pub(super) fn safe_href(url: &str) -> Option<String> {
    let u = url::Url::parse(url.trim()).ok()?;
    matches!(u.scheme(), "http" | "https").then(|| u.to_string())
}

/// `base?k=v&…`, values percent-encoded.
fn href(base: &str, params: &[(String, String)]) -> String {
    if params.is_empty() {
        return base.to_string();
    }
    let q: Vec<String> = params
        .iter()
        .map(|(k, v)| format!("{}={}", url_escape(k), url_escape(v)))
        .collect();
    format!("{base}?{}", q.join("&"))
}

/// `params` without `before` and `key`, plus `key=value`: the link that narrows a river by a
/// chip (from its first page).
fn narrowed(base: &str, params: &[(String, String)], key: &str, value: &str) -> String {
    let mut p: Vec<(String, String)> = params
        .iter()
        .filter(|(k, v)| k != "before" && k != key && !v.is_empty())
        .cloned()
        .collect();
    p.push((key.to_string(), value.to_string()));
    href(base, &p)
}

/// A feed's or a copy's name: its title as plain text, else its id.
fn source_name(title: &str, id: &str) -> String {
    let t = crate::text::plain_text(title);
    if t.trim().is_empty() {
        id.to_string()
    } else {
        t.into_owned()
    }
}

/// The view of `item`, its chips linking into the river at `base` narrowed from `params`.
fn item_view(
    item: &StoredItem,
    config: &Config,
    base: &str,
    params: &[(String, String)],
    now: DateTime<Utc>,
) -> ItemView {
    let lang = item
        .item
        .language
        .clone()
        .filter(|l| !l.trim().is_empty() && l.len() < 20)
        .unwrap_or_else(|| publish::language_of(item));
    let mut regions: Vec<Link> = Vec::new();
    for code in &item.class.regions {
        if let Some(r) = crate::regions::by_code(*code) {
            if regions.len() < 6 && !regions.iter().any(|l| l.text == r.short) {
                regions.push(Link {
                    text: r.short.clone(),
                    href: narrowed(base, params, "region", &r.short),
                });
            }
        }
    }
    let category = item.class.category.as_str();
    ItemView {
        key: item.key.clone(),
        title: publish::title_of(item, config.clean_titles).into_owned(),
        link: item.item.link.as_deref().and_then(safe_href),
        lang,
        time: TimeView::new(item.sort_date(), config.service.timezone, now),
        source: Link {
            text: source_name(&item.source.title, &item.source.feed_id),
            href: narrowed(base, params, "source", &item.source.feed_id),
        },
        also: item
            .also_at
            .iter()
            .filter_map(|a| {
                Some(Link {
                    text: source_name(&a.source.title, &a.source.feed_id),
                    href: a.link.as_deref().and_then(safe_href)?,
                })
            })
            .collect(),
        category,
        category_label: category.replace('_', " "),
        category_href: narrowed(base, params, "category", category),
        confidence: (item.class.confidence.clamp(0.0, 1.0) * 100.0).round() as u32,
        regions,
        back: href(base, params),
        labels: Category::ALL
            .iter()
            .map(|c| LabelChoice {
                value: c.as_str(),
                text: c.as_str().replace('_', " "),
                selected: c.as_str() == category,
            })
            .collect(),
    }
}

/// An HTML page: the rendered template with headers for a page that may carry a CSRF token
/// (never stored by caches) and a policy that allows no script, no framing and forms posting
/// only here.
pub(super) fn page(status: StatusCode, t: &impl Template) -> Result<Response, ApiError> {
    let body = t.render()?;
    let mut r = (status, body).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; \
             frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    Ok(r)
}

/// `GET /assets/site.css`.
pub(super) async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../assets/site.css"),
    )
        .into_response()
}

/// One output on `/`.
pub(super) struct OutputCard {
    pub name: String,
    pub title: String,
    pub description: String,
    pub href: String,
    pub items: Vec<ItemView>,
    /// The feed URLs to paste into a reader: (format, URL).
    pub urls: Vec<(&'static str, String)>,
}

/// `GET /`.
#[derive(Template)]
#[template(path = "index.html")]
pub(super) struct IndexPage {
    pub chrome: Chrome,
    pub outputs: Vec<OutputCard>,
    /// Items first seen in the last 24 hours, by category.
    pub recent: Vec<(&'static str, usize)>,
    pub stored: usize,
    pub sources: usize,
    pub healthy: usize,
    /// Failing feeds: name and error (without the URL).
    pub failing: Vec<(String, String)>,
    pub opml: String,
}

/// `GET /`.
pub(super) async fn index(
    State(st): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let config = st.config();
    let visitor = Visitor::of(&st, &config, &headers);
    let ids: Vec<String> = config.feeds.iter().map(|f| f.id.clone()).collect();
    let c = Arc::clone(&config);
    let (recent, stored, states, newest) = blocking(&st.store, move |store| {
        let mut newest = Vec::new();
        for name in c.output_names() {
            if let Some(o) = c.output(&name) {
                let items =
                    publish::select(store, &o, &Filter::default(), Some(NEWEST_ON_INDEX), None)?;
                newest.push((o, items));
            }
        }
        Ok((
            recent_by_category(store),
            store.len()?,
            feed_states(store, &ids)?,
            newest,
        ))
    })
    .await?;
    let now = Utc::now();
    let public = &config.service.public_url;
    let outputs = newest
        .into_iter()
        .map(|(o, items)| {
            let base = format!("/outputs/{}", url_escape(&o.name));
            OutputCard {
                title: crate::text::plain_text(&o.title).into_owned(),
                description: crate::text::plain_text(&o.description).into_owned(),
                items: items
                    .iter()
                    .map(|i| item_view(i, &config, &base, &[], now))
                    .collect(),
                urls: [Format::Rss, Format::Atom, Format::Json]
                    .into_iter()
                    .map(|f| (format_name(f), publish::feed_url(public, &o.name, f)))
                    .collect(),
                href: base,
                name: o.name,
            }
        })
        .collect();
    let mut failing = Vec::new();
    let mut healthy = 0;
    for (f, s) in config.feeds.iter().zip(&states) {
        if !f.enabled {
            continue;
        }
        match &s.last_error {
            Some(e) => failing.push((
                f.id.clone(),
                error_without_url(e, &urls_of(f.url.as_str(), s)),
            )),
            None if s.last_poll.is_some() => healthy += 1,
            None => {}
        }
    }
    let t = IndexPage {
        chrome: Chrome::new("Feeds to subscribe to", "index", &config, visitor),
        outputs,
        recent: Category::ALL
            .iter()
            .map(|c| c.as_str())
            .zip(recent)
            .collect(),
        stored,
        sources: config.feeds.len(),
        healthy,
        failing,
        opml: public
            .join("outputs.opml")
            .map(|u| u.to_string())
            .unwrap_or_else(|_| "/outputs.opml".into()),
    };
    page(StatusCode::OK, &t)
}

fn format_name(f: Format) -> &'static str {
    match f {
        Format::Rss => "RSS",
        Format::Atom => "Atom",
        Format::Json => "JSON Feed",
    }
}

/// Items first seen in the last 24 hours, by category: a bounded walk from the newest. A read
/// error ends the walk (logged): the counts are then a lower bound. Blocking.
fn recent_by_category(store: &crate::store::Store) -> [usize; 4] {
    let since = Utc::now() - chrono::Duration::hours(24);
    let mut n = [0usize; 4];
    for item in store.newest_inserted().take(50_000) {
        let item = match item {
            Ok(item) => item,
            Err(e) => {
                tracing::warn!(error = %e, "index page: cannot read recent items");
                break;
            }
        };
        if item.first_seen < since {
            break;
        }
        let k = Category::ALL
            .iter()
            .position(|c| *c == item.class.category)
            .unwrap_or(3);
        n[k] += 1;
    }
    n
}

/// `GET /outputs/{name}`.
#[derive(Template)]
#[template(path = "output.html")]
pub(super) struct OutputPage {
    pub chrome: Chrome,
    pub title: String,
    pub description: String,
    pub urls: Vec<(&'static str, String)>,
    /// The search box's value.
    pub q: String,
    /// The other filters, kept by the search form.
    pub hidden: Vec<(String, String)>,
    /// The filters in force, each linking to the river without it.
    pub filters: Vec<Link>,
    /// The river without any filter.
    pub base: String,
    pub items: Vec<ItemView>,
    pub newest_href: Option<String>,
    pub older_href: Option<String>,
}

/// `GET /outputs/{name}?category=…&region=…&q=…&before=…&limit=…`: the output's items, newest
/// first, narrowed by the same filters as its feeds, a page at a time.
pub(super) async fn river(
    State(st): State<AppState>,
    Path(name): Path<String>,
    Query(params): Query<Vec<(String, String)>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (extra, limit) = publish::parse_query(&params, &["before"])?;
    let before = match params.iter().rev().find(|(k, _)| k == "before") {
        None => None,
        Some((_, v)) if v.is_empty() => None,
        Some((_, v)) => {
            Some(publish::parse_page_cursor(v).ok_or_else(|| ApiError::BadPageCursor(v.clone()))?)
        }
    };
    let config = st.config();
    let output = config.output(&name).ok_or_else(|| ApiError::NoSuchOutput {
        name: name.clone(),
        outputs: config.output_names(),
    })?;
    let visitor = Visitor::of(&st, &config, &headers);
    let limit = limit.unwrap_or(RIVER_PAGE);
    let o = output.clone();
    let items = blocking(&st.store, move |store| {
        Ok(publish::select(store, &o, &extra, Some(limit), before)?)
    })
    .await?;
    let base = format!("/outputs/{}", url_escape(&name));
    let now = Utc::now();
    let kept: Vec<(String, String)> = params
        .iter()
        .filter(|(k, v)| k != "before" && !v.is_empty())
        .cloned()
        .collect();
    let filters = kept
        .iter()
        .enumerate()
        .filter(|(_, (k, _))| k != "limit")
        .map(|(n, (k, v))| {
            let rest: Vec<(String, String)> = kept
                .iter()
                .enumerate()
                .filter(|(m, _)| *m != n)
                .map(|(_, p)| p.clone())
                .collect();
            Link {
                text: format!("{k}: {v}"),
                href: href(&base, &rest),
            }
        })
        .collect();
    let older_href = items.last().filter(|_| items.len() >= limit).map(|last| {
        let mut p = kept.clone();
        p.push(("before".into(), publish::page_cursor(last)));
        href(&base, &p)
    });
    let public = &config.service.public_url;
    let t = OutputPage {
        chrome: Chrome::new(
            crate::text::plain_text(&output.title).into_owned(),
            "output",
            &config,
            visitor,
        ),
        title: crate::text::plain_text(&output.title).into_owned(),
        description: crate::text::plain_text(&output.description).into_owned(),
        urls: [Format::Rss, Format::Atom, Format::Json]
            .into_iter()
            .map(|f| (format_name(f), publish::feed_url(public, &name, f)))
            .collect(),
        q: kept
            .iter()
            .filter(|(k, _)| k == "q")
            .map(|(_, v)| v.as_str())
            .collect::<Vec<_>>()
            .join(","),
        hidden: kept.iter().filter(|(k, _)| k != "q").cloned().collect(),
        filters,
        items: items
            .iter()
            .map(|i| item_view(i, &config, &base, &kept, now))
            .collect(),
        newest_href: before.map(|_| href(&base, &kept)),
        older_href,
        base,
    };
    page(StatusCode::OK, &t)
}

/// One feed on `/sources`.
pub(super) struct SourceView {
    pub id: String,
    /// Path-safe id, for the poll form's action.
    pub path_id: String,
    pub name: String,
    pub url: String,
    pub enabled: bool,
    pub failing: bool,
    /// `ok`, `failing`, `disabled`, `waiting`: the status chip's class.
    pub status_class: &'static str,
    pub status: String,
    /// The last error, without the feed's URL.
    pub error: Option<String>,
    pub last_poll: Option<TimeView>,
    pub last_success: Option<TimeView>,
    pub http_status: Option<u16>,
    pub items: u64,
    pub next_poll: Option<TimeView>,
    /// The backoff in force, if the feed is failing.
    pub backoff: Option<String>,
    /// The server asked not to be polled before then (`Retry-After`).
    pub retry_after: Option<TimeView>,
    pub schedule: String,
    pub redirected_to: Option<String>,
}

/// `GET /sources`.
#[derive(Template)]
#[template(path = "sources.html")]
pub(super) struct SourcesPage {
    pub chrome: Chrome,
    pub sources: Vec<SourceView>,
    pub failing: usize,
    /// A poll just queued from this page, to say so.
    pub polled: Option<String>,
}

/// A duration for people: `45 s`, `4 min`, `2 h 8 min`, `1 d`.
fn human_duration(d: std::time::Duration) -> String {
    let s = d.as_secs();
    match s {
        0..=59 => format!("{s} s"),
        60..=3599 => format!("{} min", s / 60),
        3600..=86_399 if s % 3600 / 60 == 0 => format!("{} h", s / 3600),
        3600..=86_399 => format!("{} h {} min", s / 3600, s % 3600 / 60),
        _ => format!("{} d", s / 86_400),
    }
}

/// The URLs a feed's errors may name: its configured URL and where it was redirected.
fn urls_of(url: &str, state: &FeedState) -> Vec<String> {
    let mut urls = vec![url.to_string()];
    urls.extend(state.redirected_to.clone());
    urls
}

/// A feed's error without its URL, which the page already shows: `fetch: HTTP 404 from
/// http://x/feed.xml` reads `fetch: HTTP 404`.
pub(super) fn error_without_url(error: &str, urls: &[String]) -> String {
    let mut e = error.to_string();
    for u in urls {
        if u.is_empty() {
            continue;
        }
        for (pattern, with) in [
            (format!(" from {u}"), ""),
            (format!(" fetching {u}"), ""),
            (format!(" of {u}"), ""),
            (format!(" starting at {u}"), ""),
            (format!(" for url ({u})"), ""),
            (format!("{u}: "), ""),
            (format!("{u} "), "the feed "),
            (u.clone(), "the feed"),
        ] {
            e = e.replace(&pattern, with);
        }
    }
    e.trim().to_string()
}

/// `GET /sources`: every feed's health, failing feeds first.
pub(super) async fn sources(
    State(st): State<AppState>,
    Query(params): Query<Vec<(String, String)>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let config = st.config();
    let visitor = Visitor::of(&st, &config, &headers);
    let ids: Vec<String> = config.feeds.iter().map(|f| f.id.clone()).collect();
    let (states, counts) = blocking(&st.store, move |store| Ok(feed_health(store, &ids)?)).await?;
    let now = Utc::now();
    let tz = config.service.timezone;
    let time = |t: Option<DateTime<Utc>>| t.map(|t| TimeView::new(t, tz, now));
    let mut sources: Vec<SourceView> = config
        .feeds
        .iter()
        .zip(states.into_iter().zip(counts))
        .map(|(f, (s, items))| {
            let failing = f.enabled && (s.last_error.is_some() || s.consecutive_failures > 0);
            let (status_class, status) = if !f.enabled {
                ("disabled", "disabled".to_string())
            } else if failing {
                let n = s.consecutive_failures;
                (
                    "failing",
                    if n > 1 {
                        format!("failing ×{n}")
                    } else {
                        "failing".into()
                    },
                )
            } else if s.last_poll.is_some() {
                ("ok", "ok".into())
            } else {
                ("waiting", "not polled yet".into())
            };
            SourceView {
                id: f.id.clone(),
                path_id: url_escape(&f.id),
                name: source_name(
                    f.title.as_deref().or(s.title.as_deref()).unwrap_or(""),
                    &f.id,
                ),
                url: f.url.to_string(),
                enabled: f.enabled,
                failing,
                status_class,
                status,
                error: s
                    .last_error
                    .as_deref()
                    .map(|e| error_without_url(e, &urls_of(f.url.as_str(), &s))),
                last_poll: time(s.last_poll),
                last_success: time(s.last_success),
                http_status: s.last_status,
                items,
                next_poll: time(f.enabled.then(|| st.next_fires.get(&f.id)).flatten()),
                backoff: (f.enabled && s.consecutive_failures > 0).then(|| {
                    format!(
                        "{} after {} failure{}",
                        human_duration(crate::scheduler::backoff(s.consecutive_failures)),
                        s.consecutive_failures,
                        if s.consecutive_failures == 1 { "" } else { "s" }
                    )
                }),
                retry_after: time(s.retry_after.filter(|t| *t > now)),
                schedule: f.schedule.expr.clone(),
                redirected_to: s.redirected_to.clone(),
            }
        })
        .collect();
    // Failing first, then the rest in configuration order, the disabled last.
    sources.sort_by_key(|s| match (s.failing, s.enabled) {
        (true, _) => 0,
        (false, true) => 1,
        (false, false) => 2,
    });
    let polled = params
        .iter()
        .find(|(k, _)| k == "polled")
        .map(|(_, v)| v.clone())
        .filter(|id| visitor.signed_in && config.feed(id).is_some());
    let t = SourcesPage {
        chrome: Chrome::new("Sources", "sources", &config, visitor),
        failing: sources.iter().filter(|s| s.failing).count(),
        sources,
        polled,
    };
    page(StatusCode::OK, &t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_lose_the_url_the_page_already_shows() {
        let u = vec!["http://x.test/a.xml".to_string()];
        for (e, want) in [
            (
                "fetch: HTTP 404 from http://x.test/a.xml",
                "fetch: HTTP 404",
            ),
            (
                "fetch: HTTP 503 from http://x.test/a.xml (retry after 60s)",
                "fetch: HTTP 503 (retry after 60s)",
            ),
            (
                "fetch: timed out after 30s fetching http://x.test/a.xml",
                "fetch: timed out after 30s",
            ),
            (
                "fetch: http://x.test/a.xml: connection refused",
                "fetch: connection refused",
            ),
            ("parse: no feed found", "parse: no feed found"),
        ] {
            assert_eq!(error_without_url(e, &u), want);
        }
    }

    #[test]
    fn only_web_links_become_hrefs() {
        assert_eq!(
            safe_href("https://a.test/x?y=1").as_deref(),
            Some("https://a.test/x?y=1")
        );
        assert_eq!(safe_href("javascript:alert(1)"), None);
        assert_eq!(safe_href("data:text/html,hi"), None);
        assert_eq!(safe_href("not a url"), None);
    }

    #[test]
    fn chips_narrow_from_the_first_page() {
        let p = vec![
            ("q".to_string(), "锂电".to_string()),
            ("category".to_string(), "other".to_string()),
            ("before".to_string(), "b00".to_string()),
        ];
        assert_eq!(
            narrowed("/outputs/merged", &p, "category", "finance"),
            "/outputs/merged?q=%E9%94%82%E7%94%B5&category=finance"
        );
    }

    #[test]
    fn durations_read_short() {
        use std::time::Duration as D;
        assert_eq!(human_duration(D::from_secs(240)), "4 min");
        assert_eq!(human_duration(D::from_secs(7200)), "2 h");
        assert_eq!(human_duration(D::from_secs(7680)), "2 h 8 min");
        assert_eq!(human_duration(D::from_secs(86_400)), "1 d");
    }
}
