//! The near-duplicate index as the deduplicator uses it: what its keys are, how lookups are
//! ranked, and how stored items gain keys when a store migration adds some.
//!
//! Takes: a title's index keys ([`near::signature`]: [`near::BANDS`] band hashes, then the
//! exact-core key at [`near::CORE_KEY`]) and the store's raw hits for them ([`NearHit`]: item,
//! sequence number, key position). Gives: at most [`MAX_CANDIDATES`] keys of stored items to
//! verify, best first ([`candidates`]); the complete keys of an item stored before a key was
//! added ([`reindex`]); and the store constructors that pass it ([`Store::open`],
//! [`Store::open_with`], [`Store::connect_postgres`]).
//!
//! Guarantees: the store holds keys and positions without knowing what they mean, so ranking
//! and re-keying live here, and the same hits rank the same on both backends.

use super::near;
use crate::model::StoredItem;
use crate::store::{Backend, NearHit, Store, StoreError};
use std::path::Path;

/// Entries read per index key in a lookup: templated titles (`…增持3.54万股`, `…增持4.1万股`)
/// fill one band bucket with thousands of look-alikes; re-posts of a story arrive close
/// together.
pub const PER_KEY: usize = 8;
/// Candidates verified per lookup, most key matches first.
pub const MAX_CANDIDATES: usize = 12;

/// Ranks near-duplicate index hits — the newest few of each bucket — into at most
/// [`MAX_CANDIDATES`] keys: a hit on the exact-core key first (equal cores are the strongest
/// evidence there is, and look-alikes that crowd the band buckets share more bands than the
/// story's own older copy), then those sharing the most keys, then the newest.
pub fn rank_candidates(hits: impl IntoIterator<Item = NearHit>) -> Vec<String> {
    let mut found: Vec<(String, usize, usize, u64)> = Vec::new();
    for NearHit { key, seq, index } in hits {
        let exact = usize::from(index >= near::CORE_KEY);
        match found.iter_mut().find(|(x, ..)| *x == key) {
            Some(f) => {
                f.1 += exact;
                f.2 += 1;
            }
            None => found.push((key, exact, 1, seq)),
        }
    }
    found.sort_by(|a, b| b.1.cmp(&a.1).then(b.2.cmp(&a.2)).then(b.3.cmp(&a.3)));
    found
        .into_iter()
        .take(MAX_CANDIDATES)
        .map(|(k, ..)| k)
        .collect()
}

/// Keys of stored items sharing index keys with `sig`, ranked ([`rank_candidates`]).
pub fn candidates(store: &dyn Backend, sig: &[u64]) -> Result<Vec<String>, StoreError> {
    Ok(candidates_many(store, &[sig.to_vec()])?
        .pop()
        .unwrap_or_default())
}

/// Every signature's [`near::probes`], flattened, and which signature each belongs to.
fn expand(sigs: &[Vec<u64>]) -> (Vec<Vec<u64>>, Vec<usize>) {
    let (mut all, mut owner) = (Vec::new(), Vec::new());
    for (i, sig) in sigs.iter().enumerate() {
        for p in near::probes(sig) {
            all.push(p);
            owner.push(i);
        }
    }
    (all, owner)
}

/// Gathers the hits of expanded probes back per signature and ranks them.
fn gather(n: usize, owner: &[usize], hits: Vec<Vec<NearHit>>) -> Vec<Vec<String>> {
    let mut per: Vec<Vec<NearHit>> = (0..n).map(|_| Vec::new()).collect();
    for (o, h) in owner.iter().zip(hits) {
        per[*o].extend(h);
    }
    per.into_iter().map(rank_candidates).collect()
}

/// [`candidates`] for several signatures at once (one round trip where that matters).
pub fn candidates_many(
    store: &dyn Backend,
    sigs: &[Vec<u64>],
) -> Result<Vec<Vec<String>>, StoreError> {
    let (all, owner) = expand(sigs);
    Ok(gather(
        sigs.len(),
        &owner,
        store.near_hits_many(&all, PER_KEY)?,
    ))
}

/// [`candidates_many`] among items with a sequence number above `after` only (stored since a
/// writer's lookups).
pub fn candidates_since(
    store: &dyn Backend,
    sigs: &[Vec<u64>],
    after: Option<u64>,
) -> Result<Vec<Vec<String>>, StoreError> {
    let (all, owner) = expand(sigs);
    Ok(gather(
        sigs.len(),
        &owner,
        store.near_hits_since(&all, PER_KEY, after)?,
    ))
}

/// The store migrations' [`Reindex`](crate::store::Reindex): an item stored before the
/// exact-core key (sled schema 3, PostgreSQL migration 1) or the segment-aligned keys (sled
/// schema 4, PostgreSQL migration 3) gains them ([`near::complete_signature`]).
pub fn reindex(item: &StoredItem) -> Option<Vec<u64>> {
    near::complete_signature(&item.near, &item.item.title)
}

/// The store constructors everything but the store itself uses: they pass [`reindex`], so a
/// store written by an older feedsift is migrated on open.
impl Store {
    /// Opens (or creates) a sled store in `dir`, with a page cache of `cache_bytes`.
    pub fn open(dir: &Path, cache_bytes: u64) -> Result<Store, StoreError> {
        Store::open_sled(dir, cache_bytes, false, reindex)
    }

    /// [`Store::open`], choosing whether a *new* store is zstd-compressed
    /// ([`SledStore::open_with`](crate::store::SledStore::open_with)).
    pub fn open_with(
        dir: &Path,
        cache_bytes: u64,
        compress_new: bool,
    ) -> Result<Store, StoreError> {
        Store::open_sled(dir, cache_bytes, compress_new, reindex)
    }

    /// Connects to a PostgreSQL store and brings its schema up to date
    /// ([`PgStore::connect`](crate::store::PgStore::connect)).
    pub fn connect_postgres(url: &str) -> Result<Store, StoreError> {
        Store::open_postgres(url, reindex)
    }
}
