//! Labelled data in, scores out: reading `{"title", "summary", "label"}` lines, and measuring a
//! categorizer on them (`feedsift eval categorizer`, `feedsift train --dev`).

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
}

/// An item to classify from a title and summary (plain text).
pub fn item_of(title: &str, summary: &str) -> Item {
    Item {
        summary: Some(crate::text::escape_html(summary)).filter(|s| !s.is_empty()),
        ..Item::titled("", title)
    }
}

/// Reads labelled examples from a JSON-lines file.
pub fn read_examples(path: &Path) -> Result<Vec<Example>, JsonlError> {
    crate::jsonl::read(path, |line: Line| {
        Ok(Example {
            label: line.label.parse::<Category>()?,
            text: model_text(&item_of(&line.title, &line.summary)),
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
            s.confusion[idx(e.label)][idx(got)] += 1;
        }
        s
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
