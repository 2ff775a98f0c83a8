//! The scheduler: decides *when* each feed is polled; [`crate::ingest`] does the polling.
//!
//! Takes: the enabled feeds of the current [`Config`] (and every reloaded one), the
//! [`FeedState`] the ingest path records, and a shared [`Pipeline`]. Gives: polls, each at the
//! time [`plan_next`] computes, until shutdown; and a [`NextFires`] board the HTTP API reads.
//!
//! The plan for a feed, in order:
//! 1. its cron schedule, read in the feed's (or the service's) time zone, shifted by a
//!    deterministic per-feed jitter ([`jitter_for`]) so that thousands of feeds on one schedule
//!    spread over up to `max_jitter` instead of firing in the same second;
//! 2. never before the feed's backoff after failures ([`backoff`]: 1 min doubling to 24 h, reset
//!    on success) nor before a server's `Retry-After`;
//! 3. unless the admin set `publisher_hints = false`: never before the last response's freshness
//!    lifetime (`Cache-Control: max-age`, `Expires`) or the feed's own interval (`<ttl>`,
//!    `sy:updatePeriod`) has passed since the last success, and never in its `skipHours` /
//!    `skipDays` (GMT, as RSS 2.0 specifies).
//!
//! Guarantees:
//! - A feed never polled before is polled at once (at start-up or when a reload adds it), so a
//!   new feed shows up without waiting for its first cron time.
//! - A feed is never fetched twice at once: a fire that comes while its previous poll is still
//!   running is skipped and counted (`feedsift_schedule_skipped_total`).
//! - A reload re-plans only feeds that were added or whose polling settings changed; unchanged
//!   feeds keep their next fire time and are not re-polled. Removed feeds stop being polled
//!   (their stored items stay).
//! - Shutdown stops new fires at once and waits for running polls to finish.
//!
//! Several instances on one PostgreSQL store run the same plan (the jitter, the backoff and the
//! hints all come from shared state) and split the work through leases: each fire *claims* its
//! feed for its schedule slot ([`crate::store::Backend::claim`]); one instance polls, the
//! others count the fire as done elsewhere. A fire that finds a live lease of another instance
//! comes back when that lease expires, and polls the slot then unless the holder finished it —
//! so a killed instance's feeds are polled by the survivors within one lease. Every fire
//! re-reads the feed's state first: if another instance's poll pushed the feed back (backoff,
//! `Retry-After`, freshness) since the fire was planned, it is re-planned instead.
//!
//! Concurrency limits (global, per host) live in the fetcher, which *does* the requests.

use crate::config::{Config, FeedConfig};
use crate::ingest::{FeedReport, Pipeline, PollStatus};
use crate::metrics::Metrics;
use crate::model::FeedState;
use crate::store::Claim;
use chrono::{DateTime, Datelike, Timelike, Utc};
use chrono_tz::Tz;
use sha2::{Digest, Sha256};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

/// First delay after a failure; doubles with each further failure.
pub const BACKOFF_BASE: Duration = Duration::from_secs(60);
/// The longest backoff: a failing feed is still tried once a day.
pub const BACKOFF_MAX: Duration = Duration::from_secs(24 * 3600);
/// The longest a publisher's own interval hint is believed.
const MAX_HINT: Duration = Duration::from_secs(24 * 3600);

/// Everything about a feed's configuration that the plan depends on.
#[derive(Debug, Clone)]
pub struct FeedPlan {
    /// The cron schedule.
    pub schedule: cron::Schedule,
    /// Where the schedule is read.
    pub timezone: Tz,
    /// This feed's shift of every fire time.
    pub jitter: Duration,
    /// Whether publisher hints may space polls out.
    pub publisher_hints: bool,
}

impl FeedPlan {
    /// The plan of `feed` under service zone `tz` and jitter bound `max_jitter`.
    pub fn of(feed: &FeedConfig, tz: Tz, max_jitter: Duration) -> FeedPlan {
        FeedPlan {
            schedule: feed.schedule.schedule.clone(),
            timezone: feed.timezone.unwrap_or(tz),
            jitter: jitter_for(&feed.id, &feed.schedule.schedule, max_jitter),
            publisher_hints: feed.publisher_hints,
        }
    }
}

/// The next time `schedule` fires strictly after `after`, reading the schedule in `tz`.
pub fn next_fire(schedule: &cron::Schedule, tz: Tz, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
    schedule
        .after(&after.with_timezone(&tz))
        .next()
        .map(|t| t.with_timezone(&Utc))
}

/// The deterministic delay added to a feed's fire times: a hash of its id, modulo the smaller of
/// `max_jitter` and the schedule's own interval (so a feed never slips past its next slot).
/// Whole seconds, so logs and `next_fire` stay readable.
pub fn jitter_for(feed_id: &str, schedule: &cron::Schedule, max_jitter: Duration) -> Duration {
    let reference = DateTime::parse_from_rfc3339("2024-01-01T00:00:00Z")
        .expect("static date")
        .with_timezone(&Utc);
    let mut fires = schedule.after(&reference);
    let interval = match (fires.next(), fires.next()) {
        (Some(a), Some(b)) => (b - a).to_std().unwrap_or(Duration::ZERO),
        _ => Duration::ZERO,
    };
    let bound = max_jitter.min(interval).as_secs();
    if bound == 0 {
        return Duration::ZERO;
    }
    let h = Sha256::digest(feed_id.as_bytes());
    let n = u64::from_be_bytes(h[..8].try_into().expect("8 bytes"));
    Duration::from_secs(n % bound)
}

/// The delay after `failures` consecutive failures: 0 for none, then 1 min, 2 min, 4 min, …
/// capped at 24 h.
pub fn backoff(failures: u32) -> Duration {
    if failures == 0 {
        return Duration::ZERO;
    }
    let factor = 1u64
        .checked_shl(failures.saturating_sub(1).min(30))
        .unwrap_or(u64::MAX);
    BACKOFF_BASE
        .checked_mul(factor.min(u64::from(u32::MAX)) as u32)
        .unwrap_or(BACKOFF_MAX)
        .min(BACKOFF_MAX)
}

fn add(t: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    t + chrono::Duration::from_std(d).unwrap_or(chrono::Duration::zero())
}

/// The earliest time the state allows a poll (see the module docs, points 2 and 3).
pub fn not_before(plan: &FeedPlan, state: &FeedState) -> Option<DateTime<Utc>> {
    let mut t: Option<DateTime<Utc>> = None;
    let mut later = |c: Option<DateTime<Utc>>| {
        if let Some(c) = c {
            t = Some(t.map_or(c, |t| t.max(c)));
        }
    };
    if state.consecutive_failures > 0 {
        later(
            state
                .last_poll
                .map(|p| add(p, backoff(state.consecutive_failures))),
        );
    }
    later(state.retry_after);
    if plan.publisher_hints {
        later(state.fresh_until);
        if let (Some(secs), Some(ok)) = (state.min_interval_secs, state.last_success) {
            later(Some(add(ok, Duration::from_secs(secs).min(MAX_HINT))));
        }
    }
    t
}

/// The next poll strictly after `after`: the first jittered cron time that the state allows.
/// `None` if the schedule never fires again.
pub fn plan_next(
    plan: &FeedPlan,
    state: &FeedState,
    after: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let mut from = after;
    if let Some(nb) = not_before(plan, state) {
        // The first fire at or after `nb`.
        from = from.max(nb - chrono::Duration::seconds(1));
    }
    let jitter = chrono::Duration::from_std(plan.jitter).unwrap_or(chrono::Duration::zero());
    // Bounded: a skip list cannot cover every slot for ever (all-hours lists are dropped when
    // parsed), but a schedule inside skipped hours may need many steps.
    for _ in 0..10_000 {
        let t = next_fire(&plan.schedule, plan.timezone, from - jitter)? + jitter;
        let skipped = plan.publisher_hints
            && (state.skip_hours.contains(&t.hour())
                || state
                    .skip_days
                    .contains(&t.weekday().num_days_from_monday()));
        if !skipped {
            return Some(t);
        }
        from = t;
    }
    None
}

/// Polls every feed once, all at once (the fetcher bounds concurrency), and returns the reports
/// in feed order. `on_done` is called as each feed finishes (for a progress bar).
pub async fn poll_all(
    pipeline: Arc<Pipeline>,
    feeds: &[FeedConfig],
    on_done: impl Fn(&FeedReport),
) -> Vec<FeedReport> {
    let mut set = JoinSet::new();
    for (i, feed) in feeds.iter().cloned().enumerate() {
        let pipeline = Arc::clone(&pipeline);
        set.spawn(async move { (i, pipeline.poll(&feed).await) });
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
                status: PollStatus::Failed("polling task panicked".into()),
                new: 0,
                updated: 0,
                duplicate: 0,
                elapsed: Duration::ZERO,
            })
        })
        .collect()
}

/// The scheduler's current plan, shared with the HTTP API: feed id → next fire time.
/// A std mutex: held only to copy or update the map, never across an await.
#[derive(Debug, Clone, Default)]
pub struct NextFires(Arc<Mutex<HashMap<String, DateTime<Utc>>>>);

impl NextFires {
    /// The next planned poll of a feed, if it has one.
    pub fn get(&self, feed_id: &str) -> Option<DateTime<Utc>> {
        self.0
            .lock()
            .expect("next-fire board poisoned")
            .get(feed_id)
            .copied()
    }

    fn set(&self, feed_id: &str, t: Option<DateTime<Utc>>) {
        let mut m = self.0.lock().expect("next-fire board poisoned");
        match t {
            Some(t) => m.insert(feed_id.to_string(), t),
            None => m.remove(feed_id),
        };
    }

    fn retain(&self, keep: &HashSet<String>) {
        self.0
            .lock()
            .expect("next-fire board poisoned")
            .retain(|k, _| keep.contains(k));
    }
}

struct Slot {
    feed: FeedConfig,
    plan: FeedPlan,
    /// Bumped whenever the slot is re-planned; queue entries of older generations are stale.
    generation: u64,
}

/// A queued fire: when, which feed, the slot's generation, and the schedule slot it polls (the
/// same as "when" but for a fire retried after another instance's lease).
type Entry = Reverse<(DateTime<Utc>, String, u64, DateTime<Utc>)>;

/// How a fire ended, reported back to the scheduler loop.
enum Fired {
    /// This instance polled the feed (or tried to): re-plan from the new state.
    Polled,
    /// Another instance had done the slot, or the claim failed: re-plan.
    Elsewhere,
    /// Another instance holds the feed until then: ask again at that time for the same slot.
    HeldUntil(DateTime<Utc>),
}

/// This process's name in polling leases: unique per process start.
fn instance_name() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("feedsift-{}-{:08x}", std::process::id(), nanos)
}

/// The slot a feed never polled before is polled in at start-up: the last jittered cron time
/// at or before `now` (instances starting within one slot agree on it, so only one polls),
/// or `now` when the schedule gives none.
fn current_slot(plan: &FeedPlan, now: DateTime<Utc>) -> DateTime<Utc> {
    let jitter = chrono::Duration::from_std(plan.jitter).unwrap_or(chrono::Duration::zero());
    let mut fires = plan
        .schedule
        .after(&(now - jitter).with_timezone(&plan.timezone));
    let interval = match (fires.next(), fires.next()) {
        (Some(a), Some(b)) => b - a,
        _ => return now,
    };
    let mut last = None;
    let mut from = now - jitter - interval - chrono::Duration::seconds(1);
    for _ in 0..4 {
        match next_fire(&plan.schedule, plan.timezone, from) {
            Some(t) if t + jitter <= now => {
                last = Some(t + jitter);
                from = t;
            }
            _ => break,
        }
    }
    last.unwrap_or(now)
}

/// The long-running scheduler.
pub struct Scheduler {
    pipeline: Arc<Pipeline>,
    metrics: Arc<Metrics>,
    board: NextFires,
    slots: HashMap<String, Slot>,
    queue: BinaryHeap<Entry>,
    in_flight: HashSet<String>,
    next_generation: u64,
    /// This instance's name in leases.
    owner: String,
    /// How long a claimed feed stays this instance's (`[service] lease_secs`).
    lease: Duration,
    /// Feeds an admin asked to poll now: their next fire ignores backoff and hints.
    forced: HashSet<String>,
}

impl Scheduler {
    /// A scheduler that publishes its plan on `board`.
    pub fn new(pipeline: Arc<Pipeline>, metrics: Arc<Metrics>, board: NextFires) -> Scheduler {
        Scheduler {
            pipeline,
            metrics,
            board,
            slots: HashMap::new(),
            queue: BinaryHeap::new(),
            in_flight: HashSet::new(),
            next_generation: 0,
            owner: instance_name(),
            lease: Duration::from_secs(90),
            forced: HashSet::new(),
        }
    }

    fn state(&self, id: &str) -> FeedState {
        self.pipeline.store().feed_state(id).unwrap_or_default()
    }

    /// Plans `id` afresh (new generation) from its stored state.
    fn replan(&mut self, id: &str, now: DateTime<Utc>) {
        self.replan_after(id, now, now);
    }

    /// Plans `id` afresh from its stored state: its first slot after `after` (`now` for a
    /// poll that just ended; the slot just settled for a retried fire, so that a slot that
    /// began while the retry waited is still polled, late, rather than skipped).
    fn replan_after(&mut self, id: &str, now: DateTime<Utc>, after: DateTime<Utc>) {
        let state = self.state(id);
        let Some(slot) = self.slots.get_mut(id) else {
            return;
        };
        self.next_generation += 1;
        slot.generation = self.next_generation;
        let (due, slot_time) = if state.last_poll.is_none() {
            (Some(now), current_slot(&slot.plan, now))
        } else {
            let t = plan_next(&slot.plan, &state, after);
            (t, t.unwrap_or(now))
        };
        if let Some(t) = due {
            self.queue
                .push(Reverse((t, id.to_string(), slot.generation, slot_time)));
        }
        self.board.set(id, due);
    }

    /// Brings the slots in line with `config`: adds, removes and re-plans changed feeds only.
    fn apply(&mut self, config: &Config, now: DateTime<Utc>) {
        let tz = config.service.timezone;
        let max_jitter = config.service.max_jitter;
        self.lease = config.service.lease;
        let mut keep = HashSet::new();
        let (mut added, mut changed) = (0, 0);
        for feed in config.feeds.iter().filter(|f| f.enabled) {
            keep.insert(feed.id.clone());
            let plan = FeedPlan::of(feed, tz, max_jitter);
            let unchanged = self.slots.get(&feed.id).is_some_and(|s| {
                s.feed.same_polling(feed)
                    && s.plan.timezone == plan.timezone
                    && s.plan.jitter == plan.jitter
            });
            if unchanged {
                continue;
            }
            if self.slots.contains_key(&feed.id) {
                changed += 1;
            } else {
                added += 1;
            }
            self.slots.insert(
                feed.id.clone(),
                Slot {
                    feed: feed.clone(),
                    plan,
                    generation: 0,
                },
            );
            self.replan(&feed.id, now);
        }
        let before = self.slots.len();
        self.slots.retain(|id, _| keep.contains(id));
        self.board.retain(&keep);
        tracing::info!(
            feeds = self.slots.len(),
            added,
            changed,
            removed = before - self.slots.len(),
            "schedule updated"
        );
    }

    /// Runs until `shutdown` turns true, following every config published on `config`; then
    /// waits for running polls.
    pub async fn run(
        mut self,
        mut config: watch::Receiver<Arc<Config>>,
        mut poll_now: mpsc::UnboundedReceiver<String>,
        mut shutdown: watch::Receiver<bool>,
    ) {
        let initial = Arc::clone(&config.borrow_and_update());
        self.apply(&initial, Utc::now());
        // (feed, outcome, slot, whether the fire was a retry of an owed slot)
        let (done_tx, mut done_rx) =
            mpsc::unbounded_channel::<(String, Fired, DateTime<Utc>, bool)>();
        let mut tasks = JoinSet::new();
        loop {
            let wait = match self.queue.peek() {
                Some(Reverse((due, _, _, _))) => {
                    (*due - Utc::now()).to_std().unwrap_or(Duration::ZERO)
                }
                None => Duration::from_secs(60),
            };
            // Wake at least once a minute so a wall-clock jump (suspend, NTP) is noticed.
            let wait = wait.min(Duration::from_secs(60));
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = shutdown.changed() => break,
                changed = config.changed() => {
                    if changed.is_err() {
                        break;
                    }
                    let c = Arc::clone(&config.borrow_and_update());
                    self.apply(&c, Utc::now());
                    continue;
                }
                Some((id, fired, slot_time, retried)) = done_rx.recv() => {
                    self.in_flight.remove(&id);
                    let now = Utc::now();
                    let after = if retried { slot_time } else { now };
                    match fired {
                        Fired::Polled => self.replan_after(&id, now, after),
                        Fired::Elsewhere => {
                            self.metrics.record_fire_elsewhere();
                            self.replan_after(&id, now, after);
                        }
                        // The regular next fire is still queued; this one comes back for the
                        // same slot once the other instance's lease has run out.
                        Fired::HeldUntil(until) => {
                            if let Some(slot) = self.slots.get(&id) {
                                let at = until + chrono::Duration::milliseconds(200);
                                self.queue.push(Reverse((at, id, slot.generation, slot_time)));
                            }
                        }
                    }
                    continue;
                }
                // An admin asked for this feed now: fire it through the queue like any other
                // fire, so it is still never fetched twice at once.
                Some(id) = poll_now.recv() => {
                    if let Some(slot) = self.slots.get(&id) {
                        self.forced.insert(id.clone());
                        let now = Utc::now();
                        self.queue.push(Reverse((now, id, slot.generation, now)));
                    }
                    continue;
                }
                Some(_) = tasks.join_next(), if !tasks.is_empty() => continue,
            }
            let now = Utc::now();
            while let Some(Reverse((t, id, generation, slot_time))) = self.queue.peek().cloned() {
                if t > now {
                    break;
                }
                self.queue.pop();
                let Some(slot) = self.slots.get(&id) else {
                    continue;
                };
                // A fire for a slot still owed (retried after another instance's lease, or a
                // start-up poll) is kept whatever was re-planned since: a re-plan schedules the
                // *next* slot, and this one must still be polled once.
                let retry = slot_time != t;
                if slot.generation != generation && !retry {
                    continue;
                }
                // Planned from the state read then; another instance's poll may have pushed the
                // feed back since (backoff, Retry-After, freshness): then this fire is re-planned,
                // not polled. A poll an admin asked for is polled regardless.
                let forced = self.forced.remove(&id);
                let state = self.state(&id);
                let pushed_back = !retry
                    && !forced
                    && not_before(&slot.plan, &state)
                        .is_some_and(|nb| nb > t + chrono::Duration::seconds(1));
                if pushed_back {
                    self.replan(&id, now);
                    continue;
                }
                let Some(slot) = self.slots.get(&id) else {
                    continue;
                };
                // The regular next fire stays queued even while this poll runs, so an overrun
                // shows up as a skipped fire; completion re-plans from the new state. A retried
                // fire already has its next fire queued.
                if !retry {
                    let next = plan_next(&slot.plan, &state, t);
                    if let Some(n) = next {
                        self.queue.push(Reverse((n, id.clone(), generation, n)));
                    }
                    self.board.set(&id, next);
                }
                if !self.in_flight.insert(id.clone()) {
                    if retry {
                        // The feed is busy with another slot's claim or poll: ask again shortly.
                        let again = now + chrono::Duration::seconds(1);
                        self.queue.push(Reverse((again, id, generation, slot_time)));
                        continue;
                    }
                    tracing::warn!(feed_id = %id, "previous poll still running; skipping this fire");
                    self.metrics.record_skipped_fire();
                    continue;
                }
                // A slot owed since before the latest fire time is settled as that latest slot:
                // one late poll covers both, instead of one for each.
                let slot_time = if retry {
                    slot_time.max(current_slot(&slot.plan, now))
                } else {
                    slot_time
                };
                let feed = slot.feed.clone();
                let pipeline = Arc::clone(&self.pipeline);
                let done = done_tx.clone();
                let (owner, lease) = (self.owner.clone(), self.lease);
                tasks.spawn(async move {
                    let fired = poll_claimed(&pipeline, &feed, slot_time, owner, lease).await;
                    let _ = done.send((feed.id, fired, slot_time, retry));
                });
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
}

/// Claims `feed` for `slot` and polls it if the claim is this instance's.
async fn poll_claimed(
    pipeline: &Pipeline,
    feed: &FeedConfig,
    slot: DateTime<Utc>,
    owner: String,
    lease: Duration,
) -> Fired {
    let store = pipeline.store().clone();
    let id = feed.id.clone();
    let (store2, id2, owner2) = (store.clone(), id.clone(), owner.clone());
    let claim = tokio::task::spawn_blocking(move || {
        store2.claim(&id2, slot, &owner2, lease, chrono::Utc::now())
    })
    .await;
    match claim {
        Ok(Ok(Claim::Mine)) => {
            // The lease is renewed every third of its length while the poll runs, so a slow
            // poll keeps it, and a dead instance loses it within one lease.
            let renew = {
                let (store, id, owner) = (store.clone(), id.clone(), owner.clone());
                async move {
                    loop {
                        tokio::time::sleep(lease / 3).await;
                        let (store, id2, owner) = (store.clone(), id.clone(), owner.clone());
                        match tokio::task::spawn_blocking(move || {
                            store.renew(&id2, &owner, lease, chrono::Utc::now())
                        })
                        .await
                        {
                            Ok(Ok(true)) => {}
                            Ok(Ok(false)) => {
                                tracing::warn!(feed_id = %id, "lease lost while polling (taken over after a stall)")
                            }
                            Ok(Err(e)) => {
                                tracing::warn!(feed_id = %id, error = %e, "cannot renew the feed's lease")
                            }
                            Err(_) => {}
                        }
                    }
                }
            };
            tokio::select! {
                _ = pipeline.poll(feed) => {}
                _ = renew => {}
            }
            let finished = tokio::task::spawn_blocking(move || {
                store.finish(&id, slot, &owner, chrono::Utc::now())
            })
            .await;
            if let Ok(Err(e)) = finished {
                tracing::warn!(feed_id = %feed.id, error = %e, "cannot release the feed's lease");
            }
            Fired::Polled
        }
        Ok(Ok(Claim::Done)) => {
            tracing::debug!(feed_id = %feed.id, %slot, "slot already polled by another instance");
            Fired::Elsewhere
        }
        Ok(Ok(Claim::Held(until))) => {
            tracing::debug!(feed_id = %feed.id, %slot, %until, "feed leased by another instance");
            Fired::HeldUntil(until)
        }
        Ok(Err(e)) => {
            tracing::warn!(feed_id = %feed.id, error = %e, "cannot claim the feed; skipping this fire");
            Fired::Elsewhere
        }
        Err(e) => {
            tracing::error!(feed_id = %feed.id, error = %e, "claim task failed");
            Fired::Elsewhere
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::CronSchedule;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn plan(expr: &str, jitter: u64, hints: bool) -> FeedPlan {
        FeedPlan {
            schedule: CronSchedule::parse(expr).unwrap().schedule,
            timezone: chrono_tz::UTC,
            jitter: Duration::from_secs(jitter),
            publisher_hints: hints,
        }
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

    #[test]
    fn jitter_is_deterministic_bounded_and_spread() {
        let s = CronSchedule::parse("0 */15 * * * *").unwrap().schedule;
        let max = Duration::from_secs(300);
        assert_eq!(jitter_for("a", &s, max), jitter_for("a", &s, max));
        let mut seconds = HashSet::new();
        for i in 0..10_000 {
            let j = jitter_for(&format!("feed-{i}"), &s, max);
            assert!(j < max);
            seconds.insert(j.as_secs());
        }
        // 10,000 feeds land on (nearly) all 300 seconds, not one.
        assert!(seconds.len() > 290, "{}", seconds.len());
        // Never beyond the schedule's own interval, and off when disabled.
        let every_minute = CronSchedule::parse("0 * * * * *").unwrap().schedule;
        assert!(jitter_for("x", &every_minute, max) < Duration::from_secs(60));
        assert_eq!(jitter_for("x", &s, Duration::ZERO), Duration::ZERO);
    }

    #[test]
    fn current_slot_is_the_last_fire_at_or_before_now() {
        // (schedule, jitter s, now, expected slot)
        let cases = [
            (
                "0 */15 * * * *",
                0,
                "2024-03-01T10:07:00Z",
                "2024-03-01T10:00:00Z",
            ),
            (
                "0 */15 * * * *",
                0,
                "2024-03-01T10:15:00Z",
                "2024-03-01T10:15:00Z",
            ),
            (
                "0 */15 * * * *",
                90,
                "2024-03-01T10:16:00Z",
                "2024-03-01T10:01:30Z",
            ),
            (
                "0 */15 * * * *",
                90,
                "2024-03-01T10:17:00Z",
                "2024-03-01T10:16:30Z",
            ),
            (
                "*/15 * * * * *",
                0,
                "2024-03-01T10:00:29Z",
                "2024-03-01T10:00:15Z",
            ),
            (
                "0 0 3 * * *",
                0,
                "2024-03-01T02:00:00Z",
                "2024-02-29T03:00:00Z",
            ),
        ];
        for (expr, jitter, now, want) in cases {
            let p = plan(expr, jitter, false);
            assert_eq!(
                current_slot(&p, at(now)),
                at(want),
                "{expr} +{jitter}s at {now}"
            );
        }
    }

    #[test]
    fn backoff_doubles_and_caps() {
        let cases = [
            (0, 0),
            (1, 60),
            (2, 120),
            (3, 240),
            (10, 30_720),
            (11, 61_440),
            (12, 86_400),
            (40, 86_400),
            (u32::MAX, 86_400),
        ];
        for (failures, secs) in cases {
            assert_eq!(backoff(failures), Duration::from_secs(secs), "{failures}");
        }
    }

    #[test]
    fn plan_next_table() {
        let now = at("2024-03-01T10:07:00Z"); // a Friday
        let ok = FeedState {
            last_poll: Some(at("2024-03-01T10:00:00Z")),
            last_success: Some(at("2024-03-01T10:00:00Z")),
            ..Default::default()
        };
        let failing = |n: u32| FeedState {
            consecutive_failures: n,
            last_success: None,
            ..ok.clone()
        };
        let cases: Vec<(&str, FeedPlan, FeedState, &str)> = vec![
            (
                "plain cron",
                plan("0 */15 * * * *", 0, true),
                ok.clone(),
                "2024-03-01T10:15:00Z",
            ),
            (
                "jitter shifts the fire",
                plan("0 */15 * * * *", 100, true),
                ok.clone(),
                "2024-03-01T10:16:40Z",
            ),
            (
                "jitter: an earlier slot still ahead",
                plan("0 */15 * * * *", 500, true),
                ok.clone(),
                "2024-03-01T10:08:20Z",
            ),
            (
                "1 failure: 1 min backoff is inside the interval",
                plan("0 */15 * * * *", 0, true),
                failing(1),
                "2024-03-01T10:15:00Z",
            ),
            (
                "6 failures: 32 min backoff skips two slots",
                plan("0 */15 * * * *", 0, true),
                failing(6),
                "2024-03-01T10:45:00Z",
            ),
            (
                "retry-after applies even without hints",
                plan("0 */15 * * * *", 0, false),
                FeedState {
                    retry_after: Some(at("2024-03-01T11:20:00Z")),
                    ..ok.clone()
                },
                "2024-03-01T11:30:00Z",
            ),
            (
                "ttl 60 min from the last success",
                plan("0 */15 * * * *", 0, true),
                FeedState {
                    min_interval_secs: Some(3600),
                    ..ok.clone()
                },
                "2024-03-01T11:00:00Z",
            ),
            (
                "ttl ignored when the admin turns hints off",
                plan("0 */15 * * * *", 0, false),
                FeedState {
                    min_interval_secs: Some(3600),
                    ..ok.clone()
                },
                "2024-03-01T10:15:00Z",
            ),
            (
                "ttl of a year is capped at a day",
                plan("0 */15 * * * *", 0, true),
                FeedState {
                    min_interval_secs: Some(365 * 86400),
                    ..ok.clone()
                },
                "2024-03-02T10:00:00Z",
            ),
            (
                "max-age freshness",
                plan("0 */15 * * * *", 0, true),
                FeedState {
                    fresh_until: Some(at("2024-03-01T10:20:00Z")),
                    ..ok.clone()
                },
                "2024-03-01T10:30:00Z",
            ),
            (
                "skipHours 10-12 GMT",
                plan("0 */15 * * * *", 0, true),
                FeedState {
                    skip_hours: vec![10, 11, 12],
                    ..ok.clone()
                },
                "2024-03-01T13:00:00Z",
            ),
            (
                "skipDays Saturday and Sunday from Friday night",
                plan("0 0 23 * * *", 0, true),
                FeedState {
                    skip_days: vec![5, 6],
                    ..ok.clone()
                },
                "2024-03-01T23:00:00Z",
            ),
            (
                "skipDays Friday to Sunday",
                plan("0 0 23 * * *", 0, true),
                FeedState {
                    skip_days: vec![4, 5, 6],
                    ..ok.clone()
                },
                "2024-03-04T23:00:00Z",
            ),
        ];
        for (name, p, state, want) in cases {
            assert_eq!(plan_next(&p, &state, now), Some(at(want)), "{name}");
        }
    }
}
