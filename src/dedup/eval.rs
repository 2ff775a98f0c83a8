//! `feedsift eval dedup FILE.jsonl`: measures the deduplicator on labelled pairs.
//!
//! Each line is `{"a": {"title", "summary", "link", "source"}, "b": {…}, "duplicate": bool}`
//! (an optional `"kind"` groups the counts). Every `a` is ingested, as the real pipeline would,
//! into one fresh temporary store (a story whose `a` is itself a copy of an earlier `a` is merged
//! there, as it would be in service); then each `b` is looked up, read-only, with the same rules
//! ingest uses. `b` counts as a duplicate when the lookup lands on the story `a` went into.

use super::learn::Learner;
use super::{
    canonical_key, find_learned, ingest_learning, signature_learned, DedupSettings, Found,
};
use crate::model::{Category, Classification, Item, SourceRef};
use crate::store::Store;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;

/// One side of a pair.
#[derive(Debug, Deserialize)]
pub struct Side {
    /// Title as published.
    pub title: String,
    /// Summary, possibly empty.
    #[serde(default)]
    pub summary: String,
    /// Link, possibly with tracking parameters.
    #[serde(default)]
    pub link: String,
    /// The site that published it (used as the feed id).
    #[serde(default)]
    pub source: String,
}

/// One labelled pair.
#[derive(Debug, Deserialize)]
pub struct Pair {
    /// Stored first.
    pub a: Side,
    /// Asked about.
    pub b: Side,
    /// Whether `b` is the same story as `a`.
    pub duplicate: bool,
    /// What kind of pair this is, for the per-class counts.
    #[serde(default)]
    pub kind: Option<String>,
}

/// Counts for one class of pairs.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ClassCounts {
    /// Pairs in the class.
    pub pairs: usize,
    /// Pairs judged duplicates.
    pub judged_duplicate: usize,
    /// Pairs judged correctly.
    pub correct: usize,
}

/// The evaluation's result.
#[derive(Debug, Default)]
pub struct Report {
    /// Per class (`kind`, else `duplicate`/`distinct`).
    pub classes: BTreeMap<String, ClassCounts>,
    /// Duplicates found that are duplicates.
    pub true_positives: usize,
    /// Duplicates found that are not.
    pub false_positives: usize,
    /// Duplicates missed.
    pub false_negatives: usize,
    /// Pairs read.
    pub n: usize,
    /// Some misjudged pairs, for the curious: (kind, a title, b title, label).
    pub mistakes: Vec<(String, String, String, bool)>,
    /// Duplicate pairs whose `a` story the near-duplicate index proposed for `b` (or that `b`
    /// reaches by key or link): the verification can only confirm what the index finds.
    pub candidates_found: usize,
    /// Pairs on which the verification alone ([`super::near::same_story_with`], `a` against
    /// `b`, no index) agrees with the label.
    pub verified_correct: usize,
    /// The same pairs judged cold (nothing learned), when this report is the warmed one.
    pub cold: Option<Box<Report>>,
}

impl Report {
    /// TP / (TP + FP); 1 when nothing was judged a duplicate.
    pub fn precision(&self) -> f64 {
        let d = self.true_positives + self.false_positives;
        if d == 0 {
            1.0
        } else {
            self.true_positives as f64 / d as f64
        }
    }

    /// TP / (TP + FN); 1 when there were no duplicates.
    pub fn recall(&self) -> f64 {
        let d = self.true_positives + self.false_negatives;
        if d == 0 {
            1.0
        } else {
            self.true_positives as f64 / d as f64
        }
    }

    /// The printed report: the cold block (when there is one), then this one; the last line is
    /// `precision=… recall=… n=…`.
    pub fn render(&self) -> String {
        let mut s = String::new();
        if let Some(cold) = &self.cold {
            let _ = writeln!(s, "cold (nothing learned):");
            s.push_str(&cold.render());
            let _ = writeln!(s, "\nwarmed (learned from every a side's feed):");
        }
        let _ = writeln!(
            s,
            "{:<22} {:>7} {:>10} {:>9}",
            "class", "pairs", "judged dup", "accuracy"
        );
        for (k, c) in &self.classes {
            let _ = writeln!(
                s,
                "{:<22} {:>7} {:>10} {:>8.2}%",
                k,
                c.pairs,
                c.judged_duplicate,
                100.0 * c.correct as f64 / c.pairs.max(1) as f64
            );
        }
        let dups = self.true_positives + self.false_negatives;
        let _ = writeln!(
            s,
            "candidate recall={:.4} ({} of {} duplicates proposed by the index)",
            self.candidates_found as f64 / dups.max(1) as f64,
            self.candidates_found,
            dups
        );
        let _ = writeln!(
            s,
            "verification alone={:.4} (a against b, no index: {} of {} pairs right)",
            self.verified_correct as f64 / self.n.max(1) as f64,
            self.verified_correct,
            self.n
        );
        let _ = writeln!(
            s,
            "true positives {}, false positives {}, false negatives {}",
            self.true_positives, self.false_positives, self.false_negatives
        );
        let _ = write!(
            s,
            "precision={:.4} recall={:.4} n={}",
            self.precision(),
            self.recall(),
            self.n
        );
        s
    }
}

/// Errors of the evaluation.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    /// The pairs file could not be read.
    #[error("eval: {0}")]
    Data(#[from] crate::jsonl::JsonlError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

fn feed_of(side: &Side) -> &str {
    if side.source.is_empty() {
        "eval"
    } else {
        &side.source
    }
}

fn item(side: &Side) -> Item {
    let feed = feed_of(side);
    Item {
        link: Some(side.link.clone()).filter(|l| !l.is_empty()),
        summary: Some(side.summary.clone()).filter(|s| !s.is_empty()),
        ..Item::titled(feed, &side.title)
    }
}

/// Reads the pairs in `path`.
pub fn read_pairs(path: &Path) -> Result<Vec<Pair>, EvalError> {
    Ok(crate::jsonl::read(path, |p: Pair| Ok(p))?)
}

/// Runs the evaluation; `progress` is called after each pair with (done, total).
pub fn run(
    pairs: &[Pair],
    settings: &DedupSettings,
    progress: &dyn Fn(usize, usize),
) -> Result<Report, EvalError> {
    // Cold: nothing learned; every `a` ingested as today.
    let (store, story_of_a) = store_a_sides(pairs, settings, None)?;
    let cold = judge(
        pairs,
        &store,
        &Learner::new(),
        &story_of_a,
        settings,
        progress,
    )?;
    drop(store);
    // Warmed: the learner has followed every `a` side's feed first, as a store that has
    // followed those feeds would have, and the `a` sides are ingested again with it (copies
    // among them are merged as they would be in service).
    let learner = Learner::new();
    for p in pairs {
        learner.learn(feed_of(&p.a), [p.a.title.as_str()]);
    }
    let (store, story_of_a) = store_a_sides(pairs, settings, Some(&learner))?;
    let mut warmed = judge(pairs, &store, &learner, &story_of_a, settings, progress)?;
    warmed.cold = Some(Box::new(cold));
    Ok(warmed)
}

/// A fresh temporary store holding every `a`, and which story each went into.
fn store_a_sides(
    pairs: &[Pair],
    settings: &DedupSettings,
    learner: Option<&Learner>,
) -> Result<(Store, Vec<Option<String>>), EvalError> {
    let store = Store::open_temporary()?;
    let classify = |_: &Item| Classification {
        category: Category::Other,
        confidence: 0.5,
        runner_up: None,
        regions: vec![],
    };
    let now = chrono::Utc::now();
    let cold = Learner::new();
    let mut story_of_a = Vec::with_capacity(pairs.len());
    for p in pairs {
        let a = item(&p.a);
        let source = SourceRef {
            feed_id: a.feed_id.clone(),
            title: a.feed_id.clone(),
            url: format!("eval://{}", a.feed_id),
        };
        let key = canonical_key(&a);
        ingest_learning(
            &store,
            learner,
            &source,
            vec![a.clone()],
            &classify,
            settings,
            None,
            now,
        )?;
        let learner = learner.unwrap_or(&cold);
        let sig = signature_learned(settings, learner, &a.title, &a.feed_id);
        let story = match find_learned(&store, learner, &a, &key, &sig)? {
            Found::Exact(s) | Found::Near(s) => Some(s.key),
            _ => None,
        };
        story_of_a.push(story);
    }
    Ok((store, story_of_a))
}

/// Looks every `b` up with `learner`'s knowledge.
fn judge(
    pairs: &[Pair],
    store: &Store,
    learner: &Learner,
    story_of_a: &[Option<String>],
    settings: &DedupSettings,
    progress: &dyn Fn(usize, usize),
) -> Result<Report, EvalError> {
    let mut report = Report {
        n: pairs.len(),
        ..Default::default()
    };
    for (i, p) in pairs.iter().enumerate() {
        let b = item(&p.b);
        let key = canonical_key(&b);
        let sig = signature_learned(settings, learner, &b.title, &b.feed_id);
        let (judged, exact) = match find_learned(store, learner, &b, &key, &sig)? {
            Found::Exact(s) => (story_of_a[i].as_deref() == Some(s.key.as_str()), true),
            Found::Near(s) => (story_of_a[i].as_deref() == Some(s.key.as_str()), false),
            _ => (false, false),
        };
        let verified = super::near::same_story_with(
            learner,
            (&p.a.title, Some(feed_of(&p.a))),
            (&p.b.title, Some(feed_of(&p.b))),
        );
        report.verified_correct += usize::from(verified == p.duplicate);
        let mut proposed = true;
        if p.duplicate {
            proposed = (judged && exact)
                || story_of_a[i].as_ref().is_some_and(|a| {
                    super::index::candidates(store.backend(), &sig).is_ok_and(|c| c.contains(a))
                });
            report.candidates_found += usize::from(proposed);
        }
        let unproposed = if proposed { "" } else { ", not proposed" };
        let class = p.kind.clone().unwrap_or_else(|| {
            if p.duplicate {
                "duplicate".into()
            } else {
                "distinct".into()
            }
        });
        let c = report.classes.entry(class.clone()).or_default();
        c.pairs += 1;
        c.judged_duplicate += usize::from(judged);
        c.correct += usize::from(judged == p.duplicate);
        match (judged, p.duplicate) {
            (true, true) => report.true_positives += 1,
            (true, false) => report.false_positives += 1,
            (false, true) => report.false_negatives += 1,
            (false, false) => {}
        }
        if judged != p.duplicate && report.mistakes.len() < 1000 {
            report.mistakes.push((
                format!("{class}{unproposed}"),
                p.a.title.clone(),
                p.b.title.clone(),
                p.duplicate,
            ));
        }
        progress(i + 1, pairs.len());
    }
    Ok(report)
}
