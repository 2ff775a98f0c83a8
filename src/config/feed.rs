//! Each `[[feed]]`: a source to poll.
//!
//! Takes: the raw `[[feed]]` tables in file order and the `[service]` default schedule. Gives:
//! [`FeedConfig`]s and the set of feed ids (which `[[output]] sources` are checked against).
//! Guarantees: ids are unique URL-safe slugs, URLs are http(s) with a host, schedules fire,
//! time zones and category hints exist; each error points at the offending value.

use super::{check_slug, parse_http_url, parse_tz, ConfigError, CronSchedule, Source};
use crate::model::Category;
use chrono_tz::Tz;
use serde::Deserialize;
use std::collections::HashSet;
use toml::Spanned;
use url::Url;

/// One `[[feed]]`.
#[derive(Debug, Clone)]
pub struct FeedConfig {
    /// Short, unique, URL-safe id (`[a-z0-9_-]`), used in outputs' `sources` and in the store.
    pub id: String,
    /// The feed URL (http or https).
    pub url: Url,
    /// Title to show for this source; falls back to the feed's own title.
    pub title: Option<String>,
    /// When to poll it.
    pub schedule: CronSchedule,
    /// Disabled feeds stay in the file (and their items in the store) but are not polled.
    pub enabled: bool,
    /// Zone for this feed's zone-less timestamps, when it differs from `[service] timezone`.
    pub timezone: Option<Tz>,
    /// `category_hint`: a prior the categorizer applies to every item of this feed.
    pub category_hint: Option<Category>,
    /// Whether the publisher's own interval hints (`<ttl>`, `skipHours`, `skipDays`,
    /// `sy:updatePeriod`, `Cache-Control: max-age`, `Expires`) may space polls out beyond the
    /// cron schedule. `Retry-After` and error backoff apply regardless.
    pub publisher_hints: bool,
}

impl FeedConfig {
    /// Whether `other` polls the same way (same URL, schedule, zone, hints, enabled, title), so a
    /// reload can leave this feed's schedule alone.
    pub fn same_polling(&self, other: &FeedConfig) -> bool {
        self.id == other.id
            && self.url == other.url
            && self.title == other.title
            && self.schedule.expr == other.schedule.expr
            && self.enabled == other.enabled
            && self.timezone == other.timezone
            && self.publisher_hints == other.publisher_hints
    }
}

/// One `[[feed]]` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFeed {
    id: Spanned<String>,
    url: Spanned<String>,
    title: Option<String>,
    schedule: Option<Spanned<String>>,
    #[serde(default = "super::yes")]
    enabled: bool,
    timezone: Option<Spanned<String>>,
    #[serde(default = "super::yes")]
    publisher_hints: bool,
    category_hint: Option<Spanned<String>>,
}

/// Validates every `[[feed]]`, in file order; also returns the set of their ids.
pub(super) fn parse_all(
    src: &Source<'_>,
    raw: Vec<RawFeed>,
    default_schedule: &CronSchedule,
) -> Result<(Vec<FeedConfig>, HashSet<String>), ConfigError> {
    let mut seen = HashSet::new();
    let mut feeds = Vec::with_capacity(raw.len());
    for f in raw {
        let id = f.id.get_ref();
        check_slug(id).map_err(|m| src.err(f.id.span(), format!("feed id {m}")))?;
        if !seen.insert(id.clone()) {
            return Err(src.err(f.id.span(), format!("duplicate feed id `{id}`")));
        }
        feeds.push(parse_one(src, f, default_schedule)?);
    }
    Ok((feeds, seen))
}

/// One `[[feed]]` whose id has been checked.
fn parse_one(
    src: &Source<'_>,
    f: RawFeed,
    default_schedule: &CronSchedule,
) -> Result<FeedConfig, ConfigError> {
    let url = parse_http_url(f.url.get_ref()).map_err(|m| src.err(f.url.span(), m))?;
    let schedule = match &f.schedule {
        Some(v) => CronSchedule::parse(v.get_ref()).map_err(|m| src.err(v.span(), m))?,
        None => default_schedule.clone(),
    };
    Ok(FeedConfig {
        id: f.id.into_inner(),
        url,
        title: f.title.filter(|t| !t.trim().is_empty()),
        schedule,
        enabled: f.enabled,
        timezone: match &f.timezone {
            Some(v) => Some(parse_tz(v).map_err(|m| src.err(v.span(), m))?),
            None => None,
        },
        publisher_hints: f.publisher_hints,
        category_hint: match &f.category_hint {
            Some(v) => Some(
                v.get_ref()
                    .parse::<Category>()
                    .map_err(|m| src.err(v.span(), m))?,
            ),
            None => None,
        },
    })
}
