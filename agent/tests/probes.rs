//! The real agent binary's `--once --print` with the probes collector switched on by its
//! environment variables, probing an HTTP server started here on 127.0.0.1.

use axum::Router;
use axum::routing::get;
use std::net::SocketAddr;
use std::path::Path;
use tokio::net::TcpListener;

async fn http_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let app = Router::new().route("/", get(|| async { "hello" }));
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).expect("write target file");
}

#[tokio::test]
async fn probes_binary_prints_blackbox_families() {
    let addr = http_server().await;
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        &dir.path().join("blackbox_sites.yaml"),
        &format!(
            "- targets: ['http://{addr}/']\n  labels:\n    group: web\n    module: http_2xx\n"
        ),
    );
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_peeper-agent"))
        .args(["--once", "--print", "--instance", "probe-test"])
        .env("PEEPER_PROBES_ENABLED", "true")
        .env("PEEPER_PROBES_DIR", dir.path())
        .env("PEEPER_LINUX_ENABLED", "false")
        .output()
        .await
        .expect("run peeper-agent");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for name in [
        "probe_success",
        "probe_duration_seconds",
        "probe_http_status_code",
        "probe_http_duration_seconds",
        "probe_dns_lookup_time_seconds",
        "probe_ip_protocol",
    ] {
        assert!(
            stdout.contains(&format!("# TYPE {name} gauge")),
            "{name} missing:\n{stdout}"
        );
    }
    let line = stdout
        .lines()
        .find(|l| l.starts_with("probe_success{"))
        .expect("probe_success line");
    for part in [
        "group=\"web\"",
        "module=\"http_2xx\"",
        &format!("target=\"http://{addr}/\""),
        "job=\"probes\"",
        "instance=\"probe-test\"",
    ] {
        assert!(line.contains(part), "{part} missing in {line}");
    }
    assert!(line.ends_with(" 1"), "{line}");
}
