//! The store: items and feed state on disk, in sled.
//!
//! Takes: [`StoredItem`]s keyed by their canonical key, and a [`FeedState`] per feed. Gives: items
//! newest first, items by key, feed states. Guarantees:
//! - One canonical key, one stored item: writing the same key again updates it in place (its
//!   first-seen time and sequence number kept), so an entry polled twice is stored once.
//! - An item and its index entries are written in one sled transaction: no index points at a
//!   missing item, and no item is unreachable.
//! - The ingest path writes a feed's items before its new feed state, so a crash between the two
//!   re-polls the feed rather than losing items (sled recovers a prefix of writes in order).
//!
//! Layout, one tree per keyspace, integers big-endian so byte order is numeric order:
//! - `items`: key → JSON [`StoredItem`]
//! - `by_date`: sort timestamp (sign-flipped i64) ‖ seq → key — for "newest first"
//! - `by_seq`: seq → key — insertion order, for incremental readers
//! - `feeds`: feed id → JSON [`FeedState`]
//! - `feed_counts`: feed id → items first stored from it
//! - `meta`: `schema` → version

use crate::model::{FeedState, StoredItem};
use sled::transaction::{ConflictableTransactionError, TransactionError, Transactional};
use std::path::{Path, PathBuf};

/// The on-disk layout version this build writes.
const SCHEMA_VERSION: u64 = 1;

/// Storage failures. The store is where data must never be lost, so these are reported, not
/// swallowed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database could not be opened (another feedsift holds it, permissions, disk).
    #[error("store: cannot open {path}: {source}")]
    Open {
        /// The data directory.
        path: PathBuf,
        /// sled's error.
        source: sled::Error,
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
    /// The database was written by a newer feedsift.
    #[error("store: {path} has schema version {found}, this feedsift understands up to {SCHEMA_VERSION}; upgrade feedsift")]
    NewerSchema {
        /// The data directory.
        path: PathBuf,
        /// The version found.
        found: u64,
    },
    /// A read or write failed.
    #[error("store: {0}")]
    Sled(#[from] sled::Error),
    /// A record could not be decoded.
    #[error("store: record {key} is unreadable: {message}")]
    Corrupt {
        /// The record's key.
        key: String,
        /// What went wrong.
        message: String,
    },
}

/// What writing an item did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upsert {
    /// A key never seen before.
    New,
    /// A known key whose content changed; stored again, first-seen time kept.
    Updated,
    /// A known key with the same content; nothing written.
    Unchanged,
}

/// A handle on the sled database. Cheap to clone; all clones share one database.
#[derive(Clone)]
pub struct Store {
    db: sled::Db,
    items: sled::Tree,
    by_date: sled::Tree,
    by_seq: sled::Tree,
    feeds: sled::Tree,
    feed_counts: sled::Tree,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("items", &self.items.len())
            .finish()
    }
}

impl Store {
    /// Opens (or creates) the store in `dir`, with a page cache of `cache_bytes`.
    pub fn open(dir: &Path, cache_bytes: u64) -> Result<Store, StoreError> {
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
        let db = sled::Config::new()
            .path(dir)
            .cache_capacity(cache_bytes)
            .flush_every_ms(Some(500))
            .open()
            .map_err(open_err)?;
        let meta = db.open_tree("meta")?;
        match meta.get("schema")? {
            Some(v) => {
                let found = u64::from_be_bytes(v.as_ref().try_into().unwrap_or([0xff; 8]));
                if found > SCHEMA_VERSION {
                    return Err(StoreError::NewerSchema {
                        path: dir.to_path_buf(),
                        found,
                    });
                }
            }
            None => {
                meta.insert("schema", &SCHEMA_VERSION.to_be_bytes())?;
            }
        }
        Ok(Store {
            items: db.open_tree("items")?,
            by_date: db.open_tree("by_date")?,
            by_seq: db.open_tree("by_seq")?,
            feeds: db.open_tree("feeds")?,
            feed_counts: db.open_tree("feed_counts")?,
            db,
        })
    }

    /// The feed that owns `key` and the content digest stored for it, if the key is known.
    /// Lets the ingest path skip classifying an entry it already has.
    pub fn owner_and_digest(&self, key: &str) -> Result<Option<(String, String)>, StoreError> {
        Ok(self.get(key)?.map(|s| (s.source.feed_id, s.digest)))
    }

    /// The item stored under `key`.
    pub fn get(&self, key: &str) -> Result<Option<StoredItem>, StoreError> {
        match self.items.get(key.as_bytes())? {
            Some(v) => Ok(Some(decode(key, &v)?)),
            None => Ok(None),
        }
    }

    /// Writes `item` under `item.key`: new, updated (keeping `first_seen` and `seq` of the stored
    /// copy), or left alone when the digest is unchanged or another feed already owns the key. `item.seq` is ignored for new items; a
    /// fresh sequence number is assigned.
    pub fn upsert(&self, draft: StoredItem) -> Result<Upsert, StoreError> {
        let seq = self.db.generate_id()?;
        let key = draft.key.clone();
        let trees = (&self.items, &self.by_date, &self.by_seq, &self.feed_counts);
        let result = trees.transaction(|(items, by_date, by_seq, counts)| {
            let mut item = draft.clone();
            let old = match items.get(key.as_bytes())? {
                Some(v) => Some(decode(&key, &v).map_err(ConflictableTransactionError::Abort)?),
                None => None,
            };
            let outcome = match &old {
                // The feed that first carried a story owns its content: another feed's copy
                // (same key, other text) is a duplicate, not an edit, or two feeds would
                // overwrite each other on every poll.
                Some(old)
                    if old.digest == item.digest || old.source.feed_id != item.source.feed_id =>
                {
                    return Ok(Upsert::Unchanged)
                }
                Some(old) => {
                    item.first_seen = old.first_seen;
                    item.seq = old.seq;
                    item.changed = Some(chrono::Utc::now());
                    by_date.remove(date_key(old).to_vec())?;
                    Upsert::Updated
                }
                None => {
                    item.seq = seq;
                    item.changed = None;
                    let feed = item.source.feed_id.as_bytes();
                    let n = counts.get(feed)?.map_or(0, |v| be_u64(&v));
                    counts.insert(feed, &(n + 1).to_be_bytes())?;
                    Upsert::New
                }
            };
            let bytes = serde_json::to_vec(&item).map_err(|e| {
                ConflictableTransactionError::Abort(StoreError::Corrupt {
                    key: key.clone(),
                    message: e.to_string(),
                })
            })?;
            items.insert(key.as_bytes(), bytes)?;
            by_date.insert(date_key(&item).to_vec(), key.as_bytes())?;
            by_seq.insert(&item.seq.to_be_bytes(), key.as_bytes())?;
            Ok(outcome)
        });
        result.map_err(|e| match e {
            TransactionError::Abort(e) => e,
            TransactionError::Storage(e) => StoreError::Sled(e),
        })
    }

    /// Items newest first (by [`StoredItem::sort_date`]). Lazy: a caller that wants 50 reads 50.
    pub fn newest_first(&self) -> impl Iterator<Item = Result<StoredItem, StoreError>> + '_ {
        self.by_date.iter().rev().filter_map(move |r| match r {
            Err(e) => Some(Err(e.into())),
            Ok((_, key)) => {
                let key = String::from_utf8_lossy(&key).into_owned();
                // An index entry whose item is gone is skipped: the transaction makes this
                // impossible for writes, but a reader must not fail on it.
                self.get(&key).transpose()
            }
        })
    }

    /// Number of items first stored from `feed_id`.
    pub fn items_of_feed(&self, feed_id: &str) -> Result<u64, StoreError> {
        Ok(self
            .feed_counts
            .get(feed_id.as_bytes())?
            .map_or(0, |v| be_u64(&v)))
    }

    /// Number of stored items.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether the store holds no items.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The stored state of a feed (default if never polled).
    pub fn feed_state(&self, feed_id: &str) -> Result<FeedState, StoreError> {
        match self.feeds.get(feed_id.as_bytes())? {
            Some(v) => serde_json::from_slice(&v).map_err(|e| StoreError::Corrupt {
                key: format!("feed {feed_id}"),
                message: e.to_string(),
            }),
            None => Ok(FeedState::default()),
        }
    }

    /// Saves the state of a feed.
    pub fn put_feed_state(&self, feed_id: &str, state: &FeedState) -> Result<(), StoreError> {
        let bytes = serde_json::to_vec(state).map_err(|e| StoreError::Corrupt {
            key: format!("feed {feed_id}"),
            message: e.to_string(),
        })?;
        self.feeds.insert(feed_id.as_bytes(), bytes)?;
        Ok(())
    }

    /// Writes everything to disk; called on shutdown and at the end of `poll --once`.
    pub fn flush(&self) -> Result<(), StoreError> {
        self.db.flush()?;
        Ok(())
    }

    /// Bytes the database occupies on disk.
    pub fn size_on_disk(&self) -> Result<u64, StoreError> {
        Ok(self.db.size_on_disk()?)
    }
}

fn be_u64(v: &[u8]) -> u64 {
    v.try_into().map(u64::from_be_bytes).unwrap_or(0)
}

fn decode(key: &str, bytes: &[u8]) -> Result<StoredItem, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt {
        key: key.to_string(),
        message: e.to_string(),
    })
}

/// `by_date` key: the timestamp with its sign bit flipped (so negative years sort first), then
/// the sequence number to keep keys unique and ties in insertion order.
fn date_key(item: &StoredItem) -> [u8; 16] {
    let ts = item.sort_date().timestamp_micros() as u64 ^ (1 << 63);
    let mut k = [0u8; 16];
    k[..8].copy_from_slice(&ts.to_be_bytes());
    k[8..].copy_from_slice(&item.seq.to_be_bytes());
    k
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Category, Classification, Item, SourceRef};
    use chrono::{TimeZone, Utc};

    fn stored(key: &str, title: &str, day: u32) -> StoredItem {
        let item = Item {
            feed_id: "f".into(),
            guid: Some(key.into()),
            title: title.into(),
            link: None,
            summary: None,
            content: None,
            published: Some(Utc.with_ymd_and_hms(2024, 1, day, 0, 0, 0).unwrap()),
            updated: None,
            authors: vec![],
            tags: vec![],
            language: None,
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
            item,
            class: Classification {
                category: Category::Other,
                confidence: 0.5,
                runner_up: None,
            },
        }
    }

    #[test]
    fn upsert_new_unchanged_updated_and_order() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path(), 8 << 20).unwrap();
        assert_eq!(s.upsert(stored("a", "A", 1)).unwrap(), Upsert::New);
        assert_eq!(s.upsert(stored("b", "B", 3)).unwrap(), Upsert::New);
        assert_eq!(s.upsert(stored("a", "A", 1)).unwrap(), Upsert::Unchanged);
        let mut edited = stored("a", "A edited", 5);
        edited.first_seen = Utc::now();
        assert_eq!(s.upsert(edited).unwrap(), Upsert::Updated);
        assert_eq!(s.len(), 2);
        assert_eq!(s.items_of_feed("f").unwrap(), 2);
        assert_eq!(s.items_of_feed("g").unwrap(), 0);
        let got: Vec<_> = s.newest_first().map(|r| r.unwrap()).collect();
        // The edit moved "a" to day 5, and the index followed it: no stale entry remains.
        assert_eq!(
            got.iter()
                .map(|i| i.item.title.as_str())
                .collect::<Vec<_>>(),
            ["A edited", "B"]
        );
        assert_eq!(
            got[0].first_seen,
            Utc.with_ymd_and_hms(2024, 2, 1, 0, 0, 0).unwrap()
        );
        assert!(got[0].changed.is_some());
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
    fn survives_reopen_and_keeps_feed_state() {
        let dir = tempfile::tempdir().unwrap();
        {
            let s = Store::open(dir.path(), 8 << 20).unwrap();
            s.upsert(stored("a", "A", 1)).unwrap();
            let st = FeedState {
                etag: Some("\"v1\"".into()),
                ..Default::default()
            };
            s.put_feed_state("f", &st).unwrap();
            s.flush().unwrap();
        }
        let s = Store::open(dir.path(), 8 << 20).unwrap();
        assert_eq!(s.len(), 1);
        assert_eq!(s.feed_state("f").unwrap().etag.as_deref(), Some("\"v1\""));
        assert_eq!(s.feed_state("never").unwrap(), FeedState::default());
    }
}
