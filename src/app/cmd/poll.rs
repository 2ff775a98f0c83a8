//! `feedsift poll --once`: every enabled feed polled once.
//!
//! Takes: the configuration. Gives: the items stored, retention applied, the store flushed, and
//! a summary — failures and updates on stderr, then one line on stdout whose shape scripts rely
//! on ([`PollSummary`]'s `Display`). Guarantees: a store that cannot be written fails the whole
//! command, saying what the poll got done before it.

use super::{progress_bar, Context};
use crate::app::service::Service;
use crate::ingest::{FeedReport, PollStatus};
use crate::scheduler;
use anyhow::Context as _;
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// Runs `poll --once`.
pub fn run(ctx: &Context) -> anyhow::Result<()> {
    let service = Service::open(ctx.config()?)?;
    let summary = ctx.rt.block_on(poll_once(&service, true))?;
    for (id, why) in &summary.failed {
        eprintln!("failed: {id}: {why}");
    }
    if summary.updated > 0 {
        eprintln!(
            "updated: {} items changed since the last poll",
            summary.updated
        );
    }
    println!("{summary}");
    Ok(())
}

/// What `poll --once` did, over all feeds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PollSummary {
    /// Feeds fetched and stored.
    pub ok: usize,
    /// Feeds unchanged since the last poll.
    pub not_modified: usize,
    /// Feeds that failed, with the reason.
    pub failed: Vec<(String, String)>,
    /// Entries stored for the first time.
    pub new: usize,
    /// Entries already stored, unchanged.
    pub duplicate: usize,
    /// Entries already stored whose content changed.
    pub updated: usize,
}

impl PollSummary {
    /// Adds up per-feed reports.
    pub fn from_reports(reports: &[FeedReport]) -> PollSummary {
        let mut s = PollSummary::default();
        for r in reports {
            match &r.status {
                PollStatus::Ok => s.ok += 1,
                PollStatus::NotModified => s.not_modified += 1,
                PollStatus::Failed(m) => s.failed.push((r.feed_id.clone(), m.clone())),
            }
            s.new += r.new;
            s.duplicate += r.duplicate;
            s.updated += r.updated;
        }
        s
    }
}

/// The one-line summary the CLI prints; its shape is a contract scripts rely on.
impl fmt::Display for PollSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "feeds: {} ok, {} not modified, {} failed; items: {} new, {} duplicate",
            self.ok,
            self.not_modified,
            self.failed.len(),
            self.new,
            self.duplicate
        )
    }
}

/// Polls every enabled feed once and flushes the store. A progress bar is drawn on stderr when
/// it is a terminal and `progress` is set.
pub async fn poll_once(service: &Service, progress: bool) -> anyhow::Result<PollSummary> {
    let feeds: Vec<_> = service
        .config
        .feeds
        .iter()
        .filter(|f| f.enabled)
        .cloned()
        .collect();
    let bar = progress_bar(
        progress,
        feeds.len() as u64,
        "{spinner} polling [{bar:30}] {pos}/{len} feeds {msg}",
    );
    let failures = AtomicUsize::new(0);
    let reports = scheduler::poll_all(Arc::clone(&service.pipeline), &feeds, |r| {
        if let Some(b) = &bar {
            if matches!(r.status, PollStatus::Failed(_)) {
                failures.fetch_add(1, Ordering::Relaxed);
            }
            b.set_message(format!(
                "{} failed · last: {}",
                failures.load(Ordering::Relaxed),
                r.feed_id
            ));
            b.inc(1);
        }
    })
    .await;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let summary = PollSummary::from_reports(&reports);
    // A store that cannot be written (a full disk, a read-only mount) fails the whole command,
    // with what the poll got done before it.
    let c = &service.config.service;
    let pruned = service
        .store
        .prune(chrono::Utc::now(), c.retention, c.max_items)
        .with_context(|| format!("applying retention (after {summary})"))?;
    if pruned.items > 0 {
        tracing::info!(items = pruned.items, "retention: pruned");
    }
    service
        .store
        .flush()
        .with_context(|| format!("flushing the store (after {summary})"))?;
    Ok(summary)
}
