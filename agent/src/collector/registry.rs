//! The list of collectors, and the validated settings of all of them. The config file's
//! tables, the environment each collector reads, `build()` and a reload's comparison all
//! follow from [`COLLECTORS`].

use super::{Collector, CollectorConfig};
use super::{apache, certs, checks, docker, linux, mysql, nginx, postgres, probes, textfile};
use crate::settings::{ConfigError, EnvLookup};
use std::any::Any;
use std::sync::Arc;

/// Every collector, in the order they start. Adding one: its module and one line here.
pub const COLLECTORS: [Registration; 10] = [
    Registration::of::<linux::LinuxConfig>(),
    Registration::of::<textfile::TextfileConfig>(),
    Registration::of::<apache::ApacheConfig>(),
    Registration::of::<nginx::NginxConfig>(),
    Registration::of::<mysql::MysqlConfig>(),
    Registration::of::<postgres::PostgresConfig>(),
    Registration::of::<docker::DockerConfig>(),
    Registration::of::<certs::CertsConfig>(),
    Registration::of::<checks::ChecksConfig>(),
    Registration::of::<probes::ProbesConfig>(),
];

/// Reads one section: its table from the file (if any) and the environment.
type ResolveFn = fn(Option<toml::Value>, EnvLookup<'_>) -> Result<Arc<dyn Spec>, ConfigError>;

/// How one collector's section is read.
#[derive(Debug, Clone, Copy)]
pub struct Registration {
    /// The config-file table.
    pub section: &'static str,
    resolve: ResolveFn,
}

impl Registration {
    pub const fn of<C: CollectorConfig>() -> Self {
        Registration {
            section: C::SECTION,
            resolve: resolve_as::<C>,
        }
    }

    /// The section's table (`None`: absent) with the environment over it, validated.
    pub fn resolve(
        &self,
        table: Option<toml::Value>,
        env: EnvLookup<'_>,
    ) -> Result<Arc<dyn Spec>, ConfigError> {
        (self.resolve)(table, env)
    }
}

fn resolve_as<C: CollectorConfig>(
    table: Option<toml::Value>,
    env: EnvLookup<'_>,
) -> Result<Arc<dyn Spec>, ConfigError> {
    let file = table
        .map(toml::Value::try_into::<C::File>)
        .transpose()
        .map_err(|e| ConfigError::Table {
            section: C::SECTION,
            message: e.to_string(),
        })?;
    Ok(Arc::new(C::resolve(file, env)?))
}

/// A collector's validated settings, whatever the collector: what the agent keeps per
/// section. Implemented for every [`CollectorConfig`].
pub trait Spec: std::fmt::Debug + Send + Sync {
    fn section(&self) -> &'static str;
    fn enabled(&self) -> bool;
    fn build(&self) -> Box<dyn Collector>;
    /// Whether `other` holds the same settings (a reload restarts a collector otherwise).
    fn same_as(&self, other: &dyn Spec) -> bool;
    fn as_any(&self) -> &dyn Any;
}

impl<C: CollectorConfig> Spec for C {
    fn section(&self) -> &'static str {
        C::SECTION
    }

    fn enabled(&self) -> bool {
        CollectorConfig::enabled(self)
    }

    fn build(&self) -> Box<dyn Collector> {
        CollectorConfig::build(self)
    }

    fn same_as(&self, other: &dyn Spec) -> bool {
        other.as_any().downcast_ref::<C>() == Some(self)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// Every collector's validated settings, in [`COLLECTORS`] order.
#[derive(Debug, Clone)]
pub struct Collectors {
    specs: Vec<Arc<dyn Spec>>,
}

impl Collectors {
    /// Resolves every registered section from the file's tables (by section name) and the
    /// environment; a table no collector owns was refused by the caller.
    pub fn resolve(
        tables: &mut std::collections::BTreeMap<String, toml::Value>,
        env: EnvLookup<'_>,
    ) -> Result<Self, ConfigError> {
        let specs = COLLECTORS
            .iter()
            .map(|registration| registration.resolve(tables.remove(registration.section), env))
            .collect::<Result<_, _>>()?;
        Ok(Collectors { specs })
    }

    /// Every section's settings, enabled or not.
    pub fn all(&self) -> impl Iterator<Item = &Arc<dyn Spec>> {
        self.specs.iter()
    }

    /// The sections that run.
    pub fn enabled(&self) -> impl Iterator<Item = &Arc<dyn Spec>> {
        self.specs.iter().filter(|spec| spec.enabled())
    }

    /// One section's settings.
    pub fn section(&self, name: &str) -> Option<&Arc<dyn Spec>> {
        self.specs.iter().find(|spec| spec.section() == name)
    }

    /// One collector's settings by type (`collectors.get::<MysqlConfig>()`).
    pub fn get<C: CollectorConfig>(&self) -> &C {
        self.section(C::SECTION)
            .and_then(|spec| spec.as_any().downcast_ref::<C>())
            .expect("every registered collector has settings")
    }

    /// A collector for every enabled section.
    pub fn build(&self) -> Vec<Box<dyn Collector>> {
        self.enabled().map(|spec| spec.build()).collect()
    }
}
