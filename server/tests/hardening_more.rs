//! More attacks and mistakes against a real `peeper-server` process and a real
//! VictoriaMetrics, each with a legitimate agent pushing all along (no gap over 3 s): the
//! token file deleted or left open, a flood of bad tokens, label tricks, a new-series flood,
//! an undecodable gRPC batch, refunds while the store is down, empty bodies, keep-alive
//! refusals, `/metrics` exposure, and the window a store crash can still lose.

use peeper_test_support as support;

use peeper_proto::codec::encode_write_request;
use peeper_proto::prometheus::{Label, Sample, TimeSeries, WriteRequest};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use support::VictoriaMetrics;
use support::legit::Legit;
use support::server::ServerProcess;

const SERVER: &str = env!("CARGO_BIN_EXE_peeper-server");

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn request(series: &[(&str, &[(&str, &str)])]) -> Vec<u8> {
    let timeseries = series
        .iter()
        .map(|(name, labels)| {
            let mut all: Vec<Label> = labels
                .iter()
                .chain(&[("__name__", *name)])
                .map(|(n, v)| Label {
                    name: (*n).into(),
                    value: (*v).into(),
                })
                .collect();
            all.sort_by(|a, b| a.name.cmp(&b.name));
            TimeSeries {
                labels: all,
                samples: vec![Sample {
                    value: 1.0,
                    timestamp: now_ms(),
                }],
            }
        })
        .collect();
    encode_write_request(&WriteRequest {
        timeseries,
        metadata: vec![],
    })
}

struct Target {
    _dir: tempfile::TempDir,
    vm: VictoriaMetrics,
    server: ServerProcess,
}

impl Target {
    fn start(config: &str) -> Target {
        let dir = tempfile::tempdir().unwrap();
        let vm = VictoriaMetrics::start();
        let file = dir.path().join("server.toml");
        std::fs::write(&file, config).unwrap();
        let file = file.display().to_string();
        let server = ServerProcess::start(
            Path::new(SERVER),
            &dir.path().join("server"),
            &vm.write_url(),
            &["--config", &file],
            &dir.path().join("server.log"),
        );
        Target {
            _dir: dir,
            vm,
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

    async fn push(&self, token: &str, body: Vec<u8>) -> (u16, String) {
        let response = reqwest::Client::new()
            .post(format!("{}/api/v1/write", self.server.url()))
            .header("Content-Encoding", "snappy")
            .bearer_auth(token)
            .body(body)
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    }

    fn metrics(&self) -> String {
        support::http_get(&self.server.metrics_addr.to_string(), "/metrics")
            .unwrap()
            .1
    }

    fn tokens_file(&self) -> std::path::PathBuf {
        self.server.data_dir.join("tokens.json")
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_or_emptied_token_file_keeps_the_tokens_until_it_is_back() {
    let target = Target::start("");
    let legit = target.legit().await;
    let saved = std::fs::read(target.tokens_file()).unwrap();
    std::fs::remove_file(target.tokens_file()).unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    std::fs::write(target.tokens_file(), "").unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    std::fs::write(target.tokens_file(), &saved).unwrap();
    std::fs::set_permissions(target.tokens_file(), std::fs::Permissions::from_mode(0o600)).unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let log = target.server.log_text();
    assert!(
        log.contains("missing or empty: keeping the previous tokens"),
        "{log}"
    );
    // An explicit revoke still takes effect at once.
    let doomed = target.token("doomed").await;
    assert_eq!(target.push(&doomed, request(&[("up", &[])])).await.0, 204);
    let id = doomed.split('_').nth(1).unwrap().to_owned();
    target.server.command(&["token", "revoke", &id]);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(target.push(&doomed, request(&[("up", &[])])).await.0, 401);
    legit.assert_steady("token file deleted").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_permissions_are_warned_about_and_a_world_writable_token_file_refused() {
    let target = Target::start("");
    let legit = target.legit().await;
    std::fs::set_permissions(target.tokens_file(), std::fs::Permissions::from_mode(0o666)).unwrap();
    // Touch it so the running server re-reads it.
    let text = std::fs::read(target.tokens_file()).unwrap();
    std::fs::write(target.tokens_file(), text).unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let log = target.server.log_text();
    assert!(
        log.contains("writable by every user") && log.contains("chmod 600"),
        "{log}"
    );
    legit.assert_steady("world-writable token file").await;

    // At start: refused, with the fix named.
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let created = std::process::Command::new(SERVER)
        .args(["token", "create", "--tenant", "a", "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(created.status.success());
    std::fs::set_permissions(
        data.join("tokens.json"),
        std::fs::Permissions::from_mode(0o666),
    )
    .unwrap();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o777)).unwrap();
    let out = std::process::Command::new(SERVER)
        .args([
            "--plaintext",
            "--listen",
            "127.0.0.1:0",
            "--metrics-listen",
            "127.0.0.1:0",
            "--data-dir",
        ])
        .arg(&data)
        .env_remove("PEEPER_CONFIG")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("chmod 600") && err.contains("chmod 700"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_bad_tokens_is_counted_not_logged_line_by_line() {
    let target = Target::start("");
    let legit = target.legit().await;
    let client = reqwest::Client::new();
    let url = format!("{}/api/v1/write", target.server.url());
    for _ in 0..2000 {
        let status = client
            .post(&url)
            .bearer_auth("peeper_0badc0de_not-a-token")
            .body(request(&[("up", &[])]))
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, 401);
    }
    let log = target.server.log_text();
    let lines = log.lines().filter(|l| l.contains("write refused")).count();
    assert!(lines <= 3, "{lines} log lines for 2000 refusals");
    let metrics = target.metrics();
    let counted = metrics
        .lines()
        .find(|l| {
            l.starts_with(r#"peeper_server_rejected_requests_total{reason="unauthenticated"}"#)
        })
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(0.0);
    assert_eq!(counted, 2000.0, "{metrics}");
    legit.assert_steady("bad tokens").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn label_tricks_and_a_series_flood_are_refused_naming_the_rule() {
    let target = Target::start("[limits]\nmax_series_per_tenant = 100\n");
    let legit = target.legit().await;
    let token = target.token("tricky").await;
    for (labels, named) in [
        (&[("bad-name", "x")][..], "bad-name"),
        (&[("1abc", "x")][..], "1abc"),
        (&[("Tenant", "other")][..], "Tenant"),
    ] {
        let (status, text) = target.push(&token, request(&[("up", labels)])).await;
        assert_eq!(status, 400, "{text}");
        assert!(text.contains(named), "{text}");
    }
    let (status, text) = target.push(&token, request(&[("", &[("job", "x")])])).await;
    assert_eq!(status, 400, "{text}");
    // 150 new series: more than the tenant's 100.
    let hosts: Vec<String> = (0..150).map(|i| format!("host-{i}")).collect();
    let labels: Vec<[(&str, &str); 1]> = hosts.iter().map(|h| [("instance", h.as_str())]).collect();
    let all: Vec<(&str, &[(&str, &str)])> = labels.iter().map(|l| ("flood", &l[..])).collect();
    let (status, text) = target.push(&token, request(&all[..80])).await;
    assert_eq!(status, 204, "{text}");
    let (status, text) = target.push(&token, request(&all)).await;
    assert_eq!(status, 429, "{text}");
    assert!(text.contains("limits.max_series_per_tenant"), "{text}");
    // Its known series still land.
    assert_eq!(target.push(&token, request(&all[..80])).await.0, 204);
    legit.assert_steady("label tricks").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_undecodable_grpc_batch_is_invalid_argument_and_counted() {
    let target = Target::start("");
    let legit = target.legit().await;
    let token = target.token("grpc").await;
    // A gRPC frame (flag 0, length 5) whose message is not a WriteBatch.
    let mut frame = vec![0u8, 0, 0, 0, 5];
    frame.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0xff]);
    let response = reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .unwrap()
        .post(format!("{}/peeper.v1.Ingest/Write", target.server.url()))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .bearer_auth(&token)
        .body(frame)
        .send()
        .await
        .unwrap();
    let headers = response.headers().clone();
    let _ = response.bytes().await;
    assert_eq!(headers["grpc-status"], "3", "{headers:?}");
    assert!(
        target
            .metrics()
            .contains(r#"peeper_server_rejected_requests_total{reason="malformed"} 1"#)
    );
    legit.assert_steady("undecodable gRPC").await;
}

/// The store is down here, so no agent can land: there is no legitimate agent to watch.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_the_store_refused_do_not_spend_the_tokens_rate() {
    let mut target = Target::start("");
    // 1000 samples a second (2000 of burst), and batches of 900.
    let token = target
        .server
        .command(&[
            "token",
            "create",
            "--tenant",
            "metered",
            "--rate-limit",
            "1000",
        ])
        .lines()
        .next()
        .unwrap()
        .to_owned();
    let names: Vec<String> = (0..900).map(|i| format!("m{i}")).collect();
    let series: Vec<(&str, &[(&str, &str)])> =
        names.iter().map(|n| (n.as_str(), &[][..])).collect();
    target.vm.stop();
    for _ in 0..5 {
        assert_eq!(target.push(&token, request(&series)).await.0, 503);
    }
    target.vm.restart();
    let (status, text) = target.push(&token, request(&series)).await;
    assert_eq!(status, 204, "503s spent nothing of the rate: {text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_body_is_204_and_early_refusals_say_close() {
    let target = Target::start("");
    let legit = target.legit().await;
    let token = target.token("empty").await;
    assert_eq!(
        target.push(&token, Vec::new()).await.0,
        204,
        "an empty body is an empty batch"
    );
    // HTTP/1.1 with a bad token and an unread body: the answer says the connection closes.
    for _ in 0..20 {
        let response = reqwest::Client::builder()
            .http1_only()
            .build()
            .unwrap()
            .post(format!("{}/api/v1/write", target.server.url()))
            .bearer_auth("peeper_0badc0de_nope")
            .body(vec![0u8; 256 << 10])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401);
        assert_eq!(response.headers()["connection"], "close");
    }
    // /metrics is not on the ingest port, only on the loopback metrics listener.
    assert_eq!(
        support::http_get(&target.server.addr.to_string(), "/metrics")
            .unwrap()
            .0,
        404
    );
    assert!(target.metrics().contains("peeper_server_requests_total"));
    legit.assert_steady("empty bodies and early refusals").await;
}

/// Pushes one sample every 100 ms through the server, SIGKILLs VictoriaMetrics, restarts
/// it and returns how much acknowledged time is gone: from the newest sample that survived to
/// the newest one the server acknowledged.
async fn lost_to_a_store_crash(flush: &str) -> Duration {
    let mut target = Target::start(&format!("store_flush_interval = \"{flush}\"\n"));
    let token = target.token("durable").await;
    let mut acked: Vec<i64> = Vec::new();
    for i in 0..100 {
        let at = now_ms();
        let body = encode_write_request(&WriteRequest {
            timeseries: vec![TimeSeries {
                labels: vec![Label {
                    name: "__name__".into(),
                    value: "durable_seq".into(),
                }],
                samples: vec![Sample {
                    value: f64::from(i),
                    timestamp: at,
                }],
            }],
            metadata: vec![],
        });
        if target.push(&token, body).await.0 == 204 {
            acked.push(at);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    target.vm.kill();
    target.vm.restart();
    let kept = target
        .vm
        .export("durable_seq")
        .first()
        .and_then(|(_, samples)| samples.iter().map(|(t, _)| *t).max())
        .unwrap_or(acked[0]);
    Duration::from_millis((acked.last().unwrap() - kept) as u64)
}

/// A store crash: nothing lands while the store is down, so no legitimate agent is watched.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_crash_loses_at_most_seconds_of_acknowledged_samples() {
    let start = Instant::now();
    let with_flush = lost_to_a_store_crash("1s").await;
    let without = lost_to_a_store_crash("0").await;
    eprintln!(
        "acknowledged time lost to a VictoriaMetrics SIGKILL: {with_flush:?} with the server's \
         1 s flushes, {without:?} without ({:?})",
        start.elapsed()
    );
    assert!(
        with_flush <= Duration::from_secs(4),
        "with flushes every second, {with_flush:?} of acknowledged samples were lost"
    );
}
