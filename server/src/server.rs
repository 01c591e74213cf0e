//! Starting the server: TLS material, tokens and the request state, the ingest listener
//! (`crate::listener`: HTTP/1.1 and HTTP/2 on one port, remote-write and gRPC), the
//! `/metrics` listener and the liveness loop; and stopping it gracefully (in-flight requests
//! finish, gRPC streams end with UNAVAILABLE after their current batch).

use crate::auth::TokenCache;
use crate::batcher::Batcher;
use crate::body::BodyBudget;
use crate::config::ServerConfig;
use crate::conn::{self, Connections};
use crate::flush;
use crate::forward::{ForwardError, Forwarder};
use crate::ingest::{self, AppState};
use crate::listener::{self, stopped};
use crate::liveness::{self, Liveness, StoreClient};
use crate::metrics::Metrics;
use crate::reload::Reloader;
use crate::sampling::PerAddress;
use crate::series_limit::SeriesLimiter;
use crate::tls::CertStore;
use crate::tokens::TokenError;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// At most one log line per client address per this, for refused writes.
const REFUSAL_LOG_EVERY: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("cannot read the TLS certificate chain {path}: {message}")]
    TlsCert { path: PathBuf, message: String },
    #[error("cannot read the TLS private key {path}: {message}")]
    TlsKey { path: PathBuf, message: String },
    #[error("cannot set up TLS: {0}")]
    TlsSetup(String),
    #[error("cannot use the TLS certificate {cert} with key {key}: {message}")]
    TlsConfig {
        cert: PathBuf,
        key: PathBuf,
        message: String,
    },
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error(transparent)]
    Tokens(#[from] TokenError),
    #[error(transparent)]
    Forward(#[from] ForwardError),
}

/// A server that is accepting connections.
#[derive(Debug)]
pub struct RunningServer {
    local_addr: SocketAddr,
    metrics_addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
    reloader: Reloader,
}

impl RunningServer {
    /// The bound address (with the real port when the config said port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The bound address of the server's own `/metrics` (plain HTTP).
    pub fn metrics_addr(&self) -> SocketAddr {
        self.metrics_addr
    }

    /// Applies a configuration read again on SIGHUP (or the reason it could not be read):
    /// see [`crate::reload`]. True when applied.
    pub fn reload(&mut self, next: Result<ServerConfig, String>) -> bool {
        self.reloader.apply(next)
    }

    /// Stops accepting, lets in-flight requests finish (up to 30 s), then returns.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        let _ = self.task.await;
    }
}

/// Loads TLS material and tokens, binds the listener and starts serving in the background.
pub async fn start(config: ServerConfig) -> Result<RunningServer, ServerError> {
    // Idempotent: the binary installs it first thing; embedders (tests) may not have.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let certs = config.tls().map(CertStore::load).transpose()?;
    let tls = certs.as_ref().map(CertStore::acceptor).transpose()?;
    let (shutdown, watch_rx) = watch::channel(false);
    let metrics = Arc::new(Metrics::new());
    let forwarder = Forwarder::new(config.forward_timeout())?;
    let liveness = Arc::new(Liveness::new(config.liveness().clone()));
    let state = Arc::new(app_state(
        &config,
        forwarder.clone(),
        Arc::clone(&liveness),
        Arc::clone(&metrics),
        watch_rx.clone(),
    )?);
    let listener =
        TcpListener::bind(config.listen())
            .await
            .map_err(|source| ServerError::Bind {
                addr: config.listen(),
                source,
            })?;
    let local_addr = listener.local_addr().map_err(|source| ServerError::Bind {
        addr: config.listen(),
        source,
    })?;
    let connections = connections(&config);
    tracing::info!(
        %local_addr,
        tls = tls.is_some(),
        store = %config.store(),
        mode = ?config.forward_mode(),
        max_connections = connections.max(),
        trusted_proxies = ?config.trusted_proxies().blocks().iter().map(ToString::to_string).collect::<Vec<_>>(),
        "peeper-server listening (remote-write and gRPC)"
    );
    start_liveness(
        &config,
        liveness,
        forwarder,
        Arc::clone(&metrics),
        &watch_rx,
    );
    if let (Some(every), Some(url)) = (config.store_flush(), flush::flush_url(config.store())) {
        let dirty = Arc::clone(&state.stored);
        tokio::spawn(flush::run(url, every, dirty, watch_rx.clone()));
    }
    let metrics_addr = serve_metrics(
        config.metrics_listen(),
        ingest::metrics_router(Arc::clone(&state)),
        watch_rx.clone(),
    )
    .await?;
    let shared = listener::Shared {
        tls,
        app: ingest::router(state),
        connections,
        trusted: config.trusted_proxies().clone(),
        limits: *config.limits(),
        metrics: Arc::clone(&metrics),
    };
    let task = tokio::spawn(listener::accept_loop(listener, shared, watch_rx));
    Ok(RunningServer {
        local_addr,
        metrics_addr,
        shutdown,
        task,
        reloader: Reloader::new(config, certs, metrics),
    })
}

/// Everything a request handler needs, from the config.
fn app_state(
    config: &ServerConfig,
    forwarder: Forwarder,
    liveness: Arc<Liveness>,
    metrics: Arc<Metrics>,
    shutdown: watch::Receiver<bool>,
) -> Result<AppState, ServerError> {
    let limits = *config.limits();
    let tokens = TokenCache::load_with_limits(config.data_dir(), &limits)?;
    if tokens.is_empty() {
        tracing::warn!(
            data_dir = %config.data_dir().display(),
            "no tokens yet, every write is refused: create one with `peeper-server token create --tenant NAME`"
        );
    }
    Ok(AppState {
        tokens,
        batcher: Batcher::new(forwarder, config.store_batch_window(), Arc::clone(&metrics)),
        liveness,
        metrics,
        limits,
        forward_mode: config.forward_mode(),
        store: config.store().clone(),
        trusted_proxies: config.trusted_proxies().clone(),
        shutdown,
        budget: BodyBudget::new(
            limits.max_inflight_body_bytes,
            limits.max_inflight_body_bytes_per_token,
        ),
        series: SeriesLimiter::new(
            limits.max_series_per_tenant,
            Duration::from_secs(limits.series_window_secs),
        ),
        decode_slots: Arc::new(tokio::sync::Semaphore::new(
            std::thread::available_parallelism().map_or(2, |n| n.get()),
        )),
        refusals: PerAddress::new(REFUSAL_LOG_EVERY),
        stored: Arc::default(),
    })
}

/// The connection caps: the configured ones, kept under the open-file limit (raised to its
/// hard limit first).
fn connections(config: &ServerConfig) -> Arc<Connections> {
    let limits = config.limits();
    let files = conn::raise_open_file_limit();
    let max = conn::connection_cap(limits.max_connections, files);
    if limits.max_connections > max {
        tracing::warn!(
            configured = limits.max_connections,
            open_file_limit = files,
            "limits.max_connections is above what the open-file limit allows: using {max}; raise LimitNOFILE"
        );
    }
    Connections::new(
        max,
        limits.max_connections_per_address,
        config.trusted_proxies().clone(),
    )
}

fn start_liveness(
    config: &ServerConfig,
    liveness: Arc<Liveness>,
    forwarder: Forwarder,
    metrics: Arc<Metrics>,
    shutdown: &watch::Receiver<bool>,
) {
    let client = StoreClient::new(
        config.liveness(),
        config.store(),
        config.forward_mode(),
        forwarder,
    );
    match client {
        Some(client) => {
            tracing::info!(
                sync_interval = ?config.liveness().sync_interval,
                "liveness tracking on: silent agents and overdue checks are written to the store"
            );
            tokio::spawn(liveness::run(liveness, client, metrics, shutdown.clone()));
        }
        None => tracing::warn!(
            "liveness tracking is off: silent agents and overdue checks raise no alert"
        ),
    }
}

/// Serves `/metrics` on its own plain-HTTP listener until shutdown; returns the bound address.
async fn serve_metrics(
    addr: SocketAddr,
    app: axum::Router,
    mut shutdown: watch::Receiver<bool>,
) -> Result<SocketAddr, ServerError> {
    let bind_error = |source| ServerError::Bind { addr, source };
    let listener = TcpListener::bind(addr).await.map_err(bind_error)?;
    let bound = listener.local_addr().map_err(bind_error)?;
    tracing::info!(%bound, "serving /metrics");
    tokio::spawn(async move {
        let stop = async move { stopped(&mut shutdown).await };
        if let Err(e) = axum::serve(listener, app)
            .with_graceful_shutdown(stop)
            .await
        {
            tracing::warn!("the metrics listener stopped: {e}");
        }
    });
    Ok(bound)
}

/// Resolves on SIGTERM or SIGINT.
pub async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
