//! The generator: stored items in, published feeds out.
//!
//! Takes: the store and an [`OutputConfig`] (its filter, title, limit). Gives: the output's items
//! ([`select`]) and their rendering as RSS 2.0, Atom 1.0 or JSON Feed 1.1 ([`render`]).
//! Guarantees: the same store and output render to the same bytes — no "now" in the document,
//! dates come from the items — so `feedsift export` and the HTTP server agree byte for byte and
//! HTTP validators are meaningful.
//!
//! Identity: a published item's `guid`/`id` is `urn:feedsift:{output}:{canonical key}`
//! ([`item_id`]), not the source's GUID, because a story that several feeds carry has several
//! source GUIDs and must still keep one identity in the reader (RSS 2.0
//! `<guid isPermaLink="false">`, RFC 4287 §4.2.6); and it names the output, because readers
//! such as newsboat key items by GUID across all their subscriptions, so an id shared by two
//! outputs shows the story in only one of them. The story itself, the same in every output, is
//! published beside it ([`story_id`], `urn:feedsift:{canonical key}`): the extension element
//! `<feedsift:story>` in the [`STORY_NS`] namespace in RSS and Atom (RFC 4287 §6.4 simple
//! extension), `_feedsift.story` in JSON Feed, `story` in `/api/items`.
//!
//! Text: titles and names (item titles, authors, source and output titles) are published as
//! plain text ([`crate::text::plain_text`]) in every format, whatever the store holds: the
//! normaliser stores them plain, and this also covers items stored before it did.

use crate::config::{Filter, OutputConfig};
use crate::model::StoredItem;
use crate::store::{Store, StoreError};
use chrono::{DateTime, Utc};
use serde_json::json;
use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, LazyLock};
use url::Url;

pub mod fragments;
use fragments::{Context, Piece};

/// The end tag RSS items precede (the channel's; `rss` writes items last).
const RSS_ITEMS_END: &str = "</channel>";
/// The end tag Atom entries precede (the feed's; nothing else is written after entries here,
/// as the feed has no extension elements of its own).
const ATOM_ENTRIES_END: &str = "</feed>";
/// The start tag of the element RSS items are in.
const RSS_ITEMS_START: &str = "<channel>";
/// The start of the element Atom entries are in.
const ATOM_ENTRIES_START: &str = "<feed";
/// A channel with nothing in it, to cut one item's text from a channel with only that item.
static EMPTY_RSS: LazyLock<String> = LazyLock::new(|| rss::Channel::default().to_string());
/// A feed with nothing in it (see [`EMPTY_RSS`]).
static EMPTY_ATOM: LazyLock<String> =
    LazyLock::new(|| atom_syndication::Feed::default().to_string());

/// How many stored items a filtered output may examine to fill its limit. Bounds the cost of an
/// output whose filter matches almost nothing.
const SCAN_LIMIT: usize = 20_000;

/// The three formats every output is served in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// RSS 2.0, with `atom:link rel="self"`.
    Rss,
    /// Atom 1.0 (RFC 4287).
    Atom,
    /// JSON Feed 1.1.
    Json,
}

impl Format {
    /// The file extension used in URLs (`/feeds/merged.rss`).
    pub fn extension(self) -> &'static str {
        match self {
            Format::Rss => "rss",
            Format::Atom => "atom",
            Format::Json => "json",
        }
    }

    /// The media type to serve it with.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Rss => "application/rss+xml; charset=utf-8",
            Format::Atom => "application/atom+xml; charset=utf-8",
            Format::Json => "application/feed+json; charset=utf-8",
        }
    }
}

impl FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "rss" => Ok(Format::Rss),
            "atom" => Ok(Format::Atom),
            "json" => Ok(Format::Json),
            _ => Err(format!("unknown format `{s}` (expected rss, atom or json)")),
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.extension())
    }
}

/// Whether `item` passes `filter` (all conditions; empty lists mean "any").
pub fn matches(filter: &Filter, item: &StoredItem) -> bool {
    if !filter.categories.is_empty() && !filter.categories.contains(&item.class.category) {
        return false;
    }
    if !filter.sources.is_empty() && !filter.sources.contains(&item.source.feed_id) {
        return false;
    }
    if item.class.confidence < filter.min_confidence {
        return false;
    }
    if !filter.regions.is_empty() {
        let wanted = filter.regions.iter().flat_map(|r| crate::regions::named(r));
        let hit = wanted.into_iter().any(|area| {
            item.class
                .regions
                .iter()
                .any(|c| crate::regions::within(*c, area))
        });
        if !hit {
            return false;
        }
    }
    if !filter.languages.is_empty() {
        let lang = language_of(item);
        if !filter.languages.contains(&lang) {
            return false;
        }
    }
    if let Some(age) = filter.max_age {
        let oldest = Utc::now() - chrono::Duration::from_std(age).unwrap_or(chrono::Duration::MAX);
        if item.sort_date() < oldest {
            return false;
        }
    }
    if filter.include.is_empty() && filter.exclude.is_empty() {
        return true;
    }
    let text = item.item.plain_text();
    let lower = text.to_lowercase();
    if !filter.include.is_empty() && !filter.include.iter().any(|p| p.matches(&text, &lower)) {
        return false;
    }
    !filter.exclude.iter().any(|p| p.matches(&text, &lower))
}

/// An item's language as a primary subtag (`zh`, `en`, …): the feed's declaration, else a guess
/// from the script of the title (CJK → `zh`, otherwise `en`), since many Chinese feeds declare
/// none.
pub fn language_of(item: &StoredItem) -> String {
    if let Some(l) = &item.item.language {
        let primary = l.split(['-', '_']).next().unwrap_or("").to_lowercase();
        if !primary.is_empty() {
            return primary;
        }
    }
    if item
        .item
        .title
        .chars()
        .any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
    {
        "zh".into()
    } else {
        "en".into()
    }
}

/// The items of an output, newest first, at most `limit` (or the output's own limit).
pub fn select(
    store: &Store,
    output: &OutputConfig,
    extra: &Filter,
    limit: Option<usize>,
    before: Option<[u8; 16]>,
) -> Result<Vec<Arc<StoredItem>>, StoreError> {
    let limit = limit.unwrap_or(output.filter.limit);
    let mut out = Vec::with_capacity(limit.min(256));
    // A category filter reads the category index: a `finance` output never walks past the
    // lifestyle items.
    let candidates: Box<dyn Iterator<Item = Result<Arc<StoredItem>, StoreError>>> =
        match output.filter.categories.as_slice() {
            [] => Box::new(store.newest_first_paged(None, before, limit)),
            cats => Box::new(newest_first_merged(
                cats.iter()
                    .map(|c| {
                        Box::new(store.newest_first_paged(Some(*c), before, limit))
                            as Box<dyn Iterator<Item = _>>
                    })
                    .collect(),
            )),
        };
    for item in candidates.take(SCAN_LIMIT) {
        let item = item?;
        if matches(&output.filter, &item) && matches(extra, &item) {
            out.push(item);
            if out.len() >= limit {
                break;
            }
        }
    }
    Ok(out)
}

/// The other copies of a story, as JSON (JSON Feed `_feedsift.also_at`, `/api/items`).
fn also_at_json(i: &StoredItem) -> Vec<ApiCopy<'_>> {
    i.also_at
        .iter()
        .map(|a| ApiCopy {
            feed_url: &a.source.url,
            id: &a.source.feed_id,
            original_title: plain(&a.title),
            seen: a.seen.to_rfc3339(),
            title: plain(&a.source.title),
            url: a.link.as_deref(),
        })
        .collect()
}

/// A title or name as published: plain text (see the module docs).
fn plain(s: &str) -> Cow<'_, str> {
    crate::text::plain_text(s)
}

/// An item's authors as published: plain names, empty ones dropped.
fn author_names(i: &StoredItem) -> Vec<String> {
    let mut names: Vec<String> = i
        .item
        .authors
        .iter()
        .map(|a| plain(a).into_owned())
        .filter(|a| !a.is_empty())
        .collect();
    names.dedup();
    names
}

/// An item's title as published: the chosen title (see [`StoredItem::display_title`]) as plain
/// text; an item whose title was nothing but markup falls back to its original title, then to
/// its link.
pub fn title_of(i: &StoredItem, clean_titles: bool) -> Cow<'_, str> {
    let t = plain(i.display_title(clean_titles));
    if !t.is_empty() {
        return t;
    }
    let original = plain(&i.item.title);
    if !original.is_empty() {
        return original;
    }
    Cow::Owned(i.item.link.clone().unwrap_or_else(|| "(untitled)".into()))
}

/// One other copy of a story in the JSON outputs. Fields in alphabetical order, as they have
/// always been written.
#[derive(Debug, serde::Serialize)]
pub struct ApiCopy<'a> {
    feed_url: &'a str,
    id: &'a str,
    original_title: Cow<'a, str>,
    seen: String,
    title: Cow<'a, str>,
    url: Option<&'a str>,
}

/// The feed an item came from, in the JSON API.
#[derive(Debug, serde::Serialize)]
pub struct ApiSource<'a> {
    feed_url: &'a str,
    id: &'a str,
    title: Cow<'a, str>,
}

/// An item as `GET /api/items` returns it: every field, every source that carried it. A typed
/// struct that borrows from the stored item, serialised directly: paging writes thousands of
/// these per request, and building a `serde_json::Value` map per item first cost a quarter of
/// the request's time. Fields in alphabetical order, as they have always been written.
///
/// `id` and `story` are both the story's id ([`story_id`]): this API lists the store's
/// stories, not one output's entries; `story` is the field that joins them to the outputs'
/// `_feedsift.story` / `<feedsift:story>`.
#[derive(Debug, serde::Serialize)]
pub struct ApiItem<'a> {
    also_at: Vec<ApiCopy<'a>>,
    authors: Vec<String>,
    category: crate::model::Category,
    changed: Option<String>,
    confidence: f64,
    content: Option<&'a str>,
    cursor: String,
    first_seen: String,
    id: String,
    language: Option<&'a str>,
    link: Option<&'a str>,
    original_title: Cow<'a, str>,
    published: Option<String>,
    regions: Vec<String>,
    runner_up: Option<crate::model::Category>,
    source: ApiSource<'a>,
    story: String,
    summary: Option<&'a str>,
    tags: &'a [String],
    title: Cow<'a, str>,
    updated: Option<String>,
}

/// [`ApiItem`] of `i`.
pub fn api_item(i: &StoredItem, clean_titles: bool) -> ApiItem<'_> {
    ApiItem {
        also_at: also_at_json(i),
        authors: author_names(i),
        category: i.class.category,
        changed: i.changed.map(|d| d.to_rfc3339()),
        confidence: (f64::from(i.class.confidence) * 10_000.0).round() / 10_000.0,
        content: i.item.content.as_deref(),
        cursor: format!("c{:x}", i.seq),
        first_seen: i.first_seen.to_rfc3339(),
        id: story_id(i),
        language: i.item.language.as_deref(),
        link: i.item.link.as_deref(),
        original_title: plain(&i.item.title),
        published: i.item.published.map(|d| d.to_rfc3339()),
        regions: region_names(i),
        runner_up: i.class.runner_up,
        source: ApiSource {
            feed_url: &i.source.url,
            id: &i.source.feed_id,
            title: plain(&i.source.title),
        },
        story: story_id(i),
        summary: i.item.summary.as_deref(),
        tags: &i.item.tags,
        title: title_of(i, clean_titles),
        updated: i.item.updated.map(|d| d.to_rfc3339()),
    }
}

/// Why ad-hoc filter query parameters were refused; the text names the parameter and says
/// what is accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    /// `category=` names no category.
    #[error("`category={value}`: {reason}")]
    Category {
        /// The value given.
        value: String,
        /// Why it is not a category.
        reason: String,
    },
    /// `region=` names no known region.
    #[error("`region={0}`: unknown region (use a province, city or county, e.g. 四川, 成都)")]
    Region(String),
    /// `q=` or `exclude=` is not a valid pattern.
    #[error("`{param}`: {reason}")]
    Pattern {
        /// `q` or `exclude`.
        param: &'static str,
        /// Why the pattern is invalid.
        reason: String,
    },
    /// `max_age=` is not an age.
    #[error("`max_age`: {0}")]
    MaxAge(String),
    /// `min_confidence=` is not a number from 0 to 1.
    #[error("`min_confidence={0}`: expected a number from 0 to 1")]
    MinConfidence(String),
    /// `limit=` is not a number from 1 to [`crate::config::MAX_LIMIT`].
    #[error("`limit={0}`: expected a number from 1 to {max}", max = crate::config::MAX_LIMIT)]
    Limit(String),
    /// A parameter this endpoint does not take.
    #[error("unknown query parameter `{name}` (supported: category, source, region, language, q, exclude, max_age, min_confidence, limit{})", .also.iter().map(|i| format!(", {i}")).collect::<String>())]
    Unknown {
        /// The parameter given.
        name: String,
        /// The endpoint's own parameters, beyond the filter's.
        also: Vec<String>,
    },
}

/// Parses ad-hoc filter query parameters (`?category=finance&region=四川&q=锂电池&limit=20`):
/// `category`, `source`, `region`, `q` (keyword to include), `exclude`, `min_confidence` and
/// `limit`; lists may repeat the parameter or separate values by commas. Everything else, and
/// any malformed value, is an error naming it, so a typo is never silently ignored.
pub fn parse_query(
    params: &[(String, String)],
    ignore: &[&str],
) -> Result<(Filter, Option<usize>), QueryError> {
    let mut f = Filter::default();
    let mut limit = None;
    let list = |v: &str| -> Vec<String> {
        v.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect()
    };
    let pattern = |param: &'static str, p: &str| {
        crate::config::Pattern::parse(p).map_err(|reason| QueryError::Pattern { param, reason })
    };
    for (k, v) in params {
        match k.as_str() {
            "category" => {
                for c in list(v) {
                    f.categories
                        .push(c.parse().map_err(|reason| QueryError::Category {
                            value: c.clone(),
                            reason,
                        })?);
                }
            }
            "source" => f.sources.extend(list(v)),
            "region" => {
                for r in list(v) {
                    if crate::regions::named(&r).is_empty() {
                        return Err(QueryError::Region(r));
                    }
                    f.regions.push(r);
                }
            }
            "q" => {
                for p in list(v) {
                    f.include.push(pattern("q", &p)?);
                }
            }
            "exclude" => {
                for p in list(v) {
                    f.exclude.push(pattern("exclude", &p)?);
                }
            }
            "language" => f
                .languages
                .extend(list(v).into_iter().map(|l| l.to_lowercase())),
            "max_age" => f.max_age = Some(crate::config::parse_age(v).map_err(QueryError::MaxAge)?),
            "min_confidence" => match v.parse::<f32>() {
                Ok(c) if (0.0..=1.0).contains(&c) => f.min_confidence = c,
                _ => return Err(QueryError::MinConfidence(v.clone())),
            },
            "limit" => match v.parse::<usize>() {
                Ok(n) if (1..=crate::config::MAX_LIMIT).contains(&n) => limit = Some(n),
                _ => return Err(QueryError::Limit(v.clone())),
            },
            k if ignore.contains(&k) => {}
            _ => {
                return Err(QueryError::Unknown {
                    name: k.to_string(),
                    also: ignore.iter().map(|i| i.to_string()).collect(),
                })
            }
        }
    }
    Ok((f, limit))
}

/// Merges several newest-first streams into one newest-first stream.
fn newest_first_merged<'a>(
    streams: Vec<Box<dyn Iterator<Item = Result<Arc<StoredItem>, StoreError>> + 'a>>,
) -> impl Iterator<Item = Result<Arc<StoredItem>, StoreError>> + 'a {
    let mut heads: Vec<_> = streams.into_iter().map(Iterator::peekable).collect();
    std::iter::from_fn(move || {
        let mut best: Option<(usize, (chrono::DateTime<chrono::Utc>, u64))> = None;
        for (n, head) in heads.iter_mut().enumerate() {
            let key = match head.peek() {
                Some(Err(_)) => return head.next(),
                Some(Ok(item)) => (item.sort_date(), item.seq),
                None => continue,
            };
            if best.is_none_or(|(_, k)| key > k) {
                best = Some((n, key));
            }
        }
        best.and_then(|(n, _)| heads[n].next())
    })
}

/// Where an output is published, for self links.
pub fn feed_url(public_url: &Url, output: &str, format: Format) -> String {
    public_url
        .join(&format!("feeds/{output}.{}", format.extension()))
        .map(|u| u.to_string())
        .unwrap_or_else(|_| format!("{public_url}feeds/{output}.{}", format.extension()))
}

/// Renders items as a document in `format`. Deterministic: see the module docs.
pub fn render(
    format: Format,
    output: &OutputConfig,
    items: &[Arc<StoredItem>],
    public_url: &Url,
    clean_titles: bool,
) -> String {
    render_page(
        format,
        output,
        items,
        public_url,
        clean_titles,
        &PageLinks::default(),
    )
}

/// Links between pages of an output (RFC 5005 archive links; JSON Feed `next_url`), the
/// WebSub hub that pushes it, and the date of a page with no items.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageLinks {
    /// The `updated` (Atom) / `lastBuildDate` (RSS) of a page with no items, which has no item
    /// to date it: the store's latest change ([`store_updated`]). `None`: when this process
    /// started ([`started`]).
    pub empty_updated: Option<DateTime<Utc>>,
    /// The WebSub hub (`rel="hub"`), when one is configured.
    pub hub: Option<String>,
    /// The next page of older items (`prev-archive`), when there may be more.
    pub older: Option<String>,
    /// The newest page (`current`), on an older page.
    pub current: Option<String>,
}

/// The cursor for `?before=`, pointing just past `item` in newest-first order.
pub fn page_cursor(item: &StoredItem) -> String {
    format!("b{}", crate::model::hex(&crate::store::page_key(item)))
}

/// Reads a `?before=` cursor.
pub fn parse_page_cursor(s: &str) -> Option<[u8; 16]> {
    let h = s.strip_prefix('b')?;
    if h.len() != 32 || !h.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let mut out = [0u8; 16];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(&h[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

/// Like [`render`], with links to other pages.
pub fn render_page(
    format: Format,
    output: &OutputConfig,
    items: &[Arc<StoredItem>],
    public_url: &Url,
    clean_titles: bool,
    links: &PageLinks,
) -> String {
    let r = Render {
        clean_titles,
        links: links.clone(),
    };
    match format {
        Format::Rss => r.rss(output, items, public_url),
        Format::Atom => r.atom(output, items, public_url),
        Format::Json => r.json(output, items, public_url),
    }
}

/// The namespace of feedsift's extension elements in RSS and Atom (`<feedsift:story>`).
pub const STORY_NS: &str = "urn:feedsift:ns:1";

/// The namespace prefix [`STORY_NS`] is declared with.
pub const STORY_PREFIX: &str = "feedsift";

/// The stable public id of an item in the output `output`: unique to that output (readers key
/// items by id across all their feeds) and the same on every render.
pub fn item_id(output: &str, item: &StoredItem) -> String {
    format!("urn:feedsift:{output}:{}", item.key)
}

/// The story an item is, the same in every output: what joins one output's items to
/// another's and to `/api/items`.
pub fn story_id(item: &StoredItem) -> String {
    format!("urn:feedsift:{}", item.key)
}

/// When the output last changed: the newest first-seen or change time among its items.
pub fn last_change(items: &[Arc<StoredItem>]) -> Option<DateTime<Utc>> {
    items
        .iter()
        .map(|i| i.changed.unwrap_or(i.first_seen).max(i.first_seen))
        .max()
}

/// When the store last changed, as far as its items say: the first-seen or change time of the
/// item stored last; `None` for a store with no items. The date of an output with no items
/// (a filter nothing matches yet): the same on every request until the store changes, so
/// conditional GET keeps working.
pub fn store_updated(store: &Store) -> Result<Option<DateTime<Utc>>, StoreError> {
    Ok(store
        .newest_inserted()
        .next()
        .transpose()?
        .map(|i| i.changed.unwrap_or(i.first_seen).max(i.first_seen)))
}

/// When this process started serving (first asked; [`crate::server::router`] asks at start):
/// the date of an empty output in a store with no items at all.
pub fn started() -> DateTime<Utc> {
    static STARTED: std::sync::OnceLock<DateTime<Utc>> = std::sync::OnceLock::new();
    *STARTED.get_or_init(|| {
        // Whole seconds: HTTP dates have no finer resolution, and `Last-Modified` must equal
        // the document's own date.
        let now = Utc::now();
        DateTime::from_timestamp(now.timestamp(), 0).unwrap_or(now)
    })
}

/// The date of a page of `items`: its latest change, or for a page with none
/// [`PageLinks::empty_updated`], else [`started`]. Never the epoch.
pub fn page_updated(items: &[Arc<StoredItem>], links: &PageLinks) -> DateTime<Utc> {
    last_change(items)
        .or(links.empty_updated)
        .unwrap_or_else(started)
}

fn updated_of(i: &StoredItem) -> DateTime<Utc> {
    i.item
        .updated
        .filter(|u| *u <= i.changed.unwrap_or(i.first_seen).max(i.first_seen))
        .or(i.changed)
        .unwrap_or_else(|| i.sort_date())
        .max(i.sort_date())
}

/// Rendering options shared by the three formats.
struct Render {
    /// Publish the decoration-free title.
    clean_titles: bool,
    /// Links to other pages.
    links: PageLinks,
}

impl Render {
    /// (rel, href) of the paging links, RFC 5005 §4.
    fn page_rels(&self) -> Vec<(&'static str, String)> {
        let mut v = Vec::new();
        if let Some(h) = &self.links.hub {
            v.push(("hub", h.clone()));
        }
        if let Some(o) = &self.links.older {
            v.push(("prev-archive", o.clone()));
        }
        if let Some(c) = &self.links.current {
            v.push(("current", c.clone()));
        }
        v
    }
}

/// The authors of an Atom entry: the item's, else its source feed's title, else the output's
/// title (`output_title`), else "feedsift" — never none (RFC 4287 §4.1.1).
fn entry_authors(i: &StoredItem, output_title: &str) -> Vec<String> {
    let names = author_names(i);
    if !names.is_empty() {
        return names;
    }
    let fallback = [plain(&i.source.title), Cow::Borrowed(output_title)]
        .into_iter()
        .find(|n| !n.is_empty())
        .map_or_else(|| "feedsift".to_string(), Cow::into_owned);
    vec![fallback]
}

/// "Also at" links for a merged story, as an HTML paragraph appended to its summary, so every
/// reader shows where else the story ran.
fn also_at_html(i: &StoredItem) -> Option<String> {
    let links: Vec<String> = i
        .also_at
        .iter()
        .filter_map(|a| {
            let href = a.link.as_deref()?;
            Some(format!(
                "<a href=\"{}\">{}</a>",
                crate::text::escape_html(href),
                crate::text::escape_html(&plain(&a.source.title))
            ))
        })
        .collect();
    (!links.is_empty()).then(|| format!("<p>Also at: {}</p>", links.join(" · ")))
}

/// The names of the regions an item is tagged with (provinces, cities, counties).
fn region_names(i: &StoredItem) -> Vec<String> {
    i.class
        .regions
        .iter()
        .filter_map(|c| crate::regions::by_code(*c))
        .map(|r| r.name.clone())
        .collect()
}

/// The summary with the "also at" paragraph appended.
fn summary_with_also_at(i: &StoredItem, summary: Option<&String>) -> Option<String> {
    match (summary, also_at_html(i)) {
        (Some(s), Some(a)) => Some(format!("{s}{a}")),
        (Some(s), None) => Some(s.clone()),
        (None, a) => a,
    }
}

impl Render {
    fn rss(&self, output: &OutputConfig, items: &[Arc<StoredItem>], public_url: &Url) -> String {
        let channel = self.rss_channel(output, items, public_url);
        self.rss_in_pieces(&channel, output, items)
            .unwrap_or_else(|| self.rss_whole(channel, output, items))
    }

    /// The channel of a page of `items`, without them.
    fn rss_channel(
        &self,
        output: &OutputConfig,
        items: &[Arc<StoredItem>],
        public_url: &Url,
    ) -> rss::Channel {
        use rss::extension::atom::{AtomExtension, Link};
        let self_link = Link {
            href: feed_url(public_url, &output.name, Format::Rss),
            rel: "self".into(),
            mime_type: Some("application/rss+xml".into()),
            ..Default::default()
        };
        rss::Channel {
            title: plain(&output.title).into_owned(),
            link: public_url.to_string(),
            description: output.description.clone(),
            generator: Some(format!("feedsift {}", env!("CARGO_PKG_VERSION"))),
            last_build_date: Some(page_updated(items, &self.links).to_rfc2822()),
            namespaces: [(STORY_PREFIX.to_string(), STORY_NS.to_string())].into(),
            ttl: Some("15".into()),
            atom_ext: Some(AtomExtension {
                links: std::iter::once(self_link)
                    .chain(self.page_rels().into_iter().map(|(rel, href)| Link {
                        href,
                        rel: rel.into(),
                        mime_type: Some("application/rss+xml".into()),
                        ..Default::default()
                    }))
                    .collect(),
            }),
            ..Default::default()
        }
    }

    /// The page, from its items' kept texts ([`fragments`]); `None` if one could not be cut.
    fn rss_in_pieces(
        &self,
        channel: &rss::Channel,
        output: &OutputConfig,
        items: &[Arc<StoredItem>],
    ) -> Option<String> {
        let context = Context::new(Format::Rss, &output.name, &output.title, self.clean_titles);
        let parts = self.parts(&context, items, |i| {
            let one = rss::Channel {
                items: vec![self.rss_item(output, i)],
                ..Default::default()
            };
            // Written into a buffer of about the right size, not grown by doubling.
            let one = one.write_to(Vec::with_capacity(text_size(i))).ok()?;
            let one = String::from_utf8(one).ok()?;
            let (head, text) = fragments::cut(&EMPTY_RSS, RSS_ITEMS_START, RSS_ITEMS_END, &one)?;
            Some(Piece {
                text: text.to_string(),
                namespaces: fragments::declared_namespaces(head),
            })
        })?;
        // `rss` declares the namespaces its items use on the root element: so does the page.
        let mut channel = channel.clone();
        for p in &parts {
            channel.namespaces.extend(p.namespaces.iter().cloned());
        }
        fragments::splice_before_last(&channel.to_string(), RSS_ITEMS_END, &parts)
    }

    /// The page rendered in one piece: the same bytes as [`Render::rss_in_pieces`], slower.
    /// Not reached in service (every item's text is cut from a one-item channel).
    fn rss_whole(
        &self,
        channel: rss::Channel,
        output: &OutputConfig,
        items: &[Arc<StoredItem>],
    ) -> String {
        let size = page_size(items);
        let channel = rss::Channel {
            items: items.iter().map(|i| self.rss_item(output, i)).collect(),
            ..channel
        };
        // As `to_string` would (which gives "" if writing fails), into a buffer of about the
        // right size.
        let bytes = channel
            .write_to(Vec::with_capacity(size))
            .unwrap_or_default();
        String::from_utf8(bytes).unwrap_or_default()
    }

    /// The texts of `items` in `context`, each kept or made by `render` (see
    /// [`fragments`]); `None` if one could not be made, or if an item is held by nobody else.
    ///
    /// A kept text is found again only through the very `Arc` it was made from; an item only
    /// this page holds (PostgreSQL's, which are read afresh every time) will never be asked for
    /// again, and making its text on its own costs more than rendering it with the rest of the
    /// page (`cargo bench --bench publish`: 1.6–1.8 times), so such a page is rendered in one
    /// piece and nothing is kept.
    fn parts(
        &self,
        context: &Context,
        items: &[Arc<StoredItem>],
        render: impl Fn(&StoredItem) -> Option<Piece>,
    ) -> Option<Vec<Arc<Piece>>> {
        if items.iter().any(|i| Arc::strong_count(i) < 2) {
            return None;
        }
        items
            .iter()
            .map(|i| fragments::FRAGMENTS.get_or_render(context, i, || render(i)))
            .collect()
    }

    /// One RSS `<item>` of `i`.
    fn rss_item(&self, output: &OutputConfig, i: &StoredItem) -> rss::Item {
        let (description, content) = match (&i.item.summary, &i.item.content) {
            (Some(s), Some(c)) if s != c => (Some(s.clone()), Some(c.clone())),
            (Some(s), _) => (Some(s.clone()), None),
            (None, Some(c)) => (Some(c.clone()), None),
            (None, None) => (None, None),
        };
        let description = summary_with_also_at(i, description.as_ref());
        let dc = rss::extension::dublincore::DublinCoreExtension {
            creators: author_names(i),
            ..Default::default()
        };
        let story = rss::extension::Extension {
            name: format!("{STORY_PREFIX}:story"),
            value: Some(story_id(i)),
            ..Default::default()
        };
        rss::Item {
            title: Some(title_of(i, self.clean_titles).into_owned()),
            link: i.item.link.clone(),
            description,
            content,
            guid: Some(rss::Guid {
                value: item_id(&output.name, i),
                permalink: false,
            }),
            pub_date: Some(i.sort_date().to_rfc2822()),
            categories: std::iter::once(rss::Category {
                name: i.class.category.as_str().into(),
                domain: Some("urn:feedsift:category".into()),
            })
            .chain(region_names(i).into_iter().map(|r| rss::Category {
                name: r,
                domain: Some("urn:feedsift:region".into()),
            }))
            .collect(),
            source: Some(rss::Source {
                url: i.source.url.clone(),
                title: Some(plain(&i.source.title).into_owned()),
            }),
            dublin_core_ext: (!dc.creators.is_empty()).then_some(dc),
            extensions: [(
                STORY_PREFIX.to_string(),
                [("story".to_string(), vec![story])].into(),
            )]
            .into(),
            ..Default::default()
        }
    }

    fn atom(&self, output: &OutputConfig, items: &[Arc<StoredItem>], public_url: &Url) -> String {
        let feed = self.atom_feed(output, items, public_url);
        self.atom_in_pieces(&feed, output, items)
            .unwrap_or_else(|| self.atom_whole(feed, output, items))
    }

    /// The feed of a page of `items`, without them.
    fn atom_feed(
        &self,
        output: &OutputConfig,
        items: &[Arc<StoredItem>],
        public_url: &Url,
    ) -> atom_syndication::Feed {
        use atom_syndication::{Feed, Link, Text};
        let link = |href: String, rel: &str, mime: Option<&str>| Link {
            href,
            rel: rel.into(),
            mime_type: mime.map(Into::into),
            ..Default::default()
        };
        // RFC 4287 §4.2.15: a feed's `updated` is required; a page with no items is dated by the
        // store (see [`page_updated`]), never the epoch.
        let feed_updated = page_updated(items, &self.links);
        Feed {
            title: Text::plain(plain(&output.title).into_owned()),
            id: format!("urn:feedsift:output:{}", output.name),
            namespaces: [(STORY_PREFIX.to_string(), STORY_NS.to_string())].into(),
            updated: feed_updated.fixed_offset(),
            subtitle: Some(Text::plain(output.description.clone())),
            generator: Some(atom_syndication::Generator {
                value: "feedsift".into(),
                version: Some(env!("CARGO_PKG_VERSION").into()),
                uri: None,
            }),
            links: vec![
                link(
                    feed_url(public_url, &output.name, Format::Atom),
                    "self",
                    Some("application/atom+xml"),
                ),
                link(public_url.to_string(), "alternate", Some("text/html")),
            ]
            .into_iter()
            .chain(
                self.page_rels()
                    .into_iter()
                    .map(|(rel, href)| link(href, rel, Some("application/atom+xml"))),
            )
            .collect(),
            ..Default::default()
        }
    }

    /// The page, from its items' kept texts ([`fragments`]); `None` if one could not be cut.
    fn atom_in_pieces(
        &self,
        feed: &atom_syndication::Feed,
        output: &OutputConfig,
        items: &[Arc<StoredItem>],
    ) -> Option<String> {
        let context = Context::new(Format::Atom, &output.name, &output.title, self.clean_titles);
        let output_title = plain(&output.title);
        let parts = self.parts(&context, items, |i| {
            let one = atom_syndication::Feed {
                entries: vec![self.atom_entry(output, &output_title, i)],
                ..Default::default()
            };
            let one = one.write_to(Vec::with_capacity(text_size(i))).ok()?;
            let one = String::from_utf8(one).ok()?;
            let (_, text) =
                fragments::cut(&EMPTY_ATOM, ATOM_ENTRIES_START, ATOM_ENTRIES_END, &one)?;
            Some(Piece::text(text.to_string()))
        });
        fragments::splice_before_last(&feed.to_string(), ATOM_ENTRIES_END, &parts?)
    }

    /// The page rendered in one piece (see [`Render::rss_whole`]).
    fn atom_whole(
        &self,
        feed: atom_syndication::Feed,
        output: &OutputConfig,
        items: &[Arc<StoredItem>],
    ) -> String {
        let output_title = plain(&output.title);
        let feed = atom_syndication::Feed {
            entries: items
                .iter()
                .map(|i| self.atom_entry(output, &output_title, i))
                .collect(),
            ..feed
        };
        // See `rss_whole`.
        let bytes = feed
            .write_to(Vec::with_capacity(page_size(items)))
            .unwrap_or_default();
        String::from_utf8(bytes).unwrap_or_default()
    }

    /// One Atom `<entry>` of `i` (`output_title`: the output's title as plain text).
    fn atom_entry(
        &self,
        output: &OutputConfig,
        output_title: &str,
        i: &StoredItem,
    ) -> atom_syndication::Entry {
        use atom_syndication::{Category, Content, Entry, Link, Person, Source, Text};
        let link = |href: String, rel: &str, mime: Option<&str>| Link {
            href,
            rel: rel.into(),
            mime_type: mime.map(Into::into),
            ..Default::default()
        };
        let html = |value: &String| Text {
            value: value.clone(),
            r#type: atom_syndication::TextType::Html,
            ..Default::default()
        };
        Entry {
            title: Text::plain(title_of(i, self.clean_titles).into_owned()),
            id: item_id(&output.name, i),
            updated: updated_of(i).fixed_offset(),
            published: Some(i.sort_date().fixed_offset()),
            // RFC 4287 §4.1.1: the feed has no author, so every entry has one: the item's
            // authors, else its source feed, else this output.
            authors: entry_authors(i, output_title)
                .into_iter()
                .map(|name| Person {
                    name,
                    ..Default::default()
                })
                .collect(),
            extensions: [(
                STORY_PREFIX.to_string(),
                [(
                    "story".to_string(),
                    vec![atom_syndication::extension::Extension {
                        name: format!("{STORY_PREFIX}:story"),
                        value: Some(story_id(i)),
                        ..Default::default()
                    }],
                )]
                .into(),
            )]
            .into(),
            // RFC 4287 §4.2.7.2: the story's other copies are `related` links.
            links: i
                .item
                .link
                .iter()
                .map(|l| link(l.clone(), "alternate", Some("text/html")))
                .chain(
                    i.also_at
                        .iter()
                        .filter_map(|a| a.link.clone())
                        .map(|l| link(l, "related", Some("text/html"))),
                )
                .collect(),
            categories: std::iter::once(Category {
                term: i.class.category.as_str().into(),
                scheme: Some("urn:feedsift:category".into()),
                label: None,
            })
            .chain(region_names(i).into_iter().map(|r| Category {
                term: r,
                scheme: Some("urn:feedsift:region".into()),
                label: None,
            }))
            .collect(),
            summary: summary_with_also_at(i, i.item.summary.as_ref())
                .as_ref()
                .map(html),
            content: i.item.content.as_ref().map(|c| Content {
                value: Some(c.clone()),
                content_type: Some("html".into()),
                ..Default::default()
            }),
            source: Some(Source {
                title: Text::plain(plain(&i.source.title).into_owned()),
                id: i.source.url.clone(),
                updated: i.first_seen.fixed_offset(),
                links: vec![link(i.source.url.clone(), "self", None)],
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn json(&self, output: &OutputConfig, items: &[Arc<StoredItem>], public_url: &Url) -> String {
        let doc = self.json_doc(output, public_url);
        self.json_in_pieces(&doc, output, items)
            .unwrap_or_else(|| self.json_whole(doc, output, items))
    }

    /// The document of a page, with `items` empty.
    fn json_doc(&self, output: &OutputConfig, public_url: &Url) -> serde_json::Value {
        let doc = json!({
            "version": "https://jsonfeed.org/version/1.1",
            "title": plain(&output.title),
            "home_page_url": public_url.as_str(),
            "feed_url": feed_url(public_url, &output.name, Format::Json),
            // JSON Feed 1.1 `next_url`: the page of older items.
            "next_url": self.links.older,
            "hubs": self.links.hub.iter().map(|h| json!({"type": "WebSub", "url": h})).collect::<Vec<_>>(),
            "description": output.description,
            "items": [],
        });
        let mut doc = doc;
        if let Some(m) = doc.as_object_mut() {
            if self.links.older.is_none() {
                m.remove("next_url");
            }
            if self.links.hub.is_none() {
                m.remove("hubs");
            }
        }
        doc
    }

    /// The page, from its items' kept texts ([`fragments`]); `None` if one could not be made.
    fn json_in_pieces(
        &self,
        doc: &serde_json::Value,
        output: &OutputConfig,
        items: &[Arc<StoredItem>],
    ) -> Option<String> {
        let context = Context::new(Format::Json, &output.name, &output.title, self.clean_titles);
        let parts = self.parts(&context, items, |i| {
            // An item as it sits in the pretty-printed `items` array: indented two levels.
            let text = serde_json::to_string_pretty(&self.json_item(output, i)).ok()?;
            Some(Piece::text(text.replace('\n', "\n    ")))
        });
        splice_json_items(&serde_json::to_string_pretty(doc).ok()?, &parts?)
    }

    /// The page rendered in one piece (see [`Render::rss_whole`]).
    fn json_whole(
        &self,
        mut doc: serde_json::Value,
        output: &OutputConfig,
        items: &[Arc<StoredItem>],
    ) -> String {
        if let Some(m) = doc.as_object_mut() {
            let all = items.iter().map(|i| self.json_item(output, i)).collect();
            m.insert("items".into(), serde_json::Value::Array(all));
        }
        serde_json::to_string_pretty(&doc).expect("JSON values always serialise")
    }

    /// One JSON Feed item of `i`.
    fn json_item(&self, output: &OutputConfig, i: &StoredItem) -> serde_json::Value {
        let mut obj = json!({
            "id": item_id(&output.name, i),
            "title": title_of(i, self.clean_titles),
            "date_published": i.sort_date().to_rfc3339(),
            "date_modified": updated_of(i).to_rfc3339(),
            "tags": std::iter::once(i.class.category.as_str().to_string()).chain(region_names(i)).collect::<Vec<_>>(),
            "_feedsift": {
                "story": story_id(i),
                "key": i.key,
                "category": i.class.category,
                "confidence": (f64::from(i.class.confidence) * 1000.0).round() / 1000.0,
                "runner_up": i.class.runner_up,
                "regions": i.class.regions.iter().filter_map(|c| crate::regions::by_code(*c)).map(|r| json!({"adcode": r.adcode, "name": r.name})).collect::<Vec<_>>(),
                "first_seen": i.first_seen.to_rfc3339(),
                "source": {"id": i.source.feed_id, "title": plain(&i.source.title), "feed_url": i.source.url},
                "original_title": plain(&i.item.title),
                "also_at": also_at_json(i),
            },
        });
        let m = obj.as_object_mut().expect("object literal");
        if let Some(l) = &i.item.link {
            m.insert("url".into(), json!(l));
        }
        // JSON Feed 1.1 requires content_html or content_text; fall back to the title.
        let html = i.item.content.as_ref().or(i.item.summary.as_ref());
        match html {
            Some(h) => m.insert("content_html".into(), json!(h)),
            None => m.insert("content_text".into(), json!(title_of(i, self.clean_titles))),
        };
        if let (Some(s), Some(_)) = (&i.item.summary, &i.item.content) {
            m.insert("summary".into(), json!(crate::text::html_to_text(s)));
        }
        let authors = author_names(i);
        if !authors.is_empty() {
            let a: Vec<_> = authors.iter().map(|n| json!({"name": n})).collect();
            m.insert("authors".into(), json!(a));
        }
        if let Some(lang) = &i.item.language {
            m.insert("language".into(), json!(lang));
        }
        obj
    }
}

/// About how many bytes an item's text takes in a document: its own texts, escaped now and
/// then, and the elements around them (also what a kept text's item is weighed at,
/// [`fragments`]).
fn text_size(i: &StoredItem) -> usize {
    let texts = [
        Some(&i.item.title),
        i.item.link.as_ref(),
        i.item.summary.as_ref(),
        i.item.content.as_ref(),
    ]
    .into_iter()
    .flatten()
    .map(String::len)
    .sum::<usize>();
    texts + texts / 8 + 1024
}

/// About how many bytes a page of `items` takes ([`text_size`] each, and the page's head).
fn page_size(items: &[Arc<StoredItem>]) -> usize {
    items.iter().map(|i| text_size(i)).sum::<usize>() + 2048
}

/// `document` (a pretty-printed JSON Feed whose `items` is `[]`) with `parts` (items, each
/// pretty-printed and indented two levels) in its `items`; `None` if it has no `items` key at
/// the top level. A raw line break in serde_json's output is always formatting (inside strings
/// it is written `\n`), so the key is found by its line.
fn splice_json_items(document: &str, parts: &[Arc<Piece>]) -> Option<String> {
    const EMPTY: &str = "\n  \"items\": []";
    if parts.is_empty() {
        return Some(document.to_string());
    }
    let at = document.find(EMPTY)?;
    let mut out = String::with_capacity(
        document.len() + parts.iter().map(|p| p.text.len() + 6).sum::<usize>(),
    );
    out.push_str(&document[..at]);
    out.push_str("\n  \"items\": [");
    for (n, p) in parts.iter().enumerate() {
        out.push_str(if n == 0 { "\n    " } else { ",\n    " });
        out.push_str(&p.text);
    }
    out.push_str("\n  ]");
    out.push_str(&document[at + EMPTY.len()..]);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{AlsoAt, Category, Classification, Item, SourceRef};
    use chrono::TimeZone;

    pub(super) fn stored(title: &str, cat: Category, feed: &str) -> StoredItem {
        let item = Item {
            link: Some("https://e.com/a".into()),
            summary: Some("<p>s &amp; t</p>".into()),
            published: Some(Utc.with_ymd_and_hms(2024, 1, 2, 3, 4, 5).unwrap()),
            authors: vec!["Ann".into()],
            language: Some("zh-CN".into()),
            ..Item::titled(feed, title)
        };
        StoredItem {
            key: format!("k{title}"),
            seq: 1,
            first_seen: Utc.with_ymd_and_hms(2024, 1, 3, 0, 0, 0).unwrap(),
            changed: None,
            digest: item.content_digest(),
            source: SourceRef {
                feed_id: feed.into(),
                title: "Src".into(),
                url: "https://e.com/feed".into(),
            },
            item,
            class: Classification {
                category: cat,
                confidence: 0.8,
                runner_up: None,
                regions: vec![],
            },
            clean_title: title.into(),
            core: String::new(),
            also_at: vec![],
            link_alias: None,
            near: vec![],
        }
    }

    fn output() -> OutputConfig {
        OutputConfig {
            name: "money".into(),
            title: "Money".into(),
            description: "d".into(),
            filter: Filter::default(),
        }
    }

    /// Items unlike each other in every part a rendering has: copies, authors, regions,
    /// markup in titles, summary and content, no link, a language, a change.
    fn varied() -> Vec<Arc<StoredItem>> {
        let mut v = Vec::new();
        let mut a = stored("每日焦点!成都<b>发布</b>", Category::RegionalPolitics, "a");
        a.clean_title = "成都发布".into();
        a.class.regions = vec![510_000_000_000, 510_100_000_000];
        a.item.content = Some("<p>正文 &amp; <a href=\"https://e.com/x\">链接</a></p>".into());
        a.also_at.push(AlsoAt {
            source: SourceRef {
                feed_id: "b".into(),
                title: "B <i>site</i>".into(),
                url: "https://b.com/feed".into(),
            },
            link: Some("https://b.com/1?x=1&y=2".into()),
            title: "成都发布|环球快资讯".into(),
            key: Some("other".into()),
            seen: Utc.with_ymd_and_hms(2024, 1, 4, 0, 0, 0).unwrap(),
        });
        v.push(a);
        let mut b = stored("Markets & \"quotes\" <today>", Category::Finance, "b");
        b.key = "kb".into();
        b.item.link = None;
        b.item.authors = vec!["A".into(), "B & C".into(), String::new()];
        b.item.summary = None;
        b.item.language = None;
        b.changed = Some(Utc.with_ymd_and_hms(2024, 1, 5, 0, 0, 0).unwrap());
        v.push(b);
        let mut c = stored("<b></b>", Category::Lifestyle, "c");
        c.key = "kc".into();
        c.item.authors.clear();
        c.item.content = c.item.summary.clone();
        c.source.title = String::new();
        v.push(c);
        for (n, i) in v.iter_mut().enumerate() {
            i.seq = 100 + n as u64;
        }
        v.into_iter().map(Arc::new).collect()
    }

    #[test]
    fn a_document_in_pieces_is_the_document_in_one_piece() {
        let base = Url::parse("http://h/sub/").unwrap();
        let links = PageLinks {
            empty_updated: None,
            hub: Some("https://hub.example/".into()),
            older: Some("http://h/sub/feeds/money.rss?before=b00".into()),
            current: Some("http://h/sub/feeds/money.rss".into()),
        };
        let items = varied();
        // Held elsewhere too, as the embedded store's cache holds what it decoded: only such
        // items' texts are kept.
        let held = items.clone();
        for format in [Format::Rss, Format::Atom, Format::Json] {
            for clean_titles in [true, false] {
                for (links, items) in [
                    (&links, &items[..]),
                    (&PageLinks::default(), &items[..1]),
                    (&PageLinks::default(), &[][..]),
                ] {
                    let r = Render {
                        clean_titles,
                        links: links.clone(),
                    };
                    let o = output();
                    let (whole, in_pieces): (String, Option<String>) = match format {
                        Format::Rss => {
                            let c = r.rss_channel(&o, items, &base);
                            (
                                r.rss_whole(c.clone(), &o, items),
                                r.rss_in_pieces(&c, &o, items),
                            )
                        }
                        Format::Atom => {
                            let f = r.atom_feed(&o, items, &base);
                            (
                                r.atom_whole(f.clone(), &o, items),
                                r.atom_in_pieces(&f, &o, items),
                            )
                        }
                        Format::Json => {
                            let d = r.json_doc(&o, &base);
                            (
                                r.json_whole(d.clone(), &o, items),
                                r.json_in_pieces(&d, &o, items),
                            )
                        }
                    };
                    let what = format!("{format}, clean {clean_titles}, {} items", items.len());
                    // Rendered (texts kept), then from the kept texts.
                    assert_eq!(in_pieces.as_deref(), Some(whole.as_str()), "{what}");
                    let again = match format {
                        Format::Rss => r.rss_in_pieces(&r.rss_channel(&o, items, &base), &o, items),
                        Format::Atom => r.atom_in_pieces(&r.atom_feed(&o, items, &base), &o, items),
                        Format::Json => r.json_in_pieces(&r.json_doc(&o, &base), &o, items),
                    };
                    assert_eq!(again.as_deref(), Some(whole.as_str()), "{what}, kept");
                    // The public entry point is the same too.
                    assert_eq!(
                        render_page(format, &output(), items, &base, clean_titles, links),
                        whole,
                        "{what}"
                    );
                }
            }
        }
        // Items nobody else holds are rendered in one piece (nothing kept could be found again).
        drop(held);
        let unshared: Vec<_> = items.iter().map(|i| Arc::new((**i).clone())).collect();
        let r = Render {
            clean_titles: true,
            links: PageLinks::default(),
        };
        let c = r.rss_channel(&output(), &unshared, &base);
        assert_eq!(r.rss_in_pieces(&c, &output(), &unshared), None);
        assert_eq!(
            render(Format::Rss, &output(), &unshared, &base, true),
            r.rss_whole(c, &output(), &unshared)
        );
        // An item edited in the store (a new `Arc`, same sequence number) is rendered anew.
        let mut edited = (*items[0]).clone();
        edited.item.title = "改过的标题".into();
        edited.clean_title = "改过的标题".into();
        let doc = render(Format::Rss, &output(), &[Arc::new(edited)], &base, true);
        assert!(doc.contains("改过的标题"), "{doc}");
    }

    #[test]
    fn filters() {
        let it = stored("北向资金增持", Category::Finance, "a");
        let f = |categories: Vec<Category>,
                 sources: Vec<&str>,
                 include: Vec<&str>,
                 exclude: Vec<&str>| Filter {
            categories,
            sources: sources.into_iter().map(Into::into).collect(),
            include: include
                .into_iter()
                .map(|p| crate::config::Pattern::parse(p).unwrap())
                .collect(),
            exclude: exclude
                .into_iter()
                .map(|p| crate::config::Pattern::parse(p).unwrap())
                .collect(),
            limit: 10,
            ..Filter::default()
        };
        let lang = |l: &[&str]| Filter {
            languages: l.iter().map(|s| s.to_string()).collect(),
            ..Filter::default()
        };
        assert!(
            matches(&lang(&["zh"]), &it) && !matches(&lang(&["en"]), &it),
            "declared zh-CN"
        );
        let mut untagged = it.clone();
        untagged.item.language = None;
        assert!(
            matches(&lang(&["zh"]), &untagged),
            "guessed from the script"
        );
        let aged = |s: &str| Filter {
            max_age: Some(crate::config::parse_age(s).unwrap()),
            ..Filter::default()
        };
        assert!(!matches(&aged("7d"), &it), "published in 2024");
        let mut fresh = it.clone();
        fresh.item.published = Some(Utc::now() - chrono::Duration::hours(2));
        fresh.first_seen = Utc::now();
        assert!(matches(&aged("3h"), &fresh) && !matches(&aged("1h"), &fresh));
        let region = |names: &[&str]| Filter {
            regions: names.iter().map(|s| s.to_string()).collect(),
            ..Filter::default()
        };
        let confident = |c: f32| Filter {
            min_confidence: c,
            ..Filter::default()
        };
        let mut sichuan = it.clone();
        sichuan.class.regions = crate::regions::tag("成都市武侯区开展调解");
        assert!(matches(&region(&["四川"]), &sichuan));
        assert!(matches(&region(&["重庆", "成都"]), &sichuan));
        assert!(!matches(&region(&["重庆"]), &sichuan));
        assert!(
            !matches(&region(&["四川"]), &it),
            "an item naming no region"
        );
        assert!(matches(&confident(0.8), &it) && !matches(&confident(0.9), &it));
        let cases = [
            (f(vec![], vec![], vec![], vec![]), true),
            (f(vec![Category::Finance], vec![], vec![], vec![]), true),
            (f(vec![Category::Lifestyle], vec![], vec![], vec![]), false),
            (f(vec![], vec!["a"], vec![], vec![]), true),
            (f(vec![], vec!["b"], vec![], vec![]), false),
            (f(vec![], vec![], vec!["资金"], vec![]), true),
            (f(vec![], vec![], vec!["S & T"], vec![]), true),
            (f(vec![], vec![], vec!["锂电池"], vec![]), false),
            (f(vec![], vec![], vec![], vec!["增持"]), false),
            // Markup is not text: `<p>` does not match.
            (f(vec![], vec![], vec!["<p>"], vec![]), false),
            // Regular expressions between slashes.
            (f(vec![], vec![], vec!["/增持\\d*|减持/"], vec![]), true),
            (f(vec![], vec![], vec!["/^北向/"], vec![]), true),
            (f(vec![], vec![], vec![], vec!["/资金$/"]), true),
        ];
        for (i, (filter, want)) in cases.iter().enumerate() {
            assert_eq!(matches(filter, &it), *want, "case {i}: {filter:?}");
        }
    }

    #[test]
    fn renders_parse_back_with_feed_rs() {
        let items = vec![
            Arc::new(stored("One", Category::Finance, "a")),
            Arc::new(stored("Two", Category::Other, "b")),
        ];
        let base = Url::parse("http://127.0.0.1:8080/").unwrap();
        for format in [Format::Rss, Format::Atom, Format::Json] {
            let doc = render(format, &output(), &items, &base, true);
            let parsed = feed_rs::parser::parse(doc.as_bytes())
                .unwrap_or_else(|e| panic!("{format}: {e}\n{doc}"));
            assert_eq!(parsed.entries.len(), 2, "{format}");
            assert_eq!(parsed.entries[0].id, "urn:feedsift:money:kOne", "{format}");
            assert_eq!(parsed.entries[0].title.as_ref().unwrap().content, "One");
            assert!(parsed.entries[0].published.is_some(), "{format}");
            // Deterministic.
            assert_eq!(doc, render(format, &output(), &items, &base, true));
        }
        let rss = render(Format::Rss, &output(), &items, &base, true);
        assert!(
            rss.contains(r#"<atom:link href="http://127.0.0.1:8080/feeds/money.rss" rel="self""#),
            "{rss}"
        );
        assert!(rss.contains(r#"<source url="https://e.com/feed">Src</source>"#));
        assert!(rss.contains(r#"<category domain="urn:feedsift:category">finance</category>"#));
        assert!(rss.contains(r#"<guid isPermaLink="false">urn:feedsift:money:kOne</guid>"#));
        assert!(
            rss.contains(r#"xmlns:feedsift="urn:feedsift:ns:1""#),
            "{rss}"
        );
        assert!(rss.contains("<feedsift:story>urn:feedsift:kOne</feedsift:story>"));
    }

    #[test]
    fn required_elements_of_each_format() {
        let items = vec![Arc::new(stored("One", Category::Finance, "a"))];
        let base = Url::parse("http://h.example/").unwrap();
        // RSS 2.0: channel title, link, description; atom:link rel=self (RSS Best Practices).
        let rss =
            rss::Channel::read_from(render(Format::Rss, &output(), &items, &base, true).as_bytes())
                .unwrap();
        assert_eq!(
            (rss.title(), rss.link(), rss.description()),
            ("Money", "http://h.example/", "d")
        );
        let selfs: Vec<_> = rss
            .atom_ext()
            .unwrap()
            .links()
            .iter()
            .filter(|l| l.rel() == "self")
            .collect();
        assert_eq!(selfs[0].href(), "http://h.example/feeds/money.rss");
        assert!(rss.items()[0].guid().is_some() && rss.items()[0].pub_date().is_some());
        // Atom (RFC 4287 §4.1.1): id, title, updated; entries with id, title, updated.
        let atom: atom_syndication::Feed = render(Format::Atom, &output(), &items, &base, true)
            .parse()
            .unwrap();
        assert_eq!(atom.id(), "urn:feedsift:output:money");
        assert!(atom.links().iter().any(|l| l.rel() == "self"));
        assert_eq!(atom.entries()[0].id(), "urn:feedsift:money:kOne");
        assert!(atom.updated().timestamp() > 0);
        // JSON Feed 1.1: version, title, items[].id.
        let json: serde_json::Value =
            serde_json::from_str(&render(Format::Json, &output(), &items, &base, true)).unwrap();
        assert_eq!(json["version"], "https://jsonfeed.org/version/1.1");
        assert_eq!(json["title"], "Money");
        assert_eq!(json["items"][0]["id"], "urn:feedsift:money:kOne");
        assert_eq!(json["items"][0]["_feedsift"]["story"], "urn:feedsift:kOne");
        assert!(json["items"][0]["content_html"].is_string());
    }

    #[test]
    fn empty_output_is_still_valid() {
        let base = Url::parse("http://h/").unwrap();
        for format in [Format::Rss, Format::Atom, Format::Json] {
            let doc = render(format, &output(), &[], &base, true);
            assert!(
                feed_rs::parser::parse(doc.as_bytes()).is_ok(),
                "{format}: {doc}"
            );
        }
    }

    #[test]
    fn items_stored_with_markup_in_titles_and_names_are_published_as_plain_text() {
        // An item stored before the normaliser made titles plain.
        let mut it = stored(
            "Title <img src=x onerror=alert(1)> here",
            Category::Finance,
            "a",
        );
        it.key = "k1".into();
        it.item.authors = vec!["a<script>b".into(), "  Bob  <i>the</i> builder ".into()];
        it.source.title = "Src &lt;b&gt;x&lt;/b&gt;".into();
        let mut nothing_but_markup = stored("<b></b>", Category::Finance, "b");
        nothing_but_markup.key = "k2".into();
        nothing_but_markup.item.authors.clear();
        let base = Url::parse("http://h/").unwrap();
        let items = [Arc::new(it), Arc::new(nothing_but_markup)];
        for format in [Format::Rss, Format::Atom, Format::Json] {
            let doc = render(format, &output(), &items, &base, true);
            assert!(
                !doc.contains("onerror") && !doc.contains("<script") && !doc.contains("&lt;script"),
                "{format}: {doc}"
            );
            let parsed = feed_rs::parser::parse(doc.as_bytes()).unwrap();
            let titles: Vec<_> = parsed
                .entries
                .iter()
                .map(|e| e.title.as_ref().unwrap().content.as_str())
                .collect();
            assert_eq!(titles, ["Title here", "https://e.com/a"], "{format}");
            if format != Format::Rss {
                let names: Vec<_> = parsed.entries[0]
                    .authors
                    .iter()
                    .map(|p| p.name.as_deref().unwrap())
                    .collect();
                assert_eq!(names, ["a", "Bob the builder"], "{format}");
            }
        }
        let atom: atom_syndication::Feed = render(Format::Atom, &output(), &items, &base, true)
            .parse()
            .unwrap();
        assert_eq!(
            atom.entries()[0].source().unwrap().title().as_str(),
            "Src x"
        );
        assert_eq!(
            atom.entries()[1].authors()[0].name(),
            "Src",
            "its source credited"
        );
        let api = serde_json::to_value(api_item(&items[0], true)).unwrap();
        assert_eq!(
            (
                &api["title"],
                &api["original_title"],
                &api["source"]["title"]
            ),
            (&json!("Title here"), &json!("Title here"), &json!("Src x"))
        );
        assert_eq!(api["authors"], json!(["a", "Bob the builder"]));
        assert_eq!(api["story"], "urn:feedsift:k1");
    }

    #[test]
    fn clean_titles_and_also_at_links() {
        let mut it = stored("每日焦点!巴西龟的饲养方法", Category::Lifestyle, "a");
        it.clean_title = "巴西龟的饲养方法".into();
        it.also_at.push(crate::model::AlsoAt {
            source: SourceRef {
                feed_id: "b".into(),
                title: "Farm B".into(),
                url: "https://b.example/feed".into(),
            },
            link: Some("https://b.example/p/1?x=1&y=2".into()),
            title: "巴西龟的饲养方法|环球快资讯".into(),
            key: Some("k2".into()),
            seen: Utc.with_ymd_and_hms(2024, 1, 4, 0, 0, 0).unwrap(),
        });
        let base = Url::parse("http://h/").unwrap();
        let items = [Arc::new(it)];
        for format in [Format::Rss, Format::Atom, Format::Json] {
            let doc = render(format, &output(), &items, &base, true);
            let parsed = feed_rs::parser::parse(doc.as_bytes()).unwrap();
            assert_eq!(
                parsed.entries[0].title.as_ref().unwrap().content,
                "巴西龟的饲养方法",
                "{format}"
            );
            assert!(
                doc.contains("https://b.example/p/1?x=1&amp;y=2")
                    || doc.contains("https://b.example/p/1?x=1&y=2"),
                "{format}: {doc}"
            );
            let raw = render(format, &output(), &items, &base, false);
            let parsed = feed_rs::parser::parse(raw.as_bytes()).unwrap();
            assert_eq!(
                parsed.entries[0].title.as_ref().unwrap().content,
                "每日焦点!巴西龟的饲养方法",
                "{format}"
            );
        }
        let atom = render(Format::Atom, &output(), &items, &base, true);
        assert!(atom.contains(r#"rel="related""#), "{atom}");
        let json: serde_json::Value =
            serde_json::from_str(&render(Format::Json, &output(), &items, &base, true)).unwrap();
        assert_eq!(json["items"][0]["_feedsift"]["also_at"][0]["id"], "b");
        assert_eq!(
            json["items"][0]["_feedsift"]["original_title"],
            "每日焦点!巴西龟的饲养方法"
        );
    }
}
