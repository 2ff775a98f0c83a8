//! A synthetic feed farm for load tests: serves N deterministic feeds from memory on loopback.
//!
//! ```sh
//! cargo run --release --example farm -- --feeds 1000 --items 50 --hosts 8 --config-out /tmp/farm/feeds.toml
//! ```
//!
//! Half the feeds are RSS 2.0, half Atom, with Chinese and English titles and HTML summaries
//! (about 20 KB per feed at 50 items), and a share of stories re-posted across feeds under
//! content-farm decorations (`每日焦点!…`, `…|环球快资讯`). Every feed has a strong `ETag` and a
//! `Last-Modified` and answers `304` to a matching conditional request.
//!
//! Feeds are spread over `--hosts` loopback addresses (127.0.0.1, 127.0.0.2, …, all on one port)
//! so that per-host politeness limits behave as they would against many publishers.
//!
//! Control endpoints on every host:
//! - `GET /_stats` — requests served so far, by status: `{"200": n, "304": n, "404": n}`;
//! - `POST /_change?pct=P[&new=K]` — P% of the feeds (deterministically chosen) publish K new
//!   items each (default 1).

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use std::collections::HashMap;
use std::fmt::Write;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, RwLock};

struct Feed {
    version: u64,
    body: Arc<Vec<u8>>,
    etag: String,
    last_modified: String,
}

struct Farm {
    items: usize,
    feeds: RwLock<Vec<Feed>>,
    ok: AtomicU64,
    not_modified: AtomicU64,
    not_found: AtomicU64,
}

const TOPICS: &[&str] = &[
    "川渝党政联席会议在重庆召开",
    "北向资金增持3.54万股",
    "巴西龟的饲养方法",
    "信用卡逾期了怎么办",
    "成都市开展基层矛盾纠纷调解专项行动",
    "气象台发布暴雨蓝色预警",
    "A股三大指数集体收涨",
    "夏季养生小窍门",
    "Central bank holds interest rates steady",
    "Ten recipes for a cold evening",
    "Chipmaker earnings beat forecasts",
    "City council approves new transit plan",
];
const PREFIXES: &[&str] = &["每日焦点!", "【环球报资讯】", "今日热搜:", "", "", ""];
const SUFFIXES: &[&str] = &["|环球快资讯", "_当前独家", " - 天天要闻", "", "", ""];

fn render(feed: usize, version: u64, items: usize) -> Vec<u8> {
    let atom = feed % 2 == 1;
    let mut s = String::with_capacity(items * 420);
    let total = items as u64 + version;
    if atom {
        let _ = write!(
            s,
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\"><title>Farm feed {feed}</title><id>urn:farm:{feed}</id><updated>2024-03-01T00:00:00Z</updated><link href=\"http://farm.example/{feed}/\"/>"
        );
    } else {
        let _ = write!(
            s,
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<rss version=\"2.0\"><channel><title>农场源 {feed}</title><link>http://farm.example/{feed}/</link><description>synthetic</description>"
        );
    }
    // Newest first, `items` of them; each version adds one at the top.
    for n in (total - items as u64..total).rev() {
        // One story in five is shared with the neighbouring feed, under other decorations.
        let (story_feed, story) = if n % 5 == 0 {
            (feed / 2 * 2, n)
        } else {
            (feed, n)
        };
        let topic = TOPICS[(story as usize + story_feed) % TOPICS.len()];
        // The story's own words: its feed and number, so distinct stories never share a title.
        let title = format!(
            "{}{topic}（{story_feed}号源第{story}期）{}",
            PREFIXES[(feed + n as usize) % PREFIXES.len()],
            SUFFIXES[(feed * 7 + n as usize) % SUFFIXES.len()]
        );
        let link = format!("http://farm.example/{story_feed}/story/{story}.html");
        let summary = format!(
            "&lt;p&gt;{topic}。这是第{story}条合成新闻的摘要，用于压力测试。This is synthetic story {story} for load testing.&lt;/p&gt;&lt;p&gt;&lt;a href=\"/more/{story}\"&gt;more&lt;/a&gt;&lt;/p&gt;"
        );
        let minutes = story % 1440;
        if atom {
            let _ = write!(
                s,
                "<entry><title>{title}</title><id>{link}</id><link href=\"{link}\"/><updated>2024-03-01T{:02}:{:02}:00Z</updated><summary type=\"html\">{summary}</summary></entry>",
                minutes / 60,
                minutes % 60
            );
        } else {
            let _ = write!(
                s,
                "<item><title>{title}</title><link>{link}</link><guid>{link}</guid><pubDate>2024-03-01 {:02}:{:02}:00</pubDate><description>{summary}</description></item>",
                minutes / 60,
                minutes % 60
            );
        }
    }
    s.push_str(if atom { "</feed>" } else { "</channel></rss>" });
    s.into_bytes()
}

fn make(feed: usize, version: u64, items: usize) -> Feed {
    let body = render(feed, version, items);
    Feed {
        version,
        etag: format!("\"{feed}-{version}\""),
        last_modified: format!(
            "Fri, 01 Mar 2024 {:02}:{:02}:00 GMT",
            version / 60 % 24,
            version % 60
        ),
        body: Arc::new(body),
    }
}

async fn serve_feed(State(farm): State<Arc<Farm>>, uri: Uri, headers: HeaderMap) -> Response {
    let idx = uri
        .path()
        .strip_prefix("/feed/")
        .and_then(|p| p.split('.').next())
        .and_then(|n| n.parse::<usize>().ok());
    let feeds = farm.feeds.read().expect("farm lock");
    let Some(feed) = idx.and_then(|i| feeds.get(i)) else {
        farm.not_found.fetch_add(1, Relaxed);
        return StatusCode::NOT_FOUND.into_response();
    };
    let inm = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok());
    if inm == Some(feed.etag.as_str()) {
        farm.not_modified.fetch_add(1, Relaxed);
        return (
            StatusCode::NOT_MODIFIED,
            [(header::ETAG, feed.etag.clone())],
        )
            .into_response();
    }
    farm.ok.fetch_add(1, Relaxed);
    let ct = if idx.unwrap_or(0) % 2 == 1 {
        "application/atom+xml"
    } else {
        "application/rss+xml; charset=utf-8"
    };
    (
        [
            (header::CONTENT_TYPE, ct.to_string()),
            (header::ETAG, feed.etag.clone()),
            (header::LAST_MODIFIED, feed.last_modified.clone()),
        ],
        feed.body.as_ref().clone(),
    )
        .into_response()
}

async fn stats(State(farm): State<Arc<Farm>>) -> String {
    format!(
        "{{\"200\": {}, \"304\": {}, \"404\": {}}}\n",
        farm.ok.load(Relaxed),
        farm.not_modified.load(Relaxed),
        farm.not_found.load(Relaxed)
    )
}

async fn change(State(farm): State<Arc<Farm>>, Query(q): Query<HashMap<String, String>>) -> String {
    let pct: usize = q
        .get("pct")
        .and_then(|p| p.parse().ok())
        .unwrap_or(10)
        .min(100);
    // How many new items each changed feed publishes (`new=K`, default 1).
    let new: u64 = q
        .get("new")
        .and_then(|p| p.parse().ok())
        .unwrap_or(1)
        .max(1);
    let mut feeds = farm.feeds.write().expect("farm lock");
    let n = feeds.len();
    let mut changed = 0;
    for i in 0..n {
        // Spread the changed feeds evenly: every feed whose slot falls under pct%.
        if (i * 7919) % 100 < pct {
            let v = feeds[i].version + new;
            feeds[i] = make(i, v, farm.items);
            changed += 1;
        }
    }
    format!("{{\"changed\": {changed}}}\n")
}

#[path = "common/args.rs"]
mod args;
use args::arg;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = arg(&args, "--feeds", "1000").parse()?;
    let items: usize = arg(&args, "--items", "50").parse()?;
    let hosts: u8 = arg(&args, "--hosts", "8").parse::<u8>()?.clamp(1, 250);
    let mut port: u16 = arg(&args, "--port", "0").parse()?;
    let changed: usize = arg(&args, "--changed", "0").parse()?;
    let config_out = args
        .iter()
        .position(|a| a == "--config-out")
        .and_then(|i| args.get(i + 1))
        .cloned();

    let feeds = (0..n).map(|i| make(i, 0, items)).collect();
    let farm = Arc::new(Farm {
        items,
        feeds: RwLock::new(feeds),
        ok: AtomicU64::new(0),
        not_modified: AtomicU64::new(0),
        not_found: AtomicU64::new(0),
    });
    if changed > 0 {
        change(
            State(farm.clone()),
            Query(HashMap::from([("pct".to_string(), changed.to_string())])),
        )
        .await;
    }
    let app = Router::new()
        .route("/_stats", get(stats))
        .route("/_change", post(change))
        .fallback(get(serve_feed))
        .with_state(farm.clone());
    let mut addrs = Vec::new();
    for h in 1..=hosts {
        let ip = Ipv4Addr::new(127, 0, 0, h);
        let listener = tokio::net::TcpListener::bind(SocketAddr::from((ip, port))).await?;
        port = listener.local_addr()?.port();
        addrs.push(listener.local_addr()?);
        let app = app.clone();
        tokio::spawn(async move { axum::serve(listener, app).await });
    }
    let bytes: usize = farm
        .feeds
        .read()
        .expect("farm lock")
        .iter()
        .map(|f| f.body.len())
        .sum();
    eprintln!(
        "farm: {n} feeds × {items} items ({:.1} MB in all) on {} hosts, port {port}",
        bytes as f64 / 1e6,
        addrs.len()
    );
    if let Some(path) = config_out {
        let mut t = String::from(
            "# Generated by the farm example.\n[service]\ndata_dir = \"data\"\nmax_concurrent_fetches = 32\nmax_fetches_per_host = 4\n\n",
        );
        for i in 0..n {
            let a = addrs[i % addrs.len()];
            let ext = if i % 2 == 1 { "atom" } else { "rss" };
            let _ = writeln!(
                t,
                "[[feed]]\nid = \"f{i}\"\nurl = \"http://{a}/feed/{i}.{ext}\"\n"
            );
        }
        if let Some(dir) = std::path::Path::new(&path).parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(&path, t)?;
        eprintln!("farm: wrote {path}");
    }
    println!("http://{}/", addrs[0]);
    tokio::signal::ctrl_c().await?;
    eprint!("farm: {}", stats(State(farm)).await);
    Ok(())
}
