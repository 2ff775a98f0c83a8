//! Property tests over the text-handling stages: whatever the input, no panic; where an
//! operation normalises, doing it twice changes nothing.
//!
//! Inputs mix the shapes real feeds send: Chinese titles with content-farm decorations, URLs with
//! tracking parameters, HTML with hostile attributes, and arbitrary bytes.

use feedsift::dedup::{canonical_url, title};
use feedsift::normalize::{parse_feed, repair, sanitize_html};
use proptest::prelude::*;
use url::Url;

/// Titles built from the pieces content farms use, plus arbitrary text.
fn titles() -> impl Strategy<Value = String> {
    let prefix = prop::sample::select(vec![
        "",
        "每日焦点!",
        "【环球报资讯】",
        "今日热搜:",
        "［今日热讯］",
        "最新看点：",
        "Breaking: ",
    ]);
    let core = prop::sample::select(vec![
        "川渝党政联席会议在重庆召开",
        "巴西龟的饲养方法",
        "信用卡逾期了怎么办",
        "北向资金增持3.54万股",
        "Central bank holds rates",
        "",
    ]);
    let suffix = prop::sample::select(vec![
        "",
        "|环球快资讯",
        "_当前独家",
        " - 天天要闻",
        "—朝闻天下",
        " | Reuters",
    ]);
    prop_oneof![
        (prefix, core, suffix).prop_map(|(p, c, s)| format!("{p}{c}{s}")),
        ".{0,40}",
    ]
}

fn urls() -> impl Strategy<Value = String> {
    let host = prop::sample::select(vec![
        "News.Example.CN",
        "e.com",
        "EXAMPLE.org:80",
        "e.com:8443",
    ]);
    let path = "[a-z0-9/._~-]{0,20}";
    let params = prop::collection::vec(
        (
            prop::sample::select(vec!["utm_source", "id", "a", "spm", "fbclid", "Page", "q"]),
            "[a-zA-Z0-9%+ ]{0,6}",
        ),
        0..5,
    );
    let frag = prop::option::of("[a-z]{1,5}");
    (
        prop::sample::select(vec!["http", "HTTPS", "ftp"]),
        host,
        path,
        params,
        frag,
    )
        .prop_map(|(scheme, host, path, params, frag)| {
            let mut u = format!("{scheme}://{host}/{path}");
            if !params.is_empty() {
                u.push('?');
                let q: Vec<String> = params.iter().map(|(k, v)| format!("{k}={v}")).collect();
                u.push_str(&q.join("&"));
            }
            if let Some(f) = frag {
                u.push('#');
                u.push_str(&f);
            }
            u
        })
}

fn html() -> impl Strategy<Value = String> {
    let piece = prop::sample::select(vec![
        "<p>",
        "</p>",
        "<b>x</b>",
        "<script>alert(1)</script>",
        "<img src=\"/a.png\" onerror=\"x()\">",
        "<a href=\"javascript:alert(1)\">j</a>",
        "<a href=\"/rel\">r</a>",
        "<iframe src=\"//e\">",
        "<style>p{}</style>",
        "&amp;",
        "&nbsp;",
        "&",
        "<",
        ">",
        "文字",
        "<div style=\"x:expression(1)\">",
        "<!-- c -->",
        "<![CDATA[x]]>",
        "<form><input></form>",
        "\u{92}",
    ]);
    prop::collection::vec(piece, 0..12).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn cleaning_a_cleaned_title_changes_nothing(t in titles()) {
        let once = title::clean(&t);
        prop_assert_eq!(title::clean(&once), once.clone());
        let core = title::index_core(&t);
        prop_assert_eq!(title::index_core(&title::index_core(&t)), core);
    }

    #[test]
    fn canonicalising_a_canonical_url_changes_nothing(u in urls()) {
        if let Some(c) = canonical_url(&u) {
            prop_assert_eq!(canonical_url(&c), Some(c.clone()));
            let parsed = Url::parse(&c).unwrap();
            prop_assert!(matches!(parsed.scheme(), "http" | "https"));
            // No tracking parameters and no fragment: a path may well say `utm_` itself.
            prop_assert!(parsed
                .query_pairs()
                .all(|(k, _)| !k.starts_with("utm_") && k != "fbclid"));
            prop_assert!(parsed.fragment().is_none());
        }
    }

    #[test]
    fn sanitising_is_idempotent_and_leaves_nothing_active(h in html()) {
        let base = Url::parse("http://e.com/a/b.html").unwrap();
        let once = sanitize_html(&h, &base);
        prop_assert_eq!(sanitize_html(&once, &base), once.clone());
        // Escaped text (`&lt;img onerror=…&gt;`) is harmless; markup that is still markup is not.
        let lower = once.to_lowercase();
        for bad in ["<script", "<iframe", "<style", "<form", "<input"] {
            prop_assert!(!lower.contains(bad), "{} in {}", bad, once);
        }
        let in_tag = regex::Regex::new(r"<[^>]*(javascript:|\son[a-z]+\s*=|expression\(|\sstyle\s*=)").unwrap();
        prop_assert!(!in_tag.is_match(&lower), "active attribute in {}", once);
    }

    #[test]
    fn the_normaliser_never_panics_on_any_bytes(body in prop::collection::vec(any::<u8>(), 0..2000)) {
        let base = Url::parse("http://e.com/feed").unwrap();
        let _ = parse_feed(&body, None, &base, "f", chrono_tz::Asia::Shanghai);
        let _ = parse_feed(&body, Some("text/xml; charset=gbk"), &base, "f", chrono_tz::UTC);
    }

    #[test]
    fn the_normaliser_never_panics_on_a_mangled_feed(cut in 0usize..1200, insert in ".{0,8}", at in 0usize..1200) {
        let mut doc = String::from_utf8(std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/money.rss")).unwrap()).unwrap();
        let at = (0..=at.min(doc.len())).rev().find(|i| doc.is_char_boundary(*i)).unwrap_or(0);
        doc.insert_str(at, &insert);
        let keep = doc.len() - cut.min(doc.len() / 2);
        let keep = (0..=keep).rev().find(|i| doc.is_char_boundary(*i)).unwrap_or(0);
        doc.truncate(keep);
        let base = Url::parse("http://e.com/feed").unwrap();
        let _ = parse_feed(doc.as_bytes(), None, &base, "f", chrono_tz::Asia::Shanghai);
        let _ = repair::repair(&doc);
        let _ = feedsift::text::html_to_text(&doc);
    }
}
