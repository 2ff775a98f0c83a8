//! Titles as content farms decorate them, and how to see through the decoration.
//!
//! A decorated title is a story title with short segments stuck to its ends:
//! `每日焦点!巴西龟的饲养方法`, `巴西龟的饲养方法|环球快资讯`, `【环球报资讯】巴西龟的饲养方法_当前独家`,
//! `Exclusive: Fed holds rates | Reuters`. Decorations are recognised by their *shape*, not by a
//! list of the strings farms happen to use today:
//! - a segment at the start or end of the title, set off by a separator (`!` `:` `|` `_` `-`
//!   `丨` space …, full- or half-width) or by brackets (`【】` `[]` `()` …);
//! - short (at most [`MAX_DECORATION_CHARS`] characters, four words in Latin script);
//! - carrying no information about the story: no digits, no place name, and made mostly of the
//!   vocabulary of news packaging (characters such as 今日 每 最新 焦点 热点 资讯 快讯 要闻 动态
//!   独家 头条 播报 …, or words such as `exclusive`, `breaking`, `update`), or shaped like a
//!   publication's name: at the end, in Latin script, capitalised words (`| Reuters`,
//!   `- The New York Times`); in Chinese, a name ending as publications' names end (网 新闻 报
//!   报道 频道 资讯 …: `_中华网`, `_凤凰网资讯`, `｜21世纪经济报道`) — after the story even when it
//!   contains a place or digits, before it only when it does not (`重庆新闻：…` may be the
//!   story's place);
//! - a wire revision tag before the story (`UPDATE 2-`), the one decoration with a number;
//! - for the index and the comparison, not for display: a column name in title marks whose
//!   words are packaging (`《今日观察》`; a work's name such as `《大盛魁》` is story) and a short
//!   bracketed note after the story (`(组图)`, `(附名单)`).
//!
//! [`normalize`] folds full-width forms, unifies punctuation and whitespace and lower-cases, so
//! that comparisons see through typography. [`clean`] strips decorations for display;
//! [`index_core`] strips more boldly for the near-duplicate index, whose candidates are then
//! verified precisely by [`crate::dedup::near::same_story`].

use crate::regions;

/// The longest segment that can be a decoration.
pub const MAX_DECORATION_CHARS: usize = 10;
/// A cleaned title keeps at least this many characters, or the title is left as it was.
const MIN_CORE_CHARS: usize = 4;

/// Characters of news-packaging vocabulary. A segment made mostly of these (and nothing that
/// names a place or a number) is packaging, not story.
const PACKAGING: &str = "今日每天当前最新全球环实时热门焦点动态资讯快讯要闻简消息头条看速递播报独家关注聚观察精选推荐\
    视界下道事览直击早晚周刊网搜榜议线第一手风向趣评论话题知晨午间夜版栏目导读摘编综合图文片特别策划原创重磅突发\
    追踪现场解盘汇总集分享必深度鲜纵横云声音频讯闻报点击天下小编早知每周精彩热议热搜快报快看简讯速览新闻快讯独播\
    财经科技娱乐体育社会国际国内滚动即时最热热榜榜单关注度看点亮点焦点视角观点速读一览无余大事记全网实况直播";

/// Latin words of news packaging.
const PACKAGING_EN: &[&str] = &[
    "exclusive",
    "breaking",
    "update",
    "updated",
    "news",
    "latest",
    "live",
    "video",
    "photos",
    "analysis",
    "opinion",
    "watch",
    "factbox",
    "explainer",
    "report",
    "top",
    "story",
    "stories",
    "headlines",
    "daily",
    "today",
    "hot",
    "trending",
    "world",
    "focus",
    "brief",
    "briefing",
];

/// Characters that separate a decoration from the story, in any width.
pub fn is_separator(c: char) -> bool {
    matches!(
        fold(c),
        '!' | ':'
            | '|'
            | '_'
            | '-'
            | ' '
            | '?'
            | ','
            | '.'
            | '~'
            | '/'
            | '·'
            | '•'
            | '丨'
            | '—'
            | '–'
            | '、'
            | '。'
            | ';'
            | '*'
            | '#'
            | '>'
            | '<'
    ) || is_bracket(c)
}

fn is_bracket(c: char) -> bool {
    matches!(fold(c), '[' | ']' | '(' | ')' | '{' | '}' | '《' | '》')
}

/// Whether the segment `s[a..b]` is enclosed in title marks (`《新闻联播》`): the name of a
/// work, a programme or a column. Such a segment is packaging only when its words say so
/// ([`is_decoration`]), never by its shape alone, and [`clean`] keeps it.
pub fn is_quoted(s: &str, a: usize, b: usize) -> bool {
    s[..a].trim_end().ends_with('《') && s[b..].trim_start().starts_with('》')
}

/// Whether the segment `s[a..b]` is enclosed in brackets (`(组图)`, `【视频】`).
fn is_bracketed(s: &str, a: usize, b: usize) -> bool {
    let open = s[..a].trim_end().chars().next_back().map(fold);
    let close = s[b..].trim_start().chars().next().map(fold);
    matches!(
        (open, close),
        (Some('('), Some(')')) | (Some('['), Some(']')) | (Some('{'), Some('}'))
    )
}

/// Endings of Chinese publication names: a site (`中新网`, `凤凰网资讯`), a paper (`重庆日报`,
/// `新京报`, `21世纪经济报道`), a channel (`新闻频道`), an app (`…客户端`).
const MASTHEAD_ENDINGS: &[&str] = &[
    "网",
    "新闻",
    "报",
    "报道",
    "频道",
    "资讯",
    "在线",
    "客户端",
    "电视台",
    "广播",
];

/// Whether `seg` is shaped like a Chinese publication's name: three to ten characters, CJK, no
/// digits, ending as publication names end. At the end of a title it names who posted the
/// story, not what happened (`…_新闻频道_中华网`).
pub fn is_cjk_masthead(seg: &str) -> bool {
    let seg = seg.trim_matches(|c: char| is_separator(c) || c.is_whitespace());
    let n = seg.chars().count();
    // Digits only as part of the name (`21世纪经济报道`), never alone.
    (3..=MAX_DECORATION_CHARS).contains(&n)
        && seg.chars().filter(|c| is_cjk(*c)).count() >= 3
        && seg.chars().all(|c| is_cjk(c) || c.is_ascii_digit())
        && MASTHEAD_ENDINGS.iter().any(|e| seg.ends_with(e))
        && !names_a_report(seg)
}

/// Kinds of report that end in 报 like a paper's name but are what the story is
/// (`…_一季度报` / `…_三季度报`, `…_业绩快报`, `…_天气预报`): never a masthead. (`快报` alone is
/// not one of them: papers are called that, `都市快报`.)
const REPORT_WORDS: &[&str] = &[
    "年报",
    "季报",
    "度报",
    "月报",
    "周报",
    "业绩快报",
    "研报",
    "简报",
    "公报",
    "通报",
    "情报",
    "预报",
    "画报",
    "海报",
    "汇报",
    "举报",
    "警报",
    "喜报",
    "捷报",
    "战报",
    "电报",
    "中报",
];

fn names_a_report(seg: &str) -> bool {
    !seg.ends_with("青年报") && REPORT_WORDS.iter().any(|w| seg.ends_with(w))
}

/// `title` without a publication's name at its end (`…｜21世纪经济报道`), so that the digits of
/// a masthead are not taken for the story's.
pub fn strip_trailing_masthead(title: &str) -> &str {
    let t = title.trim_end();
    // Cheap test first: this runs for every candidate a lookup verifies.
    if !MASTHEAD_ENDINGS.iter().any(|e| t.ends_with(e)) {
        return title;
    }
    if let Some(&(a, b)) = segments(t).last() {
        let set_off = t[..a]
            .trim_end()
            .chars()
            .next_back()
            .is_some_and(|c| is_separator(c) && fold(c) != ' ');
        if a > 0 && b == t.len() && set_off && is_cjk_masthead(&t[a..b]) {
            return t[..a].trim_end();
        }
    }
    title
}

/// Whether `seg` is a wire service's revision tag (`UPDATE 2`, `REFILE`, `CORRECTED`): packaging
/// that carries a number, so it is recognised before numbers are compared.
pub fn is_wire_tag(seg: &str) -> bool {
    if !seg
        .trim_start()
        .starts_with(|c: char| c.is_ascii_alphabetic())
    {
        return false;
    }
    let words: Vec<&str> = seg.split_whitespace().collect();
    match words.as_slice() {
        [w] => WIRE_WORDS.contains(&w.to_lowercase().as_str()),
        [w, n] => {
            WIRE_WORDS.contains(&w.to_lowercase().as_str())
                && n.len() <= 2
                && n.chars().all(|c| c.is_ascii_digit())
        }
        _ => false,
    }
}

const WIRE_WORDS: &[&str] = &[
    "update",
    "refile",
    "corrected",
    "correction",
    "rpt",
    "repeat",
];

/// `title` without a leading wire revision tag (`UPDATE 2-EA reports…` → `EA reports…`).
pub fn strip_wire_tag(title: &str) -> &str {
    let t = title.trim_start();
    // Cheap test first: this runs for every candidate a lookup verifies.
    let starts_like_a_tag = WIRE_WORDS.iter().any(|w| {
        t.get(..w.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(w))
    });
    if !starts_like_a_tag {
        return title;
    }
    if let Some(&(a, b)) = segments(t).first() {
        if a == 0 && b < t.len() && is_wire_tag(&t[a..b]) {
            let rest = t[b..].trim_start_matches(|c: char| {
                c.is_whitespace() || matches!(fold(c), '-' | ':' | '|' | '_')
            });
            if rest.chars().filter(|c| !c.is_whitespace()).count() >= MIN_CORE_CHARS {
                return rest;
            }
        }
    }
    title
}

/// One character folded for comparison: full-width ASCII to half-width, CJK brackets, bars and
/// dashes to ASCII ones, the ideographic space to a space.
fn fold(c: char) -> char {
    match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        '\u{3000}' | '\u{00A0}' | '\t' | '\n' | '\r' => ' ',
        '【' | '〔' | '「' | '『' | '〖' => '[',
        '】' | '〕' | '」' | '』' | '〗' => ']',
        '│' | '┃' => '|',
        '—' | '–' | '―' => '-',
        '“' | '”' | '„' => '"',
        '‘' | '’' => '\'',
        c => c,
    }
}

/// Folds a title for comparison: full-width ASCII to half-width, CJK brackets and dashes to
/// ASCII ones, whitespace collapsed, Latin lower-cased.
pub fn normalize(s: &str) -> String {
    normalize_keep_case(s)
        .chars()
        .flat_map(char::to_lowercase)
        .collect()
}

/// [`normalize`] without lower-casing: what the comparison uses, so that a residue can still be
/// judged by its capitals (`| Reuters` is a masthead, `rise on hurricanes` is not).
pub fn normalize_keep_case(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut last_space = true;
    for c in s.chars() {
        let c = fold(c);
        if c == ' ' {
            if !last_space {
                out.push(' ');
            }
            last_space = true;
            continue;
        }
        last_space = false;
        out.push(c);
    }
    if out.ends_with(' ') {
        out.pop();
    }
    out
}

fn is_cjk(c: char) -> bool {
    matches!(c, '\u{3400}'..='\u{9FFF}' | '\u{F900}'..='\u{FAFF}' | '\u{20000}'..='\u{2FFFF}')
}

/// Where a segment sits, which changes what a decoration may look like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edge {
    /// Before the story.
    Leading,
    /// After the story.
    Trailing,
}

/// Whether `seg` has the *shape* of a decoration, whatever its words: short (at most eight
/// characters, or three words in Latin script), no digits, no place name, no quoted title.
/// Enough when the story around it is long and identical in both titles (see
/// [`crate::dedup::near::same_story`]); [`is_decoration`] asks for more.
pub fn has_decoration_shape(seg: &str) -> bool {
    let seg = seg.trim_matches(|c: char| is_separator(c) || c.is_whitespace());
    if seg.is_empty() {
        return true;
    }
    if seg.chars().any(|c| {
        c.is_ascii_digit()
            || ('\u{FF10}'..='\u{FF19}').contains(&c)
            || matches!(c, '《' | '》' | '"' | '“' | '”')
    }) {
        return false;
    }
    if seg.chars().any(is_cjk) {
        return seg.chars().count() <= 8 && !regions::names_a_region(seg);
    }
    let words = seg.split_whitespace().count();
    words <= 3 && seg.chars().all(|c| c.is_alphabetic() || c == ' ')
}

/// Whether `seg` (one segment, already [`normalize`]d or not) is packaging rather than story.
pub fn is_decoration(seg: &str, edge: Edge) -> bool {
    let seg = seg.trim_matches(|c: char| is_separator(c) || c.is_whitespace());
    let chars = seg.chars().count();
    if chars == 0 {
        return true;
    }
    if edge == Edge::Leading && is_wire_tag(seg) {
        return true;
    }
    // A publication's name after the story (`…_中华网`, `…｜21世纪经济报道`), even one named after
    // a place (`…_凤凰网资讯`, `…_重庆日报`): it says who posted the story, as a masthead does.
    if edge == Edge::Trailing && is_cjk_masthead(seg) {
        return true;
    }
    if seg
        .chars()
        .any(|c| c.is_ascii_digit() || ('\u{FF10}'..='\u{FF19}').contains(&c))
    {
        return false;
    }
    let cjk = seg.chars().filter(|c| is_cjk(*c)).count();
    if cjk > 0 {
        if chars > MAX_DECORATION_CHARS {
            return false;
        }
        // A publication's name before the story (`澎湃新闻｜…`), unless it names a place, which
        // may be the story's (`重庆新闻：…`).
        if is_cjk_masthead(seg) && !regions::names_a_region(seg) {
            return true;
        }
        let packaging = seg.chars().filter(|c| PACKAGING.contains(*c)).count();
        // Mostly packaging vocabulary, and no place name (a leading `四川:` is information).
        return packaging * 10 >= cjk * 7 && !regions::names_a_region(seg);
    }
    let Some(words) = latin_words(seg) else {
        return false;
    };
    let all_packaging = words.iter().all(|w| {
        let w = w.to_lowercase();
        // Plurals too (`Live updates`, `Top stories`).
        PACKAGING_EN.contains(&w.as_str())
            || w.strip_suffix('s')
                .is_some_and(|s| PACKAGING_EN.contains(&s))
    });
    all_packaging || (edge == Edge::Trailing && is_latin_masthead(seg))
}

/// The words of a Latin segment that could be a decoration: one to four words of letters
/// (and `'`, `&`).
fn latin_words(seg: &str) -> Option<Vec<&str>> {
    let words: Vec<&str> = seg.split_whitespace().collect();
    (!words.is_empty()
        && words.len() <= 4
        && seg
            .chars()
            .all(|c| c.is_alphabetic() || c == ' ' || c == '\'' || c == '&'))
    .then_some(words)
}

/// A trailing publication name by its shape (`Reuters`, `BBC News`, `The New York Times`): up
/// to four words, capitalised but for the small words of names (`Times of India`). A shape,
/// not a vocabulary: the words of a title-cased headline have it too.
pub fn is_latin_masthead(seg: &str) -> bool {
    let seg = seg.trim_matches(|c: char| is_separator(c) || c.is_whitespace());
    latin_words(seg).is_some_and(|words| {
        words[0].chars().next().is_some_and(char::is_uppercase)
            && words.iter().all(|w| {
                w.chars().next().is_some_and(char::is_uppercase)
                    || matches!(*w, "of" | "and" | "the" | "&")
            })
    })
}

/// Splits a title into segments: byte ranges between separators, in order. A space separates
/// segments only in CJK text; in Latin text it separates words of one segment
/// (`Fed holds rates steady | Reuters` has two segments).
pub fn segments(s: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = None;
    let chars: Vec<(usize, char)> = s.char_indices().collect();
    for (n, &(i, c)) in chars.iter().enumerate() {
        let hard = is_separator(c) && fold(c) != ' ';
        let soft_space = fold(c) == ' ' && {
            let prev = n.checked_sub(1).map(|p| chars[p].1);
            let next = chars.get(n + 1).map(|x| x.1);
            prev.is_some_and(is_cjk) || next.is_some_and(is_cjk)
        };
        if hard || soft_space {
            if let Some(st) = start.take() {
                out.push((st, i));
            }
        } else if start.is_none() && fold(c) != ' ' {
            start = Some(i);
        }
    }
    if let Some(st) = start {
        out.push((st, s.len()));
    }
    out.into_iter()
        .map(|(a, b)| (a, a + s[a..b].trim_end().len()))
        .filter(|(a, b)| b > a)
        .collect()
}

/// Strips decorations from both ends of `title` for display, keeping its characters otherwise
/// as they were. A title that would be left shorter than four characters is returned as is.
/// Idempotent: stripping one layer can expose another (a separator left before white space), so
/// the pass repeats until nothing changes (at most a few times).
pub fn clean(title: &str) -> String {
    let mut cur = clean_once(title);
    // Nothing stripped: nothing exposed either (the common case costs one pass).
    if cur == title.trim() {
        return cur;
    }
    for _ in 0..4 {
        let next = clean_once(&cur);
        if next == cur {
            break;
        }
        cur = next;
    }
    cur
}

fn clean_once(title: &str) -> String {
    let title = title.trim();
    let segs = segments(title);
    if segs.len() < 2 {
        return title.to_string();
    }
    let (mut first, mut last) = (0, segs.len() - 1);
    // Up to two decorations at each end (`每日焦点 今日热点:…`).
    // A segment in title marks (`《新闻联播》`) names a work and stays.
    let strippable =
        |(a, b): (usize, usize), edge| !is_quoted(title, a, b) && is_decoration(&title[a..b], edge);
    for _ in 0..2 {
        if first < last && strippable(segs[first], Edge::Leading) {
            first += 1;
        }
        if last > first && strippable(segs[last], Edge::Trailing) {
            last -= 1;
        }
    }
    if first == 0 && last == segs.len() - 1 {
        return title.to_string();
    }
    let (start, mut end) = (segs[first].0, segs[last].1);
    // Keep a closing bracket or final punctuation that belongs to the story: `(图)`, `？`.
    let rest = &title[end..];
    for c in rest.chars() {
        if matches!(
            c,
            ')' | '）' | ']' | '】' | '?' | '？' | '!' | '！' | '」' | '"' | '”'
        ) {
            end += c.len_utf8();
        } else {
            break;
        }
    }
    let core = title[start..end].trim_matches(|c: char| {
        c.is_whitespace() || matches!(c, '|' | '_' | '-' | ':' | '：' | '｜' | '丨' | '—')
    });
    if core.chars().filter(|c| !c.is_whitespace()).count() < MIN_CORE_CHARS {
        return title.to_string();
    }
    core.to_string()
}

/// The text the near-duplicate index is built from: the normalised title without the
/// decorations [`clean`] would strip, separators dropped. Copies of one story under different
/// decorations get the same core, hence the same index keys; a decoration that is not
/// recognised only lowers the similarity, which the banded index tolerates.
pub fn index_core(title: &str) -> String {
    // Clean before lower-casing: a masthead is recognised by its capitals.
    let cleaned = clean(&normalize_keep_case(title));
    normalize(&strip_for_index(&cleaned))
        .chars()
        .filter(|c| !is_separator(*c) && !c.is_control())
        .collect()
}

/// The text of the exact-core index key when it is not [`index_core`]: in Latin script, the
/// core without a short label before a colon that the vocabulary does not know (`Insight: …`,
/// `Explained: …`). Such a label may be a decoration or the subject of a template (`Apple: …`):
/// both kinds become candidates of each other, and [`crate::dedup::near::same_story`] tells them
/// apart — so this key only finds, it never decides (the stored core, compared as proof, keeps
/// the label). `None` for every other title (their key is the index core itself).
pub fn label_free_core(title: &str) -> Option<String> {
    let t = normalize_keep_case(title);
    if t.chars().any(is_cjk) {
        return None;
    }
    let &(a, b) = segments(&t).first()?;
    let rest = t[b..].trim_start();
    if a != 0 || !rest.starts_with(':') || !has_decoration_shape(&t[a..b]) {
        return None;
    }
    let rest = rest.trim_start_matches([':', ' ']);
    (rest.chars().filter(|c| !c.is_whitespace()).count() >= MIN_CORE_CHARS)
        .then(|| index_core(rest))
}

/// What the index strips beyond [`clean`], which keeps them for display: a column name in title
/// marks whose words are packaging (`《今日观察》…`), and a short bracketed note after the
/// story (`…(组图)`, `…(附名单)`). Copies that differ only by these get one core.
fn strip_for_index(title: &str) -> String {
    let segs = segments(title);
    if segs.len() < 2 {
        return title.to_string();
    }
    let (mut first, mut last) = (0, segs.len() - 1);
    let quoted_packaging =
        |(a, b): (usize, usize), edge| is_quoted(title, a, b) && is_decoration(&title[a..b], edge);
    while first < last && quoted_packaging(segs[first], Edge::Leading) {
        first += 1;
    }
    while last > first
        && (quoted_packaging(segs[last], Edge::Trailing) || is_note(title, segs[last]))
    {
        last -= 1;
    }
    let core = &title[segs[first].0..segs[last].1];
    if first == 0 && last == segs.len() - 1
        || core.chars().filter(|c| !is_separator(*c)).count() < MIN_CORE_CHARS
    {
        return title.to_string();
    }
    core.to_string()
}

/// Whether the segment `s[a..b]` is a short bracketed note after a story (`(组图)`, `(附名单)`,
/// `【视频】`): at most four CJK characters in brackets, no digits, no place name.
pub fn is_note(s: &str, (a, b): (usize, usize)) -> bool {
    let seg = &s[a..b];
    seg.chars().count() <= 4
        && seg.chars().any(is_cjk)
        && is_bracketed(s, a, b)
        && has_decoration_shape(seg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleans_decorations_by_shape() {
        let cases = [
            ("每日焦点!巴西龟的饲养方法", "巴西龟的饲养方法"),
            ("巴西龟的饲养方法|环球快资讯", "巴西龟的饲养方法"),
            (
                "【环球报资讯】巴西龟的饲养方法_当前独家",
                "巴西龟的饲养方法",
            ),
            // Decorations never seen before, built from the same kind of words.
            ("［今日热讯］巴西龟的饲养方法－实时播报", "巴西龟的饲养方法"),
            (
                "最新看点：女子提分手被17岁男友掐死 天天动态",
                "女子提分手被17岁男友掐死",
            ),
            // `(图)` ("with pictures") is packaging too.
            (
                "难分真假的杜莎夫人蜡像馆(图)_最新速递",
                "难分真假的杜莎夫人蜡像馆",
            ),
            ("为什么天空是蓝色的？_最新速递", "为什么天空是蓝色的？"),
            (
                "Exclusive: Fed holds rates steady | Reuters",
                "Fed holds rates steady",
            ),
            (
                "Fed holds rates steady - BBC News",
                "Fed holds rates steady",
            ),
            // Information is not decoration: places, numbers, names of things.
            ("四川：暴雨蓝色预警", "四川：暴雨蓝色预警"),
            (
                "成都市 开展基层矛盾纠纷调解专项行动",
                "成都市 开展基层矛盾纠纷调解专项行动",
            ),
            ("2024年第一季度GDP发布_最新消息", "2024年第一季度GDP发布"),
            (
                "迷你世界 公主式跑酷 喜欢粉色系的天堂 全球要闻",
                "迷你世界 公主式跑酷 喜欢粉色系的天堂",
            ),
            // Publications' names after the story, including ones named after a place or
            // carrying digits; a publication before it unless it names a place.
            ("乌拉圭总统将访华_新闻频道_中华网", "乌拉圭总统将访华"),
            (
                "年少白了头有明目之功效_凤凰网资讯",
                "年少白了头有明目之功效",
            ),
            (
                "强基础惠民生 水利工程加快推进｜21世纪经济报道",
                "强基础惠民生 水利工程加快推进",
            ),
            ("澎湃新闻｜德外长称将撤出驻军", "德外长称将撤出驻军"),
            ("重庆新闻：暴雨蓝色预警发布", "重庆新闻：暴雨蓝色预警发布"),
            (
                "MCNAMARA RECEIVES GOOD NEWS - The New York Times",
                "MCNAMARA RECEIVES GOOD NEWS",
            ),
            (
                "UPDATE 2-EA Reports Higher Quarterly Profits",
                "EA Reports Higher Quarterly Profits",
            ),
            (
                "Live updates: Tiger Woods ties the knot",
                "Tiger Woods ties the knot",
            ),
            // A name in title marks stays on display, even a column's.
            (
                "《今日观察》湮没在黑土地上的一座工厂",
                "《今日观察》湮没在黑土地上的一座工厂",
            ),
            ("《大盛魁》内蒙热拍 于震拜师", "《大盛魁》内蒙热拍 于震拜师"),
            // Too little would be left.
            ("焦点|新闻", "焦点|新闻"),
            ("Plain title", "Plain title"),
        ];
        for (raw, want) in cases {
            assert_eq!(clean(raw), want, "{raw}");
        }
    }

    #[test]
    fn index_core_also_drops_column_names_and_bracketed_notes() {
        let plain = index_core("湮没在黑土地上的一座工厂");
        assert_eq!(index_core("《今日观察》湮没在黑土地上的一座工厂"), plain);
        assert_eq!(index_core("湮没在黑土地上的一座工厂（组图）"), plain);
        assert_eq!(
            index_core("湮没在黑土地上的一座工厂(附名单)_凤凰网资讯"),
            plain
        );
        // A work's name is kept; so is a note with a number or a place in it.
        assert_ne!(
            index_core("《大盛魁》内蒙热拍 于震拜师"),
            index_core("内蒙热拍 于震拜师")
        );
        assert_ne!(index_core("湮没在黑土地上的一座工厂(2)"), plain);
        assert_ne!(index_core("湮没在黑土地上的一座工厂(重庆)"), plain);
    }

    #[test]
    fn normalizes_width_punctuation_and_case() {
        assert_eq!(
            normalize("【环球】ＡＢＣ１２３！ Hello　World"),
            "[环球]abc123! hello world"
        );
        assert_eq!(
            normalize("油价重上５6美元｜全球热搜"),
            "油价重上56美元|全球热搜"
        );
    }

    #[test]
    fn index_core_sees_through_unknown_decorations() {
        let a = index_core("焦点动态!女子提分手被17岁男友掐死_当前动态");
        let b = index_core("最新简讯：女子提分手被17岁男友掐死|天天动态");
        assert_eq!(a, b);
        assert_eq!(a, "女子提分手被17岁男友掐死");
    }
}
