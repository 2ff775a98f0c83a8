//! Each source's packaging, learned from the stream.
//!
//! A content farm puts the same few segments on hundreds of its titles (`…【100闻】`,
//! `WWY网播｜…`, `GROU: …`); a story's text is on one or two. So whatever its characters, a
//! segment seen at the edges of many *distinct* story cores of one source is that source's
//! packaging. And a core seen with many *different* edge segments that are not packaging
//! (`万科A：关于召开股东大会的通知`, `招商银行：…`) is a template: for it, edge segments are subjects.
//!
//! Takes: titles with their source (feed id), as ingest sees them ([`Learner::learn`]). Gives:
//! [`Learner::is_packaging`] and [`Learner::is_template`], which
//! [`near::same_story_with`](super::near::same_story_with) consults, and a compact, versioned
//! encoding of each source's counts ([`Learner::encode`], [`Learner::load`]) that ingest commits
//! with every response (one blob per source, [`blob_name`]).
//!
//! What is counted, per title with at least two units ([`Folded`]): its first and its last
//! unit (a bracketed group at an edge is one unit), each with the title's *core* — the units
//! between the first and the last (for a two-unit title, the other unit). Per source, for each
//! edge segment (by the hash of its comparison string) a sketch of up to [`SKETCH`] distinct core
//! hashes and the number of titles it was on; for each core a sketch of up to [`SKETCH`] distinct
//! edge segments.
//!
//! Bounds: at most [`MAX_EDGES`] edge segments and [`MAX_CORES`] cores per source (the least
//! seen, then the least recent, are evicted), each entry 8 + 4·[`SKETCH`] + two counters; every
//! [`DECAY_TITLES`] titles of a source its counts are halved (entries that fall to zero go), so
//! packaging a farm stopped using fades. A source's blob is at most about 30 KB.
//!
//! Decisions: a segment is packaging of a source when it was seen with at least
//! [`MIN_CORES`] distinct cores on at least [`MIN_SHARE_PERMILLE`]‰ of the source's (decayed)
//! titles; over all sources when seen with [`SKETCH`] distinct cores in at least two sources.
//! A core is a template when at least [`TEMPLATE_EDGES`] of its edge segments are not packaging.

use super::fold::{hash, Folded};
use chrono::{DateTime, Utc};
// Keys are already well-mixed 64-bit hashes: FxHash (rustc-hash) instead of SipHash.
use rustc_hash::FxHashMap as HashMap;
use std::sync::RwLock;

/// Distinct hashes kept per entry.
pub const SKETCH: usize = 8;
/// Edge segments kept per source.
pub const MAX_EDGES: usize = 384;
/// Cores kept per source.
pub const MAX_CORES: usize = 384;
/// A source's counts are halved every this many titles.
pub const DECAY_TITLES: u32 = 2048;
/// Distinct cores a segment must be seen with to be a source's packaging.
pub const MIN_CORES: usize = 3;
/// Share of a source's titles (per mille) a segment must be on to be its packaging: a company
/// name a financial feed puts before a few of its notices is not.
pub const MIN_SHARE_PERMILLE: u32 = 15;
/// Edge segments, not packaging, a core must be seen with to be a template.
pub const TEMPLATE_EDGES: usize = 3;
/// Encoding version of a source's blob.
/// Edge slots kept per source ([`edge_slots`]); the least used are evicted.
pub const MAX_SLOTS: usize = 32;
/// Segments counted per slot; the least seen are evicted.
pub const SLOT_SEGMENTS: usize = 16;
/// Titles a slot must have been seen on before it can vouch for a segment.
pub const MIN_SLOT_TITLES: u32 = 8;
/// Share of a slot's titles, in percent, whose segment there is the source's learned
/// packaging, for the slot to be a packaging slot.
pub const MIN_SLOT_PACKAGING_PERCENT: u32 = 50;
/// Encoding version: 2 adds the slots; version 1 blobs are read without them.
const VERSION: u8 = 2;
/// Prefix of the store blobs that hold learned counts.
pub const BLOB_PREFIX: &str = "dedup.learn/";
/// A source's counts are stored with its responses at most this often, the first time this long
/// after it was first learned from: writing them with every response made each commit carry a
/// blob of up to ~30 KB and held the shared ingest lock the longer (three instances on
/// PostgreSQL fell behind their 15 s slots), and a thousand new feeds' first polls all wrote
/// at once. A crash or restart loses at most this much learning, which the stream teaches
/// again (every response's titles are learned from before it is decided).
pub const SAVE_EVERY: std::time::Duration = std::time::Duration::from_secs(600);

/// The store blob holding `source`'s counts.
pub fn blob_name(source: &str) -> String {
    format!("{BLOB_PREFIX}{source}")
}

#[derive(Debug, Clone, Default)]
struct Entry {
    /// Distinct hashes seen with (cores of an edge, edges of a core), at most [`SKETCH`].
    sketch: Vec<u32>,
    /// Titles it was seen on (decayed).
    hits: u32,
    /// The source's title counter when last seen.
    last: u32,
}

impl Entry {
    fn add(&mut self, h: u32, tick: u32) {
        if self.sketch.len() < SKETCH && !self.sketch.contains(&h) {
            self.sketch.push(h);
        }
        self.hits = self.hits.saturating_add(1);
        self.last = tick;
    }
}

#[derive(Debug, Clone, Default)]
struct Table {
    titles: u32,
    tick: u32,
    edges: HashMap<u64, Entry>,
    cores: HashMap<u64, Entry>,
    /// Edge slots ([`edge_slots`]): how often each was used, and with which segments.
    slots: HashMap<u64, Slot>,
    /// Titles learned since the counts were last handed out to be stored (not encoded).
    unsaved: u32,
    /// When they were last handed out, or first learned from in this process (not encoded;
    /// `None` until then).
    saved_at: Option<DateTime<Utc>>,
}

/// One edge slot of a source: the titles it was seen on (decayed) and its most frequent
/// segments with their counts (at most [`SLOT_SEGMENTS`]).
#[derive(Debug, Clone, Default)]
struct Slot {
    titles: u32,
    segments: Vec<(u64, u32)>,
}

impl Slot {
    fn add(&mut self, seg: u64) {
        self.titles = self.titles.saturating_add(1);
        if let Some(e) = self.segments.iter_mut().find(|e| e.0 == seg) {
            e.1 = e.1.saturating_add(1);
            return;
        }
        if self.segments.len() >= SLOT_SEGMENTS {
            // Evict the least seen (ties: the smallest hash, for a deterministic outcome).
            if let Some(i) = (0..self.segments.len()).min_by_key(|&i| {
                let (k, n) = self.segments[i];
                (n, k)
            }) {
                self.segments.swap_remove(i);
            }
        }
        self.segments.push((seg, 1));
    }
}

/// Counts `key` seen with `h`; returns whether `key` is new to `map`, and the key evicted to
/// make room for it, if any.
fn bump(
    map: &mut HashMap<u64, Entry>,
    key: u64,
    h: u32,
    tick: u32,
    max: usize,
) -> (bool, Option<u64>) {
    let new = !map.contains_key(&key);
    let mut evicted = None;
    if new && map.len() >= max {
        if let Some((&victim, _)) = map
            .iter()
            .min_by_key(|(k, e)| (e.sketch.len(), e.hits, e.last, **k))
        {
            map.remove(&victim);
            evicted = Some(victim);
        }
    }
    map.entry(key).or_default().add(h, tick);
    (new, evicted)
}

/// One edge segment over all sources: in how many sources' tables it is, and a sketch of the
/// distinct cores it was seen with anywhere (at most [`SKETCH`]). Kept up to date as the
/// tables change, so that "packaging over all sources" costs one lookup, not one per source.
#[derive(Debug, Clone, Default)]
struct Everywhere {
    sources: u32,
    cores: Vec<u32>,
}

impl State {
    /// `seg` entered a source's table, seen with `cores`.
    fn gained(&mut self, seg: u64, cores: &[u32]) {
        let g = self.everywhere.entry(seg).or_default();
        g.sources += 1;
        for h in cores {
            if g.cores.len() < SKETCH && !g.cores.contains(h) {
                g.cores.push(*h);
            }
        }
    }

    /// `seg` was seen with `core` in a source that already had it.
    fn seen_with(&mut self, seg: u64, core: u32) {
        if let Some(g) = self.everywhere.get_mut(&seg) {
            if g.cores.len() < SKETCH && !g.cores.contains(&core) {
                g.cores.push(core);
            }
        }
    }

    /// `seg` left a source's table.
    fn lost(&mut self, seg: u64) {
        if let Some(g) = self.everywhere.get_mut(&seg) {
            g.sources = g.sources.saturating_sub(1);
            if g.sources == 0 {
                self.everywhere.remove(&seg);
            }
        }
    }

    /// Replaces `source`'s table, keeping the all-sources view in step.
    fn replace(&mut self, source: &str, table: Table) {
        if let Some(old) = self.sources.remove(source) {
            for seg in old.edges.keys() {
                self.lost(*seg);
            }
        }
        for (seg, e) in &table.edges {
            self.gained(*seg, &e.sketch);
        }
        self.sources.insert(source.to_string(), table);
    }
}

impl Table {
    fn is_packaging(&self, seg: u64) -> bool {
        self.edges.get(&seg).is_some_and(|e| {
            e.sketch.len() >= MIN_CORES
                && u64::from(e.hits) * 1000
                    >= u64::from(MIN_SHARE_PERMILLE) * u64::from(self.titles.max(1))
        })
    }

    /// Whether segments at `slot` are mostly this source's learned packaging.
    fn is_packaging_slot(&self, slot: u64) -> bool {
        self.slots.get(&slot).is_some_and(|s| {
            let packaging: u32 = s
                .segments
                .iter()
                .filter(|(seg, _)| self.is_packaging(*seg))
                .map(|(_, n)| *n)
                .sum();
            s.titles >= MIN_SLOT_TITLES
                && u64::from(packaging) * 100
                    >= u64::from(MIN_SLOT_PACKAGING_PERCENT) * u64::from(s.titles)
        })
    }

    /// Halves every count; returns the edge segments that fell out.
    fn decay(&mut self) -> Vec<u64> {
        self.titles /= 2;
        let mut gone = Vec::new();
        self.edges.retain(|k, e| {
            e.hits /= 2;
            if e.hits == 0 {
                gone.push(*k);
            }
            e.hits > 0
        });
        self.cores.retain(|_, e| {
            e.hits /= 2;
            e.hits > 0
        });
        self.slots.retain(|_, s| {
            s.titles /= 2;
            s.segments.retain_mut(|e| {
                e.1 /= 2;
                e.1 > 0
            });
            s.titles > 0
        });
        gone
    }

    fn bump_slot(&mut self, slot: u64, seg: u64) {
        if !self.slots.contains_key(&slot) && self.slots.len() >= MAX_SLOTS {
            if let Some(victim) = self
                .slots
                .iter()
                .min_by_key(|(k, s)| (s.titles, **k))
                .map(|(k, _)| *k)
            {
                self.slots.remove(&victim);
            }
        }
        self.slots.entry(slot).or_default().add(seg);
    }
}

/// What one title contributes: (edge segment, core) pairs.
pub fn edges_of(title: &str) -> Vec<(u64, u64)> {
    let f = Folded::new(super::title::strip_wire_tag(title));
    edges_of_folded(&f)
}

/// The edge slots of `f` with the segment in each: for its first and its last unit (when it
/// has two or more), the hash of where the unit sits and how it is set off — the bracket pair
/// around it, else the separator characters between it and its neighbour (spaces dropped) —
/// and the hash of the unit's comparison string. A farm puts its packaging in one or two
/// habitual slots (`〘…〙` before the story, `… ‖ …` after it); a slot whose segments are
/// mostly the source's learned packaging vouches for a segment seen there once.
pub fn edge_slots(f: &Folded) -> Vec<(u64, u64)> {
    let n = f.units.len();
    if n < 2 {
        return Vec::new();
    }
    let slot = |edge: char, u: super::fold::Unit, gap: (usize, usize)| -> (u64, u64) {
        let mut sig = String::from(edge);
        match u.bracket {
            Some(open) => {
                sig.push('b');
                sig.push(open);
            }
            None => {
                sig.push('s');
                let between = &f.text[f.at[gap.0 - 1].1..f.at[gap.1].0];
                sig.extend(between.chars().filter(|c| !c.is_whitespace()));
            }
        }
        (hash(&sig), f.hash_of(u.start, u.end))
    };
    let (first, second) = (f.units[0], f.units[1]);
    let (before_last, last) = (f.units[n - 2], f.units[n - 1]);
    vec![
        slot('<', first, (first.end, second.start)),
        slot('>', last, (before_last.end, last.start)),
    ]
}

/// Words a Latin edge may lose to packaging attached by a plain space ([`word_edges`]).
pub const MAX_EDGE_WORDS: usize = 2;

/// Where the words of `f`'s first unit start (after its first) and where those of its last unit
/// start, up to [`MAX_EDGE_WORDS`] words from each end, when that unit is Latin (no CJK) and
/// keeps at least three words of its own: the positions at which packaging attached by a plain
/// space (`Paris Maker weed vodka is here`) would end or start.
pub fn word_edges(f: &Folded) -> (Vec<usize>, Vec<usize>) {
    let (mut lead, mut trail) = (Vec::new(), Vec::new());
    let n = f.units.len();
    if n == 0 {
        return (lead, trail);
    }
    let starts = |u: super::fold::Unit| -> Option<Vec<usize>> {
        let chars = &f.chars[u.start..u.end];
        if chars.iter().any(|c| super::fold::is_cjk(*c)) {
            return None;
        }
        let w: Vec<usize> = (u.start + 1..u.end).filter(|&i| f.word_start[i]).collect();
        (w.len() + 1 > MAX_EDGE_WORDS + 2).then_some(w)
    };
    if let Some(w) = starts(f.units[0]) {
        lead.extend(w.iter().take(MAX_EDGE_WORDS));
    }
    if let Some(w) = starts(f.units[n - 1]) {
        trail.extend(w.iter().rev().take(MAX_EDGE_WORDS));
    }
    (lead, trail)
}

fn edges_of_folded(f: &Folded) -> Vec<(u64, u64)> {
    let n = f.units.len();
    let mut out = Vec::with_capacity(2);
    // Latin words at either end, with the rest of the title as their core.
    let (lead, trail) = word_edges(f);
    let len = f.chars.len();
    for p in lead {
        out.push((f.hash_of(0, p), f.hash_of(p, len)));
    }
    for p in trail {
        out.push((f.hash_of(p, len), f.hash_of(0, p)));
    }
    if n < 2 {
        return out;
    }
    let (first, last) = (f.units[0], f.units[n - 1]);
    if n == 2 {
        out.push((
            f.hash_of(first.start, first.end),
            f.hash_of(last.start, last.end),
        ));
        out.push((
            f.hash_of(last.start, last.end),
            f.hash_of(first.start, first.end),
        ));
    } else {
        let core = f.hash_of(first.end, last.start);
        out.push((f.hash_of(first.start, first.end), core));
        out.push((f.hash_of(last.start, last.end), core));
    }
    out
}

/// What one title shows the learner: its (edge segment, core) pairs and its (slot, segment)
/// pairs.
type Seen = (Vec<(u64, u64)>, Vec<(u64, u64)>);

/// The learned counts of every source; shared by every ingest of a pipeline.
#[derive(Debug, Default)]
pub struct Learner {
    state: RwLock<State>,
    /// Whether any source was learned or loaded (sources are never forgotten): asked on every
    /// verification, answered without the lock.
    learned: std::sync::atomic::AtomicBool,
}

#[derive(Debug, Default)]
struct State {
    sources: HashMap<String, Table>,
    /// Every source's edge segments together ([`Everywhere`]).
    everywhere: HashMap<u64, Everywhere>,
}

impl Learner {
    /// A learner that knows nothing (a cold store).
    pub fn new() -> Learner {
        Learner::default()
    }

    /// Counts the edge segments of `titles`, all from `source`.
    pub fn learn<'t>(&self, source: &str, titles: impl IntoIterator<Item = &'t str>) {
        let seen: Vec<Seen> = titles
            .into_iter()
            .map(|t| {
                let f = Folded::new(super::title::strip_wire_tag(t));
                (edges_of_folded(&f), edge_slots(&f))
            })
            .collect();
        self.count(source, seen);
    }

    /// [`Learner::learn`] from titles already folded without their wire tag.
    pub fn learn_folded<'f>(&self, source: &str, titles: impl IntoIterator<Item = &'f Folded>) {
        let seen: Vec<Seen> = titles
            .into_iter()
            .map(|f| (edges_of_folded(f), edge_slots(f)))
            .collect();
        self.count(source, seen);
    }

    fn count(&self, source: &str, seen: Vec<Seen>) {
        let mut guard = self.state.write().expect("learner lock poisoned");
        let state = &mut *guard;
        let mut table = state.sources.remove(source).unwrap_or_default();
        for (edges, slots) in seen {
            table.titles += 1;
            table.unsaved = table.unsaved.saturating_add(1);
            table.tick = table.tick.wrapping_add(1);
            let tick = table.tick;
            for (seg, core) in edges {
                let (new, evicted) = bump(&mut table.edges, seg, core as u32, tick, MAX_EDGES);
                if let Some(v) = evicted {
                    state.lost(v);
                }
                if new {
                    state.gained(seg, &[core as u32]);
                } else {
                    state.seen_with(seg, core as u32);
                }
                bump(&mut table.cores, core, seg as u32, tick, MAX_CORES);
            }
            for (slot, seg) in slots {
                table.bump_slot(slot, seg);
            }
            if table.titles >= DECAY_TITLES {
                for seg in table.decay() {
                    state.lost(seg);
                }
            }
        }
        state.sources.insert(source.to_string(), table);
        self.learned
            .store(true, std::sync::atomic::Ordering::Release);
    }

    /// Whether the segment with comparison-string hash `seg` is packaging: of `source` (when it
    /// is known), or of all sources together (in two or more sources, with [`SKETCH`] distinct
    /// cores over them). One lookup each, however many sources there are.
    pub fn is_packaging(&self, source: Option<&str>, seg: u64) -> bool {
        let state = self.state.read().expect("learner lock poisoned");
        if state.sources.is_empty() {
            return false;
        }
        let own = source
            .and_then(|s| state.sources.get(s))
            .is_some_and(|t| t.is_packaging(seg));
        own || state
            .everywhere
            .get(&seg)
            .is_some_and(|g| g.sources >= 2 && g.cores.len() >= SKETCH)
    }

    /// Whether `slot` ([`edge_slots`]) is a packaging slot of `source`: seen on
    /// [`MIN_SLOT_TITLES`] titles, on [`MIN_SLOT_PACKAGING_PERCENT`] of them with the source's
    /// learned packaging. Unknown source: no.
    pub fn is_packaging_slot(&self, source: Option<&str>, slot: u64) -> bool {
        let Some(source) = source else {
            return false;
        };
        let state = self.state.read().expect("learner lock poisoned");
        state
            .sources
            .get(source)
            .is_some_and(|t| t.is_packaging_slot(slot))
    }

    /// Whether the core with comparison-string hash `core` is a template: seen, in `source` (or
    /// any source when `None`), with [`TEMPLATE_EDGES`] edge segments that are not packaging.
    pub fn is_template(&self, source: Option<&str>, core: u64) -> bool {
        let state = self.state.read().expect("learner lock poisoned");
        let check = |t: &Table| {
            t.cores.get(&core).is_some_and(|e| {
                e.sketch.len() >= TEMPLATE_EDGES
                    && e.sketch
                        .iter()
                        .filter(|h| {
                            !t.edges
                                .iter()
                                .any(|(k, _)| *k as u32 == **h && t.is_packaging(*k))
                        })
                        .count()
                        >= TEMPLATE_EDGES
            })
        };
        match source {
            Some(s) => state.sources.get(s).is_some_and(check),
            None => state.sources.values().any(check),
        }
    }

    /// Whether anything was learned.
    pub fn is_empty(&self) -> bool {
        !self.learned.load(std::sync::atomic::Ordering::Acquire)
    }

    /// `source`'s counts, encoded, when they are due to be stored at `now`: learned from since
    /// they were last handed out, [`SAVE_EVERY`] or more after they were last handed out (or
    /// first asked about, in this process).
    pub fn encode_due(&self, source: &str, now: DateTime<Utc>) -> Option<Vec<u8>> {
        {
            let mut state = self.state.write().expect("learner lock poisoned");
            let t = state.sources.get_mut(source)?;
            let every = chrono::Duration::from_std(SAVE_EVERY).unwrap_or(chrono::Duration::MAX);
            let since = *t.saved_at.get_or_insert(now);
            let due = t.unsaved > 0 && now - since >= every;
            if !due {
                return None;
            }
            t.unsaved = 0;
            t.saved_at = Some(now);
        }
        self.encode(source)
    }

    /// `source`'s counts, encoded (see [`Learner::load`]); `None` when nothing was learned of it.
    pub fn encode(&self, source: &str) -> Option<Vec<u8>> {
        let state = self.state.read().expect("learner lock poisoned");
        let t = state.sources.get(source)?;
        let mut out = Vec::with_capacity(16 + (t.edges.len() + t.cores.len()) * 24);
        out.push(VERSION);
        varint(&mut out, u64::from(t.titles));
        varint(&mut out, u64::from(t.tick));
        for map in [&t.edges, &t.cores] {
            varint(&mut out, map.len() as u64);
            let mut keys: Vec<&u64> = map.keys().collect();
            keys.sort();
            for k in keys {
                let e = &map[k];
                out.extend_from_slice(&k.to_le_bytes());
                varint(&mut out, u64::from(e.hits));
                varint(&mut out, u64::from(e.last));
                out.push(e.sketch.len() as u8);
                for h in &e.sketch {
                    out.extend_from_slice(&h.to_le_bytes());
                }
            }
        }
        varint(&mut out, t.slots.len() as u64);
        let mut keys: Vec<&u64> = t.slots.keys().collect();
        keys.sort();
        for k in keys {
            let slot = &t.slots[k];
            out.extend_from_slice(&k.to_le_bytes());
            varint(&mut out, u64::from(slot.titles));
            out.push(slot.segments.len() as u8);
            for (seg, n) in &slot.segments {
                out.extend_from_slice(&seg.to_le_bytes());
                varint(&mut out, u64::from(*n));
            }
        }
        Some(out)
    }

    /// Restores `source`'s counts from [`Learner::encode`]'s bytes, replacing what was known of
    /// it. Bytes of another version or malformed ones are ignored (`false`): the counts are
    /// learned again from the stream.
    pub fn load(&self, source: &str, bytes: &[u8]) -> bool {
        let Some(table) = decode(bytes) else {
            return false;
        };
        self.state
            .write()
            .expect("learner lock poisoned")
            .replace(source, table);
        self.learned
            .store(true, std::sync::atomic::Ordering::Release);
        true
    }

    /// Loads every blob named [`blob_name`] among `blobs`; returns how many sources it knows.
    pub fn load_all(&self, blobs: impl IntoIterator<Item = (String, Vec<u8>)>) -> usize {
        let mut n = 0;
        for (name, bytes) in blobs {
            if let Some(source) = name.strip_prefix(BLOB_PREFIX) {
                n += usize::from(self.load(source, &bytes));
            }
        }
        n
    }

    /// The sources it learned about.
    pub fn sources(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .state
            .read()
            .expect("learner lock poisoned")
            .sources
            .keys()
            .cloned()
            .collect();
        v.sort();
        v
    }
}

/// Rebuilds every source's counts from the items `store` holds (each story's title for its
/// feed, each copy's for the feed that carried it, in stored order) and commits them as blobs:
/// what `feedsift migrate` does for the target. Returns the number of sources.
pub fn rebuild(store: &crate::store::Store) -> Result<usize, crate::store::StoreError> {
    let learner = Learner::new();
    for item in store.after_seq(None) {
        let item = item?;
        learner.learn(&item.source.feed_id, [item.item.title.as_str()]);
        for copy in &item.also_at {
            learner.learn(&copy.source.feed_id, [copy.title.as_str()]);
        }
    }
    let blobs: Vec<(String, Vec<u8>)> = learner
        .sources()
        .into_iter()
        .filter_map(|s| Some((blob_name(&s), learner.encode(&s)?)))
        .collect();
    let n = blobs.len();
    if n > 0 {
        store.commit(
            crate::store::Batch {
                blobs,
                ..Default::default()
            },
            None,
        )?;
        store.flush()?;
    }
    Ok(n)
}

fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn byte(&mut self) -> Option<u8> {
        let (b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(*b)
    }
    fn varint(&mut self) -> Option<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            v |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Some(v);
            }
        }
        None
    }
    fn bytes<const N: usize>(&mut self) -> Option<[u8; N]> {
        if self.0.len() < N {
            return None;
        }
        let (a, rest) = self.0.split_at(N);
        self.0 = rest;
        a.try_into().ok()
    }
}

fn decode(bytes: &[u8]) -> Option<Table> {
    let mut r = Reader(bytes);
    let version = r.byte()?;
    if version != 1 && version != VERSION {
        return None;
    }
    let mut t = Table {
        titles: u32::try_from(r.varint()?).ok()?,
        tick: u32::try_from(r.varint()?).ok()?,
        ..Table::default()
    };
    for (i, max) in [MAX_EDGES, MAX_CORES].into_iter().enumerate() {
        let n = usize::try_from(r.varint()?).ok()?;
        if n > max {
            return None;
        }
        let mut map = HashMap::with_capacity_and_hasher(n, Default::default());
        for _ in 0..n {
            let k = u64::from_le_bytes(r.bytes::<8>()?);
            let hits = u32::try_from(r.varint()?).ok()?;
            let last = u32::try_from(r.varint()?).ok()?;
            let len = usize::from(r.byte()?);
            if len > SKETCH {
                return None;
            }
            let mut sketch = Vec::with_capacity(len);
            for _ in 0..len {
                sketch.push(u32::from_le_bytes(r.bytes::<4>()?));
            }
            map.insert(k, Entry { sketch, hits, last });
        }
        if i == 0 {
            t.edges = map;
        } else {
            t.cores = map;
        }
    }
    if version >= 2 {
        let n = usize::try_from(r.varint()?).ok()?;
        if n > MAX_SLOTS {
            return None;
        }
        for _ in 0..n {
            let k = u64::from_le_bytes(r.bytes::<8>()?);
            let titles = u32::try_from(r.varint()?).ok()?;
            let len = usize::from(r.byte()?);
            if len > SLOT_SEGMENTS {
                return None;
            }
            let mut segments = Vec::with_capacity(len);
            for _ in 0..len {
                let seg = u64::from_le_bytes(r.bytes::<8>()?);
                segments.push((seg, u32::try_from(r.varint()?).ok()?));
            }
            t.slots.insert(k, Slot { titles, segments });
        }
    }
    r.0.is_empty().then_some(t)
}

/// Twelve distinct stories, for tests of what a farm's packaging teaches.
#[cfg(test)]
pub(crate) const FARM_STORIES: [&str; 12] = [
    "巴西龟的饲养方法",
    "信用卡逾期了怎么办",
    "女子提分手被男友掐死",
    "难分真假的杜莎夫人蜡像馆",
    "国企办教育医疗改革指导意见出台",
    "糯米红薯麻团第一次做没想到这么成功",
    "全球最著名的城市街道",
    "空手套白狼方法千千万",
    "考研心声路在脚下",
    "旅游板块周二上午低开低走",
    "蓝星安迪苏今起公开招股",
    "百去不厌的地方第四天",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(s: &str) -> u64 {
        hash(&Folded::new(s).key())
    }

    #[test]
    fn counts_are_handed_out_for_storing_at_most_every_save_interval() {
        let l = Learner::new();
        let t0 = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let at = |secs: i64| t0 + chrono::Duration::seconds(secs);
        assert!(l.encode_due("f", t0).is_none(), "nothing learned of f");
        l.learn("f", ["热讯｜巴西龟的饲养方法"]);
        assert!(
            l.encode_due("f", t0).is_none(),
            "not with the first response"
        );
        l.learn("f", ["热讯｜成都开展调解专项行动"]);
        assert!(l.encode_due("f", at(60)).is_none(), "not within SAVE_EVERY");
        let every = SAVE_EVERY.as_secs() as i64;
        let saved = l.encode_due("f", at(every)).expect("due after SAVE_EVERY");
        assert!(Learner::new().load("f", &saved));
        assert!(
            l.encode_due("f", at(3 * every)).is_none(),
            "nothing new learned since"
        );
    }

    #[test]
    fn a_farms_packaging_is_learned_whatever_its_characters() {
        let l = Learner::new();
        let stories = [
            "巴西龟的饲养方法",
            "信用卡逾期了怎么办",
            "女子提分手被男友掐死",
            "难分真假的杜莎夫人蜡像馆",
        ];
        let titles: Vec<String> = stories
            .iter()
            .enumerate()
            .map(|(i, s)| {
                if i % 2 == 0 {
                    format!("{s}【白塔焦网】")
                } else {
                    format!("白塔焦网 ￤ {s}")
                }
            })
            .collect();
        assert!(!l.is_packaging(Some("farm"), seg("白塔焦网")));
        l.learn("farm", titles.iter().map(String::as_str));
        assert!(l.is_packaging(Some("farm"), seg("白塔焦网")));
        // One source's habit is not everyone's.
        assert!(!l.is_packaging(None, seg("白塔焦网")));
        assert!(!l.is_packaging(Some("other"), seg("白塔焦网")));
        assert!(!l.is_packaging(Some("farm"), seg("巴西龟的饲养方法")));
        // Round trip.
        let bytes = l.encode("farm").unwrap();
        let m = Learner::new();
        assert!(m.load("farm", &bytes));
        assert!(m.is_packaging(Some("farm"), seg("白塔焦网")));
        assert_eq!(m.encode("farm").unwrap(), bytes);
        assert!(!m.load("farm", &bytes[..bytes.len() - 1]));
        assert!(!m.load("farm", &[9]));
    }

    #[test]
    fn a_core_with_many_subjects_is_a_template() {
        let l = Learner::new();
        let t = ["万科A", "招商银行", "贵州茅台", "中国平安"]
            .map(|c| format!("{c}：关于召开年度股东大会的通知"));
        l.learn("notices", t.iter().map(String::as_str));
        assert!(l.is_template(Some("notices"), seg("关于召开年度股东大会的通知")));
        assert!(!l.is_packaging(Some("notices"), seg("万科A")));
    }

    /// Twelve stories of a farm that puts one of two recurring words, in `open`/`close`
    /// brackets, before each (the last one an unseen word in the same place).
    fn farm_titles(open: char, close: char, words: [&str; 2]) -> Vec<String> {
        FARM_STORIES
            .iter()
            .enumerate()
            .map(|(i, s)| format!("{open}{}{close}{s}", words[i % 2]))
            .collect()
    }

    #[test]
    fn a_slot_that_mostly_holds_packaging_vouches_for_a_segment_seen_once() {
        let l = Learner::new();
        let titles = farm_titles('〘', '〙', ["白塔焦网", "甲乙丙"]);
        let slot_of = |t: &str| edge_slots(&Folded::new(t))[0].0;
        let one_off = "〘二十四闻讯〙成本推动短期占主导";
        assert!(!l.is_packaging_slot(Some("farm"), slot_of(one_off)));
        l.learn("farm", titles.iter().map(String::as_str));
        assert!(l.is_packaging_slot(Some("farm"), slot_of(one_off)));
        // Not another bracket, not the other end, not another source, not unknown sources.
        assert!(!l.is_packaging_slot(Some("farm"), slot_of("「二十四闻讯」成本推动短期占主导")));
        assert!(!l.is_packaging_slot(Some("farm"), edge_slots(&Folded::new(one_off))[1].0));
        assert!(!l.is_packaging_slot(Some("other"), slot_of(one_off)));
        assert!(!l.is_packaging_slot(None, slot_of(one_off)));
        // The slot survives the round trip; a version-1 blob (no slots) still loads.
        let bytes = l.encode("farm").unwrap();
        let m = Learner::new();
        assert!(m.load("farm", &bytes));
        assert!(m.is_packaging_slot(Some("farm"), slot_of(one_off)));
        let mut v1 = vec![1u8];
        v1.extend_from_slice(&[0, 0, 0, 0]);
        assert!(Learner::new().load("old", &v1));
        assert!(
            !Learner::new().load("old", &[1, 0, 0, 0, 0, 0]),
            "trailing bytes"
        );
    }

    #[test]
    fn a_slot_of_subjects_vouches_for_nothing() {
        let l = Learner::new();
        // A notices feed: `公司：…`, a hundred companies, each on one title.
        let (x, y) = ("万招贵中格五美华东西", "科商州国力粮的为方部");
        let titles: Vec<String> = x
            .chars()
            .flat_map(|a| {
                y.chars()
                    .map(move |b| format!("{a}{b}股份：关于召开股东大会的通知"))
            })
            .collect();
        l.learn("notices", titles.iter().map(String::as_str));
        let slot = edge_slots(&Folded::new("美的集团：关于召开股东大会的通知"))[0].0;
        assert!(!l.is_packaging_slot(Some("notices"), slot));
    }

    #[test]
    fn packaging_of_all_sources_follows_the_tables() {
        let l = Learner::new();
        let stories = (0..12).map(|i| format!("第{i}个完全不同的故事内容"));
        let titles: Vec<String> = stories.map(|s| format!("{s}｜共同包装")).collect();
        l.learn("a", titles[..6].iter().map(String::as_str));
        assert!(!l.is_packaging(None, seg("共同包装")), "one source");
        l.learn("b", titles[6..].iter().map(String::as_str));
        assert!(
            l.is_packaging(None, seg("共同包装")),
            "two sources, 12 cores"
        );
        assert!(l.is_packaging(Some("c"), seg("共同包装")));
        // Replacing a source's counts (a blob loaded) takes its segments out of the whole.
        assert!(l.load(
            "b",
            &Learner::new().encode("none").unwrap_or_else(|| {
                let e = Learner::new();
                e.learn("x", ["无关｜标题"]);
                e.encode("x").unwrap()
            })
        ));
        assert!(!l.is_packaging(None, seg("共同包装")));
    }

    #[test]
    fn memory_is_bounded() {
        let l = Learner::new();
        let titles: Vec<String> = (0..5000).map(|i| format!("甲{i}乙｜故事{i}内容")).collect();
        l.learn("s", titles.iter().map(String::as_str));
        let bytes = l.encode("s").unwrap();
        assert!(bytes.len() < 40_000, "{}", bytes.len());
    }
}
