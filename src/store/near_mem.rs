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
//! - **Compact.** A bucket holding one item (most of them) is one map entry of 12 bytes; an item
//!   is its sequence number and its key, 16 bytes when the key is the deduplicator's 32 hex
//!   digits. Slots of removed items are reused.
//! - **Removal is exact**: an item leaves every bucket it was in, found by its sequence number,
//!   so retention bounds the index as it bounds the store.
//!
//! Built by [`SledStore`](super::SledStore) at open from the `by_seq` tree (which carries each
//! item's index keys since schema 6) on a thread of its own; lookups and changes wait for it
//! ([`Shared`]), serving does not.

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

/// The in-memory index (see the module docs).
#[derive(Debug, Default)]
pub struct NearIndex {
    slots: Vec<Slot>,
    free_slots: Vec<u32>,
    buckets: FxHashMap<u64, u32>,
    lists: Vec<Vec<u32>>,
    free_lists: Vec<u32>,
    items: usize,
    entries: usize,
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

    /// Indexes the item `key` with sequence number `seq` under its non-zero `near` keys.
    pub fn insert(&mut self, seq: u64, key: &str, near: &[u64]) {
        if near.iter().all(|h| *h == 0) {
            return;
        }
        let slot = Slot {
            seq,
            key: Key::of(key),
        };
        let id = match self.free_slots.pop() {
            Some(id) => {
                self.slots[id as usize] = slot;
                id
            }
            None => {
                self.slots.push(slot);
                (self.slots.len() - 1) as u32
            }
        };
        self.items += 1;
        for (index, hash) in near.iter().enumerate().filter(|(_, h)| **h != 0) {
            self.add(bucket_of(index, *hash), id, seq);
            self.entries += 1;
        }
    }

    /// Adds slot `id` (sequence number `seq`) to a bucket, in sequence order.
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
            let Some(&v) = self.buckets.get(&bucket) else {
                continue;
            };
            if v & MANY == 0 {
                if self.slots[v as usize].seq == seq {
                    self.buckets.remove(&bucket);
                    self.entries -= 1;
                    freed = Some(v);
                }
                continue;
            }
            let slots = &self.slots;
            let list = &mut self.lists[(v & !MANY) as usize];
            let at = list.partition_point(|s| slots[*s as usize].seq < seq);
            if list.get(at).is_some_and(|s| slots[*s as usize].seq == seq) {
                freed = Some(list.remove(at));
                self.entries -= 1;
                if list.len() == 1 {
                    let only = list[0];
                    *list = Vec::new();
                    self.free_lists.push(v & !MANY);
                    self.buckets.insert(bucket, only);
                }
            }
        }
        if let Some(id) = freed {
            self.slots[id as usize].key = Key::Other("".into());
            self.free_slots.push(id);
            self.items -= 1;
        }
    }

    /// The newest `per_key` entries of each bucket `keys` name (a zero key names none), newest
    /// first, bucket by bucket in key order.
    pub fn hits(&self, keys: &[u64], per_key: usize) -> Vec<NearHit> {
        let mut hits = Vec::new();
        for (index, hash) in keys.iter().enumerate().filter(|(_, h)| **h != 0) {
            let Some(&v) = self.buckets.get(&bucket_of(index, *hash)) else {
                continue;
            };
            let one = [v];
            let list: &[u32] = if v & MANY == 0 {
                &one
            } else {
                &self.lists[(v & !MANY) as usize]
            };
            for id in list.iter().rev().take(per_key) {
                let slot = &self.slots[*id as usize];
                hits.push(NearHit {
                    key: slot.key.text(),
                    seq: slot.seq,
                    index,
                });
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
                key: "by_seq".into(),
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
