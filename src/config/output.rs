//! Each `[[output]]`: a published feed and the [`Filter`] that selects its items.
//!
//! Takes: the raw `[[output]]` tables in file order and the set of feed ids. Gives:
//! [`OutputConfig`]s. Guarantees: names are unique URL-safe slugs other than `merged`; every
//! category, source, pattern, age, limit, confidence and region is checked, and each error
//! points at the offending value. Also home to [`Pattern`] and [`parse_age`], which the HTTP
//! query filters share.

use super::{check_slug, ConfigError, Source, DEFAULT_LIMIT, MAX_LIMIT, MERGED_OUTPUT};
use crate::model::Category;
use serde::Deserialize;
use std::collections::HashSet;
use std::time::Duration;
use toml::Spanned;

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

/// One `[[output]]` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawOutput {
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

/// Validates every `[[output]]`, in file order; `feed_ids` are the configured feeds.
pub(super) fn parse_all(
    src: &Source<'_>,
    raw: Vec<RawOutput>,
    feed_ids: &HashSet<String>,
) -> Result<Vec<OutputConfig>, ConfigError> {
    let mut names = HashSet::new();
    let mut outputs = Vec::with_capacity(raw.len());
    for o in raw {
        let name = o.name.get_ref();
        check_slug(name).map_err(|m| src.err(o.name.span(), format!("output name {m}")))?;
        if name == MERGED_OUTPUT {
            return Err(src.err(
                o.name.span(),
                "output name `merged` is reserved for the built-in feed of all items".into(),
            ));
        }
        if !names.insert(name.clone()) {
            return Err(src.err(o.name.span(), format!("duplicate output name `{name}`")));
        }
        outputs.push(parse_one(src, o, feed_ids)?);
    }
    Ok(outputs)
}

/// One `[[output]]` whose name has been checked.
fn parse_one(
    src: &Source<'_>,
    o: RawOutput,
    feed_ids: &HashSet<String>,
) -> Result<OutputConfig, ConfigError> {
    let name = o.name.get_ref().clone();
    let mut categories = Vec::new();
    for c in &o.categories {
        categories.push(
            c.get_ref()
                .parse::<Category>()
                .map_err(|m| src.err(c.span(), m))?,
        );
    }
    let sources = parse_sources(src, &name, &o.sources, feed_ids)?;
    let limit = match &o.limit {
        Some(v) if *v.get_ref() == 0 || *v.get_ref() > MAX_LIMIT => {
            return Err(src.err(
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
            .map(|s| Pattern::parse(s.get_ref()).map_err(|m| src.err(s.span(), m)))
            .collect()
    };
    let include = patterns(&o.include)?;
    let exclude = patterns(&o.exclude)?;
    let max_age = match &o.max_age {
        Some(v) => {
            Some(parse_age(v.get_ref()).map_err(|m| src.err(v.span(), format!("max_age {m}")))?)
        }
        None => None,
    };
    let min_confidence = match &o.min_confidence {
        Some(v) if !(0.0..=1.0).contains(v.get_ref()) => {
            return Err(src.err(v.span(), "`min_confidence` must be between 0 and 1".into()))
        }
        Some(v) => *v.get_ref() as f32,
        None => 0.0,
    };
    let regions = parse_regions(src, &o.regions)?;
    Ok(OutputConfig {
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
            min_confidence,
            regions,
        },
        name,
    })
}

/// `sources`: each must be a configured feed id.
fn parse_sources(
    src: &Source<'_>,
    name: &str,
    raw: &[Spanned<String>],
    feed_ids: &HashSet<String>,
) -> Result<Vec<String>, ConfigError> {
    let mut sources = Vec::new();
    for s in raw {
        if !feed_ids.contains(s.get_ref()) {
            return Err(src.err(
                s.span(),
                format!(
                    "output `{name}` names source `{}`, but no [[feed]] has that id",
                    s.get_ref()
                ),
            ));
        }
        sources.push(s.get_ref().clone());
    }
    Ok(sources)
}

/// `regions`: each must name a province, city or county.
fn parse_regions(src: &Source<'_>, raw: &[Spanned<String>]) -> Result<Vec<String>, ConfigError> {
    let mut out = Vec::new();
    for r in raw {
        if crate::regions::named(r.get_ref()).is_empty() {
            return Err(src.err(
                r.span(),
                format!("unknown region `{}`: use a province, city or county name such as 四川, 成都 or 璧山区", r.get_ref()),
            ));
        }
        out.push(r.get_ref().trim().to_string());
    }
    Ok(out)
}
