//! The listener: one TCP socket speaking HTTP/1.1 and HTTP/2 (ALPN `h2`/`http/1.1` over
//! TLS, prior-knowledge h2c in plaintext), serving the axum router (remote-write and the
//! gRPC service) through hyper-util's auto builder, with graceful shutdown that finishes
//! in-flight requests and ends gRPC streams with UNAVAILABLE after their current batch.

use crate::auth::TokenCache;
use crate::config::{ServerConfig, TlsPaths};
use crate::forward::{ForwardError, Forwarder};
use crate::ingest::{self, AppState, PeerAddr};
use crate::liveness::{self, Liveness, StoreClient};
use crate::metrics::Metrics;
use crate::tokens::TokenError;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

/// How long a TLS handshake may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long shutdown waits for in-flight requests.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("cannot read the TLS certificate chain {path}: {message}")]
    TlsCert { path: PathBuf, message: String },
    #[error("cannot read the TLS private key {path}: {message}")]
    TlsKey { path: PathBuf, message: String },
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
    let tls = config.tls().map(tls_acceptor).transpose()?;
    let tokens = TokenCache::load_with_limits(config.data_dir(), config.limits())?;
    if tokens.is_empty() {
        tracing::warn!(
            data_dir = %config.data_dir().display(),
            "no tokens yet, every write is refused: create one with `peeper-server token create --tenant NAME`"
        );
    }
    let forwarder = Forwarder::new(config.forward_timeout())?;
    let (shutdown, watch_rx) = watch::channel(false);
    let metrics = Arc::new(Metrics::new());
    let liveness = Arc::new(Liveness::new(config.liveness().clone()));
    let liveness_client = StoreClient::new(
        config.liveness(),
        config.store(),
        config.forward_mode(),
        forwarder.clone(),
    );
    let state = Arc::new(AppState {
        tokens,
        forwarder,
        liveness: Arc::clone(&liveness),
        metrics: Arc::clone(&metrics),
        limits: *config.limits(),
        forward_mode: config.forward_mode(),
        store: config.store().clone(),
        trusted_proxies: config.trusted_proxies().clone(),
        shutdown: watch_rx.clone(),
    });
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
    tracing::info!(
        %local_addr,
        tls = tls.is_some(),
        store = %config.store(),
        mode = ?config.forward_mode(),
        trusted_proxies = ?config.trusted_proxies().blocks().iter().map(ToString::to_string).collect::<Vec<_>>(),
        "peeper-server listening (remote-write and gRPC)"
    );
    match liveness_client {
        Some(client) => {
            tracing::info!(
                sync_interval = ?config.liveness().sync_interval,
                "liveness tracking on: silent agents and overdue checks are written to the store"
            );
            tokio::spawn(liveness::run(liveness, client, metrics, watch_rx.clone()));
        }
        None => tracing::warn!(
            "liveness tracking is off: silent agents and overdue checks raise no alert"
        ),
    }
    let metrics_addr = serve_metrics(
        config.metrics_listen(),
        ingest::metrics_router(Arc::clone(&state)),
        watch_rx.clone(),
    )
    .await?;
    let app = ingest::router(state);
    let task = tokio::spawn(accept_loop(listener, tls, app, watch_rx));
    Ok(RunningServer {
        local_addr,
        metrics_addr,
        shutdown,
        task,
    })
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

fn tls_acceptor(paths: &TlsPaths) -> Result<TlsAcceptor, ServerError> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&paths.cert)
        .and_then(|iter| iter.collect())
        .map_err(|e| ServerError::TlsCert {
            path: paths.cert.clone(),
            message: e.to_string(),
        })?;
    if certs.is_empty() {
        return Err(ServerError::TlsCert {
            path: paths.cert.clone(),
            message: "no CERTIFICATE block in the file".to_owned(),
        });
    }
    let key = PrivateKeyDer::from_pem_file(&paths.key).map_err(|e| ServerError::TlsKey {
        path: paths.key.clone(),
        message: e.to_string(),
    })?;
    let config_error = |e: rustls::Error| ServerError::TlsConfig {
        cert: paths.cert.clone(),
        key: paths.key.clone(),
        message: e.to_string(),
    };
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(config_error)?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(config_error)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

async fn accept_loop(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    app: axum::Router,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            _ = stopped(&mut shutdown) => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    connections.spawn(connection(stream, peer, tls.clone(), app.clone(), shutdown.clone()));
                }
                Err(e) => {
                    // Usually out of file descriptors: back off instead of spinning.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    tracing::info!(
        connections = connections.len(),
        "shutting down: finishing in-flight requests"
    );
    let drained = tokio::time::timeout(DRAIN_TIMEOUT, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!("connections still open after {DRAIN_TIMEOUT:?}; closing them");
        connections.abort_all();
    }
}

async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    tls: Option<TlsAcceptor>,
    app: axum::Router,
    shutdown: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    match tls {
        Some(acceptor) => {
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                Ok(Ok(stream)) => serve(TokioIo::new(stream), peer, app, shutdown).await,
                Ok(Err(e)) => tracing::debug!(%peer, "TLS handshake failed: {e}"),
                Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
            }
        }
        None => serve(TokioIo::new(stream), peer, app, shutdown).await,
    }
}

async fn serve<I>(io: I, peer: SocketAddr, app: axum::Router, mut shutdown: watch::Receiver<bool>)
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(30));
    builder.http2().timer(TokioTimer::new());
    // Every request learns its TCP peer, for the client address and allow lists.
    let service =
        hyper::service::service_fn(move |mut request: hyper::Request<hyper::body::Incoming>| {
            request.extensions_mut().insert(PeerAddr(peer));
            tower_service::Service::call(&mut app.clone(), request)
        });
    let conn = builder.serve_connection(io, service);
    tokio::pin!(conn);
    let result = tokio::select! {
        result = conn.as_mut() => result,
        _ = stopped(&mut shutdown) => {
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(e) = result {
        tracing::debug!(%peer, "connection ended with an error: {e}");
    }
}

/// Resolves once shutdown was requested (or the server handle is gone).
async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|stop| *stop).await;
}
