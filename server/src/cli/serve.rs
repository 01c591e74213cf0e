//! `peeper-server` without a command: serve until told to stop, reloading on SIGHUP.

use super::{Cli, CliError};
use crate::config::ServerConfig;
use crate::server;

/// Logs on stderr, the level from `RUST_LOG` (default `info`).
pub(super) fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

/// Serves until SIGTERM/SIGINT; every SIGHUP reads the config file (and the TLS files) again.
pub(super) fn serve(cli: &Cli, config: ServerConfig) -> Result<(), CliError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(config.worker_threads())
        .enable_all()
        .build()
        .map_err(CliError::Runtime)?;
    runtime.block_on(async {
        use tokio::signal::unix::{SignalKind, signal};
        let mut running = server::start(config).await?;
        let mut hangup = signal(SignalKind::hangup()).map_err(CliError::Runtime)?;
        let _ = sd_notify::notify(&[sd_notify::NotifyState::Ready]);
        let shutdown = server::shutdown_signal();
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                _ = &mut shutdown => break,
                _ = hangup.recv() => {
                    tracing::info!("SIGHUP: reading the configuration again");
                    let next = cli
                        .file()
                        .and_then(|file| ServerConfig::from_sources(cli.overrides(), file))
                        .map_err(|e| e.to_string());
                    running.reload(next);
                }
            }
        }
        let _ = sd_notify::notify(&[sd_notify::NotifyState::Stopping]);
        tracing::info!("signal received");
        running.shutdown().await;
        tracing::info!("stopped");
        Ok(())
    })
}
