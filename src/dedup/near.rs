//! Near-duplicates: the same story under another decoration, from another site.
//!
//! Two steps, so that a lookup costs a few key reads and never a scan:
//! 1. **Candidates** — a MinHash signature over character 3-grams of the title's
//!    [`index_core`](super::title::index_core), cut into [`BANDS`] bands of [`ROWS`] rows
//!    (locality-sensitive hashing). Each band hash is one key in the store's band index; an
//!    item that shares any band with the new one is a candidate. Titles whose cores are equal
//!    share every band; cores with Jaccard similarity 0.8 collide in at least one band with
//!    probability 1 − (1 − 0.8³)⁶ ≈ 0.99. One more key, the hash of the whole core
//!    ([`CORE_KEY`]), holds only titles whose cores are *equal*: a lookup reads only the newest
//!    few entries of each bucket, and content farms post from templates, so the six band buckets
//!    of an older story can be filled by hundreds of look-alikes that differ in a number
//!    (`…第15次…`, `…第16次…`); its decorated re-post still finds it in the core bucket, which
//!    look-alikes never enter.
//! 2. **Verification** — [`same_story`] decides, precisely, whether two titles are one story:
//!    after [`normalize`](super::title::normalize), their longest common stretch must be at
//!    least [`MIN_SHARED_CHARS`] long, must stand as whole segments in both titles (bounded by
//!    separators or the title's ends), and everything either title has around it must be
//!    decoration ([`is_decoration`](super::title::is_decoration)). So `北向资金增持3.54万股` and
//!    `北向资金增持4.1万股`, `重庆市…暴雨蓝色预警` and `成都市…暴雨蓝色预警`, or two earnings
//!    reports from one template, are different stories: their difference sits inside the story,
//!    or is a number or a place. Beside a long common stretch ([`STRONG_SHARED_CHARS`]) the
//!    shape of a decoration is enough — but not on both titles at the same end: `万科A：关于召开
//!    股东大会的通知` and `招商银行：…`, or `Apple: quarterly profit rises` and `Google: …`, are one
//!    template with two subjects, not two decorations of one story.

use super::fold::{self, Folded, Unit};
use super::learn::{self, Learner};
use super::memo::Memo;
use super::title::{
    index_core, is_cjk_masthead, is_decoration, is_latin_masthead, label_free_core,
    strip_trailing_masthead, strip_wire_tag, Edge,
};
use crate::regions;
use std::sync::{Arc, LazyLock};

/// MinHash bands in a signature (one index key each).
pub const BANDS: usize = 6;
/// Position of the exact-core key in a signature, after the bands.
pub const CORE_KEY: usize = BANDS;
/// Position of the first of the [`TRIM_KEYS`] segment-aligned keys, after the exact-core key.
pub const TRIM_KEY: usize = CORE_KEY + 1;
/// Segment-aligned keys per title: the hashes of its comparison string whole, without its first
/// unit, without its last, and without both ([`trims`]); zero where a title has none.
pub const TRIM_KEYS: usize = 4;
/// Index keys per title: the bands, the exact-core key and the segment-aligned keys.
pub const INDEX_KEYS: usize = TRIM_KEY + TRIM_KEYS;
/// The shortest comparison string a segment-aligned key is made of.
const MIN_TRIM_CHARS: usize = 4;
/// MinHash rows per band.
pub const ROWS: usize = 3;
/// The shortest common stretch (in characters, separators excluded) that can make two titles
/// one story.
pub const MIN_SHARED_CHARS: usize = 6;
/// A common stretch this long (separators excluded) is strong evidence on its own: what
/// surrounds it then only needs the shape of a decoration, not its vocabulary, so decorations
/// never seen before are still recognised.
pub const STRONG_SHARED_CHARS: usize = 12;
/// The fewest non-CJK words a common stretch in Latin script needs.
pub const MIN_SHARED_WORDS: usize = 3;
/// Units a residue may have at one end.
const MAX_RESIDUE_UNITS: usize = 3;
/// The longest segment (comparison characters) accepted by shape alone.
const MAX_WEAK_CHARS: usize = 8;
/// The most words of a Latin segment accepted by shape alone.
const MAX_WEAK_WORDS: usize = 4;

fn mix(mut x: u64) -> u64 {
    // SplitMix64 finaliser: cheap, well distributed, stable across platforms and versions.
    x ^= x >> 30;
    x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x ^= x >> 27;
    x = x.wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The index keys of a title, for the near-duplicate index: [`BANDS`] band hashes, then the
/// exact-core key at [`CORE_KEY`]. Empty for a title with no text.
pub fn signature(title: &str) -> Vec<u64> {
    signature_and_core(title).0
}

/// [`signature`] and the title's [`index_core`], derived once.
pub fn signature_and_core(title: &str) -> (Vec<u64>, String) {
    let core_text = index_core(title);
    let sig = signature_of(title, &core_text, None);
    (sig, core_text)
}

/// [`signature`] from the title's index core and, when the caller has it, its folded form
/// without a wire tag (as the learner folds it; folded here when `None`).
pub fn signature_of(title: &str, core_text: &str, folded: Option<&Folded>) -> Vec<u64> {
    signature_cut(title, core_text, folded, &[])
}

/// [`signature_of`], its segment-aligned keys also cut at `cuts` ([`trims_folded`]).
pub fn signature_cut(
    title: &str,
    core_text: &str,
    folded: Option<&Folded>,
    cuts: &[usize],
) -> Vec<u64> {
    let core: Vec<char> = core_text.chars().collect();
    if core.is_empty() {
        return Vec::new();
    }
    let mut buf = [0u8; 12];
    let shingles: Vec<u64> = if core.len() < 3 {
        vec![fnv(core.iter().collect::<String>().as_bytes())]
    } else {
        core.windows(3)
            .map(|w| {
                let mut n = 0;
                for c in w {
                    n += c.encode_utf8(&mut buf[n..]).len();
                }
                fnv(&buf[..n])
            })
            .collect()
    };
    let mut keys: Vec<u64> = (0..BANDS)
        .map(|band| {
            let mut h = band as u64;
            for row in 0..ROWS {
                let seed = mix((band * ROWS + row) as u64 + 1);
                let min = shingles.iter().map(|s| mix(s ^ seed)).min().unwrap_or(0);
                h = mix(h ^ min);
            }
            h
        })
        .collect();
    keys.push(core_key(
        label_free_core(title).as_deref().unwrap_or(core_text),
    ));
    keys.extend(match folded {
        Some(f) => trims_folded(f, cuts),
        None => trims(title),
    });
    keys
}

/// The segment-aligned keys of a title: its comparison string whole, without its first unit,
/// without its last unit, without both (zero when the title has too few units, or the text is
/// shorter than four characters or not more than half the title). A story under one packaging unit at either end or both shares
/// one of these with every other copy of it, whatever the packaging; a lookup probes each of
/// its values at every trim position ([`probes`]).
pub fn trims(title: &str) -> [u64; TRIM_KEYS] {
    trims_folded(&Folded::new(strip_wire_tag(title)), &[])
}

/// [`trims`] of a title already folded (without its wire tag). `cuts` are positions inside its
/// first or last unit where learned packaging words end or start ([`learned_cuts`]): there the
/// first (last) unit is taken to end (start), so that a story whose source attaches packaging
/// by a plain space (`Paris Maker the ripple effect…`) is keyed by the story alone too.
pub fn trims_folded(f: &Folded, cuts: &[usize]) -> [u64; TRIM_KEYS] {
    let n = f.units.len();
    let mut out = [0u64; TRIM_KEYS];
    if n == 0 {
        return out;
    }
    let len = f.chars.len();
    let (first_end, last_start) = (f.units[0].end, f.units[n - 1].start);
    let lead = cuts
        .iter()
        .copied()
        .filter(|&c| c > 0 && c <= first_end)
        .max();
    let trail = cuts
        .iter()
        .copied()
        .filter(|&c| c < len && c >= last_start)
        .min();
    let second = (n >= 2).then(|| f.units[1].start);
    let before_last = (n >= 2).then_some(last_start);
    let ranges = [
        Some((0, len)),
        second.map(|a| (a, len)),
        before_last.map(|b| (0, b)),
        (n >= 3).then(|| (f.units[1].start, last_start)),
    ];
    let put = |out: &mut [u64; TRIM_KEYS], i: usize, (a, b): (usize, usize), learned: bool| {
        // Only what is most of the title, unless what was cut off is learned packaging: a
        // packaging unit alone would gather every title of its farm into one bucket.
        if b >= a + MIN_TRIM_CHARS && (learned || 2 * (b - a) > len) {
            let h = mix(f.hash_of(a, b) ^ 0x7472_696d);
            if !out[..i].contains(&h) {
                out[i] = h;
            }
        }
    };
    for (i, r) in ranges.into_iter().enumerate() {
        if let Some(r) = r {
            put(&mut out, i, r, false);
        }
    }
    // Learned packaging (words, or whole units) fills only the keys the units left empty.
    let cut = [
        None,
        lead.map(|a| (a, len)),
        trail.map(|b| (0, b)),
        match (lead.or(second), trail.or(before_last)) {
            (Some(a), Some(b)) if (lead.is_some() || trail.is_some()) && a < b => Some((a, b)),
            _ => None,
        },
    ];
    for (i, r) in cut.into_iter().enumerate() {
        if let Some(r) = r {
            if out[i] == 0 {
                put(&mut out, i, r, true);
            }
        }
    }
    out
}

/// The lookups a signature makes: itself, then its segment-aligned keys rotated through the
/// trim positions (zero elsewhere: no lookup), so that a story without its first unit in one
/// title is found as the story without its last unit in another.
pub fn probes(sig: &[u64]) -> Vec<Vec<u64>> {
    let mut out = vec![sig.to_vec()];
    if sig.len() != INDEX_KEYS {
        return out;
    }
    let t = &sig[TRIM_KEY..];
    if t.iter().all(|h| *h == 0) {
        return out;
    }
    for r in 1..TRIM_KEYS {
        let mut v = vec![0u64; INDEX_KEYS];
        for i in 0..TRIM_KEYS {
            v[TRIM_KEY + (i + r) % TRIM_KEYS] = t[i];
        }
        out.push(v);
    }
    out
}

/// The exact-core key of a title's index core (its characters, not its shingles).
fn core_key(core: &str) -> u64 {
    mix(fnv(core.as_bytes()) ^ mix(CORE_KEY as u64 + 0x636f_7265))
}

/// The signature a stored item should have when it is not the one it has (written before the
/// exact-core key, sled schema 3 / PostgreSQL migration 1, or before the segment-aligned keys,
/// sled schema 4 / PostgreSQL migration 3, or by another index core): what the store
/// migrations give every stored item. `None` when it is complete, or was stored without one
/// (near-duplicate detection off).
pub fn complete_signature(stored: &[u64], title: &str) -> Option<Vec<u64>> {
    if stored.is_empty() {
        return None;
    }
    let full = signature(title);
    (full != stored).then_some(full)
}

/// Whether two titles are the same story, judged cold (built-in vocabulary and shapes only);
/// see [`same_story_with`].
pub fn same_story(a: &str, b: &str) -> bool {
    same_story_with(&Learner::new(), (a, None), (b, None))
}

/// Whether two titles, each with its source when known, are the same story, with what
/// `learner` has learned of their sources' packaging: see the module docs for the rule.
pub fn same_story_with(
    learner: &Learner,
    a: (&str, Option<&str>),
    b: (&str, Option<&str>),
) -> bool {
    same_story_folded(
        learner,
        (&verified_form(a.0), a.1),
        (&verified_form(b.0), b.1),
    )
}

/// A title folded as the verification compares it: without a wire revision tag (`UPDATE 2-`)
/// or a trailing masthead (`…｜21世纪经济报道`), whose numbers and hyphens would join them to the
/// story. Ingest folds each title once and passes this to [`same_story_folded`].
pub fn verified_form(title: &str) -> Folded {
    Folded::new(strip_trailing_masthead(strip_wire_tag(title)))
}

/// How many titles' verified forms [`verified_form_shared`] keeps (about 1 KB each): 8,192 cost
/// 9 MB more peak RSS in a cold poll of 1,000 feeds than 2,048, for no measurable speed.
const FORM_MEMO: usize = 2_048;

/// How many segments' shapes [`has_edge_shape`] and [`has_weak_shape`] keep.
const SHAPE_MEMO: usize = 4_096;

static FORMS: LazyLock<Memo<Arc<Folded>>> = LazyLock::new(|| Memo::new(FORM_MEMO));
static EDGE_SHAPES: LazyLock<Memo<bool>> = LazyLock::new(|| Memo::new(SHAPE_MEMO));
static WEAK_SHAPES: LazyLock<Memo<bool>> = LazyLock::new(|| Memo::new(SHAPE_MEMO));

/// [`verified_form`], shared: a stored story is proposed as a candidate for entry after entry
/// (a template's look-alikes fill the same band buckets), and its title is folded once while it
/// stays among the recently compared ([`Memo`]: the form depends on the title alone).
pub fn verified_form_shared(title: &str) -> Arc<Folded> {
    FORMS.get_or(title, |t| Arc::new(verified_form(t)))
}

/// Tells [`verified_form_shared`] the verified form of `title`, already worked out: ingest
/// folds each entry's title, and the stories it stores are the candidates proposed to the
/// entries that follow (a template's look-alikes fill the same band buckets), so they are not
/// folded again.
pub fn remember_verified_form(title: &str, form: &Arc<Folded>) {
    debug_assert_eq!(
        form.chars,
        verified_form(title).chars,
        "not the verified form of {title}"
    );
    FORMS.prime(title, Arc::clone(form));
}

/// [`same_story_with`] on titles already folded by [`verified_form`].
pub fn same_story_folded(
    learner: &Learner,
    a: (&Folded, Option<&str>),
    b: (&Folded, Option<&str>),
) -> bool {
    same_story_sides(
        learner,
        (a.0, a.1, &Sides::default()),
        (b.0, b.1, &Sides::default()),
    )
}

/// What [`same_story_sides`] judged of one title (from one source) beside a common stretch:
/// its residues before and after the stretch, by the stretch's start and end. They depend on
/// the title, its source, the stretch and what the learner knows, so a title compared with
/// many others (a new entry with its candidates, a stored candidate with the entries of one
/// response that propose it) has each side judged once. Keep one per title and source, for
/// as long as what the learner knows may be taken as unchanged (one response's decisions).
#[derive(Default)]
pub struct Sides(std::cell::RefCell<rustc_hash::FxHashMap<(usize, usize), Judged>>);

/// A title's residues before and after one stretch, or `None` when one is story.
type Judged = Option<(Residue, Residue)>;

/// [`same_story_folded`], each title with the [`Sides`] already judged of it.
pub fn same_story_sides(
    learner: &Learner,
    a: (&Folded, Option<&str>, &Sides),
    b: (&Folded, Option<&str>, &Sides),
) -> bool {
    let (fa, fb) = (a.0, b.0);
    if fa.chars.is_empty() || fb.chars.is_empty() {
        return false;
    }
    if fa.chars == fb.chars {
        return true;
    }
    // The stretch below is narrowed from the longest common one, never widened: when that is
    // already too short, nothing else needs working out (most candidates end here).
    let common = longest_common(&fa.chars, &fb.chars);
    if common.0 < MIN_SHARED_CHARS {
        return false;
    }
    let cuts_a = learned_cuts(learner, fa, a.1);
    let cuts_b = learned_cuts(learner, fb, b.1);
    let Some((start_a, start_b, len)) = aligned_common(fa, fb, common, &cuts_a, &cuts_b) else {
        return false;
    };
    let (end_a, end_b) = (start_a + len, start_b + len);
    let (_, latin_words) = weight(fa, start_a, end_a);
    // Characters (letters, digits, ideographs); in Latin script also at least three words,
    // unless the stretch is long.
    if len < MIN_SHARED_CHARS
        || (latin_words > 0 && latin_words < MIN_SHARED_WORDS && len < STRONG_SHARED_CHARS)
    {
        return false;
    }
    let strong = len >= STRONG_SHARED_CHARS;
    let core = fa.hash_of(start_a, end_a);
    let template = || learner.is_template(a.1, core) || learner.is_template(b.1, core);
    let side = |f: &Folded, src: Option<&str>, s: usize, e: usize| -> Option<(Residue, Residue)> {
        // The outermost unit at each end, when it sits in one of the source's packaging slots
        // and is shorter than the common story.
        let slots = std::cell::OnceCell::new();
        let slotted = |i: usize, unit: Option<&Unit>, residue: bool| {
            residue
                && !learner.is_empty()
                && unit.is_some_and(|u| u.end - u.start < len)
                && slots
                    .get_or_init(|| learn::edge_slots(f))
                    .get(i)
                    .is_some_and(|(slot, _)| learner.is_packaging_slot(src, *slot))
        };
        let lead = Beside {
            strong,
            slotted: slotted(0, f.units.first(), s > 0),
        };
        let trail = Beside {
            strong,
            slotted: slotted(1, f.units.last(), e < f.chars.len()),
        };
        Some((
            residue(learner, f, src, 0, s, Edge::Leading, lead)?,
            residue(learner, f, src, e, f.chars.len(), Edge::Trailing, trail)?,
        ))
    };
    let judged = |sides: &Sides, f: &Folded, src: Option<&str>, s: usize, e: usize| {
        if let Some(v) = sides.0.borrow().get(&(s, e)) {
            return *v;
        }
        let v = side(f, src, s, e);
        sides.0.borrow_mut().insert((s, e), v);
        v
    };
    let (sa, sb) = (
        judged(a.2, fa, a.1, start_a, end_a),
        judged(b.2, fb, b.1, start_b, end_b),
    );
    let (Some((lead_a, trail_a)), Some((lead_b, trail_b))) = (sa, sb) else {
        return false;
    };
    // Both titles put something unrecognised before (or after) the same text: that is two
    // subjects of one template (`万科A：关于召开股东大会的通知` / `招商银行：…`, `Apple: quarterly
    // profit rises` / `Google: …`), not two decorations of one story.
    if lead_a.unsure() && lead_b.unsure() || trail_a.unsure() && trail_b.unsure() {
        return false;
    }
    // A core the stream has seen with many subjects: what stands beside it is a subject.
    let weak = [lead_a, trail_a, lead_b, trail_b]
        .iter()
        .any(|r| r.unsure());
    !(weak && template())
}

/// The longest common stretch of the two comparison strings, narrowed to start and end on unit
/// boundaries in both: (start in `a`, start in `b`, length).
/// Besides its unit boundaries, a title may be cut where Latin words its source puts on many
/// stories end (or start) an edge unit: packaging attached by a plain space
/// (`Paris Maker weed vodka is here`), learned ([`learn::word_edges`]) — never by shape.
pub fn learned_cuts(learner: &Learner, f: &Folded, src: Option<&str>) -> Vec<usize> {
    if learner.is_empty() {
        return Vec::new();
    }
    let (lead, trail) = learn::word_edges(f);
    let len = f.chars.len();
    let mut out: Vec<usize> = lead
        .into_iter()
        .filter(|&p| learner.is_packaging(src, f.hash_of(0, p)))
        .collect();
    out.extend(
        trail
            .into_iter()
            .filter(|&p| learner.is_packaging(src, f.hash_of(p, len))),
    );
    out
}

/// Where `f`'s outermost units end (start) when they are its source's learned packaging or sit
/// in one of its packaging slots: with [`learned_cuts`], the positions at which ingest keys the
/// story without its packaging however short the story is ([`trims_folded`]).
pub fn packaging_cuts(learner: &Learner, f: &Folded, src: Option<&str>) -> Vec<usize> {
    let mut out = learned_cuts(learner, f, src);
    let n = f.units.len();
    if learner.is_empty() || n < 2 {
        return out;
    }
    let slots = learn::edge_slots(f);
    let (first, last) = (f.units[0], f.units[n - 1]);
    for (i, u, at) in [(0, first, first.end), (1, last, last.start)] {
        let seg = f.hash_of(u.start, u.end);
        if learner.is_packaging(src, seg) || learner.is_packaging_slot(src, slots[i].0) {
            out.push(at);
        }
    }
    out
}

fn aligned_common(
    fa: &Folded,
    fb: &Folded,
    (len, end_a, end_b): (usize, usize, usize),
    cuts_a: &[usize],
    cuts_b: &[usize],
) -> Option<(usize, usize, usize)> {
    if len == 0 {
        return None;
    }
    let (sa, sb) = (end_a - len, end_b - len);
    let both = |i: usize| {
        (fa.is_boundary(sa + i) || cuts_a.contains(&(sa + i)))
            && (fb.is_boundary(sb + i) || cuts_b.contains(&(sb + i)))
    };
    let first = (0..len).find(|&i| both(i))?;
    let last = (first + 1..=len).rev().find(|&i| both(i))?;
    Some((sa + first, sb + first, last - first))
}

/// CJK characters and non-CJK words (runs of letters) in `f.chars[a..b]`.
fn weight(f: &Folded, a: usize, b: usize) -> (usize, usize) {
    let cjk = f.chars[a..b].iter().filter(|c| fold::is_cjk(**c)).count();
    let words = (a..b)
        .filter(|&i| {
            let c = f.chars[i];
            !fold::is_cjk(c)
                && c.is_alphabetic()
                && (i == a
                    || f.word_start[i]
                    || !f.chars[i - 1].is_alphabetic()
                    || fold::is_cjk(f.chars[i - 1]))
        })
        .count();
    (cjk, words)
}

/// What surrounds the common story on one side of a title.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Residue {
    /// Nothing, or packaging known by the stream or the built-in vocabulary.
    Firm,
    /// In the source's packaging slot, but not itself known as packaging.
    Slotted,
    /// Something accepted by its shape alone, beside a long identical story.
    Weak,
}

impl Residue {
    /// Not known as packaging: two unsure residues at one end may be two subjects.
    fn unsure(self) -> bool {
        self != Residue::Firm
    }
}

/// What a residue's judgement needs to know of the common story beside it.
#[derive(Debug, Clone, Copy)]
struct Beside {
    /// The common story is long ([`STRONG_SHARED_CHARS`]).
    strong: bool,
    /// The title's outermost unit at this end sits in a packaging slot of its source.
    slotted: bool,
}

/// Judges `f.chars[a..b]`, what one title has beside the common story at one end: `None` when it
/// is story (or a subject) rather than packaging.
fn residue(
    learner: &Learner,
    f: &Folded,
    src: Option<&str>,
    a: usize,
    b: usize,
    edge: Edge,
    beside: Beside,
) -> Option<Residue> {
    let Beside { strong, slotted } = beside;
    if a >= b {
        return Some(Residue::Firm);
    }
    let learned =
        |x: usize, y: usize| !learner.is_empty() && learner.is_packaging(src, f.hash_of(x, y));
    if learned(a, b) {
        return Some(Residue::Firm);
    }
    let units: Vec<&Unit> = f.units_in(a, b).collect();
    if units.is_empty() || units.len() > MAX_RESIDUE_UNITS {
        return None;
    }
    let mut out = Residue::Firm;
    let outermost = |u: &Unit| match edge {
        Edge::Leading => u.start == 0,
        Edge::Trailing => u.end == f.chars.len(),
    };
    for u in units {
        // In the source's packaging slot: packaging, whatever its words.
        if slotted && outermost(u) {
            if !learned(u.start, u.end) && !is_decoration(f.raw(u.start, u.end), edge) {
                out = out.max(Residue::Slotted);
            }
            continue;
        }
        // Learned packaging, or two learned segments run together (`抑退育想大每看`).
        if learned(u.start, u.end)
            || (!learner.is_empty()
                && (u.start + 1..u.end).any(|k| learned(u.start, k) && learned(k, u.end)))
        {
            continue;
        }
        let raw = f.raw(u.start, u.end);
        let quoted = matches!(u.bracket, Some('《' | '〈'));
        // A capitalised name after a comma or a full stop is the sentence going on, not a
        // masthead (`US Stocks Fall, Cisco Leads Techs Lower`).
        let sentence_goes_on = edge == Edge::Trailing
            && is_latin_masthead(raw)
            && !is_decoration(raw, Edge::Leading)
            && after_sentence_punctuation(f, u.start);
        if is_decoration(raw, edge) && !sentence_goes_on {
            continue;
        }
        // A short bracketed note after the story (`(组图)`, `(附名单)`).
        if edge == Edge::Trailing && u.bracket.is_some() && !quoted && is_note_shape(raw) {
            continue;
        }
        // A name in title marks (`《今日观察》`) is packaging only by its words.
        if quoted {
            return None;
        }
        // Beside a long identical story, the shape of a decoration is enough, and so is a
        // publication's name that contains a place's (`红星新闻｜…`).
        if strong && (has_edge_shape(raw) || is_cjk_masthead(raw)) {
            out = Residue::Weak.max(out);
        } else {
            return None;
        }
    }
    Some(out)
}

/// Whether the separator before comparison character `i` holds a comma, full stop, semicolon,
/// question or exclamation mark (after NFKC: `，` `﹐` are `,`), or their CJK forms `、` `。`.
fn after_sentence_punctuation(f: &Folded, i: usize) -> bool {
    if i == 0 {
        return false;
    }
    f.text[f.at[i - 1].1..f.at[i].0]
        .chars()
        .any(|c| matches!(c, ',' | '.' | ';' | '!' | '?' | '、' | '。'))
}

/// The shape of what a site puts beside a story, for a segment no vocabulary knows: short (at
/// most eight CJK characters, or four words, digits allowed). A number or a place in it is
/// allowed here because the both-ends guard of [`same_story_folded`] still refuses two such
/// segments at one end (`北京：…` / `天津：…`); a number or place *inside* the story breaks the
/// common stretch instead.
fn has_edge_shape(raw: &str) -> bool {
    EDGE_SHAPES.get_or(raw, edge_shape)
}

/// [`has_edge_shape`], worked out.
fn edge_shape(raw: &str) -> bool {
    let f = Folded::new(raw);
    let cjk = f.chars.iter().filter(|c| fold::is_cjk(**c)).count();
    if cjk > 0 {
        return f.chars.len() <= MAX_WEAK_CHARS;
    }
    let (_, words) = weight(&f, 0, f.chars.len());
    words <= MAX_WEAK_WORDS && f.chars.iter().all(|c| c.is_alphanumeric())
}

/// The shape of a decoration, for a segment no vocabulary knows: short (at most eight CJK
/// characters, or four words), no digit, no place name.
fn has_weak_shape(raw: &str) -> bool {
    WEAK_SHAPES.get_or(raw, weak_shape)
}

/// [`has_weak_shape`], worked out.
fn weak_shape(raw: &str) -> bool {
    if raw.chars().any(char::is_numeric) {
        return false;
    }
    let f = Folded::new(raw);
    let cjk = f.chars.iter().filter(|c| fold::is_cjk(**c)).count();
    if cjk > 0 {
        return f.chars.len() <= MAX_WEAK_CHARS && !regions::names_a_region(raw);
    }
    let (_, words) = weight(&f, 0, f.chars.len());
    words <= MAX_WEAK_WORDS && f.chars.iter().all(|c| c.is_alphabetic())
}

/// A short bracketed note (`组图`, `附名单`): at most four CJK characters, no digit, no place.
fn is_note_shape(raw: &str) -> bool {
    let n = raw.chars().filter(|c| fold::is_cjk(*c)).count();
    n > 0
        && raw.chars().filter(|c| !fold::is_separator_char(*c)).count() <= 4
        && has_weak_shape(raw)
}

/// Length and end positions of the longest common substring: among the longest, the one that
/// ends first in `a`, then in `b` (what a row-by-row dynamic programme finds first). Walked one
/// diagonal at a time: no table, no allocation.
fn longest_common(a: &[char], b: &[char]) -> (usize, usize, usize) {
    let (mut best, mut ea, mut eb) = (0, 0, 0);
    let (n, m) = (a.len(), b.len());
    // Diagonal `d` pairs a[i] with b[i + d - (n - 1)]; its cells are compared in order.
    for d in 0..(n + m).saturating_sub(1) {
        let (mut i, mut j) = if d < n {
            (n - 1 - d, 0)
        } else {
            (0, d + 1 - n)
        };
        // A diagonal shorter than the best run can neither beat nor tie it.
        if (n - i).min(m - j) < best {
            continue;
        }
        let mut run = 0;
        while i < n && j < m {
            if a[i] == b[j] {
                run += 1;
                if run > best || (run == best && (i + 1, j + 1) < (ea, eb)) {
                    (best, ea, eb) = (run, i + 1, j + 1);
                }
            } else {
                run = 0;
            }
            i += 1;
            j += 1;
        }
    }
    (best, ea, eb)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The row-by-row dynamic programme [`longest_common`] replaced: its oracle.
    fn longest_common_table(a: &[char], b: &[char]) -> (usize, usize, usize) {
        let mut prev = vec![0usize; b.len() + 1];
        let mut cur = vec![0usize; b.len() + 1];
        let (mut best, mut ea, mut eb) = (0, 0, 0);
        for i in 1..=a.len() {
            for j in 1..=b.len() {
                cur[j] = if a[i - 1] == b[j - 1] {
                    prev[j - 1] + 1
                } else {
                    0
                };
                if cur[j] > best {
                    best = cur[j];
                    ea = i;
                    eb = j;
                }
            }
            std::mem::swap(&mut prev, &mut cur);
        }
        (best, ea, eb)
    }

    proptest! {
        // Small alphabets, so that long runs and ties are common.
        #[test]
        fn longest_common_is_the_tables(
            a in proptest::collection::vec(proptest::sample::select(vec!['a', 'b', 'c', '中']), 0..40),
            b in proptest::collection::vec(proptest::sample::select(vec!['a', 'b', 'c', '中']), 0..40),
        ) {
            prop_assert_eq!(longest_common(&a, &b), longest_common_table(&a, &b));
        }
    }

    #[test]
    fn same_story_table() {
        let cases = [
            // Decorated re-posts: one story.
            (
                "每日焦点!巴西龟的饲养方法",
                "巴西龟的饲养方法|环球快资讯",
                true,
            ),
            (
                "【环球报资讯】巴西龟的饲养方法_当前独家",
                "每日焦点!巴西龟的饲养方法",
                true,
            ),
            (
                "焦点动态!女子提分手被17岁男友掐死_当前动态",
                "最新简讯：女子提分手被17岁男友掐死|天天动态",
                true,
            ),
            (
                "今日看点：难分真假的杜莎夫人蜡像馆|当前聚焦",
                "难分真假的杜莎夫人蜡像馆_最新速递",
                true,
            ),
            ("油价重上５６美元｜全球热搜", "油价重上56美元", true),
            (
                "Exclusive: Fed holds rates steady | Reuters",
                "Fed holds rates steady - BBC News",
                true,
            ),
            // Hard negatives: another number, another place, another template instance.
            (
                "北向资金增持3.54万股 某科技股份公告",
                "北向资金增持4.10万股 某科技股份公告",
                false,
            ),
            (
                "中国神华:率煤炭股崛起油价重上47美元_环球聚焦",
                "焦点快报！中国神华：率煤炭股崛起油价重上５6美元｜全球热搜",
                false,
            ),
            (
                "重庆市气象台发布暴雨蓝色预警",
                "成都市气象台发布暴雨蓝色预警",
                false,
            ),
            ("四川：暴雨蓝色预警发布", "重庆：暴雨蓝色预警发布", false),
            (
                "台湾高雄市民在路边发现白色小刺猬(图)|观天下报资讯",
                "静安高雄市民在路边发现白色小刺猬(图) 全球快报",
                false,
            ),
            (
                "贵州茅台：2023年净利润同比增长19%",
                "五粮液：2023年净利润同比增长12%",
                false,
            ),
            (
                "李强：推动经济高质量发展",
                "王毅：推动经济高质量发展",
                false,
            ),
            (
                "Update 2: EDS Reports Third-Quarter Loss",
                "Exclusive: MCI Reports $3.4 Bln Third-Quarter Loss | Reuters",
                false,
            ),
            // Decorations of shapes the vocabulary does not list (none of these strings occur in
            // the shared labelled pairs): a column name in title marks, a publication named
            // after a place, a publication before the story, a masthead with digits, short
            // bracketed notes, a wire revision tag, a four-word masthead, plural packaging.
            (
                "《今日观察》退休女工操持20亩蟹塘年收入近50万元",
                "退休女工操持20亩蟹塘年收入近50万元 - 网易新闻",
                true,
            ),
            (
                "年少白了头，这种植物还有明目之功效_凤凰网资讯",
                "年少白了头，这种植物还有明目之功效_实时热点",
                true,
            ),
            (
                "观察者网：德外长称将撤出德在土耳其驻军",
                "新鲜事|德外长称将撤出德在土耳其驻军",
                true,
            ),
            (
                "强基础惠民生 各地水利工程加快推进｜21世纪经济报道",
                "【热点关注】强基础惠民生 各地水利工程加快推进",
                true,
            ),
            (
                "现做现吃的抹茶红豆蛋糕丨财经早知道",
                "热议：现做现吃的抹茶红豆蛋糕（组图）",
                true,
            ),
            (
                "乌拉圭总统将访华_新闻频道_中华网",
                "最新消息！乌拉圭总统将访华_实时热点",
                true,
            ),
            (
                "UPDATE 2-EA Reports Higher Quarterly Profits",
                "EA Reports Higher Quarterly Profits - Reuters",
                true,
            ),
            (
                "MCNAMARA RECEIVES GOOD NEWS - The New York Times",
                "MCNAMARA RECEIVES GOOD NEWS - Reuters",
                true,
            ),
            (
                "Live updates: Tiger Woods ties the knot",
                "Tiger Woods ties the knot | AP News",
                true,
            ),
            // One template, two subjects: what each title puts before (or after) the shared
            // text is unrecognised on both sides, so it is the subject, not packaging.
            (
                "万科A：关于召开年度股东大会的通知公告",
                "招商银行：关于召开年度股东大会的通知公告",
                false,
            ),
            (
                "Apple: quarterly profit rises on strong sales",
                "Google: quarterly profit rises on strong sales",
                false,
            ),
            // A publication named after a place, before a long identical story, on both sides:
            // two cities' alerts.
            (
                "重庆新闻：市气象台发布暴雨蓝色预警信号请注意防范",
                "成都新闻：市气象台发布暴雨蓝色预警信号请注意防范",
                false,
            ),
            // Report kinds end in 报 like papers' names, but are the story.
            ("贵州茅台_一季度报", "贵州茅台_三季度报", false),
            (
                "中国平安保险集团股份有限公司_业绩快报",
                "中国平安保险集团股份有限公司_业绩预告",
                false,
            ),
            ("北京明天有雨_天气预报", "北京明天有雨_地震预报", false),
            // A work's name in title marks is not packaging.
            (
                "《大盛魁》内蒙热拍 于震拜师屡遭刁难",
                "《乔家大院》内蒙热拍 于震拜师屡遭刁难",
                false,
            ),
            // Unrelated.
            ("巴西龟的饲养方法", "信用卡逾期了怎么办", false),
            ("", "", false),
        ];
        for (a, b, want) in cases {
            assert_eq!(same_story(a, b), want, "{a} ~ {b}");
            assert_eq!(same_story(b, a), want, "symmetric: {b} ~ {a}");
        }
    }

    /// A title's sides judged once and kept (one [`Sides`] per title, as one response's
    /// decisions keep them) give the verdicts judging afresh gives, whichever pairs come first.
    #[test]
    fn kept_sides_give_the_verdicts_of_fresh_ones() {
        let l = two_farms();
        let titles: Vec<(String, Option<&str>)> = [
            ("每日焦点!巴西龟的饲养方法", Some("a")),
            ("巴西龟的饲养方法|环球快资讯", Some("b")),
            (
                "今日热搜:巴西龟的饲养方法（3号源第47期） - 天天要闻",
                Some("a"),
            ),
            ("巴西龟的饲养方法（5号源第12期）", Some("b")),
            // One start, several ends: the stretch shared with each differs.
            ("巴西龟的饲养方法", Some("a")),
            ("巴西龟的饲养方法（3号源第47期）", Some("a")),
            ("巴西龟的饲养方法（3号源第47期）|环球快资讯", Some("b")),
            ("今日热搜:巴西龟的饲养 - 天天要闻", Some("a")),
            ("巴西龟的饲养方法和注意事项大全|环球快资讯", Some("b")),
            ("【环球报资讯】巴西龟的饲养方法_当前独家", None),
            ("万科A：关于召开股东大会的通知", Some("a")),
            ("招商银行：关于召开股东大会的通知", Some("a")),
            ("〘24闻讯〙感谢有你一生珍惜", Some("a")),
            ("感谢有你一生珍惜 ‖ 临邑闻视", Some("b")),
            ("〘罗群计〙感谢有你一生珍惜", Some("a")),
            ("Exclusive: Fed holds rates steady | Reuters", None),
            ("Fed holds rates steady - BBC News", Some("b")),
            ("Apple: quarterly profit rises", None),
            ("Google: quarterly profit rises", None),
        ]
        .into_iter()
        .map(|(t, s)| (t.to_string(), s))
        .collect();
        let forms: Vec<Folded> = titles.iter().map(|(t, _)| verified_form(t)).collect();
        let kept: Vec<Sides> = titles.iter().map(|_| Sides::default()).collect();
        let (mut same, mut pairs) = (0, 0);
        // Every ordered pair twice over, so the second round reads only kept sides.
        for round in 0..2 {
            for i in 0..titles.len() {
                for j in 0..titles.len() {
                    let (a, b) = ((&forms[i], titles[i].1), (&forms[j], titles[j].1));
                    let fresh = same_story_folded(&l, a, b);
                    let memo = same_story_sides(&l, (a.0, a.1, &kept[i]), (b.0, b.1, &kept[j]));
                    assert_eq!(
                        memo, fresh,
                        "round {round}: {} ~ {}",
                        titles[i].0, titles[j].0
                    );
                    pairs += 1;
                    same += usize::from(fresh && i != j);
                }
            }
        }
        assert!(
            same > 0 && same < pairs / 2,
            "{same} of {pairs}: both verdicts occur"
        );
    }

    #[test]
    fn decorated_copies_share_their_bands() {
        let a = signature("焦点动态!女子提分手被17岁男友掐死_当前动态");
        let b = signature("最新简讯：女子提分手被17岁男友掐死|天天动态");
        assert_eq!(a.len(), INDEX_KEYS);
        assert_eq!(a[..TRIM_KEY], b[..TRIM_KEY]);
        // Unknown packaging at both ends: the segment-aligned keys still meet.
        let x = signature("白塔焦网 ￤ 女子提分手被17岁男友掐死");
        let y = signature("女子提分手被17岁男友掐死〘7网点〙");
        assert!(x[TRIM_KEY..]
            .iter()
            .any(|h| *h != 0 && y[TRIM_KEY..].contains(h)));
        let c = signature("信用卡逾期了怎么办？银行这样说");
        assert!(a.iter().zip(&c).all(|(x, y)| x != y || *x == 0));
        assert!(signature("").is_empty());
    }

    #[test]
    fn look_alikes_share_bands_but_never_the_core_key() {
        let t = |n: usize| format!("重庆市渝北区召开第{n}次党政联席会议部署防汛抗旱和安全生产工作");
        let a = signature(&t(15));
        let twin = signature(&format!("【环球报资讯】{}", t(15)));
        assert_eq!(a[CORE_KEY], twin[CORE_KEY]);
        let mut shared_bands = 0;
        for n in 16..60 {
            let b = signature(&t(n));
            shared_bands += (0..BANDS).filter(|i| a[*i] == b[*i]).count();
            assert_ne!(a[CORE_KEY], b[CORE_KEY], "{n}");
        }
        assert!(shared_bands > 100, "{shared_bands}");
    }

    /// A learner that followed two farms: `a` puts `〘…〙` before its stories, `b` puts
    /// `… ‖ …` after them, each with two recurring words.
    fn two_farms() -> Learner {
        let stories = &learn::FARM_STORIES[..10];
        let l = Learner::new();
        let a: Vec<String> = stories
            .iter()
            .enumerate()
            .map(|(i, s)| format!("〘{}〙{s}", ["白塔焦网", "甲乙丙"][i % 2]))
            .collect();
        let b: Vec<String> = stories
            .iter()
            .enumerate()
            .map(|(i, s)| format!("{s} ‖ {}", ["青阳观网", "丁戊己"][i % 2]))
            .collect();
        l.learn("a", a.iter().map(String::as_str));
        l.learn("b", b.iter().map(String::as_str));
        l
    }

    #[test]
    fn segments_seen_once_in_a_farms_habitual_place_are_packaging() {
        let l = two_farms();
        // A short story: beside it, no shape is enough.
        let story = "感谢有你一生珍惜";
        let a = format!("〘24闻讯〙{story}");
        let b = format!("{story} ‖ 临邑闻视");
        let c = format!("｢讯与千刊播｣{story}");
        assert!(same_story_with(&l, (&a, Some("a")), (&b, Some("b"))));
        assert!(!same_story_with(
            &Learner::new(),
            (&a, Some("a")),
            (&b, Some("b"))
        ));
        // One farm's habit says nothing of another farm's titles.
        assert!(!same_story_with(&l, (&a, Some("b")), (&c, Some("b"))));
        // Two unknowns in a farm's slot at the same end: two subjects are still possible.
        assert!(!same_story_with(
            &l,
            (&a, Some("a")),
            (&format!("〘罗群计〙{story}"), Some("a"))
        ));
    }

    #[test]
    fn a_short_story_is_keyed_without_its_learned_packaging() {
        let l = two_farms();
        let f = Folded::new("〘白塔焦网〙感谢有你");
        let bare = trims("感谢有你");
        assert!(
            !trims_folded(&f, &[])
                .iter()
                .any(|k| *k != 0 && bare.contains(k)),
            "cold: the story is not most of the title"
        );
        let cuts = packaging_cuts(&l, &f, Some("a"));
        assert!(trims_folded(&f, &cuts)
            .iter()
            .any(|k| *k != 0 && bare.contains(k)));
    }

    #[test]
    fn a_capitalised_unit_after_a_comma_is_the_sentence_not_a_masthead() {
        assert!(!same_story(
            "Sandberg: US Stocks Fall, Cisco Leads Techs Lower",
            "Tammy Helping Jacobs _ US Stocks Fall, Cisco Airways Techs Lower"
        ));
        assert!(same_story(
            "Exclusive: Fed holds rates steady | Reuters",
            "Fed holds rates steady - BBC News"
        ));
    }

    #[test]
    fn an_unknown_latin_label_only_finds_it_never_decides() {
        let a = signature("Explained: PeopleSoft plays defense");
        let b = signature("PeopleSoft plays defense - Yahoo Finance");
        assert_eq!(a[CORE_KEY], b[CORE_KEY]);
        assert!(same_story(
            "Explained: PeopleSoft plays defense",
            "PeopleSoft plays defense - Yahoo Finance"
        ));
        // Two subjects of one template meet as candidates, and are told apart.
        let x = signature("Apple: quarterly profit rises on strong sales");
        let y = signature("Google: quarterly profit rises on strong sales");
        assert_eq!(x[CORE_KEY], y[CORE_KEY]);
        assert!(!same_story(
            "Apple: quarterly profit rises on strong sales",
            "Google: quarterly profit rises on strong sales"
        ));
        assert_ne!(
            index_core("Apple: quarterly profit rises on strong sales"),
            index_core("Google: quarterly profit rises on strong sales")
        );
    }

    #[test]
    fn old_signatures_are_completed_once() {
        let title = "巴西龟的饲养方法|环球快资讯";
        let full = signature(title);
        let old = &full[..BANDS];
        assert_eq!(complete_signature(old, title), Some(full.clone()));
        assert_eq!(
            complete_signature(&full[..CORE_KEY + 1], title),
            Some(full.clone())
        );
        assert_eq!(complete_signature(&full, title), None);
        assert_eq!(complete_signature(&[], title), None);
    }
}
