//! One big feed document for the single-document benchmark (`scripts/bigdoc-bench.sh`).
//!
//! ```sh
//! cargo run --release --example bigdoc -- --items 20000 --titles lookalike --out /tmp/big.rss
//! ```
//!
//! Writes one RSS 2.0 document of `--items` entries (about 400 bytes each, so 20,000 entries are
//! about 8 MB, inside the 10 MiB body cap), each with its own link and GUID and an HTML
//! description. `--titles lookalike` gives every entry a templated title that differs from the
//! others only in its number (`Story number 17 about markets`): the worst case for the
//! near-duplicate index, whose band buckets then hold every entry. `--titles random` gives each
//! entry six words drawn from a small vocabulary (deterministic, seeded by `--seed`).

use std::fmt::Write;

const WORDS: &[&str] = &[
    "market",
    "council",
    "river",
    "harvest",
    "budget",
    "storm",
    "election",
    "railway",
    "museum",
    "festival",
    "factory",
    "bridge",
    "hospital",
    "school",
    "airport",
    "vaccine",
    "drought",
    "tariff",
    "satellite",
    "orchestra",
    "glacier",
    "harbour",
    "startup",
    "pension",
    "reactor",
    "wildfire",
    "stadium",
    "library",
    "parliament",
    "currency",
    "telescope",
    "vineyard",
    "earthquake",
    "shipyard",
    "copper",
    "lithium",
    "housing",
    "subway",
    "canal",
    "forest",
    "senate",
    "court",
    "treaty",
    "summit",
    "strike",
    "merger",
    "refinery",
    "pipeline",
    "monsoon",
    "marathon",
    "archive",
    "cathedral",
    "frontier",
    "island",
    "village",
    "desert",
    "plateau",
    "delta",
    "valley",
    "coast",
];

#[path = "common/args.rs"]
mod args;
use args::arg;

/// xorshift64*: a deterministic word picker without a dependency.
fn next(state: &mut u64) -> u64 {
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    state.wrapping_mul(0x2545_F491_4F6C_DD1D)
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let items: usize = arg(&args, "--items", "20000").parse()?;
    let titles = arg(&args, "--titles", "lookalike");
    let out = arg(&args, "--out", "bigdoc.rss");
    let mut state: u64 = arg(&args, "--seed", "7").parse::<u64>()? | 1;
    let mut s = String::with_capacity(items * 420);
    s.push_str("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<rss version=\"2.0\"><channel><title>Big document</title><link>http://big.example/</link><description>one big feed</description>\n");
    for n in 0..items {
        let title = match titles.as_str() {
            "lookalike" => format!("Story number {n} about markets"),
            "random" => {
                let mut t = String::new();
                for w in 0..6 {
                    if w > 0 {
                        t.push(' ');
                    }
                    t.push_str(WORDS[(next(&mut state) % WORDS.len() as u64) as usize]);
                }
                // Capitalised like a headline.
                let mut c = t.chars();
                let first = c.next().map(|f| f.to_uppercase().collect::<String>());
                format!("{}{}", first.unwrap_or_default(), c.as_str())
            }
            other => anyhow::bail!("--titles: lookalike or random, not {other}"),
        };
        let minutes = n % 1440;
        let _ = writeln!(
            s,
            "<item><title>{title}</title><link>http://big.example/story/{n}.html</link><guid>http://big.example/story/{n}.html</guid><pubDate>Fri, 01 Mar 2024 {:02}:{:02}:00 GMT</pubDate><description>&lt;p&gt;Entry {n} of one big document, written for the single-document benchmark; its words are the same as its neighbours'.&lt;/p&gt;&lt;p&gt;&lt;a href=\"/more/{n}\"&gt;more&lt;/a&gt;&lt;/p&gt;</description></item>",
            minutes / 60,
            minutes % 60
        );
    }
    s.push_str("</channel></rss>\n");
    std::fs::write(&out, &s)?;
    eprintln!(
        "bigdoc: {items} items, {titles} titles, {} bytes -> {out}",
        s.len()
    );
    Ok(())
}
