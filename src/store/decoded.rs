//! The embedded backend's decoded items, shared between readers.
//!
//! Takes: a sequence number, the bytes its item was just read from (the record and the records
//! of its copies) and a way to decode them. Gives: the item as an `Arc<StoredItem>`; the *same*
//! `Arc` as last time when the bytes are the same, so a reader (the generator's per-item
//! rendering, [`crate::publish`]) can tell an unchanged item by pointer.
//!
//! Guarantees:
//! - **Never stale, by construction.** An item is a pure function of its sequence number and
//!   those bytes; an entry is reused only when the bytes read now equal the bytes it was decoded
//!   from. No write path has to remember to invalidate anything: an edit, a new copy, a
//!   correction or a removal changes the bytes (or leaves nothing to read).
//! - **No read at all while nothing was written.** An entry remembers the store generation
//!   ([`crate::store::Backend::generation`], moved after every write of items or copies) at
//!   which its bytes were last compared; at that same generation it is used without reading
//!   ([`Decoded::current`]). The generation is read before the bytes, so an entry is never
//!   marked with a generation older than the bytes it was compared with.
//! - **Bounded** by the bytes held (quick_cache, weighted by record and copy sizes), whatever the
//!   store holds.
//!
//! Why: a filtered feed that misses the render cache (an ad-hoc `?max_age=`) decoded each of its
//! items again on every request; decoding was a third of such a request's CPU
//! (docs/PERFORMANCE.md, "Session 11").

use crate::model::StoredItem;
use crate::store::StoreError;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// How many bytes of records (and their copies) the cache holds, about as much again decoded.
pub const DECODED_BYTES: u64 = 8 << 20;

/// What an item was decoded from, and the item.
struct Entry {
    record: sled::IVec,
    copies: Vec<sled::IVec>,
    item: Arc<StoredItem>,
    /// The store generation at which `record` and `copies` were last found unchanged.
    checked: AtomicU64,
}

/// Weighs an entry by the bytes it was decoded from (decoded, it takes about as much again).
#[derive(Clone)]
struct ByBytes;

impl quick_cache::Weighter<u64, Arc<Entry>> for ByBytes {
    fn weight(&self, _seq: &u64, e: &Arc<Entry>) -> u64 {
        // A floor for the fixed parts (key, dates, classification), so many tiny records
        // cannot make the cache hold an unbounded number of entries.
        let bytes = e.record.len() + e.copies.iter().map(|c| c.len()).sum::<usize>();
        bytes as u64 + 256
    }
}

/// Decoded items by sequence number.
pub struct Decoded {
    cache: quick_cache::sync::Cache<u64, Arc<Entry>, ByBytes>,
}

impl Default for Decoded {
    fn default() -> Self {
        Decoded::new(DECODED_BYTES)
    }
}

impl Decoded {
    /// A cache holding items decoded from at most about `bytes` bytes.
    pub fn new(bytes: u64) -> Decoded {
        let bytes = bytes.max(1);
        Decoded {
            cache: quick_cache::sync::Cache::with_weighter(
                (bytes / 2048).max(16) as usize,
                bytes,
                ByBytes,
            ),
        }
    }

    /// The item with sequence number `seq` if its bytes were found unchanged at `generation`
    /// (the store's generation now): no read needed.
    pub fn current(&self, seq: u64, generation: u64) -> Option<Arc<StoredItem>> {
        self.cache
            .get(&seq)
            .filter(|e| e.checked.load(Ordering::Acquire) == generation)
            .map(|e| Arc::clone(&e.item))
    }

    /// The item with sequence number `seq`, read as `record` at store generation `generation`
    /// (read before the record): decoded by `decode`, its copies read by `copies_of` (by the
    /// sequence number: sled keeps them under it) and added by `add_copies`. Decodes only when these bytes differ from the
    /// last ones seen for `seq`.
    pub fn item(
        &self,
        seq: u64,
        generation: u64,
        record: sled::IVec,
        copies_of: impl Fn() -> Result<Vec<sled::IVec>, StoreError>,
        decode: impl FnOnce(&[u8]) -> Result<StoredItem, StoreError>,
        add_copies: impl FnOnce(&mut StoredItem, &[sled::IVec]) -> Result<(), StoreError>,
    ) -> Result<Arc<StoredItem>, StoreError> {
        if let Some(e) = self.cache.get(&seq) {
            if same(&e.record, &record) && e.copies == copies_of()? {
                e.checked.store(generation, Ordering::Release);
                return Ok(Arc::clone(&e.item));
            }
        }
        let mut item = decode(&record)?;
        let copies = copies_of()?;
        if !copies.is_empty() {
            add_copies(&mut item, &copies)?;
        }
        let item = Arc::new(item);
        self.cache.insert(
            seq,
            Arc::new(Entry {
                record,
                copies,
                item: Arc::clone(&item),
                checked: AtomicU64::new(generation),
            }),
        );
        Ok(item)
    }

    /// How many items are kept now.
    pub fn len(&self) -> usize {
        self.cache.len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.cache.is_empty()
    }
}

/// Whether two values hold the same bytes: at once when they share them (sled hands out the
/// same buffer while the page is in its cache), else compared.
fn same(a: &sled::IVec, b: &sled::IVec) -> bool {
    (a.as_ptr() == b.as_ptr() && a.len() == b.len()) || a == b
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Category, Classification, Item, SourceRef};
    use std::cell::Cell;

    /// A stand-in decoder: the record is the title.
    fn decode(record: &[u8], calls: &Cell<usize>) -> StoredItem {
        calls.set(calls.get() + 1);
        let title = String::from_utf8_lossy(record).into_owned();
        StoredItem {
            key: format!("k-{title}"),
            seq: 0,
            first_seen: chrono::DateTime::UNIX_EPOCH,
            changed: None,
            digest: String::new(),
            source: SourceRef {
                feed_id: "f".into(),
                title: String::new(),
                url: String::new(),
            },
            item: Item::titled("f", &title),
            clean_title: title,
            core: String::new(),
            class: Classification {
                category: Category::Other,
                confidence: 0.0,
                runner_up: None,
                regions: vec![],
            },
            also_at: vec![],
            link_alias: None,
            near: vec![],
        }
    }

    /// A stand-in for the copies' decoder: each copy adds one `also_at`.
    fn add(item: &mut StoredItem, copies: &[sled::IVec]) {
        item.also_at
            .extend(copies.iter().map(|c| crate::model::AlsoAt {
                source: SourceRef {
                    feed_id: String::from_utf8_lossy(c).into_owned(),
                    title: String::new(),
                    url: String::new(),
                },
                link: None,
                title: String::new(),
                key: None,
                seen: chrono::DateTime::UNIX_EPOCH,
            }));
    }

    #[test]
    fn the_same_bytes_give_the_same_item_and_other_bytes_a_new_one() {
        let cache = Decoded::new(1 << 20);
        let calls = Cell::new(0);
        let copies = std::cell::RefCell::new(Vec::<sled::IVec>::new());
        let read = |record: &str| {
            cache
                .item(
                    7,
                    1,
                    sled::IVec::from(record),
                    || Ok(copies.borrow().clone()),
                    |r| Ok(decode(r, &calls)),
                    |i, c| {
                        add(i, c);
                        Ok(())
                    },
                )
                .unwrap()
        };
        let a = read("one");
        let b = read("one");
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(calls.get(), 1);

        // An edited record is decoded again.
        let c = read("two");
        assert!(!Arc::ptr_eq(&a, &c));
        assert_eq!(c.clean_title, "two");

        // A new copy (a write to another tree, record unchanged) is seen too.
        copies.borrow_mut().push(sled::IVec::from("g"));
        let d = read("two");
        assert!(!Arc::ptr_eq(&c, &d));
        assert_eq!(d.also_at.len(), 1);
        assert!(Arc::ptr_eq(&d, &read("two")));
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn current_only_at_the_generation_it_was_checked() {
        let cache = Decoded::new(1 << 20);
        let calls = Cell::new(0);
        let read = |generation: u64, record: &str| {
            cache
                .item(
                    3,
                    generation,
                    sled::IVec::from(record),
                    || Ok(vec![]),
                    |r| Ok(decode(r, &calls)),
                    |_, _| Ok(()),
                )
                .unwrap()
        };
        assert!(cache.current(3, 1).is_none());
        let a = read(1, "one");
        assert!(Arc::ptr_eq(&cache.current(3, 1).unwrap(), &a));
        // A write moved the generation: read and compare again before using it.
        assert!(cache.current(3, 2).is_none());
        assert!(Arc::ptr_eq(&read(2, "one"), &a));
        assert!(Arc::ptr_eq(&cache.current(3, 2).unwrap(), &a));
        assert_eq!(calls.get(), 1);
        assert!(cache.current(4, 2).is_none());
    }

    #[test]
    fn bounded_by_bytes() {
        let cache = Decoded::new(64 << 10);
        let calls = Cell::new(0);
        for seq in 0..10_000u64 {
            let record = sled::IVec::from(vec![b'x'; 1000]);
            cache
                .item(
                    seq,
                    1,
                    record,
                    || Ok(vec![]),
                    |r| Ok(decode(r, &calls)),
                    |_, _| Ok(()),
                )
                .unwrap();
        }
        // 64 KiB of entries weighing 1,256 bytes each: about 52 (quick_cache may hold a few
        // more while it settles, never thousands).
        assert!(cache.len() <= 120, "{} kept", cache.len());
        assert!(!cache.is_empty());
    }
}
