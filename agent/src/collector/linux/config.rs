//! Settings of the Linux collector.

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
}

impl Default for LinuxConfig {
    fn default() -> Self {
        LinuxConfig {
            enabled: true,
            rootfs: PathBuf::from("/"),
        }
    }
}
