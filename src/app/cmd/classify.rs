//! `feedsift classify`: labels for items read from stdin.
//!
//! Takes: one item a line on stdin (a title, or `{"title", "summary"}`), and the configuration
//! when there is one (its model, keyword overrides and hints apply). Gives: one verdict a line —
//! label, confidence, runner-up, regions — as tab-separated text or JSON, with the weightiest
//! features and any override when explaining. Guarantees: a line that is not what it claims to
//! be fails with its line number; an invalid config is an error, a missing one is not.

use super::Context;
use crate::categorize::{eval::item_of, model_text, ModelCategorizer, Reason};
use crate::model::Item;
use anyhow::Context as _;

/// Runs `classify` on stdin and stdout.
pub fn run(ctx: &Context, explain: bool, json: bool) -> anyhow::Result<()> {
    let categorizer = ctx.categorizer()?;
    classify_lines(
        &categorizer,
        std::io::stdin().lock(),
        std::io::stdout().lock(),
        explain,
        json,
    )
}

/// `feedsift classify`: one item a line in (a title, or `{"title", "summary"}`), one verdict a
/// line out.
pub fn classify_lines(
    c: &ModelCategorizer,
    input: impl std::io::BufRead,
    mut out: impl std::io::Write,
    explain: bool,
    json: bool,
) -> anyhow::Result<()> {
    for (n, line) in input.lines().enumerate() {
        let line = line?;
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let item = read_item(line, n + 1)?;
        write_verdict(c, &item, &mut out, explain, json)?;
    }
    Ok(())
}

/// The item on stdin line `n`: a JSON object when it starts with `{`, else a title.
fn read_item(line: &str, n: usize) -> anyhow::Result<Item> {
    if !line.starts_with('{') {
        return Ok(item_of(line, ""));
    }
    let v: serde_json::Value =
        serde_json::from_str(line).with_context(|| format!("stdin line {n}: not JSON"))?;
    let title = v["title"]
        .as_str()
        .with_context(|| format!("stdin line {n}: no \"title\""))?;
    Ok(item_of(title, v["summary"].as_str().unwrap_or("")))
}

/// One verdict line for `item`.
fn write_verdict(
    c: &ModelCategorizer,
    item: &Item,
    out: &mut impl std::io::Write,
    explain: bool,
    json: bool,
) -> anyhow::Result<()> {
    let (class, reason) = c.classify_explained(item);
    let regions: Vec<String> = class
        .regions
        .iter()
        .filter_map(|r| crate::regions::by_code(*r))
        .map(|r| r.name.clone())
        .collect();
    let features = if explain {
        c.model().explain(&model_text(item), class.category, 8)
    } else {
        Vec::new()
    };
    let why = match &reason {
        Reason::Model => None,
        Reason::Adapted(s) => Some(format!(
            "feed's label shares {:.2}/{:.2}/{:.2}/{:.2}",
            s[0], s[1], s[2], s[3]
        )),
        Reason::Hint(h) => Some(format!("feed category_hint {h}")),
        Reason::Keyword(cat, w) => Some(format!("keyword `{w}` forces {cat}")),
    };
    if json {
        let mut v = serde_json::json!({
            "title": item.title,
            "label": class.category,
            "confidence": (f64::from(class.confidence) * 10_000.0).round() / 10_000.0,
            "runner_up": class.runner_up,
            "regions": regions,
        });
        if explain {
            v["features"] = serde_json::json!(features.iter().map(|(f, w)| serde_json::json!({"feature": f, "weight": (f64::from(*w) * 10_000.0).round() / 10_000.0})).collect::<Vec<_>>());
            v["override"] = serde_json::json!(why);
        }
        writeln!(out, "{v}")?;
        return Ok(());
    }
    write!(
        out,
        "{}\t{:.3}\t{}\t{}",
        class.category,
        class.confidence,
        class.runner_up.map_or("-", |r| r.as_str()),
        if regions.is_empty() {
            "-".to_string()
        } else {
            regions.join(",")
        }
    )?;
    if explain {
        let f: Vec<String> = features
            .iter()
            .map(|(f, w)| format!("{f}({w:+.2})"))
            .collect();
        write!(out, "\t{}", f.join(" "))?;
        if let Some(w) = why {
            write!(out, "\t[{w}]")?;
        }
    }
    writeln!(out)?;
    Ok(())
}
