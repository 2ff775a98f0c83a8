//! The published feeds as real readers take them (issue 17): newsboat keys items by id across
//! all its subscriptions, RFC 4287 readers need an author and a true `updated`, readers render
//! RSS titles as HTML. Each rule through the public interface: a service polled from a local
//! publisher and read over HTTP, `export`, and the `feedsift` binary.

mod common;

use common::{fixture, serve_standard_fixtures, write_config_listen, Publisher};
use feedsift::app::{self, Service};
use feedsift::publish::{Format, STORY_NS};
use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use tokio::sync::watch;

/// A service on `config_path`, polled once and serving HTTP; its base URL and the shutdown.
async fn polled_service(
    config_path: &Path,
    listener: tokio::net::TcpListener,
) -> (
    String,
    watch::Sender<bool>,
    tokio::task::JoinHandle<anyhow::Result<()>>,
) {
    let service = Service::open(app::load_config(config_path, None).unwrap()).unwrap();
    app::poll_once(&service, false).await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = watch::channel(false);
    let task = tokio::spawn(app::run_service(service, listener, rx));
    (base, tx, task)
}

async fn get(url: &str) -> (u16, reqwest::header::HeaderMap, String) {
    let r = reqwest::get(url).await.unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    (status, headers, r.text().await.unwrap())
}

async fn body(url: &str) -> String {
    let (status, _, body) = get(url).await;
    assert_eq!(status, 200, "{url}: {body}");
    body
}

/// (item id, story id) of every entry of a document, in order, read the way each format's
/// readers read it: the RSS `guid` and `<feedsift:story>`, the Atom `id` and
/// `<feedsift:story>`, the JSON Feed `id` and `_feedsift.story`. Also checks the extension's
/// namespace is declared as documented.
fn ids(format: Format, doc: &str) -> Vec<(String, String)> {
    match format {
        Format::Rss => {
            let ch = rss::Channel::read_from(doc.as_bytes()).unwrap();
            assert_eq!(
                ch.namespaces().get("feedsift").map(String::as_str),
                Some(STORY_NS)
            );
            ch.items()
                .iter()
                .map(|i| {
                    let story = i.extensions()["feedsift"]["story"][0].value().unwrap();
                    (i.guid().unwrap().value().to_string(), story.to_string())
                })
                .collect()
        }
        Format::Atom => {
            let feed: atom_syndication::Feed = doc.parse().unwrap();
            assert_eq!(
                feed.namespaces().get("feedsift").map(String::as_str),
                Some(STORY_NS)
            );
            feed.entries()
                .iter()
                .map(|e| {
                    let story = e.extensions()["feedsift"]["story"][0].value().unwrap();
                    (e.id().to_string(), story.to_string())
                })
                .collect()
        }
        Format::Json => {
            let v: serde_json::Value = serde_json::from_str(doc).unwrap();
            v["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| {
                    (
                        i["id"].as_str().unwrap().to_string(),
                        i["_feedsift"]["story"].as_str().unwrap().to_string(),
                    )
                })
                .collect()
        }
    }
}

/// What RFC 4287 asks of a feed document that a parse alone does not show, as a list of
/// violations (empty: none). The grammar is checked by parsing with `atom_syndication`; the
/// §4.1.1/§4.1.2 cardinalities by counting child elements in the Atom namespace (the
/// default namespace of feedsift's documents; prefixed children are extensions).
fn rfc4287_violations(doc: &str) -> Vec<String> {
    use quick_xml::events::Event;
    let mut bad = Vec::new();
    let feed: atom_syndication::Feed = match doc.parse() {
        Ok(f) => f,
        Err(e) => return vec![format!("not an Atom document: {e}")],
    };
    if !doc.contains(r#"<feed xmlns="http://www.w3.org/2005/Atom""#) {
        bad.push("the root is not atom:feed in the default namespace".into());
    }
    const COUNTED: [&[u8]; 4] = [b"id", b"title", b"updated", b"author"];
    let mut feed_counts: HashMap<Vec<u8>, usize> = HashMap::new();
    let mut entry_counts: Vec<HashMap<Vec<u8>, usize>> = Vec::new();
    let mut path: Vec<Vec<u8>> = Vec::new();
    let mut reader = quick_xml::Reader::from_str(doc);
    loop {
        let (name, empty) = match reader.read_event() {
            Ok(Event::Start(e)) => (e.name().into_inner().as_bytes().to_vec(), false),
            Ok(Event::Empty(e)) => (e.name().into_inner().as_bytes().to_vec(), true),
            Ok(Event::End(_)) => {
                path.pop();
                continue;
            }
            Ok(Event::Eof) => break,
            Ok(_) => continue,
            Err(e) => return vec![format!("not well-formed: {e}")],
        };
        match path.len() {
            1 if name == b"entry" => entry_counts.push(HashMap::new()),
            1 if COUNTED.contains(&name.as_slice()) => {
                *feed_counts.entry(name.clone()).or_default() += 1
            }
            2 if path[1] == b"entry" && COUNTED.contains(&name.as_slice()) => {
                *entry_counts
                    .last_mut()
                    .unwrap()
                    .entry(name.clone())
                    .or_default() += 1
            }
            _ => {}
        }
        if !empty {
            path.push(name);
        }
    }
    let n = |m: &HashMap<Vec<u8>, usize>, k: &[u8]| m.get(k).copied().unwrap_or(0);
    for k in [&b"id"[..], b"title", b"updated"] {
        if n(&feed_counts, k) != 1 {
            bad.push(format!(
                "feed has {} atom:{}",
                n(&feed_counts, k),
                String::from_utf8_lossy(k)
            ));
        }
    }
    let feed_has_author = n(&feed_counts, b"author") > 0;
    for (i, c) in entry_counts.iter().enumerate() {
        for k in [&b"id"[..], b"title", b"updated"] {
            if n(c, k) != 1 {
                bad.push(format!(
                    "entry {i} has {} atom:{}",
                    n(c, k),
                    String::from_utf8_lossy(k)
                ));
            }
        }
        if !feed_has_author && n(c, b"author") == 0 {
            bad.push(format!(
                "entry {i} has no atom:author and the feed has none (§4.1.1)"
            ));
        }
    }
    let mut seen = BTreeSet::new();
    for (i, e) in feed.entries().iter().enumerate() {
        if !seen.insert(e.id()) {
            bad.push(format!("entry {i} repeats the id {}", e.id()));
        }
        if e.updated().timestamp() <= 0 {
            bad.push(format!("entry {i} is updated at the epoch"));
        }
        // §4.1.2: no content means a rel="alternate" link.
        if e.content().is_none() && !e.links().iter().any(|l| l.rel() == "alternate") {
            bad.push(format!(
                "entry {i} has neither content nor an alternate link"
            ));
        }
    }
    if feed.updated().timestamp() <= 0 {
        bad.push(format!("the feed is updated at {}", feed.updated()));
    }
    bad
}

/// An output nothing matches, beside the standard ones.
const EMPTY_OUTPUT: &str = r#"
[[output]]
name = "nothing"
title = "Nothing yet"
include = ["no item says zzyzx-never"]
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_output_read_like_newsboat_loses_nothing() {
    let p = Publisher::start().await;
    serve_standard_fixtures(&p);
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let listen = listener.local_addr().unwrap().to_string();
    let config = write_config_listen(dir.path(), &p, &listen, EMPTY_OUTPUT);
    let (base, stop, task) = polled_service(&config, listener).await;
    let outputs = ["merged", "finance", "zh-life", "nothing"];

    for format in [Format::Rss, Format::Atom, Format::Json] {
        // newsboat's view: one map of every item of every subscription, keyed by id.
        let mut all: HashMap<String, &str> = HashMap::new();
        let mut stories: HashMap<&str, BTreeSet<String>> = HashMap::new();
        for output in outputs {
            let doc = body(&format!("{base}/feeds/{output}.{format}")).await;
            let items = ids(format, &doc);
            for (id, story) in &items {
                assert!(
                    id.starts_with(&format!("urn:feedsift:{output}:")),
                    "{format} {output}: {id}"
                );
                assert_eq!(
                    id.rsplit(':').next(),
                    story.rsplit(':').next(),
                    "the item id names its story"
                );
                if let Some(other) = all.insert(id.clone(), output) {
                    panic!("{format}: {id} is in both {other} and {output}");
                }
                stories.entry(output).or_default().insert(story.clone());
            }
            // Each output's items all present under their own ids.
            assert_eq!(
                items.len(),
                all.values().filter(|o| **o == output).count(),
                "{format} {output}"
            );
            // Stable: the same ids on the next read.
            let again = body(&format!("{base}/feeds/{output}.{format}")).await;
            assert_eq!(ids(format, &again), items, "{format} {output}");
        }
        assert!(stories["finance"].len() >= 2, "{stories:?}");
        assert!(!stories["zh-life"].is_empty(), "{stories:?}");
        assert!(!stories.contains_key("nothing"));
        // The story id joins the outputs: every filtered output's stories are merged's.
        for output in ["finance", "zh-life"] {
            assert!(
                stories[output].is_subset(&stories["merged"]),
                "{format} {output}"
            );
        }
        // …and `/api/items`.
        let api: serde_json::Value =
            serde_json::from_str(&body(&format!("{base}/api/items?limit=1000")).await).unwrap();
        let api_stories: BTreeSet<String> = api["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| {
                assert_eq!(i["story"], i["id"]);
                i["story"].as_str().unwrap().to_string()
            })
            .collect();
        assert_eq!(api_stories, stories["merged"], "{format}");
    }
    // `.xml` is no format: a 404 naming the ones there are (as `export --format xml`).
    let (status, _, text) = get(&format!("{base}/feeds/merged.xml")).await;
    assert_eq!(status, 404);
    assert!(text.contains(".rss, .atom or .json"), "{text}");
    let _ = stop.send(true);
    task.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn atom_outputs_pass_rfc_4287_and_empty_ones_have_a_true_date() {
    let p = Publisher::start().await;
    serve_standard_fixtures(&p);
    p.put(
        "/hostile.rss",
        "application/rss+xml",
        fixture("hostile-titles.rss"),
        false,
    );
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let listen = listener.local_addr().unwrap().to_string();
    let extra = format!(
        "{EMPTY_OUTPUT}\n[[feed]]\nid = \"hostile\"\nurl = \"{}\"\n",
        p.url("/hostile.rss")
    );
    let config = write_config_listen(dir.path(), &p, &listen, &extra);
    let (base, stop, task) = polled_service(&config, listener).await;

    for output in ["merged", "finance", "zh-life", "nothing"] {
        let url = format!("{base}/feeds/{output}.atom");
        let (status, headers, doc) = get(&url).await;
        assert_eq!(status, 200);
        let bad = rfc4287_violations(&doc);
        assert!(bad.is_empty(), "{output}: {bad:?}\n{doc}");
        // Every response has a Last-Modified, and it is the document's own date.
        let feed: atom_syndication::Feed = doc.parse().unwrap();
        let last_modified = headers[reqwest::header::LAST_MODIFIED].to_str().unwrap();
        assert_eq!(
            chrono::DateTime::parse_from_rfc2822(last_modified)
                .unwrap()
                .timestamp(),
            feed.updated().timestamp(),
            "{output}"
        );
    }
    // Most stories carry no author of their own: they are credited to their source feed.
    let merged: atom_syndication::Feed = body(&format!("{base}/feeds/merged.atom"))
        .await
        .parse()
        .unwrap();
    assert!(merged.authors().is_empty());
    for e in merged.entries() {
        let source = e.source().unwrap().title().as_str();
        assert!(!e.authors()[0].name().is_empty());
        if e.authors()[0].name() == source {
            assert!(!source.is_empty());
        }
    }

    // The empty output: dated by the store (its newest item), the same on every request, and
    // conditional GET works on it.
    let url = format!("{base}/feeds/nothing.atom");
    let (_, first, doc) = get(&url).await;
    let (_, second, _) = get(&url).await;
    let lm = first[reqwest::header::LAST_MODIFIED].to_str().unwrap();
    assert_eq!(lm, second[reqwest::header::LAST_MODIFIED].to_str().unwrap());
    assert!(!doc.contains("1970-01-01"), "{doc}");
    let first_seen: BTreeSet<i64> = merged
        .entries()
        .iter()
        .map(|e| e.source().unwrap().updated().timestamp())
        .collect();
    let dated = chrono::DateTime::parse_from_rfc2822(lm)
        .unwrap()
        .timestamp();
    assert!(
        first_seen.contains(&dated),
        "dated {dated}, by an item's first-seen time: {first_seen:?}"
    );
    let client = reqwest::Client::new();
    for (h, v) in [
        (reqwest::header::IF_MODIFIED_SINCE, lm.to_string()),
        (
            reqwest::header::IF_NONE_MATCH,
            first[reqwest::header::ETAG].to_str().unwrap().to_string(),
        ),
    ] {
        let r = client.get(&url).header(h, v).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 304);
    }
    for format in [Format::Rss, Format::Json] {
        let (_, h, doc) = get(&format!("{base}/feeds/nothing.{format}")).await;
        assert_eq!(h[reqwest::header::LAST_MODIFIED].to_str().unwrap(), lm);
        if format == Format::Rss {
            let ch = rss::Channel::read_from(doc.as_bytes()).unwrap();
            let built = chrono::DateTime::parse_from_rfc2822(ch.last_build_date().unwrap());
            assert_eq!(
                built.unwrap().timestamp(),
                chrono::DateTime::parse_from_rfc2822(lm)
                    .unwrap()
                    .timestamp()
            );
        }
    }
    // `export` renders the same empty document (it reads the store through the service).
    let exported = app::export(
        app::load_config(&config, None).unwrap(),
        "nothing",
        Format::Atom,
        None,
    )
    .await
    .unwrap();
    assert_eq!(exported, doc);
    let _ = stop.send(true);
    task.await.unwrap().unwrap();

    // With the service stopped (its store released when `run_service` returned), `export`
    // opens the store itself: still the same bytes.
    let exported = app::export(
        app::load_config(&config, None).unwrap(),
        "nothing",
        Format::Atom,
        None,
    )
    .await
    .unwrap();
    assert_eq!(exported, doc);
}

/// Strings a title or name must never carry to a reader.
const MARKUP: [&str; 9] = [
    "<img", "<script", "<iframe", "<svg", "<b", "<i>", "onerror", "alert(", "&lt;",
];

fn assert_plain(what: &str, s: &str) {
    for m in MARKUP {
        assert!(!s.contains(m), "{what}: {s:?} contains {m:?}");
    }
    assert_eq!(s, s.trim(), "{what}");
    assert!(!s.contains("  "), "{what}: {s:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_titles_and_names_are_plain_text_in_every_format_and_page() {
    let p = Publisher::start().await;
    p.put(
        "/hostile.rss",
        "application/rss+xml",
        fixture("hostile-titles.rss"),
        false,
    );
    p.put(
        "/hostile.atom",
        "application/atom+xml",
        fixture("hostile-titles.atom"),
        false,
    );
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let config = dir.path().join("feeds.toml");
    std::fs::write(
        &config,
        format!(
            r#"[service]
listen = "{listen}"
data_dir = "store"
public_url = "http://feeds.test/"
default_schedule = "0 0 0 1 1 * 2099"

[[feed]]
id = "evil-rss"
url = "{rss}"

[[feed]]
id = "evil-atom"
url = "{atom}"

[[output]]
name = "hostile"
title = "Hostile <i>output</i> &amp; more"
sources = ["evil-rss", "evil-atom"]
"#,
            listen = listener.local_addr().unwrap(),
            rss = p.url("/hostile.rss"),
            atom = p.url("/hostile.atom"),
        ),
    )
    .unwrap();
    let (base, stop, task) = polled_service(&config, listener).await;
    let want_titles: BTreeSet<&str> = [
        "Title here",
        "Second story & more",
        "Third entry",
        "Fourth bold & \"quoted\"",
    ]
    .into();
    let want_authors: BTreeSet<&str> = ["a", "Bob the builder", "Eve"].into();
    let want_sources: BTreeSet<&str> = ["Evil Feed", "Atom evil"].into();

    for output in ["hostile", "merged"] {
        let out_title = if output == "hostile" {
            "Hostile output & more"
        } else {
            "feedsift: all items"
        };
        // RSS.
        let doc = body(&format!("{base}/feeds/{output}.rss")).await;
        assert!(!doc.contains("alert(") && !doc.contains("onerror"), "{doc}");
        let ch = rss::Channel::read_from(doc.as_bytes()).unwrap();
        assert_eq!(ch.title(), out_title);
        let titles: BTreeSet<&str> = ch.items().iter().map(|i| i.title().unwrap()).collect();
        assert_eq!(titles, want_titles, "rss {output}");
        let authors: BTreeSet<&str> = ch
            .items()
            .iter()
            .flat_map(|i| i.dublin_core_ext().map(|d| d.creators()).unwrap_or(&[]))
            .map(String::as_str)
            .collect();
        assert_eq!(authors, want_authors, "rss {output}");
        let sources: BTreeSet<&str> = ch
            .items()
            .iter()
            .map(|i| i.source().unwrap().title().unwrap())
            .collect();
        assert_eq!(sources, want_sources, "rss {output}");

        // Atom.
        let doc = body(&format!("{base}/feeds/{output}.atom")).await;
        assert!(!doc.contains("alert(") && !doc.contains("onerror"), "{doc}");
        assert!(rfc4287_violations(&doc).is_empty(), "{doc}");
        let feed: atom_syndication::Feed = doc.parse().unwrap();
        assert_eq!(feed.title().as_str(), out_title);
        let titles: BTreeSet<&str> = feed.entries().iter().map(|e| e.title().as_str()).collect();
        assert_eq!(titles, want_titles, "atom {output}");
        for e in feed.entries() {
            for a in e.authors() {
                assert_plain("atom author", a.name());
            }
            assert_plain("atom source", e.source().unwrap().title());
        }
        // The one entry with no author of its own is credited to its (plain) source.
        let fourth = feed
            .entries()
            .iter()
            .find(|e| e.title().as_str().starts_with("Fourth"))
            .unwrap();
        assert_eq!(fourth.authors()[0].name(), "Atom evil");

        // JSON Feed.
        let doc = body(&format!("{base}/feeds/{output}.json")).await;
        assert!(!doc.contains("alert(") && !doc.contains("onerror"), "{doc}");
        let v: serde_json::Value = serde_json::from_str(&doc).unwrap();
        assert_eq!(v["title"], out_title);
        let items = v["items"].as_array().unwrap();
        let titles: BTreeSet<&str> = items.iter().map(|i| i["title"].as_str().unwrap()).collect();
        assert_eq!(titles, want_titles, "json {output}");
        for i in items {
            assert_plain(
                "json original_title",
                i["_feedsift"]["original_title"].as_str().unwrap(),
            );
            assert_plain(
                "json source",
                i["_feedsift"]["source"]["title"].as_str().unwrap(),
            );
            for a in i["authors"].as_array().into_iter().flatten() {
                assert_plain("json author", a["name"].as_str().unwrap());
            }
        }
    }

    // /api/items.
    let api: serde_json::Value =
        serde_json::from_str(&body(&format!("{base}/api/items")).await).unwrap();
    let items = api["items"].as_array().unwrap();
    let titles: BTreeSet<&str> = items.iter().map(|i| i["title"].as_str().unwrap()).collect();
    assert_eq!(titles, want_titles);
    let authors: BTreeSet<&str> = items
        .iter()
        .flat_map(|i| i["authors"].as_array().unwrap())
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(authors, want_authors);
    for i in items {
        assert_plain("api original_title", i["original_title"].as_str().unwrap());
        assert_plain("api source", i["source"]["title"].as_str().unwrap());
    }
    // /api/outputs, the index page and the OPML list of outputs.
    let outputs = body(&format!("{base}/api/outputs")).await;
    assert!(outputs.contains("\"Hostile output & more\""), "{outputs}");
    let index = body(&format!("{base}/")).await;
    // Escaped (the page's template engine writes `&` as `&#38;`, the OPML as `&amp;`).
    assert!(
        index.contains("Hostile output &amp; more") || index.contains("Hostile output &#38; more"),
        "{index}"
    );
    assert!(
        !index.contains("&lt;i&gt;") && !index.contains("<i>"),
        "{index}"
    );
    let opml = body(&format!("{base}/outputs.opml")).await;
    assert!(
        opml.contains("text=\"Hostile output &amp; more\""),
        "{opml}"
    );

    // `export` writes the same bytes as HTTP.
    let exported = app::export(
        app::load_config(&config, None).unwrap(),
        "hostile",
        Format::Json,
        None,
    )
    .await
    .unwrap();
    assert_eq!(exported, body(&format!("{base}/feeds/hostile.json")).await);
    let _ = stop.send(true);
    task.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zero_byte_feed_is_reported_as_an_empty_body() {
    let p = Publisher::start().await;
    p.put("/empty.xml", "application/rss+xml", Vec::new(), false);
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("feeds.toml");
    std::fs::write(
        &config,
        format!(
            "[service]\nlisten = \"127.0.0.1:0\"\ndata_dir = \"store\"\n\n[[feed]]\nid = \"empty\"\nurl = \"{}\"\n",
            p.url("/empty.xml")
        ),
    )
    .unwrap();
    let service = Service::open(app::load_config(&config, None).unwrap()).unwrap();
    let summary = app::poll_once(&service, false).await.unwrap();
    assert_eq!(summary.failed.len(), 1, "{summary:?}");
    let (feed, error) = &summary.failed[0];
    assert_eq!(feed, "empty");
    assert!(error.contains("body was empty"), "{error}");
    assert!(!error.contains("root element"), "{error}");
}

#[test]
fn unknown_formats_are_refused_with_the_valid_ones_listed() {
    for bad in ["xml", "rdf", "RSS"] {
        let e = bad.parse::<Format>().unwrap_err();
        assert!(e.contains("rss, atom or json"), "{e}");
    }
    for (s, f) in [
        ("rss", Format::Rss),
        ("atom", Format::Atom),
        ("json", Format::Json),
    ] {
        assert_eq!(s.parse::<Format>().unwrap(), f);
    }
}
