//! gRPC straight to the server (h2c): graceful shutdown of open streams, and
//! VictoriaMetrics cluster mode (`{accountID}` filled per tenant) for both transports.

use peeper_test_support as support;

use peeper_proto::codec;
use peeper_proto::prometheus::{Label, Sample, TimeSeries, WriteRequest};
use peeper_proto::v1::ingest_client::IngestClient;
use peeper_proto::v1::{Compression, WriteBatch};
use peeper_server::config::{ForwardMode, Limits, ServerConfig, ServerSettings};
use peeper_server::store::TenantConfig;
use peeper_server::tokens::TokenStore;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use support::VictoriaMetrics;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tonic::codegen::tokio_stream::wrappers::ReceiverStream;
use tonic::transport::Channel;

fn batch(name: &str, sequence: u64) -> WriteBatch {
    let request = WriteRequest {
        timeseries: vec![TimeSeries {
            labels: vec![Label {
                name: "__name__".into(),
                value: name.into(),
            }],
            samples: vec![Sample {
                value: sequence as f64,
                timestamp: SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .unwrap()
                    .as_millis() as i64,
            }],
        }],
        metadata: vec![],
    };
    WriteBatch {
        body: codec::encode_write_request(&request).into(),
        compression: Compression::Snappy as i32,
        sequence,
    }
}

fn with_token<T>(message: T, token: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request
        .metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    request
}

async fn start(
    data: &std::path::Path,
    url: String,
    tenants: &[(&str, u32)],
) -> peeper_server::RunningServer {
    let config = ServerConfig::try_new(ServerSettings {
        listen: "127.0.0.1:0".parse().unwrap(),
        tls: None,
        remote_write_url: url,
        data_dir: data.to_owned(),
        forward_mode: ForwardMode::ExtraLabel,
        limits: Limits::default(),
    })
    .unwrap()
    .with_tenants(
        tenants
            .iter()
            .map(|(t, a)| {
                (
                    (*t).to_owned(),
                    TenantConfig {
                        account_id: *a,
                        project_id: None,
                    },
                )
            })
            .collect(),
    )
    .unwrap();
    peeper_server::start(config).await.unwrap()
}

async fn grpc(addr: std::net::SocketAddr) -> IngestClient<Channel> {
    IngestClient::new(
        Channel::from_shared(format!("http://{addr}"))
            .unwrap()
            .connect()
            .await
            .unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_ends_grpc_streams_cleanly_after_the_current_batch() {
    let vm = VictoriaMetrics::start();
    let data = tempfile::tempdir().unwrap();
    let (_, token) = TokenStore::open(data.path())
        .unwrap()
        .create("acme", &[])
        .unwrap();
    let server = start(data.path(), vm.write_url(), &[]).await;
    let mut client = grpc(server.local_addr()).await;
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    let mut answers = client
        .write_stream(with_token(ReceiverStream::new(rx), &token))
        .await
        .unwrap()
        .into_inner();
    tx.send(batch("peeper_it_drain_stream", 1)).await.unwrap();
    let first = answers.message().await.unwrap().unwrap();
    assert_eq!((first.sequence, first.code), (1, 0), "{first:?}");

    let started = Instant::now();
    let stopping = tokio::spawn(server.shutdown());
    let end = tokio::time::timeout(Duration::from_secs(10), answers.message())
        .await
        .expect("the stream ends promptly");
    let status = end.expect_err("the stream ends with a status");
    assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");
    assert!(status.message().contains("shutting down"), "{status:?}");
    tokio::time::timeout(Duration::from_secs(10), stopping)
        .await
        .expect("shutdown does not wait for the drain timeout")
        .unwrap();
    assert!(started.elapsed() < Duration::from_secs(10));
    drop(tx);
    assert_eq!(
        vm.wait_for("peeper_it_drain_stream", Duration::from_secs(30))
            .len(),
        1
    );
}

/// A stand-in for vminsert (Debian ships no cluster binaries): records each request's
/// target and answers 204.
async fn recording_receiver() -> (std::net::SocketAddr, Arc<Mutex<Vec<String>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = Arc::clone(&seen);
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            let record = Arc::clone(&record);
            tokio::spawn(async move {
                let mut raw = Vec::new();
                let mut buf = [0u8; 8192];
                // Read the head, then the body it announces.
                let (head_end, length) = loop {
                    let n = conn.read(&mut buf).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    raw.extend_from_slice(&buf[..n]);
                    if let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&raw[..end]).to_lowercase();
                        let length = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .and_then(|v| v.trim().parse::<usize>().ok())
                            .unwrap_or(0);
                        break (end + 4, length);
                    }
                };
                while raw.len() < head_end + length {
                    let n = conn.read(&mut buf).await.unwrap_or(0);
                    if n == 0 {
                        break;
                    }
                    raw.extend_from_slice(&buf[..n]);
                }
                let line = String::from_utf8_lossy(&raw[..head_end]);
                let target = line.split(' ').nth(1).unwrap_or("").to_owned();
                record.lock().unwrap().push(target);
                let _ = conn
                    .write_all(b"HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n")
                    .await;
            });
        }
    });
    (addr, seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_mode_fills_the_account_per_tenant_and_refuses_unmapped_tenants() {
    let (receiver, seen) = recording_receiver().await;
    let data = tempfile::tempdir().unwrap();
    let mut store = TokenStore::open(data.path()).unwrap();
    let (_, acme) = store.create("acme", &[]).unwrap();
    let (_, unmapped) = store.create("initech", &[]).unwrap();
    let url = format!("http://{receiver}/insert/{{accountID}}/prometheus/api/v1/write");
    let server = start(data.path(), url, &[("acme", 42)]).await;
    let base = format!("http://{}", server.local_addr());
    let http = reqwest::Client::new();
    let push = |token: &str| {
        http.post(format!("{base}/api/v1/write"))
            .bearer_auth(token)
            .header("Content-Encoding", "snappy")
            .body(batch("peeper_it_cluster", 1).body)
            .send()
    };
    let response = push(&acme).await.unwrap();
    assert_eq!(response.status().as_u16(), 204);
    let response = push(&unmapped).await.unwrap();
    assert_eq!(response.status().as_u16(), 403);
    let text = response.text().await.unwrap();
    assert!(
        text.contains("[tenants.initech]") && text.contains("account_id"),
        "{text}"
    );

    let mut client = grpc(server.local_addr()).await;
    let answer = client
        .write(with_token(batch("peeper_it_cluster", 2), &acme))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(answer.samples_accepted, 1);
    let status = client
        .write(with_token(batch("peeper_it_cluster", 3), &unmapped))
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::PermissionDenied, "{status:?}");

    let seen = seen.lock().unwrap().clone();
    let expected = "/insert/42/prometheus/api/v1/write?extra_label=tenant%3Dacme";
    assert_eq!(
        seen,
        [expected, expected],
        "the tenant label is kept in cluster mode"
    );
    server.shutdown().await;
}
