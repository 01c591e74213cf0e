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

use crate::config::CollectorsConfig;

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

/// The collectors by their config section (`[linux]`, `[mysql]`, ...), built explicitly, so a
/// reload can restart exactly those whose settings changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Section {
    Linux,
    Apache,
    Mysql,
    Postgres,
    Docker,
    Certs,
    Checks,
    Probes,
}

impl Section {
    pub const ALL: [Section; 8] = [
        Section::Linux,
        Section::Apache,
        Section::Mysql,
        Section::Postgres,
        Section::Docker,
        Section::Certs,
        Section::Checks,
        Section::Probes,
    ];

    /// The config table's name.
    pub fn name(self) -> &'static str {
        match self {
            Section::Linux => "linux",
            Section::Apache => "apache",
            Section::Mysql => "mysql",
            Section::Postgres => "postgres",
            Section::Docker => "docker",
            Section::Certs => "certs",
            Section::Checks => "checks",
            Section::Probes => "probes",
        }
    }

    pub fn enabled(self, config: &CollectorsConfig) -> bool {
        match self {
            Section::Linux => config.linux.enabled,
            Section::Apache => config.apache.enabled,
            Section::Mysql => config.mysql.enabled,
            Section::Postgres => config.postgres.enabled,
            Section::Docker => config.docker.enabled,
            Section::Certs => config.certs.enabled,
            Section::Checks => config.checks.enabled,
            Section::Probes => config.probes.enabled,
        }
    }

    /// Whether this section's settings are the same in both.
    pub fn same(self, a: &CollectorsConfig, b: &CollectorsConfig) -> bool {
        match self {
            Section::Linux => a.linux == b.linux,
            Section::Apache => a.apache == b.apache,
            Section::Mysql => a.mysql == b.mysql,
            Section::Postgres => a.postgres == b.postgres,
            Section::Docker => a.docker == b.docker,
            Section::Certs => a.certs == b.certs,
            Section::Checks => a.checks == b.checks,
            Section::Probes => a.probes == b.probes,
        }
    }

    pub fn build(self, config: &CollectorsConfig) -> Box<dyn Collector> {
        match self {
            Section::Linux => Box::new(linux::LinuxCollector::new(&config.linux)),
            Section::Apache => Box::new(apache::ApacheCollector::new(&config.apache)),
            Section::Mysql => Box::new(mysql::MysqlCollector::new(&config.mysql)),
            Section::Postgres => Box::new(postgres::PostgresCollector::new(&config.postgres)),
            Section::Docker => Box::new(docker::DockerCollector::new(&config.docker)),
            Section::Certs => Box::new(certs::CertsCollector::new(&config.certs)),
            Section::Checks => Box::new(checks::ChecksCollector::new(&config.checks)),
            Section::Probes => Box::new(probes::ProbesCollector::new(&config.probes)),
        }
    }
}

/// Every enabled collector.
pub fn build(config: &CollectorsConfig) -> Vec<Box<dyn Collector>> {
    Section::ALL
        .into_iter()
        .filter(|section| section.enabled(config))
        .map(|section| section.build(config))
        .collect()
}
