//! gRPC unary vs streaming throughput over loopback, against the real `peeper-server`
//! binary (plaintext h2c) forwarding to a stand-in store that answers 204 at once, so the
//! numbers are the server's own. Each mode sends a bounded number of 10k-sample batches
//! (the relay load of ARCHITECTURE.md: 7 labels a series) and reports samples/s and the server
//! process's CPU time per million samples (from /proc/<pid>/stat).
//!
//! `cargo bench -p peeper-server --bench grpc` (set PEEPER_BENCH_BATCHES to change the
//! count, default 300).

use peeper_proto::codec;
use peeper_proto::prometheus::{Label, Sample, TimeSeries, WriteRequest};
use peeper_proto::v1::ingest_client::IngestClient;
use peeper_proto::v1::{Compression, WriteBatch};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tonic::codegen::tokio_stream::wrappers::ReceiverStream;
use tonic::transport::Channel;

const SERIES: usize = 10_000;

fn relay_body() -> bytes::Bytes {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let timeseries = (0..SERIES)
        .map(|i| {
            let mut labels: Vec<Label> = [
                (
                    "__name__",
                    format!("node_network_receive_bytes_total_{}", i % 50),
                ),
                ("device", format!("eth{}", i % 4)),
                ("instance", format!("host-{:04}.example.com", i / 40)),
                ("job", "linux".to_owned()),
                ("region", format!("eu-{}", i % 3)),
                ("service", format!("svc-{}", i % 17)),
                ("team", "platform".to_owned()),
            ]
            .into_iter()
            .map(|(name, value)| Label {
                name: name.to_owned(),
                value,
            })
            .collect();
            labels.sort_by(|a, b| a.name.cmp(&b.name));
            TimeSeries {
                labels,
                samples: vec![Sample {
                    value: i as f64,
                    timestamp: now,
                }],
            }
        })
        .collect();
    codec::encode_write_request(&WriteRequest {
        timeseries,
        metadata: vec![],
    })
    .into()
}

/// A store that accepts everything (HTTP/1.1 keep-alive, 204).
async fn null_store() -> std::net::SocketAddr {
    use hyper::service::service_fn;
    use hyper_util::rt::TokioIo;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let service = service_fn(
                    |request: hyper::Request<hyper::body::Incoming>| async move {
                        use http_body_util::BodyExt;
                        let _ = request.into_body().collect().await;
                        Ok::<_, std::convert::Infallible>(
                            hyper::Response::builder()
                                .status(204)
                                .body(http_body_util::Empty::<bytes::Bytes>::new())
                                .unwrap(),
                        )
                    },
                );
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    addr
}

/// utime + stime of a process, in seconds.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after_comm = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = after_comm.split(' ').collect();
    // Fields 14 and 15 of stat(5); after the comm field they are at index 11 and 12.
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    ticks as f64 / 100.0
}

struct Server {
    child: Child,
    addr: std::net::SocketAddr,
    _dir: tempfile::TempDir,
    token: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_server(store: std::net::SocketAddr) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let (_, token) = peeper_server::tokens::TokenStore::open(dir.path())
        .unwrap()
        .create("bench", &[])
        .unwrap();
    let config = dir.path().join("server.toml");
    std::fs::write(&config, "[limits]\nmax_samples_per_second_per_token = 0\n").unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_peeper-server"))
        .args(["--plaintext", "--listen", &addr.to_string()])
        .arg("--config")
        .arg(&config)
        .arg("--data-dir")
        .arg(dir.path())
        .arg("--remote-write-url")
        .arg(format!("http://{store}/api/v1/write"))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(addr).is_err() {
        assert!(Instant::now() < deadline, "peeper-server did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    Server {
        child,
        addr,
        _dir: dir,
        token,
    }
}

fn batch(body: &bytes::Bytes, sequence: u64) -> WriteBatch {
    WriteBatch {
        body: body.clone(),
        compression: Compression::Snappy as i32,
        sequence,
    }
}

fn authorized<T>(message: T, token: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request
        .metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    request
}

async fn unary(
    client: IngestClient<Channel>,
    body: &bytes::Bytes,
    token: &str,
    n: u64,
    concurrency: u64,
) {
    let mut tasks = Vec::new();
    for worker in 0..concurrency {
        let mut client = client.clone();
        let (body, token) = (body.clone(), token.to_owned());
        tasks.push(tokio::spawn(async move {
            for seq in (worker..n).step_by(concurrency as usize) {
                let r = client
                    .write(authorized(batch(&body, seq), &token))
                    .await
                    .unwrap();
                assert_eq!(r.into_inner().samples_accepted, SERIES as u64);
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
}

async fn streaming(mut client: IngestClient<Channel>, body: &bytes::Bytes, token: &str, n: u64) {
    let (tx, rx) = tokio::sync::mpsc::channel(8);
    let body = body.clone();
    tokio::spawn(async move {
        for seq in 0..n {
            tx.send(batch(&body, seq)).await.unwrap();
        }
    });
    let mut answers = client
        .write_stream(authorized(ReceiverStream::new(rx), token))
        .await
        .unwrap()
        .into_inner();
    let mut got = 0;
    while let Some(answer) = answers.message().await.unwrap() {
        assert_eq!((answer.code, answer.sequence), (0, got));
        got += 1;
    }
    assert_eq!(got, n);
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` runs this once, quickly.
    let quick = !std::env::args().any(|a| a == "--bench");
    let n: u64 = std::env::var("PEEPER_BENCH_BATCHES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if quick { 5 } else { 300 });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let store = null_store().await;
        let server = start_server(store);
        let body = relay_body();
        eprintln!(
            "{n} batches of {SERIES} samples ({} bytes snappy) per mode, server pid {}",
            body.len(),
            server.child.id()
        );
        let channel = Channel::from_shared(format!("http://{}", server.addr))
            .unwrap()
            .connect()
            .await
            .unwrap();
        let client = IngestClient::new(channel).max_encoding_message_size(64 << 20);
        // Warm up connections and allocators.
        unary(client.clone(), &body, &server.token, 3, 1).await;
        for mode in ["unary, 1 in flight", "unary, 4 in flight", "stream, 1 stream"] {
            let cpu_before = cpu_seconds(server.child.id());
            let started = Instant::now();
            match mode {
                "unary, 1 in flight" => unary(client.clone(), &body, &server.token, n, 1).await,
                "unary, 4 in flight" => unary(client.clone(), &body, &server.token, n, 4).await,
                _ => streaming(client.clone(), &body, &server.token, n).await,
            }
            let elapsed = started.elapsed().as_secs_f64();
            let cpu = cpu_seconds(server.child.id()) - cpu_before;
            let samples = (n as usize * SERIES) as f64;
            println!(
                "grpc {mode:<20} {:>12.0} samples/s   server CPU {:.3} s per million samples   ({:.2} s wall, {:.2} s CPU)",
                samples / elapsed,
                cpu / samples * 1e6,
                elapsed,
                cpu
            );
        }
    });
}
