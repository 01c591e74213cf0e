//! Logging what repeats, without letting a client write the log: a repeating event is logged
//! at most once per interval (per client address, for refusals), with how many occurrences
//! went unsaid since. The counters in `/metrics` count every one of them.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// More addresses than this and the oldest are forgotten (an attack from many addresses
/// must not grow the table without bound).
const MAX_ADDRESSES: usize = 10_000;

/// One event, at most once per interval.
#[derive(Debug)]
pub struct Throttled {
    every: Duration,
    state: Mutex<(Option<Instant>, u64)>,
}

impl Throttled {
    pub fn new(every: Duration) -> Self {
        Throttled {
            every,
            state: Mutex::new((None, 0)),
        }
    }

    /// `Some(unsaid)` when this occurrence is to be logged (with the count of those left
    /// unsaid since the last one), `None` when it is only counted.
    pub fn allow(&self) -> Option<u64> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        match state.0 {
            Some(last) if now.duration_since(last) < self.every => {
                state.1 += 1;
                None
            }
            _ => {
                state.0 = Some(now);
                Some(std::mem::take(&mut state.1))
            }
        }
    }
}

/// One event per client address, at most once per interval each.
#[derive(Debug)]
pub struct PerAddress {
    every: Duration,
    seen: Mutex<HashMap<IpAddr, (Instant, u64)>>,
}

impl PerAddress {
    pub fn new(every: Duration) -> Self {
        PerAddress {
            every,
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// As [`Throttled::allow`], for `addr`.
    pub fn allow(&self, addr: IpAddr) -> Option<u64> {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        if seen.len() >= MAX_ADDRESSES && !seen.contains_key(&addr) {
            let every = self.every;
            seen.retain(|_, (last, _)| now.duration_since(*last) < every);
            if seen.len() >= MAX_ADDRESSES {
                seen.clear();
            }
        }
        match seen.get_mut(&addr) {
            Some((last, unsaid)) if now.duration_since(*last) < self.every => {
                *unsaid += 1;
                None
            }
            Some((last, unsaid)) => {
                *last = now;
                Some(std::mem::take(unsaid))
            }
            None => {
                seen.insert(addr, (now, 0));
                Some(0)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttled_logs_once_per_interval_with_the_count() {
        let log = Throttled::new(Duration::from_secs(3600));
        assert_eq!(log.allow(), Some(0));
        assert_eq!(log.allow(), None);
        assert_eq!(log.allow(), None);
        let log = Throttled::new(Duration::ZERO);
        assert_eq!(log.allow(), Some(0));
        assert_eq!(log.allow(), Some(0));
    }

    #[test]
    fn per_address_sampling_keeps_addresses_apart() {
        let log = PerAddress::new(Duration::from_secs(3600));
        let (a, b): (IpAddr, IpAddr) = ([10, 0, 0, 1].into(), [10, 0, 0, 2].into());
        assert_eq!(log.allow(a), Some(0));
        assert_eq!(log.allow(a), None);
        assert_eq!(log.allow(b), Some(0));
        let log = PerAddress::new(Duration::ZERO);
        assert_eq!(log.allow(a), Some(0));
        assert_eq!(log.allow(a), Some(0));
    }
}
