//! The running service under stress, through the binary: 500 slow clients while `/healthz`
//! still answers; SIGTERM with a fetch hanging and a client holding a connection — a bounded,
//! clean exit with the store flushed; a data directory that cannot be written — a clear error
//! and a non-zero exit.

mod common;

use common::{fixture, Publisher};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Its log, once it has exited.
type Log = std::sync::mpsc::Receiver<Result<String, String>>;

/// Starts `feedsift serve` in `dir` and returns it with the address it bound and its log.
fn serve(dir: &std::path::Path) -> (Child, String, Log) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_feedsift"))
        .current_dir(dir)
        .arg("serve")
        .env("RUST_LOG", "feedsift=info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut sent = false;
        let mut log = Vec::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if !sent {
                if let Some(rest) = line.strip_prefix("feedsift: serving on http://") {
                    let _ = tx.send(Ok(rest.split('/').next().unwrap().to_string()));
                    sent = true;
                }
            }
            log.push(line);
        }
        // The whole log, once the process closed stderr.
        let _ = tx.send(Err(log.join("\n")));
    });
    let addr = match rx.recv_timeout(Duration::from_secs(30)).unwrap() {
        Ok(addr) => addr,
        Err(log) => panic!("serve did not start:\n{log}"),
    };
    (child, addr, rx)
}

/// The whole log of a server, once it has exited.
fn log_of(rx: Log) -> String {
    loop {
        match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(Err(log)) => return log,
            Ok(Ok(_)) => continue,
            Err(e) => panic!("no log: {e}"),
        }
    }
}

async fn get(addr: &str, path: &str) -> (u16, String) {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.unwrap();
    let text = String::from_utf8_lossy(&buf).to_string();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, text)
}

fn config(dir: &std::path::Path, feeds: &[(&str, String)], extra: &str) {
    let mut text = format!(
        "[service]\nlisten = \"127.0.0.1:0\"\ndata_dir = \"store\"\nfetch_timeout_secs = 60\n{extra}\n"
    );
    for (id, url) in feeds {
        text.push_str(&format!("[[feed]]\nid = \"{id}\"\nurl = \"{url}\"\n\n"));
    }
    std::fs::write(dir.join("feeds.toml"), text).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_hundred_slow_clients_do_not_starve_healthz() {
    let dir = tempfile::tempdir().unwrap();
    config(dir.path(), &[], "");
    let (mut child, addr, _log) = serve(dir.path());
    // 500 clients that send half a request line and then nothing.
    let mut slow = Vec::new();
    for _ in 0..500 {
        let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
        s.write_all(b"GET /feeds/merged.rss HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            .await
            .unwrap();
        slow.push(s);
    }
    let started = Instant::now();
    let (status, body) = get(&addr, "/healthz").await;
    assert_eq!(status, 200, "{body}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    // And real work still gets done.
    let (status, _) = get(&addr, "/feeds/merged.rss").await;
    assert_eq!(status, 200);
    drop(slow);
    child.kill().unwrap();
    child.wait().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_exits_within_the_grace_period_and_flushes_the_store() {
    let p = Publisher::start().await;
    p.put(
        "/good.rss",
        "application/rss+xml",
        fixture("money.rss"),
        true,
    );
    // A feed whose server never answers within the fetch timeout (60 s).
    p.put_slow(
        "/hang.rss",
        "application/rss+xml",
        fixture("money.rss"),
        false,
        Duration::from_secs(3600),
    );
    let dir = tempfile::tempdir().unwrap();
    config(
        dir.path(),
        &[("good", p.url("/good.rss")), ("hang", p.url("/hang.rss"))],
        "max_jitter_secs = 0\ndefault_schedule = \"* * * * * *\"",
    );
    let (child, addr, log) = serve(dir.path());
    // Wait until the good feed is stored and the hanging fetch is in flight.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (_, body) = get(&addr, "/api/items").await;
        if body.contains("\"title\"") && !p.statuses("/hang.rss").is_empty()
            || p.max_concurrency("/hang.rss") > 0
        {
            break;
        }
        assert!(Instant::now() < deadline, "nothing stored: {body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // A client holding a keep-alive connection open.
    let mut idle = tokio::net::TcpStream::connect(&addr).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 256];
    let _ = idle.read(&mut buf).await.unwrap();

    let started = Instant::now();
    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let mut child = child;
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    let took = started.elapsed();
    let log = log_of(log);
    assert!(status.success(), "{status:?}\n{log}");
    // SHUTDOWN_GRACE is 10 s; the hanging fetch would take 60 s.
    assert!(
        took < feedsift::app::SHUTDOWN_GRACE + Duration::from_secs(5),
        "{took:?}\n{log}"
    );
    assert!(log.contains("store flushed"), "{log}");
    drop(idle);

    // Everything stored before the signal is there after it.
    let store = common::open_store(&dir.path().join("store")).await;
    assert!(store.items_of_feed("good").unwrap() > 0);
    assert!(store.feed_state("good").unwrap().etag.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unwritable_data_directory_is_a_clear_error() {
    // /proc refuses new directories whoever asks (root included), so this holds on any Linux.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("feeds.toml"),
        "[service]\ndata_dir = \"/proc/feedsift-test/store\"\n[[feed]]\nid = \"a\"\nurl = \"http://127.0.0.1:9/a.rss\"\n",
    )
    .unwrap();
    for args in [&["poll", "--once"][..], &["serve"][..]] {
        let out = Command::new(env!("CARGO_BIN_EXE_feedsift"))
            .current_dir(dir.path())
            .args(args)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?}: {err}");
        assert!(
            err.contains("/proc/feedsift-test/store") && !err.contains("panicked"),
            "{args:?}: {err}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_and_oversized_request_heads_are_cut_off() {
    let dir = tempfile::tempdir().unwrap();
    config(dir.path(), &[], "");
    let (mut child, addr, _log) = serve(dir.path());

    // A head over 64 KiB: refused, not buffered without end.
    let mut big = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "a".repeat(100 * 1024)
    );
    let _ = big.write_all(head.as_bytes()).await;
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), big.read_to_end(&mut buf)).await;
    let text = String::from_utf8_lossy(&buf);
    assert!(
        text.is_empty() || text.starts_with("HTTP/1.1 431"),
        "{}",
        text.chars().take(200).collect::<String>()
    );

    // A client that never finishes its head is disconnected after HEADER_READ_TIMEOUT.
    let started = Instant::now();
    let mut slow = tokio::net::TcpStream::connect(&addr).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let mut buf = Vec::new();
    let read = tokio::time::timeout(
        feedsift::server::HEADER_READ_TIMEOUT + Duration::from_secs(10),
        slow.read_to_end(&mut buf),
    )
    .await;
    assert!(
        read.is_ok(),
        "the connection was still open after {:?}",
        started.elapsed()
    );
    assert!(
        started.elapsed() >= feedsift::server::HEADER_READ_TIMEOUT - Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    // The service is fine.
    assert_eq!(get(&addr, "/healthz").await.0, 200);
    child.kill().unwrap();
    child.wait().unwrap();
}
