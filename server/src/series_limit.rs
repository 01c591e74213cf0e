//! `limits.max_series_per_tenant`: how many distinct series one tenant may write per
//! window. Each series is known by a hash of its labels (from the scanner); a tenant's
//! series of the current window and of the one before are kept, so a series written every
//! cycle is never new, and a batch that would bring the tenant past the limit with new series
//! is refused (429) before it reaches the store. A million series cost about 16 MB.
//!
//! An agent sends the same series every cycle, and looking each of them up is a cache miss
//! apiece in a set of tens of thousands (some 15 µs a batch of 500 in a fleet's profile). So
//! each admitted batch's digest (of its series hashes, in any order) is kept for the window:
//! a batch with a known digest holds only series already counted, and passes with one lookup.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "tenant {tenant} has written {limit} distinct series in the last {window_secs} s \
     (limits.max_series_per_tenant): {new} new series in this batch are refused; retry later, \
     or drop the labels that make series multiply"
)]
pub struct SeriesLimitError {
    pub tenant: String,
    pub limit: u64,
    pub window_secs: u64,
    pub new: usize,
}

/// The hashes are hashes already: no need to hash them again.
#[derive(Debug, Default)]
struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

type Set = HashSet<u64, BuildHasherDefault<PassThrough>>;

/// Batch digests kept a window at most: past it, batches are checked series by series.
const MAX_BATCH_DIGESTS: usize = 1 << 16;

#[derive(Debug)]
struct Generations {
    started: Instant,
    current: Set,
    previous: Set,
    /// Digests of the batches admitted this window: all their series are in `current`.
    batches: Set,
}

/// Every tenant's series of the last window or two.
#[derive(Debug)]
pub struct SeriesLimiter {
    limit: u64,
    window: Duration,
    tenants: RwLock<HashMap<Arc<str>, Arc<Mutex<Generations>>>>,
}

impl SeriesLimiter {
    /// `limit` 0 turns the limit off.
    pub fn new(limit: u64, window: Duration) -> Self {
        SeriesLimiter {
            limit,
            window,
            tenants: RwLock::new(HashMap::new()),
        }
    }

    pub fn enabled(&self) -> bool {
        self.limit > 0
    }

    fn tenant(&self, tenant: &Arc<str>) -> Arc<Mutex<Generations>> {
        if let Some(found) = self
            .tenants
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(tenant)
        {
            return Arc::clone(found);
        }
        let mut tenants = self.tenants.write().unwrap_or_else(|e| e.into_inner());
        Arc::clone(tenants.entry(Arc::clone(tenant)).or_insert_with(|| {
            Arc::new(Mutex::new(Generations {
                started: Instant::now(),
                current: Set::default(),
                previous: Set::default(),
                batches: Set::default(),
            }))
        }))
    }

    /// Takes in the series (`hashes`) of one batch of `tenant`, or refuses it if its new
    /// series would pass the limit.
    pub fn admit(&self, tenant: &Arc<str>, hashes: &[u64]) -> Result<(), SeriesLimitError> {
        if !self.enabled() || hashes.is_empty() {
            return Ok(());
        }
        let digest = batch_digest(hashes);
        let generations = self.tenant(tenant);
        let mut g = generations.lock().unwrap_or_else(|e| e.into_inner());
        if g.started.elapsed() >= self.window {
            g.previous = std::mem::take(&mut g.current);
            g.batches.clear();
            g.started = Instant::now();
        }
        if g.batches.contains(&digest) {
            return Ok(());
        }
        // One lookup a series in the usual case (every series already seen this window),
        // and nothing allocated then.
        let unseen: Vec<u64> = hashes
            .iter()
            .copied()
            .filter(|h| !g.current.contains(h))
            .collect();
        let new = unseen.iter().filter(|h| !g.previous.contains(h)).count();
        if new > 0 && g.current.len() as u64 + new as u64 > self.limit {
            return Err(SeriesLimitError {
                tenant: tenant.to_string(),
                limit: self.limit,
                window_secs: self.window.as_secs(),
                new,
            });
        }
        g.current.extend(unseen);
        if g.batches.len() < MAX_BATCH_DIGESTS {
            g.batches.insert(digest);
        }
        Ok(())
    }
}

/// A digest of a batch's series hashes that does not depend on their order (a collision,
/// like one of the series hashes, only lets new series pass for known ones).
fn batch_digest(hashes: &[u64]) -> u64 {
    let (sum, xor) = hashes.iter().fold((0u64, 0u64), |(sum, xor), h| {
        (sum.wrapping_add(*h), xor ^ h.rotate_left(29))
    });
    (sum ^ xor.wrapping_mul(0x9e37_79b9_7f4a_7c15)).wrapping_add(hashes.len() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_series_pass_and_new_ones_stop_at_the_limit_per_tenant() {
        let limiter = SeriesLimiter::new(3, Duration::from_secs(3600));
        let acme: Arc<str> = Arc::from("acme");
        let globex: Arc<str> = Arc::from("globex");
        limiter.admit(&acme, &[1, 2]).unwrap();
        limiter.admit(&acme, &[1, 2]).unwrap();
        limiter.admit(&acme, &[2, 3]).unwrap();
        let err = limiter.admit(&acme, &[1, 4, 5]).unwrap_err();
        assert_eq!(err.new, 2);
        assert!(err.to_string().contains("limits.max_series_per_tenant"));
        limiter.admit(&acme, &[1, 2, 3]).unwrap();
        limiter.admit(&globex, &[4, 5, 6]).unwrap();
    }

    #[test]
    fn a_batch_seen_before_passes_and_still_counts_after_a_new_window() {
        let limiter = SeriesLimiter::new(3, Duration::from_secs(3600));
        let acme: Arc<str> = Arc::from("acme");
        limiter.admit(&acme, &[1, 2]).unwrap();
        // The same series in another order: the same digest, nothing new.
        limiter.admit(&acme, &[2, 1]).unwrap();
        limiter.admit(&acme, &[3]).unwrap();
        assert_eq!(limiter.admit(&acme, &[4]).unwrap_err().new, 1);
        assert_ne!(batch_digest(&[1, 2]), batch_digest(&[1, 3]));
        assert_ne!(batch_digest(&[1, 2]), batch_digest(&[1, 2, 2]));

        // After a window turns, a known batch is counted again in the new one.
        let limiter = SeriesLimiter::new(2, Duration::from_millis(50));
        limiter.admit(&acme, &[1, 2]).unwrap();
        std::thread::sleep(Duration::from_millis(60));
        limiter.admit(&acme, &[1, 2]).unwrap();
        assert_eq!(limiter.admit(&acme, &[5]).unwrap_err().new, 1);
    }

    #[test]
    fn a_new_window_starts_over_but_remembers_the_last() {
        let limiter = SeriesLimiter::new(2, Duration::ZERO);
        let acme: Arc<str> = Arc::from("acme");
        limiter.admit(&acme, &[1, 2]).unwrap();
        // Every call starts a window here: 1 and 2 are still known from the last one.
        limiter.admit(&acme, &[1, 2]).unwrap();
        limiter.admit(&acme, &[3]).unwrap();
        assert!(
            SeriesLimiter::new(0, Duration::ZERO)
                .admit(&acme, &[9])
                .is_ok()
        );
    }
}
