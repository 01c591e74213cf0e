//! End to end: the real `peeper-agent` binary pushes over TLS with a real token to
//! peeper-server, which writes into a real VictoriaMetrics (Debian's `victoria-metrics`).

mod support;

use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;
use support::VictoriaMetrics;
use support::stack::{AGENT, Stack};

fn run(command: &mut Command) -> Output {
    command.output().expect("run peeper-agent")
}

fn meminfo_total_bytes() -> f64 {
    let text = std::fs::read_to_string("/proc/meminfo").unwrap();
    let line = text.lines().find(|l| l.starts_with("MemTotal:")).unwrap();
    let kb: f64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kb * 1024.0
}

fn cpu_count() -> usize {
    std::fs::read_to_string("/proc/stat")
        .unwrap()
        .lines()
        .filter(|l| l.starts_with("cpu") && l.as_bytes().get(3).is_some_and(u8::is_ascii_digit))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_pushes_linux_metrics_through_the_tls_server_into_victoriametrics() {
    let vm = VictoriaMetrics::start();
    let stack = Stack::start(&vm, "acme").await;
    let output = run(stack.agent("e2e-host", &stack.token_file).arg("--once"));
    assert!(
        output.status.success(),
        "agent --once failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );

    let selector = r#"{instance="e2e-host",tenant="acme",job="linux"}"#;
    let total = vm.wait_for(
        &format!("node_memory_MemTotal_bytes{selector}"),
        Duration::from_secs(20),
    );
    assert_eq!(total.len(), 1);
    let value: f64 = total[0]["value"][1].as_str().unwrap().parse().unwrap();
    assert_eq!(value, meminfo_total_bytes());

    let cpu_series = vm.query(&format!("node_cpu_seconds_total{selector}"));
    assert_eq!(
        cpu_series.len(),
        cpu_count() * 8,
        "one series per cpu and mode"
    );
    let modes: std::collections::BTreeSet<_> = cpu_series
        .iter()
        .map(|s| s["metric"]["mode"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        modes.into_iter().collect::<Vec<_>>(),
        [
            "idle", "iowait", "irq", "nice", "softirq", "steal", "system", "user"
        ]
    );
    assert_eq!(
        vm.query(r#"node_load1{instance="e2e-host",tenant="acme"}"#)
            .len(),
        1
    );
    assert_eq!(
        vm.query_one(r#"peeper_agent_build_info{instance="e2e-host",tenant="acme",job="agent"}"#),
        Some(1.0)
    );
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_token_is_refused_and_writes_nothing() {
    let vm = VictoriaMetrics::start();
    let stack = Stack::start(&vm, "acme").await;
    let wrong = stack.dir.path().join("wrong.token");
    std::fs::write(
        &wrong,
        "peeper_00000000_notarealtokennotarealtokennotarealtoken0\n",
    )
    .unwrap();
    let output = run(stack.agent("intruder", &wrong).arg("--once"));
    assert!(
        !output.status.success(),
        "a refused push must exit non-zero"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("401") && stderr.contains("token"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("notarealtoken"),
        "the token must never be logged: {stderr}"
    );

    // Now a good push from another instance, so "nothing" is measured after a real write.
    let good = run(stack.agent("good", &stack.token_file).arg("--once"));
    assert!(good.status.success());
    vm.wait_for(r#"node_load1{instance="good"}"#, Duration::from_secs(20));
    assert!(vm.query(r#"{instance="intruder"}"#).is_empty());
    stack.stop().await;
}

/// Samples per timestamp of one series, from VictoriaMetrics' raw export.
fn exported_timestamps(vm: &VictoriaMetrics, selector: &str) -> Vec<i64> {
    vm.flush();
    let path = format!("/api/v1/export?match[]={}", support::url_encode(selector));
    let (status, body) = support::http_get(&vm.addr, &path).unwrap();
    assert_eq!(status, 200, "{body}");
    let mut stamps: Vec<i64> = body
        .lines()
        .filter(|l| !l.trim().is_empty())
        .flat_map(|line| {
            let json: serde_json::Value = serde_json::from_str(line).unwrap();
            json["timestamps"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t.as_i64().unwrap())
                .collect::<Vec<_>>()
        })
        .collect();
    stamps.sort();
    stamps
}

fn sigterm(child: &Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_store_down_the_agent_retries_and_nothing_is_lost() {
    let mut vm = VictoriaMetrics::start();
    let stack = Stack::start(&vm, "acme").await;
    let mut agent = stack
        .agent("outage", &stack.token_file)
        .args(["--interval", "1s"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let selector = r#"node_time_seconds{instance="outage"}"#;
    vm.wait_for(selector, Duration::from_secs(20));

    vm.stop();
    tokio::time::sleep(Duration::from_secs(6)).await;
    vm.restart();

    // Everything collected during the outage arrives once the store is back.
    let mut stamps = Vec::new();
    support::wait_until("the backlog to arrive", Duration::from_secs(60), || {
        stamps = exported_timestamps(&vm, selector);
        stamps.len() >= 12
    });
    sigterm(&agent);
    let status = agent.wait().unwrap();
    assert!(status.success(), "agent exits cleanly on SIGTERM");
    let stamps = exported_timestamps(&vm, selector);
    let gaps: Vec<i64> = stamps.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(
        gaps.iter().all(|&gap| gap <= 1_600),
        "a 1 s collector's samples must have no hole across a 6 s outage, got gaps {gaps:?}"
    );
    let mut stderr = String::new();
    std::io::Read::read_to_string(agent.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    assert!(
        stderr.contains("retrying"),
        "the outage is logged: {stderr}"
    );
    assert!(
        stderr.matches("push failed").count() == 1,
        "the outage is logged once, not every attempt: {stderr}"
    );
    stack.stop().await;
}

#[test]
fn once_print_shows_node_exporter_names_without_a_server() {
    let output = Command::new(AGENT)
        .env_remove("PEEPER_SERVER_URL")
        .args(["--once", "--print", "--instance", "printer"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout).unwrap();
    for expected in [
        "# TYPE node_cpu_seconds_total counter",
        "# TYPE node_memory_MemTotal_bytes gauge",
        "node_load1{",
        "node_filesystem_avail_bytes{",
        "node_network_receive_bytes_total{",
        "node_boot_time_seconds{",
        "node_uname_info{",
        r#"instance="printer""#,
        r#"job="linux""#,
    ] {
        assert!(text.contains(expected), "missing {expected} in:\n{text}");
    }
}

#[test]
fn bad_flags_exit_non_zero_with_the_fix() {
    let output = Command::new(AGENT)
        .env_remove("PEEPER_SERVER_URL")
        .args(["--once"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("--server") && stderr.contains("--print"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_status_result_from_cron_is_queryable_in_victoriametrics() {
    let vm = VictoriaMetrics::start();
    let stack = Stack::start(&vm, "acme").await;
    let ok = run(stack.agent("cron-host", &stack.token_file).args([
        "status",
        "backup.nightly",
        "OK",
        "--message",
        "12 GB in 4m",
        "--expect-every",
        "1d",
    ]));
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let err = run(stack.agent("cron-host", &stack.token_file).args([
        "status",
        "disk-check",
        "ERR",
        "--message",
        "sda1 at 97%",
    ]));
    assert!(
        err.status.success(),
        "{}",
        String::from_utf8_lossy(&err.stderr)
    );

    let selector = r#"{instance="cron-host",tenant="acme",job="checks"}"#;
    vm.wait_for(
        &format!("peeper_check_status{selector}"),
        Duration::from_secs(20),
    );
    let value = |q: &str| {
        let found = vm.wait_for(q, Duration::from_secs(20));
        found[0]["value"][1]
            .as_str()
            .unwrap()
            .parse::<f64>()
            .unwrap()
    };
    assert_eq!(
        value(r#"peeper_check_status{check="backup.nightly",tenant="acme"}"#),
        1.0
    );
    assert_eq!(
        value(r#"peeper_check_status{check="disk-check",tenant="acme"}"#),
        0.0
    );
    assert_eq!(
        value(r#"peeper_check_expected_interval_seconds{check="backup.nightly"}"#),
        86_400.0
    );
    assert_eq!(
        value(r#"peeper_check_message_info{check="disk-check",message="sda1 at 97%"}"#),
        1.0
    );
    let last = value(r#"peeper_check_last_run_timestamp_seconds{check="backup.nightly"}"#);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    assert!((now - last).abs() < 60.0, "last run {last} vs now {now}");

    let bad = run(stack
        .agent("cron-host", &stack.token_file)
        .args(["status", "x y", "OK"]));
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("x y"));
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configured_checks_reach_victoriametrics() {
    let vm = VictoriaMetrics::start();
    let stack = Stack::start(&vm, "acme").await;
    let config = stack.dir.path().join("agent.toml");
    std::fs::write(
        &config,
        "[linux]\nenabled = false\n\n[[checks]]\nname = \"always-ok\"\ncommand = \"echo fine\"\n\n\
         [[checks]]\nname = \"hangs\"\ncommand = \"sleep 30\"\ntimeout = \"500ms\"\n",
    )
    .unwrap();
    let output = run(stack
        .agent("checker", &stack.token_file)
        .arg("--config")
        .arg(&config)
        .arg("--once"));
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    vm.wait_for(
        r#"peeper_check_status{instance="checker"}"#,
        Duration::from_secs(20),
    );
    assert_eq!(
        vm.query_one(r#"peeper_check_status{instance="checker",check="always-ok"}"#),
        Some(1.0)
    );
    assert_eq!(
        vm.query_one(r#"peeper_check_status{instance="checker",check="hangs"}"#),
        Some(0.0)
    );
    assert!(
        vm.query(r#"node_load1{instance="checker"}"#).is_empty(),
        "linux was switched off"
    );
    stack.stop().await;
}
