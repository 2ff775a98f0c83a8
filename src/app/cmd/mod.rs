//! The CLI's commands, one file each (as mini-redis keeps `cmd/`).
//!
//! Takes: a [`Context`] (the global `--config` / `--data-dir` and the runtime) and the command's
//! own arguments, already parsed by the binary. Gives: the command done, its report on stdout
//! and stderr. Guarantees: each `run` prints exactly what the CLI prints and returns errors for
//! the binary to report — a [`ConfigError`] stays downcastable, so a bad config exits 2 with
//! `PATH:LINE:COL: message`. The functions behind them (`poll_once`, `export`, `train`, …) print
//! nothing and are what tests call.

pub mod check;
pub mod classify;
pub mod corrections;
pub mod demo;
pub mod eval;
pub mod export;
pub mod import_opml;
pub mod label;
pub mod migrate;
pub mod poll;
pub mod serve;
pub mod train;

use crate::categorize::ModelCategorizer;
use crate::config::{self, Config, ConfigError};
use std::path::PathBuf;

/// What every command gets besides its own arguments.
pub struct Context {
    /// The configuration file (`--config`, `FEEDSIFT_CONFIG`).
    pub config_path: PathBuf,
    /// The data directory override (`--data-dir`, `FEEDSIFT_DATA_DIR`).
    pub data_dir: Option<PathBuf>,
    /// The runtime async commands run on.
    pub rt: tokio::runtime::Runtime,
}

impl Context {
    /// A context with a multi-threaded runtime.
    pub fn new(config_path: PathBuf, data_dir: Option<PathBuf>) -> anyhow::Result<Context> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?;
        Ok(Context {
            config_path,
            data_dir,
            rt,
        })
    }

    /// Loads and validates the configuration, with the data directory override applied.
    pub fn config(&self) -> Result<Config, ConfigError> {
        config::load_config(&self.config_path, self.data_dir.as_deref())
    }

    /// The categorizer for commands whose config is optional: the config's (model, overrides,
    /// hints) when it can be read, the shipped model when there is no file; an invalid config is
    /// still an error.
    pub fn categorizer(&self) -> anyhow::Result<ModelCategorizer> {
        match self.config() {
            Ok(c) => super::build_categorizer(&c),
            Err(ConfigError::Io { .. }) => Ok(ModelCategorizer::embedded()?),
            Err(e) => Err(e.into()),
        }
    }
}

/// A progress bar on stderr when it is a terminal (and `show`), in the CLI's one style:
/// `{spinner} VERB [bar] …`.
pub(crate) fn progress_bar(show: bool, len: u64, template: &str) -> Option<indicatif::ProgressBar> {
    (show && std::io::IsTerminal::is_terminal(&std::io::stderr())).then(|| {
        let b = indicatif::ProgressBar::new(len);
        b.set_style(
            indicatif::ProgressStyle::with_template(template)
                .expect("static template")
                .progress_chars("=> "),
        );
        b
    })
}
