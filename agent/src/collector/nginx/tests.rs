//! The parser against a page captured from the real nginx 1.22 of Debian 12 (`fixtures/`:
//! idle keep-alive connections, two half-sent requests and the status request itself), and
//! the settings.

use super::*;
use crate::collector::CollectorConfig;
use peeper_proto::MetricKind;
use peeper_proto::model::family;
use peeper_test_support::value;

const BUSY: &str = include_str!("fixtures/busy.txt");

#[test]
fn captured_page() {
    let status = parse(BUSY).unwrap();
    assert_eq!(
        status,
        StubStatus {
            active: 8,
            accepted: 15,
            handled: 15,
            requests: 25,
            reading: 2,
            writing: 1,
            waiting: 5,
        }
    );
}

#[test]
fn every_number_lands_in_its_own_series() {
    // Seven different numbers, so a field read into the wrong series shows.
    let page = "Active connections: 291 \nserver accepts handled requests\n 16630948 16630946 31070465 \nReading: 6 Writing: 179 Waiting: 106 \n";
    let f = families(&parse(page).unwrap());
    assert_eq!(value(&f, "nginx_connections_active", &[]), 291.0);
    assert_eq!(value(&f, "nginx_connections_accepted", &[]), 16_630_948.0);
    assert_eq!(value(&f, "nginx_connections_handled", &[]), 16_630_946.0);
    assert_eq!(value(&f, "nginx_http_requests_total", &[]), 31_070_465.0);
    assert_eq!(value(&f, "nginx_connections_reading", &[]), 6.0);
    assert_eq!(value(&f, "nginx_connections_writing", &[]), 179.0);
    assert_eq!(value(&f, "nginx_connections_waiting", &[]), 106.0);
}

#[test]
fn names_types_and_help_follow_the_exporter() {
    let f = families(&parse(BUSY).unwrap());
    // nginx-prometheus-exporter 0.11's output, in its order (nginx_up is added last here).
    let expect = [
        (
            "nginx_connections_accepted",
            MetricKind::Counter,
            "Accepted client connections",
        ),
        (
            "nginx_connections_active",
            MetricKind::Gauge,
            "Active client connections",
        ),
        (
            "nginx_connections_handled",
            MetricKind::Counter,
            "Handled client connections",
        ),
        (
            "nginx_connections_reading",
            MetricKind::Gauge,
            "Connections where NGINX is reading the request header",
        ),
        (
            "nginx_connections_waiting",
            MetricKind::Gauge,
            "Idle client connections",
        ),
        (
            "nginx_connections_writing",
            MetricKind::Gauge,
            "Connections where NGINX is writing the response back to the client",
        ),
        (
            "nginx_http_requests_total",
            MetricKind::Counter,
            "Total http requests",
        ),
    ];
    assert_eq!(f.len(), expect.len());
    for ((name, kind, help), fam) in expect.into_iter().zip(&f) {
        assert_eq!(fam.name, name);
        assert_eq!(fam.kind, kind, "{name}");
        assert_eq!(fam.help, help, "{name}");
        assert_eq!(fam.series.len(), 1, "{name}");
        assert!(fam.series[0].labels.is_empty(), "{name}");
    }
}

#[test]
fn rejects_what_is_not_a_stub_status_page() {
    let html = "<html>\n<head><title>Welcome to nginx!</title></head>\n<body>hello</body></html>\n";
    assert!(matches!(parse(html), Err(NginxError::NotStubStatus)));
    assert!(matches!(parse(""), Err(NginxError::NotStubStatus)));
    // Cut short: the last line missing.
    let short = "Active connections: 1 \nserver accepts handled requests\n 4 4 4 \n";
    assert!(matches!(parse(short), Err(NginxError::NotStubStatus)));
    let negative = BUSY.replace("Reading: 2", "Reading: -2");
    match parse(&negative) {
        Err(NginxError::Parse { value }) => assert_eq!(value, "-2"),
        other => panic!("expected a parse error, got {other:?}"),
    }
}

fn resolve(
    file: Option<NginxConfig>,
    env: &[(&str, &str)],
) -> Result<NginxConfig, crate::settings::ConfigError> {
    let lookup = |name: &str| {
        env.iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| (*v).to_owned())
    };
    NginxConfig::resolve(file, &lookup)
}

#[test]
fn off_unless_a_table_or_the_switch_says_on() {
    let absent = resolve(None, &[]).unwrap();
    assert!(!absent.enabled);
    assert_eq!(absent.url, "http://127.0.0.1/stub_status");
    assert!(resolve(Some(NginxConfig::default()), &[]).unwrap().enabled);
    let by_env = resolve(
        None,
        &[
            ("PEEPER_NGINX_ENABLED", "true"),
            ("PEEPER_NGINX_URL", "http://127.0.0.1:8080/basic_status"),
        ],
    )
    .unwrap();
    assert!(by_env.enabled);
    assert_eq!(by_env.url, "http://127.0.0.1:8080/basic_status");
    let off = resolve(
        Some(NginxConfig::default()),
        &[("PEEPER_NGINX_ENABLED", "false")],
    );
    assert!(!off.unwrap().enabled);
}

#[test]
fn a_url_without_a_scheme_is_refused_naming_the_setting() {
    let err = resolve(None, &[("PEEPER_NGINX_URL", "127.0.0.1/stub_status")])
        .unwrap_err()
        .to_string();
    assert!(err.contains("PEEPER_NGINX_URL"), "{err}");
    assert!(err.contains("http://127.0.0.1/stub_status"), "{err}");
}

#[test]
fn the_table_refuses_unknown_keys() {
    let table: toml::Value = toml::from_str("url = \"http://x/\"\nuri = \"http://y/\"").unwrap();
    let err = table.try_into::<NginxConfig>().unwrap_err().to_string();
    assert!(err.contains("uri"), "{err}");
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
    let mut collector = NginxCollector::new(&NginxConfig {
        url: format!("http://{addr}/stub_status"),
        ..NginxConfig::default()
    });
    let start = std::time::Instant::now();
    let f = collector.collect_now().await;
    assert_eq!(value(&f, "nginx_up", &[]), 0.0);
    // Like the exporter: a failed scrape is nginx_up 0 and nothing else.
    assert_eq!(f.len(), 1);
    assert!(family(&f, "nginx_connections_active").is_none());
    assert!(
        start.elapsed()
            < crate::collector::status_page::REQUEST_TIMEOUT + std::time::Duration::from_secs(2)
    );
    hold.abort();
}
