//! The nginx collector against the real nginx (Debian package `nginx`), side by side with
//! nginx-prometheus-exporter 0.11 (`prometheus-nginx-exporter`) reading the same page: the
//! same names, types, help texts and label sets, the same gauges, counters apart by no more
//! than the requests made between the two reads. And the real agent binary's
//! `--once --print` with the collector switched on by its environment variables.

mod support;

use peeper_agent::collector::nginx::{NginxCollector, NginxConfig};
use peeper_proto::exposition::{TextFamily, TextType, parse_text};
use peeper_proto::model::family;
use peeper_proto::{MetricFamily, MetricKind};
use std::process::Command;
use support::nginx::{Nginx, NginxExporter};
use support::{collect, value};

fn collector(url: &str) -> NginxCollector {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    NginxCollector::new(&NginxConfig {
        enabled: true,
        url: url.to_owned(),
        host_override: None,
    })
}

/// The exporter's families about nginx: its own (`nginxexporter_build_info`) and the Go
/// runtime's left out.
fn exporter_families(exporter: &NginxExporter) -> Vec<TextFamily> {
    let text = exporter.metrics();
    parse_text(&text)
        .unwrap_or_else(|e| panic!("the exporter's page does not parse: {e}\n{text}"))
        .into_iter()
        .filter(|f| f.name.starts_with("nginx_"))
        .collect()
}

fn kind_of(family: &TextFamily) -> MetricKind {
    match family.kind {
        TextType::Counter => MetricKind::Counter,
        TextType::Gauge => MetricKind::Gauge,
        other => panic!("{}: the exporter has no {other:?}", family.name),
    }
}

fn sorted_labels(labels: &[(String, String)]) -> Vec<(String, String)> {
    let mut labels = labels.to_vec();
    labels.sort();
    labels
}

/// `ours` was read first, then `theirs`, with `between` requests to nginx in between
/// (the exporter's own): every family alike, gauges equal, counters up by at most that.
fn assert_agree(ours: &[MetricFamily], theirs: &[TextFamily], between: f64) {
    let mut their_names: Vec<&str> = theirs.iter().map(|f| f.name.as_str()).collect();
    let mut our_names: Vec<&str> = ours.iter().map(|f| f.name.as_str()).collect();
    their_names.sort();
    our_names.sort();
    assert_eq!(our_names, their_names, "the same families");
    for their in theirs {
        let name = &their.name;
        let our = family(ours, name).unwrap();
        assert_eq!(our.kind, kind_of(their), "{name}: type");
        assert_eq!(Some(&our.help), their.help.as_ref(), "{name}: help");
        assert_eq!(our.series.len(), their.samples.len(), "{name}: series");
        for sample in &their.samples {
            let labels = sorted_labels(&sample.labels);
            let mine = our
                .series
                .iter()
                .find(|s| sorted_labels(&s.labels) == labels)
                .unwrap_or_else(|| panic!("{name}{labels:?}: not collected by the agent"));
            if our.kind == MetricKind::Gauge {
                assert_eq!(mine.value, sample.value, "{name}: gauge");
            } else {
                let ahead = sample.value - mine.value;
                assert!(
                    (0.0..=between).contains(&ahead),
                    "{name}: agent {} then exporter {}",
                    mine.value,
                    sample.value
                );
            }
        }
    }
}

#[tokio::test]
async fn the_agent_reports_what_the_exporter_reports() {
    let nginx = Nginx::start();
    nginx.requests(20);
    // Connections in every state: waiting, reading, and each status request writing.
    let _idle = nginx.idle_connections(3);
    let _half = nginx.half_sent_requests(2);
    let exporter = NginxExporter::start(&nginx.status_url());
    let mut collector = collector(&nginx.status_url());
    // Both readers keep their connection to nginx open between reads (idle, so waiting):
    // read once so that each sees the other's connection waiting.
    collect(&mut collector).await;
    exporter.metrics();

    let ours = collect(&mut collector).await;
    let theirs = exporter_families(&exporter);
    assert_agree(&ours, &theirs, 1.0);
    assert_eq!(value(&ours, "nginx_up", &[]), 1.0);
    assert_eq!(value(&ours, "nginx_connections_reading", &[]), 2.0);
    assert_eq!(value(&ours, "nginx_connections_writing", &[]), 1.0);
    assert_eq!(value(&ours, "nginx_connections_waiting", &[]), 4.0);
    assert_eq!(value(&ours, "nginx_connections_active", &[]), 7.0);
    assert!(value(&ours, "nginx_http_requests_total", &[]) >= 20.0);
    assert!(
        value(&ours, "nginx_connections_accepted", &[]) >= 20.0,
        "every request above came on its own connection"
    );

    // The exporter read last now: the agent's next read sees its request counted.
    let later = collect(&mut collector).await;
    let requests = |f: &[MetricFamily]| value(f, "nginx_http_requests_total", &[]);
    assert_eq!(
        requests(&later) - requests(&ours),
        2.0,
        "the exporter's and ours"
    );
}

#[tokio::test]
async fn a_stopped_nginx_is_up_zero_like_the_exporter_and_recovers() {
    let mut nginx = Nginx::start();
    let exporter = NginxExporter::start(&nginx.status_url());
    let mut collector = collector(&nginx.status_url());
    assert_eq!(value(&collect(&mut collector).await, "nginx_up", &[]), 1.0);

    nginx.stop();
    for _ in 0..2 {
        let start = std::time::Instant::now();
        let ours = collect(&mut collector).await;
        assert!(
            start.elapsed().as_secs() < 3,
            "a refused connection fails fast"
        );
        assert_agree(&ours, &exporter_families(&exporter), 0.0);
        assert_eq!(value(&ours, "nginx_up", &[]), 0.0);
        assert_eq!(ours.len(), 1, "nginx_up 0 and nothing else");
    }

    nginx.restart();
    let ours = collect(&mut collector).await;
    assert_eq!(value(&ours, "nginx_up", &[]), 1.0, "{}", nginx.error_log());
    assert!(family(&ours, "nginx_connections_active").is_some());
}

#[tokio::test]
async fn a_page_that_is_not_stub_status_is_up_zero() {
    let nginx = Nginx::start();
    // A static page, and a 404.
    for path in ["/index.html", "/no-such-status"] {
        let mut collector = collector(&format!("http://{}{path}", nginx.addr()));
        let families = collect(&mut collector).await;
        assert_eq!(value(&families, "nginx_up", &[]), 0.0, "{path}");
    }
}

#[test]
fn agent_binary_prints_nginx_metrics() {
    let nginx = Nginx::start();
    nginx.requests(3);
    let output = Command::new(env!("CARGO_BIN_EXE_peeper-agent"))
        .env_remove("PEEPER_CONFIG")
        .env("PEEPER_LINUX_ENABLED", "false")
        .env("PEEPER_NGINX_ENABLED", "true")
        .env("PEEPER_NGINX_URL", nginx.status_url())
        .args(["--once", "--print", "--instance", "web1"])
        .output()
        .expect("run peeper-agent");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "peeper-agent failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let printed = parse_text(&stdout).unwrap_or_else(|e| panic!("{e}:\n{stdout}"));
    let ours = |name: &str| {
        printed
            .iter()
            .find(|f| f.name == name)
            .and_then(|f| f.samples.first())
            .filter(|s| s.label("job") == Some("nginx") && s.label("instance") == Some("web1"))
            .map(|s| s.value)
            .unwrap_or_else(|| panic!("{name} with job and instance missing from:\n{stdout}"))
    };
    assert_eq!(ours("nginx_up"), 1.0);
    assert!(ours("nginx_http_requests_total") >= 4.0);
    assert!(ours("nginx_connections_active") >= 1.0);
    assert!(stdout.contains("# TYPE nginx_connections_accepted counter"));
}
