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

mod lease;
mod plan;

pub use plan::{
    backoff, jitter_for, next_fire, not_before, plan_next, FeedPlan, BACKOFF_BASE, BACKOFF_MAX,
};

use crate::clock::Clock;
use crate::config::{Config, FeedConfig};
use crate::ingest::{FeedReport, Pipeline, PollStatus};
use crate::metrics::Metrics;
use crate::store::Store;
use chrono::{DateTime, Utc};
use plan::current_slot;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

/// What the scheduler fires: one poll of one feed, against the store that holds every feed's
/// shared state and leases, on the service's clock. [`Pipeline`] is the real one; tests give a
/// stand-in that records when it was called.
pub trait Poller: Send + Sync + 'static {
    /// Polls `feed` once; never fails (failures are in the report).
    fn poll(&self, feed: &FeedConfig) -> impl Future<Output = FeedReport> + Send;
    /// The store with the feeds' states and leases.
    fn store(&self) -> &Store;
    /// The service's clock.
    fn clock(&self) -> &Clock;
}

impl Poller for Pipeline {
    fn poll(&self, feed: &FeedConfig) -> impl Future<Output = FeedReport> + Send {
        Pipeline::poll(self, feed)
    }
    fn store(&self) -> &Store {
        Pipeline::store(self)
    }
    fn clock(&self) -> &Clock {
        Pipeline::clock(self)
    }
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
pub(crate) enum Fired {
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

/// A fire's outcome as the loop receives it: the feed, how it ended, the slot it polled and
/// whether it was a retry of an owed slot.
type Done = (String, Fired, DateTime<Utc>, bool);

/// The long-running scheduler.
pub struct Scheduler<P: Poller = Pipeline> {
    poller: Arc<P>,
    clock: Clock,
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

impl<P: Poller> Scheduler<P> {
    /// A scheduler that fires polls through `poller` and publishes its plan on `board`.
    pub fn new(poller: Arc<P>, metrics: Arc<Metrics>, board: NextFires) -> Scheduler<P> {
        Scheduler {
            clock: poller.clock().clone(),
            poller,
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

    fn state(&self, id: &str) -> crate::model::FeedState {
        self.poller.store().feed_state(id).unwrap_or_default()
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

    /// When the loop must next look at the queue: the earliest fire, or a minute from now.
    fn next_wake(&self) -> DateTime<Utc> {
        match self.queue.peek() {
            Some(Reverse((due, ..))) => *due,
            None => self.clock.now() + chrono::Duration::seconds(60),
        }
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
        self.apply(&initial, self.clock.now());
        let (done_tx, mut done_rx) = mpsc::unbounded_channel::<Done>();
        let mut tasks = JoinSet::new();
        loop {
            let clock = self.clock.clone();
            let wake = self.next_wake();
            tokio::select! {
                _ = clock.sleep_until(wake) => {}
                _ = shutdown.changed() => break,
                changed = config.changed() => {
                    if changed.is_err() {
                        break;
                    }
                    let c = Arc::clone(&config.borrow_and_update());
                    self.apply(&c, self.clock.now());
                    continue;
                }
                Some(done) = done_rx.recv() => {
                    self.settle(done);
                    continue;
                }
                // An admin asked for this feed now: fire it through the queue like any other
                // fire, so it is still never fetched twice at once.
                Some(id) = poll_now.recv() => {
                    self.force(id);
                    continue;
                }
                Some(_) = tasks.join_next(), if !tasks.is_empty() => continue,
            }
            self.fire_due(&mut tasks, &done_tx);
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

    /// A fire finished: re-plan the feed from its new state, or come back for the same slot
    /// when another instance's lease runs out.
    fn settle(&mut self, (id, fired, slot_time, retried): Done) {
        self.in_flight.remove(&id);
        let now = self.clock.now();
        let after = if retried { slot_time } else { now };
        match fired {
            Fired::Polled => self.replan_after(&id, now, after),
            Fired::Elsewhere => {
                self.metrics.record_fire_elsewhere();
                self.replan_after(&id, now, after);
            }
            // The regular next fire is still queued; this one comes back for the same slot
            // once the other instance's lease has run out.
            Fired::HeldUntil(until) => {
                if let Some(slot) = self.slots.get(&id) {
                    let at = until + chrono::Duration::milliseconds(200);
                    self.queue
                        .push(Reverse((at, id, slot.generation, slot_time)));
                }
            }
        }
    }

    /// Queues a poll of `id` now that ignores backoff and hints.
    fn force(&mut self, id: String) {
        if let Some(slot) = self.slots.get(&id) {
            self.forced.insert(id.clone());
            let now = self.clock.now();
            self.queue.push(Reverse((now, id, slot.generation, now)));
        }
    }

    /// Starts every fire that is due.
    fn fire_due(&mut self, tasks: &mut JoinSet<()>, done: &mpsc::UnboundedSender<Done>) {
        let now = self.clock.now();
        while let Some(Reverse((t, id, generation, slot_time))) = self.queue.peek().cloned() {
            if t > now {
                break;
            }
            self.queue.pop();
            if let Some((feed, slot_time, retry)) =
                self.take_fire(now, t, &id, generation, slot_time)
            {
                let poller = Arc::clone(&self.poller);
                let done = done.clone();
                let (owner, lease) = (self.owner.clone(), self.lease);
                tasks.spawn(async move {
                    let fired = lease::poll_claimed(&*poller, &feed, slot_time, owner, lease).await;
                    let _ = done.send((feed.id, fired, slot_time, retry));
                });
            }
        }
    }

    /// Decides what one due queue entry does: the feed to poll, the slot it settles and whether
    /// it is a retry — or nothing (stale, pushed back, or the feed is busy).
    fn take_fire(
        &mut self,
        now: DateTime<Utc>,
        t: DateTime<Utc>,
        id: &str,
        generation: u64,
        slot_time: DateTime<Utc>,
    ) -> Option<(FeedConfig, DateTime<Utc>, bool)> {
        let slot = self.slots.get(id)?;
        // A fire for a slot still owed (retried after another instance's lease, or a start-up
        // poll) is kept whatever was re-planned since: a re-plan schedules the *next* slot, and
        // this one must still be polled once.
        let retry = slot_time != t;
        if slot.generation != generation && !retry {
            return None;
        }
        // Planned from the state read then; another instance's poll may have pushed the feed
        // back since (backoff, Retry-After, freshness): then this fire is re-planned, not
        // polled. A poll an admin asked for is polled regardless.
        let forced = self.forced.remove(id);
        let state = self.state(id);
        let slot = self.slots.get(id)?;
        let pushed_back = !retry
            && !forced
            && not_before(&slot.plan, &state)
                .is_some_and(|nb| nb > t + chrono::Duration::seconds(1));
        if pushed_back {
            self.replan(id, now);
            return None;
        }
        // The regular next fire stays queued even while this poll runs, so an overrun shows up
        // as a skipped fire; completion re-plans from the new state. A retried fire already has
        // its next fire queued.
        if !retry {
            let next = plan_next(&slot.plan, &state, t);
            if let Some(n) = next {
                self.queue.push(Reverse((n, id.to_string(), generation, n)));
            }
            self.board.set(id, next);
        }
        if !self.in_flight.insert(id.to_string()) {
            if retry {
                // The feed is busy with another slot's claim or poll: ask again shortly.
                let again = now + chrono::Duration::seconds(1);
                self.queue
                    .push(Reverse((again, id.to_string(), generation, slot_time)));
                return None;
            }
            tracing::warn!(feed_id = %id, "previous poll still running; skipping this fire");
            self.metrics.record_skipped_fire();
            return None;
        }
        let slot = self.slots.get(id)?;
        // A slot owed since before the latest fire time is settled as that latest slot: one
        // late poll covers both, instead of one for each.
        let slot_time = if retry {
            slot_time.max(current_slot(&slot.plan, now))
        } else {
            slot_time
        };
        Some((slot.feed.clone(), slot_time, retry))
    }
}
