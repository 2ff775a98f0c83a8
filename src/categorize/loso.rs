//! Leave-one-source-out (LOSO): how a training method does on a source it has never seen.
//!
//! For each source group ([`super::eval::group_of`]) the method trains on every other group and
//! labels the held-out one; the held-out predictions are scored per group and pooled. The score
//! that chooses features, weights and regularisation is the mean of two numbers: the mean
//! per-source accuracy (each outlet counts once — the question is "how good on the next outlet")
//! and the macro-F1 of the pooled held-out predictions (every label counts once — so a method
//! cannot win by labelling single-topic outlets well and mixed ones badly). See
//! `docs/CATEGORIZER.md`.
//!
//! Adaptation to the admin's own stream is simulated here: the held-out group's items are given
//! to the method unlabelled, as a feed's items would be ([`Adapt`]).

use super::eval::{BySource, Scores};
use super::model::{Example, Model, TrainOptions};
use crate::model::Category;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// How a trained model may adapt to a source's unlabelled items.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Adapt {
    /// Not at all.
    None,
    /// Label priors re-estimated by EM over the source's items (Saerens et al. 2002): the
    /// model's probabilities reweighted by the source's estimated label shares.
    Priors,
    /// What ships ([`super::FeedPriors`]): the same, online — each item reweighted by the
    /// shares estimated from the items before it (from the 20th on, over the last 200).
    Online,
    /// Self-training: the source's items the model labels with at least this confidence are
    /// added to the training data with their predicted labels (weight ½), and the model retrained.
    SelfTrain(f32),
}

/// Label shares of a set of items by EM over the model's probabilities `probs` (trained
/// class-balanced, so its own prior is taken as uniform). Returns the shares; `reweight` applies
/// them to one item's probabilities.
pub fn em_priors(probs: &[[f32; 4]], iterations: usize) -> [f32; 4] {
    let mut prior = [0.25f32; 4];
    if probs.is_empty() {
        return prior;
    }
    for _ in 0..iterations {
        let mut sum = [0f64; 4];
        for p in probs {
            let q = reweight(*p, prior);
            for k in 0..4 {
                sum[k] += f64::from(q[k]);
            }
        }
        // A little smoothing keeps a label that a source rarely carries from vanishing.
        let n = probs.len() as f64;
        for k in 0..4 {
            prior[k] = ((sum[k] + 1.0) / (n + 4.0)) as f32;
        }
    }
    prior
}

/// `p` reweighted by label shares `prior` (relative to a uniform training prior), renormalised.
pub fn reweight(p: [f32; 4], prior: [f32; 4]) -> [f32; 4] {
    let mut q = [0f32; 4];
    for k in 0..4 {
        q[k] = p[k] * prior[k] * 4.0;
    }
    let s: f32 = q.iter().sum();
    if s > 0.0 {
        q.map(|v| v / s)
    } else {
        p
    }
}

fn top(p: &[f32; 4]) -> usize {
    (0..4).max_by(|a, b| p[*a].total_cmp(&p[*b])).unwrap_or(3)
}

/// Runs LOSO: every group of `examples` and of `holdout_only` is held out in turn; the model is
/// trained on `examples` less that group. (`holdout_only` items are scored but never trained on:
/// that measures a method trained on fewer sources on the same held-out sets.) `threads` folds
/// run at once; `progress` is called with (done, total) groups.
pub fn run(
    examples: &[Example],
    holdout_only: &[Example],
    opts: &TrainOptions,
    adapt: Adapt,
    threads: usize,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> BySource {
    let mut groups: Vec<&str> = examples
        .iter()
        .chain(holdout_only)
        .map(|e| e.group.as_str())
        .collect();
    groups.sort_unstable();
    groups.dedup();
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let results: Mutex<Vec<(String, Scores)>> = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..threads.max(1) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(g) = groups.get(i) else { break };
                let scores = fold(examples, holdout_only, g, opts, adapt);
                results
                    .lock()
                    .expect("no panics hold it")
                    .push((g.to_string(), scores));
                progress(done.fetch_add(1, Ordering::SeqCst) + 1, groups.len());
            });
        }
    });
    let mut groups = results.into_inner().expect("no panics hold it");
    groups.sort_by(|a, b| a.0.cmp(&b.0));
    BySource { groups }
}

/// One fold: train without group `g`, label it.
fn fold(
    examples: &[Example],
    holdout_only: &[Example],
    g: &str,
    opts: &TrainOptions,
    adapt: Adapt,
) -> Scores {
    let mut train: Vec<Example> = examples.iter().filter(|e| e.group != g).cloned().collect();
    let held: Vec<&Example> = examples
        .iter()
        .chain(holdout_only)
        .filter(|e| e.group == g)
        .collect();
    let mut model = Model::train(&train, opts, &|_, _| {});
    let mut probs: Vec<[f32; 4]> = held.iter().map(|e| model.probabilities(&e.text)).collect();
    match adapt {
        Adapt::None => {}
        Adapt::Priors => {
            let prior = em_priors(&probs, 30);
            for p in &mut probs {
                *p = reweight(*p, prior);
            }
        }
        Adapt::Online => {
            let priors = super::FeedPriors::default();
            for p in &mut probs {
                if let Some(shares) = priors.observe(g, *p) {
                    *p = reweight(*p, shares);
                }
            }
        }
        Adapt::SelfTrain(min) => {
            for (e, p) in held.iter().zip(&probs) {
                let k = top(p);
                if p[k] >= min {
                    train.push(Example {
                        text: e.text.clone(),
                        label: Category::ALL[k],
                        group: format!("{g} (self-labelled)"),
                        weight: 0.5,
                    });
                }
            }
            model = Model::train(&train, opts, &|_, _| {});
            probs = held.iter().map(|e| model.probabilities(&e.text)).collect();
        }
    }
    let mut s = Scores::default();
    for (e, p) in held.iter().zip(&probs) {
        s.add(e.label, Category::ALL[top(p)]);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn em_finds_a_skewed_sources_shares() {
        // A source that is mostly finance, with items the model is unsure about.
        let mut probs = vec![[0.1, 0.6, 0.1, 0.2]; 80];
        probs.extend(vec![[0.1, 0.35, 0.1, 0.45]; 20]);
        let prior = em_priors(&probs, 30);
        assert!(prior[1] > 0.6, "{prior:?}");
        let q = reweight([0.1, 0.35, 0.1, 0.45], prior);
        assert!(q[1] > q[3], "{q:?}");
        assert_eq!(em_priors(&[], 5), [0.25; 4]);
    }

    #[test]
    fn every_group_is_held_out_once() {
        let mut data = Vec::new();
        for i in 0..20 {
            for (g, t, l) in [
                ("a", "股票基金上涨", Category::Finance),
                ("b", "股票证券下跌", Category::Finance),
                ("a", "球队比赛夺冠", Category::Other),
                ("b", "球员比赛进球", Category::Other),
            ] {
                data.push(Example::new(format!("{t} {i}"), l, g));
            }
        }
        let r = run(
            &data,
            &[],
            &TrainOptions::default(),
            Adapt::None,
            2,
            &|_, _| {},
        );
        assert_eq!(r.groups.len(), 2);
        assert_eq!(r.pooled().n(), data.len());
        assert!(r.mean_accuracy() > 0.9, "{}", r.render());
    }
}
