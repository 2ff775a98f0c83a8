//! The repair pass: turns the ill-formed XML that real feeds send into XML `feed-rs` accepts,
//! the way forgiving readers (feedparser, browsers) read it, without dropping content.
//!
//! It runs only when a document fails to parse, or parses to no entries although it has
//! `<item>`/`<entry>` elements; a well-formed feed is never rewritten. Each repair closes one
//! class of failure measured on the shared corpus of real test feeds (`docs/ROBUSTNESS.md`):
//!
//! | class | repair |
//! | --- | --- |
//! | `<rss>` without `version` (RSS 0.9x habit) | `version="2.0"` added |
//! | `<rss xmlns="http://backend.userland.com/rss2">` (0 items, no error) | the default namespace removed |
//! | Atom text construct with a MIME `type` (`text/plain`, `application/xhtml+xml`, `TEXT`) | mapped to `text`/`html`/`xhtml` (RFC 4287 §3.1) |
//! | bare `&` (`?a=1&b=2`, `AT&T`) | escaped to `&amp;` |
//! | HTML named entities without a DTD (`&nbsp;`, `&eacute;`) | numeric references (`&#160;`) |
//! | unknown entities (`&foo;`) | kept as text: `&amp;foo;` |
//! | unclosed `<![CDATA[` | closed before the next end tag |
//! | `<!DOCTYPE …>` with an internal subset | removed — declared entities are never expanded, external ones never fetched (XXE, "billion laughs") |
//! | `<item>`s straight under `<rss>`, no `<channel>` | wrapped in a `<channel>` |
//! | Atom 0.3 (`http://purl.org/atom/ns#`, read as no entries) | read as Atom 1.0: the namespace, `modified`/`issued`/`tagline`/`copyright` renamed (RFC 4287 Appendix) |
//!
//! CDATA sections, comments and processing instructions are copied untouched.

use super::entities::HTML4;

/// The repaired document, or `None` when the pass found nothing to repair.
pub fn repair(xml: &str) -> Option<String> {
    let mut r = Repair {
        out: String::with_capacity(xml.len() + 64),
        changed: false,
        root: Root::Unseen,
        root_end: None,
        open: Vec::new(),
    };
    let mut rest = xml;
    while let Some(pos) = rest.find(['<', '&']) {
        r.out.push_str(&rest[..pos]);
        rest = &rest[pos..];
        let used = if rest.starts_with('&') {
            r.entity(rest)
        } else if rest.starts_with("<![CDATA[") {
            r.cdata(rest)
        } else if rest.starts_with("<!--") {
            r.copy_until(rest, "-->")
        } else if rest
            .get(..9)
            .is_some_and(|p| p.eq_ignore_ascii_case("<!DOCTYPE"))
        {
            r.changed = true;
            doctype_end(rest)
        } else if rest.starts_with("<?") || rest.starts_with("<!") {
            r.copy_until(rest, ">")
        } else {
            r.tag(rest)
        };
        rest = &rest[used..];
    }
    r.out.push_str(rest);
    r.finish()
}

/// The repair pass's state while it walks the document.
struct Repair {
    out: String,
    changed: bool,
    root: Root,
    /// Where the root's start tag ends in `out`, for a `<channel>` to go after it.
    root_end: Option<usize>,
    /// Elements open at this point of the document, outermost first, with where each starts
    /// in `out`.
    open: Vec<(String, usize)>,
}

impl Repair {
    /// Copies or fixes the entity reference `rest` starts with; returns the bytes read.
    fn entity(&mut self, rest: &str) -> usize {
        let (len, fixed) = entity(rest);
        match fixed {
            Some(f) => {
                self.out.push_str(&f);
                self.changed = true;
            }
            None => self.out.push_str(&rest[..len]),
        }
        len
    }

    /// Copies the CDATA section `rest` starts with, closing it before the next end tag when
    /// it is never closed.
    fn cdata(&mut self, rest: &str) -> usize {
        match rest.find("]]>") {
            Some(end) => {
                self.out.push_str(&rest[..end + 3]);
                end + 3
            }
            None => {
                let end = rest[9..].find("</").map_or(rest.len(), |p| p + 9);
                self.out.push_str(&rest[..end]);
                self.out.push_str("]]>");
                self.changed = true;
                end
            }
        }
    }

    /// Copies `rest` up to and including `close` (or to the end).
    fn copy_until(&mut self, rest: &str, close: &str) -> usize {
        let end = rest.find(close).map_or(rest.len(), |p| p + close.len());
        self.out.push_str(&rest[..end]);
        end
    }

    /// Copies or fixes the tag `rest` starts with (a `<` that starts no tag is text).
    fn tag(&mut self, rest: &str) -> usize {
        // A `<` that starts no tag (`a < b`) is text.
        let starts_tag = rest[1..]
            .chars()
            .next()
            .is_some_and(|c| c.is_alphabetic() || c == '_' || c == ':' || c == '/');
        if !starts_tag {
            self.out.push_str("&lt;");
            self.changed = true;
            return 1;
        }
        let end = tag_end(rest);
        let tag = &rest[..end];
        // A tag cut off by the end of the document or by the next tag is closed.
        let closed;
        let tag = if tag.ends_with('>') {
            tag
        } else {
            self.changed = true;
            closed = format!("{}>", tag.trim_end());
            closed.as_str()
        };
        let was_unseen = self.root == Root::Unseen;
        let fixed = fix_tag(tag, &mut self.root);
        if fixed != tag {
            self.changed = true;
        }
        let name = tag_name(&fixed).to_string();
        if fixed.starts_with("</") {
            self.end_tag(&name, &fixed);
        } else {
            let at = self.out.len();
            self.out.push_str(&fixed);
            if !fixed.ends_with("/>") && !name.is_empty() {
                self.open.push((name, at));
            }
        }
        if was_unseen && self.root != Root::Unseen {
            self.root_end = Some(self.out.len());
        }
        end
    }

    /// An end tag: elements left open inside it are closed first; one with no start tag is
    /// dropped.
    fn end_tag(&mut self, name: &str, fixed: &str) {
        match self.open.iter().rposition(|(n, _)| n == name) {
            Some(i) => {
                for (n, _) in self.open.drain(i + 1..).rev() {
                    self.out.push_str(&format!("</{n}>"));
                    self.changed = true;
                }
                self.open.pop();
                self.out.push_str(fixed);
            }
            None => self.changed = true,
        }
    }

    /// Closes what the document left open and wraps channel-less RSS items.
    fn finish(mut self) -> Option<String> {
        // A document cut off (or never closed) gets its open elements closed — except an entry
        // cut off half-way, which is left out whole: its title or text may be cut too, and the
        // next poll reads it complete.
        if let Some(i) = self.open.iter().position(|(n, _)| {
            let local = n.rsplit(':').next().unwrap_or(n);
            local == "item" || local == "entry"
        }) {
            self.out.truncate(self.open[i].1);
            self.open.truncate(i);
        }
        for (n, _) in self.open.drain(..).rev() {
            self.out.push_str(&format!("</{n}>"));
            self.changed = true;
        }
        let out = &mut self.out;
        if self.root == Root::Rss && !out.contains("<channel") && out.contains("<item") {
            let root_end = self.root_end;
            if let Some(at) = root_end.filter(|_| !out[..root_end.unwrap_or(0)].ends_with("/>")) {
                let close = out.rfind("</rss>").unwrap_or(out.len());
                out.insert_str(close, "</channel>");
                out.insert_str(at, "<channel>");
                self.changed = true;
            }
        }
        self.changed.then_some(self.out)
    }
}

/// What the document's root element turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Root {
    Unseen,
    Rss,
    /// An Atom 0.3 `<feed>`, read as Atom 1.0.
    Atom03,
    Other,
}

/// Atom 0.3 element names and their Atom 1.0 equivalents.
const ATOM03_RENAMES: &[(&str, &str)] = &[
    ("modified", "updated"),
    ("issued", "published"),
    ("tagline", "subtitle"),
    ("copyright", "rights"),
];

/// The deepest element nesting of `xml`, counted cheaply (tags only). The parsers recurse over
/// nested elements, so a hostile document 100,000 levels deep must be refused before them.
pub fn max_depth(xml: &str) -> usize {
    let bytes = xml.as_bytes();
    let (mut depth, mut max) = (0usize, 0usize);
    let mut i = 0;
    while let Some(p) = memchr(b'<', &bytes[i..]) {
        i += p;
        let rest = &xml[i..];
        if rest.starts_with("<![CDATA[") {
            i += rest.find("]]>").map_or(rest.len(), |e| e + 3);
            continue;
        }
        if rest.starts_with("<!--") {
            i += rest.find("-->").map_or(rest.len(), |e| e + 3);
            continue;
        }
        let end = tag_end(rest);
        let tag = &rest[..end];
        if tag.starts_with("</") {
            depth = depth.saturating_sub(1);
        } else if !(tag.starts_with("<!") || tag.starts_with("<?") || tag.ends_with("/>")) {
            depth += 1;
            max = max.max(depth);
        }
        i += end.max(1);
    }
    max
}

fn memchr(needle: u8, hay: &[u8]) -> Option<usize> {
    hay.iter().position(|&b| b == needle)
}

/// The element name of a start or end tag (`<a:b x="1">` → `a:b`).
fn tag_name(tag: &str) -> &str {
    let t = tag.trim_start_matches('<').trim_start_matches('/');
    let end = t
        .find(|c: char| c.is_whitespace() || c == '>' || c == '/')
        .unwrap_or(t.len());
    &t[..end]
}

/// The length of the tag at the start of `s`: up to the first `>` outside quotes (or the first
/// `>` at all when the quotes never balance).
fn tag_end(s: &str) -> usize {
    let mut quote: Option<u8> = None;
    for (i, b) in s.bytes().enumerate().skip(1) {
        match (quote, b) {
            (None, b'"' | b'\'') => quote = Some(b),
            (Some(q), _) if b == q => quote = None,
            (None, b'>') => return i + 1,
            // A new tag before this one closed: the tag was never finished.
            (None, b'<') => return i,
            _ => {}
        }
    }
    s.find('>').map_or(s.len(), |p| p + 1)
}

/// The end of a `<!DOCTYPE …>`, past its internal subset `[…]` if it has one.
fn doctype_end(s: &str) -> usize {
    let mut in_subset = false;
    let mut quote: Option<u8> = None;
    for (i, b) in s.bytes().enumerate() {
        match (quote, b) {
            (None, b'"' | b'\'') => quote = Some(b),
            (Some(q), _) if b == q => quote = None,
            (None, b'[') => in_subset = true,
            (None, b']') => in_subset = false,
            (None, b'>') if !in_subset => return i + 1,
            _ => {}
        }
    }
    s.len()
}

/// One `&…` at the start of `s`: how many bytes it spans and, when it must change, its repair.
fn entity(s: &str) -> (usize, Option<String>) {
    let body: String = s[1..]
        .chars()
        .take(40)
        .take_while(|c| {
            c.is_ascii_alphanumeric() || *c == '#' || *c == '_' || *c == '.' || *c == '-'
        })
        .collect();
    let terminated = s[1 + body.len()..].starts_with(';');
    if body.is_empty() || !terminated {
        return (1, Some("&amp;".into()));
    }
    let len = body.len() + 2;
    if let Some(num) = body.strip_prefix('#') {
        let code = match num.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok(),
            None => num.parse::<u32>().ok(),
        };
        return match code.and_then(char::from_u32) {
            // `&#X41;`: XML wants a lower-case x.
            Some(c) if is_xml_char(c) && num.starts_with('X') => {
                (len, Some(format!("&#x{};", &num[1..])))
            }
            Some(c) if is_xml_char(c) => (len, None),
            _ => (len, Some("&#65533;".into())),
        };
    }
    if matches!(body.as_str(), "amp" | "lt" | "gt" | "quot" | "apos") {
        return (len, None);
    }
    match HTML4.binary_search_by(|(name, _)| (*name).cmp(body.as_str())) {
        Ok(i) => (len, Some(format!("&#{};", HTML4[i].1))),
        Err(_) => (1, Some("&amp;".into())),
    }
}

/// XML 1.0 §2.2 `Char`.
fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// Atom text constructs (RFC 4287 §3.1, and Atom 0.3's names for them).
const TEXT_CONSTRUCTS: &[&str] = &[
    "title",
    "subtitle",
    "summary",
    "rights",
    "tagline",
    "copyright",
    "info",
];

fn fix_tag(tag: &str, root: &mut Root) -> String {
    if let Some(name) = tag.strip_prefix("</") {
        if *root == Root::Atom03 {
            let name = name.trim_end_matches('>').trim();
            let (prefix, local) = name.rsplit_once(':').unwrap_or(("", name));
            if let Some((_, new)) = ATOM03_RENAMES.iter().find(|(old, _)| *old == local) {
                let sep = if prefix.is_empty() { "" } else { ":" };
                return format!("</{prefix}{sep}{new}>");
            }
        }
        return tag.to_string();
    }
    let name_end = tag[1..]
        .find(|c: char| c.is_whitespace() || c == '>' || c == '/')
        .map_or(tag.len(), |p| p + 1);
    let name = &tag[1..name_end];
    // Entities inside attribute values (`href="?a=1&b=2"`).
    let mut fixed = String::with_capacity(tag.len());
    let mut rest = tag;
    while let Some(p) = rest.find('&') {
        fixed.push_str(&rest[..p]);
        let (len, f) = entity(&rest[p..]);
        match f {
            Some(f) => fixed.push_str(&f),
            None => fixed.push_str(&rest[p..p + len]),
        }
        rest = &rest[p + len..];
    }
    fixed.push_str(rest);

    if *root == Root::Unseen {
        if name == "rss" {
            *root = Root::Rss;
            return fix_rss_root(&fixed);
        }
        let local = name.rsplit(':').next().unwrap_or(name);
        if local == "feed" {
            *root = if fixed.contains("http://purl.org/atom/ns#") {
                Root::Atom03
            } else {
                Root::Other
            };
            // feed-rs reads a `<feed>` with no namespace as Atom already.
            return set_default_namespace(&fixed, ATOM_NS, false, |_| true);
        }
        *root = Root::Other;
        if local == "RDF" {
            // RSS 0.90's namespace, or none: read as RSS 1.0.
            return set_default_namespace(&fixed, RSS1_NS, true, |old| {
                old == "http://my.netscape.com/rdf/simple/0.9/"
            });
        }
    }
    let local = name.rsplit(':').next().unwrap_or(name);
    if *root == Root::Atom03 {
        if let Some((old, new)) = ATOM03_RENAMES.iter().find(|(old, _)| *old == local) {
            let at = 1 + name.len() - old.len();
            fixed.replace_range(at..at + old.len(), new);
            return fix_text_construct(fixed, new);
        }
    }
    fix_text_construct(fixed, local)
}

/// A text construct's `type` mapped onto the three RFC 4287 allows; `<content>`'s only where it
/// names one of them another way (`application/xhtml+xml`, `TEXT`, empty), since a real MIME
/// type is legitimate there.
fn fix_text_construct(fixed: String, local: &str) -> String {
    if local == "content" {
        if let Some((_, start, end, value)) = attr(&fixed, "type") {
            let v = value.trim().to_ascii_lowercase();
            let mapped = match v.as_str() {
                "" | "text/plain" | "plain" => "text",
                "application/xhtml+xml" => "xhtml",
                "text" | "html" | "xhtml" | "text/html" => v.as_str(),
                _ => value,
            };
            if mapped != value {
                return format!("{}\"{mapped}\"{}", &fixed[..start], &fixed[end..]);
            }
        }
        return fixed;
    }
    if TEXT_CONSTRUCTS.contains(&local) {
        if let Some((_, start, end, value)) = attr(&fixed, "type") {
            let escaped = attr(&fixed, "mode").is_some_and(|(_, _, _, m)| m == "escaped");
            let v = value.trim().to_ascii_lowercase();
            let mapped = match v.as_str() {
                "text" | "html" | "xhtml" => v.clone(),
                "text/html" => "html".into(),
                "text/plain" | "plain" => "text".into(),
                "application/xhtml+xml" => "xhtml".into(),
                _ if escaped => "html".into(),
                _ if v.contains("html") => "html".into(),
                _ => "text".into(),
            };
            if mapped != value {
                return format!("{}\"{mapped}\"{}", &fixed[..start], &fixed[end..]);
            }
        }
    }
    fixed
}

const ATOM_NS: &str = "http://www.w3.org/2005/Atom";
const RSS1_NS: &str = "http://purl.org/rss/1.0/";

/// The root's default namespace set to `ns`: added when missing (if `add`), replaced when
/// `replace` says the present one is a variant to read as `ns`.
fn set_default_namespace(tag: &str, ns: &str, add: bool, replace: impl Fn(&str) -> bool) -> String {
    match attr(tag, "xmlns") {
        Some((_, start, end, old)) if old != ns && replace(old) => {
            format!("{}\"{ns}\"{}", &tag[..start], &tag[end..])
        }
        Some(_) => tag.to_string(),
        None if !add => tag.to_string(),
        None => {
            let at = tag
                .find(|c: char| c.is_whitespace() || c == '>' || c == '/')
                .unwrap_or(tag.len());
            format!("{} xmlns=\"{ns}\"{}", &tag[..at], &tag[at..])
        }
    }
}

/// `<rss>`: a `version` feed-rs reads (2.0 for versions it does not know, such as 0.93 or
/// 0.94 — RSS 2.0 is their superset) when it has none, no default namespace.
fn fix_rss_root(tag: &str) -> String {
    let mut t = tag.to_string();
    if let Some((name_start, _, end, _)) = attr(&t, "xmlns") {
        // From the white space before `xmlns` to the end of its value.
        let from = t[..name_start].trim_end().len();
        t.replace_range(from..end, "");
    }
    match attr(&t, "version") {
        None => t.insert_str(4, " version=\"2.0\""),
        Some((_, start, end, v)) if !matches!(v.trim(), "2.0" | "0.91" | "0.92") => {
            t.replace_range(start..end, "\"2.0\"");
        }
        Some(_) => {}
    }
    t
}

/// Attribute `name` in `tag`: (start of its name, start of the quoted value, end after the
/// closing quote, the value).
fn attr<'a>(tag: &'a str, name: &str) -> Option<(usize, usize, usize, &'a str)> {
    let bytes = tag.as_bytes();
    let mut search = 0;
    while let Some(p) = tag[search..].find(name) {
        let at = search + p;
        search = at + name.len();
        let before_ok = at > 0 && bytes[at - 1].is_ascii_whitespace();
        let after = tag[search..].trim_start();
        if !before_ok || !after.starts_with('=') {
            continue;
        }
        let value_part = after[1..].trim_start();
        let quote = value_part.chars().next()?;
        if quote != '"' && quote != '\'' {
            return None;
        }
        let start = tag.len() - value_part.len();
        let close = value_part[1..].find(quote)? + 1;
        let value = &value_part[1..close];
        return Some((at, start, start + close + 1, value));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repairs_by_class() {
        let cases: &[(&str, Option<&str>)] = &[
            ("<rss><channel/></rss>", Some("<rss version=\"2.0\"><channel/></rss>")),
            (
                "<rss xmlns=\"http://backend.userland.com/rss2\" version=\"2.0\"><channel/></rss>",
                Some("<rss version=\"2.0\"><channel/></rss>"),
            ),
            ("<rss version=\"0.91\"><a>x &amp; y</a></rss>", None),
            ("<rss version=\"2.0\"><a>AT&T</a></rss>", Some("<rss version=\"2.0\"><a>AT&amp;T</a></rss>")),
            (
                "<rss version=\"2.0\"><a href=\"/x?a=1&b=2\">&nbsp;&eacute;&#233;&#x41;</a></rss>",
                Some("<rss version=\"2.0\"><a href=\"/x?a=1&amp;b=2\">&#160;&#233;&#233;&#x41;</a></rss>"),
            ),
            ("<a>&bogus; &#0; &#X41;</a>", Some("<a>&amp;bogus; &#65533; &#x41;</a>")),
            ("<a><![CDATA[a & b <i>]]></a>", None),
            ("<a><![CDATA[a & b</a>", Some("<a><![CDATA[a & b]]></a>")),
            ("<a><!-- & --></a>", None),
            (
                "<!DOCTYPE x [<!ENTITY a \"b\"> <!ENTITY c SYSTEM \"file:///etc/passwd\">]><a>&a;&c;</a>",
                Some("<a>&amp;a;&amp;c;</a>"),
            ),
            (
                "<feed><title type=\"text/plain\">t</title><summary type=\"TEXT/HTML\">s</summary><content type=\"image/png\">x</content></feed>",
                Some("<feed><title type=\"text\">t</title><summary type=\"html\">s</summary><content type=\"image/png\">x</content></feed>"),
            ),
            (
                "<feed><title type=\"application/xhtml+xml\" mode=\"xml\">t</title></feed>",
                Some("<feed><title type=\"xhtml\" mode=\"xml\">t</title></feed>"),
            ),
        ];
        for (input, want) in cases {
            assert_eq!(repair(input).as_deref(), *want, "{input}");
        }
    }

    #[test]
    fn channel_less_rss_and_atom_0_3() {
        assert_eq!(
            repair("<rss><item><title>t</title></item></rss>").as_deref(),
            Some("<rss version=\"2.0\"><channel><item><title>t</title></item></channel></rss>")
        );
        assert_eq!(
            repair(
                "<feed version=\"0.3\" xmlns=\"http://purl.org/atom/ns#\"><entry><issued>2004-01-01T00:00:00Z</issued><x:modified>m</x:modified><title type=\"text/html\" mode=\"escaped\">a &amp;amp; b</title></entry></feed>"
            )
            .as_deref(),
            Some("<feed version=\"0.3\" xmlns=\"http://www.w3.org/2005/Atom\"><entry><published>2004-01-01T00:00:00Z</published><x:updated>m</x:updated><title type=\"html\" mode=\"escaped\">a &amp;amp; b</title></entry></feed>")
        );
    }

    #[test]
    fn roots_read_as_the_dialect_they_meant() {
        let cases: &[(&str, Option<&str>)] = &[
            ("<rss version=\"0.93\"><channel/></rss>", Some("<rss version=\"2.0\"><channel/></rss>")),
            ("<rss version=\"0.92\"><channel/></rss>", None),
            (
                "<rdf:RDF xmlns:rdf=\"r\" xmlns=\"http://my.netscape.com/rdf/simple/0.9/\"><item/></rdf:RDF>",
                Some("<rdf:RDF xmlns:rdf=\"r\" xmlns=\"http://purl.org/rss/1.0/\"><item/></rdf:RDF>"),
            ),
            ("<rdf:RDF xmlns:rdf=\"r\"><item/></rdf:RDF>", Some("<rdf:RDF xmlns=\"http://purl.org/rss/1.0/\" xmlns:rdf=\"r\"><item/></rdf:RDF>")),
            ("<feed xmlns=\"http://www.w3.org/2005/atom\"><entry/></feed>", Some("<feed xmlns=\"http://www.w3.org/2005/Atom\"><entry/></feed>")),
            ("<feed xmlns=\"http://www.w3.org/2005/Atom\"><entry/></feed>", None),
        ];
        for (input, want) in cases {
            assert_eq!(repair(input).as_deref(), *want, "{input}");
        }
    }

    #[test]
    fn atom_content_types_named_another_way() {
        let doc = "<feed><entry><content type=\"application/xhtml+xml\"><div/></content><content type=\"\">x</content><content type=\"image/png\">AAAA</content></entry></feed>";
        assert_eq!(
            repair(doc).as_deref(),
            Some("<feed><entry><content type=\"xhtml\"><div/></content><content type=\"text\">x</content><content type=\"image/png\">AAAA</content></entry></feed>")
        );
        let rss090 = "<!--\nc\n-->\n<rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\" xmlns=\"http://my.netscape.com/rdf/simple/0.9/\">\n<item><title>t</title></item></rdf:RDF>";
        assert!(repair(rss090)
            .unwrap()
            .contains("xmlns=\"http://purl.org/rss/1.0/\""));
    }

    #[test]
    fn unclosed_and_cut_off_elements_are_closed() {
        let cases: &[(&str, Option<&str>)] = &[
            ("<feed><title>t</title></feed", Some("<feed><title>t</title></feed>")),
            (
                "<rss version=\"2.0\"><channel><item><title>a</title></item><item><title>b",
                Some("<rss version=\"2.0\"><channel><item><title>a</title></item></channel></rss>"),
            ),
            (
                "<rss version=\"2.0\"><channel><description>a<br>b</description></channel></rss>",
                Some("<rss version=\"2.0\"><channel><description>a<br>b</br></description></channel></rss>"),
            ),
            ("<a>x</b></a>", Some("<a>x</a>")),
            ("<a>1 < 2</a>", Some("<a>1 &lt; 2</a>")),
            ("<a><b/></a>", None),
        ];
        for (input, want) in cases {
            assert_eq!(repair(input).as_deref(), *want, "{input}");
        }
    }

    #[test]
    fn depth_counts_elements_not_text() {
        assert_eq!(max_depth("<a><b/><c><d>x</d></c></a>"), 3);
        assert_eq!(max_depth("<a><![CDATA[<b><c><d>]]></a>"), 1);
        let deep = "<a>".repeat(10_000);
        assert_eq!(max_depth(&deep), 10_000);
    }

    #[test]
    fn never_panics_on_truncated_input() {
        let doc = "<rss version=\"2.0\"><channel><title a='x>&amp;&eacute;</title><![CDATA[x<!--<!DOCTYPE [";
        for end in 0..=doc.len() {
            if doc.is_char_boundary(end) {
                let _ = repair(&doc[..end]);
                let _ = max_depth(&doc[..end]);
            }
        }
    }
}
