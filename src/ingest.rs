//! One poll of one feed, through every stage: fetch → normalize → dedup → categorize → store.
//!
//! Takes: a [`FeedConfig`]. Gives: a [`FeedReport`] saying what happened (ok / not modified /
//! failed, items new / updated / duplicate). The scheduler decides *when* to call this; this
//! module only *does* it, so `poll --once` and the long-running service share one code path.
//!
//! Guarantees:
//! - A failing feed fails alone: every error becomes a report and a recorded `last_error`, never
//!   a panic or an error that stops other feeds.
//! - Items are written before the feed state that records their validators, so a crash in
//!   between re-fetches the feed instead of skipping items behind a stored ETag.
//! - New validators are stored whenever a response carries them, a 304 included
//!   (RFC 9111 §4.3.4).
//! - A body identical to the last one parsed is not parsed again (servers without validators).

use crate::categorize::Categorizer;
use crate::config::FeedConfig;
use crate::dedup::canonical_key;
use crate::fetch::{FetchOutcome, Fetcher, Validators};
use crate::metrics::Metrics;
use crate::model::{hex, FeedState, SourceRef, StoredItem};
use crate::normalize::parse_feed;
use crate::store::{Store, Upsert};
use chrono::Utc;
use chrono_tz::Tz;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How one poll ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PollStatus {
    /// Fetched and stored.
    Ok,
    /// The feed has not changed (304, or the same bytes as last time).
    NotModified,
    /// Something failed; the message names the stage and the cause.
    Failed(String),
}

/// The outcome of polling one feed.
#[derive(Debug, Clone)]
pub struct FeedReport {
    /// The feed's id.
    pub feed_id: String,
    /// How it ended.
    pub status: PollStatus,
    /// Entries stored for the first time.
    pub new: usize,
    /// Entries already stored whose content changed.
    pub updated: usize,
    /// Entries already stored unchanged (including repeats within one document).
    pub duplicate: usize,
    /// Wall time of the poll.
    pub elapsed: Duration,
}

/// Everything a poll needs, shared by all polling tasks.
pub struct Pipeline {
    fetcher: Fetcher,
    store: Store,
    categorizer: Arc<dyn Categorizer>,
    timezone: Tz,
    metrics: Arc<Metrics>,
}

impl Pipeline {
    /// Wires the stages together.
    pub fn new(
        fetcher: Fetcher,
        store: Store,
        categorizer: Arc<dyn Categorizer>,
        timezone: Tz,
        metrics: Arc<Metrics>,
    ) -> Pipeline {
        Pipeline {
            fetcher,
            store,
            categorizer,
            timezone,
            metrics,
        }
    }

    /// The store this pipeline writes to.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Polls one feed and records the outcome; never fails (failures are in the report).
    pub async fn poll(&self, feed: &FeedConfig) -> FeedReport {
        let started = Instant::now();
        let mut report = FeedReport {
            feed_id: feed.id.clone(),
            status: PollStatus::Ok,
            new: 0,
            updated: 0,
            duplicate: 0,
            elapsed: Duration::ZERO,
        };
        let mut state = match self.store.feed_state(&feed.id) {
            Ok(s) => s,
            Err(e) => {
                // A corrupt state record must not stop polling: start afresh.
                tracing::warn!(feed_id = %feed.id, error = %e, "feed state unreadable, starting afresh");
                FeedState::default()
            }
        };
        let result = self.poll_inner(feed, &mut state, &mut report).await;
        let now = Utc::now();
        state.last_poll = Some(now);
        match result {
            Ok(status) => {
                state.last_success = Some(now);
                state.last_error = None;
                state.consecutive_failures = 0;
                report.status = status;
            }
            Err(message) => {
                state.last_error = Some(message.clone());
                state.consecutive_failures = state.consecutive_failures.saturating_add(1);
                report.status = PollStatus::Failed(message);
            }
        }
        if let Err(e) = self.store.put_feed_state(&feed.id, &state) {
            tracing::error!(feed_id = %feed.id, error = %e, "cannot save feed state");
            if !matches!(report.status, PollStatus::Failed(_)) {
                report.status = PollStatus::Failed(e.to_string());
            }
        }
        report.elapsed = started.elapsed();
        self.metrics.record_poll(&report);
        match &report.status {
            PollStatus::Failed(m) => {
                tracing::warn!(feed_id = %feed.id, feed_url = %feed.url, error = %m, "poll failed")
            }
            s => tracing::info!(
                feed_id = %feed.id, status = ?s, new = report.new, updated = report.updated,
                duplicate = report.duplicate, elapsed_ms = report.elapsed.as_millis() as u64, "polled"
            ),
        }
        report
    }

    async fn poll_inner(
        &self,
        feed: &FeedConfig,
        state: &mut FeedState,
        report: &mut FeedReport,
    ) -> Result<PollStatus, String> {
        let validators = Validators {
            etag: state.etag.clone(),
            last_modified: state.last_modified.clone(),
        };
        let fetched = match self.fetcher.fetch(&feed.url, &validators).await {
            Ok(FetchOutcome::NotModified { validators }) => {
                // RFC 9111 §4.3.4: a 304 updates the stored validators it carries.
                merge_validators(state, validators);
                return Ok(PollStatus::NotModified);
            }
            Ok(FetchOutcome::Fetched(body)) => body,
            Err(e) => {
                self.metrics.record_fetch_error(e.kind());
                return Err(e.to_string());
            }
        };
        let digest = hex(&Sha256::digest(&fetched.body)[..16]);
        if state.body_digest.as_deref() == Some(digest.as_str()) {
            replace_validators(state, fetched.validators);
            return Ok(PollStatus::NotModified);
        }

        // Parsing and the sled writes are CPU-bound and synchronous: keep them off the async
        // workers so a large feed never stalls the HTTP server.
        let store = self.store.clone();
        let categorizer = Arc::clone(&self.categorizer);
        let tz = self.timezone;
        let feed_cfg = feed.clone();
        let known_title = state.title.clone();
        let content_type = fetched.content_type.clone();
        let final_url = fetched.final_url.clone();
        let body = fetched.body.clone();
        let (counts, feed_title) = tokio::task::spawn_blocking(move || {
            let parsed = parse_feed(&body, content_type.as_deref(), &final_url, &feed_cfg.id, tz)
                .map_err(|e| format!("{e} (feed {} at {})", feed_cfg.id, feed_cfg.url))?;
            let source = SourceRef {
                feed_id: feed_cfg.id.clone(),
                title: feed_cfg
                    .title
                    .clone()
                    .or_else(|| parsed.title.clone())
                    .or(known_title)
                    .unwrap_or_else(|| feed_cfg.id.clone()),
                url: feed_cfg.url.to_string(),
            };
            let mut counts = (0usize, 0usize, 0usize);
            let now = Utc::now();
            for item in parsed.items {
                let key = canonical_key(&item);
                let digest = item.content_digest();
                if store.digest_of(&key).map_err(|e| e.to_string())?.as_deref()
                    == Some(digest.as_str())
                {
                    counts.2 += 1;
                    continue;
                }
                let class = categorizer.classify(&item);
                let stored = StoredItem {
                    key,
                    seq: 0,
                    first_seen: now,
                    changed: None,
                    digest,
                    source: source.clone(),
                    item,
                    class,
                };
                match store.upsert(stored).map_err(|e| e.to_string())? {
                    Upsert::New => counts.0 += 1,
                    Upsert::Updated => counts.1 += 1,
                    Upsert::Unchanged => counts.2 += 1,
                }
            }
            Ok::<_, String>((counts, parsed.title))
        })
        .await
        .map_err(|e| format!("ingest task failed: {e}"))??;

        report.new = counts.0;
        report.updated = counts.1;
        report.duplicate = counts.2;
        replace_validators(state, fetched.validators);
        state.body_digest = Some(digest);
        if feed_title.is_some() {
            state.title = feed_title;
        }
        Ok(PollStatus::Ok)
    }
}

/// Replaces stored validators with any the response carried; keeps the old ones otherwise.
fn merge_validators(state: &mut FeedState, v: Validators) {
    if v.etag.is_some() {
        state.etag = v.etag;
    }
    if v.last_modified.is_some() {
        state.last_modified = v.last_modified;
    }
}

/// A full (200) response's validators are the current ones; validators it lacks no longer apply.
fn replace_validators(state: &mut FeedState, v: Validators) {
    state.etag = v.etag;
    state.last_modified = v.last_modified;
}
