//! Connections: how many may be open (overall and per client address, kept below the
//! open-file limit, which is raised to its hard limit at start), and how long one may sit
//! without a request before it is closed. An attacker without a token can hold connections;
//! these bounds keep that from locking agents out (README, "Limits and timeouts").

use crate::net::TrustedProxies;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Descriptors kept free for the store's connections, token and TLS files, and the metrics
/// listener, when the connection cap is derived from the open-file limit.
const RESERVED_FILES: u64 = 256;

/// Raises the soft open-file limit to the hard one (a systemd service starts with 1024
/// soft, 512 Ki hard) and returns the soft limit now in force.
pub fn raise_open_file_limit() -> u64 {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    if let (Some(current), Some(maximum)) = (limit.current, limit.maximum)
        && current < maximum
    {
        let raised = Rlimit {
            current: Some(maximum),
            maximum: Some(maximum),
        };
        if setrlimit(Resource::Nofile, raised).is_ok() {
            return maximum;
        }
    }
    limit.current.unwrap_or(1024)
}

/// The cap on open connections: `configured`, or what the open-file limit allows
/// (`files` minus a reserve), whichever is lower.
pub fn connection_cap(configured: usize, files: u64) -> usize {
    let allowed = files.saturating_sub(RESERVED_FILES).max(64) as usize;
    if configured == 0 {
        allowed
    } else {
        configured.min(allowed)
    }
}

/// Why a connection was refused at accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// `limits.max_connections` (or the open-file limit) reached.
    Total,
    /// `limits.max_connections_per_address` reached for this client.
    PerAddress,
}

impl Refusal {
    pub fn reason(self) -> &'static str {
        match self {
            Refusal::Total => "max_connections",
            Refusal::PerAddress => "max_connections_per_address",
        }
    }
}

/// Open connections, overall and by client address.
#[derive(Debug)]
pub struct Connections {
    max: usize,
    per_address: usize,
    trusted: TrustedProxies,
    open: AtomicUsize,
    by_address: Mutex<HashMap<IpAddr, usize>>,
}

impl Connections {
    /// `trusted` proxies carry many clients on few connections: they are not capped per
    /// address.
    pub fn new(max: usize, per_address: usize, trusted: TrustedProxies) -> Arc<Self> {
        Arc::new(Connections {
            max,
            per_address,
            trusted,
            open: AtomicUsize::new(0),
            by_address: Mutex::new(HashMap::new()),
        })
    }

    pub fn max(&self) -> usize {
        self.max
    }

    pub fn open(&self) -> usize {
        self.open.load(Ordering::Relaxed)
    }

    /// Admits a connection from `peer`; it counts until the guard is dropped.
    pub fn admit(self: &Arc<Self>, peer: IpAddr) -> Result<ConnectionGuard, Refusal> {
        if self.open.fetch_add(1, Ordering::AcqRel) >= self.max {
            self.open.fetch_sub(1, Ordering::AcqRel);
            return Err(Refusal::Total);
        }
        let mut guard = ConnectionGuard {
            connections: Arc::clone(self),
            address: None,
        };
        if !self.trusted.is_trusted(peer) {
            let mut by_address = self.by_address.lock().unwrap_or_else(|e| e.into_inner());
            let count = by_address.entry(peer).or_insert(0);
            if *count >= self.per_address {
                return Err(Refusal::PerAddress);
            }
            *count += 1;
            guard.address = Some(peer);
        }
        Ok(guard)
    }
}

/// One admitted connection; releases its slots when dropped.
#[derive(Debug)]
pub struct ConnectionGuard {
    connections: Arc<Connections>,
    address: Option<IpAddr>,
}

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        self.connections.open.fetch_sub(1, Ordering::AcqRel);
        if let Some(address) = self.address {
            let mut by_address = self
                .connections
                .by_address
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            if let Some(count) = by_address.get_mut(&address) {
                *count -= 1;
                if *count == 0 {
                    by_address.remove(&address);
                }
            }
        }
    }
}

/// Requests on one connection, for its idle timeout.
#[derive(Debug)]
pub struct Activity {
    epoch: Instant,
    in_flight: AtomicUsize,
    requests: AtomicU64,
    /// Milliseconds since `epoch` when the last request ended.
    last_ms: AtomicU64,
}

impl Default for Activity {
    fn default() -> Self {
        Activity {
            epoch: Instant::now(),
            in_flight: AtomicUsize::new(0),
            requests: AtomicU64::new(0),
            last_ms: AtomicU64::new(0),
        }
    }
}

impl Activity {
    /// Marks a request as running until the guard is dropped.
    pub fn begin(self: &Arc<Self>) -> RequestGuard {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        self.requests.fetch_add(1, Ordering::AcqRel);
        RequestGuard(Arc::clone(self))
    }

    /// When the connection becomes idle for too long: `first_request` after it opened while
    /// no request came yet, `idle` after the last request ended; `None` while a request runs.
    pub fn deadline(&self, first_request: Duration, idle: Duration) -> Option<Instant> {
        if self.in_flight.load(Ordering::Acquire) > 0 {
            return None;
        }
        if self.requests.load(Ordering::Acquire) == 0 {
            return Some(self.epoch + first_request);
        }
        Some(self.epoch + Duration::from_millis(self.last_ms.load(Ordering::Acquire)) + idle)
    }
}

/// A running request.
#[derive(Debug)]
pub struct RequestGuard(Arc<Activity>);

impl Drop for RequestGuard {
    fn drop(&mut self) {
        let activity = &self.0;
        let now = activity.epoch.elapsed().as_millis() as u64;
        activity.last_ms.store(now, Ordering::Release);
        activity.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_count_overall_and_per_address_and_release_on_drop() {
        let trusted =
            TrustedProxies::new(vec![crate::net::Cidr::from(IpAddr::from([127, 0, 0, 2]))]);
        let connections = Connections::new(4, 2, trusted);
        let a: IpAddr = [10, 0, 0, 1].into();
        let proxy: IpAddr = [127, 0, 0, 2].into();
        let first = connections.admit(a).unwrap();
        let _second = connections.admit(a).unwrap();
        assert_eq!(connections.admit(a).unwrap_err(), Refusal::PerAddress);
        let _p1 = connections.admit(proxy).unwrap();
        let _p2 = connections.admit(proxy).unwrap();
        assert_eq!(connections.open(), 4);
        assert_eq!(connections.admit(proxy).unwrap_err(), Refusal::Total);
        drop(first);
        assert_eq!(connections.open(), 3);
        connections.admit(a).unwrap();
    }

    #[test]
    fn the_cap_stays_under_the_open_file_limit() {
        assert_eq!(connection_cap(0, 1024), 768);
        assert_eq!(connection_cap(10_000, 1024), 768);
        assert_eq!(connection_cap(500, 524_288), 500);
        assert_eq!(connection_cap(0, 100), 64);
    }

    #[test]
    fn idle_deadlines_wait_while_a_request_runs() {
        let activity = Arc::new(Activity::default());
        let first = activity
            .deadline(Duration::from_secs(10), Duration::from_secs(60))
            .unwrap();
        assert!(first <= Instant::now() + Duration::from_secs(10));
        let request = activity.begin();
        assert_eq!(
            activity.deadline(Duration::from_secs(10), Duration::from_secs(60)),
            None
        );
        drop(request);
        let idle = activity
            .deadline(Duration::from_secs(10), Duration::from_secs(60))
            .unwrap();
        assert!(idle > Instant::now() + Duration::from_secs(55));
    }
}
