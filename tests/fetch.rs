//! The fetcher and the ingest path against a local server that checks what the client sends:
//! conditional GET, 304, Retry-After, timeouts, size caps (gzip bombs included), redirects,
//! per-host limits.

mod common;

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use common::{fixture, Publisher};
use feedsift::app::{self, Service};
use feedsift::fetch::{FetchError, FetchLimits, FetchOutcome, Fetcher, Validators};
use feedsift::ingest::PollStatus;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use url::Url;

/// What the server saw: path and request headers, in order.
type Seen = Arc<Mutex<Vec<(String, HeaderMap)>>>;

async fn scripted_server() -> (String, Seen) {
    let seen: Seen = Arc::default();
    let app = Router::new().fallback(handler).with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, seen)
}

/// 16 MiB of spaces gzipped (about 16 KiB), built once: a debug build takes a while to
/// compress it, and that must not count against the fetch timeout.
fn gzip_bomb() -> Vec<u8> {
    static BOMB: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    BOMB.get_or_init(|| {
        use std::io::Write;
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        let spaces = vec![b' '; 1 << 20];
        for _ in 0..16 {
            e.write_all(&spaces).unwrap();
        }
        e.finish().unwrap()
    })
    .clone()
}

/// 16 MiB of spaces in brotli (a few KiB), built once.
fn brotli_bomb() -> Vec<u8> {
    static BOMB: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    BOMB.get_or_init(|| {
        use std::io::Write;
        let mut out = Vec::new();
        {
            let mut w = brotli::CompressorWriter::new(&mut out, 4096, 5, 22);
            let spaces = vec![b' '; 1 << 20];
            for _ in 0..16 {
                w.write_all(&spaces).unwrap();
            }
        }
        out
    })
    .clone()
}

async fn handler(State(seen): State<Seen>, uri: Uri, headers: HeaderMap) -> Response {
    seen.lock()
        .unwrap()
        .push((uri.path().to_string(), headers.clone()));
    let inm = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let ims = headers
        .get(header::IF_MODIFIED_SINCE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let rss = || fixture("money.rss");
    match uri.path() {
        // First answer: v1. A request validated with v1 gets a 304 that carries v2 (RFC 9111
        // §4.3.4: the stored validator must be updated). Validated with v2: 304 again.
        "/cond" => match inm {
            "\"v1\"" if ims == "Fri, 01 Mar 2024 00:00:00 GMT" => {
                (StatusCode::NOT_MODIFIED, [(header::ETAG, "\"v2\"")]).into_response()
            }
            "\"v2\"" => StatusCode::NOT_MODIFIED.into_response(),
            _ => (
                [
                    (header::ETAG, "\"v1\""),
                    (header::LAST_MODIFIED, "Fri, 01 Mar 2024 00:00:00 GMT"),
                    (header::CONTENT_TYPE, "application/rss+xml"),
                ],
                rss(),
            )
                .into_response(),
        },
        "/busy" => (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, "120")],
            "slow down",
        )
            .into_response(),
        "/down" => (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, "Fri, 01 Mar 2030 00:00:00 GMT")],
        )
            .into_response(),
        "/hang" => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            StatusCode::OK.into_response()
        }
        "/endless" => {
            let chunk = bytes::Bytes::from(vec![b'x'; 16 * 1024]);
            let stream =
                futures_util::stream::repeat_with(move || Ok::<_, std::io::Error>(chunk.clone()));
            Response::new(Body::from_stream(stream))
        }
        "/bomb" => (
            [
                (header::CONTENT_ENCODING, "gzip"),
                (header::CONTENT_TYPE, "application/rss+xml"),
            ],
            gzip_bomb(),
        )
            .into_response(),
        "/br-bomb" => (
            [
                (header::CONTENT_ENCODING, "br"),
                (header::CONTENT_TYPE, "application/rss+xml"),
            ],
            brotli_bomb(),
        )
            .into_response(),
        "/loop-a" => (StatusCode::FOUND, [(header::LOCATION, "/loop-b")]).into_response(),
        "/loop-b" => (StatusCode::FOUND, [(header::LOCATION, "/loop-a")]).into_response(),
        "/old" => (
            StatusCode::MOVED_PERMANENTLY,
            [(header::LOCATION, "/older")],
        )
            .into_response(),
        "/older" => (StatusCode::PERMANENT_REDIRECT, [(header::LOCATION, "/new")]).into_response(),
        "/temp" => (StatusCode::FOUND, [(header::LOCATION, "/new")]).into_response(),
        "/new" => (
            [
                (header::CONTENT_TYPE, "application/rss+xml"),
                (header::CACHE_CONTROL, "max-age=600"),
            ],
            rss(),
        )
            .into_response(),
        "/no-location" => StatusCode::MOVED_PERMANENTLY.into_response(),
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

fn fetcher(timeout_secs: u64, max_body: u64) -> Fetcher {
    Fetcher::new(
        "feedsift-test/1.0 (+tests)",
        FetchLimits {
            timeout: Duration::from_secs(timeout_secs),
            max_body,
            ..FetchLimits::default()
        },
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bounds_on_every_fetch() {
    let (base, seen) = scripted_server().await;
    let url = |p: &str| Url::parse(&format!("{base}{p}")).unwrap();
    let f = fetcher(1, 256 * 1024);
    let none = Validators::default();

    // A server that never answers: the total timeout fires.
    let started = Instant::now();
    let e = f.fetch(&url("/hang"), &none).await.unwrap_err();
    assert!(matches!(e, FetchError::Timeout { secs: 1, .. }), "{e}");
    assert!(started.elapsed() < Duration::from_secs(10));

    // An endless body stops at the size cap.
    let e = f.fetch(&url("/endless"), &none).await.unwrap_err();
    assert!(
        matches!(e, FetchError::TooLarge { limit: 262_144, .. }),
        "{e}"
    );

    // 16 MiB of gzip (about 16 KiB on the wire) stops at the cap after decompression.
    let bomb = tokio::task::spawn_blocking(gzip_bomb).await.unwrap();
    assert!(
        bomb.len() < 256 * 1024,
        "the compressed body itself is under the cap"
    );
    let e = f.fetch(&url("/bomb"), &none).await.unwrap_err();
    assert!(matches!(e, FetchError::TooLarge { .. }), "{e}");
    assert_eq!(e.kind(), "too_large");
    // The same with brotli.
    let bomb = tokio::task::spawn_blocking(brotli_bomb).await.unwrap();
    assert!(bomb.len() < 64 * 1024, "{}", bomb.len());
    let e = f.fetch(&url("/br-bomb"), &none).await.unwrap_err();
    assert!(matches!(e, FetchError::TooLarge { .. }), "{e}");

    // A redirect loop is cut at the limit; a redirect without Location is an error too.
    let e = f.fetch(&url("/loop-a"), &none).await.unwrap_err();
    assert!(
        matches!(e, FetchError::TooManyRedirects { limit: 5, .. }),
        "{e}"
    );
    let e = f.fetch(&url("/no-location"), &none).await.unwrap_err();
    assert!(e.to_string().contains("without a valid Location"), "{e}");

    // 429 and 503 with Retry-After (seconds or HTTP-date, capped at a day).
    let e = f.fetch(&url("/busy"), &none).await.unwrap_err();
    assert_eq!(
        (e.status(), e.retry_after()),
        (Some(429), Some(Duration::from_secs(120)))
    );
    assert!(
        e.to_string().contains("HTTP 429") && e.to_string().contains("retry after 120s"),
        "{e}"
    );
    let e = f.fetch(&url("/down"), &none).await.unwrap_err();
    assert_eq!(e.retry_after(), Some(Duration::from_secs(86_400)));

    // Permanent chains are reported; a temporary hop anywhere means no permanent move.
    match f.fetch(&url("/old"), &none).await.unwrap() {
        FetchOutcome::Fetched(b) => {
            assert_eq!(b.meta.permanent_redirect, Some(url("/new")));
            assert_eq!(b.final_url, url("/new"));
            assert_eq!(b.meta.fresh_for, Some(Duration::from_secs(600)));
        }
        other => panic!("{other:?}"),
    }
    match f.fetch(&url("/temp"), &none).await.unwrap() {
        FetchOutcome::Fetched(b) => assert_eq!(b.meta.permanent_redirect, None),
        other => panic!("{other:?}"),
    }

    // What every request carried.
    let seen = seen.lock().unwrap();
    let (_, h) = &seen[0];
    assert_eq!(h[header::USER_AGENT], "feedsift-test/1.0 (+tests)");
    assert!(h[header::ACCEPT]
        .to_str()
        .unwrap()
        .starts_with("application/rss+xml"));
    let ae = h[header::ACCEPT_ENCODING].to_str().unwrap();
    assert!(ae.contains("gzip") && ae.contains("br"), "{ae}");
}

fn config(
    dir: &std::path::Path,
    feeds: &[(&str, String)],
    extra_service: &str,
) -> std::path::PathBuf {
    let mut text =
        format!("[service]\ndata_dir = \"store\"\nfetch_timeout_secs = 2\n{extra_service}\n");
    for (id, url) in feeds {
        text.push_str(&format!("[[feed]]\nid = \"{id}\"\nurl = \"{url}\"\n"));
    }
    let path = dir.join("feeds.toml");
    std::fs::write(&path, text).unwrap();
    path
}

async fn service(dir: &std::path::Path, feeds: &[(&str, String)], extra: &str) -> Service {
    Service::open(app::load_config(&config(dir, feeds, extra), None).unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conditional_get_and_validator_updates() {
    let (base, seen) = scripted_server().await;
    let dir = tempfile::tempdir().unwrap();
    let s = service(dir.path(), &[("c", format!("{base}/cond"))], "").await;
    let feed = s.config.feeds[0].clone();

    let r1 = s.pipeline.poll(&feed).await;
    assert_eq!((r1.status.clone(), r1.new), (PollStatus::Ok, 2));
    let r2 = s.pipeline.poll(&feed).await;
    assert_eq!(r2.status, PollStatus::NotModified);
    let r3 = s.pipeline.poll(&feed).await;
    assert_eq!(r3.status, PollStatus::NotModified);

    let seen = seen.lock().unwrap();
    let h = |i: usize, name: header::HeaderName| {
        seen[i].1.get(name).map(|v| v.to_str().unwrap().to_string())
    };
    // First request: unconditional.
    assert_eq!(
        (h(0, header::IF_NONE_MATCH), h(0, header::IF_MODIFIED_SINCE)),
        (None, None)
    );
    // Second: both validators from the 200.
    assert_eq!(h(1, header::IF_NONE_MATCH).as_deref(), Some("\"v1\""));
    assert_eq!(
        h(1, header::IF_MODIFIED_SINCE).as_deref(),
        Some("Fri, 01 Mar 2024 00:00:00 GMT")
    );
    // Third: the ETag the 304 carried replaced the stored one; Last-Modified kept.
    assert_eq!(h(2, header::IF_NONE_MATCH).as_deref(), Some("\"v2\""));
    assert_eq!(
        h(2, header::IF_MODIFIED_SINCE).as_deref(),
        Some("Fri, 01 Mar 2024 00:00:00 GMT")
    );
    let st = s.store.feed_state("c").unwrap();
    assert_eq!(
        (st.etag.as_deref(), st.last_status),
        (Some("\"v2\""), Some(304))
    );
    assert_eq!(s.store.len().unwrap(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_back_off_and_servers_are_obeyed() {
    let (base, seen) = scripted_server().await;
    let dir = tempfile::tempdir().unwrap();
    let s = service(
        dir.path(),
        &[
            ("busy", format!("{base}/busy")),
            ("moved", format!("{base}/old")),
            ("gone", format!("{base}/nothing")),
        ],
        "",
    )
    .await;
    let before = chrono::Utc::now();
    let reports = feedsift::scheduler::poll_all(s.pipeline.clone(), &s.config.feeds, |_| {}).await;
    assert!(matches!(&reports[0].status, PollStatus::Failed(m) if m.contains("429")));

    // 429 + Retry-After: 120 s recorded, and the plan honours it even with hints off.
    let busy = s.store.feed_state("busy").unwrap();
    let ra = busy.retry_after.unwrap();
    assert!(
        ra >= before + chrono::Duration::seconds(119)
            && ra <= chrono::Utc::now() + chrono::Duration::seconds(121),
        "{ra}"
    );
    assert_eq!(
        (busy.consecutive_failures, busy.last_status),
        (1, Some(429))
    );
    let mut plan =
        feedsift::scheduler::FeedPlan::of(&s.config.feeds[0], chrono_tz::UTC, Duration::ZERO);
    plan.publisher_hints = false;
    assert!(feedsift::scheduler::plan_next(&plan, &busy, chrono::Utc::now()).unwrap() >= ra);

    // A 404 counts as a failure, so the feed backs off (the delays are unit-tested).
    let gone = s.store.feed_state("gone").unwrap();
    assert_eq!(
        (gone.consecutive_failures, gone.last_status),
        (1, Some(404))
    );

    // 301 → 308 → /new: recorded, used from now on, fresh for 600 s.
    let moved = s.store.feed_state("moved").unwrap();
    assert_eq!(moved.redirected_to, Some(format!("{base}/new")));
    assert!(moved.fresh_until.is_some());
    let again = s.pipeline.poll(&s.config.feeds[1]).await;
    assert!(
        matches!(again.status, PollStatus::Ok | PollStatus::NotModified),
        "{again:?}"
    );
    let paths: Vec<String> = seen
        .lock()
        .unwrap()
        .iter()
        .map(|(p, _)| p.clone())
        .collect();
    assert_eq!(
        paths.iter().filter(|p| *p == "/old").count(),
        1,
        "{paths:?}"
    );
    assert_eq!(
        paths.iter().filter(|p| *p == "/new").count(),
        2,
        "{paths:?}"
    );

    // The admin changes the URL: the old redirect no longer applies.
    let mut changed = s.config.feeds[1].clone();
    changed.url = Url::parse(&format!("{base}/temp")).unwrap();
    s.pipeline.poll(&changed).await;
    let moved = s.store.feed_state("moved").unwrap();
    assert_eq!(
        moved.redirected_to, None,
        "a temporary redirect is not recorded"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_host_never_blocks_others() {
    let slow = Publisher::start().await;
    let fast = Publisher::start().await;
    let mut feeds = Vec::new();
    for i in 0..6 {
        let p = format!("/s{i}.rss");
        slow.put_slow(
            &p,
            "application/rss+xml",
            fixture("money.rss"),
            false,
            Duration::from_millis(800),
        );
        feeds.push((format!("slow{i}"), slow.url(&p)));
        let p = format!("/f{i}.rss");
        fast.put(&p, "application/rss+xml", fixture("money.rss"), false);
        feeds.push((format!("fast{i}"), fast.url(&p)));
    }
    let feeds: Vec<(&str, String)> = feeds.iter().map(|(a, b)| (a.as_str(), b.clone())).collect();
    let dir = tempfile::tempdir().unwrap();
    let s = service(
        dir.path(),
        &feeds,
        "max_fetches_per_host = 2\nmax_concurrent_fetches = 4",
    )
    .await;
    let reports = feedsift::scheduler::poll_all(s.pipeline.clone(), &s.config.feeds, |_| {}).await;
    assert!(
        reports.iter().all(|r| r.status == PollStatus::Ok),
        "{reports:?}"
    );
    // Never more than two requests at once to the slow host…
    assert_eq!(slow.max_total_concurrency(), 2);
    assert!(fast.max_total_concurrency() <= 2);
    // …and the fast host's feeds did not queue behind it: each took a fraction of one slow
    // response, while the slow host needed three rounds.
    for r in &reports {
        if r.feed_id.starts_with("fast") {
            assert!(
                r.elapsed < Duration::from_millis(800),
                "{} took {:?}",
                r.feed_id,
                r.elapsed
            );
        }
    }
    assert!(reports
        .iter()
        .filter(|r| r.feed_id.starts_with("slow"))
        .any(|r| r.elapsed >= Duration::from_millis(1600)));
}
