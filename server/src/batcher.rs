//! Small batches of many agents share one write to the store (ARCHITECTURE.md, "Server CPU
//! per request").
//!
//! A fleet sends many small requests (an agent's cycle is a few hundred series), and each one
//! written alone costs the server a store request of its own: most of its CPU per batch. Here
//! a small batch waits up to `store_batch_window` for others going to the same store URL (the
//! same tenant in extra-label mode), and the group goes in one write: the batches' snappy
//! bodies joined as they are ([`snappy_concat`]: nothing is decompressed or compressed
//! again), which decodes to one `WriteRequest` holding all their series.
//!
//! The delivery contract holds per batch: each sender is answered only after the write that
//! carried its batch was answered, with that answer. When the store refuses a group as bad
//! data or as too large, each batch of it is sent again alone, so a refusal reaches the
//! sender whose data it is and no other. An outage fails exactly the batches it carried.

use crate::forward::{ForwardError, Forwarder, Prepared};
use crate::metrics::Metrics;
use bytes::Bytes;
use peeper_proto::codec::snappy_concat;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// Bodies up to this size (compressed) are grouped; larger ones carry enough series to be
/// worth a write of their own.
const MAX_GROUPED_BODY: usize = 64 << 10;
/// A group stops growing at this many compressed bytes (some 10 000 series).
const MAX_GROUP_BYTES: usize = 1 << 20;
/// Batches waiting for one store URL's next group; a sender waits when it is full.
const QUEUE_DEPTH: usize = 4096;

/// Sends prepared batches to the store, grouping the small ones.
#[derive(Debug, Clone)]
pub struct Batcher {
    forwarder: Forwarder,
    metrics: Arc<Metrics>,
    /// `None`: every batch is written alone.
    window: Option<Duration>,
    /// One queue (and one collecting task) per store URL, made on first use.
    queues: Arc<Mutex<HashMap<String, mpsc::Sender<Waiting>>>>,
}

/// A batch waiting for its group's write, and where its answer goes.
#[derive(Debug)]
struct Waiting {
    prepared: Prepared,
    reply: oneshot::Sender<Result<(), ForwardError>>,
}

impl Batcher {
    pub fn new(forwarder: Forwarder, window: Option<Duration>, metrics: Arc<Metrics>) -> Self {
        Batcher {
            forwarder,
            metrics,
            window,
            queues: Arc::default(),
        }
    }

    /// Writes `prepared` to the store, alone or in a group; `Ok` once the store accepted it.
    pub async fn send(&self, prepared: Prepared) -> Result<(), ForwardError> {
        if self.window.is_none() || prepared.body.len() > MAX_GROUPED_BODY {
            return write_alone(&self.forwarder, &self.metrics, prepared).await;
        }
        let queue = self.queue(&prepared.url);
        let (reply, answer) = oneshot::channel();
        queue
            .send(Waiting { prepared, reply })
            .await
            .map_err(|_| shutting_down())?;
        answer.await.map_err(|_| shutting_down())?
    }

    /// The queue of `url`, with its collecting task started on first use.
    fn queue(&self, url: &reqwest::Url) -> mpsc::Sender<Waiting> {
        let mut queues = self.queues.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(queue) = queues.get(url.as_str()) {
            return queue.clone();
        }
        let (queue, waiting) = mpsc::channel(QUEUE_DEPTH);
        let window = self.window.unwrap_or_default();
        tokio::spawn(collect(self.clone(), window, waiting));
        queues.insert(url.as_str().to_owned(), queue.clone());
        queue
    }
}

fn shutting_down() -> ForwardError {
    ForwardError::Connect("the server is shutting down".to_owned())
}

/// Forms groups from one URL's queue: the first batch waits at most `window` for others;
/// each group is written by a task of its own while the next one forms.
async fn collect(batcher: Batcher, window: Duration, mut waiting: mpsc::Receiver<Waiting>) {
    while let Some(first) = waiting.recv().await {
        let deadline = tokio::time::Instant::now() + window;
        let mut bytes = first.prepared.body.len();
        let mut group = vec![first];
        while bytes < MAX_GROUP_BYTES {
            match tokio::time::timeout_at(deadline, waiting.recv()).await {
                Ok(Some(next)) => {
                    bytes += next.prepared.body.len();
                    group.push(next);
                }
                Ok(None) | Err(_) => break,
            }
        }
        tokio::spawn(write_group(batcher.clone(), group));
    }
}

/// Writes a group and answers each of its batches.
async fn write_group(batcher: Batcher, mut group: Vec<Waiting>) {
    let (forwarder, metrics) = (&batcher.forwarder, &batcher.metrics);
    if group.len() == 1 {
        let Waiting { prepared, reply } = group.remove(0);
        let _ = reply.send(write_alone(forwarder, metrics, prepared).await);
        return;
    }
    let bodies: Vec<&[u8]> = group.iter().map(|w| &w.prepared.body[..]).collect();
    let joined = snappy_concat(&bodies);
    drop(bodies);
    let Ok(body) = joined else {
        // Not reached: every body passed snappy's header check on the way in.
        for Waiting { prepared, reply } in group {
            let _ = reply.send(write_alone(forwarder, metrics, prepared).await);
        }
        return;
    };
    let merged = Prepared {
        url: group[0].prepared.url.clone(),
        body: Bytes::from(body),
        rewritten: false,
    };
    metrics.store_write();
    match forwarder.send(merged).await {
        Ok(()) => {
            for waiting in group {
                let _ = waiting.reply.send(Ok(()));
            }
        }
        // About the data: find whose, by sending each batch alone.
        Err(ForwardError::Rejected { .. } | ForwardError::TooLarge { .. }) => {
            for Waiting { prepared, reply } in group {
                let _ = reply.send(write_alone(forwarder, metrics, prepared).await);
            }
        }
        Err(error) => {
            for waiting in group {
                let _ = waiting.reply.send(Err(error.clone()));
            }
        }
    }
}

async fn write_alone(
    forwarder: &Forwarder,
    metrics: &Metrics,
    prepared: Prepared,
) -> Result<(), ForwardError> {
    metrics.store_write();
    forwarder.send(prepared).await
}
