//! Labelled data in, scores out: reading `{"title", "summary", "label"}` lines (with `source`,
//! `outlet` and `weight` when present), and measuring a categorizer on them, overall and per
//! source group (`feedsift eval categorizer [--by-source]`, `feedsift train --dev`).

use super::model::Example;
use super::{model_text, Categorizer};
use crate::jsonl::JsonlError;
use crate::model::{Category, Item};
use serde::Deserialize;
use std::fmt::Write;
use std::path::Path;

/// One labelled line.
#[derive(Debug, Deserialize)]
struct Line {
    title: String,
    #[serde(default)]
    summary: String,
    label: String,
    #[serde(default)]
    source: String,
    #[serde(default)]
    outlet: String,
    weight: Option<f32>,
}

/// The source group of an item, for source balance and leave-one-source-out: the data set or
/// crawl it comes from — the repository named in `source` (`github:owner/name@commit:path` →
/// `owner/name`), else its `outlet`, else `default`. One group is one outlet's (or one crawl's)
/// style and period: the 31 discipline-commission sites share one template, so they are one group;
/// the two CCTV transcript repositories are one outlet (Xinwen Lianbo), so they are one group.
pub fn group_of(source: &str, outlet: &str, default: &str) -> String {
    let s = source.strip_prefix("github:").unwrap_or(source).trim();
    let repo = s.split([':', '@', ' ']).next().unwrap_or("");
    let g = match repo {
        "" if !outlet.is_empty() => outlet,
        "" => default,
        "DuckBurnIncense/xin-wen-lian-bo" => "china-data/xwlb",
        r => r,
    };
    g.to_string()
}

/// The labelled files under `path`: the file itself, or a directory's `*.jsonl` files in name
/// order (so new files are taken without code changes).
pub fn data_files(path: &Path) -> std::io::Result<Vec<std::path::PathBuf>> {
    if !path.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut v: Vec<std::path::PathBuf> = std::fs::read_dir(path)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    v.sort();
    Ok(v)
}

/// An item to classify from a title and summary (plain text).
pub fn item_of(title: &str, summary: &str) -> Item {
    Item {
        summary: Some(crate::text::escape_html(summary)).filter(|s| !s.is_empty()),
        ..Item::titled("", title)
    }
}

/// Reads labelled examples from a JSON-lines file (title and summary, as the categorizer reads
/// an item).
pub fn read_examples(path: &Path) -> Result<Vec<Example>, JsonlError> {
    read_examples_with(path, true)
}

/// Reads labelled examples; `summaries: false` reads titles only.
pub fn read_examples_with(path: &Path, summaries: bool) -> Result<Vec<Example>, JsonlError> {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    crate::jsonl::read(path, |line: Line| {
        let weight = line.weight.unwrap_or(1.0);
        if !(weight.is_finite() && weight >= 0.0) {
            return Err(format!("weight must be a number ≥ 0, not {weight}"));
        }
        let summary = if summaries { line.summary.as_str() } else { "" };
        Ok(Example {
            label: line.label.parse::<Category>()?,
            text: model_text(&item_of(&line.title, summary)),
            group: group_of(&line.source, &line.outlet, &stem),
            weight,
        })
    })
}

/// Scores of a categorizer on labelled data.
#[derive(Debug, Clone, Default)]
pub struct Scores {
    /// `confusion[gold][predicted]`, in [`Category::ALL`] order.
    pub confusion: [[usize; 4]; 4],
}

impl Scores {
    /// Measures `c` on `examples` (their text is classified as a title).
    pub fn measure(c: &dyn Categorizer, examples: &[Example]) -> Scores {
        let mut s = Scores::default();
        for e in examples {
            let got = c.classify(&item_of(&e.text, "")).category;
            s.add(e.label, got);
        }
        s
    }

    /// Counts one judgement.
    pub fn add(&mut self, gold: Category, got: Category) {
        self.confusion[idx(gold)][idx(got)] += 1;
    }

    /// Adds another set of counts to these.
    pub fn merge(&mut self, other: &Scores) {
        for g in 0..4 {
            for p in 0..4 {
                self.confusion[g][p] += other.confusion[g][p];
            }
        }
    }

    /// Precision, recall and F1 of one label.
    pub fn prf(&self, k: usize) -> (f64, f64, f64) {
        let tp = self.confusion[k][k] as f64;
        let predicted: usize = (0..4).map(|g| self.confusion[g][k]).sum();
        let gold: usize = self.confusion[k].iter().sum();
        let p = if predicted == 0 {
            0.0
        } else {
            tp / predicted as f64
        };
        let r = if gold == 0 { 0.0 } else { tp / gold as f64 };
        let f = if p + r == 0.0 {
            0.0
        } else {
            2.0 * p * r / (p + r)
        };
        (p, r, f)
    }

    /// Mean F1 over the four labels.
    pub fn macro_f1(&self) -> f64 {
        (0..4).map(|k| self.prf(k).2).sum::<f64>() / 4.0
    }

    /// Share of items labelled right.
    pub fn accuracy(&self) -> f64 {
        let n = self.n();
        if n == 0 {
            return 0.0;
        }
        (0..4).map(|k| self.confusion[k][k]).sum::<usize>() as f64 / n as f64
    }

    /// Items measured.
    pub fn n(&self) -> usize {
        self.confusion.iter().flatten().sum()
    }

    /// The printed report; its last line is `macro_f1=… accuracy=… n=…`.
    pub fn render(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "{:<18} {:>9} {:>9} {:>9} {:>7}",
            "label", "precision", "recall", "f1", "n"
        );
        for (k, c) in Category::ALL.iter().enumerate() {
            let (p, r, f) = self.prf(k);
            let _ = writeln!(
                s,
                "{:<18} {:>9.4} {:>9.4} {:>9.4} {:>7}",
                c.as_str(),
                p,
                r,
                f,
                self.confusion[k].iter().sum::<usize>()
            );
        }
        let _ = writeln!(s, "\nconfusion (rows: gold, columns: predicted)");
        let _ = writeln!(
            s,
            "{:<18} {:>8} {:>8} {:>8} {:>8}",
            "", "reg_pol", "finance", "lifesty", "other"
        );
        for (k, c) in Category::ALL.iter().enumerate() {
            let row = self.confusion[k];
            let _ = writeln!(
                s,
                "{:<18} {:>8} {:>8} {:>8} {:>8}",
                c.as_str(),
                row[0],
                row[1],
                row[2],
                row[3]
            );
        }
        let _ = write!(
            s,
            "macro_f1={:.4} accuracy={:.4} n={}",
            self.macro_f1(),
            self.accuracy(),
            self.n()
        );
        s
    }
}

fn idx(c: Category) -> usize {
    Category::ALL.iter().position(|x| *x == c).unwrap_or(3)
}

/// Scores per source group, and over all items.
#[derive(Debug, Clone, Default)]
pub struct BySource {
    /// Each group's scores, in name order.
    pub groups: Vec<(String, Scores)>,
}

impl BySource {
    /// Measures `c` on `examples`, group by group.
    pub fn measure(c: &dyn Categorizer, examples: &[Example]) -> BySource {
        let mut map: std::collections::BTreeMap<String, Scores> = Default::default();
        for e in examples {
            let got = c.classify(&item_of(&e.text, "")).category;
            map.entry(e.group.clone()).or_default().add(e.label, got);
        }
        BySource {
            groups: map.into_iter().collect(),
        }
    }

    /// All groups' counts together.
    pub fn pooled(&self) -> Scores {
        let mut s = Scores::default();
        for (_, g) in &self.groups {
            s.merge(g);
        }
        s
    }

    /// The mean of the groups' accuracies (each group counts once, whatever its size).
    pub fn mean_accuracy(&self) -> f64 {
        if self.groups.is_empty() {
            return 0.0;
        }
        self.groups.iter().map(|(_, s)| s.accuracy()).sum::<f64>() / self.groups.len() as f64
    }

    /// The table: per group its items, labels present, accuracy and macro-F1 over its labels;
    /// then the pooled scores. Its last line is `mean_source_accuracy=… pooled_macro_f1=… n=…`.
    pub fn render(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "{:<44} {:>6} {:>9} {:>9}  labels (items)",
            "source", "n", "accuracy", "f1(own)"
        );
        for (name, g) in &self.groups {
            let present: Vec<usize> = (0..4)
                .filter(|k| g.confusion[*k].iter().sum::<usize>() > 0)
                .collect();
            let own_f1 =
                present.iter().map(|k| g.prf(*k).2).sum::<f64>() / present.len().max(1) as f64;
            let labels: Vec<String> = present
                .iter()
                .map(|k| {
                    format!(
                        "{} {}",
                        Category::ALL[*k].as_str(),
                        g.confusion[*k].iter().sum::<usize>()
                    )
                })
                .collect();
            let short: String = name.chars().take(44).collect();
            let _ = writeln!(
                s,
                "{:<44} {:>6} {:>9.4} {:>9.4}  {}",
                short,
                g.n(),
                g.accuracy(),
                own_f1,
                labels.join(", ")
            );
        }
        let pooled = self.pooled();
        let _ = writeln!(s, "\npooled over every source:\n{}", pooled.render());
        let _ = write!(
            s,
            "mean_source_accuracy={:.4} pooled_macro_f1={:.4} n={}",
            self.mean_accuracy(),
            pooled.macro_f1(),
            pooled.n()
        );
        s
    }
}
