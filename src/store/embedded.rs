//! The embedded backend: items, their indexes and feed state on disk, in sled.
//!
//! Takes: [`Batch`]es of decisions made by the deduplicator, one per fetched response, together
//! with that feed's new [`FeedState`]; a [`Reindex`] function from the opener, for the migration
//! that adds index keys. Gives: items by key (directly or through an alias), newest first
//! (optionally by category), near-duplicate index hits, feed states, the admin's corrections
//! (trees `corrections` and `corrected`). The layout is documented in `docs/STORAGE.md`.
//!
//! Guarantees:
//! - **One response, one transaction.** A response's new items, updates, merges and the feed
//!   state that advances its `ETag`/`Last-Modified`/body hash are written in one sled
//!   transaction: after a crash either all of it is there or none of it, so a restart never
//!   loses an item behind an advanced validator and never stores an item twice. A response of
//!   more than [`COMMIT_ENTRIES`] entries (one big document) is written in several
//!   transactions, in order, the feed state (and the deduplicator's blobs) in the last: a crash
//!   between them leaves a prefix of its stories stored and the validator not advanced, so the
//!   next poll fetches the document again and stores the rest, recognising the prefix by key —
//!   still nothing lost behind a validator and nothing stored twice.
//! - **Durability, honestly:** sled 0.34 writes to its log in memory and hands it to the OS at
//!   `flush()` (every 500 ms, and on shutdown); that is not an fsync. A killed process loses at
//!   most the unflushed transactions *whole*, and their feeds are re-fetched because their
//!   validators were not advanced either. On power loss the OS may lose what it had not written.
//! - **Write little, store little:** an unchanged item costs no write; a new item costs one
//!   write per index it truly needs (its compact record by sequence number, its key, its
//!   category and date, the feed's count), and nothing is stored twice (schema 8: the record's
//!   near-duplicate index keys are not repeated in `keys`; its source is a number, the sources
//!   written once in `sources`, [`super::sources`]). The near-duplicate index itself lives in
//!   memory ([`super::near_mem`]), built from `records` at open on a thread of its own; only
//!   writes that change it wait for that.
//! - **Read in order:** records are keyed by sequence number (schema 7), and so are the copies
//!   of a story (schema 8), so following the store (`/api/items?after=`) is range scans; a
//!   newest-first page is a range scan of `by_category` (all categories: its four ranges
//!   merged), whose keys end with the sequence number, then one read per item.
//! - **Bounded:** [`Backend::prune`] removes items past the retention with every index entry, and
//!   leaves a small tombstone so a feed that still lists them does not bring them back.
//! - The schema version is checked on open; another version is a clear error, not a misread.

use super::decoded::Decoded;
use super::near_mem::{NearIndex, Shared};
use super::sources::Sources;
use super::titles::Titles;
use super::{
    decode, decode_item, encode, encode_compact, encode_item, title_and_core, Backend, Batch,
    Claim, Correction, IngestGuard, NearHit, PruneStats, Reindex, StoreError, TitleOf,
};
use crate::model::{AlsoAt, Category, FeedState, StoredItem};
use chrono::{DateTime, Utc};
use sled::transaction::{ConflictableTransactionError, TransactionError, Transactional};
use std::ops::ControlFlow;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The on-disk layout version this build reads and writes.
pub const SCHEMA_VERSION: u64 = 8;

/// The sled tree of the near-duplicate index of schemas 3 to 5 (newest entry first in key order;
/// schema 2 kept oldest first in `near`). Schema 6 keeps the index in memory
/// ([`super::near_mem`]), built from `by_seq` (schema 7: from `keys`), and drops this tree.
const NEAR_TREE: &str = "near_recent";

/// Separates an item's key from its index keys in a `by_seq` value (schema 6). Keys are UTF-8,
/// which never contains this byte.
const NEAR_MARK: u8 = 0xFF;

/// `by_seq` value (schema 6): the item's key, [`NEAR_MARK`], then its non-empty index keys as
/// big-endian `u64`s — what the in-memory near-duplicate index is built from at open, without
/// decoding a record.
fn seq_value(item: &StoredItem) -> Vec<u8> {
    let mut v = Vec::with_capacity(item.key.len() + 1 + 8 * item.near.len());
    v.extend_from_slice(item.key.as_bytes());
    if item.near.iter().any(|h| *h != 0) {
        v.push(NEAR_MARK);
        for h in &item.near {
            v.extend_from_slice(&h.to_be_bytes());
        }
    }
    v
}

/// The item key of a `by_seq` value ([`seq_value`]; before schema 6, the whole value).
fn seq_value_key(v: &[u8]) -> &[u8] {
    v.split(|b| *b == NEAR_MARK).next().unwrap_or(v)
}

/// The index keys of a `by_seq` value ([`seq_value`]), empty when it has none.
fn seq_value_near(v: &[u8]) -> Vec<u64> {
    match v.iter().position(|b| *b == NEAR_MARK) {
        Some(at) => v[at + 1..].chunks_exact(8).map(be_u64).collect(),
        None => Vec::new(),
    }
}

/// `keys` value (schema 8): the item's sequence number. (Schema 7 also kept the item's index
/// keys here, for building the near-duplicate index without reading records; schema 8 builds
/// it from the compact records, whose index keys come first, and keeps them once.)
fn key_value(item: &StoredItem) -> [u8; 8] {
    item.seq.to_be_bytes()
}

/// Adds copies read by [`SledStore::copy_records`] to `item` (`also_at`), oldest first.
fn add_copy_records(item: &mut StoredItem, copies: &[sled::IVec]) -> Result<(), StoreError> {
    for v in copies {
        item.also_at
            .push(serde_json::from_slice(v).map_err(|e| StoreError::Corrupt {
                key: format!("copy of {}", item.key),
                message: e.to_string(),
            })?);
    }
    item.also_at.sort_by_key(|a| a.seen);
    Ok(())
}

/// A damaged record's error, naming it by its sequence number.
fn record_error(seq: u64, e: StoreError) -> StoreError {
    match e {
        StoreError::Corrupt { message, .. } => StoreError::Corrupt {
            key: format!("record {seq}"),
            message,
        },
        e => e,
    }
}

/// The tree of copies (schema 8; schema 7 had `copies`, keyed by story key: [`copy_key_v7`]).
const COPIES_TREE: &str = "copies_by_seq";

/// The sequence number bytes start with: a `keys` value ([`key_value`]; schema 7's index keys
/// after it are ignored) or a `copies_by_seq` key ([`copy_key`]).
fn seq_at_start(k: &[u8]) -> u64 {
    be_u64(&k[..k.len().min(8)])
}

/// The sequence number an index entry's key ends with (`by_category`: since schema 7 its
/// values are empty).
fn seq_at_end(k: &[u8]) -> u64 {
    be_u64(&k[k.len().saturating_sub(8)..])
}

/// The stories stored, by the per-feed counts that commits and retention keep (one small
/// record per feed): no scan of the items.
fn stories_counted(feed_counts: &sled::Tree) -> Result<u64, StoreError> {
    let mut n = 0u64;
    for v in feed_counts.iter().values() {
        n = n.saturating_add(be_u64(&v?));
    }
    Ok(n)
}

/// Builds the in-memory near-duplicate index from `records` (schema 8): each compact record's
/// first two fields ([`super::record::key_and_near`]).
fn build_near_index(records: &sled::Tree, expected: usize) -> Result<NearIndex, StoreError> {
    let mut index = NearIndex::default();
    index.expect(expected);
    let (mut key, mut near) = (String::new(), Vec::new());
    for entry in records.iter() {
        let (k, v) = entry?;
        let seq = be_u64(&k);
        super::record::key_and_near("", &v, &mut key, &mut near)
            .map_err(|e| record_error(seq, e))?;
        if near.iter().any(|h| *h != 0) {
            index.bulk(seq, &key, &near);
        }
    }
    index.finish_bulk();
    Ok(index)
}

/// Schema 6 → 7: items keyed by sequence number. Every item's record moves from `items` (by
/// key) to `records` (by sequence number), and its index keys go to `keys` with its
/// sequence number ([`key_value`]); `by_date` and `by_category` lose their values (the
/// sequence number ends their keys); then `items` and `by_seq` are dropped. Restartable: an
/// item already in `keys` is done (its record was written first), rewriting an index value is
/// idempotent, and the schema number changes before the old trees are dropped.
fn migrate_v6(db: &sled::Db, meta: &sled::Tree) -> Result<(), StoreError> {
    let items = db.open_tree("items")?;
    let by_seq = db.open_tree("by_seq")?;
    let records = db.open_tree("records")?;
    let keys = db.open_tree("keys")?;
    let mut chunks = Chunks::new(&records, &keys);
    for entry in by_seq.iter() {
        let (k, v) = entry?;
        let key = seq_value_key(&v);
        if keys.contains_key(key)? {
            continue;
        }
        let key_text = String::from_utf8_lossy(key);
        let Some(record) = items.get(key)? else {
            continue;
        };
        let mut item = decode_item(&key_text, &record, &Sources::default())?;
        item.seq = be_u64(&k);
        item.near = seq_value_near(&v);
        // Version 1, with its index keys: the next step (schema 7 → 8) makes it compact.
        chunks.first.insert(&k, encode_item(&item)?);
        chunks.second.insert(key, &key_value(&item)[..]);
        chunks.item_done()?;
    }
    for name in ["by_date", "by_category"] {
        let tree = db.open_tree(name)?;
        let mut writes = ChunkedWrites::new(&tree);
        for entry in tree.iter() {
            let (k, v) = entry?;
            if !v.is_empty() {
                writes.insert(k, &[])?;
            }
        }
        writes.finish()?;
    }
    chunks.finish(db, meta, 7, "items keyed by sequence number")?;
    drop_old_trees(db)
}

/// Schema 7 → 8: compact records ([`super::record::BINARY_V2`]), which carry the index keys the
/// near-duplicate index is built from, so `keys` values keep only the sequence number; and no
/// `by_date` (pages of all stories merge `by_category`'s ranges). Every older record is
/// rewritten compact, then its `keys` value trimmed; `by_date` is dropped once the schema
/// number is written. Restartable: a compact record is done (a `keys` value still holding
/// index keys is read by its first eight bytes alone), and the schema number changes before
/// the drop.
fn migrate_v7(db: &sled::Db, meta: &sled::Tree) -> Result<(), StoreError> {
    let records = db.open_tree("records")?;
    let keys = db.open_tree("keys")?;
    let sources_tree = db.open_tree("sources")?;
    let sources = Sources::load(&sources_tree)?;
    move_copies_by_seq(db, &keys)?;
    let mut chunks = Chunks::new(&records, &keys);
    for entry in records.iter() {
        let (k, v) = entry?;
        if v.first() == Some(&super::record::BINARY_V2) {
            continue;
        }
        let seq = be_u64(&k);
        let item = decode_item("", &v, &sources).map_err(|e| record_error(seq, e))?;
        let source = sources.id_of(&sources_tree, &item.source)?;
        chunks.first.insert(&k, encode_compact(&item, source)?);
        chunks
            .second
            .insert(item.key.as_bytes(), &key_value(&item)[..]);
        chunks.item_done()?;
    }
    chunks.finish(db, meta, 8, "compact records")?;
    drop_old_trees(db)
}

/// Schema 7 → 8, copies: each entry of `copies` (story key ‖ 0 ‖ copy hash) moves to
/// `copies_by_seq` under its story's sequence number; a copy whose story is gone is dropped.
/// Restartable: in chunks, the new entries written before the old ones are removed.
fn move_copies_by_seq(db: &sled::Db, keys: &sled::Tree) -> Result<(), StoreError> {
    let old = db.open_tree("copies")?;
    let new = db.open_tree(COPIES_TREE)?;
    let mut chunks = Chunks::new(&new, &old);
    for entry in old.iter() {
        let (k, v) = entry?;
        let Some(at) = k.iter().position(|b| *b == 0) else {
            chunks.second.remove(k);
            continue;
        };
        if let Some(seq) = keys.get(&k[..at])? {
            let mut moved = seq_at_start(&seq).to_be_bytes().to_vec();
            moved.extend_from_slice(&k[at + 1..]);
            chunks.first.insert(moved, v);
        }
        chunks.second.remove(k);
        chunks.item_done()?;
    }
    chunks.write()
}

/// Drops the trees this schema no longer has (again, harmlessly, at every open: a migration
/// stopped after its schema number was written leaves them behind): `items` and `by_seq`
/// (schema 7), `by_date` (schema 8: all stories newest first are `by_category`'s ranges merged)
/// and `copies` (schema 8: `copies_by_seq`).
fn drop_old_trees(db: &sled::Db) -> Result<(), StoreError> {
    for name in ["items", "by_seq", "by_date", "copies"] {
        db.drop_tree(name)?;
    }
    Ok(())
}

/// Schema 5 → 6: every `by_seq` value gains its item's index keys ([`seq_value`]) and every
/// item record is rewritten in the binary encoding ([`super::record`]), then the on-disk index
/// tree is dropped. Restartable: a value already carrying them is skipped, and
/// the schema number changes before the tree is dropped.
fn migrate_v5(db: &sled::Db, meta: &sled::Tree) -> Result<(), StoreError> {
    let items = db.open_tree("items")?;
    let by_seq = db.open_tree("by_seq")?;
    // Records first: a `by_seq` value with its keys marks its item done.
    let mut chunks = Chunks::new(&items, &by_seq);
    for entry in by_seq.iter() {
        let (k, v) = entry?;
        if v.contains(&NEAR_MARK) {
            continue;
        }
        let key = String::from_utf8_lossy(&v).into_owned();
        let Some(record) = items.get(v.as_ref())? else {
            continue;
        };
        let item = decode_item(&key, &record, &Sources::default())?;
        if record.first() != Some(&super::record::BINARY_V1) {
            chunks.first.insert(v.as_ref(), encode_item(&item)?);
        }
        chunks.second.insert(k, seq_value(&item));
        chunks.item_done()?;
    }
    chunks.finish(db, meta, 6, "near-duplicate index kept in memory")?;
    db.drop_tree(NEAR_TREE)?;
    Ok(())
}

/// A migration's writes to one tree, applied every 10,000 (one sled batch of a million entries
/// is held whole in memory).
struct ChunkedWrites<'a> {
    tree: &'a sled::Tree,
    batch: sled::Batch,
    pending: u64,
}

impl<'a> ChunkedWrites<'a> {
    fn new(tree: &'a sled::Tree) -> ChunkedWrites<'a> {
        ChunkedWrites {
            tree,
            batch: sled::Batch::default(),
            pending: 0,
        }
    }

    fn insert(&mut self, key: impl Into<sled::IVec>, value: &[u8]) -> Result<(), StoreError> {
        self.batch.insert(key, value);
        self.pending += 1;
        if self.pending == 10_000 {
            self.tree.apply_batch(std::mem::take(&mut self.batch))?;
            self.pending = 0;
        }
        Ok(())
    }

    /// Writes the rest.
    fn finish(self) -> Result<(), StoreError> {
        Ok(self.tree.apply_batch(self.batch)?)
    }
}

/// A migration's writes to two trees, applied every 10,000 items, `first`'s before `second`'s
/// (so that what `second` holds can mark an item done, and a restart redoes at most a chunk).
struct Chunks<'a> {
    trees: (&'a sled::Tree, &'a sled::Tree),
    first: sled::Batch,
    second: sled::Batch,
    pending: u64,
    done: u64,
}

impl<'a> Chunks<'a> {
    fn new(first: &'a sled::Tree, second: &'a sled::Tree) -> Chunks<'a> {
        Chunks {
            trees: (first, second),
            first: sled::Batch::default(),
            second: sled::Batch::default(),
            pending: 0,
            done: 0,
        }
    }

    /// One more item's writes are in the batches.
    fn item_done(&mut self) -> Result<(), StoreError> {
        self.pending += 1;
        if self.pending == 10_000 {
            self.write()?;
        }
        Ok(())
    }

    fn write(&mut self) -> Result<(), StoreError> {
        self.trees.0.apply_batch(std::mem::take(&mut self.first))?;
        self.trees.1.apply_batch(std::mem::take(&mut self.second))?;
        self.done += self.pending;
        self.pending = 0;
        Ok(())
    }

    /// Writes the rest, then records schema `to` once everything is on disk.
    fn finish(
        mut self,
        db: &sled::Db,
        meta: &sled::Tree,
        to: u64,
        what: &str,
    ) -> Result<(), StoreError> {
        self.write()?;
        db.flush()?;
        meta.insert("schema", &to.to_be_bytes())?;
        db.flush()?;
        tracing::info!(items = self.done, schema = to, "store migrated ({what})");
        Ok(())
    }
}

/// A handle on the sled database. Cheap to clone; all clones share one database.
#[derive(Clone)]
pub struct SledStore {
    db: sled::Db,
    /// Sequence number → the item's record (schema 7; compact, schema 8).
    records: sled::Tree,
    /// Item key → sequence number ([`key_value`]).
    keys: sled::Tree,
    /// Source number → source, what compact records name ([`Sources`]).
    sources_tree: sled::Tree,
    /// Every entry of `sources_tree`, both ways.
    sources: std::sync::Arc<Sources>,
    /// Category byte ‖ [`date_key`]: each category's stories in date order, and (merged) all
    /// of them ([`SledStore::page_by_date`]).
    by_category: sled::Tree,
    /// The near-duplicate index, in memory ([`super::near_mem`]).
    near: Shared,
    aliases: sled::Tree,
    copies: sled::Tree,
    tombstones: sled::Tree,
    feeds: sled::Tree,
    feed_counts: sled::Tree,
    /// Named opaque blobs ([`Batch::blobs`]).
    blobs: sled::Tree,
    /// The admin's corrections: number (big-endian) → [`Correction`] record.
    corrections: sled::Tree,
    /// The label each corrected item keeps: item key → category byte (the newest correction's).
    corrected: sled::Tree,
    /// Serialises "decide, then commit" across concurrent ingests, so two feeds carrying the
    /// same new story at the same moment cannot both store it. A std mutex: held for a short,
    /// synchronous stretch on a blocking thread, never across an await.
    ingest: std::sync::Arc<Mutex<()>>,
    /// Bumped whenever items change (a commit that writes items, a prune that removes some), so
    /// rendered outputs can be cached until then.
    generation: std::sync::Arc<std::sync::atomic::AtomicU64>,
    /// Added to sled's id generator: one past the highest sequence number brought in by a
    /// migration (0 for a store that was never migrated into).
    seq_floor: std::sync::Arc<std::sync::atomic::AtomicU64>,
    /// Keys of the stories that have (or had) copies in `copies`: most stories have none, and
    /// a prefix scan to find that out was a fifth of a read (paging `/api/items`). Built at
    /// open from the tree's keys, added to before a commit writes a copy, never shrunk (a
    /// stale key only costs the scan it saves).
    with_copies: std::sync::Arc<std::sync::RwLock<std::collections::HashSet<u64>>>,
    /// Titles of the stories written or read lately ([`super::titles`]): what near-duplicate
    /// verification reads, without a read of the disk.
    titles: std::sync::Arc<Titles>,
    /// Items decoded lately, shared with readers ([`super::decoded`]).
    decoded: std::sync::Arc<Decoded>,
}

impl std::fmt::Debug for SledStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SledStore")
            .field("items", &self.records.len())
            .finish()
    }
}

fn category_byte(c: Category) -> u8 {
    Category::ALL.iter().position(|x| *x == c).unwrap_or(3) as u8
}

/// Date key (the end of a `by_category` key; schema 7 also had a `by_date` tree of them): the
/// sort timestamp with its sign bit flipped (so earlier dates sort first), then the sequence
/// number to keep keys unique and ties in insertion order.
fn date_key(item: &StoredItem) -> [u8; 16] {
    super::page_key(item)
}

/// The category a [`category_byte`] (in a one-byte value) stands for.
fn category_of(v: &[u8]) -> Option<Category> {
    Category::ALL.get(usize::from(*v.first()?)).copied()
}

fn category_key(item: &StoredItem) -> Vec<u8> {
    let mut k = Vec::with_capacity(17);
    k.push(category_byte(item.class.category));
    k.extend_from_slice(&date_key(item));
    k
}

/// Near-index key: key position ‖ index key ‖ !seq ‖ item key. The inverted sequence number orders the
/// entries of one bucket newest first, so a lookup reads the newest few forwards and stops.
fn band_key(band: usize, hash: u64, seq: u64, key: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(17 + key.len());
    k.push(band as u8);
    k.extend_from_slice(&hash.to_be_bytes());
    k.extend_from_slice(&(!seq).to_be_bytes());
    k.extend_from_slice(key.as_bytes());
    k
}

/// Schema 2 → 3: the near-duplicate index re-keyed newest first into [`NEAR_TREE`]. Restartable:
/// the schema number only changes once the new tree is complete, and a half-built one is
/// cleared first.
fn migrate_v2(db: &sled::Db, meta: &sled::Tree) -> Result<(), StoreError> {
    let old = db.open_tree("near")?;
    let new = db.open_tree(NEAR_TREE)?;
    new.clear()?;
    let mut writes = ChunkedWrites::new(&new);
    for entry in old.iter().keys() {
        let k = entry?;
        if k.len() < 17 {
            continue;
        }
        let mut nk = k.to_vec();
        let seq = be_u64(&k[9..17]);
        nk[9..17].copy_from_slice(&(!seq).to_be_bytes());
        writes.insert(nk, &[])?;
    }
    writes.finish()?;
    db.flush()?;
    meta.insert("schema", &3u64.to_be_bytes())?;
    db.flush()?;
    db.drop_tree("near")?;
    Ok(())
}

/// Schema 3 → 4: every stored item gains the index keys `reindex` gives it (the exact-core key
/// of the near-duplicate index), in its record (so removal finds them) and in the index; an
/// entry whose key changed is removed. Restartable: each chunk writes the index entries before
/// the records, a record already completed (`reindex` gives `None`) is skipped, and the schema
/// number changes last.
fn migrate_v3(db: &sled::Db, meta: &sled::Tree, reindex: Reindex) -> Result<(), StoreError> {
    reindex_all(db, meta, reindex, 4)
}

/// Schema 4 → 5: the same for the keys the opener's `reindex` adds now (the deduplicator's
/// segment-aligned keys).
fn migrate_v4(db: &sled::Db, meta: &sled::Tree, reindex: Reindex) -> Result<(), StoreError> {
    reindex_all(db, meta, reindex, 5)
}

/// Gives every stored item the index keys `reindex` gives it, then records schema `to`.
fn reindex_all(
    db: &sled::Db,
    meta: &sled::Tree,
    reindex: Reindex,
    to: u64,
) -> Result<(), StoreError> {
    let items = db.open_tree("items")?;
    let near = db.open_tree(NEAR_TREE)?;
    // Index entries before records: a completed record marks its item done.
    let mut chunks = Chunks::new(&near, &items);
    for entry in items.iter() {
        let (k, v) = entry?;
        let key = String::from_utf8_lossy(&k).into_owned();
        let mut item = decode_item(&key, &v, &Sources::default())?;
        let Some(keys) = reindex(&item) else {
            continue;
        };
        for (i, hash) in item.near.iter().enumerate() {
            if keys.get(i) != Some(hash) {
                chunks.first.remove(band_key(i, *hash, item.seq, &item.key));
            }
        }
        for (i, hash) in indexed(&keys) {
            if item.near.get(i) != Some(hash) {
                chunks
                    .first
                    .insert(band_key(i, *hash, item.seq, &item.key), &[]);
            }
        }
        item.near = keys;
        chunks.second.insert(k, encode_item(&item)?);
        chunks.item_done()?;
    }
    chunks.finish(db, meta, to, "index keys completed")
}

/// `copies_by_seq` key (schema 8): the story's sequence number ‖ hash of the copy's feed and
/// link. A prefix scan lists a story's copies, and the copies of a run of stories are one range
/// beside their records; the same copy seen again maps to the same key.
fn copy_key(story: u64, copy: &AlsoAt) -> Vec<u8> {
    let mut k = Vec::with_capacity(16);
    k.extend_from_slice(&story.to_be_bytes());
    k.extend_from_slice(&super::copy_id(copy));
    k
}

/// Schema 7's `copies` key: story key ‖ 0 ‖ the copy's hash (what [`move_copies_by_seq`] reads).
#[cfg(test)]
fn copy_key_v7(story: &str, copy: &AlsoAt) -> Vec<u8> {
    let mut k = Vec::with_capacity(story.len() + 9);
    k.extend_from_slice(story.as_bytes());
    k.push(0);
    k.extend_from_slice(&super::copy_id(copy));
    k
}

/// The near-index keys of `near` with their positions: a zero key is no key (not indexed, not
/// looked up), so a signature can leave a position empty.
fn indexed(near: &[u64]) -> impl Iterator<Item = (usize, &u64)> {
    near.iter().enumerate().filter(|(_, h)| **h != 0)
}

fn be_u64(v: &[u8]) -> u64 {
    v.try_into().map(u64::from_be_bytes).unwrap_or(0)
}

type TxError = ConflictableTransactionError<StoreError>;

fn abort(e: StoreError) -> TxError {
    ConflictableTransactionError::Abort(e)
}

impl SledStore {
    /// Opens (or creates) the store in `dir`, with a page cache of `cache_bytes`; `reindex`
    /// completes stored items' index keys if a migration needs it.
    pub fn open(dir: &Path, cache_bytes: u64, reindex: Reindex) -> Result<SledStore, StoreError> {
        SledStore::open_with(dir, cache_bytes, false, reindex)
    }

    /// [`SledStore::open`], choosing whether a *new* store is written zstd-compressed (`[service]
    /// compress_store`): about 2.3× smaller on disk, about 2× slower to ingest (sled creates a
    /// zstd context per page it reads; see docs/PERFORMANCE.md). sled records the choice in
    /// its `conf` file and refuses to open a store with the other one, so an existing store
    /// keeps the setting it was created with.
    pub fn open_with(
        dir: &Path,
        cache_bytes: u64,
        compress_new: bool,
        reindex: Reindex,
    ) -> Result<SledStore, StoreError> {
        let open_err = |source: sled::Error| {
            if source.to_string().contains("could not acquire lock") {
                StoreError::Locked {
                    path: dir.to_path_buf(),
                }
            } else {
                StoreError::Open {
                    path: dir.to_path_buf(),
                    source,
                }
            }
        };
        // sled's flusher thread keeps the file lock for up to one flush interval after the last
        // handle is dropped; within one process (a test, `export` after `serve`) wait that out
        // before calling the store taken.
        // sled's `conf`: `key: value` lines, then a checksum.
        let compress = match std::fs::read(dir.join("conf")) {
            Ok(conf) => String::from_utf8_lossy(&conf)
                .lines()
                .any(|l| l.trim() == "use_compression: true"),
            Err(_) => compress_new,
        };
        let mut tries = 0;
        let db = loop {
            match sled::Config::new()
                .path(dir)
                .cache_capacity(cache_bytes)
                .use_compression(compress)
                .compression_factor(3)
                .flush_every_ms(Some(500))
                .open()
                .map_err(open_err)
            {
                Err(StoreError::Locked { .. }) if tries < 20 => {
                    tries += 1;
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
                other => break other?,
            }
        };
        let meta = db.open_tree("meta")?;
        match meta.get("schema")?.map(|v| be_u64(&v)) {
            // An older layout moves one schema at a time from where it is to this one; each
            // step is restartable and writes its schema number when done.
            Some(found @ 2..SCHEMA_VERSION) => {
                if found <= 2 {
                    migrate_v2(&db, &meta)?;
                }
                if found <= 3 {
                    migrate_v3(&db, &meta, reindex)?;
                }
                if found <= 4 {
                    migrate_v4(&db, &meta, reindex)?;
                }
                if found <= 5 {
                    migrate_v5(&db, &meta)?;
                }
                if found <= 6 {
                    migrate_v6(&db, &meta)?;
                }
                migrate_v7(&db, &meta)?;
            }
            Some(SCHEMA_VERSION) => drop_old_trees(&db)?,
            Some(found) => {
                let hint = if found > SCHEMA_VERSION {
                    "it was written by a newer feedsift: upgrade feedsift"
                } else {
                    "it was written by an older feedsift: start with a new data_dir (the feeds are re-polled)"
                };
                return Err(StoreError::Schema {
                    path: dir.to_path_buf(),
                    found,
                    expected: SCHEMA_VERSION,
                    hint,
                });
            }
            None => {
                meta.insert("schema", &SCHEMA_VERSION.to_be_bytes())?;
            }
        }
        SledStore::with_trees(db)
    }

    /// A store in a temporary directory that disappears when the last handle is dropped (for
    /// `feedsift eval` and benchmarks).
    pub fn open_temporary() -> Result<SledStore, StoreError> {
        let db = sled::Config::new()
            .temporary(true)
            .cache_capacity(64 << 20)
            .open()?;
        db.open_tree("meta")?
            .insert("schema", &SCHEMA_VERSION.to_be_bytes())?;
        SledStore::with_trees(db)
    }

    fn with_trees(db: sled::Db) -> Result<SledStore, StoreError> {
        let copies = db.open_tree(COPIES_TREE)?;
        let mut with_copies = std::collections::HashSet::new();
        for key in copies.iter().keys() {
            with_copies.insert(seq_at_start(&key?));
        }
        let records = db.open_tree("records")?;
        let near = if records.is_empty() {
            Shared::ready(NearIndex::default())
        } else {
            let tree = records.clone();
            // Room for the index at once, for the stories the per-feed counts say are stored.
            let expected = stories_counted(&db.open_tree("feed_counts")?)?;
            let expected = usize::try_from(expected).unwrap_or(0);
            Shared::build_in_background(move || build_near_index(&tree, expected))
        };
        let sources_tree = db.open_tree("sources")?;
        Ok(SledStore {
            with_copies: std::sync::Arc::new(std::sync::RwLock::new(with_copies)),
            sources: std::sync::Arc::new(Sources::load(&sources_tree)?),
            sources_tree,
            records,
            keys: db.open_tree("keys")?,
            by_category: db.open_tree("by_category")?,
            near,
            aliases: db.open_tree("aliases")?,
            copies,
            tombstones: db.open_tree("tombstones")?,
            feeds: db.open_tree("feeds")?,
            feed_counts: db.open_tree("feed_counts")?,
            blobs: db.open_tree("blobs")?,
            corrections: db.open_tree("corrections")?,
            corrected: db.open_tree("corrected")?,
            ingest: std::sync::Arc::default(),
            generation: std::sync::Arc::default(),
            titles: std::sync::Arc::default(),
            decoded: std::sync::Arc::default(),
            seq_floor: std::sync::Arc::new(std::sync::atomic::AtomicU64::new(
                db.open_tree("meta")?
                    .get("seq_floor")?
                    .map_or(0, |v| be_u64(&v)),
            )),
            db,
        })
    }

    /// Every tree a transaction may touch, in one fixed order.
    #[allow(clippy::type_complexity)]
    fn trees(
        &self,
    ) -> (
        &sled::Tree,
        &sled::Tree,
        &sled::Tree,
        &sled::Tree,
        &sled::Tree,
        &sled::Tree,
        &sled::Tree,
        &sled::Tree,
        &sled::Tree,
        &sled::Tree,
    ) {
        (
            &self.records,
            &self.keys,
            &self.by_category,
            &self.aliases,
            &self.copies,
            &self.feeds,
            &self.feed_counts,
            &self.tombstones,
            &self.blobs,
            &self.corrected,
        )
    }

    /// The `by_category` keys of `category`'s stories, newest first, those before the date key
    /// `before` when given.
    fn newest_in(
        &self,
        category: Category,
        before: Option<[u8; 16]>,
    ) -> impl Iterator<Item = sled::Result<sled::IVec>> {
        let c = category_byte(category);
        let end = match before {
            Some(b) => [&[c][..], &b].concat(),
            None => vec![c + 1],
        };
        self.by_category.range(vec![c]..end).keys().rev()
    }

    /// The items with sequence numbers `seqs`, in that order; an index entry whose item is
    /// gone is skipped (transactions make this impossible for writes, but a reader must not
    /// fail on it). Shared: an item whose record and copies are as last read is the same `Arc`
    /// as then ([`super::decoded`]).
    fn load_shared(&self, seqs: Vec<u64>) -> Result<Vec<Arc<StoredItem>>, StoreError> {
        // Before any read: an item found unchanged is marked with a generation no newer than
        // the bytes it was compared with.
        let generation = self.generation.load(std::sync::atomic::Ordering::Acquire);
        let mut out = Vec::with_capacity(seqs.len());
        for seq in seqs {
            if let Some(item) = self.decoded.current(seq, generation) {
                out.push(item);
            } else if let Some(record) = self.records.get(seq.to_be_bytes())? {
                out.push(self.decoded.item(
                    seq,
                    generation,
                    record,
                    || self.copy_records(seq),
                    |record| self.decode_record(seq, record),
                    add_copy_records,
                )?);
            }
        }
        Ok(out)
    }

    /// The item whose record `record` is (sequence number `seq`): decoded, with its copies.
    fn complete(&self, seq: u64, record: &[u8]) -> Result<StoredItem, StoreError> {
        let mut item = self.decode_record(seq, record)?;
        self.add_copies(&mut item)?;
        Ok(item)
    }

    /// The item whose record `record` is (sequence number `seq`), without its copies.
    fn decode_record(&self, seq: u64, record: &[u8]) -> Result<StoredItem, StoreError> {
        let mut item = decode_item("", record, &self.sources).map_err(|e| record_error(seq, e))?;
        item.seq = seq;
        Ok(item)
    }

    /// [`SledStore::decode_record`] into `item`, reusing its buffers.
    fn decode_record_into(
        &self,
        seq: u64,
        record: &[u8],
        item: &mut StoredItem,
    ) -> Result<(), StoreError> {
        super::record::decode_item_into("", record, &self.sources, item)
            .map_err(|e| record_error(seq, e))?;
        item.seq = seq;
        Ok(())
    }

    /// The records with a sequence number above `after`, in order (none above `u64::MAX`).
    fn records_after(&self, after: Option<u64>) -> sled::Iter {
        match after {
            None => self.records.iter(),
            Some(u64::MAX) => self.records.range(..0u64.to_be_bytes()),
            Some(a) => self.records.range((a + 1).to_be_bytes()..),
        }
    }

    /// Adds the copies of `item` (`also_at`), when it has any.
    fn add_copies(&self, item: &mut StoredItem) -> Result<(), StoreError> {
        let copies = self.copy_records(item.seq)?;
        add_copy_records(item, &copies)
    }

    /// The records of the copies of the story stored under `key` (none for most stories: no
    /// scan then).
    fn copy_records(&self, seq: u64) -> Result<Vec<sled::IVec>, StoreError> {
        if !self.has_copies(seq) {
            return Ok(Vec::new());
        }
        Ok(self
            .copies
            .scan_prefix(seq.to_be_bytes())
            .values()
            .collect::<Result<_, _>>()?)
    }

    /// Whether the story numbered `seq` may have copies (no read when not).
    fn has_copies(&self, seq: u64) -> bool {
        self.with_copies
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .contains(&seq)
    }

    /// The record of the item stored under `key`.
    fn record_of(&self, key: &str) -> Result<Option<sled::IVec>, StoreError> {
        let Some(v) = self.keys.get(key.as_bytes())? else {
            return Ok(None);
        };
        Ok(self.records.get(seq_at_start(&v).to_be_bytes())?)
    }
    /// Gives `new` items their sequence numbers: drawn from sled's id generator above the
    /// floor, or (`keep_seq`: a store moved here by `feedsift migrate`) kept as they are, so
    /// readers' cursors stay valid, with the floor raised above them for later numbers.
    fn assign_seqs(&self, new: &mut [StoredItem], keep_seq: bool) -> Result<(), StoreError> {
        use std::sync::atomic::Ordering;
        if keep_seq {
            let preset = new.iter().map(|i| i.seq).max().unwrap_or(0);
            let floor = self.seq_floor.load(Ordering::Acquire);
            if preset >= floor {
                let meta = self.db.open_tree("meta")?;
                meta.insert("seq_floor", &(preset + 1).to_be_bytes())?;
                self.seq_floor.store(preset + 1, Ordering::Release);
            }
        } else {
            for item in new.iter_mut() {
                item.seq = self.db.generate_id()? + self.seq_floor.load(Ordering::Acquire);
            }
        }
        Ok(())
    }

    /// Adds the stories that gain copies to `with_copies`, before the transaction: a reader
    /// must never see a copy the set does not know.
    fn note_copies(&self, batch: &Batch) -> Result<(), StoreError> {
        if batch.also_at.is_empty() {
            return Ok(());
        }
        // A story may be new in this very batch (`feedsift migrate` writes stories with their
        // copies): then its number is the one just given, not yet in `keys`.
        let new: std::collections::HashMap<&str, u64> = batch
            .new
            .iter()
            .map(|item| (item.key.as_str(), item.seq))
            .collect();
        let mut seqs = Vec::with_capacity(batch.also_at.len());
        for (key, _) in &batch.also_at {
            if let Some(seq) = new.get(key.as_str()) {
                seqs.push(*seq);
            } else if let Some(v) = self.keys.get(key.as_bytes())? {
                seqs.push(seq_at_start(&v));
            }
        }
        let mut set = self.with_copies.write().unwrap_or_else(|p| p.into_inner());
        set.extend(seqs);
        Ok(())
    }
}

impl SledStore {
    /// The numbers of the items' sources ([`Sources`]), in order.
    fn source_ids<'a>(
        &self,
        items: impl Iterator<Item = &'a StoredItem>,
    ) -> Result<Vec<u32>, StoreError> {
        items
            .map(|item| self.sources.id_of(&self.sources_tree, &item.source))
            .collect()
    }

    /// One sled transaction of a commit: `batch` and, when given, a feed's encoded state.
    fn commit_part(
        &self,
        batch: &Batch,
        feed_state: Option<&(String, Vec<u8>)>,
    ) -> Result<(), StoreError> {
        let added = added_per_feed(&batch.new);
        self.note_copies(batch)?;
        // Numbered before the transaction: a new source's entry is a write of its own.
        let new_sources = self.source_ids(batch.new.iter())?;
        let updated_sources = self.source_ids(batch.updated.iter().map(|(item, _)| item))?;
        let result = self.trees().transaction(|t| {
            let tx = TxTrees::of(t);
            tx.insert_new(&batch.new, &new_sources, &added)?;
            tx.apply_updates(&batch.updated, &updated_sources)?;
            tx.record_copies(&batch.also_at)?;
            if let Some((id, state)) = feed_state {
                tx.feeds.insert(id.as_bytes(), state.as_slice())?;
            }
            for (name, bytes) in &batch.blobs {
                tx.blobs.insert(name.as_bytes(), bytes.as_slice())?;
            }
            Ok(())
        });
        result.map_err(|e| match e {
            TransactionError::Abort(e) => e,
            TransactionError::Storage(e) => StoreError::Sled(e),
        })?;
        if !touches_index(batch) {
            return Ok(());
        }
        self.titles.wrote(
            batch
                .new
                .iter()
                .chain(batch.updated.iter().map(|(item, _)| item))
                .map(|item| (item.key.as_str(), Some(title_of_item(item)))),
        );
        self.near.with(|ix| {
            for item in &batch.new {
                ix.insert(item.seq, &item.key, &item.near);
            }
            for (item, old) in &batch.updated {
                if item.near != old.near {
                    ix.remove(old.seq, &old.near);
                    ix.insert(item.seq, &item.key, &item.near);
                }
            }
        })
    }
}

/// What [`Backend::title_of`] gives for `item`: what its record says ([`title_and_core`]).
fn title_of_item(item: &StoredItem) -> TitleOf {
    TitleOf {
        title: item.item.title.clone(),
        core: item.core.clone(),
        feed_id: item.source.feed_id.clone(),
    }
}

/// Whether committing `batch` changes the near-duplicate index (new stories, edits).
fn touches_index(batch: &Batch) -> bool {
    !batch.new.is_empty() || !batch.updated.is_empty()
}

/// Entries (new stories, updates, copies) written per sled transaction. sled keeps every
/// version of every page a transaction touches until the transaction ends (one epoch guard),
/// so a transaction's memory grows with its writes times the page size: one response of
/// 20,000 new stories (about 16 writes each) in one transaction peaked at 1.2 GB. At this size
/// a transaction holds a few tens of MB.
pub const COMMIT_ENTRIES: usize = 256;

/// `batch` cut into parts of at most `max` entries — new stories first, then updates, then
/// copies, in their order — the last part holding the rest and the blobs. One part when it
/// fits.
fn split(mut batch: Batch, max: usize) -> Vec<Batch> {
    let mut parts = Vec::new();
    let max = max.max(1);
    while batch.new.len() + batch.updated.len() + batch.also_at.len() > max {
        let mut room = max;
        let n = room.min(batch.new.len());
        let new: Vec<StoredItem> = batch.new.drain(..n).collect();
        room -= n;
        let n = room.min(batch.updated.len());
        let updated: Vec<(StoredItem, StoredItem)> = batch.updated.drain(..n).collect();
        room -= n;
        let n = room.min(batch.also_at.len());
        let also_at: Vec<(String, AlsoAt)> = batch.also_at.drain(..n).collect();
        parts.push(Batch {
            new,
            updated,
            also_at,
            keep_seq: batch.keep_seq,
            blobs: Vec::new(),
        });
    }
    parts.push(batch);
    parts
}

/// Items added per feed, so a commit reads and writes each feed's count once, not per item.
fn added_per_feed(new: &[StoredItem]) -> Vec<(String, u64)> {
    let mut added: Vec<(String, u64)> = Vec::new();
    for item in new {
        match added.iter_mut().find(|(f, _)| *f == item.source.feed_id) {
            Some((_, n)) => *n += 1,
            None => added.push((item.source.feed_id.clone(), 1)),
        }
    }
    added
}

type Tt = sled::transaction::TransactionalTree;

/// The trees of one transaction ([`SledStore::trees`]), by name.
struct TxTrees<'a> {
    records: &'a Tt,
    keys: &'a Tt,
    by_category: &'a Tt,
    aliases: &'a Tt,
    copies: &'a Tt,
    feeds: &'a Tt,
    counts: &'a Tt,
    blobs: &'a Tt,
    corrected: &'a Tt,
}

impl<'a> TxTrees<'a> {
    #[allow(clippy::type_complexity)]
    fn of(t: &'a (Tt, Tt, Tt, Tt, Tt, Tt, Tt, Tt, Tt, Tt)) -> TxTrees<'a> {
        TxTrees {
            records: &t.0,
            keys: &t.1,
            by_category: &t.2,
            aliases: &t.3,
            copies: &t.4,
            feeds: &t.5,
            counts: &t.6,
            blobs: &t.8,
            corrected: &t.9,
        }
    }

    /// Writes new items with every index entry, alias and feed count.
    fn insert_new(
        &self,
        new: &[StoredItem],
        sources: &[u32],
        added: &[(String, u64)],
    ) -> Result<(), TxError> {
        for (item, source) in new.iter().zip(sources) {
            let key = item.key.as_bytes();
            let record = encode_compact(item, *source).map_err(abort)?;
            self.records.insert(&item.seq.to_be_bytes(), record)?;
            self.keys.insert(key, &key_value(item)[..])?;
            self.by_category.insert(category_key(item), &[])?;
            if let Some(k) = &item.link_alias {
                self.aliases.insert(k.as_bytes(), key)?;
            }
        }
        for (feed, n_added) in added {
            let n = self.counts.get(feed.as_bytes())?.map_or(0, |v| be_u64(&v));
            self.counts
                .insert(feed.as_bytes(), &(n + n_added).to_be_bytes())?;
        }
        Ok(())
    }

    /// Rewrites edited stories, moving their date and category entries when those changed; a
    /// corrected story keeps the admin's label.
    fn apply_updates(
        &self,
        updated: &[(StoredItem, StoredItem)],
        sources: &[u32],
    ) -> Result<(), TxError> {
        for ((item, old), source) in updated.iter().zip(sources) {
            let key = item.key.as_bytes();
            let kept;
            let item = match self.corrected.get(key)?.and_then(|b| category_of(&b)) {
                Some(label) => {
                    kept = super::relabelled(item.clone(), label);
                    &kept
                }
                None => item,
            };
            let record = encode_compact(item, *source).map_err(abort)?;
            self.records.insert(&item.seq.to_be_bytes(), record)?;
            if date_key(item) != date_key(old) || item.class.category != old.class.category {
                self.by_category.remove(category_key(old))?;
                self.by_category.insert(category_key(item), &[])?;
            }
            // `keys` holds the sequence number alone, which an edit keeps; the index keys are
            // in the record just written.
        }
        Ok(())
    }

    /// Records each copy once, and only for a story still stored; a recorded copy's own key
    /// becomes an alias of the story.
    fn record_copies(&self, also_at: &[(String, AlsoAt)]) -> Result<(), TxError> {
        for (key, copy) in also_at {
            // Only for a story still stored.
            let Some(v) = self.keys.get(key.as_bytes())? else {
                continue;
            };
            let ck = copy_key(seq_at_start(&v), copy);
            if self.copies.get(&ck)?.is_some() {
                continue;
            }
            if let Some(k) = &copy.key {
                self.aliases.insert(k.as_bytes(), key.as_bytes())?;
            }
            self.copies.insert(ck, encode(key, copy).map_err(abort)?)?;
        }
        Ok(())
    }
}

impl Backend for SledStore {
    fn describe(&self) -> String {
        "sled".to_string()
    }

    /// Taken by the deduplicator around "decide, then commit"; see the field's docs.
    fn lock_ingest(&self) -> Result<IngestGuard<'_>, StoreError> {
        Ok(IngestGuard::new(
            self.ingest.lock().unwrap_or_else(|p| p.into_inner()),
        ))
    }

    /// The item stored under `key`, with its copies.
    fn get(&self, key: &str) -> Result<Option<StoredItem>, StoreError> {
        let Some(record) = self.record_of(key)? else {
            return Ok(None);
        };
        let mut item = decode_item(key, &record, &self.sources)?;
        self.add_copies(&mut item)?;
        Ok(Some(item))
    }

    /// From [`Titles`] when the story was written or read lately, else from its record.
    fn title_of(&self, key: &str) -> Result<Option<TitleOf>, StoreError> {
        if let Some(title) = self.titles.get(key) {
            return Ok(Some(title));
        }
        let stamp = self.titles.stamp();
        match self.record_of(key)? {
            Some(record) => {
                let title = title_and_core(key, &record, &self.sources)?;
                self.titles.fill(key, &title, stamp);
                Ok(Some(title))
            }
            None => Ok(None),
        }
    }

    /// Whether `key` names a stored item, directly or as an alias; reads no record.
    fn contains(&self, key: &str) -> Result<bool, StoreError> {
        Ok(self.keys.contains_key(key.as_bytes())? || self.aliases.contains_key(key.as_bytes())?)
    }

    /// The item `key` names, directly or as an alias of a merged near-duplicate.
    fn resolve(&self, key: &str) -> Result<Option<StoredItem>, StoreError> {
        if let Some(item) = self.get(key)? {
            return Ok(Some(item));
        }
        match self.aliases.get(key.as_bytes())? {
            Some(target) => self.get(&String::from_utf8_lossy(&target)),
            None => Ok(None),
        }
    }

    /// Whether `key` belonged to an item removed by retention (so it is not stored again).
    fn is_tombstoned(&self, key: &str) -> Result<bool, StoreError> {
        Ok(self.tombstones.contains_key(key.as_bytes())?)
    }

    /// The newest `per_key` entries of each key's bucket: a few key reads, never a scan,
    /// however many look-alikes the store holds.
    /// Answered from memory ([`super::near_mem`]): no read of the disk.
    fn near_hits(&self, keys: &[u64], per_key: usize) -> Result<Vec<NearHit>, StoreError> {
        self.near.with(|ix| ix.hits(keys, per_key))
    }

    fn near_hits_many(
        &self,
        sigs: &[Vec<u64>],
        per_key: usize,
    ) -> Result<Vec<Vec<NearHit>>, StoreError> {
        self.near
            .with(|ix| sigs.iter().map(|s| ix.hits(s, per_key)).collect())
    }

    /// Commits one response: `batch` and, when given, the feed's new state, in one transaction
    /// — or, for a response of more than [`COMMIT_ENTRIES`] entries, in several, the feed's
    /// state and the blobs in the last (see the module docs).
    fn commit(&self, batch: Batch, feed: Option<(&str, &FeedState)>) -> Result<(), StoreError> {
        let writes_items = !batch.is_empty();
        // No item is written while the index is being built from the items written; a commit of
        // feed states, copies and blobs alone (every 304 of a warm poll) does not wait for it.
        if touches_index(&batch) {
            self.near.with(|_| ())?;
        }
        let mut batch = batch;
        self.assign_seqs(&mut batch.new, batch.keep_seq)?;
        let feed_state = match feed {
            Some((id, st)) => Some((id.to_string(), encode(id, st)?)),
            None => None,
        };
        let mut parts = split(batch, COMMIT_ENTRIES);
        let last = parts.pop().unwrap_or_default();
        for part in &parts {
            self.commit_part(part, None)?;
        }
        self.commit_part(&last, feed_state.as_ref())?;
        if writes_items {
            self.generation
                .fetch_add(1, std::sync::atomic::Ordering::Release);
        }
        Ok(())
    }

    fn blobs(&self, prefix: &str) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let mut out = Vec::new();
        for entry in self.blobs.scan_prefix(prefix.as_bytes()) {
            let (k, v) = entry?;
            out.push((String::from_utf8_lossy(&k).into_owned(), v.to_vec()));
        }
        Ok(out)
    }

    /// A number that changes whenever stored items do (not when only feed states do).
    fn generation(&self) -> u64 {
        self.generation.load(std::sync::atomic::Ordering::Acquire)
    }

    fn generation_if_known(&self) -> Option<u64> {
        Some(self.generation())
    }

    /// One transaction: the correction, the label the item keeps, its record and its category
    /// index entry.
    fn correct(
        &self,
        key: &str,
        label: Category,
        by: &str,
        at: DateTime<Utc>,
    ) -> Result<Option<Correction>, StoreError> {
        let _guard = self.lock_ingest()?;
        let Some(old) = self.resolve(key)? else {
            return Ok(None);
        };
        let id = match self.corrections.last()? {
            Some((k, _)) => be_u64(&k) + 1,
            None => 1,
        };
        let correction = Correction::of(&old, id, label, by, at);
        let record = encode(&correction.key, &correction)?;
        let item = super::corrected_at(old.clone(), label, at);
        let bytes = encode_compact(&item, self.sources.id_of(&self.sources_tree, &item.source)?)?;
        let r = (
            &self.records,
            &self.by_category,
            &self.corrections,
            &self.corrected,
        )
            .transaction(|(records, by_category, corrections, corrected)| {
                let k = item.key.as_bytes();
                records.insert(&item.seq.to_be_bytes(), bytes.as_slice())?;
                by_category.remove(category_key(&old))?;
                by_category.insert(category_key(&item), &[])?;
                corrections.insert(&id.to_be_bytes(), record.as_slice())?;
                corrected.insert(k, &[category_byte(label)])?;
                Ok::<_, TxError>(())
            });
        r.map_err(|e| match e {
            TransactionError::Abort(e) => e,
            TransactionError::Storage(e) => StoreError::Sled(e),
        })?;
        self.titles.wrote([(item.key.as_str(), None)]);
        self.generation
            .fetch_add(1, std::sync::atomic::Ordering::Release);
        Ok(Some(correction))
    }

    fn corrections(
        &self,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<Correction>, StoreError> {
        let iter = match before {
            Some(b) => self.corrections.range(..b.to_be_bytes()),
            None => self.corrections.iter(),
        };
        let mut out = Vec::new();
        for entry in iter.rev().take(limit) {
            let (k, v) = entry?;
            out.push(decode(&format!("correction {}", be_u64(&k)), &v)?);
        }
        Ok(out)
    }

    fn put_corrections(&self, corrections: &[Correction]) -> Result<(), StoreError> {
        let mut sorted: Vec<&Correction> = corrections.iter().collect();
        sorted.sort_by_key(|c| c.id);
        for c in sorted {
            let k = c.id.to_be_bytes();
            if self.corrections.contains_key(k)? {
                continue;
            }
            self.corrections.insert(k, encode(&c.key, c)?)?;
            self.corrected
                .insert(c.key.as_bytes(), &[category_byte(c.label)])?;
        }
        Ok(())
    }

    fn page_by_date(
        &self,
        category: Option<Category>,
        before: Option<[u8; 16]>,
        limit: usize,
    ) -> Result<Vec<Arc<StoredItem>>, StoreError> {
        let seqs: Vec<u64> = match category {
            Some(category) => self
                .newest_in(category, before)
                .take(limit)
                .map(|r| r.map(|k| seq_at_end(&k)))
                .collect::<Result<_, _>>()?,
            None => {
                // Each category's range is in date order, so their merge is the date order of
                // all stories: the newest first of every range, then the next, by date key.
                let mut ranges: Vec<_> = Category::ALL
                    .iter()
                    .map(|c| self.newest_in(*c, before).peekable())
                    .collect();
                let mut seqs = Vec::with_capacity(limit.min(1024));
                while seqs.len() < limit {
                    let mut newest: Option<(usize, &[u8])> = None;
                    for (i, range) in ranges.iter_mut().enumerate() {
                        if matches!(range.peek(), Some(Err(_))) {
                            if let Some(Err(e)) = range.next() {
                                return Err(e.into());
                            }
                        }
                        if let Some(Ok(k)) = range.peek() {
                            if newest.is_none_or(|(_, n)| k[1..] > *n) {
                                newest = Some((i, &k[1..]));
                            }
                        }
                    }
                    let Some((i, _)) = newest else { break };
                    if let Some(Ok(k)) = ranges[i].next() {
                        seqs.push(seq_at_end(&k));
                    }
                }
                seqs
            }
        };
        self.load_shared(seqs)
    }

    fn page_by_seq(&self, after: Option<u64>, limit: usize) -> Result<Vec<StoredItem>, StoreError> {
        let mut out = Vec::with_capacity(limit.min(1024));
        for entry in self.records_after(after).take(limit) {
            let (k, record) = entry?;
            out.push(self.complete(be_u64(&k), &record)?);
        }
        Ok(out)
    }

    /// Decodes every item into one buffer ([`super::record::decode_item_into`]), lent to `each`.
    fn visit_by_seq(
        &self,
        after: Option<u64>,
        limit: usize,
        each: &mut dyn FnMut(&StoredItem) -> ControlFlow<()>,
    ) -> Result<usize, StoreError> {
        let (mut buf, mut lent) = (None::<StoredItem>, 0);
        for entry in self.records_after(after).take(limit) {
            let (k, record) = entry?;
            let seq = be_u64(&k);
            let item = match &mut buf {
                Some(item) => {
                    self.decode_record_into(seq, &record, item)?;
                    item
                }
                None => buf.insert(self.decode_record(seq, &record)?),
            };
            self.add_copies(item)?;
            lent += 1;
            if each(item).is_break() {
                break;
            }
        }
        Ok(lent)
    }

    fn page_by_seq_desc(
        &self,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<StoredItem>, StoreError> {
        let iter = match before {
            Some(b) => self.records.range(..b.to_be_bytes()),
            None => self.records.iter(),
        };
        let mut out = Vec::with_capacity(limit.min(1024));
        for entry in iter.rev().take(limit) {
            let (k, record) = entry?;
            out.push(self.complete(be_u64(&k), &record)?);
        }
        Ok(out)
    }

    /// Number of stored items: the sum of the per-feed counts the commits and retention keep
    /// (one small record per feed), not a scan of the items (sled's `len` reads every record,
    /// seconds at a million items — and `/metrics` asks on every scrape).
    fn len(&self) -> Result<u64, StoreError> {
        stories_counted(&self.feed_counts)
    }

    /// Whether the store holds no items.
    fn is_empty(&self) -> Result<bool, StoreError> {
        Ok(self.records.is_empty())
    }

    /// Number of items first stored from `feed_id` (and not yet pruned).
    fn items_of_feed(&self, feed_id: &str) -> Result<u64, StoreError> {
        Ok(self
            .feed_counts
            .get(feed_id.as_bytes())?
            .map_or(0, |v| be_u64(&v)))
    }

    /// The stored state of a feed (default if never polled).
    fn feed_state(&self, feed_id: &str) -> Result<FeedState, StoreError> {
        match self.feeds.get(feed_id.as_bytes())? {
            Some(v) => serde_json::from_slice(&v).map_err(|e| StoreError::Corrupt {
                key: format!("feed {feed_id}"),
                message: e.to_string(),
            }),
            None => Ok(FeedState::default()),
        }
    }

    /// Saves the state of a feed on its own (a failed poll, which writes no item).
    fn put_feed_state(&self, feed_id: &str, state: &FeedState) -> Result<(), StoreError> {
        self.feeds
            .insert(feed_id.as_bytes(), encode(feed_id, state)?)?;
        Ok(())
    }

    /// Removes items first seen more than `retention` before `now`, then the oldest beyond
    /// `max_items`, each with all its index entries, leaving a tombstone per key; and forgets
    /// tombstones older than `retention`.
    ///
    /// Age counts from when feedsift first stored an item, not from its published date: a feed
    /// first polled today whose entries are two years old still shows them.
    fn prune(
        &self,
        now: DateTime<Utc>,
        retention: Duration,
        max_items: Option<usize>,
    ) -> Result<PruneStats, StoreError> {
        let _guard = self.lock_ingest()?;
        let cutoff = now - chrono::Duration::from_std(retention).unwrap_or(chrono::Duration::MAX);
        let doomed = super::doomed_by_retention(self, now, retention, max_items)?;
        if !doomed.is_empty() {
            // Items leave the index as they leave the store: not while it is being built.
            self.near.with(|_| ())?;
        }
        let mut stats = PruneStats::default();
        let stamp = (now.timestamp() as u64).to_be_bytes();
        for chunk in doomed.chunks(256) {
            let r = self.trees().transaction(
                |(
                    records,
                    keys,
                    by_category,
                    aliases,
                    copies,
                    _feeds,
                    counts,
                    tombs,
                    _blobs,
                    _corrected,
                )| {
                    for item in chunk {
                        records.remove(&item.seq.to_be_bytes())?;
                        keys.remove(item.key.as_bytes())?;
                        by_category.remove(category_key(item))?;
                        tombs.insert(item.key.as_bytes(), &stamp)?;
                        if let Some(k) = &item.link_alias {
                            aliases.remove(k.as_bytes())?;
                        }
                        for a in &item.also_at {
                            copies.remove(copy_key(item.seq, a))?;
                            if let Some(k) = &a.key {
                                aliases.remove(k.as_bytes())?;
                                tombs.insert(k.as_bytes(), &stamp)?;
                            }
                        }
                        let feed = item.source.feed_id.as_bytes();
                        let n = counts.get(feed)?.map_or(0, |v| be_u64(&v));
                        counts.insert(feed, &n.saturating_sub(1).to_be_bytes())?;
                    }
                    Ok::<_, TxError>(())
                },
            );
            r.map_err(|e| match e {
                TransactionError::Abort(e) => e,
                TransactionError::Storage(e) => StoreError::Sled(e),
            })?;
            self.titles
                .wrote(chunk.iter().map(|item| (item.key.as_str(), None)));
            self.near.with(|ix| {
                for item in chunk {
                    ix.remove(item.seq, &item.near);
                }
            })?;
            stats.items += chunk.len();
            self.generation
                .fetch_add(1, std::sync::atomic::Ordering::Release);
        }
        let tomb_cutoff = cutoff.timestamp().max(0) as u64;
        for entry in self.tombstones.iter() {
            let (k, v) = entry?;
            if be_u64(&v) < tomb_cutoff {
                self.tombstones.remove(k)?;
                stats.tombstones += 1;
            }
        }
        Ok(stats)
    }

    fn all_feed_states(&self) -> Result<Vec<(String, FeedState)>, StoreError> {
        let mut out = Vec::new();
        for entry in self.feeds.iter() {
            let (k, v) = entry?;
            let id = String::from_utf8_lossy(&k).into_owned();
            let state = serde_json::from_slice(&v).map_err(|e| StoreError::Corrupt {
                key: format!("feed {id}"),
                message: e.to_string(),
            })?;
            out.push((id, state));
        }
        Ok(out)
    }

    fn tombstones(&self) -> Result<Vec<(String, u64)>, StoreError> {
        let mut out = Vec::new();
        for entry in self.tombstones.iter() {
            let (k, v) = entry?;
            out.push((String::from_utf8_lossy(&k).into_owned(), be_u64(&v)));
        }
        Ok(out)
    }

    fn put_tombstones(&self, tombstones: &[(String, u64)]) -> Result<(), StoreError> {
        let mut batch = sled::Batch::default();
        for (k, stamp) in tombstones {
            batch.insert(k.as_bytes(), &stamp.to_be_bytes());
        }
        self.tombstones.apply_batch(batch)?;
        Ok(())
    }

    /// One process holds a sled store (sled locks the directory), and the scheduler never runs a
    /// feed twice at once, so every claim is this process's own.
    fn claim(
        &self,
        _feed_id: &str,
        _slot: DateTime<Utc>,
        _owner: &str,
        _lease: Duration,
        _now: DateTime<Utc>,
    ) -> Result<Claim, StoreError> {
        Ok(Claim::Mine)
    }

    fn renew(
        &self,
        _feed_id: &str,
        _owner: &str,
        _lease: Duration,
        _now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        Ok(true)
    }

    fn finish(
        &self,
        _feed_id: &str,
        _slot: DateTime<Utc>,
        _owner: &str,
        _now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        Ok(())
    }

    /// Writes everything to disk; called on shutdown and at the end of `poll --once`.
    fn flush(&self) -> Result<(), StoreError> {
        self.db.flush()?;
        Ok(())
    }

    /// Bytes the database occupies on disk.
    fn size_on_disk(&self) -> Result<u64, StoreError> {
        Ok(self.db.size_on_disk()?)
    }

    /// Entries per tree, for `docs/STORAGE.md` figures and tests of index hygiene.
    fn tree_sizes(&self) -> Vec<(&'static str, usize)> {
        vec![
            ("items", self.records.len()),
            ("keys", self.keys.len()),
            ("by_category", self.by_category.len()),
            ("near", self.near.with(|ix| ix.entries()).unwrap_or(0)),
            ("aliases", self.aliases.len()),
            ("copies", self.copies.len()),
            ("tombstones", self.tombstones.len()),
            ("feeds", self.feeds.len()),
            ("corrections", self.corrections.len()),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Classification, Item, SourceRef};
    use crate::store::Store;
    use chrono::TimeZone;

    fn stored(key: &str, title: &str, day: u32, cat: Category) -> StoredItem {
        let item = Item {
            guid: Some(key.into()),
            published: Some(Utc.with_ymd_and_hms(2024, 1, day, 0, 0, 0).unwrap()),
            ..Item::titled("f", title)
        };
        StoredItem {
            key: key.into(),
            seq: 0,
            first_seen: Utc.with_ymd_and_hms(2024, 2, 1, 0, 0, 0).unwrap(),
            changed: None,
            digest: item.content_digest(),
            source: SourceRef {
                feed_id: "f".into(),
                title: "F".into(),
                url: "http://f/".into(),
            },
            clean_title: title.into(),
            core: String::new(),
            near: crate::dedup::near::signature(title),
            item,
            class: Classification {
                category: cat,
                confidence: 0.5,
                runner_up: None,
                regions: vec![],
            },
            also_at: vec![],
            link_alias: None,
        }
    }

    /// Opens the store in `dir` once sled has released the lock of a handle just dropped
    /// (which can take longer than `open`'s own wait on a loaded machine).
    fn open_when_free(dir: &Path, compress_new: bool) -> Result<Store, StoreError> {
        for _ in 0..100 {
            match Store::open_with(dir, 8 << 20, compress_new) {
                Err(StoreError::Locked { .. }) => {
                    std::thread::sleep(std::time::Duration::from_millis(20))
                }
                other => return other,
            }
        }
        Store::open_with(dir, 8 << 20, compress_new)
    }

    #[test]
    fn a_big_response_is_cut_into_parts_in_order_with_the_rest_last() {
        let new: Vec<StoredItem> = (0..5)
            .map(|i| stored(&format!("k{i}"), &format!("Story {i}"), 1, Category::Other))
            .collect();
        let copy = |i: usize| {
            let c = AlsoAt {
                source: new[0].source.clone(),
                link: Some(format!("http://c/{i}")),
                title: "t".into(),
                key: None,
                seen: new[0].first_seen,
            };
            (format!("k{i}"), c)
        };
        let batch = Batch {
            updated: vec![(new[0].clone(), new[0].clone())],
            also_at: vec![copy(1), copy(2)],
            blobs: vec![("b".into(), vec![1])],
            new: new.clone(),
            keep_seq: false,
        };
        let parts = split(batch, 3);
        let sizes: Vec<(usize, usize, usize, usize)> = parts
            .iter()
            .map(|p| (p.new.len(), p.updated.len(), p.also_at.len(), p.blobs.len()))
            .collect();
        assert_eq!(sizes, vec![(3, 0, 0, 0), (2, 1, 0, 0), (0, 0, 2, 1)]);
        let keys: Vec<&str> = parts
            .iter()
            .flat_map(|p| &p.new)
            .map(|i| i.key.as_str())
            .collect();
        assert_eq!(keys, ["k0", "k1", "k2", "k3", "k4"]);
        let one = split(
            Batch {
                new,
                ..Batch::default()
            },
            5,
        );
        assert_eq!(one.len(), 1);
        assert_eq!(one[0].new.len(), 5);
    }

    #[test]
    fn a_response_larger_than_a_transaction_is_stored_whole_with_its_feed_state() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), 8 << 20).unwrap();
        let n = COMMIT_ENTRIES * 2 + 7;
        let new: Vec<StoredItem> = (0..n)
            .map(|i| {
                stored(
                    &format!("k{i}"),
                    &format!("Story number {i}"),
                    1,
                    Category::Other,
                )
            })
            .collect();
        let state = FeedState {
            etag: Some("\"v2\"".into()),
            ..FeedState::default()
        };
        store
            .commit(
                Batch {
                    new,
                    ..Batch::default()
                },
                Some(("f", &state)),
            )
            .unwrap();
        assert_eq!(store.len().unwrap(), n);
        assert_eq!(store.backend().feed_state("f").unwrap().etag, state.etag);
        assert!(store
            .backend()
            .get(&format!("k{}", n - 1))
            .unwrap()
            .is_some());
    }

    #[test]
    fn a_second_open_is_refused_with_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let _s = Store::open(dir.path(), 8 << 20).unwrap();
        let e = Store::open(dir.path(), 8 << 20).unwrap_err();
        assert!(matches!(e, StoreError::Locked { .. }), "{e}");
        assert!(e.to_string().contains("in use by another feedsift process"));
    }

    #[test]
    fn another_schema_version_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        {
            let db = sled::open(dir.path()).unwrap();
            db.open_tree("meta")
                .unwrap()
                .insert("schema", &1u64.to_be_bytes())
                .unwrap();
            db.flush().unwrap();
        }
        let e = open_when_free(dir.path(), false).unwrap_err();
        assert!(
            e.to_string().contains("schema version 1") && e.to_string().contains("older feedsift"),
            "{e}"
        );
    }

    #[test]
    fn a_schema_2_store_is_migrated_through_3_and_its_near_index_still_finds() {
        let dir = tempfile::tempdir().unwrap();
        let a = stored(
            "a",
            "成都市开展基层矛盾纠纷调解专项行动",
            1,
            Category::Other,
        );
        {
            let s = SledStore::open(dir.path(), 8 << 20, crate::dedup::index::reindex).unwrap();
            s.commit(
                Batch {
                    new: vec![a.clone()],
                    ..Batch::default()
                },
                None,
            )
            .unwrap();
            // Rewrite it as schema 2 wrote it: `near`, oldest first, bands only (no exact-core
            // key, in the index or the record).
            let mut record = s.get("a").unwrap().unwrap();
            let seq = record.seq;
            record.near.truncate(crate::dedup::near::BANDS);
            as_schema_6(&s);
            s.db.open_tree("items")
                .unwrap()
                .insert("a", encode("a", &record).unwrap())
                .unwrap();
            let old = s.db.open_tree("near").unwrap();
            for (band, hash) in record.near.iter().enumerate() {
                let mut k = vec![band as u8];
                k.extend_from_slice(&hash.to_be_bytes());
                k.extend_from_slice(&seq.to_be_bytes());
                k.extend_from_slice(b"a");
                old.insert(k, &[]).unwrap();
            }
            // Before schema 6, `by_seq` held the key alone.
            s.db.open_tree("by_seq")
                .unwrap()
                .insert(seq.to_be_bytes(), "a")
                .unwrap();
            s.db.open_tree("meta")
                .unwrap()
                .insert("schema", &2u64.to_be_bytes())
                .unwrap();
            s.db.flush().unwrap();
        }
        let s = SledStore::open(dir.path(), 8 << 20, crate::dedup::index::reindex).unwrap();
        assert_eq!(crate::dedup::index::candidates(&s, &a.near).unwrap(), ["a"]);
        for gone in ["near", NEAR_TREE, "items", "by_seq"] {
            assert!(!s
                .db
                .tree_names()
                .iter()
                .any(|n| n.as_ref() == gone.as_bytes()));
        }
        // Schema 3 → 4 added the exact-core key to the index and to the record (so that
        // removing the item removes it too); a decorated copy finds the item by it alone.
        assert_eq!(s.get("a").unwrap().unwrap().near, a.near);
        assert_eq!(
            s.near.with(|ix| ix.entries()).unwrap(),
            a.near.iter().filter(|h| **h != 0).count()
        );
        let twin = crate::dedup::near::signature("【今日热讯】成都市开展基层矛盾纠纷调解专项行动");
        let core_only: Vec<u64> = (0..twin.len())
            .map(|i| {
                if i == crate::dedup::near::CORE_KEY {
                    twin[i]
                } else {
                    0
                }
            })
            .collect();
        assert_eq!(
            crate::dedup::index::candidates(&s, &core_only).unwrap(),
            ["a"]
        );
        let schema =
            s.db.open_tree("meta")
                .unwrap()
                .get("schema")
                .unwrap()
                .unwrap();
        assert_eq!(be_u64(&schema), SCHEMA_VERSION);
    }

    /// Stories with look-alike titles (they share band buckets), some edited, some pruned.
    fn look_alikes(n: u32) -> Vec<StoredItem> {
        (0..n)
            .map(|i| {
                stored(
                    &format!("k{i}"),
                    &format!("Story number {i} about the markets today"),
                    1 + i % 28,
                    Category::Finance,
                )
            })
            .collect()
    }

    fn all_hits(s: &SledStore, items: &[StoredItem]) -> Vec<Vec<(String, u64, usize)>> {
        items
            .iter()
            .map(|i| {
                s.near_hits(&i.near, 8)
                    .unwrap()
                    .into_iter()
                    .map(|h| (h.key, h.seq, h.index))
                    .collect()
            })
            .collect()
    }

    #[test]
    fn the_near_index_rebuilt_at_open_answers_as_the_one_kept_while_writing() {
        let dir = tempfile::tempdir().unwrap();
        let items = look_alikes(40);
        let before = {
            let s = holding(dir.path(), &items);
            // An edit that changes an item's keys keeps its place (its sequence number).
            let old = s.get("k3").unwrap().unwrap();
            let mut edited = old.clone();
            edited.item.title = "A wholly different headline on another subject".into();
            edited.near = crate::dedup::near::signature(&edited.item.title);
            s.commit(
                Batch {
                    updated: vec![(edited.clone(), old)],
                    ..Batch::default()
                },
                None,
            )
            .unwrap();
            let hits = all_hits(&s, &items);
            assert!(
                hits[5].len() > 8,
                "look-alikes share buckets: {:?}",
                hits[5]
            );
            assert_eq!(s.near_hits(&edited.near, 8).unwrap()[0].key, "k3");
            s.flush().unwrap();
            hits
        };
        let s = open_when_free_sled(dir.path());
        assert_eq!(all_hits(&s, &items), before);
    }

    fn open_when_free_sled(dir: &Path) -> SledStore {
        SledStore::open(dir, 8 << 20, crate::dedup::index::reindex).unwrap()
    }

    /// A store in `dir` holding `items`, committed as one response.
    fn holding(dir: &Path, items: &[StoredItem]) -> SledStore {
        let s = open_when_free_sled(dir);
        s.commit(
            Batch {
                new: items.to_vec(),
                ..Batch::default()
            },
            None,
        )
        .unwrap();
        s
    }

    #[test]
    fn a_schema_5_store_moves_its_near_index_into_memory_and_the_move_is_restartable() {
        let dir = tempfile::tempdir().unwrap();
        let items = look_alikes(30);
        let expected = {
            let s = holding(dir.path(), &items);
            let hits = all_hits(&s, &items);
            // Rewrite it as schema 5 had it: plain keys in `by_seq`, the index on disk.
            let first = s.page_by_seq(None, 1).unwrap();
            as_schema_6(&s);
            let by_seq = s.db.open_tree("by_seq").unwrap();
            let tree = s.db.open_tree(NEAR_TREE).unwrap();
            for entry in by_seq.iter() {
                let (k, v) = entry.unwrap();
                let near = seq_value_near(&v);
                let key = String::from_utf8(seq_value_key(&v).to_vec()).unwrap();
                for (i, h) in indexed(&near) {
                    tree.insert(band_key(i, *h, be_u64(&k), &key), &[]).unwrap();
                }
                by_seq.insert(k, key.as_bytes()).unwrap();
            }
            // Half-migrated, as a crash would leave it: some values carry their keys already.
            by_seq
                .insert(first[0].seq.to_be_bytes(), seq_value(&first[0]))
                .unwrap();
            s.db.open_tree("meta")
                .unwrap()
                .insert("schema", &5u64.to_be_bytes())
                .unwrap();
            s.flush().unwrap();
            hits
        };
        let s = open_when_free_sled(dir.path());
        assert_eq!(all_hits(&s, &items), expected);
        assert!(!s
            .db
            .tree_names()
            .iter()
            .any(|n| n.as_ref() == NEAR_TREE.as_bytes()));
        assert_eq!(s.keys.len(), items.len());
        let paged = s.page_by_seq(None, 100).unwrap();
        assert_eq!(paged.len(), items.len());
        for (read, written) in paged.iter().zip(&items) {
            assert_eq!((&read.key, &read.near), (&written.key, &written.near));
        }
    }

    /// Rewrites the items of `s` (schema 7) as schema 6 laid them out: records by key in
    /// `items` (with their index keys), `by_seq` (sequence number → key and index keys), item
    /// keys in the values of `by_date` and `by_category`; `records` and `keys` emptied.
    fn as_schema_6(s: &SledStore) {
        let items = s.db.open_tree("items").unwrap();
        let by_seq = s.db.open_tree("by_seq").unwrap();
        for item in s.page_by_seq(None, usize::MAX).unwrap() {
            let key = item.key.as_bytes();
            items.insert(key, encode_item(&item).unwrap()).unwrap();
            by_seq
                .insert(item.seq.to_be_bytes(), seq_value(&item))
                .unwrap();
            s.db.open_tree("by_date")
                .unwrap()
                .insert(&date_key(&item)[..], key)
                .unwrap();
            s.by_category.insert(category_key(&item), key).unwrap();
        }
        s.records.clear().unwrap();
        s.keys.clear().unwrap();
        s.db.open_tree("meta")
            .unwrap()
            .insert("schema", &6u64.to_be_bytes())
            .unwrap();
    }

    #[test]
    fn a_schema_6_store_is_rekeyed_by_sequence_number_and_the_move_is_restartable() {
        let dir = tempfile::tempdir().unwrap();
        let items = look_alikes(30);
        let (expected, newest) = {
            let s = holding(dir.path(), &items);
            let newest: Vec<Arc<StoredItem>> = s.page_by_date(None, None, 100).unwrap();
            let finance = s.page_by_date(Some(Category::Finance), None, 100).unwrap();
            assert_eq!(finance, newest);
            let hits = all_hits(&s, &items);
            as_schema_6(&s);
            // Half-migrated, as a crash would leave it: one item already moved.
            let first = &newest[7];
            s.records
                .insert(first.seq.to_be_bytes(), encode_item(first).unwrap())
                .unwrap();
            s.keys
                .insert(first.key.as_bytes(), &key_value(first)[..])
                .unwrap();
            s.flush().unwrap();
            (hits, newest)
        };
        let s = open_when_free_sled(dir.path());
        assert_eq!(all_hits(&s, &items), expected);
        assert_eq!(s.page_by_date(None, None, 100).unwrap(), newest);
        assert_eq!(
            s.page_by_date(Some(Category::Finance), None, 100).unwrap(),
            newest
        );
        assert_eq!(
            s.get("k3").unwrap().as_ref(),
            newest.iter().find(|i| i.key == "k3").map(|v| &**v)
        );
        for gone in ["items", "by_seq", "by_date"] {
            assert!(!s
                .db
                .tree_names()
                .iter()
                .any(|n| n.as_ref() == gone.as_bytes()));
        }
        assert!(s.by_category.iter().values().all(|v| v.unwrap().is_empty()));
        let schema = s.db.open_tree("meta").unwrap().get("schema").unwrap();
        assert_eq!(be_u64(&schema.unwrap()), SCHEMA_VERSION);
    }

    #[test]
    fn a_schema_7_store_gets_compact_records_and_the_move_is_restartable() {
        use super::super::record::{BINARY_V1, BINARY_V2};
        let dir = tempfile::tempdir().unwrap();
        let items = look_alikes(30);
        let (before, hits) = {
            let s = holding(dir.path(), &items);
            // Two stories with copies (one with two), and a copy of a story since removed.
            let copy = |feed: &str| AlsoAt {
                source: crate::model::SourceRef {
                    feed_id: feed.into(),
                    title: format!("Feed {feed}"),
                    url: format!("http://example.com/{feed}.xml"),
                },
                link: Some(format!("http://example.com/{feed}/1")),
                title: "a copy".into(),
                key: None,
                seen: items[0].first_seen,
            };
            let also_at = vec![
                ("k2".to_string(), copy("x")),
                ("k2".to_string(), copy("y")),
                ("k4".to_string(), copy("x")),
            ];
            s.commit(
                Batch {
                    also_at: also_at.clone(),
                    ..Batch::default()
                },
                None,
            )
            .unwrap();
            let before = s.page_by_seq(None, 100).unwrap();
            // As schema 7 kept copies: by story key, in `copies`.
            let old = s.db.open_tree("copies").unwrap();
            for item in &before {
                for a in &item.also_at {
                    old.insert(copy_key_v7(&item.key, a), encode(&item.key, a).unwrap())
                        .unwrap();
                    s.copies.remove(copy_key(item.seq, a)).unwrap();
                }
            }
            old.insert(copy_key_v7("gone", &copy("z")), &b"{}"[..])
                .unwrap();
            assert_eq!(before.iter().map(|i| i.also_at.len()).sum::<usize>(), 3);
            let hits = all_hits(&s, &items);
            // As schema 7 wrote them: records in version 1, index keys in `keys` too. Half
            // migrated, as a crash would leave it: the first five records already compact.
            for (n, item) in before.iter().enumerate() {
                let record = if n < 5 {
                    let source = s.sources.id_of(&s.sources_tree, &item.source).unwrap();
                    encode_compact(item, source).unwrap()
                } else {
                    encode_item(item).unwrap()
                };
                s.records.insert(item.seq.to_be_bytes(), record).unwrap();
                let mut v = item.seq.to_be_bytes().to_vec();
                v.extend(item.near.iter().flat_map(|h| h.to_be_bytes()));
                s.keys.insert(item.key.as_bytes(), v).unwrap();
            }
            s.db.open_tree("meta")
                .unwrap()
                .insert("schema", &7u64.to_be_bytes())
                .unwrap();
            s.flush().unwrap();
            (before, hits)
        };
        let s = open_when_free_sled(dir.path());
        let schema = s.db.open_tree("meta").unwrap().get("schema").unwrap();
        assert_eq!(be_u64(&schema.unwrap()), SCHEMA_VERSION);
        assert!(s
            .records
            .iter()
            .values()
            .all(|v| v.unwrap()[0] == BINARY_V2));
        // Every `keys` value the migration rewrote holds the sequence number alone; the five
        // it skipped still carry their index keys, read by their first eight bytes.
        let long = s
            .keys
            .iter()
            .values()
            .filter(|v| v.as_ref().unwrap().len() > 8);
        assert_eq!(long.count(), 5);
        // The same items, the same lookups, the same near-duplicate index (built from records).
        assert_eq!(s.page_by_seq(None, 100).unwrap(), before);
        // The copies moved under their stories' sequence numbers; the orphan did not.
        assert_eq!(s.copies.len(), 3);
        assert!(!s.db.tree_names().iter().any(|n| n.as_ref() == b"copies"));
        assert_eq!(
            s.get("k7").unwrap().as_ref(),
            before.iter().find(|i| i.key == "k7")
        );
        assert_eq!(all_hits(&s, &items), hits);
        // An older record still reads, should one be left (a store copied back and forth).
        let old = &before[9];
        s.records
            .insert(old.seq.to_be_bytes(), encode_item(old).unwrap())
            .unwrap();
        assert_eq!(s.get(&old.key).unwrap().as_ref(), Some(old));
        assert_eq!(
            s.records.get(old.seq.to_be_bytes()).unwrap().unwrap()[0],
            BINARY_V1
        );
    }

    #[test]
    fn a_damaged_record_is_an_error_naming_its_sequence_number_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let items = look_alikes(3);
        let s = holding(dir.path(), &items);
        let victim = s.get("k1").unwrap().unwrap();
        s.records
            .insert(
                victim.seq.to_be_bytes(),
                &[super::super::record::BINARY_V1, 0xFF][..],
            )
            .unwrap();
        let e = s.page_by_seq(None, 10).unwrap_err().to_string();
        assert!(e.contains(&format!("record {}", victim.seq)), "{e}");
        let e = s.get("k1").unwrap_err().to_string();
        assert!(e.contains("k1"), "{e}");
        // The other items still read.
        assert_eq!(s.get("k2").unwrap().unwrap().key, "k2");
    }

    #[test]
    fn a_commit_or_prune_without_items_does_not_wait_for_the_index_to_be_built() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = open_when_free_sled(dir.path());
        // An index whose build finishes only when told to.
        let (release, wait) = std::sync::mpsc::channel::<()>();
        s.near = Shared::build_in_background(move || {
            wait.recv().ok();
            Ok(NearIndex::default())
        });
        let state = FeedState {
            etag: Some("\"v2\"".into()),
            ..FeedState::default()
        };
        // A 304's commit: the feed state alone.
        let (done, committed) = std::sync::mpsc::channel();
        let writer = s.clone();
        let st = state.clone();
        std::thread::spawn(move || {
            // The 304's commit, then retention with nothing to remove (`poll --once` ends so).
            let r = writer
                .commit(Batch::default(), Some(("f", &st)))
                .and_then(|()| writer.prune(Utc::now(), Duration::from_secs(86_400), None));
            done.send(r).ok();
        });
        let pruned = committed
            .recv_timeout(Duration::from_secs(30))
            .expect("a feed-state commit or an empty prune waited for the index")
            .unwrap();
        assert_eq!(pruned, PruneStats::default());
        assert_eq!(s.feed_state("f").unwrap(), state);
        assert!(!s.near.is_ready());
        // A commit with a story waits for the build, then indexes the story.
        release.send(()).unwrap();
        let item = look_alikes(1).pop().unwrap();
        s.commit(
            Batch {
                new: vec![item.clone()],
                ..Batch::default()
            },
            None,
        )
        .unwrap();
        assert_eq!(s.near_hits(&item.near, 8).unwrap()[0].key, item.key);
    }

    #[test]
    fn compression_is_chosen_at_creation_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let a = stored(
            "a",
            "成都市开展基层矛盾纠纷调解专项行动",
            1,
            Category::Other,
        );
        {
            let s = Store::open_with(dir.path(), 8 << 20, true).unwrap();
            s.commit(
                Batch {
                    new: vec![a],
                    ..Batch::default()
                },
                None,
            )
            .unwrap();
            s.flush().unwrap();
        }
        let conf = std::fs::read(dir.path().join("conf")).unwrap();
        assert!(String::from_utf8_lossy(&conf).contains("use_compression: true"));
        // Opened later without asking for compression: still the compressed store, readable.
        let s = open_when_free(dir.path(), false).unwrap();
        assert_eq!(
            s.get("a").unwrap().unwrap().item.title,
            "成都市开展基层矛盾纠纷调解专项行动"
        );
    }
}
