//! Test helpers: a local publisher on 127.0.0.1:0 serving fixture feeds, and config writing.
#![allow(dead_code)]

use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// One served document.
#[derive(Clone)]
pub struct Doc {
    pub content_type: &'static str,
    pub body: Vec<u8>,
    /// Serve a strong ETag and honour If-None-Match.
    pub etag: bool,
    /// Wait this long before answering (a slow publisher).
    pub delay: std::time::Duration,
}

/// A local publisher whose documents a test can change while it runs.
#[derive(Clone)]
pub struct Publisher {
    pub addr: SocketAddr,
    docs: Arc<Mutex<HashMap<String, Doc>>>,
    /// Requests received per path, with the status answered.
    pub log: Arc<Mutex<Vec<(String, u16)>>>,
    /// Per path: requests in progress now, and the most ever in progress at once.
    pub concurrency: Arc<Mutex<HashMap<String, (usize, usize)>>>,
    /// The number of requests answered so far, as a channel a test can wait on.
    pub answered: tokio::sync::watch::Receiver<usize>,
}

impl Publisher {
    pub async fn start() -> Publisher {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let docs: Arc<Mutex<HashMap<String, Doc>>> = Arc::default();
        let log: Arc<Mutex<Vec<(String, u16)>>> = Arc::default();
        let concurrency: Arc<Mutex<HashMap<String, (usize, usize)>>> = Arc::default();
        let (answered_tx, answered) = tokio::sync::watch::channel(0usize);
        let answered_tx = Arc::new(answered_tx);
        let (d, l, cc) = (docs.clone(), log.clone(), concurrency.clone());
        let app = Router::new().fallback(move |uri: Uri, headers: HeaderMap| {
            let (d, l, cc) = (d.clone(), l.clone(), cc.clone());
            let answered_tx = Arc::clone(&answered_tx);
            async move {
                let doc = d.lock().unwrap().get(uri.path()).cloned();
                {
                    let mut cc = cc.lock().unwrap();
                    for key in [uri.path(), "*"] {
                        let e = cc.entry(key.to_string()).or_default();
                        e.0 += 1;
                        e.1 = e.1.max(e.0);
                    }
                }
                if let Some(doc) = &doc {
                    tokio::time::sleep(doc.delay).await;
                }
                {
                    let mut cc = cc.lock().unwrap();
                    cc.get_mut(uri.path()).unwrap().0 -= 1;
                    cc.get_mut("*").unwrap().0 -= 1;
                }
                let resp: Response = match doc {
                    None => (StatusCode::NOT_FOUND, "gone").into_response(),
                    Some(doc) => {
                        let tag = format!("\"{:016x}\"", fxhash(&doc.body));
                        let inm = headers
                            .get(header::IF_NONE_MATCH)
                            .and_then(|v| v.to_str().ok());
                        if doc.etag && inm == Some(tag.as_str()) {
                            (StatusCode::NOT_MODIFIED, [(header::ETAG, tag)]).into_response()
                        } else if doc.etag {
                            (
                                [
                                    (header::CONTENT_TYPE, doc.content_type.to_string()),
                                    (header::ETAG, tag),
                                ],
                                doc.body,
                            )
                                .into_response()
                        } else {
                            (
                                [(header::CONTENT_TYPE, doc.content_type.to_string())],
                                doc.body,
                            )
                                .into_response()
                        }
                    }
                };
                l.lock()
                    .unwrap()
                    .push((uri.path().to_string(), resp.status().as_u16()));
                answered_tx.send_modify(|n| *n += 1);
                resp
            }
        });
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Publisher {
            addr,
            docs,
            log,
            concurrency,
            answered,
        }
    }

    pub fn put(
        &self,
        path: &str,
        content_type: &'static str,
        body: impl Into<Vec<u8>>,
        etag: bool,
    ) {
        self.put_slow(path, content_type, body, etag, std::time::Duration::ZERO);
    }

    pub fn put_slow(
        &self,
        path: &str,
        content_type: &'static str,
        body: impl Into<Vec<u8>>,
        etag: bool,
        delay: std::time::Duration,
    ) {
        self.docs.lock().unwrap().insert(
            path.to_string(),
            Doc {
                content_type,
                body: body.into(),
                etag,
                delay,
            },
        );
    }

    /// The most requests (any path) ever in progress at once.
    pub fn max_total_concurrency(&self) -> usize {
        self.concurrency.lock().unwrap().get("*").map_or(0, |c| c.1)
    }

    /// The most requests for `path` ever in progress at once.
    pub fn max_concurrency(&self, path: &str) -> usize {
        self.concurrency
            .lock()
            .unwrap()
            .get(path)
            .map_or(0, |c| c.1)
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn statuses(&self, path: &str) -> Vec<u16> {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter(|(p, _)| p == path)
            .map(|(_, s)| *s)
            .collect()
    }
}

fn fxhash(b: &[u8]) -> u64 {
    b.iter().fold(0xcbf29ce484222325u64, |h, x| {
        (h ^ u64::from(*x)).wrapping_mul(0x100000001b3)
    })
}

/// Opens the store a `feedsift` process just left, once sled has released its file lock (a
/// moment after the process is gone).
pub async fn open_store(dir: &Path) -> feedsift::store::Store {
    loop {
        match feedsift::store::Store::open(dir, 16 << 20) {
            Err(feedsift::store::StoreError::Locked { .. }) => {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await
            }
            other => return other.unwrap(),
        }
    }
}

pub fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name),
    )
    .unwrap()
}

/// Serves the four sample feeds, one broken document and one missing path.
pub fn serve_standard_fixtures(p: &Publisher) {
    p.put(
        "/zh-news.xml",
        "text/xml",
        fixture("zh-news-gb2312.xml"),
        true,
    );
    p.put(
        "/world.atom",
        "application/atom+xml",
        fixture("world.atom"),
        true,
    );
    p.put(
        "/gadgets.json",
        "application/feed+json",
        fixture("gadgets.json"),
        false,
    );
    p.put(
        "/money.rss",
        "application/rss+xml; charset=utf-8",
        fixture("money.rss"),
        true,
    );
    p.put(
        "/broken.xml",
        "application/rss+xml",
        fixture("broken.xml"),
        true,
    );
}

/// Writes a feeds.toml for the standard fixtures into `dir`, returns its path.
pub fn write_config(dir: &Path, p: &Publisher, extra: &str) -> PathBuf {
    write_config_listen(dir, p, "127.0.0.1:0", extra)
}

/// As [`write_config`], with `[service] listen` set.
pub fn write_config_listen(dir: &Path, p: &Publisher, listen: &str, extra: &str) -> PathBuf {
    let text = format!(
        r#"[service]
listen = "{listen}"
data_dir = "store"
public_url = "http://feeds.test/"
# Tests poll explicitly (or at start-up, which polls never-polled feeds); a cron time falling
# inside a test would add polls its counts do not expect.
default_schedule = "0 0 0 1 1 * 2099"

[[feed]]
id = "zh-news"
url = "{zh}"

[[feed]]
id = "world"
url = "{world}"

[[feed]]
id = "gadgets"
url = "{gadgets}"

[[feed]]
id = "money"
url = "{money}"
title = "Money desk"

[[feed]]
id = "broken"
url = "{broken}"

[[feed]]
id = "missing"
url = "{missing}"

[[feed]]
id = "off"
url = "{missing}"
enabled = false

[[output]]
name = "finance"
title = "Finance"
categories = ["finance"]

[[output]]
name = "zh-life"
title = "Chinese lifestyle"
sources = ["zh-news"]
categories = ["lifestyle"]
{extra}
"#,
        zh = p.url("/zh-news.xml"),
        world = p.url("/world.atom"),
        gadgets = p.url("/gadgets.json"),
        money = p.url("/money.rss"),
        broken = p.url("/broken.xml"),
        missing = p.url("/missing.xml"),
    );
    let path = dir.join("feeds.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// A PostgreSQL database of its own for one test, dropped (with its connections) at the end.
///
/// The server comes from `FEEDSIFT_TEST_POSTGRES` (a URL whose role may create databases;
/// `.ci/run` starts one and sets it). Without it the PostgreSQL half of a test is skipped with a
/// message on stderr — unless `FEEDSIFT_REQUIRE_POSTGRES=1` (CI sets it), which makes a missing
/// server a failure: nothing is skipped silently.
#[allow(dead_code)]
pub struct PgDatabase {
    admin: String,
    name: String,
    /// The test database's URL.
    pub url: String,
}

#[allow(dead_code)]
impl PgDatabase {
    /// A fresh database on the server `FEEDSIFT_TEST_POSTGRES` names. Tests that call it are
    /// marked `#[cfg_attr(not(feedsift_postgres), ignore = …)]` (see `build.rs`): without a
    /// server they are reported as ignored, never run, so there is no silent skip here.
    pub fn create(test: &str) -> PgDatabase {
        let admin = std::env::var("FEEDSIFT_TEST_POSTGRES")
            .ok()
            .filter(|u| !u.trim().is_empty())
            .expect("FEEDSIFT_TEST_POSTGRES was set when the tests were built; set it again");
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let name = format!(
            "feedsift_t{}_{}_{}",
            std::process::id(),
            N.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            test.chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
                .take(30)
                .collect::<String>()
        );
        let admin_url = admin.clone();
        let db = name.clone();
        // The `postgres` client runs its own runtime: keep it off any async test's threads.
        std::thread::spawn(move || {
            let mut c = postgres::Client::connect(&admin_url, postgres::NoTls)
                .unwrap_or_else(|e| panic!("cannot reach FEEDSIFT_TEST_POSTGRES: {e}"));
            c.batch_execute(&format!("CREATE DATABASE {db}"))
                .unwrap_or_else(|e| panic!("CREATE DATABASE {db}: {e}"));
        })
        .join()
        .expect("create database");
        let mut url = url::Url::parse(&admin).expect("FEEDSIFT_TEST_POSTGRES is a URL");
        url.set_path(&format!("/{name}"));
        PgDatabase {
            admin,
            name,
            url: url.to_string(),
        }
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let (admin, name) = (self.admin.clone(), self.name.clone());
        let _ = std::thread::spawn(move || {
            if let Ok(mut c) = postgres::Client::connect(&admin, postgres::NoTls) {
                let _ = c.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
            }
        })
        .join();
    }
}

/// A process's output as text (lossy), for assertions.
#[allow(dead_code)]
pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A loopback port free at the moment of asking.
#[allow(dead_code)]
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
