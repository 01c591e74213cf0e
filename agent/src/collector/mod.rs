//! Collectors: one module per integration, each behind the small object-safe [`Collector`]
//! trait and registered explicitly in [`build`] from the validated configuration.

pub mod apache;
pub mod certs;
pub mod checks;
pub mod docker;
pub mod env;
pub mod linux;
pub mod mysql;
pub mod postgres;
pub mod probes;

use peeper_proto::MetricFamily;
use std::future::Future;
use std::pin::Pin;

/// What a collector's `collect` returns: the families of one cycle, or why the whole
/// collector failed. A collector whose *target* is down still returns `Ok` with its
/// `*_up 0`; `Err` is for failures of the collector itself.
pub type CollectFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Vec<MetricFamily>, CollectError>> + Send + 'a>>;

/// One source of metrics. Object-safe so the scheduler can hold `Box<dyn Collector>`.
pub trait Collector: Send {
    /// The `job` label of this collector's series (`linux`, `docker`, ...).
    fn job(&self) -> &'static str;

    /// Collects one cycle. Called at most once at a time; the scheduler applies the timeout.
    fn collect(&mut self) -> CollectFuture<'_>;
}

#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Other(String),
}

/// Builds the enabled collectors from the validated configuration, in a fixed order.
pub fn build(config: &crate::config::CollectorsConfig) -> Vec<Box<dyn Collector>> {
    let mut collectors: Vec<Box<dyn Collector>> = Vec::new();
    if config.linux.enabled {
        collectors.push(Box::new(linux::LinuxCollector::new(&config.linux)));
    }
    if config.apache.enabled {
        collectors.push(Box::new(apache::ApacheCollector::new(&config.apache)));
    }
    if config.mysql.enabled {
        collectors.push(Box::new(mysql::MysqlCollector::new(&config.mysql)));
    }
    if config.postgres.enabled {
        collectors.push(Box::new(postgres::PostgresCollector::new(&config.postgres)));
    }
    if config.docker.enabled {
        collectors.push(Box::new(docker::DockerCollector::new(&config.docker)));
    }
    if config.certs.enabled {
        collectors.push(Box::new(certs::CertsCollector::new(&config.certs)));
    }
    if config.checks.enabled {
        collectors.push(Box::new(checks::ChecksCollector::new(&config.checks)));
    }
    if config.probes.enabled {
        collectors.push(Box::new(probes::ProbesCollector::new(&config.probes)));
    }
    collectors
}
