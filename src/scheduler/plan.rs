//! The plan: pure functions from a feed's schedule, configuration and stored state to the time
//! of its next poll (see the scheduler's module docs for the rules, in order).
//!
//! Takes: a [`FeedPlan`] (the feed's polling settings) and its [`FeedState`]. Gives: fire times.
//! Guarantees: no clock is read here — every function is given the time it plans from, so the
//! same inputs always give the same plan (table-tested below).

use crate::config::FeedConfig;
use crate::model::FeedState;
use chrono::{DateTime, Datelike, Timelike, Utc};
use chrono_tz::Tz;
use sha2::{Digest, Sha256};
use std::time::Duration;

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

/// The slot a feed never polled before is polled in at start-up: the last jittered cron time
/// at or before `now` (instances starting within one slot agree on it, so only one polls),
/// or `now` when the schedule gives none.
pub(crate) fn current_slot(plan: &FeedPlan, now: DateTime<Utc>) -> DateTime<Utc> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::CronSchedule;
    use std::collections::HashSet;

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
