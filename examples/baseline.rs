//! The reference points of the load harness: what the bare libraries do with the same bytes.
//!
//! ```sh
//! cargo run --release --example baseline -- --config /tmp/farm/feeds.toml [--dir /tmp/sled-ceiling]
//! ```
//!
//! Downloads every feed the configuration lists once (untimed), then, on one thread:
//! 1. parses all of the bodies with bare `feed-rs` in a tight loop — the parse reference the
//!    pipeline's cold run is compared with;
//! 2. inserts one record per entry (its id as the key; title, link, summary and date as JSON,
//!    about what feedsift keeps of an item) into a bare sled tree and flushes — the storage
//!    ceiling.
//!
//! Prints one `key=value` line per measurement for `scripts/bench.sh` to put into its table.

use std::time::Instant;

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let config = arg(&args, "--config").unwrap_or_else(|| "feeds.toml".into());
    let text = std::fs::read_to_string(&config)?;
    let doc: toml::Table = text.parse()?;
    let urls: Vec<String> = doc
        .get("feed")
        .and_then(|f| f.as_array())
        .map(|feeds| {
            feeds
                .iter()
                .filter_map(|f| f.get("url").and_then(|u| u.as_str()).map(String::from))
                .collect()
        })
        .unwrap_or_default();
    anyhow::ensure!(!urls.is_empty(), "{config}: no [[feed]] urls");

    // Download (untimed), 32 at a time.
    let client = reqwest::Client::new();
    let sem = std::sync::Arc::new(tokio::sync::Semaphore::new(32));
    let mut tasks = Vec::new();
    for url in urls {
        let client = client.clone();
        let sem = sem.clone();
        tasks.push(tokio::spawn(async move {
            let _permit = sem.acquire().await.ok()?;
            let resp = client.get(&url).send().await.ok()?;
            resp.bytes().await.ok()
        }));
    }
    let mut bodies = Vec::new();
    for t in tasks {
        if let Ok(Some(b)) = t.await {
            bodies.push(b);
        }
    }
    let bytes: usize = bodies.iter().map(|b| b.len()).sum();
    println!("feeds={} bytes={bytes}", bodies.len());

    // 1. bare feed-rs.
    let started = Instant::now();
    let mut records: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    let mut entries = 0usize;
    for body in &bodies {
        let Ok(feed) = feed_rs::parser::parse(body.as_ref()) else {
            continue;
        };
        entries += feed.entries.len();
        for e in feed.entries {
            let value = serde_json::json!({
                "title": e.title.map(|t| t.content),
                "link": e.links.first().map(|l| l.href.clone()),
                "summary": e.summary.map(|t| t.content),
                "date": e.published.or(e.updated).map(|d| d.to_rfc3339()),
            });
            records.push((e.id.into_bytes(), serde_json::to_vec(&value)?));
        }
    }
    let parse_secs = started.elapsed().as_secs_f64();
    println!(
        "feedrs_items={entries} feedrs_secs={parse_secs:.3} feedrs_items_per_sec={:.0}",
        entries as f64 / parse_secs
    );

    // 2. bare sled.
    let dir = match arg(&args, "--dir") {
        Some(d) => std::path::PathBuf::from(d),
        None => std::env::temp_dir().join(format!("feedsift-sled-ceiling-{}", std::process::id())),
    };
    let _ = std::fs::remove_dir_all(&dir);
    let db = sled::Config::new()
        .path(&dir)
        .cache_capacity(64 << 20)
        .open()?;
    let tree = db.open_tree("items")?;
    let avg = records.iter().map(|(_, v)| v.len()).sum::<usize>() / records.len().max(1);
    let started = Instant::now();
    for (k, v) in &records {
        tree.insert(k.as_slice(), v.as_slice())?;
    }
    db.flush()?;
    let sled_secs = started.elapsed().as_secs_f64();
    drop(tree);
    drop(db);
    let size: u64 = walk_size(&dir);
    let _ = std::fs::remove_dir_all(&dir);
    println!(
        "sled_records={} sled_record_bytes={avg} sled_secs={sled_secs:.3} sled_inserts_per_sec={:.0} sled_bytes_per_record={}",
        records.len(),
        records.len() as f64 / sled_secs,
        size / records.len().max(1) as u64
    );
    Ok(())
}

fn walk_size(dir: &std::path::Path) -> u64 {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return 0;
    };
    rd.flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => walk_size(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}
