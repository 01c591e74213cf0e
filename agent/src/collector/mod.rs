//! Collectors: one module per integration, each behind the small object-safe [`Collector`]
//! trait. Each owns its settings ([`CollectorConfig`]: the config-file table and the
//! `PEEPER_<MODULE>_*` variables) and is registered once, in [`registry::COLLECTORS`].
//! Adding a collector is a new module here and one line there (ARCHITECTURE.md,
//! "Adding a collector").

pub mod apache;
pub mod certs;
pub mod checks;
pub mod docker;
pub mod linux;
pub mod mysql;
pub mod nginx;
pub mod postgres;
pub mod probes;
pub mod registry;
mod status_page;
pub mod textfile;

pub use registry::{Collectors, Spec};

use crate::settings::{ConfigError, EnvLookup};
use peeper_proto::MetricFamily;
use serde::de::DeserializeOwned;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;
use tokio::time::Instant;

/// What a collector's `collect` returns: the families of one cycle, or why the whole
/// collector failed. A collector whose *target* is down still returns `Ok` with its
/// `*_up 0`; `Err` is for failures of the collector itself.
pub type CollectFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Vec<MetricFamily>, CollectError>> + Send + 'a>>;

/// One source of metrics. Object-safe so the scheduler can hold `Box<dyn Collector>`.
pub trait Collector: Send + std::fmt::Debug {
    /// The `job` label of this collector's series (`linux`, `docker`, ...).
    fn job(&self) -> &'static str;

    /// Collects one cycle, finishing its own work by `cycle.deadline`. Called at most once
    /// at a time; the scheduler cuts a cycle that outlives its timeout.
    fn collect(&mut self, cycle: Cycle) -> CollectFuture<'_>;
}

#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Other(String),
}

/// What the scheduler tells a collector about the cycle it runs: the one time budget every
/// collector works within.
#[derive(Debug, Clone, Copy)]
pub struct Cycle {
    /// The agent's collection interval.
    pub interval: Duration,
    /// When the collector's own work must be done: a little before the scheduler's timeout,
    /// so that work cut short is still reported (a probe as failed, a check as ERR).
    pub deadline: Instant,
}

impl Cycle {
    /// A cycle starting now that the scheduler cuts after `timeout`.
    pub fn starting_now(interval: Duration, timeout: Duration) -> Self {
        // Keep back a tenth of the timeout, at most 200 ms, for reporting what was cut short.
        let reserve = (timeout / 10).min(Duration::from_millis(200));
        Cycle {
            interval,
            deadline: Instant::now() + timeout - reserve,
        }
    }

    /// A cycle with the agent's default timing (15 s interval, 10 s timeout) starting now,
    /// for running a collector by hand (tests, tools).
    pub fn standard() -> Self {
        Cycle::starting_now(Duration::from_secs(15), Duration::from_secs(10))
    }

    /// The time left until the deadline (zero once it passed).
    pub fn remaining(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }
}

/// One collector's settings: read from its config-file table and environment, validated
/// before any I/O, and the factory of the collector ("the config is the factory").
pub trait CollectorConfig:
    Clone + PartialEq + std::fmt::Debug + Send + Sync + Sized + 'static
{
    /// The config-file table (`[mysql]`, `[[checks]]`), also the collector's name in logs.
    const SECTION: &'static str;

    /// What the config file holds under [`Self::SECTION`].
    type File: DeserializeOwned;

    /// The file's table (`None`: absent) with the environment over it, validated.
    fn resolve(file: Option<Self::File>, env: EnvLookup<'_>) -> Result<Self, ConfigError>;

    /// Whether the collector runs.
    fn enabled(&self) -> bool;

    /// A collector with these settings.
    fn build(&self) -> Box<dyn Collector>;
}
