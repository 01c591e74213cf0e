//! Through the production path: real HAProxy (TLS, `compose/haproxy/haproxy.cfg`) →
//! `peeper-server --plaintext` (trusting only the proxy) → real VictoriaMetrics.

mod common;
use peeper_test_support as support;

use common::*;
use peeper_proto::v1::WriteResponse;
use std::time::{Duration, Instant};
use support::VictoriaMetrics;
use tonic::codegen::tokio_stream::wrappers::ReceiverStream;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_write_over_h1_and_h2_through_haproxy_lands_with_the_tenant() {
    let vm = VictoriaMetrics::start();
    let stack = Stack::start(&vm).await;
    for (h2, name) in [(false, "peeper_it_proxy_h1"), (true, "peeper_it_proxy_h2")] {
        let client = stack.https_client(h2);
        let (status, _, text, version) = push(
            &client,
            &stack.base(),
            Some(&stack.tokens.acme),
            body(name, &[("tenant", "evil")], 1.0),
            None,
        )
        .await;
        assert_eq!(status, 204, "{text}\n{}", stack.proxy.log());
        let expected = if h2 {
            reqwest::Version::HTTP_2
        } else {
            reqwest::Version::HTTP_11
        };
        assert_eq!(version, expected);
        let found = vm.wait_for(name, WAIT);
        assert_eq!(found[0]["metric"]["tenant"], "acme", "{found:?}");
    }
    // Only write, gRPC and /health are public.
    let client = stack.https_client(true);
    let get = |path: &str| {
        let request = client.get(format!("{}{path}", stack.base()));
        async move {
            let r = request.send().await.unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    assert_eq!(get("/health").await, (200, "ok".to_owned()));
    assert_eq!(get("/metrics").await.0, 404);
    assert_eq!(get("/stats").await.0, 404);
    assert_eq!(
        get("/peeper.v1.Ingest/Write").await.0,
        404,
        "gRPC needs its content type"
    );
    let internal = stack.proxy.internal_addr().to_string();
    let (status, _) = support::http_get(&internal, "/health").unwrap();
    assert_eq!(status, 200);
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_unary_and_streaming_through_haproxy_land() {
    let vm = VictoriaMetrics::start();
    let stack = Stack::start(&vm).await;
    let mut grpc = stack.grpc().await;
    let token = &stack.tokens.acme;

    let response = grpc
        .write(with_token(
            batch(body("peeper_it_grpc_unary", &[], 1.0), 7),
            token,
        ))
        .await
        .expect("unary write accepted")
        .into_inner();
    assert_eq!(
        (response.sequence, response.samples_accepted, response.code),
        (7, 1, 0)
    );

    // A stream: a good batch, a bad one answered in-band, then another good one.
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    let mut answers = grpc
        .write_stream(with_token(ReceiverStream::new(rx), token))
        .await
        .expect("stream opens")
        .into_inner();
    tx.send(batch(body("peeper_it_grpc_stream", &[("n", "1")], 1.0), 1))
        .await
        .unwrap();
    tx.send(batch(random_bytes(64), 2)).await.unwrap();
    tx.send(batch(body("peeper_it_grpc_stream", &[("n", "3")], 3.0), 3))
        .await
        .unwrap();
    drop(tx);
    let mut got: Vec<WriteResponse> = Vec::new();
    while let Some(answer) = answers.message().await.expect("stream ends with OK") {
        got.push(answer);
    }
    let summary: Vec<(u64, i32)> = got.iter().map(|a| (a.sequence, a.code)).collect();
    assert_eq!(
        summary,
        [(1, 0), (2, tonic::Code::InvalidArgument as i32), (3, 0)],
        "{got:?}"
    );
    assert!(got[1].message.contains("snappy"), "{:?}", got[1]);
    assert_eq!(vm.wait_for("peeper_it_grpc_unary", WAIT).len(), 1);
    let found = vm.wait_for("peeper_it_grpc_stream", WAIT);
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(found.iter().all(|s| s["metric"]["tenant"] == "acme"));

    // gRPC refusals carry the codes of the proto's contract.
    let code = |r: Result<tonic::Response<WriteResponse>, tonic::Status>| {
        let status = r.expect_err("refused");
        (
            status.code(),
            status.message().to_owned(),
            status.metadata().clone(),
        )
    };
    let (c, m, _) = code(
        grpc.write(with_token(
            batch(body("x", &[], 1.0), 1),
            &stack.tokens.revoked,
        ))
        .await,
    );
    assert_eq!(c, tonic::Code::Unauthenticated, "{m}");
    let (c, m, _) = code(
        grpc.write(with_token(batch(body("x", &[], 1.0), 1), &stack.tokens.far))
            .await,
    );
    assert_eq!(c, tonic::Code::PermissionDenied, "{m}");
    assert!(
        m.contains("127.0.0.1") && m.contains(&stack.tokens.far_id),
        "{m}"
    );
    let (c, m, _) = code(
        grpc.write(with_token(batch(one_gib_declared(), 1), token))
            .await,
    );
    assert_eq!(c, tonic::Code::OutOfRange, "{m}");
    let (c, m, _) = code(
        grpc.write(with_token(batch(many_labels(100_000), 1), token))
            .await,
    );
    assert_eq!(c, tonic::Code::InvalidArgument, "{m}");
    let big = codec_body(150);
    grpc.write(with_token(batch(big.clone(), 1), &stack.tokens.slow))
        .await
        .expect("first 150 samples fit the burst");
    let (c, m, meta) = code(
        grpc.write(with_token(batch(big, 2), &stack.tokens.slow))
            .await,
    );
    assert_eq!(c, tonic::Code::ResourceExhausted, "{m}");
    let retry: u32 = meta
        .get("retry-after")
        .unwrap()
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=3).contains(&retry), "{retry}");
    stack.stop().await;
}

fn codec_body(series: usize) -> Vec<u8> {
    peeper_proto::codec::encode_write_request(&request("peeper_it_slow", &[], series, 1.0))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_address_from_the_trusted_proxy_drives_allow_lists() {
    let vm = VictoriaMetrics::start();
    let stack = Stack::start(&vm).await;
    let client = stack.https_client(true);
    let t = &stack.tokens;

    // Through the proxy the client is 127.0.0.1 (from X-Forwarded-For): outside 10/8.
    let (status, _, text, _) = push(
        &client,
        &stack.base(),
        Some(&t.far),
        body("peeper_it_far", &[], 1.0),
        None,
    )
    .await;
    assert_eq!(status, 403, "{text}");
    assert!(
        text.contains("127.0.0.1") && text.contains(&t.far_id),
        "{text}"
    );
    assert!(!text.contains(&t.far), "the token is never echoed");
    // A client's own X-Forwarded-For does not get it in: the proxy drops it.
    let (status, _, text, _) = push(
        &client,
        &stack.base(),
        Some(&t.far),
        body("peeper_it_far", &[], 1.0),
        Some("10.1.2.3"),
    )
    .await;
    assert_eq!(status, 403, "{text}");
    // Nor when talking to the server directly: an untrusted peer's header is ignored.
    let direct = reqwest::Client::new();
    let (status, _, text, _) = push(
        &direct,
        &stack.direct(),
        Some(&t.far),
        body("peeper_it_far", &[], 1.0),
        Some("10.1.2.3"),
    )
    .await;
    assert_eq!(status, 403, "{text}");
    assert!(text.contains("127.0.0.1"), "{text}");
    // A token allowed from 127.0.0.1 passes through the proxy.
    let (status, _, text, _) = push(
        &client,
        &stack.base(),
        Some(&t.beta_local),
        body("peeper_it_local", &[], 1.0),
        None,
    )
    .await;
    assert_eq!(status, 204, "{text}");
    let found = vm.wait_for("peeper_it_local", WAIT);
    assert_eq!(found[0]["metric"]["tenant"], "beta");
    assert!(vm.query("peeper_it_far").is_empty());
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_refused_while_another_agent_keeps_landing() {
    let vm = VictoriaMetrics::start();
    let stack = Stack::start(&vm).await;
    let base = stack.base();
    let t = &stack.tokens;

    // The well-behaved agent: one push every 100 ms over h2 through the proxy.
    let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
    let steady = {
        let client = stack.https_client(true);
        let (base, token) = (base.clone(), t.acme.clone());
        tokio::spawn(async move {
            let mut statuses = Vec::new();
            while !*stop_rx.borrow() {
                let b = body("peeper_it_steady", &[], statuses.len() as f64);
                statuses.push(push(&client, &base, Some(&token), b, None).await.0);
                tokio::select! {
                    _ = stop_rx.changed() => {}
                    _ = tokio::time::sleep(Duration::from_millis(100)) => {}
                }
            }
            statuses
        })
    };

    let client = stack.https_client(false);
    let bad = |token: &str, body: Vec<u8>| {
        let (client, base, token) = (client.clone(), base.clone(), token.to_owned());
        async move { push(&client, &base, Some(&token), body, None).await }
    };
    let (s, _, text, _) = bad(&t.acme, random_bytes(4096)).await;
    assert_eq!(s, 400, "random bytes: {text}");
    let (s, _, text, _) = bad(&t.acme, truncated_snappy()).await;
    assert_eq!(s, 400, "truncated snappy: {text}");
    let (s, _, text, _) = bad(&t.acme, one_gib_declared()).await;
    assert_eq!(s, 413, "1 GiB declared: {text}");
    assert!(text.contains("limits.max_decoded_bytes"), "{text}");
    let started = Instant::now();
    let (s, _, text, _) = bad(&t.acme, many_labels(100_000)).await;
    assert_eq!(s, 400, "100k labels: {text}");
    assert!(
        text.contains("limits.max_labels_per_series") && text.contains("40"),
        "{text}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    let (s, _, text, _) = bad(&t.revoked, body("peeper_it_bad", &[], 1.0)).await;
    assert_eq!(s, 401, "revoked: {text}");
    let (s, _, text, _) = bad(&t.far, body("peeper_it_bad", &[], 1.0)).await;
    assert_eq!(s, 403, "outside the allow list: {text}");
    let (s, _, text, _) = bad(&t.slow, codec_body(150)).await;
    assert_eq!(s, 204, "within the burst: {text}");
    let (s, retry_after, text, _) = bad(&t.slow, codec_body(150)).await;
    assert_eq!(s, 429, "over the rate: {text}");
    assert!(text.contains("100 samples/s"), "{text}");
    let retry: u64 = retry_after.expect("Retry-After").parse().unwrap();
    assert!((1..=3).contains(&retry), "{retry}");
    // Tenant A writing tenant="B" is stored as A.
    let (s, _, text, _) = bad(&t.acme, body("peeper_it_spoof", &[("tenant", "beta")], 1.0)).await;
    assert_eq!(s, 204, "{text}");

    tokio::time::sleep(Duration::from_millis(300)).await;
    stop_tx.send(true).unwrap();
    let statuses = steady.await.unwrap();
    assert!(statuses.len() >= 3, "{statuses:?}");
    assert!(statuses.iter().all(|s| *s == 204), "{statuses:?}");
    vm.wait_for("peeper_it_steady", WAIT);
    // Queries see samples older than -search.latencyOffset (1 s) only.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let landed = vm.query_one("count_over_time(peeper_it_steady[10m])");
    assert_eq!(landed, Some(statuses.len() as f64));
    let spoof = vm.wait_for("peeper_it_spoof", WAIT);
    assert_eq!(spoof.len(), 1);
    assert_eq!(spoof[0]["metric"]["tenant"], "acme");
    assert!(vm.query("peeper_it_bad").is_empty());

    // Each refusal counted under its own reason (the server's /metrics, not public).
    let metrics = reqwest::get(stack.metrics_url())
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for reason in [
        "malformed",
        "decoded_too_large",
        "too_many_labels",
        "unauthenticated",
        "forbidden_address",
        "rate_limited",
    ] {
        assert!(
            metrics.contains(&format!(
                "peeper_server_rejected_requests_total{{reason=\"{reason}\"}} "
            )),
            "{reason} missing in {metrics}"
        );
    }
    stack.stop().await;
}
