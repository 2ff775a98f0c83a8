//! The incremental reader of the load harness: pages through `/api/items` as one client would.
//!
//! ```sh
//! cargo run --release --example pager -- --base http://127.0.0.1:8080 [--max 500000] [--limit 1000] [--serial]
//! ```
//!
//! Reads from the beginning until the API has no more items or `--max` items were read, and
//! prints `items=N secs=S items_per_sec=R`. Each page is decoded whole (`serde_json::Value`,
//! what a generic client does).
//!
//! By default it follows the page's `Link: <…>; rel="next"` header (RFC 8288) and asks for the
//! next page as soon as a page's headers arrive, so the server writes page N + 1 while the
//! client reads page N: still one client and one request at a time on the server's side of
//! each page, but the two no longer take turns. `--serial` takes the `next` cursor from the
//! body and asks only after decoding it (the simplest client; its figure is the sum of both
//! sides' time per item).

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
    let serial = args.iter().any(|a| a == "--serial");
    let client = reqwest::Client::new();
    let base = base.trim_end_matches('/');
    let (mut items, mut requests) = (0usize, 0usize);
    let started = Instant::now();
    if serial {
        let mut cursor = String::new();
        while items < max {
            let url = format!("{base}/api/items?limit={limit}&after={cursor}");
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
    } else {
        let first = format!("{base}/api/items?limit={limit}");
        let mut pending = tokio::spawn(client.get(first).send());
        while items < max {
            let resp = pending.await??.error_for_status()?;
            requests += 1;
            let next = next_link(resp.headers());
            // Asked now; the server answers while this page is read and decoded.
            let ahead = next.map(|url| tokio::spawn(client.get(url).send()));
            let page: serde_json::Value = serde_json::from_slice(&resp.bytes().await?)?;
            let n = page["items"].as_array().map_or(0, |a| a.len());
            items += n;
            match ahead {
                Some(a) if n > 0 => pending = a,
                _ => break,
            }
        }
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "items={items} requests={requests} secs={secs:.3} items_per_sec={:.0}",
        items as f64 / secs
    );
    Ok(())
}

/// The target of a `Link: <…>; rel="next"` header.
fn next_link(headers: &reqwest::header::HeaderMap) -> Option<String> {
    headers
        .get_all(reqwest::header::LINK)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .find(|l| l.contains("rel=\"next\""))
        .and_then(|l| Some(l.trim().strip_prefix('<')?.split_once('>')?.0.to_string()))
}
