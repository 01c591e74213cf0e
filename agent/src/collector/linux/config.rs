//! Settings of the Linux collector.

use crate::collector::{Collector, CollectorConfig};
use crate::settings::{ConfigError, EnvLookup, EnvOverlay};
use serde::Deserialize;
use std::path::PathBuf;

/// `[linux]` in the agent's config file; `PEEPER_LINUX_*` in the environment.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LinuxConfig {
    /// Collect host metrics (default true).
    pub enabled: bool,
    /// Root of the host's file system, `/` normally; `/host` when the agent runs in a
    /// container with the host's `/` mounted there. `/proc` and `/sys` are read below it.
    pub rootfs: PathBuf,
    /// Emit `node_cpu_info` from `/proc/cpuinfo` (default false, as node_exporter's
    /// `--collector.cpu.info`).
    pub cpu_info: bool,
}

impl Default for LinuxConfig {
    fn default() -> Self {
        LinuxConfig {
            enabled: true,
            rootfs: PathBuf::from("/"),
            cpu_info: false,
        }
    }
}

impl CollectorConfig for LinuxConfig {
    const SECTION: &'static str = "linux";
    type File = Self;

    /// The file's table (absent: on, reading `/`) with `PEEPER_LINUX_*` over it.
    fn resolve(file: Option<Self>, env: EnvLookup<'_>) -> Result<Self, ConfigError> {
        let mut config = file.unwrap_or_default();
        let overlay = EnvOverlay::new(env);
        overlay.bool("PEEPER_LINUX_ENABLED", &mut config.enabled)?;
        overlay.required_path("PEEPER_LINUX_ROOTFS", &mut config.rootfs);
        overlay.bool("PEEPER_LINUX_CPU_INFO", &mut config.cpu_info)?;
        Ok(config)
    }

    fn enabled(&self) -> bool {
        self.enabled
    }

    fn build(&self) -> Box<dyn Collector> {
        Box::new(super::LinuxCollector::new(self))
    }
}
