//! Probes against real servers started here on 127.0.0.1: axum over plain HTTP and over
//! TLS (an rcgen CA through tokio-rustls), bare TCP listeners, and ICMP to loopback.

use super::samples::names;
use super::*;
use crate::collector::CollectorConfig;
use axum::Router;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::routing::{any, get};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, SanType};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::net::SocketAddr;
use std::path::Path;
use tokio::net::{TcpListener, TcpStream};

fn config(vars: &[(&str, &str)], file: Option<ProbesTable>) -> ProbesConfig {
    let vars: Vec<(String, String)> = vars
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let env = move |name: &str| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    ProbesConfig::resolve(file, &env).expect("valid probes config")
}

fn module(config: &ProbesConfig, name: &str) -> Arc<Module> {
    Arc::new(config.modules.get(name).expect("module").clone())
}

async fn probe(config: &ProbesConfig, name: &str, target: &str) -> Outcome {
    let module = module(config, name);
    let timeout = module.timeout;
    let target = ProbeTarget {
        target: target.to_owned(),
        module: name.to_owned(),
        labels: Vec::new(),
    };
    run_probe(target, module, timeout).await
}

/// The sample `name` of one probe's outcome; panics listing the samples it has.
fn sample(outcome: &Outcome, name: &str) -> f64 {
    outcome
        .samples
        .get(name)
        .unwrap_or_else(|| panic!("{name} missing in {:?}", outcome.samples))
}

fn app() -> Router {
    Router::new()
        .route("/", get(|| async { "hello" }))
        .route("/missing", get(|| async { (StatusCode::NOT_FOUND, "no") }))
        .route(
            "/error",
            get(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "boom") }),
        )
        .route(
            "/redirect",
            get(|| async { (StatusCode::FOUND, [("location", "/")], "") }),
        )
        .route(
            "/echo",
            any(
                |method: Method, headers: HeaderMap, body: String| async move {
                    let json: Option<serde_json::Value> = serde_json::from_str(&body).ok();
                    let ok = method == Method::POST
                        && headers
                            .get("content-type")
                            .is_some_and(|v| v == "application/json")
                        && headers.get("x-probe").is_some_and(|v| v == "yes")
                        && json == Some(serde_json::json!({"ping": 1}));
                    if ok {
                        (StatusCode::OK, body)
                    } else {
                        (
                            StatusCode::BAD_REQUEST,
                            format!("{method} {headers:?} {body}"),
                        )
                    }
                },
            ),
        )
}

async fn http_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app()).await });
    addr
}

/// A private CA and a leaf for localhost/127.0.0.1 expiring at `not_after` (Unix seconds).
struct Pki {
    ca_pem: String,
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

fn pki(not_after: i64) -> Pki {
    let mut ca = CertificateParams::new(Vec::<String>::new()).expect("ca params");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "probe test CA");
    let ca_key = KeyPair::generate().expect("key");
    let ca_cert = ca.self_signed(&ca_key).expect("ca");
    let issuer = Issuer::new(ca, ca_key);
    let mut leaf = CertificateParams::new(vec!["localhost".to_owned()]).expect("leaf params");
    leaf.subject_alt_names
        .push(SanType::IpAddress("127.0.0.1".parse().expect("ip")));
    leaf.not_after = (std::time::UNIX_EPOCH + Duration::from_secs(not_after as u64)).into();
    let key = KeyPair::generate().expect("key");
    let cert = leaf.signed_by(&key, &issuer).expect("leaf");
    Pki {
        ca_pem: ca_cert.pem(),
        chain: vec![cert.der().clone()],
        key: PrivateKeyDer::from_pem_slice(key.serialize_pem().as_bytes()).expect("key pem"),
    }
}

struct TlsListener {
    tcp: TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
}

impl axum::serve::Listener for TlsListener {
    type Io = tokio_rustls::server::TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((stream, addr)) = self.tcp.accept().await else {
                continue;
            };
            let handshake = self.acceptor.accept(stream);
            if let Ok(Ok(tls)) = tokio::time::timeout(Duration::from_secs(5), handshake).await {
                return (tls, addr);
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.tcp.local_addr()
    }
}

async fn tls_server(pki: &Pki) -> SocketAddr {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(pki.chain.clone(), pki.key.clone_key())
        .expect("server config");
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let tcp = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = tcp.local_addr().expect("addr");
    let listener = TlsListener {
        tcp,
        acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(config)),
    };
    tokio::spawn(async move { axum::serve(listener, app()).await });
    addr
}

fn write_ca(dir: &Path, pki: &Pki) -> String {
    let path = dir.join("ca.crt");
    std::fs::write(&path, &pki.ca_pem).expect("write ca");
    path.display().to_string()
}

const EXPIRY: i64 = 2_000_000_000;

#[tokio::test]
async fn http_status_codes_and_redirects() {
    let addr = http_server().await;
    let c = config(&[], None);
    let ok = probe(&c, "http_2xx", &format!("http://{addr}/")).await;
    assert!(ok.success(), "{:?}", ok.error);
    assert_eq!(sample(&ok, "probe_success"), 1.0);
    assert_eq!(sample(&ok, "probe_http_status_code"), 200.0);
    assert_eq!(sample(&ok, "probe_http_content_length"), 5.0);
    assert_eq!(sample(&ok, "probe_http_uncompressed_body_length"), 5.0);
    assert_eq!(sample(&ok, "probe_http_version"), 1.1);
    assert_eq!(sample(&ok, "probe_http_ssl"), 0.0);
    assert_eq!(sample(&ok, "probe_ip_protocol"), 4.0);
    assert!(sample(&ok, "probe_duration_seconds") > 0.0);
    assert!(ok.samples.0.iter().any(|s| s.name == names::HTTP_DURATION
        && s.label == Some(("phase", "processing".to_owned()))
        && s.value > 0.0));

    // Without a scheme, http:// is assumed, as blackbox_exporter does.
    assert!(probe(&c, "http_2xx", &addr.to_string()).await.success());

    for (path, code) in [("/missing", 404.0), ("/error", 500.0)] {
        let bad = probe(&c, "http_2xx", &format!("http://{addr}{path}")).await;
        assert!(!bad.success());
        assert_eq!(sample(&bad, "probe_success"), 0.0);
        assert_eq!(sample(&bad, "probe_http_status_code"), code);
        assert!(
            matches!(bad.error, Some(ProbesError::Status { .. })),
            "{:?}",
            bad.error
        );
    }

    let redirect = probe(&c, "http_2xx", &format!("http://{addr}/redirect")).await;
    assert!(redirect.success(), "{:?}", redirect.error);
    assert_eq!(sample(&redirect, "probe_http_redirects"), 1.0);
    assert_eq!(sample(&redirect, "probe_http_status_code"), 200.0);

    // A module that does not follow redirects sees the 302, and 302 can be made valid.
    let file = ProbesTable {
        modules: [(
            "http_302".to_owned(),
            ModuleConfig {
                follow_redirects: Some(false),
                valid_status_codes: Some(vec![302]),
                ..Default::default()
            },
        )]
        .into(),
        ..Default::default()
    };
    let c2 = config(&[], Some(file));
    let stay = probe(&c2, "http_302", &format!("http://{addr}/redirect")).await;
    assert!(stay.success(), "{:?}", stay.error);
    assert_eq!(sample(&stay, "probe_http_status_code"), 302.0);
    assert_eq!(sample(&stay, "probe_http_redirects"), 0.0);
}

#[tokio::test]
async fn post_json_sends_method_headers_and_body() {
    let addr = http_server().await;
    let file = ProbesTable {
        modules: [(
            "http_post_json_2xx".to_owned(),
            ModuleConfig {
                headers: Some([("X-Probe".to_owned(), "yes".to_owned())].into()),
                body: Some(r#"{"ping": 1}"#.to_owned()),
                ..Default::default()
            },
        )]
        .into(),
        ..Default::default()
    };
    let c = config(&[], Some(file));
    let m = module(&c, "http_post_json_2xx");
    assert_eq!(m.method, "POST");
    assert!(
        m.headers
            .iter()
            .any(|(k, v)| k == "Content-Type" && v == "application/json")
    );
    let ok = probe(&c, "http_post_json_2xx", &format!("http://{addr}/echo")).await;
    assert!(ok.success(), "{:?}", ok.error);
    // The plain built-in (empty JSON object, no header) is refused by the echo server.
    let plain = probe(
        &config(&[], None),
        "http_post_json_2xx",
        &format!("http://{addr}/echo"),
    )
    .await;
    assert_eq!(sample(&plain, "probe_http_status_code"), 400.0);
}

#[tokio::test]
async fn custom_ca_strict_tls_and_certificate_expiry() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pki = pki(EXPIRY);
    let ca_file = write_ca(dir.path(), &pki);
    let addr = tls_server(&pki).await;
    let url = format!("https://localhost:{}/", addr.port());

    // Not trusted by the system roots.
    let c = config(&[], None);
    let plain = probe(&c, "http_2xx", &url).await;
    assert!(!plain.success());
    assert!(
        matches!(plain.error, Some(ProbesError::Request { .. })),
        "{:?}",
        plain.error
    );
    let strict = probe(&c, "http_2xx_tls_strict", &url).await;
    assert!(
        !strict.success(),
        "a private CA must fail the strict module"
    );
    let no_ca = probe(&c, "http_2xx_custom_ca", &url).await;
    assert!(
        matches!(no_ca.error, Some(ProbesError::NoCaFile { .. })),
        "{:?}",
        no_ca.error
    );

    // With the CA file (environment or per module) it succeeds and reports the chain.
    let c = config(&[("PEEPER_PROBES_CA_FILE", ca_file.as_str())], None);
    let ok = probe(&c, "http_2xx_custom_ca", &url).await;
    assert!(ok.success(), "{:?}", ok.error);
    assert_eq!(sample(&ok, "probe_http_ssl"), 1.0);
    assert_eq!(sample(&ok, "probe_ssl_earliest_cert_expiry"), EXPIRY as f64);
    assert_eq!(sample(&ok, "probe_http_status_code"), 200.0);
    assert!(sample(&ok, "probe_http_version") >= 1.1);
    assert!(
        ok.samples
            .0
            .iter()
            .any(|s| s.name == names::TLS_VERSION_INFO
                && s.label == Some(("version", "TLS 1.3".to_owned()))
                && s.value == 1.0)
    );

    // The strict module refuses plain HTTP even when the answer is 200.
    let http = http_server().await;
    let strict_plain = probe(&c, "http_2xx_tls_strict", &format!("http://{http}/")).await;
    assert!(
        matches!(strict_plain.error, Some(ProbesError::Ssl { .. })),
        "{:?}",
        strict_plain.error
    );

    // http_tls_expiry: a handshake only, the date even from an untrusted chain.
    for target in [
        format!("localhost:{}", addr.port()),
        format!("https://127.0.0.1:{}/", addr.port()),
    ] {
        let expiry = probe(&c, "http_tls_expiry", &target).await;
        assert!(expiry.success(), "{target}: {:?}", expiry.error);
        assert_eq!(
            sample(&expiry, "probe_ssl_earliest_cert_expiry"),
            EXPIRY as f64
        );
        assert!(
            expiry.samples.get("probe_http_status_code").is_none(),
            "no HTTP request is made"
        );
    }
}

#[tokio::test]
async fn tcp_connect_open_and_closed_ports() {
    let open = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let open_addr = open.local_addr().expect("addr");
    let closed_addr = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr")
    };
    let c = config(&[], None);
    let ok = probe(&c, "tcp_connect", &open_addr.to_string()).await;
    assert!(ok.success(), "{:?}", ok.error);
    assert_eq!(sample(&ok, "probe_ip_protocol"), 4.0);
    let closed = probe(&c, "tcp_connect", &closed_addr.to_string()).await;
    assert!(
        matches!(closed.error, Some(ProbesError::Connect { .. })),
        "{:?}",
        closed.error
    );
    assert_eq!(sample(&closed, "probe_success"), 0.0);
    let no_port = probe(&c, "tcp_connect", "127.0.0.1").await;
    assert!(matches!(no_port.error, Some(ProbesError::Target { .. })));
    drop(open);
}

#[tokio::test]
async fn icmp_to_loopback() {
    let c = config(&[], None);
    let outcome = probe(&c, "icmp", "127.0.0.1").await;
    match &outcome.error {
        None => {
            assert_eq!(sample(&outcome, "probe_success"), 1.0);
            assert!(
                outcome
                    .samples
                    .0
                    .iter()
                    .any(|s| s.name == names::ICMP_DURATION
                        && s.label == Some(("phase", "rtt".to_owned()))
                        && s.value > 0.0)
            );
        }
        Some(error @ ProbesError::IcmpSocket { .. }) => {
            let text = error.to_string();
            assert!(
                text.contains("CAP_NET_RAW") && text.contains("ping_group_range"),
                "{text}"
            );
            assert_eq!(sample(&outcome, "probe_success"), 0.0);
        }
        Some(other) => panic!("icmp to 127.0.0.1 failed: {other}"),
    }
}

/// A server that accepts connections and never answers.
async fn stalled_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    addr
}

#[tokio::test]
async fn a_stalled_server_costs_no_more_than_the_timeout() {
    let addr = stalled_server().await;
    let c = config(&[("PEEPER_PROBES_TIMEOUT", "700ms")], None);
    let start = std::time::Instant::now();
    let outcome = probe(&c, "http_2xx", &format!("http://{addr}/")).await;
    let took = start.elapsed();
    assert!(
        matches!(outcome.error, Some(ProbesError::Timeout(_))),
        "{:?}",
        outcome.error
    );
    assert!(took < Duration::from_millis(2200), "took {took:?}");
    assert!(sample(&outcome, "probe_duration_seconds") >= 0.69);
    assert!(
        outcome
            .samples
            .get("probe_dns_lookup_time_seconds")
            .is_some(),
        "partial results are kept"
    );

    // Many stalled targets, one at a time: the cycle still ends within its budget.
    let modules: BTreeMap<String, Arc<Module>> =
        [("http_2xx".to_owned(), module(&c, "http_2xx"))].into();
    let list: Vec<ProbeTarget> = (0..5)
        .map(|i| ProbeTarget {
            target: format!("http://{addr}/{i}"),
            module: "http_2xx".to_owned(),
            labels: Vec::new(),
        })
        .collect();
    let start = std::time::Instant::now();
    let deadline = Instant::now() + Duration::from_millis(1000);
    let outcomes = run_all(list, &modules, 1, deadline).await;
    let took = start.elapsed();
    assert!(took < Duration::from_millis(2500), "took {took:?}");
    assert_eq!(outcomes.len(), 5);
    assert!(outcomes.iter().all(|o| !o.success()));
    assert!(
        outcomes
            .iter()
            .any(|o| matches!(o.error, Some(ProbesError::Budget(_))))
    );
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).expect("write target file");
}

const SEED_FILE: &str = "\
# as in the Peeper 0.7 manual
- targets:
  - http://127.0.0.1:PORT/
  - http://127.0.0.1:PORT/missing
  labels:
    group: eltex # a group of sites
    module: http_2xx
";

#[tokio::test]
async fn target_files_labels_and_reloading() {
    let addr = http_server().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let sites = dir.path().join("blackbox_sites.yaml");
    write(&sites, &SEED_FILE.replace("PORT", &addr.port().to_string()));
    write(&dir.path().join("other.yaml"), "not: a target file");
    write(
        &dir.path().join("blackbox_tcp.yml"),
        &format!(
            "- targets: ['{addr}']\n  module: tcp_connect\n  labels: {{env: prod, port: 80}}\n"
        ),
    );
    let dir_text = dir.path().display().to_string();
    let c = config(
        &[
            ("PEEPER_PROBES_ENABLED", "true"),
            ("PEEPER_PROBES_DIR", &dir_text),
        ],
        None,
    );
    assert!(c.enabled);
    let mut collector = ProbesCollector::new(&c);
    let families = collector.collect_now(Cycle::standard().deadline).await;
    let success = peeper_proto::model::family(&families, "probe_success").expect("probe_success");
    assert_eq!(success.series.len(), 3, "{success:?}");
    let root = format!("http://127.0.0.1:{}/", addr.port());
    let ok = success.find(&[("target", &root)]).expect("root series");
    assert_eq!(ok.value, 1.0);
    assert_eq!(ok.label("group"), Some("eltex"));
    assert_eq!(ok.label("module"), Some("http_2xx"));
    let missing = success
        .find(&[("target", &format!("{root}missing"))])
        .expect("missing series");
    assert_eq!(missing.value, 0.0);
    let tcp = success
        .find(&[("module", "tcp_connect")])
        .expect("tcp series");
    assert_eq!(
        (tcp.label("env"), tcp.label("port"), tcp.value),
        (Some("prod"), Some("80"), 1.0)
    );
    let status = peeper_proto::model::family(&families, "probe_http_status_code").expect("status");
    assert_eq!(
        status.find(&[("target", &root)]).map(|s| s.value),
        Some(200.0)
    );

    // A change is picked up on the next cycle; the file_sd `__param_module` form works too.
    write(
        &sites,
        &format!(
            "- targets: ['{root}error']\n  labels:\n    group: moved\n    __param_module: http_2xx\n"
        ),
    );
    let families = collector.collect_now(Cycle::standard().deadline).await;
    let success = peeper_proto::model::family(&families, "probe_success").expect("probe_success");
    assert_eq!(success.series.len(), 2);
    let error = success.find(&[("group", "moved")]).expect("new target");
    assert_eq!(error.label("module"), Some("http_2xx"));
    assert_eq!(error.value, 0.0);

    // A broken file keeps its previous targets and says where it is broken.
    write(
        &sites,
        "- targets: ['x']\n  labels:\n    group: [unclosed\n",
    );
    let families = collector.collect_now(Cycle::standard().deadline).await;
    let success = peeper_proto::model::family(&families, "probe_success").expect("probe_success");
    assert!(
        success.find(&[("group", "moved")]).is_some(),
        "previous targets kept"
    );
    let valid =
        peeper_proto::model::family(&families, "peeper_probes_file_valid").expect("file_valid");
    let sites_text = sites.display().to_string();
    assert_eq!(
        valid.find(&[("file", &sites_text)]).map(|s| s.value),
        Some(0.0)
    );

    // Removing the file removes its targets.
    std::fs::remove_file(&sites).expect("remove");
    let families = collector.collect_now(Cycle::standard().deadline).await;
    let success = peeper_proto::model::family(&families, "probe_success").expect("probe_success");
    assert_eq!(success.series.len(), 1);
}

#[test]
fn file_errors_name_the_file_and_line() {
    let known = |m: &str| super::config::BUILTIN_MODULES.contains(&m);
    let path = Path::new("/etc/probes/blackbox_x.yaml");
    let broken = "- targets:\n  - a\n  labels:\n    group: [x\n";
    let error = targets::parse_file(path, broken, &known, "http_2xx").expect_err("broken");
    let text = error.to_string();
    assert!(text.contains("blackbox_x.yaml line"), "{text}");

    let unknown = "- targets: [a]\n  labels:\n    group: g\n    module: http_3xx\n";
    let text = targets::parse_file(path, unknown, &known, "http_2xx")
        .expect_err("unknown")
        .to_string();
    assert!(
        text.contains("line 4") && text.contains("http_3xx"),
        "{text}"
    );

    let typo = "- targets: [a]\n  lables: {group: g}\n";
    let text = targets::parse_file(path, typo, &known, "http_2xx")
        .expect_err("typo")
        .to_string();
    assert!(text.contains("line 2") && text.contains("lables"), "{text}");

    let bad_label = "- targets: [a]\n  labels: {\"bad-name\": g}\n";
    let text = targets::parse_file(path, bad_label, &known, "http_2xx")
        .expect_err("label")
        .to_string();
    assert!(text.contains("bad-name"), "{text}");

    let reserved = "- targets: [a]\n  labels: {instance: x}\n";
    assert!(targets::parse_file(path, reserved, &known, "http_2xx").is_err());

    // Empty and comment-only files have no targets; a group without a module gets the default.
    assert!(
        targets::parse_file(path, "# nothing yet\n", &known, "http_2xx")
            .expect("empty")
            .is_empty()
    );
    let bare = targets::parse_file(path, "- targets: [a, b]\n", &known, "http_2xx").expect("bare");
    assert_eq!(bare.len(), 2);
    assert_eq!(bare[0].module, "http_2xx");
}

#[test]
fn config_validation() {
    let c = config(&[], None);
    assert!(!c.enabled, "off unless switched on");
    assert_eq!(c.modules.len(), super::config::BUILTIN_MODULES.len());
    let env = |name: &str| (name == "PEEPER_PROBES_TIMEOUT").then(|| "soon".to_owned());
    assert!(ProbesConfig::resolve(None, &env).is_err());
    let bad = ProbesTable {
        modules: [(
            "x".to_owned(),
            ModuleConfig {
                prober: Some("udp".to_owned()),
                ..Default::default()
            },
        )]
        .into(),
        ..Default::default()
    };
    let none = |_: &str| None;
    let text = ProbesConfig::resolve(Some(bad), &none)
        .expect_err("unknown prober")
        .to_string();
    assert!(text.contains("udp"), "{text}");
    let toml_text = "enabled = true\ndir = \"/tmp/p\"\n[modules.api]\nmethod = \"post\"\nvalid_status_codes = [201]\n";
    let parsed: ProbesTable = toml::from_str(toml_text).expect("toml");
    let c = ProbesConfig::resolve(Some(parsed), &none).expect("valid");
    let api = c.modules.get("api").expect("api module");
    assert_eq!(
        (api.method.as_str(), api.valid_status_codes.as_slice()),
        ("POST", &[201u16][..])
    );
    assert!(
        toml::from_str::<ProbesTable>("enabeld = true").is_err(),
        "unknown keys are refused"
    );
}
