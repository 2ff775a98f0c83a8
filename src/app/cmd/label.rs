//! `feedsift label ITEM_ID LABEL`: the admin relabels one stored item from the shell.
//!
//! Takes: the configuration (its store), an item id as `/api/items` gives it
//! (`urn:feedsift:KEY`, or the bare KEY) and one of the four labels. Gives: the item relabelled
//! in the store the config names ([`crate::store::Store::correct`], recorded with the system
//! clock's time and `cli` as how), and one line on stdout saying what changed. Guarantees: the
//! label is checked before the store is opened; an unknown item or label, a missing store, or
//! a sled store held by a running `feedsift serve` is an error naming what and where (with the
//! HTTP way to do it while the service runs), never a panic.

use super::Context;
use crate::app::service::open_store;
use crate::config::{Config, StoreSpec};
use crate::model::Category;
use crate::store::{Correction, Store, StoreError};
use anyhow::Context as _;

/// Runs `label`: one line on stdout.
pub fn run(ctx: &Context, id: &str, label: &str) -> anyhow::Result<()> {
    let c = relabel(
        &ctx.config()?,
        id,
        label,
        crate::clock::Clock::system().now(),
    )?;
    println!(
        "relabelled urn:feedsift:{}: {} -> {} (correction {}, \"{}\")",
        c.key,
        c.previous,
        c.label,
        c.id,
        crate::text::plain_text(&c.title)
    );
    Ok(())
}

/// `feedsift label`: relabels item `id` as `label` at `at` in the store `config` names.
pub fn relabel(
    config: &Config,
    id: &str,
    label: &str,
    at: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<Correction> {
    let label: Category = label.trim().parse().map_err(|_| {
        anyhow::anyhow!(
            "unknown label `{label}`: use one of regional_politics, finance, lifestyle, other"
        )
    })?;
    let store = open_existing(config)?;
    let key = crate::server::item_key(id.trim());
    let c = store
        .correct(key, label, "cli", at)
        .with_context(|| format!("relabelling `{id}` in {}", store.describe()))?
        .with_context(|| {
            format!(
                "no item `{id}` in the store ({}): use an id as /api/items or the feeds' \
                 feedsift:story give it",
                store.describe()
            )
        })?;
    store.flush()?;
    Ok(c)
}

/// The store `config` names, which must already exist (a sled directory that was never
/// polled into is an error, not a new empty store); a sled store in use by a running service
/// is an error that says how to do the same over HTTP.
pub(crate) fn open_existing(config: &Config) -> anyhow::Result<Store> {
    let s = &config.service;
    if s.store == StoreSpec::Sled && !s.data_dir.join("conf").exists() {
        anyhow::bail!(
            "no store in {} (run `feedsift poll --once` or `serve` first, or point --data-dir at one)",
            s.data_dir.display()
        );
    }
    match open_store(s) {
        Ok(store) => Ok(store),
        Err(e @ StoreError::Locked { .. }) => Err(anyhow::anyhow!(
            "{e}; while `feedsift serve` runs, use its API: POST /api/items/ID/label and \
             GET /api/corrections with the admin token"
        )),
        Err(e) => Err(e.into()),
    }
}
