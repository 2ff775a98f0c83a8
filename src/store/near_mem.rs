//! The embedded backend's near-duplicate index, in memory.
//!
//! Takes: each stored item's sequence number, key and opaque index keys ([`StoredItem::near`]:
//! one `u64` per key position, `0` for none) as commits add, update and prune items. Gives: for
//! a lookup's keys, the newest `per_key` entries of each bucket (same position, same key) as
//! [`NearHit`]s, newest first — exactly what the `near_recent` tree of schema 5 gave, without a
//! read of the disk.
//!
//! Guarantees:
//! - **The same answers as the tree it replaces.** A bucket lists its items in sequence order,
//!   however they arrive (an update keeps its item's place; `feedsift migrate` may bring items
//!   in any order), so "the newest `per_key`" means the same thing.
//! - **Compact.** What was built at open, and what has been merged since, is one sorted array
//!   of 12-byte (bucket, item) entries, searched by bisection; what was added since the last
//!   merge sits in a hash map beside it (one 12-byte entry per bucket of one item, a list for
//!   more), merged into the array once it is half the array's size. An item is its sequence
//!   number and its key, 16 bytes when the key is the deduplicator's 32 hex digits; slots of
//!   removed items are reused.
//! - **Removal is exact**: an item leaves every bucket it was in, found by its sequence number,
//!   so retention bounds the index as it bounds the store.
//!
//! Built by [`SledStore`](super::SledStore) at open from the `keys` tree (which carries each
//! item's sequence number and index keys since schema 7) on a thread of its own; lookups and
//! changes wait for it ([`Shared`]), serving does not.

use super::{NearHit, StoreError};
use rustc_hash::FxHashMap;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

/// A bucket's value: the one slot it holds, or (high bit set) an index into the lists of
/// buckets that hold more.
const MANY: u32 = 1 << 31;

/// An item's key as kept in memory: the deduplicator's keys are 32 lower-case hex digits, kept
/// as their 16 bytes; anything else as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Key {
    Hex([u8; 16]),
    Other(Box<str>),
}

impl Key {
    fn of(key: &str) -> Key {
        let b = key.as_bytes();
        if b.len() == 32 && b.iter().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')) {
            let mut out = [0u8; 16];
            for (i, pair) in b.chunks(2).enumerate() {
                out[i] = (nibble(pair[0]) << 4) | nibble(pair[1]);
            }
            Key::Hex(out)
        } else {
            Key::Other(key.into())
        }
    }

    fn text(&self) -> String {
        match self {
            Key::Hex(b) => {
                const DIGITS: &[u8; 16] = b"0123456789abcdef";
                let mut s = String::with_capacity(32);
                for byte in b {
                    s.push(char::from(DIGITS[usize::from(byte >> 4)]));
                    s.push(char::from(DIGITS[usize::from(byte & 15)]));
                }
                s
            }
            Key::Other(s) => s.to_string(),
        }
    }
}

fn nibble(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        _ => c - b'a' + 10,
    }
}

/// One indexed item.
#[derive(Debug, Clone)]
struct Slot {
    seq: u64,
    key: Key,
}

/// The bucket of key `hash` at position `index`, as one map key. The salt keeps equal hashes
/// at different positions apart (positions are different signatures' parts).
fn bucket_of(index: usize, hash: u64) -> u64 {
    hash ^ (index as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// One entry of the sorted base: a bucket and a slot, 12 bytes (4-byte aligned).
#[derive(Debug, Clone, Copy)]
struct Entry {
    bucket: [u32; 2],
    slot: u32,
}

impl Entry {
    fn new(bucket: u64, slot: u32) -> Entry {
        Entry {
            bucket: [(bucket >> 32) as u32, bucket as u32],
            slot,
        }
    }
    fn bucket(&self) -> u64 {
        (u64::from(self.bucket[0]) << 32) | u64::from(self.bucket[1])
    }
}

/// A base entry whose item was removed (skipped by lookups, dropped by the next merge).
const DEAD: u32 = u32::MAX;

/// The overlay is merged into the base once it holds this many entries and at least half as
/// many as the base: merging costs a sort of the whole index, so it is done seldom.
const MERGE_AT: usize = 1 << 16;

/// The in-memory index (see the module docs): a sorted array of (bucket, slot) entries — the
/// base, 12 bytes an entry, built in one go at open — and a hash map of what was added since
/// (the overlay: one 12-byte entry per bucket of one item, a list for more), merged into the
/// base when it has grown to half its size. Lookups read both.
#[derive(Debug, Default)]
pub struct NearIndex {
    slots: Vec<Slot>,
    free_slots: Vec<u32>,
    /// Sorted by bucket, then by the slot's sequence number.
    base: Vec<Entry>,
    /// Where in `base` the buckets of each value of their top `dir_bits` bits start (and, last,
    /// the end): a lookup bisects a handful of entries, not the whole array (a bisection of
    /// millions is two dozen cache misses per key).
    dir: Vec<u32>,
    dir_bits: u32,
    buckets: FxHashMap<u64, u32>,
    lists: Vec<Vec<u32>>,
    free_lists: Vec<u32>,
    overlay: usize,
    items: usize,
    entries: usize,
    /// [`MERGE_AT`], smaller in tests.
    merge_at: Option<usize>,
}

impl NearIndex {
    /// Items indexed (those with at least one key).
    pub fn items(&self) -> usize {
        self.items
    }

    /// Bucket entries: one per item and non-zero key.
    pub fn entries(&self) -> usize {
        self.entries
    }

    /// Room for about `items` items before a bulk build ([`NearIndex::bulk`]): the arrays are
    /// reserved once, the base at the first item's number of keys for each, instead of grown by
    /// doubling. Each doubling copies the array and holds both copies for a moment, which an
    /// allocator that cannot remap pages in place (mimalloc) pays in peak memory: about 100 MB
    /// at 900,000 stories. Room reserved and never written is never resident.
    ///
    /// A count that cannot be right (slots are numbered by `u32`) or memory that cannot be
    /// had reserves nothing: the arrays then grow as they fill.
    pub fn expect(&mut self, items: usize) {
        let _ = self.slots.try_reserve_exact(items.min(DEAD as usize));
    }

    /// Adds an item while building the index in one go (the store's `keys` at open, in any
    /// order): straight into the base, without the overlay's hash map. Lookups are right only
    /// after [`NearIndex::finish_bulk`], which puts every bucket in sequence order.
    pub fn bulk(&mut self, seq: u64, key: &str, near: &[u64]) {
        // The first item: the slots' room is what `expect` was told.
        if self.base.capacity() == 0 && self.slots.is_empty() {
            let room = self.slots.capacity().saturating_mul(near.len());
            let _ = self.base.try_reserve_exact(room);
        }
        if let Some(id) = self.new_slot(seq, key, near) {
            for (index, hash) in near.iter().enumerate().filter(|(_, h)| **h != 0) {
                self.base.push(Entry::new(bucket_of(index, *hash), id));
                self.entries += 1;
            }
        }
    }

    /// Ends a bulk build: sorts the base.
    pub fn finish_bulk(&mut self) {
        self.sort_base();
        self.slots.shrink_to_fit();
    }

    /// A slot for a new item, `None` when it has no key.
    fn new_slot(&mut self, seq: u64, key: &str, near: &[u64]) -> Option<u32> {
        if near.iter().all(|h| *h == 0) {
            return None;
        }
        let slot = Slot {
            seq,
            key: Key::of(key),
        };
        self.items += 1;
        Some(match self.free_slots.pop() {
            Some(id) => {
                self.slots[id as usize] = slot;
                id
            }
            None => {
                self.slots.push(slot);
                (self.slots.len() - 1) as u32
            }
        })
    }

    /// Sorts the base by bucket, then sequence number: sorted by bucket and slot, entries are
    /// in sequence order wherever slots were handed out in sequence order (a bulk build reads
    /// the store in that order, and slots are only reused after removals); a bucket whose
    /// entries are otherwise (a reused slot, an edit that keeps its old number) is put in
    /// order on its own. An unstable sort: a stable one borrows a buffer of half the array
    /// (57 MB at 900,000 stories).
    fn sort_base(&mut self) {
        self.base.retain(|e| e.slot != DEAD);
        self.base.sort_unstable_by_key(|e| (e.bucket(), e.slot));
        let slots = &self.slots;
        let seq = |e: &Entry| slots[e.slot as usize].seq;
        let mut i = 0;
        while i < self.base.len() {
            let b = self.base[i].bucket();
            let j = i + self.base[i..].partition_point(|e| e.bucket() == b);
            let run = &mut self.base[i..j];
            if run.windows(2).any(|w| seq(&w[0]) > seq(&w[1])) {
                run.sort_by_key(seq);
            }
            i = j;
        }
        self.base.shrink_to_fit();
        // Two to four entries per directory cell: about a byte an entry more, and a lookup
        // bisects one or two cache lines.
        self.dir_bits = (usize::BITS - self.base.len().leading_zeros())
            .saturating_sub(2)
            .clamp(1, 30);
        let cells = 1usize << self.dir_bits;
        let mut dir = Vec::with_capacity(cells + 1);
        let mut at = 0;
        for cell in 0..cells as u64 {
            while at < self.base.len() && self.top(self.base[at].bucket()) < cell {
                at += 1;
            }
            dir.push(at as u32);
        }
        dir.push(self.base.len() as u32);
        self.dir = dir;
    }

    /// The directory cell of `bucket`.
    fn top(&self, bucket: u64) -> u64 {
        bucket >> (64 - self.dir_bits)
    }

    /// The base entries of `bucket` (some may be [`DEAD`]).
    fn base_range(&self, bucket: u64) -> std::ops::Range<usize> {
        if self.base.is_empty() {
            return 0..0;
        }
        let cell = self.top(bucket) as usize;
        let (lo, hi) = (self.dir[cell] as usize, self.dir[cell + 1] as usize);
        let part = &self.base[lo..hi];
        let from = part.partition_point(|e| e.bucket() < bucket);
        let to = from + part[from..].partition_point(|e| e.bucket() == bucket);
        lo + from..lo + to
    }

    /// Indexes the item `key` with sequence number `seq` under its non-zero `near` keys.
    pub fn insert(&mut self, seq: u64, key: &str, near: &[u64]) {
        let Some(id) = self.new_slot(seq, key, near) else {
            return;
        };
        for (index, hash) in near.iter().enumerate().filter(|(_, h)| **h != 0) {
            self.add(bucket_of(index, *hash), id, seq);
            self.entries += 1;
            self.overlay += 1;
        }
        if self.overlay >= self.merge_at.unwrap_or(MERGE_AT) && self.overlay * 2 >= self.base.len()
        {
            self.merge();
        }
    }

    /// Moves the overlay into the base.
    fn merge(&mut self) {
        self.base.reserve_exact(self.overlay);
        for (bucket, v) in std::mem::take(&mut self.buckets) {
            if v & MANY == 0 {
                self.base.push(Entry::new(bucket, v));
            } else {
                for id in &self.lists[(v & !MANY) as usize] {
                    self.base.push(Entry::new(bucket, *id));
                }
            }
        }
        self.lists = Vec::new();
        self.free_lists = Vec::new();
        self.overlay = 0;
        self.sort_base();
    }

    /// Adds slot `id` (sequence number `seq`) to an overlay bucket, in sequence order.
    fn add(&mut self, bucket: u64, id: u32, seq: u64) {
        let Some(&v) = self.buckets.get(&bucket) else {
            self.buckets.insert(bucket, id);
            return;
        };
        if v & MANY == 0 {
            let list = if self.slots[v as usize].seq < seq {
                vec![v, id]
            } else {
                vec![id, v]
            };
            let at = match self.free_lists.pop() {
                Some(at) => {
                    self.lists[at as usize] = list;
                    at
                }
                None => {
                    self.lists.push(list);
                    (self.lists.len() - 1) as u32
                }
            };
            self.buckets.insert(bucket, at | MANY);
            return;
        }
        let slots = &self.slots;
        let list = &mut self.lists[(v & !MANY) as usize];
        if list.last().is_none_or(|l| slots[*l as usize].seq < seq) {
            list.push(id);
        } else {
            let at = list.partition_point(|s| slots[*s as usize].seq < seq);
            list.insert(at, id);
        }
    }

    /// Removes the item with sequence number `seq` indexed under `near` (its keys when it was
    /// indexed); an item that is not there is no error.
    pub fn remove(&mut self, seq: u64, near: &[u64]) {
        let mut freed = None;
        for (index, hash) in near.iter().enumerate().filter(|(_, h)| **h != 0) {
            let bucket = bucket_of(index, *hash);
            if let Some(id) = self.remove_from_overlay(bucket, seq) {
                freed = Some(id);
                continue;
            }
            let range = self.base_range(bucket);
            let slots = &self.slots;
            if let Some(e) = self.base[range]
                .iter_mut()
                .find(|e| e.slot != DEAD && slots[e.slot as usize].seq == seq)
            {
                freed = Some(e.slot);
                e.slot = DEAD;
                self.entries -= 1;
            }
        }
        if let Some(id) = freed {
            self.slots[id as usize].key = Key::Other("".into());
            self.free_slots.push(id);
            self.items -= 1;
        }
    }

    /// Removes `seq` from an overlay bucket: its slot, if it was there.
    fn remove_from_overlay(&mut self, bucket: u64, seq: u64) -> Option<u32> {
        let &v = self.buckets.get(&bucket)?;
        if v & MANY == 0 {
            if self.slots[v as usize].seq != seq {
                return None;
            }
            self.buckets.remove(&bucket);
            self.entries -= 1;
            self.overlay -= 1;
            return Some(v);
        }
        let slots = &self.slots;
        let list = &mut self.lists[(v & !MANY) as usize];
        let at = list.partition_point(|s| slots[*s as usize].seq < seq);
        if list.get(at).is_none_or(|s| slots[*s as usize].seq != seq) {
            return None;
        }
        let id = list.remove(at);
        self.entries -= 1;
        self.overlay -= 1;
        if list.len() == 1 {
            let only = list[0];
            *list = Vec::new();
            self.free_lists.push(v & !MANY);
            self.buckets.insert(bucket, only);
        }
        Some(id)
    }

    /// The newest `per_key` entries of each bucket `keys` name (a zero key names none), newest
    /// first, bucket by bucket in key order.
    pub fn hits(&self, keys: &[u64], per_key: usize) -> Vec<NearHit> {
        let mut hits = Vec::new();
        for (index, hash) in keys.iter().enumerate().filter(|(_, h)| **h != 0) {
            let bucket = bucket_of(index, *hash);
            let one;
            let over: &[u32] = match self.buckets.get(&bucket) {
                None => &[],
                Some(&v) if v & MANY == 0 => {
                    one = [v];
                    &one
                }
                Some(&v) => &self.lists[(v & !MANY) as usize],
            };
            let base = &self.base[self.base_range(bucket)];
            // Both in sequence order: merged from their newest ends.
            let (mut o, mut b) = (over.iter().rev().peekable(), base.iter().rev().peekable());
            let seq = |id: u32| self.slots[id as usize].seq;
            let mut taken = 0;
            while taken < per_key {
                while b.peek().is_some_and(|e| e.slot == DEAD) {
                    b.next();
                }
                let id = match (o.peek(), b.peek()) {
                    (Some(&&x), Some(e)) if seq(x) > seq(e.slot) => o.next().copied(),
                    (_, Some(_)) => b.next().map(|e| e.slot),
                    (Some(_), None) => o.next().copied(),
                    (None, None) => None,
                };
                let Some(id) = id else { break };
                let slot = &self.slots[id as usize];
                hits.push(NearHit {
                    key: slot.key.text(),
                    seq: slot.seq,
                    index,
                });
                taken += 1;
            }
        }
        hits
    }
}

/// What the index is while the store is open: being built, built, or not buildable.
#[derive(Debug)]
enum State {
    Loading,
    Ready(NearIndex),
    Failed(String),
}

/// The index shared by a store's handles: built once, on a thread of its own, waited for by
/// whoever needs it first.
#[derive(Debug, Clone)]
pub struct Shared(Arc<(Mutex<State>, Condvar)>);

impl Shared {
    /// An index that is ready (and empty).
    pub fn ready(index: NearIndex) -> Shared {
        Shared(Arc::new((Mutex::new(State::Ready(index)), Condvar::new())))
    }

    /// An index built by `build` on a new thread; [`Shared::with`] waits for it.
    pub fn build_in_background(
        build: impl FnOnce() -> Result<NearIndex, StoreError> + Send + 'static,
    ) -> Shared {
        let shared = Shared(Arc::new((Mutex::new(State::Loading), Condvar::new())));
        let done = shared.clone();
        let spawned = std::thread::Builder::new()
            .name("near-index".into())
            .spawn(move || {
                let started = std::time::Instant::now();
                let state = match build() {
                    Ok(index) => {
                        tracing::info!(
                            items = index.items(),
                            entries = index.entries(),
                            took_ms = started.elapsed().as_millis() as u64,
                            "near-duplicate index built"
                        );
                        State::Ready(index)
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "near-duplicate index could not be built");
                        State::Failed(e.to_string())
                    }
                };
                *done.lock() = state;
                done.0 .1.notify_all();
            });
        if let Err(e) = spawned {
            *shared.lock() = State::Failed(format!("cannot start the index thread: {e}"));
        }
        shared
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.0 .0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` on the index once it is built.
    pub fn with<T>(&self, f: impl FnOnce(&mut NearIndex) -> T) -> Result<T, StoreError> {
        let mut state = self.lock();
        while matches!(*state, State::Loading) {
            state = self.0 .1.wait(state).unwrap_or_else(|p| p.into_inner());
        }
        match &mut *state {
            State::Ready(index) => Ok(f(index)),
            State::Failed(e) => Err(StoreError::Corrupt {
                key: "keys".into(),
                message: format!("the near-duplicate index could not be built: {e}"),
            }),
            State::Loading => unreachable!("waited above"),
        }
    }

    /// Whether the index is built (`false` while it is being built or if that failed).
    pub fn is_ready(&self) -> bool {
        matches!(*self.lock(), State::Ready(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(hit: &[NearHit]) -> Vec<(&str, u64, usize)> {
        hit.iter()
            .map(|h| (h.key.as_str(), h.seq, h.index))
            .collect()
    }

    #[test]
    fn buckets_answer_newest_first_per_key_whatever_the_order_of_arrival() {
        let mut ix = NearIndex::default();
        // Out of order, as a migration may bring them.
        for seq in [5u64, 1, 9, 3, 7] {
            ix.insert(seq, &format!("k{seq}"), &[10, 0, 30]);
        }
        let got = ix.hits(&[10, 0, 30], 3);
        assert_eq!(
            keys(&got),
            [
                ("k9", 9, 0),
                ("k7", 7, 0),
                ("k5", 5, 0),
                ("k9", 9, 2),
                ("k7", 7, 2),
                ("k5", 5, 2)
            ]
        );
        // A key at another position is another bucket.
        assert!(ix.hits(&[0, 10], 8).is_empty());
        assert_eq!((ix.items(), ix.entries()), (5, 10));
    }

    #[test]
    fn removal_is_exact_and_slots_are_reused() {
        let mut ix = NearIndex::default();
        let hex = "0123456789abcdef0123456789abcdef";
        ix.insert(1, hex, &[1, 2]);
        ix.insert(2, "b", &[1, 3]);
        ix.insert(3, "c", &[4]);
        ix.remove(2, &[1, 3]);
        assert_eq!(keys(&ix.hits(&[1, 3], 8)), [(hex, 1, 0)]);
        ix.remove(99, &[1, 2]); // not there: nothing happens
        ix.remove(1, &[1, 2]);
        assert!(ix.hits(&[1, 2], 8).is_empty());
        assert_eq!((ix.items(), ix.entries()), (1, 1));
        ix.insert(4, "d", &[1]);
        assert_eq!(ix.slots.len(), 3, "a freed slot is reused");
        assert_eq!(keys(&ix.hits(&[1], 8)), [("d", 4, 0)]);
        assert_eq!(keys(&ix.hits(&[4], 8)), [("c", 3, 0)]);
    }

    /// What the index must answer, worked out the slow way from every item it holds.
    fn reference(
        items: &std::collections::BTreeMap<u64, Vec<u64>>,
        keys: &[u64],
        per_key: usize,
    ) -> Vec<(String, u64, usize)> {
        let mut out = Vec::new();
        for (index, hash) in keys.iter().enumerate().filter(|(_, h)| **h != 0) {
            for (seq, _) in items
                .iter()
                .rev()
                .filter(|(_, near)| near.get(index) == Some(hash))
                .take(per_key)
            {
                out.push((format!("k{seq}"), *seq, index));
            }
        }
        out
    }

    #[derive(Debug, Clone)]
    enum Op {
        Insert(Vec<u64>),
        Edit(usize, Vec<u64>),
        Remove(usize),
    }

    fn near() -> impl Strategy<Value = Vec<u64>> {
        proptest::collection::vec(0u64..5, 0..4)
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            near().prop_map(Op::Insert),
            (any::<usize>(), near()).prop_map(|(i, n)| Op::Edit(i, n)),
            any::<usize>().prop_map(Op::Remove),
        ]
    }

    use proptest::prelude::*;

    proptest! {
        /// Built in bulk, then changed by inserts, edits (same number, new keys) and removals,
        /// merged into the base now and then: every lookup answers as the slow way does.
        #[test]
        fn the_index_answers_as_a_scan_of_its_items_would(
            built in proptest::collection::vec(near(), 0..30),
            ops in proptest::collection::vec(op(), 0..60),
            merge_at in 1usize..8,
            expected in 0usize..64,
            backwards in any::<bool>(),
        ) {
            let mut items = std::collections::BTreeMap::new();
            let mut ix = NearIndex { merge_at: Some(merge_at), ..NearIndex::default() };
            // Room for too few, enough or too many items changes nothing but the allocations.
            ix.expect(expected);
            let mut next = 0u64;
            for n in built {
                next += 1;
                items.insert(next, n);
            }
            // Built from the store in sequence order, or in any other (the keys' order).
            let mut order: Vec<(&u64, &Vec<u64>)> = items.iter().collect();
            if backwards {
                order.reverse();
            }
            for (seq, n) in order {
                ix.bulk(*seq, &format!("k{seq}"), n);
            }
            ix.finish_bulk();
            let pick = |items: &std::collections::BTreeMap<u64, Vec<u64>>, i: usize| {
                items.keys().nth(i % items.len().max(1)).copied()
            };
            for op in ops {
                match op {
                    Op::Insert(n) => {
                        next += 1;
                        ix.insert(next, &format!("k{next}"), &n);
                        items.insert(next, n);
                    }
                    Op::Edit(i, n) => {
                        if let Some(seq) = pick(&items, i) {
                            let old = items.insert(seq, n.clone()).unwrap();
                            ix.remove(seq, &old);
                            ix.insert(seq, &format!("k{seq}"), &n);
                        }
                    }
                    Op::Remove(i) => {
                        if let Some(seq) = pick(&items, i) {
                            let old = items.remove(&seq).unwrap();
                            ix.remove(seq, &old);
                        }
                    }
                }
                for probe in [vec![1, 2, 3], vec![0, 4, 1], vec![2, 0, 0, 3], vec![3, 3, 3]] {
                    for per_key in [1, 2, 8] {
                        let got: Vec<(String, u64, usize)> = ix
                            .hits(&probe, per_key)
                            .into_iter()
                            .map(|h| (h.key, h.seq, h.index))
                            .collect();
                        prop_assert_eq!(got, reference(&items, &probe, per_key));
                    }
                }
                let entries: usize = items.values().map(|n| n.iter().filter(|h| **h != 0).count()).sum();
                prop_assert_eq!(ix.entries(), entries);
                prop_assert_eq!(ix.items(), items.values().filter(|n| n.iter().any(|h| *h != 0)).count());
            }
        }
    }

    #[test]
    fn an_item_without_keys_is_not_indexed() {
        let mut ix = NearIndex::default();
        ix.insert(1, "a", &[0, 0]);
        ix.insert(2, "b", &[]);
        assert_eq!((ix.items(), ix.entries()), (0, 0));
    }

    #[test]
    fn hex_keys_round_trip_and_others_are_kept_as_they_are() {
        for k in [
            "0123456789abcdef0123456789abcdef",
            "0123456789ABCDEF0123456789ABCDEF",
            "short",
            "",
        ] {
            assert_eq!(Key::of(k).text(), k);
        }
        assert!(matches!(
            Key::of("ffffffffffffffffffffffffffffffff"),
            Key::Hex(_)
        ));
    }

    #[test]
    fn a_failed_build_is_an_error_not_a_hang() {
        let s = Shared::build_in_background(|| Err(StoreError::Spec("disk on fire".into())));
        let e = s.with(|ix| ix.items()).unwrap_err().to_string();
        assert!(e.contains("disk on fire"), "{e}");
        assert!(!s.is_ready());
    }
}
