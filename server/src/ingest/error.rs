//! Why a write failed, and the one mapping from a failure to the server's [`Answer`], the
//! status contract of `peeper_proto::status` (ARCHITECTURE.md, "The status contract"), from
//! which the HTTP status, the gRPC code and `Retry-After` all follow.

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
use peeper_proto::status::{Answer, RETRY_AFTER};

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

impl IngestError {
    /// The one mapping of failures to answers (and so to the sender's action).
    pub fn answer(&self) -> Answer {
        match self {
            IngestError::Auth(AuthError::AddressNotAllowed { .. }) | IngestError::Tenant(_) => {
                Answer::Forbidden
            }
            IngestError::Auth(_) => Answer::Unauthenticated,
            IngestError::BodyTooLarge { .. } | IngestError::DecodedTooLarge { .. } => {
                Answer::TooLarge
            }
            IngestError::BodyRead(_) | IngestError::Decompress(_) | IngestError::Scan(_) => {
                Answer::BadData
            }
            IngestError::UnsupportedEncoding(_) => Answer::UnsupportedEncoding,
            IngestError::RateLimited(RateError::Exceeded {
                retry_after_secs, ..
            }) => Answer::Throttled(*retry_after_secs),
            IngestError::ShuttingDown => Answer::Unavailable(1),
            IngestError::Body(BodyError::Read(_)) => Answer::BadData,
            IngestError::Body(BodyError::Timeout(_)) => Answer::Timeout,
            IngestError::Body(BodyError::ServerBusy { .. }) => {
                Answer::Unavailable(RETRY_AFTER_SECS)
            }
            IngestError::Body(BodyError::TokenBusy { .. }) => Answer::Throttled(1),
            IngestError::SeriesLimit(_) => Answer::Throttled(SERIES_RETRY_AFTER_SECS),
            IngestError::Forward(e) => match e {
                ForwardError::Decode(_) | ForwardError::Rejected { .. } => Answer::BadData,
                ForwardError::TooLarge { .. } => Answer::TooLarge,
                ForwardError::Throttled { .. } => Answer::Throttled(RETRY_AFTER_SECS),
                ForwardError::Client(_)
                | ForwardError::Unavailable { .. }
                | ForwardError::Timeout(_)
                | ForwardError::Connect(_) => Answer::Unavailable(RETRY_AFTER_SECS),
            },
        }
    }

    /// The HTTP status (from [`Self::answer`]).
    pub fn status(&self) -> StatusCode {
        http_status(self.answer())
    }

    /// The gRPC status, with `retry-after` metadata when known (from [`Self::answer`]).
    pub fn to_grpc_status(&self) -> tonic::Status {
        let answer = self.answer();
        let mut status = tonic::Status::new(answer.grpc_code(), self.to_string());
        if let Some(secs) = answer.retry_after() {
            status
                .metadata_mut()
                .insert(RETRY_AFTER, tonic::metadata::MetadataValue::from(secs));
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

/// An answer's HTTP status as axum's type.
pub fn http_status(answer: Answer) -> StatusCode {
    StatusCode::from_u16(answer.http_status()).expect("the contract's statuses are valid")
}

impl IntoResponse for IngestError {
    fn into_response(self) -> Response {
        let answer = self.answer();
        let mut response = (http_status(answer), format!("{self}\n")).into_response();
        let headers = response.headers_mut();
        if answer == Answer::Unauthenticated {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(secs) = answer.retry_after() {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ratelimit::TokenId;
    use peeper_proto::status::{
        RetryReason, SenderAction, classify_grpc, classify_http, parse_retry_after,
    };
    use std::time::Duration;

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

    /// One error of every kind, with the action its sender must take.
    fn every_error() -> Vec<(IngestError, SenderAction)> {
        let retry = |reason, secs: Option<u64>| SenderAction::Retry {
            reason,
            after: secs.map(Duration::from_secs),
        };
        let throttled = |secs| retry(RetryReason::Throttled, Some(secs));
        let unavailable = |secs| retry(RetryReason::ServerError, Some(secs));
        let store = |status| ForwardError::Unavailable {
            status,
            message: "x".into(),
        };
        let decode_error =
            <peeper_proto::prometheus::WriteRequest as prost::Message>::decode(&[0xff, 0xff][..])
                .unwrap_err();
        let mut cases = vec![
            (
                IngestError::Auth(AuthError::Missing),
                SenderAction::RetryAuth,
            ),
            (
                IngestError::Auth(AuthError::NotBearer),
                SenderAction::RetryAuth,
            ),
            (
                IngestError::Auth(AuthError::Malformed),
                SenderAction::RetryAuth,
            ),
            (
                IngestError::Auth(AuthError::Invalid),
                SenderAction::RetryAuth,
            ),
            (
                IngestError::Auth(AuthError::AddressNotAllowed {
                    addr: "10.0.0.1".parse().unwrap(),
                    id: TokenId::new("abcd0123"),
                }),
                SenderAction::RetryAuth,
            ),
            (
                IngestError::Tenant(StoreError::Unmapped { tenant: "t".into() }),
                SenderAction::RetryAuth,
            ),
            (IngestError::BodyTooLarge { limit: 1 }, SenderAction::Split),
            (
                IngestError::DecodedTooLarge {
                    declared: 2,
                    limit: 1,
                },
                SenderAction::Split,
            ),
            (IngestError::BodyRead("x".into()), SenderAction::Drop),
            (
                IngestError::Body(BodyError::Read("x".into())),
                SenderAction::Drop,
            ),
            (
                IngestError::Body(BodyError::Timeout(Duration::from_secs(30))),
                retry(RetryReason::ServerError, None),
            ),
            (
                IngestError::Body(BodyError::ServerBusy { limit: 1 }),
                unavailable(RETRY_AFTER_SECS as u64),
            ),
            (
                IngestError::Body(BodyError::TokenBusy { limit: 1 }),
                throttled(1),
            ),
            (
                IngestError::SeriesLimit(SeriesLimitError {
                    tenant: "t".into(),
                    limit: 1,
                    window_secs: 60,
                    new: 2,
                }),
                throttled(SERIES_RETRY_AFTER_SECS as u64),
            ),
            (
                IngestError::UnsupportedEncoding(CodecError::UnsupportedEncoding("br".into())),
                SenderAction::Drop,
            ),
            (
                IngestError::Decompress(CodecError::Snappy("x".into())),
                SenderAction::Drop,
            ),
            (
                IngestError::Scan(ScanError::TooManySeries { limit: 1 }),
                SenderAction::Drop,
            ),
            (
                IngestError::RateLimited(RateError::Exceeded {
                    id: TokenId::new("abcd0123"),
                    rate: 10,
                    setting: "limits.max_samples_per_second_per_token",
                    retry_after_secs: 3,
                }),
                throttled(3),
            ),
            (IngestError::ShuttingDown, unavailable(1)),
        ];
        let forward = [
            (ForwardError::Client("x".into()), unavailable(5)),
            (ForwardError::Decode(decode_error), SenderAction::Drop),
            (
                ForwardError::Rejected {
                    status: 400,
                    message: "x".into(),
                },
                SenderAction::Drop,
            ),
            (
                ForwardError::TooLarge {
                    message: "x".into(),
                },
                SenderAction::Split,
            ),
            (
                ForwardError::Throttled {
                    message: "x".into(),
                },
                throttled(5),
            ),
            (store(500), unavailable(5)),
            (
                ForwardError::Timeout(Duration::from_secs(1)),
                unavailable(5),
            ),
            (ForwardError::Connect("x".into()), unavailable(5)),
        ];
        cases.extend(forward.map(|(e, action)| (IngestError::Forward(e), action)));
        cases
    }

    /// Whatever a server error is, a sender reading the answer through the contract's
    /// classification does what was intended, over HTTP and over gRPC alike.
    #[test]
    fn every_error_gives_its_sender_the_intended_action() {
        for (error, intended) in every_error() {
            let name = error.to_string();
            let grpc = error.to_grpc_status();
            let grpc_after = grpc
                .metadata()
                .get(RETRY_AFTER)
                .and_then(|v| parse_retry_after(v.to_str().unwrap()));
            assert_eq!(
                classify_grpc(grpc.code(), grpc_after),
                intended,
                "gRPC: {name}"
            );
            let response = error.into_response();
            let http_after = response
                .headers()
                .get(header::RETRY_AFTER)
                .and_then(|v| parse_retry_after(v.to_str().unwrap()));
            assert_eq!(
                classify_http(response.status().as_u16(), http_after),
                intended,
                "HTTP: {name}"
            );
        }
    }
}
