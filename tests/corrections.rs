//! The admin's corrections of item labels through HTTP (the router, as `serve` runs it) and
//! through the real pipeline: `POST /api/items/{id}/label` and `GET /api/corrections` with
//! every refusal, the label applied at once to `/api/items` and the published feeds, and a
//! corrected label kept when the feed is polled again with the item changed (sled and
//! PostgreSQL).

mod common;

use axum::body::Body;
use axum::http::{header, HeaderMap, Request, StatusCode};
use axum::Router;
use common::{serve_standard_fixtures, Publisher};
use feedsift::app::{self, Service};
use feedsift::server;
use serde_json::Value;
use tower::ServiceExt;

const ADMIN_TOKEN: &str = "correct horse battery staple";
const MARKETS: &str = "A股三大指数集体收涨 券商板块领涨";

/// The standard fixtures polled once, served by the router; `store` is a `[service] store`
/// line (empty: sled in the test's directory).
struct Site {
    app: Router,
    service: Service,
    publisher: Publisher,
    _dir: tempfile::TempDir,
}

async fn site(admin: bool, store: &str) -> Site {
    let p = Publisher::start().await;
    serve_standard_fixtures(&p);
    let dir = tempfile::tempdir().unwrap();
    let path = common::write_config(dir.path(), &p, "");
    let mut extra = store.to_string();
    if admin {
        extra.push_str(&format!("admin_token = \"{ADMIN_TOKEN}\"\n"));
    }
    let text = std::fs::read_to_string(&path).unwrap().replacen(
        "[service]\n",
        &format!("[service]\n{extra}"),
        1,
    );
    std::fs::write(&path, text).unwrap();
    let service = Service::open(app::load_config(&path, None).unwrap()).unwrap();
    app::poll_once(&service, false).await.unwrap();
    let (poll_now, _polls) = tokio::sync::mpsc::unbounded_channel();
    let state = service.app_state(poll_now);
    Site {
        app: server::router(state),
        service,
        publisher: p,
        _dir: dir,
    }
}

async fn send(app: &Router, req: Request<Body>) -> (StatusCode, HeaderMap, String) {
    let resp = app.clone().oneshot(req).await.unwrap();
    let (status, headers) = (resp.status(), resp.headers().clone());
    let body = axum::body::to_bytes(resp.into_body(), 1 << 24)
        .await
        .unwrap();
    (status, headers, String::from_utf8(body.to_vec()).unwrap())
}

async fn get(app: &Router, path: &str, token: Option<&str>) -> (StatusCode, String) {
    let mut req = Request::get(path);
    if let Some(t) = token {
        req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    let (s, _, b) = send(app, req.body(Body::empty()).unwrap()).await;
    (s, b)
}

/// `POST path` with a JSON (or any) body and, when given, the bearer token.
async fn post_json(
    app: &Router,
    path: &str,
    token: Option<&str>,
    body: &str,
) -> (StatusCode, HeaderMap, String) {
    let mut req = Request::post(path).header(header::CONTENT_TYPE, "application/json");
    if let Some(t) = token {
        req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    send(app, req.body(Body::from(body.to_string())).unwrap()).await
}

/// Every item of `/api/items`.
async fn items(app: &Router) -> Vec<Value> {
    let (s, body) = get(app, "/api/items?limit=1000", None).await;
    assert_eq!(s, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    v["items"].as_array().unwrap().clone()
}

/// The `_feedsift.category` of the item titled `title` in the JSON Feed `doc`.
fn category_in(doc: &str, title: &str) -> String {
    let doc: Value = serde_json::from_str(doc).unwrap();
    doc["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["title"] == title)
        .unwrap_or_else(|| panic!("no item titled {title} in {doc}"))["_feedsift"]["category"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn item_titled(app: &Router, title: &str) -> Value {
    items(app)
        .await
        .into_iter()
        .find(|i| i["original_title"] == title)
        .unwrap_or_else(|| panic!("no item `{title}`"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relabelling_through_the_api_refuses_what_it_must_and_applies_at_once() {
    let s = site(true, "").await;
    let item = item_titled(&s.app, MARKETS).await;
    assert_eq!(item["category"], "finance", "the model's label: {item}");
    let id = item["id"].as_str().unwrap().to_string();
    let path = format!("/api/items/{id}/label");
    let (_, before) = get(&s.app, "/feeds/merged.json?max_age=1000000h", None).await;
    assert_eq!(
        category_in(&before, MARKETS),
        "finance",
        "rendered once (and its text kept) before the correction"
    );
    let (_, before) = get(&s.app, "/feeds/finance.json", None).await;
    assert!(before.contains(MARKETS), "in the finance output first");

    // Credentials first: none or a wrong token is a 401, whatever the body.
    for token in [None, Some("wrong")] {
        let (status, headers, body) = post_json(&s.app, &path, token, "{").await;
        assert_eq!(status, 401, "{body}");
        assert_eq!(headers[header::WWW_AUTHENTICATE], "Bearer");
    }
    // Then the body, the label and the item, each refusal saying what is wrong.
    let t = Some(ADMIN_TOKEN);
    let (status, _, body) = post_json(&s.app, &path, t, "{\"label\": ").await;
    assert_eq!(status, 400);
    assert!(
        body.starts_with("expected a JSON body {\"label\": \"finance\"}"),
        "{body}"
    );
    let (status, _, body) = post_json(&s.app, &path, t, "{\"lable\": \"finance\"}").await;
    assert_eq!(status, 400, "a misspelt field is not ignored: {body}");
    let (status, _, body) = post_json(&s.app, &path, t, "{\"label\": \"sports\"}").await;
    assert_eq!(
        (status.as_u16(), body.as_str()),
        (
            400,
            "unknown label `sports`: use one of regional_politics, finance, lifestyle, other\n"
        )
    );
    let (status, _, body) = post_json(
        &s.app,
        "/api/items/urn:feedsift:00ff/label",
        t,
        "{\"label\": \"other\"}",
    )
    .await;
    assert_eq!(status, 404, "{body}");
    assert!(body.contains("no such item `urn:feedsift:00ff`"), "{body}");
    let (_, corrections) = get(&s.app, "/api/corrections", t).await;
    assert_eq!(
        corrections, "{\"corrections\":[],\"next\":\"\"}",
        "nothing refused was recorded"
    );

    // Accepted: the correction in JSON, and every output shows it at once.
    let (status, _, body) = post_json(&s.app, &path, t, "{\"label\": \"lifestyle\"}").await;
    assert_eq!(status, 200, "{body}");
    let c: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(c["correction"], 1);
    assert_eq!(c["item"], id.as_str());
    assert_eq!(
        (&c["label"], &c["previous"], &c["by"], &c["source"]),
        (
            &Value::from("lifestyle"),
            &Value::from("finance"),
            &Value::from("api"),
            &Value::from("money")
        )
    );
    assert_eq!(c["title"], MARKETS);
    let at = c["at"].as_str().unwrap();
    assert!(chrono::DateTime::parse_from_rfc3339(at).is_ok(), "{at}");
    let now = item_titled(&s.app, MARKETS).await;
    assert_eq!(
        (&now["category"], &now["confidence"]),
        (&Value::from("lifestyle"), &Value::from(1.0))
    );
    let (_, after) = get(&s.app, "/feeds/finance.json", None).await;
    assert!(
        !after.contains(MARKETS),
        "the cached finance output was re-rendered"
    );
    let (_, life) = get(&s.app, "/feeds/merged.json?category=lifestyle", None).await;
    assert!(life.contains(MARKETS));
    // A query no page was rendered for (the page cache misses) is built from the items' kept
    // texts: the corrected item's is made anew.
    let (_, merged) = get(&s.app, "/feeds/merged.json?max_age=1000001h", None).await;
    assert_eq!(category_in(&merged, MARKETS), "lifestyle");

    // The bare key names the item too; a second correction is listed first.
    let key = id.strip_prefix("urn:feedsift:").unwrap();
    let (status, _, body) = post_json(
        &s.app,
        &format!("/api/items/{key}/label"),
        t,
        "{\"label\": \"other\"}",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = get(&s.app, "/api/corrections", t).await;
    assert_eq!(status, 200);
    let list: Value = serde_json::from_str(&body).unwrap();
    let got: Vec<(i64, &str, &str)> = list["corrections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["correction"].as_i64().unwrap(),
                c["label"].as_str().unwrap(),
                c["previous"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [(2, "other", "lifestyle"), (1, "lifestyle", "finance")]
    );
    assert_eq!(list["next"], "");
    // Paged: `next` is the cursor for `before=`.
    let (_, body) = get(&s.app, "/api/corrections?limit=1", t).await;
    let first: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(first["corrections"][0]["correction"], 2);
    assert_eq!(first["next"], "2");
    let (_, body) = get(&s.app, "/api/corrections?limit=1&before=2", t).await;
    let second: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(second["corrections"][0]["correction"], 1);
    assert_eq!(second["next"], "");
    for (q, want) in [
        (
            "before=x",
            "`before=x`: not a cursor returned by /api/corrections",
        ),
        ("limit=0", "`limit=0`: expected a number from 1 to"),
        (
            "after=1",
            "unknown query parameter `after` (supported: before, limit)",
        ),
    ] {
        let (status, body) = get(&s.app, &format!("/api/corrections?{q}"), t).await;
        assert_eq!(status, 400, "{q}");
        assert!(body.starts_with(want), "{q}: {body}");
    }
    let (status, _) = get(&s.app, "/api/corrections", None).await;
    assert_eq!(status, 401, "the list is the admin's");
    let (_, metrics) = get(&s.app, "/metrics", None).await;
    assert!(
        metrics.contains("\nfeedsift_corrections_total 2\n"),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_an_admin_token_corrections_are_refused() {
    let s = site(false, "").await;
    let id = item_titled(&s.app, MARKETS).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, _, body) = post_json(
        &s.app,
        &format!("/api/items/{id}/label"),
        Some("anything"),
        "{\"label\": \"other\"}",
    )
    .await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("admin endpoints are disabled"), "{body}");
    let (status, _) = get(&s.app, "/api/corrections", Some("anything")).await;
    assert_eq!(status, 403);
    assert_eq!(item_titled(&s.app, MARKETS).await["category"], "finance");
}

/// Poll, correct, then the feed changes the item and the model labels the new text afresh:
/// the admin's label stays; the changed text is stored.
async fn a_corrected_label_survives_a_re_poll_of_the_changed_item(store: &str) {
    let s = site(true, store).await;
    let item = item_titled(&s.app, MARKETS).await;
    assert_eq!(item["category"], "finance");
    let path = format!("/api/items/{}/label", item["id"].as_str().unwrap());
    let (status, _, body) =
        post_json(&s.app, &path, Some(ADMIN_TOKEN), "{\"label\": \"other\"}").await;
    assert_eq!(status, 200, "{body}");

    let changed = String::from_utf8(common::fixture("money.rss"))
        .unwrap()
        .replace(
            "沪指涨0.8%，两市成交额超9000亿元。",
            "沪指涨0.8%，深成指涨1.2%，两市成交额超9000亿元，券商股涨停。",
        );
    s.publisher.put(
        "/money.rss",
        "application/rss+xml; charset=utf-8",
        changed,
        true,
    );
    let summary = app::poll_once(&s.service, false).await.unwrap();
    assert_eq!(summary.updated, 1, "{summary:?}");
    let now = item_titled(&s.app, MARKETS).await;
    assert!(
        now["summary"].as_str().unwrap().contains("券商股涨停"),
        "the edit was stored: {now}"
    );
    assert_eq!(now["category"], "other", "the correction wins: {now}");
    let (_, fin) = get(&s.app, "/feeds/finance.rss", None).await;
    assert!(!fin.contains(MARKETS), "{fin}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrected_label_survives_a_re_poll_sled() {
    a_corrected_label_survives_a_re_poll_of_the_changed_item("").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(feedsift_postgres),
    ignore = "needs FEEDSIFT_TEST_POSTGRES (scripts/postgres-for-tests.sh)"
)]
async fn a_corrected_label_survives_a_re_poll_postgres() {
    let db = common::PgDatabase::create("corrected_re_poll");
    a_corrected_label_survives_a_re_poll_of_the_changed_item(&format!("store = \"{}\"\n", db.url))
        .await;
}
