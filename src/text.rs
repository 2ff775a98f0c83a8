//! Small text helpers shared by several stages: HTML to plain text, entity decoding, whitespace.
//!
//! They live apart from any stage so that, for example, the publisher can make a plain-text
//! summary without depending on the normaliser.

/// Plain text of an HTML fragment: tags dropped, entities decoded, whitespace collapsed.
pub fn html_to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(lt) = rest.find('<') {
        out.push_str(&rest[..lt]);
        let after = &rest[lt..];
        // Block-level tags separate words; inline ones do not.
        match after.find('>') {
            Some(gt) => {
                out.push(' ');
                rest = &after[gt + 1..];
            }
            None => {
                rest = "";
            }
        }
    }
    out.push_str(rest);
    collapse_ws(&decode_entities(&out))
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
    s.split(|c: char| c.is_whitespace() || c == '\u{3000}' || c == '\u{a0}')
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_to_text_and_entities() {
        assert_eq!(
            html_to_text("<p>a&amp;b</p><p>c&#20013;&#x6587;</p>"),
            "a&b c中文"
        );
        assert_eq!(html_to_text("AT&T <b>x"), "AT&T x");
        assert_eq!(collapse_ws(" a \u{3000} b\n"), "a b");
    }
}
