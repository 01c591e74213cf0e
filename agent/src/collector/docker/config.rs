//! Settings of the Docker collector.

use crate::collector::{Collector, CollectorConfig};
use crate::settings::EnvOverlay;
use crate::settings::{ConfigError, EnvLookup};
use serde::Deserialize;
use std::path::PathBuf;

/// `[docker]` in the config file (its presence switches the collector on);
/// `PEEPER_DOCKER_ENABLED`, `PEEPER_DOCKER_SOCKET`, `PEEPER_DOCKER_CONTAINER_LABELS` in the
/// environment.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DockerConfig {
    pub enabled: bool,
    /// The engine's API socket.
    pub socket: PathBuf,
    /// Container labels copied onto series as `container_label_<name>` (cAdvisor's form).
    /// Empty by default, to bound cardinality.
    pub container_labels: Vec<String>,
    /// Where the host's cgroup file system is mounted (`/host/sys/fs/cgroup` in a container).
    pub cgroup_root: PathBuf,
}

impl Default for DockerConfig {
    fn default() -> Self {
        DockerConfig {
            enabled: true,
            socket: PathBuf::from("/var/run/docker.sock"),
            container_labels: Vec::new(),
            cgroup_root: PathBuf::from("/sys/fs/cgroup"),
        }
    }
}

impl CollectorConfig for DockerConfig {
    const SECTION: &'static str = "docker";
    type File = Self;

    /// The file's table (absent: off) with the environment over it.
    fn resolve(file: Option<Self>, env: EnvLookup<'_>) -> Result<Self, ConfigError> {
        let mut config = file.unwrap_or(DockerConfig {
            enabled: false,
            ..Default::default()
        });
        let overlay = EnvOverlay::new(env);
        overlay.bool("PEEPER_DOCKER_ENABLED", &mut config.enabled)?;
        overlay.required_path("PEEPER_DOCKER_SOCKET", &mut config.socket);
        overlay.list(
            "PEEPER_DOCKER_CONTAINER_LABELS",
            &mut config.container_labels,
        );
        Ok(config)
    }

    fn enabled(&self) -> bool {
        self.enabled
    }

    fn build(&self) -> Box<dyn Collector> {
        Box::new(super::DockerCollector::new(self))
    }
}
