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
    longest: usize,
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
        let longest = by_name.keys().map(|k| k.chars().count()).max().unwrap_or(0);
        Index {
            regions,
            by_name,
            longest,
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
        for len in (2..=idx.longest.min(chars.len() - i)).rev() {
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
