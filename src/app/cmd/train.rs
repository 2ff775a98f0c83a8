//! `feedsift train`: a categorizer model from labelled JSON lines, or a leave-one-source-out
//! measurement of the training method.
//!
//! Takes: training files or directories of them (`{"title", "summary", "label"}` a line, with
//! `source`/`outlet` naming the source group), an optional corrections file (the same format,
//! weighted), an output path, an optional dev file, and the method's options (feature kinds,
//! source balance, epochs, L2, seed). Gives: the model file and a report on stdout (size, and the
//! dev scores when asked), or with `--loso` the per-source table of held-out scores. Guarantees:
//! same data, same options, same model; progress only on a terminal.

use super::progress_bar;
use crate::categorize::eval::{data_files, read_examples_with, BySource, Scores};
use crate::categorize::features::FeatureSet;
use crate::categorize::loso::{self, Adapt};
use crate::categorize::model::{Example, Model, TrainOptions};
use crate::categorize::{ModelCategorizer, Overrides};
use anyhow::Context as _;
use std::path::PathBuf;
use std::sync::Arc;

/// The shipped model's feature kinds (see `docs/CATEGORIZER.md` for how they were chosen).
pub const DEFAULT_FEATURES: &str = "fold,stem,regions,gov,nosig";
/// The shipped model's source balance.
pub const DEFAULT_SOURCE_BALANCE: f32 = 0.5;
/// The shipped model's minimum number of source groups a feature is seen in.
pub const DEFAULT_MIN_GROUPS: u32 = 1;
/// How much more a correction weighs than an ordinary example (unless its line says otherwise).
pub const DEFAULT_CORRECTION_WEIGHT: f32 = 5.0;

/// What `feedsift train` is asked to do.
#[derive(Debug, Clone)]
pub struct TrainArgs {
    /// Labelled files, or directories whose `*.jsonl` files are all read.
    pub data: Vec<PathBuf>,
    /// The admin's corrections (same format), each weighing `correction_weight` unless its line
    /// has a `weight`.
    pub corrections: Option<PathBuf>,
    /// The weight of a correction.
    pub correction_weight: f32,
    /// Where to write the model (not needed with `loso`).
    pub out: Option<PathBuf>,
    /// A labelled file to score the model on.
    pub dev: Option<PathBuf>,
    /// The training options.
    pub opts: TrainOptions,
    /// Read titles only (no summaries).
    pub titles_only: bool,
    /// Measure the method by leave-one-source-out instead of writing a model.
    pub loso: bool,
    /// Files only held out in LOSO, never trained on.
    pub holdout_only: Vec<PathBuf>,
    /// Adaptation to the held-out source in LOSO.
    pub adapt: Adapt,
    /// LOSO folds run at once.
    pub threads: usize,
}

impl TrainArgs {
    /// The shipped method's options on `data`, writing to `out`.
    pub fn new(data: Vec<PathBuf>, out: Option<PathBuf>) -> TrainArgs {
        TrainArgs {
            data,
            corrections: None,
            correction_weight: DEFAULT_CORRECTION_WEIGHT,
            out,
            dev: None,
            opts: TrainOptions {
                features: FeatureSet::parse(DEFAULT_FEATURES).expect("valid"),
                source_balance: DEFAULT_SOURCE_BALANCE,
                min_groups: DEFAULT_MIN_GROUPS,
                ..TrainOptions::default()
            },
            titles_only: false,
            loso: false,
            holdout_only: Vec::new(),
            adapt: Adapt::None,
            threads: 2,
        }
    }
}

/// Parses `--adapt`: `none`, `priors` or `self:CONFIDENCE`.
pub fn parse_adapt(s: &str) -> Result<Adapt, String> {
    match s {
        "none" => Ok(Adapt::None),
        "priors" => Ok(Adapt::Priors),
        "online" => Ok(Adapt::Online),
        _ => s
            .strip_prefix("self:")
            .and_then(|c| c.parse::<f32>().ok())
            .map(Adapt::SelfTrain)
            .ok_or_else(|| format!("--adapt: none, priors, online or self:CONFIDENCE, not `{s}`")),
    }
}

/// Runs `train`: the report on stdout.
pub fn run(args: &TrainArgs) -> anyhow::Result<()> {
    let report = train(args)?;
    println!("{report}");
    Ok(())
}

fn read_all(paths: &[PathBuf], titles_only: bool) -> anyhow::Result<Vec<Example>> {
    let mut examples = Vec::new();
    for p in paths {
        for f in data_files(p).with_context(|| format!("cannot list {}", p.display()))? {
            examples.extend(read_examples_with(&f, !titles_only)?);
        }
    }
    Ok(examples)
}

/// `feedsift train`: trains on the data, writes the model, and returns a report (the dev scores
/// when a dev file is given); with `loso`, the leave-one-source-out table instead.
pub fn train(args: &TrainArgs) -> anyhow::Result<String> {
    let mut examples = read_all(&args.data, args.titles_only)?;
    anyhow::ensure!(
        !examples.is_empty(),
        "no training examples in {:?}",
        args.data
    );
    if let Some(c) = &args.corrections {
        let mut corr = read_all(std::slice::from_ref(c), args.titles_only)?;
        let has_weight = std::fs::read_to_string(c)?
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                serde_json::from_str::<serde_json::Value>(l).map(|v| v.get("weight").is_some())
            })
            .collect::<Result<Vec<bool>, _>>()?;
        for (e, own) in corr.iter_mut().zip(has_weight) {
            e.group = "corrections".into();
            if !own {
                e.weight = args.correction_weight;
            }
        }
        examples.extend(corr);
    }
    let opts = &args.opts;
    let method = format!(
        "features={} source_balance={} epochs={} l2={} min_count={} min_groups={} summaries={}",
        opts.features.names(),
        opts.source_balance,
        opts.epochs,
        opts.l2,
        opts.min_count,
        opts.min_groups,
        !args.titles_only
    );
    if args.loso {
        let holdout = read_all(&args.holdout_only, args.titles_only)?;
        let bar = progress_bar(
            true,
            0,
            "{spinner} leave-one-source-out [{bar:30}] {pos}/{len}",
        );
        let report: BySource = loso::run(
            &examples,
            &holdout,
            opts,
            args.adapt,
            args.threads,
            &|done, total| {
                if let Some(b) = &bar {
                    b.set_length(total as u64);
                    b.set_position(done as u64);
                }
            },
        );
        if let Some(b) = bar {
            b.finish_and_clear();
        }
        let mut s = format!(
            "leave-one-source-out, {} items, {method} adapt={:?}\n{}",
            examples.len() + holdout.len(),
            args.adapt,
            report.render()
        );
        let pooled = report.pooled().macro_f1();
        s.push_str(&format!(
            "\nloso_score={:.4}",
            (report.mean_accuracy() + pooled) / 2.0
        ));
        return Ok(s);
    }
    let out = args
        .out
        .as_deref()
        .context("train: --out is needed (or --loso)")?;
    let bar = progress_bar(
        true,
        opts.epochs as u64,
        "{spinner} training [{bar:30}] epoch {pos}/{len}",
    );
    let model = Model::train(&examples, opts, &|e, _| {
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
        "trained on {} items: {} features, {} bytes written to {} ({method})",
        examples.len(),
        model.len(),
        bytes.len(),
        out.display()
    );
    if let Some(dev) = &args.dev {
        let c = ModelCategorizer::new(Arc::new(model), Overrides::default());
        let scores = Scores::measure(&c, &read_examples_with(dev, !args.titles_only)?);
        report.push_str(&format!("\ndev ({}):\n{}", dev.display(), scores.render()));
    }
    Ok(report)
}
