//! A self-signed server certificate as people make it: `openssl req -x509 -newkey rsa:2048
//! -nodes -subj /CN=localhost -addext subjectAltName=...` (a `CA:TRUE` certificate). With
//! `--ca-file` pointing at it the real `peeper-agent --once` pushes over HTTPS and gRPC to a
//! real peeper-server (in this process, serving that certificate and its RSA key) writing into
//! a real VictoriaMetrics; a host name not in it, an expired one, and no `--ca-file` are
//! refused in words that name the cause and the fix.

mod support;

use peeper_server::config::{ForwardMode, Limits, ServerConfig, ServerSettings, TlsPaths};
use peeper_server::tokens::TokenStore;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use support::VictoriaMetrics;
use support::stack::AGENT;

/// Runs the real `openssl` in `dir`; panics with its stderr unless it succeeds.
fn openssl(dir: &Path, args: &[&str]) {
    let binary = support::require_binary("openssl", "openssl");
    let output = Command::new(binary)
        .current_dir(dir)
        .args(args)
        .output()
        .expect("run openssl");
    assert!(
        output.status.success(),
        "openssl {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// `openssl req -x509 ... -days 30` in `dir`, for the `subjectAltName` `san`.
fn openssl_self_signed(dir: &Path, san: &str) -> TlsPaths {
    std::fs::create_dir_all(dir).unwrap();
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.crt",
            "-subj",
            "/CN=localhost",
            "-addext",
            &format!("subjectAltName={san}"),
            "-days",
            "30",
        ],
    );
    let paths = TlsPaths {
        cert: dir.join("server.crt"),
        key: dir.join("server.key"),
    };
    let text = std::fs::read_to_string(&paths.cert).unwrap();
    assert!(text.starts_with("-----BEGIN CERTIFICATE-----"), "{text}");
    paths
}

/// The same kind of certificate (self-signed, `CA:TRUE`, for localhost and 127.0.0.1), valid
/// only in January 2020. OpenSSL 3.0's `req -x509` cannot set past dates (`-not_before` and
/// `-not_after` came in 3.4, and `-days` must be positive), so `openssl ca -selfsign` signs the
/// request with its own key and explicit `-startdate`/`-enddate`.
fn openssl_expired(dir: &Path) -> TlsPaths {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(
        dir.join("ca.cnf"),
        "[ca]\ndefault_ca = selfsigned\n\
         [selfsigned]\ndatabase = index.txt\nnew_certs_dir = .\nserial = serial\n\
         default_md = sha256\npolicy = anything\ncopy_extensions = copy\nunique_subject = no\n\
         [anything]\ncommonName = supplied\n\
         [v3]\nbasicConstraints = critical,CA:TRUE\nsubjectKeyIdentifier = hash\n",
    )
    .unwrap();
    std::fs::write(dir.join("index.txt"), "").unwrap();
    std::fs::write(dir.join("serial"), "01\n").unwrap();
    openssl(
        dir,
        &[
            "req",
            "-new",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ],
    );
    openssl(
        dir,
        &[
            "ca",
            "-batch",
            "-config",
            "ca.cnf",
            "-selfsign",
            "-keyfile",
            "server.key",
            "-in",
            "server.csr",
            "-startdate",
            "20200101000000Z",
            "-enddate",
            "20200201000000Z",
            "-extensions",
            "v3",
            "-notext",
            "-out",
            "server.crt",
        ],
    );
    TlsPaths {
        cert: dir.join("server.crt"),
        key: dir.join("server.key"),
    }
}

/// peeper-server serving `tls` on `ip` (a free port), writing to `write_url`, with a token.
struct TlsServer {
    server: peeper_server::RunningServer,
    token_file: PathBuf,
    dir: PathBuf,
}

impl TlsServer {
    async fn start(dir: &Path, tls: TlsPaths, ip: &str, write_url: &str) -> TlsServer {
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let data_dir = dir.join("server");
        let (_id, token) = TokenStore::open(&data_dir)
            .unwrap()
            .create("acme", &[])
            .unwrap();
        let token_file = dir.join("agent.token");
        std::fs::write(&token_file, format!("{token}\n")).unwrap();
        let config = ServerConfig::try_new(ServerSettings {
            listen: (ip.parse::<IpAddr>().unwrap(), 0).into(),
            tls: Some(tls),
            remote_write_url: write_url.to_owned(),
            data_dir,
            forward_mode: ForwardMode::ExtraLabel,
            limits: Limits::default(),
        })
        .unwrap();
        TlsServer {
            server: peeper_server::start(config)
                .await
                .expect("peeper-server takes the openssl certificate and RSA key"),
            token_file,
            dir: dir.to_owned(),
        }
    }

    /// `https://HOST:PORT` of this server, by `host`.
    fn url(&self, host: &str) -> String {
        format!("https://{host}:{}", self.server.local_addr().port())
    }

    /// `peeper-agent --once` pushing to `url` over `transport`, trusting `ca_file`, started
    /// (several run at once: a refused push retries for about 15 s before it gives up).
    fn agent(&self, url: &str, transport: &str, ca_file: Option<&Path>, instance: &str) -> Child {
        let mut command = Command::new(AGENT);
        command
            .env_remove("PEEPER_CONFIG")
            .env_remove("PEEPER_CA_FILE")
            .env_remove("SSL_CERT_FILE")
            .args(["--server", url, "--transport", transport])
            .arg("--token-file")
            .arg(&self.token_file)
            .args(["--instance", instance])
            .arg("--buffer-dir")
            .arg(self.dir.join(format!("buffer-{instance}")))
            .arg("--once")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        if let Some(path) = ca_file {
            command.arg("--ca-file").arg(path);
        }
        command.spawn().expect("start peeper-agent")
    }

    async fn stop(self) {
        self.server.shutdown().await;
    }
}

/// Waits for an agent; its success and its stderr.
fn finish(child: Child) -> (bool, String) {
    let output = child.wait_with_output().expect("wait for peeper-agent");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Waits for an agent that must fail; its stderr, which must hold every one of `words`.
fn refused(child: Child, what: &str, words: &[&str]) -> String {
    let (ok, stderr) = finish(child);
    assert!(!ok, "{what}: the push must fail: {stderr}");
    for expected in words {
        assert!(
            stderr.contains(expected),
            "{what}: the failure must say {expected:?}, it says: {stderr}"
        );
    }
    stderr
}

/// No store behind the server: every push here is refused in the TLS handshake.
const NO_STORE: &str = "http://127.0.0.1:9/api/v1/write";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_openssl_self_signed_certificate_in_the_ca_file_works_over_https_and_grpc() {
    let vm = VictoriaMetrics::start();
    let dir = tempfile::tempdir().unwrap();
    let tls = openssl_self_signed(&dir.path().join("certs"), "DNS:localhost,IP:127.0.0.1");
    let ca_file = tls.cert.clone();
    let server = TlsServer::start(dir.path(), tls, "127.0.0.1", &vm.write_url()).await;
    let cases = [
        ("https", "localhost", "self-signed-https"),
        ("grpc", "localhost", "self-signed-grpc"),
        ("https", "127.0.0.1", "self-signed-https-ip"),
        ("grpc", "127.0.0.1", "self-signed-grpc-ip"),
    ];
    let agents: Vec<_> = cases
        .iter()
        .map(|(transport, host, instance)| {
            server.agent(&server.url(host), transport, Some(&ca_file), instance)
        })
        .collect();
    for ((transport, host, instance), child) in cases.iter().zip(agents) {
        let (ok, stderr) = finish(child);
        assert!(
            ok,
            "--ca-file with the openssl certificate must work over {transport} to {host}: {stderr}"
        );
        vm.wait_for(
            &format!(r#"node_load1{{instance="{instance}",tenant="acme"}}"#),
            Duration::from_secs(20),
        );
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_name_not_in_the_certificate_is_refused_naming_the_names() {
    let dir = tempfile::tempdir().unwrap();
    // The usual certificate, the server reached at 127.0.0.2 (loopback, not in the SAN).
    let tls = openssl_self_signed(&dir.path().join("certs"), "DNS:localhost,IP:127.0.0.1");
    let ca_file = tls.cert.clone();
    let by_ip = TlsServer::start(&dir.path().join("by-ip"), tls, "127.0.0.2", NO_STORE).await;
    // A certificate for another name, the server reached as localhost.
    let other = openssl_self_signed(&dir.path().join("other"), "DNS:peeper.example.com");
    let other_ca = other.cert.clone();
    let by_name = TlsServer::start(&dir.path().join("by-name"), other, "127.0.0.1", NO_STORE).await;

    let ip_words = [
        "the server's certificate is for localhost, 127.0.0.1, not 127.0.0.2: connect by one of \
         those names (--server, PEEPER_SERVER_URL) or reissue the certificate with 127.0.0.2 in \
         its subjectAltName",
    ];
    let name_words = [
        "the server's certificate is for peeper.example.com, not localhost: connect by one of \
         those names (--server, PEEPER_SERVER_URL) or reissue the certificate with localhost in \
         its subjectAltName",
    ];
    let agents = [
        (
            by_ip.agent(&by_ip.url("127.0.0.2"), "https", Some(&ca_file), "ip-https"),
            &ip_words,
        ),
        (
            by_ip.agent(&by_ip.url("127.0.0.2"), "grpc", Some(&ca_file), "ip-grpc"),
            &ip_words,
        ),
        (
            by_name.agent(
                &by_name.url("localhost"),
                "https",
                Some(&other_ca),
                "name-https",
            ),
            &name_words,
        ),
        (
            by_name.agent(
                &by_name.url("localhost"),
                "grpc",
                Some(&other_ca),
                "name-grpc",
            ),
            &name_words,
        ),
    ];
    for (i, (child, words)) in agents.into_iter().enumerate() {
        let stderr = refused(child, &format!("wrong host name, case {i}"), words);
        assert!(!stderr.contains("OtherError"), "{stderr}");
    }
    by_ip.stop().await;
    by_name.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_self_signed_certificate_is_refused_naming_the_date() {
    let dir = tempfile::tempdir().unwrap();
    let tls = openssl_expired(&dir.path().join("certs"));
    let ca_file = tls.cert.clone();
    let server = TlsServer::start(dir.path(), tls, "127.0.0.1", NO_STORE).await;
    let words =
        ["the server's certificate expired on 2020-02-01 00:00:00 UTC: renew it on the server"];
    let agents = [
        server.agent(
            &server.url("localhost"),
            "https",
            Some(&ca_file),
            "expired-https",
        ),
        server.agent(
            &server.url("localhost"),
            "grpc",
            Some(&ca_file),
            "expired-grpc",
        ),
    ];
    for child in agents {
        refused(child, "expired certificate", &words);
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_ca_file_the_refusal_names_the_ca_file() {
    let dir = tempfile::tempdir().unwrap();
    let tls = openssl_self_signed(&dir.path().join("certs"), "DNS:localhost,IP:127.0.0.1");
    let server = TlsServer::start(dir.path(), tls, "127.0.0.1", NO_STORE).await;
    // This is what the agent said before: "invalid peer certificate: UnknownIssuer".
    let words = [
        "the server's certificate is not signed by a CA the agent trusts: put that CA's \
         certificate, or the server's self-signed certificate itself, in --ca-file \
         (PEEPER_CA_FILE)",
    ];
    let agents = [
        server.agent(&server.url("localhost"), "https", None, "no-ca-https"),
        server.agent(&server.url("localhost"), "grpc", None, "no-ca-grpc"),
    ];
    for child in agents {
        let stderr = refused(child, "no --ca-file", &words);
        assert!(!stderr.contains("UnknownIssuer"), "{stderr}");
    }
    server.stop().await;
}
