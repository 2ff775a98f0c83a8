//! Editing feeds.toml while the service runs: file watch, POST /api/reload, /api/sources.

mod common;

use common::{fixture, Publisher};
use feedsift::app::{self, Service};
use serde_json::Value;
use std::path::Path;
use std::time::{Duration, Instant};
use tokio::sync::watch;

const YEARLY: &str = "0 0 0 1 1 *";

fn feeds_toml(p: &Publisher, ids: &[&str], extra: &str) -> String {
    let mut t = String::from(
        "[service]\ndata_dir = \"store\"\ntimezone = \"UTC\"\nadmin_token = \"s3cret\"\n\n",
    );
    for id in ids {
        t.push_str(&format!(
            "[[feed]]\nid = \"{id}\"\nurl = \"{}\"\nschedule = \"{YEARLY}\"\n\n",
            p.url(&format!("/{id}.rss"))
        ));
    }
    t.push_str(extra);
    t
}

/// Saves like an editor does: write a temporary file, then rename it over the original.
fn save(path: &Path, text: &str) {
    let tmp = path.with_extension("toml.swp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

async fn json<T: serde::de::DeserializeOwned>(r: reqwest::Response) -> T {
    serde_json::from_slice(&r.bytes().await.unwrap()).unwrap()
}

async fn sources(base: &str) -> Vec<Value> {
    json(reqwest::get(format!("{base}/api/sources")).await.unwrap()).await
}

async fn wait_until<F: std::future::Future<Output = bool>>(what: &str, mut f: impl FnMut() -> F) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !f().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reloads_add_remove_and_reject_bad_configs() {
    let p = Publisher::start().await;
    for id in ["a", "b", "c"] {
        // Distinct stories per feed (the same links would be one story, owned by one feed).
        let body = String::from_utf8(fixture("money.rss"))
            .unwrap()
            .replace("money.example.cn", &format!("{id}.example.cn"))
            .replace("NEWS.example.cn", &format!("news-{id}.example.cn"))
            .replace("A股三大指数", &format!("{id}市场A股三大指数"))
            .replace(
                "3.54万股",
                &format!("{}万股", id.len() + id.as_bytes()[0] as usize),
            );
        p.put(&format!("/{id}.rss"), "application/rss+xml", body, true);
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("feeds.toml");
    save(&path, &feeds_toml(&p, &["a", "b"], ""));
    let service = Service::open(app::load_config(&path, None).unwrap()).unwrap();
    let mut attempts = service.reloader.attempts();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = watch::channel(false);
    let task = tokio::spawn(app::run_service(service, listener, rx));
    let client = reqwest::Client::new();

    // Both feeds are polled at start-up (never polled before), then not before next year.
    wait_until("first polls", || async {
        sources(&base)
            .await
            .iter()
            .all(|s| s["last_fetch"].is_string())
    })
    .await;
    let s = sources(&base).await;
    assert_eq!(s.len(), 2);
    let a = &s[0];
    assert_eq!(a["id"], "a");
    assert_eq!(a["url"], p.url("/a.rss"));
    assert_eq!(a["schedule"], YEARLY);
    assert!(
        a["next_fire"].as_str().unwrap().starts_with(&format!(
            "{}-01-01T00:0",
            chrono::Utc::now()
                .format("%Y")
                .to_string()
                .parse::<i32>()
                .unwrap()
                + 1
        )),
        "{a}"
    );
    assert_eq!(a["last_status"], 200);
    assert_eq!(a["last_error"], Value::Null);
    assert_eq!(a["consecutive_failures"], 0);
    assert_eq!(a["items"], 2);
    assert!(a["etag"].is_string());
    assert_eq!(a["redirected_to"], Value::Null);

    // Admin endpoints need the token.
    let r = client
        .post(format!("{base}/api/reload"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = client
        .post(format!("{base}/api/reload"))
        .bearer_auth("guess")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    // Poll one feed now (admin): through the scheduler, conditionally.
    let r = client
        .post(format!("{base}/api/sources/a/poll"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = client
        .post(format!("{base}/api/sources/nope/poll"))
        .bearer_auth("s3cret")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let r = client
        .post(format!("{base}/api/sources/a/poll"))
        .bearer_auth("s3cret")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    wait_until("a polled again", || async {
        p.statuses("/a.rss").len() == 2
    })
    .await;
    assert_eq!(p.statuses("/a.rss"), [200, 304]);

    // An unchanged file: nothing applied.
    let r: Value = json(
        client
            .post(format!("{base}/api/reload"))
            .bearer_auth("s3cret")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (r["ok"].as_bool(), r["report"]["applied"].as_bool()),
        (Some(true), Some(false)),
        "{r}"
    );

    // Add feed c and an output, by an editor-style save: the directory watch picks it up.
    save(
        &path,
        &feeds_toml(&p, &["a", "b", "c"], "[[output]]\nname = \"new-output\"\n"),
    );
    wait_until("feed c polled", || async {
        sources(&base)
            .await
            .iter()
            .any(|s| s["id"] == "c" && s["last_fetch"].is_string())
    })
    .await;
    assert_eq!(
        client
            .get(format!("{base}/feeds/new-output.rss"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    // The unchanged feeds were not polled again.
    assert_eq!(p.statuses("/a.rss").len(), 2, "the requested poll only");
    assert_eq!(p.statuses("/b.rss").len(), 1);

    // Remove b.
    save(&path, &feeds_toml(&p, &["a", "c"], ""));
    wait_until("feed b gone", || async {
        !sources(&base).await.iter().any(|s| s["id"] == "b")
    })
    .await;
    assert_eq!(
        client
            .get(format!("{base}/feeds/new-output.rss"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );

    // A broken file: rejected with file:line:col, the running config stays.
    attempts.borrow_and_update();
    let before = *attempts.borrow();
    std::fs::write(
        &path,
        feeds_toml(&p, &["a", "c"], "[[feed]]\nid = \"d\"\nurl = \"nope\"\n"),
    )
    .unwrap();
    let resp = client
        .post(format!("{base}/api/reload"))
        .bearer_auth("s3cret")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 422);
    let r: Value = json(resp).await;
    assert_eq!(r["ok"], false);
    let err = r["error"].as_str().unwrap();
    assert!(
        err.contains("feeds.toml:") && err.contains("`nope` is not a valid URL"),
        "{err}"
    );
    // The file watcher reads it too (the API's attempt and at least one of the watcher's).
    tokio::time::timeout(
        Duration::from_secs(30),
        attempts.wait_for(|n| *n >= before + 2),
    )
    .await
    .expect("the file watcher never reloaded the broken file")
    .unwrap();
    let ids: Vec<Value> = sources(&base)
        .await
        .iter()
        .map(|s| s["id"].clone())
        .collect();
    assert_eq!(ids, ["a", "c"]);
    std::fs::write(&path, "[[feed\n").unwrap();
    let resp = client
        .post(format!("{base}/api/reload"))
        .bearer_auth("s3cret")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 422);
    let r: Value = json(resp).await;
    assert!(
        r["error"].as_str().unwrap().contains("feeds.toml:1:"),
        "{r}"
    );

    // Fixing it applies again.
    save(&path, &feeds_toml(&p, &["a"], ""));
    wait_until("feed c gone", || async { sources(&base).await.len() == 1 }).await;
    assert_eq!(
        p.statuses("/a.rss").len(),
        2,
        "a never re-polled across reloads"
    );

    tx.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(30), task)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}

#[test]
fn a_listen_set_back_to_its_running_value_needs_no_restart_and_every_report_agrees() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("feeds.toml");
    let text = |listen: &str| {
        format!(
            "[service]\nlisten = \"{listen}\"\ndata_dir = \"store\"\n\n\
             [[feed]]\nid = \"a\"\nurl = \"http://127.0.0.1:9/a.rss\"\n\n\
             [[feed]]\nid = \"off\"\nurl = \"http://127.0.0.1:9/off.rss\"\nenabled = false\n"
        )
    };
    std::fs::write(&path, text("127.0.0.1:8080")).unwrap();
    let reloader =
        feedsift::reload::Reloader::new(&path, None, app::load_config(&path, None).unwrap());
    // Moved: needs a restart. Asked again (the file unchanged, as when `POST /api/reload`
    // follows the file watcher's reload): the same report, not applied again.
    save(&path, &text("127.0.0.1:9090"));
    let moved = reloader.reload().unwrap();
    assert_eq!(moved.needs_restart, ["listen"]);
    assert_eq!(
        moved.unchanged, 1,
        "the enabled feed; the disabled one is not polled"
    );
    let again = reloader.reload().unwrap();
    assert_eq!(
        again,
        feedsift::reload::ReloadReport {
            applied: false,
            ..moved
        }
    );
    // Back to the address the service runs on: nothing waits for a restart, in either report.
    save(&path, &text("127.0.0.1:8080"));
    let back = reloader.reload().unwrap();
    assert!(back.applied && back.needs_restart.is_empty(), "{back:?}");
    assert_eq!(back.unchanged, 1);
    let again = reloader.reload().unwrap();
    assert_eq!(
        again,
        feedsift::reload::ReloadReport {
            applied: false,
            ..back
        }
    );
}
