//! Forwarding a validated batch to the store, in one of two ways ([`ForwardMode`]):
//!
//! - **extra-label**: the client's original snappy bytes (re-compressed as snappy when the
//!   client sent zstd, since VictoriaMetrics 1.79 takes only snappy) go to
//!   `<url>?extra_label=tenant=<tenant>`; VictoriaMetrics sets `tenant` and overrides a
//!   client's own `tenant` label. No protobuf is decoded.
//! - **rewrite**: the body is decoded, the client's `tenant`, `vm_account_id` and
//!   `vm_project_id` labels are dropped, `tenant=<tenant>` is added in sorted position, and
//!   the body is re-encoded. Used always in rewrite mode, and in extra-label mode for bodies
//!   carrying `vm_*` tenancy labels.
//!
//! The client gets its answer only after the store answered.

use crate::config::ForwardMode;
use crate::scan::Summary;
use bytes::Bytes;
use peeper_proto::codec::{Encoding, snappy_compress};
use peeper_proto::prometheus::{Label, WriteRequest};
use prost::Message;
use std::time::Duration;

/// The label the server owns.
pub const TENANT_LABEL: &str = "tenant";
/// Labels a client may not set: they would move data into another tenant.
pub const RESERVED_LABELS: [&str; 3] = [TENANT_LABEL, "vm_account_id", "vm_project_id"];
/// Longest part of a store's error message passed back to the client.
const MAX_STORE_MESSAGE: usize = 1024;

#[derive(Debug, Clone, thiserror::Error)]
pub enum ForwardError {
    #[error("cannot build the store client: {0}")]
    Client(String),
    #[error("body is not a valid remote-write WriteRequest: {0}")]
    Decode(#[from] prost::DecodeError),
    #[error("the store refused the data as invalid (HTTP {status}): {message}")]
    Rejected { status: u16, message: String },
    #[error("the store refused the batch as too large (HTTP 413): {message}")]
    TooLarge { message: String },
    #[error("the store is throttling writes (HTTP 429): {message}")]
    Throttled { message: String },
    #[error("the store answered HTTP {status}: {message}")]
    Unavailable { status: u16, message: String },
    #[error("the store did not answer within {0:?}")]
    Timeout(Duration),
    #[error("cannot reach the store: {0}")]
    Connect(String),
}

impl ForwardError {
    /// The `kind` label of `peeper_server_forward_errors_total`.
    pub fn kind(&self) -> &'static str {
        match self {
            ForwardError::Client(_) => "client",
            ForwardError::Decode(_) => "decode",
            ForwardError::Rejected { .. } | ForwardError::TooLarge { .. } => "rejected",
            ForwardError::Throttled { .. } => "throttled",
            ForwardError::Unavailable { .. } => "unavailable",
            ForwardError::Timeout(_) => "timeout",
            ForwardError::Connect(_) => "connect",
        }
    }
}

/// A body ready to send, and where.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub url: reqwest::Url,
    /// Snappy-compressed `WriteRequest`.
    pub body: Bytes,
    /// Whether the body was decoded and re-encoded.
    pub rewritten: bool,
}

/// Builds the body and URL for one batch of `tenant`.
///
/// `original` is the body as the client sent it (in `encoding`), `decoded` the protobuf.
pub fn prepare(
    mode: ForwardMode,
    base_url: &reqwest::Url,
    tenant: &str,
    original: Bytes,
    encoding: Encoding,
    decoded: &[u8],
    summary: &Summary,
) -> Result<Prepared, ForwardError> {
    if mode == ForwardMode::ExtraLabel && !summary.vm_tenancy_label {
        let body = match encoding {
            Encoding::Snappy => original,
            Encoding::Zstd => Bytes::from(snappy_compress(decoded)),
        };
        let mut url = base_url.clone();
        url.query_pairs_mut()
            .append_pair("extra_label", &format!("{TENANT_LABEL}={tenant}"));
        return Ok(Prepared {
            url,
            body,
            rewritten: false,
        });
    }
    Ok(Prepared {
        url: base_url.clone(),
        body: Bytes::from(rewrite(decoded, tenant)?),
        rewritten: true,
    })
}

/// Decodes `decoded`, sets `tenant` on every series (dropping the reserved labels a client
/// sent) and returns the snappy-compressed re-encoding.
pub fn rewrite(decoded: &[u8], tenant: &str) -> Result<Vec<u8>, ForwardError> {
    let mut request = WriteRequest::decode(decoded)?;
    for series in &mut request.timeseries {
        series
            .labels
            .retain(|l| !RESERVED_LABELS.contains(&l.name.as_str()));
        let at = series
            .labels
            .partition_point(|l| l.name.as_str() < TENANT_LABEL);
        series.labels.insert(
            at,
            Label {
                name: TENANT_LABEL.to_owned(),
                value: tenant.to_owned(),
            },
        );
    }
    Ok(snappy_compress(&request.encode_to_vec()))
}

/// The HTTP client that talks to the store.
#[derive(Debug, Clone)]
pub struct Forwarder {
    client: reqwest::Client,
    timeout: Duration,
}

impl Forwarder {
    pub fn new(timeout: Duration) -> Result<Self, ForwardError> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .user_agent(concat!("peeper-server/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ForwardError::Client(e.to_string()))?;
        Ok(Forwarder { client, timeout })
    }

    /// Sends one prepared body; `Ok` only when the store answered 2xx.
    pub async fn send(&self, prepared: Prepared) -> Result<(), ForwardError> {
        let response = self
            .client
            .post(prepared.url)
            .header(reqwest::header::CONTENT_TYPE, "application/x-protobuf")
            .header(reqwest::header::CONTENT_ENCODING, "snappy")
            .header("X-Prometheus-Remote-Write-Version", "0.1.0")
            .body(prepared.body)
            .send()
            .await
            .map_err(|e| self.transport_error(e))?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let message = store_message(response).await;
        Err(match status.as_u16() {
            400 | 422 => ForwardError::Rejected {
                status: status.as_u16(),
                message,
            },
            413 => ForwardError::TooLarge { message },
            429 => ForwardError::Throttled { message },
            // 5xx, and 4xx that say the server's own forwarding is misconfigured (401, 403,
            // 404, ...): the data is fine, so the sender should keep it and retry.
            code => ForwardError::Unavailable {
                status: code,
                message,
            },
        })
    }

    fn transport_error(&self, e: reqwest::Error) -> ForwardError {
        if e.is_timeout() {
            ForwardError::Timeout(self.timeout)
        } else {
            let e = e.without_url();
            let mut message = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                message.push_str(": ");
                message.push_str(&s.to_string());
                source = s.source();
            }
            ForwardError::Connect(message)
        }
    }
}

async fn store_message(response: reqwest::Response) -> String {
    let text = response.text().await.unwrap_or_default();
    let text = text.trim();
    match text.char_indices().nth(MAX_STORE_MESSAGE) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use peeper_proto::prometheus::{Sample, TimeSeries};

    fn label(n: &str, v: &str) -> Label {
        Label {
            name: n.into(),
            value: v.into(),
        }
    }

    #[test]
    fn rewrite_replaces_reserved_labels_keeping_order() {
        let request = WriteRequest {
            timeseries: vec![TimeSeries {
                labels: vec![
                    label("__name__", "up"),
                    label("job", "x"),
                    label("tenant", "evil"),
                    label("vm_account_id", "1"),
                    label("zone", "z"),
                ],
                samples: vec![Sample {
                    value: 1.0,
                    timestamp: 5,
                }],
            }],
            metadata: vec![],
        };
        let out = rewrite(&request.encode_to_vec(), "acme").unwrap();
        let raw = peeper_proto::codec::snappy_decompress(&out, 1 << 20).unwrap();
        let back = WriteRequest::decode(raw.as_slice()).unwrap();
        let names: Vec<(&str, &str)> = back.timeseries[0]
            .labels
            .iter()
            .map(|l| (l.name.as_str(), l.value.as_str()))
            .collect();
        assert_eq!(
            names,
            [
                ("__name__", "up"),
                ("job", "x"),
                ("tenant", "acme"),
                ("zone", "z")
            ]
        );
        assert_eq!(back.timeseries[0].samples, request.timeseries[0].samples);
    }

    #[test]
    fn extra_label_forwards_original_bytes() {
        let base = reqwest::Url::parse("http://vm:8428/api/v1/write").unwrap();
        let original = Bytes::from_static(b"original");
        let p = prepare(
            ForwardMode::ExtraLabel,
            &base,
            "acme",
            original.clone(),
            Encoding::Snappy,
            b"",
            &Summary::default(),
        )
        .unwrap();
        assert_eq!(p.body, original);
        assert!(!p.rewritten);
        assert_eq!(
            p.url.as_str(),
            "http://vm:8428/api/v1/write?extra_label=tenant%3Dacme"
        );
        let vm = Summary {
            vm_tenancy_label: true,
            ..Summary::default()
        };
        let p = prepare(
            ForwardMode::ExtraLabel,
            &base,
            "acme",
            original,
            Encoding::Snappy,
            b"",
            &vm,
        )
        .unwrap();
        assert!(p.rewritten);
        assert_eq!(p.url, base);
    }
}
