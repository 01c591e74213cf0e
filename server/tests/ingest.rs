//! The server in-process, over HTTPS with a real token, in front of a real VictoriaMetrics.

use peeper_test_support as support;

use peeper_proto::codec;
use peeper_proto::prometheus::{Label, Sample, TimeSeries, WriteRequest};
use peeper_server::RunningServer;
use peeper_server::config::{ForwardMode, Limits, ServerConfig, ServerSettings, TlsPaths};
use peeper_server::tokens::TokenStore;
use prost::Message;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use support::VictoriaMetrics;

const WAIT: Duration = Duration::from_secs(30);

/// A running server with its own data dir, CA and client.
struct Harness {
    server: Option<RunningServer>,
    data: tempfile::TempDir,
    client: reqwest::Client,
    base: String,
    token: String,
}

impl Harness {
    async fn start(vm: &VictoriaMetrics, mode: ForwardMode, tls: bool) -> Self {
        Self::start_with(vm.write_url(), mode, tls, Limits::default()).await
    }

    async fn start_with(write_url: String, mode: ForwardMode, tls: bool, limits: Limits) -> Self {
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let data = tempfile::tempdir().unwrap();
        let (_, token) = TokenStore::open(data.path())
            .unwrap()
            .create("acme", &[])
            .unwrap();
        let mut client = reqwest::Client::builder().timeout(Duration::from_secs(30));
        let paths = if tls {
            let (ca_pem, paths) = make_certs(data.path());
            let ca = reqwest::Certificate::from_pem(ca_pem.as_bytes()).unwrap();
            client = client.tls_certs_only([ca]);
            Some(paths)
        } else {
            client = client.http2_prior_knowledge();
            None
        };
        let config = ServerConfig::try_new(ServerSettings {
            listen: "127.0.0.1:0".parse().unwrap(),
            tls: paths,
            remote_write_url: write_url,
            data_dir: data.path().to_owned(),
            forward_mode: mode,
            limits,
        })
        .unwrap();
        let server = peeper_server::start(config).await.unwrap();
        let scheme = if tls { "https" } else { "http" };
        let base = format!("{scheme}://{}", server.local_addr());
        Harness {
            server: Some(server),
            data,
            client: client.build().unwrap(),
            base,
            token,
        }
    }

    async fn push_raw(
        &self,
        body: Vec<u8>,
        encoding: &str,
        token: Option<&str>,
    ) -> (u16, Option<String>, String) {
        let mut request = self
            .client
            .post(format!("{}/api/v1/write", self.base))
            .header("Content-Type", "application/x-protobuf")
            .header("Content-Encoding", encoding)
            .header("X-Prometheus-Remote-Write-Version", "0.1.0")
            .body(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("request reaches the server");
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().to_owned());
        (status, retry_after, response.text().await.unwrap())
    }

    async fn push(&self, request: &WriteRequest) -> (u16, Option<String>, String) {
        self.push_raw(
            codec::encode_write_request(request),
            "snappy",
            Some(&self.token),
        )
        .await
    }

    /// The server's own metrics, from its metrics listener.
    async fn metrics(&self) -> (u16, String) {
        let addr = self.server.as_ref().unwrap().metrics_addr();
        let r = reqwest::get(format!("http://{addr}/metrics"))
            .await
            .unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }

    async fn get(&self, path: &str) -> (u16, String) {
        let r = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }

    async fn stop(mut self) {
        self.server.take().unwrap().shutdown().await;
    }
}

/// A CA and a leaf for 127.0.0.1/localhost signed by it; returns the CA PEM and the paths.
fn make_certs(dir: &std::path::Path) -> (String, TlsPaths) {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "Peeper test CA");
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
        .unwrap()
        .signed_by(&leaf_key, &ca)
        .unwrap();
    let paths = TlsPaths {
        cert: dir.join("server.crt"),
        key: dir.join("server.key"),
    };
    std::fs::write(&paths.cert, format!("{}{}", leaf.pem(), ca.pem())).unwrap();
    std::fs::write(&paths.key, leaf_key.serialize_pem()).unwrap();
    (ca.pem(), paths)
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// One series `name{labels}` with one sample `value` now.
fn request(name: &str, labels: &[(&str, &str)], value: f64) -> WriteRequest {
    let mut all = vec![Label {
        name: "__name__".into(),
        value: name.into(),
    }];
    all.extend(labels.iter().map(|(n, v)| Label {
        name: (*n).into(),
        value: (*v).into(),
    }));
    all.sort_by(|a, b| a.name.cmp(&b.name));
    WriteRequest {
        timeseries: vec![TimeSeries {
            labels: all,
            samples: vec![Sample {
                value,
                timestamp: now_ms(),
            }],
        }],
        metadata: vec![],
    }
}

/// The label sets VictoriaMetrics holds for `selector`.
fn series_labels(vm: &VictoriaMetrics, selector: &str) -> Vec<serde_json::Value> {
    vm.wait_for(selector, WAIT)
        .into_iter()
        .map(|s| s["metric"].clone())
        .collect()
}

async fn tenant_is_enforced(mode: ForwardMode, prefix: &str) {
    let vm = VictoriaMetrics::start();
    let h = Harness::start(&vm, mode, true).await;

    // A client-sent tenant label is overridden.
    let name = format!("{prefix}_snappy");
    let (status, _, body) = h
        .push(&request(&name, &[("tenant", "evil"), ("job", "t")], 1.0))
        .await;
    assert_eq!(status, 204, "{body}");
    let found = series_labels(&vm, &name);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["tenant"], "acme", "{found:?}");
    assert_eq!(found[0]["job"], "t");

    // zstd bodies are accepted (and re-compressed as snappy for VictoriaMetrics).
    let name = format!("{prefix}_zstd");
    let raw = request(&name, &[("tenant", "evil")], 2.0).encode_to_vec();
    let (status, _, body) = h
        .push_raw(codec::zstd_compress(&raw), "zstd", Some(&h.token))
        .await;
    assert_eq!(status, 204, "{body}");
    let found = series_labels(&vm, &name);
    assert_eq!(found[0]["tenant"], "acme", "{found:?}");

    // VictoriaMetrics tenancy labels are dropped (the body is rewritten).
    let name = format!("{prefix}_vm_labels");
    let labels = [
        ("vm_account_id", "7"),
        ("vm_project_id", "8"),
        ("tenant", "evil"),
    ];
    let (status, _, body) = h.push(&request(&name, &labels, 3.0)).await;
    assert_eq!(status, 204, "{body}");
    let found = series_labels(&vm, &name);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["tenant"], "acme", "{found:?}");
    assert!(found[0].get("vm_account_id").is_none(), "{found:?}");
    assert!(found[0].get("vm_project_id").is_none(), "{found:?}");

    assert!(vm.query("{tenant=\"evil\"}").is_empty());
    let (status, metrics) = h.metrics().await;
    assert_eq!(status, 200);
    assert_eq!(
        h.get("/metrics").await.0,
        404,
        "the ingest port does not serve /metrics (tenant names and volumes)"
    );
    assert!(
        metrics.contains("peeper_server_samples_received_total{tenant=\"acme\"} 3"),
        "{metrics}"
    );
    assert!(
        metrics.contains("peeper_server_requests_total{code=\"204\"} 3"),
        "{metrics}"
    );
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extra_label_mode_sets_the_tokens_tenant() {
    tenant_is_enforced(ForwardMode::ExtraLabel, "peeper_it_extra").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rewrite_mode_sets_the_tokens_tenant() {
    tenant_is_enforced(ForwardMode::Rewrite, "peeper_it_rewrite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_name_the_problem_and_write_nothing() {
    let vm = VictoriaMetrics::start();
    let h = Harness::start(&vm, ForwardMode::ExtraLabel, true).await;
    let good = codec::encode_write_request(&request("peeper_it_refused", &[], 1.0));

    let (status, _, body) = h.push_raw(good.clone(), "snappy", None).await;
    assert_eq!(status, 401);
    assert!(body.contains("Authorization"), "{body}");
    let wrong = format!("peeper_00000000_{}", "A".repeat(43));
    let (status, _, body) = h.push_raw(good.clone(), "snappy", Some(&wrong)).await;
    assert_eq!(status, 401);
    assert!(body.contains("unknown or revoked"), "{body}");
    let (status, _, body) = h.push_raw(good.clone(), "snappy", Some("garbage")).await;
    assert_eq!(status, 401);
    assert!(body.contains("malformed"), "{body}");

    // Valid snappy, invalid protobuf.
    let (status, _, body) = h
        .push_raw(
            codec::snappy_compress(&[0x0a, 0x50, 0x01]),
            "snappy",
            Some(&h.token),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("WriteRequest"), "{body}");
    // Not snappy at all.
    let (status, _, body) = h.push_raw(vec![0xff; 16], "snappy", Some(&h.token)).await;
    assert_eq!(status, 400, "{body}");

    // A snappy header declaring 1 GiB: refused before anything is allocated.
    let mut huge = Vec::new();
    let mut n: u64 = 1 << 30;
    while n >= 0x80 {
        huge.push((n as u8) | 0x80);
        n >>= 7;
    }
    huge.push(n as u8);
    huge.extend_from_slice(&[0; 32]);
    let (status, _, body) = h.push_raw(huge, "snappy", Some(&h.token)).await;
    assert_eq!(status, 413, "{body}");
    assert!(body.contains("limits.max_decoded_bytes"), "{body}");

    // A limit names itself.
    let many: Vec<(String, String)> = (0..41).map(|i| (format!("l{i:02}"), "v".into())).collect();
    let many: Vec<(&str, &str)> = many.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    let (status, _, body) = h.push(&request("peeper_it_refused", &many, 1.0)).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("limits.max_labels_per_series"), "{body}");

    let (status, _, body) = h.push_raw(good.clone(), "gzip", Some(&h.token)).await;
    assert_eq!(status, 415, "{body}");

    let (status, body) = h.get("/health").await;
    assert_eq!((status, body.as_str()), (200, "ok"));
    let (_, metrics) = h.metrics().await;
    for reason in [
        "unauthenticated",
        "malformed",
        "decoded_too_large",
        "too_many_labels",
        "unsupported_encoding",
    ] {
        assert!(
            metrics.contains(&format!(
                "peeper_server_rejected_requests_total{{reason=\"{reason}\"}} "
            )),
            "{reason} missing in {metrics}"
        );
    }

    // The one good push lands; none of the refused ones did.
    let (status, _, body) = h.push_raw(good, "snappy", Some(&h.token)).await;
    assert_eq!(status, 204, "{body}");
    vm.wait_for("peeper_it_refused", WAIT);
    let result = vm.query("count_over_time(peeper_it_refused[10m])");
    assert_eq!(result.len(), 1, "{result:?}");
    assert_eq!(result[0]["value"][1], "1", "{result:?}");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_down_gives_503_with_retry_after_then_recovers() {
    let mut vm = VictoriaMetrics::start();
    let h = Harness::start(&vm, ForwardMode::ExtraLabel, true).await;
    vm.stop();
    let batch = request("peeper_it_outage", &[("job", "t")], 5.0);
    let (status, retry_after, body) = h.push(&batch).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(retry_after.as_deref(), Some("5"));
    assert!(body.contains("store"), "{body}");

    vm.restart();
    let (status, _, body) = h.push(&batch).await;
    assert_eq!(status, 204, "{body}");
    let found = series_labels(&vm, "peeper_it_outage");
    assert_eq!(found[0]["tenant"], "acme");
    let (_, metrics) = h.metrics().await;
    assert!(
        metrics.contains("peeper_server_forward_errors_total{kind=\"connect\"} 1"),
        "{metrics}"
    );
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoked_token_is_refused_without_restart() {
    let vm = VictoriaMetrics::start();
    let h = Harness::start(&vm, ForwardMode::ExtraLabel, true).await;
    let batch = request("peeper_it_revoke", &[], 1.0);
    assert_eq!(h.push(&batch).await.0, 204);

    let mut store = TokenStore::open(h.data.path()).unwrap();
    let id = store.list()[0].id.clone();
    store.revoke(&id).unwrap();
    let (_, other) = store.create("other", &[]).unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (status, _, body) = h.push(&batch).await;
    assert_eq!(status, 401, "{body}");
    let good = codec::encode_write_request(&request("peeper_it_revoke_new", &[], 1.0));
    let (status, _, body) = h.push_raw(good, "snappy", Some(&other)).await;
    assert_eq!(status, 204, "{body}");
    let found = series_labels(&vm, "peeper_it_revoke_new");
    assert_eq!(found[0]["tenant"], "other");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn speaks_http2_over_tls_alpn_and_h2c() {
    let vm = VictoriaMetrics::start();
    let tls = Harness::start(&vm, ForwardMode::ExtraLabel, true).await;
    let r = tls
        .client
        .get(format!("{}/health", tls.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.version(), reqwest::Version::HTTP_2);
    let plain = Harness::start(&vm, ForwardMode::ExtraLabel, false).await;
    let r = plain
        .client
        .get(format!("{}/health", plain.base))
        .send()
        .await
        .unwrap();
    assert_eq!(
        (r.status().as_u16(), r.version()),
        (200, reqwest::Version::HTTP_2)
    );
    let (status, _, body) = plain.push(&request("peeper_it_h2c", &[], 1.0)).await;
    assert_eq!(status, 204, "{body}");
    // HTTP/1.1 on the same plaintext listener.
    let addr = plain.base.trim_start_matches("http://").to_owned();
    let (status, body) = tokio::task::spawn_blocking(move || support::http_get(&addr, "/health"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((status, body.as_str()), (200, "ok"));
    tls.stop().await;
    plain.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_finishes_in_flight_requests() {
    // A fake store that answers after a delay, so a request is in flight at shutdown.
    let store = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let store_addr = store.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = store.accept().await {
            tokio::spawn(async move {
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                let mut buf = vec![0u8; 65536];
                let _ = conn.read(&mut buf).await;
                tokio::time::sleep(Duration::from_millis(800)).await;
                let _ = conn
                    .write_all(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n")
                    .await;
            });
        }
    });
    let url = format!("http://{store_addr}/api/v1/write");
    let h = Harness::start_with(url, ForwardMode::ExtraLabel, false, Limits::default()).await;
    let client = h.client.clone();
    let target = format!("{}/api/v1/write", h.base);
    let body = codec::encode_write_request(&request("peeper_it_drain", &[], 1.0));
    let token = h.token.clone();
    let in_flight = tokio::spawn(async move {
        client
            .post(target)
            .bearer_auth(token)
            .body(body)
            .send()
            .await
            .map(|r| r.status().as_u16())
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let base = h.base.clone();
    h.stop().await;
    assert_eq!(in_flight.await.unwrap().unwrap(), 204);
    // And the listener is gone.
    assert!(reqwest::get(format!("{base}/health")).await.is_err());
}
