//! `feedsift export OUTPUT`: an output's feed on stdout.
//!
//! Takes: the configuration, an output name, a format and an optional limit. Gives: the
//! document, byte for byte what HTTP serves for it. Guarantees: sled lets one process open a
//! store at a time; when a running `feedsift serve` holds it, the document is fetched from that
//! server instead (`[service] listen`), which renders the same bytes from the same store.

use super::Context;
use crate::app::service::open_store;
use crate::config::{self, Config};
use crate::publish::Format;
use crate::server;
use crate::store::{Store, StoreError};
use anyhow::Context as _;
use std::io::Write;

/// Runs `export`: the document on stdout.
pub fn run(
    ctx: &Context,
    output: &str,
    format: Format,
    limit: Option<usize>,
) -> anyhow::Result<()> {
    let doc = ctx
        .rt
        .block_on(export(ctx.config()?, output, format, limit))?;
    let mut out = std::io::stdout().lock();
    out.write_all(doc.as_bytes())?;
    out.flush()?;
    Ok(())
}

/// `feedsift export`: the output rendered from the store, byte for byte what HTTP serves.
///
/// sled lets one process open a store at a time; when a running `feedsift serve` holds it, the
/// document is fetched from that server instead (`[service] listen`), which renders the same
/// bytes from the same store.
pub async fn export(
    config: Config,
    output: &str,
    format: Format,
    limit: Option<usize>,
) -> anyhow::Result<String> {
    if let Some(l) = limit {
        anyhow::ensure!(
            (1..=config::MAX_LIMIT).contains(&l),
            "--limit must be between 1 and {}",
            config::MAX_LIMIT
        );
    }
    let names = config.output_names();
    anyhow::ensure!(
        config.output(output).is_some(),
        "no such output `{output}`; outputs: {}",
        names.join(", ")
    );
    match open(&config) {
        Ok(store) => Ok(server::render_output(
            &config,
            &store,
            output,
            format,
            &config::Filter::default(),
            limit,
        )?
        .expect("output existence checked above")),
        Err(StoreError::Locked { path }) => {
            let mut addr = config.service.listen;
            if addr.ip().is_unspecified() {
                addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
            }
            let mut url = format!("http://{addr}/feeds/{output}.{}", format.extension());
            if let Some(l) = limit {
                url.push_str(&format!("?limit={l}"));
            }
            tracing::info!(store = %path.display(), %url, "store in use by a running feedsift; exporting through it");
            let resp = reqwest::get(&url).await.with_context(|| {
                format!(
                    "{} is in use, and the running service at {url} did not answer",
                    path.display()
                )
            })?;
            anyhow::ensure!(resp.status().is_success(), "{url}: HTTP {}", resp.status());
            Ok(resp.text().await?)
        }
        Err(e) => Err(e.into()),
    }
}

/// The configured store, its data directory created first.
fn open(config: &Config) -> Result<Store, StoreError> {
    let s = &config.service;
    if let Err(source) = std::fs::create_dir_all(&s.data_dir) {
        return Err(StoreError::Open {
            path: s.data_dir.clone(),
            source: source.into(),
        });
    }
    open_store(s)
}
