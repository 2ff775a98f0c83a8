//! The trained categorizer: multinomial logistic regression over the sparse features of
//! [`super::features`].
//!
//! Why this shape: it is the most accurate of the linear models measured on `dev.jsonl` (see
//! `docs/CATEGORIZER.md`), every weight can be shown to explain a decision, and scoring a title
//! is a few dozen hash look-ups — hundreds of thousands of items a second on one core.
//!
//! Training is deterministic: the vocabulary (features seen at least `min_count` times) is
//! sorted by hash, and SGD with AdaGrad visits the examples in an order drawn from a seeded
//! generator, so the same data and options give the same bytes.
//!
//! Each example carries a weight: its own (a correction file's, say) times its label's (class
//! balance) times its source's (source balance: a label's sources count more evenly, so one
//! outlet's style does not stand for the label — see [`TrainOptions::source_balance`]).
//!
//! File format (little-endian): `FSCAT2`, the number of labels (4, in [`Category::ALL`] order),
//! the feature kinds ([`FeatureSet`], u32), the biases, the number of features, then per feature
//! its 64-bit hash and one f32 weight per label, sorted by hash. `FSCAT1` files (no feature
//! kinds: [`FeatureSet::LEGACY`]) are still read.

// The numeric loops index several fixed-size per-label arrays in step; iterator chains would
// hide that more than they help.
#![allow(clippy::needless_range_loop)]

use super::features::{self, FeatureSet};
use crate::model::Category;
use std::collections::HashMap;

const MAGIC: &[u8; 6] = b"FSCAT2";
const MAGIC_V1: &[u8; 6] = b"FSCAT1";
const K: usize = 4;

/// Why a model file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// Not a model file, or a truncated one.
    #[error("categorizer model: {0}")]
    Format(String),
}

/// A trained model.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    features: FeatureSet,
    bias: [f32; K],
    hashes: Vec<u64>,
    weights: Vec<[f32; K]>,
}

/// One training example.
#[derive(Debug, Clone)]
pub struct Example {
    /// Title, and summary if any, as plain text.
    pub text: String,
    /// The label.
    pub label: Category,
    /// The source group it comes from (for source balance and leave-one-source-out).
    pub group: String,
    /// Its own weight (1 for ordinary data; a corrections file may weigh more).
    pub weight: f32,
}

impl Example {
    /// An example of weight 1 from group `group`.
    pub fn new(text: impl Into<String>, label: Category, group: impl Into<String>) -> Example {
        Example {
            text: text.into(),
            label,
            group: group.into(),
            weight: 1.0,
        }
    }
}

/// Training options.
#[derive(Debug, Clone)]
pub struct TrainOptions {
    /// Passes over the data.
    pub epochs: usize,
    /// Base learning rate of AdaGrad.
    pub learning_rate: f32,
    /// L2 penalty per update.
    pub l2: f32,
    /// Features seen fewer times than this are dropped.
    pub min_count: u32,
    /// Seed of the example order.
    pub seed: u64,
    /// Weight classes inversely to their frequency, so macro-F1 does not favour `other`.
    pub balance: bool,
    /// Source balance, 0 (off) to 1: within each label, a source with `n` items of it weighs
    /// `(mean / n)^source_balance` per item (`mean`: the label's items per source), rescaled so
    /// the label's total weight is unchanged — a large single-outlet source no longer stands for
    /// the label alone, and the labels keep their balance (which protects macro-F1).
    pub source_balance: f32,
    /// The kinds of feature to read.
    pub features: FeatureSet,
    /// Features seen in fewer source groups than this are dropped: a word only one outlet uses
    /// is its style, not a topic (1: off).
    pub min_groups: u32,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            epochs: 8,
            learning_rate: 0.4,
            l2: 1e-6,
            min_count: 2,
            seed: 0x5eed_cafe,
            balance: true,
            source_balance: 0.0,
            features: FeatureSet::LEGACY,
            min_groups: 1,
        }
    }
}

fn label_index(c: Category) -> usize {
    Category::ALL.iter().position(|x| *x == c).unwrap_or(K - 1)
}

fn softmax(z: [f32; K]) -> [f32; K] {
    let m = z.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let e = z.map(|v| (v - m).exp());
    let s: f32 = e.iter().sum();
    e.map(|v| v / s)
}

/// The weight of each example in the loss: its own, times its label's (class balance), times
/// its source's within the label (source balance). See [`TrainOptions`].
pub fn sample_weights(examples: &[Example], opts: &TrainOptions) -> Vec<f32> {
    let labels: Vec<usize> = examples.iter().map(|e| label_index(e.label)).collect();
    let mut w: Vec<f32> = examples.iter().map(|e| e.weight).collect();
    if opts.source_balance > 0.0 {
        let mut per: HashMap<(usize, &str), f32> = HashMap::new();
        for (e, l) in examples.iter().zip(&labels) {
            *per.entry((*l, e.group.as_str())).or_default() += e.weight;
        }
        let mut total = [0f32; K];
        let mut sources = [0f32; K];
        for ((l, _), n) in &per {
            total[*l] += n;
            sources[*l] += 1.0;
        }
        let factor =
            |l: usize, g: &str| (total[l] / sources[l] / per[&(l, g)]).powf(opts.source_balance);
        let mut after = [0f32; K];
        for (i, e) in examples.iter().enumerate() {
            w[i] *= factor(labels[i], &e.group);
            after[labels[i]] += w[i];
        }
        for (i, l) in labels.iter().enumerate() {
            w[i] *= total[*l] / after[*l];
        }
    }
    if opts.balance {
        let mut n = [0f32; K];
        for (l, x) in labels.iter().zip(&w) {
            n[*l] += x;
        }
        let sum: f32 = n.iter().sum();
        let present = n.iter().filter(|v| **v > 0.0).count() as f32;
        for (l, x) in labels.iter().zip(w.iter_mut()) {
            *x *= sum / (present * n[*l]);
        }
    }
    w
}

impl Model {
    /// Trains a model. `progress` is called with (epoch, epochs) after each pass.
    pub fn train(
        examples: &[Example],
        opts: &TrainOptions,
        progress: &dyn Fn(usize, usize),
    ) -> Model {
        // Vocabulary.
        let mut counts: HashMap<u64, (u32, u32, u32)> = HashMap::new();
        let set = opts.features;
        let docs_raw: Vec<Vec<u64>> = examples
            .iter()
            .map(|e| features::hashes(&e.text, set))
            .collect();
        // Per feature: items, distinct groups, last group seen (items visited group by group,
        // so a group is counted once).
        let mut by_group: Vec<usize> = (0..examples.len()).collect();
        by_group.sort_by(|a, b| examples[*a].group.cmp(&examples[*b].group));
        let mut g = 0u32;
        for (i, &d) in by_group.iter().enumerate() {
            if i > 0 && examples[d].group != examples[by_group[i - 1]].group {
                g += 1;
            }
            for h in &docs_raw[d] {
                let c = counts.entry(*h).or_insert((0, 0, u32::MAX));
                c.0 += 1;
                if c.2 != g {
                    c.2 = g;
                    c.1 += 1;
                }
            }
        }
        let mut hashes: Vec<u64> = counts
            .into_iter()
            .filter(|(_, (n, groups, _))| *n >= opts.min_count && *groups >= opts.min_groups)
            .map(|(h, _)| h)
            .collect();
        hashes.sort_unstable();
        let docs: Vec<Vec<usize>> = docs_raw
            .iter()
            .map(|d| {
                d.iter()
                    .filter_map(|h| hashes.binary_search(h).ok())
                    .collect()
            })
            .collect();
        let labels: Vec<usize> = examples.iter().map(|e| label_index(e.label)).collect();
        let sample_weight = sample_weights(examples, opts);
        let mut w = vec![[0f32; K]; hashes.len()];
        let mut g = vec![[1e-8f32; K]; hashes.len()];
        let mut bias = [0f32; K];
        let mut gb = [1e-8f32; K];
        let mut order: Vec<usize> = (0..docs.len()).collect();
        let mut state = opts.seed | 1;
        let mut rand = move |bound: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % bound as u64) as usize
        };
        for epoch in 0..opts.epochs {
            for i in (1..order.len()).rev() {
                order.swap(i, rand(i + 1));
            }
            for &d in &order {
                let feats = &docs[d];
                if feats.is_empty() {
                    continue;
                }
                let x = 1.0 / (feats.len() as f32).sqrt();
                let mut z = bias;
                for &f in feats {
                    for k in 0..K {
                        z[k] += w[f][k] * x;
                    }
                }
                let p = softmax(z);
                let cw = sample_weight[d];
                let mut grad = [0f32; K];
                for k in 0..K {
                    grad[k] = cw * (p[k] - if k == labels[d] { 1.0 } else { 0.0 });
                }
                for &f in feats {
                    for k in 0..K {
                        let gr = grad[k] * x + opts.l2 * w[f][k];
                        g[f][k] += gr * gr;
                        w[f][k] -= opts.learning_rate * gr / g[f][k].sqrt();
                    }
                }
                for k in 0..K {
                    gb[k] += grad[k] * grad[k];
                    bias[k] -= opts.learning_rate * grad[k] / gb[k].sqrt();
                }
            }
            progress(epoch + 1, opts.epochs);
        }
        // Features whose weights are all negligible cost space and explain nothing.
        let keep: Vec<usize> = (0..hashes.len())
            .filter(|&i| w[i].iter().any(|v| v.abs() >= 1e-3))
            .collect();
        Model {
            features: set,
            bias,
            hashes: keep.iter().map(|&i| hashes[i]).collect(),
            weights: keep.iter().map(|&i| w[i]).collect(),
        }
    }

    /// Class probabilities of `text`, in [`Category::ALL`] order.
    pub fn probabilities(&self, text: &str) -> [f32; K] {
        softmax(self.logits(&features::hashes(text, self.features)))
    }

    /// The kinds of feature the model reads.
    pub fn feature_set(&self) -> FeatureSet {
        self.features
    }

    fn logits(&self, feats: &[u64]) -> [f32; K] {
        let mut z = self.bias;
        let mut hits = Vec::with_capacity(feats.len());
        for h in feats {
            if let Ok(i) = self.hashes.binary_search(h) {
                hits.push(i);
            }
        }
        if hits.is_empty() {
            return z;
        }
        // Scaled as in training: by the number of features the text has, known or not.
        let x = 1.0 / (feats.len() as f32).sqrt();
        for i in hits {
            for k in 0..K {
                z[k] += self.weights[i][k] * x;
            }
        }
        z
    }

    /// The features of `text` that pushed most towards `label`, with their weight (largest
    /// first, at most `n`).
    pub fn explain(&self, text: &str, label: Category, n: usize) -> Vec<(String, f32)> {
        let k = label_index(label);
        let named = features::named(text, self.features);
        let x = 1.0 / (named.len().max(1) as f32).sqrt();
        let mut out: Vec<(String, f32)> = named
            .into_iter()
            .filter_map(|(h, name)| {
                let i = self.hashes.binary_search(&h).ok()?;
                let w = self.weights[i];
                // What this feature adds to the label over the average of the others.
                let others = (w.iter().sum::<f32>() - w[k]) / (K as f32 - 1.0);
                Some((name, (w[k] - others) * x))
            })
            .collect();
        out.sort_by(|a, b| b.1.total_cmp(&a.1));
        out.truncate(n);
        out
    }

    /// Number of features with weights.
    pub fn len(&self) -> usize {
        self.hashes.len()
    }

    /// Whether the model knows no feature.
    pub fn is_empty(&self) -> bool {
        self.hashes.is_empty()
    }

    /// The model as bytes (see the module docs for the format).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(6 + 4 + 4 + 16 + 4 + self.hashes.len() * 24);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&(K as u32).to_le_bytes());
        out.extend_from_slice(&self.features.0.to_le_bytes());
        for b in self.bias {
            out.extend_from_slice(&b.to_le_bytes());
        }
        out.extend_from_slice(&(self.hashes.len() as u32).to_le_bytes());
        for (h, w) in self.hashes.iter().zip(&self.weights) {
            out.extend_from_slice(&h.to_le_bytes());
            for v in w {
                out.extend_from_slice(&v.to_le_bytes());
            }
        }
        out
    }

    /// Reads a model written by [`Model::to_bytes`].
    pub fn from_bytes(b: &[u8]) -> Result<Model, ModelError> {
        let bad = |m: &str| ModelError::Format(m.to_string());
        if b.len() < 30 || (&b[..6] != MAGIC && &b[..6] != MAGIC_V1) {
            return Err(bad("not a feedsift categorizer model (bad magic)"));
        }
        // Version 1 had no feature kinds: read it as if the u32 were not there.
        let (features, b) = if &b[..6] == MAGIC {
            if b.len() < 34 {
                return Err(bad("truncated model file"));
            }
            let f = u32::from_le_bytes(b[10..14].try_into().expect("4 bytes"));
            let mut v = b[..10].to_vec();
            v.extend_from_slice(&b[14..]);
            (FeatureSet(f), std::borrow::Cow::Owned(v))
        } else {
            (FeatureSet::LEGACY, std::borrow::Cow::Borrowed(b))
        };
        let b: &[u8] = &b;
        let u32_at = |i: usize| u32::from_le_bytes(b[i..i + 4].try_into().expect("4 bytes"));
        let f32_at = |i: usize| f32::from_le_bytes(b[i..i + 4].try_into().expect("4 bytes"));
        if u32_at(6) as usize != K {
            return Err(bad("the model has another number of labels"));
        }
        let mut bias = [0f32; K];
        for (k, v) in bias.iter_mut().enumerate() {
            *v = f32_at(10 + 4 * k);
        }
        let n = u32_at(26) as usize;
        if b.len() != 30 + n * 24 {
            return Err(bad("truncated or padded model file"));
        }
        let mut hashes = Vec::with_capacity(n);
        let mut weights = Vec::with_capacity(n);
        for i in 0..n {
            let at = 30 + i * 24;
            hashes.push(u64::from_le_bytes(
                b[at..at + 8].try_into().expect("8 bytes"),
            ));
            let mut w = [0f32; K];
            for (k, v) in w.iter_mut().enumerate() {
                *v = f32_at(at + 8 + 4 * k);
            }
            weights.push(w);
        }
        if hashes.windows(2).any(|p| p[0] >= p[1]) {
            return Err(bad("feature table is not sorted"));
        }
        Ok(Model {
            features,
            bias,
            hashes,
            weights,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ex(text: &str, label: Category) -> Example {
        Example::new(text, label, "test")
    }

    #[test]
    fn learns_round_trips_and_is_deterministic() {
        let data: Vec<Example> = (0..30)
            .flat_map(|i| {
                [
                    ex(&format!("北向资金增持股份 股票 第{i}"), Category::Finance),
                    ex(
                        &format!("市委书记调研基层党建工作 {i}"),
                        Category::RegionalPolitics,
                    ),
                    ex(&format!("宠物狗的饲养方法与美食 {i}"), Category::Lifestyle),
                    ex(&format!("足球比赛 球队 夺冠 {i}"), Category::Other),
                ]
            })
            .collect();
        let m = Model::train(&data, &TrainOptions::default(), &|_, _| {});
        let top = |t: &str| {
            let p = m.probabilities(t);
            Category::ALL[(0..4).max_by(|a, b| p[*a].total_cmp(&p[*b])).unwrap()]
        };
        assert_eq!(top("股票增持"), Category::Finance);
        assert_eq!(top("书记调研"), Category::RegionalPolitics);
        assert_eq!(top("狗的饲养"), Category::Lifestyle);
        assert_eq!(top("球队夺冠"), Category::Other);
        let bytes = m.to_bytes();
        assert_eq!(Model::from_bytes(&bytes).unwrap(), m);
        assert_eq!(
            Model::train(&data, &TrainOptions::default(), &|_, _| {}).to_bytes(),
            bytes,
            "same seed, same bytes"
        );
        assert!(m.explain("书记调研基层", Category::RegionalPolitics, 3)[0].1 > 0.0);
        assert!(Model::from_bytes(b"not a model at all, not at all").is_err());
        assert!(Model::from_bytes(&bytes[..bytes.len() - 1]).is_err());
    }

    #[test]
    fn source_balance_evens_a_labels_sources_and_keeps_label_totals() {
        let mut data = Vec::new();
        for i in 0..90 {
            data.push(Example::new(format!("a{i}"), Category::Finance, "big"));
        }
        for i in 0..10 {
            data.push(Example::new(format!("b{i}"), Category::Finance, "small"));
        }
        for i in 0..100 {
            data.push(Example::new(format!("c{i}"), Category::Other, "x"));
        }
        let opts = |sb| TrainOptions {
            source_balance: sb,
            ..TrainOptions::default()
        };
        let w = sample_weights(&data, &opts(0.0));
        assert!(w.iter().all(|v| (v - 1.0).abs() < 1e-6));
        let w = sample_weights(&data, &opts(1.0));
        let big: f32 = w[..90].iter().sum();
        let small: f32 = w[90..100].iter().sum();
        assert!((big - small).abs() < 1e-3, "{big} {small}");
        assert!((big + small - 100.0).abs() < 1e-2);
        let w = sample_weights(&data, &opts(0.5));
        assert!(w[0] < 1.0 && w[95] > 1.0 && (w[150] - 1.0).abs() < 1e-6);
    }

    #[test]
    fn version_1_files_are_read_with_the_legacy_features() {
        let data: Vec<Example> = (0..10)
            .flat_map(|i| {
                [
                    ex(&format!("股票 {i}"), Category::Finance),
                    ex(&format!("球队 {i}"), Category::Other),
                ]
            })
            .collect();
        let m = Model::train(&data, &TrainOptions::default(), &|_, _| {});
        let v2 = m.to_bytes();
        let mut v1 = MAGIC_V1.to_vec();
        v1.extend_from_slice(&v2[6..10]);
        v1.extend_from_slice(&v2[14..]);
        let back = Model::from_bytes(&v1).unwrap();
        assert_eq!(back.feature_set(), FeatureSet::LEGACY);
        assert_eq!(back, m);
        let all = Model::train(
            &data,
            &TrainOptions {
                features: FeatureSet::ALL,
                ..TrainOptions::default()
            },
            &|_, _| {},
        );
        assert_eq!(
            Model::from_bytes(&all.to_bytes()).unwrap().feature_set(),
            FeatureSet::ALL
        );
    }
}
