//! One poll of one feed, through every stage: fetch → normalize → dedup → categorize → store.
//!
//! Takes: a [`FeedConfig`]. Gives: a [`FeedReport`] saying what happened (ok / not modified /
//! failed, items new / updated / duplicate); a failure is an [`IngestError`] (its text goes to
//! the report and `last_error`, its [`IngestError::kind`] to the log), and the report's
//! [`FeedReport::counts`] go to [`Metrics`]. The scheduler decides *when* to call this; this
//! module only *does* it, so `poll --once` and the long-running service share one code path.
//!
//! Guarantees:
//! - A failing feed fails alone: every error becomes a report and a recorded `last_error`, never
//!   a panic or an error that stops other feeds.
//! - A response's items and the feed state that records its validators are committed in one
//!   store transaction, so a crash can neither lose items behind an advanced ETag nor store
//!   them twice.
//! - New validators are stored whenever a response carries them, a 304 included
//!   (RFC 9111 §4.3.4).
//! - A body identical to the last one parsed is not parsed again (servers without validators).

use crate::categorize::Categorizer;
use crate::clock::Clock;
use crate::config::FeedConfig;
use crate::dedup::{self, DedupSettings};
use crate::fetch::{FetchError, FetchOutcome, FetchedBody, Fetcher, ResponseMeta, Validators};
use crate::metrics::{Metrics, PollCounts, PollResult};
use crate::model::{hex, FeedState, SourceRef};
use crate::normalize::{parse_feed, NormalizeError};
use crate::store::{Store, StoreError};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;
use url::Url;

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

/// Why a poll failed. Its text is what [`PollStatus::Failed`] and [`FeedState::last_error`]
/// carry (it names the stage and the cause); [`IngestError::kind`] is its label in logs.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The fetch failed (its text starts `fetch:`).
    #[error("{0}")]
    Fetch(#[from] FetchError),
    /// The body is not a feed that can be read (`parse:` or `decode:`).
    #[error("{source} (feed {feed_id} at {url})")]
    Normalize {
        /// What the normaliser said.
        #[source]
        source: NormalizeError,
        /// The feed's id.
        feed_id: String,
        /// The URL that served the body (after redirects).
        url: String,
    },
    /// Reading or writing the store failed (`store:`).
    #[error("{0}")]
    Store(#[from] StoreError),
    /// The blocking task that parses and stores panicked or was cancelled.
    #[error("ingest task failed: {0}")]
    Task(#[source] tokio::task::JoinError),
}

impl IngestError {
    /// A stable, low-cardinality label: a fetch failure's [`FetchError::kind`] (the label of
    /// `feedsift_fetches_total`), else the stage its text starts with: `parse`, `decode`,
    /// `store`, or `task` for a failed ingest task.
    pub fn kind(&self) -> &'static str {
        match self {
            IngestError::Fetch(e) => e.kind(),
            IngestError::Normalize {
                source: NormalizeError::Encoding { .. },
                ..
            } => "decode",
            IngestError::Normalize { .. } => "parse",
            IngestError::Store(_) => "store",
            IngestError::Task(_) => "task",
        }
    }
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

impl FeedReport {
    /// What this poll adds to the service's counters.
    pub fn counts(&self) -> PollCounts {
        PollCounts {
            result: match self.status {
                PollStatus::Ok => PollResult::Ok,
                PollStatus::NotModified => PollResult::NotModified,
                PollStatus::Failed(_) => PollResult::Failed,
            },
            new: self.new,
            updated: self.updated,
            duplicate: self.duplicate,
            elapsed: self.elapsed,
        }
    }
}

/// Everything a poll needs, shared by all polling tasks.
pub struct Pipeline {
    fetcher: Fetcher,
    /// Bounds parse-and-store work to one task per core.
    cpu: Semaphore,
    store: Store,
    /// Swapped when a reload changes the keyword lists. A std lock: read once per poll, never
    /// held across an await.
    categorizer: std::sync::RwLock<Arc<dyn Categorizer>>,
    /// Swapped when a reload changes `[dedup]`.
    dedup: std::sync::RwLock<DedupSettings>,
    timezone: Tz,
    metrics: Arc<Metrics>,
    /// The service's clock: the times a poll records (see [`crate::clock`]).
    clock: Clock,
    /// What the deduplicator learned of each source's packaging, loaded from the store.
    learner: Arc<dedup::learn::Learner>,
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
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        // A store reached over the network spends most of an ingest waiting for round trips,
        // not computing: let more run at once, or the cores idle while the database answers.
        let permits = if store.decides_before_locking() {
            cores * 4
        } else {
            cores
        };
        let learner = Arc::new(dedup::learn::Learner::new());
        match store.blobs(dedup::learn::BLOB_PREFIX) {
            Ok(blobs) => {
                let n = learner.load_all(blobs);
                tracing::debug!(sources = n, "dedup: learned packaging loaded");
            }
            Err(e) => {
                tracing::warn!(error = %e, "dedup: learned packaging not loaded; learning again")
            }
        }
        Pipeline {
            learner,
            fetcher,
            cpu: Semaphore::new(permits),
            store,
            categorizer: std::sync::RwLock::new(categorizer),
            dedup: std::sync::RwLock::new(DedupSettings::default()),
            timezone,
            metrics,
            clock: Clock::system(),
        }
    }

    /// The same pipeline on another clock (tests run on paused time).
    pub fn with_clock(mut self, clock: Clock) -> Pipeline {
        self.fetcher = self.fetcher.with_clock(clock.clone());
        self.clock = clock;
        self
    }

    /// The service's clock.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// Replaces the categorizer for polls that start from now on.
    pub fn set_categorizer(&self, categorizer: Arc<dyn Categorizer>) {
        *self.categorizer.write().expect("categorizer lock poisoned") = categorizer;
    }

    /// Replaces the deduplication settings for polls that start from now on.
    pub fn set_dedup(&self, settings: DedupSettings) {
        *self.dedup.write().expect("dedup settings lock poisoned") = settings;
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
        let result = self
            .poll_inner(feed, &mut state, &mut report, started)
            .await;
        let mut failure: Option<&'static str> = None;
        let save = match result {
            // Items and state were committed together.
            Ok(Outcome::Committed) => {
                report.status = PollStatus::Ok;
                false
            }
            Ok(Outcome::NotModified) => {
                succeed(&mut state, started, self.clock.now());
                report.status = PollStatus::NotModified;
                true
            }
            Err(e) => {
                let message = e.to_string();
                failure = Some(e.kind());
                state.last_poll = Some(self.clock.now());
                state.last_duration_ms = Some(started.elapsed().as_millis() as u64);
                state.last_error = Some(message.clone());
                state.consecutive_failures = state.consecutive_failures.saturating_add(1);
                report.status = PollStatus::Failed(message);
                true
            }
        };
        if !save {
            // Nothing left to write.
        } else if let Err(e) = self.store.put_feed_state(&feed.id, &state) {
            tracing::error!(feed_id = %feed.id, error = %e, "cannot save feed state");
            if failure.is_none() {
                let e = IngestError::Store(e);
                failure = Some(e.kind());
                report.status = PollStatus::Failed(e.to_string());
            }
        }
        report.elapsed = started.elapsed();
        self.metrics.record_poll(report.counts());
        match &report.status {
            PollStatus::Failed(m) => {
                let kind = failure.unwrap_or("unknown");
                tracing::warn!(feed_id = %feed.id, feed_url = %feed.url, error = %m, kind, "poll failed")
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
        started: Instant,
    ) -> Result<Outcome, IngestError> {
        let Some(fetched) = self.fetch(feed, state).await? else {
            return Ok(Outcome::NotModified);
        };
        let digest = hex(&Sha256::digest(&fetched.body)[..16]);
        if state.body_digest.as_deref() == Some(digest.as_str()) {
            replace_validators(state, fetched.validators);
            return Ok(Outcome::NotModified);
        }

        // Parsing and the sled writes are CPU-bound and synchronous: run them on the blocking
        // pool, at most one per core, so a burst of feeds never stalls the HTTP server or
        // piles up hundreds of half-parsed documents in memory.
        let _cpu = self
            .cpu
            .acquire()
            .await
            .expect("cpu semaphore is never closed");
        // The state this response leads to, committed with its items in one transaction: the
        // validators only advance together with what they validate.
        let mut next = state.clone();
        replace_validators(&mut next, fetched.validators);
        next.body_digest = Some(digest);
        succeed(&mut next, started, self.clock.now());
        let job = IngestJob {
            learner: self.learner.clone(),
            store: self.store.clone(),
            categorizer: Arc::clone(&self.categorizer.read().expect("categorizer lock poisoned")),
            settings: self
                .dedup
                .read()
                .expect("dedup settings lock poisoned")
                .clone(),
            tz: feed.timezone.unwrap_or(self.timezone),
            feed: feed.clone(),
            body: fetched.body,
            content_type: fetched.content_type,
            final_url: fetched.final_url,
            next,
            now: self.clock.now(),
        };
        let (counts, next) = tokio::task::spawn_blocking(move || job.run())
            .await
            .map_err(IngestError::Task)??;

        report.new = counts.new;
        report.updated = counts.updated;
        report.duplicate = counts.duplicate;
        self.metrics
            .record_ingest_lock(counts.lock_wait, counts.lock_held);
        *state = next;
        Ok(Outcome::Committed)
    }

    /// Fetches `feed` conditionally and records what the answer says in `state`; `None` when
    /// it has not changed (304).
    async fn fetch(
        &self,
        feed: &FeedConfig,
        state: &mut FeedState,
    ) -> Result<Option<FetchedBody>, IngestError> {
        // A permanent redirect seen for this configured URL is followed from then on; when the
        // admin changes the URL, the old redirect is forgotten.
        if state.redirected_from.as_deref() != Some(feed.url.as_str()) {
            state.redirected_to = None;
            state.redirected_from = None;
        }
        let target = state
            .redirected_to
            .as_deref()
            .and_then(|u| Url::parse(u).ok())
            .unwrap_or_else(|| feed.url.clone());
        let validators = Validators {
            etag: state.etag.clone(),
            last_modified: state.last_modified.clone(),
        };
        let now = self.clock.now();
        match self.fetcher.fetch(&target, &validators).await {
            Ok(FetchOutcome::NotModified { validators, meta }) => {
                self.metrics
                    .record_fetch("not_modified", meta.bytes, meta.elapsed);
                self.record_meta(feed, state, &meta, now);
                // RFC 9111 §4.3.4: a 304 updates the stored validators it carries.
                merge_validators(state, validators);
                Ok(None)
            }
            Ok(FetchOutcome::Fetched(body)) => {
                self.metrics
                    .record_fetch("ok", body.meta.bytes, body.meta.elapsed);
                self.record_meta(feed, state, &body.meta, now);
                Ok(Some(body))
            }
            Err(e) => {
                self.metrics.record_fetch_error(e.kind());
                state.last_status = e.status();
                state.retry_after = e
                    .retry_after()
                    .and_then(|d| chrono::Duration::from_std(d).ok())
                    .map(|d| now + d);
                Err(e.into())
            }
        }
    }

    /// Records what any successful response says: status, freshness, a permanent redirect.
    fn record_meta(
        &self,
        feed: &FeedConfig,
        state: &mut FeedState,
        meta: &ResponseMeta,
        now: chrono::DateTime<Utc>,
    ) {
        state.last_status = Some(meta.status);
        state.retry_after = None;
        state.fresh_until = meta
            .fresh_for
            .and_then(|d| chrono::Duration::from_std(d).ok())
            .map(|d| now + d);
        if let Some(to) = &meta.permanent_redirect {
            if state.redirected_to.as_deref() != Some(to.as_str()) {
                tracing::info!(feed_id = %feed.id, from = %feed.url, to = %to, "feed moved permanently; polling the new URL from now on");
            }
            state.redirected_to = Some(to.to_string());
            state.redirected_from = Some(feed.url.to_string());
        }
    }
}

/// How a poll that did not fail ended, for the bookkeeping in [`Pipeline::poll`].
enum Outcome {
    /// Unchanged: only the feed state is to be written.
    NotModified,
    /// Items and the feed state were committed together.
    Committed,
}

/// One response's parse-and-store work, moved onto the blocking pool.
struct IngestJob {
    store: Store,
    learner: Arc<dedup::learn::Learner>,
    categorizer: Arc<dyn Categorizer>,
    settings: DedupSettings,
    tz: Tz,
    feed: FeedConfig,
    body: bytes::Bytes,
    content_type: Option<String>,
    final_url: Url,
    /// The feed state to commit with the items.
    next: FeedState,
    /// When the items were seen (the service's clock).
    now: DateTime<Utc>,
}

impl IngestJob {
    /// Parses the body and stores its items with `next` (updated from the feed's own hints)
    /// in one transaction. Blocking.
    fn run(self) -> Result<(dedup::Counts, FeedState), IngestError> {
        let IngestJob {
            store,
            learner,
            categorizer,
            settings,
            tz,
            feed,
            body,
            content_type,
            final_url,
            mut next,
            now,
        } = self;
        let parsed = parse_feed(&body, content_type.as_deref(), &final_url, &feed.id, tz);
        // The body (up to the 10 MiB cap) is not needed past parsing.
        drop(body);
        let parsed = match parsed {
            Ok(p) => p,
            Err(source) => {
                return Err(IngestError::Normalize {
                    source,
                    feed_id: feed.id.clone(),
                    url: final_url.to_string(),
                })
            }
        };
        if parsed.title.is_some() {
            next.title = parsed.title.clone();
        }
        next.min_interval_secs = parsed.hints.min_interval.map(|d| d.as_secs());
        next.skip_hours = parsed.hints.skip_hours.clone();
        next.skip_days = parsed.hints.skip_days.clone();
        let source = SourceRef {
            feed_id: feed.id.clone(),
            title: feed
                .title
                .clone()
                .or_else(|| next.title.clone())
                .unwrap_or_else(|| feed.id.clone()),
            url: feed.url.to_string(),
        };
        let classify = |item: &crate::model::Item| categorizer.classify(item);
        let counts = dedup::ingest_learning(
            &store,
            Some(&learner),
            &source,
            parsed.items,
            &classify,
            &settings,
            Some(&next),
            now,
        )?;
        Ok((counts, next))
    }
}

/// Marks a poll as successful in `state`.
fn succeed(state: &mut FeedState, started: Instant, now: DateTime<Utc>) {
    state.last_poll = Some(now);
    state.last_success = Some(now);
    state.last_duration_ms = Some(started.elapsed().as_millis() as u64);
    state.last_error = None;
    state.consecutive_failures = 0;
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The text users see in `last_error` and `/api/sources`, and the labels logs carry.
    #[test]
    fn errors_keep_their_text_and_label() {
        let url = Url::parse("https://news.example/rss").unwrap();
        let cases: Vec<(IngestError, &str, &str)> = vec![
            (
                FetchError::Timeout {
                    secs: 20,
                    url: url.to_string(),
                }
                .into(),
                "fetch: timed out after 20s fetching https://news.example/rss",
                "timeout",
            ),
            (
                FetchError::Status {
                    status: 503,
                    url: url.to_string(),
                    retry_after: None,
                }
                .into(),
                "fetch: HTTP 503 from https://news.example/rss",
                "http_5xx",
            ),
            (
                IngestError::Normalize {
                    source: NormalizeError::Parse("bad".into()),
                    feed_id: "n".into(),
                    url: url.to_string(),
                },
                "parse: bad (feed n at https://news.example/rss)",
                "parse",
            ),
            (
                IngestError::Normalize {
                    source: NormalizeError::Encoding {
                        encoding: "GBK",
                        malformed: 3,
                    },
                    feed_id: "n".into(),
                    url: url.to_string(),
                },
                "decode: the body is not valid GBK text (3 malformed byte sequences); the feed's declared charset is wrong (feed n at https://news.example/rss)",
                "decode",
            ),
            (
                StoreError::Spec("nope".into()).into(),
                "store: nope",
                "store",
            ),
        ];
        for (e, text, kind) in cases {
            assert_eq!((e.to_string().as_str(), e.kind()), (text, kind));
        }
    }

    #[test]
    fn a_normalize_error_keeps_its_source() {
        use std::error::Error;
        let e = IngestError::Normalize {
            source: NormalizeError::EntriesLost,
            feed_id: "n".into(),
            url: "https://news.example/rss".into(),
        };
        assert!(e.source().is_some_and(|s| s.is::<NormalizeError>()));
    }
}
