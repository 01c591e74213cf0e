//! "Warn once with the cause, info on recovery": something that fails every cycle (a
//! target that is down, a store that refuses writes) is logged when its failure starts and
//! when it ends, and only at debug level in between, so a long outage is two lines in the
//! log, not one per cycle. Used by every collector and loop of the agent and the server.

use std::collections::BTreeSet;
use std::fmt::Display;

/// The failure streak of one thing.
#[derive(Debug, Default, Clone)]
pub struct FailureStreak {
    failing: bool,
}

impl FailureStreak {
    /// This cycle failed: a warning `"{what} failed: {cause}; {meanwhile}"` when a streak
    /// starts (then true), a debug line while it lasts.
    pub fn failed(&mut self, what: impl Display, cause: impl Display, meanwhile: &str) -> bool {
        let started = !std::mem::replace(&mut self.failing, true);
        log_failure(started, &what, &cause, meanwhile);
        started
    }

    /// This cycle worked: `"{what} {recovered}"` at info when a streak ends (then true).
    pub fn succeeded(&mut self, what: impl Display, recovered: &str) -> bool {
        let ended = std::mem::take(&mut self.failing);
        if ended {
            tracing::info!("{what} {recovered}");
        }
        ended
    }

    /// Records `result`: [`Self::failed`] or [`Self::succeeded`] with `"works again"`.
    pub fn record<E: Display>(
        &mut self,
        what: impl Display,
        result: &Result<(), E>,
        meanwhile: &str,
    ) {
        match result {
            Ok(()) => {
                self.succeeded(what, "works again");
            }
            Err(cause) => {
                self.failed(what, cause, meanwhile);
            }
        }
    }

    pub fn is_failing(&self) -> bool {
        self.failing
    }
}

/// The failure streaks of many things of one kind (targets, endpoints, files), by key.
#[derive(Debug, Clone)]
pub struct FailureStreaks<K: Ord> {
    failing: BTreeSet<K>,
}

impl<K: Ord> Default for FailureStreaks<K> {
    fn default() -> Self {
        FailureStreaks {
            failing: BTreeSet::new(),
        }
    }
}

impl<K: Ord> FailureStreaks<K> {
    /// `key` failed this cycle: as [`FailureStreak::failed`].
    pub fn failed(
        &mut self,
        key: K,
        what: impl Display,
        cause: impl Display,
        meanwhile: &str,
    ) -> bool {
        let started = self.failing.insert(key);
        log_failure(started, &what, &cause, meanwhile);
        started
    }

    /// `key` failed for a reason already reported elsewhere (once for all keys): starts its
    /// streak without a line of its own, so its recovery is still reported.
    pub fn failed_quietly(&mut self, key: K) -> bool {
        self.failing.insert(key)
    }

    /// `key` worked this cycle: as [`FailureStreak::succeeded`].
    pub fn succeeded(&mut self, key: &K, what: impl Display, recovered: &str) -> bool {
        let ended = self.failing.remove(key);
        if ended {
            tracing::info!("{what} {recovered}");
        }
        ended
    }

    /// Forgets the things no longer watched, so one that comes back starts afresh.
    pub fn retain(&mut self, keep: impl FnMut(&K) -> bool) {
        self.failing.retain(keep);
    }

    pub fn is_failing(&self, key: &K) -> bool {
        self.failing.contains(key)
    }
}

fn log_failure(started: bool, what: &dyn Display, cause: &dyn Display, meanwhile: &str) {
    if started {
        if meanwhile.is_empty() {
            tracing::warn!("{what} failed: {cause}");
        } else {
            tracing::warn!("{what} failed: {cause}; {meanwhile}");
        }
    } else {
        tracing::debug!("{what} failed again: {cause}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_streak_is_reported_when_it_starts_and_when_it_ends() {
        let mut streak = FailureStreak::default();
        assert!(!streak.succeeded("x", "works again"), "no streak to end");
        assert!(streak.failed("x", "refused", ""));
        assert!(!streak.failed("x", "refused", ""), "the same streak");
        assert!(streak.is_failing());
        assert!(streak.succeeded("x", "works again"));
        assert!(!streak.is_failing());
        assert!(streak.failed("x", "refused", ""), "a new streak");
    }

    #[test]
    fn keyed_streaks_are_apart() {
        let mut streaks = FailureStreaks::default();
        assert!(streaks.failed("a", "a", "down", ""));
        assert!(streaks.failed("b", "b", "down", ""));
        assert!(!streaks.failed("a", "a", "down", ""));
        assert!(streaks.succeeded(&"a", "a", "is back"));
        assert!(streaks.is_failing(&"b"));
        streaks.retain(|k| *k != "b");
        assert!(!streaks.is_failing(&"b"));
    }
}
