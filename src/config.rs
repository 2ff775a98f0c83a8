//! `feeds.toml`: the admin's file, read into typed, validated configuration.
//!
//! Takes: the path of a TOML file. Gives: a [`Config`] whose every value has been checked —
//! URLs parse, cron expressions have a next fire time, feed ids are unique, outputs name only
//! feeds that exist. Guarantees: any problem is a [`ConfigError`] that names the file, line and
//! column (`feeds.toml:12:7: …`), the way a compiler would, so an admin can fix it without
//! guessing. Unknown keys are errors too: a typo such as `shedule` must not silently fall back to
//! a default.

use crate::model::Category;
use chrono_tz::Tz;
use serde::Deserialize;
use std::collections::{BTreeMap, HashSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;
use toml::Spanned;
use url::Url;

/// The schedule a feed gets when it names none: every 15 minutes, on second 0.
pub const DEFAULT_SCHEDULE: &str = "0 */15 * * * *";
/// How many items an output shows when it sets no `limit`.
pub const DEFAULT_LIMIT: usize = 50;
/// The largest `limit` an output may ask for; larger feeds are what paging is for.
pub const MAX_LIMIT: usize = 1000;
/// The built-in output that carries every item.
pub const MERGED_OUTPUT: &str = "merged";

/// A `feeds.toml` that could not be used, with where and why.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read at all.
    #[error("{path}: cannot read config: {source}")]
    Io {
        /// The file that was asked for.
        path: PathBuf,
        /// Why it could not be read.
        source: std::io::Error,
    },
    /// The file was read but something in it is wrong.
    #[error("{path}:{line}:{column}: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// 1-based line of the offending value.
        line: usize,
        /// 1-based column (in characters) of the offending value.
        column: usize,
        /// What is wrong and, where possible, what to write instead.
        message: String,
    },
}

/// The whole validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where it was read from (for messages and reloads).
    pub path: PathBuf,
    /// Service-wide settings.
    pub service: ServiceConfig,
    /// The feeds to poll, in file order.
    pub feeds: Vec<FeedConfig>,
    /// The filtered outputs, in file order (the built-in `merged` output is not listed here).
    pub outputs: Vec<OutputConfig>,
    /// Keyword lists that replace the categorizer's built-in ones, per category.
    pub keywords: BTreeMap<Category, Vec<String>>,
    /// `[categorize] model`: a model file to use instead of the shipped one.
    pub model_path: Option<PathBuf>,
    /// `[dedup]`: how stories are merged.
    pub dedup: crate::dedup::DedupSettings,
    /// `[dedup] clean_titles`: publish titles with content-farm decorations stripped.
    pub clean_titles: bool,
    /// The data directory given on the command line, if any; kept so a reload applies it again.
    pub data_dir_override: Option<PathBuf>,
}

/// `[service]`.
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    /// Address the HTTP server binds.
    pub listen: SocketAddr,
    /// Where the sled store lives; relative paths are taken from the config file's directory,
    /// so the service finds its data whatever directory it is started from.
    pub data_dir: PathBuf,
    /// Schedule for feeds that set none.
    pub default_schedule: CronSchedule,
    /// Zone in which cron schedules are read (and naive timestamps in feeds are interpreted).
    pub timezone: Tz,
    /// Base URL subscribers reach this service at; used for `atom:link rel="self"` and item links
    /// so that `export` and HTTP produce the same bytes whatever Host header a client sends.
    pub public_url: Url,
    /// True when `public_url` was not written but derived from `listen`: it then follows the
    /// address actually bound (see [`Config::served_at`]).
    pub public_url_from_listen: bool,
    /// `User-Agent` sent to publishers, so they can tell who polls them.
    pub user_agent: String,
    /// Total time one fetch may take.
    pub fetch_timeout: Duration,
    /// Largest response body accepted, after decompression.
    pub max_body_bytes: u64,
    /// How many feeds may be fetched at once, service-wide.
    pub max_concurrent_fetches: usize,
    /// How many fetches may go to one host at once; publishers notice more than two.
    pub max_fetches_per_host: usize,
    /// Upper bound of the per-feed delay added to cron fire times, so that thousands of feeds on
    /// one schedule do not fire in the same second. 0 disables it.
    pub max_jitter: Duration,
    /// Items older than this (by their date) are removed, with their index entries.
    pub retention: Duration,
    /// At most this many items are kept (the oldest go first); `None`: no cap.
    pub max_items: Option<usize>,
    /// A WebSub hub (W3C WebSub §4): outputs advertise it, and feedsift notifies it when an
    /// output gains items, so subscribers get pushes instead of polling.
    pub websub_hub: Option<Url>,
    /// Bearer token for admin endpoints (`POST /api/reload`); `FEEDSIFT_ADMIN_TOKEN` wins.
    /// Without one those endpoints are off.
    pub admin_token: Option<String>,
    /// sled page cache, in bytes (sled's own default is 1 GiB, too much for a small machine).
    pub cache_capacity_bytes: u64,
    /// Whether feeds may live on loopback, private or link-local addresses. `true` by default:
    /// `feeds.toml` is the admin's own, and intranet feeds are legitimate. `false` for a service
    /// whose feed list comes from less trusted hands: such addresses are then refused, checked
    /// on every redirect hop and at DNS resolution.
    pub allow_private_addresses: bool,
    /// Whether a new store is written zstd-compressed (smaller on disk, slower to ingest); an
    /// existing store keeps what it was created with.
    pub compress_store: bool,
    /// Where items live: `sled` in `data_dir` (the default), or a PostgreSQL database that
    /// several instances share. `FEEDSIFT_STORE` wins, so a password need not be in the file.
    pub store: crate::store::StoreSpec,
    /// How long an instance holds a feed it is polling before another may take it over (only
    /// matters with several instances on one PostgreSQL). Longer than any poll can take.
    pub lease: Duration,
}

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

/// One `[[output]]`: a published feed and the filter that selects its items.
#[derive(Debug, Clone)]
pub struct OutputConfig {
    /// URL name: the output is served at `/feeds/{name}.rss`.
    pub name: String,
    /// Channel title.
    pub title: String,
    /// Channel description.
    pub description: String,
    /// Which items it carries.
    pub filter: Filter,
}

/// Which items an output carries. Every set condition must hold; an empty list means "any".
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    /// Keep items whose category is one of these.
    pub categories: Vec<Category>,
    /// Keep items from these feed ids.
    pub sources: Vec<String>,
    /// Keep items whose title or text matches at least one of these.
    pub include: Vec<Pattern>,
    /// Drop items whose title or text matches any of these.
    pub exclude: Vec<Pattern>,
    /// Keep items in one of these languages (`zh`, `en`; a tag's primary subtag).
    pub languages: Vec<String>,
    /// Keep items no older than this (by their date).
    pub max_age: Option<Duration>,
    /// At most this many items, newest first.
    pub limit: usize,
    /// Keep items the categorizer labelled with at least this confidence.
    pub min_confidence: f32,
    /// Keep items that name one of these regions (or a city or county inside one).
    pub regions: Vec<String>,
}

impl Default for Filter {
    fn default() -> Self {
        Filter {
            categories: Vec::new(),
            sources: Vec::new(),
            include: Vec::new(),
            exclude: Vec::new(),
            limit: DEFAULT_LIMIT,
            min_confidence: 0.0,
            regions: Vec::new(),
            languages: Vec::new(),
            max_age: None,
        }
    }
}

/// A keyword or, written between slashes (`/锂电池|光伏/`), a regular expression; both
/// case-insensitive, matched against an item's title and plain text.
#[derive(Debug, Clone)]
pub struct Pattern {
    source: String,
    regex: Option<regex::Regex>,
    lower: String,
}

impl PartialEq for Pattern {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

impl Pattern {
    /// Parses `s`; a `/…/` pattern must be a valid regular expression.
    pub fn parse(s: &str) -> Result<Pattern, String> {
        let s = s.trim();
        let regex = match s
            .strip_prefix('/')
            .and_then(|r| r.strip_suffix('/'))
            .filter(|r| !r.is_empty())
        {
            Some(r) => Some(
                regex::RegexBuilder::new(r)
                    .case_insensitive(true)
                    .size_limit(1 << 20)
                    .build()
                    .map_err(|e| format!("`{s}` is not a valid regular expression: {e}"))?,
            ),
            None => None,
        };
        Ok(Pattern {
            source: s.to_string(),
            regex,
            lower: s.to_lowercase(),
        })
    }

    /// Whether `text` matches; `lower` is `text` lower-cased (computed once by the caller).
    pub fn matches(&self, text: &str, lower: &str) -> bool {
        match &self.regex {
            Some(r) => r.is_match(text),
            None => lower.contains(&self.lower),
        }
    }

    /// As written.
    pub fn as_str(&self) -> &str {
        &self.source
    }
}

/// Parses an age such as `36h`, `7d` or `2w` (hours, days, weeks).
pub fn parse_age(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (n, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = n
        .parse()
        .map_err(|_| format!("`{s}`: expected an age such as 36h, 7d or 2w"))?;
    let secs = match unit {
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => return Err(format!("`{s}`: expected an age such as 36h, 7d or 2w")),
    };
    if n == 0 {
        return Err(format!("`{s}`: the age must be greater than zero"));
    }
    Ok(Duration::from_secs(n.saturating_mul(secs)))
}

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

// ---- raw TOML shapes -------------------------------------------------------------------------

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    service: RawService,
    #[serde(default, rename = "feed")]
    feeds: Vec<RawFeed>,
    #[serde(default, rename = "output")]
    outputs: Vec<RawOutput>,
    #[serde(default)]
    categorize: Option<Spanned<RawCategorize>>,
    #[serde(default)]
    dedup: RawDedup,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawService {
    listen: Option<Spanned<String>>,
    data_dir: Option<String>,
    default_schedule: Option<Spanned<String>>,
    timezone: Option<Spanned<String>>,
    public_url: Option<Spanned<String>>,
    user_agent: Option<String>,
    fetch_timeout_secs: Option<Spanned<u64>>,
    max_body_bytes: Option<Spanned<u64>>,
    max_concurrent_fetches: Option<Spanned<usize>>,
    max_fetches_per_host: Option<Spanned<usize>>,
    max_jitter_secs: Option<u64>,
    retention_days: Option<Spanned<u64>>,
    admin_token: Option<String>,
    websub_hub: Option<Spanned<String>>,
    max_items: Option<Spanned<usize>>,
    cache_capacity_mb: Option<Spanned<u64>>,
    allow_private_addresses: Option<bool>,
    compress_store: Option<bool>,
    store: Option<Spanned<String>>,
    lease_secs: Option<Spanned<u64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFeed {
    id: Spanned<String>,
    url: Spanned<String>,
    title: Option<String>,
    schedule: Option<Spanned<String>>,
    #[serde(default = "yes")]
    enabled: bool,
    timezone: Option<Spanned<String>>,
    #[serde(default = "yes")]
    publisher_hints: bool,
    category_hint: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOutput {
    name: Spanned<String>,
    title: Option<String>,
    description: Option<String>,
    #[serde(default)]
    categories: Vec<Spanned<String>>,
    #[serde(default)]
    sources: Vec<Spanned<String>>,
    #[serde(default)]
    include: Vec<Spanned<String>>,
    #[serde(default)]
    exclude: Vec<Spanned<String>>,
    #[serde(default)]
    languages: Vec<String>,
    max_age: Option<Spanned<String>>,
    limit: Option<Spanned<usize>>,
    min_confidence: Option<Spanned<f64>>,
    #[serde(default)]
    regions: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDedup {
    #[serde(default = "yes")]
    near_duplicates: bool,
    #[serde(default = "yes")]
    clean_titles: bool,
}

impl Default for RawDedup {
    fn default() -> Self {
        RawDedup {
            near_duplicates: true,
            clean_titles: true,
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawCategorize {
    model: Option<String>,
    regional_politics: Option<Vec<String>>,
    finance: Option<Vec<String>>,
    lifestyle: Option<Vec<String>>,
}

fn yes() -> bool {
    true
}

/// Reads and validates a config file.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse(&text, path)
}

/// Validates config text; `path` is used for messages and to resolve a relative `data_dir`.
pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
    let err = |span: std::ops::Range<usize>, message: String| {
        let (line, column) = line_col(text, span.start);
        ConfigError::Invalid {
            path: path.to_path_buf(),
            line,
            column,
            message,
        }
    };

    let raw: RawConfig = toml::from_str(text).map_err(|e| {
        let message = e.message().trim().to_string();
        err(e.span().unwrap_or(0..0), message)
    })?;

    // [service]
    let s = raw.service;
    let listen = match &s.listen {
        Some(v) => v.get_ref().parse::<SocketAddr>().map_err(|_| {
            err(
                v.span(),
                format!(
                    "`listen = \"{}\"` is not an address such as 127.0.0.1:8080",
                    v.get_ref()
                ),
            )
        })?,
        None => SocketAddr::from(([127, 0, 0, 1], 8080)),
    };
    let base_dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let data_dir = base_dir.join(s.data_dir.as_deref().unwrap_or("data"));
    let default_schedule = match &s.default_schedule {
        Some(v) => CronSchedule::parse(v.get_ref()).map_err(|m| err(v.span(), m))?,
        None => CronSchedule::parse(DEFAULT_SCHEDULE).expect("built-in schedule is valid"),
    };
    let timezone = match &s.timezone {
        Some(v) => parse_tz(v).map_err(|m| err(v.span(), m))?,
        None => chrono_tz::Asia::Shanghai,
    };
    let public_url = match &s.public_url {
        Some(v) => parse_http_url(v.get_ref()).map_err(|m| err(v.span(), m))?,
        None => url_for_listen(listen),
    };
    let positive = |v: &Option<Spanned<u64>>, name: &str, default: u64| match v {
        Some(v) if *v.get_ref() == 0 => {
            Err(err(v.span(), format!("`{name}` must be greater than 0")))
        }
        Some(v) => Ok(*v.get_ref()),
        None => Ok(default),
    };
    let fetch_timeout =
        Duration::from_secs(positive(&s.fetch_timeout_secs, "fetch_timeout_secs", 30)?);
    let max_body_bytes = positive(&s.max_body_bytes, "max_body_bytes", 10 * 1024 * 1024)?;
    let cache_capacity_bytes =
        positive(&s.cache_capacity_mb, "cache_capacity_mb", 64)? * 1024 * 1024;
    let max_concurrent_fetches = match &s.max_concurrent_fetches {
        Some(v) if *v.get_ref() == 0 => {
            return Err(err(
                v.span(),
                "`max_concurrent_fetches` must be greater than 0".into(),
            ))
        }
        Some(v) => *v.get_ref(),
        None => 16,
    };
    let max_fetches_per_host = match &s.max_fetches_per_host {
        Some(v) if *v.get_ref() == 0 => {
            return Err(err(
                v.span(),
                "`max_fetches_per_host` must be greater than 0".into(),
            ))
        }
        Some(v) => *v.get_ref(),
        None => 2,
    };
    let service = ServiceConfig {
        listen,
        data_dir,
        default_schedule,
        timezone,
        public_url,
        public_url_from_listen: s.public_url.is_none(),
        user_agent: s
            .user_agent
            .unwrap_or_else(|| format!("feedsift/{} (feed aggregator)", env!("CARGO_PKG_VERSION"))),
        fetch_timeout,
        max_body_bytes,
        max_concurrent_fetches,
        max_fetches_per_host,
        max_jitter: Duration::from_secs(s.max_jitter_secs.unwrap_or(300)),
        admin_token: s.admin_token.filter(|t| !t.trim().is_empty()),
        websub_hub: match &s.websub_hub {
            Some(v) => Some(parse_http_url(v.get_ref()).map_err(|m| err(v.span(), m))?),
            None => None,
        },
        retention: Duration::from_secs(positive(&s.retention_days, "retention_days", 90)? * 86_400),
        max_items: match &s.max_items {
            Some(v) if *v.get_ref() == 0 => {
                return Err(err(
                    v.span(),
                    "`max_items` must be greater than 0 (leave it out for no cap)".into(),
                ))
            }
            Some(v) => Some(*v.get_ref()),
            None => None,
        },
        cache_capacity_bytes,
        allow_private_addresses: s.allow_private_addresses.unwrap_or(true),
        compress_store: s.compress_store.unwrap_or(false),
        store: match std::env::var("FEEDSIFT_STORE")
            .ok()
            .filter(|v| !v.trim().is_empty())
        {
            Some(v) => crate::store::StoreSpec::parse(&v)
                .map_err(|e| err(0..0, format!("FEEDSIFT_STORE: {e}")))?,
            None => match &s.store {
                Some(v) => {
                    crate::store::StoreSpec::parse(v.get_ref()).map_err(|e| err(v.span(), e.to_string()))?
                }
                None => crate::store::StoreSpec::Sled,
            },
        },
        lease: match &s.lease_secs {
            Some(v) if *v.get_ref() <= fetch_timeout.as_secs() => {
                return Err(err(
                    v.span(),
                    format!(
                        "`lease_secs` must be longer than `fetch_timeout_secs` ({}), or a slow poll would be taken over while it runs",
                        fetch_timeout.as_secs()
                    ),
                ))
            }
            Some(v) => Duration::from_secs(*v.get_ref()),
            None => fetch_timeout + Duration::from_secs(60),
        },
    };

    // [[feed]]
    let mut seen = HashSet::new();
    let mut feeds = Vec::with_capacity(raw.feeds.len());
    for f in raw.feeds {
        let id = f.id.get_ref();
        check_slug(id).map_err(|m| err(f.id.span(), format!("feed id {m}")))?;
        if !seen.insert(id.clone()) {
            return Err(err(f.id.span(), format!("duplicate feed id `{id}`")));
        }
        let url = parse_http_url(f.url.get_ref()).map_err(|m| err(f.url.span(), m))?;
        let schedule = match &f.schedule {
            Some(v) => CronSchedule::parse(v.get_ref()).map_err(|m| err(v.span(), m))?,
            None => service.default_schedule.clone(),
        };
        feeds.push(FeedConfig {
            id: id.clone(),
            url,
            title: f.title.filter(|t| !t.trim().is_empty()),
            schedule,
            enabled: f.enabled,
            timezone: match &f.timezone {
                Some(v) => Some(parse_tz(v).map_err(|m| err(v.span(), m))?),
                None => None,
            },
            publisher_hints: f.publisher_hints,
            category_hint: match &f.category_hint {
                Some(v) => Some(
                    v.get_ref()
                        .parse::<Category>()
                        .map_err(|m| err(v.span(), m))?,
                ),
                None => None,
            },
        });
    }

    // [[output]]
    let mut names = HashSet::new();
    let mut outputs = Vec::with_capacity(raw.outputs.len());
    for o in raw.outputs {
        let name = o.name.get_ref();
        check_slug(name).map_err(|m| err(o.name.span(), format!("output name {m}")))?;
        if name == MERGED_OUTPUT {
            return Err(err(
                o.name.span(),
                "output name `merged` is reserved for the built-in feed of all items".into(),
            ));
        }
        if !names.insert(name.clone()) {
            return Err(err(
                o.name.span(),
                format!("duplicate output name `{name}`"),
            ));
        }
        let mut categories = Vec::new();
        for c in &o.categories {
            categories.push(
                c.get_ref()
                    .parse::<Category>()
                    .map_err(|m| err(c.span(), m))?,
            );
        }
        let mut sources = Vec::new();
        for src in &o.sources {
            if !seen.contains(src.get_ref()) {
                return Err(err(
                    src.span(),
                    format!(
                        "output `{name}` names source `{}`, but no [[feed]] has that id",
                        src.get_ref()
                    ),
                ));
            }
            sources.push(src.get_ref().clone());
        }
        let limit = match &o.limit {
            Some(v) if *v.get_ref() == 0 || *v.get_ref() > MAX_LIMIT => {
                return Err(err(
                    v.span(),
                    format!("`limit` must be between 1 and {MAX_LIMIT}"),
                ))
            }
            Some(v) => *v.get_ref(),
            None => DEFAULT_LIMIT,
        };
        let patterns = |v: &[Spanned<String>]| -> Result<Vec<Pattern>, ConfigError> {
            v.iter()
                .filter(|s| !s.get_ref().trim().is_empty())
                .map(|s| Pattern::parse(s.get_ref()).map_err(|m| err(s.span(), m)))
                .collect()
        };
        let include = patterns(&o.include)?;
        let exclude = patterns(&o.exclude)?;
        let max_age = match &o.max_age {
            Some(v) => {
                Some(parse_age(v.get_ref()).map_err(|m| err(v.span(), format!("max_age {m}")))?)
            }
            None => None,
        };
        outputs.push(OutputConfig {
            name: name.clone(),
            title: o.title.unwrap_or_else(|| format!("feedsift: {name}")),
            description: o
                .description
                .unwrap_or_else(|| format!("Items selected by the feedsift output `{name}`")),
            filter: Filter {
                categories,
                sources,
                include,
                exclude,
                languages: o
                    .languages
                    .iter()
                    .map(|l| l.trim().to_lowercase())
                    .filter(|l| !l.is_empty())
                    .collect(),
                max_age,
                limit,
                min_confidence: match &o.min_confidence {
                    Some(v) if !(0.0..=1.0).contains(v.get_ref()) => {
                        return Err(err(v.span(), "`min_confidence` must be between 0 and 1".into()))
                    }
                    Some(v) => *v.get_ref() as f32,
                    None => 0.0,
                },
                regions: {
                    let mut out = Vec::new();
                    for r in &o.regions {
                        if crate::regions::named(r.get_ref()).is_empty() {
                            return Err(err(
                                r.span(),
                                format!("unknown region `{}`: use a province, city or county name such as 四川, 成都 or 璧山区", r.get_ref()),
                            ));
                        }
                        out.push(r.get_ref().trim().to_string());
                    }
                    out
                },
            },
        });
    }

    // [categorize]
    let mut keywords = BTreeMap::new();
    let mut model_path = None;
    if let Some(c) = raw.categorize {
        let span = c.span();
        let c = c.into_inner();
        model_path = c.model.map(|m| base_dir.join(m));
        for (cat, list) in [
            (Category::RegionalPolitics, c.regional_politics),
            (Category::Finance, c.finance),
            (Category::Lifestyle, c.lifestyle),
        ] {
            if let Some(list) = list {
                let list: Vec<String> = list
                    .into_iter()
                    .map(|k| k.trim().to_lowercase())
                    .filter(|k| !k.is_empty())
                    .collect();
                if list.is_empty() {
                    return Err(err(
                        span.clone(),
                        format!("[categorize] {cat}: the keyword list is empty; remove it to use the built-in list"),
                    ));
                }
                keywords.insert(cat, list);
            }
        }
    }

    Ok(Config {
        path: path.to_path_buf(),
        service,
        feeds,
        outputs,
        keywords,
        model_path,
        dedup: crate::dedup::DedupSettings {
            near_duplicates: raw.dedup.near_duplicates,
        },
        clean_titles: raw.dedup.clean_titles,
        data_dir_override: None,
    })
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

/// The URL readers reach a server listening on `listen` at: the address itself, or `localhost`
/// when it binds every interface (`0.0.0.0` is not an address a reader can open).
fn url_for_listen(listen: SocketAddr) -> Url {
    let host = if listen.ip().is_unspecified() {
        format!("localhost:{}", listen.port())
    } else {
        listen.to_string()
    };
    Url::parse(&format!("http://{host}/")).expect("socket address makes a URL")
}

impl Config {
    /// This config as served from `bound`, the address the listener actually got. A
    /// `public_url` derived from `listen` names the bound port: with `listen = "127.0.0.1:0"`
    /// the configured port is 0, and feeds whose `rel="self"` and links say `:0` cannot be
    /// subscribed to. A `public_url` the admin wrote is kept as written.
    pub fn served_at(mut self, bound: SocketAddr) -> Config {
        if self.service.public_url_from_listen {
            self.service.public_url = url_for_listen(bound);
        }
        self
    }

    /// The output of that name, or the built-in `merged` output (every item, no filter).
    pub fn output(&self, name: &str) -> Option<OutputConfig> {
        if name == MERGED_OUTPUT {
            return Some(OutputConfig {
                name: MERGED_OUTPUT.into(),
                title: "feedsift: all items".into(),
                description: "Every item from every configured feed, newest first".into(),
                filter: Filter::default(),
            });
        }
        self.outputs.iter().find(|o| o.name == name).cloned()
    }

    /// Every output name, `merged` first.
    pub fn output_names(&self) -> Vec<String> {
        std::iter::once(MERGED_OUTPUT.to_string())
            .chain(self.outputs.iter().map(|o| o.name.clone()))
            .collect()
    }

    /// The feed with that id.
    pub fn feed(&self, id: &str) -> Option<&FeedConfig> {
        self.feeds.iter().find(|f| f.id == id)
    }
}

fn parse_tz(v: &Spanned<String>) -> Result<Tz, String> {
    v.get_ref().parse::<Tz>().map_err(|_| {
        format!(
            "unknown time zone `{}`; use an IANA name such as Asia/Shanghai or UTC",
            v.get_ref()
        )
    })
}

fn check_slug(s: &str) -> Result<(), String> {
    if s.is_empty() || s.len() > 64 {
        return Err(format!("`{s}` must be 1 to 64 characters long"));
    }
    if !s
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
    {
        return Err(format!(
            "`{s}` may contain only lower-case letters, digits, `-` and `_` (it is used in URLs)"
        ));
    }
    Ok(())
}

fn parse_http_url(s: &str) -> Result<Url, String> {
    let url = Url::parse(s.trim()).map_err(|e| format!("`{s}` is not a valid URL: {e}"))?;
    if url.scheme() != "http" && url.scheme() != "https" {
        return Err(format!("`{s}`: only http and https URLs can be polled"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(format!("`{s}` has no host"));
    }
    Ok(url)
}

/// 1-based line and character column of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..text.floor_char_boundary_compat(offset)];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

trait FloorCharBoundary {
    fn floor_char_boundary_compat(&self, i: usize) -> usize;
}

impl FloorCharBoundary for str {
    fn floor_char_boundary_compat(&self, mut i: usize) -> usize {
        while i > 0 && !self.is_char_boundary(i) {
            i -= 1;
        }
        i
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str) -> Result<Config, String> {
        parse(text, Path::new("feeds.toml")).map_err(|e| e.to_string())
    }

    #[test]
    fn minimal_config_gets_defaults() {
        let c = check("[[feed]]\nid = \"a\"\nurl = \"https://example.com/rss\"\n").unwrap();
        assert_eq!(c.feeds.len(), 1);
        assert_eq!(c.feeds[0].schedule.expr, DEFAULT_SCHEDULE);
        assert_eq!(c.service.listen.port(), 8080);
        assert_eq!(c.service.timezone, chrono_tz::Asia::Shanghai);
        assert!(c.output("merged").is_some());
        assert!(c.output("nope").is_none());
    }

    #[test]
    fn errors_name_line_and_column() {
        let cases: &[(&str, &str)] = &[
            ("[service]\nlisten = \"nowhere\"\n", "feeds.toml:2:10: `listen"),
            ("[[feed]]\nid = \"a\"\nurl = \"https://e.com/\"\nshedule = \"x\"\n", "feeds.toml:4:1: unknown field `shedule`"),
            ("[[feed]]\nid = \"a\"\nurl = \"https://e.com/\"\n[[feed]]\nid = \"a\"\nurl = \"https://f.com/\"\n", "feeds.toml:5:6: duplicate feed id `a`"),
            ("[[feed]]\nid = \"a\"\nurl = \"not a url\"\n", "feeds.toml:3:7: `not a url` is not a valid URL"),
            ("[[feed]]\nid = \"a\"\nurl = \"ftp://e.com/x\"\n", "feeds.toml:3:7: `ftp://e.com/x`: only http and https"),
            ("[[feed]]\nid = \"a\"\nurl = \"https://e.com/\"\nschedule = \"0 61 * * * *\"\n", "feeds.toml:4:12: invalid cron expression"),
            ("[[feed]]\nid = \"a\"\nurl = \"https://e.com/\"\nschedule = \"0 0 * * 1-5\"\n", "feeds.toml:4:12: cron expression `0 0 * * 1-5`: numeric weekday"),
            ("[[feed]]\nid = \"a\"\nurl = \"https://e.com/\"\nschedule = \"0 0 0 31 2 *\"\n", "never fires"),
            ("[[feed]]\nid = \"A b\"\nurl = \"https://e.com/\"\n", "feeds.toml:2:6: feed id `A b` may contain only"),
            ("[[output]]\nname = \"x\"\ncategories = [\"sports\"]\n", "feeds.toml:3:15: unknown category `sports`"),
            ("[[output]]\nname = \"x\"\nsources = [\"ghost\"]\n", "feeds.toml:3:12: output `x` names source `ghost`"),
            ("[[output]]\nname = \"merged\"\n", "reserved"),
            ("[[output]]\nname = \"x\"\nlimit = 0\n", "feeds.toml:3:9: `limit` must be between"),
            ("[service]\ntimezone = \"Mars/Olympus\"\n", "feeds.toml:2:12: unknown time zone"),
            ("[[output]]\nname = \"x\"\nregions = [\"Atlantis\"]\n", "feeds.toml:3:12: unknown region `Atlantis`"),
            ("[[output]]\nname = \"x\"\nmin_confidence = 1.5\n", "feeds.toml:3:18: `min_confidence` must be between 0 and 1"),
            ("[[feed]]\nid = \"a\"\nurl = \"https://e.com/\"\ncategory_hint = \"sports\"\n", "feeds.toml:4:17: unknown category `sports`"),
            ("[dedup]\nnear = true\n", "feeds.toml:2:1: unknown field `near`"),
            ("[service]\nwebsub_hub = \"hub\"\n", "feeds.toml:2:14: `hub` is not a valid URL"),
            ("[[output]]\nname = \"x\"\ninclude = [\"/(oops/\"]\n", "feeds.toml:3:12: `/(oops/` is not a valid regular expression"),
            ("[[output]]\nname = \"x\"\nmax_age = \"soon\"\n", "feeds.toml:3:11: max_age `soon`: expected an age"),
            ("[service\n", "feeds.toml:1:9:"),
            ("[[feed]]\nurl = \"https://e.com/\"\n", "missing field `id`"),
            ("[service]\nstore = \"mysql://u:pw@h/db\"\n", "feeds.toml:2:9: store: unknown store `mysql://u:***@h/db`"),
            ("[service]\nstore = \"postgres://u@h:99999/db\"\n", "feeds.toml:2:9: store: `postgres://u@h:99999/db` is not a usable PostgreSQL URL"),
            ("[service]\nfetch_timeout_secs = 30\nlease_secs = 20\n", "feeds.toml:3:14: `lease_secs` must be longer than `fetch_timeout_secs` (30)"),
        ];
        for (text, want) in cases {
            let got = check(text).expect_err(text);
            assert!(
                got.contains(want),
                "config {text:?}\n  got:  {got}\n  want: {want}"
            );
        }
    }

    #[test]
    fn store_and_lease() {
        let c = parse("", Path::new("feeds.toml")).unwrap();
        if std::env::var_os("FEEDSIFT_STORE").is_none() {
            assert_eq!(c.service.store, crate::store::StoreSpec::Sled);
        }
        assert_eq!(
            c.service.lease,
            Duration::from_secs(90),
            "fetch timeout + 60 s"
        );
        let c = parse(
            "[service]\nstore = \"postgres://u:p@db.internal/feeds\"\nlease_secs = 45\n",
            Path::new("feeds.toml"),
        )
        .unwrap();
        if std::env::var_os("FEEDSIFT_STORE").is_none() {
            assert!(
                matches!(c.service.store, crate::store::StoreSpec::Postgres(ref u) if u.contains("db.internal"))
            );
        }
        assert_eq!(c.service.lease, Duration::from_secs(45));
    }

    #[test]
    fn crontab_forms() {
        // The 5-field crontab form means second 0.
        let s = CronSchedule::parse("*/5 * * * *").unwrap();
        let next = s.schedule.upcoming(chrono::Utc).next().unwrap();
        assert_eq!(chrono::Timelike::second(&next), 0);
        assert!(CronSchedule::parse("0 0 9 * * Mon-Fri").is_ok());
        assert!(CronSchedule::parse("0 0 9 * * Mon-Fri 2020-2099").is_ok());
        assert!(CronSchedule::parse("* *").is_err());
        assert!(CronSchedule::parse("@hourly").is_ok());
    }

    #[test]
    fn data_dir_is_relative_to_the_config_file() {
        let c = parse(
            "[service]\ndata_dir = \"store\"\n",
            Path::new("/etc/feedsift/feeds.toml"),
        )
        .unwrap();
        assert_eq!(c.service.data_dir, Path::new("/etc/feedsift/store"));
    }

    #[test]
    fn line_col_counts_characters() {
        assert_eq!(line_col("ab\n中文x", 9), (2, 3));
        assert_eq!(line_col("", 0), (1, 1));
    }
}
