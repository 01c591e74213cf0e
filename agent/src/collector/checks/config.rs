//! Settings of the passive-checks collector: `[[checks]]` entries in the config file.

use crate::collector::{Collector, CollectorConfig};
use crate::settings::{ConfigDuration, ConfigError, EnvLookup, parse_bool};
use serde::Deserialize;
use std::time::Duration;

/// One `[[checks]]` entry: a command whose exit status is the check's result.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CheckEntry {
    /// The `check` label: 1 to 128 of `A-Z a-z 0-9 _ . : -`.
    pub name: String,
    /// Run with `/bin/sh -c`; exit 0 is OK, anything else ERR.
    pub command: String,
    /// How often to run it (default: the agent's interval), e.g. `1m`.
    pub interval: Option<ConfigDuration>,
    /// Killed and reported ERR past this (default 10 s; never past the end of the cycle).
    pub timeout: Option<ConfigDuration>,
}

/// A validated check.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    pub name: String,
    pub command: String,
    /// `None`: every cycle of the agent.
    pub interval: Option<Duration>,
    pub timeout: Duration,
}

/// The checks collector's settings: on when the file lists checks, unless
/// `PEEPER_CHECKS_ENABLED=false`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ChecksConfig {
    pub enabled: bool,
    pub checks: Vec<Check>,
}

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

impl CollectorConfig for ChecksConfig {
    const SECTION: &'static str = "checks";
    /// `[[checks]]`: a list of entries.
    type File = Vec<CheckEntry>;

    fn resolve(entries: Option<Vec<CheckEntry>>, env: EnvLookup<'_>) -> Result<Self, ConfigError> {
        let entries = entries.unwrap_or_default();
        let mut enabled = !entries.is_empty();
        if let Some(value) = env("PEEPER_CHECKS_ENABLED") {
            enabled = parse_bool("PEEPER_CHECKS_ENABLED", &value)?;
        }
        let mut checks = Vec::with_capacity(entries.len());
        for entry in &entries {
            validate_check_name(&entry.name).map_err(|message| ConfigError::Invalid {
                setting: "checks.name",
                message,
            })?;
            if checks.iter().any(|c: &Check| c.name == entry.name) {
                return Err(ConfigError::Invalid {
                    setting: "checks.name",
                    message: format!(
                        "two checks are named {:?}; names must be unique",
                        entry.name
                    ),
                });
            }
            if entry.command.trim().is_empty() {
                return Err(ConfigError::Invalid {
                    setting: "checks.command",
                    message: format!("check {:?} has an empty command", entry.name),
                });
            }
            checks.push(Check {
                name: entry.name.clone(),
                command: entry.command.clone(),
                interval: entry.interval.map(|i| i.0.max(Duration::from_secs(1))),
                timeout: entry.timeout.map_or(DEFAULT_TIMEOUT, Duration::from),
            });
        }
        if enabled && checks.is_empty() {
            return Err(ConfigError::Invalid {
                setting: "PEEPER_CHECKS_ENABLED",
                message: "checks are on but none is listed: add [[checks]] entries (name, command) to the config file".into(),
            });
        }
        Ok(ChecksConfig { enabled, checks })
    }

    fn enabled(&self) -> bool {
        self.enabled
    }

    fn build(&self) -> Box<dyn Collector> {
        Box::new(super::ChecksCollector::new(self))
    }
}

/// Check names become label values and travel in cron lines: keep them plain.
pub fn validate_check_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 128
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "check name {name:?} must be 1 to 128 of A-Z a-z 0-9 _ . : -"
        ))
    }
}
