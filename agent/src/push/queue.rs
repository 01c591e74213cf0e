//! A bounded in-memory queue of encoded batches, oldest first: where batches wait when the
//! disk queue cannot take them (a full or failing disk). Past its byte bound it drops the
//! oldest batch, and the caller counts what was dropped.

use bytes::Bytes;
use std::collections::VecDeque;
use std::time::SystemTime;

/// One snappy-compressed `WriteRequest` waiting to be sent. The body is shared, not copied,
/// by every attempt to send it.
#[derive(Debug, Clone)]
pub struct Batch {
    pub body: Bytes,
    pub samples: u64,
    pub created_at: SystemTime,
}

#[derive(Debug)]
pub struct BatchQueue {
    batches: VecDeque<Batch>,
    bytes: u64,
    max_bytes: u64,
}

impl BatchQueue {
    pub fn new(max_bytes: u64) -> Self {
        BatchQueue {
            batches: VecDeque::new(),
            bytes: 0,
            max_bytes,
        }
    }

    /// Appends a batch; returns the batches pushed out to stay within the bound (never the
    /// new one unless it alone exceeds the bound).
    pub fn push(&mut self, batch: Batch) -> Vec<Batch> {
        self.bytes += batch.body.len() as u64;
        self.batches.push_back(batch);
        let mut dropped = Vec::new();
        while self.bytes > self.max_bytes && self.batches.len() > 1 {
            if let Some(old) = self.pop_front() {
                dropped.push(old);
            }
        }
        dropped
    }

    /// Puts a batch back at the head (after a failed send, or the halves of a split).
    pub fn push_front(&mut self, batch: Batch) {
        self.bytes += batch.body.len() as u64;
        self.batches.push_front(batch);
    }

    pub fn pop_front(&mut self) -> Option<Batch> {
        let batch = self.batches.pop_front()?;
        self.bytes -= batch.body.len() as u64;
        Some(batch)
    }

    pub fn len(&self) -> usize {
        self.batches.len()
    }

    pub fn is_empty(&self) -> bool {
        self.batches.is_empty()
    }

    pub fn bytes(&self) -> u64 {
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(bytes: usize, samples: u64) -> Batch {
        Batch {
            body: vec![0; bytes].into(),
            samples,
            created_at: SystemTime::now(),
        }
    }

    #[test]
    fn drops_oldest_past_the_bound() {
        let mut queue = BatchQueue::new(250);
        assert!(queue.push(batch(100, 1)).is_empty());
        assert!(queue.push(batch(100, 2)).is_empty());
        let dropped = queue.push(batch(100, 3));
        assert_eq!(dropped.iter().map(|b| b.samples).collect::<Vec<_>>(), [1]);
        assert_eq!(queue.bytes(), 200);
        assert_eq!(queue.pop_front().unwrap().samples, 2);
        queue.push_front(batch(10, 9));
        assert_eq!(queue.pop_front().unwrap().samples, 9);
        assert_eq!(queue.len(), 1);
    }
}
