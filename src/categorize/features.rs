//! Features for the categorizer: what a title (and summary) says, as hashed sparse features.
//!
//! Chinese text has no spaces, so it contributes character unigrams, bigrams and trigrams of each
//! run of CJK characters (`北向资金` → `北`, `北向`, `北向资`, …); Latin text contributes
//! lower-cased words and word bigrams. Digits and punctuation contribute nothing: they carry an
//! outlet's style (numbering, brackets) more than a story's topic. Each feature is its text with
//! a one-letter kind prefix, hashed with 64-bit FNV-1a — stable across platforms and versions, so
//! a model trained once reads the same features everywhere.

/// English function words: they say how a desk writes, not what a story is about (in the
/// training data they mostly mark which outlet wrote the item), so they are not features.
const STOPWORDS: &[&str] = &[
    "a", "an", "the", "and", "or", "but", "of", "to", "in", "on", "at", "for", "from", "by",
    "with", "as", "is", "are", "was", "were", "be", "been", "it", "its", "this", "that", "these",
    "those", "his", "her", "their", "our", "your", "my", "he", "she", "they", "we", "you", "i",
    "not", "no", "will", "would", "can", "could", "has", "have", "had", "do", "does", "did", "up",
    "out", "over", "into", "after", "before", "about", "than", "more", "new", "says", "said", "s",
    "t",
];

/// FNV-1a over `bytes`.
pub fn hash(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn is_cjk(c: char) -> bool {
    matches!(c, '\u{3400}'..='\u{9FFF}' | '\u{F900}'..='\u{FAFF}')
}

/// Calls `f` with the bytes of every feature of `text` (prefix ‖ content), reusing one buffer,
/// so classifying allocates nothing per feature.
pub fn for_each(text: &str, mut f: impl FnMut(&[u8])) {
    let mut buf: Vec<u8> = Vec::with_capacity(32);
    let mut run: Vec<char> = Vec::with_capacity(64);
    let mut word = String::new();
    let mut prev_word = String::new();
    let flush_run = |run: &mut Vec<char>, buf: &mut Vec<u8>, f: &mut dyn FnMut(&[u8])| {
        for n in 1..=3 {
            if run.len() < n {
                break;
            }
            for w in run.windows(n) {
                buf.clear();
                buf.push(b'c');
                for c in w {
                    let mut tmp = [0u8; 4];
                    buf.extend_from_slice(c.encode_utf8(&mut tmp).as_bytes());
                }
                f(buf);
            }
        }
        run.clear();
    };
    let flush_word =
        |word: &mut String, prev: &mut String, buf: &mut Vec<u8>, f: &mut dyn FnMut(&[u8])| {
            if word.is_empty() {
                return;
            }
            if STOPWORDS.contains(&word.as_str()) {
                // A function word ends a phrase: no pair across it.
                word.clear();
                prev.clear();
                return;
            }
            buf.clear();
            buf.push(b'w');
            buf.extend_from_slice(word.as_bytes());
            f(buf);
            if !prev.is_empty() {
                buf.clear();
                buf.push(b'b');
                buf.extend_from_slice(prev.as_bytes());
                buf.push(b' ');
                buf.extend_from_slice(word.as_bytes());
                f(buf);
            }
            std::mem::swap(prev, word);
            word.clear();
        };
    for c in text.chars() {
        if is_cjk(c) {
            flush_word(&mut word, &mut prev_word, &mut buf, &mut f);
            prev_word.clear();
            run.push(c);
        } else if c.is_alphabetic()
            || (c == '\'' && !word.is_empty())
            || (c.is_ascii_digit() && !word.is_empty())
        {
            if !run.is_empty() {
                flush_run(&mut run, &mut buf, &mut f);
            }
            word.extend(c.to_lowercase());
        } else {
            if !run.is_empty() {
                flush_run(&mut run, &mut buf, &mut f);
            }
            flush_word(&mut word, &mut prev_word, &mut buf, &mut f);
        }
    }
    flush_run(&mut run, &mut buf, &mut f);
    flush_word(&mut word, &mut prev_word, &mut buf, &mut f);
}

/// The feature hashes of `text`, deduplicated (features are binary).
pub fn hashes(text: &str) -> Vec<u64> {
    let mut out = Vec::with_capacity(text.len());
    for_each(text, |b| out.push(hash(b)));
    out.sort_unstable();
    out.dedup();
    out
}

/// The features of `text` as readable strings (for `--explain`), with their hashes.
pub fn named(text: &str) -> Vec<(u64, String)> {
    let mut out: Vec<(u64, String)> = Vec::new();
    for_each(text, |b| {
        let h = hash(b);
        if !out.iter().any(|(x, _)| *x == h) {
            let kind = match b[0] {
                b'c' => "",
                b'w' => "word:",
                _ => "pair:",
            };
            out.push((h, format!("{kind}{}", String::from_utf8_lossy(&b[1..]))));
        }
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cjk_ngrams_and_latin_words() {
        let names: Vec<String> = named("北向资金 Fed holds")
            .into_iter()
            .map(|x| x.1)
            .collect();
        for want in [
            "北",
            "北向",
            "北向资",
            "向资金",
            "word:fed",
            "word:holds",
            "pair:fed holds",
        ] {
            assert!(names.contains(&want.to_string()), "{want} in {names:?}");
        }
        // Digits and punctuation are not features; words do not pair across CJK text.
        let names: Vec<String> = named("2024年【最新】GDP增长")
            .into_iter()
            .map(|x| x.1)
            .collect();
        assert!(
            !names.iter().any(|n| n.contains('2') || n.contains('【')),
            "{names:?}"
        );
        assert!(names.contains(&"word:gdp".to_string()));
        // Binary features: a repeated n-gram counts once.
        assert_eq!(hashes("好好好好").len(), 3);
    }
}
