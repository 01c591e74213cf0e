//! The HTTP routes: `POST /api/v1/write` (remote-write 1.0), `GET /health`, `GET /metrics`.
//!
//! The write path: authenticate, read the body (bounded), check the declared decoded size
//! before allocating, decompress, [`scan`](crate::scan) without allocating per label,
//! [`prepare`](crate::forward::prepare) the forward body, and answer only after the store
//! did. [`IngestError::status`] is the one place that maps failures to HTTP statuses.

use crate::auth::{AuthError, TokenCache};
use crate::config::{ForwardMode, Limits};
use crate::forward::{self, ForwardError, Forwarder};
use crate::metrics::{CodeLabels, KindLabels, Metrics, TenantLabels};
use crate::scan::{self, ScanError};
use axum::Router;
use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use peeper_proto::codec::{self, CodecError, Encoding};
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// Seconds a sender should wait before retrying when the store is unavailable.
pub const RETRY_AFTER_SECS: u32 = 5;

/// Everything a request handler needs.
#[derive(Debug)]
pub struct AppState {
    pub tokens: TokenCache,
    pub forwarder: Forwarder,
    pub metrics: Metrics,
    pub limits: Limits,
    pub forward_mode: ForwardMode,
    pub remote_write_url: reqwest::Url,
}

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("unauthorized: {0}")]
    Auth(#[from] AuthError),
    #[error("request body is larger than {limit} bytes (limits.max_body_bytes): split the batch")]
    BodyTooLarge { limit: usize },
    #[error(
        "decoded body would be {declared} bytes, over the limit of {limit} bytes \
         (limits.max_decoded_bytes): split the batch"
    )]
    DecodedTooLarge { declared: u64, limit: usize },
    #[error("cannot read the request body: {0}")]
    BodyRead(String),
    #[error("{0}")]
    UnsupportedEncoding(CodecError),
    #[error("{0}")]
    Decompress(CodecError),
    #[error("{0}")]
    Scan(#[from] ScanError),
    #[error("{0}")]
    Forward(#[from] ForwardError),
}

impl IngestError {
    /// The HTTP status of every failure, following the status semantics of DESIGN.md:
    /// 400 permanent, 401 auth, 413 split, 429/503 retry later.
    pub fn status(&self) -> StatusCode {
        match self {
            IngestError::Auth(_) => StatusCode::UNAUTHORIZED,
            IngestError::BodyTooLarge { .. } | IngestError::DecodedTooLarge { .. } => {
                StatusCode::PAYLOAD_TOO_LARGE
            }
            IngestError::BodyRead(_) | IngestError::Decompress(_) | IngestError::Scan(_) => {
                StatusCode::BAD_REQUEST
            }
            IngestError::UnsupportedEncoding(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            IngestError::Forward(e) => match e {
                ForwardError::Decode(_) | ForwardError::Rejected { .. } => StatusCode::BAD_REQUEST,
                ForwardError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
                ForwardError::Throttled { .. } => StatusCode::TOO_MANY_REQUESTS,
                ForwardError::Client(_)
                | ForwardError::Unavailable { .. }
                | ForwardError::Timeout(_)
                | ForwardError::Connect(_) => StatusCode::SERVICE_UNAVAILABLE,
            },
        }
    }

    /// The `reason` label for requests refused before forwarding.
    fn reject_reason(&self) -> Option<&'static str> {
        Some(match self {
            IngestError::Auth(e) => e.reason(),
            IngestError::BodyTooLarge { .. } => "body_size",
            IngestError::DecodedTooLarge { .. } => "decoded_size",
            IngestError::BodyRead(_) => "body_read",
            IngestError::UnsupportedEncoding(_) => "unsupported_encoding",
            IngestError::Decompress(_) => "malformed",
            IngestError::Scan(e) => e.reason(),
            IngestError::Forward(ForwardError::Decode(_)) => "malformed",
            IngestError::Forward(_) => return None,
        })
    }
}

impl IntoResponse for IngestError {
    fn into_response(self) -> Response {
        let status = self.status();
        let mut response = (status, format!("{self}\n")).into_response();
        let headers = response.headers_mut();
        match status {
            StatusCode::UNAUTHORIZED => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            StatusCode::SERVICE_UNAVAILABLE | StatusCode::TOO_MANY_REQUESTS => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS));
            }
            _ => {}
        }
        response
    }
}

/// The router of all routes.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/api/v1/write", post(write))
        .route("/health", get(|| async { "ok" }))
        .route("/metrics", get(metrics))
        .layer(DefaultBodyLimit::disable())
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

async fn write(State(state): State<Arc<AppState>>, headers: HeaderMap, body: Body) -> Response {
    let response = match handle(&state, &headers, body).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => {
            if let Some(reason) = e.reject_reason() {
                state.metrics.reject(reason);
            }
            if let IngestError::Forward(f) = &e {
                state
                    .metrics
                    .forward_errors
                    .get_or_create(&KindLabels { kind: f.kind() })
                    .inc();
            }
            match e.status() {
                StatusCode::SERVICE_UNAVAILABLE => tracing::warn!("write refused: {e}"),
                _ => tracing::debug!("write refused: {e}"),
            }
            e.into_response()
        }
    };
    state
        .metrics
        .requests
        .get_or_create(&CodeLabels {
            code: response.status().as_u16(),
        })
        .inc();
    response
}

async fn handle(state: &AppState, headers: &HeaderMap, body: Body) -> Result<(), IngestError> {
    let credential = state.tokens.authenticate(
        headers
            .get(header::AUTHORIZATION)
            .map(HeaderValue::as_bytes),
    )?;
    let encoding_header = headers
        .get(header::CONTENT_ENCODING)
        .map(|v| v.to_str().unwrap_or("(not text)"));
    let encoding =
        Encoding::from_header(encoding_header).map_err(IngestError::UnsupportedEncoding)?;
    let limits = &state.limits;
    let original = read_body(body, headers, limits.max_body_bytes).await?;

    if encoding == Encoding::Snappy {
        // Refuse before allocating the decoded buffer.
        let declared = codec::snappy_declared_len(&original).map_err(IngestError::Decompress)?;
        if declared > limits.max_decoded_bytes {
            return Err(IngestError::DecodedTooLarge {
                declared: declared as u64,
                limit: limits.max_decoded_bytes,
            });
        }
    }
    let decoded =
        codec::decompress(&original, encoding, limits.max_decoded_bytes).map_err(|e| match e {
            CodecError::TooLarge { declared, limit } => {
                IngestError::DecodedTooLarge { declared, limit }
            }
            other => IngestError::Decompress(other),
        })?;
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    let summary = scan::scan(&decoded, limits, now_ms)?;
    if summary.series == 0 {
        return Ok(());
    }
    let prepared = forward::prepare(
        state.forward_mode,
        &state.remote_write_url,
        &credential.tenant,
        original,
        encoding,
        &decoded,
        &summary,
    )?;
    drop(decoded);

    let started = Instant::now();
    let result = state.forwarder.send(prepared).await;
    state
        .metrics
        .forward_duration
        .observe(started.elapsed().as_secs_f64());
    result?;
    let tenant = TenantLabels {
        tenant: credential.tenant.to_string(),
    };
    state
        .metrics
        .samples
        .get_or_create(&tenant)
        .inc_by(summary.samples as u64);
    state
        .metrics
        .series
        .get_or_create(&tenant)
        .inc_by(summary.series as u64);
    Ok(())
}

/// Reads the whole body, refusing as soon as it passes `limit` bytes.
async fn read_body(
    mut body: Body,
    headers: &HeaderMap,
    limit: usize,
) -> Result<Bytes, IngestError> {
    let too_large = IngestError::BodyTooLarge { limit };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large);
    }
    // One frame (the usual case over h2 and for small bodies) is kept without copying.
    let mut first: Option<Bytes> = None;
    let mut rest: Vec<u8> = Vec::new();
    let mut total = 0usize;
    while let Some(frame) =
        std::future::poll_fn(|cx| std::pin::Pin::new(&mut body).poll_frame(cx)).await
    {
        let frame = frame.map_err(|e| IngestError::BodyRead(e.to_string()))?;
        let Ok(data) = frame.into_data() else {
            continue; // trailers
        };
        total += data.len();
        if total > limit {
            return Err(too_large);
        }
        if first.is_none() && rest.is_empty() {
            first = Some(data);
            continue;
        }
        if let Some(head) = first.take() {
            let expected = declared.map_or(0, |n| n as usize);
            rest.reserve(expected.max(total));
            rest.extend_from_slice(&head);
        }
        rest.extend_from_slice(&data);
    }
    Ok(first.unwrap_or_else(|| Bytes::from(rest)))
}
