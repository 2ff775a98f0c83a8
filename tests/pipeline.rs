//! End to end through the library API and a real HTTP server: local publisher → poll → sled →
//! published feeds.

mod common;

use common::{serve_standard_fixtures, write_config, Publisher};
use feedsift::app::{self, Service};
use feedsift::publish::Format;
use std::time::Duration;
use tokio::sync::watch;

/// 6 + 3 + 2 + 2 entries; money.rss re-posts one zh-news story (北向资金…), stored once.
const STANDARD_ITEMS: usize = 6 + 3 + 2 + 2 - 1;

async fn open(dir: &std::path::Path, p: &Publisher) -> Service {
    let cfg = app::load_config(&write_config(dir, p, ""), None).unwrap();
    Service::open(cfg).unwrap()
}

/// Starts the HTTP server on `listener`; returns its base URL and the shutdown sender.
async fn serve(
    service: Service,
    listener: tokio::net::TcpListener,
) -> (
    String,
    watch::Sender<bool>,
    tokio::task::JoinHandle<anyhow::Result<()>>,
) {
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = watch::channel(false);
    let task = tokio::spawn(app::run_service(service, listener, rx));
    (base, tx, task)
}

fn parse(body: &[u8]) -> feed_rs::model::Feed {
    feed_rs::parser::parse(body)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(body)))
}

fn titles(f: &feed_rs::model::Feed) -> Vec<String> {
    f.entries
        .iter()
        .map(|e| e.title.as_ref().unwrap().content.clone())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poll_store_and_publish_merged_and_filtered_feeds() {
    let p = Publisher::start().await;
    serve_standard_fixtures(&p);
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let listen = listener.local_addr().unwrap().to_string();
    let config_path = common::write_config_listen(dir.path(), &p, &listen, "");
    let service = Service::open(app::load_config(&config_path, None).unwrap()).unwrap();

    let summary = app::poll_once(&service, false).await.unwrap();
    // Six enabled feeds: four good, one broken document, one 404. The disabled one is not polled.
    assert_eq!(summary.ok, 4, "{summary:?}");
    assert_eq!(summary.failed.len(), 2, "{summary:?}");
    assert_eq!(summary.new, STANDARD_ITEMS);
    assert_eq!(summary.duplicate, 1);
    let failed: Vec<&str> = summary.failed.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(failed, ["broken", "missing"]);
    assert!(
        summary.failed[1].1.contains("HTTP 404"),
        "{:?}",
        summary.failed
    );
    assert!(
        summary.failed[0].1.contains("parse"),
        "{:?}",
        summary.failed
    );
    assert!(
        p.statuses("/missing.xml").len() == 1,
        "disabled feed must not be polled"
    );
    assert_eq!(
        summary.to_string(),
        format!("feeds: 4 ok, 0 not modified, 2 failed; items: {STANDARD_ITEMS} new, 1 duplicate")
    );

    let export_rss = app::export(
        app::load_config(&config_path, Some(&dir.path().join("other-store"))).unwrap(),
        "merged",
        Format::Rss,
        None,
    )
    .await
    .unwrap();
    // A different (empty) data dir exports an empty but valid feed.
    assert_eq!(parse(export_rss.as_bytes()).entries.len(), 0);

    let (base, stop, task) = serve(service, listener).await;
    let client = reqwest::Client::new();

    // merged.rss: every stored item, newest first, with everything a reader needs.
    let resp = client
        .get(format!("{base}/feeds/merged.rss"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()["content-type"],
        "application/rss+xml; charset=utf-8"
    );
    let etag = resp.headers()["etag"].to_str().unwrap().to_string();
    let body = resp.bytes().await.unwrap();
    let text = String::from_utf8(body.to_vec()).unwrap();
    let merged = parse(&body);
    assert_eq!(merged.entries.len(), STANDARD_ITEMS);
    let t = titles(&merged);
    // GB2312 decoded; content-farm decorations stripped from published titles.
    assert!(
        t.contains(&"川渝党政联席会议第八次会议在重庆召开".to_string()),
        "{t:?}"
    );
    assert!(
        t.contains(&"信用卡逾期了怎么办？银行这样说".to_string()),
        "{t:?}"
    );
    // The finance desk's re-post of a zh-news story is one item, with an "also at" link.
    assert_eq!(
        t.iter()
            .filter(|x| x.contains("北向资金增持3.54万股"))
            .count(),
        1
    );
    // Whichever of the two feeds was committed first owns it; the other is the "also at".
    assert!(
        text.contains(r#"<p>Also at: <a href="http://news.example.cn/finance/2024/0301/north.html?utm_medium=feed#comments">Money desk</a></p>"#)
            || text.contains(r#"<p>Also at: <a href="http://news.example.cn/finance/2024/0301/north.html?utm_source=rss">环球快资讯</a></p>"#),
        "{text}"
    );
    assert!(t.contains(&"Ten recipes for a cold evening".to_string()));
    assert!(t.contains(&"How to make your phone battery last longer".to_string()));
    let dates: Vec<_> = merged
        .entries
        .iter()
        .map(|e| e.published.unwrap())
        .collect();
    assert!(
        dates.windows(2).all(|w| w[0] >= w[1]),
        "newest first: {dates:?}"
    );
    // Sanitised, absolute, attributed.
    assert!(
        !text.contains("<script") && !text.contains("&lt;script") && !text.contains("alert("),
        "{text}"
    );
    assert!(!text.contains("iframe"));
    assert!(
        text.contains("https://world.example.com/life/soup"),
        "relative link made absolute"
    );
    assert!(
        text.contains(&format!("http://{}/img/meeting.jpg", p.addr)),
        "relative img made absolute"
    );
    assert!(text.contains(r#"<atom:link href="http://feeds.test/feeds/merged.rss" rel="self""#));
    assert!(text.contains(&format!(
        r#"<source url="{}">Money desk</source>"#,
        p.url("/money.rss")
    )));
    assert!(text.contains(r#"<source url="http://"#));
    for e in &merged.entries {
        assert!(e.id.starts_with("urn:feedsift:"), "{}", e.id);
        // The label first, then the regions the item names.
        assert!(["regional_politics", "finance", "lifestyle", "other"]
            .contains(&e.categories[0].term.as_str()));
    }
    assert!(
        text.contains(r#"<category domain="urn:feedsift:region">重庆市</category><category domain="urn:feedsift:region">四川省</category>"#),
        "川渝 names both"
    );

    // `export` while the service holds the store: served through it, the same bytes.
    let exported = app::export(
        app::load_config(&config_path, None).unwrap(),
        "merged",
        Format::Rss,
        None,
    )
    .await
    .unwrap();
    assert_eq!(exported, text);
    let exported = app::export(
        app::load_config(&config_path, None).unwrap(),
        "merged",
        Format::Json,
        Some(2),
    )
    .await
    .unwrap();
    assert_eq!(parse(exported.as_bytes()).entries.len(), 2);
    let e = app::export(
        app::load_config(&config_path, None).unwrap(),
        "nope",
        Format::Rss,
        None,
    )
    .await;
    assert!(e
        .unwrap_err()
        .to_string()
        .contains("no such output `nope`; outputs: merged, finance, zh-life"));

    // Query parameters: limit, and a 400 naming anything else.
    let two = client
        .get(format!("{base}/feeds/merged.atom?limit=2"))
        .send()
        .await
        .unwrap();
    assert_eq!(parse(&two.bytes().await.unwrap()).entries.len(), 2);
    // Ad-hoc filters on any output.
    let count = |q: &'static str| {
        let client = client.clone();
        let base = base.clone();
        async move {
            let body = client
                .get(format!("{base}/feeds/merged.atom?{q}"))
                .send()
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap();
            parse(&body).entries.len()
        }
    };
    assert_eq!(
        count("region=四川").await,
        2,
        "川渝 meeting and Chengdu mediation"
    );
    assert_eq!(count("region=重庆,成都").await, 2);
    assert_eq!(count("category=finance&region=四川").await, 0);
    assert_eq!(count("q=巴西龟").await, 1);
    assert_eq!(count("source=world&source=gadgets").await, 5);
    assert_eq!(count("min_confidence=1").await, 0);
    assert_eq!(count("language=en").await, 5, "the Atom and JSON feeds");
    assert_eq!(count("q=/北向|巴西龟/").await, 2);
    assert_eq!(count("max_age=1d").await, 0, "the fixtures date from 2024");

    // RFC 5005 paging: follow `prev-archive` from the newest page to the oldest.
    let mut url = format!("{base}/feeds/merged.atom?limit=5");
    let mut seen: Vec<String> = Vec::new();
    let mut pages = 0;
    loop {
        let body = client
            .get(&url)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        let f = parse(&body);
        seen.extend(f.entries.iter().map(|e| e.id.clone()));
        pages += 1;
        let rel = |r: &str| {
            f.links
                .iter()
                .find(|l| l.rel.as_deref() == Some(r))
                .map(|l| l.href.clone())
        };
        if pages > 1 {
            assert_eq!(
                rel("current").as_deref(),
                Some("http://feeds.test/feeds/merged.atom?limit=5")
            );
        }
        match rel("prev-archive") {
            Some(older) => url = older.replace("http://feeds.test", &base),
            None => break,
        }
        assert!(pages < 10, "paging must end");
    }
    assert_eq!(pages, 3);
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!((seen.len(), unique.len()), (STANDARD_ITEMS, STANDARD_ITEMS));
    let page: serde_json::Value = serde_json::from_slice(
        &client
            .get(format!("{base}/feeds/merged.json?limit=5"))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap(),
    )
    .unwrap();
    assert!(
        page["next_url"].as_str().unwrap().contains("before=b"),
        "{page}"
    );
    let r = client
        .get(format!("{base}/feeds/merged.rss?before=nonsense"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);

    // The incremental API: oldest to newest from a cursor, every item once.
    let page = |q: String| {
        let client = client.clone();
        let base = base.clone();
        async move {
            let r = client
                .get(format!("{base}/api/items?{q}"))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200, "{q}");
            serde_json::from_slice::<serde_json::Value>(&r.bytes().await.unwrap()).unwrap()
        }
    };
    let first = page("limit=5".into()).await;
    assert_eq!(first["items"].as_array().unwrap().len(), 5);
    let rest = page(format!(
        "after={}&limit=100",
        first["next"].as_str().unwrap()
    ))
    .await;
    assert_eq!(rest["items"].as_array().unwrap().len(), STANDARD_ITEMS - 5);
    let none = page(format!("after={}", rest["next"].as_str().unwrap())).await;
    assert!(none["items"].as_array().unwrap().is_empty());
    assert_eq!(none["next"], rest["next"], "an empty page keeps the cursor");
    let mut ids: Vec<String> = first["items"]
        .as_array()
        .unwrap()
        .iter()
        .chain(rest["items"].as_array().unwrap())
        .map(|i| i["id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), STANDARD_ITEMS);
    let north = rest["items"]
        .as_array()
        .unwrap()
        .iter()
        .chain(first["items"].as_array().unwrap())
        .find(|i| i["title"].as_str().unwrap().contains("北向资金"))
        .unwrap()
        .clone();
    let owner = north["source"]["id"].as_str().unwrap();
    let copy = north["also_at"][0]["id"].as_str().unwrap();
    assert!(
        matches!((owner, copy), ("zh-news", "money") | ("money", "zh-news")),
        "{north}"
    );
    assert_eq!(north["category"], "finance");
    let fin = page("category=finance&limit=1000".into()).await;
    assert!(fin["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|i| i["category"] == "finance"));
    // RFC 8288: a page that read something links the next one under the public URL, with the
    // request's filters and limit; following the links alone reads the same items in the same
    // order, and the page that reads nothing has no link.
    let mut url = format!("{base}/api/items?category=finance&limit=2");
    let (mut followed, mut pages) = (Vec::new(), 0);
    loop {
        let r = client.get(&url).send().await.unwrap();
        assert_eq!(r.status(), 200, "{url}");
        let link = r
            .headers()
            .get("link")
            .map(|v| v.to_str().unwrap().to_string());
        let body: serde_json::Value = serde_json::from_slice(&r.bytes().await.unwrap()).unwrap();
        let items = body["items"].as_array().unwrap();
        followed.extend(items.iter().map(|i| i["id"].clone()));
        pages += 1;
        assert!(pages < 20, "the links go round: {url}");
        let Some(link) = link else {
            assert!(items.is_empty(), "a page with items links the next: {body}");
            break;
        };
        let target = link
            .strip_prefix("<http://feeds.test/api/items?")
            .and_then(|l| l.strip_suffix(">; rel=\"next\""))
            .unwrap_or_else(|| panic!("not a next link under the public URL: {link}"));
        let want = format!(
            "category=finance&limit=2&after={}",
            body["next"].as_str().unwrap()
        );
        assert_eq!(target, want);
        url = format!("{base}/api/items?{target}");
    }
    let all: Vec<serde_json::Value> = fin["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].clone())
        .collect();
    assert!(
        all.len() >= 3,
        "more than one page of finance items: {}",
        all.len()
    );
    assert_eq!(followed, all);
    for (q, why) in [
        ("after=zzz", "not a cursor"),
        ("colour=1", "unknown query parameter `colour`"),
        ("region=Atlantis", "unknown region"),
    ] {
        let r = client
            .get(format!("{base}/api/items?{q}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{q}");
        assert!(r.text().await.unwrap().contains(why), "{q}");
    }

    // Admin endpoints are off without a token.
    assert_eq!(
        client
            .post(format!("{base}/api/reload"))
            .send()
            .await
            .unwrap()
            .status(),
        403
    );

    for (q, why) in [
        ("limit=0", "`limit=0`"),
        ("limit=x", "`limit=x`"),
        ("colour=red", "unknown query parameter `colour`"),
        ("category=sports", "`category=sports`"),
        ("min_confidence=2", "`min_confidence=2`"),
        ("q=/(unclosed/", "not a valid regular expression"),
        ("max_age=soon", "`max_age`"),
    ] {
        let r = client
            .get(format!("{base}/feeds/merged.rss?{q}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{q}");
        assert!(r.text().await.unwrap().contains(why), "{q}");
    }

    // Conditional request: 304 with the same ETag.
    let resp = client
        .get(format!("{base}/feeds/merged.rss"))
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 304);
    // Last-Modified, and If-Modified-Since when there is no If-None-Match (RFC 9110 §13.2.2).
    let resp = client
        .get(format!("{base}/feeds/merged.rss"))
        .send()
        .await
        .unwrap();
    let lm = resp.headers()["last-modified"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(lm.ends_with(" GMT"), "{lm}");
    let r = client
        .get(format!("{base}/feeds/merged.rss"))
        .header("If-Modified-Since", &lm)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 304);
    let r = client
        .get(format!("{base}/feeds/merged.rss"))
        .header("If-Modified-Since", "Mon, 01 Jan 2001 00:00:00 GMT")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = client
        .get(format!("{base}/feeds/merged.rss"))
        .header("If-Modified-Since", &lm)
        .header("If-None-Match", "\"other\"")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "If-None-Match decides when present");
    // Repeated requests are served from the render cache.
    let m = client
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let hits: u64 = m
        .lines()
        .find_map(|l| l.strip_prefix("feedsift_render_cache_total{result=\"hit\"} "))
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        hits >= 4,
        "the last four merged.rss requests were cache hits: {m}"
    );
    assert!(
        m.contains("feedsift_http_requests_total{route=\"/feeds/{file}\",status=\"304\"}"),
        "{m}"
    );
    assert!(
        m.contains("feedsift_http_requests_total{route=\"/feeds/{file}\",status=\"400\"}"),
        "{m}"
    );
    assert!(
        m.contains("feedsift_http_request_seconds_total{route=\"/api/items\",status=\"200\"}"),
        "{m}"
    );

    // What there is to subscribe to, for people and for services.
    let outs: serde_json::Value = serde_json::from_slice(
        &client
            .get(format!("{base}/api/outputs"))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(outs[1]["name"], "finance");
    assert_eq!(
        outs[1]["filter"]["categories"],
        serde_json::json!(["finance"])
    );
    assert_eq!(
        outs[1]["urls"]["atom"],
        "http://feeds.test/feeds/finance.atom"
    );
    let opml = client
        .get(format!("{base}/outputs.opml"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        opml.contains(r#"xmlUrl="http://feeds.test/feeds/zh-life.rss""#),
        "{opml}"
    );
    let opml = client
        .get(format!("{base}/sources.opml"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(opml.matches("<outline ").count(), 7, "{opml}");
    assert!(opml.contains(&p.url("/world.atom")));
    assert_eq!(
        client
            .get(format!("{base}/nothing.opml"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );

    // A category filter.
    let fin = parse(
        &client
            .get(format!("{base}/feeds/finance.rss"))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap(),
    );
    let ft = titles(&fin);
    assert!(
        ft.contains(&"北向资金增持3.54万股 某科技股份公告".to_string()),
        "{ft:?}"
    );
    assert!(
        ft.contains(&"Central bank holds interest rate as stocks rally".to_string()),
        "{ft:?}"
    );
    assert!(
        ft.contains(&"Chipmaker earnings beat forecasts; shares jump".to_string()),
        "{ft:?}"
    );
    assert!(
        !ft.iter()
            .any(|t| t.contains("巴西龟") || t.contains("暴雨") || t.contains("联席会议")),
        "{ft:?}"
    );
    for e in &fin.entries {
        assert_eq!(e.categories[0].term, "finance");
    }

    // A source + category filter, in all three formats.
    for ext in ["rss", "atom", "json"] {
        let body = client
            .get(format!("{base}/feeds/zh-life.{ext}"))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        let f = parse(&body);
        assert_eq!(titles(&f), ["巴西龟的饲养方法"], "{ext}");
    }

    // Unknown outputs and formats: 404 with a short message.
    let resp = client
        .get(format!("{base}/feeds/nope.rss"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    assert!(resp.text().await.unwrap().contains("no such output `nope`"));
    assert_eq!(
        client
            .get(format!("{base}/feeds/merged.pdf"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );

    // Health, metrics, index page.
    assert_eq!(
        client
            .get(format!("{base}/healthz"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "ok\n"
    );
    let m = client
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        m.contains(&format!("feedsift_stored_items {STANDARD_ITEMS}")),
        "{m}"
    );
    for line in [
        "feedsift_fetches_total{outcome=\"ok\"} 5",
        "feedsift_fetches_total{outcome=\"http_4xx\"} 1",
        "feedsift_polls_total{result=\"failed\"} 2",
        "feedsift_fetch_duration_seconds_count 5",
        "feedsift_feeds_in_backoff 2",
        "feedsift_items_total{outcome=\"new\"} 12",
    ] {
        assert!(m.contains(line), "missing {line} in\n{m}");
    }
    assert!(m.contains("feedsift_fetched_bytes_total "), "{m}");
    let index = client
        .get(format!("{base}/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        index.contains("HTTP 404"),
        "failed source shown to the admin"
    );
    let fin_24h = index
        .split("finance: <b>")
        .nth(1)
        .and_then(|r| r.split("</b>").next())
        .unwrap();
    assert!(
        fin_24h.parse::<usize>().unwrap() >= 4,
        "items first seen today, by category: {index}"
    );

    stop.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(30), task)
        .await
        .unwrap()
        .unwrap()
        .unwrap();

    // After a clean shutdown the store is flushed and `export` gives HTTP's bytes exactly.
    let exported = app::export(
        app::load_config(&config_path, None).unwrap(),
        "merged",
        Format::Rss,
        None,
    )
    .await
    .unwrap();
    assert_eq!(exported, text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polling_unchanged_feeds_again_stores_nothing_new() {
    let p = Publisher::start().await;
    serve_standard_fixtures(&p);
    let dir = tempfile::tempdir().unwrap();
    let service = open(dir.path(), &p).await;
    let first = app::poll_once(&service, false).await.unwrap();
    assert_eq!(first.new, STANDARD_ITEMS);
    let second = app::poll_once(&service, false).await.unwrap();
    // Three feeds with ETags answer 304; the one without validators sends the same bytes,
    // recognised by digest: all four "not modified", nothing stored.
    assert_eq!(second.ok, 0, "{second:?}");
    assert_eq!(second.not_modified, 4, "{second:?}");
    assert_eq!(second.new, 0);
    assert_eq!(p.statuses("/world.atom"), [200, 304]);
    assert_eq!(service.store.len().unwrap(), STANDARD_ITEMS);

    // The same entries served under new bytes (a new ETag) are duplicates, not new items.
    let mut atom = String::from_utf8(common::fixture("world.atom")).unwrap();
    atom = atom.replace(
        "<updated>2024-03-01T12:00:00Z</updated>",
        "<updated>2024-03-01T13:00:00Z</updated>",
    );
    p.put("/world.atom", "application/atom+xml", atom.clone(), true);
    let third = app::poll_once(&service, false).await.unwrap();
    assert_eq!(
        (third.ok, third.new, third.duplicate),
        (1, 0, 3),
        "{third:?}"
    );

    // An entry whose text changed is updated in place: still one item.
    atom = atom.replace(
        "A late goal settled the match.",
        "A late goal settled the match after extra time.",
    );
    p.put("/world.atom", "application/atom+xml", atom, true);
    let fourth = app::poll_once(&service, false).await.unwrap();
    assert_eq!(
        (fourth.new, fourth.updated, fourth.duplicate),
        (0, 1, 2),
        "{fourth:?}"
    );
    assert_eq!(service.store.len().unwrap(), STANDARD_ITEMS);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_feed_fails_alone_and_recovers() {
    let p = Publisher::start().await;
    serve_standard_fixtures(&p);
    // Garbage with the right content type, an HTML page, and an empty body.
    p.put(
        "/zh-news.xml",
        "text/xml",
        b"\x00\x01\x02 not xml at all".to_vec(),
        false,
    );
    p.put(
        "/money.rss",
        "application/rss+xml",
        "<html><body>404 page</body></html>",
        false,
    );
    p.put("/gadgets.json", "application/feed+json", "", false);
    let dir = tempfile::tempdir().unwrap();
    let service = open(dir.path(), &p).await;
    let s = app::poll_once(&service, false).await.unwrap();
    assert_eq!(s.ok, 1, "{s:?}");
    assert_eq!(s.new, 3, "world.atom still stored");
    assert_eq!(s.failed.len(), 5);
    let state = service.store.feed_state("money").unwrap();
    assert_eq!(state.consecutive_failures, 1);
    assert!(state.last_error.unwrap().contains("parse"));

    // The publisher fixes its feed: the next poll stores it and clears the error.
    p.put(
        "/money.rss",
        "application/rss+xml; charset=utf-8",
        common::fixture("money.rss"),
        true,
    );
    let s = app::poll_once(&service, false).await.unwrap();
    assert_eq!(s.new, 2, "{s:?}");
    let state = service.store.feed_state("money").unwrap();
    assert_eq!((state.consecutive_failures, state.last_error), (0, None));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_story_two_feeds_carry_is_stored_once_and_never_flip_flops() {
    let p = Publisher::start().await;
    let rss = |title: &str, extra: &str| {
        format!(
            "<rss version=\"2.0\"><channel><title>t</title><link>http://x/</link><description>d</description>{extra}\
             <item><title>{title}</title><link>http://news.example.cn/a/1.html?utm_source=feed</link></item></channel></rss>"
        )
    };
    p.put(
        "/x.rss",
        "application/rss+xml",
        rss("北向资金增持3.54万股|环球快资讯", ""),
        true,
    );
    p.put(
        "/y.rss",
        "application/rss+xml",
        rss("每日焦点!北向资金增持3.54万股", ""),
        true,
    );
    let dir = tempfile::tempdir().unwrap();
    let cfg = format!(
        "[service]\ndata_dir = \"s\"\n[[feed]]\nid = \"x\"\nurl = \"{}\"\n[[feed]]\nid = \"y\"\nurl = \"{}\"\n",
        p.url("/x.rss"),
        p.url("/y.rss")
    );
    std::fs::write(dir.path().join("feeds.toml"), cfg).unwrap();
    let s = Service::open(app::load_config(&dir.path().join("feeds.toml"), None).unwrap()).unwrap();
    let first = app::poll_once(&s, false).await.unwrap();
    assert_eq!(
        (first.new, first.duplicate, first.updated),
        (1, 1, 0),
        "{first:?}"
    );
    let stored = s.store.newest_first().next().unwrap().unwrap();
    // Both feeds re-publish (new bytes, same story): nothing changes hands.
    p.put(
        "/x.rss",
        "application/rss+xml",
        rss("北向资金增持3.54万股|环球快资讯", "<ttl>5</ttl>"),
        true,
    );
    p.put(
        "/y.rss",
        "application/rss+xml",
        rss("每日焦点!北向资金增持3.54万股", "<ttl>5</ttl>"),
        true,
    );
    let second = app::poll_once(&s, false).await.unwrap();
    assert_eq!(
        (second.ok, second.new, second.duplicate, second.updated),
        (2, 0, 2, 0),
        "{second:?}"
    );
    assert_eq!(s.store.len().unwrap(), 1);
    assert_eq!(s.store.newest_first().next().unwrap().unwrap(), stored);
    // The feed's <ttl> was recorded as its own interval.
    assert_eq!(
        s.store.feed_state("x").unwrap().min_interval_secs,
        Some(300)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_republished_guid_is_recognised_by_its_link_but_a_shared_home_link_is_not() {
    let p = Publisher::start().await;
    let rss = |items: &[(&str, &str, &str)]| {
        let mut s = String::from("<rss version=\"2.0\"><channel><title>t</title><link>http://x/</link><description>d</description>");
        for (guid, title, link) in items {
            s.push_str(&format!("<item><guid isPermaLink=\"false\">{guid}</guid><title>{title}</title><link>{link}</link></item>"));
        }
        s + "</channel></rss>"
    };
    p.put(
        "/g.rss",
        "application/rss+xml",
        rss(&[
            (
                "id-1",
                "巴西龟的饲养方法",
                "http://farm.example.cn/p/1.html",
            ),
            // Two different stories that both link to the home page.
            ("id-2", "信用卡逾期了怎么办", "http://farm.example.cn/"),
            ("id-3", "川渝党政联席会议召开", "http://farm.example.cn/"),
        ]),
        false,
    );
    let dir = tempfile::tempdir().unwrap();
    let cfg = format!(
        "[service]\ndata_dir = \"s\"\n[[feed]]\nid = \"g\"\nurl = \"{}\"\n",
        p.url("/g.rss")
    );
    std::fs::write(dir.path().join("feeds.toml"), cfg).unwrap();
    let s = Service::open(app::load_config(&dir.path().join("feeds.toml"), None).unwrap()).unwrap();
    let first = app::poll_once(&s, false).await.unwrap();
    assert_eq!(first.new, 3, "{first:?}");
    // The feed republishes everything under fresh GUIDs (a CMS migration, a farm's re-post).
    p.put(
        "/g.rss",
        "application/rss+xml",
        rss(&[
            (
                "new-1",
                "巴西龟的饲养方法",
                "http://farm.example.cn/p/1.html?utm_source=rss",
            ),
            ("new-2", "信用卡逾期了怎么办", "http://farm.example.cn/"),
            (
                "new-4",
                "成都市开展基层矛盾纠纷调解",
                "http://farm.example.cn/",
            ),
        ]),
        false,
    );
    let second = app::poll_once(&s, false).await.unwrap();
    // 1 and 2 are known stories (same link, same title); 4 shares only the home-page link.
    assert_eq!((second.new, second.duplicate), (1, 2), "{second:?}");
    assert_eq!(s.store.len().unwrap(), 4);
}
