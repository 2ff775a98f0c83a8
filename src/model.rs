//! The plain data types that cross stage boundaries.
//!
//! Every stage talks through these and nothing else: the normaliser produces [`Item`]s, the store
//! keeps them as [`StoredItem`]s together with their [`Classification`], and the scheduler and
//! fetcher share a [`FeedState`] per feed. Keeping them here, defined once, is what lets a stage be
//! rewritten without touching its neighbours.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// One entry of a source feed, normalised: decoded, sanitised, URLs absolute.
///
/// It carries no feedsift identity yet: the canonical key is the deduplicator's business, so the
/// normaliser cannot get it wrong.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Item {
    /// The configured id of the feed this entry came from (`[[feed]] id`).
    pub feed_id: String,
    /// The source's own identifier (RSS `guid`, Atom `id`, JSON Feed `id`), if it gave one.
    /// `None` when the source gave none: feed-rs would invent a random one, which is useless for
    /// identity.
    pub guid: Option<String>,
    /// Plain-text title, entities decoded and whitespace collapsed.
    pub title: String,
    /// Absolute link to the story, if any.
    pub link: Option<String>,
    /// Sanitised HTML summary.
    pub summary: Option<String>,
    /// Sanitised HTML full content.
    pub content: Option<String>,
    /// When the source says the story was published.
    pub published: Option<DateTime<Utc>>,
    /// When the source says the story was last updated.
    pub updated: Option<DateTime<Utc>>,
    /// Author names.
    pub authors: Vec<String>,
    /// The source's own category terms (not feedsift's classification).
    pub tags: Vec<String>,
    /// BCP 47 language tag from the entry or its feed, if known.
    pub language: Option<String>,
}

impl Item {
    /// An entry with only a feed and a title; the rest empty (for classifying bare titles,
    /// evaluation data and tests).
    pub fn titled(feed_id: &str, title: &str) -> Item {
        Item {
            feed_id: feed_id.to_string(),
            guid: None,
            title: title.to_string(),
            link: None,
            summary: None,
            content: None,
            published: None,
            updated: None,
            authors: Vec::new(),
            tags: Vec::new(),
            language: None,
        }
    }

    /// A short digest of what a reader would see, so that a re-polled entry whose text changed is
    /// recognised as an update rather than a duplicate.
    pub fn content_digest(&self) -> String {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        for part in [
            Some(self.title.as_str()),
            self.link.as_deref(),
            self.summary.as_deref(),
            self.content.as_deref(),
        ] {
            h.update(part.unwrap_or("").as_bytes());
            h.update([0u8]);
        }
        hex(&h.finalize()[..12])
    }

    /// The title, summary and content as one string of plain text, for classifiers and keyword
    /// filters that must not match inside HTML markup.
    pub fn plain_text(&self) -> String {
        let mut s = self.title.clone();
        for html in [&self.summary, &self.content].into_iter().flatten() {
            s.push('\n');
            s.push_str(&crate::text::html_to_text(html));
        }
        s
    }
}

/// Where a source feed lives, as the publisher names it (for `<source>` in RSS, `source` in Atom).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SourceRef {
    /// The configured feed id.
    pub feed_id: String,
    /// Human title: the configured one, else the feed's own.
    pub title: String,
    /// The feed URL that was polled.
    pub url: String,
}

/// The four labels subscribers filter on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// Chinese domestic government, party and policy affairs.
    RegionalPolitics,
    /// Markets, companies, banking, macro-economy.
    Finance,
    /// Food, pets, home, travel, health tips, everyday how-to.
    Lifestyle,
    /// Everything else.
    Other,
}

impl Category {
    /// All labels, in a stable order (used for scoring ties and for listing).
    pub const ALL: [Category; 4] = [
        Category::RegionalPolitics,
        Category::Finance,
        Category::Lifestyle,
        Category::Other,
    ];

    /// The label as written in `feeds.toml`, URLs and published feeds.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::RegionalPolitics => "regional_politics",
            Category::Finance => "finance",
            Category::Lifestyle => "lifestyle",
            Category::Other => "other",
        }
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Category {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Category::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "unknown category `{s}` (expected one of: regional_politics, finance, lifestyle, other)"
                )
            })
    }
}

/// What the categorizer says about an item: one label, how sure it is, and what came second.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Classification {
    /// The chosen label.
    pub category: Category,
    /// Confidence in `[0, 1]`.
    pub confidence: f32,
    /// The second-best label, when there was a contest.
    pub runner_up: Option<Category>,
    /// Adcodes of the Chinese regions the item names, with their prefectures and provinces.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub regions: Vec<u64>,
}

/// An item as the store keeps it: the normalised entry plus everything feedsift learned about it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredItem {
    /// The canonical key (see [`crate::dedup::canonical_key`]); stable across re-polls, and the
    /// basis of the published `guid`/`id`.
    pub key: String,
    /// Insertion sequence number, strictly increasing across restarts.
    pub seq: u64,
    /// When feedsift first stored this story.
    pub first_seen: DateTime<Utc>,
    /// When feedsift last saw its content change, if it ever did.
    pub changed: Option<DateTime<Utc>>,
    /// Digest of the visible content, to tell updates from duplicates.
    pub digest: String,
    /// The feed that carried it first; it owns the stored text.
    pub source: SourceRef,
    /// The entry itself, as its owning feed published it.
    pub item: Item,
    /// The title with content-farm decorations stripped (see [`crate::dedup::title::clean`]).
    #[serde(default)]
    pub clean_title: String,
    /// The title's near-duplicate index core ([`crate::dedup::title::index_core`]), kept so a
    /// lookup compares candidates without re-deriving theirs. Empty in records written before
    /// it was kept (then derived on read) and when near-duplicate detection is off.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub core: String,
    /// The categorizer's verdict.
    pub class: Classification,
    /// Every other feed that carried the same story, exactly or under another decoration. Kept
    /// in the store's own `copies` tree (one small record each, so a much-copied story is never
    /// rewritten) and filled in when the item is read.
    #[serde(default, skip_serializing)]
    pub also_at: Vec<AlsoAt>,
    /// The key of the story's canonical link when its own key came from a GUID: an alias, so a
    /// feed that republishes the entry under a new GUID is recognised.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link_alias: Option<String>,
    /// Band hashes of the near-duplicate index (kept so the entries can be removed again).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub near: Vec<u64>,
}

/// Another feed's copy of a stored story.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlsoAt {
    /// The feed that carried the copy.
    pub source: SourceRef,
    /// The copy's own link.
    pub link: Option<String>,
    /// The copy's own (decorated) title.
    pub title: String,
    /// The copy's canonical key, when it differs from the story's (a near-duplicate); the store
    /// maps it to the story so the copy is recognised at once next time.
    pub key: Option<String>,
    /// When feedsift first saw the copy.
    pub seen: DateTime<Utc>,
}

impl StoredItem {
    /// The title to publish: the cleaned one when `clean` is set and cleaning left one.
    pub fn display_title(&self, clean: bool) -> &str {
        if clean && !self.clean_title.is_empty() {
            &self.clean_title
        } else {
            &self.item.title
        }
    }

    /// The date feeds are ordered by: the published date, unless it lies in the future or is
    /// missing, in which case the time feedsift first saw the item. This keeps a feed that
    /// claims year 2099 from pinning itself to the top of every output.
    pub fn sort_date(&self) -> DateTime<Utc> {
        match self.item.published.or(self.item.updated) {
            Some(p) if p <= self.first_seen => p,
            _ => self.first_seen,
        }
    }
}

/// What feedsift remembers about polling one feed, between polls and across restarts.
///
/// The ingest path records *facts* here (what the server and the feed said); the scheduler turns
/// them into *policy* (when to poll next). Fields added later default, so older records load.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FeedState {
    /// The validator from the last response that carried one (RFC 9110 §8.8.3).
    pub etag: Option<String>,
    /// The `Last-Modified` from the last response that carried one (RFC 9110 §8.8.2).
    pub last_modified: Option<String>,
    /// Digest of the last body parsed, so an unchanged body served without validators is not
    /// parsed again.
    pub body_digest: Option<String>,
    /// The feed's own title, as last seen.
    pub title: Option<String>,
    /// When the last poll finished, successful or not.
    pub last_poll: Option<DateTime<Utc>>,
    /// When the last poll succeeded (200 or 304).
    pub last_success: Option<DateTime<Utc>>,
    /// HTTP status of the last response (after redirects), if one came.
    pub last_status: Option<u16>,
    /// How long the last poll took, in milliseconds.
    pub last_duration_ms: Option<u64>,
    /// The last error, for the admin to read; cleared on success.
    pub last_error: Option<String>,
    /// Polls failed in a row; reset on success.
    pub consecutive_failures: u32,
    /// The server asked not to be polled before this time (`Retry-After` on 429/503).
    pub retry_after: Option<DateTime<Utc>>,
    /// The last response stays fresh until then (`Cache-Control: max-age`, `Expires`).
    pub fresh_until: Option<DateTime<Utc>>,
    /// The feed's own shortest sensible polling interval, in seconds (RSS `<ttl>`,
    /// `sy:updatePeriod`/`sy:updateFrequency`).
    pub min_interval_secs: Option<u64>,
    /// Hours (0–23, GMT) the feed asks not to be read in (RSS `<skipHours>`).
    pub skip_hours: Vec<u32>,
    /// Days (0 = Monday … 6 = Sunday, GMT) the feed asks not to be read on (RSS `<skipDays>`).
    pub skip_days: Vec<u32>,
    /// Where a permanent redirect (301/308) sent the feed; used for later polls.
    pub redirected_to: Option<String>,
    /// The configured URL that redirect was seen for: when the admin changes the URL, the old
    /// redirect no longer applies.
    pub redirected_from: Option<String>,
}

/// Lower-case hex of a byte slice.
pub fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    push_hex(&mut s, bytes);
    s
}

/// Appends the lower-case hex of `bytes` to `out` (in the buffer it has: what [`hex`] gives).
pub fn push_hex(out: &mut String, bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 15)]));
    }
}
