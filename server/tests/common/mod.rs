//! The production path on loopback: a real VictoriaMetrics, `peeper-server --plaintext`
//! trusting only the proxy, and a real HAProxy running `compose/haproxy/haproxy.cfg` with
//! TLS certificates from `peeper_server::devcert::init`.
#![allow(dead_code)]

use crate::support::VictoriaMetrics;
use crate::support::haproxy::{Haproxy, PROXY_SOURCE};
use peeper_proto::codec;
use peeper_proto::prometheus::{Label, Sample, TimeSeries, WriteRequest};
use peeper_proto::v1::ingest_client::IngestClient;
use peeper_proto::v1::{Compression, WriteBatch};
use peeper_server::RunningServer;
use peeper_server::config::{ForwardMode, Limits, ServerConfig, ServerSettings};
use peeper_server::net::Cidr;
use peeper_server::tokens::TokenStore;
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tonic::transport::{Certificate, Channel, ClientTlsConfig};

pub const WAIT: Duration = Duration::from_secs(30);

/// Tokens of the stack, by role.
pub struct Tokens {
    /// Tenant `acme`, usable from anywhere.
    pub acme: String,
    /// Tenant `beta`, allowed from 127.0.0.1 only.
    pub beta_local: String,
    /// Tenant `acme`, allowed from 10.0.0.0/8 only; and its id.
    pub far: String,
    pub far_id: String,
    /// Tenant `slow`, 100 samples/s (burst 200).
    pub slow: String,
    /// Revoked before the server starts.
    pub revoked: String,
}

pub struct Stack {
    pub server: Option<RunningServer>,
    pub proxy: Haproxy,
    pub tokens: Tokens,
    pub dir: tempfile::TempDir,
    pub ca_pem: String,
    pub ca_file: PathBuf,
}

impl Stack {
    pub async fn start(vm: &VictoriaMetrics) -> Stack {
        Self::start_with(vm.write_url(), Limits::default()).await
    }

    pub async fn start_with(write_url: String, limits: Limits) -> Stack {
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let dir = tempfile::tempdir().unwrap();
        let certs = peeper_server::devcert::init(&dir.path().join("certs"), "localhost").unwrap();
        let data_dir = dir.path().join("server");
        let mut store = TokenStore::open(&data_dir).unwrap();
        let (_, acme) = store.create("acme", &[]).unwrap();
        let (_, beta_local) = store.create("beta", &["127.0.0.1/32".into()]).unwrap();
        let (far_id, far) = store.create("acme", &["10.0.0.0/8".into()]).unwrap();
        let (_, slow) = store.create_with("slow", &[], Some(100)).unwrap();
        let (revoked_id, revoked) = store.create("acme", &[]).unwrap();
        store.revoke(&revoked_id).unwrap();
        let config = ServerConfig::try_new(ServerSettings {
            listen: "127.0.0.1:0".parse().unwrap(),
            tls: None,
            remote_write_url: write_url,
            data_dir,
            forward_mode: ForwardMode::ExtraLabel,
            limits,
        })
        .unwrap()
        .with_trusted_proxies(vec![Cidr::from(PROXY_SOURCE)]);
        let server = peeper_server::start(config).await.unwrap();
        let proxy = Haproxy::start(server.local_addr(), &certs.proxy_pem);
        Stack {
            server: Some(server),
            proxy,
            tokens: Tokens {
                acme,
                beta_local,
                far,
                far_id,
                slow,
                revoked,
            },
            ca_pem: std::fs::read_to_string(&certs.ca_cert).unwrap(),
            ca_file: certs.ca_cert,
            dir,
        }
    }

    /// The proxy's public base URL.
    pub fn base(&self) -> String {
        format!("https://localhost:{}", self.proxy.addr().port())
    }

    /// The server's own plaintext base URL (bypassing the proxy).
    pub fn direct(&self) -> String {
        format!("http://{}", self.server.as_ref().unwrap().local_addr())
    }

    /// The server's own `/metrics` URL (its separate plain-HTTP listener).
    pub fn metrics_url(&self) -> String {
        let addr = self.server.as_ref().unwrap().metrics_addr();
        format!("http://{addr}/metrics")
    }

    /// An HTTPS client trusting the stack's CA; `h2` picks HTTP/2 by ALPN, else HTTP/1.1.
    pub fn https_client(&self, h2: bool) -> reqwest::Client {
        let ca = reqwest::Certificate::from_pem(self.ca_pem.as_bytes()).unwrap();
        let mut builder = reqwest::Client::builder()
            .timeout(WAIT)
            .tls_certs_only([ca]);
        if !h2 {
            builder = builder.http1_only();
        }
        builder.build().unwrap()
    }

    /// A gRPC client through the proxy (TLS, ALPN h2).
    pub async fn grpc(&self) -> IngestClient<Channel> {
        let tls = ClientTlsConfig::new()
            .ca_certificate(Certificate::from_pem(&self.ca_pem))
            .domain_name("localhost");
        let channel = Channel::from_shared(self.base())
            .unwrap()
            .tls_config(tls)
            .unwrap()
            .connect_timeout(Duration::from_secs(10))
            .connect()
            .await
            .expect("gRPC through haproxy connects");
        IngestClient::new(channel)
    }

    pub async fn stop(mut self) {
        self.server.take().unwrap().shutdown().await;
    }
}

/// Pushes a remote-write body; returns (status, Retry-After, body, HTTP version).
pub async fn push(
    client: &reqwest::Client,
    url: &str,
    token: Option<&str>,
    body: Vec<u8>,
    forwarded_for: Option<&str>,
) -> (u16, Option<String>, String, reqwest::Version) {
    let mut request = client
        .post(format!("{url}/api/v1/write"))
        .header("Content-Type", "application/x-protobuf")
        .header("Content-Encoding", "snappy")
        .header("X-Prometheus-Remote-Write-Version", "0.1.0")
        .body(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(xff) = forwarded_for {
        request = request.header("X-Forwarded-For", xff);
    }
    let response = request.send().await.expect("request reaches the server");
    let status = response.status().as_u16();
    let version = response.version();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, retry_after, response.text().await.unwrap(), version)
}

pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// `series` series `name{i="n", labels}` with one sample each, now.
pub fn request(name: &str, labels: &[(&str, &str)], series: usize, value: f64) -> WriteRequest {
    let timestamp = now_ms();
    let timeseries = (0..series)
        .map(|i| {
            let mut all = vec![
                Label {
                    name: "__name__".into(),
                    value: name.into(),
                },
                Label {
                    name: "i".into(),
                    value: i.to_string(),
                },
            ];
            all.extend(labels.iter().map(|(n, v)| Label {
                name: (*n).into(),
                value: (*v).into(),
            }));
            all.sort_by(|a, b| a.name.cmp(&b.name));
            TimeSeries {
                labels: all,
                samples: vec![Sample { value, timestamp }],
            }
        })
        .collect();
    WriteRequest {
        timeseries,
        metadata: vec![],
    }
}

pub fn body(name: &str, labels: &[(&str, &str)], value: f64) -> Vec<u8> {
    codec::encode_write_request(&request(name, labels, 1, value))
}

pub fn batch(body: Vec<u8>, sequence: u64) -> WriteBatch {
    WriteBatch {
        body: body.into(),
        compression: Compression::Snappy as i32,
        sequence,
    }
}

/// A gRPC request with the bearer token in metadata.
pub fn with_token<T>(message: T, token: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request
        .metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    request
}

/// Bytes that are not snappy, whose first byte declares a small decoded size.
pub fn random_bytes(n: usize) -> Vec<u8> {
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut out: Vec<u8> = (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    out[0] = 0x40;
    out
}

/// A snappy header declaring 1 GiB, then a little data.
pub fn one_gib_declared() -> Vec<u8> {
    let mut huge = Vec::new();
    let mut n: u64 = 1 << 30;
    while n >= 0x80 {
        huge.push((n as u8) | 0x80);
        n >>= 7;
    }
    huge.push(n as u8);
    huge.extend_from_slice(&[0; 32]);
    huge
}

/// A valid body cut in half.
pub fn truncated_snappy() -> Vec<u8> {
    let mut full = codec::encode_write_request(&request("peeper_it_truncated", &[], 50, 1.0));
    full.truncate(full.len() / 2);
    full
}

/// One series carrying `n` labels.
pub fn many_labels(n: usize) -> Vec<u8> {
    let mut labels: Vec<Label> = (0..n)
        .map(|i| Label {
            name: format!("l{i:06}"),
            value: "v".into(),
        })
        .collect();
    labels.insert(
        0,
        Label {
            name: "__name__".into(),
            value: "peeper_it_many_labels".into(),
        },
    );
    codec::encode_write_request(&WriteRequest {
        timeseries: vec![TimeSeries {
            labels,
            samples: vec![Sample {
                value: 1.0,
                timestamp: now_ms(),
            }],
        }],
        metadata: vec![],
    })
}
