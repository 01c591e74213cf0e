//! A legitimate agent that keeps pushing while a test attacks the server: one small batch
//! every 200 ms with its own token, each answer recorded, so a test can assert that the
//! attack never kept it from landing for more than 3 s.

use peeper_proto::codec::encode_write_request;
use peeper_proto::prometheus::{Label, Sample, TimeSeries, WriteRequest};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The longest time without an accepted push the attacks may cause.
pub const MAX_GAP: Duration = Duration::from_secs(3);

pub struct Legit {
    task: tokio::task::JoinHandle<()>,
    answers: Arc<Mutex<Vec<(Instant, u16)>>>,
    started: Instant,
}

fn batch(sequence: u64) -> Vec<u8> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let labels = [
        ("__name__", "legit_heartbeat"),
        ("instance", "legit-agent"),
        ("job", "legit"),
    ];
    encode_write_request(&WriteRequest {
        timeseries: vec![TimeSeries {
            labels: labels
                .iter()
                .map(|(n, v)| Label {
                    name: (*n).into(),
                    value: (*v).into(),
                })
                .collect(),
            samples: vec![Sample {
                value: sequence as f64,
                timestamp: now,
            }],
        }],
        metadata: vec![],
    })
}

impl Legit {
    /// Starts pushing to `base` (`http://…` or `https://…`) with `token`; `client` carries
    /// the TLS trust for https.
    pub fn start(client: reqwest::Client, base: &str, token: &str) -> Legit {
        let answers = Arc::new(Mutex::new(Vec::new()));
        let (url, token, record) = (
            format!("{base}/api/v1/write"),
            token.to_owned(),
            Arc::clone(&answers),
        );
        let task = tokio::spawn(async move {
            for sequence in 0u64.. {
                let status = client
                    .post(&url)
                    .header("Content-Encoding", "snappy")
                    .bearer_auth(&token)
                    .timeout(Duration::from_secs(10))
                    .body(batch(sequence))
                    .send()
                    .await
                    .map_or(0, |r| r.status().as_u16());
                record.lock().unwrap().push((Instant::now(), status));
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        });
        Legit {
            task,
            answers,
            started: Instant::now(),
        }
    }

    /// Waits until its first push was accepted (so its token is known to the server).
    pub async fn landed(&self) {
        let start = Instant::now();
        while !self.answers.lock().unwrap().iter().any(|(_, s)| *s == 204) {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "the legitimate agent never landed"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Stops it (after it ran at least 2 s) and asserts every push was accepted with no gap
    /// over [`MAX_GAP`].
    pub async fn assert_steady(self, what: &str) {
        let ran = self.started.elapsed();
        if ran < Duration::from_secs(2) {
            tokio::time::sleep(Duration::from_secs(2) - ran).await;
        }
        self.task.abort();
        let answers = self.answers.lock().unwrap().clone();
        let refused: Vec<u16> = answers
            .iter()
            .map(|(_, s)| *s)
            .filter(|s| *s != 204)
            .collect();
        assert!(
            refused.is_empty(),
            "{what}: the legitimate agent was refused: {refused:?}"
        );
        let mut last = self.started;
        for (at, _) in &answers {
            let gap = at.duration_since(last);
            assert!(
                gap <= MAX_GAP,
                "{what}: the legitimate agent went {gap:?} without landing"
            );
            last = *at;
        }
        assert!(
            answers.len() >= 5,
            "{what}: the legitimate agent barely pushed: {}",
            answers.len()
        );
    }
}
