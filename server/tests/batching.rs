//! Small batches sharing writes to the store (`store_batch_window`), against a real
//! VictoriaMetrics: every batch is answered only after the store took it, groups cut the
//! number of writes, and a group the store refuses is split so that only the batch the store
//! cannot take is refused, to its own sender.
use peeper_proto::codec;
use peeper_proto::prometheus::{Label, Sample, TimeSeries, WriteRequest};
use peeper_server::RunningServer;
use peeper_server::config::{ForwardMode, Limits, ServerConfig, ServerSettings};
use peeper_server::tokens::TokenStore;
use peeper_test_support::VictoriaMetrics;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

struct Server {
    running: RunningServer,
    _data: tempfile::TempDir,
    token: String,
    client: reqwest::Client,
}

impl Server {
    async fn start(vm: &VictoriaMetrics, window: Duration) -> Server {
        let data = tempfile::tempdir().unwrap();
        let (_, token) = TokenStore::open(data.path())
            .unwrap()
            .create("acme", &[])
            .unwrap();
        let config = ServerConfig::try_new(ServerSettings {
            listen: "127.0.0.1:0".parse().unwrap(),
            tls: None,
            remote_write_url: vm.write_url(),
            data_dir: data.path().to_owned(),
            forward_mode: ForwardMode::ExtraLabel,
            limits: Limits::default(),
        })
        .unwrap()
        .with_store_batch_window(Some(window));
        Server {
            running: peeper_server::start(config).await.unwrap(),
            _data: data,
            token,
            client: reqwest::Client::new(),
        }
    }

    /// Pushes every request at once, each on a task of its own; the answers in order.
    async fn push_all(&self, requests: Vec<WriteRequest>) -> Vec<(u16, String)> {
        let url = format!("http://{}/api/v1/write", self.running.local_addr());
        let tasks: Vec<_> = requests
            .into_iter()
            .map(|request| {
                let (client, url, token) = (self.client.clone(), url.clone(), self.token.clone());
                tokio::spawn(async move {
                    let response = client
                        .post(url)
                        .bearer_auth(token)
                        .header("Content-Encoding", "snappy")
                        .body(codec::encode_write_request(&request))
                        .send()
                        .await
                        .unwrap();
                    (response.status().as_u16(), response.text().await.unwrap())
                })
            })
            .collect();
        let mut answers = Vec::new();
        for task in tasks {
            answers.push(task.await.unwrap());
        }
        answers
    }

    async fn metric(&self, name: &str) -> f64 {
        let text = reqwest::get(format!("http://{}/metrics", self.running.metrics_addr()))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {name} in:\n{text}"))
    }
}

/// Waits until `selector` matches `expected` series (the store shows fresh samples, and
/// newly indexed series, a moment after it took them); fails with the last count otherwise.
fn assert_series(vm: &VictoriaMetrics, selector: &str, expected: f64) {
    let query = format!("count(last_over_time({selector}[5m]))");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let seen = vm.query_one(&query);
        if seen == Some(expected) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{selector}: {seen:?} series, expected {expected}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A batch of `series` series named `<metric>`, one sample each.
fn batch(metric: &str, series: usize) -> WriteRequest {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let label = |name: &str, value: String| Label {
        name: name.to_owned(),
        value,
    };
    WriteRequest {
        timeseries: (0..series)
            .map(|i| TimeSeries {
                labels: vec![
                    label("__name__", metric.to_owned()),
                    label("instance", format!("host-{i}")),
                ],
                samples: vec![Sample {
                    value: i as f64,
                    timestamp: now,
                }],
            })
            .collect(),
        metadata: Vec::new(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_small_batches_share_writes_and_all_arrive() {
    let vm = VictoriaMetrics::start();
    let server = Server::start(&vm, Duration::from_millis(300)).await;
    let batches = (0..20)
        .map(|agent| batch(&format!("fleet_agent_{agent}"), 30))
        .collect();
    for (status, body) in server.push_all(batches).await {
        assert_eq!(status, 204, "{body}");
    }
    let writes = server.metric("peeper_server_store_writes_total").await;
    assert!(
        writes < 20.0,
        "20 batches in one window took {writes} writes"
    );
    vm.flush();
    assert_series(&vm, r#"{__name__=~"fleet_agent_.*", tenant="acme"}"#, 600.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_group_is_split_and_only_the_batch_the_store_cannot_take_is_refused() {
    // The store takes requests that decode to at most 64 KiB: each small batch alone (about
    // 40 KiB), never two together, and never the big one.
    let vm = VictoriaMetrics::start_with(&["-maxInsertRequestSize=65536"]);
    let server = Server::start(&vm, Duration::from_millis(300)).await;
    let mut requests: Vec<WriteRequest> = (0..8)
        .map(|agent| batch(&format!("split_agent_{agent}"), 500))
        .collect();
    let big = batch("split_too_big", 2500);
    assert!(
        codec::encode_write_request(&big).len() < 64 << 10,
        "small enough compressed to be grouped"
    );
    requests.push(big);
    let answers = server.push_all(requests).await;
    for (status, body) in &answers[..8] {
        assert_eq!(*status, 204, "{body}");
    }
    assert_eq!(answers[8].0, 400, "{}", answers[8].1);
    // Nine batches written alone would be nine writes: more means a group was refused and
    // its batches sent again one by one.
    let writes = server.metric("peeper_server_store_writes_total").await;
    assert!(writes >= 10.0, "{writes} writes");
    vm.flush();
    assert_series(
        &vm,
        r#"{__name__=~"split_agent_.*", tenant="acme"}"#,
        4000.0,
    );
    assert_eq!(
        vm.query_one("count(last_over_time(split_too_big[5m]))"),
        None
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lone_sender_sending_one_batch_at_a_time_does_not_wait_the_window() {
    // An agent draining its queue sends the next batch only once the last was answered:
    // nothing keeps it company, so waiting a window per batch would only slow the drain.
    let vm = VictoriaMetrics::start();
    let window = Duration::from_secs(5);
    let server = Server::start(&vm, window).await;
    let started = std::time::Instant::now();
    for cycle in 0..5 {
        let answers = server
            .push_all(vec![batch(&format!("drain_{cycle}"), 30)])
            .await;
        assert_eq!(answers[0].0, 204, "{}", answers[0].1);
    }
    let took = started.elapsed();
    assert!(
        took < window,
        "5 batches one after another took {took:?}: they waited for company"
    );
    assert_eq!(server.metric("peeper_server_store_writes_total").await, 5.0);
    vm.flush();
    assert_series(&vm, r#"{__name__=~"drain_.*", tenant="acme"}"#, 150.0);
}
