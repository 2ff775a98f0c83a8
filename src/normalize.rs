//! The normaliser: raw feed bytes in, clean [`Item`]s out.
//!
//! Takes: a response body, its `Content-Type`, the URL it came from and the feed's id. Gives: the
//! feed's title and one [`Item`] per entry — text decoded to UTF-8 (GBK/GB2312, Big5, UTF-16 …),
//! titles as plain text, summaries and content as HTML sanitised by `ammonia`, every URL absolute,
//! timestamps in UTC.
//!
//! Guarantees: a broken document is a [`NormalizeError`] naming what went wrong, never a panic
//! (a panic inside the parser is caught and reported) and never a silently empty feed: a document
//! that visibly has entries but yields none is an error. A document the parser rejects gets one
//! more chance through the [`repair`] pass (bare `&`, HTML entities, `<rss>` without a version,
//! MIME-typed Atom text, unclosed CDATA, DTDs), so feeds parse as forgiving readers parse them;
//! a document nested deeper than [`MAX_DEPTH`] is refused before any parser sees it.
//!
//! Decisions, by spec:
//! - Charset precedence: a byte-order mark wins, then the HTTP `charset` parameter, then the XML
//!   declaration (RFC 7303 §3.2, §8.1). Chinese sites often send a header that contradicts the
//!   body, so a declared charset that does not decode the bytes cleanly yields to the next
//!   candidate, and undeclared non-UTF-8 bytes are tried as GB18030 (a superset of GBK/GB2312).
//! - Timestamps: RFC 3339 and RFC 2822, plus the forms Chinese CMSs emit (`2018-09-18 14:38:10`,
//!   `2018/09/18 14:38`). A zone-less time is read in the configured time zone, and `CST` means
//!   China Standard Time (UTC+8), not US Central, because that is what these feeds mean by it.

use crate::model::Item;
use crate::text::{collapse_ws, escape_html, html_to_text, plain_text};
use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use encoding_rs::Encoding;
use std::cell::RefCell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use url::Url;

mod entities;
pub mod repair;

/// Element nesting refused before parsing: the parsers recurse per level, and no real feed
/// comes near this (HTML in a CDATA section or escaped is text, not nesting).
pub const MAX_DEPTH: usize = 256;

/// Why a body could not be turned into items.
#[derive(Debug, thiserror::Error)]
pub enum NormalizeError {
    /// The parser rejected the document.
    #[error("parse: {0}")]
    Parse(String),
    /// The document has `<item>`/`<entry>` elements but the parser found none: reported rather
    /// than stored as an empty feed, which would hide the loss.
    #[error("parse: the document contains entries but none could be read (unsupported dialect?)")]
    EntriesLost,
    /// No charset decodes the body cleanly: it is not text in the encoding it claims.
    #[error("decode: the body is not valid {encoding} text ({malformed} malformed byte sequences); the feed's declared charset is wrong")]
    Encoding {
        /// The encoding finally tried.
        encoding: &'static str,
        /// How many sequences could not be decoded.
        malformed: usize,
    },
    /// The parser itself panicked on this input.
    #[error("parse: the feed parser crashed on this document: {0}")]
    ParserPanic(String),
    /// An HTML page where a feed was expected (a site's home page, an error or login page),
    /// with the feed it advertises (`<link rel="alternate" type="application/rss+xml">`).
    #[error("parse: this is an HTML page, not a feed{}", .0.as_ref().map(|u| format!("; the page names its feed: {u}")).unwrap_or_default())]
    HtmlPage(Option<String>),
    /// Elements nested deeper than [`MAX_DEPTH`]: refused unparsed (a stack-exhaustion attack).
    #[error("parse: elements nested {0} deep (more than {MAX_DEPTH}): refused")]
    TooDeep(usize),
    /// The response had no body (0 bytes), or nothing but whitespace: said as such rather than
    /// as the parser's "no root element".
    #[error("parse: the response body was empty ({} bytes{})", .0, if *.0 > 0 { ", all whitespace" } else { "" })]
    EmptyBody(usize),
}

/// A parsed feed: its own metadata and its entries.
#[derive(Debug, Clone)]
pub struct ParsedFeed {
    /// The feed's own title, as plain text.
    pub title: Option<String>,
    /// The site the feed belongs to.
    pub site_link: Option<String>,
    /// The encoding the body was decoded from (e.g. `GBK`, `UTF-8`).
    pub encoding: &'static str,
    /// What the feed says about how often to poll it.
    pub hints: PublisherHints,
    /// The entries, in document order.
    pub items: Vec<Item>,
}

/// Parses a feed body into items. `base` is the URL that served it (relative links are resolved
/// against it); `tz` is where zone-less timestamps are read.
pub fn parse_feed(
    body: &[u8],
    content_type: Option<&str>,
    base: &Url,
    feed_id: &str,
    tz: Tz,
) -> Result<ParsedFeed, NormalizeError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(NormalizeError::EmptyBody(body.len()));
    }
    let (text, encoding) = decode(body, content_type);
    // A few undecodable bytes (a truncated multi-byte character) are repaired with U+FFFD; many
    // mean the charset is wrong, and storing mojibake would be silent data loss.
    let malformed = text.matches('\u{FFFD}').count();
    if malformed > 5 && malformed * 200 > text.chars().count() {
        return Err(NormalizeError::Encoding {
            encoding,
            malformed,
        });
    }
    let xml = utf8_declaration(&text);
    let xml = xml.as_ref();

    let depth = repair::max_depth(xml);
    if depth > MAX_DEPTH {
        return Err(NormalizeError::TooDeep(depth));
    }
    // A document the parser rejects, or reads as empty although it has entries, gets one more
    // chance through the repair pass (see [`repair`]); when that fails too, the first error
    // is the one reported — it names what is wrong with the document as sent.
    let (parsed, xml) = match parse_xml(xml, base, tz) {
        Ok(parsed) => (parsed, std::borrow::Cow::Borrowed(xml)),
        Err(first) => match repair::repair(xml).map(|fixed| (parse_xml(&fixed, base, tz), fixed)) {
            // A repair that leaves no entry of a document that had some (one cut off in its
            // first entry) is still the first failure.
            Some((Ok(parsed), _))
                if parsed.entries.is_empty() && looks_like_it_has_entries(xml) =>
            {
                return Err(first)
            }
            Some((Ok(parsed), fixed)) => {
                tracing::debug!(feed = feed_id, error = %first, "parsed after repair");
                (parsed, std::borrow::Cow::Owned(fixed))
            }
            // `<rss>` with no channel and no items (a feed with nothing in it yet): empty, not
            // broken — there is nothing to lose.
            _ if looks_like_html(xml) => {
                return Err(NormalizeError::HtmlPage(advertised_feed(xml, base)))
            }
            _ if is_empty_rss(xml) => {
                return Ok(ParsedFeed {
                    title: None,
                    site_link: None,
                    encoding,
                    hints: PublisherHints::from_document(xml, None),
                    items: Vec::new(),
                })
            }
            _ => return Err(first),
        },
    };
    let xml = xml.as_ref();
    let hints = PublisherHints::from_document(xml, parsed.ttl);

    let feed_lang = parsed.language.clone();
    let site_link = pick_link(&parsed.links, base);
    // Relative references resolve against the document's own URL (RFC 3986 §5.1.3), not the
    // channel's <link>; feed-rs already does so for links and honours xml:base.
    let item_base = base.clone();
    let items = parsed
        .entries
        .into_iter()
        .map(|e| entry_to_item(e, feed_id, &item_base, feed_lang.as_deref()))
        .collect();
    Ok(ParsedFeed {
        title: parsed.title.map(|t| text_of(&t)).filter(|t| !t.is_empty()),
        site_link,
        encoding,
        hints,
        items,
    })
}

fn entry_to_item(
    e: feed_rs::model::Entry,
    feed_id: &str,
    base: &Url,
    feed_lang: Option<&str>,
) -> Item {
    let link = pick_link(&e.links, base);
    // Relative URLs inside the HTML are resolved against the item's own page where it has one.
    let html_base = link
        .as_deref()
        .and_then(|l| Url::parse(l).ok())
        .unwrap_or_else(|| base.clone());
    let summary = e
        .summary
        .as_ref()
        .map(|t| text_as_html(t, &html_base))
        .filter(|s| !s.trim().is_empty());
    let content = e
        .content
        .as_ref()
        .and_then(|c| c.body.as_deref())
        .map(|b| sanitize_html(b, &html_base))
        .filter(|s| !s.trim().is_empty());
    let mut title = e.title.as_ref().map(text_of).unwrap_or_default();
    if title.is_empty() {
        // Untitled entries (common in microblog-style feeds) get the start of their text.
        let text = summary
            .as_deref()
            .or(content.as_deref())
            .map(html_to_text)
            .unwrap_or_default();
        title = truncate_chars(&text, 80);
    }
    if title.is_empty() {
        title = link.clone().unwrap_or_else(|| "(untitled)".to_string());
    }
    let mut authors: Vec<String> = e
        .authors
        .iter()
        .filter_map(|p| p.name.as_deref().map(|n| plain_text(n).into_owned()))
        .filter(|n| !n.is_empty())
        .collect();
    authors.dedup();
    let tags = e
        .categories
        .iter()
        .map(|c| collapse_ws(c.label.as_deref().unwrap_or(&c.term)))
        .filter(|t| !t.is_empty())
        .collect();
    Item {
        feed_id: feed_id.to_string(),
        guid: Some(e.id.trim().to_string()).filter(|g| !g.is_empty()),
        title,
        link,
        summary,
        content,
        published: e.published,
        updated: e.updated,
        authors,
        tags,
        language: e
            .language
            .or_else(|| feed_lang.map(str::to_string))
            .map(|l| l.trim().to_string())
            .filter(|l| !l.is_empty()),
    }
}

/// The link readers should follow: `rel="alternate"` (or no rel) first, made absolute.
fn pick_link(links: &[feed_rs::model::Link], base: &Url) -> Option<String> {
    let alt = links
        .iter()
        .find(|l| l.rel.as_deref().is_none_or(|r| r == "alternate"))
        .or_else(|| links.iter().find(|l| l.rel.as_deref() != Some("self")))?;
    absolutize(alt.href.trim(), base)
}

/// Resolves `href` against `base`; only http(s) results are kept (a `javascript:` link is not a
/// link).
pub fn absolutize(href: &str, base: &Url) -> Option<String> {
    let url = base.join(href).ok()?;
    matches!(url.scheme(), "http" | "https").then(|| url.to_string())
}

/// A title as plain text, whatever its declared type: many feeds put markup (or escaped
/// markup) in `text` titles and many readers render RSS titles as HTML, so tags are removed and
/// entities decoded in every case ([`plain_text`]).
fn text_of(t: &feed_rs::model::Text) -> String {
    let content = crate::text::fix_c1_controls(&t.content);
    plain_text(&content).into_owned()
}

fn text_as_html(t: &feed_rs::model::Text, base: &Url) -> String {
    if t.content_type.subty() == "plain" {
        escape_html(&crate::text::fix_c1_controls(&t.content))
    } else {
        sanitize_html(&t.content, base)
    }
}

/// Sanitises untrusted HTML for republishing: no scripts, styles, event handlers, iframes or
/// `javascript:` URLs; relative URLs rewritten against `base`.
/// Text without markup (most summaries of most feeds) is returned as it is, trimmed: no parse.
pub fn sanitize_html(html: &str, base: &Url) -> String {
    let html = crate::text::fix_c1_controls(html);
    if is_inert_text(&html) {
        return html.trim().to_string();
    }
    sanitize_markup(&html, base)
}

/// Whether `s` is text that HTML parsing and serialising would give back unchanged: no tag or
/// entity (`<` `>` `&`), no character a serialiser writes as an entity (U+00A0), and no
/// control character but tab and newline (the tokenizer rewrites NUL and CR).
fn is_inert_text(s: &str) -> bool {
    !s.chars().any(|c| {
        matches!(c, '<' | '>' | '&' | '\u{a0}') || (c.is_control() && c != '\n' && c != '\t')
    })
}

thread_local! {
    /// ammonia's default policy, built once per thread: building it makes a dozen hash sets
    /// of tags and attributes, 2.6% of all CPU of a cold poll when it was built per call. Only
    /// the base that relative URLs are rewritten against changes from one call to the next.
    static SANITIZER: RefCell<ammonia::Builder<'static>> = RefCell::new(ammonia::Builder::default());
}

/// The full sanitiser (ammonia), for text with markup.
fn sanitize_markup(html: &str, base: &Url) -> String {
    SANITIZER.with_borrow_mut(|sanitizer| {
        let clean = sanitizer
            .url_relative(ammonia::UrlRelative::RewriteWithBase(base.clone()))
            .clean(html)
            .to_string();
        match clean.trim() {
            t if t.len() == clean.len() => clean,
            t => t.to_string(),
        }
    })
}

fn truncate_chars(s: &str, n: usize) -> String {
    match s.char_indices().nth(n) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// One parse by feed-rs, a parser panic and "entries present, none read" both as errors.
fn parse_xml(xml: &str, base: &Url, tz: Tz) -> Result<feed_rs::model::Feed, NormalizeError> {
    let parser = feed_rs::parser::Builder::new()
        .base_uri(Some(base.as_str()))
        // An empty id marks "the source gave none": feed-rs would otherwise invent a random UUID
        // on every parse, which would make the same entry look new each time.
        .id_generator(|_, _, _| String::new())
        .sanitize_content(false)
        .timestamp_parser(move |s| parse_timestamp(s, tz))
        .build();
    let parsed = catch_unwind(AssertUnwindSafe(|| parser.parse(xml.as_bytes())))
        .map_err(|p| NormalizeError::ParserPanic(panic_message(&p)))?
        .map_err(|e| NormalizeError::Parse(e.to_string()))?;
    if parsed.entries.is_empty() && looks_like_it_has_entries(xml) {
        return Err(NormalizeError::EntriesLost);
    }
    Ok(parsed)
}

/// Whether the document is an HTML page (its first element is `<html>`, or an HTML doctype).
fn looks_like_html(xml: &str) -> bool {
    let head: String = xml
        .chars()
        .take(2048)
        .collect::<String>()
        .to_ascii_lowercase();
    head.contains("<!doctype html") || head.contains("<html")
}

/// The feed an HTML page advertises (RSS/Atom autodiscovery), made absolute.
fn advertised_feed(html: &str, base: &Url) -> Option<String> {
    let link = regex::Regex::new(r#"(?is)<link\b[^>]*>"#).expect("static regex");
    let attr = |tag: &str, name: &str| -> Option<String> {
        let re = regex::Regex::new(&format!(r#"(?is)\b{name}\s*=\s*["']([^"']*)["']"#)).ok()?;
        re.captures(tag).map(|c| c[1].trim().to_string())
    };
    let found = link.find_iter(html).find_map(|m| {
        let tag = m.as_str();
        let ty = attr(tag, "type")?.to_ascii_lowercase();
        let rel = attr(tag, "rel").unwrap_or_default().to_ascii_lowercase();
        if !rel.split_whitespace().any(|r| r == "alternate")
            || !matches!(
                ty.as_str(),
                "application/rss+xml" | "application/atom+xml" | "application/feed+json"
            )
        {
            return None;
        }
        base.join(&attr(tag, "href")?).ok().map(|u| u.to_string())
    });
    found
}

/// An `<rss>` document with no `<channel>` and no entries.
fn is_empty_rss(xml: &str) -> bool {
    xml.contains("<rss") && !xml.contains("<channel") && !looks_like_it_has_entries(xml)
}

fn looks_like_it_has_entries(xml: &str) -> bool {
    xml.contains("<item")
        || xml.contains("<entry")
        || xml.contains(":item")
        || xml.contains(":entry")
}

fn panic_message(p: &Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

// ---- publisher hints ------------------------------------------------------------------------

/// How often the publisher says its feed is worth reading. RSS 2.0 `<ttl>` (minutes),
/// `<skipHours>` / `<skipDays>` (GMT), and the RSS 1.0 syndication module's
/// `sy:updatePeriod` / `sy:updateFrequency`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PublisherHints {
    /// The shortest interval worth polling at, from `<ttl>` or `sy:update*` (the larger wins).
    pub min_interval: Option<std::time::Duration>,
    /// Hours (0–23, GMT) not to poll in.
    pub skip_hours: Vec<u32>,
    /// Days (0 = Monday … 6 = Sunday) not to poll on.
    pub skip_days: Vec<u32>,
}

impl PublisherHints {
    /// Reads the hints from a decoded document; `ttl_minutes` is what feed-rs found.
    pub fn from_document(xml: &str, ttl_minutes: Option<u32>) -> PublisherHints {
        let ttl = ttl_minutes.map(|m| u64::from(m) * 60);
        let sy = element_texts(xml, "updatePeriod").first().and_then(|p| {
            let period: u64 = match p.trim().to_ascii_lowercase().as_str() {
                "hourly" => 3600,
                "daily" => 86_400,
                "weekly" => 7 * 86_400,
                "monthly" => 30 * 86_400,
                "yearly" => 365 * 86_400,
                _ => return None,
            };
            let freq: u64 = element_texts(xml, "updateFrequency")
                .first()
                .and_then(|f| f.trim().parse().ok())
                .filter(|f| *f > 0)
                .unwrap_or(1);
            Some(period / freq)
        });
        let min_interval = ttl
            .max(sy)
            .filter(|s| *s > 0)
            .map(std::time::Duration::from_secs);
        let mut skip_hours: Vec<u32> = element_texts(xml, "skipHours")
            .iter()
            .flat_map(|block| element_texts(block, "hour"))
            .filter_map(|h| h.trim().parse::<u32>().ok())
            // RSS 2.0 says 0-23; some feeds write 24 for midnight.
            .map(|h| if h == 24 { 0 } else { h })
            .filter(|h| *h < 24)
            .collect();
        skip_hours.sort_unstable();
        skip_hours.dedup();
        let mut skip_days: Vec<u32> = element_texts(xml, "skipDays")
            .iter()
            .flat_map(|block| element_texts(block, "day"))
            .filter_map(|d| {
                let d = d.trim().to_ascii_lowercase();
                [
                    "monday",
                    "tuesday",
                    "wednesday",
                    "thursday",
                    "friday",
                    "saturday",
                    "sunday",
                ]
                .iter()
                .position(|n| *n == d)
                .map(|p| p as u32)
            })
            .collect();
        skip_days.sort_unstable();
        skip_days.dedup();
        // A feed that skips every hour or every day would never be read: ignore such hints.
        if skip_hours.len() >= 24 {
            skip_hours.clear();
        }
        if skip_days.len() >= 7 {
            skip_days.clear();
        }
        PublisherHints {
            min_interval,
            skip_hours,
            skip_days,
        }
    }
}

/// The text content of every element whose local name is `local` (any namespace prefix).
/// A deliberately small scanner: these hints are flat elements in the channel.
fn element_texts<'a>(xml: &'a str, local: &str) -> Vec<&'a str> {
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(lt) = rest.find('<') {
        rest = &rest[lt + 1..];
        let name_end = rest
            .find(|c: char| c == '>' || c == '/' || c.is_whitespace())
            .unwrap_or(rest.len());
        let name = &rest[..name_end];
        let matches = name.rsplit(':').next() == Some(local) && !name.starts_with('/');
        if !matches {
            continue;
        }
        let Some(gt) = rest.find('>') else { break };
        if rest[..gt].ends_with('/') {
            continue;
        }
        let body = &rest[gt + 1..];
        let close = format!("</{name}>");
        if let Some(end) = body.find(&close) {
            out.push(&body[..end]);
            rest = &body[end + close.len()..];
        }
    }
    out
}

// ---- decoding --------------------------------------------------------------------------------

/// Decodes a body to text and names the encoding used: a byte-order mark first (UTF-8, UTF-16,
/// UTF-32), then UTF-16/32 recognised by the zero bytes around the first `<`, then the HTTP
/// `charset`, then the XML declaration, then UTF-8, windows-1252 for undeclared Western text —
/// only when its non-ASCII bytes stand alone, as accented letters do (`é`, `ç`), not in runs,
/// as CJK or Cyrillic do — and GB18030 (undeclared Chinese). Cyrillic in an unknown single-byte
/// charset stays an error rather than becoming mojibake.
pub fn decode(body: &[u8], content_type: Option<&str>) -> (String, &'static str) {
    if let Some((text, name)) = decode_utf32(body) {
        return (text, name);
    }
    if let Some((enc, bom_len)) = Encoding::for_bom(body) {
        let (text, _) = enc.decode_without_bom_handling(&body[bom_len..]);
        return (text.into_owned(), enc.name());
    }
    // UTF-16 without a BOM still starts with `<` as a 16-bit unit.
    if body.starts_with(&[0, b'<']) {
        let text = encoding_rs::UTF_16BE.decode_without_bom_handling(body).0;
        return (text.into_owned(), encoding_rs::UTF_16BE.name());
    }
    if body.starts_with(&[b'<', 0]) {
        let text = encoding_rs::UTF_16LE.decode_without_bom_handling(body).0;
        return (text.into_owned(), encoding_rs::UTF_16LE.name());
    }
    let mut candidates: Vec<&'static Encoding> = Vec::new();
    if let Some(enc) = content_type
        .and_then(charset_param)
        .and_then(|l| Encoding::for_label(l.as_bytes()))
    {
        candidates.push(enc);
    }
    if let Some(enc) = xml_declared_encoding(body).and_then(|l| Encoding::for_label(l.as_bytes())) {
        candidates.push(enc);
    }
    let declared = !candidates.is_empty();
    candidates.push(encoding_rs::UTF_8);
    // Undeclared: Latin-script single-byte text before GB18030, which would read `São` as two
    // CJK characters (its trail bytes include ASCII letters).
    if !declared && high_bytes_stand_alone(body) {
        candidates.push(encoding_rs::WINDOWS_1252);
    }
    candidates.push(encoding_rs::GB18030);
    for enc in &candidates {
        // A label of UTF-16 in a body without a BOM that is really ASCII-compatible is a lie
        // (the body was already checked for 16-bit `<`).
        if *enc == encoding_rs::UTF_16LE || *enc == encoding_rs::UTF_16BE {
            continue;
        }
        if let Some(text) = enc.decode_without_bom_handling_and_without_replacement(body) {
            return (text.into_owned(), enc.name());
        }
    }
    let enc = candidates[0];
    let enc = if enc == encoding_rs::UTF_16LE || enc == encoding_rs::UTF_16BE {
        encoding_rs::UTF_8
    } else {
        enc
    };
    (
        enc.decode_without_bom_handling(body).0.into_owned(),
        enc.name(),
    )
}

/// Whether the bytes ≥ 0x80 look like accented letters in Latin-script text in a single-byte
/// charset (`S\xe3o Paulo`, `informa\xe7\xf5es`): runs of at most three, no more longer runs than single bytes. CJK in
/// GBK comes in runs of two per character and usually several characters together; Cyrillic
/// or Greek in a single-byte charset in runs as long as their words.
fn high_bytes_stand_alone(body: &[u8]) -> bool {
    let (mut singles, mut pairs, mut run) = (0usize, 0usize, 0usize);
    for b in body.iter().chain(std::iter::once(&0u8)) {
        if *b >= 0x80 {
            run += 1;
            continue;
        }
        match run {
            0 => {}
            1 => singles += 1,
            // `çõ`, or a few no-break spaces in a row.
            2 | 3 => pairs += 1,
            _ => return false,
        }
        run = 0;
    }
    singles > 0 && pairs <= singles
}

/// UTF-32 (which encoding_rs, following the WHATWG, does not decode): by BOM, or by the zero
/// bytes around a leading `<`. Invalid code points become U+FFFD.
fn decode_utf32(body: &[u8]) -> Option<(String, &'static str)> {
    let (big_endian, skip) = match body {
        [0, 0, 0xFE, 0xFF, ..] => (true, 4),
        [0xFF, 0xFE, 0, 0, ..] => (false, 4),
        [0, 0, 0, b'<', ..] => (true, 0),
        [b'<', 0, 0, 0, ..] => (false, 0),
        _ => return None,
    };
    let text = body[skip..]
        .chunks_exact(4)
        .map(|c| {
            let w = [c[0], c[1], c[2], c[3]];
            let u = if big_endian {
                u32::from_be_bytes(w)
            } else {
                u32::from_le_bytes(w)
            };
            char::from_u32(u).unwrap_or('\u{FFFD}')
        })
        .collect();
    Some((text, if big_endian { "UTF-32BE" } else { "UTF-32LE" }))
}

/// The `charset` parameter of a `Content-Type` header value.
fn charset_param(ct: &str) -> Option<String> {
    ct.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| v.trim().trim_matches(|c| c == '"' || c == '\'').to_string())
            .filter(|v| !v.is_empty())
    })
}

/// The `encoding` pseudo-attribute of an XML declaration, read from the raw bytes.
fn xml_declared_encoding(body: &[u8]) -> Option<String> {
    let head = &body[..body.len().min(512)];
    let head = String::from_utf8_lossy(head);
    let decl = head.trim_start().strip_prefix("<?xml")?;
    let decl = &decl[..decl.find("?>")?];
    let at = decl.find("encoding")?;
    let rest = decl[at + "encoding".len()..]
        .trim_start()
        .strip_prefix('=')?
        .trim_start();
    let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let rest = &rest[1..];
    Some(rest[..rest.find(quote)?].trim().to_string())
}

/// Rewrites the XML declaration to say UTF-8: the text is UTF-8 now, and a declaration still
/// saying `GB2312` would make the parser decode it a second time.
fn utf8_declaration(text: &str) -> std::borrow::Cow<'_, str> {
    let t = text.trim_start_matches(['\u{feff}', ' ', '\t', '\r', '\n']);
    if t.starts_with("<?xml") {
        if let Some(end) = t.find("?>") {
            return format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>{}",
                &t[end + 2..]
            )
            .into();
        }
    }
    t.into()
}

// ---- timestamps ------------------------------------------------------------------------------

/// Parses the timestamps found in real feeds; see the module docs for the rules.
pub fn parse_timestamp(raw: &str, tz: Tz) -> Option<DateTime<Utc>> {
    let s = collapse_ws(raw);
    if s.is_empty() {
        return None;
    }
    // China Standard Time, not US Central: these feeds mean +0800.
    let s = if let Some(stripped) = s.strip_suffix(" CST") {
        format!("{stripped} +0800")
    } else {
        s
    };
    if let Ok(t) = DateTime::parse_from_rfc3339(&s) {
        return Some(t.with_timezone(&Utc));
    }
    if let Ok(t) = DateTime::parse_from_rfc2822(&s) {
        return Some(t.with_timezone(&Utc));
    }
    // RFC 2822 with a wrong or unknown weekday: drop the weekday and try again.
    let no_weekday = match s.split_once(", ") {
        Some((wd, rest)) if wd.len() <= 9 && wd.chars().all(|c| c.is_ascii_alphabetic()) => rest,
        _ => s.as_str(),
    };
    const WITH_ZONE: &[&str] = &[
        "%d %b %Y %H:%M:%S %z",
        "%d %b %Y %H:%M %z",
        "%d %B %Y %H:%M:%S %z",
        "%Y-%m-%d %H:%M:%S %z",
        "%Y-%m-%d %H:%M:%S%z",
        "%Y-%m-%dT%H:%M:%S%z",
        "%Y-%m-%dT%H:%M:%S%.f%z",
        "%Y-%m-%dT%H:%M%z",
    ];
    for f in WITH_ZONE {
        if let Ok(t) = DateTime::<FixedOffset>::parse_from_str(no_weekday, f) {
            return Some(t.with_timezone(&Utc));
        }
    }
    // Named US/UT zones RFC 2822 allows.
    for (name, off) in [
        ("GMT", "+0000"),
        ("UTC", "+0000"),
        ("UT", "+0000"),
        ("Z", "+0000"),
    ] {
        if let Some(stripped) = no_weekday.strip_suffix(name) {
            let with = format!("{}{off}", stripped.trim_end());
            for f in [
                "%d %b %Y %H:%M:%S%z",
                "%Y-%m-%d %H:%M:%S%z",
                "%Y-%m-%dT%H:%M:%S%z",
            ] {
                if let Ok(t) = DateTime::<FixedOffset>::parse_from_str(&with, f) {
                    return Some(t.with_timezone(&Utc));
                }
            }
        }
    }
    const NAIVE: &[&str] = &[
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
        "%Y/%m/%d %H:%M:%S",
        "%Y/%m/%d %H:%M",
        "%Y年%m月%d日 %H:%M:%S",
        "%Y年%m月%d日 %H:%M",
        "%Y年%m月%d日%H:%M",
        "%d %b %Y %H:%M:%S",
    ];
    for f in NAIVE {
        if let Ok(t) = NaiveDateTime::parse_from_str(no_weekday, f) {
            return tz
                .from_local_datetime(&t)
                .earliest()
                .map(|t| t.with_timezone(&Utc));
        }
    }
    for f in ["%Y-%m-%d", "%Y/%m/%d", "%Y年%m月%d日"] {
        if let Ok(d) = NaiveDate::parse_from_str(no_weekday, f) {
            let t = d.and_hms_opt(0, 0, 0)?;
            return tz
                .from_local_datetime(&t)
                .earliest()
                .map(|t| t.with_timezone(&Utc));
        }
    }
    None
}

#[cfg(test)]
mod inert_text {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The shortcut gives what the full sanitiser gives, on any text it takes.
        #[test]
        fn inert_text_is_what_the_sanitiser_would_give(s in "\\PC{0,80}|[ a-z\n\t\u{4e00}-\u{4e2f}\u{a0}<>&\r\u{0}]{0,40}") {
            let base = Url::parse("http://e.com/a/").unwrap();
            if is_inert_text(&s) {
                prop_assert_eq!(s.trim().to_string(), sanitize_markup(&s, &base));
            }
        }
    }

    #[test]
    fn markup_and_entities_still_go_through_the_sanitiser() {
        let base = Url::parse("http://e.com/a/").unwrap();
        for (input, out) in [
            ("  巴西龟的饲养方法 ", "巴西龟的饲养方法"),
            ("a &amp; b", "a &amp; b"),
            ("a & b", "a &amp; b"),
            ("x<script>alert(1)</script>y", "xy"),
            ("a\u{a0}b", "a&nbsp;b"),
            ("caf\u{e9}\u{85}", "caf\u{e9}\u{2026}"),
        ] {
            assert_eq!(sanitize_html(input, &base), out, "{input:?}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SH: Tz = chrono_tz::Asia::Shanghai;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn timestamps() {
        let cases: &[(&str, Option<&str>)] = &[
            ("2024-03-01T08:00:00Z", Some("2024-03-01T08:00:00Z")),
            ("2024-03-01T16:00:00+08:00", Some("2024-03-01T08:00:00Z")),
            (
                "Fri, 01 Mar 2024 08:00:00 GMT",
                Some("2024-03-01T08:00:00Z"),
            ),
            (
                "Fri, 01 Mar 2024 16:00:00 +0800",
                Some("2024-03-01T08:00:00Z"),
            ),
            // Wrong weekday still parses.
            (
                "Mon, 01 Mar 2024 08:00:00 GMT",
                Some("2024-03-01T08:00:00Z"),
            ),
            // CST is China Standard Time.
            (
                "Fri, 01 Mar 2024 16:00:00 CST",
                Some("2024-03-01T08:00:00Z"),
            ),
            // Zone-less forms Chinese CMSs emit are read in the configured zone.
            ("2024-03-01 16:00:00", Some("2024-03-01T08:00:00Z")),
            ("2024/03/01 16:00", Some("2024-03-01T08:00:00Z")),
            ("2024年03月01日 16:00", Some("2024-03-01T08:00:00Z")),
            ("2024-03-01", Some("2024-02-29T16:00:00Z")),
            ("yesterday", None),
            ("", None),
        ];
        for (raw, want) in cases {
            assert_eq!(parse_timestamp(raw, SH), want.map(utc), "{raw:?}");
        }
    }

    #[test]
    fn decoding_precedence() {
        let (gbk, _, _) =
            encoding_rs::GBK.encode("<?xml version=\"1.0\" encoding=\"gb2312\"?><rss>中文</rss>");
        // Declared in the prolog only.
        let (t, e) = decode(&gbk, Some("text/xml"));
        assert!(t.contains("中文"), "{t}");
        assert_eq!(e, "GBK");
        // A header that lies (says UTF-8) yields to the prolog.
        let (t, _) = decode(&gbk, Some("text/xml; charset=utf-8"));
        assert!(t.contains("中文"));
        // Undeclared GBK is sniffed.
        let (gbk2, _, _) = encoding_rs::GBK.encode("<rss>中文标题</rss>");
        assert!(decode(&gbk2, None).0.contains("中文标题"));
        // BOM wins over everything.
        let mut bom = vec![0xEF, 0xBB, 0xBF];
        bom.extend_from_slice("<rss>é</rss>".as_bytes());
        assert_eq!(
            decode(&bom, Some("text/xml; charset=iso-8859-1")).0,
            "<rss>é</rss>"
        );
        // UTF-16BE without a BOM (feed-rs panics on it).
        let be: Vec<u8> = "<rss/>"
            .encode_utf16()
            .flat_map(|u| u.to_be_bytes())
            .collect();
        assert_eq!(decode(&be, None).0, "<rss/>");
        // UTF-32, with and without a BOM.
        let mut le = vec![0xFF, 0xFE, 0, 0];
        le.extend(
            "<rss>中</rss>"
                .chars()
                .flat_map(|c| (c as u32).to_le_bytes()),
        );
        assert_eq!(decode(&le, None), ("<rss>中</rss>".to_string(), "UTF-32LE"));
        let be: Vec<u8> = "<rss/>"
            .chars()
            .flat_map(|c| (c as u32).to_be_bytes())
            .collect();
        assert_eq!(decode(&be, None), ("<rss/>".to_string(), "UTF-32BE"));
        // Undeclared Latin-1 (Portuguese) is windows-1252; undeclared KOI8-R is not guessed.
        let pt = b"<rss><title>S\xe3o Paulo: not\xedcias, informa\xe7\xf5es</title></rss>";
        assert_eq!(
            decode(pt, None),
            (
                "<rss><title>São Paulo: notícias, informações</title></rss>".to_string(),
                "windows-1252"
            )
        );
        let (ru, _, _) = encoding_rs::KOI8_R.encode("<rss><title>Новости дня</title></rss>");
        assert_ne!(decode(&ru, None).1, "windows-1252");
    }

    #[test]
    fn dialects_feed_rs_misses_are_read_after_repair() {
        let base = Url::parse("http://e.com/feed").unwrap();
        let docs = [
            // RSS 0.90.
            "<rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\" xmlns=\"http://my.netscape.com/rdf/simple/0.9/\"><channel><title>c</title></channel><item><title>Item title</title><link>http://e.com/1</link></item></rdf:RDF>",
            // RSS 0.93, no channel version feed-rs knows.
            "<rss version=\"0.93\"><channel><item><title>Item title</title></item></channel></rss>",
            // Atom 0.3 with inline XHTML content.
            "<feed version=\"0.3\" xmlns=\"http://purl.org/atom/ns#\"><entry><title>Item title</title><content type=\"application/xhtml+xml\" mode=\"xml\"><div xmlns=\"http://www.w3.org/1999/xhtml\">Example</div></content></entry></feed>",
            // Bare ampersands and HTML entities.
            "<rss version=\"2.0\"><channel><item><title>Item&nbsp;title</title><link>http://e.com/?a=1&b=2</link></item></channel></rss>",
        ];
        for doc in docs {
            let parsed = parse_feed(doc.as_bytes(), None, &base, "f", SH)
                .unwrap_or_else(|e| panic!("{e}: {doc}"));
            assert_eq!(parsed.items.len(), 1, "{doc}");
            assert_eq!(
                parsed.items[0].title.replace('\u{a0}', " "),
                "Item title",
                "{doc}"
            );
        }
    }

    #[test]
    fn an_html_page_is_named_with_the_feed_it_advertises() {
        let base = Url::parse("http://news.example.cn/index.html").unwrap();
        let page = "<!DOCTYPE html><html><head><link rel=\"stylesheet\" href=\"/s.css\"><link rel=\"alternate\" type=\"application/rss+xml\" title=\"RSS\" href=\"/rss/all.xml\"></head><body>news</body></html>";
        match parse_feed(page.as_bytes(), Some("text/html"), &base, "f", SH) {
            Err(e @ NormalizeError::HtmlPage(Some(_))) => assert!(
                e.to_string()
                    .contains("HTML page, not a feed; the page names its feed: http://news.example.cn/rss/all.xml"),
                "{e}"
            ),
            other => panic!("{:?}", other.map(|p| p.items.len())),
        }
        let bare = "<html><body>login</body></html>";
        assert!(matches!(
            parse_feed(bare.as_bytes(), None, &base, "f", SH),
            Err(NormalizeError::HtmlPage(None))
        ));
    }

    #[test]
    fn sanitising_and_absolute_urls() {
        let base = Url::parse("https://news.example.cn/a/b.html").unwrap();
        let out = sanitize_html(
            r#"<p onclick="x()">hi<script>alert(1)</script><img src="/i.png"><a href="javascript:alert(1)">j</a><iframe src="//e"></iframe></p>"#,
            &base,
        );
        assert!(
            !out.contains("script") && !out.contains("onclick") && !out.contains("iframe"),
            "{out}"
        );
        assert!(!out.contains("javascript:"), "{out}");
        assert!(
            out.contains(r#"src="https://news.example.cn/i.png""#),
            "{out}"
        );
        // The sanitiser is kept from call to call; the base is each call's own.
        let other = Url::parse("http://other.example/x/").unwrap();
        let next = sanitize_html(r#"<a href="y.html">y</a>"#, &other);
        assert!(
            next.contains(r#"href="http://other.example/x/y.html""#),
            "{next}"
        );
        let again = sanitize_html(r#"<a href="y.html">y</a>"#, &base);
        assert!(
            again.contains(r#"href="https://news.example.cn/a/y.html""#),
            "{again}"
        );
    }

    #[test]
    fn rss_with_gbk_and_relative_links() {
        let xml = "<?xml version=\"1.0\" encoding=\"gb2312\"?><rss version=\"2.0\"><channel><title>新闻</title><link>https://n.example.cn/</link>\
            <item><title>每日焦点!巴西龟的饲养方法</title><link>/pets/1.html</link><description>&lt;p&gt;养龟&lt;/p&gt;</description><pubDate>2024-03-01 16:00:00</pubDate></item></channel></rss>";
        let (body, _, _) = encoding_rs::GBK.encode(xml);
        let base = Url::parse("https://feeds.example.cn/rss.xml").unwrap();
        let f = parse_feed(&body, Some("application/rss+xml"), &base, "n", SH).unwrap();
        assert_eq!(f.title.as_deref(), Some("新闻"));
        assert_eq!(f.encoding, "GBK");
        let it = &f.items[0];
        assert_eq!(it.title, "每日焦点!巴西龟的饲养方法");
        assert_eq!(
            it.link.as_deref(),
            Some("https://feeds.example.cn/pets/1.html")
        );
        assert_eq!(it.summary.as_deref(), Some("<p>养龟</p>"));
        assert_eq!(it.guid, None);
        assert_eq!(it.published, Some(utc("2024-03-01T08:00:00Z")));
    }

    #[test]
    fn broken_documents_are_errors() {
        let base = Url::parse("https://e.com/").unwrap();
        assert!(matches!(
            parse_feed(
                b"<html><body>not a feed</body></html>",
                None,
                &base,
                "x",
                SH
            ),
            Err(NormalizeError::HtmlPage(None))
        ));
        for empty in [&b""[..], b"  \r\n"] {
            let e = parse_feed(empty, None, &base, "x", SH).unwrap_err();
            assert!(matches!(e, NormalizeError::EmptyBody(n) if n == empty.len()));
            assert!(e.to_string().contains("body was empty"), "{e}");
        }
        assert!(parse_feed(b"{\"nope\": 1", None, &base, "x", SH).is_err());
    }

    #[test]
    fn publisher_hints() {
        let xml = r#"<rss version="2.0" xmlns:sy="http://purl.org/rss/1.0/modules/syndication/"><channel>
            <ttl>30</ttl><sy:updatePeriod>hourly</sy:updatePeriod><sy:updateFrequency>2</sy:updateFrequency>
            <skipHours><hour>0</hour><hour>24</hour><hour>7</hour><hour>99</hour></skipHours>
            <skipDays><day>Saturday</day><day>sunday</day><day>Funday</day></skipDays>
            <item><title>t</title></item></channel></rss>"#;
        let h = PublisherHints::from_document(xml, Some(30));
        // ttl 30 min beats sy's 60/2 = 30 min (equal); the larger wins.
        assert_eq!(h.min_interval, Some(std::time::Duration::from_secs(1800)));
        assert_eq!(h.skip_hours, vec![0, 7]);
        assert_eq!(h.skip_days, vec![5, 6]);
        let sy_only =
            PublisherHints::from_document("<sy:updatePeriod>daily</sy:updatePeriod>", None);
        assert_eq!(
            sy_only.min_interval,
            Some(std::time::Duration::from_secs(86_400))
        );
        // A feed that skips every hour would never be read: the hint is dropped.
        let all: String = (0..24).map(|h| format!("<hour>{h}</hour>")).collect();
        let h = PublisherHints::from_document(&format!("<skipHours>{all}</skipHours>"), None);
        assert!(h.skip_hours.is_empty());
        assert_eq!(
            PublisherHints::from_document("<rss/>", None),
            PublisherHints::default()
        );
    }
}
