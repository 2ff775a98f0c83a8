//! The sources compact records name by number: each distinct source (feed id, title, URL) is
//! written once, not in every record.
//!
//! Takes: the sources of the items a store writes, and at open the entries written before.
//! Gives: a small number for each distinct source ([`Sources::id_of`]), and the source back for
//! a number ([`Sources::fill`]).
//!
//! Guarantees:
//! - **Written before it is named.** A new source's entry is inserted into the store's
//!   `sources` tree before its number is handed out, so any record written with the number
//!   follows it in sled's log: whatever a crash keeps of the records, it keeps their sources.
//! - **Immutable.** A number always means the same source: entries are never rewritten or
//!   removed (a feed whose title changes gets a new number; the old one costs its few bytes).
//!   So an item decoded from its record is still a pure function of the record's bytes, which
//!   the shared decoded items rely on ([`super::decoded`]).
//! - **Bounded by the sources, not the items**: one entry per feed and title the store has
//!   seen, about 60 bytes each.
//!
//! Why: the source's title and URL were 52 of a farm record's 606 bytes, repeated in every
//! record of the feed; each byte a record saves is about 2.5 on disk (`docs/STORAGE.md`).

use super::StoreError;
use crate::model::SourceRef;
use std::collections::HashMap;
use std::sync::RwLock;

/// Every source a store's records name, both ways.
#[derive(Debug, Default)]
pub struct Sources {
    inner: RwLock<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    ids: HashMap<SourceRef, u32>,
    all: Vec<SourceRef>,
}

/// What a `sources` entry holds: the number's source, as JSON (small, read once at open).
fn entry_value(source: &SourceRef) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(source).map_err(|e| StoreError::Corrupt {
        key: format!("source {}", source.feed_id),
        message: e.to_string(),
    })
}

impl Sources {
    /// The sources `tree` holds (key: the number as big-endian `u32`, value: the source).
    pub fn load(tree: &sled::Tree) -> Result<Sources, StoreError> {
        let mut inner = Inner::default();
        for entry in tree.iter() {
            let (k, v) = entry?;
            let what = || format!("source {}", String::from_utf8_lossy(&k));
            let id = <[u8; 4]>::try_from(&k[..])
                .map(u32::from_be_bytes)
                .map_err(|_| StoreError::Corrupt {
                    key: what(),
                    message: format!("a {}-byte number, not 4", k.len()),
                })?;
            if id as usize != inner.all.len() {
                return Err(StoreError::Corrupt {
                    key: format!("source {id}"),
                    message: format!("numbers skip from {} to {id}", inner.all.len()),
                });
            }
            let source: SourceRef =
                serde_json::from_slice(&v).map_err(|e| StoreError::Corrupt {
                    key: format!("source {id}"),
                    message: e.to_string(),
                })?;
            inner.ids.insert(source.clone(), id);
            inner.all.push(source);
        }
        Ok(Sources {
            inner: RwLock::new(inner),
        })
    }

    /// The number of `source`: the one it has, or the next one, after writing its entry to
    /// `tree`. Not to be called inside a sled transaction (the entry is a plain insert).
    pub fn id_of(&self, tree: &sled::Tree, source: &SourceRef) -> Result<u32, StoreError> {
        if let Some(id) = self.read().ids.get(source) {
            return Ok(*id);
        }
        let mut inner = self.inner.write().unwrap_or_else(|p| p.into_inner());
        if let Some(id) = inner.ids.get(source) {
            return Ok(*id);
        }
        let id = u32::try_from(inner.all.len()).map_err(|_| StoreError::Corrupt {
            key: format!("source {}", source.feed_id),
            message: "more than 4,294,967,295 sources".into(),
        })?;
        tree.insert(id.to_be_bytes(), entry_value(source)?)?;
        inner.ids.insert(source.clone(), id);
        inner.all.push(source.clone());
        Ok(id)
    }

    /// `out` becomes source number `id`, in the buffers it has. `what` names the record in the
    /// error for a number no entry has.
    pub fn fill(&self, what: &str, id: u32, out: &mut SourceRef) -> Result<(), StoreError> {
        let inner = self.read();
        let source = inner
            .all
            .get(id as usize)
            .ok_or_else(|| StoreError::Corrupt {
                key: what.to_string(),
                message: format!("source {id} is not in the store"),
            })?;
        for (to, from) in [
            (&mut out.feed_id, &source.feed_id),
            (&mut out.title, &source.title),
            (&mut out.url, &source.url),
        ] {
            to.clear();
            to.push_str(from);
        }
        Ok(())
    }

    /// The feed id of source number `id`.
    pub fn feed_id(&self, what: &str, id: u32) -> Result<String, StoreError> {
        let inner = self.read();
        match inner.all.get(id as usize) {
            Some(s) => Ok(s.feed_id.clone()),
            None => Err(StoreError::Corrupt {
                key: what.to_string(),
                message: format!("source {id} is not in the store"),
            }),
        }
    }

    /// Sources numbered in the order given, held in memory only (for tests of what reads them).
    #[cfg(test)]
    pub(crate) fn of(list: Vec<SourceRef>) -> Sources {
        let mut inner = Inner::default();
        for source in list {
            let id = inner.all.len() as u32;
            inner.ids.entry(source.clone()).or_insert(id);
            inner.all.push(source);
        }
        Sources {
            inner: RwLock::new(inner),
        }
    }

    /// How many sources there are.
    pub fn len(&self) -> usize {
        self.read().all.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Inner> {
        self.inner.read().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(feed: &str, title: &str) -> SourceRef {
        SourceRef {
            feed_id: feed.into(),
            title: title.into(),
            url: format!("http://example.com/{feed}.xml"),
        }
    }

    #[test]
    fn each_distinct_source_gets_one_number_kept_across_opens() {
        let db = sled::Config::new().temporary(true).open().unwrap();
        let tree = db.open_tree("sources").unwrap();
        let s = Sources::load(&tree).unwrap();
        let (a, b, a2) = (
            source("a", "A"),
            source("b", "B"),
            source("a", "A, renamed"),
        );
        let ids: Vec<u32> = [&a, &b, &a, &a2, &b]
            .iter()
            .map(|x| s.id_of(&tree, x).unwrap())
            .collect();
        assert_eq!(ids, [0, 1, 0, 2, 1]);
        assert_eq!(tree.len(), 3);
        let again = Sources::load(&tree).unwrap();
        let mut out = source("", "");
        for (id, want) in [(0, &a), (1, &b), (2, &a2)] {
            again.fill("r", id, &mut out).unwrap();
            assert_eq!(&out, want);
            assert_eq!(again.id_of(&tree, want).unwrap(), id);
        }
        assert_eq!(again.feed_id("r", 2).unwrap(), "a");
    }

    #[test]
    fn an_unknown_number_or_a_damaged_entry_is_an_error_naming_it() {
        let db = sled::Config::new().temporary(true).open().unwrap();
        let tree = db.open_tree("sources").unwrap();
        let s = Sources::load(&tree).unwrap();
        let e = s.fill("record 7", 3, &mut source("", "")).unwrap_err();
        assert!(e.to_string().contains("record 7") && e.to_string().contains("source 3"));
        tree.insert(0u32.to_be_bytes(), &b"{not json"[..]).unwrap();
        let e = Sources::load(&tree).unwrap_err().to_string();
        assert!(e.contains("source 0"), "{e}");
        tree.insert(0u32.to_be_bytes(), entry_value(&source("a", "A")).unwrap())
            .unwrap();
        tree.insert(5u32.to_be_bytes(), entry_value(&source("b", "B")).unwrap())
            .unwrap();
        let e = Sources::load(&tree).unwrap_err().to_string();
        assert!(e.contains("skip"), "{e}");
    }
}
