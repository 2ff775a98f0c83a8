//! `feedsift train`: a categorizer model from labelled JSON lines.
//!
//! Takes: training files (`{"title", "summary", "label"}` a line), an output path, an optional
//! dev file, epochs and a seed. Gives: the model file and a report on stdout (size, and the dev
//! scores when asked). Guarantees: same data, same seed, same model; progress only on a
//! terminal.

use super::progress_bar;
use crate::categorize::eval::{read_examples, Scores};
use crate::categorize::model::{Model, TrainOptions};
use crate::categorize::{ModelCategorizer, Overrides};
use anyhow::Context as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Runs `train`: the report on stdout.
pub fn run(
    data: &[PathBuf],
    out: &Path,
    dev: Option<&Path>,
    epochs: usize,
    seed: u64,
) -> anyhow::Result<()> {
    let report = train(data, out, dev, epochs, seed)?;
    println!("{report}");
    Ok(())
}

/// `feedsift train`: trains on `data`, writes the model to `out`, and returns a report (the dev
/// scores when `dev` is given). Progress on a terminal.
pub fn train(
    data: &[PathBuf],
    out: &Path,
    dev: Option<&Path>,
    epochs: usize,
    seed: u64,
) -> anyhow::Result<String> {
    let mut examples = Vec::new();
    for d in data {
        examples.extend(read_examples(d)?);
    }
    anyhow::ensure!(!examples.is_empty(), "no training examples in {:?}", data);
    let bar = progress_bar(
        true,
        epochs as u64,
        "{spinner} training [{bar:30}] epoch {pos}/{len}",
    );
    let opts = TrainOptions {
        epochs,
        seed,
        ..TrainOptions::default()
    };
    let model = Model::train(&examples, &opts, &|e, _| {
        if let Some(b) = &bar {
            b.set_position(e as u64);
        }
    });
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let bytes = model.to_bytes();
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(out, &bytes).with_context(|| format!("cannot write {}", out.display()))?;
    let mut report = format!(
        "trained on {} items: {} features, {} bytes written to {}",
        examples.len(),
        model.len(),
        bytes.len(),
        out.display()
    );
    if let Some(dev) = dev {
        let c = ModelCategorizer::new(Arc::new(model), Overrides::default());
        let scores = Scores::measure(&c, &read_examples(dev)?);
        report.push_str(&format!("\ndev ({}):\n{}", dev.display(), scores.render()));
    }
    Ok(report)
}
