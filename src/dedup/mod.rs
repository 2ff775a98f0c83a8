//! The deduplicator: one story once, however many feeds carry it and however they decorate it.
//!
//! Takes: the normalised [`Item`]s of one fetched response and the feed they came from. Gives:
//! a [`Batch`] for the store — which entries are new stories, which are edits of stories this
//! feed published before, and which are copies of stories already stored (recorded as "also at"
//! on the story) — committed in one transaction together with the feed's new state.
//!
//! Identity, in three layers:
//! 1. **Canonical key** ([`canonical_key`]), in order of trust: the source's GUID when it is an
//!    absolute http(s) URL (canonicalised, so the same article carried by two feeds is one
//!    item); any other GUID, scoped to its feed (GUIDs are only unique within a feed, RSS 2.0
//!    `<guid>`); the canonical link ([`canonical_url`]); a hash of feed, title and date as the
//!    last resort. feed-rs's own ids are not used: it invents a random UUID for entries with no
//!    guid and no link, and derives ids from link + title, so an edited title would look new.
//! 2. **Link alias**: a GUID-keyed story is also reachable by its canonical link, so a feed that
//!    republishes an entry under a new GUID is recognised — if the titles are the same story
//!    (feeds whose entries all link to one home page are not merged).
//! 3. **Near-duplicates** ([`near`]): another feed's copy under another decoration, found through
//!    a banded MinHash index (the store keeps its keys opaque; [`index`] ranks its hits) and
//!    verified title against title ([`near::same_story`]).
//!
//! Rules: the feed that first carried a story owns its text; its own later edits update the
//! story (first-seen time kept, `changed` set); every other feed's copy is recorded once in
//! `also_at` and never overwrites it. An unchanged entry costs no write. Keys of stories removed
//! by retention are tombstoned and not stored again.

pub mod eval;
pub mod fold;
pub mod index;
pub mod learn;
pub mod memo;
pub mod near;
pub mod title;

use fold::Folded;
use learn::Learner;

use crate::model::{hex, Item};
use crate::model::{AlsoAt, Classification, FeedState, SourceRef, StoredItem};
use crate::store::{Batch, Store, StoreError, TitleOf};
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use std::collections::HashSet;
use url::Url;

/// Query parameters that only track the reader and never change what a page shows.
const TRACKING_PARAMS: &[&str] = &[
    "fbclid",
    "gclid",
    "dclid",
    "msclkid",
    "yclid",
    "mc_cid",
    "mc_eid",
    "igshid",
    "ref_src",
    "spm",
    "share_token",
    "share_source",
    "_hsenc",
    "_hsmi",
    "mkt_tok",
];

/// The canonical key of an item; see the module docs for the rules.
pub fn canonical_key(item: &Item) -> String {
    let basis = if let Some(url) = item.guid.as_deref().and_then(canonical_url) {
        format!("url\0{url}")
    } else if let Some(guid) = &item.guid {
        format!("guid\0{}\0{}", item.feed_id, guid)
    } else if let Some(url) = item.link.as_deref().and_then(canonical_url) {
        format!("url\0{url}")
    } else {
        let date = item
            .published
            .or(item.updated)
            .map(|d| d.timestamp())
            .unwrap_or(0);
        format!("hash\0{}\0{}\0{}", item.feed_id, item.title, date)
    };
    hex(&Sha256::digest(basis.as_bytes())[..16])
}

/// A URL reduced to what identifies the page: scheme and host lower-cased, default port and
/// fragment dropped, tracking parameters (`utm_*` and [`TRACKING_PARAMS`]) removed and the
/// remaining query keys sorted. `None` if it is not an absolute http(s) URL.
pub fn canonical_url(raw: &str) -> Option<String> {
    let mut url = Url::parse(raw.trim()).ok()?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return None;
    }
    url.set_fragment(None);
    let mut pairs: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| {
            let k = k.to_ascii_lowercase();
            !k.starts_with("utm_") && !TRACKING_PARAMS.contains(&k.as_str())
        })
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    pairs.sort();
    if pairs.is_empty() {
        url.set_query(None);
    } else {
        url.query_pairs_mut().clear().extend_pairs(pairs);
    }
    // The url crate already lower-cases scheme and host and drops default ports.
    Some(url.to_string())
}

/// How the deduplicator behaves; `[dedup]` in `feeds.toml` (defined by the configuration).
pub use crate::config::DedupSettings;

/// What one response held, entry by entry.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Stories stored for the first time.
    pub new: usize,
    /// Stories whose owning feed changed their text.
    pub updated: usize,
    /// Entries already stored, copies of stored stories, repeats within the document.
    pub duplicate: usize,
    /// Time spent waiting for the ingest lock (other responses, other instances).
    pub lock_wait: std::time::Duration,
    /// Time the ingest lock was held (deciding what needed the lock, and the commit): the part
    /// of ingest that does not run in parallel, across every instance of a shared store.
    pub lock_held: std::time::Duration,
}

/// Where an entry already lives, if anywhere.
#[derive(Debug)]
pub enum Found {
    /// The store has it under the same key, or under the link alias with the same story title.
    Exact(StoredItem),
    /// Another stored story is the same story (near-duplicate).
    Near(StoredItem),
    /// Removed by retention; not to be stored again.
    Tombstoned,
    /// A new story.
    Nothing,
}

/// The near-duplicate band hashes of a title, or none when near-duplicate detection is off.
pub fn signature_for(settings: &DedupSettings, title: &str) -> Vec<u64> {
    if settings.near_duplicates {
        near::signature(title)
    } else {
        Vec::new()
    }
}

/// [`signature_for`] as ingest computes it with a learner: its segment-aligned keys are also
/// cut where `feed`'s learned packaging ends or starts ([`near::learned_cuts`]).
pub fn signature_learned(
    settings: &DedupSettings,
    learner: &Learner,
    title: &str,
    feed: &str,
) -> Vec<u64> {
    if !settings.near_duplicates {
        return Vec::new();
    }
    let f = Folded::new(title::strip_wire_tag(title));
    let cuts = near::packaging_cuts(learner, &f, Some(feed));
    near::signature_cut(title, &title::index_core(title), Some(&f), &cuts)
}

/// Looks `item` (with key `key` and band hashes `sig`, see [`signature_for`]) up: exact key,
/// link alias, tombstone, near-duplicate index (skipped for an empty `sig`). Read-only;
/// [`ingest`] and `feedsift eval dedup` share it.
pub fn find(store: &Store, item: &Item, key: &str, sig: &[u64]) -> Result<Found, StoreError> {
    find_learned(store, &Learner::new(), item, key, sig)
}

/// [`find`], verifying near-duplicates with what `learner` learned of the sources' packaging.
pub fn find_learned(
    store: &Store,
    learner: &Learner,
    item: &Item,
    key: &str,
    sig: &[u64],
) -> Result<Found, StoreError> {
    let core = if sig.is_empty() {
        String::new()
    } else {
        title::index_core(&item.title)
    };
    let verify = near::verified_form(&item.title);
    let seen = Candidates::default();
    let link = link_key(item).filter(|lk| lk != key);
    let link = link.as_deref();
    let sides = near::Sides::default();
    let verify = (&verify, &sides);
    find_with_core(store, learner, &seen, item, key, link, sig, &core, verify)
}

/// Stored candidates already read and folded while deciding one response: templated titles
/// propose the same look-alikes for many entries, each read and folded once.
#[derive(Default)]
struct Candidates(
    std::cell::RefCell<std::collections::HashMap<String, Option<std::rc::Rc<Candidate>>>>,
);

/// A stored candidate's index core, verified form and first feed, and what was judged of its
/// title beside the stretches it shares with entries of the response.
struct Candidate {
    core: String,
    verify: std::sync::Arc<Folded>,
    feed_id: String,
    sides: near::Sides,
}

impl Candidates {
    /// The index core and verified form ([`near::verified_form`]) of each of `keys` (`None`:
    /// not stored), reading from `store` only those not seen before.
    fn of<L: Lookup + ?Sized>(
        &self,
        store: &L,
        keys: &[String],
    ) -> Result<Vec<Option<std::rc::Rc<Candidate>>>, StoreError> {
        let missing: Vec<String> = {
            let seen = self.0.borrow();
            keys.iter()
                .filter(|k| !seen.contains_key(*k))
                .cloned()
                .collect()
        };
        if !missing.is_empty() {
            let titles = store.titles_of(&missing)?;
            let mut seen = self.0.borrow_mut();
            for (k, found) in missing.into_iter().zip(titles) {
                let entry = found.map(|t| {
                    let core = if t.core.is_empty() {
                        title::index_core(&t.title)
                    } else {
                        t.core
                    };
                    std::rc::Rc::new(Candidate {
                        core,
                        verify: near::verified_form_shared(&t.title),
                        feed_id: t.feed_id,
                        sides: near::Sides::default(),
                    })
                });
                seen.insert(k, entry);
            }
        }
        let seen = self.0.borrow();
        Ok(keys
            .iter()
            .map(|k| seen.get(k).cloned().flatten())
            .collect())
    }
}

/// [`find`] with the item's index core already derived.
#[allow(clippy::too_many_arguments)]
fn find_with_core<L: Lookup + ?Sized>(
    store: &L,
    learner: &Learner,
    seen: &Candidates,
    item: &Item,
    key: &str,
    link: Option<&str>,
    sig: &[u64],
    core: &str,
    (verify, sides): (&Folded, &near::Sides),
) -> Result<Found, StoreError> {
    if let Some(story) = store.resolve(key)? {
        return Ok(Found::Exact(story));
    }
    if let Some(lk) = link {
        if let Some(story) = store.resolve(lk)? {
            if near::same_story_folded(
                learner,
                (
                    &near::verified_form_shared(&story.item.title),
                    Some(&story.source.feed_id),
                ),
                (verify, Some(&item.feed_id)),
            ) {
                return Ok(Found::Exact(story));
            }
        }
    }
    if store.is_tombstoned(key)? {
        return Ok(Found::Tombstoned);
    }
    if !sig.is_empty() {
        let candidates = store.near_candidates(sig)?;
        let found = seen.of(store, &candidates)?;
        for (k, found) in candidates.iter().zip(found) {
            let Some(other) = found else {
                continue;
            };
            // Equal cleaned cores: both titles are the story plus recognised decorations.
            if other.core == core
                || near::same_story_sides(
                    learner,
                    (&other.verify, Some(&other.feed_id), &other.sides),
                    (verify, Some(&item.feed_id), sides),
                )
            {
                if let Some(story) = store.get(k)? {
                    return Ok(Found::Near(story));
                }
            }
        }
    }
    Ok(Found::Nothing)
}

/// The key an item would have by its canonical link alone (layer 2), when it has a link.
fn link_key(item: &Item) -> Option<String> {
    let url = canonical_url(item.link.as_deref()?)?;
    Some(hex(&Sha256::digest(format!("url\0{url}").as_bytes())[..16]))
}

/// Decides what each entry of one response is and commits the result, with `state` (the feed's
/// new state, when the caller has one), in one store transaction. `classify` is called only for
/// entries that will be stored (new stories and edits).
pub fn ingest(
    store: &Store,
    source: &SourceRef,
    items: Vec<Item>,
    classify: &dyn Fn(&Item) -> Classification,
    settings: &DedupSettings,
    state: Option<&FeedState>,
    now: DateTime<Utc>,
) -> Result<Counts, StoreError> {
    ingest_learning(store, None, source, items, classify, settings, state, now)
}

/// [`ingest`] with a pipeline's [`Learner`]: the response's titles are learned from *before*
/// it is decided (a new farm's first document already shows its packaging), the decisions use
/// what was learned, and the source's counts are committed with the response
/// ([`learn::blob_name`]). Without one, the response is judged with what its own titles show,
/// and nothing is kept.
#[allow(clippy::too_many_arguments)]
pub fn ingest_learning(
    store: &Store,
    learner: Option<&Learner>,
    source: &SourceRef,
    items: Vec<Item>,
    classify: &dyn Fn(&Item) -> Classification,
    settings: &DedupSettings,
    state: Option<&FeedState>,
    now: DateTime<Utc>,
) -> Result<Counts, StoreError> {
    let keep = learner.is_some() && settings.near_duplicates;
    let local;
    let learner = match learner {
        Some(l) => l,
        None => {
            local = Learner::new();
            &local
        }
    };
    // Each title is folded once (without a wire tag): for learning, for its segment-aligned
    // keys and, unless a masthead ends it, for verifying its candidates.
    let folded: Vec<Folded> = if settings.near_duplicates {
        items
            .iter()
            .map(|i| Folded::new(title::strip_wire_tag(&i.title)))
            .collect()
    } else {
        Vec::new()
    };
    if settings.near_duplicates {
        learner.learn_folded(&source.feed_id, &folded);
    }
    // Encoded now, outside the ingest lock, and only when due (see `learn::SAVE_EVERY`).
    let blob = if keep {
        learner.encode_due(&source.feed_id, now)
    } else {
        None
    };
    let mut folded = folded.into_iter();
    // Everything that depends on the entry alone is worked out before the ingest lock is
    // taken, so feeds parsed in parallel only queue for the lookups and the commit. Entries the
    // store does not hold under their key are probably new stories: they are classified here
    // too (a copy of another feed's story is classified for nothing; that costs less than
    // classifying inside the lock).
    let keys: Vec<String> = items.iter().map(canonical_key).collect();
    let known = store.contains_many(&keys)?;
    let mut prepared: Vec<Prepared> = Vec::with_capacity(items.len());
    for ((item, key), known) in items.into_iter().zip(keys).zip(known) {
        let (sig, core, verify) = match folded.next() {
            Some(f) => {
                let core = title::index_core(&item.title);
                let cuts = near::packaging_cuts(learner, &f, Some(&source.feed_id));
                let sig = near::signature_cut(&item.title, &core, Some(&f), &cuts);
                let core = if sig.is_empty() { String::new() } else { core };
                let wire_free = title::strip_wire_tag(&item.title);
                let verify = std::sync::Arc::new(
                    if title::strip_trailing_masthead(wire_free).len() == wire_free.len() {
                        f
                    } else {
                        near::verified_form(&item.title)
                    },
                );
                (sig, core, verify)
            }
            None => (Vec::new(), String::new(), Default::default()),
        };
        let class = if known { None } else { Some(classify(&item)) };
        prepared.push(Prepared {
            digest: item.content_digest(),
            link_key: link_key(&item).filter(|lk| *lk != key),
            clean_title: title::clean(&item.title),
            item,
            key,
            sig,
            core,
            verify,
            class,
            sides: near::Sides::default(),
        });
    }
    // Decided under the lock (sled: reads are fast, and its transactions would make reads
    // outside the lock wait anyway), or decided first and re-checked under the lock against
    // what other writers committed meanwhile (PostgreSQL: many round trips, concurrent reads).
    let (batch, mut counts, guard, asked, taken) = if store.decides_before_locking() {
        let snapshot = store.high_water()?;
        let ahead = Prefetched::load(store, &prepared)?;
        let (batch, counts) = decide(&ahead, learner, source, &prepared, classify, now)?;
        let asked = std::time::Instant::now();
        let guard = store.lock_ingest()?;
        let taken = std::time::Instant::now();
        if stored_meanwhile(store, learner, &ahead, &batch, snapshot)? {
            // A story of this response was stored meanwhile: decide again, now under the lock.
            let (batch, counts) = decide(store, learner, source, &prepared, classify, now)?;
            (batch, counts, guard, asked, taken)
        } else {
            (batch, counts, guard, asked, taken)
        }
    } else {
        let asked = std::time::Instant::now();
        let guard = store.lock_ingest()?;
        let taken = std::time::Instant::now();
        let (batch, counts) = decide(store, learner, source, &prepared, classify, now)?;
        (batch, counts, guard, asked, taken)
    };
    // What the response was parsed into is no longer needed: freed before the commit, whose
    // own memory grows with the batch.
    drop(prepared);
    let mut batch = batch;
    if let Some(bytes) = blob {
        batch.blobs.push((learn::blob_name(&source.feed_id), bytes));
    }
    if !batch.is_empty() || !batch.blobs.is_empty() || state.is_some() {
        store.commit(batch, state.map(|s| (source.feed_id.as_str(), s)))?;
    }
    drop(guard);
    counts.lock_wait = taken - asked;
    counts.lock_held = taken.elapsed();
    Ok(counts)
}

/// An entry ready for deciding: everything about it that depends on the entry alone, worked out
/// before the ingest lock is taken.
struct Prepared {
    item: Item,
    /// Its key ([`canonical_key`]).
    key: String,
    /// Its index keys (empty: no near-duplicate lookup).
    sig: Vec<u64>,
    /// Its index core (empty without index keys).
    core: String,
    /// Its verified form ([`near::verified_form`]), shared with the memo of candidates' forms
    /// once it is stored.
    verify: std::sync::Arc<Folded>,
    /// Its classification, when it is probably new (its key is not stored).
    class: Option<Classification>,
    /// [`Item::content_digest`].
    digest: String,
    /// Its key by link alone ([`link_key`]), when that is another key than `key`.
    link_key: Option<String>,
    /// [`title::clean`] of its title.
    clean_title: String,
    /// What was judged of its title beside the stretches it shares with candidates.
    sides: near::Sides,
}

/// Whether one of `batch`'s new stories may have been stored by another writer since the
/// lookups `ahead` were made (at sequence number `snapshot`): its key or (unknown then) link
/// key now resolves, or a story stored since shares a near-duplicate band and is the same story.
/// Three queries, however much others committed meanwhile.
fn stored_meanwhile(
    store: &Store,
    learner: &Learner,
    ahead: &Prefetched<'_>,
    batch: &Batch,
    snapshot: Option<u64>,
) -> Result<bool, StoreError> {
    if batch.new.is_empty() {
        return Ok(false);
    }
    let mut keys: Vec<String> = Vec::with_capacity(batch.new.len() * 2);
    for n in &batch.new {
        keys.push(n.key.clone());
        if let Some(lk) = &n.link_alias {
            // A link key that already named another story when deciding is no news.
            if matches!(ahead.resolved.get(lk), Some(None) | None) {
                keys.push(lk.clone());
            }
        }
    }
    if store.contains_many(&keys)?.into_iter().any(|c| c) {
        return Ok(true);
    }
    let with_sig: Vec<&StoredItem> = batch.new.iter().filter(|n| !n.near.is_empty()).collect();
    let sigs: Vec<Vec<u64>> = with_sig.iter().map(|n| n.near.clone()).collect();
    let found = index::candidates_since(store.backend(), &sigs, snapshot)?;
    let mut candidates: Vec<String> = found.iter().flatten().cloned().collect();
    if candidates.is_empty() {
        return Ok(false);
    }
    candidates.sort();
    candidates.dedup();
    let titles: std::collections::HashMap<String, Option<TitleOf>> = candidates
        .iter()
        .cloned()
        .zip(store.titles_of(&candidates)?)
        .collect();
    for (n, cands) in with_sig.iter().zip(&found) {
        for k in cands {
            if let Some(Some(t)) = titles.get(k) {
                if (!t.core.is_empty() && t.core == n.core)
                    || near::same_story_with(
                        learner,
                        (&t.title, Some(&t.feed_id)),
                        (&n.item.title, Some(&n.source.feed_id)),
                    )
                {
                    return Ok(true);
                }
            }
        }
    }
    Ok(false)
}

/// What deciding reads from the store: the store itself, or a response's lookups made ahead
/// of time in a few round trips ([`Prefetched`]).
trait Lookup {
    fn resolve(&self, key: &str) -> Result<Option<StoredItem>, StoreError>;
    fn is_tombstoned(&self, key: &str) -> Result<bool, StoreError>;
    fn near_candidates(&self, sig: &[u64]) -> Result<Vec<String>, StoreError>;
    fn titles_of(&self, keys: &[String]) -> Result<Vec<Option<TitleOf>>, StoreError>;
    fn get(&self, key: &str) -> Result<Option<StoredItem>, StoreError>;
}

impl Lookup for Store {
    fn resolve(&self, key: &str) -> Result<Option<StoredItem>, StoreError> {
        self.backend().resolve(key)
    }
    fn is_tombstoned(&self, key: &str) -> Result<bool, StoreError> {
        self.backend().is_tombstoned(key)
    }
    fn near_candidates(&self, sig: &[u64]) -> Result<Vec<String>, StoreError> {
        index::candidates(self.backend(), sig)
    }
    fn titles_of(&self, keys: &[String]) -> Result<Vec<Option<TitleOf>>, StoreError> {
        self.backend().titles_of(keys)
    }
    fn get(&self, key: &str) -> Result<Option<StoredItem>, StoreError> {
        self.backend().get(key)
    }
}

/// A response's lookups, made in five round trips whatever its length (every key and link key
/// resolved at once, tombstones, near-duplicate candidates of every title, their titles); what
/// it does not hold is asked of the store.
struct Prefetched<'a> {
    store: &'a Store,
    resolved: std::collections::HashMap<String, Option<StoredItem>>,
    tombstoned: std::collections::HashSet<String>,
    near: std::collections::HashMap<Vec<u64>, Vec<String>>,
    titles: std::collections::HashMap<String, Option<TitleOf>>,
}

impl<'a> Prefetched<'a> {
    fn load(store: &'a Store, prepared: &[Prepared]) -> Result<Prefetched<'a>, StoreError> {
        let mut keys: Vec<String> = Vec::with_capacity(prepared.len() * 2);
        for p in prepared {
            keys.push(p.key.clone());
            if let Some(lk) = &p.link_key {
                keys.push(lk.clone());
            }
        }
        keys.sort();
        keys.dedup();
        let resolved = keys
            .iter()
            .cloned()
            .zip(store.resolve_many(&keys)?)
            .collect();
        let own: Vec<String> = prepared.iter().map(|p| p.key.clone()).collect();
        let tombstoned = own
            .iter()
            .zip(store.tombstoned_many(&own)?)
            .filter(|(_, t)| *t)
            .map(|(k, _)| k.clone())
            .collect();
        let mut sigs: Vec<Vec<u64>> = prepared
            .iter()
            .map(|p| p.sig.clone())
            .filter(|s| !s.is_empty())
            .collect();
        sigs.sort();
        sigs.dedup();
        let found = index::candidates_many(store.backend(), &sigs)?;
        let mut candidates: Vec<String> = found.iter().flatten().cloned().collect();
        candidates.sort();
        candidates.dedup();
        let titles = candidates
            .iter()
            .cloned()
            .zip(store.titles_of(&candidates)?)
            .collect();
        Ok(Prefetched {
            store,
            resolved,
            tombstoned,
            near: sigs.into_iter().zip(found).collect(),
            titles,
        })
    }
}

impl Lookup for Prefetched<'_> {
    fn resolve(&self, key: &str) -> Result<Option<StoredItem>, StoreError> {
        match self.resolved.get(key) {
            Some(found) => Ok(found.clone()),
            None => self.store.resolve(key),
        }
    }
    fn is_tombstoned(&self, key: &str) -> Result<bool, StoreError> {
        Ok(self.tombstoned.contains(key))
    }
    fn near_candidates(&self, sig: &[u64]) -> Result<Vec<String>, StoreError> {
        match self.near.get(sig) {
            Some(found) => Ok(found.clone()),
            None => index::candidates(self.store.backend(), sig),
        }
    }
    fn titles_of(&self, keys: &[String]) -> Result<Vec<Option<TitleOf>>, StoreError> {
        if keys.iter().all(|k| self.titles.contains_key(k)) {
            Ok(keys.iter().map(|k| self.titles[k].clone()).collect())
        } else {
            self.store.titles_of(keys)
        }
    }
    fn get(&self, key: &str) -> Result<Option<StoredItem>, StoreError> {
        self.store.get(key)
    }
}

/// Decides what each prepared entry is: the batch to commit and the counts to report.
fn decide<L: Lookup + ?Sized>(
    store: &L,
    learner: &Learner,
    source: &SourceRef,
    prepared: &[Prepared],
    classify: &dyn Fn(&Item) -> Classification,
    now: DateTime<Utc>,
) -> Result<(Batch, Counts), StoreError> {
    let mut batch = Batch::default();
    let mut counts = Counts::default();
    let mut seen_keys: HashSet<&str> = HashSet::with_capacity(prepared.len());
    let mut copies: HashSet<(String, Option<String>)> = HashSet::new();
    let seen = Candidates::default();
    let mut own = Twins::default();
    // Borrowed, so that deciding again under the lock needs no copy of the response; only
    // what goes into the batch is cloned.
    for (position, entry) in prepared.iter().enumerate() {
        let (item, key, sig, core, verify) = (
            &entry.item,
            &entry.key,
            &entry.sig,
            &entry.core,
            &entry.verify,
        );
        let (class, digest, clean_title) = (&entry.class, &entry.digest, &entry.clean_title);
        let classify = |item: &Item| class.clone().unwrap_or_else(|| classify(item));
        if !seen_keys.insert(key.as_str()) {
            counts.duplicate += 1;
            continue;
        }
        let copy = |story_key: &str| AlsoAt {
            source: source.clone(),
            link: item.link.clone(),
            title: item.title.clone(),
            key: (story_key != key.as_str()).then(|| key.clone()),
            seen: now,
        };
        // Copies among this response's own new stories (a feed listing a story twice).
        if own.repeats(learner, &source.feed_id, prepared, position) {
            counts.duplicate += 1;
            continue;
        }
        let link = entry.link_key.as_deref();
        let verify = (&**verify, &entry.sides);
        match find_with_core(store, learner, &seen, item, key, link, sig, core, verify)? {
            Found::Exact(story) if story.source.feed_id == source.feed_id => {
                if story.key == *key && story.digest != *digest {
                    let mut edited = story.clone();
                    edited.changed = Some(now);
                    edited.digest = digest.clone();
                    edited.clean_title = clean_title.clone();
                    edited.near = sig.clone();
                    edited.core = core.clone();
                    edited.class = classify(item);
                    edited.item = item.clone();
                    batch.updated.push((edited, story));
                    counts.updated += 1;
                } else {
                    counts.duplicate += 1;
                }
            }
            Found::Exact(story) | Found::Near(story) => {
                let known = story.source.feed_id == source.feed_id
                    || story.also_at.len() >= crate::store::MAX_COPIES
                    || story
                        .also_at
                        .iter()
                        .any(|a| a.source.feed_id == source.feed_id && a.link == item.link)
                    || !copies.insert((story.key.clone(), item.link.clone()));
                if !known {
                    batch.also_at.push((story.key.clone(), copy(&story.key)));
                }
                counts.duplicate += 1;
            }
            Found::Tombstoned => counts.duplicate += 1,
            Found::Nothing => {
                if !verify.0.chars.is_empty() {
                    near::remember_verified_form(&item.title, &entry.verify);
                }
                let class = classify(item);
                batch.new.push(StoredItem {
                    key: key.clone(),
                    seq: 0,
                    first_seen: now,
                    changed: None,
                    digest: digest.clone(),
                    source: source.clone(),
                    clean_title: clean_title.clone(),
                    near: sig.clone(),
                    core: core.clone(),
                    class,
                    also_at: Vec::new(),
                    // Reachable by its link too (layer 2), when the key came from a GUID.
                    link_alias: link.map(str::to_string),
                    item: item.clone(),
                });
                own.index.insert(position, sig);
                counts.new += 1;
            }
        }
    }
    Ok((batch, counts))
}

/// One response's new stories so far, for finding an entry that repeats one of them: their
/// index keys in memory ([`index::ResponseIndex`]), verified against the verified forms the
/// response already folded. A lookup verifies at most [`index::MAX_CANDIDATES`] of them, so a
/// document of thousands of look-alikes costs time linear in its entries.
#[derive(Default)]
struct Twins {
    index: index::ResponseIndex,
}

impl Twins {
    /// Whether the entry at `position` in `prepared` is the same story as one of the response's
    /// new stories (earlier positions) sharing an index key with it.
    fn repeats(
        &self,
        learner: &Learner,
        feed: &str,
        prepared: &[Prepared],
        position: usize,
    ) -> bool {
        let entry = &prepared[position];
        if entry.sig.is_empty() {
            return false;
        }
        // An entry's sides are judged as from its own feed: kept only where that is `feed`.
        self.index.candidates(&entry.sig).into_iter().any(|p| {
            let other = &prepared[p];
            let (fresh_a, fresh_b) = (near::Sides::default(), near::Sides::default());
            let a = if other.item.feed_id == feed {
                &other.sides
            } else {
                &fresh_a
            };
            let b = if entry.item.feed_id == feed {
                &entry.sides
            } else {
                &fresh_b
            };
            near::same_story_sides(
                learner,
                (&other.verify, Some(feed), a),
                (&entry.verify, Some(feed), b),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_urls() {
        let cases: &[(&str, Option<&str>)] = &[
            (
                "HTTP://News.Example.CN:80/a?b=2&a=1#top",
                Some("http://news.example.cn/a?a=1&b=2"),
            ),
            (
                "https://e.com:443/x?utm_source=rss&utm_medium=feed",
                Some("https://e.com/x"),
            ),
            (
                "https://e.com/x?id=7&fbclid=abc&spm=1.2",
                Some("https://e.com/x?id=7"),
            ),
            ("https://e.com:8443/x", Some("https://e.com:8443/x")),
            ("/relative/path", None),
            ("mailto:a@b.c", None),
            ("urn:uuid:1234", None),
        ];
        for (raw, want) in cases {
            assert_eq!(canonical_url(raw).as_deref(), *want, "{raw}");
        }
    }

    fn item(feed: &str, guid: Option<&str>, link: Option<&str>, title: &str) -> Item {
        Item {
            guid: guid.map(Into::into),
            link: link.map(Into::into),
            ..Item::titled(feed, title)
        }
    }

    #[test]
    fn identity_rules() {
        let k = |f, g, l, t| canonical_key(&item(f, g, l, t));
        // The same permalink GUID from two feeds is one story.
        assert_eq!(
            k("a", Some("https://e.com/1?utm_source=x"), None, "t"),
            k("b", Some("https://e.com/1"), None, "u")
        );
        // Opaque GUIDs are scoped to their feed.
        assert_ne!(k("a", Some("42"), None, "t"), k("b", Some("42"), None, "t"));
        // An edited title does not change the identity of a guid'd or linked item.
        assert_eq!(
            k("a", Some("42"), None, "t"),
            k("a", Some("42"), None, "t2")
        );
        assert_eq!(
            k("a", None, Some("https://e.com/p#c"), "t"),
            k("a", None, Some("https://e.com/p"), "t2")
        );
        // Last resort: feed + title + date.
        assert_eq!(k("a", None, None, "t"), k("a", None, None, "t"));
        assert_ne!(k("a", None, None, "t"), k("a", None, None, "u"));
        assert_eq!(k("a", None, None, "t").len(), 32);
    }
}
