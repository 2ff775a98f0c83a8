//! `feeds.toml`: the admin's file, read into typed, validated configuration.
//!
//! Takes: the path of a TOML file. Gives: a [`Config`] whose every value has been checked —
//! URLs parse, cron expressions have a next fire time, feed ids are unique, outputs name only
//! feeds that exist. Guarantees: any problem is a [`ConfigError`] that names the file, line and
//! column (`feeds.toml:12:7: …`), the way a compiler would, so an admin can fix it without
//! guessing. Unknown keys are errors too: a typo such as `shedule` must not silently fall back to
//! a default.
//!
//! One file per table: `service.rs` (`[service]`, with the [`StoreSpec`]), `feed.rs` (each
//! `[[feed]]`), `output.rs` (each `[[output]]`, with its [`Filter`]), `categorize.rs`
//! (`[categorize]`), `dedup.rs` (`[dedup]`, with the deduplicator's [`DedupSettings`]) and
//! `schedule.rs` (cron expressions). This module reads the file, hands each table to its parser
//! and turns spans into `file:line:col`. It depends on no stage of the pipeline (`store`,
//! `dedup`, …): they depend on it.

mod categorize;
mod dedup;
mod feed;
mod output;
mod schedule;
mod service;

pub use dedup::DedupSettings;
pub use feed::FeedConfig;
pub use output::{parse_age, Filter, OutputConfig, Pattern};
pub use schedule::CronSchedule;
pub use service::{ServiceConfig, StoreSpec, StoreSpecError};

use crate::model::Category;
use chrono_tz::Tz;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
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

/// For a config file that does not exist: where a relative path was looked for, and how to
/// name the file.
fn missing_hint(path: &Path, source: &std::io::Error) -> String {
    if source.kind() != std::io::ErrorKind::NotFound {
        return String::new();
    }
    let dir = if path.is_relative() {
        std::env::current_dir()
            .map(|d| format!(" in {}", d.display()))
            .unwrap_or_default()
    } else {
        String::new()
    };
    format!("{dir}; name the config file with --config PATH or the FEEDSIFT_CONFIG environment variable")
}

/// A `feeds.toml` that could not be used, with where and why.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read at all. A missing file's message says where it was looked
    /// for and how to name another (`--config`, `FEEDSIFT_CONFIG`).
    #[error("{path}: cannot read config: {source}{}", missing_hint(.path, .source))]
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
    pub dedup: DedupSettings,
    /// `[dedup] clean_titles`: publish titles with content-farm decorations stripped.
    pub clean_titles: bool,
    /// The data directory given on the command line, if any; kept so a reload applies it again.
    pub data_dir_override: Option<PathBuf>,
}

// ---- raw TOML shapes (each table's own shape lives with its parser) --------------------------

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    service: service::RawService,
    #[serde(default, rename = "feed")]
    feeds: Vec<feed::RawFeed>,
    #[serde(default, rename = "output")]
    outputs: Vec<output::RawOutput>,
    #[serde(default)]
    categorize: Option<Spanned<categorize::RawCategorize>>,
    #[serde(default)]
    dedup: dedup::RawDedup,
}

fn yes() -> bool {
    true
}

/// The text being parsed and its path: turns a byte span into a [`ConfigError`] that names
/// `file:line:col`.
struct Source<'a> {
    text: &'a str,
    path: &'a Path,
}

impl Source<'_> {
    /// The error `message` at the start of `span`.
    fn err(&self, span: std::ops::Range<usize>, message: String) -> ConfigError {
        let (line, column) = line_col(self.text, span.start);
        ConfigError::Invalid {
            path: self.path.to_path_buf(),
            line,
            column,
            message,
        }
    }

    /// The config file's directory, which relative paths in it are taken from.
    fn base_dir(&self) -> &Path {
        self.path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
    }
}

/// Reads and validates a config file.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse(&text, path)
}

/// Loads `feeds.toml`, with the data directory overridden when `data_dir` is given (the CLI's
/// `--data-dir` / `FEEDSIFT_DATA_DIR`); what the CLI and every reload read.
pub fn load_config(path: &Path, data_dir: Option<&Path>) -> Result<Config, ConfigError> {
    let mut config = load(path)?;
    if let Some(d) = data_dir {
        config.service.data_dir = d.to_path_buf();
        config.data_dir_override = Some(d.to_path_buf());
    }
    Ok(config)
}

/// Validates config text; `path` is used for messages and to resolve a relative `data_dir`.
/// Tables are checked in the order `[service]`, `[[feed]]`, `[[output]]`, `[categorize]`.
pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
    let src = Source { text, path };
    let raw: RawConfig = toml::from_str(text).map_err(|e| {
        let message = e.message().trim().to_string();
        src.err(e.span().unwrap_or(0..0), message)
    })?;
    let service = service::parse(&src, raw.service)?;
    let (feeds, feed_ids) = feed::parse_all(&src, raw.feeds, &service.default_schedule)?;
    let outputs = output::parse_all(&src, raw.outputs, &feed_ids)?;
    let categorize = categorize::parse(&src, raw.categorize)?;
    let (dedup, clean_titles) = dedup::parse(raw.dedup);
    Ok(Config {
        path: path.to_path_buf(),
        service,
        feeds,
        outputs,
        keywords: categorize.keywords,
        model_path: categorize.model_path,
        dedup,
        clean_titles,
        data_dir_override: None,
    })
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
    use std::time::Duration;

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
            ("[service]\nfetch_timeout_secs = 0\n", "feeds.toml:2:22: `fetch_timeout_secs` must be greater than 0"),
            ("[service]\nmax_concurrent_fetches = 0\n", "feeds.toml:2:26: `max_concurrent_fetches` must be greater than 0"),
            ("[service]\nmax_fetches_per_host = 0\n", "feeds.toml:2:24: `max_fetches_per_host` must be greater than 0"),
            ("[service]\nmax_items = 0\n", "feeds.toml:2:13: `max_items` must be greater than 0 (leave it out for no cap)"),
            ("[service]\nlisten = \"x\"\ntimezone = \"Mars/Olympus\"\n", "feeds.toml:2:10: `listen"),
            ("[categorize]\nfinance = [\" \"]\n", "[categorize] finance: the keyword list is empty"),
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
            assert_eq!(c.service.store, StoreSpec::Sled);
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
                matches!(c.service.store, StoreSpec::Postgres(ref u) if u.contains("db.internal"))
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
