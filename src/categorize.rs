//! The categorizer: one label per item, with a confidence and a runner-up.
//!
//! Takes: an [`Item`]. Gives: a [`Classification`] — `regional_politics`, `finance`, `lifestyle`
//! or `other`. The [`Categorizer`] trait is the interface the rest of feedsift depends on; this
//! module's [`KeywordCategorizer`] is the first implementation: weighted keyword lists (Chinese
//! and English), built in and replaceable per category from `[categorize]` in `feeds.toml`.
//! A trained model takes its place behind the same trait; keyword lists then stay as the admin's
//! override.
//!
//! Scoring: a keyword found in the title counts 3, in the text 1 (each keyword once per field,
//! so a page that repeats one word does not win by repetition). The best-scoring category wins;
//! ties go to the earlier category in [`Category::ALL`]. Confidence is the winner's share of all
//! points, shrunk towards 0.5 when there is little evidence. With no keyword at all the item is
//! `other`. Latin keywords match whole words only (`bank` does not match `embankment`); CJK
//! keywords match as substrings, since CJK text has no spaces.

use crate::model::{Category, Classification, Item};
use std::collections::BTreeMap;

/// Anything that can label an item. `Send + Sync` so one instance serves every polling task.
pub trait Categorizer: Send + Sync {
    /// Labels one item.
    fn classify(&self, item: &Item) -> Classification;
}

/// Built-in keyword lists, used for every category `feeds.toml` does not override.
pub fn default_keywords(category: Category) -> &'static [&'static str] {
    match category {
        Category::RegionalPolitics => &[
            "省委",
            "市委",
            "县委",
            "区委",
            "党委",
            "党组",
            "党工委",
            "纪委",
            "监委",
            "人大",
            "政协",
            "常委会",
            "书记",
            "省长",
            "市长",
            "县长",
            "区长",
            "副省长",
            "副市长",
            "政府",
            "人民政府",
            "党建",
            "党员",
            "干部",
            "调研",
            "座谈会",
            "联席会议",
            "推进会",
            "部署",
            "工作会议",
            "会议精神",
            "基层",
            "街道",
            "社区治理",
            "乡村振兴",
            "政务",
            "政策",
            "条例",
            "督导",
            "巡视",
            "信访",
            "调解",
            "民生实事",
            "高质量发展",
            "两会",
            "主题教育",
            "provincial",
            "municipal",
            "party committee",
            "party secretary",
            "governor",
            "mayor",
            "county",
            "local government",
            "legislature",
            "policy",
        ],
        Category::Finance => &[
            "股份",
            "股票",
            "个股",
            "股价",
            "a股",
            "港股",
            "美股",
            "涨停",
            "跌停",
            "大盘",
            "指数",
            "基金",
            "证券",
            "券商",
            "银行",
            "信用卡",
            "贷款",
            "理财",
            "存款",
            "利率",
            "财报",
            "营收",
            "净利润",
            "业绩",
            "公告",
            "北向资金",
            "融资",
            "融券",
            "增持",
            "减持",
            "回购",
            "分红",
            "上市",
            "ipo",
            "债券",
            "期货",
            "汇率",
            "人民币",
            "央行",
            "gdp",
            "cpi",
            "经济",
            "投资",
            "市值",
            "保险",
            "财经",
            "资金",
            "stock",
            "stocks",
            "shares",
            "earnings",
            "revenue",
            "profit",
            "dividend",
            "bank",
            "banking",
            "loan",
            "loans",
            "credit card",
            "mortgage",
            "bond",
            "bonds",
            "market",
            "markets",
            "investor",
            "investors",
            "inflation",
            "interest rate",
            "fed",
            "nasdaq",
            "s&p",
            "economy",
            "fund",
            "funds",
            "ipo",
        ],
        Category::Lifestyle => &[
            "美食",
            "食谱",
            "做法",
            "菜谱",
            "宠物",
            "饲养",
            "养殖",
            "猫咪",
            "狗狗",
            "乌龟",
            "巴西龟",
            "旅游",
            "旅行",
            "景点",
            "攻略",
            "穿搭",
            "时尚",
            "护肤",
            "美妆",
            "家居",
            "装修",
            "家电",
            "冰箱",
            "空调",
            "洗衣机",
            "健康",
            "养生",
            "减肥",
            "育儿",
            "宝宝",
            "孕妇",
            "购物",
            "怎么",
            "如何",
            "方法",
            "技巧",
            "教程",
            "设置",
            "手机",
            "微信",
            "小窍门",
            "recipe",
            "recipes",
            "cooking",
            "pet",
            "pets",
            "dog",
            "dogs",
            "cat",
            "cats",
            "travel",
            "fashion",
            "beauty",
            "skincare",
            "home",
            "garden",
            "diet",
            "fitness",
            "parenting",
            "how to",
            "tips",
            "wellness",
        ],
        Category::Other => &[],
    }
}

/// Keyword-list categorizer; see the module docs for how it scores.
#[derive(Debug, Clone)]
pub struct KeywordCategorizer {
    lists: Vec<(Category, Vec<Keyword>)>,
}

#[derive(Debug, Clone)]
struct Keyword {
    text: String,
    whole_word: bool,
}

impl KeywordCategorizer {
    /// Built-in lists, with any category in `overrides` replaced by the admin's list.
    pub fn new(overrides: &BTreeMap<Category, Vec<String>>) -> KeywordCategorizer {
        let lists = Category::ALL
            .into_iter()
            .filter(|c| *c != Category::Other)
            .map(|c| {
                let words: Vec<String> = match overrides.get(&c) {
                    Some(list) => list.clone(),
                    None => default_keywords(c).iter().map(|s| s.to_string()).collect(),
                };
                let kws = words
                    .into_iter()
                    .map(|w| {
                        let text = w.to_lowercase();
                        let whole_word = text.is_ascii();
                        Keyword { text, whole_word }
                    })
                    .collect();
                (c, kws)
            })
            .collect();
        KeywordCategorizer { lists }
    }

    fn score(&self, kws: &[Keyword], title: &str, body: &str) -> f32 {
        kws.iter()
            .map(|k| {
                3.0 * f32::from(u8::from(contains(title, k)))
                    + f32::from(u8::from(contains(body, k)))
            })
            .sum()
    }
}

impl Categorizer for KeywordCategorizer {
    fn classify(&self, item: &Item) -> Classification {
        let title = item.title.to_lowercase();
        let text = item.plain_text().to_lowercase();
        let body = text.get(item.title.len()..).unwrap_or(&text);
        let mut scores: Vec<(Category, f32)> = self
            .lists
            .iter()
            .map(|(c, kws)| (*c, self.score(kws, &title, body)))
            .collect();
        // Stable sort keeps Category::ALL order among ties.
        scores.sort_by(|a, b| b.1.total_cmp(&a.1));
        let total: f32 = scores.iter().map(|s| s.1).sum();
        let (best, best_score) = scores[0];
        if best_score == 0.0 {
            return Classification {
                category: Category::Other,
                confidence: 0.5,
                runner_up: None,
            };
        }
        let share = best_score / total;
        // Little evidence (one body hit) should not look certain: blend towards 0.5.
        let weight = (best_score / 6.0).min(1.0);
        let confidence = 0.5 + (share - 0.5) * weight;
        Classification {
            category: best,
            confidence: confidence.clamp(0.0, 1.0),
            runner_up: Some(if scores[1].1 > 0.0 {
                scores[1].0
            } else {
                Category::Other
            }),
        }
    }
}

fn contains(haystack: &str, k: &Keyword) -> bool {
    if !k.whole_word {
        return haystack.contains(&k.text);
    }
    let bytes = haystack.as_bytes();
    let mut from = 0;
    while let Some(pos) = haystack[from..].find(&k.text) {
        let start = from + pos;
        let end = start + k.text.len();
        let before_ok = start == 0 || !bytes[start - 1].is_ascii_alphanumeric();
        let after_ok = end == bytes.len() || !bytes[end].is_ascii_alphanumeric();
        if before_ok && after_ok {
            return true;
        }
        from = start + 1;
        while !haystack.is_char_boundary(from) {
            from += 1;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(title: &str, summary: &str) -> Item {
        Item {
            feed_id: "f".into(),
            guid: None,
            title: title.into(),
            link: None,
            summary: Some(summary.into()),
            content: None,
            published: None,
            updated: None,
            authors: vec![],
            tags: vec![],
            language: None,
        }
    }

    #[test]
    fn labels_typical_items() {
        let c = KeywordCategorizer::new(&BTreeMap::new());
        let cases = [
            (
                "川渝党政联席会议在重庆召开 市委书记出席",
                "",
                Category::RegionalPolitics,
            ),
            ("北向资金增持3.54万股", "<p>公司股份</p>", Category::Finance),
            ("每日焦点!巴西龟的饲养方法", "", Category::Lifestyle),
            (
                "Fed holds interest rate as stocks rally",
                "",
                Category::Finance,
            ),
            (
                "Ten recipes for a cold evening",
                "cooking tips",
                Category::Lifestyle,
            ),
            ("暴雨蓝色预警", "气象台发布", Category::Other),
        ];
        for (t, s, want) in cases {
            let got = c.classify(&item(t, s));
            assert_eq!(got.category, want, "{t}: {got:?}");
            assert!((0.0..=1.0).contains(&got.confidence));
        }
    }

    #[test]
    fn whole_words_for_latin_keywords() {
        let c = KeywordCategorizer::new(&BTreeMap::new());
        assert_eq!(
            c.classify(&item("River embankment repaired", "")).category,
            Category::Other
        );
        assert_eq!(
            c.classify(&item("The bank cut fees", "")).category,
            Category::Finance
        );
    }

    #[test]
    fn admin_overrides_replace_a_list() {
        let mut o = BTreeMap::new();
        o.insert(Category::Lifestyle, vec!["足球".to_string()]);
        let c = KeywordCategorizer::new(&o);
        assert_eq!(
            c.classify(&item("足球比赛", "")).category,
            Category::Lifestyle
        );
        // The built-in lifestyle list is gone.
        assert_eq!(c.classify(&item("巴西龟", "")).category, Category::Other);
    }
}
