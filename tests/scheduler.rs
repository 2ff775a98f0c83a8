//! The long-running scheduler: through `run_service` (real fetches, real time, waiting for
//! events), and on a paused clock with a stand-in poller, where a minute of schedule runs in
//! milliseconds and the tests assert on *when* each poll happened.

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

// ---- On a paused clock -------------------------------------------------------------------

use chrono::{DateTime, Utc};
use feedsift::clock::Clock;
use feedsift::config::FeedConfig;
use feedsift::ingest::{FeedReport, PollStatus};
use feedsift::metrics::Metrics;
use feedsift::scheduler::{NextFires, Poller, Scheduler};
use feedsift::store::Store;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// One poll: the feed, when it started and when it ended.
type PollRecord = (String, DateTime<Utc>, DateTime<Utc>);

/// A poller that fetches nothing: it records when each poll started and ended (clock time),
/// takes as long as told, and records a successful poll in the store as the pipeline would.
struct Stand {
    store: Store,
    clock: Clock,
    takes: HashMap<&'static str, Duration>,
    log: Mutex<Vec<PollRecord>>,
    running: Mutex<HashMap<String, usize>>,
    max_running: Mutex<HashMap<String, usize>>,
}

impl Stand {
    fn new(clock: Clock, takes: &[(&'static str, u64)]) -> Arc<Stand> {
        Stand::sharing(Store::open_temporary().unwrap(), clock, takes)
    }

    /// A stand-in for another instance on the same store.
    fn sharing(store: Store, clock: Clock, takes: &[(&'static str, u64)]) -> Arc<Stand> {
        Arc::new(Stand {
            store,
            clock,
            takes: takes
                .iter()
                .map(|(k, ms)| (*k, Duration::from_millis(*ms)))
                .collect(),
            log: Mutex::default(),
            running: Mutex::default(),
            max_running: Mutex::default(),
        })
    }

    /// Start times of the polls of `feed`, as `HH:MM:SS.mmm`.
    fn starts(&self, feed: &str) -> Vec<String> {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter(|(f, ..)| f == feed)
            .map(|(_, s, _)| s.format("%H:%M:%S%.3f").to_string())
            .collect()
    }
}

impl Poller for Stand {
    async fn poll(&self, feed: &FeedConfig) -> FeedReport {
        let started = self.clock.now();
        {
            let mut running = self.running.lock().unwrap();
            let n = running.entry(feed.id.clone()).or_default();
            *n += 1;
            let mut max = self.max_running.lock().unwrap();
            let m = max.entry(feed.id.clone()).or_default();
            *m = (*m).max(*n);
        }
        let took = self
            .takes
            .get(feed.id.as_str())
            .copied()
            .unwrap_or_default();
        tokio::time::sleep(took).await;
        let mut state = self.store.feed_state(&feed.id).unwrap();
        state.last_poll = Some(started);
        state.last_success = Some(started);
        self.store.put_feed_state(&feed.id, &state).unwrap();
        *self.running.lock().unwrap().get_mut(&feed.id).unwrap() -= 1;
        self.log
            .lock()
            .unwrap()
            .push((feed.id.clone(), started, self.clock.now()));
        FeedReport {
            feed_id: feed.id.clone(),
            status: PollStatus::Ok,
            new: 0,
            updated: 0,
            duplicate: 0,
            elapsed: took,
        }
    }
    fn store(&self) -> &Store {
        &self.store
    }
    fn clock(&self) -> &Clock {
        &self.clock
    }
}

fn paused_config() -> feedsift::config::Config {
    let text = r#"[service]
data_dir = "unused"
timezone = "UTC"
max_jitter_secs = 0
fetch_timeout_secs = 10
lease_secs = 20

[[feed]]
id = "fast"
url = "http://feeds.test/fast"
schedule = "* * * * * *"

[[feed]]
id = "slow"
url = "http://feeds.test/slow"
schedule = "* * * * * *"

[[feed]]
id = "yearly"
url = "http://feeds.test/yearly"
schedule = "@yearly"

[[feed]]
id = "off"
url = "http://feeds.test/off"
enabled = false
"#;
    feedsift::config::parse(text, std::path::Path::new("feeds.toml")).unwrap()
}

/// A running scheduler over `stand` and the handles a test drives it with.
struct Running {
    metrics: Arc<Metrics>,
    poll_now: tokio::sync::mpsc::UnboundedSender<String>,
    shutdown: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

fn start(stand: &Arc<Stand>) -> Running {
    let metrics = Arc::new(Metrics::default());
    let scheduler = Scheduler::new(
        Arc::clone(stand),
        Arc::clone(&metrics),
        NextFires::default(),
    );
    let (_config_tx, config_rx) = watch::channel(Arc::new(paused_config()));
    let (poll_now, poll_now_rx) = tokio::sync::mpsc::unbounded_channel();
    let (shutdown, shutdown_rx) = watch::channel(false);
    let task = tokio::spawn(async move {
        let _keep = _config_tx;
        scheduler.run(config_rx, poll_now_rx, shutdown_rx).await
    });
    Running {
        metrics,
        poll_now,
        shutdown,
        task,
    }
}

impl Running {
    async fn stop(self) -> Arc<Metrics> {
        self.shutdown.send(true).unwrap();
        self.task.await.unwrap();
        self.metrics
    }
}

#[tokio::test(start_paused = true)]
async fn on_a_paused_clock_fires_follow_the_schedule_to_the_second() {
    let clock = Clock::starting_at(t("2026-01-01T00:00:00.250Z"));
    let stand = Stand::new(clock.clone(), &[("slow", 2500)]);
    let running = start(&stand);
    clock.sleep_until(t("2026-01-01T00:00:06.500Z")).await;
    let metrics = running.stop().await;

    // Never polled before: at once at start-up, then on every second of its schedule.
    assert_eq!(
        stand.starts("fast"),
        [
            "00:00:00.250",
            "00:00:01.000",
            "00:00:02.000",
            "00:00:03.000",
            "00:00:04.000",
            "00:00:05.000",
            "00:00:06.000"
        ]
    );
    // Its yearly schedule does not come round again; a disabled feed is never polled.
    assert_eq!(stand.starts("yearly"), ["00:00:00.250"]);
    assert!(stand.starts("off").is_empty());
    // 2.5 s polls fired every second: never two at once, the fires that came while one ran
    // are skipped and counted, and shutdown waited for the running poll.
    assert_eq!(stand.max_running.lock().unwrap()["slow"], 1);
    let slow = stand.starts("slow");
    // The start-up poll ends at 2.750 and the slot owed since 00:00:01 is polled then; the
    // fires of 00:00:02 to 00:00:05 come while it runs; 00:00:06 is polled on time.
    assert_eq!(slow, ["00:00:00.250", "00:00:02.750", "00:00:06.000"]);
    assert!(
        metrics
            .render(0, 0)
            .contains("feedsift_schedule_skipped_total 4"),
        "{}",
        metrics.render(0, 0)
    );
    let log = stand.log.lock().unwrap();
    let last_slow = log.iter().rfind(|(f, ..)| f == "slow").unwrap();
    assert_eq!(
        last_slow.2,
        t("2026-01-01T00:00:08.500Z"),
        "shutdown waited for it"
    );
}

/// Another instance sharing the store may push a feed back (its poll got a `Retry-After`) after
/// this one planned the next fire: the fire re-reads the state and is re-planned, not polled.
#[tokio::test(start_paused = true)]
async fn a_fire_honours_state_changed_since_it_was_planned() {
    let clock = Clock::starting_at(t("2026-01-01T00:00:00.250Z"));
    let stand = Stand::new(clock.clone(), &[]);
    let running = start(&stand);
    clock.sleep_until(t("2026-01-01T00:00:01.500Z")).await;
    assert_eq!(stand.starts("fast"), ["00:00:00.250", "00:00:01.000"]);
    // The fire for 00:00:02 is planned; now the shared state says "not for an hour".
    let mut state = stand.store.feed_state("fast").unwrap();
    state.retry_after = Some(t("2026-01-01T01:00:02Z"));
    stand.store.put_feed_state("fast", &state).unwrap();
    clock.sleep_until(t("2026-01-01T00:10:00Z")).await;
    assert_eq!(
        stand.starts("fast"),
        ["00:00:00.250", "00:00:01.000"],
        "polled despite the Retry-After another poll recorded"
    );
    // It comes back on the first second of its schedule from then on.
    clock.sleep_until(t("2026-01-01T01:00:03Z")).await;
    assert_eq!(stand.starts("fast")[2], "01:00:02.000");
    running.stop().await;
}

/// "Poll now" from an admin fires at once, even inside a backoff.
#[tokio::test(start_paused = true)]
async fn an_admin_poll_now_fires_at_once_despite_backoff() {
    let clock = Clock::starting_at(t("2026-06-01T08:00:00Z"));
    let stand = Stand::new(clock.clone(), &[]);
    let running = start(&stand);
    clock.sleep_until(t("2026-06-01T08:00:00.500Z")).await;
    assert_eq!(stand.starts("yearly"), ["08:00:00.000"]);
    let mut state = stand.store.feed_state("yearly").unwrap();
    state.consecutive_failures = 10;
    stand.store.put_feed_state("yearly", &state).unwrap();
    clock.sleep_until(t("2026-06-01T08:30:00Z")).await;
    running.poll_now.send("yearly".into()).unwrap();
    // An unknown feed is ignored, not an error.
    running.poll_now.send("nope".into()).unwrap();
    clock.sleep_until(t("2026-06-01T08:30:01Z")).await;
    assert_eq!(stand.starts("yearly"), ["08:00:00.000", "08:30:00.000"]);
    running.stop().await;
}

/// Two instances on one PostgreSQL store, on one paused clock: every slot is polled once between
/// them, and when one dies holding a feed's lease, the other polls that slot once the lease has
/// run out. (sled is one process's store: its leases are always this instance's.)
#[tokio::test(start_paused = true)]
#[cfg_attr(
    not(feedsift_postgres),
    ignore = "needs FEEDSIFT_TEST_POSTGRES (scripts/postgres-for-tests.sh)"
)]
async fn instances_share_the_slots_and_take_over_a_dead_ones_lease() {
    let db = common::PgDatabase::create("paused_instances");
    let clock = Clock::starting_at(t("2026-01-01T00:00:00.250Z"));
    let connect = || Store::connect_postgres(&db.url).unwrap();
    let a = Stand::sharing(connect(), clock.clone(), &[("slow", 15_000)]);
    let b = Stand::sharing(connect(), clock.clone(), &[("slow", 15_000)]);
    let run_a = start(&a);
    let run_b = start(&b);
    clock.sleep_until(t("2026-01-01T00:00:05.500Z")).await;
    // Each second of `fast` polled exactly once, by one instance or the other.
    let mut fast: Vec<String> = a.starts("fast");
    fast.extend(b.starts("fast"));
    fast.sort();
    assert_eq!(
        fast,
        [
            "00:00:00.250",
            "00:00:01.000",
            "00:00:02.000",
            "00:00:03.000",
            "00:00:04.000",
            "00:00:05.000"
        ]
    );
    // `slow` (15 s a poll) is polled by one of them; that one dies mid-poll at 00:00:05.5.
    let polling = |s: &Stand| s.running.lock().unwrap().get("slow").copied().unwrap_or(0);
    assert_eq!(polling(&a) + polling(&b), 1, "one instance polls `slow`");
    let (dead, alive, survivor) = if polling(&b) == 1 {
        (run_b, run_a, &a)
    } else {
        (run_a, run_b, &b)
    };
    assert!(survivor.starts("slow").is_empty());
    dead.task.abort();
    // Its lease (20 s from its claim at 00:00:00.250; the first renewal would have come at
    // 00:00:06.917) runs out at 00:00:20.250; the survivor, told "held until then", polls the
    // owed slot just after.
    clock.sleep_until(t("2026-01-01T00:00:40Z")).await;
    let taken = survivor.starts("slow");
    assert_eq!(taken.len(), 1, "{taken:?}");
    assert!(
        ("00:00:20.250".to_string().."00:00:21.000".to_string()).contains(&taken[0]),
        "{taken:?}"
    );
    alive.stop().await;
}
