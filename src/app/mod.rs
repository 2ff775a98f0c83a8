//! The CLI and the service it runs: the binary's edge inside the library.
//!
//! Takes: a parsed command line (the binary parses it with clap and calls [`cmd`]) or, in
//! tests, a [`crate::config::Config`]. Gives: the commands, and the running service. Guarantees:
//! errors are `anyhow` errors with context for the binary to print (a config error stays a
//! [`crate::config::ConfigError`], exit 2); tests drive the same functions the CLI calls, so what
//! the CLI does is what the tests check.
//!
//! # Layout
//!
//! - [`cmd`] — one file per command (`check`, `poll`, `export`, `serve`, `train`, `classify`,
//!   `eval`, `import_opml`, `migrate`, `demo`); each has a `run` the binary dispatches to.
//! - [`service`] — the wiring: the store a config names, the fetcher, the categorizer, the
//!   pipeline and the reloader, as one [`Service`].
//! - [`run`] — a [`Service`] running: background tasks, HTTP, bounded shutdown.
//! - [`tasks`] — the service's own background tasks: [`tasks::retention`] (hourly pruning) and
//!   [`tasks::follow_config`] (reloaded `[categorize]`/`[dedup]` applied to the pipeline).
//!
//! The items below are re-exported at this level, where tests and embedders have always found
//! them.

pub mod cmd;
pub mod run;
pub mod service;
pub mod tasks;

/// Loads `feeds.toml` with the CLI's data-directory override; it lives in [`crate::config`].
pub use crate::config::load_config;
pub use cmd::classify::classify_lines;
pub use cmd::eval::eval_dedup;
pub use cmd::export::export;
pub use cmd::import_opml::import_opml;
pub use cmd::migrate::migrate;
pub use cmd::poll::{poll_once, PollSummary};
pub use cmd::serve::{serve, shutdown_signal};
pub use cmd::train::train;
pub use run::{run_service, SHUTDOWN_GRACE};
pub use service::{build_categorizer, open_store, Service};

/// Where the CLI looks for the config when `--config` is not given.
pub fn default_config_path() -> std::path::PathBuf {
    std::path::PathBuf::from("feeds.toml")
}
