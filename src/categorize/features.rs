//! Features for the categorizer: what a title (and summary) says, as hashed sparse features.
//!
//! Text is first folded ([`fold`]): NFKC (full-width letters, digits and punctuation become
//! half-width), traditional characters become simplified (OpenCC's character table), and Latin
//! letters are lower-cased — so a Big5/HK/TW desk and a lower-cased data set read like the rest.
//!
//! Chinese text has no spaces, so it contributes character unigrams, bigrams and trigrams of each
//! run of CJK characters (`北向资金` → `北`, `北向`, `北向资`, …); Latin text contributes English
//! word stems (`recipes` → `recip`) and stem pairs. Digits and punctuation contribute nothing:
//! they carry an outlet's style (numbering, brackets) more than a story's topic. Optional kinds
//! ([`FeatureSet`], stored in the model file): region mentions (from [`crate::regions`]) and
//! government-body words as features of their own, and outlet signatures dropped (a national
//! broadcaster's `地名：` title prefix, wire-service bylines). Each feature is its text with a
//! one-letter kind prefix, hashed with 64-bit FNV-1a — stable across platforms and versions, so a
//! model trained once reads the same features everywhere.

use std::collections::HashMap;
use std::sync::OnceLock;
use unicode_normalization::UnicodeNormalization;

/// English function words: they say how a desk writes, not what a story is about (in the
/// training data they mostly mark which outlet wrote the item), so they are not features.
const STOPWORDS: &[&str] = &[
    "a", "an", "the", "and", "or", "but", "of", "to", "in", "on", "at", "for", "from", "by",
    "with", "as", "is", "are", "was", "were", "be", "been", "it", "its", "this", "that", "these",
    "those", "his", "her", "their", "our", "your", "my", "he", "she", "they", "we", "you", "i",
    "not", "no", "will", "would", "can", "could", "has", "have", "had", "do", "does", "did", "up",
    "out", "over", "into", "after", "before", "about", "than", "more", "new", "says", "said", "s",
    "t",
];

/// Words that name an outlet or are left-overs of its markup (AG News' `#39;` and `quot;`), not
/// a topic: dropped with [`FeatureSet::NO_SIGNATURES`].
const SIGNATURES: &[&str] = &[
    "reuters", "afp", "ap", "upi", "quot", "apos", "lt", "gt", "amp", "nbsp", "href", "www", "com",
    "http", "https", "huffpost", "bbc", "cnn", "photo", "photos", "video", "watch",
];

/// Government bodies and offices: a story about what they do is regional politics far more
/// often than anything else, whichever outlet writes it.
const GOV_BODIES: &[&str] = &[
    "省委",
    "市委",
    "县委",
    "区委",
    "州委",
    "党委",
    "党组",
    "党工委",
    "人民政府",
    "政府",
    "人大",
    "政协",
    "纪委",
    "监委",
    "常委会",
    "常务会议",
    "书记",
    "省长",
    "市长",
    "县长",
    "区长",
    "州长",
    "镇长",
    "乡长",
    "办公厅",
    "街道",
    "乡镇",
    "村委",
    "发改委",
    "生态环境厅",
    "生态环境局",
    "住建",
    "人社",
    "民政",
    "信访",
    "组织部",
    "宣传部",
    "统战部",
    "政法委",
    "党建",
    "干部",
    "党员",
    "机关",
    "国务院",
    "党中央",
    "中共中央",
    "中央委员会",
    "总书记",
    "总理",
    "副总理",
    "全国人大",
    "全国政协",
    "代表团",
    "部委",
    "国家发展改革委",
    "商务部",
    "财政部",
    "民政部",
    "应急管理部",
    "中央纪委",
    "国家监委",
    "政法",
    "委员会",
];

/// What public administration does: meetings, inspections, campaigns, documents.
const GOV_ACTS: &[&str] = &[
    "调研",
    "部署",
    "督导",
    "督查",
    "巡视",
    "巡察",
    "专项整治",
    "专项行动",
    "整治",
    "推进会",
    "座谈会",
    "工作会议",
    "全会",
    "贯彻",
    "落实",
    "学习",
    "宣讲",
    "开除党籍",
    "违纪",
    "违法",
    "审查调查",
    "实施意见",
    "实施方案",
    "管理办法",
    "通知",
    "政策解读",
    "乡村振兴",
    "脱贫",
    "扶贫",
    "帮扶",
    "对口支援",
    "援疆",
    "援藏",
    "民生",
    "营商环境",
    "高质量发展",
    "审议",
    "考察",
    "慰问",
    "主持召开",
    "出台",
    "印发",
    "白皮书",
    "改革",
    "政策",
    "精神",
    "全体会议",
];

/// Which optional kinds of feature a model reads (stored in the model file, so a model is always
/// read the way it was trained).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FeatureSet(pub u32);

impl FeatureSet {
    /// The features of the first models: no folding, whole English words.
    pub const LEGACY: FeatureSet = FeatureSet(0);
    /// NFKC, traditional → simplified, lower case.
    pub const FOLD: u32 = 1;
    /// English word stems (Snowball) instead of whole words.
    pub const STEM: u32 = 2;
    /// Region mentions: whether the text names a Chinese region, and at which level.
    pub const REGIONS: u32 = 4;
    /// Government bodies and acts, as features of their own (and together with a region).
    pub const GOV: u32 = 8;
    /// Outlet signatures dropped: a leading `地名：`, wire bylines, markup left-overs.
    pub const NO_SIGNATURES: u32 = 16;
    /// Every kind.
    pub const ALL: FeatureSet = FeatureSet(31);

    /// Whether `flag` is set.
    pub fn has(self, flag: u32) -> bool {
        self.0 & flag != 0
    }

    /// Parses a comma-separated list of kinds (`fold,stem,regions,gov,nosig`, `all`, `legacy`).
    pub fn parse(s: &str) -> Result<FeatureSet, String> {
        let mut v = 0;
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            v |= match part {
                "legacy" | "none" => 0,
                "all" => Self::ALL.0,
                "fold" => Self::FOLD,
                "stem" => Self::STEM,
                "regions" => Self::REGIONS,
                "gov" => Self::GOV,
                "nosig" => Self::NO_SIGNATURES,
                other => return Err(format!("unknown feature kind `{other}`")),
            };
        }
        Ok(FeatureSet(v))
    }

    /// The kinds, comma-separated (as [`FeatureSet::parse`] reads them).
    pub fn names(self) -> String {
        let names = [
            (Self::FOLD, "fold"),
            (Self::STEM, "stem"),
            (Self::REGIONS, "regions"),
            (Self::GOV, "gov"),
            (Self::NO_SIGNATURES, "nosig"),
        ];
        let v: Vec<&str> = names
            .iter()
            .filter(|(f, _)| self.has(*f))
            .map(|(_, n)| *n)
            .collect();
        if v.is_empty() {
            "legacy".into()
        } else {
            v.join(",")
        }
    }
}

/// FNV-1a over `bytes`.
pub fn hash(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn is_cjk(c: char) -> bool {
    matches!(c, '\u{3400}'..='\u{9FFF}' | '\u{F900}'..='\u{FAFF}')
}

/// OpenCC's traditional → simplified characters (first candidate of each).
fn t2s() -> &'static HashMap<char, char> {
    static MAP: OnceLock<HashMap<char, char>> = OnceLock::new();
    MAP.get_or_init(|| {
        include_str!("opencc/TSCharacters.txt")
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| {
                let (k, v) = l.split_once('\t')?;
                let mut kc = k.chars();
                let k = kc.next()?;
                let v = v.split(' ').next()?.chars().next()?;
                (kc.next().is_none() && k != v).then_some((k, v))
            })
            .collect()
    })
}

/// The text as the model reads it: NFKC (full-width → half-width), traditional → simplified
/// characters, Latin lower-cased.
pub fn fold(text: &str) -> String {
    if text.is_ascii() {
        return text.to_ascii_lowercase();
    }
    let map = t2s();
    let mut out = String::with_capacity(text.len());
    let nfkc: String;
    // Most text is already NFKC: checking is cheaper than normalising.
    let text = if unicode_normalization::is_nfkc_quick(text.chars())
        == unicode_normalization::IsNormalized::Yes
    {
        text
    } else {
        nfkc = text.nfkc().collect();
        &nfkc
    };
    for c in text.chars() {
        if c.is_ascii() {
            out.push(c.to_ascii_lowercase());
        } else if is_cjk(c) {
            out.push(*map.get(&c).unwrap_or(&c));
        } else {
            out.extend(c.to_lowercase());
        }
    }
    out
}

fn stemmer() -> &'static rust_stemmers::Stemmer {
    static S: OnceLock<rust_stemmers::Stemmer> = OnceLock::new();
    S.get_or_init(|| rust_stemmers::Stemmer::create(rust_stemmers::Algorithm::English))
}

/// The length in bytes of a leading `地名：` (2–8 CJK characters and a colon, full-width or not),
/// the signature of a national broadcaster's regional round-ups; 0 if there is none.
fn signature_prefix(text: &str) -> usize {
    let mut n = 0;
    for (i, c) in text.char_indices() {
        if is_cjk(c) {
            n += 1;
            if n > 8 {
                return 0;
            }
        } else if (c == ':' || c == '：') && n >= 2 {
            return i + c.len_utf8();
        } else {
            return 0;
        }
    }
    0
}

/// Calls `f` with the bytes of every feature of `text` (prefix ‖ content) under `set`, reusing
/// one buffer.
pub fn for_each(text: &str, set: FeatureSet, mut f: impl FnMut(&[u8])) {
    let folded;
    let text = if set.has(FeatureSet::FOLD) {
        folded = fold(text);
        folded.as_str()
    } else {
        text
    };
    let mut buf: Vec<u8> = Vec::with_capacity(32);
    if set.has(FeatureSet::REGIONS) || set.has(FeatureSet::GOV) {
        extra(text, set, &mut buf, &mut f);
    }
    let body = if set.has(FeatureSet::NO_SIGNATURES) {
        &text[signature_prefix(text)..]
    } else {
        text
    };
    let stem = set.has(FeatureSet::STEM);
    let nosig = set.has(FeatureSet::NO_SIGNATURES);
    let mut run: Vec<char> = Vec::with_capacity(64);
    let mut word = String::new();
    let mut prev_word = String::new();
    let flush_run = |run: &mut Vec<char>, buf: &mut Vec<u8>, f: &mut dyn FnMut(&[u8])| {
        for n in 1..=3 {
            if run.len() < n {
                break;
            }
            for w in run.windows(n) {
                buf.clear();
                buf.push(b'c');
                for c in w {
                    let mut tmp = [0u8; 4];
                    buf.extend_from_slice(c.encode_utf8(&mut tmp).as_bytes());
                }
                f(buf);
            }
        }
        run.clear();
    };
    let flush_word =
        |word: &mut String, prev: &mut String, buf: &mut Vec<u8>, f: &mut dyn FnMut(&[u8])| {
            if word.is_empty() {
                return;
            }
            if STOPWORDS.contains(&word.as_str()) || (nosig && SIGNATURES.contains(&word.as_str()))
            {
                // A function word ends a phrase: no pair across it.
                word.clear();
                prev.clear();
                return;
            }
            if stem {
                let s = stemmer().stem(word);
                if s.as_ref() != word.as_str() {
                    let s = s.into_owned();
                    *word = s;
                }
            }
            buf.clear();
            buf.push(b'w');
            buf.extend_from_slice(word.as_bytes());
            f(buf);
            if !prev.is_empty() {
                buf.clear();
                buf.push(b'b');
                buf.extend_from_slice(prev.as_bytes());
                buf.push(b' ');
                buf.extend_from_slice(word.as_bytes());
                f(buf);
            }
            std::mem::swap(prev, word);
            word.clear();
        };
    for c in body.chars() {
        if is_cjk(c) {
            flush_word(&mut word, &mut prev_word, &mut buf, &mut f);
            prev_word.clear();
            run.push(c);
        } else if c.is_alphabetic()
            || (c == '\'' && !word.is_empty())
            || (c.is_ascii_digit() && !word.is_empty())
        {
            if !run.is_empty() {
                flush_run(&mut run, &mut buf, &mut f);
            }
            word.extend(c.to_lowercase());
        } else {
            if !run.is_empty() {
                flush_run(&mut run, &mut buf, &mut f);
            }
            flush_word(&mut word, &mut prev_word, &mut buf, &mut f);
        }
    }
    flush_run(&mut run, &mut buf, &mut f);
    flush_word(&mut word, &mut prev_word, &mut buf, &mut f);
}

/// Region and government features: `r` (names a Chinese region), `r` + level of the most local
/// one, `g` + `body`/`act` (government words), `g` + `body+r` (a government body and a region).
fn extra(text: &str, set: FeatureSet, buf: &mut Vec<u8>, f: &mut dyn FnMut(&[u8])) {
    let mut emit = |s: &str| {
        buf.clear();
        buf.extend_from_slice(s.as_bytes());
        f(buf);
    };
    let mut region = false;
    if set.has(FeatureSet::REGIONS) && text.chars().any(is_cjk) {
        let named = crate::regions::mentioned(text);
        if !named.is_empty() {
            region = true;
            emit("r");
            let level = named.iter().map(|r| r.level as u8).max().unwrap_or(0);
            emit(match level {
                0 => "r0",
                1 => "r1",
                _ => "r2",
            });
        }
    }
    if set.has(FeatureSet::GOV) {
        let body = GOV_BODIES.iter().any(|w| text.contains(w));
        let act = GOV_ACTS.iter().any(|w| text.contains(w));
        if body {
            emit("gbody");
            if region {
                emit("gbody+r");
            }
        }
        if act {
            emit("gact");
            if body {
                emit("gact+body");
            }
        }
    }
}

/// The feature hashes of `text` under `set`, deduplicated (features are binary).
pub fn hashes(text: &str, set: FeatureSet) -> Vec<u64> {
    let mut out = Vec::with_capacity(text.len());
    for_each(text, set, |b| out.push(hash(b)));
    out.sort_unstable();
    out.dedup();
    out
}

/// The features of `text` under `set` as readable strings (for `--explain`), with their hashes.
pub fn named(text: &str, set: FeatureSet) -> Vec<(u64, String)> {
    let mut out: Vec<(u64, String)> = Vec::new();
    for_each(text, set, |b| {
        let h = hash(b);
        if !out.iter().any(|(x, _)| *x == h) {
            let (kind, rest) = match b[0] {
                b'c' => ("", &b[1..]),
                b'w' => ("word:", &b[1..]),
                b'b' => ("pair:", &b[1..]),
                b'r' => ("region:", b),
                _ => ("gov:", b),
            };
            out.push((h, format!("{kind}{}", String::from_utf8_lossy(rest))));
        }
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(text: &str, set: FeatureSet) -> Vec<String> {
        named(text, set).into_iter().map(|x| x.1).collect()
    }

    #[test]
    fn cjk_ngrams_and_latin_words() {
        let names_ = names("北向资金 Fed holds", FeatureSet::LEGACY);
        for want in [
            "北",
            "北向",
            "北向资",
            "向资金",
            "word:fed",
            "word:holds",
            "pair:fed holds",
        ] {
            assert!(names_.contains(&want.to_string()), "{want} in {names_:?}");
        }
        // Digits and punctuation are not features; words do not pair across CJK text.
        let n = names("2024年【最新】GDP增长", FeatureSet::LEGACY);
        assert!(
            !n.iter().any(|n| n.contains('2') || n.contains('【')),
            "{n:?}"
        );
        assert!(n.contains(&"word:gdp".to_string()));
        // Binary features: a repeated n-gram counts once.
        assert_eq!(hashes("好好好好", FeatureSet::LEGACY).len(), 3);
    }

    #[test]
    fn traditional_full_width_and_upper_case_read_like_the_rest() {
        assert_eq!(fold("臺灣經濟發展"), "台湾经济发展");
        assert_eq!(fold("ＧＤＰ增長３％"), "gdp增长3%");
        assert_eq!(fold("Ten Recipes"), "ten recipes");
        let all = FeatureSet::ALL;
        assert_eq!(hashes("銀行業績", all), hashes("银行业绩", all));
        assert_eq!(hashes("Ten RECIPES", all), hashes("ten recipe", all));
        assert!(names("Ten recipes for a cold evening", all).contains(&"word:recip".into()));
    }

    #[test]
    fn optional_kinds() {
        let all = FeatureSet::ALL;
        let n = names("四川：成都市委常委会召开会议 部署专项整治", all);
        for want in [
            "region:r",
            "region:r1",
            "gov:gbody",
            "gov:gbody+r",
            "gov:gact",
        ] {
            assert!(n.contains(&want.to_string()), "{want} in {n:?}");
        }
        // The broadcaster's `地名：` prefix is not an n-gram; the region is still seen.
        assert!(!n.contains(&"四川".to_string()), "{n:?}");
        let n = names("Stocks fall (Reuters) - quot;", all);
        assert!(!n
            .iter()
            .any(|x| x.contains("reuters") || x.contains("quot")));
        assert_eq!(FeatureSet::parse("fold,stem").unwrap(), FeatureSet(3));
        assert_eq!(FeatureSet::parse(&all.names()).unwrap(), all);
        assert!(FeatureSet::parse("nope").is_err());
    }
}
