//! The embedded backend's titles of recent stories, in memory.
//!
//! Takes: the title, index core and first feed ([`TitleOf`]) of every story a commit writes (new
//! or edited), of every story [`Backend::title_of`](super::Backend::title_of) reads from disk,
//! and the keys of stories corrected or removed. Gives: a story's [`TitleOf`] without a read of
//! the disk while the story is among the recently written or read.
//!
//! Guarantees:
//! - **Never stale.** A write to a record replaces (edit) or drops (correction, removal) its
//!   entry once the write is committed. A read from disk fills the cache only if no write
//!   happened since the read began ([`Titles::stamp`]), so a read that raced with an edit cannot
//!   put the old title back.
//! - **Bounded** by a number of entries (quick_cache's S3-FIFO policy), whatever the store holds.
//!
//! Why: the deduplicator verifies each new entry against the stored titles its near-duplicate
//! index proposes, which are mostly stories stored moments ago; reading them back from sled (two
//! tree reads and a decode each) was a tenth of a cold poll's CPU (docs/PERFORMANCE.md).

use super::TitleOf;
use std::sync::Mutex;

/// How many stories' titles are kept (about 250 bytes each).
pub const TITLE_ENTRIES: usize = 8_192;

/// Titles of recent stories by key.
pub struct Titles {
    cache: quick_cache::sync::Cache<String, TitleOf>,
    /// Writes so far: a read fills the cache only if this has not moved since it began. Held
    /// while a write changes the cache, and while a read checks and fills it.
    writes: Mutex<u64>,
}

impl Default for Titles {
    fn default() -> Self {
        Titles::new(TITLE_ENTRIES)
    }
}

impl Titles {
    /// A cache of at most about `entries` titles.
    pub fn new(entries: usize) -> Titles {
        Titles {
            cache: quick_cache::sync::Cache::new(entries.max(1)),
            writes: Mutex::new(0),
        }
    }

    /// The title of `key`, if kept.
    pub fn get(&self, key: &str) -> Option<TitleOf> {
        self.cache.get(key)
    }

    /// Taken before reading a title from disk, given back to [`Titles::fill`].
    pub fn stamp(&self) -> u64 {
        *self.writes.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Keeps `title`, read from disk for `key` after [`Titles::stamp`] gave `stamp`, unless a
    /// write happened meanwhile.
    pub fn fill(&self, key: &str, title: &TitleOf, stamp: u64) {
        let writes = self.writes.lock().unwrap_or_else(|p| p.into_inner());
        if *writes == stamp {
            self.cache.insert(key.to_string(), title.clone());
        }
    }

    /// Records committed writes: each key with its new title (a story written) or `None` (a
    /// story corrected or removed: read again when asked).
    pub fn wrote<'a>(&self, changes: impl IntoIterator<Item = (&'a str, Option<TitleOf>)>) {
        let mut writes = self.writes.lock().unwrap_or_else(|p| p.into_inner());
        *writes = writes.wrapping_add(1);
        for (key, title) in changes {
            match title {
                Some(t) => self.cache.insert(key.to_string(), t),
                None => {
                    self.cache.remove(key);
                }
            }
        }
    }

    /// How many titles are kept now.
    pub fn len(&self) -> usize {
        self.cache.len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.cache.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(title: &str) -> TitleOf {
        TitleOf {
            title: title.to_string(),
            core: String::new(),
            feed_id: "f".to_string(),
        }
    }

    #[test]
    fn writes_replace_and_drop_and_a_raced_read_does_not_fill() {
        let titles = Titles::new(64);
        assert!(titles.is_empty());
        titles.wrote([("a", Some(t("one")))]);
        assert_eq!(titles.get("a"), Some(t("one")));
        titles.wrote([("a", Some(t("two")))]);
        assert_eq!(titles.get("a"), Some(t("two")));
        titles.wrote([("a", None)]);
        assert_eq!(titles.get("a"), None);

        // A read that began before a write does not fill; one after it does.
        let stamp = titles.stamp();
        titles.wrote([("b", None)]);
        titles.fill("a", &t("old"), stamp);
        assert_eq!(titles.get("a"), None);
        titles.fill("a", &t("two"), titles.stamp());
        assert_eq!(titles.get("a"), Some(t("two")));
        assert_eq!(titles.len(), 1);
    }

    #[test]
    fn bounded() {
        let titles = Titles::new(32);
        for i in 0..1000 {
            titles.wrote([(format!("k{i}").as_str(), Some(t("x")))]);
        }
        assert!(titles.len() <= 64, "{} kept", titles.len());
    }
}
