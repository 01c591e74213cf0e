//! The certificate collector against real TLS servers on 127.0.0.1.

use super::config::{Endpoint, StartTls, parse_endpoints_file};
use super::files::{expand, matches};
use super::schedule::{Schedule, Timing, skipped_cycles};
use super::*;
use crate::collector::CollectorConfig;
use peeper_proto::model::family;
use peeper_test_support::certs::*;
use peeper_test_support::find_value;
use std::time::Duration;

/// A collector over `endpoints`, with no system roots (only `ca` is trusted, if given).
fn collector(endpoints: &[String], ca: Option<&Ca>, dir: &tempfile::TempDir) -> CertsCollector {
    let ca_file = ca.map(|ca| {
        let path = dir.path().join("ca.pem");
        std::fs::write(&path, ca.pem()).unwrap();
        path
    });
    let config = CertsConfig {
        endpoints: endpoints
            .iter()
            .map(|e| Endpoint::parse(e).unwrap())
            .collect(),
        ca_file,
        timeout: Duration::from_secs(2).into(),
        ..Default::default()
    };
    CertsCollector::with_roots(&config, dir.path().join("no-system-roots.pem"))
}

fn series_count(families: &[MetricFamily], name: &str, want: &[(&str, &str)]) -> usize {
    family(families, name).map_or(0, |f| {
        f.series
            .iter()
            .filter(|s| want.iter().all(|(n, v)| s.label(n) == Some(*v)))
            .count()
    })
}

async fn one_cycle(collector: &mut CertsCollector) -> Vec<MetricFamily> {
    cycle_within(collector, Duration::from_secs(10)).await
}

/// One cycle that the scheduler would cut after `timeout`.
async fn cycle_within(collector: &mut CertsCollector, timeout: Duration) -> Vec<MetricFamily> {
    collector
        .collect_now(Cycle::starting_now(Duration::from_secs(15), timeout))
        .await
        .expect("the collector itself works")
}

#[tokio::test(flavor = "multi_thread")]
async fn valid_certificate_verifies_and_reports_ssl_exporter_labels() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::root("Test Root CA");
    let leaf = ca.leaf(
        &["localhost", "127.0.0.1"],
        now() - DAY,
        now() + 90 * DAY,
        258,
    );
    let server = tls_server(vec![leaf.der.clone()], leaf.key).await;
    let target = format!("127.0.0.1:{}@localhost", server.port());
    let mut c = collector(std::slice::from_ref(&target), Some(&ca), &dir);
    let f = one_cycle(&mut c).await;
    let t = [("target", target.as_str())];
    assert_eq!(find_value(&f, "ssl_probe_success", &t), Some(1.0));
    assert_eq!(find_value(&f, "ssl_verified", &t), Some(1.0));
    assert_eq!(find_value(&f, "ssl_hostname_match", &t), Some(1.0));
    assert_eq!(
        find_value(
            &f,
            "ssl_tls_version_info",
            &[("target", &target), ("version", "TLS 1.3")]
        ),
        Some(1.0)
    );
    let s = family(&f, "ssl_cert_not_after")
        .unwrap()
        .find(&[("cn", "localhost")])
        .unwrap();
    let names: Vec<&str> = s.labels.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "target",
            "serial_no",
            "issuer_cn",
            "cn",
            "dnsnames",
            "ips",
            "emails",
            "ou"
        ]
    );
    assert_eq!(s.label("serial_no"), Some("258"));
    assert_eq!(s.label("issuer_cn"), Some("Test Root CA"));
    assert_eq!(s.label("dnsnames"), Some(",localhost,"));
    assert_eq!(s.label("ips"), Some(",127.0.0.1,"));
    assert_eq!(s.label("emails"), Some(""));
    assert_eq!(s.label("ou"), Some(",ops,"));
    assert_eq!(
        s.value,
        (now() + 90 * DAY) as f64,
        "not_after is the certificate's"
    );
    // The verified chain: leaf and the root, chain 0.
    assert_eq!(
        series_count(&f, "ssl_verified_cert_not_after", &[("chain_no", "0")]),
        2
    );
    assert!(find_value(&f, "ssl_verified_cert_not_after", &[("cn", "Test Root CA")]).is_some());
    assert_eq!(
        find_value(&f, "peeper_certs_endpoint_errors_total", &t),
        Some(0.0)
    );
    let next = find_value(&f, "peeper_certs_next_check_timestamp_seconds", &t).unwrap();
    assert!(
        next >= now() as f64 && next <= (now() + 20) as f64,
        "next check in one interval: {next}"
    );
    assert_eq!(server.accepted(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn expiring_in_three_days_reports_the_exact_not_after() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::root("Test Root CA");
    let expiry = now() + 3 * DAY;
    let leaf = ca.leaf(&["localhost"], now() - 87 * DAY, expiry, 7);
    let server = tls_server(vec![leaf.der.clone()], leaf.key).await;
    let target = format!("127.0.0.1:{}@localhost", server.port());
    let mut c = collector(std::slice::from_ref(&target), Some(&ca), &dir);
    let f = one_cycle(&mut c).await;
    let leaf_cn = [("target", target.as_str()), ("cn", "localhost")];
    assert_eq!(
        find_value(&f, "ssl_cert_not_after", &leaf_cn),
        Some(expiry as f64)
    );
    assert_eq!(
        find_value(&f, "ssl_cert_not_before", &leaf_cn),
        Some((expiry - 90 * DAY) as f64)
    );
    assert_eq!(
        find_value(&f, "ssl_verified", &[("target", &target)]),
        Some(1.0)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn expired_certificate_is_reported_but_not_verified() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::root("Test Root CA");
    let expired = now() - 2 * DAY;
    let leaf = ca.leaf(&["localhost"], now() - 30 * DAY, expired, 9);
    let server = tls_server(vec![leaf.der.clone()], leaf.key).await;
    let target = format!("127.0.0.1:{}@localhost", server.port());
    let mut c = collector(std::slice::from_ref(&target), Some(&ca), &dir);
    let f = one_cycle(&mut c).await;
    let t = [("target", target.as_str())];
    assert_eq!(find_value(&f, "ssl_probe_success", &t), Some(1.0));
    assert_eq!(find_value(&f, "ssl_verified", &t), Some(0.0));
    assert_eq!(find_value(&f, "ssl_hostname_match", &t), Some(1.0));
    assert_eq!(
        find_value(&f, "ssl_cert_not_after", &[("cn", "localhost")]),
        Some(expired as f64)
    );
    assert_eq!(series_count(&f, "ssl_verified_cert_not_after", &[]), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn private_ca_verifies_only_with_its_ca_file() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::root("Private CA");
    let leaf = ca.good_leaf(&["localhost"]);
    let server = tls_server(vec![leaf.der.clone()], leaf.key).await;
    let target = format!("127.0.0.1:{}@localhost", server.port());
    let t = [("target", target.as_str())];

    let f = one_cycle(&mut collector(std::slice::from_ref(&target), None, &dir)).await;
    assert_eq!(
        find_value(&f, "ssl_probe_success", &t),
        Some(1.0),
        "an untrusted chain is still read"
    );
    assert_eq!(find_value(&f, "ssl_verified", &t), Some(0.0));
    assert_eq!(find_value(&f, "ssl_hostname_match", &t), Some(1.0));
    assert!(find_value(&f, "ssl_cert_not_after", &[("issuer_cn", "Private CA")]).is_some());

    let f = one_cycle(&mut collector(
        std::slice::from_ref(&target),
        Some(&ca),
        &dir,
    ))
    .await;
    assert_eq!(find_value(&f, "ssl_verified", &t), Some(1.0));
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_host_name_does_not_match_but_chain_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::root("Test Root CA");
    let leaf = ca.good_leaf(&["www.example.test"]);
    let server = tls_server(vec![leaf.der.clone()], leaf.key).await;
    let wrong = format!("127.0.0.1:{}@shop.example.test", server.port());
    let by_ip = format!("127.0.0.1:{}", server.port());
    let mut c = collector(&[wrong.clone(), by_ip.clone()], Some(&ca), &dir);
    let f = one_cycle(&mut c).await;
    for target in [&wrong, &by_ip] {
        let t = [("target", target.as_str())];
        assert_eq!(
            find_value(&f, "ssl_probe_success", &t),
            Some(1.0),
            "{target}"
        );
        assert_eq!(
            find_value(&f, "ssl_hostname_match", &t),
            Some(0.0),
            "{target}"
        );
        assert_eq!(find_value(&f, "ssl_verified", &t), Some(1.0), "{target}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn incomplete_chain_is_not_verified_and_complete_one_is() {
    let dir = tempfile::tempdir().unwrap();
    let root = Ca::root("Test Root CA");
    let intermediate = root.intermediate("Test Intermediate CA");
    let leaf = intermediate.good_leaf(&["localhost"]);
    let bare = tls_server(vec![leaf.der.clone()], leaf.key.clone_key()).await;
    let full = tls_server(vec![leaf.der.clone(), intermediate.der()], leaf.key).await;
    let bare_t = format!("127.0.0.1:{}@localhost", bare.port());
    let full_t = format!("127.0.0.1:{}@localhost", full.port());
    let mut c = collector(&[bare_t.clone(), full_t.clone()], Some(&root), &dir);
    let f = one_cycle(&mut c).await;
    assert_eq!(
        find_value(&f, "ssl_verified", &[("target", &bare_t)]),
        Some(0.0)
    );
    assert_eq!(
        find_value(&f, "ssl_probe_success", &[("target", &bare_t)]),
        Some(1.0)
    );
    assert_eq!(
        series_count(&f, "ssl_cert_not_after", &[("target", &bare_t)]),
        1
    );
    assert_eq!(
        find_value(&f, "ssl_verified", &[("target", &full_t)]),
        Some(1.0)
    );
    assert_eq!(
        series_count(&f, "ssl_cert_not_after", &[("target", &full_t)]),
        2
    );
    let chain = [("target", full_t.as_str()), ("chain_no", "0")];
    assert_eq!(
        series_count(&f, "ssl_verified_cert_not_after", &chain),
        3,
        "leaf, intermediate, root"
    );
    assert_eq!(
        series_count(&f, "ssl_verified_cert_not_after", &[("target", &bare_t)]),
        0
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stalled_endpoint_costs_only_its_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::root("Test Root CA");
    let leaf = ca.good_leaf(&["localhost"]);
    let good = tls_server(vec![leaf.der.clone()], leaf.key).await;
    let stalled = stalled_server().await;
    let stalled_t = format!("127.0.0.1:{}", stalled.port());
    let good_t = format!("127.0.0.1:{}@localhost", good.port());
    let mut c = collector(&[stalled_t.clone(), good_t.clone()], Some(&ca), &dir);
    c.config.timeout = Duration::from_millis(700).into();
    // Even one check at a time: the stalled one goes first and holds its slot 0.7 s only.
    c.config.concurrency = 1;
    let start = Instant::now();
    let f = one_cycle(&mut c).await;
    let took = start.elapsed();
    assert!(
        took < Duration::from_millis(2200),
        "the cycle took {took:?}"
    );
    assert_eq!(
        find_value(&f, "ssl_probe_success", &[("target", &good_t)]),
        Some(1.0)
    );
    assert_eq!(
        find_value(&f, "ssl_probe_success", &[("target", &stalled_t)]),
        Some(0.0)
    );
    assert_eq!(
        find_value(
            &f,
            "peeper_certs_endpoint_errors_total",
            &[("target", &stalled_t)]
        ),
        Some(1.0)
    );
    assert_eq!(stalled.accepted(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_cycle_budget_bounds_many_stalled_endpoints() {
    let dir = tempfile::tempdir().unwrap();
    let mut servers = Vec::new();
    for _ in 0..6 {
        servers.push(stalled_server().await);
    }
    let targets: Vec<String> = servers
        .iter()
        .map(|s| format!("127.0.0.1:{}", s.port()))
        .collect();
    let mut c = collector(&targets, None, &dir);
    // Margins of a second: the machine running the tests may be busy.
    c.config.timeout = Duration::from_millis(1500).into();
    c.config.concurrency = 2;
    let start = Instant::now();
    // A cycle of 2.7 s: 2.5 s of it for the checks, the rest kept back for reporting.
    let f = cycle_within(&mut c, Duration::from_millis(2700)).await;
    assert!(
        start.elapsed() < Duration::from_millis(3500),
        "took {:?}",
        start.elapsed()
    );
    // Two ran to their timeout; the rest did not get a full slot and wait for the next cycle.
    assert_eq!(series_count(&f, "ssl_probe_success", &[]), 2);
    let f = cycle_within(&mut c, Duration::from_millis(2700)).await;
    assert_eq!(
        series_count(&f, "ssl_probe_success", &[]),
        4,
        "the unchecked ones went first"
    );
}

#[test]
fn backoff_skips_log2_of_the_failures() {
    let skips: Vec<u32> = [1, 2, 3, 4, 7, 8, 15, 16, 1000]
        .iter()
        .map(|&n| skipped_cycles(n))
        .collect();
    assert_eq!(skips, [0, 1, 1, 2, 2, 3, 3, 4, 9]);
    let timing = Timing {
        interval: Duration::from_secs(15),
        max_backoff: Duration::from_secs(3600),
        check_interval: Duration::ZERO,
    };
    let start = Instant::now();
    let mut schedule = Schedule::default();
    let mut tries = Vec::new();
    for cycle in 0..30u32 {
        let now = start + timing.interval * cycle;
        if schedule.due(now, &timing) {
            tries.push(cycle);
            schedule.failed(now);
        }
    }
    assert_eq!(tries, [0, 1, 3, 5, 8, 11, 14, 17, 21, 25, 29]);
    // Answering resets it: tried again the very next cycle.
    let now = start + timing.interval * 30;
    assert!(!schedule.due(now, &timing));
    schedule.succeeded(now, &timing);
    assert!(schedule.due(now + timing.interval, &timing));
    assert_eq!(schedule.next_check_in(now, &timing), timing.interval);
}

#[test]
fn backoff_never_waits_longer_than_the_cap() {
    let timing = Timing {
        interval: Duration::from_secs(600),
        max_backoff: Duration::from_secs(3600),
        check_interval: Duration::ZERO,
    };
    let start = Instant::now();
    let mut schedule = Schedule::default();
    for _ in 0..200 {
        schedule.failed(start);
    }
    // ⌊log2 200⌋ = 7 cycles of 10 min would be 80 min; the cap makes it 60.
    assert_eq!(
        schedule.next_check_in(start, &timing),
        Duration::from_secs(3600)
    );
    let tries: Vec<u64> = (1..=7u32)
        .filter(|&i| schedule.due(start + timing.interval * i, &timing))
        .map(|i| i.into())
        .collect();
    assert_eq!(tries, [6, 7], "due again after an hour, not after 8 cycles");
}

#[test]
fn check_interval_spaces_out_healthy_checks() {
    let timing = Timing {
        interval: Duration::from_secs(15),
        max_backoff: Duration::from_secs(3600),
        check_interval: Duration::from_secs(60),
    };
    let start = Instant::now();
    let mut schedule = Schedule::default();
    let mut tries = Vec::new();
    for cycle in 0..9u32 {
        let now = start + timing.interval * cycle;
        if schedule.due(now, &timing) {
            tries.push(cycle);
            schedule.succeeded(now, &timing);
        }
    }
    assert_eq!(tries, [0, 4, 8]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_endpoint_is_tried_ever_more_rarely_and_back_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::root("Test Root CA");
    let leaf = ca.good_leaf(&["localhost"]);
    let server = tls_server(vec![leaf.der.clone()], leaf.key).await;
    server
        .healthy
        .store(false, std::sync::atomic::Ordering::SeqCst);
    let target = format!("127.0.0.1:{}@localhost", server.port());
    let t = [("target", target.as_str())];
    let mut c = collector(std::slice::from_ref(&target), Some(&ca), &dir);
    for cycle in 0..10 {
        let f = one_cycle(&mut c).await;
        assert_eq!(
            find_value(&f, "ssl_probe_success", &t),
            Some(0.0),
            "cycle {cycle} reports the failure"
        );
    }
    // Tried on cycles 0, 1, 3, 5, 8 only.
    assert_eq!(server.accepted(), 5);
    let f = one_cycle(&mut c).await; // cycle 10: sat out
    assert_eq!(
        find_value(&f, "peeper_certs_endpoint_errors_total", &t),
        Some(5.0)
    );
    let next = find_value(&f, "peeper_certs_next_check_timestamp_seconds", &t).unwrap();
    assert!(
        next >= (now() + 14) as f64,
        "the next try is a cycle away: {next} vs {}",
        now()
    );

    server
        .healthy
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let mut cycles = 0;
    loop {
        cycles += 1;
        let f = one_cycle(&mut c).await;
        if find_value(&f, "ssl_probe_success", &t) == Some(1.0) {
            break;
        }
        assert!(cycles < 4, "retried within ⌊log2 5⌋ + 1 cycles");
    }
    let before = server.accepted();
    for _ in 0..3 {
        one_cycle(&mut c).await;
    }
    assert_eq!(
        server.accepted() - before,
        3,
        "every cycle again once it answers"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn smtp_starttls_is_spoken_before_the_handshake() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::root("Mail CA");
    let leaf = ca.good_leaf(&["mail.example.test"]);
    let server = smtp_server(vec![leaf.der.clone()], leaf.key).await;
    let target = format!("127.0.0.1:{}@mail.example.test", server.port());
    let spec = format!("smtp://{target}");
    let mut c = collector(std::slice::from_ref(&spec), Some(&ca), &dir);
    let f = one_cycle(&mut c).await;
    let t = [("target", target.as_str())];
    assert_eq!(find_value(&f, "ssl_probe_success", &t), Some(1.0));
    assert_eq!(find_value(&f, "ssl_verified", &t), Some(1.0));
    assert!(find_value(&f, "ssl_cert_not_after", &[("cn", "mail.example.test")]).is_some());

    // Without STARTTLS the same port fails (the server speaks SMTP, not TLS).
    let mut plain = collector(std::slice::from_ref(&target), Some(&ca), &dir);
    let f = one_cycle(&mut plain).await;
    assert_eq!(find_value(&f, "ssl_probe_success", &t), Some(0.0));
}

#[test]
fn endpoint_syntax() {
    let e = Endpoint::parse("example.com").unwrap();
    assert_eq!(
        (e.host.as_str(), e.port, e.to_string()),
        ("example.com", 443, "example.com:443".to_owned())
    );
    let e = Endpoint::parse(" 10.0.0.5:8443@intranet.example.com ").unwrap();
    assert_eq!(e.server_name(), "intranet.example.com");
    assert_eq!(e.to_string(), "10.0.0.5:8443@intranet.example.com");
    assert_eq!(
        Endpoint::parse("mail.example.com:587").unwrap().starttls(),
        StartTls::Smtp
    );
    assert_eq!(
        Endpoint::parse("mail.example.com:465").unwrap().starttls(),
        StartTls::None
    );
    assert_eq!(
        Endpoint::parse("smtp://mx:2525").unwrap().starttls(),
        StartTls::Smtp
    );
    assert_eq!(
        Endpoint::parse("https://example.com/path")
            .unwrap()
            .to_string(),
        "example.com:443"
    );
    assert_eq!(
        Endpoint::parse("[::1]:8443").unwrap().to_string(),
        "[::1]:8443"
    );
    assert_eq!(Endpoint::parse("::1").unwrap().host, "::1");
    for bad in [
        "",
        "host:0",
        "host:99999",
        "host:x",
        "ftp://host:21",
        "a b:443",
        "host:443@",
    ] {
        assert!(Endpoint::parse(bad).is_err(), "{bad:?} must be refused");
    }
    let err = Endpoint::parse("host:x").unwrap_err();
    assert!(
        err.contains("example.com:443"),
        "the error shows the syntax: {err}"
    );
}

#[test]
fn config_table_and_environment() {
    let text = r#"
        endpoints = ["example.com:443", { host = "mx.example.com", port = 25, starttls = "none", server_name = "mail.example.com" }]
        files = ["/etc/ssl/*.pem"]
        timeout = "3s"
        concurrency = 4
    "#;
    let file: CertsConfig = toml::from_str(text).unwrap();
    assert_eq!(file.endpoints[1].starttls(), StartTls::None);
    assert_eq!(
        file.endpoints[1].to_string(),
        "mx.example.com:25@mail.example.com"
    );
    assert_eq!(*file.timeout, Duration::from_secs(3));
    assert!(
        toml::from_str::<CertsConfig>("endpoint = []").is_err(),
        "unknown keys are refused"
    );

    let none = |_: &str| None;
    let off = CertsConfig::resolve(None, &none).unwrap();
    assert!(!off.enabled);
    let on = CertsConfig::resolve(Some(file), &none).unwrap();
    assert!(on.enabled && on.concurrency == 4);

    let env = |name: &str| match name {
        "PEEPER_CERTS_ENABLED" => Some("true".to_owned()),
        "PEEPER_CERTS_ENDPOINTS" => {
            Some("a.example:443, b.example:8443@b, a.example:443".to_owned())
        }
        "PEEPER_CERTS_FILES" => Some("/x/*.pem,/y".to_owned()),
        "PEEPER_CERTS_TIMEOUT" => Some("2s".to_owned()),
        _ => None,
    };
    // (The cycle's deadline bounds each check further: the_cycle_budget_bounds_...)
    let config = CertsConfig::resolve(None, &env).unwrap();
    assert_eq!(config.endpoints.len(), 3);
    assert_eq!(config.files, ["/x/*.pem", "/y"]);
    assert_eq!(*config.timeout, Duration::from_secs(2));

    let nothing = |name: &str| (name == "PEEPER_CERTS_ENABLED").then(|| "true".to_owned());
    let err = CertsConfig::resolve(None, &nothing)
        .unwrap_err()
        .to_string();
    assert!(err.contains("PEEPER_CERTS_ENDPOINTS"), "{err}");
    let bad = |name: &str| match name {
        "PEEPER_CERTS_ENABLED" => Some("true".to_owned()),
        "PEEPER_CERTS_ENDPOINTS" => Some("good:443,bad:port".to_owned()),
        _ => None,
    };
    let err = CertsConfig::resolve(None, &bad).unwrap_err().to_string();
    assert!(
        err.contains("bad:port") && err.contains("PEEPER_CERTS_ENDPOINTS"),
        "{err}"
    );
    let bad_ca = |name: &str| match name {
        "PEEPER_CERTS_ENABLED" => Some("true".to_owned()),
        "PEEPER_CERTS_ENDPOINTS" => Some("good:443".to_owned()),
        "PEEPER_CERTS_CA_FILE" => Some("/nonexistent/ca.pem".to_owned()),
        _ => None,
    };
    let err = CertsConfig::resolve(None, &bad_ca).unwrap_err().to_string();
    assert!(err.contains("/nonexistent/ca.pem"), "{err}");
}

#[test]
fn endpoints_file_syntax() {
    let (endpoints, errors) = parse_endpoints_file(
        "# sites\nexample.com:443\n\n  shop.example.com # the shop\nnot valid:x\n",
    );
    assert_eq!(endpoints.len(), 2);
    assert_eq!(endpoints[1].to_string(), "shop.example.com:443");
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].0, 5);
}

#[test]
fn wildcard_matching() {
    assert!(matches("*.pem", "site.pem"));
    assert!(matches("*.pem", ".pem"));
    assert!(!matches("*.pem", "site.pem.bak"));
    assert!(matches("s?te*", "site.crt"));
    assert!(matches("*a*b*", "xxaxxbxx"));
    assert!(!matches("*a*b", "xxaxxbxx"));
    assert!(matches("*", ""));
    assert!(!matches("?", ""));
    assert!(matches("fullchain.pem", "fullchain.pem"));
}

#[tokio::test(flavor = "multi_thread")]
async fn pem_files_directories_and_patterns() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::root("Files CA");
    let a = ca.leaf(&["a.example.test"], now() - DAY, now() + 10 * DAY, 1);
    let b = ca.leaf(&["b.example.test"], now() - DAY, now() + 20 * DAY, 2);
    let root = dir.path();
    for site in ["a", "b"] {
        std::fs::create_dir_all(root.join("live").join(site)).unwrap();
    }
    // A chain file with the leaf and the CA, and a key that must be skipped.
    let chain = format!(
        "{}{}-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        a.pem,
        ca.pem()
    );
    std::fs::write(root.join("live/a/fullchain.pem"), chain).unwrap();
    std::fs::write(root.join("live/b/fullchain.pem"), &b.pem).unwrap();
    std::fs::write(root.join("live/b/README"), "not a certificate").unwrap();
    std::fs::create_dir_all(root.join("single")).unwrap();
    std::fs::write(root.join("single/b.crt"), &b.pem).unwrap();
    std::fs::write(root.join("single/notes.txt"), "nothing here").unwrap();

    let pattern = format!("{}/live/*/full?hain.pem", root.display());
    let (paths, _) = expand(&pattern);
    assert_eq!(paths.len(), 2);
    let single = format!("{}/single", root.display());
    let nothing = format!("{}/none/*.pem", root.display());
    let config = CertsConfig {
        files: vec![pattern.clone(), single.clone(), nothing.clone()],
        ..Default::default()
    };
    let mut c = CertsCollector::with_roots(&config, root.join("no-roots.pem"));
    let f = one_cycle(&mut c).await;
    let a_file = root.join("live/a/fullchain.pem").display().to_string();
    let b_single = root.join("single/b.crt").display().to_string();
    assert_eq!(
        series_count(&f, "ssl_file_cert_not_after", &[("file", &a_file)]),
        2
    );
    assert_eq!(
        find_value(
            &f,
            "ssl_file_cert_not_after",
            &[("file", &a_file), ("cn", "a.example.test")]
        ),
        Some((now() + 10 * DAY) as f64)
    );
    let s = family(&f, "ssl_file_cert_not_before")
        .unwrap()
        .find(&[("file", &b_single)])
        .unwrap();
    let names: Vec<&str> = s.labels.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "file",
            "serial_no",
            "issuer_cn",
            "cn",
            "dnsnames",
            "ips",
            "emails",
            "ou"
        ]
    );
    assert_eq!(s.label("serial_no"), Some("2"));
    assert_eq!(series_count(&f, "ssl_file_cert_not_after", &[]), 4);
    assert_eq!(
        find_value(&f, "ssl_probe_success", &[("target", &pattern)]),
        Some(1.0)
    );
    assert_eq!(
        find_value(&f, "ssl_probe_success", &[("target", &single)]),
        Some(1.0)
    );
    assert_eq!(
        find_value(&f, "ssl_probe_success", &[("target", &nothing)]),
        Some(0.0)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_endpoints_file_is_read_again_when_it_changes() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::root("Test Root CA");
    let leaf = ca.good_leaf(&["localhost"]);
    let one = tls_server(vec![leaf.der.clone()], leaf.key.clone_key()).await;
    let two = tls_server(vec![leaf.der.clone()], leaf.key).await;
    let one_t = format!("127.0.0.1:{}@localhost", one.port());
    let two_t = format!("127.0.0.1:{}@localhost", two.port());
    let list = dir.path().join("endpoints.txt");
    std::fs::write(
        &list,
        format!("# watched sites\n{one_t}\n{one_t}   # twice, checked once\n"),
    )
    .unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, ca.pem()).unwrap();
    let env = |name: &str| match name {
        "PEEPER_CERTS_ENABLED" => Some("true".to_owned()),
        "PEEPER_CERTS_ENDPOINTS_FILE" => Some(list.display().to_string()),
        "PEEPER_CERTS_CA_FILE" => Some(ca_file.display().to_string()),
        _ => None,
    };
    let config = CertsConfig::resolve(None, &env).unwrap();
    let mut c = CertsCollector::with_roots(&config, dir.path().join("no-roots.pem"));
    let f = one_cycle(&mut c).await;
    assert_eq!(
        find_value(&f, "ssl_verified", &[("target", &one_t)]),
        Some(1.0)
    );
    assert_eq!(series_count(&f, "ssl_probe_success", &[]), 1);
    assert_eq!(one.accepted(), 1, "listed twice, checked once");

    std::fs::write(&list, format!("{two_t}\n")).unwrap();
    let later = SystemTime::now() + Duration::from_secs(5);
    std::fs::File::options()
        .write(true)
        .open(&list)
        .unwrap()
        .set_modified(later)
        .unwrap();
    let f = one_cycle(&mut c).await;
    assert_eq!(
        find_value(&f, "ssl_probe_success", &[("target", &two_t)]),
        Some(1.0)
    );
    assert_eq!(
        series_count(&f, "ssl_probe_success", &[("target", &one_t)]),
        0,
        "removed endpoints vanish"
    );

    // A file that disappears keeps its last list.
    std::fs::remove_file(&list).unwrap();
    let f = one_cycle(&mut c).await;
    assert_eq!(
        find_value(&f, "ssl_probe_success", &[("target", &two_t)]),
        Some(1.0)
    );
}
