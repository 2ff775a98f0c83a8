//! Counters for `/metrics`, in the Prometheus text exposition format.
//!
//! Plain atomics and one small map, rather than a metrics framework: the set is small and fixed,
//! and every stage can bump a counter without locks on the hot path. Names follow Prometheus
//! conventions (`_total` for counters, base units, low-cardinality labels: no feed URLs).
//!
//! Takes: plain counts, durations and `'static` labels from the stages that do the work (no
//! stage types: this module imports nothing from the crate, so any stage may call it).
//! Gives: [`Metrics::render`], the Prometheus text for `/metrics`. Guarantees: metric names,
//! label sets and the order of families never change with a refactoring (a golden test pins
//! the whole text).

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;
use std::time::Duration;

/// How one poll ended, as `feedsift_polls_total{result}` counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PollResult {
    /// Fetched and stored.
    Ok,
    /// Unchanged (304, or the same bytes as last time).
    NotModified,
    /// Failed at any stage.
    Failed,
}

/// What one finished poll adds to the counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PollCounts {
    /// How it ended.
    pub result: PollResult,
    /// Entries stored for the first time.
    pub new: usize,
    /// Entries already stored whose content changed.
    pub updated: usize,
    /// Entries already stored unchanged.
    pub duplicate: usize,
    /// Wall time of the poll.
    pub elapsed: Duration,
}

/// Requests of one route by status: (requests, total microseconds).
type ByStatus = BTreeMap<u16, (u64, u64)>;

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
    /// route → status → (requests, total microseconds).
    http: Mutex<BTreeMap<String, ByStatus>>,
    render_misses: AtomicU64,
    corrections: AtomicU64,
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
    pub fn record_poll(&self, r: PollCounts) {
        match r.result {
            PollResult::Ok => &self.polls_ok,
            PollResult::NotModified => &self.polls_not_modified,
            PollResult::Failed => &self.polls_failed,
        }
        .fetch_add(1, Relaxed);
        self.items_new.fetch_add(r.new as u64, Relaxed);
        self.items_updated.fetch_add(r.updated as u64, Relaxed);
        self.items_duplicate.fetch_add(r.duplicate as u64, Relaxed);
        self.poll_seconds_micros
            .fetch_add(r.elapsed.as_micros() as u64, Relaxed);
    }

    /// Adds one ingest's time waiting for and holding the store's ingest lock.
    pub fn record_ingest_lock(&self, wait: Duration, held: Duration) {
        self.ingests.fetch_add(1, Relaxed);
        self.lock_wait_micros
            .fetch_add(wait.as_micros() as u64, Relaxed);
        self.lock_held_micros
            .fetch_add(held.as_micros() as u64, Relaxed);
    }

    /// Counts a fetch that got an answer (`ok` or `not_modified`): its `bytes` of body and
    /// the time it took (`elapsed`).
    pub fn record_fetch(&self, outcome: &'static str, bytes: u64, elapsed: Duration) {
        self.count_fetch(outcome);
        self.bytes_fetched.fetch_add(bytes, Relaxed);
        let secs = elapsed.as_secs_f64();
        for (i, bound) in DURATION_BUCKETS.iter().enumerate() {
            if secs <= *bound {
                self.duration_buckets[i].fetch_add(1, Relaxed);
            }
        }
        self.duration_count.fetch_add(1, Relaxed);
        self.duration_sum_micros
            .fetch_add(elapsed.as_micros() as u64, Relaxed);
    }

    /// Counts a failed fetch by kind (a low-cardinality label such as `timeout`).
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
    pub fn record_http(&self, route: &str, status: u16, took: Duration) {
        if let Ok(mut m) = self.http.lock() {
            // Looked up by `&str`: a route seen before costs no allocation.
            let by_status = match m.get_mut(route) {
                Some(by_status) => by_status,
                None => m.entry(route.to_string()).or_default(),
            };
            let e = by_status.entry(status).or_default();
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

    /// Counts one item relabelled by the admin through this process (API or pages).
    pub fn record_correction(&self) {
        self.corrections.fetch_add(1, Relaxed);
    }

    /// Renders every metric; `stored_items` and `feeds_in_backoff` are read at scrape time.
    pub fn render(&self, stored_items: usize, feeds_in_backoff: usize) -> String {
        let mut s = String::new();
        self.render_polls(&mut s);
        self.render_fetches(&mut s);
        self.render_schedule(&mut s);
        self.render_feed_requests(&mut s);
        self.render_ingest(&mut s);
        self.render_fetch_duration(&mut s);
        self.render_http(&mut s);
        gauge(
            &mut s,
            "feedsift_feeds_in_backoff",
            "Enabled feeds whose last poll failed.",
            feeds_in_backoff,
        );
        gauge(
            &mut s,
            "feedsift_stored_items",
            "Items in the store.",
            stored_items,
        );
        counter(
            &mut s,
            "feedsift_corrections_total",
            "Item labels corrected by the admin through this process (API and pages).",
            &[("", self.corrections.load(Relaxed))],
        );
        s
    }

    /// `feedsift_polls_total` and `feedsift_items_total`.
    fn render_polls(&self, s: &mut String) {
        counter(
            s,
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
            s,
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
    }

    /// `feedsift_fetches_total` (by outcome) and `feedsift_fetched_bytes_total`.
    fn render_fetches(&self, s: &mut String) {
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
            s,
            "feedsift_fetches_total",
            "HTTP fetches of source feeds, by outcome (ok, not_modified, or the error kind).",
            &fetches,
        );
        counter(
            s,
            "feedsift_fetched_bytes_total",
            "Body bytes received from source feeds, after decompression.",
            &[("", self.bytes_fetched.load(Relaxed))],
        );
    }

    /// `feedsift_schedule_skipped_total` and `feedsift_schedule_elsewhere_total`.
    fn render_schedule(&self, s: &mut String) {
        counter(
            s,
            "feedsift_schedule_skipped_total",
            "Scheduled polls skipped because the previous poll of that feed was still running.",
            &[("", self.fires_skipped.load(Relaxed))],
        );
        counter(
            s,
            "feedsift_schedule_elsewhere_total",
            "Scheduled polls done by another instance sharing the store (PostgreSQL leases).",
            &[("", self.fires_elsewhere.load(Relaxed))],
        );
    }

    /// Requests for published feeds: all, by render cache outcome, and answered 304.
    fn render_feed_requests(&self, s: &mut String) {
        counter(
            s,
            "feedsift_feed_requests_total",
            "HTTP requests for published feeds.",
            &[("", self.http_requests.load(Relaxed))],
        );
        counter(
            s,
            "feedsift_render_cache_total",
            "Feed requests by render cache outcome.",
            &[
                ("{result=\"hit\"}", self.render_hits.load(Relaxed)),
                ("{result=\"miss\"}", self.render_misses.load(Relaxed)),
            ],
        );
        counter(
            s,
            "feedsift_feed_not_modified_total",
            "HTTP requests for published feeds answered 304 Not Modified.",
            &[("", self.http_not_modified.load(Relaxed))],
        );
    }

    /// Ingests, the ingest lock's wait and hold times, and the time spent polling.
    fn render_ingest(&self, s: &mut String) {
        counter(
            s,
            "feedsift_ingests_total",
            "Responses decided and committed under the ingest lock.",
            &[("", self.ingests.load(Relaxed))],
        );
        seconds_counter(
            s,
            "feedsift_ingest_lock_wait_seconds_total",
            "Time ingests waited for the store's ingest lock (held by this or, with PostgreSQL, another instance).",
            &self.lock_wait_micros,
        );
        seconds_counter(
            s,
            "feedsift_ingest_lock_held_seconds_total",
            "Time this instance held the store's ingest lock: the serial part of ingest.",
            &self.lock_held_micros,
        );
        seconds_counter(
            s,
            "feedsift_poll_seconds_total",
            "Time spent polling feeds.",
            &self.poll_seconds_micros,
        );
    }

    /// The `feedsift_fetch_duration_seconds` histogram.
    fn render_fetch_duration(&self, s: &mut String) {
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
    }

    /// `feedsift_http_requests_total` and `feedsift_http_request_seconds_total`, by route and
    /// status.
    fn render_http(&self, s: &mut String) {
        let Ok(http) = self.http.lock() else {
            return;
        };
        let _ = writeln!(s, "# HELP feedsift_http_requests_total HTTP requests served, by route and status.\n# TYPE feedsift_http_requests_total counter");
        let each = || {
            http.iter()
                .flat_map(|(route, by_status)| by_status.iter().map(move |(s, v)| (route, s, v)))
        };
        for (route, status, (n, _)) in each() {
            let _ = writeln!(
                s,
                "feedsift_http_requests_total{{route=\"{route}\",status=\"{status}\"}} {n}"
            );
        }
        let _ = writeln!(s, "# HELP feedsift_http_request_seconds_total Time spent serving HTTP requests, by route and status.\n# TYPE feedsift_http_request_seconds_total counter");
        for (route, status, (_, us)) in each() {
            let _ = writeln!(
                s,
                "feedsift_http_request_seconds_total{{route=\"{route}\",status=\"{status}\"}} {:.6}",
                *us as f64 / 1e6
            );
        }
    }
}

/// Writes a counter family: its `HELP` and `TYPE` lines, then one line per (labels, value).
fn counter(s: &mut String, name: &str, help: &str, samples: &[(&str, u64)]) {
    let _ = writeln!(s, "# HELP {name} {help}\n# TYPE {name} counter");
    for (labels, v) in samples {
        let _ = writeln!(s, "{name}{labels} {v}");
    }
}

/// Writes an unlabelled counter of seconds kept in microseconds.
fn seconds_counter(s: &mut String, name: &str, help: &str, micros: &AtomicU64) {
    let _ = writeln!(
        s,
        "# HELP {name} {help}\n# TYPE {name} counter\n{name} {:.6}",
        micros.load(Relaxed) as f64 / 1e6
    );
}

/// Writes an unlabelled gauge.
fn gauge(s: &mut String, name: &str, help: &str, value: usize) {
    let _ = writeln!(
        s,
        "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The whole exposition, byte for byte: names, labels, `HELP` texts and family order are
    /// what dashboards and alerts depend on. The expected text was produced by the renderer
    /// before it was split into per-family helpers.
    #[test]
    fn the_exposition_text_is_stable() {
        let m = Metrics::default();
        let ms = Duration::from_millis;
        for (result, new) in [
            (PollResult::Ok, 3),
            (PollResult::NotModified, 0),
            (PollResult::Failed, 1),
        ] {
            m.record_poll(PollCounts {
                result,
                new,
                updated: 2,
                duplicate: 5,
                elapsed: ms(1500),
            });
        }
        m.record_ingest_lock(Duration::from_micros(1234), Duration::from_micros(56789));
        m.record_fetch("ok", 1000, ms(300));
        m.record_fetch("not_modified", 0, ms(40));
        m.record_fetch_error("timeout");
        m.record_fetch_error("http_5xx");
        m.record_fetch_error("timeout");
        m.record_skipped_fire();
        m.record_fire_elsewhere();
        m.record_fire_elsewhere();
        m.record_feed_request(true);
        m.record_feed_request(false);
        m.record_http("/feeds/{file}", 200, ms(12));
        m.record_http("/feeds/{file}", 304, ms(2));
        m.record_http("/", 200, Duration::from_micros(700));
        m.record_render(true);
        m.record_render(false);
        m.record_render(false);
        m.record_correction();
        m.record_correction();
        let want = include_str!("../tests/fixtures/metrics.prom");
        assert_eq!(m.render(42, 3), want);
    }
}
