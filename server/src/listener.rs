//! The ingest listener's connections: admission under the connection caps, the TLS
//! handshake (bounded in time), HTTP/1.1 and HTTP/2 on one port (hyper-util's auto builder,
//! streams per connection bounded), connections closed when they send no request for too
//! long, and graceful shutdown that finishes in-flight requests.

use crate::config::Limits;
use crate::conn::{Activity, Connections};
use crate::ingest::PeerAddr;
use crate::metrics::Metrics;
use crate::net::TrustedProxies;
use crate::sampling::Throttled;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use std::net::SocketAddr;
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
/// How long a connection being closed for idleness may take to go.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);
/// At most one log line per this about refused connections and failed accepts.
const LOG_EVERY: Duration = Duration::from_secs(10);

/// What every connection of the listener shares.
#[derive(Clone)]
pub struct Shared {
    pub tls: Option<TlsAcceptor>,
    pub app: axum::Router,
    pub connections: Arc<Connections>,
    pub trusted: TrustedProxies,
    pub limits: Limits,
    pub metrics: Arc<Metrics>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("tls", &self.tls.is_some())
            .field("trusted", &self.trusted)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

/// Accepts until shutdown, then lets connections finish for up to [`DRAIN_TIMEOUT`].
pub async fn accept_loop(
    listener: TcpListener,
    shared: Shared,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut tasks = JoinSet::new();
    let refused_log = Throttled::new(LOG_EVERY);
    let accept_log = Throttled::new(LOG_EVERY);
    loop {
        tokio::select! {
            _ = stopped(&mut shutdown) => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => match shared.connections.admit(peer.ip()) {
                    Ok(guard) => {
                        let shared = shared.clone();
                        let shutdown = shutdown.clone();
                        tasks.spawn(async move {
                            connection(stream, peer, shared, shutdown).await;
                            drop(guard);
                        });
                    }
                    Err(refusal) => {
                        shared.metrics.connection_refused(refusal.reason());
                        if let Some(unsaid) = refused_log.allow() {
                            tracing::warn!(
                                %peer,
                                reason = refusal.reason(),
                                open = shared.connections.open(),
                                more_since_last_line = unsaid,
                                "connection refused: over limits.{} (see README, Limits and timeouts)",
                                refusal.reason()
                            );
                        }
                    }
                },
                Err(e) => {
                    // Usually out of file descriptors: back off instead of spinning.
                    if let Some(unsaid) = accept_log.allow() {
                        tracing::warn!(more_since_last_line = unsaid, "accept failed: {e}");
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
        }
    }
    drop(listener);
    tracing::info!(
        connections = tasks.len(),
        "shutting down: finishing in-flight requests"
    );
    let drained = tokio::time::timeout(DRAIN_TIMEOUT, async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!("connections still open after {DRAIN_TIMEOUT:?}; closing them");
        tasks.abort_all();
    }
}

async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    shared: Shared,
    shutdown: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    match shared.tls.clone() {
        Some(acceptor) => {
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                Ok(Ok(stream)) => serve(TokioIo::new(stream), peer, shared, shutdown).await,
                Ok(Err(e)) => tracing::debug!(%peer, "TLS handshake failed: {e}"),
                Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
            }
        }
        None => serve(TokioIo::new(stream), peer, shared, shutdown).await,
    }
}

async fn serve<I>(io: I, peer: SocketAddr, shared: Shared, mut shutdown: watch::Receiver<bool>)
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let limits = shared.limits;
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(30));
    // A trusted proxy multiplexes many agents over one HTTP/2 connection.
    let streams = if shared.trusted.is_trusted(peer.ip()) {
        limits.max_streams_per_proxy_connection
    } else {
        limits.max_streams_per_connection
    };
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(streams);
    let activity = Arc::new(Activity::default());
    let requests = Arc::clone(&activity);
    let app = shared.app.clone();
    // Every request learns its TCP peer (client address, allow lists) and counts as activity.
    let service =
        hyper::service::service_fn(move |mut request: hyper::Request<hyper::body::Incoming>| {
            request.extensions_mut().insert(PeerAddr(peer));
            let running = requests.begin();
            let call = tower_service::Service::call(&mut app.clone(), request);
            async move {
                // The request runs until its answer is sent (a gRPC stream's is long).
                let response = call.await?;
                Ok::<_, std::convert::Infallible>(response.map(|body| {
                    axum::body::Body::new(Held {
                        body,
                        _running: running,
                    })
                }))
            }
        });
    let conn = builder.serve_connection(io, service);
    tokio::pin!(conn);
    let first_request = Duration::from_secs(limits.first_request_timeout_secs);
    let idle = Duration::from_secs(limits.idle_timeout_secs);
    let result = loop {
        // While a request runs there is no deadline; check again a little later.
        let deadline = activity
            .deadline(first_request, idle)
            .unwrap_or_else(|| std::time::Instant::now() + Duration::from_secs(1));
        tokio::select! {
            result = conn.as_mut() => break result,
            _ = stopped(&mut shutdown) => {
                conn.as_mut().graceful_shutdown();
                break conn.await;
            }
            _ = tokio::time::sleep_until(deadline.into()) => {
                if activity.deadline(first_request, idle).is_some_and(|d| d <= std::time::Instant::now()) {
                    tracing::debug!(%peer, "closing a connection that sent no request in time");
                    shared.metrics.connection_closed_idle();
                    conn.as_mut().graceful_shutdown();
                    break tokio::time::timeout(CLOSE_TIMEOUT, conn.as_mut())
                        .await
                        .unwrap_or(Ok(()));
                }
            }
        }
    };
    if let Err(e) = result {
        tracing::debug!(%peer, "connection ended with an error: {e}");
    }
}

/// A response body that keeps its request counted as running until it is sent.
struct Held {
    body: axum::body::Body,
    _running: crate::conn::RequestGuard,
}

impl http_body::Body for Held {
    type Data = bytes::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<bytes::Bytes>, axum::Error>>> {
        std::pin::Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

/// Resolves once shutdown was requested (or the server handle is gone).
pub async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|stop| *stop).await;
}
