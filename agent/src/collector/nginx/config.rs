//! Settings of the nginx collector.

use crate::collector::{Collector, CollectorConfig};
use crate::settings::EnvOverlay;
use crate::settings::{ConfigError, EnvLookup};
use serde::Deserialize;

/// `[nginx]` in the config file (its presence switches the collector on);
/// `PEEPER_NGINX_ENABLED`, `PEEPER_NGINX_URL` in the environment.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct NginxConfig {
    pub enabled: bool,
    /// The `stub_status` page.
    pub url: String,
    /// Host header to send, for a `stub_status` location inside a named server block
    /// (default: the URL's host).
    pub host_override: Option<String>,
}

impl Default for NginxConfig {
    fn default() -> Self {
        NginxConfig {
            enabled: true,
            url: "http://127.0.0.1/stub_status".to_owned(),
            host_override: None,
        }
    }
}

impl CollectorConfig for NginxConfig {
    const SECTION: &'static str = "nginx";
    type File = Self;

    /// The file's table (absent: off) with the environment over it.
    fn resolve(file: Option<Self>, env: EnvLookup<'_>) -> Result<Self, ConfigError> {
        let mut config = file.unwrap_or(NginxConfig {
            enabled: false,
            ..Default::default()
        });
        let env = EnvOverlay::new(env);
        env.bool("PEEPER_NGINX_ENABLED", &mut config.enabled)?;
        env.string("PEEPER_NGINX_URL", &mut config.url);
        if !(config.url.starts_with("http://") || config.url.starts_with("https://")) {
            return Err(ConfigError::invalid(
                "nginx.url (PEEPER_NGINX_URL)",
                format!(
                    "{:?} must be an http:// or https:// URL, e.g. http://127.0.0.1/stub_status",
                    config.url
                ),
            ));
        }
        Ok(config)
    }

    fn enabled(&self) -> bool {
        self.enabled
    }

    fn build(&self) -> Box<dyn Collector> {
        Box::new(super::NginxCollector::new(self))
    }
}
