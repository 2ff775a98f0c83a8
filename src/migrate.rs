//! `feedsift migrate --from … --to …`: moves a whole store from one backend to another (sled
//! to PostgreSQL when one machine is outgrown; back again works the same way).
//!
//! Takes: two store endpoints, `sled:DIR` or a `postgres://` URL. Gives: every item (with its
//! copies, aliases, category and near-duplicate index entries), every feed's state (so no feed
//! is re-fetched in full), every tombstone and every admin correction (numbers kept, so
//! corrected items keep their labels in the new store too), in the target; then counts
//! compared.
//!
//! Guarantees:
//! - Items keep their sequence numbers, so `/api/items?after=` cursors handed out by the old
//!   store stay valid against the new one, and new numbers are drawn above them.
//! - The target must hold no item: a migration never merges two stores.
//! - The source is only read. Verification counts items, copies, feed states and tombstones on
//!   both sides and fails, naming what differs, when they disagree.

use crate::store::{Batch, Store, StoreError};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Items per target transaction.
const CHUNK: usize = 500;

/// One side of a migration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// A sled store directory.
    Sled(PathBuf),
    /// A PostgreSQL database.
    Postgres(String),
}

/// Why a migration did not happen or did not verify.
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    /// An endpoint is neither `sled:DIR` nor a PostgreSQL URL.
    #[error("`{0}` is not a store: use sled:DIR or postgres://user:password@host/database")]
    Endpoint(String),
    /// Source and target are the same store.
    #[error("source and target are the same store")]
    Same,
    /// The target already holds items.
    #[error("the target {0} already holds {1} items: migrate into an empty store")]
    NotEmpty(String, u64),
    /// A store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Counts differ after the copy.
    #[error("verification failed: {0}")]
    Verify(String),
}

impl Endpoint {
    /// Reads `sled:DIR`, `postgres://…` or `postgresql://…`.
    pub fn parse(s: &str) -> Result<Endpoint, MigrateError> {
        if let Some(dir) = s.strip_prefix("sled:") {
            if dir.is_empty() {
                return Err(MigrateError::Endpoint(s.to_string()));
            }
            Ok(Endpoint::Sled(PathBuf::from(dir)))
        } else if s.starts_with("postgres://") || s.starts_with("postgresql://") {
            Ok(Endpoint::Postgres(s.to_string()))
        } else {
            Err(MigrateError::Endpoint(crate::store::redact(s)))
        }
    }

    pub(crate) fn open(&self, create: bool) -> Result<Store, MigrateError> {
        match self {
            Endpoint::Sled(dir) => {
                if !create && !dir.join("conf").exists() {
                    return Err(
                        StoreError::Spec(format!("{} holds no sled store", dir.display())).into(),
                    );
                }
                Ok(Store::open(dir, 64 << 20)?)
            }
            Endpoint::Postgres(url) => Ok(Store::connect_postgres(url)?),
        }
    }
}

/// What was moved, counted on both sides.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Items.
    pub items: u64,
    /// Copies of items seen in other feeds.
    pub copies: u64,
    /// Feed states.
    pub feeds: u64,
    /// Tombstones of pruned items.
    pub tombstones: u64,
    /// The admin's corrections of item labels.
    pub corrections: u64,
}

/// The outcome of a verified migration.
#[derive(Debug, Clone, Copy)]
pub struct Report {
    /// What the source held and the target now holds.
    pub counts: Counts,
    /// How long the copy took (without verification).
    pub elapsed: Duration,
}

/// Counts what `store` holds by reading all of it (not the kept counters: this is the check).
fn count(store: &Store) -> Result<Counts, StoreError> {
    let mut c = Counts::default();
    for item in store.after_seq(None) {
        let item = item?;
        c.items += 1;
        c.copies += item.also_at.len() as u64;
    }
    c.feeds = store.backend().all_feed_states()?.len() as u64;
    c.tombstones = store.backend().tombstones()?.len() as u64;
    for correction in store.all_corrections() {
        correction?;
        c.corrections += 1;
    }
    Ok(c)
}

/// Copies the store at `from` into the empty store at `to`, then verifies the counts.
/// `on_progress(done, total)` is called after each chunk of items.
pub fn migrate(
    from: &Endpoint,
    to: &Endpoint,
    on_progress: &dyn Fn(u64, u64),
) -> Result<Report, MigrateError> {
    if from == to {
        return Err(MigrateError::Same);
    }
    let source = from.open(false)?;
    let target = to.open(true)?;
    if !target.backend().is_empty()? {
        return Err(MigrateError::NotEmpty(
            target.describe(),
            target.backend().len()?,
        ));
    }
    let started = Instant::now();
    let total = source.backend().len()?;
    let mut done = 0u64;
    let mut chunk = Vec::with_capacity(CHUNK);
    let flush = |chunk: &mut Vec<crate::model::StoredItem>| -> Result<(), StoreError> {
        let mut batch = Batch {
            keep_seq: true,
            ..Batch::default()
        };
        for mut item in chunk.drain(..) {
            for copy in std::mem::take(&mut item.also_at) {
                batch.also_at.push((item.key.clone(), copy));
            }
            batch.new.push(item);
        }
        target.commit(batch, None)
    };
    for item in source.after_seq(None) {
        chunk.push(item?);
        if chunk.len() == CHUNK {
            flush(&mut chunk)?;
            done += CHUNK as u64;
            on_progress(done, total);
        }
    }
    done += chunk.len() as u64;
    flush(&mut chunk)?;
    on_progress(done, total);
    for (id, state) in source.backend().all_feed_states()? {
        target.put_feed_state(&id, &state)?;
    }
    target
        .backend()
        .put_tombstones(&source.backend().tombstones()?)?;
    let corrections = source
        .all_corrections()
        .collect::<Result<Vec<_>, StoreError>>()?;
    target.put_corrections(&corrections)?;
    target.flush()?;
    let elapsed = started.elapsed();

    let (want, got) = (count(&source)?, count(&target)?);
    if want != got {
        return Err(MigrateError::Verify(format!(
            "source has {want:?}, target has {got:?}"
        )));
    }
    if source.backend().len()? != target.backend().len()? {
        return Err(MigrateError::Verify(format!(
            "item counters differ: source {}, target {}",
            source.backend().len()?,
            target.backend().len()?
        )));
    }
    Ok(Report {
        counts: got,
        elapsed,
    })
}
