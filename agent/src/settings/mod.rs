//! The configuration machinery every part of the agent shares: errors, the environment
//! overlay, secrets and durations. A leaf: it imports nothing of the agent's, so collectors
//! (which own their settings) and the top-level config (which assembles them) both build on
//! it without importing each other (ARCHITECTURE.md, "Configuration").

mod duration;
mod env;
mod secret;

pub use duration::ConfigDuration;
pub use env::{EnvLookup, EnvOverlay, parse_bool};
pub use secret::{Secret, read_secret};

use std::path::PathBuf;
use std::time::Duration;

/// Everything that can be wrong with the agent's configuration, each naming the setting and
/// the fix.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    ReadFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path} is not valid: {message}")]
    ParseFile { path: PathBuf, message: String },
    #[error("{setting} = {value:?} is not a duration: write it like `15s`, `500ms`, `2m` or `1h`")]
    Duration {
        setting: &'static str,
        value: String,
    },
    #[error("{setting} must be between {min:?} and {max:?}, got {value:?}")]
    OutOfRange {
        setting: &'static str,
        value: Duration,
        min: Duration,
        max: Duration,
    },
    #[error(
        "no server to push to: set --server URL (or PEEPER_SERVER_URL, or `server` in the config file), or use --once --print to only print"
    )]
    NoServer,
    #[error("server URL {0:?} must start with http:// or https://")]
    ServerScheme(String),
    #[error(
        "cannot read the token file {path}: {source}; create it with the token from `peeper-server token create` (mode 0600)"
    )]
    TokenFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the token file {0} is empty: put the token from `peeper-server token create` in it")]
    EmptyToken(PathBuf),
    #[error(
        "CA file {0} does not exist: point --ca-file (PEEPER_CA_FILE) at a PEM certificate, e.g. certs/ca/ca.crt"
    )]
    MissingCaFile(PathBuf),
    #[error("transport {0:?} is not supported: use `https` or `grpc`")]
    Transport(String),
    #[error("environment variable {name}={value:?} is not valid: {expected}")]
    Env {
        name: &'static str,
        value: String,
        expected: &'static str,
    },
    #[error("cannot read {setting} {path}: {source}")]
    SecretFile {
        setting: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    /// A config-file table its collector could not read (the caller adds the file's name).
    #[error("in [{section}]: {message}")]
    Table {
        section: &'static str,
        message: String,
    },
    #[error("{setting}: {message}")]
    Invalid {
        setting: &'static str,
        message: String,
    },
    #[error("the instance name is empty and the hostname could not be read: set --instance NAME")]
    NoInstance,
}

impl ConfigError {
    /// A setting whose value is wrong, with what to do about it.
    pub fn invalid(setting: &'static str, message: impl Into<String>) -> Self {
        ConfigError::Invalid {
            setting,
            message: message.into(),
        }
    }
}
