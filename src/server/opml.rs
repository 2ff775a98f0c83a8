//! The OPML documents: `GET /outputs.opml` (what to subscribe to) and `GET /sources.opml` (what
//! is polled), OPML 2.0.
//!
//! Takes: the configuration in force. Gives: the two lists. Guarantees: titles are plain text
//! ([`crate::text::plain_text`]) and every configured text is escaped.

use super::{ApiError, AppState};
use crate::publish::{self, Format};
use crate::text::escape_html;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};

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
