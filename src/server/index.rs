//! The documents for people and feed readers: `GET /` (the index page) and
//! `GET /outputs.opml`, `GET /sources.opml`.
//!
//! Takes: the configuration in force and the store. Gives: an HTML page listing the outputs
//! to subscribe to, the last 24 hours by category and the state of every source; OPML 2.0
//! lists of the outputs and of the sources. Guarantees: titles are plain text
//! ([`crate::text::plain_text`]) and every configured text is escaped; the
//! store is read in one blocking call, off the async threads; a store that cannot say shows
//! as "not polled yet" and zero counts, logged, rather than failing the page.

use super::{blocking, feed_states, ApiError, AppState};
use crate::model::{Category, FeedState};
use crate::publish::{self, Format};
use crate::text::escape_html;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use std::fmt::Write;

/// What the index page shows from the store.
struct Snapshot {
    /// Items first seen in the last 24 hours, by [`Category::ALL`] position.
    recent: [usize; 4],
    /// Items stored.
    stored: usize,
    /// Every configured feed's state, in configuration order.
    states: Vec<FeedState>,
}

/// `GET /`.
pub(super) async fn index(State(st): State<AppState>) -> Result<Html<String>, ApiError> {
    let config = st.config();
    let ids: Vec<String> = config.feeds.iter().map(|f| f.id.clone()).collect();
    let snapshot = blocking(&st.store, move |store| {
        Ok(Snapshot {
            recent: recent_by_category(store),
            stored: store.len()?,
            states: feed_states(store, &ids)?,
        })
    })
    .await?;
    let c = &config;
    let mut s = String::from(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>feedsift</title>\
         <style>body{font:16px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}\
         table{border-collapse:collapse}td,th{padding:.2rem .6rem;border-bottom:1px solid #ddd;text-align:left}\
         .err{color:#b00}</style></head><body><h1>feedsift</h1><h2>Feeds to subscribe to</h2><ul>",
    );
    for name in c.output_names() {
        let title = c.output(&name).map(|o| o.title).unwrap_or_default();
        let title = crate::text::plain_text(&title);
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
    for (c, n) in Category::ALL.iter().zip(snapshot.recent) {
        let _ = write!(s, "{}: <b>{n}</b> &nbsp; ", c.as_str());
    }
    let _ = write!(
        s,
        "</p><h2>Sources</h2><p>{} items stored.</p><table><tr><th>id</th><th>url</th><th>schedule</th><th>last poll</th><th>status</th></tr>",
        snapshot.stored
    );
    for (f, state) in c.feeds.iter().zip(&snapshot.states) {
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
    Ok(Html(s))
}

/// Items first seen in the last 24 hours, by category: a bounded walk from the newest. A read
/// error ends the walk (logged): the counts are then a lower bound. Blocking.
fn recent_by_category(store: &crate::store::Store) -> [usize; 4] {
    let since = chrono::Utc::now() - chrono::Duration::hours(24);
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

/// `GET /outputs.opml` (what to subscribe to) and `/sources.opml` (what is polled), OPML 2.0.
pub(super) async fn opml(
    State(st): State<AppState>,
    Path(file): Path<String>,
) -> Result<Response, ApiError> {
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
                        esc(&crate::text::plain_text(&o.title)),
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
                    let title =
                        crate::text::plain_text(f.title.as_deref().unwrap_or(&f.id)).into_owned();
                    format!(
                        "<outline type=\"rss\" text=\"{0}\" title=\"{0}\" xmlUrl=\"{1}\"/>",
                        esc(&title),
                        esc(f.url.as_str())
                    )
                })
                .collect()
        }
        _ => return Err(ApiError::NoSuchDocument(file)),
    };
    s.push_str("</head><body>");
    for o in outlines {
        s.push_str(&o);
    }
    s.push_str("</body></opml>\n");
    Ok(([(header::CONTENT_TYPE, "text/x-opml; charset=utf-8")], s).into_response())
}
