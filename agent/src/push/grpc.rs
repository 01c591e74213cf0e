//! The gRPC transport (`--transport grpc`): the `peeper.v1.Ingest/Write` call carrying the
//! same compressed remote-write body as HTTPS, with the token in metadata, answered after the
//! store accepted it. Status codes map to the same actions as HTTP (`peeper_proto::status`).

use super::{PushError, SendOutcome};
use crate::config::PushConfig;
use bytes::Bytes;
use peeper_proto::status::{RETRY_AFTER, classify_grpc, parse_retry_after};
use peeper_proto::v1::ingest_client::IngestClient;
use peeper_proto::v1::{Compression, WriteBatch};
use std::time::Duration;
use tonic::Code;
use tonic::codegen::http::uri::InvalidUri;
use tonic::metadata::MetadataValue;
use tonic::transport::{Channel, Endpoint, Uri};

#[derive(Clone)]
pub struct GrpcSender {
    client: IngestClient<Channel>,
    authorization: Option<MetadataValue<tonic::metadata::Ascii>>,
}

/// Never shows the token.
impl std::fmt::Debug for GrpcSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GrpcSender")
            .field(
                "authorization",
                &self.authorization.as_ref().map(|_| "<redacted>"),
            )
            .finish_non_exhaustive()
    }
}

impl GrpcSender {
    pub fn try_new(config: &PushConfig) -> Result<Self, PushError> {
        let origin = origin(&config.write_url);
        let invalid = |detail: String| PushError::Grpc(format!("server URL {origin}: {detail}"));
        let endpoint = |uri: String| {
            Endpoint::from_shared(uri)
                .map_err(|e| invalid(e.to_string()))
                .map(|endpoint| {
                    endpoint
                        .connect_timeout(Duration::from_secs(10))
                        .timeout(Duration::from_secs(30))
                        .http2_keep_alive_interval(Duration::from_secs(30))
                })
        };
        // Connects on first use, so an agent starts while the server is away.
        let channel = match origin.strip_prefix("https://") {
            // The agent's own rustls client (see crate::tls), through a connector: tonic's
            // TLS cannot take a custom verifier. The endpoint is `http://` so that tonic adds
            // no TLS of its own; the requests still say `https://`.
            Some(authority) => {
                let tls =
                    crate::tls::client_config(config.ca_file.as_deref(), crate::tls::ALPN_GRPC)
                        .map_err(super::ca_file_error)?;
                let https: Uri = origin
                    .parse()
                    .map_err(|e: InvalidUri| invalid(e.to_string()))?;
                endpoint(format!("http://{authority}"))?
                    .origin(https)
                    .connect_with_connector_lazy(crate::tls::GrpcConnector::new(tls))
            }
            None => endpoint(origin.clone())?.connect_lazy(),
        };
        let authorization = match &config.token {
            Some(token) => Some(format!("Bearer {token}").parse().map_err(|_| {
                PushError::Grpc("the token holds characters not allowed in gRPC metadata".into())
            })?),
            None => None,
        };
        Ok(GrpcSender {
            client: IngestClient::new(channel),
            authorization,
        })
    }

    pub async fn send(&self, body: &Bytes) -> SendOutcome {
        let mut request = tonic::Request::new(WriteBatch {
            body: body.clone(),
            compression: Compression::Snappy as i32,
            sequence: 0,
        });
        if let Some(auth) = &self.authorization {
            request.metadata_mut().insert("authorization", auth.clone());
        }
        match self.client.clone().write(request).await {
            Ok(_) => SendOutcome::Accepted,
            Err(status) => classify(&status),
        }
    }
}

/// Maps a gRPC status to what the sender does next (the contract's gRPC reading).
pub fn classify(status: &tonic::Status) -> SendOutcome {
    let after = status
        .metadata()
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_retry_after);
    let detail = || format!("{:?}: {}", status.code(), status.message());
    // tonic reports connection failures as UNAVAILABLE with the I/O error as source: the
    // server never answered, so the retry is counted as network trouble.
    let unreachable =
        status.code() == Code::Unavailable && std::error::Error::source(status).is_some();
    match super::outcome(classify_grpc(status.code(), after), detail) {
        SendOutcome::Retry { detail, after, .. } if unreachable => SendOutcome::Retry {
            reason: "network",
            detail,
            after,
        },
        outcome => outcome,
    }
}

/// `https://host:port` of a write URL: gRPC addresses the server, not a path.
fn origin(url: &str) -> String {
    let scheme_end = url.find("://").map_or(0, |i| i + 3);
    match url[scheme_end..].find('/') {
        Some(slash) => url[..scheme_end + slash].to_owned(),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_drops_the_path() {
        assert_eq!(
            origin("https://p.example.com:443/api/v1/write"),
            "https://p.example.com:443"
        );
        assert_eq!(origin("http://127.0.0.1:8480"), "http://127.0.0.1:8480");
    }

    #[test]
    fn codes_map_to_actions() {
        let status = |code| tonic::Status::new(code, "x");
        assert!(matches!(
            classify(&status(Code::InvalidArgument)),
            SendOutcome::Rejected(_)
        ));
        assert!(matches!(
            classify(&status(Code::Unauthenticated)),
            SendOutcome::AuthFailed(_)
        ));
        assert!(matches!(
            classify(&status(Code::PermissionDenied)),
            SendOutcome::AuthFailed(_)
        ));
        assert_eq!(classify(&status(Code::OutOfRange)), SendOutcome::TooLarge);
        let mut throttled = status(Code::ResourceExhausted);
        throttled
            .metadata_mut()
            .insert("retry-after", "7".parse().unwrap());
        assert_eq!(
            classify(&throttled),
            SendOutcome::Retry {
                reason: "throttled",
                detail: "ResourceExhausted: x".into(),
                after: Some(Duration::from_secs(7)),
            }
        );
        assert!(matches!(
            classify(&status(Code::Unavailable)),
            SendOutcome::Retry { .. }
        ));
        assert!(matches!(
            classify(&status(Code::Internal)),
            SendOutcome::Retry {
                reason: "server_error",
                ..
            }
        ));
    }
}
