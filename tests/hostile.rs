//! Hostile documents and hostile servers, each bounded in time and memory, each failing its own
//! feed alone while the rest are polled and stored (`docs/ROBUSTNESS.md` lists them).
//!
//! Documents: an entity-expansion bomb, external entities (XXE) pointing at a local file and at
//! a URL the test watches, elements nested 100,000 deep. Servers (raw TCP where HTTP libraries
//! would refuse to misbehave): a body trickled a byte a second, a connection reset mid-body, a
//! redirect to `file:`, an HTML page instead of a feed, a feed under a wrong `Content-Type`,
//! invalid UTF-8 in a feed declared UTF-8.

mod common;

use common::{fixture, Publisher};
use feedsift::app::{self, Service};
use feedsift::normalize::{parse_feed, NormalizeError};
use std::collections::HashMap;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use url::Url;

fn billion_laughs() -> String {
    let mut doc =
        String::from("<?xml version=\"1.0\"?>\n<!DOCTYPE rss [\n <!ENTITY lol \"lol\">\n");
    doc.push_str(" <!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n");
    for i in 2..=9 {
        let prev = format!("&lol{};", i - 1).repeat(10);
        doc.push_str(&format!(" <!ENTITY lol{i} \"{prev}\">\n"));
    }
    doc.push_str("]>\n<rss version=\"2.0\"><channel><title>bomb</title><item><title>t &lol9;</title><link>http://e.com/bomb</link><description>&lol9;</description></item></channel></rss>");
    doc
}

fn xxe(watched_url: &str) -> String {
    format!(
        "<?xml version=\"1.0\"?>\n<!DOCTYPE rss [\n <!ENTITY file SYSTEM \"file:///etc/passwd\">\n <!ENTITY net SYSTEM \"{watched_url}\">\n <!ENTITY % pe SYSTEM \"{watched_url}\"> %pe;\n]>\n<rss version=\"2.0\"><channel><title>xxe</title><item><title>x &file; &net;</title><link>http://e.com/xxe</link><description>&file;&net;</description></item></channel></rss>"
    )
}

fn deep(levels: usize) -> String {
    format!(
        "<rss version=\"2.0\"><channel><title>deep</title><item><title>t</title><description>{}{}</description></item></channel></rss>",
        "<div>".repeat(levels),
        "</div>".repeat(levels)
    )
}

#[test]
fn xml_attacks_are_not_expanded_fetched_or_recursed_into() {
    let base = Url::parse("http://127.0.0.1/feed.xml").unwrap();
    let tz = chrono_tz::Asia::Shanghai;

    // Billion laughs: 10^9 "lol"s if expanded. Read as literal text, quickly.
    let started = Instant::now();
    let parsed = parse_feed(billion_laughs().as_bytes(), None, &base, "f", tz).unwrap();
    assert!(started.elapsed() < Duration::from_secs(5));
    let item = &parsed.items[0];
    assert!(item.title.len() < 100, "{}", item.title);
    assert!(!item.title.contains("lollol"), "{}", item.title);
    assert!(!item.summary.as_deref().unwrap_or("").contains("lollol"));

    // XXE: neither the file nor the URL is read.
    let parsed = parse_feed(
        xxe("http://127.0.0.1:9/secret").as_bytes(),
        None,
        &base,
        "f",
        tz,
    )
    .unwrap();
    let item = &parsed.items[0];
    assert!(!item.title.contains("root:"), "{}", item.title);
    assert!(!item.summary.as_deref().unwrap_or("").contains("root:"));

    // 100,000 levels: refused before any parser recurses into it; 200 levels are fine.
    match parse_feed(deep(100_000).as_bytes(), None, &base, "f", tz) {
        Err(NormalizeError::TooDeep(d)) => assert!(d > 100_000, "{d}"),
        other => panic!("{:?}", other.map(|p| p.items.len())),
    }
    assert_eq!(
        parse_feed(deep(200).as_bytes(), None, &base, "f", tz)
            .unwrap()
            .items
            .len(),
        1
    );
}

/// A raw TCP server answering every connection with `script(path)`: the bytes to send, with a
/// pause after each chunk, and whether to reset the connection at the end.
async fn raw_server() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                continue;
            };
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                let n = sock.read(&mut buf).await.unwrap_or(0);
                let req = String::from_utf8_lossy(&buf[..n]).to_string();
                let path = req.split_whitespace().nth(1).unwrap_or("/").to_string();
                match path.as_str() {
                    // Headers, then one byte a second, forever.
                    "/trickle" => {
                        let _ = sock
                            .write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nContent-Length: 100000\r\n\r\n<rss")
                            .await;
                        loop {
                            if sock.write_all(b" ").await.is_err() {
                                break;
                            }
                            tokio::time::sleep(Duration::from_secs(1)).await;
                        }
                    }
                    // Half a body, then a TCP reset.
                    "/reset" => {
                        let body = fixture("money.rss");
                        let head = format!(
                            "HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nContent-Length: {}\r\n\r\n",
                            body.len()
                        );
                        let _ = sock.write_all(head.as_bytes()).await;
                        let _ = sock.write_all(&body[..body.len() / 2]).await;
                        let _ = sock.flush().await;
                        // SO_LINGER 0: closing sends RST, not FIN.
                        #[allow(deprecated)]
                        let _ = sock.set_linger(Some(Duration::ZERO));
                        drop(sock);
                    }
                    _ => {
                        let _ = sock
                            .write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
                            .await;
                    }
                }
            });
        }
    });
    format!("http://{addr}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_servers_fail_their_feed_alone_and_the_rest_is_stored() {
    let p = Publisher::start().await;
    let raw = raw_server().await;
    let good = fixture("money.rss");
    p.put("/good.rss", "application/rss+xml", good.clone(), false);
    p.put("/bomb.rss", "application/rss+xml", billion_laughs(), false);
    p.put(
        "/xxe.rss",
        "application/rss+xml",
        xxe(&p.url("/secret")),
        false,
    );
    p.put("/secret", "text/plain", "root:x:0:0", false);
    p.put("/deep.rss", "application/rss+xml", deep(100_000), false);
    p.put(
        "/page.html",
        "text/html; charset=utf-8",
        "<!DOCTYPE html><html><head><title>Welcome</title></head><body><p>Our news</p></body></html>",
        false,
    );
    // A real feed under a wrong Content-Type: the body decides.
    p.put("/mislabelled", "text/html", good.clone(), false);
    // Declared UTF-8, with a few invalid bytes in one title: repaired, not refused.
    let mut bad_utf8 = String::from_utf8(fixture("money.rss"))
        .unwrap()
        .into_bytes();
    let at = bad_utf8.windows(7).position(|w| w == b"<title>").unwrap() + 7;
    bad_utf8.splice(at..at, [0xff, 0xfe]);
    p.put(
        "/bad-utf8.rss",
        "application/rss+xml; charset=utf-8",
        bad_utf8,
        false,
    );
    // Declared UTF-8, but the bytes are mostly not: refused, not stored as mojibake.
    let mut garbage =
        b"<?xml version=\"1.0\" encoding=\"utf-8\"?><rss version=\"2.0\"><channel><title>".to_vec();
    garbage.extend((0..400).map(|i| 0x80 + (i % 64) as u8));
    garbage.extend(b"</title></channel></rss>");
    p.put(
        "/garbage.rss",
        "application/rss+xml; charset=utf-8",
        garbage,
        false,
    );

    let redirect_to_file = {
        // The publisher answers unknown paths 404; a redirect needs its own tiny server.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = axum::Router::new().fallback(|| async {
            (
                axum::http::StatusCode::FOUND,
                [(axum::http::header::LOCATION, "file:///etc/passwd")],
            )
        });
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        format!("http://{addr}/feed")
    };

    let feeds: Vec<(&str, String)> = vec![
        ("good", p.url("/good.rss")),
        ("bomb", p.url("/bomb.rss")),
        ("xxe", p.url("/xxe.rss")),
        ("deep", p.url("/deep.rss")),
        ("html", p.url("/page.html")),
        ("mislabelled", p.url("/mislabelled")),
        ("bad-utf8", p.url("/bad-utf8.rss")),
        ("garbage", p.url("/garbage.rss")),
        ("trickle", format!("{raw}/trickle")),
        ("reset", format!("{raw}/reset")),
        ("to-file", redirect_to_file),
    ];
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from(
        "[service]\nlisten = \"127.0.0.1:0\"\ndata_dir = \"store\"\nfetch_timeout_secs = 3\n\n",
    );
    for (id, url) in &feeds {
        text.push_str(&format!("[[feed]]\nid = \"{id}\"\nurl = \"{url}\"\n\n"));
    }
    let path = dir.path().join("feeds.toml");
    std::fs::write(&path, text).unwrap();
    let service = Service::open(app::load_config(&path, None).unwrap()).unwrap();

    let started = Instant::now();
    let summary = app::poll_once(&service, false).await.unwrap();
    let took = started.elapsed();
    // The trickle is cut by the 3 s timeout; nothing else waits.
    assert!(took < Duration::from_secs(15), "{took:?}");

    for (id, why) in &summary.failed {
        eprintln!("{id}: {why}");
    }
    let failed: HashMap<&str, &str> = summary
        .failed
        .iter()
        .map(|(id, why)| (id.as_str(), why.as_str()))
        .collect();
    let expect_failed: &[(&str, &str)] = &[
        ("deep", "nested"),
        ("html", "an HTML page, not a feed"),
        ("garbage", "not valid UTF-8"),
        ("trickle", "timed out"),
        ("reset", "fetch"),
        ("to-file", "not an http(s) URL"),
    ];
    for (id, needle) in expect_failed {
        let why = failed
            .get(id)
            .unwrap_or_else(|| panic!("{id} did not fail: {summary}"));
        assert!(why.contains(needle), "{id}: {why}");
    }
    for id in ["good", "bomb", "xxe", "mislabelled", "bad-utf8"] {
        assert!(
            !failed.contains_key(id),
            "{id} failed: {:?}",
            failed.get(id)
        );
    }
    assert_eq!(failed.len(), expect_failed.len(), "{:?}", summary.failed);

    // The watched URL was never fetched, and no stored text carries the file or the bomb.
    assert!(p.statuses("/secret").is_empty(), "XXE fetched the URL");
    let mut stored = 0;
    for item in service.store.after_seq(None) {
        let item = item.unwrap();
        stored += 1;
        let text = format!(
            "{} {:?} {:?}",
            item.item.title, item.item.summary, item.item.content
        );
        assert!(!text.contains("root:"), "{text}");
        assert!(!text.contains("lollol"), "{text}");
        assert!(text.len() < 20_000, "{}", text.len());
    }
    assert!(stored >= 3, "{stored}");
    // good, mislabelled and bad-utf8 carry the same stories: whichever was stored first owns them.
    let owned: u64 = ["good", "mislabelled", "bad-utf8"]
        .iter()
        .map(|f| service.store.items_of_feed(f).unwrap())
        .sum();
    assert!(owned > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_addresses_are_refused_when_the_admin_says_so() {
    let p = Publisher::start().await;
    p.put(
        "/good.rss",
        "application/rss+xml",
        fixture("money.rss"),
        false,
    );
    let port = p.addr.port();
    let dir = tempfile::tempdir().unwrap();
    let write = |allow: bool| {
        let text = format!(
            "[service]\nlisten = \"127.0.0.1:0\"\ndata_dir = \"store-{allow}\"\nallow_private_addresses = {allow}\n\n\
             [[feed]]\nid = \"literal\"\nurl = \"http://127.0.0.1:{port}/good.rss\"\n\n\
             [[feed]]\nid = \"name\"\nurl = \"http://localhost:{port}/good.rss\"\n"
        );
        let path = dir.path().join(format!("feeds-{allow}.toml"));
        std::fs::write(&path, text).unwrap();
        path
    };
    let refused = Service::open(app::load_config(&write(false), None).unwrap()).unwrap();
    let summary = app::poll_once(&refused, false).await.unwrap();
    assert_eq!(summary.failed.len(), 2, "{summary}");
    for (id, why) in &summary.failed {
        assert!(
            why.contains("private address") && why.contains("allow_private_addresses = false"),
            "{id}: {why}"
        );
    }
    assert!(
        p.statuses("/good.rss").is_empty(),
        "a refused feed was fetched"
    );

    // The default (the admin's own feeds.toml may point at the intranet): fetched.
    let allowed = Service::open(app::load_config(&write(true), None).unwrap()).unwrap();
    let summary = app::poll_once(&allowed, false).await.unwrap();
    assert!(summary.failed.is_empty(), "{summary}");
}
