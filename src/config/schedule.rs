//! Cron schedules as an admin writes them (`[service] default_schedule`, `[[feed]] schedule`).
//!
//! Takes: crontab (5 fields), cron-crate (6–7 fields, seconds first) or `@daily`-style text.
//! Gives: a [`CronSchedule`] that keeps the text as written. Guarantees: an ambiguous numeric
//! weekday and a schedule that never fires are errors, not a feed that is polled on the wrong
//! days or never.

use std::str::FromStr;

/// A parsed cron schedule together with the text the admin wrote.
#[derive(Debug, Clone)]
pub struct CronSchedule {
    /// As written in `feeds.toml` (for messages and status pages).
    pub expr: String,
    /// As understood by the `cron` crate (seconds first).
    pub schedule: cron::Schedule,
}

impl CronSchedule {
    /// Parses a cron expression the way an admin means it.
    ///
    /// The `cron` crate wants seconds first (6 or 7 fields) and numbers weekdays with Sunday = 1,
    /// unlike crontab (Sunday = 0). So: the 5-field crontab form is accepted and means second 0;
    /// a numeric weekday is rejected with a hint to use names, because `1-5` would silently mean
    /// Sunday–Thursday; and a schedule that never fires (`0 0 0 31 2 *`) is an error rather than
    /// a feed that is never polled.
    pub fn parse(expr: &str) -> Result<CronSchedule, String> {
        let fields: Vec<&str> = expr.split_whitespace().collect();
        let full = match fields.len() {
            // `@daily`, `@hourly`, … are understood by the cron crate as they are.
            1 if expr.trim_start().starts_with('@') => expr.trim().to_string(),
            5 => format!("0 {}", fields.join(" ")),
            6 | 7 => fields.join(" "),
            n => {
                return Err(format!(
                    "cron expression `{expr}` has {n} fields; expected 5 (crontab: min hour day month weekday) \
                     or 6-7 (sec min hour day month weekday [year])"
                ))
            }
        };
        let weekday = full.split_whitespace().nth(5).unwrap_or("*");
        if weekday.bytes().any(|b| b.is_ascii_digit()) {
            return Err(format!(
                "cron expression `{expr}`: numeric weekday `{weekday}` is ambiguous (crontab counts Sunday as 0, \
                 this scheduler as 1); write day names instead, e.g. `Mon-Fri` or `Sat,Sun`"
            ));
        }
        let schedule = cron::Schedule::from_str(&full)
            .map_err(|e| format!("invalid cron expression `{expr}`: {e}"))?;
        if schedule.upcoming(chrono::Utc).next().is_none() {
            return Err(format!(
                "cron expression `{expr}` never fires (no such date); check the day and month fields"
            ));
        }
        Ok(CronSchedule {
            expr: expr.to_string(),
            schedule,
        })
    }
}
