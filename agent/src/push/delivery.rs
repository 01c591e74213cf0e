//! The delivery loop: takes batches from the scheduler, keeps them in the bounded queue and
//! sends them oldest first, acting on each answer as DESIGN.md's status semantics say.

use super::{Backoff, Batch, BatchQueue, SendOutcome, Sender};
use crate::stats::AgentStats;
use peeper_proto::codec::{Encoding, decode_write_request, encode_write_request};
use peeper_proto::prometheus::WriteRequest;
use peeper_proto::remote_write::sample_count;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// Waits between retries: fast at first, at most a minute.
const RETRY_BASE: Duration = Duration::from_millis(500);
const RETRY_MAX: Duration = Duration::from_secs(60);
/// After an auth failure the operator has to act; retry rarely.
const AUTH_RETRY: Duration = Duration::from_secs(30);

/// Where collectors hand their batches. Dropping every handle ends the delivery loop
/// (after it tried to flush what it holds).
#[derive(Clone)]
pub struct DeliveryHandle {
    tx: mpsc::Sender<Batch>,
}

impl DeliveryHandle {
    /// Queues a batch. Waits only if the loop is far behind taking batches off the channel.
    pub async fn submit(&self, batch: Batch) {
        // Fails only after the loop stopped, during shutdown; nothing can be done then.
        let _ = self.tx.send(batch).await;
    }
}

pub struct Delivery {
    sender: Sender,
    queue: BatchQueue,
    stats: Arc<AgentStats>,
    rx: mpsc::Receiver<Batch>,
    backoff: Backoff,
    failing_since: Option<Instant>,
}

impl Delivery {
    pub fn new(sender: Sender, max_bytes: u64, stats: Arc<AgentStats>) -> (Delivery, DeliveryHandle) {
        let (tx, rx) = mpsc::channel(64);
        let delivery = Delivery {
            sender,
            queue: BatchQueue::new(max_bytes),
            stats,
            rx,
            backoff: Backoff::new(RETRY_BASE, RETRY_MAX),
            failing_since: None,
        };
        (delivery, DeliveryHandle { tx })
    }

    /// Runs until every handle is dropped, then tries for up to `drain` to send what is left.
    pub async fn run(mut self, drain: Duration) {
        loop {
            while let Ok(batch) = self.rx.try_recv() {
                self.enqueue(batch);
            }
            if self.queue.is_empty() {
                match self.rx.recv().await {
                    Some(batch) => self.enqueue(batch),
                    None => break,
                }
                continue;
            }
            if let Some(wait) = self.send_head().await
                && !self.wait_receiving(wait).await
            {
                break;
            }
        }
        self.drain(drain).await;
    }

    /// Sends the oldest batch; returns how long to wait before the next attempt, if at all.
    async fn send_head(&mut self) -> Option<Duration> {
        let batch = self.queue.pop_front()?;
        let outcome = self.sender.send(&batch.body).await;
        let wait = match outcome {
            SendOutcome::Accepted => {
                self.stats.record_sent(batch.samples);
                self.recovered();
                None
            }
            SendOutcome::Rejected(detail) => {
                tracing::warn!(samples = batch.samples, %detail, url = self.sender.url(), "receiver rejected a batch as bad data; dropped it");
                self.stats.record_push_error("rejected");
                self.stats.record_dropped("rejected", batch.samples);
                None
            }
            SendOutcome::TooLarge => {
                self.stats.record_push_error("too_large");
                self.split(batch);
                None
            }
            SendOutcome::AuthFailed(detail) => {
                tracing::error!(%detail, url = self.sender.url(), "receiver refused the token: check --token-file against `peeper-server token list`; keeping the data and retrying every 30s");
                self.stats.record_push_error("auth");
                self.queue.push_front(batch);
                self.failing_since.get_or_insert_with(Instant::now);
                Some(AUTH_RETRY)
            }
            SendOutcome::Retry { reason, detail, after } => {
                if self.failing_since.is_none() {
                    tracing::warn!(reason, %detail, url = self.sender.url(), "push failed; keeping the data and retrying with backoff");
                    self.failing_since = Some(Instant::now());
                }
                self.stats.record_push_error(reason);
                self.queue.push_front(batch);
                Some(self.backoff.next_delay(after))
            }
        };
        self.update_queue_stats();
        wait
    }

    fn recovered(&mut self) {
        if let Some(since) = self.failing_since.take() {
            tracing::info!(
                after_seconds = since.elapsed().as_secs(),
                queued_batches = self.queue.len(),
                "push succeeded again"
            );
        }
        self.backoff.reset();
    }

    /// Splits a batch the receiver found too large into two halves, or drops a single series.
    fn split(&mut self, batch: Batch) {
        let request = match decode_write_request(&batch.body, Encoding::Snappy, usize::MAX) {
            Ok(request) if request.timeseries.len() > 1 => request,
            _ => {
                tracing::warn!(samples = batch.samples, "receiver says a single series is too large; dropped it");
                self.stats.record_dropped("rejected", batch.samples);
                return;
            }
        };
        let mut first = request.timeseries;
        let second = first.split_off(first.len() / 2);
        for half in [second, first] {
            let request = WriteRequest {
                timeseries: half,
                metadata: Vec::new(),
            };
            self.queue.push_front(Batch {
                samples: sample_count(&request) as u64,
                body: encode_write_request(&request),
                created: batch.created,
            });
        }
    }

    fn enqueue(&mut self, batch: Batch) {
        for dropped in self.queue.push(batch) {
            tracing::warn!(samples = dropped.samples, "queue full; dropped the oldest batch");
            self.stats.record_dropped("queue_full", dropped.samples);
        }
        self.update_queue_stats();
    }

    /// Sleeps for `wait` while still taking new batches. False when the handles are gone.
    async fn wait_receiving(&mut self, wait: Duration) -> bool {
        let sleep = tokio::time::sleep(wait);
        tokio::pin!(sleep);
        loop {
            tokio::select! {
                _ = &mut sleep => return true,
                batch = self.rx.recv() => match batch {
                    Some(batch) => self.enqueue(batch),
                    None => return false,
                },
            }
        }
    }

    /// At shutdown: one more round of sends within `budget`, then reports what is left.
    async fn drain(&mut self, budget: Duration) {
        let deadline = Instant::now() + budget;
        while !self.queue.is_empty() && Instant::now() < deadline {
            let remaining = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(remaining, self.send_head()).await {
                Ok(None) => {}
                Ok(Some(wait)) => tokio::time::sleep(wait.min(deadline.saturating_duration_since(Instant::now()))).await,
                Err(_) => break,
            }
        }
        if !self.queue.is_empty() {
            tracing::warn!(batches = self.queue.len(), bytes = self.queue.bytes(), "stopping with unsent batches");
        }
    }

    fn update_queue_stats(&self) {
        self.stats.queue_bytes.store(self.queue.bytes(), Ordering::Relaxed);
        self.stats.queue_batches.store(self.queue.len() as u64, Ordering::Relaxed);
    }
}
