//! `feedsift corrections export [--output FILE]`: the admin's corrections as training data.
//!
//! Takes: the configuration (its store) and where to write. Gives: JSON lines in the training
//! format `feedsift train` reads (`src/categorize/eval.rs`) — `title`, `summary` (plain text),
//! `label`, and `source` (the item's feed id) — plus, for people and tools, `item`
//! (`urn:feedsift:KEY`), `previous`, `at`, `by` and `link`; no `weight`, so
//! `feedsift train --corrections FILE` gives each its `--correction-weight`. Guarantees: one
//! line per corrected item, its newest correction only (an item relabelled twice is not two
//! contradicting examples), oldest first; written from the records the store keeps, so an item
//! pruned since still exports; to stdout unless `--output` names a file.

use super::label::open_existing;
use super::Context;
use crate::store::{Correction, Store, StoreError};
use anyhow::Context as _;
use std::io::Write;
use std::path::Path;

/// Runs `corrections export`: the lines on stdout or in `output`; a count on stderr.
pub fn run_export(ctx: &Context, output: Option<&Path>) -> anyhow::Result<()> {
    let store = open_existing(&ctx.config()?)?;
    let lines = export_lines(&store)?;
    let mut text = String::new();
    for l in &lines {
        text.push_str(l);
        text.push('\n');
    }
    match output {
        Some(path) => {
            std::fs::write(path, &text)
                .with_context(|| format!("cannot write {}", path.display()))?;
            eprintln!("{} corrections written to {}", lines.len(), path.display());
        }
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())?;
            out.flush()?;
        }
    }
    Ok(())
}

/// One training line for a correction.
pub fn training_line(c: &Correction) -> serde_json::Value {
    serde_json::json!({
        "title": c.title,
        "summary": c.summary,
        "label": c.label,
        "source": c.feed_id,
        "item": format!("urn:feedsift:{}", c.key),
        "previous": c.previous,
        "at": c.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "by": c.by,
        "link": c.link,
    })
}

/// The export's lines: each corrected item's newest correction, oldest first.
pub fn export_lines(store: &Store) -> Result<Vec<String>, StoreError> {
    let mut seen = std::collections::HashSet::new();
    let mut newest = Vec::new();
    for c in store.all_corrections() {
        let c = c?;
        if seen.insert(c.key.clone()) {
            newest.push(c);
        }
    }
    newest.reverse();
    Ok(newest
        .iter()
        .map(|c| training_line(c).to_string())
        .collect())
}
