//! `feedsift check`: validates the configuration.
//!
//! Takes: the config file. Gives: `PATH: ok (N feeds, M outputs)` on stdout (M counts the
//! built-in `merged`). Guarantees: an invalid file is a [`crate::config::ConfigError`], which the
//! binary prints as `PATH:LINE:COL: message` and exits 2 on; nothing is opened or written.

use super::Context;

/// Runs `check`.
pub fn run(ctx: &Context) -> anyhow::Result<()> {
    let c = ctx.config()?;
    println!(
        "{}: ok ({} feeds, {} outputs)",
        ctx.config_path.display(),
        c.feeds.len(),
        c.outputs.len() + 1
    );
    Ok(())
}
