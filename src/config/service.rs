//! `[service]`: how the running service listens, fetches, stores and retains.
//!
//! Takes: the raw `[service]` table (and `FEEDSIFT_STORE`, which wins over `store`). Gives: a
//! [`ServiceConfig`], with its [`StoreSpec`]. Guarantees: every value is checked where it is
//! written (addresses, URLs, zones, schedules, positive limits, a lease longer than a fetch);
//! relative `data_dir`s are taken from the config file's directory; store URLs are never shown
//! with their password. This module needs nothing from `store`: the CLI layer opens the store a
//! [`StoreSpec`] names.

use super::DEFAULT_SCHEDULE;
use super::{parse_http_url, parse_tz, url_for_listen, ConfigError, CronSchedule, Source};
use chrono_tz::Tz;
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;
use toml::Spanned;
use url::Url;

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
    /// address actually bound (see [`super::Config::served_at`]).
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
    pub store: StoreSpec,
    /// How long an instance holds a feed it is polling before another may take it over (only
    /// matters with several instances on one PostgreSQL). Longer than any poll can take.
    pub lease: Duration,
}

/// Where `[service] store` says items live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreSpec {
    /// sled in the data directory (the default).
    Sled,
    /// A PostgreSQL database, by `postgres://` URL.
    Postgres(String),
}

/// A `store` value that names no backend this build has, or an unusable PostgreSQL URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("store: {0}")]
pub struct StoreSpecError(pub String);

impl StoreSpec {
    /// Reads `sled` or a `postgres://` / `postgresql://` URL.
    pub fn parse(s: &str) -> Result<StoreSpec, StoreSpecError> {
        let t = s.trim();
        if t == "sled" {
            Ok(StoreSpec::Sled)
        } else if t.starts_with("postgres://") || t.starts_with("postgresql://") {
            t.parse::<postgres::Config>().map_err(|e| {
                StoreSpecError(format!(
                    "`{}` is not a usable PostgreSQL URL: {e}",
                    crate::text::redact_url(t)
                ))
            })?;
            Ok(StoreSpec::Postgres(t.to_string()))
        } else {
            Err(StoreSpecError(format!(
                "unknown store `{}`: use \"sled\" or a postgres://user:password@host/database URL",
                crate::text::redact_url(t)
            )))
        }
    }
}

/// `[service]` as written.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawService {
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

/// Validates `[service]`. Values are checked in a fixed order, whatever the file's order, so a
/// file with several mistakes always reports the same one first.
pub(super) fn parse(src: &Source<'_>, s: RawService) -> Result<ServiceConfig, ConfigError> {
    let listen = match &s.listen {
        Some(v) => v.get_ref().parse::<SocketAddr>().map_err(|_| {
            src.err(
                v.span(),
                format!(
                    "`listen = \"{}\"` is not an address such as 127.0.0.1:8080",
                    v.get_ref()
                ),
            )
        })?,
        None => SocketAddr::from(([127, 0, 0, 1], 8080)),
    };
    let data_dir = src.base_dir().join(s.data_dir.as_deref().unwrap_or("data"));
    let default_schedule = match &s.default_schedule {
        Some(v) => CronSchedule::parse(v.get_ref()).map_err(|m| src.err(v.span(), m))?,
        None => CronSchedule::parse(DEFAULT_SCHEDULE).expect("built-in schedule is valid"),
    };
    let timezone = match &s.timezone {
        Some(v) => parse_tz(v).map_err(|m| src.err(v.span(), m))?,
        None => chrono_tz::Asia::Shanghai,
    };
    let public_url = match &s.public_url {
        Some(v) => parse_http_url(v.get_ref()).map_err(|m| src.err(v.span(), m))?,
        None => url_for_listen(listen),
    };
    let fetch_timeout = Duration::from_secs(positive(
        src,
        &s.fetch_timeout_secs,
        "fetch_timeout_secs",
        30,
    )?);
    let max_body_bytes = positive(src, &s.max_body_bytes, "max_body_bytes", 10 * 1024 * 1024)?;
    let cache_capacity_bytes =
        positive(src, &s.cache_capacity_mb, "cache_capacity_mb", 64)? * 1024 * 1024;
    let max_concurrent_fetches =
        nonzero(src, &s.max_concurrent_fetches, "max_concurrent_fetches", 16)?;
    let max_fetches_per_host = nonzero(src, &s.max_fetches_per_host, "max_fetches_per_host", 2)?;
    let websub_hub = match &s.websub_hub {
        Some(v) => Some(parse_http_url(v.get_ref()).map_err(|m| src.err(v.span(), m))?),
        None => None,
    };
    let retention =
        Duration::from_secs(positive(src, &s.retention_days, "retention_days", 90)? * 86_400);
    let max_items = match &s.max_items {
        Some(v) if *v.get_ref() == 0 => {
            return Err(src.err(
                v.span(),
                "`max_items` must be greater than 0 (leave it out for no cap)".into(),
            ))
        }
        Some(v) => Some(*v.get_ref()),
        None => None,
    };
    let store = store_spec(src, &s.store)?;
    let lease = lease(src, &s.lease_secs, fetch_timeout)?;
    Ok(ServiceConfig {
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
        websub_hub,
        retention,
        max_items,
        cache_capacity_bytes,
        allow_private_addresses: s.allow_private_addresses.unwrap_or(true),
        compress_store: s.compress_store.unwrap_or(false),
        store,
        lease,
    })
}

/// A count that must be greater than 0, or `default` when absent.
fn positive(
    src: &Source<'_>,
    v: &Option<Spanned<u64>>,
    name: &str,
    default: u64,
) -> Result<u64, ConfigError> {
    match v {
        Some(v) if *v.get_ref() == 0 => {
            Err(src.err(v.span(), format!("`{name}` must be greater than 0")))
        }
        Some(v) => Ok(*v.get_ref()),
        None => Ok(default),
    }
}

/// [`positive`] for `usize` keys.
fn nonzero(
    src: &Source<'_>,
    v: &Option<Spanned<usize>>,
    name: &str,
    default: usize,
) -> Result<usize, ConfigError> {
    match v {
        Some(v) if *v.get_ref() == 0 => {
            Err(src.err(v.span(), format!("`{name}` must be greater than 0")))
        }
        Some(v) => Ok(*v.get_ref()),
        None => Ok(default),
    }
}

/// `FEEDSIFT_STORE` when set and not blank, else `store`, else sled.
fn store_spec(src: &Source<'_>, v: &Option<Spanned<String>>) -> Result<StoreSpec, ConfigError> {
    match std::env::var("FEEDSIFT_STORE")
        .ok()
        .filter(|v| !v.trim().is_empty())
    {
        Some(env) => {
            StoreSpec::parse(&env).map_err(|e| src.err(0..0, format!("FEEDSIFT_STORE: {e}")))
        }
        None => match v {
            Some(v) => StoreSpec::parse(v.get_ref()).map_err(|e| src.err(v.span(), e.to_string())),
            None => Ok(StoreSpec::Sled),
        },
    }
}

/// `lease_secs`: longer than a fetch may take; by default a minute longer.
fn lease(
    src: &Source<'_>,
    v: &Option<Spanned<u64>>,
    fetch_timeout: Duration,
) -> Result<Duration, ConfigError> {
    match v {
        Some(v) if *v.get_ref() <= fetch_timeout.as_secs() => Err(src.err(
            v.span(),
            format!(
                "`lease_secs` must be longer than `fetch_timeout_secs` ({}), or a slow poll would be taken over while it runs",
                fetch_timeout.as_secs()
            ),
        )),
        Some(v) => Ok(Duration::from_secs(*v.get_ref())),
        None => Ok(fetch_timeout + Duration::from_secs(60)),
    }
}
