//! `feedsift migrate --from … --to …`: a whole store moved to another backend.
//!
//! Takes: two endpoints (`sled:DIR`, `postgres://…`). Gives: [`crate::migrate::migrate`] run
//! with a progress bar on a terminal (quiet otherwise), and one line on stdout with the counts
//! and the rate. Guarantees: what `crate::migrate` guarantees — an empty target, the source
//! only read, counts verified.

use super::progress_bar;
use crate::migrate::{Endpoint, Report};

/// Runs `migrate`: the verified counts on stdout.
pub fn run(from: &str, to: &str) -> anyhow::Result<()> {
    let r = migrate(from, to)?;
    println!(
        "migrated {} items, {} copies, {} feed states, {} tombstones, {} corrections in {:.1} s ({:.0} items/s); counts verified",
        r.counts.items,
        r.counts.copies,
        r.counts.feeds,
        r.counts.tombstones,
        r.counts.corrections,
        r.elapsed.as_secs_f64(),
        r.counts.items as f64 / r.elapsed.as_secs_f64().max(1e-9)
    );
    Ok(())
}

/// `feedsift migrate --from … --to …`: [`crate::migrate::migrate`] with a progress bar on a
/// terminal (quiet otherwise).
pub fn migrate(from: &str, to: &str) -> anyhow::Result<Report> {
    let (from, to) = (Endpoint::parse(from)?, Endpoint::parse(to)?);
    let bar = progress_bar(
        true,
        0,
        "{spinner} migrating [{bar:30}] {pos}/{len} items ({per_sec}, {eta} left)",
    );
    let report = crate::migrate::migrate(&from, &to, &|done, total| {
        if let Some(b) = &bar {
            b.set_length(total.max(done));
            b.set_position(done);
        }
    });
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    let report = report?;
    // The deduplicator's learned packaging, rebuilt from the migrated titles and feeds.
    let target = to.open(false)?;
    crate::dedup::learn::rebuild(&target)?;
    Ok(report)
}
