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
//! and is handed work through a channel, so the store can be called from any thread — a
//! blocking ingest thread or an async HTTP handler — without nesting runtimes. A connection
//! that drops is re-opened for the next call.
//!
//! Migrations are numbered, run in one transaction under an advisory lock on start (so several
//! instances starting at once migrate once), and a database written by a newer feedsift is
//! refused with a clear error.

use super::{
    decode, encode, page_key, title_and_core, Backend, Batch, Claim, IngestGuard, PruneStats,
    StoreError,
};
use crate::model::{AlsoAt, Category, FeedState, StoredItem};
use chrono::{DateTime, Utc};
use postgres::{Client, NoTls, Row, Statement};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// The schema this build reads and writes: the number of [`MIGRATIONS`].
pub const PG_SCHEMA_VERSION: u64 = MIGRATIONS.len() as u64;

/// Advisory lock key held (per session) while an ingest decides and commits.
pub const INGEST_LOCK: i64 = 0x6665_6564_7369_0001;
/// Advisory lock key held (per transaction) while a commit draws sequence numbers.
pub const SEQ_LOCK: i64 = 0x6665_6564_7369_0002;
/// Advisory lock key held while migrations run.
const MIGRATE_LOCK: i64 = 0x6665_6564_7369_0003;

/// Connections in the pool (besides the one that holds the ingest lock).
const POOL_SIZE: usize = 8;
/// How long [`Backend::generation`] may answer from memory: other instances' commits show in
/// cached outputs at most this late.
const GENERATION_TTL: Duration = Duration::from_millis(500);

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
    // 2: the exact-core key of the near-duplicate index (sled schema 4) for every stored item.
    Migration::Code(add_core_keys),
    // 3: near-index rows are removed by their full primary key (from the item's record), so
    // the index on `seq` alone only cost every new story seven more index insertions.
    Migration::Sql("DROP INDEX IF EXISTS feedsift_near_by_seq"),
];

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

/// One step of the schema.
enum Migration {
    /// Statements run as they are.
    Sql(&'static str),
    /// A step SQL cannot express (it needs this build's hashing), run in the same transaction.
    Code(fn(&mut Conn) -> Result<(), StoreError>),
}

/// Migration 2: every stored item gains the exact-core key
/// ([`crate::dedup::near::CORE_KEY`]), in its record (so removal finds it) and in
/// `feedsift_near`. Reads the items in sequence order, a chunk at a time.
fn add_core_keys(c: &mut Conn) -> Result<(), StoreError> {
    const CHUNK: i64 = 5_000;
    let core = crate::dedup::near::CORE_KEY;
    let (mut after, mut done) = (-1i64, 0usize);
    loop {
        let rows = c
            .query(
                "SELECT key, seq, record FROM feedsift_items WHERE seq > $1 ORDER BY seq LIMIT $2",
                &[&after, &CHUNK],
            )
            .map_err(pg("migration 2: reading items"))?;
        let Some(last) = rows.last() else { break };
        after = last.get(1);
        let (mut keys, mut seqs, mut records, mut hashes) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for row in &rows {
            let key: String = row.get(0);
            let mut item: StoredItem = super::decode(&key, row.get(2))?;
            let Some(full) = crate::dedup::near::complete_signature(&item.near, &item.item.title)
            else {
                continue;
            };
            hashes.push(full[core] as i64);
            item.near = full;
            records.push(super::encode(&key, &item)?);
            seqs.push(row.get::<_, i64>(1));
            keys.push(key);
        }
        done += keys.len();
        c.execute(
            "UPDATE feedsift_items SET record = u.r
             FROM unnest($1::text[], $2::bytea[]) AS u(k, r) WHERE key = u.k",
            &[&keys, &records],
        )
        .map_err(pg("migration 2: rewriting records"))?;
        c.execute(
            "INSERT INTO feedsift_near (band, hash, seq, key)
             SELECT $1, u.h, u.s, u.k FROM unnest($2::int8[], $3::int8[], $4::text[]) AS u(h, s, k)
             ON CONFLICT DO NOTHING",
            &[&(core as i16), &hashes, &seqs, &keys],
        )
        .map_err(pg("migration 2: indexing"))?;
    }
    tracing::info!(items = done, "postgres store: exact-core index keys added");
    Ok(())
}

type Job = Box<dyn FnOnce(Result<&mut Conn, String>) + Send>;

/// A connection with its prepared statements: each statement is parsed once per connection,
/// so a query costs one round trip, not two.
pub(crate) struct Conn {
    client: Client,
    cache: HashMap<String, Statement>,
    /// Which physical connection this is (unique in the process): a session advisory lock
    /// lives exactly as long as its connection, so "same session as when the lock was taken"
    /// is "the lock is still held".
    session: u64,
}

/// Numbers the connections of this process (see [`Conn::session`]).
static SESSIONS: AtomicU64 = AtomicU64::new(1);

type Params<'a> = &'a [&'a (dyn postgres::types::ToSql + Sync)];

impl Conn {
    fn new(client: Client) -> Conn {
        Conn {
            client,
            cache: HashMap::new(),
            session: SESSIONS.fetch_add(1, Ordering::Relaxed),
        }
    }

    fn statement(&mut self, sql: &str) -> Result<Statement, postgres::Error> {
        if let Some(st) = self.cache.get(sql) {
            return Ok(st.clone());
        }
        let st = self.client.prepare(sql)?;
        self.cache.insert(sql.to_string(), st.clone());
        Ok(st)
    }

    fn query(&mut self, sql: &str, params: Params<'_>) -> Result<Vec<Row>, postgres::Error> {
        let st = self.statement(sql)?;
        self.client.query(&st, params)
    }

    fn query_one(&mut self, sql: &str, params: Params<'_>) -> Result<Row, postgres::Error> {
        let st = self.statement(sql)?;
        self.client.query_one(&st, params)
    }

    fn query_opt(&mut self, sql: &str, params: Params<'_>) -> Result<Option<Row>, postgres::Error> {
        let st = self.statement(sql)?;
        self.client.query_opt(&st, params)
    }

    fn execute(&mut self, sql: &str, params: Params<'_>) -> Result<u64, postgres::Error> {
        let st = self.statement(sql)?;
        self.client.execute(&st, params)
    }

    fn batch_execute(&mut self, sql: &str) -> Result<(), postgres::Error> {
        self.client.batch_execute(sql)
    }

    /// Runs `f` in a transaction opened by `begin` (one round trip: `BEGIN` and whatever
    /// must come first); commits when it succeeds, rolls back when it fails.
    fn transaction<R>(
        &mut self,
        what: &'static str,
        begin: &str,
        f: impl FnOnce(&mut Conn) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        self.transaction_ending(what, begin, "COMMIT", f)
    }

    /// [`Conn::transaction`] ending with `end` (statements that end with `COMMIT`).
    fn transaction_ending<R>(
        &mut self,
        what: &'static str,
        begin: &str,
        end: &str,
        f: impl FnOnce(&mut Conn) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        self.client.batch_execute(begin).map_err(pg(what))?;
        match f(self) {
            Ok(r) => {
                if let Err(e) = self.client.batch_execute(end) {
                    let _ = self.client.batch_execute("ROLLBACK");
                    return Err(pg(what)(e));
                }
                Ok(r)
            }
            Err(e) => {
                let _ = self.client.batch_execute("ROLLBACK");
                Err(e)
            }
        }
    }
}

/// One connection on its own thread.
struct Worker {
    jobs: mpsc::Sender<Job>,
}

impl Worker {
    fn spawn(config: postgres::Config, name: String) -> Result<Worker, StoreError> {
        let (tx, rx) = mpsc::channel::<Job>();
        // The first connection is made before returning, so a wrong URL or password fails
        // `connect` at once with the server's message.
        let (ready_tx, ready_rx) = mpsc::channel::<Result<(), String>>();
        std::thread::Builder::new()
            .name(name)
            .spawn(move || {
                let mut client = match config.connect(NoTls) {
                    Ok(c) => {
                        let _ = ready_tx.send(Ok(()));
                        Some(Conn::new(c))
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(message(&e)));
                        return;
                    }
                };
                while let Ok(job) = rx.recv() {
                    if client.as_ref().is_none_or(|c| c.client.is_closed()) {
                        client = match config.connect(NoTls) {
                            Ok(c) => Some(Conn::new(c)),
                            Err(e) => {
                                job(Err(format!("reconnecting: {}", message(&e))));
                                continue;
                            }
                        };
                    }
                    match client.as_mut() {
                        Some(c) => job(Ok(c)),
                        None => job(Err("no connection".into())),
                    }
                }
            })
            .map_err(|e| StoreError::Postgres {
                what: "starting a connection thread".into(),
                message: e.to_string(),
            })?;
        match ready_rx.recv() {
            Ok(Ok(())) => Ok(Worker { jobs: tx }),
            Ok(Err(m)) => Err(StoreError::Postgres {
                what: "connect".into(),
                message: m,
            }),
            Err(_) => Err(StoreError::Postgres {
                what: "connect".into(),
                message: "connection thread ended".into(),
            }),
        }
    }

    /// Runs `f` on this worker's connection and waits for its result.
    fn run<R, F>(&self, what: &str, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&mut Conn) -> Result<R, StoreError> + Send + 'static,
    {
        let (tx, rx) = mpsc::sync_channel(1);
        let job: Job = Box::new(move |c| {
            let r = match c {
                Ok(c) => f(c),
                Err(m) => Err(StoreError::Postgres {
                    what: String::new(),
                    message: m,
                }),
            };
            let _ = tx.send(r);
        });
        let fail = |m: &str| StoreError::Postgres {
            what: what.to_string(),
            message: m.to_string(),
        };
        self.jobs
            .send(job)
            .map_err(|_| fail("connection thread ended"))?;
        match rx.recv() {
            Ok(Err(StoreError::Postgres { what: w, message })) if w.is_empty() => {
                Err(fail(&message))
            }
            Ok(r) => r,
            Err(_) => Err(fail("connection thread ended")),
        }
    }
}

/// The server's message (with its detail) rather than the driver's generic "db error".
fn message(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => match db.detail() {
            Some(d) => format!("{} ({d})", db.message()),
            None => db.message().to_string(),
        },
        None => e.to_string(),
    }
}

fn pg(what: &'static str) -> impl Fn(postgres::Error) -> StoreError {
    move |e| StoreError::Postgres {
        what: what.to_string(),
        message: message(&e),
    }
}

/// A fixed set of workers; a caller takes an idle one, or waits for one.
struct Pool {
    idle: Mutex<Vec<Worker>>,
    freed: Condvar,
}

impl Pool {
    fn run<R, F>(&self, what: &'static str, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&mut Conn) -> Result<R, StoreError> + Send + 'static,
    {
        let worker = {
            let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
            loop {
                if let Some(w) = idle.pop() {
                    break w;
                }
                idle = self.freed.wait(idle).unwrap_or_else(|p| p.into_inner());
            }
        };
        let r = worker.run(what, f);
        self.idle
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(worker);
        self.freed.notify_one();
        r
    }
}

/// A handle on a feedsift database in PostgreSQL. Several processes may hold one each.
pub struct PgStore {
    url: String,
    pool: Pool,
    /// The connection that takes [`INGEST_LOCK`]; `lock_local` queues this process's ingests
    /// for it, the advisory lock queues processes. While a thread holds the lock, its store
    /// calls run on this connection: it is idle otherwise, and the pool may be busy with
    /// other threads' lookups — the lock holder, which everyone waits for, never queues.
    lock_conn: Worker,
    lock_local: Mutex<()>,
    /// The thread holding the ingest lock, if any.
    lock_holder: Mutex<Option<std::thread::ThreadId>>,
    /// The session ([`Conn::session`]) that took the ingest lock: a commit made under the lock
    /// checks it is still that session, since a dropped connection released the lock with it.
    lock_session: AtomicU64,
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

/// Releases the advisory ingest lock when dropped.
struct PgIngestGuard<'a> {
    store: &'a PgStore,
    _local: MutexGuard<'a, ()>,
}

impl Drop for PgIngestGuard<'_> {
    fn drop(&mut self) {
        *self
            .store
            .lock_holder
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = None;
        let r = self.store.lock_conn.run("releasing the ingest lock", |c| {
            c.query_one("SELECT pg_advisory_unlock($1)", &[&INGEST_LOCK])
                .map(|row| row.get::<_, bool>(0))
                .map_err(pg("releasing the ingest lock"))
        });
        match r {
            Ok(true) => {}
            // The connection dropped while the lock was held, which released it early; every
            // call made under it since then failed (see `run`), so nothing was decided or
            // written without it.
            Ok(false) => tracing::warn!("the ingest lock was lost before it was released"),
            Err(e) => tracing::warn!(error = %e, "cannot release the ingest lock"),
        }
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
    let mut item: StoredItem = decode(&key, &record)?;
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

/// Brings the database to [`PG_SCHEMA_VERSION`], or refuses one written by a newer feedsift.
fn migrate(c: &mut Conn, url: &str) -> Result<(), StoreError> {
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
                path: super::redact(url).into(),
                found,
                expected: PG_SCHEMA_VERSION,
                hint: "it was written by a newer feedsift: upgrade feedsift",
            });
        }
        for (i, step) in MIGRATIONS.iter().enumerate().skip(found as usize) {
            match step {
                Migration::Sql(sql) => tx.batch_execute(sql).map_err(|e| StoreError::Postgres {
                    what: format!("migration {}", i + 1),
                    message: message(&e),
                })?,
                Migration::Code(run) => run(tx)?,
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

impl PgStore {
    /// Connects to the database at `url` (a `postgres://user:password@host:port/db` URL;
    /// `?sslmode=disable` and libpq-style parameters are read), runs pending migrations and
    /// opens the connection pool.
    pub fn connect(url: &str) -> Result<PgStore, StoreError> {
        let mut config: postgres::Config = url.parse().map_err(|e: postgres::Error| {
            StoreError::Spec(format!("`{}`: {e}", super::redact(url)))
        })?;
        if config.get_application_name().is_none() {
            config.application_name("feedsift");
        }
        config.connect_timeout(Duration::from_secs(10));
        let connect_err = |e: StoreError| match e {
            StoreError::Postgres { message, .. } => StoreError::Postgres {
                what: format!("connect to {}", super::redact(url)),
                message,
            },
            e => e,
        };
        let lock_conn =
            Worker::spawn(config.clone(), "feedsift-pg-lock".into()).map_err(connect_err)?;
        let owned_url = url.to_string();
        lock_conn.run("migration", move |c| migrate(c, &owned_url))?;
        let mut idle = Vec::with_capacity(POOL_SIZE);
        for i in 0..POOL_SIZE {
            idle.push(
                Worker::spawn(config.clone(), format!("feedsift-pg-{i}")).map_err(connect_err)?,
            );
        }
        Ok(PgStore {
            url: url.to_string(),
            pool: Pool {
                idle: Mutex::new(idle),
                freed: Condvar::new(),
            },
            lock_conn,
            lock_local: Mutex::new(()),
            lock_holder: Mutex::new(None),
            lock_session: AtomicU64::new(0),
            local_generation: AtomicU64::new(0),
            cached_generation: Mutex::new((None, 0)),
        })
    }

    fn run<R, F>(&self, what: &'static str, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&mut Conn) -> Result<R, StoreError> + Send + 'static,
    {
        if self.holds_lock() {
            // The lock holder's calls must run in the session that took the lock: if that
            // connection dropped (and was replaced), the lock went with it and another instance
            // may have decided about the same stories meanwhile. The call fails instead — a
            // commit is then not made, and its feed, whose validators were not advanced, is
            // fetched again.
            let session = self.lock_session.load(Ordering::Acquire);
            self.lock_conn.run(what, move |c| {
                if c.session != session {
                    return Err(StoreError::Postgres {
                        what: what.into(),
                        message: "the ingest lock was lost (the database connection dropped \
                                  while it was held); nothing was written"
                            .into(),
                    });
                }
                f(c)
            })
        } else {
            self.pool.run(what, f)
        }
    }

    /// Whether the calling thread holds the ingest lock.
    fn holds_lock(&self) -> bool {
        let holder = *self.lock_holder.lock().unwrap_or_else(|p| p.into_inner());
        holder == Some(std::thread::current().id())
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

/// The columns of a commit's new items, as arrays for `unnest`.
#[derive(Default)]
struct NewRows {
    keys: Vec<String>,
    /// The sequence number to keep (`feedsift migrate`), or `None`: drawn in the statement.
    given: Vec<Option<i64>>,
    /// The first 8 bytes of the page key (the sort time); the statement appends the number.
    sort_ts: Vec<Vec<u8>>,
    cats: Vec<i16>,
    feeds: Vec<String>,
    firsts: Vec<i64>,
    records: Vec<Vec<u8>>,
    near_band: Vec<i16>,
    near_hash: Vec<i64>,
    near_key: Vec<String>,
    alias: Vec<String>,
    target: Vec<String>,
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
        let local = self.lock_local.lock().unwrap_or_else(|p| p.into_inner());
        let session = self.lock_conn.run("taking the ingest lock", |c| {
            c.execute("SELECT pg_advisory_lock($1)", &[&INGEST_LOCK])
                .map_err(pg("taking the ingest lock"))?;
            Ok(c.session)
        })?;
        self.lock_session.store(session, Ordering::Release);
        *self.lock_holder.lock().unwrap_or_else(|p| p.into_inner()) =
            Some(std::thread::current().id());
        Ok(IngestGuard::new(PgIngestGuard {
            store: self,
            _local: local,
        }))
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

    fn title_of(&self, key: &str) -> Result<Option<(String, String)>, StoreError> {
        let key = key.to_string();
        self.run("title_of", move |c| {
            match c
                .query_opt("SELECT record FROM feedsift_items WHERE key = $1", &[&key])
                .map_err(pg("title_of"))?
            {
                Some(row) => title_and_core(&key, &row.get::<_, Vec<u8>>(0)).map(Some),
                None => Ok(None),
            }
        })
    }

    fn titles_of(&self, keys: &[String]) -> Result<Vec<Option<(String, String)>>, StoreError> {
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
            let found_title = title_and_core(&key, &row.get::<_, Vec<u8>>(1))?;
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

    fn near_candidates(&self, bands: &[u64]) -> Result<Vec<String>, StoreError> {
        Ok(self
            .near_candidates_many(&[bands.to_vec()])?
            .pop()
            .unwrap_or_default())
    }

    fn near_candidates_many(&self, sigs: &[Vec<u64>]) -> Result<Vec<Vec<String>>, StoreError> {
        self.near_candidates_since(sigs, None)
    }

    fn near_candidates_since(
        &self,
        sigs: &[Vec<u64>],
        after: Option<u64>,
    ) -> Result<Vec<Vec<String>>, StoreError> {
        let after = after.map_or(-1, |a| a.min(i64::MAX as u64) as i64);
        let (mut which, mut bands, mut hashes) = (Vec::new(), Vec::new(), Vec::new());
        for (i, sig) in sigs.iter().enumerate() {
            for (band, hash) in sig.iter().enumerate() {
                which.push(i as i32);
                bands.push(band as i16);
                hashes.push(*hash as i64);
            }
        }
        if which.is_empty() {
            return Ok(vec![Vec::new(); sigs.len()]);
        }
        let per_band = super::embedded::NEAR_PER_BAND as i64;
        let rows = self.run("near_candidates", move |c| {
            c.query(
                "SELECT b.i, n.key, n.seq, b.band
                 FROM unnest($1::int4[], $2::int2[], $3::int8[]) AS b(i, band, hash)
                 CROSS JOIN LATERAL (
                     SELECT key, seq FROM feedsift_near
                     WHERE band = b.band AND hash = b.hash AND seq > $5
                     ORDER BY seq DESC LIMIT $4
                 ) n",
                &[&which, &bands, &hashes, &per_band, &after],
            )
            .map_err(pg("near_candidates"))
        })?;
        let mut hits: Vec<Vec<(String, u64, usize)>> = vec![Vec::new(); sigs.len()];
        for row in rows {
            if let Some(h) = hits.get_mut(row.get::<_, i32>(0) as usize) {
                h.push((
                    row.get(1),
                    row.get::<_, i64>(2) as u64,
                    row.get::<_, i16>(3) as usize,
                ));
            }
        }
        Ok(hits.into_iter().map(super::rank_candidates).collect())
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
        let feed_state = match feed {
            Some((id, st)) => Some((id.to_string(), encode(id, st)?)),
            None => None,
        };
        // Everything but the sequence numbers is encoded before the transaction.
        let updated: Vec<(StoredItem, Vec<u8>, StoredItem)> = batch
            .updated
            .into_iter()
            .map(|(n, o)| encode(&n.key, &n).map(|b| (n, b, o)))
            .collect::<Result<_, _>>()?;
        let mut copies = Vec::with_capacity(batch.also_at.len());
        for (story, copy) in batch.also_at {
            let rec = encode(&story, &copy)?;
            copies.push((story, super::copy_id(&copy).to_vec(), copy.key, rec));
        }
        // Everything a new item needs but its sequence number is prepared outside the
        // transaction (and outside the ingest lock the caller holds): the number is drawn in
        // the statement, and read back from its column, never from the record.
        let new = batch.new;
        let keep_seq = batch.keep_seq;
        let mut n = NewRows::default();
        for item in &new {
            n.keys.push(item.key.clone());
            n.given.push(keep_seq.then_some(item.seq as i64));
            n.sort_ts.push(page_key(item)[..8].to_vec());
            n.cats.push(category_code(item.class.category));
            n.feeds.push(item.source.feed_id.clone());
            n.firsts.push(item.first_seen.timestamp_micros());
            n.records.push(encode(&item.key, item)?);
            for (band, hash) in item.near.iter().enumerate() {
                n.near_band.push(band as i16);
                n.near_hash.push(*hash as i64);
                n.near_key.push(item.key.clone());
            }
            if let Some(a) = &item.link_alias {
                n.alias.push(a.clone());
                n.target.push(item.key.clone());
            }
        }
        let max_given = new.iter().map(|i| i.seq).max().unwrap_or(0) as i64;
        let (state_id, state_bytes) = match feed_state {
            Some((id, bytes)) => (Some(id), Some(bytes)),
            None => (None, None),
        };
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
            c.transaction_ending("commit", &begin, end, |tx| {
            if keep_seq && !n.keys.is_empty() {
                tx.execute(
                    "SELECT setval('feedsift_seq', GREATEST($1, (SELECT last_value FROM feedsift_seq)))",
                    &[&max_given],
                )
                .map_err(pg("commit: sequence"))?;
            }
            if !n.keys.is_empty() || state_id.is_some() {
                // One statement: the items (a key stored meanwhile by another writer stays as
                // it is: one story, one record), and for those inserted only, their near-index
                // entries, aliases (one row per alias: entries may share a link) and counts;
                // and the feed's state.
                tx.execute(
                    "WITH ins AS (
                         INSERT INTO feedsift_items (key, seq, date_key, category, feed_id, first_seen_us, record)
                         SELECT x.k, x.s, x.d || int8send(x.s), x.c, x.f, x.t, x.r
                         FROM (SELECT u.k, COALESCE(u.given, nextval('feedsift_seq')) AS s,
                                      u.d, u.c, u.f, u.t, u.r
                               FROM unnest($1::text[], $2::int8[], $3::bytea[], $4::int2[],
                                           $5::text[], $6::int8[], $7::bytea[])
                                    WITH ORDINALITY AS u(k, given, d, c, f, t, r, o)
                               ORDER BY u.o) x
                         ON CONFLICT (key) DO NOTHING
                         RETURNING key, seq, feed_id
                     ), nr AS (
                         INSERT INTO feedsift_near (band, hash, seq, key)
                         SELECT v.b, v.h, ins.seq, ins.key
                         FROM unnest($8::int2[], $9::int8[], $10::text[]) AS v(b, h, k)
                         JOIN ins ON ins.key = v.k
                         ON CONFLICT DO NOTHING
                     ), al AS (
                         INSERT INTO feedsift_aliases (alias, target)
                         SELECT DISTINCT ON (a.a) a.a, a.t
                         FROM unnest($11::text[], $12::text[]) AS a(a, t)
                         JOIN ins ON ins.key = a.t
                         ON CONFLICT (alias) DO UPDATE SET target = EXCLUDED.target
                     ), cnt AS (
                         INSERT INTO feedsift_feed_counts (feed_id, n)
                         SELECT feed_id, count(*) FROM ins GROUP BY feed_id
                         ON CONFLICT (feed_id) DO UPDATE SET n = feedsift_feed_counts.n + EXCLUDED.n
                     ), fs AS (
                         INSERT INTO feedsift_feeds (feed_id, state)
                         SELECT $13::text, $14::bytea WHERE $13::text IS NOT NULL
                         ON CONFLICT (feed_id) DO UPDATE SET state = EXCLUDED.state
                     )
                     SELECT count(*) FROM ins",
                    &[
                        &n.keys,
                        &n.given,
                        &n.sort_ts,
                        &n.cats,
                        &n.feeds,
                        &n.firsts,
                        &n.records,
                        &n.near_band,
                        &n.near_hash,
                        &n.near_key,
                        &n.alias,
                        &n.target,
                        &state_id,
                        &state_bytes,
                    ],
                )
                .map_err(pg("commit: items"))?;
            }
            for (item, record, old) in &updated {
                tx.execute(
                    "UPDATE feedsift_items SET record = $2, date_key = $3, category = $4 WHERE key = $1",
                    &[
                        &item.key,
                        record,
                        &page_key(item).to_vec(),
                        &category_code(item.class.category),
                    ],
                )
                .map_err(pg("commit: update"))?;
                if item.near != old.near {
                    let (bands, hashes, seqs) = near_rows([old]);
                    tx.execute(DELETE_NEAR_ROWS, &[&bands, &hashes, &seqs])
                        .map_err(pg("commit: update near index"))?;
                    let bands: Vec<i16> = (0..item.near.len() as i16).collect();
                    let hashes: Vec<i64> = item.near.iter().map(|h| *h as i64).collect();
                    tx.execute(
                        "INSERT INTO feedsift_near (band, hash, seq, key)
                         SELECT b, h, $3, $4 FROM unnest($1::int2[], $2::int8[]) AS x(b, h)
                         ON CONFLICT DO NOTHING",
                        &[&bands, &hashes, &(item.seq as i64), &item.key],
                    )
                    .map_err(pg("commit: update near index"))?;
                }
            }
            if !copies.is_empty() {
                // Recorded once per copy, and only for a story still stored; a recorded copy's
                // own key becomes an alias of the story.
                let (mut stories, mut ids, mut records, mut keys) =
                    (Vec::new(), Vec::new(), Vec::new(), Vec::new());
                for (story, copy_id, copy_key, record) in &copies {
                    stories.push(story.clone());
                    ids.push(copy_id.clone());
                    records.push(record.clone());
                    keys.push(copy_key.clone());
                }
                tx.execute(
                    "WITH x AS (
                         SELECT * FROM unnest($1::text[], $2::bytea[], $3::bytea[], $4::text[])
                             AS x(story, copy_id, record, alias)
                     ), c AS (
                         INSERT INTO feedsift_copies (story, copy_id, record)
                         SELECT story, copy_id, record FROM x
                         WHERE EXISTS (SELECT 1 FROM feedsift_items i WHERE i.key = x.story)
                         ON CONFLICT DO NOTHING RETURNING story, copy_id
                     )
                     INSERT INTO feedsift_aliases (alias, target)
                     SELECT DISTINCT ON (x.alias) x.alias, x.story
                     FROM x JOIN c ON c.story = x.story AND c.copy_id = x.copy_id
                     WHERE x.alias IS NOT NULL
                     ON CONFLICT (alias) DO UPDATE SET target = EXCLUDED.target",
                    &[&stories, &ids, &records, &keys],
                )
                .map_err(pg("commit: copies"))?;
            }
            Ok(())
            })
        })?;
        if writes_items {
            self.local_generation.fetch_add(1, Ordering::Release);
        }
        Ok(())
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

    fn page_by_date(
        &self,
        category: Option<Category>,
        before: Option<[u8; 16]>,
        limit: usize,
    ) -> Result<Vec<StoredItem>, StoreError> {
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
            items_from_rows(rows)
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

    fn feed_states(&self) -> Result<Vec<(String, FeedState)>, StoreError> {
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
        const TABLES: [(&str, &str); 8] = [
            ("items", "feedsift_items"),
            ("near", "feedsift_near"),
            ("aliases", "feedsift_aliases"),
            ("copies", "feedsift_copies"),
            ("tombstones", "feedsift_tombstones"),
            ("feeds", "feedsift_feeds"),
            ("feed_counts", "feedsift_feed_counts"),
            ("leases", "feedsift_leases"),
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
