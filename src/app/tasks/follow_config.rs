//! Applies reloaded `[categorize]` and `[dedup]` settings to the running pipeline.
//!
//! Takes: a subscription to the reloader's configs, the pipeline and the shutdown signal.
//! Gives: on every published config, a rebuilt categorizer and the new dedup settings, for later
//! polls (a poll in progress keeps what it started with). Guarantees: a categorizer that cannot
//! be built (an unreadable model file) is logged and the running one kept.

use crate::app::service::build_categorizer;
use crate::config::Config;
use crate::ingest::Pipeline;
use std::sync::Arc;
use tokio::sync::watch;

/// Follows `configs` until `stop` changes or the reloader is gone. The config current at
/// subscription is already in force, so only later ones are applied.
pub async fn run(
    mut configs: watch::Receiver<Arc<Config>>,
    pipeline: Arc<Pipeline>,
    mut stop: watch::Receiver<bool>,
) {
    configs.borrow_and_update();
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            r = configs.changed() => {
                if r.is_err() {
                    break;
                }
                let c = Arc::clone(&configs.borrow_and_update());
                apply(&pipeline, &c);
            }
        }
    }
}

/// Puts `c`'s categorizer and dedup settings into the pipeline.
fn apply(pipeline: &Pipeline, c: &Config) {
    match build_categorizer(c) {
        Ok(cat) => pipeline.set_categorizer(Arc::new(cat)),
        Err(e) => {
            tracing::error!(error = %e, "categorizer not reloaded, keeping the running one")
        }
    }
    pipeline.set_dedup(c.dedup.clone());
}
