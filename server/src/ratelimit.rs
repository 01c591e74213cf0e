//! The per-token ingestion-rate limit: a token bucket counted in samples, refilled at
//! `rate` samples a second up to `burst`. One mutex per token, held for a few arithmetic
//! operations, so it costs nothing measurable on the hot path.
//!
//! A batch larger than the whole burst is let through when the bucket is full and leaves
//! it in debt, so a big but rare batch is not refused forever; the debt is paid back before
//! the next batch passes.

use std::sync::Mutex;
use std::sync::atomic::AtomicUsize;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RateError {
    #[error(
        "token {id} is over its ingestion rate of {rate} samples/s ({setting}): retry in \
         {retry_after_secs} s"
    )]
    Exceeded {
        /// Kept as the short id, never the token.
        id: TokenId,
        rate: u64,
        setting: &'static str,
        retry_after_secs: u32,
    },
}

/// A token id (8 hex characters) held without allocating.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenId([u8; 8]);

impl TokenId {
    pub fn new(id: &str) -> Self {
        let mut out = [b'?'; 8];
        for (o, b) in out.iter_mut().zip(id.bytes()) {
            *o = b;
        }
        TokenId(out)
    }
}

impl std::fmt::Display for TokenId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(std::str::from_utf8(&self.0).unwrap_or("????????"))
    }
}

/// Where a token's rate comes from, for the error message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateSource {
    /// `[limits] max_samples_per_second_per_token`.
    Default,
    /// `token create --rate-limit N`.
    Token,
}

#[derive(Debug)]
struct BucketState {
    /// Available samples; negative while a large batch is being paid back.
    tokens: f64,
    last: Instant,
}

/// One token's bucket.
#[derive(Debug)]
pub struct RateLimiter {
    id: TokenId,
    /// Samples per second; 0 means unlimited.
    rate: u64,
    burst: u64,
    source: RateSource,
    state: Mutex<BucketState>,
    /// Request-body bytes of this token in flight (see `crate::body`).
    inflight: AtomicUsize,
}

impl RateLimiter {
    /// A full bucket of `burst` samples (`0` = two seconds' worth) refilled at `rate`/s.
    pub fn new(id: &str, rate: u64, burst: u64, source: RateSource) -> Self {
        let burst = if burst == 0 {
            rate.saturating_mul(2)
        } else {
            burst
        };
        RateLimiter {
            id: TokenId::new(id),
            rate,
            burst,
            source,
            state: Mutex::new(BucketState {
                tokens: burst as f64,
                last: Instant::now(),
            }),
            inflight: AtomicUsize::new(0),
        }
    }

    /// Request-body bytes of this token in flight.
    pub fn inflight_bytes(&self) -> &AtomicUsize {
        &self.inflight
    }

    /// Refuses at once, before any work, a token that owes samples (it sent more than its
    /// rate, or work that was refused was charged to it).
    pub fn check_debt(&self) -> Result<(), RateError> {
        self.check_debt_at(Instant::now())
    }

    pub(crate) fn check_debt_at(&self, now: Instant) -> Result<(), RateError> {
        if self.rate == 0 {
            return Ok(());
        }
        let mut state = self.lock();
        self.refill(&mut state, now);
        if state.tokens >= 0.0 {
            return Ok(());
        }
        Err(self.exceeded(Duration::from_secs_f64(-state.tokens / self.rate as f64)))
    }

    /// Charges `samples` whatever the bucket holds (it may go into debt): the cost of work
    /// the server did for a batch it then refused.
    pub fn charge(&self, samples: u64) {
        if self.rate == 0 {
            return;
        }
        let mut state = self.lock();
        self.refill(&mut state, Instant::now());
        state.tokens -= samples as f64;
    }

    /// Gives back `samples` taken for a batch the store did not accept (it will be resent).
    pub fn refund(&self, samples: u64) {
        if self.rate == 0 {
            return;
        }
        let mut state = self.lock();
        state.tokens = (state.tokens + samples as f64).min(self.burst as f64);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BucketState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn refill(&self, state: &mut BucketState, now: Instant) {
        let elapsed = now.saturating_duration_since(state.last).as_secs_f64();
        state.tokens = (state.tokens + elapsed * self.rate as f64).min(self.burst as f64);
        state.last = now;
    }

    fn exceeded(&self, wait: Duration) -> RateError {
        RateError::Exceeded {
            id: self.id,
            rate: self.rate,
            setting: match self.source {
                RateSource::Default => "limits.max_samples_per_second_per_token",
                RateSource::Token => "the token's --rate-limit",
            },
            retry_after_secs: u32::try_from(wait.as_secs() + 1).unwrap_or(u32::MAX),
        }
    }

    pub fn rate(&self) -> u64 {
        self.rate
    }

    pub fn burst(&self) -> u64 {
        self.burst
    }

    /// Takes `samples` from the bucket, or says how long until they would be there.
    pub fn take(&self, samples: u64) -> Result<(), RateError> {
        self.take_at(samples, Instant::now())
    }

    pub(crate) fn take_at(&self, samples: u64, now: Instant) -> Result<(), RateError> {
        if self.rate == 0 || samples == 0 {
            return Ok(());
        }
        let mut state = self.lock();
        self.refill(&mut state, now);
        let need = (samples as f64).min(self.burst as f64);
        if state.tokens >= need {
            state.tokens -= samples as f64;
            return Ok(());
        }
        Err(self.exceeded(Duration::from_secs_f64(
            (need - state.tokens) / self.rate as f64,
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_refills_and_says_when() {
        let start = Instant::now();
        let limiter = RateLimiter::new("abcd0123", 100, 0, RateSource::Default);
        assert_eq!(limiter.burst(), 200);
        limiter.take_at(150, start).unwrap();
        limiter.take_at(50, start).unwrap();
        let Err(RateError::Exceeded {
            retry_after_secs,
            id,
            setting,
            ..
        }) = limiter.take_at(100, start)
        else {
            panic!("expected a refusal");
        };
        assert_eq!(retry_after_secs, 2, "100 samples at 100/s: 1 s, rounded up");
        assert_eq!(id.to_string(), "abcd0123");
        assert_eq!(setting, "limits.max_samples_per_second_per_token");
        limiter
            .take_at(100, start + Duration::from_secs(1))
            .unwrap();
    }

    #[test]
    fn oversized_batch_needs_a_full_bucket_then_pays_back() {
        let start = Instant::now();
        let limiter = RateLimiter::new("x", 10, 20, RateSource::Token);
        limiter.take_at(1000, start).unwrap();
        let err = limiter
            .take_at(1, start + Duration::from_secs(1))
            .unwrap_err();
        assert!(err.to_string().contains("--rate-limit"), "{err}");
        limiter
            .take_at(1, start + Duration::from_secs(100))
            .unwrap();
    }

    #[test]
    fn zero_rate_is_unlimited() {
        let limiter = RateLimiter::new("x", 0, 0, RateSource::Default);
        for _ in 0..10 {
            limiter.take(u64::MAX).unwrap();
        }
    }
}
