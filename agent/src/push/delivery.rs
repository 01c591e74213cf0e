//! The delivery loop: takes batches from the collectors, stores them in the disk queue
//! before sending, and sends them acting on each answer as the status contract says
//! (`peeper_proto::status`, ARCHITECTURE.md).
//!
//! While a backlog exists, sends alternate between the newest batch (so fresh data keeps
//! flowing) and the oldest (so the backlog drains oldest first), at most `drain_rate`
//! batches per second so a recovering server is not flooded.
//!
//! With nothing queued, a batch that arrives waits up to [`JOIN_WINDOW`] for the other
//! batches of its cycle (the agent's loops tick together) and they are queued as one: a
//! cycle costs the server one request, not one per collector (ARCHITECTURE.md, "Server CPU
//! per request").

use super::disk::{DiskQueue, Entry, QueueError};
use super::{Backoff, Batch, BatchQueue, SendOutcome, Sender};
use crate::stats::AgentStats;
use bytes::Bytes;
use peeper_proto::codec::{Encoding, decode_write_request, encode_write_request, snappy_concat};
use peeper_proto::prometheus::WriteRequest;
use peeper_proto::remote_write::sample_count;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};

/// Waits between retries: fast at first, at most a minute.
const RETRY_BASE: Duration = Duration::from_millis(500);
const RETRY_MAX: Duration = Duration::from_secs(60);
/// After an auth failure the operator has to act; retry rarely.
const AUTH_RETRY: Duration = Duration::from_secs(30);
/// How long the first batch of a cycle waits for the cycle's other batches.
pub const JOIN_WINDOW: Duration = Duration::from_millis(100);
/// Joined batches stay within a cycle batch's bound.
const MAX_JOINED_SAMPLES: u64 = crate::runtime::MAX_SERIES_PER_BATCH as u64;
/// Memory for batches the disk refused (full or failing disk).
const OVERFLOW_MAX_BYTES: u64 = 16 * 1024 * 1024;

/// Where collectors hand their batches. Dropping every handle ends the delivery loop
/// (after it tried to flush what it holds; the rest stays on disk for the next start).
#[derive(Debug, Clone)]
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

/// Reconfigures a running delivery loop (a reload): a new sender (server URL, token, CA,
/// transport) and drain rate take over from the next send; the queue is untouched.
#[derive(Debug)]
pub struct DeliveryControl {
    tx: watch::Sender<Option<(Sender, u32)>>,
}

impl DeliveryControl {
    pub fn reconfigure(&self, sender: Sender, drain_rate: u32) {
        let _ = self.tx.send(Some((sender, drain_rate)));
    }
}

/// Where the batch being sent came from, so the answer acts on the right store.
enum Source {
    Disk(Entry),
    Memory,
}

#[derive(Debug)]
pub struct Delivery {
    sender: Sender,
    disk: DiskQueue,
    overflow: BatchQueue,
    stats: Arc<AgentStats>,
    rx: mpsc::Receiver<Batch>,
    backoff: Backoff,
    failing_since: Option<Instant>,
    disk_failing: bool,
    newest_next: bool,
    /// Splits of rejected batches still allowed this minute.
    isolation: IsolationBudget,
    drain_interval: Duration,
    updates: Option<watch::Receiver<Option<(Sender, u32)>>>,
}

impl Delivery {
    /// `drain_rate`: at most this many batches per second while a backlog exists.
    pub fn new(
        sender: Sender,
        disk: DiskQueue,
        drain_rate: u32,
        stats: Arc<AgentStats>,
    ) -> (Delivery, DeliveryHandle) {
        let (tx, rx) = mpsc::channel(64);
        let delivery = Delivery {
            sender,
            disk,
            overflow: BatchQueue::new(OVERFLOW_MAX_BYTES),
            stats,
            rx,
            backoff: Backoff::new(RETRY_BASE, RETRY_MAX),
            failing_since: None,
            disk_failing: false,
            newest_next: true,
            isolation: IsolationBudget::default(),
            drain_interval: drain_interval(drain_rate),
            updates: None,
        };
        delivery.update_queue_stats();
        (delivery, DeliveryHandle { tx })
    }

    /// The way to reconfigure this loop once it runs.
    pub fn control(&mut self) -> DeliveryControl {
        let (tx, rx) = watch::channel(None);
        self.updates = Some(rx);
        DeliveryControl { tx }
    }

    /// Takes a new sender if a reload sent one; a waiting retry is then tried at once.
    fn take_update(&mut self) -> bool {
        let Some(updates) = self.updates.as_mut() else {
            return false;
        };
        if !updates.has_changed().unwrap_or(false) {
            return false;
        }
        let Some((sender, drain_rate)) = updates.borrow_and_update().clone() else {
            return false;
        };
        tracing::info!(
            url = sender.url(),
            "delivery uses the reloaded server settings"
        );
        self.sender = sender;
        self.drain_interval = drain_interval(drain_rate);
        self.backoff.reset();
        true
    }

    /// Runs until every handle is dropped, then tries for up to `drain` to send what is left.
    pub async fn run(mut self, drain: Duration) {
        if !self.disk.is_empty() {
            tracing::info!(
                batches = self.disk.len(),
                bytes = self.disk.bytes(),
                "resending batches queued by an earlier run"
            );
        }
        loop {
            if self.disk.is_empty() && self.overflow.is_empty() {
                match self.rx.recv().await {
                    Some(batch) => self.gather(batch).await,
                    None => break,
                }
                continue;
            }
            while let Ok(batch) = self.rx.try_recv() {
                self.enqueue(batch);
            }
            let backlog = self.disk.len() + self.overflow.len() > 1;
            let wait = match self.send_next().await {
                Some(wait) => Some(wait),
                None if backlog => Some(self.drain_interval),
                None => None,
            };
            if let Some(wait) = wait
                && !self.wait_receiving(wait).await
            {
                break;
            }
        }
        self.drain(drain).await;
    }

    /// Sends one batch; returns how long to wait before the next attempt after a failure.
    async fn send_next(&mut self) -> Option<Duration> {
        self.take_update();
        let (source, batch) = if let Some(batch) = self.overflow.pop_front() {
            (Source::Memory, batch)
        } else {
            let newest = self.newest_next;
            self.newest_next = !newest;
            match self.disk.peek(newest)? {
                Ok(stored) => (Source::Disk(stored.entry), stored.batch),
                Err((entry, err)) => {
                    tracing::error!(error = %err, samples = entry.samples, "dropped a corrupt queued batch");
                    self.stats.record_dropped("corrupt", entry.samples);
                    self.update_queue_stats();
                    return None;
                }
            }
        };
        let outcome = self.sender.send(&batch.body).await;
        let wait = match outcome {
            SendOutcome::Accepted => {
                self.stats.record_sent(batch.samples);
                self.recovered();
                self.done(source);
                None
            }
            SendOutcome::Rejected(detail) => {
                self.stats.record_push_error("rejected");
                self.done(source);
                if batch.samples > 1 && self.isolation.take() {
                    // A cycle's batches travel joined: find the bad series by halves, so
                    // the rest of the cycle is not lost with it.
                    tracing::debug!(samples = batch.samples, %detail, "receiver rejected a batch as bad data; sending it again in halves");
                    self.split(batch);
                } else {
                    tracing::warn!(samples = batch.samples, %detail, url = self.sender.url(), "receiver rejected a batch as bad data; dropped it");
                    self.stats.record_dropped("rejected", batch.samples);
                }
                None
            }
            SendOutcome::TooLarge => {
                self.stats.record_push_error("too_large");
                self.done(source);
                self.split(batch);
                None
            }
            SendOutcome::AuthFailed(detail) => {
                tracing::error!(%detail, url = self.sender.url(), "receiver refused the token: check --token-file against `peeper-server token list`; keeping the data and retrying every 30s");
                self.stats.record_push_error("auth");
                self.keep(source, batch);
                self.failing_since.get_or_insert_with(Instant::now);
                Some(AUTH_RETRY)
            }
            SendOutcome::Retry {
                reason,
                detail,
                after,
            } => {
                if self.failing_since.is_none() {
                    tracing::warn!(reason, %detail, url = self.sender.url(), "push failed; keeping the data and retrying with backoff");
                    self.failing_since = Some(Instant::now());
                }
                self.stats.record_push_error(reason);
                self.keep(source, batch);
                Some(self.backoff.next_delay(after))
            }
        };
        self.update_queue_stats();
        wait
    }

    /// The batch is settled (sent, or given up): forget it.
    fn done(&mut self, source: Source) {
        if let Source::Disk(entry) = source {
            self.disk.ack(entry.seq);
        }
    }

    /// The batch must be sent again later: a disk batch simply stays where it is.
    fn keep(&mut self, source: Source, batch: Batch) {
        if let Source::Memory = source {
            self.overflow.push_front(batch);
        }
    }

    fn recovered(&mut self) {
        if let Some(since) = self.failing_since.take() {
            tracing::info!(
                after_seconds = since.elapsed().as_secs(),
                queued_batches = self.disk.len(),
                "push succeeded again"
            );
        }
        self.backoff.reset();
    }

    /// Splits a batch the receiver found too large (or rejected) into two halves, or drops a
    /// single series.
    fn split(&mut self, batch: Batch) {
        let request = match decode_write_request(&batch.body, Encoding::Snappy, usize::MAX) {
            Ok(request) if request.timeseries.len() > 1 => request,
            _ => {
                tracing::warn!(
                    samples = batch.samples,
                    "receiver refuses a single series (too large or bad data); dropped it"
                );
                self.stats.record_dropped("rejected", batch.samples);
                return;
            }
        };
        let mut first = request.timeseries;
        let second = first.split_off(first.len() / 2);
        let halves: Vec<Batch> = [first, second]
            .into_iter()
            .map(|timeseries| {
                let request = WriteRequest {
                    timeseries,
                    metadata: Vec::new(),
                };
                Batch {
                    samples: sample_count(&request) as u64,
                    body: encode_write_request(&request).into(),
                    created_at: batch.created_at,
                }
            })
            .collect();
        if let Err(err) = self.disk.prepend(&halves) {
            self.disk_error(&err);
            for half in halves.into_iter().rev() {
                self.overflow.push_front(half);
            }
        }
    }

    /// Queues `first` joined with the batches that arrive within [`JOIN_WINDOW`], as few
    /// batches as [`MAX_JOINED_SAMPLES`] allows.
    async fn gather(&mut self, first: Batch) {
        let deadline = tokio::time::Instant::now() + JOIN_WINDOW;
        let mut samples = first.samples;
        let mut pending = vec![first];
        while let Ok(Some(next)) = tokio::time::timeout_at(deadline, self.rx.recv()).await {
            if samples + next.samples > MAX_JOINED_SAMPLES {
                for batch in join(std::mem::take(&mut pending)) {
                    self.enqueue(batch);
                }
                samples = 0;
            }
            samples += next.samples;
            pending.push(next);
        }
        for batch in join(pending) {
            self.enqueue(batch);
        }
    }

    fn enqueue(&mut self, batch: Batch) {
        match self.disk.append(&batch) {
            Ok(dropped) => {
                if std::mem::take(&mut self.disk_failing) {
                    tracing::info!("the disk queue takes batches again");
                }
                for entry in dropped {
                    tracing::warn!(
                        samples = entry.samples,
                        "queue full (--buffer-max-bytes); dropped the oldest batch"
                    );
                    self.stats.record_dropped("queue_full", entry.samples);
                }
            }
            Err(err) => {
                self.disk_error(&err);
                for old in self.overflow.push(batch) {
                    self.stats.record_dropped("queue_full", old.samples);
                }
            }
        }
        self.update_queue_stats();
    }

    fn disk_error(&mut self, err: &QueueError) {
        self.stats.record_queue_write_error();
        if !std::mem::replace(&mut self.disk_failing, true) {
            tracing::error!(error = %err, "cannot write to the disk queue; holding up to 16 MiB in memory until it works again");
        }
    }

    /// Sleeps for `wait` while still taking new batches. False when the handles are gone.
    /// A reload with new server settings ends the wait early.
    async fn wait_receiving(&mut self, wait: Duration) -> bool {
        let sleep = tokio::time::sleep(wait);
        tokio::pin!(sleep);
        let mut updates = self.updates.clone();
        loop {
            tokio::select! {
                _ = &mut sleep => return true,
                _ = changed(&mut updates) => return true,
                batch = self.rx.recv() => match batch {
                    Some(batch) => self.enqueue(batch),
                    None => return false,
                },
            }
        }
    }

    /// At shutdown: more sends within `budget`; what is left stays on disk for the next run.
    async fn drain(&mut self, budget: Duration) {
        let deadline = Instant::now() + budget;
        while let Ok(batch) = self.rx.try_recv() {
            self.enqueue(batch);
        }
        while !(self.disk.is_empty() && self.overflow.is_empty()) && Instant::now() < deadline {
            let remaining = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(remaining, self.send_next()).await {
                Ok(None) => {}
                Ok(Some(wait)) => {
                    tokio::time::sleep(wait.min(deadline.saturating_duration_since(Instant::now())))
                        .await
                }
                Err(_) => break,
            }
        }
        if !self.overflow.is_empty() {
            tracing::warn!(
                batches = self.overflow.len(),
                "stopping with unsent batches the disk refused; they are lost"
            );
        }
        if !self.disk.is_empty() {
            tracing::info!(
                batches = self.disk.len(),
                bytes = self.disk.bytes(),
                "stopping with queued batches; they are sent at the next start"
            );
        }
    }

    fn update_queue_stats(&self) {
        let stats = &self.stats;
        stats
            .queue_bytes
            .store(self.disk.bytes() + self.overflow.bytes(), Ordering::Relaxed);
        stats.queue_batches.store(
            (self.disk.len() + self.overflow.len()) as u64,
            Ordering::Relaxed,
        );
        stats
            .queue_oldest_age_ms
            .store(self.disk.oldest_age().as_millis() as u64, Ordering::Relaxed);
    }
}

/// Splits of batches the receiver rejected as bad data, at most [`ISOLATION_SPLITS`] a
/// minute: enough to find a bad series in a cycle's batch by halves (13 splits for 5 000
/// series), never a flood against a receiver that rejects everything (then batches are
/// dropped as they are refused).
#[derive(Debug)]
struct IsolationBudget {
    since: Instant,
    used: u32,
}

const ISOLATION_SPLITS: u32 = 32;

impl Default for IsolationBudget {
    fn default() -> Self {
        IsolationBudget {
            since: Instant::now(),
            used: 0,
        }
    }
}

impl IsolationBudget {
    fn take(&mut self) -> bool {
        if self.since.elapsed() >= Duration::from_secs(60) {
            *self = IsolationBudget::default();
        }
        self.used += 1;
        self.used <= ISOLATION_SPLITS
    }
}

/// One batch holding every series of `batches` (their snappy bodies joined as they are); the
/// batches themselves if they cannot be joined.
fn join(mut batches: Vec<Batch>) -> Vec<Batch> {
    if batches.len() < 2 {
        return batches;
    }
    let bodies: Vec<&[u8]> = batches.iter().map(|b| &b.body[..]).collect();
    let Ok(body) = snappy_concat(&bodies) else {
        return batches;
    };
    let joined = Batch {
        body: Bytes::from(body),
        samples: batches.iter().map(|b| b.samples).sum(),
        created_at: batches
            .iter()
            .map(|b| b.created_at)
            .min()
            .unwrap_or(batches[0].created_at),
    };
    batches.clear();
    batches.push(joined);
    batches
}

fn drain_interval(drain_rate: u32) -> Duration {
    Duration::from_secs(1) / drain_rate.max(1)
}

/// Resolves when a reload sent new settings; never without a control.
async fn changed(updates: &mut Option<watch::Receiver<Option<(Sender, u32)>>>) {
    if let Some(rx) = updates
        && rx.changed().await.is_ok()
    {
        return;
    }
    std::future::pending().await
}
