//! WebSub: outputs advertise the hub, and the hub is notified when an output gains items.

mod common;

use axum::Router;
use common::{fixture, Publisher};
use feedsift::app::{self, Service};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outputs_advertise_the_hub_and_new_items_notify_it() {
    // A hub that records what it is told.
    let pings: Arc<Mutex<Vec<String>>> = Arc::default();
    let p2 = pings.clone();
    let hub = Router::new().fallback(move |body: String| {
        let p = p2.clone();
        async move {
            p.lock().unwrap().push(body);
            axum::http::StatusCode::NO_CONTENT
        }
    });
    let hl = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hub_url = format!("http://{}/hub", hl.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(hl, hub).await.unwrap() });

    let p = Publisher::start().await;
    p.put(
        "/money.rss",
        "application/rss+xml",
        fixture("money.rss"),
        true,
    );
    let dir = tempfile::tempdir().unwrap();
    let cfg = format!(
        "[service]\ndata_dir = \"s\"\npublic_url = \"http://feeds.test/\"\nwebsub_hub = \"{hub_url}\"\n\
         [[feed]]\nid = \"money\"\nurl = \"{}\"\n[[output]]\nname = \"lifestyle\"\ncategories = [\"lifestyle\"]\n",
        p.url("/money.rss")
    );
    std::fs::write(dir.path().join("feeds.toml"), cfg).unwrap();
    let service =
        Service::open(app::load_config(&dir.path().join("feeds.toml"), None).unwrap()).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = watch::channel(false);
    let task = tokio::spawn(app::run_service(service, listener, rx));

    // The start-up poll stores two items: the merged output changed, in all three formats.
    let deadline = Instant::now() + Duration::from_secs(30);
    while pings.lock().unwrap().len() < 3 {
        assert!(
            Instant::now() < deadline,
            "hub never notified: {:?}",
            pings.lock().unwrap()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Outputs are notified in name order within a round, so `lifestyle` would have come
    // before `merged`: what arrived so far is the whole story, no need to wait longer.
    let got = pings.lock().unwrap().clone();
    for f in ["rss", "atom", "json"] {
        let want = format!("hub.mode=publish&hub.url=http%3A%2F%2Ffeeds.test%2Ffeeds%2Fmerged.{f}");
        assert!(got.contains(&want), "{want} in {got:?}");
    }
    // The lifestyle output gained nothing: not announced.
    assert!(!got.iter().any(|b| b.contains("lifestyle")), "{got:?}");

    let atom = reqwest::get(format!("{base}/feeds/merged.atom"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        atom.contains(&format!(r#"<link href="{hub_url}" rel="hub""#)),
        "{atom}"
    );
    assert!(atom.contains(r#"<link href="http://feeds.test/feeds/merged.atom" rel="self""#));
    let json: serde_json::Value = serde_json::from_str(
        &reqwest::get(format!("{base}/feeds/merged.json"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(json["hubs"][0]["url"], hub_url.as_str());

    tx.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(30), task)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}
