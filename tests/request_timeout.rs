//! The HTTP server's time limit (`server::REQUEST_TIMEOUT`): a request that cannot be answered
//! in time — here, one stuck behind a lock another client holds on the PostgreSQL store — gets
//! a 503 saying so, instead of holding its connection for as long as the store takes, and the
//! service answers again once the store does.
//!
//! Tokio's clock is paused and moved past the limit by the test while the request waits on the
//! store, so the 30 s limit is tested in a fraction of a second, and deterministically (the
//! store really is blocked until the test lets it go).

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use feedsift::app::{self, Service};
use feedsift::server;
use std::sync::mpsc;
use tower::ServiceExt;

fn get(path: &str) -> Request<Body> {
    Request::get(path).body(Body::empty()).unwrap()
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
#[cfg_attr(
    not(feedsift_postgres),
    ignore = "needs FEEDSIFT_TEST_POSTGRES (scripts/postgres-for-tests.sh)"
)]
async fn a_request_stuck_on_the_store_gets_503_at_the_time_limit() {
    let db = common::PgDatabase::create("request_timeout");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("feeds.toml");
    std::fs::write(
        &path,
        format!(
            "[service]\nstore = \"{}\"\n[[feed]]\nid = \"a\"\nurl = \"http://127.0.0.1:9/a.rss\"\n",
            db.url
        ),
    )
    .unwrap();
    let service = Service::open(app::load_config(&path, None).unwrap()).unwrap();
    let (poll_now, _polls) = tokio::sync::mpsc::unbounded_channel();
    let state = service.app_state(poll_now);
    let app = server::router(state);

    // Another client locks the items table (on its own thread: the synchronous client runs
    // its own runtime) and holds the lock until told to let go.
    let (locked_tx, locked_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let url = db.url.clone();
    let locker = std::thread::spawn(move || {
        let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        let mut tx = c.transaction().unwrap();
        tx.batch_execute("LOCK TABLE feedsift_items IN ACCESS EXCLUSIVE MODE")
            .unwrap();
        locked_tx.send(()).unwrap();
        let _ = release_rx.recv();
        tx.rollback().unwrap();
    });
    locked_rx.recv().unwrap();

    let request = tokio::spawn(app.clone().oneshot(get("/api/items")));
    // Let the request start (it then waits on the store, its time limit running), then move
    // the clock to just before the limit — still waiting — and past it.
    for _ in 0..20 {
        tokio::task::yield_now().await;
    }
    tokio::time::advance(server::REQUEST_TIMEOUT - std::time::Duration::from_secs(1)).await;
    for _ in 0..20 {
        tokio::task::yield_now().await;
    }
    assert!(!request.is_finished(), "answered before the limit");
    tokio::time::advance(std::time::Duration::from_secs(2)).await;
    for _ in 0..20 {
        tokio::task::yield_now().await;
    }
    assert!(request.is_finished(), "no answer at the time limit");
    let resp = request.await.unwrap().unwrap();
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body = axum::body::to_bytes(resp.into_body(), 1 << 16)
        .await
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&body),
        "the request took too long and was abandoned\n"
    );
    // Requests that do not need the store are answered meanwhile.
    let health = app.clone().oneshot(get("/healthz")).await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);

    // Once the store answers again, so does the service.
    release_tx.send(()).unwrap();
    locker.join().unwrap();
    let resp = app.oneshot(get("/api/items")).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
}
