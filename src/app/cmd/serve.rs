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
use anyhow::Context as _;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// Runs `serve`.
pub fn run(ctx: &Context) -> anyhow::Result<()> {
    ctx.rt.block_on(serve(ctx.config()?))
}

/// `feedsift serve`: binds `[service] listen`, runs until SIGINT/SIGTERM.
pub async fn serve(config: Config) -> anyhow::Result<()> {
    let listen = config.service.listen;
    let service = Service::open(config)?;
    let listener = TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    // The address actually bound (`listen = "127.0.0.1:0"` picks a free port).
    let bound = listener.local_addr().unwrap_or(listen);
    eprintln!("feedsift: serving on http://{bound}/ (Ctrl-C to stop)");
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
