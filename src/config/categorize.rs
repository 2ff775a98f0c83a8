//! `[categorize]`: the categorizer's model file and keyword overrides.
//!
//! Takes: the table's raw keys and its span. Gives: the keyword lists per category and the model
//! path (relative paths resolved from the config file's directory). Guarantees: a keyword list
//! that is empty once trimmed is an error pointing at the table, since it would silently
//! disable the built-in list.

use super::{ConfigError, Source};
use crate::model::Category;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use toml::Spanned;

/// `[categorize]` as written.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCategorize {
    model: Option<String>,
    regional_politics: Option<Vec<String>>,
    finance: Option<Vec<String>>,
    lifestyle: Option<Vec<String>>,
}

/// What `[categorize]` configures.
pub(super) struct Categorize {
    /// Keyword lists that replace the built-in ones, per category.
    pub keywords: BTreeMap<Category, Vec<String>>,
    /// A model file to use instead of the shipped one.
    pub model_path: Option<PathBuf>,
}

/// Validates `[categorize]` (absent: built-in keywords, shipped model).
pub(super) fn parse(
    src: &Source<'_>,
    raw: Option<Spanned<RawCategorize>>,
) -> Result<Categorize, ConfigError> {
    let mut keywords = BTreeMap::new();
    let mut model_path = None;
    if let Some(c) = raw {
        let span = c.span();
        let c = c.into_inner();
        model_path = c.model.map(|m| src.base_dir().join(m));
        for (cat, list) in [
            (Category::RegionalPolitics, c.regional_politics),
            (Category::Finance, c.finance),
            (Category::Lifestyle, c.lifestyle),
        ] {
            if let Some(list) = list {
                let list: Vec<String> = list
                    .into_iter()
                    .map(|k| k.trim().to_lowercase())
                    .filter(|k| !k.is_empty())
                    .collect();
                if list.is_empty() {
                    return Err(src.err(
                        span.clone(),
                        format!("[categorize] {cat}: the keyword list is empty; remove it to use the built-in list"),
                    ));
                }
                keywords.insert(cat, list);
            }
        }
    }
    Ok(Categorize {
        keywords,
        model_path,
    })
}
