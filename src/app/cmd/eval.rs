//! `feedsift eval categorizer|dedup FILE`: a component measured on labelled data.
//!
//! Takes: a labelled file — items with labels for the categorizer, pairs judged duplicate or
//! not for the deduplicator — and the configuration when there is one (its model and overrides,
//! or its `[dedup]` settings). Gives: the scores on stdout (per-label scores and the confusion
//! matrix; precision and recall per kind of pair), and up to `--mistakes` misjudged pairs on
//! stderr. Guarantees: a missing config means the defaults; progress only on a terminal.

use super::{progress_bar, Context};
use crate::config::DedupSettings;
use crate::dedup::eval::{read_pairs, Report};
use anyhow::Context as _;
use std::path::{Path, PathBuf};

/// Runs `eval categorizer FILE…` (`--by-source`: the per-source table too).
pub fn run_categorizer(ctx: &Context, files: &[PathBuf], by_source: bool) -> anyhow::Result<()> {
    use crate::categorize::eval::{data_files, read_examples, BySource, Scores};
    let categorizer = ctx.categorizer()?;
    let mut examples = Vec::new();
    for f in files {
        for f in data_files(f).with_context(|| format!("cannot list {}", f.display()))? {
            examples.extend(read_examples(&f)?);
        }
    }
    if by_source {
        println!("{}", BySource::measure(&categorizer, &examples).render());
    } else {
        println!("{}", Scores::measure(&categorizer, &examples).render());
    }
    Ok(())
}

/// Runs `eval dedup FILE`, printing up to `mistakes` misjudged pairs.
pub fn run_dedup(ctx: &Context, file: &Path, mistakes: usize) -> anyhow::Result<()> {
    // The config is optional here: its [dedup] settings apply when it can be read.
    let settings = ctx.config().map(|c| c.dedup).unwrap_or_default();
    let report = eval_dedup(file, &settings)?;
    let cold = report.cold.as_deref().map(|c| ("cold ", c));
    for (when, r) in cold.into_iter().chain([("warmed ", &report)]) {
        for (kind, a, b, label) in r.mistakes.iter().take(mistakes) {
            eprintln!(
                "{when}{} [{kind}] {a}  ~  {b}",
                if *label { "missed" } else { "merged" }
            );
        }
    }
    println!("{}", report.render());
    Ok(())
}

/// `feedsift eval dedup FILE`: runs [`crate::dedup::eval`] with a progress bar on a terminal.
pub fn eval_dedup(file: &Path, settings: &DedupSettings) -> anyhow::Result<Report> {
    let pairs = read_pairs(file)?;
    let bar = progress_bar(
        true,
        pairs.len() as u64,
        "{spinner} evaluating [{bar:30}] {pos}/{len} pairs",
    );
    let report = crate::dedup::eval::run(&pairs, settings, &|done, _| {
        if let Some(b) = &bar {
            b.set_position(done as u64);
        }
    })?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    Ok(report)
}
