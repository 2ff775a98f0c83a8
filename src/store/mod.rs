//! The store: items, their indexes, feed state and polling leases, behind one interface.
//!
//! Takes: [`Batch`]es of decisions made by the deduplicator, one per fetched response, together
//! with that feed's new [`FeedState`]. Gives: items by key (directly or through an alias),
//! newest first (optionally by category), in insertion order after a cursor, near-duplicate
//! index hits, feed states, and leases that let several instances share the polling.
//!
//! Two backends live behind the [`Backend`] trait, and every store behaviour the project tests
//! runs against both (`tests/store_suite.rs`):
//! - [`embedded::SledStore`] (`[service] store = "sled"`, the default): one directory, nothing
//!   else to run; one process at a time.
//! - [`pg::PgStore`] (`store = "postgres://…"`): one PostgreSQL shared by any number of
//!   `feedsift serve` instances (README, "Scaling out"; `docs/STORAGE.md`).
//!
//! Guarantees, whatever the backend:
//! - **One response, one transaction.** A response's new items, updates, merges and the feed
//!   state that advances its validators are written together or not at all.
//! - **One story, one record.** Decisions are made under [`Backend::lock_ingest`] (a mutex in
//!   sled; a PostgreSQL advisory lock shared by every instance), and the item key is the
//!   primary key besides: a story raced in by two writers is stored once.
//! - **Cursors mean the same everywhere.** Sequence numbers only grow in commit order, so a
//!   reader that remembers the last one it saw reads every item exactly once, on any instance.
//! - The schema version is checked on open; a newer one is a clear error, not a misread.
//! - **A leaf.** The store depends on nothing above [`crate::model`]. Near-duplicate index keys
//!   are opaque numbers to it ([`StoredItem::near`]; a lookup returns raw [`NearHit`]s, which
//!   the deduplicator ranks), a migration that needs new keys asks the opener's [`Reindex`],
//!   and leases read no clock: `now` is the caller's.
//!
//! [`Store`] dereferences to [`Backend`], so every backend method is a store method; `Store`
//! itself adds the lazy iterators and counts.
//!
//! **Corrections.** The admin may relabel a stored item ([`Backend::correct`]). The store keeps
//! each correction as a [`Correction`] record (numbered, newest = highest, with the time and
//! who asked, and a snapshot of the item's title, summary and feed so the record outlives the
//! item's retention), rewrites the item's label at once (its record and category index, so
//! every output shows it; the generation moves), and from then on keeps that label on every
//! update of the item a later commit writes, whatever label the update carries: the
//! correction wins over re-classification. The store knows keys and labels, not why.

pub mod decoded;
pub mod embedded;
pub mod near_mem;
pub mod pg;
pub mod record;
pub mod sources;
pub mod titles;

pub(crate) use record::{decode_item, encode_compact, encode_item, title_and_core};

use crate::model::{AlsoAt, Category, FeedState, StoredItem};
use chrono::{DateTime, Utc};
use std::collections::VecDeque;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

pub use embedded::{SledStore, SCHEMA_VERSION};
pub use pg::PgStore;

/// Storage failures. The store is where data must never be lost, so these are reported, not
/// swallowed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database could not be opened (permissions, disk, a corrupt file).
    #[error("store: cannot open {path}: {source}")]
    Open {
        /// The data directory.
        path: PathBuf,
        /// sled's error.
        source: ::sled::Error,
    },
    /// Another process (usually a running `feedsift serve`) has the database open; sled allows
    /// one process at a time.
    #[error(
        "store: {path} is in use by another feedsift process (one process at a time can open it)"
    )]
    Locked {
        /// The data directory.
        path: PathBuf,
    },
    /// The database was written with another layout.
    #[error(
        "store: {path} has schema version {found}, this feedsift reads version {expected}; {hint}"
    )]
    Schema {
        /// The data directory or database.
        path: PathBuf,
        /// The version found.
        found: u64,
        /// The version this build reads.
        expected: u64,
        /// What to do about it.
        hint: &'static str,
    },
    /// A read or write failed.
    #[error("store: {0}")]
    Sled(#[from] ::sled::Error),
    /// A PostgreSQL connection, query or transaction failed. Shown with the server's message
    /// and detail (not the driver's generic "db error").
    #[error("store: postgres {what}: {}", server_message(.source.as_ref()))]
    Postgres {
        /// What was being done (`connect to …`, `commit`, a query's purpose).
        what: String,
        /// The driver's error (a `postgres::Error`, to downcast), or what else failed (a
        /// connection thread gone, the ingest lock lost).
        #[source]
        source: Box<dyn std::error::Error + Send + Sync + 'static>,
    },
    /// `[service] store` names no backend this build has.
    #[error("store: {0}")]
    Spec(String),
    /// A record could not be decoded.
    #[error("store: record {key} is unreadable: {message}")]
    Corrupt {
        /// The record's key.
        key: String,
        /// What went wrong.
        message: String,
    },
}

/// The server's message with its detail when `e` is a PostgreSQL error from the server, else
/// `e` as it displays.
fn server_message(e: &(dyn std::error::Error + Send + Sync + 'static)) -> String {
    match e
        .downcast_ref::<postgres::Error>()
        .and_then(|e| e.as_db_error())
    {
        Some(db) => match db.detail() {
            Some(d) => format!("{} ({d})", db.message()),
            None => db.message().to_string(),
        },
        None => e.to_string(),
    }
}

/// What one response changes in the store, decided by the deduplicator.
#[derive(Debug, Default)]
pub struct Batch {
    /// Stories stored for the first time (their `seq` is assigned on commit).
    pub new: Vec<StoredItem>,
    /// Stories whose owning feed changed their text: (new version, stored version).
    pub updated: Vec<(StoredItem, StoredItem)>,
    /// Copies of stored stories seen in another feed: (story key, the copy).
    pub also_at: Vec<(String, AlsoAt)>,
    /// `new` items keep the sequence numbers they carry (`feedsift migrate`, so that readers'
    /// cursors stay valid in the new store); later numbers are drawn above them.
    pub keep_seq: bool,
    /// Named opaque blobs, each replacing any stored under its name, in the same transaction
    /// ([`Backend::blobs`] reads them back). The store never looks inside; its users keep
    /// small state there (the deduplicator: what it learned of each source).
    pub blobs: Vec<(String, Vec<u8>)>,
}

impl Batch {
    /// Whether committing it would write no item (blobs are not items).
    pub fn is_empty(&self) -> bool {
        self.new.is_empty() && self.updated.is_empty() && self.also_at.is_empty()
    }
}

/// What [`Backend::prune`] removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PruneStats {
    /// Items removed with their index entries.
    pub items: usize,
    /// Expired tombstones removed.
    pub tombstones: usize,
}

/// The answer to [`Backend::claim`]: whether this instance polls a feed in a schedule slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// The lease is this instance's until the poll finishes (or the lease expires).
    Mine,
    /// Another instance holds a live lease for this feed, until the given time; if it has not
    /// finished the slot by then (it died), the lease can be taken over.
    Held(DateTime<Utc>),
    /// The slot (or a later one) was already polled, by this instance or another.
    Done,
}

/// Held while the deduplicator decides and commits; dropping it lets the next writer in.
pub struct IngestGuard<'a>(#[allow(dead_code)] Box<dyn Held + 'a>);

/// Anything that releases a lock when dropped.
trait Held {}
impl<T> Held for T {}

impl<'a> IngestGuard<'a> {
    /// Wraps a backend's lock guard (anything whose drop releases the lock).
    pub fn new<T: 'a>(inner: T) -> IngestGuard<'a> {
        IngestGuard(Box::new(inner))
    }
}

/// Copies recorded per story; more are counted as duplicates but not listed.
pub const MAX_COPIES: usize = 32;

/// An item's position in newest-first order, for paging (`?before=`): the sort timestamp with
/// its sign bit flipped (so earlier dates sort first as bytes), then the sequence number to
/// keep positions unique and ties in insertion order. Both backends order by these bytes.
pub fn page_key(item: &StoredItem) -> [u8; 16] {
    let ts = item.sort_date().timestamp_micros() as u64 ^ (1 << 63);
    let mut k = [0u8; 16];
    k[..8].copy_from_slice(&ts.to_be_bytes());
    k[8..].copy_from_slice(&item.seq.to_be_bytes());
    k
}

/// An admin's correction of one item's label, as the store keeps it: what was asked, when and
/// how, and enough of the item (title, plain-text summary, feed) to use it as a training
/// example after the item itself is pruned.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Correction {
    /// Its number: 1, 2, 3… in the order corrections were made (the listing's cursor).
    pub id: u64,
    /// The corrected item's key (the story key, resolved from an alias if one was given).
    pub key: String,
    /// The label the admin chose.
    pub label: Category,
    /// The item's label just before (the model's, or an earlier correction's).
    pub previous: Category,
    /// When it was made (the caller's clock).
    pub at: DateTime<Utc>,
    /// How it was made: `api`, `page`, `cli` (free text, for the record).
    pub by: String,
    /// The feed that carried the item first.
    pub feed_id: String,
    /// The item's title as its feed published it (what the categorizer reads).
    pub title: String,
    /// The item's summary (else its content) as plain text, at most [`SUMMARY_CHARS`] chars.
    pub summary: String,
    /// The item's link, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    /// The item's language, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
}

/// How much of an item's summary a [`Correction`] keeps (the categorizer reads the first 300).
pub const SUMMARY_CHARS: usize = 600;

impl Correction {
    /// The record of relabelling `item` as `label`: numbered `id`, made at `at` by `by`.
    pub fn of(item: &StoredItem, id: u64, label: Category, by: &str, at: DateTime<Utc>) -> Self {
        let summary = item
            .item
            .summary
            .as_deref()
            .or(item.item.content.as_deref())
            .map(|h| {
                crate::text::html_to_text(h)
                    .chars()
                    .take(SUMMARY_CHARS)
                    .collect()
            })
            .unwrap_or_default();
        Correction {
            id,
            key: item.key.clone(),
            label,
            previous: item.class.category,
            at,
            by: by.to_string(),
            feed_id: item.source.feed_id.clone(),
            title: item.item.title.clone(),
            summary,
            link: item.item.link.clone(),
            language: item.item.language.clone(),
        }
    }
}

/// `item` as relabelled `label` by the admin: that label with confidence 1 (so `min_confidence`
/// filters keep it), and what it was labelled before as the runner-up when it differs.
pub fn relabelled(mut item: StoredItem, label: Category) -> StoredItem {
    if item.class.category != label {
        item.class.runner_up = Some(item.class.category);
    }
    item.class.category = label;
    item.class.confidence = 1.0;
    item
}

/// `item` as [`Backend::correct`] rewrites it: [`relabelled`], and changed at `at` (so the
/// outputs' `Last-Modified` and the entry's `updated` move: a reader asking "changed since?"
/// gets the new label).
pub(crate) fn corrected_at(item: StoredItem, label: Category, at: DateTime<Utc>) -> StoredItem {
    let mut item = relabelled(item, label);
    item.changed = Some(item.changed.map_or(at, |c| c.max(at)));
    item
}

/// Reads a JSON record (items, copies, feed states are JSON in both backends), naming the
/// record when it is unreadable.
pub(crate) fn decode<T: serde::de::DeserializeOwned>(
    key: &str,
    bytes: &[u8],
) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt {
        key: key.to_string(),
        message: e.to_string(),
    })
}

/// Writes a JSON record.
pub(crate) fn encode<T: serde::Serialize>(key: &str, v: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(v).map_err(|e| StoreError::Corrupt {
        key: key.to_string(),
        message: e.to_string(),
    })
}

/// What near-duplicate verification reads of a stored item: its original title, its stored
/// index core (empty in records older than the field) and the feed that carried it first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TitleOf {
    /// The title as its feed published it.
    pub title: String,
    /// The stored index core, or empty.
    pub core: String,
    /// The feed that carried it first (`source.feed_id`).
    pub feed_id: String,
}

/// What retention removes, oldest first: items first seen before `now - retention`, then the
/// oldest beyond `max_items`. Insertion order is first-seen order, so reading stops at the
/// first item kept. Both backends prune what this selects, under their ingest lock.
pub(crate) fn doomed_by_retention(
    backend: &dyn Backend,
    now: DateTime<Utc>,
    retention: Duration,
    max_items: Option<usize>,
) -> Result<Vec<StoredItem>, StoreError> {
    let cutoff = now - chrono::Duration::from_std(retention).unwrap_or(chrono::Duration::MAX);
    let stored = backend.len()? as usize;
    let mut excess = max_items.map_or(0, |m| stored.saturating_sub(m));
    let mut doomed = Vec::new();
    let mut after = None;
    loop {
        let page = backend.page_by_seq(after, 256)?;
        let full = page.len() == 256;
        for item in page {
            after = Some(item.seq);
            if item.first_seen < cutoff || excess > 0 {
                excess = excess.saturating_sub(1);
                doomed.push(item);
            } else {
                return Ok(doomed);
            }
        }
        if !full {
            return Ok(doomed);
        }
    }
}

/// One entry of the near-duplicate index found by a lookup: the item it belongs to, that
/// item's sequence number, and the position of the matching key in the item's
/// [`StoredItem::near`] keys. Positions mean nothing to the store; the deduplicator ranks hits
/// (`dedup::index`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NearHit {
    /// The stored item's key.
    pub key: String,
    /// Its sequence number.
    pub seq: u64,
    /// The position of the matching index key in its `near` keys.
    pub index: usize,
}

/// New index keys for a stored item, asked by a migration that adds keys to every stored
/// item (sled schema 3 → 4, PostgreSQL migration 2): given the item as stored, its complete
/// keys, or `None` when they are complete already (the item is left as it is). Provided by
/// whoever opens the store — the store itself only stores keys.
pub type Reindex = fn(&StoredItem) -> Option<Vec<u64>>;

/// Identifies one copy of a story (its feed and link), so the same copy seen again is recorded
/// once.
pub fn copy_id(copy: &AlsoAt) -> [u8; 8] {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(copy.source.feed_id.as_bytes());
    h.update([0]);
    h.update(copy.link.as_deref().unwrap_or("").as_bytes());
    h.finalize()[..8].try_into().expect("8 bytes")
}

/// What a storage backend does. Object-safe and synchronous: the pipeline calls it from
/// blocking threads (parsing and ingest run there), and the PostgreSQL backend runs its
/// connections on threads of its own, so any caller may block on it briefly.
pub trait Backend: Send + Sync + 'static {
    /// `sled` or the PostgreSQL URL without its password, for logs and errors.
    fn describe(&self) -> String;
    /// Taken by the deduplicator around "decide, then commit", so that two feeds (or two
    /// instances) carrying the same new story at the same moment cannot both store it.
    fn lock_ingest(&self) -> Result<IngestGuard<'_>, StoreError>;
    /// The item stored under `key`, with its copies.
    fn get(&self, key: &str) -> Result<Option<StoredItem>, StoreError>;
    /// Just the original title, stored index core and first feed of `key` (near-duplicate
    /// verification reads many candidates and needs nothing else).
    fn title_of(&self, key: &str) -> Result<Option<TitleOf>, StoreError>;
    /// [`Backend::title_of`] for several keys at once (one round trip where that matters).
    fn titles_of(&self, keys: &[String]) -> Result<Vec<Option<TitleOf>>, StoreError> {
        keys.iter().map(|k| self.title_of(k)).collect()
    }
    /// [`Backend::contains`] for several keys at once.
    fn contains_many(&self, keys: &[String]) -> Result<Vec<bool>, StoreError> {
        keys.iter().map(|k| self.contains(k)).collect()
    }
    /// [`Backend::resolve`] for several keys at once.
    fn resolve_many(&self, keys: &[String]) -> Result<Vec<Option<StoredItem>>, StoreError> {
        keys.iter().map(|k| self.resolve(k)).collect()
    }
    /// [`Backend::is_tombstoned`] for several keys at once.
    fn tombstoned_many(&self, keys: &[String]) -> Result<Vec<bool>, StoreError> {
        keys.iter().map(|k| self.is_tombstoned(k)).collect()
    }
    /// [`Backend::near_hits`] for several items' keys at once.
    fn near_hits_many(
        &self,
        sigs: &[Vec<u64>],
        per_key: usize,
    ) -> Result<Vec<Vec<NearHit>>, StoreError> {
        sigs.iter().map(|s| self.near_hits(s, per_key)).collect()
    }
    /// [`Backend::near_hits_many`], only among items with a sequence number above `after`
    /// (stored since a writer's lookups): per key, the newest `per_key` entries above it.
    fn near_hits_since(
        &self,
        sigs: &[Vec<u64>],
        per_key: usize,
        after: Option<u64>,
    ) -> Result<Vec<Vec<NearHit>>, StoreError> {
        // Entries are read newest first, so those above `after` among the newest `per_key`
        // are the newest `per_key` above it.
        let mut all = self.near_hits_many(sigs, per_key)?;
        for hits in &mut all {
            hits.retain(|h| after.is_none_or(|a| h.seq > a));
        }
        Ok(all)
    }
    /// Whether the deduplicator should make its lookups *before* taking the ingest lock and
    /// re-check them under it against what was committed meanwhile ([`Backend::high_water`]):
    /// right where lookups are round trips that can run concurrently (PostgreSQL); wrong where
    /// reads outside the lock would wait for commits anyway (sled's transactions take a
    /// process-wide lock).
    fn decides_before_locking(&self) -> bool {
        false
    }
    /// The highest sequence number committed so far (`None`: no item yet): what a writer read
    /// before this point, it can re-check against what came after.
    fn high_water(&self) -> Result<Option<u64>, StoreError> {
        Ok(self.page_by_seq_desc(None, 1)?.first().map(|i| i.seq))
    }
    /// Whether `key` names a stored item, directly or as an alias.
    fn contains(&self, key: &str) -> Result<bool, StoreError>;
    /// The item `key` names, directly or as an alias of a merged near-duplicate.
    fn resolve(&self, key: &str) -> Result<Option<StoredItem>, StoreError>;
    /// Whether `key` belonged to an item removed by retention (so it is not stored again).
    fn is_tombstoned(&self, key: &str) -> Result<bool, StoreError>;
    /// The near-duplicate index entries matching `keys`: for each position `i`, the newest
    /// `per_key` entries holding `keys[i]` at position `i` of their item's keys, newest first
    /// per position — a few key reads, never a scan.
    fn near_hits(&self, keys: &[u64], per_key: usize) -> Result<Vec<NearHit>, StoreError>;
    /// Commits one response: `batch` and, when given, the feed's new state, in one transaction.
    fn commit(&self, batch: Batch, feed: Option<(&str, &FeedState)>) -> Result<(), StoreError>;
    /// The blobs committed ([`Batch::blobs`]) under names starting with `prefix`, by name.
    fn blobs(&self, prefix: &str) -> Result<Vec<(String, Vec<u8>)>, StoreError>;
    /// The blob committed under `name`, if any.
    fn blob(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .blobs(name)?
            .into_iter()
            .find(|(n, _)| n == name)
            .map(|(_, b)| b))
    }
    /// A number that changes whenever stored items do, so rendered outputs can be cached.
    /// May do I/O (PostgreSQL reads the shared counter when its copy is stale).
    fn generation(&self) -> u64;
    /// [`Backend::generation`] when it is known without I/O, else `None`: what lets the server
    /// answer a cached rendering on its async threads, with no hand-off to a blocking thread.
    fn generation_if_known(&self) -> Option<u64>;
    /// Relabels the item `key` names (directly or through an alias) as `label`, at `at`, asked
    /// by `by`: records a [`Correction`] numbered after the last one, rewrites the item's
    /// label ([`relabelled`]) with its category index, moves the generation, and makes later
    /// updates of the item keep the label. Under the ingest lock, so it never interleaves with
    /// a commit's decisions. `None` (nothing written) when no such item is stored.
    fn correct(
        &self,
        key: &str,
        label: Category,
        by: &str,
        at: DateTime<Utc>,
    ) -> Result<Option<Correction>, StoreError>;
    /// Up to `limit` corrections, newest first, numbered below `before`.
    fn corrections(&self, before: Option<u64>, limit: usize)
        -> Result<Vec<Correction>, StoreError>;
    /// Writes corrections as they are, numbers included, and makes later updates of their
    /// items keep the newest one's label (for `feedsift migrate`; the items themselves, already
    /// relabelled, are not touched). A number already stored is left as it is.
    fn put_corrections(&self, corrections: &[Correction]) -> Result<(), StoreError>;
    /// Up to `limit` items newest first (by [`page_key`]), strictly older than `before`,
    /// optionally of one category only. Shared: a backend may give the same `Arc` for an item
    /// unchanged since it last gave it (the embedded one does, [`decoded`]); never one that
    /// changed since.
    fn page_by_date(
        &self,
        category: Option<Category>,
        before: Option<[u8; 16]>,
        limit: usize,
    ) -> Result<Vec<Arc<StoredItem>>, StoreError>;
    /// Up to `limit` items in insertion order with a sequence number above `after`.
    fn page_by_seq(&self, after: Option<u64>, limit: usize) -> Result<Vec<StoredItem>, StoreError>;
    /// What [`Backend::page_by_seq`] gives, lent to `each` one item at a time until it
    /// breaks; returns how many items it was lent (the one it broke on included). Nothing
    /// is kept, so a backend may decode every item into the same buffer (the embedded one
    /// does): a reader going through many items allocates almost nothing per item.
    fn visit_by_seq(
        &self,
        after: Option<u64>,
        limit: usize,
        each: &mut dyn FnMut(&StoredItem) -> ControlFlow<()>,
    ) -> Result<usize, StoreError> {
        let mut lent = 0;
        for item in self.page_by_seq(after, limit)? {
            lent += 1;
            if each(&item).is_break() {
                break;
            }
        }
        Ok(lent)
    }
    /// Up to `limit` items most recently stored first, with a sequence number below `before`.
    fn page_by_seq_desc(
        &self,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<StoredItem>, StoreError>;
    /// Number of stored items (kept per feed by commits and retention: no scan).
    fn len(&self) -> Result<u64, StoreError>;
    /// Whether no item is stored.
    fn is_empty(&self) -> Result<bool, StoreError>;
    /// Number of items first stored from `feed_id` (and not yet pruned).
    fn items_of_feed(&self, feed_id: &str) -> Result<u64, StoreError>;
    /// The stored state of a feed (default if never polled).
    fn feed_state(&self, feed_id: &str) -> Result<FeedState, StoreError>;
    /// Saves the state of a feed on its own (a failed poll, which writes no item).
    fn put_feed_state(&self, feed_id: &str, state: &FeedState) -> Result<(), StoreError>;
    /// The stored states of `feed_ids`, in that order (default for one never polled): one
    /// round trip where that matters.
    fn feed_states(&self, feed_ids: &[String]) -> Result<Vec<FeedState>, StoreError> {
        feed_ids.iter().map(|id| self.feed_state(id)).collect()
    }
    /// [`Backend::items_of_feed`] for several feeds at once, in that order.
    fn items_of_feeds(&self, feed_ids: &[String]) -> Result<Vec<u64>, StoreError> {
        feed_ids.iter().map(|id| self.items_of_feed(id)).collect()
    }
    /// Every feed's state (for `feedsift migrate`).
    fn all_feed_states(&self) -> Result<Vec<(String, FeedState)>, StoreError>;
    /// Every tombstone: key and the Unix time it was written (for `feedsift migrate`).
    fn tombstones(&self) -> Result<Vec<(String, u64)>, StoreError>;
    /// Writes tombstones as they are (for `feedsift migrate`).
    fn put_tombstones(&self, tombstones: &[(String, u64)]) -> Result<(), StoreError>;
    /// Removes items first seen more than `retention` before `now`, then the oldest beyond
    /// `max_items`, each with all its index entries, leaving a tombstone per key; and forgets
    /// tombstones older than `retention`. Age counts from when feedsift first stored an item.
    fn prune(
        &self,
        now: DateTime<Utc>,
        retention: Duration,
        max_items: Option<usize>,
    ) -> Result<PruneStats, StoreError>;
    /// Asks, at the caller's time `now`, to poll `feed_id` in the schedule slot `slot` as
    /// `owner`, holding the feed until `now + lease`. [`Claim::Mine`] at most once per slot
    /// while the holder lives; a holder that dies loses the lease when it expires (by the
    /// `now` of whoever asks next). Always `Mine` for a single-process backend. The store reads
    /// no clock for leases: instances sharing one must keep their clocks roughly in step (a
    /// skew shortens or lengthens a dead holder's lease by as much).
    fn claim(
        &self,
        feed_id: &str,
        slot: DateTime<Utc>,
        owner: &str,
        lease: Duration,
        now: DateTime<Utc>,
    ) -> Result<Claim, StoreError>;
    /// Extends `owner`'s lease on `feed_id` to `now + lease`, while its poll runs (a poll may
    /// wait for the fetcher's limits and the ingest lock far longer than the fetch itself).
    /// `false` when the lease is no longer `owner`'s.
    fn renew(
        &self,
        feed_id: &str,
        owner: &str,
        lease: Duration,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
    /// Marks `slot` of `feed_id` polled and releases `owner`'s lease (expired as of `now`).
    fn finish(
        &self,
        feed_id: &str,
        slot: DateTime<Utc>,
        owner: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// Makes what was committed durable (sled: write its log out; PostgreSQL: nothing to do).
    fn flush(&self) -> Result<(), StoreError>;
    /// Bytes the store occupies on disk.
    fn size_on_disk(&self) -> Result<u64, StoreError>;
    /// Entries per tree or table, for `docs/STORAGE.md` figures and tests of index hygiene.
    fn tree_sizes(&self) -> Vec<(&'static str, usize)>;
}

pub use crate::text::redact_url as redact;

/// A handle on the store, whichever backend holds it. Cheap to clone; all clones share one
/// database.
#[derive(Clone)]
pub struct Store {
    backend: Arc<dyn Backend>,
    /// Counts this process's commits and prunes that changed items; see [`Store::changes`].
    changes: Arc<tokio::sync::watch::Sender<u64>>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend.describe())
            .finish()
    }
}

/// The largest page [`Pages`] reads at once.
const MAX_PAGE: usize = 1024;

/// A lazy iterator over pages of items: reads a small page first (most callers want a few
/// dozen), then larger ones.
struct Pages<F, T = StoredItem> {
    buf: VecDeque<T>,
    next_size: usize,
    fetch: F,
    done: bool,
}

impl<F, T> Iterator for Pages<F, T>
where
    F: FnMut(usize) -> Result<Vec<T>, StoreError>,
{
    type Item = Result<T, StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.buf.is_empty() && !self.done {
            match (self.fetch)(self.next_size) {
                Ok(page) => {
                    self.done = page.len() < self.next_size;
                    self.buf.extend(page);
                    self.next_size = (self.next_size * 4).min(MAX_PAGE);
                }
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            }
        }
        self.buf.pop_front().map(Ok)
    }
}

impl<F, T> Pages<F, T> {
    /// Reads `n` items first (at most [`MAX_PAGE`]): what the caller expects to need.
    fn first_page(mut self, n: usize) -> Self {
        self.next_size = n.clamp(1, MAX_PAGE);
        self
    }
}

/// Pages of shared items ([`Store::newest_first_paged`]).
type SharedPages<F> = Pages<F, Arc<StoredItem>>;

/// Shared items as owned ones (a copy only of an item someone else holds too).
fn owned(
    items: impl Iterator<Item = Result<Arc<StoredItem>, StoreError>>,
) -> impl Iterator<Item = Result<StoredItem, StoreError>> {
    items.map(|r| r.map(Arc::unwrap_or_clone))
}

fn pages<F, T>(fetch: F) -> Pages<F, T>
where
    F: FnMut(usize) -> Result<Vec<T>, StoreError>,
{
    Pages {
        buf: VecDeque::new(),
        next_size: 32,
        fetch,
        done: false,
    }
}

impl Store {
    /// Wraps a backend.
    pub fn from_backend(backend: impl Backend) -> Store {
        Store {
            backend: Arc::new(backend),
            changes: Arc::new(tokio::sync::watch::channel(0).0),
        }
    }

    /// Commits one response ([`Backend::commit`]) and, when it wrote items, tells everyone
    /// following [`Store::changes`].
    pub fn commit(&self, batch: Batch, feed: Option<(&str, &FeedState)>) -> Result<(), StoreError> {
        let wrote = !batch.is_empty();
        self.backend.commit(batch, feed)?;
        if wrote {
            self.changes.send_modify(|n| *n += 1);
        }
        Ok(())
    }

    /// Applies retention ([`Backend::prune`]) and, when it removed items, tells everyone
    /// following [`Store::changes`].
    pub fn prune(
        &self,
        now: DateTime<Utc>,
        retention: Duration,
        max_items: Option<usize>,
    ) -> Result<PruneStats, StoreError> {
        let stats = self.backend.prune(now, retention, max_items)?;
        if stats.items > 0 {
            self.changes.send_modify(|n| *n += 1);
        }
        Ok(stats)
    }

    /// Relabels an item ([`Backend::correct`]) and, when it did, tells everyone following
    /// [`Store::changes`].
    pub fn correct(
        &self,
        key: &str,
        label: Category,
        by: &str,
        at: DateTime<Utc>,
    ) -> Result<Option<Correction>, StoreError> {
        let done = self.backend.correct(key, label, by, at)?;
        if done.is_some() {
            self.changes.send_modify(|n| *n += 1);
        }
        Ok(done)
    }

    /// Every correction, newest first (read in pages as consumed).
    pub fn all_corrections(&self) -> impl Iterator<Item = Result<Correction, StoreError>> + '_ {
        let mut before: Option<u64> = None;
        let mut buf: VecDeque<Correction> = VecDeque::new();
        let mut done = false;
        std::iter::from_fn(move || {
            if buf.is_empty() && !done {
                match self.backend.corrections(before, 256) {
                    Ok(page) => {
                        done = page.len() < 256;
                        before = page.last().map(|c| c.id);
                        buf.extend(page);
                    }
                    Err(e) => {
                        done = true;
                        return Some(Err(e));
                    }
                }
            }
            buf.pop_front().map(Ok)
        })
    }

    /// A receiver that wakes whenever this process's commits, corrections or prunes change the stored
    /// items: WebSub waits on it instead of polling. (Another instance's commits on a shared
    /// PostgreSQL store wake that instance's followers, not these.)
    pub fn changes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.changes.subscribe()
    }

    /// Opens (or creates) a sled store in `dir`, with a page cache of `cache_bytes`, choosing
    /// whether a *new* store is zstd-compressed ([`SledStore::open_with`]); `reindex` completes
    /// stored items' index keys if a migration needs it. (`Store::open`, `Store::open_with`
    /// and `Store::connect_postgres`, which pass the deduplicator's, are in `dedup::index`.)
    pub fn open_sled(
        dir: &Path,
        cache_bytes: u64,
        compress_new: bool,
        reindex: Reindex,
    ) -> Result<Store, StoreError> {
        Ok(Store::from_backend(SledStore::open_with(
            dir,
            cache_bytes,
            compress_new,
            reindex,
        )?))
    }

    /// Connects to a PostgreSQL store and brings its schema up to date ([`PgStore::connect`]),
    /// completing stored items' index keys with `reindex` if a migration needs it.
    pub fn open_postgres(url: &str, reindex: Reindex) -> Result<Store, StoreError> {
        Ok(Store::from_backend(PgStore::connect(url, reindex)?))
    }

    /// A sled store in a temporary directory that disappears when the last handle is dropped
    /// (for `feedsift eval` and benchmarks).
    pub fn open_temporary() -> Result<Store, StoreError> {
        Ok(Store::from_backend(SledStore::open_temporary()?))
    }

    /// The backend, for what the wrapper does not re-export.
    pub fn backend(&self) -> &dyn Backend {
        &*self.backend
    }

    /// Items newest first (by [`StoredItem::sort_date`]). Lazy: read in pages as consumed.
    pub fn newest_first(&self) -> impl Iterator<Item = Result<StoredItem, StoreError>> + '_ {
        self.newest_first_before(None)
    }

    /// Items newest first, strictly older than the position `before` (a [`page_key`]).
    pub fn newest_first_before(
        &self,
        before: Option<[u8; 16]>,
    ) -> impl Iterator<Item = Result<StoredItem, StoreError>> + '_ {
        owned(self.by_date(None, before))
    }

    /// Items of one category, newest first.
    pub fn newest_first_in(
        &self,
        category: Category,
    ) -> impl Iterator<Item = Result<StoredItem, StoreError>> + '_ {
        owned(self.by_date(Some(category), None))
    }

    /// Items of one category newest first, strictly older than `before` (a [`page_key`]).
    pub fn newest_first_in_before(
        &self,
        category: Category,
        before: Option<[u8; 16]>,
    ) -> impl Iterator<Item = Result<StoredItem, StoreError>> + '_ {
        owned(self.by_date(Some(category), before))
    }

    /// Items newest first — of one category, or all — strictly older than `before`, reading
    /// `first_page` items first (what the caller expects to need: a filtered feed of 100 items
    /// reads 100, not a small page and then a large one). Shared: an item unchanged since it
    /// was last read may be the same `Arc` as then (the embedded backend's
    /// [`decoded`](crate::store::decoded) cache), so the generator can reuse what it rendered
    /// of it.
    pub fn newest_first_paged(
        &self,
        category: Option<Category>,
        before: Option<[u8; 16]>,
        first_page: usize,
    ) -> impl Iterator<Item = Result<Arc<StoredItem>, StoreError>> + '_ {
        self.by_date(category, before).first_page(first_page)
    }

    fn by_date(
        &self,
        category: Option<Category>,
        mut before: Option<[u8; 16]>,
    ) -> SharedPages<impl FnMut(usize) -> Result<Vec<Arc<StoredItem>>, StoreError> + '_> {
        pages(move |n| {
            let page = self.backend.page_by_date(category, before, n)?;
            if let Some(last) = page.last() {
                before = Some(page_key(last));
            }
            Ok(page)
        })
    }

    /// Items in insertion order, after sequence number `after` (`None`: from the first).
    /// Sequence numbers only grow, so a reader that remembers the last one it saw reads every
    /// item exactly once, across restarts and across instances.
    pub fn after_seq(
        &self,
        after: Option<u64>,
    ) -> impl Iterator<Item = Result<StoredItem, StoreError>> + '_ {
        self.seq_pages(after)
    }

    /// [`Store::after_seq`] lent to `each` one item at a time, at most `max` items, until
    /// `each` breaks ([`Backend::visit_by_seq`]: no item outlives its call, so none is
    /// built for the caller to keep). Reads `first_page` items first, what the caller expects
    /// to need (a page of 1,000 of `/api/items` reads 1,000, not 32 + 128 + 512 + 1,024 of
    /// which 696 are thrown away), then larger pages.
    pub fn visit_after_seq(
        &self,
        mut after: Option<u64>,
        first_page: usize,
        max: usize,
        mut each: impl FnMut(&StoredItem) -> ControlFlow<()>,
    ) -> Result<(), StoreError> {
        let (mut size, mut left) = (first_page.clamp(1, MAX_PAGE), max);
        while left > 0 {
            let want = size.min(left);
            let mut stopped = false;
            let lent = self.backend.visit_by_seq(after, want, &mut |item| {
                after = Some(item.seq);
                let flow = each(item);
                stopped = flow.is_break();
                flow
            })?;
            if stopped || lent < want {
                break;
            }
            left -= lent;
            size = (size * 4).min(MAX_PAGE);
        }
        Ok(())
    }

    fn seq_pages(
        &self,
        mut after: Option<u64>,
    ) -> Pages<impl FnMut(usize) -> Result<Vec<StoredItem>, StoreError> + '_> {
        pages(move |n| {
            let page = self.backend.page_by_seq(after, n)?;
            if let Some(last) = page.last() {
                after = Some(last.seq);
            }
            Ok(page)
        })
    }

    /// Items most recently stored first (insertion order, reversed).
    pub fn newest_inserted(&self) -> impl Iterator<Item = Result<StoredItem, StoreError>> + '_ {
        let mut before: Option<u64> = None;
        pages(move |n| {
            if before == Some(0) {
                return Ok(Vec::new());
            }
            let page = self.backend.page_by_seq_desc(before, n)?;
            if let Some(last) = page.last() {
                before = Some(last.seq);
            }
            Ok(page)
        })
    }

    /// Number of stored items (see [`Backend::len`]).
    pub fn len(&self) -> Result<usize, StoreError> {
        Ok(self.backend.len()? as usize)
    }

    /// Whether the store holds no items (see [`Backend::is_empty`]).
    pub fn is_empty(&self) -> Result<bool, StoreError> {
        self.backend.is_empty()
    }
}

/// Every [`Backend`] method is a `Store` method: `store.get(key)`, `store.commit(..)`.
impl std::ops::Deref for Store {
    type Target = dyn Backend;

    fn deref(&self) -> &(dyn Backend + 'static) {
        &*self.backend
    }
}
