//! Scaling out: several `feedsift serve` instances on one PostgreSQL, and `feedsift migrate`.
//!
//! The three-instance test runs a local farm of 1,000 feeds whose content changes every
//! schedule slot, starts three instances on one database, SIGKILLs one in the middle of a slot,
//! and checks from the farm's request log and the database that
//! - every feed was polled in every slot (the survivors took the dead instance's leases over),
//! - no feed was polled twice in a slot (only a poll the killed instance had started is redone;
//!   it answers slowly, so it always dies with polls in flight),
//! - every item the farm served is stored exactly once, and nothing else is.
//!
//! Needs `FEEDSIFT_TEST_POSTGRES` (see `tests/common`); skipped with a message without it,
//! failed without it under `FEEDSIFT_REQUIRE_POSTGRES=1` (CI).

mod common;

use common::{free_port, text};

use axum::extract::{Path as UrlPath, State};
use axum::http::{header, HeaderMap};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use common::{PgDatabase, Publisher};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const FEEDS: usize = 1000;
/// The schedule slot, in seconds (`*/15 * * * * *`).
const PERIOD: i64 = 15;
const HOSTS: usize = 4;

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// 12 pseudo-random CJK characters for (feed, round): unrelated stories stay unrelated.
fn title(feed: usize, round: i64) -> String {
    let mut x = (feed as u64 * 1_000_003 + round as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..12)
        .map(|_| {
            x ^= x >> 29;
            x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
            char::from_u32(0x4E00 + (x % 0x51A5) as u32).unwrap()
        })
        .collect()
}

#[derive(Default)]
struct FarmLog {
    /// (feed, time in ms, the instance's User-Agent)
    requests: Vec<(usize, i64, String)>,
    /// Every guid ever served.
    served: HashSet<String>,
    /// The slot the farm started in: its feeds have no items from before.
    start_round: i64,
}

type Farm = Arc<Mutex<FarmLog>>;

/// Feed `n` lists the items of the current slot and of the three before.
async fn feed(
    State(farm): State<Farm>,
    UrlPath(name): UrlPath<String>,
    headers: HeaderMap,
) -> impl IntoResponse {
    let n: usize = name
        .trim_start_matches('f')
        .trim_end_matches(".rss")
        .parse()
        .unwrap_or(0);
    let t = now_ms();
    let round = t.div_euclid(PERIOD * 1000);
    let ua = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let mut body = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><rss version=\"2.0\"><channel><title>源{n}</title>\
         <link>http://farm.test/{n}</link><description>d</description>"
    );
    // The instance the test kills answers slowly, so it always dies with polls in flight.
    let slow = ua == "inst0";
    {
        let mut log = farm.lock().unwrap();
        log.requests.push((n, t, ua));
        // Four slots of history, like a real feed: a poll redone a slot late (its instance
        // died with it in flight) still finds what the lost one had.
        for r in ((round - 3).max(log.start_round)..=round).rev() {
            let guid = format!("f{n}-r{r}");
            body.push_str(&format!(
                "<item><title>{}</title><guid isPermaLink=\"false\">{guid}</guid>\
                 <link>http://farm.test/{n}/{r}.html</link><description>正文 {n} {r}</description></item>",
                title(n, r)
            ));
            log.served.insert(guid);
        }
    }
    body.push_str("</channel></rss>");
    if slow {
        tokio::time::sleep(Duration::from_millis(1000)).await;
    }
    ([(header::CONTENT_TYPE, "application/rss+xml")], body)
}

/// Serves the farm on 127.0.0.1 … 127.0.0.HOSTS, one port (so per-host limits see 4 hosts).
async fn start_farm() -> (u16, Farm) {
    let farm: Farm = Arc::new(Mutex::new(FarmLog {
        start_round: now_ms().div_euclid(PERIOD * 1000),
        ..FarmLog::default()
    }));
    let app = Router::new()
        .route("/{name}", get(feed))
        .with_state(farm.clone());
    'retry: for _ in 0..20 {
        let first = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = first.local_addr().unwrap().port();
        let mut listeners = vec![first];
        for h in 2..=HOSTS {
            match tokio::net::TcpListener::bind(format!("127.0.0.{h}:{port}")).await {
                Ok(l) => listeners.push(l),
                Err(_) => continue 'retry,
            }
        }
        for l in listeners {
            let app = app.clone();
            tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
        }
        return (port, farm);
    }
    panic!("no port free on all farm addresses");
}

fn write_instance_config(
    dir: &Path,
    i: usize,
    farm_port: u16,
    listen: u16,
    schedule: &str,
) -> std::path::PathBuf {
    let mut cfg = format!(
        "[service]\nlisten = \"127.0.0.1:{listen}\"\ndata_dir = \"data{i}\"\nuser_agent = \"inst{i}\"\n\
         public_url = \"http://feeds.test/\"\n\
         default_schedule = \"{schedule}\"\nmax_jitter_secs = 0\nfetch_timeout_secs = 3\n\
         lease_secs = 5\nmax_concurrent_fetches = 32\nmax_fetches_per_host = 8\ntimezone = \"UTC\"\n\n"
    );
    for n in 0..FEEDS {
        cfg.push_str(&format!(
            "[[feed]]\nid = \"f{n}\"\nurl = \"http://127.0.0.{}:{farm_port}/f{n}.rss\"\n",
            1 + n % HOSTS
        ));
    }
    let path = dir.join(format!("feeds{i}.toml"));
    std::fs::write(&path, cfg).unwrap();
    path
}

/// Kills every instance still running when the test ends, however it ends.
struct Instances(Vec<Option<Child>>);

impl Drop for Instances {
    fn drop(&mut self) {
        for c in self.0.iter_mut().flatten() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

async fn healthy(port: u16) -> bool {
    match reqwest::get(format!("http://127.0.0.1:{port}/healthz")).await {
        Ok(r) => r.status().is_success(),
        Err(_) => false,
    }
}

/// Sleeps until `offset_ms` after the next slot boundary.
async fn until_after_boundary(offset_ms: i64) -> i64 {
    let t = now_ms();
    let boundary = (t.div_euclid(PERIOD * 1000) + 1) * PERIOD * 1000;
    tokio::time::sleep(Duration::from_millis((boundary + offset_ms - t) as u64)).await;
    boundary / 1000
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[cfg_attr(
    not(feedsift_postgres),
    ignore = "needs FEEDSIFT_TEST_POSTGRES (scripts/postgres-for-tests.sh)"
)]
async fn three_instances_share_the_polling_and_survive_a_kill() {
    let db = PgDatabase::create("three_instances");
    let dir = tempfile::tempdir().unwrap();
    let (farm_port, farm) = start_farm().await;
    let ports: Vec<u16> = (0..3).map(|_| free_port()).collect();
    // Start just after a boundary, so the start-up polls fall in one slot.
    until_after_boundary(500).await;
    let mut inst = Instances(Vec::new());
    for (i, port) in ports.iter().enumerate() {
        let schedule = format!("*/{PERIOD} * * * * *");
        let cfg = write_instance_config(dir.path(), i, farm_port, *port, &schedule);
        let child = Command::new(env!("CARGO_BIN_EXE_feedsift"))
            .current_dir(dir.path())
            .args(["--config", cfg.to_str().unwrap(), "serve"])
            .env("FEEDSIFT_STORE", &db.url)
            .env("RUST_LOG", "feedsift=warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        inst.0.push(Some(child));
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    for port in &ports {
        while !healthy(*port).await {
            assert!(
                Instant::now() < deadline,
                "instance on {port} never answered"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    // Slot 1 starts; 1.5 s in, instance 0 dies holding leases of feeds in flight.
    let first = until_after_boundary(1500).await;
    let mut victim = inst.0[0].take().unwrap();
    victim.kill().unwrap();
    victim.wait().unwrap();
    let killed_at = now_ms();
    // Two more whole slots after the one it died in.
    let last = until_after_boundary(0).await + PERIOD;
    tokio::time::sleep(Duration::from_millis((PERIOD * 1000 + 9_000) as u64)).await;
    for c in inst.0.iter_mut().flatten() {
        let _ = Command::new("kill")
            .args(["-TERM", &c.id().to_string()])
            .status();
    }
    for c in inst.0.iter_mut() {
        if let Some(mut child) = c.take() {
            let status = child.wait().unwrap();
            assert!(
                status.success(),
                "a surviving instance exited with {status}"
            );
        }
    }

    let (requests, served) = {
        let log = farm.lock().unwrap();
        (log.requests.clone(), log.served.clone())
    };
    // Requests per (slot, feed), with who made them.
    let mut per_slot: BTreeMap<i64, HashMap<usize, Vec<(i64, String)>>> = BTreeMap::new();
    for (feed, t, ua) in &requests {
        per_slot
            .entry(t.div_euclid(PERIOD * 1000) * PERIOD)
            .or_default()
            .entry(*feed)
            .or_default()
            .push((*t, ua.clone()));
    }
    let mut redone = 0;
    let mut by_instance: HashMap<String, usize> = HashMap::new();
    for slot in (first..=last).step_by(PERIOD as usize) {
        let polls = per_slot.get(&slot).cloned().unwrap_or_default();
        let missed: Vec<usize> = (0..FEEDS).filter(|f| !polls.contains_key(f)).collect();
        if !missed.is_empty() {
            let show: Vec<(usize, Vec<(i64, &String)>)> = missed
                .iter()
                .take(5)
                .map(|f| {
                    let reqs = requests
                        .iter()
                        .filter(|(g, _, _)| g == f)
                        .map(|(_, t, ua)| (t - slot * 1000, ua))
                        .collect();
                    (*f, reqs)
                })
                .collect();
            panic!(
                "slot {slot}: {} feeds not polled; killed at {} ms into slot {first}; e.g. (feed, [(ms after slot start, by)]): {show:?}",
                missed.len(),
                killed_at - first * 1000
            );
        }
        for (feed, reqs) in &polls {
            for (_, ua) in reqs {
                *by_instance.entry(ua.clone()).or_default() += 1;
            }
            let survivors: Vec<_> = reqs.iter().filter(|(_, ua)| ua != "inst0").collect();
            assert!(
                survivors.len() <= 1 && reqs.len() <= 2,
                "slot {slot}: feed {feed} polled {} times: {reqs:?}",
                reqs.len()
            );
            if reqs.len() == 2 {
                // Only a poll the killed instance had started, before it died, is redone.
                assert!(
                    slot == first && reqs.iter().any(|(t, ua)| ua == "inst0" && *t <= killed_at),
                    "slot {slot}: feed {feed} polled twice: {reqs:?}"
                );
                redone += 1;
            }
        }
    }
    for slot in (first + PERIOD..=last).step_by(PERIOD as usize) {
        assert!(
            per_slot[&slot]
                .values()
                .flatten()
                .all(|(_, ua)| ua != "inst0"),
            "the killed instance polled after its death"
        );
    }
    assert!(
        redone > 0,
        "the killed instance had polls in flight: they must have been taken over"
    );
    // How much of each slot polling took (the last request's offset): the test's margin.
    let spans: Vec<i64> = (first..=last)
        .step_by(PERIOD as usize)
        .map(|slot| {
            per_slot[&slot]
                .values()
                .flatten()
                .map(|(t, _)| t - slot * 1000)
                .max()
                .unwrap_or(0)
        })
        .collect();
    eprintln!("last request of each slot, ms after its start: {spans:?}");
    eprintln!(
        "slots {first}..={last}: every feed polled once per slot; {redone} polls of the killed instance redone; requests by instance {by_instance:?}"
    );
    assert!(
        by_instance.get("inst1").copied().unwrap_or(0) > 0
            && by_instance.get("inst2").copied().unwrap_or(0) > 0,
        "both survivors share the work: {by_instance:?}"
    );

    // Every served item stored exactly once, nothing else.
    let url = db.url.clone();
    let stored: Vec<String> = tokio::task::spawn_blocking(move || {
        let store = feedsift::store::Store::connect_postgres(&url).unwrap();
        store
            .after_seq(None)
            .map(|r| r.unwrap().item.guid.unwrap_or_default())
            .collect()
    })
    .await
    .unwrap();
    let distinct: HashSet<&String> = stored.iter().collect();
    assert_eq!(distinct.len(), stored.len(), "an item was stored twice");
    let missing: Vec<&String> = served
        .iter()
        .filter(|g| !distinct.contains(g))
        .take(5)
        .collect();
    assert!(missing.is_empty(), "served but not stored: {missing:?}");
    assert_eq!(
        stored.len(),
        served.len(),
        "stored items the farm never served"
    );
    eprintln!(
        "{} items served, {} stored, each once",
        served.len(),
        stored.len()
    );
}

fn feedsift(dir: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_feedsift"));
    c.current_dir(dir)
        .args(args)
        .env_remove("FEEDSIFT_CONFIG")
        .env_remove("FEEDSIFT_DATA_DIR")
        .env_remove("FEEDSIFT_STORE")
        .env("RUST_LOG", "warn");
    c
}

#[tokio::test]
#[cfg_attr(
    not(feedsift_postgres),
    ignore = "needs FEEDSIFT_TEST_POSTGRES (scripts/postgres-for-tests.sh)"
)]
async fn migrate_moves_a_sled_store_to_postgres_and_exports_match() {
    let p = Publisher::start().await;
    common::serve_standard_fixtures(&p);
    let dir = tempfile::tempdir().unwrap();
    common::write_config(dir.path(), &p, "");
    let d = dir.path().to_path_buf();
    let run = move |args: Vec<String>, store: Option<String>| {
        let d = d.clone();
        async move {
            tokio::task::spawn_blocking(move || {
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                let mut c = feedsift(&d, &args);
                if let Some(s) = store {
                    c.env("FEEDSIFT_STORE", s);
                }
                c.output().unwrap()
            })
            .await
            .unwrap()
        }
    };
    let poll = run(vec!["poll".into(), "--once".into()], None).await;
    assert!(text(&poll.stdout).contains("new"), "{}", text(&poll.stdout));
    let sled_export = run(vec!["export".into(), "merged".into()], None).await;
    assert!(sled_export.status.success());

    // Bad endpoints are named, and nothing is touched.
    let bad = run(
        vec![
            "migrate".into(),
            "--from".into(),
            "store".into(),
            "--to".into(),
            "sled:x".into(),
        ],
        None,
    )
    .await;
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        text(&bad.stderr).contains("`store` is not a store"),
        "{}",
        text(&bad.stderr)
    );
    let missing = run(
        vec![
            "migrate".into(),
            "--from".into(),
            "sled:nowhere".into(),
            "--to".into(),
            "sled:y".into(),
        ],
        None,
    )
    .await;
    assert!(
        text(&missing.stderr).contains("holds no sled store"),
        "{}",
        text(&missing.stderr)
    );

    let db = PgDatabase::create("migrate");
    let store_dir = dir.path().join("store");
    let from = format!("sled:{}", store_dir.display());
    let out = run(
        vec![
            "migrate".into(),
            "--from".into(),
            from.clone(),
            "--to".into(),
            db.url.clone(),
        ],
        None,
    )
    .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let said = text(&out.stdout);
    assert!(said.contains("counts verified"), "{said}");
    // The same output, byte for byte, from the PostgreSQL store.
    let pg_export = run(vec!["export".into(), "merged".into()], Some(db.url.clone())).await;
    assert!(pg_export.status.success(), "{}", text(&pg_export.stderr));
    assert_eq!(text(&pg_export.stdout), text(&sled_export.stdout));
    // A second migration into the now full database is refused.
    let again = run(
        vec![
            "migrate".into(),
            "--from".into(),
            from,
            "--to".into(),
            db.url.clone(),
        ],
        None,
    )
    .await;
    assert_eq!(again.status.code(), Some(1));
    assert!(
        text(&again.stderr).contains("already holds"),
        "{}",
        text(&again.stderr)
    );
    // And back again: PostgreSQL to a new sled store, same bytes.
    let back = dir.path().join("back");
    let out = run(
        vec![
            "migrate".into(),
            "--from".into(),
            db.url.clone(),
            "--to".into(),
            format!("sled:{}", back.display()),
        ],
        None,
    )
    .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    std::fs::remove_dir_all(&store_dir).unwrap();
    std::fs::rename(&back, &store_dir).unwrap();
    let round_trip = run(vec!["export".into(), "merged".into()], None).await;
    assert_eq!(text(&round_trip.stdout), text(&sled_export.stdout));
}

#[test]
fn an_unreachable_database_is_a_clear_error_without_the_password() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("feeds.toml"),
        "[service]\nstore = \"postgres://feedsift:s3cret@127.0.0.1:1/feedsift\"\n\
         [[feed]]\nid = \"a\"\nurl = \"http://127.0.0.1:9/a.rss\"\n",
    )
    .unwrap();
    for args in [&["poll", "--once"][..], &["serve"][..]] {
        let out = feedsift(dir.path(), args).output().unwrap();
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(
            err.contains("postgres connect to postgres://feedsift:***@127.0.0.1:1/feedsift"),
            "{args:?}: {err}"
        );
        assert!(
            !err.contains("s3cret"),
            "{args:?}: the password leaked: {err}"
        );
    }
}
