//! Settings of the MySQL/MariaDB collector.

use crate::collector::{Collector, CollectorConfig};
use crate::settings::{ConfigError, EnvLookup};
use crate::settings::{EnvOverlay, Secret, read_secret};
use serde::Deserialize;
use std::path::PathBuf;

/// `[mysql]` in the config file (its presence switches the collector on); `PEEPER_MYSQL_*`
/// in the environment. Connects over `socket` when set, TCP otherwise.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct MysqlConfig {
    pub enabled: bool,
    pub host: String,
    pub port: u16,
    pub user: String,
    /// Prefer `password_file`: a password in the config file or environment is readable by
    /// anyone who can read those.
    pub password: Option<Secret>,
    pub password_file: Option<PathBuf>,
    /// Unix socket path; when set, `host` and `port` are not used.
    pub socket: Option<PathBuf>,
    /// Use TLS to the server (rustls); verified against `ca_file` or the system roots.
    pub tls: bool,
    pub ca_file: Option<PathBuf>,
}

impl Default for MysqlConfig {
    fn default() -> Self {
        MysqlConfig {
            enabled: true,
            host: "127.0.0.1".to_owned(),
            port: 3306,
            user: "peeper".to_owned(),
            password: None,
            password_file: None,
            socket: None,
            tls: false,
            ca_file: None,
        }
    }
}

impl CollectorConfig for MysqlConfig {
    const SECTION: &'static str = "mysql";
    type File = Self;

    /// The file's table (absent: off) with the environment over it; reads `password_file`.
    fn resolve(file: Option<Self>, env: EnvLookup<'_>) -> Result<Self, ConfigError> {
        let mut config = file.unwrap_or(MysqlConfig {
            enabled: false,
            ..Default::default()
        });
        let env = EnvOverlay::new(env);
        env.bool("PEEPER_MYSQL_ENABLED", &mut config.enabled)?;
        env.string("PEEPER_MYSQL_HOST", &mut config.host);
        env.port("PEEPER_MYSQL_PORT", &mut config.port)?;
        env.string("PEEPER_MYSQL_USER", &mut config.user);
        env.secret("PEEPER_MYSQL_PASSWORD", &mut config.password);
        env.path("PEEPER_MYSQL_PASSWORD_FILE", &mut config.password_file);
        env.path("PEEPER_MYSQL_SOCKET", &mut config.socket);
        env.bool("PEEPER_MYSQL_TLS", &mut config.tls)?;
        env.path("PEEPER_MYSQL_CA_FILE", &mut config.ca_file);
        if config.enabled
            && let Some(path) = &config.password_file
        {
            config.password = Some(Secret::from(read_secret(
                "mysql.password_file (PEEPER_MYSQL_PASSWORD_FILE)",
                path,
            )?));
        }
        Ok(config)
    }

    fn enabled(&self) -> bool {
        self.enabled
    }

    fn build(&self) -> Box<dyn Collector> {
        Box::new(super::MysqlCollector::new(self))
    }
}
