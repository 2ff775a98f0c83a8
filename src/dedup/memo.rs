//! Bounded memos of pure functions of a string.
//!
//! Takes: a string and the function to apply to it. Gives: the function's value, computed once
//! while the string stays among the recently used (quick_cache's S3-FIFO policy).
//!
//! Guarantees: only pure functions are memoised — their value depends on the string alone, never
//! on the store, the learner or the time — so a memo can never be stale, and a value it gives is
//! exactly what the function would give. The bound is a number of entries: a memo never grows
//! past it, whatever the stream.
//!
//! Why: verifying a near-duplicate compares the new title with each candidate's, and the farms
//! that fill band buckets propose the same recent stories for entry after entry; folding their
//! titles, and the segments beside the common story, again for every comparison was about a tenth
//! of a cold poll's CPU (docs/PERFORMANCE.md, session 10).

/// A bounded memo of a pure function of a string.
pub struct Memo<V>(quick_cache::sync::Cache<String, V>);

impl<V: Clone> Memo<V> {
    /// A memo of at most about `entries` strings.
    pub fn new(entries: usize) -> Memo<V> {
        Memo(quick_cache::sync::Cache::new(entries))
    }

    /// `f(key)`, from the memo when `key` was seen recently.
    pub fn get_or(&self, key: &str, f: impl FnOnce(&str) -> V) -> V {
        if let Some(v) = self.0.get(key) {
            return v;
        }
        let v = f(key);
        self.0.insert(key.to_string(), v.clone());
        v
    }

    /// Keeps `value` as `f(key)`, worked out elsewhere: the caller guarantees it is exactly
    /// what the memoised function gives for `key`.
    pub fn prime(&self, key: &str, value: V) {
        self.0.insert(key.to_string(), value);
    }

    /// How many strings it holds now.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether it holds nothing.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    #[test]
    fn computes_once_and_stays_bounded() {
        let memo: Memo<usize> = Memo::new(16);
        let calls = Cell::new(0);
        let len = |s: &str| {
            calls.set(calls.get() + 1);
            s.chars().count()
        };
        assert_eq!(memo.get_or("新闻联播", len), 4);
        assert_eq!(memo.get_or("新闻联播", len), 4);
        assert_eq!(calls.get(), 1, "the second call came from the memo");
        for i in 0..1000 {
            assert_eq!(
                memo.get_or(&format!("title {i}"), len),
                format!("title {i}").len()
            );
        }
        assert!(memo.len() <= 32, "bounded: {} entries", memo.len());
        assert!(!memo.is_empty());
    }
}
