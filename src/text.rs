//! Small text helpers shared by several stages: HTML to plain text, entity decoding, whitespace.
//!
//! They live apart from any stage so that, for example, the publisher can make a plain-text
//! summary without depending on the normaliser.

/// Plain text of an HTML fragment: tags and comments dropped, `<script>`/`<style>` dropped
/// with their contents, entities decoded, whitespace collapsed. A `<` that starts no tag
/// (`a < b`) is text.
pub fn html_to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(lt) = rest.find('<') {
        out.push_str(&rest[..lt]);
        let after = &rest[lt..];
        let starts_tag = after[1..]
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || matches!(c, '/' | '!' | '?'));
        if !starts_tag {
            out.push('<');
            rest = &after[1..];
            continue;
        }
        if after.starts_with("<!--") {
            rest = after.find("-->").map_or("", |e| &after[e + 3..]);
            out.push(' ');
            continue;
        }
        let Some(gt) = after.find('>') else {
            rest = "";
            break;
        };
        let name: String = after[1..gt]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        rest = &after[gt + 1..];
        if name == "script" || name == "style" {
            // Everything up to the matching end tag is code, not text.
            let close = format!("</{name}");
            let lower = rest.to_ascii_lowercase();
            rest = match lower.find(&close) {
                Some(p) => rest[p..].find('>').map_or("", |e| &rest[p + e + 1..]),
                None => "",
            };
        }
        // A tag separates words (`<p>a</p><p>b</p>` is "a b").
        out.push(' ');
    }
    out.push_str(rest);
    collapse_ws(&decode_entities(&out))
}

/// A title or a name as plain text: tags (and `<script>`/`<style>` contents) removed, entities
/// decoded, whitespace collapsed — what feed readers that render titles as HTML would show,
/// without anything for them to render. Markup that decoding reveals (`&lt;img …&gt;`) is
/// removed too, so the result holds no tag whichever way a reader takes it, and applying it
/// again changes nothing (it repeats until nothing changes; each change shortens the text, so
/// it ends). Text with no `<` or `&` and tidy whitespace is returned as is, unallocated.
pub fn plain_text(s: &str) -> std::borrow::Cow<'_, str> {
    if is_tidy(s) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut text = html_to_text(s);
    // Each pass that changes anything shortens the text or only tidies its spaces; the bound is
    // a backstop.
    for _ in 0..32 {
        let again = html_to_text(&text);
        if again == text {
            break;
        }
        text = again;
    }
    std::borrow::Cow::Owned(text)
}

/// Tidy already: no markup or entity, single plain spaces between words, none at the ends. One
/// pass over the bytes (titles are published by the thousand per page): every character that
/// could fail the check is ASCII or starts with one of four lead bytes (White_Space outside
/// ASCII is U+0085, U+00A0, U+1680, U+2000–U+205F and U+3000), so only those are decoded.
fn is_tidy(s: &str) -> bool {
    if s.starts_with(' ') || s.ends_with(' ') {
        return false;
    }
    let bytes = s.as_bytes();
    let mut after_space = false;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b.is_ascii() {
            match b {
                b'<' | b'&' => return false,
                b' ' if after_space => return false,
                b' ' => after_space = true,
                b'\t' | b'\n' | 0x0b | 0x0c | b'\r' => return false,
                _ => after_space = false,
            }
            i += 1;
            continue;
        }
        if matches!(b, 0xC2 | 0xE1 | 0xE2 | 0xE3) && s[i..].chars().next().is_some_and(is_space) {
            return false;
        }
        after_space = false;
        // A lead byte gives its character's length (`s` is UTF-8).
        i += match b {
            0xF0.. => 4,
            0xE0.. => 3,
            _ => 2,
        };
    }
    true
}

/// Whitespace as [`collapse_ws`] sees it.
fn is_space(c: char) -> bool {
    c.is_whitespace() || c == '\u{3000}' || c == '\u{a0}'
}

/// Decodes the HTML entities that survive into feed text: the XML five, `&nbsp;` and numeric ones.
pub fn decode_entities(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp..];
        let end = after.find(';').filter(|&e| e <= 10);
        let decoded = end.and_then(|e| {
            let name = &after[1..e];
            let ch = match name {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                "nbsp" => Some(' '),
                _ if name.starts_with("#x") || name.starts_with("#X") => {
                    u32::from_str_radix(&name[2..], 16)
                        .ok()
                        .and_then(char::from_u32)
                }
                _ if name.starts_with('#') => name[1..].parse().ok().and_then(char::from_u32),
                _ => None,
            };
            ch.map(|c| (c, e + 1))
        });
        match decoded {
            Some((c, len)) => {
                out.push(c);
                rest = &after[len..];
            }
            None => {
                out.push('&');
                rest = &after[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Escapes text for inclusion in HTML or XML element content and attribute values.
pub fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Collapses runs of whitespace (including full-width spaces and NBSP) to one space and trims.
pub fn collapse_ws(s: &str) -> String {
    s.split(is_space)
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Characters U+0080–U+009F (C1 controls) read as the Windows-1252 characters they almost
/// always are: a page written in cp1252 and labelled ISO-8859-1, or `&#146;` typed for `’`
/// (WHATWG Encoding treats the ISO-8859-1 label as windows-1252 for the same reason). The five
/// positions cp1252 leaves undefined are dropped. Text without C1 controls is returned as is.
pub fn fix_c1_controls(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.chars().any(|c| ('\u{80}'..='\u{9f}').contains(&c)) {
        return std::borrow::Cow::Borrowed(s);
    }
    const CP1252: [Option<char>; 32] = [
        Some('€'),
        None,
        Some('‚'),
        Some('ƒ'),
        Some('„'),
        Some('…'),
        Some('†'),
        Some('‡'),
        Some('ˆ'),
        Some('‰'),
        Some('Š'),
        Some('‹'),
        Some('Œ'),
        None,
        Some('Ž'),
        None,
        None,
        Some('‘'),
        Some('’'),
        Some('“'),
        Some('”'),
        Some('•'),
        Some('–'),
        Some('—'),
        Some('˜'),
        Some('™'),
        Some('š'),
        Some('›'),
        Some('œ'),
        None,
        Some('ž'),
        Some('Ÿ'),
    ];
    std::borrow::Cow::Owned(
        s.chars()
            .filter_map(|c| match c as u32 {
                0x80..=0x9f => CP1252[(c as u32 - 0x80) as usize],
                _ => Some(c),
            })
            .collect(),
    )
}

/// A URL with its password replaced by `***`, for logs and errors.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The one-pass check says what the five checks it replaced said.
        #[test]
        fn tidy_is_the_five_checks_in_one_pass(s in "[a-z <&\t\n\u{b}\u{c}\r\u{1c}\u{85}\u{a0}\u{a9}\u{1680}\u{1681}\u{2000}-\u{2010}\u{2028}\u{2029}\u{202f}\u{205f}\u{2060}\u{3000}\u{3001}\u{4e00}-\u{4e08}\u{1f600}]{0,12}") {
            let five = !s.contains(['<', '&'])
                && !s.starts_with(' ')
                && !s.ends_with(' ')
                && !s.contains("  ")
                && !s.chars().any(|c| is_space(c) && c != ' ');
            prop_assert_eq!(is_tidy(&s), five);
        }
    }

    #[test]
    fn html_to_text_and_entities() {
        assert_eq!(
            html_to_text("<p>a&amp;b</p><p>c&#20013;&#x6587;</p>"),
            "a&b c中文"
        );
        assert_eq!(html_to_text("AT&T <b>x"), "AT&T x");
        assert_eq!(html_to_text("a < b and c<d"), "a < b and c"); // `<d`: an unclosed tag
        assert_eq!(
            html_to_text("x<script>alert('<b>')</script>y<STYLE>p{}</style >z<!-- c -->w"),
            "x y z w"
        );
        assert_eq!(html_to_text("a<script>never closed"), "a");
        assert_eq!(fix_c1_controls("don\u{92}t \u{80}5\u{81}"), "don’t €5");
        assert!(matches!(
            fix_c1_controls("plain"),
            std::borrow::Cow::Borrowed(_)
        ));
        assert_eq!(collapse_ws(" a \u{3000} b\n"), "a b");
    }

    #[test]
    fn plain_text_has_no_markup_and_is_a_fixed_point() {
        let cases = [
            ("Title <img src=x onerror=alert(1)> here", "Title here"),
            ("a<script>b", "a"),
            ("a<script>alert(1)</script>b", "a b"),
            (
                "Title &lt;img src=x onerror=alert(1)&gt; here",
                "Title here",
            ),
            ("&amp;lt;b&amp;gt;bold", "bold"),
            ("AT&amp;T &amp; R&D", "AT&T & R&D"),
            ("  many \t\n spaces\u{3000}here ", "many spaces here"),
            ("x < y and 3<4", "x < y and 3<4"),
            // Once `<b>` is gone, `< img` starts no tag (in HTML either): text.
            (
                "<<b>img src=x onerror=alert(1)>",
                "< img src=x onerror=alert(1)>",
            ),
            ("每日焦点!巴西龟的饲养方法", "每日焦点!巴西龟的饲养方法"),
            ("", ""),
        ];
        for (input, want) in cases {
            let got = plain_text(input);
            assert_eq!(got, want, "{input:?}");
            assert_eq!(plain_text(&got), got, "idempotent on {input:?}");
            let starts_tag = got.match_indices('<').any(|(i, _)| {
                got[i + 1..]
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_alphabetic() || matches!(c, '/' | '!' | '?'))
            });
            assert!(!starts_tag, "{got:?}");
        }
        assert!(matches!(
            plain_text("Plain title, tidy"),
            std::borrow::Cow::Borrowed(_)
        ));
    }
}
