//! Typography by Unicode property, not by list.
//!
//! Takes: a title as published. Gives: its [`Folded`] form — the title after NFKC (full-width
//! letters and digits to half-width, compatibility forms such as `﹝` `︰` `﹣` to their plain
//! ones) and lower-casing, reduced to a *comparison string* of letters, digits and marks only,
//! cut into *units* (segments) by separators.
//!
//! A character is a **separator** when its general category is punctuation (P*), symbol (S*),
//! separator/space (Z*) or control, decided by `unicode-properties` — whatever block it comes
//! from (`・` `〖〗` `∽` `‖` `＿` `〜` …). The exceptions, which join rather than separate:
//! - `'` `’` `.` `-` `&` between two Latin letters or digits (`don't`, `U.S.`, `sell-off`,
//!   `AT&T`), and `.` `,` between two digits (`3.54`, `1,000`);
//! - `丨` (U+4E28), an ideograph by category, separates: sites type it as a vertical bar;
//! - a space between two non-CJK letters or digits separates *words* of one unit, not units
//!   (`Fed holds rates steady | Reuters` has two units); next to CJK it separates units.
//!
//! Paired brackets are recognised by category (Ps opens, Pe closes, whatever their shapes): an
//! outermost bracketed group is one unit (`【 到群众中去·整改进行时】`, `(TECH Vintage Trolling)`).
//! An opening bracket that is never closed opens no group.
//!
//! Guarantees: two titles that differ only in width, case, spacing or which punctuation they use
//! have equal comparison strings; the comparison string holds no punctuation, spacing or symbol.

use unicode_normalization::UnicodeNormalization;
use unicode_properties::{GeneralCategory, GeneralCategoryGroup, UnicodeGeneralCategory};

/// Whether `c` separates by its general category: punctuation, symbol, space separator,
/// control or format character. Context exceptions ([`Folded`]) are not applied here.
pub fn is_separator_char(c: char) -> bool {
    // U+4E28 `丨` is an ideograph (Lo) that Chinese sites type as a vertical bar (`…丨财经早知道`).
    c == '丨'
        || c.is_whitespace()
        || matches!(
            c.general_category_group(),
            GeneralCategoryGroup::Punctuation
                | GeneralCategoryGroup::Symbol
                | GeneralCategoryGroup::Separator
                | GeneralCategoryGroup::Other
        )
}

/// Whether `c` opens a bracket pair (general category Ps).
pub fn is_open(c: char) -> bool {
    c.general_category() == GeneralCategory::OpenPunctuation
}

/// Whether `c` closes a bracket pair (general category Pe).
pub fn is_close(c: char) -> bool {
    c.general_category() == GeneralCategory::ClosePunctuation
}

/// Whether `c` is a dash (general category Pd).
pub fn is_dash(c: char) -> bool {
    c.general_category() == GeneralCategory::DashPunctuation
}

/// Whether `c` is a CJK ideograph (or kana, or hangul): text in which a space separates units.
pub fn is_cjk(c: char) -> bool {
    matches!(c,
        '\u{2E80}'..='\u{9FFF}' | '\u{AC00}'..='\u{D7AF}' | '\u{F900}'..='\u{FAFF}'
        | '\u{20000}'..='\u{3FFFF}')
}

/// Letters and digits outside CJK scripts: words separated by spaces.
fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() && !is_cjk(c)
}

/// One unit of a folded title: a range of its comparison characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unit {
    /// First comparison character.
    pub start: usize,
    /// One past the last.
    pub end: usize,
    /// The opening bracket when the unit is a bracketed group.
    pub bracket: Option<char>,
}

/// A title folded for comparison; see the module docs.
#[derive(Debug, Clone, Default)]
pub struct Folded {
    /// The title after NFKC (case kept).
    pub text: String,
    /// Comparison characters: letters, digits and marks, lower-cased.
    pub chars: Vec<char>,
    /// For each comparison character, the byte range in `text` of the character it came from.
    pub at: Vec<(usize, usize)>,
    /// For each comparison character, whether a word boundary (a space, or any unit boundary)
    /// precedes it.
    pub word_start: Vec<bool>,
    /// The units, in order, covering `chars`.
    pub units: Vec<Unit>,
    /// `bound[i]`: a unit starts at `i`, or `i` is either end (length `chars.len() + 1`).
    pub bound: Vec<bool>,
}

impl Folded {
    /// Folds `title`.
    pub fn new(title: &str) -> Folded {
        let text: String = if title.is_ascii() {
            title.to_string()
        } else {
            title.nfkc().collect()
        };
        let raw: Vec<(usize, char)> = text.char_indices().collect();
        let mut chars = Vec::with_capacity(raw.len());
        let mut at = Vec::with_capacity(raw.len());
        // Per comparison char: the boundary before it (0 none, 1 word, 2 unit), its group.
        let mut brk: Vec<u8> = Vec::with_capacity(raw.len());
        let mut group: Vec<usize> = Vec::with_capacity(raw.len());
        // Bracket groups: (open char, first comparison char) on a stack; closed groups get ids.
        let mut stack: Vec<(char, usize)> = Vec::new();
        let mut closed: Vec<(usize, usize, char)> = Vec::new();
        let mut pending: u8 = 0;
        let mut space_pending = false;
        for (n, &(i, c)) in raw.iter().enumerate() {
            let end = raw.get(n + 1).map_or(text.len(), |x| x.0);
            if !is_separator_char(c) {
                // A space between two non-CJK words is a word boundary only.
                let mut b = pending;
                if space_pending && b < 2 {
                    let prev_word = chars.last().is_some_and(|p: &char| is_word_char(*p));
                    b = if prev_word && is_word_char(c) { 1 } else { 2 };
                }
                for lc in c.to_lowercase() {
                    chars.push(lc);
                    at.push((i, end));
                    brk.push(b);
                    group.push(0);
                    b = 0;
                }
                pending = 0;
                space_pending = false;
                continue;
            }
            let prev = n.checked_sub(1).map(|p| raw[p].1);
            let next = raw.get(n + 1).map(|x| x.1);
            let joins = pending == 0
                && !space_pending
                && match (prev, next) {
                    (Some(p), Some(q)) => {
                        (matches!(c, '\'' | '’' | '.' | '-' | '&')
                            && p.is_ascii_alphanumeric()
                            && q.is_ascii_alphanumeric())
                            || (matches!(c, '.' | ',') && p.is_ascii_digit() && q.is_ascii_digit())
                    }
                    _ => false,
                };
            if joins {
                continue;
            }
            if c.is_whitespace() {
                space_pending = true;
                continue;
            }
            pending = 2;
            if is_open(c) {
                stack.push((c, chars.len()));
            } else if is_close(c) {
                if let Some((open, first)) = stack.pop() {
                    if stack.is_empty() && chars.len() > first {
                        closed.push((first, chars.len(), open));
                    }
                }
            }
        }
        let mut brackets: Vec<Option<char>> = vec![None];
        for (id, &(first, last, open)) in closed.iter().enumerate() {
            brackets.push(Some(open));
            for g in &mut group[first..last] {
                *g = id + 1;
            }
        }
        let mut units = Vec::new();
        let mut word_start = Vec::with_capacity(chars.len());
        for i in 0..chars.len() {
            let new_unit = i == 0 || (brk[i] == 2 && group[i] == 0) || group[i] != group[i - 1];
            if new_unit {
                units.push(Unit {
                    start: i,
                    end: i,
                    bracket: brackets[group[i]],
                });
            }
            if let Some(u) = units.last_mut() {
                u.end = i + 1;
            }
            word_start.push(new_unit || brk[i] > 0);
        }
        let mut bound = vec![false; chars.len() + 1];
        bound[0] = true;
        bound[chars.len()] = true;
        for u in &units {
            bound[u.start] = true;
        }
        Folded {
            text,
            chars,
            at,
            word_start,
            units,
            bound,
        }
    }

    /// The comparison string.
    pub fn key(&self) -> String {
        self.chars.iter().collect()
    }

    /// Whether a unit starts (or the title ends) at comparison position `i`.
    pub fn is_boundary(&self, i: usize) -> bool {
        i >= self.chars.len() || self.bound[i]
    }

    /// [`hash`] of the comparison string of `chars[a..b]`, without building it.
    pub fn hash_of(&self, a: usize, b: usize) -> u64 {
        hash_chars(&self.chars[a..b])
    }

    /// The comparison string of `chars[a..b]`.
    pub fn slice(&self, a: usize, b: usize) -> String {
        self.chars[a..b].iter().collect()
    }

    /// The NFKC text that comparison characters `a..b` came from (separators inside included).
    pub fn raw(&self, a: usize, b: usize) -> &str {
        if a >= b {
            return "";
        }
        &self.text[self.at[a].0..self.at[b - 1].1]
    }

    /// Words in `chars[a..b]`: runs of non-CJK letters and digits count one each, every other
    /// character one.
    pub fn words(&self, a: usize, b: usize) -> usize {
        (a..b)
            .filter(|&i| i == a || self.word_start[i] || !is_word_char(self.chars[i]))
            .count()
    }

    /// The units lying entirely within `chars[a..b]`.
    pub fn units_in(&self, a: usize, b: usize) -> impl Iterator<Item = &Unit> {
        self.units
            .iter()
            .filter(move |u| u.start >= a && u.end <= b)
    }
}

/// A stable 64-bit hash of a comparison string (FNV-1a, then a SplitMix finaliser): what the
/// learner counts and persists.
pub fn hash(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.as_bytes() {
        h = (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
    }
    finish(h)
}

/// [`hash`] of the string `chars` spell, without building it.
pub fn hash_chars(chars: &[char]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut buf = [0u8; 4];
    for c in chars {
        for b in c.encode_utf8(&mut buf).as_bytes() {
            h = (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    finish(h)
}

fn finish(mut h: u64) -> u64 {
    h ^= h >> 30;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 27;
    h = h.wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn units(t: &str) -> Vec<String> {
        let f = Folded::new(t);
        f.units.iter().map(|u| f.slice(u.start, u.end)).collect()
    }

    #[test]
    fn hashing_chars_is_hashing_their_string() {
        let f = Folded::new("〘24闻讯〙成本推动 Short-term, ok");
        for (a, b) in [(0, f.chars.len()), (0, 3), (2, 9), (4, 4)] {
            assert_eq!(f.hash_of(a, b), hash(&f.slice(a, b)));
        }
    }

    #[test]
    fn separators_by_category() {
        for c in [
            '・', '〖', '〗', '〔', '「', '』', '∽', '‖', '＿', '〜', '~', '﹍', '⹀', '¦', '￤',
            '゠', '‑', '⸱', '･', '|', '—', '　',
        ] {
            assert!(is_separator_char(c), "{c:?}");
        }
        for c in ['a', 'Ａ', '７', '中', '\u{0301}'] {
            assert!(!is_separator_char(c), "{c:?}");
        }
    }

    #[test]
    fn width_case_spacing_and_punctuation_are_folded_away() {
        let a = Folded::new("以先锋模范为镜 龚全珍:让总书记致敬的老阿姨");
        let b = Folded::new("以先锋模范为镜  龚全珍： 让总书记致敬的老阿姨");
        assert_eq!(a.key(), b.key());
        let a = Folded::new("Mａrｔhａ Sｔｅwａrｔ Is Ａllowｅd");
        assert_eq!(a.key(), "marthastewartisallowed");
        assert_eq!(Folded::new("２4年KＺ").key(), "24年kz");
    }

    #[test]
    fn units_and_groups() {
        assert_eq!(
            units("﹝7点评﹞迪拜危机减弱 全球投资者重返 ‑ 7网点"),
            ["7点评", "迪拜危机减弱", "全球投资者重返", "7网点"]
        );
        assert_eq!(
            units("(TECH Vintage Trolling) Martha Stewart's term"),
            ["techvintagetrolling", "marthastewartsterm"]
        );
        assert_eq!(
            units("【 到群众中去·整改进行时】四川：实打实"),
            ["到群众中去整改进行时", "四川", "实打实"]
        );
        // Joiners: numbers and Latin words keep their inner punctuation out of the boundaries.
        assert_eq!(units("增持3.54万股"), ["增持354万股"]);
        assert_eq!(units("sell-off ∽ Nextel"), ["selloff", "nextel"]);
        // An unclosed bracket opens no group.
        assert_eq!(units("【快讯 巴西龟"), ["快讯", "巴西龟"]);
    }
}
