//! The textfile collector side by side with node_exporter 1.5's (`prometheus-node-exporter
//! --collector.textfile.directory`) reading the same directory: the same series with the
//! same values, help texts and types, the same `node_textfile_*` series; and the real agent
//! binary picking the directory up by `PEEPER_TEXTFILE_DIR` alone.

mod support;

use peeper_agent::collector::CollectorConfig;
use peeper_agent::collector::textfile::TextfileConfig;
use peeper_proto::exposition::{TextType, parse_text};
use peeper_proto::{MetricFamily, MetricKind};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use support::collect;
use support::node_exporter::NodeExporter;

/// Files as cron jobs write them, and the mistakes node_exporter skips.
const FILES: [(&str, &str); 8] = [
    (
        "backup.prom",
        "# HELP backup_last_success_timestamp_seconds When the backup last succeeded.\n\
         # TYPE backup_last_success_timestamp_seconds gauge\n\
         backup_last_success_timestamp_seconds{kind=\"full\"} 1.7e+09\n\
         backup_last_success_timestamp_seconds{kind=\"incremental\",target=\"s3\"} 1700003600\n\
         # TYPE backup_bytes_total counter\n\
         backup_bytes_total 123456789\n\
         backup_no_help_or_type{path=\"C:\\\\dir \\\"x\\\"\\nnext\"} -0.5\n",
    ),
    (
        "durations.prom",
        "# HELP task_seconds How long the task ran.\n# TYPE task_seconds histogram\n\
         task_seconds_bucket{le=\"1\"} 3\ntask_seconds_bucket{le=\"10\"} 5\n\
         task_seconds_bucket{le=\"+Inf\"} 6\ntask_seconds_sum 42.5\ntask_seconds_count 6\n\
         # HELP lag_seconds Replication lag.\n# TYPE lag_seconds summary\n\
         lag_seconds{quantile=\"0.5\"} 0.25\nlag_seconds{quantile=\"0.99\"} 3\n\
         lag_seconds_sum 120\nlag_seconds_count 400\n",
    ),
    // The same family in a second file, same help and type: merged.
    (
        "second.prom",
        "# HELP backup_last_success_timestamp_seconds When the backup last succeeded.\n\
         # TYPE backup_last_success_timestamp_seconds gauge\n\
         backup_last_success_timestamp_seconds{kind=\"logs\"} 1700007200\n\
         job_labelled{job=\"nightly\",instance=\"db-1\"} 1\n\
         special_values{v=\"nan\"} NaN\nspecial_values{v=\"inf\"} +Inf\n",
    ),
    ("broken.prom", "valid_but_lost 1\nbroken{ 1\n"),
    ("stamped.prom", "with_timestamp 1 1700000000000\n"),
    ("notes.txt", "not_a_prom_file 1\n"),
    ("job.prom.tmp", "being_written 1\n"),
    ("empty.prom", ""),
];

fn write_files(dir: &Path) {
    for (name, text) in FILES {
        std::fs::write(dir.join(name), text).unwrap();
    }
}

/// A series as the store keeps it: name and labels (empty ones are absent; a series' own
/// `job` and `instance` become `exported_*` when Prometheus scrapes node_exporter) with its
/// value, help and type (histograms and summaries are untyped in the agent's model).
type Stored = BTreeMap<String, (String, String, &'static str)>;

fn key(name: &str, labels: &[(String, String)]) -> String {
    let mut labels: Vec<(String, String)> = labels
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(n, v)| match n.as_str() {
            "job" | "instance" => (format!("exported_{n}"), v.clone()),
            _ => (n.clone(), v.clone()),
        })
        .collect();
    labels.sort();
    format!("{name}{labels:?}")
}

fn ours(families: &[MetricFamily]) -> Stored {
    let mut out = Stored::new();
    for family in families {
        for series in &family.series {
            let entry = (
                format!("{:?}", series.value),
                family.help.clone(),
                family.kind.as_str(),
            );
            assert!(
                out.insert(key(&family.name, &series.labels), entry)
                    .is_none()
            );
        }
    }
    out
}

fn theirs(text: &str) -> Stored {
    let mut out = Stored::new();
    let families = parse_text(text).unwrap_or_else(|e| panic!("{e}:\n{text}"));
    // node_exporter's own series: its build, its collectors, its HTTP handler.
    let own = |name: &str| {
        name == "node_exporter_build_info"
            || name.starts_with("node_scrape_collector_")
            || name.starts_with("promhttp_")
    };
    for family in families.iter().filter(|f| !own(&f.name)) {
        let kind = match family.kind {
            TextType::Counter => MetricKind::Counter,
            TextType::Gauge => MetricKind::Gauge,
            _ => MetricKind::Untyped,
        };
        for sample in &family.samples {
            let entry = (
                format!("{:?}", sample.value),
                family.help.clone().unwrap_or_default(),
                kind.as_str(),
            );
            out.insert(key(&sample.name, &sample.labels), entry);
        }
    }
    out
}

#[tokio::test]
async fn the_agent_reports_what_node_exporter_reports() {
    let dir = tempfile::tempdir().unwrap();
    write_files(dir.path());
    let exporter = NodeExporter::start(&[
        "--collector.textfile",
        &format!("--collector.textfile.directory={}", dir.path().display()),
    ]);
    let config = TextfileConfig {
        enabled: true,
        dir: dir.path().to_owned(),
    };
    let mut collector = config.build();
    let ours = ours(&collect(collector.as_mut()).await);
    let theirs = theirs(&exporter.metrics());
    let only_theirs: Vec<_> = theirs.keys().filter(|k| !ours.contains_key(*k)).collect();
    let only_ours: Vec<_> = ours.keys().filter(|k| !theirs.contains_key(*k)).collect();
    assert!(
        only_theirs.is_empty() && only_ours.is_empty(),
        "only node_exporter's: {only_theirs:#?}\nonly the agent's: {only_ours:#?}"
    );
    for (series, theirs) in &theirs {
        assert_eq!(&ours[series], theirs, "{series}");
    }
    // What the comparison stands on: series of every kind, and the files' verdicts.
    assert!(theirs.len() >= 20, "{theirs:#?}");
    let scrape_error = key("node_textfile_scrape_error", &[]);
    assert_eq!(ours[&scrape_error].0, "1.0");
    let mtimes = ours
        .keys()
        .filter(|k| k.starts_with("node_textfile_mtime_seconds"))
        .count();
    assert_eq!(mtimes, 4, "backup, durations, empty and second: {ours:#?}");
}

#[test]
fn the_agent_binary_reads_the_directory_it_is_given() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("app.prom"), "app_queue_length 7\n").unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_peeper-agent"))
        .env_remove("PEEPER_CONFIG")
        .env("PEEPER_LINUX_ENABLED", "false")
        .env("PEEPER_TEXTFILE_DIR", dir.path())
        .args(["--once", "--print", "--instance", "app1"])
        .output()
        .expect("run peeper-agent");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "peeper-agent failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("app_queue_length{job=\"textfile\",instance=\"app1\"} 7"),
        "{stdout}"
    );
    assert!(stdout.contains("node_textfile_scrape_error{job=\"textfile\",instance=\"app1\"} 0"));

    // Without the directory the collector is off: nothing of it is printed.
    let gone = dir.path().join("gone");
    let output = Command::new(env!("CARGO_BIN_EXE_peeper-agent"))
        .env_remove("PEEPER_CONFIG")
        .env("PEEPER_LINUX_ENABLED", "false")
        .env("PEEPER_TEXTFILE_DIR", &gone)
        .args(["--once", "--print", "--instance", "app1"])
        .output()
        .expect("run peeper-agent");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(!stdout.contains("node_textfile"), "{stdout}");
}
