//! Settings of the Apache collector.

use crate::collector::{Collector, CollectorConfig};
use crate::settings::EnvOverlay;
use crate::settings::{ConfigError, EnvLookup};
use serde::Deserialize;

/// `[apache]` in the config file (its presence switches the collector on);
/// `PEEPER_APACHE_ENABLED`, `PEEPER_APACHE_URL` in the environment.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ApacheConfig {
    pub enabled: bool,
    /// The machine-readable status page, `?auto` included.
    pub url: String,
    /// Host header to send, for name-based virtual hosts (default: the URL's host).
    pub host_override: Option<String>,
}

impl Default for ApacheConfig {
    fn default() -> Self {
        ApacheConfig {
            enabled: true,
            url: "http://127.0.0.1/server-status?auto".to_owned(),
            host_override: None,
        }
    }
}

impl CollectorConfig for ApacheConfig {
    const SECTION: &'static str = "apache";
    type File = Self;

    /// The file's table (absent: off) with the environment over it.
    fn resolve(file: Option<Self>, env: EnvLookup<'_>) -> Result<Self, ConfigError> {
        let mut config = file.unwrap_or(ApacheConfig {
            enabled: false,
            ..Default::default()
        });
        let env = EnvOverlay::new(env);
        env.bool("PEEPER_APACHE_ENABLED", &mut config.enabled)?;
        env.string("PEEPER_APACHE_URL", &mut config.url);
        if !(config.url.starts_with("http://") || config.url.starts_with("https://")) {
            return Err(ConfigError::Invalid {
                setting: "apache.url (PEEPER_APACHE_URL)",
                message: format!(
                    "{:?} must be an http:// or https:// URL, e.g. http://127.0.0.1/server-status?auto",
                    config.url
                ),
            });
        }
        Ok(config)
    }

    fn enabled(&self) -> bool {
        self.enabled
    }

    fn build(&self) -> Box<dyn Collector> {
        Box::new(super::ApacheCollector::new(self))
    }
}
