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
//! File format (little-endian): `FSCAT1`, the number of labels (4, in [`Category::ALL`] order),
//! the biases, the number of features, then per feature its 64-bit hash and one f32 weight per
//! label, sorted by hash.

// The numeric loops index several fixed-size per-label arrays in step; iterator chains would
// hide that more than they help.
#![allow(clippy::needless_range_loop)]

use super::features;
use crate::model::Category;
use std::collections::HashMap;

const MAGIC: &[u8; 6] = b"FSCAT1";
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

impl Model {
    /// Trains a model. `progress` is called with (epoch, epochs) after each pass.
    pub fn train(
        examples: &[Example],
        opts: &TrainOptions,
        progress: &dyn Fn(usize, usize),
    ) -> Model {
        // Vocabulary.
        let mut counts: HashMap<u64, u32> = HashMap::new();
        let docs_raw: Vec<Vec<u64>> = examples.iter().map(|e| features::hashes(&e.text)).collect();
        for d in &docs_raw {
            for h in d {
                *counts.entry(*h).or_default() += 1;
            }
        }
        let mut hashes: Vec<u64> = counts
            .into_iter()
            .filter(|(_, n)| *n >= opts.min_count)
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
        let mut class_weight = [1.0f32; K];
        if opts.balance {
            let mut n = [0usize; K];
            for l in &labels {
                n[*l] += 1;
            }
            for k in 0..K {
                if n[k] > 0 {
                    class_weight[k] = labels.len() as f32 / (K as f32 * n[k] as f32);
                }
            }
        }
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
                let cw = class_weight[labels[d]];
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
            bias,
            hashes: keep.iter().map(|&i| hashes[i]).collect(),
            weights: keep.iter().map(|&i| w[i]).collect(),
        }
    }

    /// Class probabilities of `text`, in [`Category::ALL`] order.
    pub fn probabilities(&self, text: &str) -> [f32; K] {
        softmax(self.logits(&features::hashes(text)))
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
        let named = features::named(text);
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
        let mut out = Vec::with_capacity(6 + 4 + 16 + 4 + self.hashes.len() * 24);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&(K as u32).to_le_bytes());
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
        if b.len() < 30 || &b[..6] != MAGIC {
            return Err(bad("not a feedsift categorizer model (bad magic)"));
        }
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
        Example {
            text: text.into(),
            label,
        }
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
}
