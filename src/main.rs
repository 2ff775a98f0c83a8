//! The `feedsift` binary: parses the command line and calls into the library.
//!
//! Takes: the command line (and `FEEDSIFT_CONFIG`, `FEEDSIFT_DATA_DIR`, `RUST_LOG`). Gives: the
//! command run by [`feedsift::app::cmd`], logging set up for it. Guarantees: exit 0 on success,
//! 2 with `PATH:LINE:COL: message` for an invalid config, 1 with `feedsift: …` for anything else.
//! Nothing else lives here: parsing and dispatch only.

use clap::{Parser, Subcommand};
use feedsift::app::cmd;
use feedsift::categorize::features::FeatureSet;
use feedsift::config::ConfigError;
use feedsift::publish::Format;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

/// The process's allocator: mimalloc (its v2 line, without transparent huge pages), not
/// glibc's malloc. With many threads allocating and freeing parsed items, glibc spent a fifth
/// of a cold poll's CPU in `malloc`, `free` and `malloc_consolidate`, and kept more memory: a
/// cold poll of 10,000 feeds took 166 s and 772 MB with glibc, 140 s and 556 MB with this
/// (docs/PERFORMANCE.md, session 14).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc v2's `mi_option_purge_delay` (`include/mimalloc.h`, `enum mi_option_e`; the sys
/// crate names no constant for it).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
/// Its documented default in v2, checked before it is changed: another number means the
/// numbering is not the one above, and nothing is set.
const MI_PURGE_DELAY_DEFAULT: std::os::raw::c_long = 10;

/// Memory freed is given back to the system at once rather than after 10 ms. The service's
/// blocking threads each free a page's buffers in turn, and the delay let a paging server
/// hold about 100 MB more at its peak than with it off (900,000 stories: 757–762 MB against
/// 649–662 MB, glibc 648 MB), for no measurable speed.
fn return_freed_memory_at_once() {
    // SAFETY: plain calls into the linked allocator's option table with an option number and a
    // value; they touch no Rust-owned memory.
    unsafe {
        if libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY) == MI_PURGE_DELAY_DEFAULT {
            libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 0);
        }
    }
}

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
    /// Relabel a stored item (an admin correction): kept through later updates, listed by
    /// `corrections export`.
    Label {
        /// The item's id as /api/items gives it (urn:feedsift:KEY) or its bare KEY.
        item_id: String,
        /// regional_politics, finance, lifestyle or other.
        label: String,
    },
    /// The admin's corrections of item labels.
    Corrections {
        #[command(subcommand)]
        what: CorrectionsWhat,
    },
    /// Train the categorizer on labelled JSON lines ({"title", "summary", "label", "source"}),
    /// or measure the training method by leave-one-source-out (--loso).
    Train {
        /// Training data: a file, or a directory whose *.jsonl files are all read (repeatable).
        #[arg(long = "data", required = true)]
        data: Vec<PathBuf>,
        /// The admin's corrections, same format; each weighs --correction-weight unless its line
        /// has a "weight".
        #[arg(long)]
        corrections: Option<PathBuf>,
        /// The weight of a correction.
        #[arg(long, default_value_t = cmd::train::DEFAULT_CORRECTION_WEIGHT)]
        correction_weight: f32,
        /// Where to write the model.
        #[arg(long, required_unless_present = "loso")]
        out: Option<PathBuf>,
        /// Also score the model on this labelled file.
        #[arg(long)]
        dev: Option<PathBuf>,
        /// Passes over the data.
        #[arg(long, default_value_t = 8)]
        epochs: usize,
        /// Seed of the example order (same data, same seed: same model).
        #[arg(long, default_value_t = 0x5eed_cafe)]
        seed: u64,
        /// Feature kinds: fold, stem, regions, gov, nosig (comma-separated), all, or legacy.
        #[arg(long, default_value = cmd::train::DEFAULT_FEATURES)]
        features: String,
        /// Source balance within each label, 0 (off) to 1.
        #[arg(long, default_value_t = cmd::train::DEFAULT_SOURCE_BALANCE)]
        source_balance: f32,
        /// L2 penalty per update.
        #[arg(long, default_value_t = 1e-6)]
        l2: f32,
        /// Features seen fewer times are dropped.
        #[arg(long, default_value_t = 2)]
        min_count: u32,
        /// Features seen in fewer source groups are dropped (1: off).
        #[arg(long, default_value_t = cmd::train::DEFAULT_MIN_GROUPS)]
        min_groups: u32,
        /// Read titles only, not summaries.
        #[arg(long)]
        titles_only: bool,
        /// Leave-one-source-out: hold out each source group in turn, print the per-source table.
        #[arg(long)]
        loso: bool,
        /// With --loso: files held out as sources but never trained on (repeatable).
        #[arg(long)]
        holdout_only: Vec<PathBuf>,
        /// With --loso: adapt to the held-out source's unlabelled items (none, priors, online, self:CONF).
        #[arg(long, default_value = "none")]
        adapt: String,
        /// With --loso: folds run at once.
        #[arg(long, default_value_t = 2)]
        threads: usize,
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
enum CorrectionsWhat {
    /// Write them as training JSON lines (what `train --corrections` reads): each corrected
    /// item's newest correction, oldest first.
    Export {
        /// Write to this file instead of stdout.
        #[arg(long)]
        output: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum EvalWhat {
    /// The categorizer, on labelled JSON lines: per-label scores and the confusion matrix.
    Categorizer {
        /// The labelled files (a directory: its *.jsonl files).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Also the table per source group (accuracy, macro-F1 over its labels).
        #[arg(long)]
        by_source: bool,
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
    return_freed_memory_at_once();
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
        Command::Label { item_id, label } => cmd::label::run(&ctx, &item_id, &label)?,
        Command::Corrections {
            what: CorrectionsWhat::Export { output },
        } => cmd::corrections::run_export(&ctx, output.as_deref())?,
        Command::Migrate { from, to } => cmd::migrate::run(&from, &to)?,
        Command::ImportOpml {
            file,
            allow_private,
        } => cmd::import_opml::run(&ctx.config_path, &file, allow_private)?,
        Command::Train {
            data,
            corrections,
            correction_weight,
            out,
            dev,
            epochs,
            seed,
            features,
            source_balance,
            l2,
            min_count,
            min_groups,
            titles_only,
            loso,
            holdout_only,
            adapt,
            threads,
        } => {
            let mut args = cmd::train::TrainArgs::new(data, out);
            args.corrections = corrections;
            args.correction_weight = correction_weight;
            args.dev = dev;
            args.opts.epochs = epochs;
            args.opts.seed = seed;
            args.opts.features = FeatureSet::parse(&features).map_err(anyhow::Error::msg)?;
            args.opts.source_balance = source_balance;
            args.opts.l2 = l2;
            args.opts.min_count = min_count;
            args.opts.min_groups = min_groups;
            args.titles_only = titles_only;
            args.loso = loso;
            args.holdout_only = holdout_only;
            args.adapt = cmd::train::parse_adapt(&adapt).map_err(anyhow::Error::msg)?;
            args.threads = threads;
            cmd::train::run(&args)?
        }
        Command::Classify { explain, json } => cmd::classify::run(&ctx, explain, json)?,
        Command::Eval {
            what: EvalWhat::Categorizer { files, by_source },
        } => cmd::eval::run_categorizer(&ctx, &files, by_source)?,
        Command::Eval {
            what: EvalWhat::Dedup { file, mistakes },
        } => cmd::eval::run_dedup(&ctx, &file, mistakes)?,
        Command::Demo { listen, dir } => cmd::demo::run(&ctx, listen, &dir)?,
    }
    Ok(ExitCode::SUCCESS)
}
