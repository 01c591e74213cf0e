//! The agent's disk queue: every batch is written to `--buffer-dir` with a checksum before it
//! is sent, and removed only after the receiver acknowledged it. It survives restarts and
//! SIGKILL (at most a resend of batches that were in flight), stays under
//! `--buffer-max-bytes` by dropping the oldest batches, and skips (and counts) records that
//! fail their checksum instead of crash-looping on them.
//!
//! Segment format: one file per batch, `<seq:020>.batch`, written as `<seq>.tmp`, fsynced
//! and renamed, so a crash leaves either a whole record or a `.tmp` that is deleted at start.
//!
//! ```text
//! offset size  field
//! 0      4     magic "PPQ1"
//! 4      8     samples (u64 LE)
//! 12     8     created, ms since the Unix epoch (i64 LE)
//! 20     4     body length (u32 LE)
//! 24     4     CRC-32 of the body (u32 LE)
//! 28     n     body: a snappy-compressed remote-write WriteRequest
//! ```

use super::Batch;
use std::collections::VecDeque;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const MAGIC: &[u8; 4] = b"PPQ1";
const HEADER: usize = 28;
const SUFFIX: &str = "batch";
/// Appends count up from here and batches put back at the head count down, so file names
/// sort in sending order without renaming anything.
const FIRST_SEQ: u64 = 1 << 40;

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error(
        "cannot use --buffer-dir {path}: {source}; create it writable by the agent or point --buffer-dir (PEEPER_BUFFER_DIR) elsewhere"
    )]
    Dir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write batch {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("batch {path} is corrupt: {reason}")]
    Corrupt { path: PathBuf, reason: String },
    #[error("cannot read batch {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// What the queue knows about a stored batch without reading it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    pub seq: u64,
    pub bytes: u64,
    pub samples: u64,
    pub created_ms: i64,
}

/// A batch read back from disk, with its position for [`DiskQueue::ack`].
#[derive(Debug)]
pub struct Stored {
    pub entry: Entry,
    pub batch: Batch,
}

#[derive(Debug)]
pub struct DiskQueue {
    dir: PathBuf,
    max_bytes: u64,
    entries: VecDeque<Entry>,
    bytes: u64,
    next_seq: u64,
}

impl DiskQueue {
    /// Opens (creating) the directory and indexes the batches a previous run left.
    pub fn open(dir: &Path, max_bytes: u64) -> Result<Self, QueueError> {
        let dir_error = |source| QueueError::Dir {
            path: dir.to_owned(),
            source,
        };
        fs::create_dir_all(dir).map_err(dir_error)?;
        let mut entries = Vec::new();
        for item in fs::read_dir(dir).map_err(dir_error)? {
            let path = item.map_err(dir_error)?.path();
            match path.extension().and_then(|e| e.to_str()) {
                Some("tmp") => {
                    // A write that a crash interrupted: never acknowledged as queued.
                    let _ = fs::remove_file(&path);
                }
                Some(SUFFIX) => match read_entry(&path) {
                    Ok(entry) => entries.push(entry),
                    Err(err) => {
                        tracing::warn!(error = %err, "skipping an unreadable queued batch");
                        let _ = fs::remove_file(&path);
                    }
                },
                _ => {}
            }
        }
        entries.sort_by_key(|e| e.seq);
        let bytes = entries.iter().map(|e| e.bytes).sum();
        let next_seq = entries
            .last()
            .map_or(FIRST_SEQ, |e| e.seq.max(FIRST_SEQ) + 1);
        // Probe that we can write here now, not at the first batch.
        let probe = dir.join(".write-test");
        fs::write(&probe, b"").map_err(dir_error)?;
        let _ = fs::remove_file(probe);
        Ok(DiskQueue {
            dir: dir.to_owned(),
            max_bytes,
            entries: entries.into(),
            bytes,
            next_seq,
        })
    }

    /// Stores a batch at the tail. Returns the entries dropped from the head to stay within
    /// the bound (never the new one, unless it alone is over the bound).
    pub fn append(&mut self, batch: &Batch) -> Result<Vec<Entry>, QueueError> {
        let seq = self.next_seq;
        let entry = self.write(seq, batch)?;
        self.next_seq += 1;
        self.bytes += entry.bytes;
        self.entries.push_back(entry);
        let mut dropped = Vec::new();
        while self.bytes > self.max_bytes && self.entries.len() > 1 {
            let oldest = self.entries[0];
            self.remove(oldest.seq);
            dropped.push(oldest);
        }
        Ok(dropped)
    }

    /// Stores batches at the head, in the given order (the halves of a split batch).
    pub fn prepend(&mut self, batches: &[Batch]) -> Result<(), QueueError> {
        let first = self.entries.front().map_or(self.next_seq, |e| e.seq);
        let count = batches.len() as u64;
        for (i, batch) in batches.iter().enumerate().rev() {
            let entry = self.write(first - count + i as u64, batch)?;
            self.bytes += entry.bytes;
            self.entries.push_front(entry);
        }
        Ok(())
    }

    fn write(&self, seq: u64, batch: &Batch) -> Result<Entry, QueueError> {
        let path = self.path(seq);
        let tmp = path.with_extension("tmp");
        let created_ms = to_unix_ms(batch.created_at);
        let mut header = Vec::with_capacity(HEADER);
        header.extend_from_slice(MAGIC);
        header.extend_from_slice(&batch.samples.to_le_bytes());
        header.extend_from_slice(&created_ms.to_le_bytes());
        header.extend_from_slice(&(batch.body.len() as u32).to_le_bytes());
        header.extend_from_slice(&crc32fast::hash(&batch.body).to_le_bytes());
        // Header and body written one after the other: the body is not copied into a record.
        let result = (|| {
            let mut file = fs::File::create(&tmp)?;
            file.write_all(&header)?;
            file.write_all(&batch.body)?;
            file.sync_data()?;
            fs::rename(&tmp, &path)
        })();
        if let Err(source) = result {
            let _ = fs::remove_file(&tmp);
            return Err(QueueError::Write { path, source });
        }
        Ok(Entry {
            seq,
            bytes: (HEADER + batch.body.len()) as u64,
            samples: batch.samples,
            created_ms,
        })
    }

    /// The oldest (or, with `newest`, the newest) batch, read and checked. A corrupt record
    /// is removed and returned as an error so the caller can count it and go on.
    pub fn peek(&mut self, newest: bool) -> Option<Result<Stored, (Entry, QueueError)>> {
        let entry = if newest {
            *self.entries.back()?
        } else {
            *self.entries.front()?
        };
        let path = self.path(entry.seq);
        match read_record(&path) {
            Ok(batch) => Some(Ok(Stored { entry, batch })),
            Err(err) => {
                self.remove(entry.seq);
                Some(Err((entry, err)))
            }
        }
    }

    /// Removes an acknowledged (or given-up) batch.
    pub fn ack(&mut self, seq: u64) {
        self.remove(seq);
    }

    fn remove(&mut self, seq: u64) {
        if let Some(index) = self.entries.iter().position(|e| e.seq == seq) {
            let entry = self.entries.remove(index).expect("index in range");
            self.bytes -= entry.bytes;
            if let Err(err) = fs::remove_file(self.path(seq))
                && err.kind() != std::io::ErrorKind::NotFound
            {
                tracing::warn!(seq, error = %err, "cannot delete a sent batch; it may be resent after a restart");
            }
        }
    }

    fn path(&self, seq: u64) -> PathBuf {
        self.dir.join(format!("{seq:020}.{SUFFIX}"))
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Age of the oldest batch.
    pub fn oldest_age(&self) -> Duration {
        self.entries.front().map_or(Duration::ZERO, |e| {
            let now = to_unix_ms(SystemTime::now());
            Duration::from_millis(now.saturating_sub(e.created_ms).max(0) as u64)
        })
    }
}

fn to_unix_ms(time: SystemTime) -> i64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

fn parse_header(path: &Path, header: &[u8]) -> Result<(u64, i64, usize, u32), QueueError> {
    let corrupt = |reason: &str| QueueError::Corrupt {
        path: path.to_owned(),
        reason: reason.to_owned(),
    };
    if header.len() < HEADER {
        return Err(corrupt("shorter than its header"));
    }
    if &header[..4] != MAGIC {
        return Err(corrupt("bad magic"));
    }
    let u64_at = |at: usize| u64::from_le_bytes(header[at..at + 8].try_into().expect("8 bytes"));
    let u32_at = |at: usize| u32::from_le_bytes(header[at..at + 4].try_into().expect("4 bytes"));
    Ok((
        u64_at(4),
        u64_at(12) as i64,
        u32_at(20) as usize,
        u32_at(24),
    ))
}

fn read_entry(path: &Path) -> Result<Entry, QueueError> {
    use std::io::Read;
    let read_error = |source| QueueError::Read {
        path: path.to_owned(),
        source,
    };
    let seq = path
        .file_stem()
        .and_then(|s| s.to_str())
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| QueueError::Corrupt {
            path: path.to_owned(),
            reason: "file name is not a sequence number".into(),
        })?;
    let mut file = fs::File::open(path).map_err(read_error)?;
    let bytes = file.metadata().map_err(read_error)?.len();
    let mut header = [0u8; HEADER];
    file.read_exact(&mut header)
        .map_err(|_| QueueError::Corrupt {
            path: path.to_owned(),
            reason: "shorter than its header".into(),
        })?;
    let (samples, created_ms, _, _) = parse_header(path, &header)?;
    Ok(Entry {
        seq,
        bytes,
        samples,
        created_ms,
    })
}

fn read_record(path: &Path) -> Result<Batch, QueueError> {
    let record = fs::read(path).map_err(|source| QueueError::Read {
        path: path.to_owned(),
        source,
    })?;
    let (samples, created_ms, len, crc) = parse_header(path, &record)?;
    let body = &record[HEADER..];
    if body.len() != len {
        return Err(QueueError::Corrupt {
            path: path.to_owned(),
            reason: format!("body is {} bytes, header says {len}", body.len()),
        });
    }
    if crc32fast::hash(body) != crc {
        return Err(QueueError::Corrupt {
            path: path.to_owned(),
            reason: "checksum mismatch".into(),
        });
    }
    Ok(Batch {
        // A view of the record just read: the body is not copied again.
        body: bytes::Bytes::from(record).slice(HEADER..),
        samples,
        created_at: UNIX_EPOCH + Duration::from_millis(created_ms.max(0) as u64),
    })
}

#[cfg(test)]
mod tests;
