//! The `feedsift` binary: parses the command line and calls into the library.
//!
//! Takes: the command line (and `FEEDSIFT_CONFIG`, `FEEDSIFT_DATA_DIR`, `RUST_LOG`). Gives: the
//! command run by [`feedsift::app::cmd`], logging set up for it. Guarantees: exit 0 on success,
//! 2 with `PATH:LINE:COL: message` for an invalid config, 1 with `feedsift: …` for anything else.
//! Nothing else lives here: parsing and dispatch only.

use clap::{Parser, Subcommand};
use feedsift::app::cmd;
use feedsift::config::ConfigError;
use feedsift::publish::Format;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

/// A filtered-feed aggregator: polls feeds, stores each story once, republishes filtered feeds.
#[derive(Parser)]
#[command(name = "feedsift", version, about)]
struct Cli {
    /// The configuration file.
    #[arg(
        long,
        global = true,
        env = "FEEDSIFT_CONFIG",
        default_value = "feeds.toml"
    )]
    config: PathBuf,
    /// The data directory (overrides `[service] data_dir`).
    #[arg(long, global = true, env = "FEEDSIFT_DATA_DIR")]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the scheduler and the HTTP server until SIGINT/SIGTERM.
    Serve,
    /// Poll every enabled feed once, store the items and print a summary.
    Poll {
        /// Poll once and exit (required: continuous polling is what `serve` does).
        #[arg(long, required = true)]
        once: bool,
    },
    /// Validate the configuration; exit 2 with PATH:LINE:COL: message if it is wrong.
    Check,
    /// Write an output's feed from the store to stdout, exactly as HTTP serves it.
    Export {
        /// The output name (`merged` or an [[output]] name).
        output: String,
        /// rss, atom or json.
        #[arg(long, default_value = "rss")]
        format: Format,
        /// At most this many items (default: the output's limit).
        #[arg(long)]
        limit: Option<usize>,
    },
    /// Train the categorizer on labelled JSON lines ({"title", "summary", "label"}).
    Train {
        /// Training data (repeatable).
        #[arg(long = "data", required = true)]
        data: Vec<PathBuf>,
        /// Where to write the model.
        #[arg(long)]
        out: PathBuf,
        /// Also score the model on this labelled file.
        #[arg(long)]
        dev: Option<PathBuf>,
        /// Passes over the data.
        #[arg(long, default_value_t = 8)]
        epochs: usize,
        /// Seed of the example order (same data, same seed: same model).
        #[arg(long, default_value_t = 0x5eed_cafe)]
        seed: u64,
    },
    /// Add the feeds of an OPML file (a feed reader's export) to the config, keeping its comments.
    ImportOpml {
        /// The OPML file.
        file: PathBuf,
        /// Import feeds on loopback, private or link-local addresses too (refused by default:
        /// an imported list is not the admin's own writing).
        #[arg(long)]
        allow_private: bool,
    },
    /// Move a whole store to another backend (e.g. sled to PostgreSQL), keeping cursors valid;
    /// counts are verified at the end.
    Migrate {
        /// The store to read: sled:DIR or postgres://user:password@host/database.
        #[arg(long)]
        from: String,
        /// The empty store to fill: postgres://… or sled:DIR.
        #[arg(long)]
        to: String,
    },
    /// Label items read from stdin, one a line: a title, or {"title", "summary"}.
    Classify {
        /// Show the features that weighed most, and any override that applied.
        #[arg(long)]
        explain: bool,
        /// One JSON object a line.
        #[arg(long)]
        json: bool,
    },
    /// Measure a component on labelled data.
    Eval {
        #[command(subcommand)]
        what: EvalWhat,
    },
    /// Serve bundled sample feeds locally and aggregate them: see feedsift work with no internet.
    Demo {
        /// Where the demo's HTTP server listens.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// Scratch directory for the demo's config and store.
        #[arg(long, default_value_os_t = std::env::temp_dir().join("feedsift-demo"))]
        dir: PathBuf,
    },
}

#[derive(Subcommand)]
enum EvalWhat {
    /// The categorizer, on labelled JSON lines: per-label scores and the confusion matrix.
    Categorizer {
        /// The labelled file.
        file: PathBuf,
    },
    /// The deduplicator, on pairs `{"a": {...}, "b": {...}, "duplicate": bool}` (JSON lines).
    Dedup {
        /// The pairs file.
        file: PathBuf,
        /// Also print up to this many misjudged pairs.
        #[arg(long, default_value_t = 0)]
        mistakes: usize,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The service logs what it does; one-shot commands report on stdout/stderr themselves and
    // log only errors, unless RUST_LOG asks for more.
    let default_filter = match cli.command {
        Command::Serve | Command::Demo { .. } => "feedsift=info,warn",
        _ => "error",
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter)),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            if let Some(ce) = e.downcast_ref::<ConfigError>() {
                eprintln!("{ce}");
                return ExitCode::from(2);
            }
            eprintln!("feedsift: {}", chain(&e));
            ExitCode::FAILURE
        }
    }
}

/// An error with its causes, each said once: many errors already include their source's text
/// in their own message (so that logs, which print only the message, are complete), and `{:#}`
/// would repeat it (`x.jsonl: No such file: x.jsonl: No such file: No such file`).
fn chain(e: &anyhow::Error) -> String {
    let mut out = e.to_string();
    for cause in e.chain().skip(1) {
        let c = cause.to_string();
        if !out.contains(&c) {
            out.push_str(": ");
            out.push_str(&c);
        }
    }
    out
}

/// Dispatches the parsed command line to its command in [`feedsift::app::cmd`].
fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let ctx = cmd::Context::new(cli.config, cli.data_dir)?;
    match cli.command {
        Command::Check => cmd::check::run(&ctx)?,
        Command::Poll { .. } => cmd::poll::run(&ctx)?,
        Command::Export {
            output,
            format,
            limit,
        } => cmd::export::run(&ctx, &output, format, limit)?,
        Command::Serve => cmd::serve::run(&ctx)?,
        Command::Migrate { from, to } => cmd::migrate::run(&from, &to)?,
        Command::ImportOpml {
            file,
            allow_private,
        } => cmd::import_opml::run(&ctx.config_path, &file, allow_private)?,
        Command::Train {
            data,
            out,
            dev,
            epochs,
            seed,
        } => cmd::train::run(&data, &out, dev.as_deref(), epochs, seed)?,
        Command::Classify { explain, json } => cmd::classify::run(&ctx, explain, json)?,
        Command::Eval {
            what: EvalWhat::Categorizer { file },
        } => cmd::eval::run_categorizer(&ctx, &file)?,
        Command::Eval {
            what: EvalWhat::Dedup { file, mistakes },
        } => cmd::eval::run_dedup(&ctx, &file, mistakes)?,
        Command::Demo { listen, dir } => cmd::demo::run(&ctx, listen, &dir)?,
    }
    Ok(ExitCode::SUCCESS)
}
