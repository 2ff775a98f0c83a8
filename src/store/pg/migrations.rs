//! The PostgreSQL schema: numbered migrations, run on connect.
//!
//! Takes: a connection (the one that will hold the ingest lock, before the pool opens) and the
//! opener's [`Reindex`] for migrations that add index keys to stored items. Gives: a database
//! at [`PG_SCHEMA_VERSION`]. Guarantees: the migrations run in one transaction under an
//! advisory lock (so several instances starting at once migrate once, and a failed one leaves
//! the schema as it was); a database written by a newer feedsift is refused with a clear
//! error, never misread; a released migration is never edited (another is added).

use super::pool::{pg, Conn};
use super::DELETE_NEAR_ROWS;
use crate::store::sources::Sources;
use crate::store::{decode_item, encode_item, Reindex, StoreError};

/// The schema this build reads and writes: the number of [`MIGRATIONS`].
pub const PG_SCHEMA_VERSION: u64 = MIGRATIONS.len() as u64;

/// Advisory lock key held while migrations run.
const MIGRATE_LOCK: i64 = 0x6665_6564_7369_0003;

/// The migrations, in order; migration `n` (1-based) brings the schema to version `n`.
/// Never edit a released one: add another.
const MIGRATIONS: &[Migration] = &[
    // 1: the layout of sled schema 3, as tables.
    Migration::Sql(
        r#"
    CREATE TABLE feedsift_items (
        key text PRIMARY KEY,
        seq bigint NOT NULL UNIQUE,
        date_key bytea NOT NULL,
        category smallint NOT NULL,
        feed_id text NOT NULL,
        first_seen_us bigint NOT NULL,
        record bytea NOT NULL
    );
    CREATE INDEX feedsift_items_by_date ON feedsift_items (date_key);
    CREATE INDEX feedsift_items_by_category ON feedsift_items (category, date_key);
    CREATE TABLE feedsift_near (
        band smallint NOT NULL,
        hash bigint NOT NULL,
        seq bigint NOT NULL,
        key text NOT NULL,
        PRIMARY KEY (band, hash, seq)
    );
    CREATE INDEX feedsift_near_by_seq ON feedsift_near (seq);
    CREATE TABLE feedsift_aliases (alias text PRIMARY KEY, target text NOT NULL);
    CREATE INDEX feedsift_aliases_by_target ON feedsift_aliases (target);
    CREATE TABLE feedsift_copies (
        story text NOT NULL,
        copy_id bytea NOT NULL,
        record bytea NOT NULL,
        PRIMARY KEY (story, copy_id)
    );
    CREATE TABLE feedsift_tombstones (key text PRIMARY KEY, stamp bigint NOT NULL);
    CREATE TABLE feedsift_feeds (feed_id text PRIMARY KEY, state bytea NOT NULL);
    CREATE TABLE feedsift_feed_counts (feed_id text PRIMARY KEY, n bigint NOT NULL);
    CREATE TABLE feedsift_leases (
        feed_id text PRIMARY KEY,
        owner text,
        expires timestamptz,
        slot timestamptz,
        done_slot timestamptz
    );
    CREATE SEQUENCE feedsift_seq START 1;
    INSERT INTO feedsift_meta (k, v) VALUES ('generation', 0);
    "#,
    ),
    // 2: the exact-core key of the near-duplicate index (sled schema 4) for every stored item:
    // whatever keys the opener's `Reindex` completes.
    Migration::Code(complete_index_keys),
    // 3: near-index rows are removed by their full primary key (from the item's record), so
    // the index on `seq` alone only cost every new story seven more index insertions.
    Migration::Sql("DROP INDEX IF EXISTS feedsift_near_by_seq"),
    // 4: the deduplicator's segment-aligned index keys (sled schema 5) for every stored item:
    // whatever keys the opener's `Reindex` gives now.
    Migration::Code(complete_index_keys),
    // 5: named opaque blobs committed with a batch (`Batch::blobs`).
    Migration::Sql(
        "CREATE TABLE IF NOT EXISTS feedsift_blobs (name text PRIMARY KEY, bytes bytea NOT NULL)",
    ),
    // 6: the admin's corrections of item labels (`Backend::correct`): one row each, numbered;
    // the newest row of an item is the label its later updates keep.
    Migration::Sql(
        "CREATE TABLE IF NOT EXISTS feedsift_corrections (
            id bigint PRIMARY KEY,
            item_key text NOT NULL,
            label smallint NOT NULL,
            at_us bigint NOT NULL,
            record bytea NOT NULL
        );
        CREATE INDEX IF NOT EXISTS feedsift_corrections_by_item
            ON feedsift_corrections (item_key, id)",
    ),
];

/// One step of the schema.
enum Migration {
    /// Statements run as they are.
    Sql(&'static str),
    /// A step SQL cannot express (it needs the opener's re-indexing), run in the same
    /// transaction.
    Code(fn(&mut Conn, Reindex) -> Result<(), StoreError>),
}

/// Migration 2: every stored item whose index keys `reindex` completes (it gained the
/// exact-core key) gets them, in its record (so removal finds them) and in `feedsift_near`;
/// rows of keys that changed are removed. Reads the items in sequence order, a chunk at a
/// time.
fn complete_index_keys(c: &mut Conn, reindex: Reindex) -> Result<(), StoreError> {
    const CHUNK: i64 = 5_000;
    let (mut after, mut done) = (-1i64, 0usize);
    loop {
        let rows = c
            .query(
                "SELECT key, seq, record FROM feedsift_items WHERE seq > $1 ORDER BY seq LIMIT $2",
                &[&after, &CHUNK],
            )
            .map_err(pg("index keys: reading items"))?;
        let Some(last) = rows.last() else { break };
        after = last.get(1);
        let mut keys = Vec::new();
        let mut records = Vec::new();
        let (mut gone, mut added) = (NearRows::default(), NearRows::default());
        for row in &rows {
            let key: String = row.get(0);
            let mut item = decode_item(&key, row.get(2), &Sources::default())?;
            let Some(full) = reindex(&item) else {
                continue;
            };
            let seq: i64 = row.get(1);
            for (i, hash) in item.near.iter().enumerate() {
                if full.get(i) != Some(hash) {
                    gone.push(i, *hash, seq, &key);
                }
            }
            for (i, hash) in full.iter().enumerate().filter(|(_, h)| **h != 0) {
                if item.near.get(i) != Some(hash) {
                    added.push(i, *hash, seq, &key);
                }
            }
            item.near = full;
            records.push(encode_item(&item)?);
            keys.push(key);
        }
        done += keys.len();
        c.execute(
            "UPDATE feedsift_items SET record = u.r
             FROM unnest($1::text[], $2::bytea[]) AS u(k, r) WHERE key = u.k",
            &[&keys, &records],
        )
        .map_err(pg("index keys: rewriting records"))?;
        c.execute(DELETE_NEAR_ROWS, &[&gone.bands, &gone.hashes, &gone.seqs])
            .map_err(pg("index keys: indexing"))?;
        c.execute(
            "INSERT INTO feedsift_near (band, hash, seq, key)
             SELECT * FROM unnest($1::int2[], $2::int8[], $3::int8[], $4::text[])
             ON CONFLICT DO NOTHING",
            &[&added.bands, &added.hashes, &added.seqs, &added.keys],
        )
        .map_err(pg("index keys: indexing"))?;
    }
    tracing::info!(items = done, "postgres store: index keys completed");
    Ok(())
}

/// Near-index rows, as arrays for `unnest`.
#[derive(Default)]
struct NearRows {
    bands: Vec<i16>,
    hashes: Vec<i64>,
    seqs: Vec<i64>,
    keys: Vec<String>,
}

impl NearRows {
    fn push(&mut self, index: usize, hash: u64, seq: i64, key: &str) {
        self.bands.push(index as i16);
        self.hashes.push(hash as i64);
        self.seqs.push(seq);
        self.keys.push(key.to_string());
    }
}

/// Brings the database to [`PG_SCHEMA_VERSION`], or refuses one written by a newer feedsift.
pub(super) fn migrate(c: &mut Conn, url: &str, reindex: Reindex) -> Result<(), StoreError> {
    c.transaction("migration", "BEGIN", |tx| {
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATE_LOCK])
            .map_err(pg("migration lock"))?;
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS feedsift_meta (k text PRIMARY KEY, v bigint NOT NULL)",
        )
        .map_err(pg("creating feedsift_meta"))?;
        let found = tx
            .query_opt("SELECT v FROM feedsift_meta WHERE k = 'schema'", &[])
            .map_err(pg("reading the schema version"))?
            .map_or(0, |r| r.get::<_, i64>(0) as u64);
        if found > PG_SCHEMA_VERSION {
            return Err(StoreError::Schema {
                path: crate::store::redact(url).into(),
                found,
                expected: PG_SCHEMA_VERSION,
                hint: "it was written by a newer feedsift: upgrade feedsift",
            });
        }
        for (i, step) in MIGRATIONS.iter().enumerate().skip(found as usize) {
            match step {
                Migration::Sql(sql) => tx.batch_execute(sql).map_err(|e| StoreError::Postgres {
                    what: format!("migration {}", i + 1),
                    source: Box::new(e),
                })?,
                Migration::Code(run) => run(tx, reindex)?,
            }
            tracing::info!(version = i + 1, "postgres store migrated");
        }
        tx.execute(
            "INSERT INTO feedsift_meta (k, v) VALUES ('schema', $1)
         ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v",
            &[&(PG_SCHEMA_VERSION as i64)],
        )
        .map_err(pg("recording the schema version"))?;
        Ok(())
    })
}
