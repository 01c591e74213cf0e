//! The conversions from the engine's JSON to families, with recorded answers of cgroup v1
//! and v2 engines (the live engine is tested in `agent/tests/docker.rs`).

use super::DockerError;
use super::metrics::{self, Families};
use super::text;
use bollard::models::{ContainerInspectResponse, ContainerStatsResponse, ContainerSummary};
use peeper_proto::MetricFamily;
use peeper_proto::model::family;
use peeper_test_support::value;
use std::path::PathBuf;

const LABELS: [(&str, &str); 3] = [("name", "web"), ("image", "nginx:1"), ("id", "/docker/abc")];

/// `stats?stream=false&one-shot=true` of a cgroup v2 engine, trimmed.
const STATS_V2: &str = r#"{"read":"2024-05-01T10:00:00Z","cpu_stats":{"cpu_usage":{"total_usage":2500000000,"usage_in_kernelmode":500000000,"usage_in_usermode":2000000000},"system_cpu_usage":1,"online_cpus":2,"throttling_data":{"periods":100,"throttled_periods":7,"throttled_time":350000000}},"memory_stats":{"usage":10485760,"stats":{"anon":4194304,"file":6291456,"inactive_file":2097152,"active_file":4194304},"limit":67108864},"networks":{"eth0":{"rx_bytes":1000,"rx_packets":10,"rx_errors":1,"rx_dropped":2,"tx_bytes":2000,"tx_packets":20,"tx_errors":3,"tx_dropped":4}},"blkio_stats":{"io_service_bytes_recursive":[{"major":8,"minor":0,"op":"read","value":4096},{"major":8,"minor":0,"op":"write","value":8192}],"io_serviced_recursive":[{"major":8,"minor":0,"op":"read","value":1},{"major":8,"minor":0,"op":"write","value":2}]}}"#;

/// The same of a cgroup v1 engine (Docker 20.10), trimmed.
const STATS_V1: &str = r#"{"cpu_stats":{"cpu_usage":{"total_usage":15877838,"percpu_usage":[6657464,9220374],"usage_in_kernelmode":0,"usage_in_usermode":10000000},"throttling_data":{"periods":0,"throttled_periods":0,"throttled_time":0}},"memory_stats":{"usage":327680,"max_usage":4100096,"stats":{"cache":0,"rss":57344,"total_cache":8192,"total_inactive_file":4096,"total_rss":57344,"swap":0,"total_swap":1024},"failcnt":2,"limit":25276514304},"blkio_stats":{"io_service_bytes_recursive":[{"major":8,"minor":16,"op":"Read","value":100},{"major":8,"minor":16,"op":"Write","value":200},{"major":8,"minor":16,"op":"Sync","value":300},{"major":8,"minor":16,"op":"Total","value":300}]}}"#;

fn stats(json: &str) -> Vec<MetricFamily> {
    let stats: ContainerStatsResponse = serde_json::from_str(json).unwrap();
    let mut out = Families::default();
    metrics::add_stats(&mut out, &LABELS, &stats, |major, minor| {
        format!("/dev/{major}:{minor}")
    });
    out.into_vec()
}

#[test]
fn cgroup_v2_stats_become_cadvisor_families() {
    let out = stats(STATS_V2);
    assert_eq!(
        value(
            &out,
            "container_cpu_usage_seconds_total",
            &[("name", "web"), ("cpu", "total")]
        ),
        2.5
    );
    assert_eq!(
        value(&out, "container_cpu_user_seconds_total", &LABELS),
        2.0
    );
    assert_eq!(
        value(&out, "container_cpu_system_seconds_total", &LABELS),
        0.5
    );
    assert_eq!(
        value(&out, "container_cpu_cfs_periods_total", &LABELS),
        100.0
    );
    assert_eq!(
        value(&out, "container_cpu_cfs_throttled_periods_total", &LABELS),
        7.0
    );
    assert_eq!(
        value(&out, "container_cpu_cfs_throttled_seconds_total", &LABELS),
        0.35
    );
    assert_eq!(
        value(&out, "container_memory_usage_bytes", &LABELS),
        10485760.0
    );
    assert_eq!(
        value(&out, "container_memory_working_set_bytes", &LABELS),
        8388608.0
    );
    assert_eq!(value(&out, "container_memory_rss", &LABELS), 4194304.0);
    assert_eq!(value(&out, "container_memory_cache", &LABELS), 6291456.0);
    assert_eq!(value(&out, "container_memory_failcnt", &LABELS), 0.0);
    let eth0 = [("name", "web"), ("interface", "eth0")];
    assert_eq!(
        value(&out, "container_network_receive_bytes_total", &eth0),
        1000.0
    );
    assert_eq!(
        value(&out, "container_network_receive_packets_total", &eth0),
        10.0
    );
    assert_eq!(
        value(&out, "container_network_receive_errors_total", &eth0),
        1.0
    );
    assert_eq!(
        value(
            &out,
            "container_network_receive_packets_dropped_total",
            &eth0
        ),
        2.0
    );
    assert_eq!(
        value(&out, "container_network_transmit_bytes_total", &eth0),
        2000.0
    );
    assert_eq!(
        value(
            &out,
            "container_network_transmit_packets_dropped_total",
            &eth0
        ),
        4.0
    );
    let disk = [("name", "web"), ("device", "/dev/8:0")];
    assert_eq!(value(&out, "container_fs_reads_bytes_total", &disk), 4096.0);
    assert_eq!(
        value(&out, "container_fs_writes_bytes_total", &disk),
        8192.0
    );
    assert_eq!(value(&out, "container_fs_reads_total", &disk), 1.0);
    assert_eq!(value(&out, "container_fs_writes_total", &disk), 2.0);
    assert_eq!(
        family(&out, "container_cpu_usage_seconds_total")
            .unwrap()
            .kind
            .as_str(),
        "counter"
    );
    assert_eq!(
        family(&out, "container_memory_rss").unwrap().kind.as_str(),
        "gauge"
    );
}

#[test]
fn cgroup_v1_stats_use_the_hierarchical_totals() {
    let out = stats(STATS_V1);
    assert_eq!(
        value(&out, "container_memory_working_set_bytes", &LABELS),
        (327680 - 4096) as f64
    );
    assert_eq!(value(&out, "container_memory_cache", &LABELS), 8192.0);
    assert_eq!(value(&out, "container_memory_swap", &LABELS), 1024.0);
    assert_eq!(value(&out, "container_memory_failcnt", &LABELS), 2.0);
    assert_eq!(
        value(&out, "container_memory_max_usage_bytes", &LABELS),
        4100096.0
    );
    // Sync and Total are not reads or writes.
    let disk = [("device", "/dev/8:16")];
    assert_eq!(value(&out, "container_fs_reads_bytes_total", &disk), 100.0);
    assert_eq!(value(&out, "container_fs_writes_bytes_total", &disk), 200.0);
    // No CPU quota: no CFS families, as cAdvisor.
    assert!(family(&out, "container_cpu_cfs_periods_total").is_none());
    assert!(family(&out, "container_network_receive_bytes_total").is_none());
}

#[test]
fn listed_containers_give_labels_state_health_and_exit_code() {
    let json = r#"[
      {"Id":"abc","Names":["/web"],"Image":"nginx:1","State":"running","Status":"Up 3 minutes (healthy)","Labels":{"com.docker.compose.project":"shop","other":"x"}},
      {"Id":"def","Names":["/job"],"Image":"busybox","State":"exited","Status":"Exited (137) 2 hours ago","Labels":{}}
    ]"#;
    let list: Vec<ContainerSummary> = serde_json::from_str(json).unwrap();
    let wanted = vec!["com.docker.compose.project".to_owned()];
    let web = metrics::container_labels(&list[0], false, &wanted);
    assert_eq!(
        web,
        [
            ("name", "web"),
            ("image", "nginx:1"),
            ("id", "/docker/abc"),
            ("container_label_com_docker_compose_project", "shop"),
        ]
        .map(|(n, v)| (n.to_owned(), v.to_owned()))
    );
    assert_eq!(
        metrics::container_labels(&list[1], true, &wanted)[2].1,
        "/system.slice/docker-def.scope"
    );

    let mut out = Families::default();
    for summary in &list {
        let labels = metrics::container_labels(summary, false, &[]);
        let labels: Vec<(&str, &str)> = labels
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        metrics::add_state(&mut out, &labels, summary);
    }
    let out = out.into_vec();
    assert_eq!(
        family(&out, "container_state").unwrap().series.len(),
        2 * metrics::STATES.len()
    );
    assert_eq!(
        value(
            &out,
            "container_state",
            &[("name", "web"), ("state", "running")]
        ),
        1.0
    );
    assert_eq!(
        value(
            &out,
            "container_state",
            &[("name", "job"), ("state", "exited")]
        ),
        1.0
    );
    assert_eq!(
        value(
            &out,
            "container_state",
            &[("name", "job"), ("state", "running")]
        ),
        0.0
    );
    assert_eq!(
        value(&out, "container_exit_code", &[("name", "job")]),
        137.0
    );
    assert!(
        family(&out, "container_exit_code")
            .unwrap()
            .find(&[("name", "web")])
            .is_none()
    );
    assert_eq!(
        value(
            &out,
            "container_health_status",
            &[("name", "web"), ("status", "healthy")]
        ),
        1.0
    );
    assert_eq!(
        value(
            &out,
            "container_health_status",
            &[("name", "web"), ("status", "starting")]
        ),
        0.0
    );
    assert!(
        family(&out, "container_health_status")
            .unwrap()
            .find(&[("name", "job")])
            .is_none()
    );
}

#[test]
fn inspect_gives_start_time_restarts_and_memory_limit() {
    let json = r#"{"Id":"abc","RestartCount":2,"State":{"Status":"running","StartedAt":"2024-05-01T10:00:00.5Z"},"HostConfig":{"Memory":67108864}}"#;
    let inspect: ContainerInspectResponse = serde_json::from_str(json).unwrap();
    let mut out = Families::default();
    metrics::add_inspect(&mut out, &LABELS, &inspect);
    let out = out.into_vec();
    assert_eq!(
        value(&out, "container_start_time_seconds", &LABELS),
        1714557600.5
    );
    assert_eq!(value(&out, "container_restart_count", &LABELS), 2.0);
    assert_eq!(
        value(&out, "container_spec_memory_limit_bytes", &LABELS),
        67108864.0
    );
}

#[test]
fn status_texts_and_times() {
    assert_eq!(
        text::exit_code("Exited (0) Less than a second ago"),
        Some(0.0)
    );
    assert_eq!(text::exit_code("Exited (3) 5 minutes ago"), Some(3.0));
    assert_eq!(text::exit_code("Up 2 hours"), None);
    assert_eq!(text::exit_code("Created"), None);
    assert_eq!(
        text::health_from_status("Up 1 second (health: starting)"),
        Some("starting")
    );
    assert_eq!(
        text::health_from_status("Up 1 hour (unhealthy)"),
        Some("unhealthy")
    );
    assert_eq!(text::health_from_status("Up 1 hour"), None);
    assert_eq!(text::parse_rfc3339("1970-01-01T00:00:00Z"), Some(0.0));
    assert_eq!(
        text::parse_rfc3339("2024-02-29T23:59:59Z"),
        Some(1709251199.0)
    );
    assert_eq!(
        text::parse_rfc3339("2024-05-01T12:00:00+02:00"),
        Some(1714557600.0)
    );
    assert_eq!(text::parse_rfc3339("0001-01-01T00:00:00Z"), None);
    assert_eq!(text::parse_rfc3339("yesterday"), None);
    assert_eq!(
        text::sanitize("com.docker.compose.project"),
        "com_docker_compose_project"
    );
}

#[test]
fn engine_totals_cover_every_state() {
    let mut states = std::collections::HashMap::new();
    states.insert("running".to_owned(), 3);
    let mut out = Families::default();
    metrics::add_engine(&mut out, &states, Some(12));
    let out = out.into_vec();
    assert_eq!(
        family(&out, "docker_containers").unwrap().series.len(),
        metrics::STATES.len()
    );
    assert_eq!(
        value(&out, "docker_containers", &[("state", "running")]),
        3.0
    );
    assert_eq!(value(&out, "docker_containers", &[("state", "dead")]), 0.0);
    assert_eq!(value(&out, "docker_images", &[]), 12.0);
}

#[test]
fn socket_errors_name_the_fix() {
    let path = PathBuf::from("/var/run/docker.sock");
    let denied = DockerError::PermissionDenied(path.clone()).to_string();
    assert!(
        denied.contains("`docker` group") && denied.contains("/var/run/docker.sock"),
        "{denied}"
    );
    let missing = DockerError::SocketMissing(path).to_string();
    assert!(missing.contains("PEEPER_DOCKER_SOCKET"), "{missing}");
}
