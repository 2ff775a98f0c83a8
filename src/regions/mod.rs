//! China's administrative divisions, for recognising place names in titles.
//!
//! Takes: text. Gives: the provinces, prefecture-level cities and counties/districts it names.
//! The list (`adcodes.csv`, 3,511 divisions, MIT licence in `LICENSE` beside it; from the `cpca`
//! project) is compiled into the binary, so no data file has to travel with it.
//!
//! Each division is known by its full name (`四川省`, `成都市`, `静安区`) and, where stripping
//! the administrative suffix leaves at least two characters, by its short name (`四川`, `成都`,
//! `静安`). The deduplicator uses this to refuse merging titles that differ by a place; the
//! categorizer uses it to tag regions.

use std::collections::HashMap;
use std::sync::OnceLock;

/// The level of a division, from its adcode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Level {
    /// Province, autonomous region, municipality or SAR.
    Province,
    /// Prefecture-level city or prefecture.
    Prefecture,
    /// County or district.
    County,
}

/// One administrative division.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Region {
    /// The 12-digit administrative code.
    pub adcode: u64,
    /// The full name (`四川省`).
    pub name: String,
    /// The name without its administrative suffix (`四川`), or the full name when that would
    /// leave a single character.
    pub short: String,
    /// Province, prefecture or county.
    pub level: Level,
}

impl Region {
    /// The adcode of the province this division lies in.
    pub fn province_code(&self) -> u64 {
        self.adcode / 10_000_000_000 * 10_000_000_000
    }
}

const SUFFIXES: &[&str] = &[
    "特别行政区",
    "维吾尔自治区",
    "壮族自治区",
    "回族自治区",
    "自治区",
    "自治州",
    "自治县",
    "地区",
    "新区",
    "林区",
    "省",
    "市",
    "区",
    "县",
    "盟",
    "旗",
];

struct Index {
    regions: Vec<Region>,
    /// Name (full or short) → indices into `regions`.
    by_name: HashMap<String, Vec<usize>>,
    /// First character of any name (or group name) → the longest such name, in characters: most
    /// characters of a text start no name, and this skips them with one lookup instead of one
    /// per candidate length.
    starts: HashMap<char, usize>,
}

impl Index {
    /// The longest name that could start at `c` (0: none does).
    fn longest_from(&self, c: char) -> usize {
        self.starts.get(&c).copied().unwrap_or(0)
    }
}

fn index() -> &'static Index {
    static INDEX: OnceLock<Index> = OnceLock::new();
    INDEX.get_or_init(|| {
        let mut regions = Vec::new();
        for line in include_str!("adcodes.csv").lines().skip(1) {
            let mut cols = line.split(',');
            let (Some(code), Some(name)) = (cols.next(), cols.next()) else {
                continue;
            };
            let Ok(adcode) = code.trim().parse::<u64>() else {
                continue;
            };
            let name = name.trim().to_string();
            let level = if adcode % 10_000_000_000 == 0 {
                Level::Province
            } else if adcode % 100_000_000 == 0 {
                Level::Prefecture
            } else {
                Level::County
            };
            let short = SUFFIXES
                .iter()
                .find_map(|s| {
                    name.strip_suffix(s)
                        .filter(|rest| rest.chars().count() >= 2)
                })
                .unwrap_or(&name)
                .to_string();
            regions.push(Region {
                adcode,
                name,
                short,
                level,
            });
        }
        let mut by_name: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, r) in regions.iter().enumerate() {
            by_name.entry(r.name.clone()).or_default().push(i);
            if r.short != r.name {
                by_name.entry(r.short.clone()).or_default().push(i);
            }
        }
        let mut starts: HashMap<char, usize> = HashMap::new();
        let names = by_name.keys().map(String::as_str);
        for name in names.chain(GROUPS.iter().map(|(g, _)| *g)) {
            if let Some(c) = name.chars().next() {
                let len = starts.entry(c).or_default();
                *len = (*len).max(name.chars().count());
            }
        }
        Index {
            regions,
            by_name,
            starts,
        }
    })
}

/// Every division.
pub fn all() -> &'static [Region] {
    &index().regions
}

/// Divisions named in `text`, in order of first mention, longest match first at each position
/// (so `成都市` is one match, not `成都` then `都市`). A name shared by several divisions yields
/// all of them.
pub fn mentioned(text: &str) -> Vec<&'static Region> {
    let idx = index();
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut out: Vec<&'static Region> = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let mut matched = 0;
        for len in (2..=idx.longest_from(chars[i].1).min(chars.len() - i)).rev() {
            let start = chars[i].0;
            let end = chars.get(i + len).map_or(text.len(), |c| c.0);
            if let Some(hits) = idx.by_name.get(&text[start..end]) {
                for &h in hits {
                    let r = &idx.regions[h];
                    if !out.iter().any(|o| o.adcode == r.adcode) {
                        out.push(r);
                    }
                }
                matched = len;
                break;
            }
        }
        i += matched.max(1);
    }
    out
}

/// Whether `text` names any division.
pub fn names_a_region(text: &str) -> bool {
    !mentioned(text).is_empty()
}

/// Names that stand for several regions at once.
const GROUPS: &[(&str, &[u64])] = &[
    ("川渝", &[510_000_000_000, 500_000_000_000]),
    ("成渝", &[510_100_000_000, 510_000_000_000, 500_000_000_000]),
    (
        "京津冀",
        &[110_000_000_000, 120_000_000_000, 130_000_000_000],
    ),
    (
        "长三角",
        &[
            310_000_000_000,
            320_000_000_000,
            330_000_000_000,
            340_000_000_000,
        ],
    ),
    (
        "粤港澳",
        &[440_000_000_000, 810_000_000_000, 820_000_000_000],
    ),
];

/// English names of provinces and major cities → adcode.
const ENGLISH: &[(&str, u64)] = &[
    ("beijing", 110_000_000_000),
    ("tianjin", 120_000_000_000),
    ("hebei", 130_000_000_000),
    ("shanxi", 140_000_000_000),
    ("inner mongolia", 150_000_000_000),
    ("liaoning", 210_000_000_000),
    ("shenyang", 210_100_000_000),
    ("dalian", 210_200_000_000),
    ("jilin", 220_000_000_000),
    ("heilongjiang", 230_000_000_000),
    ("harbin", 230_100_000_000),
    ("shanghai", 310_000_000_000),
    ("jiangsu", 320_000_000_000),
    ("nanjing", 320_100_000_000),
    ("suzhou", 320_500_000_000),
    ("zhejiang", 330_000_000_000),
    ("hangzhou", 330_100_000_000),
    ("ningbo", 330_200_000_000),
    ("anhui", 340_000_000_000),
    ("hefei", 340_100_000_000),
    ("fujian", 350_000_000_000),
    ("xiamen", 350_200_000_000),
    ("jiangxi", 360_000_000_000),
    ("shandong", 370_000_000_000),
    ("qingdao", 370_200_000_000),
    ("henan", 410_000_000_000),
    ("zhengzhou", 410_100_000_000),
    ("hubei", 420_000_000_000),
    ("wuhan", 420_100_000_000),
    ("hunan", 430_000_000_000),
    ("changsha", 430_100_000_000),
    ("guangdong", 440_000_000_000),
    ("guangzhou", 440_100_000_000),
    ("shenzhen", 440_300_000_000),
    ("guangxi", 450_000_000_000),
    ("hainan", 460_000_000_000),
    ("chongqing", 500_000_000_000),
    ("sichuan", 510_000_000_000),
    ("chengdu", 510_100_000_000),
    ("guizhou", 520_000_000_000),
    ("yunnan", 530_000_000_000),
    ("kunming", 530_100_000_000),
    ("tibet", 540_000_000_000),
    ("shaanxi", 610_000_000_000),
    ("xi'an", 610_100_000_000),
    ("gansu", 620_000_000_000),
    ("qinghai", 630_000_000_000),
    ("ningxia", 640_000_000_000),
    ("xinjiang", 650_000_000_000),
    ("taiwan", 710_000_000_000),
    ("hong kong", 810_000_000_000),
    ("macau", 820_000_000_000),
    ("macao", 820_000_000_000),
];

fn ambiguous(name: &str) -> bool {
    static SET: OnceLock<std::collections::HashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| {
        include_str!("ambiguous.txt")
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect()
    })
    .contains(name)
}

/// The regions `text` names, as adcodes, each with its prefecture and province (so a filter on
/// `四川` matches an item about `成都市武侯区`): full and short Chinese names (short names that
/// are ordinary words — `和平`, `长寿`, `白银` — only in full), group names (`川渝` → Sichuan and
/// Chongqing), and the English names of provinces and major cities. Sorted, no repeats.
pub fn tag(text: &str) -> Vec<u64> {
    let mut out = std::collections::BTreeSet::new();
    // A name several divisions share (`开平`: a district of Tangshan and a city under
    // Jiangmen) is resolved after the pass, by the other places the text names.
    let mut shared: Vec<Vec<&'static Region>> = Vec::new();
    let idx = index();
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut i = 0;
    while i < chars.len() {
        let mut matched = 0;
        for len in (2..=idx.longest_from(chars[i].1).min(chars.len() - i)).rev() {
            let start = chars[i].0;
            let end = chars.get(i + len).map_or(text.len(), |c| c.0);
            let word = &text[start..end];
            if let Some((_, codes)) = GROUPS.iter().find(|(g, _)| *g == word) {
                out.extend(codes.iter().copied());
                matched = len;
                break;
            }
            if let Some(hits) = idx.by_name.get(word) {
                let kept: Vec<&'static Region> = hits
                    .iter()
                    .map(|&h| &idx.regions[h])
                    .filter(|r| word == r.name || !ambiguous(word))
                    .collect();
                match kept.len() {
                    0 => {}
                    1 => {
                        insert_with_parents(&mut out, kept[0]);
                        matched = len;
                        break;
                    }
                    _ => {
                        shared.push(kept);
                        matched = len;
                        break;
                    }
                }
            }
        }
        i += matched.max(1);
    }
    for candidates in shared {
        // Prefer the divisions inside a province or city the text names elsewhere; with no
        // such clue, the name stands for all of them.
        let near: Vec<&&Region> = candidates
            .iter()
            .filter(|r| {
                out.contains(&(r.adcode / 100_000_000 * 100_000_000))
                    || out.contains(&r.province_code())
            })
            .collect();
        if near.is_empty() {
            for r in &candidates {
                insert_with_parents(&mut out, r);
            }
        } else {
            for r in near {
                insert_with_parents(&mut out, r);
            }
        }
    }
    // English names only where there are Latin letters to hold them.
    let lower = if text.bytes().any(|b| b.is_ascii_alphabetic()) {
        text.to_lowercase()
    } else {
        String::new()
    };
    for (name, code) in ENGLISH {
        if let Some(pos) = lower.find(name) {
            let before = lower[..pos].chars().next_back();
            let after = lower[pos + name.len()..].chars().next();
            if !before.is_some_and(char::is_alphanumeric)
                && !after.is_some_and(char::is_alphanumeric)
            {
                out.insert(*code);
                out.insert(code / 10_000_000_000 * 10_000_000_000);
            }
        }
    }
    // Municipalities' districts report the municipality itself as their prefecture
    // (500100000000 for 重庆市 districts); keep only codes that name a division.
    out.into_iter().filter(|c| by_code(*c).is_some()).collect()
}

fn insert_with_parents(out: &mut std::collections::BTreeSet<u64>, r: &Region) {
    out.insert(r.adcode);
    out.insert(r.province_code());
    if r.level == Level::County {
        out.insert(r.adcode / 100_000_000 * 100_000_000);
    }
}

/// The division with this adcode.
pub fn by_code(code: u64) -> Option<&'static Region> {
    static MAP: OnceLock<HashMap<u64, usize>> = OnceLock::new();
    let idx = index();
    let map = MAP.get_or_init(|| {
        idx.regions
            .iter()
            .enumerate()
            .map(|(i, r)| (r.adcode, i))
            .collect()
    });
    map.get(&code).map(|&i| &idx.regions[i])
}

/// Divisions whose full or short name is `name` (for output filters such as `regions = ["四川"]`).
pub fn named(name: &str) -> Vec<&'static Region> {
    let idx = index();
    if let Some((_, codes)) = GROUPS.iter().find(|(g, _)| *g == name) {
        return codes.iter().filter_map(|c| by_code(*c)).collect();
    }
    idx.by_name
        .get(name.trim())
        .map(|hits| hits.iter().map(|&h| &idx.regions[h]).collect())
        .unwrap_or_default()
}

/// Whether the region `code` lies within `area` (itself, or one of its cities or counties).
pub fn within(code: u64, area: &Region) -> bool {
    match area.level {
        Level::Province => code / 10_000_000_000 == area.adcode / 10_000_000_000,
        Level::Prefecture => code / 100_000_000 == area.adcode / 100_000_000,
        Level::County => code == area.adcode,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loads_every_division() {
        assert!(all().len() > 3_000);
        let chengdu = all().iter().find(|r| r.name == "成都市").unwrap();
        assert_eq!(
            (chengdu.short.as_str(), chengdu.level),
            ("成都", Level::Prefecture)
        );
        assert_eq!(chengdu.province_code(), 510_000_000_000);
        let zhong = all().iter().find(|r| r.name == "忠县").unwrap();
        assert_eq!(
            zhong.short, "忠县",
            "a one-character short name is not used"
        );
    }

    #[test]
    fn tags_resolve_upwards_and_skip_ordinary_words() {
        let names = |t: &str| {
            tag(t)
                .into_iter()
                .map(|c| by_code(c).unwrap().name.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(names("川渝党政联席会议召开"), ["重庆市", "四川省"]);
        let wuhou = names("成都市武侯区开展基层矛盾纠纷调解");
        assert!(
            wuhou.contains(&"四川省".to_string())
                && wuhou.contains(&"成都市".to_string())
                && wuhou.contains(&"武侯区".to_string()),
            "{wuhou:?}"
        );
        let bishan = names("璧山区召开推进会");
        assert!(bishan.contains(&"重庆市".to_string()), "{bishan:?}");
        assert!(
            names("中美加强合作 维护世界和平").is_empty(),
            "合作 and 和平 are words here"
        );
        assert!(names("长寿秘诀").is_empty());
        assert!(names("从千万工程到乡村振兴").is_empty(), "振兴 is a word");
        assert!(names("王岐山会见来宾").is_empty(), "a person's name");
        assert!(
            names("红星新闻｜红星美凯龙发布年度业绩预告").is_empty(),
            "an outlet and a company"
        );
        assert_eq!(
            names("伊春市红星区召开会议"),
            ["黑龙江省", "伊春市", "红星区"]
        );
        assert_eq!(
            names("推进成渝地区双城经济圈建设"),
            ["重庆市", "四川省", "成都市"]
        );
        // A shared short name resolved by the city named beside it.
        assert_eq!(names("江门开平一幼儿园"), ["广东省", "江门市", "开平市"]);
        assert_eq!(
            names("Floods hit Sichuan and Chongqing"),
            ["重庆市", "四川省"]
        );
        assert!(names("Sichuanese food").is_empty());
        let sichuan = &named("四川")[0];
        assert!(within(510_107_000_000, sichuan) && !within(500_000_000_000, sichuan));
    }

    #[test]
    fn finds_places_in_titles() {
        let names = |t: &str| {
            mentioned(t)
                .iter()
                .map(|r| r.name.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            names("川渝党政联席会议在重庆召开 四川省委书记出席"),
            ["重庆市", "四川省"]
        );
        assert_eq!(names("成都市开展基层矛盾纠纷调解"), ["成都市"]);
        assert!(names("静安高雄市民在路边发现白色小刺猬").contains(&"静安区".to_string()));
        assert!(names("Fed holds rates").is_empty());
        assert!(!names_a_region("每日焦点"));
        assert!(names_a_region("莲湖鸟巢旁擅建空中四合院"));
    }
}
