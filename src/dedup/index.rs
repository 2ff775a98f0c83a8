//! The near-duplicate index as the deduplicator uses it: what its keys are, how lookups are
//! ranked, and how stored items gain keys when a store migration adds some.
//!
//! Takes: a title's index keys ([`near::signature`]: [`near::BANDS`] band hashes, then the
//! exact-core key at [`near::CORE_KEY`]) and the store's raw hits for them ([`NearHit`]: item,
//! sequence number, key position). Gives: at most [`MAX_CANDIDATES`] keys of stored items to
//! verify, best first ([`candidates`]); the same for one response's own new stories, held in
//! memory ([`ResponseIndex`]); the complete keys of an item stored before a key was
//! added ([`reindex`]); and the store constructors that pass it ([`Store::open`],
//! [`Store::open_with`], [`Store::connect_postgres`]).
//!
//! Guarantees: the store holds keys and positions without knowing what they mean, so ranking
//! and re-keying live here, and the same hits rank the same on both backends.

use super::near;
use crate::model::StoredItem;
use crate::store::{Backend, NearHit, Store, StoreError};
use std::collections::HashMap;
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
    rank(
        hits.into_iter()
            .map(|NearHit { key, seq, index }| (key, seq, index)),
    )
}

/// [`rank_candidates`] over hits of any key: `(key, newness, key position)`. A hit is told
/// from another by its newness alone (a stored story's sequence number, a response entry's
/// position: one per key), so the keys themselves are never compared.
fn rank<K>(hits: impl IntoIterator<Item = (K, u64, usize)>) -> Vec<K> {
    let mut found: Vec<(K, usize, usize, u64)> = Vec::new();
    for (key, seq, index) in hits {
        let exact = usize::from(index >= near::CORE_KEY);
        match found.iter_mut().find(|f| f.3 == seq) {
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

/// The near-duplicate index of one response's own new stories, in memory: which earlier entry
/// of the document a new entry may repeat (a feed listing a story twice).
///
/// Takes: each new story's position in the response and its index keys ([`near::signature`]),
/// in document order ([`ResponseIndex::insert`]). Gives: for another entry's keys, at most
/// [`MAX_CANDIDATES`] positions to verify ([`ResponseIndex::candidates`]), ranked exactly as a
/// store lookup ranks its hits ([`rank_candidates`]) from the newest [`PER_KEY`] entries of
/// each bucket the keys share (same key position, same non-zero hash).
///
/// Guarantees: a lookup costs at most [`near::INDEX_KEYS`] × [`PER_KEY`] hits and
/// [`MAX_CANDIDATES`] verifications however many entries the document has, so one document of
/// thousands of look-alike titles (`Story number N about markets`, whose band buckets hold every
/// entry) costs time linear in its entries, like the same entries arriving in many responses.
/// What a response holds is as bounded as the response: one position per key of each entry.
#[derive(Debug, Default)]
pub struct ResponseIndex {
    buckets: HashMap<(usize, u64), Vec<u32>>,
}

impl ResponseIndex {
    /// Adds the entry at `position` with index keys `sig`; positions must grow.
    pub fn insert(&mut self, position: usize, sig: &[u64]) {
        let position = u32::try_from(position).unwrap_or(u32::MAX);
        for (index, hash) in sig.iter().enumerate() {
            if *hash != 0 {
                self.buckets
                    .entry((index, *hash))
                    .or_default()
                    .push(position);
            }
        }
    }

    /// Positions of earlier entries sharing a key with `sig`, best first (see the type's docs).
    pub fn candidates(&self, sig: &[u64]) -> Vec<usize> {
        let hits = sig
            .iter()
            .enumerate()
            .filter(|(_, h)| **h != 0)
            .flat_map(|(index, hash)| {
                let bucket = self
                    .buckets
                    .get(&(index, *hash))
                    .map_or(&[][..], |b| b.as_slice());
                bucket[bucket.len().saturating_sub(PER_KEY)..]
                    .iter()
                    .rev()
                    .map(move |p| (*p as usize, u64::from(*p), index))
            });
        rank(hits)
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn hit(key: &str, seq: u64, index: usize) -> NearHit {
        NearHit {
            key: key.into(),
            seq,
            index,
        }
    }

    #[test]
    fn ranking_puts_the_exact_core_first_then_shared_keys_then_the_newest() {
        let core = near::CORE_KEY;
        let cases: &[(&str, Vec<NearHit>, &[&str])] = &[
            ("nothing", vec![], &[]),
            (
                "more shared keys first, each story once",
                vec![
                    hit("a", 1, 0),
                    hit("b", 2, 0),
                    hit("a", 1, 1),
                    hit("a", 1, 2),
                ],
                &["a", "b"],
            ),
            (
                "equal counts: the newest first",
                vec![hit("old", 3, 0), hit("new", 9, 1)],
                &["new", "old"],
            ),
            (
                "an exact-core hit beats any number of band hits",
                vec![
                    hit("bands", 5, 0),
                    hit("bands", 5, 1),
                    hit("bands", 5, 2),
                    hit("core", 2, core),
                ],
                &["core", "bands"],
            ),
        ];
        for (what, hits, want) in cases {
            assert_eq!(rank_candidates(hits.clone()), *want, "{what}");
        }
        // At most MAX_CANDIDATES, the newest kept among equals.
        let many: Vec<NearHit> = (0..40).map(|i| hit(&format!("k{i}"), i, 0)).collect();
        let kept = rank_candidates(many);
        assert_eq!(kept.len(), MAX_CANDIDATES);
        assert_eq!(kept[0], "k39");
        assert_eq!(
            kept[MAX_CANDIDATES - 1],
            format!("k{}", 40 - MAX_CANDIDATES)
        );
    }
}
