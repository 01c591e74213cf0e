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
//! A batch waits only while a crowd is sending. A sender that sends its next batch only
//! after the last one was answered (an agent draining its queue after an outage) never has
//! company in flight, and waiting would only slow it down: a window per batch. So each batch
//! notes whether another one of its URL was in flight when it came; a group waits for
//! others only when such an overlap happened within the last [`CROWD_MEMORY_WINDOWS`]
//! windows, and is written at once otherwise.
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
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

/// Bodies up to this size (compressed) are grouped; larger ones carry enough series to be
/// worth a write of their own.
const MAX_GROUPED_BODY: usize = 64 << 10;
/// A group stops growing at this many compressed bytes (some 10 000 series).
const MAX_GROUP_BYTES: usize = 1 << 20;
/// Batches waiting for one store URL's next group; a sender waits when it is full.
const QUEUE_DEPTH: usize = 4096;
/// Groups wait for company this many windows after two batches of one URL last overlapped.
const CROWD_MEMORY_WINDOWS: u32 = 10;

/// Sends prepared batches to the store, grouping the small ones.
#[derive(Debug, Clone)]
pub struct Batcher {
    forwarder: Forwarder,
    metrics: Arc<Metrics>,
    /// `None`: every batch is written alone.
    window: Option<Duration>,
    /// One queue (and one collecting task) per store URL, made on first use.
    queues: Arc<Mutex<HashMap<String, Queue>>>,
}

/// Where one store URL's batches wait.
#[derive(Debug, Clone)]
struct Queue {
    sender: mpsc::Sender<Waiting>,
    /// Batches of this URL handed over and not yet answered.
    in_flight: Arc<AtomicUsize>,
}

/// A batch waiting for its group's write, and where its answer goes.
#[derive(Debug)]
struct Waiting {
    prepared: Prepared,
    reply: oneshot::Sender<Result<(), ForwardError>>,
    /// Another batch of the URL was in flight when this one came.
    overlapped: bool,
}

/// Counts a batch in flight until dropped (answered, or its sender gone).
struct InFlight(Arc<AtomicUsize>);

impl InFlight {
    /// Counts one more; whether others were in flight already.
    fn enter(count: &Arc<AtomicUsize>) -> (InFlight, bool) {
        let before = count.fetch_add(1, Ordering::Relaxed);
        (InFlight(Arc::clone(count)), before > 0)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Whether a crowd sends to one URL: batches overlapped within the memory.
#[derive(Debug)]
struct Crowd {
    memory: Duration,
    last_overlap: Option<Instant>,
}

impl Crowd {
    fn new(window: Duration) -> Self {
        Crowd {
            memory: window * CROWD_MEMORY_WINDOWS,
            last_overlap: None,
        }
    }

    /// Notes a batch's arrival at `now`.
    fn arrived(&mut self, overlapped: bool, now: Instant) {
        if overlapped {
            self.last_overlap = Some(now);
        }
    }

    /// Whether a group forming at `now` should wait for company.
    fn present(&self, now: Instant) -> bool {
        self.last_overlap
            .is_some_and(|at| now.saturating_duration_since(at) < self.memory)
    }
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
        let (_in_flight, overlapped) = InFlight::enter(&queue.in_flight);
        let (reply, answer) = oneshot::channel();
        let waiting = Waiting {
            prepared,
            reply,
            overlapped,
        };
        queue
            .sender
            .send(waiting)
            .await
            .map_err(|_| shutting_down())?;
        answer.await.map_err(|_| shutting_down())?
    }

    /// The queue of `url`, with its collecting task started on first use.
    fn queue(&self, url: &reqwest::Url) -> Queue {
        let mut queues = self.queues.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(queue) = queues.get(url.as_str()) {
            return queue.clone();
        }
        let (sender, waiting) = mpsc::channel(QUEUE_DEPTH);
        let window = self.window.unwrap_or_default();
        tokio::spawn(collect(self.clone(), window, waiting));
        let queue = Queue {
            sender,
            in_flight: Arc::default(),
        };
        queues.insert(url.as_str().to_owned(), queue.clone());
        queue
    }
}

fn shutting_down() -> ForwardError {
    ForwardError::Connect("the server is shutting down".to_owned())
}

/// Forms groups from one URL's queue: while a crowd sends, the first batch waits at most
/// `window` for others; otherwise the group is what is queued already. Each group is written
/// by a task of its own while the next one forms.
async fn collect(batcher: Batcher, window: Duration, mut waiting: mpsc::Receiver<Waiting>) {
    let mut crowd = Crowd::new(window);
    while let Some(first) = waiting.recv().await {
        let now = Instant::now();
        crowd.arrived(first.overlapped, now);
        let deadline = if crowd.present(now) {
            now + window
        } else {
            now
        };
        let mut bytes = first.prepared.body.len();
        let mut group = vec![first];
        while bytes < MAX_GROUP_BYTES {
            // A timeout polls its future first: what is queued joins even past the deadline.
            match tokio::time::timeout_at(deadline, waiting.recv()).await {
                Ok(Some(next)) => {
                    crowd.arrived(next.overlapped, Instant::now());
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
        let Waiting {
            prepared, reply, ..
        } = group.remove(0);
        let _ = reply.send(write_alone(forwarder, metrics, prepared).await);
        return;
    }
    let bodies: Vec<&[u8]> = group.iter().map(|w| &w.prepared.body[..]).collect();
    let joined = snappy_concat(&bodies);
    drop(bodies);
    let Ok(body) = joined else {
        // Not reached: every body passed snappy's header check on the way in.
        for Waiting {
            prepared, reply, ..
        } in group
        {
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
            for Waiting {
                prepared, reply, ..
            } in group
            {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_crowd_is_present_only_within_its_memory_of_an_overlap() {
        let window = Duration::from_millis(100);
        let start = Instant::now();
        let mut crowd = Crowd::new(window);
        crowd.arrived(false, start);
        assert!(!crowd.present(start), "a lone batch has no crowd");
        crowd.arrived(true, start);
        let memory = window * CROWD_MEMORY_WINDOWS;
        assert!(crowd.present(start + memory - Duration::from_millis(1)));
        crowd.arrived(false, start + memory);
        assert!(!crowd.present(start + memory), "the crowd is forgotten");
    }

    #[test]
    fn in_flight_counts_until_dropped_and_tells_of_overlaps() {
        let count = Arc::new(AtomicUsize::new(0));
        let (first, overlapped) = InFlight::enter(&count);
        assert!(!overlapped);
        let (second, overlapped) = InFlight::enter(&count);
        assert!(overlapped);
        drop((first, second));
        assert_eq!(count.load(Ordering::Relaxed), 0);
        assert!(!InFlight::enter(&count).1);
    }
}
