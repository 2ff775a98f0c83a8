//! The PostgreSQL backend: the same store in one database that several `feedsift serve`
//! instances share.
//!
//! What keeps instances consistent is PostgreSQL itself, never an in-memory check:
//! - the item key is the primary key and new items are inserted `ON CONFLICT DO NOTHING`, so a
//!   story raced in by two instances is stored once;
//! - decisions ("is this a near-duplicate of a stored story?") are made under a session-level
//!   advisory lock every instance takes ([`INGEST_LOCK`]), so two instances cannot both decide
//!   that the same decorated story is new;
//! - sequence numbers are drawn inside the commit transaction after taking a transaction-level
//!   advisory lock ([`SEQ_LOCK`]), so they become visible in the order they were drawn and an
//!   `/api/items?after=` cursor never skips an item committed late;
//! - polling leases are rows of `feedsift_leases`, claimed with one atomic upsert whose
//!   conditions are "this slot not yet polled" and "no live lease held by another instance";
//!   lease times are the callers' (`now` is an argument, so a scheduler on a test clock works),
//!   so instances' clocks must roughly agree: a skew moves a dead holder's takeover by as much.
//!
//! The driver is the synchronous `postgres` crate. Each connection lives on a thread of its own
//! and is handed work through a channel (`pg/pool.rs`), so the store can be called from any thread —
//! a blocking ingest thread or an async HTTP handler — without nesting runtimes. A connection
//! that drops is re-opened for the next call.
//!
//! The admin's corrections are rows of `feedsift_corrections` (migration 6): a correction is
//! written under the ingest lock in one transaction with the item's new record, and a commit
//! that updates items reads their newest corrections in its own transaction and keeps those
//! labels.
//!
//! Migrations (`pg/migrations.rs`) are numbered, run in one transaction under an advisory lock on
//! start (so several instances starting at once migrate once), and a database written by a
//! newer feedsift is refused with a clear error.

mod commit;
mod migrations;
mod pool;

pub use migrations::PG_SCHEMA_VERSION;

use super::{
    decode, decode_item, encode, encode_item, sources::Sources, title_and_core, Backend, Batch,
    Claim, Correction, IngestGuard, NearHit, PruneStats, Reindex, StoreError, TitleOf,
};
use crate::model::{AlsoAt, Category, FeedState, StoredItem};
use chrono::{DateTime, Utc};
use pool::{pg, Conn, Pool};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Advisory lock key held (per session) while an ingest decides and commits.
pub const INGEST_LOCK: i64 = 0x6665_6564_7369_0001;
/// Advisory lock key held (per transaction) while a commit draws sequence numbers.
pub const SEQ_LOCK: i64 = 0x6665_6564_7369_0002;
/// How long [`Backend::generation`] may answer from memory: other instances' commits show in
/// cached outputs at most this late.
const GENERATION_TTL: Duration = Duration::from_millis(500);

/// The primary keys (band, hash, seq) of `items`' near-index rows, as arrays for `unnest`:
/// rows are removed by them, each an index lookup.
fn near_rows<'a>(
    items: impl IntoIterator<Item = &'a StoredItem>,
) -> (Vec<i16>, Vec<i64>, Vec<i64>) {
    let (mut bands, mut hashes, mut seqs) = (Vec::new(), Vec::new(), Vec::new());
    for item in items {
        for (band, hash) in item.near.iter().enumerate() {
            bands.push(band as i16);
            hashes.push(*hash as i64);
            seqs.push(item.seq as i64);
        }
    }
    (bands, hashes, seqs)
}

/// Removes the near-index rows [`near_rows`] names.
const DELETE_NEAR_ROWS: &str = "DELETE FROM feedsift_near n
     USING unnest($1::int2[], $2::int8[], $3::int8[]) AS d(b, h, s)
     WHERE n.band = d.b AND n.hash = d.h AND n.seq = d.s";

/// A handle on a feedsift database in PostgreSQL. Several processes may hold one each.
pub struct PgStore {
    url: String,
    pool: Pool,
    /// Commits and prunes made by this process since the cached value was read.
    local_generation: AtomicU64,
    cached_generation: Mutex<(Option<Instant>, u64)>,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("url", &super::redact(&self.url))
            .finish()
    }
}

fn category_code(c: Category) -> i16 {
    Category::ALL.iter().position(|x| *x == c).unwrap_or(3) as i16
}

/// The select list that reads an item with its copies in one round trip.
const ITEM_COLUMNS: &str = "i.key, i.record, \
    (SELECT array_agg(c.record) FROM feedsift_copies c WHERE c.story = i.key), i.seq";

fn item_from_row(row: &postgres::Row) -> Result<StoredItem, StoreError> {
    item_from_row_at(row, 0)
}

/// An item from [`ITEM_COLUMNS`] starting at column `at`.
fn item_from_row_at(row: &postgres::Row, at: usize) -> Result<StoredItem, StoreError> {
    let key: String = row.get(at);
    let record: Vec<u8> = row.get(at + 1);
    let copies: Option<Vec<Vec<u8>>> = row.get(at + 2);
    let mut item = decode_item(&key, &record, &Sources::default())?;
    // The number is drawn when the row is inserted; the record was encoded before.
    item.seq = row.get::<_, i64>(at + 3) as u64;
    for c in copies.unwrap_or_default() {
        item.also_at
            .push(decode::<AlsoAt>(&format!("copy of {key}"), &c)?);
    }
    item.also_at.sort_by_key(|a| a.seen);
    Ok(item)
}

fn items_from_rows(rows: Vec<postgres::Row>) -> Result<Vec<StoredItem>, StoreError> {
    rows.iter().map(item_from_row).collect()
}

impl PgStore {
    /// Connects to the database at `url` (a `postgres://user:password@host:port/db` URL;
    /// `?sslmode=disable` and libpq-style parameters are read), runs pending migrations
    /// (`reindex` completes stored items' index keys where one needs it) and opens the
    /// connection pool.
    pub fn connect(url: &str, reindex: Reindex) -> Result<PgStore, StoreError> {
        let mut config: postgres::Config = url.parse().map_err(|e: postgres::Error| {
            StoreError::Spec(format!("`{}`: {e}", super::redact(url)))
        })?;
        if config.get_application_name().is_none() {
            config.application_name("feedsift");
        }
        config.connect_timeout(Duration::from_secs(10));
        let connect_err = |e: StoreError| match e {
            StoreError::Postgres { what, source } if what == "connect" => StoreError::Postgres {
                what: format!("connect to {}", super::redact(url)),
                source,
            },
            e => e,
        };
        let owned_url = url.to_string();
        let pool = Pool::open(&config, |lock_conn| {
            lock_conn.run("migration", move |c| {
                migrations::migrate(c, &owned_url, reindex)
            })
        })
        .map_err(connect_err)?;
        Ok(PgStore {
            url: url.to_string(),
            pool,
            local_generation: AtomicU64::new(0),
            cached_generation: Mutex::new((None, 0)),
        })
    }

    /// Runs `f` on a connection of the pool ([`Pool::run`]).
    fn run<R, F>(&self, what: &'static str, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&mut Conn) -> Result<R, StoreError> + Send + 'static,
    {
        self.pool.run(what, f)
    }

    /// Removes `doomed` items and everything that points at them, leaving tombstones; one
    /// transaction.
    fn remove(&self, doomed: Vec<StoredItem>, stamp: u64) -> Result<(), StoreError> {
        self.run("prune", move |c| {
            c.transaction("prune", "BEGIN", |tx| {
                let keys: Vec<String> = doomed.iter().map(|i| i.key.clone()).collect();
                let mut tomb_keys = keys.clone();
                for item in &doomed {
                    tomb_keys.extend(item.also_at.iter().filter_map(|a| a.key.clone()));
                }
                let mut per_feed: Vec<(String, i64)> = Vec::new();
                for item in &doomed {
                    match per_feed.iter_mut().find(|(f, _)| *f == item.source.feed_id) {
                        Some((_, n)) => *n += 1,
                        None => per_feed.push((item.source.feed_id.clone(), 1)),
                    }
                }
                let (feeds, counts): (Vec<String>, Vec<i64>) = per_feed.into_iter().unzip();
                tx.execute("DELETE FROM feedsift_items WHERE key = ANY($1)", &[&keys])
                    .map_err(pg("prune items"))?;
                let (bands, hashes, seqs) = near_rows(&doomed);
                tx.execute(DELETE_NEAR_ROWS, &[&bands, &hashes, &seqs])
                    .map_err(pg("prune near index"))?;
                tx.execute(
                    "DELETE FROM feedsift_copies WHERE story = ANY($1)",
                    &[&keys],
                )
                .map_err(pg("prune copies"))?;
                tx.execute(
                    "DELETE FROM feedsift_aliases WHERE target = ANY($1)",
                    &[&keys],
                )
                .map_err(pg("prune aliases"))?;
                tx.execute(
                "INSERT INTO feedsift_tombstones (key, stamp) SELECT k, $2 FROM unnest($1::text[]) k
                 ON CONFLICT (key) DO UPDATE SET stamp = EXCLUDED.stamp",
                &[&tomb_keys, &(stamp as i64)],
            )
            .map_err(pg("prune tombstones"))?;
                tx.execute(
                    "UPDATE feedsift_feed_counts f SET n = GREATEST(f.n - d.n, 0)
                 FROM unnest($1::text[], $2::int8[]) AS d(feed_id, n) WHERE f.feed_id = d.feed_id",
                    &[&feeds, &counts],
                )
                .map_err(pg("prune counts"))?;
                tx.execute(
                    "UPDATE feedsift_meta SET v = v + 1 WHERE k = 'generation'",
                    &[],
                )
                .map_err(pg("prune generation"))?;
                Ok(())
            })
        })?;
        self.local_generation.fetch_add(1, Ordering::Release);
        Ok(())
    }
}

/// When a lease taken at `now` for `lease` ends.
fn lease_end(now: DateTime<Utc>, lease: Duration) -> DateTime<Utc> {
    now + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::MAX)
}

/// `before` for "from the newest": greater than every 16-byte page key.
const AFTER_EVERY_KEY: [u8; 17] = [0xff; 17];

impl Backend for PgStore {
    fn describe(&self) -> String {
        super::redact(&self.url)
    }

    fn lock_ingest(&self) -> Result<IngestGuard<'_>, StoreError> {
        self.pool.lock_ingest()
    }

    fn get(&self, key: &str) -> Result<Option<StoredItem>, StoreError> {
        let key = key.to_string();
        self.run("get", move |c| {
            let sql = format!("SELECT {ITEM_COLUMNS} FROM feedsift_items i WHERE i.key = $1");
            match c.query_opt(&sql, &[&key]).map_err(pg("get"))? {
                Some(row) => item_from_row(&row).map(Some),
                None => Ok(None),
            }
        })
    }

    fn title_of(&self, key: &str) -> Result<Option<TitleOf>, StoreError> {
        let key = key.to_string();
        self.run("title_of", move |c| {
            match c
                .query_opt("SELECT record FROM feedsift_items WHERE key = $1", &[&key])
                .map_err(pg("title_of"))?
            {
                Some(row) => {
                    title_and_core(&key, &row.get::<_, Vec<u8>>(0), &Sources::default()).map(Some)
                }
                None => Ok(None),
            }
        })
    }

    fn titles_of(&self, keys: &[String]) -> Result<Vec<Option<TitleOf>>, StoreError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let wanted = keys.to_vec();
        let rows = self.run("titles_of", move |c| {
            c.query(
                "SELECT key, record FROM feedsift_items WHERE key = ANY($1)",
                &[&wanted],
            )
            .map_err(pg("titles_of"))
        })?;
        let mut found = std::collections::HashMap::with_capacity(rows.len());
        for row in rows {
            let key: String = row.get(0);
            let found_title = title_and_core(&key, &row.get::<_, Vec<u8>>(1), &Sources::default())?;
            found.insert(key, found_title);
        }
        Ok(keys.iter().map(|k| found.remove(k)).collect())
    }

    fn decides_before_locking(&self) -> bool {
        true
    }

    fn high_water(&self) -> Result<Option<u64>, StoreError> {
        self.run("high_water", |c| {
            c.query_one("SELECT MAX(seq) FROM feedsift_items", &[])
                .map(|r| r.get::<_, Option<i64>>(0).map(|v| v as u64))
                .map_err(pg("high_water"))
        })
    }

    fn contains(&self, key: &str) -> Result<bool, StoreError> {
        let key = key.to_string();
        self.run("contains", move |c| {
            c.query_one(
                "SELECT EXISTS (SELECT 1 FROM feedsift_items WHERE key = $1)
                     OR EXISTS (SELECT 1 FROM feedsift_aliases WHERE alias = $1)",
                &[&key],
            )
            .map(|r| r.get(0))
            .map_err(pg("contains"))
        })
    }

    fn resolve(&self, key: &str) -> Result<Option<StoredItem>, StoreError> {
        let key = key.to_string();
        self.run("resolve", move |c| {
            let sql = format!(
                "SELECT {ITEM_COLUMNS} FROM feedsift_items i
                 WHERE i.key = $1
                    OR i.key = (SELECT target FROM feedsift_aliases WHERE alias = $1)
                 ORDER BY (i.key = $1) DESC LIMIT 1"
            );
            match c.query_opt(&sql, &[&key]).map_err(pg("resolve"))? {
                Some(row) => item_from_row(&row).map(Some),
                None => Ok(None),
            }
        })
    }

    fn is_tombstoned(&self, key: &str) -> Result<bool, StoreError> {
        let key = key.to_string();
        self.run("is_tombstoned", move |c| {
            c.query_one(
                "SELECT EXISTS (SELECT 1 FROM feedsift_tombstones WHERE key = $1)",
                &[&key],
            )
            .map(|r| r.get(0))
            .map_err(pg("is_tombstoned"))
        })
    }

    fn near_hits(&self, keys: &[u64], per_key: usize) -> Result<Vec<NearHit>, StoreError> {
        Ok(self
            .near_hits_since(&[keys.to_vec()], per_key, None)?
            .pop()
            .unwrap_or_default())
    }

    fn near_hits_many(
        &self,
        sigs: &[Vec<u64>],
        per_key: usize,
    ) -> Result<Vec<Vec<NearHit>>, StoreError> {
        self.near_hits_since(sigs, per_key, None)
    }

    /// One round trip for every key of every signature.
    fn near_hits_since(
        &self,
        sigs: &[Vec<u64>],
        per_key: usize,
        after: Option<u64>,
    ) -> Result<Vec<Vec<NearHit>>, StoreError> {
        let after = after.map_or(-1, |a| a.min(i64::MAX as u64) as i64);
        let (mut which, mut bands, mut hashes) = (Vec::new(), Vec::new(), Vec::new());
        for (i, sig) in sigs.iter().enumerate() {
            // A zero key is no key (see the sled store).
            for (band, hash) in sig.iter().enumerate().filter(|(_, h)| **h != 0) {
                which.push(i as i32);
                bands.push(band as i16);
                hashes.push(*hash as i64);
            }
        }
        if which.is_empty() {
            return Ok(vec![Vec::new(); sigs.len()]);
        }
        let per_key = per_key.min(i64::MAX as usize) as i64;
        let rows = self.run("near_hits", move |c| {
            c.query(
                "SELECT b.i, n.key, n.seq, b.band
                 FROM unnest($1::int4[], $2::int2[], $3::int8[]) AS b(i, band, hash)
                 CROSS JOIN LATERAL (
                     SELECT key, seq FROM feedsift_near
                     WHERE band = b.band AND hash = b.hash AND seq > $5
                     ORDER BY seq DESC LIMIT $4
                 ) n",
                &[&which, &bands, &hashes, &per_key, &after],
            )
            .map_err(pg("near_hits"))
        })?;
        let mut hits: Vec<Vec<NearHit>> = vec![Vec::new(); sigs.len()];
        for row in rows {
            if let Some(h) = hits.get_mut(row.get::<_, i32>(0) as usize) {
                h.push(NearHit {
                    key: row.get(1),
                    seq: row.get::<_, i64>(2) as u64,
                    index: row.get::<_, i16>(3) as usize,
                });
            }
        }
        Ok(hits)
    }

    fn contains_many(&self, keys: &[String]) -> Result<Vec<bool>, StoreError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let wanted = keys.to_vec();
        let rows = self.run("contains_many", move |c| {
            c.query(
                "SELECT key FROM feedsift_items WHERE key = ANY($1)
                 UNION SELECT alias FROM feedsift_aliases WHERE alias = ANY($1)",
                &[&wanted],
            )
            .map_err(pg("contains_many"))
        })?;
        let found: std::collections::HashSet<String> = rows.iter().map(|r| r.get(0)).collect();
        Ok(keys.iter().map(|k| found.contains(k)).collect())
    }

    fn resolve_many(&self, keys: &[String]) -> Result<Vec<Option<StoredItem>>, StoreError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let wanted = keys.to_vec();
        let rows = self.run("resolve_many", move |c| {
            // Directly first, else through an alias: as `resolve`, for every key at once.
            let sql = format!(
                "SELECT k.o, {ITEM_COLUMNS}
                 FROM unnest($1::text[]) WITH ORDINALITY AS k(key, o)
                 CROSS JOIN LATERAL (
                     SELECT x.* FROM feedsift_items x
                     WHERE x.key = k.key
                        OR x.key = (SELECT target FROM feedsift_aliases WHERE alias = k.key)
                     ORDER BY (x.key = k.key) DESC LIMIT 1
                 ) i"
            );
            c.query(&sql, &[&wanted]).map_err(pg("resolve_many"))
        })?;
        let mut out: Vec<Option<StoredItem>> = vec![None; keys.len()];
        for row in rows {
            let o = row.get::<_, i64>(0) as usize;
            let item = item_from_row_at(&row, 1)?;
            if let Some(slot) = out.get_mut(o.wrapping_sub(1)) {
                *slot = Some(item);
            }
        }
        Ok(out)
    }

    fn tombstoned_many(&self, keys: &[String]) -> Result<Vec<bool>, StoreError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let wanted = keys.to_vec();
        let rows = self.run("tombstoned_many", move |c| {
            c.query(
                "SELECT key FROM feedsift_tombstones WHERE key = ANY($1)",
                &[&wanted],
            )
            .map_err(pg("tombstoned_many"))
        })?;
        let found: std::collections::HashSet<String> = rows.iter().map(|r| r.get(0)).collect();
        Ok(keys.iter().map(|k| found.contains(k)).collect())
    }

    fn commit(&self, batch: Batch, feed: Option<(&str, &FeedState)>) -> Result<(), StoreError> {
        let writes_items = !batch.is_empty();
        let prepared = commit::Prepared::new(batch, feed)?;
        self.run("commit", move |c| {
            // Sequence numbers are drawn under a lock held to the end of the transaction, so
            // they become visible in the order they were drawn; the generation is bumped with
            // the COMMIT. Three round trips for a response without copies or edits.
            let begin = format!("BEGIN; SELECT pg_advisory_xact_lock({SEQ_LOCK})");
            let end = if writes_items {
                "UPDATE feedsift_meta SET v = v + 1 WHERE k = 'generation'; COMMIT"
            } else {
                "COMMIT"
            };
            c.transaction_ending("commit", &begin, end, |tx| prepared.write(tx))
        })?;
        if writes_items {
            self.local_generation.fetch_add(1, Ordering::Release);
        }
        Ok(())
    }

    fn blobs(&self, prefix: &str) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let prefix = prefix.to_string();
        let rows = self.run("blobs", move |c| {
            c.query(
                "SELECT name, bytes FROM feedsift_blobs
                 WHERE left(name, length($1)) = $1 ORDER BY name",
                &[&prefix],
            )
            .map_err(pg("reading blobs"))
        })?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    fn generation(&self) -> u64 {
        let local = self.local_generation.load(Ordering::Acquire);
        let mut cached = self
            .cached_generation
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let fresh = cached.0.is_some_and(|t| t.elapsed() < GENERATION_TTL);
        if !fresh {
            let r = self.run("generation", |c| {
                c.query_one("SELECT v FROM feedsift_meta WHERE k = 'generation'", &[])
                    .map(|r| r.get::<_, i64>(0) as u64)
                    .map_err(pg("generation"))
            });
            match r {
                Ok(v) => *cached = (Some(Instant::now()), v),
                Err(e) => tracing::warn!(error = %e, "cannot read the store generation"),
            }
        }
        // The shared counter counts every instance's commits; the local one makes this
        // process's own commits visible at once.
        cached.1.wrapping_add(local)
    }

    /// Known while the copy of the shared counter is fresh (younger than [`GENERATION_TTL`]);
    /// never blocks on the lock (a thread refreshing the copy holds it across its query).
    fn generation_if_known(&self) -> Option<u64> {
        let cached = self.cached_generation.try_lock().ok()?;
        let fresh = cached.0.is_some_and(|t| t.elapsed() < GENERATION_TTL);
        let local = self.local_generation.load(Ordering::Acquire);
        fresh.then(|| cached.1.wrapping_add(local))
    }

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
        let by = by.to_string();
        let done = self.run("correct", move |c| {
            c.transaction("correct", "BEGIN", |tx| {
                let id = tx
                    .query_one(
                        "SELECT COALESCE(MAX(id), 0)::int8 + 1 FROM feedsift_corrections",
                        &[],
                    )
                    .map_err(pg("correct: numbering"))?
                    .get::<_, i64>(0);
                let correction = Correction::of(&old, id as u64, label, &by, at);
                let item = super::corrected_at(old.clone(), label, at);
                tx.execute(
                    "UPDATE feedsift_items SET record = $2, category = $3 WHERE key = $1",
                    &[&item.key, &encode_item(&item)?, &category_code(label)],
                )
                .map_err(pg("correct: item"))?;
                tx.execute(
                    "INSERT INTO feedsift_corrections (id, item_key, label, at_us, record)
                     VALUES ($1, $2, $3, $4, $5)",
                    &[
                        &id,
                        &item.key,
                        &category_code(label),
                        &at.timestamp_micros(),
                        &encode(&item.key, &correction)?,
                    ],
                )
                .map_err(pg("correct: record"))?;
                tx.execute(
                    "UPDATE feedsift_meta SET v = v + 1 WHERE k = 'generation'",
                    &[],
                )
                .map_err(pg("correct: generation"))?;
                Ok(correction)
            })
        })?;
        self.local_generation.fetch_add(1, Ordering::Release);
        Ok(Some(done))
    }

    fn corrections(
        &self,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<Correction>, StoreError> {
        let before = before.map_or(i64::MAX, |b| b.min(i64::MAX as u64) as i64);
        let limit = limit.min(i64::MAX as usize) as i64;
        let rows = self.run("corrections", move |c| {
            c.query(
                "SELECT id, record FROM feedsift_corrections WHERE id < $1
                 ORDER BY id DESC LIMIT $2",
                &[&before, &limit],
            )
            .map_err(pg("corrections"))
        })?;
        rows.iter()
            .map(|r| {
                decode(
                    &format!("correction {}", r.get::<_, i64>(0)),
                    &r.get::<_, Vec<u8>>(1),
                )
            })
            .collect()
    }

    fn put_corrections(&self, corrections: &[Correction]) -> Result<(), StoreError> {
        let mut cols = (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for c in corrections {
            cols.0.push(c.id.min(i64::MAX as u64) as i64);
            cols.1.push(c.key.clone());
            cols.2.push(category_code(c.label));
            cols.3.push(c.at.timestamp_micros());
            cols.4.push(encode(&c.key, c)?);
        }
        self.run("put_corrections", move |c| {
            c.execute(
                "INSERT INTO feedsift_corrections (id, item_key, label, at_us, record)
                 SELECT * FROM unnest($1::int8[], $2::text[], $3::int2[], $4::int8[], $5::bytea[])
                 ON CONFLICT (id) DO NOTHING",
                &[&cols.0, &cols.1, &cols.2, &cols.3, &cols.4],
            )
            .map(|_| ())
            .map_err(pg("put_corrections"))
        })
    }

    fn page_by_date(
        &self,
        category: Option<Category>,
        before: Option<[u8; 16]>,
        limit: usize,
    ) -> Result<Vec<Arc<StoredItem>>, StoreError> {
        let before = before.map_or(AFTER_EVERY_KEY.to_vec(), |b| b.to_vec());
        let limit = limit as i64;
        self.run("page_by_date", move |c| {
            let rows = match category {
                None => c.query(
                    &format!(
                        "SELECT {ITEM_COLUMNS} FROM feedsift_items i WHERE i.date_key < $1
                         ORDER BY i.date_key DESC LIMIT $2"
                    ),
                    &[&before, &limit],
                ),
                Some(cat) => c.query(
                    &format!(
                        "SELECT {ITEM_COLUMNS} FROM feedsift_items i
                         WHERE i.category = $3 AND i.date_key < $1
                         ORDER BY i.date_key DESC LIMIT $2"
                    ),
                    &[&before, &limit, &category_code(cat)],
                ),
            }
            .map_err(pg("page_by_date"))?;
            Ok(items_from_rows(rows)?.into_iter().map(Arc::new).collect())
        })
    }

    fn page_by_seq(&self, after: Option<u64>, limit: usize) -> Result<Vec<StoredItem>, StoreError> {
        let after = match after {
            None => -1i64,
            Some(a) if a >= i64::MAX as u64 => return Ok(Vec::new()),
            Some(a) => a as i64,
        };
        let limit = limit as i64;
        self.run("page_by_seq", move |c| {
            let rows = c
                .query(
                    &format!(
                        "SELECT {ITEM_COLUMNS} FROM feedsift_items i WHERE i.seq > $1
                         ORDER BY i.seq LIMIT $2"
                    ),
                    &[&after, &limit],
                )
                .map_err(pg("page_by_seq"))?;
            items_from_rows(rows)
        })
    }

    fn page_by_seq_desc(
        &self,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<StoredItem>, StoreError> {
        let before = before.map_or(i64::MAX, |b| b.min(i64::MAX as u64) as i64);
        let limit = limit as i64;
        self.run("page_by_seq_desc", move |c| {
            let rows = c
                .query(
                    &format!(
                        "SELECT {ITEM_COLUMNS} FROM feedsift_items i WHERE i.seq < $1
                         ORDER BY i.seq DESC LIMIT $2"
                    ),
                    &[&before, &limit],
                )
                .map_err(pg("page_by_seq_desc"))?;
            items_from_rows(rows)
        })
    }

    fn len(&self) -> Result<u64, StoreError> {
        self.run("len", |c| {
            c.query_one(
                "SELECT COALESCE(SUM(n), 0)::int8 FROM feedsift_feed_counts",
                &[],
            )
            .map(|r| r.get::<_, i64>(0).max(0) as u64)
            .map_err(pg("len"))
        })
    }

    fn is_empty(&self) -> Result<bool, StoreError> {
        self.run("is_empty", |c| {
            c.query_one("SELECT NOT EXISTS (SELECT 1 FROM feedsift_items)", &[])
                .map(|r| r.get(0))
                .map_err(pg("is_empty"))
        })
    }

    fn items_of_feed(&self, feed_id: &str) -> Result<u64, StoreError> {
        let id = feed_id.to_string();
        self.run("items_of_feed", move |c| {
            Ok(c.query_opt(
                "SELECT n FROM feedsift_feed_counts WHERE feed_id = $1",
                &[&id],
            )
            .map_err(pg("items_of_feed"))?
            .map_or(0, |r| r.get::<_, i64>(0).max(0) as u64))
        })
    }

    fn feed_state(&self, feed_id: &str) -> Result<FeedState, StoreError> {
        let id = feed_id.to_string();
        self.run("feed_state", move |c| {
            match c
                .query_opt(
                    "SELECT state FROM feedsift_feeds WHERE feed_id = $1",
                    &[&id],
                )
                .map_err(pg("feed_state"))?
            {
                Some(r) => decode(&format!("feed {id}"), &r.get::<_, Vec<u8>>(0)),
                None => Ok(FeedState::default()),
            }
        })
    }

    fn put_feed_state(&self, feed_id: &str, state: &FeedState) -> Result<(), StoreError> {
        let id = feed_id.to_string();
        let bytes = encode(feed_id, state)?;
        self.run("put_feed_state", move |c| {
            c.execute(
                "INSERT INTO feedsift_feeds (feed_id, state) VALUES ($1, $2)
                 ON CONFLICT (feed_id) DO UPDATE SET state = EXCLUDED.state",
                &[&id, &bytes],
            )
            .map(|_| ())
            .map_err(pg("put_feed_state"))
        })
    }

    fn feed_states(&self, feed_ids: &[String]) -> Result<Vec<FeedState>, StoreError> {
        if feed_ids.is_empty() {
            return Ok(Vec::new());
        }
        let wanted = feed_ids.to_vec();
        let rows = self.run("feed_states", move |c| {
            c.query(
                "SELECT feed_id, state FROM feedsift_feeds WHERE feed_id = ANY($1)",
                &[&wanted],
            )
            .map_err(pg("feed_states"))
        })?;
        let mut found = std::collections::HashMap::with_capacity(rows.len());
        for r in &rows {
            let id: String = r.get(0);
            let state: FeedState = decode(&format!("feed {id}"), &r.get::<_, Vec<u8>>(1))?;
            found.insert(id, state);
        }
        Ok(feed_ids
            .iter()
            .map(|id| found.get(id).cloned().unwrap_or_default())
            .collect())
    }

    fn items_of_feeds(&self, feed_ids: &[String]) -> Result<Vec<u64>, StoreError> {
        if feed_ids.is_empty() {
            return Ok(Vec::new());
        }
        let wanted = feed_ids.to_vec();
        let rows = self.run("items_of_feeds", move |c| {
            c.query(
                "SELECT feed_id, n FROM feedsift_feed_counts WHERE feed_id = ANY($1)",
                &[&wanted],
            )
            .map_err(pg("items_of_feeds"))
        })?;
        let found: std::collections::HashMap<String, u64> = rows
            .iter()
            .map(|r| (r.get(0), r.get::<_, i64>(1).max(0) as u64))
            .collect();
        Ok(feed_ids
            .iter()
            .map(|id| found.get(id).copied().unwrap_or(0))
            .collect())
    }

    fn all_feed_states(&self) -> Result<Vec<(String, FeedState)>, StoreError> {
        let rows = self.run("feed_states", |c| {
            c.query(
                "SELECT feed_id, state FROM feedsift_feeds ORDER BY feed_id",
                &[],
            )
            .map_err(pg("feed_states"))
        })?;
        rows.iter()
            .map(|r| {
                let id: String = r.get(0);
                let state = decode(&format!("feed {id}"), &r.get::<_, Vec<u8>>(1))?;
                Ok((id, state))
            })
            .collect()
    }

    fn tombstones(&self) -> Result<Vec<(String, u64)>, StoreError> {
        let rows = self.run("tombstones", |c| {
            c.query(
                "SELECT key, stamp FROM feedsift_tombstones ORDER BY key",
                &[],
            )
            .map_err(pg("tombstones"))
        })?;
        Ok(rows
            .iter()
            .map(|r| (r.get(0), r.get::<_, i64>(1).max(0) as u64))
            .collect())
    }

    fn put_tombstones(&self, tombstones: &[(String, u64)]) -> Result<(), StoreError> {
        let (keys, stamps): (Vec<String>, Vec<i64>) = tombstones
            .iter()
            .map(|(k, s)| (k.clone(), *s as i64))
            .unzip();
        self.run("put_tombstones", move |c| {
            c.execute(
                "INSERT INTO feedsift_tombstones (key, stamp) SELECT * FROM unnest($1::text[], $2::int8[])
                 ON CONFLICT (key) DO UPDATE SET stamp = EXCLUDED.stamp",
                &[&keys, &stamps],
            )
            .map(|_| ())
            .map_err(pg("put_tombstones"))
        })
    }

    fn prune(
        &self,
        now: DateTime<Utc>,
        retention: Duration,
        max_items: Option<usize>,
    ) -> Result<PruneStats, StoreError> {
        let _guard = self.lock_ingest()?;
        let cutoff = now - chrono::Duration::from_std(retention).unwrap_or(chrono::Duration::MAX);
        let stamp = now.timestamp().max(0) as u64;
        let doomed = super::doomed_by_retention(self, now, retention, max_items)?;
        let mut stats = PruneStats {
            items: doomed.len(),
            tombstones: 0,
        };
        for chunk in doomed.chunks(256) {
            self.remove(chunk.to_vec(), stamp)?;
        }
        let tomb_cutoff = cutoff.timestamp().max(0);
        stats.tombstones = self.run("prune tombstones", move |c| {
            c.execute(
                "DELETE FROM feedsift_tombstones WHERE stamp < $1",
                &[&tomb_cutoff],
            )
            .map_err(pg("prune tombstones"))
        })? as usize;
        Ok(stats)
    }

    fn claim(
        &self,
        feed_id: &str,
        slot: DateTime<Utc>,
        owner: &str,
        lease: Duration,
        now: DateTime<Utc>,
    ) -> Result<Claim, StoreError> {
        let (id, owner) = (feed_id.to_string(), owner.to_string());
        let expires = lease_end(now, lease);
        self.run("claim", move |c| {
            // One statement, so two instances claiming at once cannot both win: the row lock
            // taken by the upsert orders them, and the second sees the first's lease.
            let won = c
                .query_opt(
                    "INSERT INTO feedsift_leases (feed_id, owner, expires, slot)
                     VALUES ($1, $2, $4, $3)
                     ON CONFLICT (feed_id) DO UPDATE
                        SET owner = EXCLUDED.owner, expires = EXCLUDED.expires, slot = EXCLUDED.slot
                      WHERE (feedsift_leases.done_slot IS NULL OR feedsift_leases.done_slot < EXCLUDED.slot)
                        AND (feedsift_leases.owner IS NULL OR feedsift_leases.owner = EXCLUDED.owner
                             OR feedsift_leases.expires < $5)
                     RETURNING owner",
                    &[&id, &owner, &slot, &expires, &now],
                )
                .map_err(pg("claim"))?;
            if won.is_some() {
                return Ok(Claim::Mine);
            }
            let row = c
                .query_one(
                    "SELECT done_slot, expires FROM feedsift_leases WHERE feed_id = $1",
                    &[&id],
                )
                .map_err(pg("claim"))?;
            let done: Option<DateTime<Utc>> = row.get(0);
            let expires: Option<DateTime<Utc>> = row.get(1);
            if done.is_some_and(|d| d >= slot) {
                Ok(Claim::Done)
            } else {
                Ok(Claim::Held(expires.unwrap_or(now)))
            }
        })
    }

    fn renew(
        &self,
        feed_id: &str,
        owner: &str,
        lease: Duration,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let (id, owner) = (feed_id.to_string(), owner.to_string());
        let expires = lease_end(now, lease);
        self.run("renew", move |c| {
            c.execute(
                "UPDATE feedsift_leases SET expires = $3 WHERE feed_id = $1 AND owner = $2",
                &[&id, &owner, &expires],
            )
            .map(|n| n == 1)
            .map_err(pg("renew"))
        })
    }

    fn finish(
        &self,
        feed_id: &str,
        slot: DateTime<Utc>,
        owner: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let (id, owner) = (feed_id.to_string(), owner.to_string());
        self.run("finish", move |c| {
            c.execute(
                "UPDATE feedsift_leases SET
                    done_slot = GREATEST(COALESCE(done_slot, $2), $2),
                    expires = CASE WHEN owner = $3 THEN $4 ELSE expires END,
                    owner = CASE WHEN owner = $3 THEN NULL ELSE owner END
                 WHERE feed_id = $1",
                &[&id, &slot, &owner, &now],
            )
            .map(|_| ())
            .map_err(pg("finish"))
        })
    }

    fn flush(&self) -> Result<(), StoreError> {
        // Every commit is a PostgreSQL transaction, durable when it returns.
        Ok(())
    }

    fn size_on_disk(&self) -> Result<u64, StoreError> {
        self.run("size_on_disk", |c| {
            c.query_one(
                "SELECT (SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0)::int8
                   FROM pg_class c WHERE c.relname LIKE 'feedsift\\_%' AND c.relkind = 'r')",
                &[],
            )
            .map(|r| r.get::<_, i64>(0).max(0) as u64)
            .map_err(pg("size_on_disk"))
        })
    }

    fn tree_sizes(&self) -> Vec<(&'static str, usize)> {
        const TABLES: [(&str, &str); 9] = [
            ("items", "feedsift_items"),
            ("near", "feedsift_near"),
            ("aliases", "feedsift_aliases"),
            ("copies", "feedsift_copies"),
            ("tombstones", "feedsift_tombstones"),
            ("feeds", "feedsift_feeds"),
            ("feed_counts", "feedsift_feed_counts"),
            ("leases", "feedsift_leases"),
            ("corrections", "feedsift_corrections"),
        ];
        TABLES
            .iter()
            .map(|(name, table)| {
                let sql = format!("SELECT count(*) FROM {table}");
                let n = self
                    .run("tree_sizes", move |c| {
                        c.query_one(&sql, &[])
                            .map(|r| r.get::<_, i64>(0) as usize)
                            .map_err(pg("tree_sizes"))
                    })
                    .unwrap_or(0);
                (*name, n)
            })
            .collect()
    }
}
