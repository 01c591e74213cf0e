//! Why a write failed, and the one mapping from a failure to what the sender should do
//! ([`Class`]), from which both the HTTP status and the gRPC code are derived, following
//! the status semantics of DESIGN.md and `proto/peeper/v1/ingest.proto`.

use crate::auth::AuthError;
use crate::body::BodyError;
use crate::forward::ForwardError;
use crate::ratelimit::RateError;
use crate::scan::ScanError;
use crate::series_limit::SeriesLimitError;
use crate::store::StoreError;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use peeper_proto::codec::CodecError;

/// Seconds a sender should wait before retrying when the store is unavailable.
pub const RETRY_AFTER_SECS: u32 = 5;
/// Seconds to wait after the per-tenant series limit refused a batch.
pub const SERIES_RETRY_AFTER_SECS: u32 = 60;

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("unauthorized: {0}")]
    Auth(#[from] AuthError),
    #[error("forbidden: {0}")]
    Tenant(StoreError),
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
    Body(#[from] BodyError),
    #[error("{0}")]
    SeriesLimit(#[from] SeriesLimitError),
    #[error("{0}")]
    UnsupportedEncoding(CodecError),
    #[error("{0}")]
    Decompress(CodecError),
    #[error("{0}")]
    Scan(#[from] ScanError),
    #[error("{0}")]
    RateLimited(#[from] RateError),
    #[error("{0}")]
    Forward(#[from] ForwardError),
    #[error("the server is shutting down: reconnect and resend unanswered batches")]
    ShuttingDown,
}

/// What the sender should do, the one classification both transports map from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Permanent: drop the batch and count it (400 / INVALID_ARGUMENT).
    BadData,
    /// An encoding the server does not speak (415 / INVALID_ARGUMENT).
    UnsupportedEncoding,
    /// Keep the data, retry slowly (401 / UNAUTHENTICATED).
    Unauthenticated,
    /// Keep the data, retry slowly (403 / PERMISSION_DENIED).
    Forbidden,
    /// Split the batch (413 / OUT_OF_RANGE).
    TooLarge,
    /// Retry after the given seconds (429 / RESOURCE_EXHAUSTED).
    Throttled(u32),
    /// Retry after the given seconds (503 / UNAVAILABLE).
    Unavailable(u32),
    /// The body did not arrive in time: retry (408 / DEADLINE_EXCEEDED).
    Timeout,
}

impl Class {
    pub fn http_status(self) -> StatusCode {
        match self {
            Class::BadData => StatusCode::BAD_REQUEST,
            Class::UnsupportedEncoding => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Class::Unauthenticated => StatusCode::UNAUTHORIZED,
            Class::Forbidden => StatusCode::FORBIDDEN,
            Class::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Class::Throttled(_) => StatusCode::TOO_MANY_REQUESTS,
            Class::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Class::Timeout => StatusCode::REQUEST_TIMEOUT,
        }
    }

    pub fn grpc_code(self) -> tonic::Code {
        match self {
            Class::BadData | Class::UnsupportedEncoding => tonic::Code::InvalidArgument,
            Class::Unauthenticated => tonic::Code::Unauthenticated,
            Class::Forbidden => tonic::Code::PermissionDenied,
            Class::TooLarge => tonic::Code::OutOfRange,
            Class::Throttled(_) => tonic::Code::ResourceExhausted,
            Class::Unavailable(_) => tonic::Code::Unavailable,
            Class::Timeout => tonic::Code::DeadlineExceeded,
        }
    }

    /// `Retry-After` / `retry-after` seconds, when the server knows.
    pub fn retry_after(self) -> Option<u32> {
        match self {
            Class::Throttled(s) | Class::Unavailable(s) => Some(s),
            _ => None,
        }
    }
}

impl IngestError {
    /// The one mapping of failures to sender actions.
    pub fn class(&self) -> Class {
        match self {
            IngestError::Auth(AuthError::AddressNotAllowed { .. }) | IngestError::Tenant(_) => {
                Class::Forbidden
            }
            IngestError::Auth(_) => Class::Unauthenticated,
            IngestError::BodyTooLarge { .. } | IngestError::DecodedTooLarge { .. } => {
                Class::TooLarge
            }
            IngestError::BodyRead(_) | IngestError::Decompress(_) | IngestError::Scan(_) => {
                Class::BadData
            }
            IngestError::UnsupportedEncoding(_) => Class::UnsupportedEncoding,
            IngestError::RateLimited(RateError::Exceeded {
                retry_after_secs, ..
            }) => Class::Throttled(*retry_after_secs),
            IngestError::ShuttingDown => Class::Unavailable(1),
            IngestError::Body(BodyError::Read(_)) => Class::BadData,
            IngestError::Body(BodyError::Timeout(_)) => Class::Timeout,
            IngestError::Body(BodyError::ServerBusy { .. }) => Class::Unavailable(RETRY_AFTER_SECS),
            IngestError::Body(BodyError::TokenBusy { .. }) => Class::Throttled(1),
            IngestError::SeriesLimit(_) => Class::Throttled(SERIES_RETRY_AFTER_SECS),
            IngestError::Forward(e) => match e {
                ForwardError::Decode(_) | ForwardError::Rejected { .. } => Class::BadData,
                ForwardError::TooLarge { .. } => Class::TooLarge,
                ForwardError::Throttled { .. } => Class::Throttled(RETRY_AFTER_SECS),
                ForwardError::Client(_)
                | ForwardError::Unavailable { .. }
                | ForwardError::Timeout(_)
                | ForwardError::Connect(_) => Class::Unavailable(RETRY_AFTER_SECS),
            },
        }
    }

    /// The HTTP status (from [`Self::class`]).
    pub fn status(&self) -> StatusCode {
        self.class().http_status()
    }

    /// The gRPC status, with `retry-after` metadata when known (from [`Self::class`]).
    pub fn to_grpc_status(&self) -> tonic::Status {
        let class = self.class();
        let mut status = tonic::Status::new(class.grpc_code(), self.to_string());
        if let Some(secs) = class.retry_after() {
            status
                .metadata_mut()
                .insert("retry-after", tonic::metadata::MetadataValue::from(secs));
        }
        status
    }

    /// The `reason` label of `peeper_server_rejected_requests_total` for requests refused
    /// before forwarding; `None` for the store's answers (counted as forward errors).
    pub fn reject_reason(&self) -> Option<&'static str> {
        Some(match self {
            IngestError::Auth(e) => e.reason(),
            IngestError::Tenant(_) => "tenant_unmapped",
            IngestError::BodyTooLarge { .. } => "body_too_large",
            IngestError::DecodedTooLarge { .. } => "decoded_too_large",
            IngestError::BodyRead(_) => "body_read",
            IngestError::UnsupportedEncoding(_) => "unsupported_encoding",
            IngestError::Decompress(_) => "malformed",
            IngestError::Scan(e) => e.reason(),
            IngestError::RateLimited(_) => "rate_limited",
            IngestError::Body(BodyError::Read(_)) => "body_read",
            IngestError::Body(BodyError::Timeout(_)) => "body_timeout",
            IngestError::Body(BodyError::ServerBusy { .. }) => "server_busy",
            IngestError::Body(BodyError::TokenBusy { .. }) => "token_busy",
            IngestError::SeriesLimit(_) => "series_limit",
            IngestError::Forward(ForwardError::Decode(_)) => "malformed",
            IngestError::Forward(_) | IngestError::ShuttingDown => return None,
        })
    }
}

impl IntoResponse for IngestError {
    fn into_response(self) -> Response {
        let class = self.class();
        let mut response = (class.http_status(), format!("{self}\n")).into_response();
        let headers = response.headers_mut();
        if class == Class::Unauthenticated {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(secs) = class.retry_after() {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ratelimit::TokenId;

    #[test]
    fn both_transports_map_from_one_class() {
        let cases: Vec<(IngestError, u16, tonic::Code)> = vec![
            (
                IngestError::Auth(AuthError::Invalid),
                401,
                tonic::Code::Unauthenticated,
            ),
            (
                IngestError::Auth(AuthError::AddressNotAllowed {
                    addr: "10.0.0.1".parse().unwrap(),
                    id: TokenId::new("abcd0123"),
                }),
                403,
                tonic::Code::PermissionDenied,
            ),
            (
                IngestError::BodyTooLarge { limit: 1 },
                413,
                tonic::Code::OutOfRange,
            ),
            (
                IngestError::Scan(ScanError::TooManySeries { limit: 1 }),
                400,
                tonic::Code::InvalidArgument,
            ),
            (
                IngestError::Forward(ForwardError::Connect("x".into())),
                503,
                tonic::Code::Unavailable,
            ),
        ];
        for (error, http, grpc) in cases {
            assert_eq!(error.status().as_u16(), http, "{error}");
            assert_eq!(error.to_grpc_status().code(), grpc, "{error}");
        }
        let limited = IngestError::RateLimited(RateError::Exceeded {
            id: TokenId::new("abcd0123"),
            rate: 10,
            setting: "limits.max_samples_per_second_per_token",
            retry_after_secs: 3,
        });
        assert_eq!(limited.status().as_u16(), 429);
        let status = limited.to_grpc_status();
        assert_eq!(status.code(), tonic::Code::ResourceExhausted);
        assert_eq!(status.metadata().get("retry-after").unwrap(), "3");
        let response = limited.into_response();
        assert_eq!(response.headers()[header::RETRY_AFTER], "3");
    }
}
