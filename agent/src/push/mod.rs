//! Delivery of batches to a remote-write receiver over HTTPS: the client, the reading of
//! the receiver's answer ([`SendOutcome`]), the bounded queue and the delivery loop.

mod backoff;
mod delivery;
pub mod disk;
mod grpc;
mod queue;

pub use backoff::{Backoff, random_fraction};
pub use delivery::{Delivery, DeliveryControl, DeliveryHandle};
pub use disk::{DiskQueue, QueueError};
pub use queue::{Batch, BatchQueue};

use crate::config::{PushConfig, Transport};
use bytes::Bytes;
use peeper_proto::status::{
    RETRY_AFTER, RetryReason, SenderAction, classify_http, parse_retry_after,
};
use reqwest::StatusCode;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum PushError {
    #[error("cannot read CA file {path}: {source}")]
    CaFile {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("CA file {0} holds no PEM certificate")]
    CaFileEmpty(std::path::PathBuf),
    #[error("cannot build the HTTPS client: {0}")]
    Client(#[from] reqwest::Error),
    #[error("cannot set up the gRPC transport: {0}")]
    Grpc(String),
}

/// What the receiver said about one batch, read through the status contract
/// (`peeper_proto::status`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendOutcome {
    /// 2xx: the store has it.
    Accepted,
    /// 400: the data itself is bad; resending cannot help. Drop and count.
    Rejected(String),
    /// 401/403: keep the data, retry slowly, log loudly.
    AuthFailed(String),
    /// 413: split the batch and resend the halves.
    TooLarge,
    /// 429, 5xx, network trouble: retry with backoff, after `Retry-After` if given.
    Retry {
        reason: &'static str,
        detail: String,
        after: Option<Duration>,
    },
}

/// Sends encoded batches to the server over the configured transport.
#[derive(Debug, Clone)]
pub struct Sender {
    url: String,
    transport: TransportSender,
}

#[derive(Debug, Clone)]
enum TransportSender {
    Https(HttpsSender),
    Grpc(grpc::GrpcSender),
}

impl Sender {
    pub fn try_new(config: &PushConfig) -> Result<Self, PushError> {
        let transport = match config.transport {
            Transport::Https => TransportSender::Https(HttpsSender::try_new(config)?),
            Transport::Grpc => TransportSender::Grpc(grpc::GrpcSender::try_new(config)?),
        };
        Ok(Sender {
            url: config.write_url.clone(),
            transport,
        })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// Sends one snappy-compressed `WriteRequest` and reads the answer. The body is shared
    /// with the request, never copied.
    pub async fn send(&self, body: &Bytes) -> SendOutcome {
        match &self.transport {
            TransportSender::Https(https) => https.send(body).await,
            TransportSender::Grpc(grpc) => grpc.send(body).await,
        }
    }
}

/// Prometheus remote-write over HTTPS (or plain HTTP to a local receiver).
#[derive(Clone)]
struct HttpsSender {
    client: reqwest::Client,
    url: String,
    authorization: Option<String>,
}

/// Shows the URL, never the token.
impl std::fmt::Debug for HttpsSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpsSender")
            .field("url", &self.url)
            .field(
                "authorization",
                &self.authorization.as_ref().map(|_| "<redacted>"),
            )
            .finish_non_exhaustive()
    }
}

impl HttpsSender {
    fn try_new(config: &PushConfig) -> Result<Self, PushError> {
        let mut builder = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .connect_timeout(Duration::from_secs(10))
            .user_agent(concat!("peeper-agent/", env!("CARGO_PKG_VERSION")));
        // The agent's own rustls client (system bundle + CA file, a self-signed certificate
        // pinned in the CA file accepted): see crate::tls.
        let tls = crate::tls::client_config(config.ca_file.as_deref(), crate::tls::ALPN_HTTPS)
            .map_err(ca_file_error)?;
        builder = builder.tls_backend_preconfigured(tls);
        Ok(HttpsSender {
            client: builder.build()?,
            url: config.write_url.clone(),
            authorization: config.token.as_ref().map(|t| format!("Bearer {t}")),
        })
    }

    /// Posts one snappy-compressed `WriteRequest` and reads the answer.
    async fn send(&self, body: &Bytes) -> SendOutcome {
        let mut request = self
            .client
            .post(&self.url)
            .header("Content-Type", "application/x-protobuf")
            .header("Content-Encoding", "snappy")
            .header("X-Prometheus-Remote-Write-Version", "0.1.0")
            .body(body.clone());
        if let Some(auth) = &self.authorization {
            request = request.header("Authorization", auth);
        }
        match request.send().await {
            Ok(response) => {
                let status = response.status();
                let retry_after = response
                    .headers()
                    .get(RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(parse_retry_after);
                let detail = if status.is_success() {
                    String::new()
                } else {
                    let text = response.text().await.unwrap_or_default();
                    text.chars().take(300).collect::<String>().trim().to_owned()
                };
                classify(status, detail, retry_after)
            }
            Err(err) => SendOutcome::Retry {
                reason: "network",
                detail: error_chain(&err),
                after: None,
            },
        }
    }
}

/// Maps a status code to what the sender does next (the contract's HTTP reading).
pub fn classify(status: StatusCode, detail: String, retry_after: Option<Duration>) -> SendOutcome {
    outcome(classify_http(status.as_u16(), retry_after), || {
        format!("{status}: {detail}")
    })
}

/// The contract's action as the delivery loop's outcome; `detail` describes the answer.
fn outcome(action: SenderAction, detail: impl FnOnce() -> String) -> SendOutcome {
    match action {
        SenderAction::Delivered => SendOutcome::Accepted,
        SenderAction::Drop => SendOutcome::Rejected(detail()),
        SenderAction::RetryAuth => SendOutcome::AuthFailed(detail()),
        SenderAction::Split => SendOutcome::TooLarge,
        SenderAction::Retry { reason, after } => SendOutcome::Retry {
            reason: match reason {
                RetryReason::Throttled => "throttled",
                RetryReason::ServerError => "server_error",
            },
            detail: detail(),
            after,
        },
    }
}

/// An error with its causes, e.g. "error sending request: connection refused". A refused
/// server certificate ends the chain with its cause and fix in words ([`crate::tls::explain`]).
fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    if let Some(refusal) = crate::tls::certificate_refusal(err) {
        return refusal;
    }
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        if let Some(refusal) = crate::tls::certificate_refusal(cause) {
            text.push_str(&refusal);
            break;
        }
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The CA file's trouble as a [`PushError`].
fn ca_file_error(err: crate::tls::CaFileError) -> PushError {
    use crate::tls::PemError;
    match err.source {
        PemError::Io(source) => PushError::CaFile {
            path: err.path,
            source,
        },
        PemError::Empty => PushError::CaFileEmpty(err.path),
        PemError::NotPem(message) => PushError::CaFile {
            path: err.path,
            source: std::io::Error::new(std::io::ErrorKind::InvalidData, message),
        },
    }
}

#[cfg(test)]
mod tests;
