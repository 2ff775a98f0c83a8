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
    poll_seconds_micros: AtomicU64,
    http_requests: AtomicU64,
    http_not_modified: AtomicU64,
    fetch_errors: Mutex<BTreeMap<&'static str, u64>>,
}

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

    /// Counts a fetch error by kind (`status`, `timeout`, `too_large`, `network`).
    pub fn record_fetch_error(&self, kind: &'static str) {
        if let Ok(mut m) = self.fetch_errors.lock() {
            *m.entry(kind).or_default() += 1;
        }
    }

    /// Counts a scheduled fire skipped because the feed's previous poll was still running.
    pub fn record_skipped_fire(&self) {
        self.fires_skipped.fetch_add(1, Relaxed);
    }

    /// Counts one HTTP request to a published feed, and whether it was answered with a 304.
    pub fn record_feed_request(&self, not_modified: bool) {
        self.http_requests.fetch_add(1, Relaxed);
        if not_modified {
            self.http_not_modified.fetch_add(1, Relaxed);
        }
    }

    /// Renders every metric; `stored_items` is read from the store at scrape time.
    pub fn render(&self, stored_items: usize) -> String {
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
        let errors: Vec<(String, u64)> = self
            .fetch_errors
            .lock()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (format!("{{kind=\"{k}\"}}"), *v))
                    .collect()
            })
            .unwrap_or_default();
        let errors: Vec<(&str, u64)> = errors.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        counter(
            "feedsift_fetch_errors_total",
            "Fetch failures, by kind.",
            &errors,
        );
        counter(
            "feedsift_schedule_skipped_total",
            "Scheduled polls skipped because the previous poll of that feed was still running.",
            &[("", self.fires_skipped.load(Relaxed))],
        );
        counter(
            "feedsift_feed_requests_total",
            "HTTP requests for published feeds.",
            &[("", self.http_requests.load(Relaxed))],
        );
        counter(
            "feedsift_feed_not_modified_total",
            "HTTP requests for published feeds answered 304 Not Modified.",
            &[("", self.http_not_modified.load(Relaxed))],
        );
        let _ = writeln!(
            s,
            "# HELP feedsift_poll_seconds_total Time spent polling feeds.\n# TYPE feedsift_poll_seconds_total counter\nfeedsift_poll_seconds_total {:.6}",
            self.poll_seconds_micros.load(Relaxed) as f64 / 1e6
        );
        let _ = writeln!(
            s,
            "# HELP feedsift_stored_items Items in the store.\n# TYPE feedsift_stored_items gauge\nfeedsift_stored_items {stored_items}"
        );
        s
    }
}
