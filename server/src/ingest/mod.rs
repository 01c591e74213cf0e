//! The routes of the ingest listener: `POST /api/v1/write` (remote-write 1.0), the
//! `peeper.v1.Ingest` gRPC service (`/peeper.v1.Ingest/*`, served by tonic on the same
//! port) and `GET /health`; and of the metrics listener: `GET /metrics`.
//!
//! Both transports run the same [`pipeline`]; [`IngestError::answer`] is the one place that
//! maps failures to the answers of the status contract (`peeper_proto::status`).

mod decoded;
mod error;
mod gate;
mod grpc;
mod http;
mod pipeline;

pub use decoded::Decoded;
pub use error::{IngestError, RETRY_AFTER_SECS};
pub use grpc::GrpcIngest;
pub use pipeline::{Caller, PeerAddr, Validated, validate};

use crate::auth::TokenCache;
use crate::batcher::Batcher;
use crate::body::BodyBudget;
use crate::config::{ForwardMode, Limits};
use crate::liveness::Liveness;
use crate::metrics::Metrics;
use crate::net::TrustedProxies;
use crate::sampling::PerAddress;
use crate::series_limit::SeriesLimiter;
use crate::store::StoreUrl;
use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use peeper_proto::v1::ingest_server::IngestServer;
use std::sync::Arc;
use tokio::sync::watch;

/// Room for the `WriteBatch` fields around a body of `max_body_bytes`, so the body limit
/// itself is what refuses (and counts) an oversized gRPC batch.
const GRPC_ENVELOPE_BYTES: usize = 64;

/// Everything a request handler needs.
#[derive(Debug)]
pub struct AppState {
    pub tokens: TokenCache,
    /// Writes accepted batches to the store, small ones in groups.
    pub batcher: Batcher,
    /// Agents and checks seen in accepted batches.
    pub liveness: Arc<Liveness>,
    pub metrics: Arc<Metrics>,
    pub limits: Limits,
    pub forward_mode: ForwardMode,
    pub store: StoreUrl,
    pub trusted_proxies: TrustedProxies,
    /// Becomes `true` when the server shuts down: gRPC streams end cleanly.
    pub shutdown: watch::Receiver<bool>,
    /// Request-body bytes in flight, server-wide and per token.
    pub budget: Arc<BodyBudget>,
    /// Distinct series per tenant (`limits.max_series_per_tenant`).
    pub series: SeriesLimiter,
    /// Decompression and scanning of large bodies run on the blocking pool, this many at once.
    pub decode_slots: Arc<tokio::sync::Semaphore>,
    /// Refusals are logged once per client address per interval.
    pub refusals: PerAddress,
    /// Set when a batch reached the store, for the store flushes.
    pub stored: Arc<crate::flush::Dirty>,
}

/// The router of all routes, gRPC included.
pub fn router(state: Arc<AppState>) -> Router {
    let grpc = IngestServer::new(GrpcIngest::new(Arc::clone(&state)))
        .max_decoding_message_size(state.limits.max_body_bytes + GRPC_ENVELOPE_BYTES);
    Router::new()
        .route("/api/v1/write", post(http::write))
        .route("/health", get(|| async { "ok" }))
        .route_service(
            "/peeper.v1.Ingest/{*rest}",
            gate::GrpcGate::new(grpc, Arc::clone(&state)),
        )
        .layer(DefaultBodyLimit::disable())
        .with_state(state)
}

/// The router of the metrics listener: `GET /metrics` only.
pub fn metrics_router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .with_state(state)
}

async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.encode(),
    )
        .into_response()
}
