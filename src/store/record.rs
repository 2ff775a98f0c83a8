//! How an item's record is written: a version byte, then a compact binary encoding.
//!
//! Takes: a [`StoredItem`]. Gives: its record bytes ([`encode_item`]), the item back from them
//! ([`decode_item`], or [`decode_item_into`] an item whose buffers are reused), and just what
//! near-duplicate verification reads ([`title_and_core`]).
//!
//! Guarantees:
//! - **Versioned.** A record starts with its version byte: [`BINARY_V2`] ([`encode_compact`],
//!   what sled writes) or [`BINARY_V1`] ([`encode_item`], what PostgreSQL writes). Records of
//!   every earlier version are still read (JSON, which always starts with `{`, then V1), so a
//!   store never needs rewriting before it can be read. Any other first byte is a clear
//!   [`StoreError::Corrupt`].
//! - **Compact (V2): what can be derived is not stored twice**, and every shortcut is exact —
//!   the encoder checks it holds and otherwise writes the text:
//!   - lowercase hex (story keys, content digests) as the bytes it spells, half the size;
//!   - the cleaned title as a span of the title when it is one (stripping decorations leaves a
//!     span);
//!   - a guid equal to the link as a one-byte mark (most RSS items);
//!   - the entry's feed id as a mark when it is the source's;
//!   - the near-duplicate index keys as eight bytes each instead of up to ten;
//!   - the source (feed id, title, URL) as its number in the store's [`Sources`], which a
//!     reader of compact records is given.
//!
//!   A farm record shrinks from 741 to about 550 bytes (`docs/STORAGE.md`).
//! - **Exact.** Every field round-trips, times to the nanosecond (a property test checks it
//!   against the JSON encoding on random items).
//! - **No JSON on the hot path.** [`postcard`](https://docs.rs/postcard) (a maintained serde
//!   format: varints, no field names): a farm item's record is 40% smaller than its JSON and
//!   decodes in a third of the time (`docs/STORAGE.md`).
//! - **The fields verification reads come first**, so [`title_and_core`] decodes a prefix and
//!   stops.
//!
//! Both backends store these bytes (sled's `items` tree, PostgreSQL's `record` column). What
//! other records hold (feed states, copies, corrections) stays JSON: they are small, rare on
//! the hot path, and read by people debugging a store.

use super::sources::Sources;
use super::{StoreError, TitleOf};
use crate::model::{push_hex, Category, Classification, Item, SourceRef, StoredItem};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;

/// First byte of a binary record, version 1: every field as it is ([`encode_item`]).
pub const BINARY_V1: u8 = 1;

/// First byte of a binary record, version 2: derivable fields as marks and spans
/// ([`encode_compact`]).
pub const BINARY_V2: u8 = 2;

/// A time as seconds and nanoseconds since the epoch (exact, and a few bytes as varints).
type Time = (i64, u32);

fn time_of(t: &DateTime<Utc>) -> Time {
    (t.timestamp(), t.timestamp_subsec_nanos())
}

fn time_back(key: &str, (secs, nanos): Time) -> Result<DateTime<Utc>, StoreError> {
    DateTime::from_timestamp(secs, nanos).ok_or_else(|| StoreError::Corrupt {
        key: key.to_string(),
        message: format!("time {secs}.{nanos:09} out of range"),
    })
}

/// The record, field by field, in the order written: what [`title_and_core`] reads first.
/// Borrowed from the item when written (no copy of its text); read as a [`View`].
#[derive(Serialize)]
struct Record<'a> {
    core: Cow<'a, str>,
    source: Cow<'a, SourceRef>,
    item: ItemRecord<'a>,
    key: Cow<'a, str>,
    seq: u64,
    first_seen: Time,
    changed: Option<Time>,
    digest: Cow<'a, str>,
    clean_title: Cow<'a, str>,
    class: ClassRecord<'a>,
    link_alias: Option<Cow<'a, str>>,
    near: Cow<'a, [u64]>,
}

/// [`Item`] with its times as [`Time`]s; `feed_id`, `guid` and `title` first.
#[derive(Serialize)]
struct ItemRecord<'a> {
    feed_id: Cow<'a, str>,
    guid: Option<Cow<'a, str>>,
    entry: Entry<'a>,
}

/// An entry's fields after its feed id and guid, the same in every binary version. (postcard
/// writes a nested struct as its fields in order, so nesting adds no byte.)
#[derive(Serialize)]
struct Entry<'a> {
    title: &'a str,
    link: Option<&'a str>,
    summary: Option<&'a str>,
    content: Option<&'a str>,
    published: Option<Time>,
    updated: Option<Time>,
    authors: &'a [String],
    tags: &'a [String],
    language: Option<&'a str>,
}

impl<'a> Entry<'a> {
    fn of(i: &'a Item) -> Entry<'a> {
        Entry {
            title: &i.title,
            link: i.link.as_deref(),
            summary: i.summary.as_deref(),
            content: i.content.as_deref(),
            published: i.published.as_ref().map(time_of),
            updated: i.updated.as_ref().map(time_of),
            authors: &i.authors,
            tags: &i.tags,
            language: i.language.as_deref(),
        }
    }
}

/// [`Entry`] as read.
#[derive(Deserialize)]
struct EntryView<'a> {
    title: &'a str,
    link: Option<&'a str>,
    summary: Option<&'a str>,
    content: Option<&'a str>,
    published: Option<Time>,
    updated: Option<Time>,
    #[serde(borrow)]
    authors: Vec<&'a str>,
    #[serde(borrow)]
    tags: Vec<&'a str>,
    language: Option<&'a str>,
}

impl EntryView<'_> {
    /// Overwrites these fields of `o`.
    fn write_into(&self, key: &str, o: &mut Item) -> Result<(), StoreError> {
        let time = |t: Option<Time>| t.map(|t| time_back(key, t)).transpose();
        set(&mut o.title, self.title);
        set_opt(&mut o.link, self.link);
        set_opt(&mut o.summary, self.summary);
        set_opt(&mut o.content, self.content);
        o.published = time(self.published)?;
        o.updated = time(self.updated)?;
        set_all(&mut o.authors, &self.authors);
        set_all(&mut o.tags, &self.tags);
        set_opt(&mut o.language, self.language);
        Ok(())
    }
}

/// A [`Classification`], the same in every binary version (nested: no byte added).
#[derive(Serialize)]
struct ClassRecord<'a> {
    category: Category,
    confidence: f32,
    runner_up: Option<Category>,
    regions: &'a [u64],
}

impl<'a> ClassRecord<'a> {
    fn of(c: &'a Classification) -> ClassRecord<'a> {
        ClassRecord {
            category: c.category,
            confidence: c.confidence,
            runner_up: c.runner_up,
            regions: &c.regions,
        }
    }
}

/// [`ClassRecord`] as read.
#[derive(Deserialize)]
struct ClassView {
    category: Category,
    confidence: f32,
    runner_up: Option<Category>,
    regions: Vec<u64>,
}

impl From<ClassView> for Classification {
    fn from(c: ClassView) -> Classification {
        Classification {
            category: c.category,
            confidence: c.confidence,
            runner_up: c.runner_up,
            regions: c.regions,
        }
    }
}

/// A borrowed optional string, as the record holds it.
fn opt(s: &Option<String>) -> Option<Cow<'_, str>> {
    s.as_deref().map(Cow::Borrowed)
}

/// What [`title_and_core`] decodes: the record's first fields.
#[derive(Deserialize)]
struct Prefix {
    core: String,
    source: SourceRef,
    feed_id: String,
    guid: Option<String>,
    title: String,
}

/// The record of `item` ([`BINARY_V1`], then the fields). Its copies (`also_at`) are not part
/// of it: the store keeps them apart.
pub fn encode_item(item: &StoredItem) -> Result<Vec<u8>, StoreError> {
    let i = &item.item;
    let record = Record {
        core: Cow::Borrowed(&item.core),
        source: Cow::Borrowed(&item.source),
        item: ItemRecord {
            feed_id: Cow::Borrowed(&i.feed_id),
            guid: opt(&i.guid),
            entry: Entry::of(i),
        },
        key: Cow::Borrowed(&item.key),
        seq: item.seq,
        first_seen: time_of(&item.first_seen),
        changed: item.changed.as_ref().map(time_of),
        digest: Cow::Borrowed(&item.digest),
        clean_title: Cow::Borrowed(&item.clean_title),
        class: ClassRecord::of(&item.class),
        link_alias: opt(&item.link_alias),
        near: Cow::Borrowed(&item.near),
    };
    let out = vec![BINARY_V1];
    postcard::to_extend(&record, out).map_err(|e| StoreError::Corrupt {
        key: item.key.clone(),
        message: format!("cannot encode: {e}"),
    })
}

/// The record of `item` in [`BINARY_V2`]: version 1's fields, with what can be derived from
/// the others written as marks and spans (the module's guarantees). Its copies are not part of
/// it.
pub fn encode_compact(item: &StoredItem, source: u32) -> Result<Vec<u8>, StoreError> {
    let i = &item.item;
    let record = RecordV2 {
        key: Hex::of(&item.key),
        near: FixedKeys(&item.near),
        core: &item.core,
        source,
        item: ItemV2 {
            feed_id: (i.feed_id != item.source.feed_id).then_some(i.feed_id.as_str()),
            guid: Guid::of(i.guid.as_deref(), i.link.as_deref()),
            entry: Entry::of(i),
        },
        seq: item.seq,
        first_seen: time_of(&item.first_seen),
        changed: item.changed.as_ref().map(time_of),
        digest: Hex::of(&item.digest),
        clean_title: Within::of(&item.clean_title, &i.title),
        class: ClassRecord::of(&item.class),
        link_alias: item.link_alias.as_deref(),
    };
    let mut out = Vec::with_capacity(640);
    out.push(BINARY_V2);
    postcard::to_extend(&record, out).map_err(|e| StoreError::Corrupt {
        key: item.key.clone(),
        message: format!("cannot encode: {e}"),
    })
}

/// [`BINARY_V2`]'s record as written; [`ViewV2`] as read. The key and the index keys come
/// first, for the near-duplicate index built at open ([`key_and_near`]); then what
/// [`title_and_core`] reads.
#[derive(Serialize)]
struct RecordV2<'a> {
    key: Hex<'a>,
    near: FixedKeys<'a>,
    core: &'a str,
    /// The source's number in the store's [`Sources`].
    source: u32,
    item: ItemV2<'a>,
    seq: u64,
    first_seen: Time,
    changed: Option<Time>,
    digest: Hex<'a>,
    clean_title: Within<'a>,
    class: ClassRecord<'a>,
    link_alias: Option<&'a str>,
}

/// [`Item`] in [`BINARY_V2`]: `feed_id` only when it is not the source's, the guid as a mark
/// when it is the link.
#[derive(Serialize)]
struct ItemV2<'a> {
    feed_id: Option<&'a str>,
    guid: Guid<'a>,
    entry: Entry<'a>,
}

/// Text that is usually lowercase hex of a known length (story keys: 32 digits, content
/// digests: 24): then the bytes it spells, else the text itself. Only lowercase digits
/// qualify, so the text written back is exactly the text read.
#[derive(Serialize, Deserialize)]
enum Hex<'a> {
    Key([u8; 16]),
    Digest([u8; 12]),
    Text(&'a str),
}

impl<'a> Hex<'a> {
    fn of(s: &'a str) -> Hex<'a> {
        if let Some(b) = unhex::<16>(s) {
            Hex::Key(b)
        } else if let Some(b) = unhex::<12>(s) {
            Hex::Digest(b)
        } else {
            Hex::Text(s)
        }
    }

    /// `out` becomes the text, in the buffer it already has.
    fn write_to(&self, out: &mut String) {
        out.clear();
        match self {
            Hex::Key(b) => push_hex(out, b),
            Hex::Digest(b) => push_hex(out, b),
            Hex::Text(t) => out.push_str(t),
        }
    }
}

/// The bytes `s` spells when it is exactly `2 × N` lowercase hex digits.
fn unhex<const N: usize>(s: &str) -> Option<[u8; N]> {
    fn digit(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            _ => None,
        }
    }
    let s = s.as_bytes();
    if s.len() != 2 * N {
        return None;
    }
    let mut out = [0u8; N];
    for (o, pair) in out.iter_mut().zip(s.chunks_exact(2)) {
        *o = (digit(pair[0])? << 4) | digit(pair[1])?;
    }
    Some(out)
}

/// A text that is usually a span of another (the cleaned title, of the title): its byte
/// offset and length then, else the text itself.
#[derive(Serialize, Deserialize)]
enum Within<'a> {
    Span(u32, u32),
    Text(&'a str),
}

impl<'a> Within<'a> {
    fn of(part: &'a str, whole: &str) -> Within<'a> {
        let span = whole
            .find(part)
            .and_then(|at| Some((u32::try_from(at).ok()?, u32::try_from(part.len()).ok()?)));
        match span {
            Some((at, len)) => Within::Span(at, len),
            None => Within::Text(part),
        }
    }

    /// The text, out of `whole` when it is a span of it.
    fn resolve(&self, whole: &'a str, key: &str) -> Result<&'a str, StoreError> {
        match *self {
            Within::Text(t) => Ok(t),
            Within::Span(at, len) => {
                let (at, len) = (at as usize, len as usize);
                whole
                    .get(at..at.saturating_add(len))
                    .ok_or_else(|| StoreError::Corrupt {
                        key: key.to_string(),
                        message: format!("span {at}+{len} is not within the title"),
                    })
            }
        }
    }
}

/// An entry's guid: none, the same text as its link (most RSS items), or its own text.
#[derive(Serialize, Deserialize)]
enum Guid<'a> {
    None,
    Link,
    Text(&'a str),
}

impl<'a> Guid<'a> {
    fn of(guid: Option<&'a str>, link: Option<&str>) -> Guid<'a> {
        match guid {
            None => Guid::None,
            Some(g) if Some(g) == link => Guid::Link,
            Some(g) => Guid::Text(g),
        }
    }

    /// The guid, given the entry's link.
    fn resolve(&self, link: Option<&'a str>, key: &str) -> Result<Option<&'a str>, StoreError> {
        match *self {
            Guid::None => Ok(None),
            Guid::Text(g) => Ok(Some(g)),
            Guid::Link => link.map(Some).ok_or_else(|| StoreError::Corrupt {
                key: key.to_string(),
                message: "the guid is marked as the link, but there is no link".into(),
            }),
        }
    }
}

/// Near-duplicate index keys as eight big-endian bytes each: they are hashes, which postcard's
/// varints spend up to ten bytes on.
struct FixedKeys<'a>(&'a [u64]);

impl Serialize for FixedKeys<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let bytes: Vec<u8> = self.0.iter().flat_map(|h| h.to_be_bytes()).collect();
        s.serialize_bytes(&bytes)
    }
}

/// [`RecordV2`] as read: text borrowed from the record's bytes.
#[derive(Deserialize)]
struct ViewV2<'a> {
    #[serde(borrow)]
    key: Hex<'a>,
    near: &'a [u8],
    core: &'a str,
    source: u32,
    #[serde(borrow)]
    item: ItemViewV2<'a>,
    seq: u64,
    first_seen: Time,
    changed: Option<Time>,
    #[serde(borrow)]
    digest: Hex<'a>,
    #[serde(borrow)]
    clean_title: Within<'a>,
    class: ClassView,
    link_alias: Option<&'a str>,
}

/// [`ItemV2`] as read.
#[derive(Deserialize)]
struct ItemViewV2<'a> {
    feed_id: Option<&'a str>,
    #[serde(borrow)]
    guid: Guid<'a>,
    #[serde(borrow)]
    entry: EntryView<'a>,
}

/// What [`title_and_core`] decodes of a [`BINARY_V2`] record: its first fields.
#[derive(Deserialize)]
struct PrefixV2<'a> {
    #[serde(borrow)]
    key: Hex<'a>,
    near: &'a [u8],
    core: &'a str,
    source: u32,
    feed_id: Option<&'a str>,
    #[serde(borrow)]
    guid: Guid<'a>,
    title: &'a str,
}

impl ViewV2<'_> {
    /// Overwrites every field of `out` with this record's, its source from `sources`.
    fn write_into(
        self,
        key: &str,
        sources: &Sources,
        out: &mut StoredItem,
    ) -> Result<(), StoreError> {
        fixed_keys_into(key, self.near, &mut out.near)?;
        sources.fill(key, self.source, &mut out.source)?;
        let time = |t: Option<Time>| t.map(|t| time_back(key, t)).transpose();
        let (i, o) = (self.item, &mut out.item);
        set(&mut o.feed_id, i.feed_id.unwrap_or(&out.source.feed_id));
        set_opt(&mut o.guid, i.guid.resolve(i.entry.link, key)?);
        i.entry.write_into(key, o)?;
        self.key.write_to(&mut out.key);
        out.seq = self.seq;
        out.first_seen = time_back(key, self.first_seen)?;
        out.changed = time(self.changed)?;
        self.digest.write_to(&mut out.digest);
        set(
            &mut out.clean_title,
            self.clean_title.resolve(i.entry.title, key)?,
        );
        set(&mut out.core, self.core);
        out.class = self.class.into();
        out.also_at.clear();
        set_opt(&mut out.link_alias, self.link_alias);
        Ok(())
    }
}

/// `out` becomes the index keys [`FixedKeys`] wrote.
fn fixed_keys_into(key: &str, bytes: &[u8], out: &mut Vec<u64>) -> Result<(), StoreError> {
    if bytes.len() % 8 != 0 {
        return Err(StoreError::Corrupt {
            key: key.to_string(),
            message: format!("{} bytes of index keys, not a multiple of 8", bytes.len()),
        });
    }
    out.clear();
    out.extend(bytes.chunks_exact(8).map(|c| {
        let mut b = [0u8; 8];
        b.copy_from_slice(c);
        u64::from_be_bytes(b)
    }));
    Ok(())
}

/// The first two fields of a [`BINARY_V2`] record.
#[derive(Deserialize)]
struct Head<'a> {
    #[serde(borrow)]
    key: Hex<'a>,
    near: &'a [u8],
}

/// What the in-memory near-duplicate index is built from: the story's key and its index keys,
/// into `key` and `near`. A compact record gives them from its first two fields without
/// decoding the rest; an older record is decoded whole. `what` names the record in errors.
pub fn key_and_near(
    what: &str,
    bytes: &[u8],
    key: &mut String,
    near: &mut Vec<u64>,
) -> Result<(), StoreError> {
    if bytes.first() == Some(&BINARY_V2) {
        let (head, _rest): (Head, _) =
            postcard::take_from_bytes(&bytes[1..]).map_err(|e| corrupt(what, e))?;
        head.key.write_to(key);
        return fixed_keys_into(what, head.near, near);
    }
    let item = decode_item(what, bytes, &Sources::default())?;
    *key = item.key;
    *near = item.near;
    Ok(())
}

/// The item a record holds, binary or (written before it) JSON.
pub fn decode_item(key: &str, bytes: &[u8], sources: &Sources) -> Result<StoredItem, StoreError> {
    let mut item = blank();
    decode_item_into(key, bytes, sources, &mut item)?;
    Ok(item)
}

/// [`decode_item`] into an item already there, reusing its strings' buffers: a reader that
/// goes through many records one at a time (paging) allocates almost nothing per record.
/// Every field is overwritten; the copies (`also_at`), which the record does not hold, are
/// emptied.
pub fn decode_item_into(
    key: &str,
    bytes: &[u8],
    sources: &Sources,
    out: &mut StoredItem,
) -> Result<(), StoreError> {
    match bytes.first() {
        Some(&BINARY_V2) => {
            let r: ViewV2 = postcard::from_bytes(&bytes[1..]).map_err(|e| corrupt(key, e))?;
            r.write_into(key, sources, out)
        }
        Some(&BINARY_V1) => {
            let r: View = postcard::from_bytes(&bytes[1..]).map_err(|e| corrupt(key, e))?;
            r.write_into(key, out)
        }
        Some(b'{') => {
            *out = super::decode(key, bytes)?;
            Ok(())
        }
        Some(b) => Err(StoreError::Corrupt {
            key: key.to_string(),
            message: format!("unknown record format {b:#04x}"),
        }),
        None => Err(StoreError::Corrupt {
            key: key.to_string(),
            message: "empty record".into(),
        }),
    }
}

/// [`Record`] as read: its text borrowed from the record's bytes, field for field in the
/// order written (postcard is positional, so the two must not drift apart: the round-trip
/// property test below holds them together).
#[derive(Deserialize)]
struct View<'a> {
    core: &'a str,
    #[serde(borrow)]
    source: SourceView<'a>,
    #[serde(borrow)]
    item: ItemView<'a>,
    key: &'a str,
    seq: u64,
    first_seen: Time,
    changed: Option<Time>,
    digest: &'a str,
    clean_title: &'a str,
    class: ClassView,
    link_alias: Option<&'a str>,
    near: Vec<u64>,
}

/// [`SourceRef`] as read.
#[derive(Deserialize)]
struct SourceView<'a> {
    feed_id: &'a str,
    title: &'a str,
    url: &'a str,
}

/// [`ItemRecord`] as read.
#[derive(Deserialize)]
struct ItemView<'a> {
    feed_id: &'a str,
    guid: Option<&'a str>,
    #[serde(borrow)]
    entry: EntryView<'a>,
}

impl View<'_> {
    /// Overwrites every field of `out` with this record's.
    fn write_into(self, key: &str, out: &mut StoredItem) -> Result<(), StoreError> {
        let time = |t: Option<Time>| t.map(|t| time_back(key, t)).transpose();
        let (i, o) = (self.item, &mut out.item);
        set(&mut o.feed_id, i.feed_id);
        set_opt(&mut o.guid, i.guid);
        i.entry.write_into(key, o)?;
        set(&mut out.key, self.key);
        out.seq = self.seq;
        out.first_seen = time_back(key, self.first_seen)?;
        out.changed = time(self.changed)?;
        set(&mut out.digest, self.digest);
        set(&mut out.source.feed_id, self.source.feed_id);
        set(&mut out.source.title, self.source.title);
        set(&mut out.source.url, self.source.url);
        set(&mut out.clean_title, self.clean_title);
        set(&mut out.core, self.core);
        out.class = self.class.into();
        out.also_at.clear();
        set_opt(&mut out.link_alias, self.link_alias);
        out.near = self.near;
        Ok(())
    }
}

/// An item with every field empty, for [`decode_item_into`] to fill.
fn blank() -> StoredItem {
    StoredItem {
        key: String::new(),
        seq: 0,
        first_seen: DateTime::UNIX_EPOCH,
        changed: None,
        digest: String::new(),
        source: SourceRef {
            feed_id: String::new(),
            title: String::new(),
            url: String::new(),
        },
        item: Item::titled("", ""),
        clean_title: String::new(),
        core: String::new(),
        class: Classification {
            category: Category::Other,
            confidence: 0.0,
            runner_up: None,
            regions: Vec::new(),
        },
        also_at: Vec::new(),
        link_alias: None,
        near: Vec::new(),
    }
}

/// `s` becomes `v`, in the buffer `s` already has when it is large enough.
fn set(s: &mut String, v: &str) {
    s.clear();
    s.push_str(v);
}

/// [`set`] for an optional string.
fn set_opt(s: &mut Option<String>, v: Option<&str>) {
    match (s.as_mut(), v) {
        (Some(s), Some(v)) => set(s, v),
        (None, Some(v)) => *s = Some(v.to_string()),
        (_, None) => *s = None,
    }
}

/// [`set`] for a list of strings.
fn set_all(dst: &mut Vec<String>, src: &[&str]) {
    dst.truncate(src.len());
    for (i, v) in src.iter().enumerate() {
        match dst.get_mut(i) {
            Some(d) => set(d, v),
            None => dst.push((*v).to_string()),
        }
    }
}

fn corrupt(key: &str, e: postcard::Error) -> StoreError {
    StoreError::Corrupt {
        key: key.to_string(),
        message: e.to_string(),
    }
}

/// Just the [`TitleOf`] fields of an item record: near-duplicate verification reads many
/// candidates and needs nothing else, so the rest of the record is not decoded.
pub fn title_and_core(key: &str, bytes: &[u8], sources: &Sources) -> Result<TitleOf, StoreError> {
    if bytes.first() == Some(&BINARY_V2) {
        let (p, _rest): (PrefixV2, _) =
            postcard::take_from_bytes(&bytes[1..]).map_err(|e| corrupt(key, e))?;
        let _ = (p.key, p.near, p.feed_id, p.guid);
        return Ok(TitleOf {
            title: p.title.to_string(),
            core: p.core.to_string(),
            feed_id: sources.feed_id(key, p.source)?,
        });
    }
    if bytes.first() == Some(&BINARY_V1) {
        let (p, _rest): (Prefix, _) =
            postcard::take_from_bytes(&bytes[1..]).map_err(|e| corrupt(key, e))?;
        let _ = (p.feed_id, p.guid);
        return Ok(TitleOf {
            title: p.title,
            core: p.core,
            feed_id: p.source.feed_id,
        });
    }
    #[derive(serde::Deserialize)]
    struct Only {
        item: OnlyTitle,
        #[serde(default)]
        core: String,
        source: OnlySource,
    }
    #[derive(serde::Deserialize)]
    struct OnlyTitle {
        title: String,
    }
    #[derive(serde::Deserialize)]
    struct OnlySource {
        feed_id: String,
    }
    let o: Only = super::decode(key, bytes)?;
    Ok(TitleOf {
        title: o.item.title,
        core: o.core,
        feed_id: o.source.feed_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn time() -> impl Strategy<Value = DateTime<Utc>> {
        (-2_000_000_000i64..4_000_000_000, 0u32..1_000_000_000)
            .prop_map(|(s, n)| DateTime::from_timestamp(s, n).unwrap())
    }

    fn text() -> impl Strategy<Value = String> {
        "[a-z0-9 <>&\"{}\u{4e00}-\u{4e20}\u{3000}-\u{3010}]{0,40}"
    }

    fn category() -> impl Strategy<Value = Category> {
        (0usize..4).prop_map(|i| Category::ALL[i])
    }

    prop_compose! {
        fn stored()(
            key in prop_oneof!["[0-9a-f]{32}", "[0-9A-F]{32}", text()],
            seq in any::<u64>(), first_seen in time(),
            changed in proptest::option::of(time()),
            digest in prop_oneof!["[0-9a-f]{24}", "[0-9a-f]{32}", text()],
            feed in text(), other_feed in proptest::option::of(text()),
            source_title in text(), url in text(),
            guid in proptest::option::of(text()), guid_is_link in any::<bool>(), title in text(),
            link in proptest::option::of(text()), summary in proptest::option::of(text()),
            content in proptest::option::of(text()),
            published in proptest::option::of(time()), updated in proptest::option::of(time()),
            authors in proptest::collection::vec(text(), 0..3),
            tags in proptest::collection::vec(text(), 0..3),
            language in proptest::option::of(text()),
            clean_title in text(), clean_span in proptest::option::of((0usize..45, 0usize..45)),
            core in text(),
            category in category(), confidence in 0f32..1.0,
            runner_up in proptest::option::of(category()),
            regions in proptest::collection::vec(any::<u64>(), 0..4),
            link_alias in proptest::option::of(text()),
            near in proptest::collection::vec(any::<u64>(), 0..12),
        ) -> StoredItem {
            // The shapes the compact encoding shortens, as often as the ones it does not: a
            // guid that is the link, a cleaned title that is a span of the title.
            let guid = if guid_is_link && link.is_some() { link.clone() } else { guid };
            let clean_title = match clean_span {
                Some((a, b)) => {
                    let chars: Vec<char> = title.chars().collect();
                    let (a, b) = (a.min(b).min(chars.len()), a.max(b).min(chars.len()));
                    chars[a..b].iter().collect()
                }
                None => clean_title,
            };
            StoredItem {
                key, seq, first_seen, changed, digest,
                source: SourceRef { feed_id: feed.clone(), title: source_title, url },
                item: Item {
                    feed_id: other_feed.unwrap_or(feed), guid, title, link, summary, content,
                    published, updated, authors, tags, language,
                },
                clean_title, core,
                class: Classification { category, confidence, runner_up, regions },
                also_at: Vec::new(),
                link_alias, near,
            }
        }
    }

    proptest! {
        #[test]
        fn binary_records_round_trip_as_json_records_do(item in stored(), before in stored()) {
            let bytes = encode_item(&item).unwrap();
            prop_assert_eq!(bytes[0], BINARY_V1);
            prop_assert_eq!(&decode_item(&item.key, &bytes, &none()).unwrap(), &item);
            let json = super::super::encode(&item.key, &item).unwrap();
            prop_assert_eq!(&decode_item(&item.key, &json, &none()).unwrap(), &item);
            // Into an item that held another record (and copies): nothing of it is left.
            let mut reused = before;
            reused.also_at.push(crate::model::AlsoAt {
                source: reused.source.clone(),
                link: None,
                title: "copy".into(),
                key: None,
                seen: item.first_seen,
            });
            decode_item_into(&item.key, &bytes, &none(), &mut reused).unwrap();
            prop_assert_eq!(&reused, &item);
            let want = TitleOf {
                title: item.item.title.clone(),
                core: item.core.clone(),
                feed_id: item.source.feed_id.clone(),
            };
            prop_assert_eq!(&title_and_core(&item.key, &bytes, &none()).unwrap(), &want);
            prop_assert_eq!(&title_and_core(&item.key, &json, &none()).unwrap(), &want);
        }

        #[test]
        fn compact_records_round_trip_exactly(item in stored(), before in stored()) {
            // The store's sources hold others before this item's: its number is not 0.
            let src = Sources::of(vec![before.source.clone(), item.source.clone()]);
            let bytes = encode_compact(&item, 1).unwrap();
            prop_assert_eq!(bytes[0], BINARY_V2);
            prop_assert_eq!(&decode_item(&item.key, &bytes, &src).unwrap(), &item);
            let mut reused = before;
            decode_item_into(&item.key, &bytes, &src, &mut reused).unwrap();
            prop_assert_eq!(&reused, &item);
            let want = TitleOf {
                title: item.item.title.clone(),
                core: item.core.clone(),
                feed_id: item.source.feed_id.clone(),
            };
            prop_assert_eq!(&title_and_core(&item.key, &bytes, &src).unwrap(), &want);
            // Cut anywhere, a record is an error, never a panic or a wrong item.
            let cut = bytes.len() * 3 / 4;
            prop_assert!(decode_item(&item.key, &bytes[..cut], &src).is_err());
            // A number the store has no source for is an error naming the record.
            let e = decode_item("k9", &encode_compact(&item, 2).unwrap(), &src).unwrap_err();
            prop_assert!(e.to_string().contains("k9") && e.to_string().contains("source 2"));
        }
    }

    /// No sources: what version 1 and JSON records are read with.
    fn none() -> Sources {
        Sources::default()
    }

    /// The sources [`farm_item`]'s record names: its own, number 0.
    fn farm_sources() -> Sources {
        Sources::of(vec![farm_item().source])
    }

    /// A farm-like item: decorated title, guid = link, hex key and digest, eleven index keys.
    fn farm_item() -> StoredItem {
        let title = "【环球报资讯】北向资金增持3.54万股（0号源第49期）_当前独家";
        let link = "http://farm.example/0/story/49.html";
        let mut item = Item::titled("farm-0", title);
        item.guid = Some(link.into());
        item.link = Some(link.into());
        item.summary = Some("北向资金今日增持某公司股票，市场人士认为短期内仍有波动。".into());
        StoredItem {
            key: "9f86d081884c7d659a2feaa0c55ad015".into(),
            seq: 45_000,
            first_seen: DateTime::from_timestamp(1_764_000_000, 123).unwrap(),
            changed: None,
            digest: "a3f2b8c91d04e5f6a7b8c9d0".into(),
            source: SourceRef {
                feed_id: "farm-0".into(),
                title: "Farm 0".into(),
                url: "http://127.0.0.1:42031/feed/0.xml".into(),
            },
            item,
            clean_title: "北向资金增持3.54万股（0号源第49期）".into(),
            core: "北向资金增持354万股0号源第49期".into(),
            class: Classification {
                category: Category::Finance,
                confidence: 0.9,
                runner_up: None,
                regions: vec![],
            },
            also_at: vec![],
            link_alias: None,
            near: (1..=11u64)
                .map(|i| i.wrapping_mul(0x9e37_79b9_7f4a_7c15))
                .collect(),
        }
    }

    #[test]
    fn compact_records_write_derivable_fields_as_marks() {
        let item = farm_item();
        let (v1, v2) = (
            encode_item(&item).unwrap(),
            encode_compact(&item, 0).unwrap(),
        );
        // Saved: half the key (16) and the digest (12), the guid (35), the cleaned title
        // (52, less its span's 2–3), the entry's feed id (6) and 1–2 bytes per index key.
        // And the source (feed id, title and URL: 6 + 6 + 33, less the number's byte).
        let saved = 16 + 12 + 35 + 52 - 3 + 6 + 11 + 6 + 6 + 33 - 1;
        assert!(
            v2.len() + saved <= v1.len(),
            "V1 {} bytes, V2 {} bytes: expected at least {saved} fewer",
            v1.len(),
            v2.len()
        );
        // Each shortcut gives way to the text when it does not hold.
        let mut odd = item.clone();
        odd.key = odd.key.to_uppercase();
        odd.digest = "not hex".into();
        odd.clean_title = "not in the title".into();
        odd.item.guid = Some("urn:other".into());
        odd.item.feed_id = "farm-1".into();
        let v2_odd = encode_compact(&odd, 0).unwrap();
        assert!(v2_odd.len() > v2.len() + 16 + 16 + 9);
        assert_eq!(decode_item("k", &v2_odd, &farm_sources()).unwrap(), odd);
    }

    #[test]
    fn a_compact_record_that_contradicts_itself_is_an_error() {
        // A guid marked as the link where there is no link; a span beyond the title.
        let mut item = farm_item();
        item.item.link = None;
        item.item.guid = None;
        let mut bytes = encode_compact(&item, 0).unwrap();
        // The guid's mark comes just before the title and its one-byte length.
        let title = item.item.title.as_bytes();
        let title_at = bytes
            .windows(title.len())
            .position(|w| w == title)
            .expect("title");
        let guid_at = title_at - 3;
        assert_eq!(
            &bytes[guid_at..guid_at + 2],
            &[0, 0],
            "feed id mark, guid None"
        );
        bytes[guid_at + 1] = 1; // Guid::Link
        let e = decode_item("k2", &bytes, &farm_sources())
            .unwrap_err()
            .to_string();
        assert!(e.contains("k2") && e.contains("no link"), "{e}");

        let mut item = farm_item();
        item.item.title = "short".into();
        item.clean_title = "short".into();
        let bytes = encode_compact(&item, 0).unwrap();
        let span = [0u8, 0, 5]; // Within::Span(0, 5)
        let at = bytes.windows(3).rposition(|w| w == span).expect("span");
        let mut bad = bytes.clone();
        bad[at + 2] = 9;
        let e = decode_item("k3", &bad, &farm_sources())
            .unwrap_err()
            .to_string();
        assert!(e.contains("k3") && e.contains("not within"), "{e}");
    }

    #[test]
    fn a_damaged_record_is_an_error_naming_it_not_a_panic() {
        for bytes in [
            &b""[..],
            b"\x07abc",
            b"\x01\xff\xff",
            b"\x02\xff\xff",
            b"{not json",
        ] {
            let e = decode_item("k1", bytes, &farm_sources())
                .unwrap_err()
                .to_string();
            assert!(e.contains("k1"), "{e}");
            assert!(title_and_core("k1", bytes, &farm_sources()).is_err());
        }
    }
}
