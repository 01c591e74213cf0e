use super::config::CheckEntry;
use super::*;
use crate::collector::CollectorConfig;

fn check(name: &str, command: &str, timeout: Duration) -> Check {
    Check {
        name: name.into(),
        command: command.into(),
        interval: Some(Duration::from_secs(15)),
        timeout,
    }
}

/// Runs a check within its own timeout.
async fn run_own(check: &Check) -> CheckResult {
    run_check(check, check.timeout).await
}

#[tokio::test]
async fn exit_status_and_first_line_make_the_result() {
    let ok = run_own(&check(
        "ok",
        "echo '  all good'; echo second line",
        Duration::from_secs(5),
    ))
    .await;
    assert!(ok.ok);
    assert_eq!(ok.message, "all good");

    let err = run_own(&check(
        "err",
        "echo 'disk full' >&2; exit 3",
        Duration::from_secs(5),
    ))
    .await;
    assert!(!err.ok);
    assert_eq!(err.message, "disk full");

    let silent = run_own(&check("silent", "exit 1", Duration::from_secs(5))).await;
    assert!(!silent.ok);
    assert!(
        silent.message.contains("exit status: 1"),
        "{}",
        silent.message
    );
}

#[tokio::test]
async fn a_hanging_command_is_killed_at_its_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("survived");
    let command = format!("sleep 3; touch {}", marker.display());
    let start = Instant::now();
    let result = run_own(&check("hang", &command, Duration::from_millis(300))).await;
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "took {:?}",
        start.elapsed()
    );
    assert!(!result.ok);
    assert!(result.message.contains("timed out"), "{}", result.message);
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert!(
        !marker.exists(),
        "the killed command must not finish its work"
    );
}

#[tokio::test]
async fn collector_reports_status_and_runs_each_check_on_its_interval() {
    let dir = tempfile::tempdir().unwrap();
    let counter = dir.path().join("runs");
    let config = ChecksConfig {
        enabled: true,
        checks: vec![
            check(
                "good",
                &format!("echo x >> {}; echo fine", counter.display()),
                Duration::from_secs(5),
            ),
            check("bad", "echo broken; exit 2", Duration::from_secs(5)),
        ],
    };
    let mut collector = ChecksCollector::new(&config);
    let families = collector.collect(Cycle::standard()).await.unwrap();
    let status = peeper_proto::model::family(&families, "peeper_check_status").unwrap();
    assert_eq!(status.find(&[("check", "good")]).unwrap().value, 1.0);
    assert_eq!(status.find(&[("check", "bad")]).unwrap().value, 0.0);
    let message = peeper_proto::model::family(&families, "peeper_check_message_info").unwrap();
    assert!(
        message
            .find(&[("check", "bad"), ("message", "broken")])
            .is_some()
    );
    let last_run =
        peeper_proto::model::family(&families, "peeper_check_last_run_timestamp_seconds").unwrap();
    assert!((last_run.series[0].value - unix_now()).abs() < 5.0);

    // A second cycle within the interval reports the last result without running again.
    let again = collector.collect(Cycle::standard()).await.unwrap();
    assert_eq!(
        peeper_proto::model::family(&again, "peeper_check_status")
            .unwrap()
            .series
            .len(),
        2
    );
    assert_eq!(
        std::fs::read_to_string(&counter).unwrap().lines().count(),
        1
    );
}

#[tokio::test]
async fn a_check_is_cut_short_by_the_end_of_the_cycle() {
    let config = ChecksConfig {
        enabled: true,
        checks: vec![check("slow", "sleep 30", Duration::from_secs(3600))],
    };
    let mut collector = ChecksCollector::new(&config);
    let start = std::time::Instant::now();
    let cycle = Cycle::starting_now(Duration::from_secs(15), Duration::from_millis(500));
    let families = collector.collect(cycle).await.unwrap();
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
    let status = peeper_proto::model::family(&families, "peeper_check_status").unwrap();
    assert_eq!(status.find(&[("check", "slow")]).unwrap().value, 0.0);
}

#[test]
fn a_pushed_result_has_no_duration_series() {
    let pushed = CheckResult {
        ok: false,
        message: "disk full".into(),
        finished_at: 1.0,
        duration: None,
    };
    let names = |families: Vec<MetricFamily>| -> Vec<String> {
        families.into_iter().map(|f| f.name).collect()
    };
    let hourly = Some(Duration::from_secs(3600));
    assert_eq!(
        names(result_families(&[("backup", &pushed)], hourly)),
        [
            names::CHECK_STATUS,
            names::CHECK_LAST_RUN,
            names::CHECK_MESSAGE,
            names::CHECK_EXPECTED_INTERVAL
        ]
    );
    let run = CheckResult {
        duration: Some(Duration::from_millis(20)),
        ..pushed
    };
    assert_eq!(
        names(result_families(&[("backup", &run)], None)),
        [
            names::CHECK_STATUS,
            names::CHECK_LAST_RUN,
            "peeper_check_duration_seconds",
            names::CHECK_MESSAGE
        ]
    );
    assert!(result_families(&[], hourly).is_empty());
}

#[test]
fn a_message_is_the_first_non_empty_line_trimmed_and_capped() {
    assert_eq!(
        message_text("\n  disk full  \nmore"),
        Some("disk full".into())
    );
    assert_eq!(message_text(" \n\t\n"), None);
    let long = message_text(&"é".repeat(300)).unwrap();
    assert_eq!(long.chars().count(), 200);
}

#[test]
fn config_validates_names_and_caps_timeouts() {
    let no_env = |_: &str| None;
    let entry = |name: &str, timeout: Option<&str>| CheckEntry {
        name: name.into(),
        command: "true".into(),
        interval: Some("1m".parse().unwrap()),
        timeout: timeout.map(|t| t.parse().unwrap()),
    };
    let config =
        ChecksConfig::resolve(Some(vec![entry("backup.nightly", Some("1h"))]), &no_env).unwrap();
    assert!(config.enabled);
    assert_eq!(config.checks[0].interval, Some(Duration::from_secs(60)));
    // The end of the cycle cuts it shorter: a_check_is_cut_short_by_the_end_of_the_cycle.
    assert_eq!(config.checks[0].timeout, Duration::from_secs(3600));

    let err = ChecksConfig::resolve(Some(vec![entry("bad name!", None)]), &no_env)
        .unwrap_err()
        .to_string();
    assert!(err.contains("bad name!"), "{err}");
    let err = ChecksConfig::resolve(Some(vec![entry("a", None), entry("a", None)]), &no_env)
        .unwrap_err()
        .to_string();
    assert!(err.contains("unique"), "{err}");

    let on = |name: &str| (name == "PEEPER_CHECKS_ENABLED").then(|| "true".to_owned());
    let err = ChecksConfig::resolve(Some(vec![]), &on)
        .unwrap_err()
        .to_string();
    assert!(err.contains("[[checks]]"), "{err}");
}
