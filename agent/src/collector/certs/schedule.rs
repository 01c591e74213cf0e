//! When each endpoint is checked: every cycle while it answers, ever more rarely while it
//! fails.
//!
//! After `n` consecutive failures the endpoint sits out `⌊log2 n⌋` cycles before its next
//! try (n = 1: none, 2–3: one, 4–7: two, 8–15: three, ...), but never longer than
//! `max_backoff` (default 1 h) since the last try. With a 15 s interval the tries fall on
//! cycles 0, 1, 3, 5, 8, 11, 14, 17, 21, ... . The first answer resets it. A healthy
//! endpoint is checked every cycle, or once per `check_interval` when that is set.

use std::time::{Duration, Instant};

/// Cycles sat out after `failures` consecutive failures: `⌊log2 failures⌋`.
pub fn skipped_cycles(failures: u32) -> u32 {
    failures.checked_ilog2().unwrap_or(0)
}

/// The schedule of one endpoint.
#[derive(Debug, Clone, Default)]
pub struct Schedule {
    /// Consecutive failures.
    pub failures: u32,
    /// Cycles still to sit out.
    skip_left: u32,
    last_attempt: Option<Instant>,
    /// A healthy endpoint with a `check_interval` waits until then.
    not_before: Option<Instant>,
}

/// The timing settings, from the collector's config.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    pub interval: Duration,
    pub max_backoff: Duration,
    pub check_interval: Duration,
}

impl Schedule {
    /// Whether to check the endpoint in the cycle starting `now`. A cycle that is not due
    /// uses up one skipped cycle; call once per cycle.
    pub fn due(&mut self, now: Instant, timing: &Timing) -> bool {
        if let Some(last) = self.last_attempt
            && self.failures > 0
            && now.saturating_duration_since(last) >= timing.max_backoff
        {
            self.skip_left = 0;
            return true;
        }
        if self.skip_left > 0 {
            self.skip_left -= 1;
            return false;
        }
        match self.not_before {
            // Half an interval of slack, so jitter does not cost a whole cycle.
            Some(at) => now + timing.interval / 2 >= at,
            None => true,
        }
    }

    pub fn succeeded(&mut self, now: Instant, timing: &Timing) {
        self.failures = 0;
        self.skip_left = 0;
        self.last_attempt = Some(now);
        self.not_before = (!timing.check_interval.is_zero()).then(|| now + timing.check_interval);
    }

    pub fn failed(&mut self, now: Instant) {
        self.failures = self.failures.saturating_add(1);
        self.skip_left = skipped_cycles(self.failures);
        self.last_attempt = Some(now);
        self.not_before = None;
    }

    /// Roughly how long from `now` (the start of this cycle) until the next try.
    pub fn next_check_in(&self, now: Instant, timing: &Timing) -> Duration {
        let mut wait = timing.interval * (self.skip_left + 1);
        if let Some(last) = self.last_attempt
            && self.failures > 0
        {
            let cap = (last + timing.max_backoff).saturating_duration_since(now);
            wait = wait.min(cap.max(timing.interval));
        }
        if let Some(at) = self.not_before {
            wait = wait.max(at.saturating_duration_since(now));
        }
        wait
    }
}
