//! The sender and the delivery loop against a local HTTP receiver whose answers the test
//! scripts: each status code of the status contract (`peeper_proto::status`,
//! ARCHITECTURE.md) leads to the documented action.

use super::*;
use crate::config::{PushConfig, Transport};
use crate::stats::AgentStats;
use axum::http::{HeaderMap, StatusCode as AxumStatus};
use peeper_proto::codec::{Encoding, decode_write_request, encode_write_request};
use peeper_proto::model::MetricFamily;
use peeper_proto::remote_write::to_write_request;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

#[derive(Default)]
struct Script {
    answers: VecDeque<(u16, Option<&'static str>)>,
    received: Vec<(usize, Option<String>)>,
}

/// Starts a receiver answering from `answers` (then 204), recording each request's series
/// count and Authorization header.
async fn receiver(answers: &[(u16, Option<&'static str>)]) -> (String, Arc<Mutex<Script>>) {
    let script = Arc::new(Mutex::new(Script {
        answers: answers.iter().copied().collect(),
        received: Vec::new(),
    }));
    let state = script.clone();
    let app = axum::Router::new().route(
        "/api/v1/write",
        axum::routing::post(move |headers: HeaderMap, body: axum::body::Bytes| {
            let state = state.clone();
            async move {
                let request = decode_write_request(&body, Encoding::Snappy, 1 << 24)
                    .expect("agent sends valid snappy protobuf");
                let auth = headers
                    .get("authorization")
                    .map(|v| v.to_str().unwrap().to_owned());
                let mut script = state.lock().unwrap();
                script.received.push((request.timeseries.len(), auth));
                let (code, retry_after) = script.answers.pop_front().unwrap_or((204, None));
                let mut response_headers = HeaderMap::new();
                if let Some(after) = retry_after {
                    response_headers.insert("retry-after", after.parse().unwrap());
                }
                (
                    AxumStatus::from_u16(code).unwrap(),
                    response_headers,
                    "scripted answer",
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/api/v1/write", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, script)
}

fn push_config(url: &str) -> PushConfig {
    PushConfig {
        write_url: url.to_owned(),
        token: Some("secret-token".into()),
        ca_file: None,
        transport: Transport::Https,
        buffer_max_bytes: 1 << 20,
        drain_rate: 1000,
    }
}

fn batch(series: usize) -> Batch {
    let mut family = MetricFamily::gauge("m", "h");
    for i in 0..series {
        family.push(&[("i", &i.to_string())], i as f64);
    }
    let request = to_write_request(&[family], &[], 1);
    Batch {
        samples: series as u64,
        body: encode_write_request(&request).into(),
        created_at: SystemTime::now(),
    }
}

#[test]
fn status_codes_map_to_actions() {
    let d = String::new;
    assert_eq!(
        classify(StatusCode::NO_CONTENT, d(), None),
        SendOutcome::Accepted
    );
    assert!(matches!(
        classify(StatusCode::BAD_REQUEST, d(), None),
        SendOutcome::Rejected(_)
    ));
    assert!(matches!(
        classify(StatusCode::UNAUTHORIZED, d(), None),
        SendOutcome::AuthFailed(_)
    ));
    assert!(matches!(
        classify(StatusCode::FORBIDDEN, d(), None),
        SendOutcome::AuthFailed(_)
    ));
    assert_eq!(
        classify(StatusCode::PAYLOAD_TOO_LARGE, d(), None),
        SendOutcome::TooLarge
    );
    let after = Some(Duration::from_secs(3));
    assert!(matches!(
        classify(StatusCode::TOO_MANY_REQUESTS, d(), after),
        SendOutcome::Retry {
            reason: "throttled",
            after: Some(_),
            ..
        }
    ));
    assert!(matches!(
        classify(StatusCode::SERVICE_UNAVAILABLE, d(), None),
        SendOutcome::Retry {
            reason: "server_error",
            ..
        }
    ));
}

async fn deliver(
    answers: &[(u16, Option<&'static str>)],
    batches: Vec<Batch>,
) -> (Arc<Mutex<Script>>, Arc<AgentStats>) {
    let (url, script) = receiver(answers).await;
    let stats = Arc::new(AgentStats::default());
    let sender = Sender::try_new(&push_config(&url)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let disk = DiskQueue::open(dir.path(), 1 << 20).unwrap();
    let (delivery, handle) = Delivery::new(sender, disk, 1000, stats.clone());
    let task = tokio::spawn(delivery.run(Duration::from_secs(10)));
    for b in batches {
        handle.submit(b).await;
    }
    drop(handle);
    tokio::time::timeout(Duration::from_secs(20), task)
        .await
        .unwrap()
        .unwrap();
    (script, stats)
}

#[tokio::test]
async fn retries_5xx_and_429_then_delivers_everything_with_the_token() {
    let (script, stats) = deliver(
        &[(503, None), (429, Some("1")), (500, None)],
        vec![batch(3), batch(2)],
    )
    .await;
    let script = script.lock().unwrap();
    let counts: Vec<usize> = script.received.iter().map(|(n, _)| *n).collect();
    assert_eq!(
        counts,
        [5, 5, 5, 5],
        "three failures, then both batches joined in one request"
    );
    assert!(
        script
            .received
            .iter()
            .all(|(_, auth)| auth.as_deref() == Some("Bearer secret-token"))
    );
    assert_eq!(
        stats
            .samples_sent
            .load(std::sync::atomic::Ordering::Relaxed),
        5
    );
    assert_eq!(stats.push_errors("server_error"), 2);
    assert_eq!(stats.push_errors("throttled"), 1);
}

#[tokio::test]
async fn a_batch_answered_400_is_halved_until_the_bad_series_is_dropped_alone() {
    // A receiver that refuses all: the joined 5 series are halved down to single series
    // (2n - 1 = 9 requests), each dropped and counted; nothing is sent twice once accepted.
    let (script, stats) = deliver(&[(400, None); 9], vec![batch(4), batch(1)]).await;
    let counts: Vec<usize> = script
        .lock()
        .unwrap()
        .received
        .iter()
        .map(|r| r.0)
        .collect();
    assert_eq!(counts.len(), 9, "{counts:?}");
    assert_eq!(counts.iter().filter(|&&n| n == 1).count(), 5, "{counts:?}");
    assert_eq!(stats.dropped("rejected"), 5);
    assert_eq!(
        stats
            .samples_sent
            .load(std::sync::atomic::Ordering::Relaxed),
        0
    );
}

#[tokio::test]
async fn splits_a_batch_answered_413() {
    let (script, stats) = deliver(&[(413, None)], vec![batch(10)]).await;
    let counts: Vec<usize> = script
        .lock()
        .unwrap()
        .received
        .iter()
        .map(|(n, _)| *n)
        .collect();
    assert_eq!(counts, [10, 5, 5]);
    assert_eq!(
        stats
            .samples_sent
            .load(std::sync::atomic::Ordering::Relaxed),
        10
    );
}

#[tokio::test]
async fn keeps_data_on_401_within_the_drain_budget() {
    let (url, script) = receiver(&[(401, None); 5]).await;
    let stats = Arc::new(AgentStats::default());
    let sender = Sender::try_new(&push_config(&url)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let disk = DiskQueue::open(dir.path(), 1 << 20).unwrap();
    let (delivery, handle) = Delivery::new(sender, disk, 1000, stats.clone());
    let task = tokio::spawn(delivery.run(Duration::from_millis(300)));
    handle.submit(batch(2)).await;
    drop(handle);
    task.await.unwrap();
    // One attempt while running, one more while draining at shutdown; both refused.
    assert_eq!(script.lock().unwrap().received.len(), 2);
    assert_eq!(stats.push_errors("auth"), 2);
    assert_eq!(
        stats.dropped("rejected"),
        0,
        "auth failures never drop data"
    );
    assert_eq!(
        stats
            .queue_batches
            .load(std::sync::atomic::Ordering::Relaxed),
        1
    );
}

#[tokio::test]
async fn connection_refused_is_retried_not_dropped() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let sender = Sender::try_new(&push_config(&format!(
        "http://127.0.0.1:{port}/api/v1/write"
    )))
    .unwrap();
    match sender.send(&batch(1).body).await {
        SendOutcome::Retry {
            reason: "network",
            detail,
            ..
        } => assert!(!detail.is_empty()),
        other => panic!("expected a network retry, got {other:?}"),
    }
}

#[tokio::test]
async fn a_backlog_alternates_fresh_and_oldest_batches() {
    let (url, script) = receiver(&[]).await;
    let stats = Arc::new(AgentStats::default());
    let sender = Sender::try_new(&push_config(&url)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    {
        // Batches of 1..=4 series left by an earlier run.
        let mut disk = DiskQueue::open(dir.path(), 1 << 20).unwrap();
        for series in 1..=4 {
            disk.append(&batch(series)).unwrap();
        }
    }
    let disk = DiskQueue::open(dir.path(), 1 << 20).unwrap();
    let (delivery, handle) = Delivery::new(sender, disk, 1000, stats.clone());
    drop(handle);
    delivery.run(Duration::from_secs(10)).await;
    let counts: Vec<usize> = script
        .lock()
        .unwrap()
        .received
        .iter()
        .map(|(n, _)| *n)
        .collect();
    assert_eq!(counts, [4, 1, 3, 2], "newest, oldest, newest, oldest");
    assert!(DiskQueue::open(dir.path(), 1 << 20).unwrap().is_empty());
}

#[tokio::test]
async fn batches_of_one_cycle_are_joined_into_one_request() {
    let (url, script) = receiver(&[]).await;
    let stats = Arc::new(AgentStats::default());
    let sender = Sender::try_new(&push_config(&url)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let disk = DiskQueue::open(dir.path(), 1 << 20).unwrap();
    let (delivery, handle) = Delivery::new(sender, disk, 1000, stats.clone());
    let task = tokio::spawn(delivery.run(Duration::from_secs(10)));
    // Two collectors of one cycle, 10 ms apart; the next cycle well after the window.
    handle.submit(batch(3)).await;
    tokio::time::sleep(Duration::from_millis(10)).await;
    handle.submit(batch(2)).await;
    tokio::time::sleep(super::delivery::JOIN_WINDOW * 3).await;
    handle.submit(batch(1)).await;
    drop(handle);
    tokio::time::timeout(Duration::from_secs(20), task)
        .await
        .unwrap()
        .unwrap();
    let counts: Vec<usize> = script
        .lock()
        .unwrap()
        .received
        .iter()
        .map(|r| r.0)
        .collect();
    assert_eq!(counts, [5, 1]);
    assert_eq!(
        stats
            .samples_sent
            .load(std::sync::atomic::Ordering::Relaxed),
        6
    );
}
