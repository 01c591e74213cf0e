//! Exponential backoff with full jitter, honouring a server's `Retry-After`.

use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Backoff {
    base: Duration,
    max: Duration,
    attempt: u32,
}

impl Backoff {
    pub fn new(base: Duration, max: Duration) -> Self {
        Backoff {
            base,
            max,
            attempt: 0,
        }
    }

    /// The wait before the next attempt: a random point in the upper half of
    /// `base × 2^attempt` (capped at `max`), or `retry_after` when the server gave one and
    /// it is longer.
    pub fn next_delay(&mut self, retry_after: Option<Duration>) -> Duration {
        let ceiling = self
            .base
            .saturating_mul(1u32 << self.attempt.min(20))
            .min(self.max);
        self.attempt = self.attempt.saturating_add(1);
        let jittered = ceiling.mul_f64(0.5 + 0.5 * random_fraction());
        match retry_after {
            Some(after) if after > jittered => after.min(self.max.max(after)),
            _ => jittered,
        }
    }

    pub fn reset(&mut self) {
        self.attempt = 0;
    }

    pub fn attempts(&self) -> u32 {
        self.attempt
    }
}

/// A random number in [0, 1), from std's randomly keyed hasher: enough to spread retries,
/// no extra crate.
pub fn random_fraction() -> f64 {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0),
    );
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_exponentially_within_jitter_and_cap() {
        let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(2));
        let expected_ceilings = [100, 200, 400, 800, 1600, 2000, 2000];
        for ceiling in expected_ceilings {
            let delay = backoff.next_delay(None).as_millis() as u64;
            assert!(
                delay >= ceiling / 2 && delay <= ceiling,
                "{delay} not in [{}, {ceiling}]",
                ceiling / 2
            );
        }
        backoff.reset();
        assert!(backoff.next_delay(None) <= Duration::from_millis(100));
    }

    #[test]
    fn honours_a_longer_retry_after() {
        let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(2));
        assert_eq!(
            backoff.next_delay(Some(Duration::from_secs(5))),
            Duration::from_secs(5)
        );
    }

    #[test]
    fn jitter_varies() {
        let samples: Vec<u64> = (0..32).map(|_| (random_fraction() * 1e9) as u64).collect();
        let distinct: std::collections::HashSet<_> = samples.iter().collect();
        assert!(distinct.len() > 16);
        assert!(samples.iter().all(|&s| s < 1_000_000_000));
    }
}
