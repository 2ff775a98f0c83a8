//! The long-running scheduler, through `run_service`: feeds fire on their cron schedules, and a
//! slow feed is never fetched twice at once.

mod common;

use common::{fixture, Publisher};
use feedsift::app::{self, Service};
use std::time::{Duration, Instant};
use tokio::sync::watch;

fn config(p: &Publisher, dir: &std::path::Path) -> std::path::PathBuf {
    let text = format!(
        r#"[service]
listen = "127.0.0.1:0"
data_dir = "store"
timezone = "UTC"

[[feed]]
id = "fast"
url = "{fast}"
schedule = "* * * * * *"

[[feed]]
id = "slow"
url = "{slow}"
schedule = "* * * * * *"

[[feed]]
id = "hourly"
url = "{hourly}"
schedule = "@yearly"

[[feed]]
id = "off"
url = "{off}"
enabled = false
"#,
        fast = p.url("/fast.rss"),
        slow = p.url("/slow.rss"),
        hourly = p.url("/hourly.rss"),
        off = p.url("/off.rss"),
    );
    let path = dir.join("feeds.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feeds_fire_on_schedule_and_never_overlap() {
    let p = Publisher::start().await;
    p.put(
        "/fast.rss",
        "application/rss+xml",
        fixture("money.rss"),
        true,
    );
    p.put(
        "/hourly.rss",
        "application/rss+xml",
        fixture("money.rss"),
        true,
    );
    p.put(
        "/off.rss",
        "application/rss+xml",
        fixture("money.rss"),
        true,
    );
    p.put_slow(
        "/slow.rss",
        "application/atom+xml",
        fixture("world.atom"),
        true,
        Duration::from_millis(2500),
    );
    let dir = tempfile::tempdir().unwrap();
    let service = Service::open(app::load_config(&config(&p, dir.path()), None).unwrap()).unwrap();
    let metrics = service.metrics.clone();
    let store = service.store.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (tx, rx) = watch::channel(false);
    let task = tokio::spawn(app::run_service(service, listener, rx));

    // Wait (bounded) until the every-second feed has been polled four times and the slow feed's
    // overlapping fires have been skipped.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let fast = p.statuses("/fast.rss").len();
        let skipped = metrics
            .render(0, 0)
            .contains("feedsift_schedule_skipped_total 0");
        if fast >= 4 && !skipped {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "fast polled {fast} times; metrics:\n{}",
            metrics.render(0, 0)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tx.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(30), task)
        .await
        .unwrap()
        .unwrap()
        .unwrap();

    // First poll 200, later ones conditional (304).
    let fast = p.statuses("/fast.rss");
    assert_eq!(fast[0], 200);
    assert!(fast[1..].iter().all(|s| *s == 304), "{fast:?}");
    // Never polled before: polled once at start-up, then not again before its (yearly) time.
    assert_eq!(p.statuses("/hourly.rss"), [200]);
    // Disabled: never.
    assert!(p.statuses("/off.rss").is_empty());
    // The slow feed fires every second but takes 2.5 s: never two fetches at once.
    assert_eq!(p.max_concurrency("/slow.rss"), 1);
    // Shutdown waited for the running slow poll: its items are stored.
    assert_eq!(store.feed_state("slow").unwrap().last_error, None);
    assert!(store.len().unwrap() >= 2 + 3, "{}", store.len().unwrap());
}

/// Another instance sharing the store may push a feed back (its poll got a `Retry-After`) after
/// this one planned the next fire: the fire re-reads the state and is re-planned, not polled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fire_honours_state_changed_since_it_was_planned() {
    let p = Publisher::start().await;
    p.put(
        "/fast.rss",
        "application/rss+xml",
        fixture("money.rss"),
        true,
    );
    for path in ["/slow.rss", "/hourly.rss", "/off.rss"] {
        p.put(path, "application/rss+xml", fixture("money.rss"), true);
    }
    let dir = tempfile::tempdir().unwrap();
    let service = Service::open(app::load_config(&config(&p, dir.path()), None).unwrap()).unwrap();
    let store = service.store.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (tx, rx) = watch::channel(false);
    let task = tokio::spawn(app::run_service(service, listener, rx));

    // Once it polls every second: right after a poll, the shared state says "not for an hour".
    let deadline = Instant::now() + Duration::from_secs(30);
    while p.statuses("/fast.rss").len() < 2 {
        assert!(Instant::now() < deadline, "fast never polled twice");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(150)).await;
    let mut state = store.feed_state("fast").unwrap();
    state.retry_after = Some(chrono::Utc::now() + chrono::Duration::hours(1));
    store.put_feed_state("fast", &state).unwrap();
    let before = p.statuses("/fast.rss").len();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let after = p.statuses("/fast.rss").len();
    tx.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(30), task)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(
        after, before,
        "polled despite the Retry-After another poll recorded"
    );
}
