//! Crash safety: `feedsift poll --once` and `feedsift serve` killed with SIGKILL at many
//! moments, restarted, must end with exactly the expected items — none lost behind an advanced
//! ETag, none stored twice.

mod common;

use common::Publisher;
use std::process::{Command, Stdio};
use std::time::Duration;

const FEEDS: usize = 24;
const ITEMS: usize = 40;

fn feed(f: usize, items: usize) -> String {
    let mut s = format!(
        "<rss version=\"2.0\"><channel><title>源{f}</title><link>http://src{f}.example.cn/</link><description>d</description>"
    );
    for i in (0..items).rev() {
        s.push_str(&format!(
            "<item><title>{f}号信息源发布的第{i}条消息</title><link>http://src{f}.example.cn/n/{i}.html</link>\
             <description>&lt;p&gt;正文{f}-{i}&lt;/p&gt;</description><pubDate>2024-03-01 10:{:02}:00</pubDate></item>",
            i % 60
        ));
    }
    s.push_str("</channel></rss>");
    s
}

/// A small deterministic generator, so a failure can be replayed.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, bound: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % bound
    }
}

/// Waits (bounded) until the publishers have answered `n` more requests than when called (an
/// event the publisher announces). The child cannot end before: `n` is below what one run asks.
async fn wait_for_answers(p: &Publisher, child: &mut std::process::Child, n: usize) {
    let mut answered = p.answered.clone();
    let target = *answered.borrow_and_update() + n;
    let reached =
        tokio::time::timeout(Duration::from_secs(60), answered.wait_for(|a| *a >= target)).await;
    assert!(
        reached.is_ok() || child.try_wait().unwrap().is_some(),
        "the publishers answered nothing for a minute"
    );
}

/// Serves feed `f` with `n` items (a strong ETag; `delay` before each answer).
fn publish(p: &Publisher, f: usize, n: usize, delay: Duration) {
    p.put_slow(
        &format!("/f{f}.rss"),
        "application/rss+xml",
        feed(f, n),
        true,
        delay,
    );
}

/// Writes `feeds.toml` for the FEEDS feeds of `p` with `service` as the `[service]` body.
fn write_config(dir: &std::path::Path, p: &Publisher, service: &str) {
    let mut cfg = format!("[service]\ndata_dir = \"store\"\n{service}\n");
    for f in 0..FEEDS {
        cfg.push_str(&format!(
            "[[feed]]\nid = \"f{f}\"\nurl = \"{}\"\n",
            p.url(&format!("/f{f}.rss"))
        ));
    }
    std::fs::write(dir.join("feeds.toml"), cfg).unwrap();
}

/// One `poll --once` that must succeed.
fn poll_to_completion(dir: &std::path::Path) {
    poll_to_completion_in(dir, None);
}

/// [`poll_to_completion`] against the store `store` (`FEEDSIFT_STORE`), if given.
fn poll_to_completion_in(dir: &std::path::Path, store: Option<&str>) {
    let mut c = Command::new(env!("CARGO_BIN_EXE_feedsift"));
    c.current_dir(dir).args(["poll", "--once"]);
    if let Some(url) = store {
        c.env("FEEDSIFT_STORE", url);
    }
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_random_moments_loses_nothing_and_duplicates_nothing() {
    kill_poll_once(None).await;
}

/// The same against PostgreSQL: a killed process's open transaction is rolled back whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(feedsift_postgres),
    ignore = "needs FEEDSIFT_TEST_POSTGRES (scripts/postgres-for-tests.sh)"
)]
async fn sigkill_at_random_moments_on_postgres_loses_nothing_and_duplicates_nothing() {
    let db = common::PgDatabase::create("crash_poll_once");
    kill_poll_once(Some(&db.url)).await;
}

/// `poll --once` killed at 14 random moments (publishers moving on half-way), then one run
/// that finishes; the store must hold every item exactly once.
async fn kill_poll_once(store: Option<&str>) {
    let p = Publisher::start().await;
    let mut items = [ITEMS; FEEDS];
    // A little latency so that kills land in every phase: fetching, parsing, committing.
    let delay = Duration::from_millis(40);
    for (f, n) in items.iter().enumerate() {
        publish(&p, f, *n, delay);
    }
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &p, "max_fetches_per_host = 4");
    let bin = env!("CARGO_BIN_EXE_feedsift");
    let mut rng = Lcg(0x5eed);
    let mut killed = 0;
    for round in 0..14 {
        if round == 6 {
            // Publishers move on mid-way: a third of the feeds gain five items (new ETags).
            for f in (0..FEEDS).step_by(3) {
                items[f] += 5;
                publish(&p, f, items[f], delay);
            }
        }
        let mut cmd = Command::new(bin);
        cmd.current_dir(dir.path())
            .args(["poll", "--once"])
            .env("RUST_LOG", "off")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if let Some(url) = store {
            cmd.env("FEEDSIFT_STORE", url);
        }
        let mut child = cmd.spawn().unwrap();
        // Killed on an event, not after a guessed time: once the publishers have answered a
        // random number of this run's requests (fewer than one per feed, so the run is never
        // over), while other fetches, parses and commits are under way.
        let answered = 1 + rng.next(FEEDS as u64 - 1) as usize;
        wait_for_answers(&p, &mut child, answered).await;
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap(); // SIGKILL
            killed += 1;
        }
        child.wait().unwrap();
    }
    assert_eq!(
        killed, 14,
        "a run ended before all its feeds were fetched; the test proves little"
    );

    // A final run that is allowed to finish.
    poll_to_completion_in(dir.path(), store);
    match store {
        None => verify(dir.path(), &items).await,
        Some(url) => verify_store(
            feedsift::store::Store::connect_postgres(url).unwrap(),
            &items,
        ),
    }
}

/// Every item of every feed exactly once, every feed's validators set.
async fn verify(dir: &std::path::Path, items: &[usize]) {
    verify_store(common::open_store(&dir.join("store")).await, items);
}

/// [`verify`] on an open store.
fn verify_store(store: feedsift::store::Store, items: &[usize]) {
    let expected: usize = items.iter().sum();
    assert_eq!(store.len().unwrap(), expected, "every item exactly once");
    let mut links: Vec<String> = store
        .newest_first()
        .map(|r| r.unwrap().item.link.unwrap())
        .collect();
    links.sort();
    links.dedup();
    assert_eq!(links.len(), expected);
    for (f, n) in items.iter().enumerate() {
        assert_eq!(
            store.items_of_feed(&format!("f{f}")).unwrap(),
            *n as u64,
            "feed f{f}"
        );
        for i in 0..*n {
            assert!(
                links
                    .binary_search(&format!("http://src{f}.example.cn/n/{i}.html"))
                    .is_ok(),
                "missing f{f}/{i}"
            );
        }
        let st = store.feed_state(&format!("f{f}")).unwrap();
        assert!(st.etag.is_some() && st.last_error.is_none(), "f{f}: {st:?}");
    }
    let sizes: std::collections::HashMap<_, _> = store.tree_sizes().into_iter().collect();
    assert_eq!(sizes["items"], expected, "item records");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_serve_loses_nothing_and_duplicates_nothing() {
    let p = Publisher::start().await;
    let mut items = [ITEMS; FEEDS];
    let delay = Duration::from_millis(30);
    for (f, n) in items.iter().enumerate() {
        publish(&p, f, *n, delay);
    }
    let dir = tempfile::tempdir().unwrap();
    // Every feed polled every second: the service is always in the middle of something.
    write_config(
        dir.path(),
        &p,
        "listen = \"127.0.0.1:0\"\nmax_fetches_per_host = 4\nmax_jitter_secs = 0\ndefault_schedule = \"* * * * * *\"",
    );
    let bin = env!("CARGO_BIN_EXE_feedsift");
    let mut rng = Lcg(0xc0ffee);
    for round in 0..10 {
        // Publishers keep publishing between crashes.
        for f in (round % 3..FEEDS).step_by(3) {
            items[f] += 2;
            publish(&p, f, items[f], delay);
        }
        let mut child = Command::new(bin)
            .current_dir(dir.path())
            .arg("serve")
            .env("RUST_LOG", "off")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Killed once the publishers have answered a random number of this run's requests (the
        // service is then fetching, parsing and committing other polls).
        let answered = 1 + rng.next(2 * FEEDS as u64) as usize;
        wait_for_answers(&p, &mut child, answered).await;
        assert!(
            child.try_wait().unwrap().is_none(),
            "serve exited by itself"
        );
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
    }
    let served: usize = p
        .log
        .lock()
        .unwrap()
        .iter()
        .filter(|(_, s)| *s == 200)
        .count();
    assert!(
        served > FEEDS,
        "serve polled too little to prove anything ({served} full responses)"
    );

    poll_to_completion(dir.path());
    verify(dir.path(), &items).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_fails_the_poll_cleanly_and_the_next_poll_completes_the_store() {
    let p = Publisher::start().await;
    let items = [ITEMS; FEEDS];
    for (f, n) in items.iter().enumerate() {
        publish(&p, f, *n, Duration::ZERO);
    }
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &p, "");
    let bin = env!("CARGO_BIN_EXE_feedsift");
    // The disk "fills up" at 512 KiB, one sled segment, so the poll's writes run past it (at
    // 1 MiB, once compact records made the store smaller, the whole poll fitted on CI):
    // RLIMIT_FSIZE makes writes past it fail (EFBIG) the way a full disk makes them fail
    // (ENOSPC); SIGXFSZ is ignored so the write error is what the process sees, not a signal.
    let out = Command::new("bash")
        .current_dir(dir.path())
        .args([
            "-c",
            &format!("trap '' XFSZ; ulimit -f 512; exec {bin} poll --once"),
        ])
        .env("RUST_LOG", "off")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "the poll claimed success on a full disk: {err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    assert!(
        err.contains("store") && err.contains("File too large") && err.contains("feeds:"),
        "{err}"
    );
    // Space again: one poll completes the store, nothing lost, nothing twice.
    poll_to_completion(dir.path());
    verify(dir.path(), &items).await;
}
