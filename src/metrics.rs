//! Counters for `/metrics`, in the Prometheus text exposition format.
//!
//! Plain atomics and one small map, rather than a metrics framework: the set is small and fixed,
//! and every stage can bump a counter without locks on the hot path. Names follow Prometheus
//! conventions (`_total` for counters, base units, low-cardinality labels: no feed URLs).

use crate::ingest::{FeedReport, PollStatus};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;

/// The service's counters.
#[derive(Debug, Default)]
pub struct Metrics {
    polls_ok: AtomicU64,
    polls_not_modified: AtomicU64,
    polls_failed: AtomicU64,
    items_new: AtomicU64,
    items_updated: AtomicU64,
    items_duplicate: AtomicU64,
    fires_skipped: AtomicU64,
    fires_elsewhere: AtomicU64,
    poll_seconds_micros: AtomicU64,
    lock_wait_micros: AtomicU64,
    lock_held_micros: AtomicU64,
    ingests: AtomicU64,
    http_requests: AtomicU64,
    http_not_modified: AtomicU64,
    render_hits: AtomicU64,
    /// (route, status) → (requests, total microseconds).
    http: Mutex<BTreeMap<(String, u16), (u64, u64)>>,
    render_misses: AtomicU64,
    /// Fetches by outcome: `ok`, `not_modified`, or an error kind.
    fetches: Mutex<BTreeMap<&'static str, u64>>,
    bytes_fetched: AtomicU64,
    /// Cumulative counts per bucket of [`DURATION_BUCKETS`], plus the sum in microseconds.
    duration_buckets: [AtomicU64; DURATION_BUCKETS.len()],
    duration_count: AtomicU64,
    duration_sum_micros: AtomicU64,
}

/// Upper bounds (seconds) of the fetch duration histogram buckets.
const DURATION_BUCKETS: [f64; 9] = [0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

impl Metrics {
    /// Counts one finished poll.
    pub fn record_poll(&self, r: &FeedReport) {
        match r.status {
            PollStatus::Ok => &self.polls_ok,
            PollStatus::NotModified => &self.polls_not_modified,
            PollStatus::Failed(_) => &self.polls_failed,
        }
        .fetch_add(1, Relaxed);
        self.items_new.fetch_add(r.new as u64, Relaxed);
        self.items_updated.fetch_add(r.updated as u64, Relaxed);
        self.items_duplicate.fetch_add(r.duplicate as u64, Relaxed);
        self.poll_seconds_micros
            .fetch_add(r.elapsed.as_micros() as u64, Relaxed);
    }

    /// Adds one ingest's time waiting for and holding the store's ingest lock.
    pub fn record_ingest_lock(&self, wait: std::time::Duration, held: std::time::Duration) {
        self.ingests.fetch_add(1, Relaxed);
        self.lock_wait_micros
            .fetch_add(wait.as_micros() as u64, Relaxed);
        self.lock_held_micros
            .fetch_add(held.as_micros() as u64, Relaxed);
    }

    /// Counts a fetch that got an answer (`ok` or `not_modified`), its duration and bytes.
    pub fn record_fetch(&self, outcome: &'static str, meta: &crate::fetch::ResponseMeta) {
        self.count_fetch(outcome);
        self.bytes_fetched.fetch_add(meta.bytes, Relaxed);
        let secs = meta.elapsed.as_secs_f64();
        for (i, bound) in DURATION_BUCKETS.iter().enumerate() {
            if secs <= *bound {
                self.duration_buckets[i].fetch_add(1, Relaxed);
            }
        }
        self.duration_count.fetch_add(1, Relaxed);
        self.duration_sum_micros
            .fetch_add(meta.elapsed.as_micros() as u64, Relaxed);
    }

    /// Counts a failed fetch by kind (see [`crate::fetch::FetchError::kind`]).
    pub fn record_fetch_error(&self, kind: &'static str) {
        self.count_fetch(kind);
    }

    fn count_fetch(&self, outcome: &'static str) {
        if let Ok(mut m) = self.fetches.lock() {
            *m.entry(outcome).or_default() += 1;
        }
    }

    /// Counts a scheduled fire skipped because the feed's previous poll was still running.
    pub fn record_skipped_fire(&self) {
        self.fires_skipped.fetch_add(1, Relaxed);
    }

    /// Counts a scheduled fire left to another instance (it held or had done the slot).
    pub fn record_fire_elsewhere(&self) {
        self.fires_elsewhere.fetch_add(1, Relaxed);
    }

    /// Counts one HTTP request to a published feed, and whether it was answered with a 304.
    pub fn record_feed_request(&self, not_modified: bool) {
        self.http_requests.fetch_add(1, Relaxed);
        if not_modified {
            self.http_not_modified.fetch_add(1, Relaxed);
        }
    }

    /// Counts one HTTP request by route pattern and status, with its duration.
    pub fn record_http(&self, route: &str, status: u16, took: std::time::Duration) {
        if let Ok(mut m) = self.http.lock() {
            let e = m.entry((route.to_string(), status)).or_default();
            e.0 += 1;
            e.1 += took.as_micros() as u64;
        }
    }

    /// Counts a feed request served from the render cache (`hit`) or rendered afresh.
    pub fn record_render(&self, hit: bool) {
        if hit {
            &self.render_hits
        } else {
            &self.render_misses
        }
        .fetch_add(1, Relaxed);
    }

    /// Renders every metric; `stored_items` and `feeds_in_backoff` are read at scrape time.
    pub fn render(&self, stored_items: usize, feeds_in_backoff: usize) -> String {
        let mut s = String::new();
        let mut counter = |name: &str, help: &str, samples: &[(&str, u64)]| {
            let _ = writeln!(s, "# HELP {name} {help}\n# TYPE {name} counter");
            for (labels, v) in samples {
                let _ = writeln!(s, "{name}{labels} {v}");
            }
        };
        counter(
            "feedsift_polls_total",
            "Feed polls finished, by result.",
            &[
                ("{result=\"ok\"}", self.polls_ok.load(Relaxed)),
                (
                    "{result=\"not_modified\"}",
                    self.polls_not_modified.load(Relaxed),
                ),
                ("{result=\"failed\"}", self.polls_failed.load(Relaxed)),
            ],
        );
        counter(
            "feedsift_items_total",
            "Entries seen by polls, by outcome.",
            &[
                ("{outcome=\"new\"}", self.items_new.load(Relaxed)),
                ("{outcome=\"updated\"}", self.items_updated.load(Relaxed)),
                (
                    "{outcome=\"duplicate\"}",
                    self.items_duplicate.load(Relaxed),
                ),
            ],
        );
        let fetches: Vec<(String, u64)> = self
            .fetches
            .lock()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (format!("{{outcome=\"{k}\"}}"), *v))
                    .collect()
            })
            .unwrap_or_default();
        let fetches: Vec<(&str, u64)> = fetches.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        counter(
            "feedsift_fetches_total",
            "HTTP fetches of source feeds, by outcome (ok, not_modified, or the error kind).",
            &fetches,
        );
        counter(
            "feedsift_fetched_bytes_total",
            "Body bytes received from source feeds, after decompression.",
            &[("", self.bytes_fetched.load(Relaxed))],
        );
        counter(
            "feedsift_schedule_skipped_total",
            "Scheduled polls skipped because the previous poll of that feed was still running.",
            &[("", self.fires_skipped.load(Relaxed))],
        );
        counter(
            "feedsift_schedule_elsewhere_total",
            "Scheduled polls done by another instance sharing the store (PostgreSQL leases).",
            &[("", self.fires_elsewhere.load(Relaxed))],
        );
        counter(
            "feedsift_feed_requests_total",
            "HTTP requests for published feeds.",
            &[("", self.http_requests.load(Relaxed))],
        );
        counter(
            "feedsift_render_cache_total",
            "Feed requests by render cache outcome.",
            &[
                ("{result=\"hit\"}", self.render_hits.load(Relaxed)),
                ("{result=\"miss\"}", self.render_misses.load(Relaxed)),
            ],
        );
        counter(
            "feedsift_feed_not_modified_total",
            "HTTP requests for published feeds answered 304 Not Modified.",
            &[("", self.http_not_modified.load(Relaxed))],
        );
        let _ = writeln!(
            s,
            "# HELP feedsift_ingests_total Responses decided and committed under the ingest lock.\n# TYPE feedsift_ingests_total counter\nfeedsift_ingests_total {}",
            self.ingests.load(Relaxed)
        );
        let _ = writeln!(
            s,
            "# HELP feedsift_ingest_lock_wait_seconds_total Time ingests waited for the store's ingest lock (held by this or, with PostgreSQL, another instance).\n# TYPE feedsift_ingest_lock_wait_seconds_total counter\nfeedsift_ingest_lock_wait_seconds_total {:.6}",
            self.lock_wait_micros.load(Relaxed) as f64 / 1e6
        );
        let _ = writeln!(
            s,
            "# HELP feedsift_ingest_lock_held_seconds_total Time this instance held the store's ingest lock: the serial part of ingest.\n# TYPE feedsift_ingest_lock_held_seconds_total counter\nfeedsift_ingest_lock_held_seconds_total {:.6}",
            self.lock_held_micros.load(Relaxed) as f64 / 1e6
        );
        let _ = writeln!(
            s,
            "# HELP feedsift_poll_seconds_total Time spent polling feeds.\n# TYPE feedsift_poll_seconds_total counter\nfeedsift_poll_seconds_total {:.6}",
            self.poll_seconds_micros.load(Relaxed) as f64 / 1e6
        );
        let _ = writeln!(
            s,
            "# HELP feedsift_fetch_duration_seconds Time to fetch a source feed (answered fetches).\n# TYPE feedsift_fetch_duration_seconds histogram"
        );
        for (i, bound) in DURATION_BUCKETS.iter().enumerate() {
            let _ = writeln!(
                s,
                "feedsift_fetch_duration_seconds_bucket{{le=\"{bound}\"}} {}",
                self.duration_buckets[i].load(Relaxed)
            );
        }
        let count = self.duration_count.load(Relaxed);
        let _ = writeln!(
            s,
            "feedsift_fetch_duration_seconds_bucket{{le=\"+Inf\"}} {count}\nfeedsift_fetch_duration_seconds_sum {:.6}\nfeedsift_fetch_duration_seconds_count {count}",
            self.duration_sum_micros.load(Relaxed) as f64 / 1e6
        );
        if let Ok(http) = self.http.lock() {
            let _ = writeln!(s, "# HELP feedsift_http_requests_total HTTP requests served, by route and status.\n# TYPE feedsift_http_requests_total counter");
            for ((route, status), (n, _)) in http.iter() {
                let _ = writeln!(
                    s,
                    "feedsift_http_requests_total{{route=\"{route}\",status=\"{status}\"}} {n}"
                );
            }
            let _ = writeln!(s, "# HELP feedsift_http_request_seconds_total Time spent serving HTTP requests, by route and status.\n# TYPE feedsift_http_request_seconds_total counter");
            for ((route, status), (_, us)) in http.iter() {
                let _ = writeln!(s, "feedsift_http_request_seconds_total{{route=\"{route}\",status=\"{status}\"}} {:.6}", *us as f64 / 1e6);
            }
        }
        let _ = writeln!(
            s,
            "# HELP feedsift_feeds_in_backoff Enabled feeds whose last poll failed.\n# TYPE feedsift_feeds_in_backoff gauge\nfeedsift_feeds_in_backoff {feeds_in_backoff}"
        );
        let _ = writeln!(
            s,
            "# HELP feedsift_stored_items Items in the store.\n# TYPE feedsift_stored_items gauge\nfeedsift_stored_items {stored_items}"
        );
        s
    }
}
