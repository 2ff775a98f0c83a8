//! The deduplicator's identity rules: which entries are the same story.
//!
//! Takes: a normalised [`Item`]. Gives: its canonical key — a short hex digest that is the same
//! every time the same entry is polled, from whichever feed, and that the store uses as its
//! primary key. This is exact deduplication; near-duplicate detection across decorated titles
//! builds on it.
//!
//! The key is derived, in order of trust, from:
//! 1. the source's GUID when it is an absolute http(s) URL — canonicalised, so the same article
//!    carried by two feeds is one item;
//! 2. any other GUID, scoped to its feed (GUIDs are only unique within a feed, RSS 2.0 `<guid>`);
//! 3. the canonical link (see [`canonical_url`]);
//! 4. a hash of feed, title and date, the last resort for entries with neither.
//!
//! feed-rs's own ids are not used: it invents a random UUID for entries with no guid and no link,
//! and derives ids from link + title, so an edited title would look like a new story.

use crate::model::{hex, Item};
use sha2::{Digest, Sha256};
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
            feed_id: feed.into(),
            guid: guid.map(Into::into),
            title: title.into(),
            link: link.map(Into::into),
            summary: None,
            content: None,
            published: None,
            updated: None,
            authors: vec![],
            tags: vec![],
            language: None,
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
