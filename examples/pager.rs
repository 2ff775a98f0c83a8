//! The incremental reader of the load harness: pages through `/api/items` as one client would.
//!
//! ```sh
//! cargo run --release --example pager -- --base http://127.0.0.1:8080 [--max 500000] [--limit 1000]
//! ```
//!
//! Follows the `next` cursor from the beginning until the API has no more items or `--max`
//! items were read, one request at a time, and prints `items=N secs=S items_per_sec=R`.

use std::time::Instant;

#[path = "common/args.rs"]
mod args;
use args::arg;

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let base = arg(&args, "--base", "http://127.0.0.1:8080");
    let max: usize = arg(&args, "--max", "500000").parse()?;
    let limit: usize = arg(&args, "--limit", "1000").parse()?;
    let client = reqwest::Client::new();
    let mut cursor = String::new();
    let mut items = 0usize;
    let mut requests = 0usize;
    let started = Instant::now();
    while items < max {
        let url = format!(
            "{}/api/items?limit={limit}&after={cursor}",
            base.trim_end_matches('/')
        );
        let resp = client.get(&url).send().await?.error_for_status()?;
        let page: serde_json::Value = serde_json::from_slice(&resp.bytes().await?)?;
        requests += 1;
        let n = page["items"].as_array().map_or(0, |a| a.len());
        if n == 0 {
            break;
        }
        items += n;
        cursor = page["next"].as_str().unwrap_or_default().to_string();
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "items={items} requests={requests} secs={secs:.3} items_per_sec={:.0}",
        items as f64 / secs
    );
    Ok(())
}
