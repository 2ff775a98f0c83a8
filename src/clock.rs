//! The service's one clock: what time it is, and waiting for a time.
//!
//! Takes: nothing but a choice made once at start-up. Gives: [`Clock::now`] as a UTC wall-clock
//! time, and [`Clock::sleep_until`] for a wall-clock deadline.
//!
//! Guarantees:
//! - Every stage that reads the time (the scheduler's plans, leases, retention, the times a
//!   poll records, freshness hints) reads it from the same [`Clock`], so they agree with each
//!   other, in tests too.
//! - [`Clock::system`] is the real clock: `chrono::Utc::now()`; a wall-clock jump (suspend,
//!   NTP) is seen at once by `now`, and by a sleeper within a minute (waits are cut into
//!   steps of at most [`MAX_STEP`] and re-checked).
//! - [`Clock::starting_at`] follows tokio's clock from a fixed wall time. Under a paused tokio
//!   runtime (`#[tokio::test(start_paused = true)]`, `tokio::time::advance`) time stands still
//!   until the runtime is idle or the test advances it, so tests run a day of schedule in
//!   milliseconds and assert on what happened at which time, never on how long they slept.

use chrono::{DateTime, Utc};
use std::time::Duration;

/// The longest single wait of [`Clock::sleep_until`] on the system clock, so that a sleeper
/// notices a wall-clock jump.
pub const MAX_STEP: Duration = Duration::from_secs(60);

/// Where the time comes from. Cheap to clone; clones read the same time.
#[derive(Debug, Clone)]
pub struct Clock(Source);

#[derive(Debug, Clone)]
enum Source {
    System,
    Tokio {
        wall: DateTime<Utc>,
        at: tokio::time::Instant,
    },
}

impl Default for Clock {
    fn default() -> Clock {
        Clock::system()
    }
}

impl Clock {
    /// The real clock.
    pub fn system() -> Clock {
        Clock(Source::System)
    }

    /// A clock that reads `start` now and then moves with tokio's clock (pausable in tests).
    /// Must be called inside a tokio runtime.
    pub fn starting_at(start: DateTime<Utc>) -> Clock {
        Clock(Source::Tokio {
            wall: start,
            at: tokio::time::Instant::now(),
        })
    }

    /// The current time.
    pub fn now(&self) -> DateTime<Utc> {
        match &self.0 {
            Source::System => Utc::now(),
            Source::Tokio { wall, at } => {
                let elapsed = tokio::time::Instant::now().saturating_duration_since(*at);
                *wall + chrono::Duration::from_std(elapsed).unwrap_or(chrono::Duration::MAX)
            }
        }
    }

    /// Waits until `t` (returns at once if it has passed).
    pub async fn sleep_until(&self, t: DateTime<Utc>) {
        loop {
            let left = (t - self.now()).to_std().unwrap_or(Duration::ZERO);
            if left.is_zero() {
                return;
            }
            match self.0 {
                Source::System => tokio::time::sleep(left.min(MAX_STEP)).await,
                Source::Tokio { .. } => tokio::time::sleep(left).await,
            }
        }
    }

    /// Waits for `d` of this clock's time.
    pub async fn sleep(&self, d: Duration) {
        let until = self.now() + chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX);
        self.sleep_until(until).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[tokio::test(start_paused = true)]
    async fn a_paused_clock_moves_only_with_tokio_time() {
        let clock = Clock::starting_at(t("2026-01-01T12:00:00Z"));
        assert_eq!(clock.now(), t("2026-01-01T12:00:00Z"));
        tokio::time::advance(Duration::from_secs(90)).await;
        assert_eq!(clock.now(), t("2026-01-01T12:01:30Z"));
        // A sleep of an hour returns at once in real time and exactly an hour later in clock
        // time (tokio auto-advances an idle paused runtime).
        let real = std::time::Instant::now();
        clock.sleep_until(t("2026-01-01T13:01:30Z")).await;
        assert_eq!(clock.now(), t("2026-01-01T13:01:30Z"));
        assert!(real.elapsed() < Duration::from_secs(5));
        // A time in the past does not wait.
        clock.sleep_until(t("2026-01-01T00:00:00Z")).await;
        assert_eq!(clock.now(), t("2026-01-01T13:01:30Z"));
        let clone = clock.clone();
        clock.sleep(Duration::from_secs(30)).await;
        assert_eq!(clone.now(), t("2026-01-01T13:02:00Z"));
    }

    #[tokio::test]
    async fn the_system_clock_reads_the_wall_clock() {
        let before = Utc::now();
        let now = Clock::system().now();
        assert!(now >= before && now <= Utc::now());
    }
}
