//! The parser against pages captured from the real apache2 2.4 of Debian 12 with each MPM
//! (`fixtures/`), and against edge cases.

use super::*;
use peeper_proto::MetricKind;
use peeper_proto::model::family;
use peeper_test_support::value;

const PREFORK: &str = include_str!("fixtures/prefork.txt");
const WORKER: &str = include_str!("fixtures/worker.txt");
/// Event MPM with a proxy balancer (`ProxyStatus Full`), one member up and one refused.
const EVENT: &str = include_str!("fixtures/event.txt");

fn board_sum(families: &[MetricFamily]) -> f64 {
    family(families, "apache_scoreboard")
        .unwrap()
        .series
        .iter()
        .map(|s| s.value)
        .sum()
}

#[test]
fn prefork_page() {
    let status = parse(PREFORK).unwrap();
    assert_eq!(status.mpm.as_deref(), Some("prefork"));
    let f = families(&status);
    assert_eq!(value(&f, "apache_accesses_total", &[]), 101.0);
    assert_eq!(value(&f, "apache_sent_kilobytes_total", &[]), 38.0);
    assert_eq!(value(&f, "apache_duration_ms_total", &[]), 13.0);
    assert_eq!(value(&f, "apache_uptime_seconds_total", &[]), 4.0);
    assert_eq!(value(&f, "apache_workers", &[("state", "busy")]), 1.0);
    assert_eq!(value(&f, "apache_workers", &[("state", "idle")]), 1.0);
    assert_eq!(value(&f, "apache_load", &[("interval", "1min")]), 2.84);
    assert_eq!(value(&f, "apache_load", &[("interval", "15min")]), 1.87);
    assert_eq!(value(&f, "apache_generation", &[("type", "config")]), 1.0);
    assert_eq!(value(&f, "apache_generation", &[("type", "mpm")]), 0.0);
    assert_eq!(
        value(&f, "apache_cpu_time_ms_total", &[("type", "user")]),
        0.0
    );
    // No CPULoad line on this page: the gauge is still there, at 0.
    assert_eq!(value(&f, "apache_cpuload", &[]), 0.0);
    // "_W......": 8 slots (ServerLimit 8).
    assert_eq!(value(&f, "apache_scoreboard", &[("state", "idle")]), 1.0);
    assert_eq!(value(&f, "apache_scoreboard", &[("state", "reply")]), 1.0);
    assert_eq!(
        value(&f, "apache_scoreboard", &[("state", "open_slot")]),
        6.0
    );
    assert_eq!(board_sum(&f), 8.0);
    // Prefork has no Processes or Conns lines.
    assert!(family(&f, "apache_processes").is_none());
    assert!(family(&f, "apache_connections").is_none());
    assert!(family(&f, "apache_proxy_balancer_status").is_none());
}

#[test]
fn worker_page() {
    let f = families(&parse(WORKER).unwrap());
    assert_eq!(
        value(
            &f,
            "apache_info",
            &[("version", "Apache/2.4.71 (Debian)"), ("mpm", "worker")]
        ),
        1.0
    );
    assert_eq!(value(&f, "apache_version", &[]), 2.04071);
    assert_eq!(value(&f, "apache_accesses_total", &[]), 100.0);
    assert_eq!(value(&f, "apache_workers", &[("state", "idle")]), 3.0);
    assert_eq!(value(&f, "apache_scoreboard", &[("state", "idle")]), 3.0);
    assert_eq!(
        value(&f, "apache_scoreboard", &[("state", "open_slot")]),
        4.0
    );
    // ServerLimit 2 x ThreadsPerChild 4.
    assert_eq!(board_sum(&f), 8.0);
}

#[test]
fn event_page_with_connections_and_balancer() {
    let status = parse(EVENT).unwrap();
    assert_eq!(status.mpm.as_deref(), Some("event"));
    let f = families(&status);
    assert_eq!(value(&f, "apache_accesses_total", &[]), 150.0);
    assert_eq!(
        value(&f, "apache_cpu_time_ms_total", &[("type", "user")]),
        20.0
    );
    assert_eq!(
        value(&f, "apache_cpu_time_ms_total", &[("type", "system")]),
        0.0
    );
    assert_eq!(value(&f, "apache_cpuload", &[]), 1.0);
    assert_eq!(value(&f, "apache_processes", &[("state", "all")]), 1.0);
    assert_eq!(value(&f, "apache_processes", &[("state", "stopping")]), 0.0);
    for state in ["total", "writing", "keepalive", "closing"] {
        assert_eq!(value(&f, "apache_connections", &[("state", state)]), 0.0);
    }
    assert_eq!(family(&f, "apache_connections").unwrap().series.len(), 4);
    assert_eq!(board_sum(&f), 8.0);

    let ok = [
        ("balancer", "balancer://backend"),
        ("worker", "http://127.0.0.1:18083/www"),
    ];
    let refused = [
        ("balancer", "balancer://backend"),
        ("worker", "http://127.0.0.1:9/"),
    ];
    let status_ok = [ok[0], ok[1], ("status", "Init Ok")];
    assert_eq!(value(&f, "apache_proxy_balancer_status", &status_ok), 1.0);
    let status_err = [refused[0], refused[1], ("status", "Init Err")];
    assert_eq!(value(&f, "apache_proxy_balancer_status", &status_err), 1.0);
    assert_eq!(value(&f, "apache_proxy_balancer_accesses_total", &ok), 50.0);
    assert_eq!(
        value(&f, "apache_proxy_balancer_accesses_total", &refused),
        1.0
    );
    assert_eq!(value(&f, "apache_proxy_balancer_busy", &ok), 0.0);
    assert_eq!(
        value(&f, "apache_proxy_balancer_request_kbytes_total", &ok),
        10.0
    );
    assert_eq!(
        value(&f, "apache_proxy_balancer_response_kbytes_total", &ok),
        12.0
    );
    assert_eq!(
        value(&f, "apache_proxy_balancer_response_kbytes_total", &refused),
        0.0
    );
}

#[test]
fn types_and_help_follow_apache_exporter() {
    let f = families(&parse(EVENT).unwrap());
    let expect = [
        ("apache_version", MetricKind::Gauge, "Apache server version"),
        (
            "apache_info",
            MetricKind::Gauge,
            "Apache version information",
        ),
        (
            "apache_generation",
            MetricKind::Gauge,
            "Apache restart generation",
        ),
        ("apache_load", MetricKind::Gauge, "Apache server load"),
        (
            "apache_accesses_total",
            MetricKind::Counter,
            "Current total apache accesses (*)",
        ),
        (
            "apache_sent_kilobytes_total",
            MetricKind::Counter,
            "Current total kbytes sent (*)",
        ),
        (
            "apache_duration_ms_total",
            MetricKind::Counter,
            "Total duration of all registered requests in ms",
        ),
        (
            "apache_cpu_time_ms_total",
            MetricKind::Counter,
            "Apache CPU time",
        ),
        (
            "apache_uptime_seconds_total",
            MetricKind::Counter,
            "Current uptime in seconds (*)",
        ),
        (
            "apache_workers",
            MetricKind::Gauge,
            "Apache worker statuses",
        ),
        (
            "apache_processes",
            MetricKind::Gauge,
            "Apache process count",
        ),
        (
            "apache_connections",
            MetricKind::Gauge,
            "Apache connection statuses",
        ),
        (
            "apache_scoreboard",
            MetricKind::Gauge,
            "Apache scoreboard statuses",
        ),
        (
            "apache_proxy_balancer_status",
            MetricKind::Gauge,
            "Apache Proxy Balancer Statuses",
        ),
        (
            "apache_proxy_balancer_accesses_total",
            MetricKind::Counter,
            "Apache Proxy Balancer Request Count",
        ),
        (
            "apache_proxy_balancer_busy",
            MetricKind::Gauge,
            "Apache Proxy Balancer Active Requests",
        ),
    ];
    for (name, kind, help) in expect {
        let fam = family(&f, name).unwrap_or_else(|| panic!("{name} missing"));
        assert_eq!(fam.kind, kind, "{name}");
        assert_eq!(fam.help, help, "{name}");
    }
    assert!(
        family(&f, "apache_cpuload")
            .unwrap()
            .help
            .starts_with("The current percentage CPU")
    );
}

#[test]
fn scoreboard_has_all_states_and_counts_unknown_characters() {
    let board = scoreboard("");
    assert_eq!(board.len(), 11);
    assert!(board.iter().all(|(_, v)| *v == 0.0));
    for (c, state) in SCOREBOARD_STATES {
        let board = scoreboard(&c.to_string());
        let hit: Vec<_> = board.iter().filter(|(_, v)| *v == 1.0).collect();
        assert_eq!(hit, [&(state.to_owned(), 1.0)]);
    }
    let board = scoreboard("_SRWKDCLGI.__XX?");
    assert_eq!(board.len(), 13);
    assert_eq!(board[0], ("idle".to_owned(), 3.0));
    assert_eq!(board[11], ("X".to_owned(), 2.0));
    assert_eq!(board[12], ("?".to_owned(), 1.0));
    assert_eq!(board.iter().map(|(_, v)| v).sum::<f64>(), 16.0);
}

#[test]
fn version_numbers() {
    assert_eq!(version_number("Apache/2.4.71 (Debian)"), Some(2.04071));
    assert_eq!(version_number("Apache/2.4.6"), Some(2.04006));
    assert_eq!(version_number("Apache/2.2.34 (Unix)"), Some(2.02034));
    // ServerTokens Prod: no number, no apache_version, and no failure.
    assert_eq!(version_number("Apache"), None);
    let status = parse("ServerVersion: Apache\nBusyWorkers: 1\n").unwrap();
    let f = families(&status);
    assert!(family(&f, "apache_version").is_none());
    assert_eq!(
        value(
            &f,
            "apache_info",
            &[("version", "Apache"), ("mpm", "UNKNOWN")]
        ),
        1.0
    );
}

#[test]
fn extended_status_off_still_parses() {
    // Without ExtendedStatus the page has no totals, but workers and the scoreboard.
    let page = "127.0.0.1\nServerVersion: Apache/2.4.71 (Debian)\nServerMPM: event\nBusyWorkers: 1\nIdleWorkers: 3\nScoreboard: _W__....\n";
    let f = families(&parse(page).unwrap());
    assert!(family(&f, "apache_accesses_total").is_none());
    assert!(family(&f, "apache_cpu_time_ms_total").is_none());
    assert_eq!(board_sum(&f), 8.0);
}

#[test]
fn rejects_pages_that_are_not_status_pages() {
    let html = "<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 3.2 Final//EN\">\n<html><head>\n<title>Apache Status</title>\n</head><body>\n<h1>Apache Server Status for 127.0.0.1 (via 127.0.0.1)</h1>\n";
    assert!(matches!(parse(html), Err(ApacheError::NotStatusPage)));
    assert!(matches!(parse(""), Err(ApacheError::NotStatusPage)));
    let bad = "Total Accesses: many\nScoreboard: _\n";
    match parse(bad) {
        Err(ApacheError::Parse { key, value }) => {
            assert_eq!(key, "Total Accesses");
            assert_eq!(value, "many");
        }
        other => panic!("expected a parse error, got {other:?}"),
    }
}

#[test]
fn balancer_lines_without_a_name_use_unknown() {
    let page =
        "Scoreboard: _\nProxyBalancer[0]Worker[0]Elected: 3\nProxyBalancer[0]Worker[0]Sent: 5k\n";
    let f = families(&parse(page).unwrap());
    let labels = [("balancer", "UNKNOWN"), ("worker", "UNKNOWN")];
    assert_eq!(
        value(&f, "apache_proxy_balancer_accesses_total", &labels),
        3.0
    );
    assert_eq!(
        value(&f, "apache_proxy_balancer_request_kbytes_total", &labels),
        5.0
    );
}

#[tokio::test]
async fn silent_server_is_up_zero_after_the_request_timeout() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    // Accepts the TCP connection but never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let hold = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let mut collector = ApacheCollector::new(&ApacheConfig {
        url: format!("http://{addr}/server-status?auto"),
        ..ApacheConfig::default()
    });
    let start = std::time::Instant::now();
    let f = collector.collect_now().await;
    assert_eq!(value(&f, "apache_up", &[]), 0.0);
    assert_eq!(value(&f, "apache_exporter_scrape_failures_total", &[]), 1.0);
    assert!(
        start.elapsed()
            < crate::collector::status_page::REQUEST_TIMEOUT + std::time::Duration::from_secs(2)
    );
    hold.abort();
}
