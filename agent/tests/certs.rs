//! The real `peeper-agent` binary with the certificate collector on, against a real TLS
//! server on 127.0.0.1: `--once --print` shows ssl_exporter's names with `target`, `job`
//! and `instance`.

use peeper_test_support::certs::{Ca, tls_server};

#[tokio::test(flavor = "multi_thread")]
async fn the_agent_binary_prints_the_certs_families() {
    let ca = Ca::root("Binary CA");
    let leaf = ca.good_leaf(&["localhost"]);
    let server = tls_server(vec![leaf.der.clone()], leaf.key).await;
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, ca.pem()).unwrap();
    let target = format!("127.0.0.1:{}@localhost", server.port());
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_peeper-agent"))
        .args(["--once", "--print", "--instance", "test-host"])
        .env_clear()
        .env("PEEPER_LINUX_ENABLED", "false")
        .env("PEEPER_CERTS_ENABLED", "true")
        .env("PEEPER_CERTS_ENDPOINTS", &target)
        .env("PEEPER_CERTS_CA_FILE", &ca_file)
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    for name in [
        "ssl_probe_success",
        "ssl_cert_not_after",
        "ssl_cert_not_before",
        "ssl_verified_cert_not_after",
        "ssl_tls_version_info",
        "ssl_verified",
        "ssl_hostname_match",
        "peeper_certs_endpoint_errors_total",
        "peeper_certs_next_check_timestamp_seconds",
    ] {
        assert!(
            stdout.contains(&format!("# TYPE {name} ")),
            "{name} missing in:\n{stdout}"
        );
    }
    let line = stdout
        .lines()
        .find(|l| l.starts_with("ssl_probe_success{"))
        .expect("a ssl_probe_success line");
    assert!(line.contains(&format!("target=\"{target}\"")), "{line}");
    assert!(
        line.contains("job=\"certs\"") && line.contains("instance=\"test-host\""),
        "{line}"
    );
    assert!(line.ends_with(" 1"), "{line}");
    // Trusted through PEEPER_CERTS_CA_FILE next to the system roots.
    let verified = stdout
        .lines()
        .find(|l| l.starts_with("ssl_verified{"))
        .expect("a ssl_verified line");
    assert!(verified.ends_with(" 1"), "{verified}");
    assert_eq!(server.accepted(), 1);
}
