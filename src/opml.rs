//! OPML: `feedsift import-opml FILE` adds the feeds of a reader's export to `feeds.toml`.
//!
//! Takes: an OPML 1.0/2.0 document (outlines with `xmlUrl`, nested in folders or not) and the
//! text of `feeds.toml`. Gives: the new text, with one `[[feed]]` per new URL appended — the
//! admin's comments and layout untouched (`toml_edit`) — or an error naming what was wrong.
//! Feeds already configured (same URL) are skipped; ids are made from the outline's title (or
//! the URL's host) and kept unique.

use quick_xml::events::Event;

/// One feed found in an OPML document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outline {
    /// `xmlUrl`.
    pub url: String,
    /// `title`, else `text`.
    pub title: Option<String>,
}

/// What importing did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Imported {
    /// Ids of the feeds added.
    pub added: Vec<String>,
    /// URLs already configured.
    pub skipped: Vec<String>,
    /// URLs that are not http(s) URLs, left out.
    pub invalid: Vec<String>,
    /// URLs refused by the caller's address policy (private addresses), with the reason.
    pub refused: Vec<(String, String)>,
}

/// Why an import failed.
#[derive(Debug, thiserror::Error)]
pub enum OpmlError {
    /// The OPML is not well-formed XML.
    #[error("opml: not well-formed at byte {position}: {message}")]
    Xml {
        /// Byte offset of the error.
        position: u64,
        /// The parser's message.
        message: String,
    },
    /// The config could not be edited (not TOML, or `feed` is not an array of tables).
    #[error("feeds.toml: {0}")]
    Config(String),
}

/// The feeds of an OPML document, in document order.
pub fn outlines(opml: &str) -> Result<Vec<Outline>, OpmlError> {
    let mut reader = quick_xml::Reader::from_str(opml);
    let mut out = Vec::new();
    loop {
        let ev = reader.read_event().map_err(|e| OpmlError::Xml {
            position: reader.buffer_position(),
            message: e.to_string(),
        })?;
        match ev {
            Event::Start(e) | Event::Empty(e) if e.local_name().as_ref() == "outline" => {
                let mut url = None;
                let mut title = None;
                let mut text = None;
                for a in e.attributes().flatten() {
                    let v = a
                        .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                        .map(|v| v.trim().to_string())
                        .unwrap_or_default();
                    match a.key.local_name().as_ref() {
                        "xmlUrl" | "xmlurl" => url = Some(v),
                        "title" => title = Some(v),
                        "text" => text = Some(v),
                        _ => {}
                    }
                }
                if let Some(url) = url.filter(|u| !u.is_empty()) {
                    out.push(Outline {
                        url,
                        title: title.or(text).filter(|t| !t.is_empty()),
                    });
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    Ok(out)
}

fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').chars().take(40).collect()
}

/// Appends the new feeds of `opml` to the config text `toml`; returns the new text and what
/// was done. `refuse` says why a URL must not be added (an address policy), or `None`.
pub fn import(
    toml: &str,
    opml: &str,
    refuse: &dyn Fn(&url::Url) -> Option<String>,
) -> Result<(String, Imported), OpmlError> {
    let mut doc: toml_edit::DocumentMut = toml
        .parse()
        .map_err(|e: toml_edit::TomlError| OpmlError::Config(e.to_string()))?;
    let mut known_urls = Vec::new();
    let mut ids = Vec::new();
    if let Some(item) = doc.get("feed") {
        let feeds = item.as_array_of_tables().ok_or_else(|| {
            OpmlError::Config("`feed` must be an array of tables ([[feed]])".into())
        })?;
        for t in feeds.iter() {
            if let Some(u) = t.get("url").and_then(|u| u.as_str()) {
                known_urls.push(u.trim().to_string());
            }
            if let Some(i) = t.get("id").and_then(|i| i.as_str()) {
                ids.push(i.to_string());
            }
        }
    }
    let mut done = Imported::default();
    for o in outlines(opml)? {
        if known_urls.contains(&o.url) {
            done.skipped.push(o.url);
            continue;
        }
        let Some(parsed) = url::Url::parse(&o.url)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
        else {
            done.invalid.push(o.url);
            continue;
        };
        if let Some(why) = refuse(&parsed) {
            done.refused.push((o.url, why));
            continue;
        }
        let base = o
            .title
            .as_deref()
            .map(slug)
            .filter(|s| !s.is_empty())
            .or_else(|| {
                url::Url::parse(&o.url)
                    .ok()
                    .and_then(|u| u.host_str().map(slug))
            })
            .unwrap_or_else(|| "feed".into());
        let mut id = base.clone();
        let mut n = 2;
        while ids.contains(&id) {
            id = format!("{base}-{n}");
            n += 1;
        }
        let mut t = toml_edit::Table::new();
        t["id"] = toml_edit::value(id.clone());
        t["url"] = toml_edit::value(o.url.clone());
        if let Some(title) = &o.title {
            t["title"] = toml_edit::value(title.clone());
        }
        if doc.get("feed").is_none() {
            doc["feed"] = toml_edit::Item::ArrayOfTables(toml_edit::ArrayOfTables::new());
        }
        doc["feed"]
            .as_array_of_tables_mut()
            .expect("checked above")
            .push(t);
        known_urls.push(o.url);
        ids.push(id.clone());
        done.added.push(id);
    }
    Ok((doc.to_string(), done))
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPML: &str = r#"<?xml version="1.0"?><opml version="2.0"><head><title>x</title></head><body>
        <outline text="News"><outline type="rss" text="BBC 中文" title="BBC Chinese" xmlUrl="https://feeds.bbci.co.uk/zhongwen/simp/rss.xml"/>
        <outline type="rss" text="Dup" xmlUrl="https://e.com/rss"/></outline>
        <outline text="no url"/><outline text="AT&amp;T News" xmlUrl="https://att.example/feed"/>
        <outline text="bad" xmlUrl="ftp://nope/"/></body></opml>"#;

    #[test]
    fn appends_new_feeds_keeping_comments() {
        let toml = "# my feeds\n[service]\nlisten = \"127.0.0.1:8080\" # keep me\n\n[[feed]]\nid = \"bbc-chinese\"\nurl = \"https://e.com/rss\"\n";
        let (out, done) = import(toml, OPML, &|_| None).unwrap();
        assert_eq!(done.added, ["bbc-chinese-2", "at-t-news"]);
        assert_eq!(done.skipped, ["https://e.com/rss"]);
        assert_eq!(done.invalid, ["ftp://nope/"]);
        assert!(
            out.starts_with("# my feeds\n[service]\nlisten = \"127.0.0.1:8080\" # keep me\n"),
            "{out}"
        );
        assert!(out.contains("url = \"https://att.example/feed\""));
        // The result is a valid feeds.toml.
        let c = crate::config::parse(&out, std::path::Path::new("feeds.toml")).unwrap();
        assert_eq!(c.feeds.len(), 3);
        // Importing again adds nothing.
        let (_, again) = import(&out, OPML, &|_| None).unwrap();
        assert!(again.added.is_empty());
    }

    #[test]
    fn broken_input_is_an_error() {
        assert!(matches!(
            import("", "<opml><body><outline xmlUrl=\"x\"></body>", &|_| None),
            Err(OpmlError::Xml { .. })
        ));
        assert!(matches!(
            import("feed = 1", OPML, &|_| None),
            Err(OpmlError::Config(_))
        ));
        assert!(matches!(
            import("[[feed", OPML, &|_| None),
            Err(OpmlError::Config(_))
        ));
    }
}
