//! SIGHUP on a running `peeper-server`: a renewed certificate is served to new connections
//! without a restart; a broken one is refused with one log line and counted, the running one
//! stays; a changed config file is read and the settings that need a restart are named; a
//! broken config file is refused the same way.

use peeper_test_support as support;

use peeper_server::devcert::{self, DevCerts};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use support::server::ServerProcess;
use support::{VictoriaMetrics, http_get, wait_until};

/// The leaf certificate a TLS handshake trusting `ca` gets from `addr`.
fn served_leaf(addr: SocketAddr, ca: &Path) -> Result<Vec<u8>, String> {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_file(ca).unwrap())
        .unwrap();
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = ServerName::try_from("localhost").unwrap();
    let mut connection = rustls::ClientConnection::new(Arc::new(config), name).unwrap();
    let mut socket = TcpStream::connect(addr).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut stream = rustls::Stream::new(&mut connection, &mut socket);
    stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .map_err(|e| e.to_string())?;
    let certs = connection.peer_certificates().ok_or("no certificate")?;
    Ok(certs[0].to_vec())
}

fn leaf_of(certs: &DevCerts) -> Vec<u8> {
    CertificateDer::pem_file_iter(&certs.server_cert)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .to_vec()
}

fn install(certs: &DevCerts, live: &Path) {
    std::fs::copy(&certs.server_cert, live.join("cert.pem")).unwrap();
    std::fs::copy(&certs.server_key, live.join("key.pem")).unwrap();
}

fn reloads(server: &ServerProcess, result: &str) -> u32 {
    let (_, text) = http_get(&server.metrics_addr.to_string(), "/metrics").unwrap();
    let prefix = format!("peeper_server_config_reloads_total{{result=\"{result}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .map_or(0, |v| v.trim().parse().unwrap())
}

fn hup_and_wait(server: &ServerProcess, result: &str) {
    let before = reloads(server, result);
    server.signal("HUP");
    wait_until(
        &format!("a reload counted as {result}"),
        Duration::from_secs(10),
        || reloads(server, result) > before,
    );
}

#[test]
fn sighup_swaps_the_certificate_and_refuses_broken_input() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    let first = devcert::init(&dir.path().join("first"), "localhost").unwrap();
    let renewed = devcert::init(&dir.path().join("renewed"), "localhost").unwrap();
    let live = dir.path().join("live");
    std::fs::create_dir(&live).unwrap();
    install(&first, &live);
    let config = dir.path().join("server.toml");
    std::fs::write(&config, "[limits]\nmax_series_per_request = 10000\n").unwrap();
    let vm = VictoriaMetrics::start();
    let server = ServerProcess::start(
        Path::new(env!("CARGO_BIN_EXE_peeper-server")),
        &dir.path().join("data"),
        &vm.write_url(),
        &[
            "--tls-cert",
            live.join("cert.pem").to_str().unwrap(),
            "--tls-key",
            live.join("key.pem").to_str().unwrap(),
            "--config",
            config.to_str().unwrap(),
        ],
        &dir.path().join("server.log"),
    );
    assert_eq!(
        served_leaf(server.addr, &first.ca_cert).unwrap(),
        leaf_of(&first)
    );

    // A renewed certificate: new connections get it, no restart.
    install(&renewed, &live);
    hup_and_wait(&server, "success");
    assert_eq!(
        served_leaf(server.addr, &renewed.ca_cert).unwrap(),
        leaf_of(&renewed)
    );

    // A broken key: refused, named in one line, the renewed certificate stays.
    std::fs::write(live.join("key.pem"), "not a key\n").unwrap();
    hup_and_wait(&server, "error");
    assert_eq!(
        served_leaf(server.addr, &renewed.ca_cert).unwrap(),
        leaf_of(&renewed)
    );
    let log = server.log_text();
    let refused: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("configuration reload refused"))
        .collect();
    assert_eq!(refused.len(), 1, "{log}");
    assert!(refused[0].contains("key.pem"), "{}", refused[0]);
    install(&renewed, &live);

    // A changed limit is read; it applies at the next restart and the log says so.
    std::fs::write(&config, "[limits]\nmax_series_per_request = 20000\n").unwrap();
    hup_and_wait(&server, "success");
    wait_until("the restart notice", Duration::from_secs(5), || {
        server
            .log_text()
            .lines()
            .any(|l| l.contains("apply at the next restart") && l.contains("limits"))
    });

    // A broken config file: refused, the server keeps serving.
    std::fs::write(&config, "[limits\n").unwrap();
    hup_and_wait(&server, "error");
    assert!(served_leaf(server.addr, &renewed.ca_cert).is_ok());
    let log = server.log_text();
    assert!(
        log.lines()
            .any(|l| l.contains("configuration reload refused") && l.contains("server.toml")),
        "{log}"
    );
}
