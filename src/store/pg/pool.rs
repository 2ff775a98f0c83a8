//! The PostgreSQL backend's connections: a fixed pool of [`POOL_SIZE`] connections, and one
//! more that takes the ingest lock.
//!
//! Takes: a `postgres::Config` and jobs (closures over a [`Conn`]). Gives: each job's result,
//! run on a connection that lives on a thread of its own, so the store can be called from any
//! thread — a blocking ingest thread or an async HTTP handler — without nesting runtimes (the
//! synchronous `postgres` client blocks on a runtime of its own, which panics on a thread that
//! drives another one: that is why this is not an `r2d2` pool, which hands the connection to
//! the caller's thread).
//!
//! Guarantees:
//! - A connection that drops is re-opened for the next job.
//! - While a thread holds the ingest lock ([`Pool::lock_ingest`]), its jobs run on the lock's
//!   connection, never queueing behind other threads' lookups; and if that connection dropped
//!   (which released the advisory lock with it), every later job of the holder fails — nothing
//!   is decided or written without the lock.
//! - Each connection prepares a statement once ([`Conn`]'s cache): a query is one round trip.

use super::INGEST_LOCK;
use crate::store::{IngestGuard, StoreError};
use postgres::{Client, NoTls, Row, Statement};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Condvar, Mutex, MutexGuard};

/// Connections in the pool (besides the one that holds the ingest lock).
pub(super) const POOL_SIZE: usize = 8;

/// A PostgreSQL failure while doing `what`, keeping the driver's error as its source.
pub(super) fn pg(what: &'static str) -> impl Fn(postgres::Error) -> StoreError {
    move |e| StoreError::Postgres {
        what: what.to_string(),
        source: Box::new(e),
    }
}

/// A failure that is not the driver's (a connection thread gone, the ingest lock lost).
fn failure(what: &str, message: &str) -> StoreError {
    StoreError::Postgres {
        what: what.to_string(),
        source: message.into(),
    }
}

type Job = Box<dyn FnOnce(Result<&mut Conn, postgres::Error>) + Send>;

/// A connection with its prepared statements: each statement is parsed once per connection,
/// so a query costs one round trip, not two.
pub(crate) struct Conn {
    client: Client,
    cache: HashMap<String, Statement>,
    /// Which physical connection this is (unique in the process): a session advisory lock
    /// lives exactly as long as its connection, so "same session as when the lock was taken"
    /// is "the lock is still held".
    pub(super) session: u64,
}

/// Numbers the connections of this process (see [`Conn::session`]).
static SESSIONS: AtomicU64 = AtomicU64::new(1);

pub(super) type Params<'a> = &'a [&'a (dyn postgres::types::ToSql + Sync)];

impl Conn {
    fn new(client: Client) -> Conn {
        Conn {
            client,
            cache: HashMap::new(),
            session: SESSIONS.fetch_add(1, Ordering::Relaxed),
        }
    }

    pub(super) fn statement(&mut self, sql: &str) -> Result<Statement, postgres::Error> {
        if let Some(st) = self.cache.get(sql) {
            return Ok(st.clone());
        }
        let st = self.client.prepare(sql)?;
        self.cache.insert(sql.to_string(), st.clone());
        Ok(st)
    }

    pub(super) fn query(
        &mut self,
        sql: &str,
        params: Params<'_>,
    ) -> Result<Vec<Row>, postgres::Error> {
        let st = self.statement(sql)?;
        self.client.query(&st, params)
    }

    pub(super) fn query_one(
        &mut self,
        sql: &str,
        params: Params<'_>,
    ) -> Result<Row, postgres::Error> {
        let st = self.statement(sql)?;
        self.client.query_one(&st, params)
    }

    pub(super) fn query_opt(
        &mut self,
        sql: &str,
        params: Params<'_>,
    ) -> Result<Option<Row>, postgres::Error> {
        let st = self.statement(sql)?;
        self.client.query_opt(&st, params)
    }

    pub(super) fn execute(
        &mut self,
        sql: &str,
        params: Params<'_>,
    ) -> Result<u64, postgres::Error> {
        let st = self.statement(sql)?;
        self.client.execute(&st, params)
    }

    pub(super) fn batch_execute(&mut self, sql: &str) -> Result<(), postgres::Error> {
        self.client.batch_execute(sql)
    }

    /// Runs `f` in a transaction opened by `begin` (one round trip: `BEGIN` and whatever
    /// must come first); commits when it succeeds, rolls back when it fails.
    pub(super) fn transaction<R>(
        &mut self,
        what: &'static str,
        begin: &str,
        f: impl FnOnce(&mut Conn) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        self.transaction_ending(what, begin, "COMMIT", f)
    }

    /// [`Conn::transaction`] ending with `end` (statements that end with `COMMIT`).
    pub(super) fn transaction_ending<R>(
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
pub(super) struct Worker {
    jobs: mpsc::Sender<Job>,
}

impl Worker {
    /// Starts the thread and makes the first connection before returning, so that a wrong
    /// URL or password fails at once with the server's message.
    pub(super) fn spawn(config: postgres::Config, name: String) -> Result<Worker, StoreError> {
        let (tx, rx) = mpsc::channel::<Job>();
        let (ready_tx, ready_rx) = mpsc::channel::<Result<(), postgres::Error>>();
        std::thread::Builder::new()
            .name(name)
            .spawn(move || {
                let mut conn = match config.connect(NoTls) {
                    Ok(c) => {
                        let _ = ready_tx.send(Ok(()));
                        Conn::new(c)
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                while let Ok(job) = rx.recv() {
                    if conn.client.is_closed() {
                        match config.connect(NoTls) {
                            Ok(c) => conn = Conn::new(c),
                            Err(e) => {
                                job(Err(e));
                                continue;
                            }
                        }
                    }
                    job(Ok(&mut conn));
                }
            })
            .map_err(|e| StoreError::Postgres {
                what: "starting a connection thread".into(),
                source: Box::new(e),
            })?;
        match ready_rx.recv() {
            Ok(Ok(())) => Ok(Worker { jobs: tx }),
            Ok(Err(e)) => Err(pg("connect")(e)),
            Err(_) => Err(failure("connect", "connection thread ended")),
        }
    }

    /// Runs `f` on this worker's connection and waits for its result.
    pub(super) fn run<R, F>(&self, what: &str, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&mut Conn) -> Result<R, StoreError> + Send + 'static,
    {
        let (tx, rx) = mpsc::sync_channel(1);
        let reconnecting = format!("{what}: reconnecting");
        let job: Job = Box::new(move |c| {
            let r = match c {
                Ok(c) => f(c),
                Err(e) => Err(StoreError::Postgres {
                    what: reconnecting,
                    source: Box::new(e),
                }),
            };
            let _ = tx.send(r);
        });
        self.jobs
            .send(job)
            .map_err(|_| failure(what, "connection thread ended"))?;
        rx.recv()
            .unwrap_or_else(|_| Err(failure(what, "connection thread ended")))
    }
}

/// The pool: a fixed set of workers, a caller taking an idle one or waiting for one; and the
/// connection that takes [`INGEST_LOCK`].
pub(super) struct Pool {
    idle: Mutex<Vec<Worker>>,
    freed: Condvar,
    /// The connection that takes [`INGEST_LOCK`]; `lock_local` queues this process's ingests
    /// for it, the advisory lock queues processes. While a thread holds the lock, its store
    /// calls run on this connection: it is idle otherwise, and the pool may be busy with
    /// other threads' lookups — the lock holder, which everyone waits for, never queues.
    lock_conn: Worker,
    lock_local: Mutex<()>,
    /// The thread holding the ingest lock, if any.
    lock_holder: Mutex<Option<std::thread::ThreadId>>,
    /// The session ([`Conn::session`]) that took the ingest lock: a call made under the lock
    /// checks it is still that session, since a dropped connection released the lock with it.
    lock_session: AtomicU64,
}

impl Pool {
    /// Opens the lock's connection, runs `first` on it (the migrations, before any other
    /// connection is opened), then opens the [`POOL_SIZE`] others.
    pub(super) fn open(
        config: &postgres::Config,
        first: impl FnOnce(&Worker) -> Result<(), StoreError>,
    ) -> Result<Pool, StoreError> {
        let lock_conn = Worker::spawn(config.clone(), "feedsift-pg-lock".into())?;
        first(&lock_conn)?;
        let mut idle = Vec::with_capacity(POOL_SIZE);
        for i in 0..POOL_SIZE {
            idle.push(Worker::spawn(config.clone(), format!("feedsift-pg-{i}"))?);
        }
        Ok(Pool {
            idle: Mutex::new(idle),
            freed: Condvar::new(),
            lock_conn,
            lock_local: Mutex::new(()),
            lock_holder: Mutex::new(None),
            lock_session: AtomicU64::new(0),
        })
    }

    /// Runs `f` on a connection: the lock's own for the thread holding the ingest lock (failing
    /// if the lock was lost), else the next idle one.
    pub(super) fn run<R, F>(&self, what: &'static str, f: F) -> Result<R, StoreError>
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
            return self.lock_conn.run(what, move |c| {
                if c.session != session {
                    return Err(failure(
                        what,
                        "the ingest lock was lost (the database connection dropped \
                         while it was held); nothing was written",
                    ));
                }
                f(c)
            });
        }
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

    /// Whether the calling thread holds the ingest lock.
    fn holds_lock(&self) -> bool {
        let holder = *self.lock_holder.lock().unwrap_or_else(|p| p.into_inner());
        holder == Some(std::thread::current().id())
    }

    /// Takes the ingest lock for the calling thread: this process's ingests queue on
    /// `lock_local`, every instance's on the advisory lock.
    pub(super) fn lock_ingest(&self) -> Result<IngestGuard<'_>, StoreError> {
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
            pool: self,
            _local: local,
        }))
    }
}

/// Releases the advisory ingest lock when dropped.
struct PgIngestGuard<'a> {
    pool: &'a Pool,
    _local: MutexGuard<'a, ()>,
}

impl Drop for PgIngestGuard<'_> {
    fn drop(&mut self) {
        *self
            .pool
            .lock_holder
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = None;
        let r = self.pool.lock_conn.run("releasing the ingest lock", |c| {
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

#[cfg(test)]
mod tests {
    //! The pool on its own, against the server named by `FEEDSIFT_TEST_POSTGRES` (reported as
    //! ignored without one: see `build.rs`).
    use super::*;
    use std::sync::Arc;

    fn config() -> postgres::Config {
        std::env::var("FEEDSIFT_TEST_POSTGRES")
            .expect("FEEDSIFT_TEST_POSTGRES was set when the tests were built; set it again")
            .parse()
            .expect("a PostgreSQL URL")
    }

    fn backend_pid(c: &mut Conn) -> Result<i32, StoreError> {
        c.query_one("SELECT pg_backend_pid()", &[])
            .map(|r| r.get(0))
            .map_err(pg("pid"))
    }

    #[test]
    #[cfg_attr(
        not(feedsift_postgres),
        ignore = "needs FEEDSIFT_TEST_POSTGRES (scripts/postgres-for-tests.sh)"
    )]
    fn many_threads_share_at_most_pool_size_connections() {
        let config = config();
        let pool = Arc::new(Pool::open(&config, |_| Ok(())).unwrap());
        let lock_pid = pool.lock_conn.run("pid", backend_pid).unwrap();
        let handles: Vec<_> = (0..32)
            .map(|_| {
                let pool = Arc::clone(&pool);
                std::thread::spawn(move || {
                    pool.run("sleep", |c| {
                        c.batch_execute("SELECT pg_sleep(0.02)")
                            .map_err(pg("sleep"))?;
                        backend_pid(c)
                    })
                    .unwrap()
                })
            })
            .collect();
        let pids: std::collections::HashSet<i32> =
            handles.into_iter().map(|h| h.join().unwrap()).collect();
        assert!(pids.len() <= POOL_SIZE, "{} connections", pids.len());
        assert!(pids.len() > 1, "jobs ran on one connection only");
        assert!(
            !pids.contains(&lock_pid),
            "the lock's connection is not lent out"
        );
    }

    /// The reason the pool runs connections on threads of its own: a store call from an async
    /// handler must not nest the client's runtime in tokio's.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[cfg_attr(
        not(feedsift_postgres),
        ignore = "needs FEEDSIFT_TEST_POSTGRES (scripts/postgres-for-tests.sh)"
    )]
    async fn a_call_from_async_code_does_not_nest_runtimes() {
        let config = config();
        let pool = Pool::open(&config, |_| Ok(())).unwrap();
        let one: i32 = pool
            .run("one", |c| {
                c.query_one("SELECT 1", &[])
                    .map(|r| r.get(0))
                    .map_err(pg("one"))
            })
            .unwrap();
        assert_eq!(one, 1);
    }

    #[test]
    #[cfg_attr(
        not(feedsift_postgres),
        ignore = "needs FEEDSIFT_TEST_POSTGRES (scripts/postgres-for-tests.sh)"
    )]
    fn a_dropped_connection_is_reopened_for_the_next_job() {
        let config = config();
        let pool = Pool::open(&config, |_| Ok(())).unwrap();
        let first = pool.lock_conn.run("pid", backend_pid).unwrap();
        // Another session ends this one, as a restarted server or a network cut would.
        let admin = Worker::spawn(config.clone(), "admin".into()).unwrap();
        admin
            .run("terminate", move |c| {
                c.execute("SELECT pg_terminate_backend($1)", &[&first])
                    .map_err(pg("terminate"))
            })
            .unwrap();
        // `pg_terminate_backend` returns before the session is gone: a job or two may still
        // run on it, then one fails on the dead connection, and the next runs on a new one.
        let second = (0..1000)
            .filter_map(|_| pool.lock_conn.run("pid", backend_pid).ok())
            .find(|pid| *pid != first);
        assert!(
            second.is_some(),
            "no job ran on a new connection after the cut"
        );
    }

    #[test]
    #[cfg_attr(
        not(feedsift_postgres),
        ignore = "needs FEEDSIFT_TEST_POSTGRES (scripts/postgres-for-tests.sh)"
    )]
    fn statements_are_prepared_once_per_connection() {
        let config = config();
        let pool = Pool::open(&config, |_| Ok(())).unwrap();
        let same = pool
            .lock_conn
            .run("prepare", |c| {
                let a = c.statement("SELECT $1::int4").map_err(pg("prepare"))?;
                let b = c.statement("SELECT $1::int4").map_err(pg("prepare"))?;
                Ok(a.params() == b.params() && c.cache.len() == 1)
            })
            .unwrap();
        assert!(same);
    }
}
