//! `feedsift serve`: the service until SIGINT/SIGTERM.
//!
//! Takes: the configuration. Gives: the service ([`crate::app::run::run_service`]) on
//! `[service] listen`, announcing on stderr the address bound and each output's RSS URL.
//! Guarantees: `listen = "127.0.0.1:0"` picks a free port and every URL announced names it; the
//! first SIGINT or SIGTERM starts the bounded shutdown.

use super::Context;
use crate::app::run::run_service;
use crate::app::service::Service;
use crate::config::Config;
use crate::publish::Format;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// Runs `serve`.
pub fn run(ctx: &Context) -> anyhow::Result<()> {
    let config = ctx.config()?;
    let hint = format!(
        "set another `[service] listen` in {}",
        ctx.config_path.display()
    );
    ctx.rt.block_on(serve_as(config, &hint))
}

/// `feedsift serve`: binds `[service] listen`, runs until SIGINT/SIGTERM.
pub async fn serve(config: Config) -> anyhow::Result<()> {
    serve_as(config, "set another `[service] listen` in the config").await
}

/// [`serve`], where a failure to bind suggests `choose_another` (how this command picks its
/// address: `--listen` for `demo`). The URL to open is printed only once the address is bound.
pub(crate) async fn serve_as(config: Config, choose_another: &str) -> anyhow::Result<()> {
    let listen = config.service.listen;
    let service = Service::open(config)?;
    let listener = TcpListener::bind(listen).await.map_err(|e| {
        let why = if e.kind() == std::io::ErrorKind::AddrInUse {
            " (another program, perhaps another feedsift, is using it)"
        } else {
            ""
        };
        anyhow::anyhow!("cannot listen on {listen}: {e}{why}; {choose_another}")
    })?;
    // The address actually bound (`listen = "127.0.0.1:0"` picks a free port).
    let bound = listener.local_addr().unwrap_or(listen);
    eprintln!("feedsift: serving on http://{bound}/ (Ctrl-C to stop); open it, or subscribe to:");
    let served = (*service.config).clone().served_at(bound);
    for name in served.output_names() {
        eprintln!(
            "  {}",
            crate::publish::feed_url(&served.service.public_url, &name, Format::Rss)
        );
    }
    let (tx, rx) = watch::channel(false);
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("shutdown requested");
        let _ = tx.send(true);
    });
    run_service(service, listener, rx).await
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
