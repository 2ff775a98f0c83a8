//! The scheduler: decides *when* each feed is polled; [`crate::ingest`] does the polling.
//!
//! Takes: the enabled feeds with their cron schedules, the service time zone and a shared
//! [`Pipeline`]. Gives: polls, fired at each feed's next cron time (read in the configured zone,
//! so `0 0 8 * * *` means 08:00 in Asia/Shanghai, not in UTC), until shutdown.
//!
//! Guarantees:
//! - A feed never polled before is polled at start-up, so a new feed shows up at once rather
//!   than at its first cron time.
//! - A feed is never fetched twice at once: a fire that comes while its previous poll is still
//!   running is skipped and counted (`feedsift_schedule_skipped_total`).
//! - At most `max_concurrent_fetches` polls run at once, service-wide (a semaphore).
//! - Shutdown stops new fires at once and waits for running polls to finish, so nothing half
//!   written is left behind.

use crate::config::FeedConfig;
use crate::ingest::{FeedReport, Pipeline};
use crate::metrics::Metrics;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;

/// The next time `schedule` fires strictly after `after`, reading the schedule in `tz`.
pub fn next_fire(schedule: &cron::Schedule, tz: Tz, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
    schedule
        .after(&after.with_timezone(&tz))
        .next()
        .map(|t| t.with_timezone(&Utc))
}

/// Polls every feed once, `concurrency` at a time, and returns the reports in feed order.
/// `on_done` is called as each feed finishes (for a progress bar).
pub async fn poll_all(
    pipeline: Arc<Pipeline>,
    feeds: &[FeedConfig],
    concurrency: usize,
    on_done: impl Fn(&FeedReport),
) -> Vec<FeedReport> {
    let sem = Arc::new(Semaphore::new(concurrency.max(1)));
    let mut set = JoinSet::new();
    for (i, feed) in feeds.iter().cloned().enumerate() {
        let pipeline = Arc::clone(&pipeline);
        let sem = Arc::clone(&sem);
        set.spawn(async move {
            let _permit = sem
                .acquire_owned()
                .await
                .expect("semaphore is never closed");
            (i, pipeline.poll(&feed).await)
        });
    }
    let mut reports: Vec<Option<FeedReport>> = vec![None; feeds.len()];
    while let Some(done) = set.join_next().await {
        match done {
            Ok((i, r)) => {
                on_done(&r);
                reports[i] = Some(r);
            }
            Err(e) => tracing::error!(error = %e, "polling task panicked"),
        }
    }
    reports
        .into_iter()
        .zip(feeds)
        .map(|(r, f)| {
            r.unwrap_or_else(|| FeedReport {
                feed_id: f.id.clone(),
                status: crate::ingest::PollStatus::Failed("polling task panicked".into()),
                new: 0,
                updated: 0,
                duplicate: 0,
                elapsed: Duration::ZERO,
            })
        })
        .collect()
}

/// The long-running scheduler.
pub struct Scheduler {
    feeds: Vec<FeedConfig>,
    timezone: Tz,
    pipeline: Arc<Pipeline>,
    metrics: Arc<Metrics>,
    permits: Arc<Semaphore>,
    /// Feeds with a poll in progress. A std mutex: it is held only to insert or remove an id,
    /// never across an await.
    in_flight: Arc<Mutex<HashSet<String>>>,
}

impl Scheduler {
    /// A scheduler for the enabled feeds among `feeds`.
    pub fn new(
        feeds: &[FeedConfig],
        timezone: Tz,
        pipeline: Arc<Pipeline>,
        metrics: Arc<Metrics>,
        max_concurrent: usize,
    ) -> Scheduler {
        Scheduler {
            feeds: feeds.iter().filter(|f| f.enabled).cloned().collect(),
            timezone,
            pipeline,
            metrics,
            permits: Arc::new(Semaphore::new(max_concurrent.max(1))),
            in_flight: Arc::new(Mutex::new(HashSet::new())),
        }
    }

    /// Runs until `shutdown` turns true, then waits for running polls.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let now = Utc::now();
        let mut queue: BinaryHeap<Reverse<(DateTime<Utc>, usize)>> = BinaryHeap::new();
        for (i, feed) in self.feeds.iter().enumerate() {
            let never_polled = self
                .pipeline
                .store()
                .feed_state(&feed.id)
                .map(|s| s.last_poll.is_none())
                .unwrap_or(true);
            let first = if never_polled {
                Some(now)
            } else {
                next_fire(&feed.schedule.schedule, self.timezone, now)
            };
            if let Some(t) = first {
                queue.push(Reverse((t, i)));
            }
        }
        tracing::info!(feeds = self.feeds.len(), "scheduler started");
        let mut tasks = JoinSet::new();
        loop {
            let Some(Reverse((due, _))) = queue.peek().copied() else {
                // Nothing to schedule: wait for shutdown.
                let _ = shutdown.changed().await;
                break;
            };
            let wait = (due - Utc::now()).to_std().unwrap_or(Duration::ZERO);
            // Wake at least once a minute so a wall-clock jump (suspend, NTP) is noticed.
            let wait = wait.min(Duration::from_secs(60));
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = shutdown.changed() => break,
                Some(_) = tasks.join_next(), if !tasks.is_empty() => continue,
            }
            let now = Utc::now();
            while let Some(Reverse((t, i))) = queue.peek().copied() {
                if t > now {
                    break;
                }
                queue.pop();
                self.fire(i, &mut tasks);
                let feed = &self.feeds[i];
                if let Some(next) = next_fire(&feed.schedule.schedule, self.timezone, now.max(t)) {
                    queue.push(Reverse((next, i)));
                }
            }
            if *shutdown.borrow() {
                break;
            }
        }
        tracing::info!(
            running = tasks.len(),
            "scheduler stopping; waiting for running polls"
        );
        while tasks.join_next().await.is_some() {}
    }

    fn fire(&self, i: usize, tasks: &mut JoinSet<()>) {
        let feed = self.feeds[i].clone();
        {
            let mut in_flight = self.in_flight.lock().expect("in-flight set poisoned");
            if !in_flight.insert(feed.id.clone()) {
                tracing::warn!(feed_id = %feed.id, "previous poll still running; skipping this fire");
                self.metrics.record_skipped_fire();
                return;
            }
        }
        let pipeline = Arc::clone(&self.pipeline);
        let permits = Arc::clone(&self.permits);
        let in_flight = Arc::clone(&self.in_flight);
        tasks.spawn(async move {
            if let Ok(_permit) = permits.acquire_owned().await {
                pipeline.poll(&feed).await;
            }
            in_flight
                .lock()
                .expect("in-flight set poisoned")
                .remove(&feed.id);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::CronSchedule;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn next_fire_reads_schedules_in_the_service_zone() {
        let sh = chrono_tz::Asia::Shanghai;
        let cases = [
            // 08:00 in Shanghai is 00:00 UTC.
            (
                "0 0 8 * * *",
                sh,
                "2024-03-01T01:00:00Z",
                "2024-03-02T00:00:00Z",
            ),
            (
                "0 0 8 * * *",
                chrono_tz::UTC,
                "2024-03-01T01:00:00Z",
                "2024-03-01T08:00:00Z",
            ),
            (
                "0 */15 * * * *",
                sh,
                "2024-03-01T01:07:30Z",
                "2024-03-01T01:15:00Z",
            ),
            // Strictly after: a fire time equal to `after` is not repeated.
            (
                "0 */15 * * * *",
                sh,
                "2024-03-01T01:15:00Z",
                "2024-03-01T01:30:00Z",
            ),
            // Crontab form, weekday names: Friday 2024-03-01 → next Monday 09:00 Shanghai.
            (
                "0 9 * * Mon-Fri",
                sh,
                "2024-03-01T02:00:00Z",
                "2024-03-04T01:00:00Z",
            ),
        ];
        for (expr, tz, after, want) in cases {
            let s = CronSchedule::parse(expr).unwrap();
            assert_eq!(
                next_fire(&s.schedule, tz, at(after)),
                Some(at(want)),
                "{expr} in {tz}"
            );
        }
    }
}
