//! `feedsift demo`: the whole service on bundled sample feeds, with no internet.
//!
//! Serves four sample feeds (a GB2312-encoded Chinese news feed mixing politics, finance,
//! lifestyle and weather; an English Atom feed; a JSON Feed; a Chinese finance RSS feed) from a
//! local HTTP server on a free loopback port, writes a `feeds.toml` for them with filtered
//! outputs into a scratch directory, and runs the real service on it — so a new user sees
//! polling, dedup, categories and filtered feeds work before configuring anything.
//!
//! Takes: the address the demo's service listens on and a scratch directory. Gives: the
//! service, as `serve` runs it, until Ctrl-C. Guarantees: the sample feeds are served on
//! loopback only, and nothing outside the scratch directory is written.

use super::Context;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use std::net::SocketAddr;
use std::path::Path;
use tokio::net::TcpListener;

/// The bundled sample feeds: URL path, media type, bytes.
pub const SAMPLE_FEEDS: &[(&str, &str, &[u8])] = &[
    (
        "/zh-news.xml",
        "application/rss+xml",
        include_bytes!("../../../tests/fixtures/zh-news-gb2312.xml"),
    ),
    (
        "/world.atom",
        "application/atom+xml; charset=utf-8",
        include_bytes!("../../../tests/fixtures/world.atom"),
    ),
    (
        "/gadgets.json",
        "application/feed+json",
        include_bytes!("../../../tests/fixtures/gadgets.json"),
    ),
    (
        "/money.rss",
        "application/rss+xml; charset=utf-8",
        include_bytes!("../../../tests/fixtures/money.rss"),
    ),
];

/// Serves `files` (path, media type, body) on `listener` until the task is dropped, with a
/// strong `ETag` per file and `304` on `If-None-Match`, like a well-behaved publisher.
pub async fn serve_files(
    listener: TcpListener,
    files: &'static [(&'static str, &'static str, &'static [u8])],
) {
    let app = Router::new().fallback(get(
        move |uri: axum::http::Uri, headers: HeaderMap| async move {
            let Some((_, ct, body)) = files.iter().find(|(p, _, _)| *p == uri.path()) else {
                return (StatusCode::NOT_FOUND, "no such sample feed\n").into_response();
            };
            let digest = <sha2::Sha256 as sha2::Digest>::digest(body);
            let etag = format!("\"{}\"", crate::model::hex(&digest[..8]));
            if headers
                .get(header::IF_NONE_MATCH)
                .and_then(|v| v.to_str().ok())
                == Some(etag.as_str())
            {
                return Response::builder()
                    .status(StatusCode::NOT_MODIFIED)
                    .header(header::ETAG, etag)
                    .body(axum::body::Body::empty())
                    .expect("static response");
            }
            (
                [
                    (header::CONTENT_TYPE, (*ct).to_string()),
                    (header::ETAG, etag),
                ],
                *body,
            )
                .into_response()
        },
    ));
    if let Err(e) = axum::serve(listener, app).await {
        tracing::error!(error = %e, "sample feed server failed");
    }
}

/// The `feeds.toml` the demo runs with.
pub fn demo_config(feeds_at: SocketAddr, listen: SocketAddr, data_dir: &Path) -> String {
    format!(
        r#"# Written by `feedsift demo`.
[service]
listen = "{listen}"
data_dir = "{data}"
default_schedule = "0 * * * * *"
timezone = "Asia/Shanghai"

[[feed]]
id = "zh-news"
url = "http://{feeds_at}/zh-news.xml"

[[feed]]
id = "world"
url = "http://{feeds_at}/world.atom"

[[feed]]
id = "gadgets"
url = "http://{feeds_at}/gadgets.json"

[[feed]]
id = "money"
url = "http://{feeds_at}/money.rss"
title = "财经快讯 (demo)"

# Items the categorizer is unsure of (confidence below 0.5) stay out of the finance feed.
[[output]]
name = "finance"
title = "Finance only"
categories = ["finance"]
min_confidence = 0.5

[[output]]
name = "politics"
title = "Regional politics"
categories = ["regional_politics"]

[[output]]
name = "no-pets"
title = "Everything but pets"
exclude = ["巴西龟", "pet"]
"#,
        data = data_dir
            .join("data")
            .display()
            .to_string()
            .replace('\\', "/"),
    )
}

/// Runs `demo`: the demo until Ctrl-C. `dir` holds the demo's config and store.
pub fn run(ctx: &Context, listen: SocketAddr, dir: &Path) -> anyhow::Result<()> {
    ctx.rt.block_on(demo(listen, dir))
}

/// Serves the sample feeds and runs the service on them until Ctrl-C. `dir` holds the demo's
/// config and store.
pub async fn demo(listen: SocketAddr, dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    let feeds_listener = TcpListener::bind("127.0.0.1:0").await?;
    let feeds_at = feeds_listener.local_addr()?;
    tokio::spawn(serve_files(feeds_listener, SAMPLE_FEEDS));
    let config_path = dir.join("feeds.toml");
    std::fs::write(&config_path, demo_config(feeds_at, listen, dir))?;
    let config = crate::config::load_config(&config_path, None)?;
    eprintln!(
        "feedsift demo: sample feeds at http://{feeds_at}/, config in {}",
        config_path.display()
    );
    // `serve_as` prints the address to open once it is bound, not before.
    super::serve::serve_as(
        config,
        "choose another address with `feedsift demo --listen ADDR`",
    )
    .await
}
