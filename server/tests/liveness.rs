//! Liveness through real `peeper-server` processes and a real VictoriaMetrics: two replicas
//! sharing a data dir, batches pushed as an agent and `peeper-agent status` push them. An
//! agent that falls silent becomes `peeper_agent_up 0` and stays so while replicas are
//! killed and restarted; it comes back at once when it pushes again; `agents forget` ends
//! it. A check pushed with an expected interval turns overdue, and back.

use peeper_test_support as support;

use peeper_proto::codec::encode_write_request;
use peeper_proto::prometheus::{Label, Sample, TimeSeries, WriteRequest};
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use support::VictoriaMetrics;
use support::server::ServerProcess;

const SERVER: &str = env!("CARGO_BIN_EXE_peeper-server");
/// Fast liveness timings for the test (production: 15s sync, silent after 3 intervals).
const ARGS: [&str; 6] = [
    "--liveness-interval",
    "1s",
    "--agent-silent-after",
    "4s",
    "--check-patience",
    "1s",
];

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn series(name: &str, labels: &[(&str, &str)], value: f64) -> TimeSeries {
    let mut labels: Vec<Label> = labels
        .iter()
        .chain(&[("__name__", name)])
        .map(|(n, v)| Label {
            name: (*n).into(),
            value: (*v).into(),
        })
        .collect();
    labels.sort_by(|a, b| a.name.cmp(&b.name));
    TimeSeries {
        labels,
        samples: vec![Sample {
            value,
            timestamp: now_ms(),
        }],
    }
}

/// What a running agent pushes every cycle (and a collector's series with it).
fn heartbeat(instance: &str) -> WriteRequest {
    WriteRequest {
        timeseries: vec![
            series(
                "peeper_agent_interval_seconds",
                &[("instance", instance), ("job", "agent")],
                1.0,
            ),
            series(
                "node_load1",
                &[("instance", instance), ("job", "linux")],
                0.1,
            ),
        ],
        metadata: vec![],
    }
}

/// What `peeper-agent status CHECK OK|ERR --message M --expect-every 2s` pushes.
fn status(instance: &str, check: &str, ok: bool, message: &str) -> WriteRequest {
    let labels = [("check", check), ("instance", instance), ("job", "checks")];
    let mut with_message = labels.to_vec();
    with_message.push(("message", message));
    let now = now_ms() as f64 / 1000.0;
    WriteRequest {
        timeseries: vec![
            series("peeper_check_status", &labels, if ok { 1.0 } else { 0.0 }),
            series("peeper_check_last_run_timestamp_seconds", &labels, now),
            series("peeper_check_message_info", &with_message, 1.0),
            series("peeper_check_expected_interval_seconds", &labels, 2.0),
        ],
        metadata: vec![],
    }
}

async fn push(server: &ServerProcess, token: &str, request: &WriteRequest) {
    let response = reqwest::Client::new()
        .post(format!("{}/api/v1/write", server.url()))
        .header("Content-Encoding", "snappy")
        .bearer_auth(token)
        .body(encode_write_request(request))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204, "{}", response.text().await.unwrap());
}

fn wait_value(
    vm: &VictoriaMetrics,
    query: &str,
    want: f64,
    within: Duration,
    servers: &[&ServerProcess],
) {
    let start = Instant::now();
    while start.elapsed() < within {
        if vm.query_one(query) == Some(want) {
            return;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let logs: Vec<String> = servers.iter().map(|s| s.log_text()).collect();
    panic!(
        "{query} did not become {want} within {within:?} (it is {:?}); server logs:\n{}",
        vm.query_one(query),
        logs.join("\n---\n")
    );
}

fn replicas(dir: &Path, vm: &VictoriaMetrics) -> (ServerProcess, ServerProcess) {
    let data = dir.join("server");
    let a = ServerProcess::start(
        Path::new(SERVER),
        &data,
        &vm.write_url(),
        &ARGS,
        &dir.join("a.log"),
    );
    let b = ServerProcess::start(
        Path::new(SERVER),
        &data,
        &vm.write_url(),
        &ARGS,
        &dir.join("b.log"),
    );
    (a, b)
}

/// Every replica writes an agent's last-seen time each sync, stamped `write_delay` in the
/// past, so a replica that does not receive the agent's batches can have its own older
/// value stamped after the newer one of the replica that does (a few milliseconds later in
/// the same second). It must learn the newest time, not read its own back: played here
/// with the other replica's samples written straight into the store.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_takes_the_newest_last_seen_time_not_the_latest_stamped() {
    let vm = VictoriaMetrics::start();
    let dir = tempfile::tempdir().unwrap();
    let replica = ServerProcess::start(
        Path::new(SERVER),
        &dir.path().join("server"),
        &vm.write_url(),
        &ARGS,
        &dir.path().join("replica.log"),
    );
    let import = format!("{}/api/v1/import/prometheus", vm.base_url());
    let client = reqwest::Client::new();
    let series = r#"peeper_agent_last_seen_timestamp_seconds{tenant="acme",instance="db-01"}"#;
    let first_seen = now_ms() as f64 / 1000.0;
    let started = Instant::now();
    // Three times the silence threshold.
    while started.elapsed() < Duration::from_secs(12) {
        let now = now_ms();
        let fresh = now as f64 / 1000.0 - 0.5;
        let body = format!(
            "{series} {fresh} {}\n{series} {first_seen} {}\n",
            now - 6_000,
            now - 5_000
        );
        let response = client.post(&import).body(body).send().await.unwrap();
        assert_eq!(response.status(), 204);
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let up = r#"peeper_agent_up{tenant="acme",instance="db-01"}"#;
    let exported = vm.export(up);
    let samples = &exported.first().expect("the replica writes up").1;
    assert!(
        samples.iter().all(|(_, v)| *v == 1.0),
        "the replica judged the agent silent: {samples:?}; log:\n{}",
        replica.log_text()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_agent_stays_down_across_replica_restarts_until_it_pushes_or_is_forgotten() {
    let vm = VictoriaMetrics::start();
    let dir = tempfile::tempdir().unwrap();
    let (mut a, mut b) = replicas(dir.path(), &vm);
    let token = a.token("acme");
    let up = r#"peeper_agent_up{tenant="acme",instance="web-01"}"#;

    for _ in 0..4 {
        push(&a, &token, &heartbeat("web-01")).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    wait_value(&vm, up, 1.0, Duration::from_secs(15), &[&a, &b]);
    let last_seen = vm
        .query_one(r#"peeper_agent_last_seen_timestamp_seconds{tenant="acme",instance="web-01"}"#)
        .expect("last seen is written");
    assert!(
        (now_ms() as f64 / 1000.0 - last_seen).abs() < 10.0,
        "{last_seen}"
    );
    assert_eq!(
        vm.query_one(r#"peeper_agent_silent_after_seconds{instance="web-01"}"#),
        Some(4.0)
    );

    // Silence: down after 4 s, and kept down while each replica is killed and restarted.
    wait_value(&vm, up, 0.0, Duration::from_secs(20), &[&a, &b]);
    let down_at = now_ms();
    for replica in [&mut b, &mut a] {
        replica.sigkill();
        tokio::time::sleep(Duration::from_secs(3)).await;
        replica.spawn();
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    // Both down at once: a restarted replica recalls the agent from the store alone.
    a.sigkill();
    b.sigkill();
    tokio::time::sleep(Duration::from_secs(2)).await;
    b.spawn();
    let restarted_at = now_ms();
    tokio::time::sleep(Duration::from_secs(4)).await;
    let samples = &vm.export(up)[0].1;
    let after: Vec<&(i64, f64)> = samples.iter().filter(|(t, _)| *t > down_at).collect();
    assert!(
        after.iter().all(|(_, v)| *v == 0.0),
        "up went back to 1 during the silence: {after:?}"
    );
    let written_after_restart = after
        .iter()
        .filter(|(t, _)| *t > restarted_at - 5_000)
        .count();
    assert!(
        written_after_restart >= 2,
        "the restarted replica did not recall the agent: {after:?}"
    );
    // While one replica runs, the series never has a gap an alert could resolve in.
    let until = restarted_at - 8_000;
    let gaps: Vec<i64> = after
        .windows(2)
        .filter(|w| w[1].0 < until)
        .map(|w| w[1].0 - w[0].0)
        .collect();
    assert!(
        gaps.iter().all(|g| *g <= 2_500),
        "gaps in peeper_agent_up: {gaps:?}"
    );

    // The agent pushes again, to the other replica: up at once.
    a.spawn();
    let back = Instant::now();
    push(&b, &token, &heartbeat("web-01")).await;
    wait_value(&vm, up, 1.0, Duration::from_secs(5), &[&a, &b]);
    assert!(
        back.elapsed() < Duration::from_secs(4),
        "the comeback took {:?}",
        back.elapsed()
    );

    // Silent again, then retired: the series ends and no replica writes it again.
    wait_value(&vm, up, 0.0, Duration::from_secs(20), &[&a, &b]);
    let list = a.command(&["agents", "list", "--tenant", "acme"]);
    assert!(list.contains("web-01") && list.contains("silent"), "{list}");
    let forget = a.command(&["agents", "forget", "acme", "web-01"]);
    assert!(forget.contains("forgot agent web-01"), "{forget}");
    support::wait_until(
        "the forgotten agent's series to end",
        Duration::from_secs(10),
        || vm.query(up).is_empty(),
    );
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert!(
        vm.query(up).is_empty(),
        "a replica wrote the forgotten agent again"
    );
    let list = b.command(&["agents", "list"]);
    assert!(!list.contains("web-01"), "{list}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_check_without_its_next_result_is_overdue_until_it_reports_or_is_forgotten() {
    let vm = VictoriaMetrics::start();
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = replicas(dir.path(), &vm);
    let token = a.token("acme");
    let labels = r#"tenant="acme",instance="db-01",check="nightly-backup""#;
    let overdue = format!("peeper_check_overdue{{{labels}}}");
    let status_of = format!("peeper_check_status{{{labels}}}");

    push(
        &a,
        &token,
        &status("db-01", "nightly-backup", true, "3 files copied"),
    )
    .await;
    wait_value(&vm, &overdue, 0.0, Duration::from_secs(10), &[&a, &b]);
    // Expected every 2 s with 1 s of patience: overdue after 3 s, and its status 0 too.
    wait_value(&vm, &overdue, 1.0, Duration::from_secs(15), &[&a, &b]);
    wait_value(&vm, &status_of, 0.0, Duration::from_secs(20), &[&a, &b]);
    let list = b.command(&[&["checks", "list"][..], &ARGS].concat());
    assert!(
        list.contains("nightly-backup") && list.contains("no result"),
        "{list}"
    );

    // An ERR result with its message, through the other replica: no longer overdue, at once.
    push(
        &b,
        &token,
        &status("db-01", "nightly-backup", false, "disk full"),
    )
    .await;
    wait_value(&vm, &overdue, 0.0, Duration::from_secs(4), &[&a, &b]);
    // A new message is a new series, which the store indexes a moment after the samples of
    // series it already knows (such as `overdue` above).
    let newest = format!("topk(1, timestamp(peeper_check_message_info{{{labels}}}))");
    support::wait_until(
        "the newest message to be the ERR result's",
        Duration::from_secs(5),
        || {
            vm.query(&newest)
                .first()
                .is_some_and(|m| m["metric"]["message"] == "disk full")
        },
    );
    assert_eq!(vm.query_one(&status_of), Some(0.0));

    a.command(&["checks", "forget", "acme", "db-01", "nightly-backup"]);
    support::wait_until(
        "the forgotten check's series to end",
        Duration::from_secs(10),
        || vm.query(&overdue).is_empty() && vm.query(&status_of).is_empty(),
    );
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert!(
        vm.query(&overdue).is_empty(),
        "a replica wrote the forgotten check again"
    );
}

#[test]
fn agents_commands_explain_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        std::process::Command::new(SERVER)
            .env_remove("PEEPER_CONFIG")
            .args(args)
            .arg("--data-dir")
            .arg(dir.path())
            .output()
            .unwrap()
    };
    // No store: the failure names the URL and says it could not be reached.
    let out = run(&[
        "agents",
        "list",
        "--remote-write-url",
        "http://127.0.0.1:1/api/v1/write",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("127.0.0.1:1"),
        "{err}"
    );
    // A store whose query URL cannot be derived.
    let out = run(&[
        "agents",
        "list",
        "--remote-write-url",
        "http://mimir/api/v1/push",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("--query-url"),
        "{err}"
    );
    let out = run(&["agents", "list", "--agent-silent-after", "soon"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("PEEPER_AGENT_SILENT_AFTER"),
        "{err}"
    );
}
