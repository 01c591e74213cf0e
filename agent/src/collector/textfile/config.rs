//! Settings of the textfile collector.

use crate::collector::{Collector, CollectorConfig};
use crate::settings::{ConfigError, EnvLookup, EnvOverlay, parse_bool};
use serde::Deserialize;
use std::path::PathBuf;

/// Where the collector looks when nothing says otherwise (the agent's state directory).
pub const DEFAULT_DIR: &str = "/var/lib/peeper-agent/textfile";

/// `[textfile]` in the config file (its presence switches the collector on);
/// `PEEPER_TEXTFILE_ENABLED`, `PEEPER_TEXTFILE_DIR` in the environment.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct TextfileTable {
    pub enabled: bool,
    /// The directory whose `*.prom` files are read (node_exporter's
    /// `--collector.textfile.directory`).
    pub dir: PathBuf,
}

impl Default for TextfileTable {
    fn default() -> Self {
        TextfileTable {
            enabled: true,
            dir: PathBuf::from(DEFAULT_DIR),
        }
    }
}

/// The textfile collector's validated settings.
#[derive(Debug, Clone, PartialEq)]
pub struct TextfileConfig {
    pub enabled: bool,
    pub dir: PathBuf,
}

impl CollectorConfig for TextfileConfig {
    const SECTION: &'static str = "textfile";
    type File = TextfileTable;

    /// The file's table with the environment over it. With neither a table nor
    /// `PEEPER_TEXTFILE_ENABLED` the collector is on when the directory exists, so creating
    /// it (and a reload) is all it takes.
    fn resolve(file: Option<TextfileTable>, env: EnvLookup<'_>) -> Result<Self, ConfigError> {
        let mut switch = file.as_ref().map(|table| table.enabled);
        let mut dir = file.map_or_else(|| PathBuf::from(DEFAULT_DIR), |table| table.dir);
        let env = EnvOverlay::new(env);
        env.required_path("PEEPER_TEXTFILE_DIR", &mut dir);
        // Empty counts as unset here: "decide by the directory".
        if let Some(value) = env.get("PEEPER_TEXTFILE_ENABLED") {
            switch = Some(parse_bool("PEEPER_TEXTFILE_ENABLED", &value)?);
        }
        if dir.as_os_str().is_empty() {
            return Err(ConfigError::invalid(
                "textfile.dir (PEEPER_TEXTFILE_DIR)",
                format!("must name a directory, e.g. {DEFAULT_DIR}"),
            ));
        }
        let enabled = switch.unwrap_or_else(|| dir.is_dir());
        Ok(TextfileConfig { enabled, dir })
    }

    fn enabled(&self) -> bool {
        self.enabled
    }

    fn build(&self) -> Box<dyn Collector> {
        Box::new(super::TextfileCollector::new(self))
    }
}
