//! Attacks on a real `peeper-server` process (and a real VictoriaMetrics) that did harm
//! before the server was hardened: idle connections, gRPC messages read before the token,
//! stalled bodies, decompression bombs. In each, a legitimate agent pushes all along and must
//! keep landing with no gap over 3 s. Every attack is bounded in count and time and sends
//! only to loopback. (More in `hardening_more.rs`.)

use peeper_test_support as support;

use peeper_proto::codec;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};
use support::VictoriaMetrics;
use support::legit::Legit;
use support::server::ServerProcess;

const SERVER: &str = env!("CARGO_BIN_EXE_peeper-server");

/// A server with a `[limits]` table, its data dir shared with `token` commands.
struct Target {
    _dir: tempfile::TempDir,
    _vm: VictoriaMetrics,
    server: ServerProcess,
}

impl Target {
    fn start(limits: &str, extra: &[&str], nofile: Option<u64>) -> Target {
        let dir = tempfile::tempdir().unwrap();
        let vm = VictoriaMetrics::start();
        let config = dir.path().join("server.toml");
        std::fs::write(&config, format!("[limits]\n{limits}\n")).unwrap();
        let config = config.display().to_string();
        let mut args = vec!["--config", config.as_str()];
        args.extend_from_slice(extra);
        let (data, log) = (dir.path().join("server"), dir.path().join("server.log"));
        let server = match nofile {
            Some(n) => ServerProcess::start_limited(
                Path::new(SERVER),
                &data,
                &vm.write_url(),
                &args,
                &log,
                n,
            ),
            None => ServerProcess::start(Path::new(SERVER), &data, &vm.write_url(), &args, &log),
        };
        Target {
            _dir: dir,
            _vm: vm,
            server,
        }
    }

    /// A new token, once the running server has read it (it checks the file every second).
    async fn token(&self, tenant: &str) -> String {
        let token = self.server.token(tenant);
        tokio::time::sleep(Duration::from_millis(1200)).await;
        token
    }

    /// The legitimate agent, once it landed.
    async fn legit(&self) -> Legit {
        let legit = Legit::start(
            reqwest::Client::new(),
            &self.server.url(),
            &self.token("legit").await,
        );
        legit.landed().await;
        legit
    }

    fn metrics(&self) -> String {
        support::http_get(&self.server.metrics_addr.to_string(), "/metrics")
            .unwrap()
            .1
    }
}

/// A TCP connection from another loopback address than the legitimate agent's.
fn connect_from(source: [u8; 4], to: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)?;
    socket.bind(&SocketAddr::from((source, 0)).into())?;
    socket.connect_timeout(&to.into(), Duration::from_secs(2))?;
    Ok(socket.into())
}

/// Whether the server closed the connection (EOF or reset) within `within`.
fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    stream.set_read_timeout(Some(within)).unwrap();
    let mut buf = [0u8; 256];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return false;
            }
            Err(_) => return true,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_are_capped_and_closed_under_a_service_file_limit() {
    // A service's default soft limit is 1024; here 400, so the cap is 144 connections.
    let target = Target::start(
        "first_request_timeout_secs = 2\nmax_connections_per_address = 100",
        &[],
        Some(400),
    );
    let legit = target.legit().await;
    let addr = target.server.addr;
    // 300 connections that never send a request (and some only the HTTP/2 preface), from
    // three addresses: at most 100 per address are admitted, the rest closed at once.
    let attacker = std::thread::spawn(move || {
        let mut held = Vec::new();
        for i in 0..300u32 {
            let source = [127, 0, 0, 10 + (i % 3) as u8];
            if let Ok(mut stream) = connect_from(source, addr) {
                if i % 2 == 0 {
                    let _ = stream.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
                }
                held.push(stream);
            }
        }
        let start = Instant::now();
        let closed = held
            .iter_mut()
            .map(|s| closed_within(s, Duration::from_secs(6)))
            .filter(|closed| *closed)
            .count();
        (held.len(), closed, start.elapsed())
    });
    let (opened, closed, took) = tokio::task::spawn_blocking(move || attacker.join().unwrap())
        .await
        .unwrap();
    assert_eq!(
        closed, opened,
        "every idle connection was closed ({took:?})"
    );
    let metrics = target.metrics();
    assert!(
        metrics.contains("peeper_server_connections_closed_idle_total"),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"peeper_server_connections_refused_total{reason="max_connections"}"#),
        "300 connections against a cap of 144: some refused\n{metrics}"
    );
    // Refusals were counted, not written out one line each.
    let log = target.server.log_text();
    let lines = log
        .lines()
        .filter(|l| l.contains("connection refused"))
        .count();
    assert!(
        lines <= 3,
        "{lines} log lines about refused connections:\n{log}"
    );
    assert!(!log.contains("accept failed"), "{log}");
    legit.assert_steady("idle connections").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_messages_of_an_unknown_token_are_refused_before_they_are_read() {
    let target = Target::start("", &[], None);
    let legit = target.legit().await;
    let before = target.server.rss_bytes();
    let channel = tonic::transport::Endpoint::from_shared(target.server.url())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..12 {
        let mut client = peeper_proto::v1::ingest_client::IngestClient::new(channel.clone())
            .max_encoding_message_size(64 << 20);
        calls.spawn(async move {
            let mut request = tonic::Request::new(peeper_proto::v1::WriteBatch {
                body: vec![7u8; 30 << 20].into(),
                compression: 0,
                sequence: 1,
            });
            request.metadata_mut().insert(
                "authorization",
                "Bearer peeper_deadbeef_nope".parse().unwrap(),
            );
            let start = Instant::now();
            let result = client.write(request).await;
            (result.map(drop), start.elapsed())
        });
    }
    let mut peak = 0;
    while let Some(joined) = calls.join_next().await {
        let (result, took) = joined.unwrap();
        let status = result.unwrap_err();
        assert_eq!(status.code(), tonic::Code::Unauthenticated, "{status:?}");
        assert!(took < Duration::from_secs(5), "answered after {took:?}");
        peak = peak.max(target.server.rss_bytes());
    }
    let grown = peak.saturating_sub(before);
    assert!(
        grown < 64 << 20,
        "12 × 30 MiB unauthenticated grew the server by {} MiB",
        grown >> 20
    );
    legit.assert_steady("unauthenticated gRPC messages").await;
}

/// Sends the head of a request declaring `declared` bytes, then `sent` bytes of it, then
/// waits for the answer; returns its status (0: none within `within`).
fn stalled_body(
    addr: SocketAddr,
    token: &str,
    declared: usize,
    sent: usize,
    within: Duration,
) -> u16 {
    let Ok(mut stream) = TcpStream::connect(addr) else {
        return 0;
    };
    let head = format!(
        "POST /api/v1/write HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\
         Content-Encoding: snappy\r\nContent-Length: {declared}\r\n\r\n"
    );
    let _ = stream.write_all(head.as_bytes());
    let chunk = vec![0u8; 64 << 10];
    let mut left = sent;
    while left > 0 {
        let n = left.min(chunk.len());
        if stream.write_all(&chunk[..n]).is_err() {
            break; // refused mid-body: the answer is waiting
        }
        left -= n;
    }
    stream.set_read_timeout(Some(within)).unwrap();
    let mut answer = [0u8; 64];
    match stream.read(&mut answer) {
        Ok(n) if n > 12 => String::from_utf8_lossy(&answer[9..12]).parse().unwrap_or(0),
        _ => 0,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_bodies_time_out_and_cannot_take_the_memory() {
    let target = Target::start(
        "body_timeout_secs = 3\nmax_inflight_body_bytes_per_token = 67108864",
        &[],
        None,
    );
    let legit = target.legit().await;
    let token = target.token("noisy").await;
    let before = target.server.rss_bytes();
    let addr = target.server.addr;
    // 40 bodies declaring 30 MiB, each stalling after 8 MiB: the token's 64 MiB fill up.
    let senders: Vec<_> = (0..40)
        .map(|_| {
            let token = token.clone();
            std::thread::spawn(move || {
                stalled_body(addr, &token, 30 << 20, 8 << 20, Duration::from_secs(10))
            })
        })
        .collect();
    let mut peak = 0;
    let start = Instant::now();
    while senders.iter().any(|s| !s.is_finished()) && start.elapsed() < Duration::from_secs(20) {
        peak = peak.max(target.server.rss_bytes());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let statuses: Vec<u16> = senders.into_iter().map(|s| s.join().unwrap()).collect();
    assert!(
        statuses.iter().all(|s| *s == 408 || *s == 429),
        "every stalled body is answered, by its timeout (408) or the token's budget (429): {statuses:?}"
    );
    assert!(
        statuses.contains(&408) && statuses.contains(&429),
        "{statuses:?}"
    );
    let grown = peak.saturating_sub(before);
    assert!(
        grown < 200 << 20,
        "40 stalled bodies grew the server by {} MiB",
        grown >> 20
    );
    legit.assert_steady("stalled bodies").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn decompression_bombs_run_off_the_workers_and_against_the_senders_rate() {
    let target = Target::start("", &[], None);
    let legit = target.legit().await;
    let token = target.token("bomber").await;
    // 64 MiB of zeros: a few KiB of zstd, refused 413 only after decompressing 32 MiB.
    let bomb = codec::zstd_compress(&vec![0u8; 64 << 20]);
    assert!(bomb.len() < 64 << 10, "{}", bomb.len());
    let url = format!("{}/api/v1/write", target.server.url());
    let mut senders = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let (url, token, bomb) = (url.clone(), token.clone(), bomb.clone());
        senders.spawn(async move {
            let client = reqwest::Client::new();
            let mut statuses = Vec::new();
            let start = Instant::now();
            while start.elapsed() < Duration::from_secs(8) {
                let status = client
                    .post(&url)
                    .header("Content-Encoding", "zstd")
                    .bearer_auth(&token)
                    .body(bomb.clone())
                    .send()
                    .await
                    .map_or(0, |r| r.status().as_u16());
                statuses.push(status);
            }
            statuses
        });
    }
    let mut statuses = Vec::new();
    while let Some(s) = senders.join_next().await {
        statuses.extend(s.unwrap());
    }
    let too_large = statuses.iter().filter(|s| **s == 413).count();
    let throttled = statuses.iter().filter(|s| **s == 429).count();
    assert!(too_large >= 1, "{statuses:?}");
    assert!(
        throttled > too_large,
        "the bombs' work is charged to their token, so most are refused before any work: \
         {too_large} × 413, {throttled} × 429"
    );
    legit.assert_steady("decompression bombs").await;
}
