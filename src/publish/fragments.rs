//! Rendered items, kept for the next page that shows them.
//!
//! Takes: a shared stored item (`Arc<StoredItem>`, from [`crate::store::Store::newest_first_paged`]),
//! what its rendering depends on besides the item ([`Context`]: the format, the output's name
//! and title, clean titles or not) and a way to render it. Gives: the item's text in the page
//! (an RSS `<item>`, an Atom `<entry>`, a JSON Feed item as it sits in the pretty-printed
//! `items` array), rendered once for as long as the item is unchanged.
//!
//! Guarantees:
//! - **Never stale.** An entry is used only for the very same `Arc` it was rendered from (the
//!   store hands out a new one whenever the item's bytes change: [`crate::store::decoded`]) and
//!   the same context, compared in full. The entry holds its `Arc`, so the address cannot be
//!   reused by another item while the entry lives.
//! - **The same bytes** as rendering the whole document at once: the page is the document's
//!   head and tail with these texts between them (tested against the one-piece rendering of
//!   every format).
//! - **Bounded** by the bytes held: each text with the text of the item it keeps alive
//!   (quick_cache, weighted).
//!
//! Only items someone else holds too are kept (the generator checks): an item only its page
//! holds, as PostgreSQL reads them afresh every time, could never be found again, and making
//! one item's text on its own costs more than rendering it with the rest of its page.
//!
//! Why: a filtered query that misses the page cache (`?max_age=` unique per request) used to
//! build and write every item of the page again; that was two fifths of its CPU
//! (docs/PERFORMANCE.md, "Session 11").

use super::Format;
use crate::model::StoredItem;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, LazyLock};

/// How many bytes of rendered items are kept, with the items they were rendered from.
pub const FRAGMENT_BYTES: u64 = 8 << 20;

/// What an item's rendering depends on besides the item.
pub struct Context {
    format: Format,
    clean_titles: bool,
    /// The output's name and title (ids and Atom's fallback author are made of them).
    output: Arc<str>,
    /// A hash of all of the above, in the cache key: two outputs showing one item keep an
    /// entry each instead of evicting each other's.
    hash: u64,
}

impl Context {
    /// The context of items rendered in `format` for the output `name` titled `title`.
    pub fn new(format: Format, name: &str, title: &str, clean_titles: bool) -> Context {
        let output: Arc<str> = format!("{name}\0{title}").into();
        let mut h = rustc_hash::FxHasher::default();
        (format, clean_titles, &*output).hash(&mut h);
        Context {
            format,
            clean_titles,
            output,
            hash: h.finish(),
        }
    }
}

#[derive(Clone, PartialEq, Eq, Hash)]
struct Key {
    seq: u64,
    context: u64,
}

/// An item's text in a page, and the XML namespaces it needs declared on the document's root
/// element (RSS: `rss` declares on its root the namespaces its items use).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Piece {
    /// The text, as it sits in the page.
    pub text: String,
    /// `(prefix, URI)` of each namespace it uses.
    pub namespaces: Vec<(String, String)>,
}

impl Piece {
    /// A text that needs no namespace declared.
    pub fn text(text: String) -> Piece {
        Piece {
            text,
            namespaces: Vec::new(),
        }
    }
}

struct Entry {
    item: Arc<StoredItem>,
    format: Format,
    clean_titles: bool,
    output: Arc<str>,
    piece: Arc<Piece>,
}

#[derive(Clone)]
struct ByLength;

impl quick_cache::Weighter<Key, Arc<Entry>> for ByLength {
    fn weight(&self, _key: &Key, e: &Arc<Entry>) -> u64 {
        // The text, and the item the entry keeps alive (counted even while the store's cache
        // holds it too: the bound is an upper one).
        (e.piece.text.len() + super::text_size(&e.item)) as u64
    }
}

/// Rendered items.
pub struct Fragments {
    cache: quick_cache::sync::Cache<Key, Arc<Entry>, ByLength>,
}

impl Fragments {
    /// A cache of at most about `bytes` bytes of text.
    pub fn new(bytes: u64) -> Fragments {
        let bytes = bytes.max(1);
        Fragments {
            cache: quick_cache::sync::Cache::with_weighter(
                (bytes / 2048).max(16) as usize,
                bytes,
                ByLength,
            ),
        }
    }

    /// The text of `item` in `context`: kept, or made by `render` and kept (`None` if `render`
    /// gives none).
    pub fn get_or_render(
        &self,
        context: &Context,
        item: &Arc<StoredItem>,
        render: impl FnOnce() -> Option<Piece>,
    ) -> Option<Arc<Piece>> {
        let key = Key {
            seq: item.seq,
            context: context.hash,
        };
        if let Some(e) = self.cache.get(&key) {
            if Arc::ptr_eq(&e.item, item)
                && e.format == context.format
                && e.clean_titles == context.clean_titles
                && e.output == context.output
            {
                return Some(Arc::clone(&e.piece));
            }
        }
        let piece = Arc::new(render()?);
        self.cache.insert(
            key,
            Arc::new(Entry {
                item: Arc::clone(item),
                format: context.format,
                clean_titles: context.clean_titles,
                output: Arc::clone(&context.output),
                piece: Arc::clone(&piece),
            }),
        );
        Some(piece)
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

/// The process's rendered items, shared by every output and request.
pub static FRAGMENTS: LazyLock<Fragments> = LazyLock::new(|| Fragments::new(FRAGMENT_BYTES));

/// `document` with `parts` inserted before the last `close` (the end tag items precede).
/// `None` when `close` is not in the document (never, for the documents rendered here).
pub fn splice_before_last(document: &str, close: &str, parts: &[Arc<Piece>]) -> Option<String> {
    let at = document.rfind(close)?;
    let mut out =
        String::with_capacity(document.len() + parts.iter().map(|p| p.text.len()).sum::<usize>());
    out.push_str(&document[..at]);
    for p in parts {
        out.push_str(&p.text);
    }
    out.push_str(&document[at..]);
    Some(out)
}

/// Cuts the item's text out of `with_one`, a document with one item: `empty` is the same
/// document with none, `open` the start of the element that holds the items (`<channel>`)
/// and `close` its end tag. Gives what comes before the holder (the XML declaration and the
/// root element, whose namespace declarations may differ from `empty`'s) and the item's text;
/// `None` if `with_one` is not `empty` with text inserted before the last `close`.
pub fn cut<'a>(
    empty: &str,
    open: &str,
    close: &str,
    with_one: &'a str,
) -> Option<(&'a str, &'a str)> {
    let start = empty.find(open)?;
    let end = empty.rfind(close)?;
    // The holder's start tag and its (empty) children: the same in both documents.
    let holder = empty.get(start..end)?;
    let at = with_one.find(holder)?;
    let from = at + holder.len();
    let to = with_one.rfind(close)?;
    (from <= to && with_one[to..] == empty[end..]).then(|| (&with_one[..at], &with_one[from..to]))
}

/// The namespace declarations (`xmlns:prefix="URI"`, unescaped) on the root element in
/// `head` (an XML declaration and a start tag).
pub fn declared_namespaces(head: &str) -> Vec<(String, String)> {
    let mut reader = quick_xml::Reader::from_str(head);
    loop {
        match reader.read_event() {
            Ok(quick_xml::events::Event::Start(e)) => {
                return e
                    .attributes()
                    .flatten()
                    .filter_map(|a| {
                        let key: &str = a.key.as_ref();
                        let prefix = key.strip_prefix("xmlns:")?.to_string();
                        let value = a.normalized_value(quick_xml::XmlVersion::Implicit1_0);
                        Some((prefix, value.ok()?.into_owned()))
                    })
                    .collect();
            }
            Ok(quick_xml::events::Event::Eof) | Err(_) => return Vec::new(),
            Ok(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(seq: u64) -> Arc<StoredItem> {
        let mut i =
            super::super::tests::stored(&format!("t{seq}"), crate::model::Category::Other, "f");
        i.seq = seq;
        Arc::new(i)
    }

    #[test]
    fn rendered_once_per_item_and_context() {
        let f = Fragments::new(1 << 20);
        let a = item(1);
        let rss = Context::new(Format::Rss, "merged", "All", false);
        let mut calls = 0;
        let mut get = |ctx: &Context, i: &Arc<StoredItem>| {
            f.get_or_render(ctx, i, || {
                calls += 1;
                Some(Piece::text(format!("<item>{}</item>", i.item.title)))
            })
            .unwrap()
        };
        assert_eq!(get(&rss, &a).text, "<item>t1</item>");
        assert_eq!(get(&rss, &a).text, "<item>t1</item>");
        // Another context, or a new `Arc` of the same sequence number (an edited item), is
        // rendered again.
        get(&Context::new(Format::Rss, "other", "All", false), &a);
        get(&Context::new(Format::Rss, "merged", "All", true), &a);
        get(&Context::new(Format::Atom, "merged", "All", false), &a);
        get(
            &Context::new(Format::Rss, "merged", "Everything", false),
            &a,
        );
        get(&rss, &item(1));
        assert_eq!(calls, 6);
    }

    #[test]
    fn bounded_by_bytes() {
        let f = Fragments::new(64 << 10);
        let ctx = Context::new(Format::Rss, "merged", "All", false);
        for seq in 0..5_000 {
            f.get_or_render(&ctx, &item(seq), || Some(Piece::text("x".repeat(1000))));
        }
        assert!(f.len() <= 120, "{} kept", f.len());
        assert!(!f.is_empty());
        // What could not be rendered is not kept.
        assert!(f.get_or_render(&ctx, &item(9_999), || None).is_none());
    }

    #[test]
    fn splicing_and_cutting_are_inverse() {
        let empty = "<?x?><r><a><b>head</b></a></r>";
        let parts: Vec<Arc<Piece>> = vec![
            Arc::new(Piece::text("<i>1</i>".into())),
            Arc::new(Piece::text("<i>2</i>".into())),
        ];
        let full = splice_before_last(empty, "</a>", &parts).unwrap();
        assert_eq!(full, "<?x?><r><a><b>head</b><i>1</i><i>2</i></a></r>");
        // The root's attributes may differ; the holder and what follows may not.
        let one = "<?x?><r xmlns:d=\"u&amp;v\"><a><b>head</b><i>1</i></a></r>";
        let (head, text) = cut(empty, "<a>", "</a>", one).unwrap();
        assert_eq!((head, text), ("<?x?><r xmlns:d=\"u&amp;v\">", "<i>1</i>"));
        assert_eq!(
            declared_namespaces(head),
            vec![("d".to_string(), "u&v".to_string())]
        );
        assert_eq!(cut(empty, "<a>", "</a>", "<x/>"), None);
        assert_eq!(
            cut(empty, "<a>", "</a>", "<r><a><b>head</b><i/></a></z>"),
            None
        );
        assert_eq!(splice_before_last("<x/>", "</a>", &parts), None);
        assert!(declared_namespaces("not xml <").is_empty());
    }
}
