//! Settings of the PostgreSQL collector.

use crate::collector::{Collector, CollectorConfig};
use crate::settings::{ConfigError, EnvLookup};
use crate::settings::{EnvOverlay, Secret, read_secret};
use serde::Deserialize;
use std::path::PathBuf;

/// `[postgres]` in the config file (its presence switches the collector on);
/// `PEEPER_POSTGRES_*` in the environment. `host` may be a directory holding the server's
/// Unix socket (as with libpq).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct PostgresConfig {
    pub enabled: bool,
    pub host: String,
    pub port: u16,
    pub user: String,
    /// Prefer `password_file`.
    pub password: Option<Secret>,
    pub password_file: Option<PathBuf>,
    /// The database to connect to; statistics cover every database of the cluster.
    pub database: String,
    /// `disable`, `prefer` or `require` (TLS with rustls). As libpq, the server's certificate
    /// is verified only when `ca_file` is set (then chain and host name, libpq's
    /// `verify-full`); without it TLS encrypts but does not authenticate the server.
    pub sslmode: String,
    pub ca_file: Option<PathBuf>,
}

impl Default for PostgresConfig {
    fn default() -> Self {
        PostgresConfig {
            enabled: true,
            host: "127.0.0.1".to_owned(),
            port: 5432,
            user: "peeper".to_owned(),
            password: None,
            password_file: None,
            database: "postgres".to_owned(),
            sslmode: "prefer".to_owned(),
            ca_file: None,
        }
    }
}

impl CollectorConfig for PostgresConfig {
    const SECTION: &'static str = "postgres";
    type File = Self;

    /// The file's table (absent: off) with the environment over it; reads `password_file`.
    fn resolve(file: Option<Self>, env: EnvLookup<'_>) -> Result<Self, ConfigError> {
        let mut config = file.unwrap_or(PostgresConfig {
            enabled: false,
            ..Default::default()
        });
        let env = EnvOverlay::new(env);
        env.bool("PEEPER_POSTGRES_ENABLED", &mut config.enabled)?;
        env.string("PEEPER_POSTGRES_HOST", &mut config.host);
        env.port("PEEPER_POSTGRES_PORT", &mut config.port)?;
        env.string("PEEPER_POSTGRES_USER", &mut config.user);
        env.secret("PEEPER_POSTGRES_PASSWORD", &mut config.password);
        env.path("PEEPER_POSTGRES_PASSWORD_FILE", &mut config.password_file);
        env.string("PEEPER_POSTGRES_DATABASE", &mut config.database);
        env.string("PEEPER_POSTGRES_SSLMODE", &mut config.sslmode);
        env.path("PEEPER_POSTGRES_CA_FILE", &mut config.ca_file);
        if !["disable", "prefer", "require"].contains(&config.sslmode.as_str()) {
            return Err(ConfigError::Invalid {
                setting: "postgres.sslmode (PEEPER_POSTGRES_SSLMODE)",
                message: format!(
                    "{:?} is not one of disable, prefer, require",
                    config.sslmode
                ),
            });
        }
        if config.enabled
            && let Some(path) = &config.password_file
        {
            config.password = Some(Secret::from(read_secret(
                "postgres.password_file (PEEPER_POSTGRES_PASSWORD_FILE)",
                path,
            )?));
        }
        Ok(config)
    }

    fn enabled(&self) -> bool {
        self.enabled
    }

    fn build(&self) -> Box<dyn Collector> {
        Box::new(super::PostgresCollector::new(self))
    }
}
