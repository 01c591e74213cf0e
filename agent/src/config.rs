//! The agent's configuration: the TOML file, the environment and the flags merged into one
//! validated [`AgentConfig`] before any I/O starts.

use crate::cli::Cli;
use crate::collector::Collectors;
pub use crate::settings::{ConfigError, EnvLookup};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The config file (`--config`). Keys mirror the flags; each collector has its own table,
/// read by the collector itself (`collector::registry`).
#[derive(Debug, Default, Deserialize)]
pub struct FileConfig {
    pub server: Option<String>,
    pub token_file: Option<PathBuf>,
    pub ca_file: Option<PathBuf>,
    pub instance: Option<String>,
    pub interval: Option<String>,
    pub collect_timeout: Option<String>,
    pub buffer_dir: Option<PathBuf>,
    pub buffer_max_bytes: Option<u64>,
    pub drain_rate: Option<u32>,
    pub transport: Option<String>,
    /// The collectors' tables (`[linux]`, `[[checks]]`, ...) and anything unknown.
    #[serde(flatten)]
    pub sections: BTreeMap<String, toml::Value>,
}

/// How batches reach the server (`--transport`, and `transport` in the file: case-insensitive).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Transport {
    /// Prometheus remote-write over HTTPS.
    #[value(alias = "http")]
    Https,
    /// The `peeper.v1` gRPC service over TLS (h2).
    Grpc,
}

/// Where and how to push. Absent in `--once --print`, which needs no server.
#[derive(Clone, PartialEq)]
pub struct PushConfig {
    /// The full remote-write URL.
    pub write_url: String,
    /// The bearer token, read from `token_file`. Never logged or printed.
    pub token: Option<String>,
    pub ca_file: Option<PathBuf>,
    pub transport: Transport,
    pub buffer_max_bytes: u64,
    /// At most this many batches per second while a backlog drains.
    pub drain_rate: u32,
}

/// Shows everything but the token, so printing the config never leaks it.
impl std::fmt::Debug for PushConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PushConfig")
            .field("write_url", &self.write_url)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("ca_file", &self.ca_file)
            .field("transport", &self.transport)
            .field("buffer_max_bytes", &self.buffer_max_bytes)
            .field("drain_rate", &self.drain_rate)
            .finish()
    }
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct AgentConfig {
    pub instance: String,
    pub interval: Duration,
    pub collect_timeout: Duration,
    pub buffer_dir: PathBuf,
    pub push: Option<PushConfig>,
    pub collectors: Collectors,
}

pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(15);
pub const DEFAULT_BUFFER_MAX_BYTES: u64 = 512 * 1024 * 1024;
pub const DEFAULT_DRAIN_RATE: u32 = 20;
const DEFAULT_BUFFER_DIR: &str = "/var/lib/peeper-agent";
/// The file's settings outside the collectors' tables, named when a key is unknown.
const TOP_LEVEL_KEYS: [&str; 10] = [
    "server",
    "token_file",
    "ca_file",
    "instance",
    "interval",
    "collect_timeout",
    "buffer_dir",
    "buffer_max_bytes",
    "drain_rate",
    "transport",
];

impl AgentConfig {
    /// Merges flags (clap already applied their env twins) over the file over defaults,
    /// then validates. `needs_push` is false for `--once --print`.
    pub fn try_new(cli: &Cli, env: EnvLookup<'_>, needs_push: bool) -> Result<Self, ConfigError> {
        let file = match &cli.config {
            Some(path) => load_file(path)?,
            None => FileConfig::default(),
        };
        let interval = parse_setting("interval", cli.interval.as_ref().or(file.interval.as_ref()))?
            .unwrap_or(DEFAULT_INTERVAL);
        check_range(
            "interval",
            interval,
            Duration::from_secs(1),
            Duration::from_secs(3600),
        )?;
        let collect_timeout = parse_setting(
            "collect_timeout",
            cli.collect_timeout
                .as_ref()
                .or(file.collect_timeout.as_ref()),
        )?
        .unwrap_or_else(|| interval.mul_f64(0.8).min(Duration::from_secs(10)));
        check_range(
            "collect_timeout",
            collect_timeout,
            Duration::from_millis(100),
            interval,
        )?;

        let instance = match cli.instance.clone().or(file.instance.clone()) {
            Some(name) if !name.trim().is_empty() => name.trim().to_owned(),
            _ => hostname().ok_or(ConfigError::NoInstance)?,
        };
        let buffer_dir = cli
            .buffer_dir
            .clone()
            .or(file.buffer_dir.clone())
            .unwrap_or_else(|| PathBuf::from(DEFAULT_BUFFER_DIR));

        let mut sections = file.sections.clone();
        let collectors = Collectors::resolve(&mut sections, env).map_err(|e| match e {
            ConfigError::Table { .. } => ConfigError::ParseFile {
                path: cli.config.clone().unwrap_or_default(),
                message: e.to_string(),
            },
            other => other,
        })?;
        if let Some(unknown) = sections.keys().next() {
            return Err(ConfigError::ParseFile {
                path: cli.config.clone().unwrap_or_default(),
                message: format!(
                    "unknown key `{unknown}`: the settings are {}, and the tables {}",
                    TOP_LEVEL_KEYS.join(", "),
                    crate::collector::registry::COLLECTORS
                        .iter()
                        .map(|r| format!("[{}]", r.section))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            });
        }

        let server = cli.server.clone().or(file.server.clone());
        let push = match server {
            None if needs_push => return Err(ConfigError::NoServer),
            None => None,
            Some(server) => Some(PushConfig {
                write_url: write_url(&server)?,
                token: match cli.token_file.as_ref().or(file.token_file.as_ref()) {
                    Some(path) => Some(read_token(path)?),
                    None => None,
                },
                ca_file: match cli.ca_file.clone().or(file.ca_file.clone()) {
                    Some(path) if !path.exists() => return Err(ConfigError::MissingCaFile(path)),
                    other => other,
                },
                transport: match cli.transport {
                    Some(transport) => transport,
                    None => parse_transport(file.transport.as_ref())?,
                },
                buffer_max_bytes: cli
                    .buffer_max_bytes
                    .or(file.buffer_max_bytes)
                    .unwrap_or(DEFAULT_BUFFER_MAX_BYTES),
                drain_rate: cli
                    .drain_rate
                    .or(file.drain_rate)
                    .unwrap_or(DEFAULT_DRAIN_RATE)
                    .max(1),
            }),
        };
        Ok(AgentConfig {
            instance,
            interval,
            collect_timeout,
            buffer_dir,
            push,
            collectors,
        })
    }
}

fn load_file(path: &Path) -> Result<FileConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::ReadFile {
        path: path.to_owned(),
        source,
    })?;
    toml::from_str(&text).map_err(|e| ConfigError::ParseFile {
        path: path.to_owned(),
        message: e.to_string(),
    })
}

/// The remote-write URL for a `--server` value: a bare base URL gets `/api/v1/write`.
pub fn write_url(server: &str) -> Result<String, ConfigError> {
    let server = server.trim();
    let rest = server
        .strip_prefix("https://")
        .or_else(|| server.strip_prefix("http://"))
        .ok_or_else(|| ConfigError::ServerScheme(server.to_owned()))?;
    if rest.is_empty() || rest.starts_with('/') {
        return Err(ConfigError::ServerScheme(server.to_owned()));
    }
    Ok(match rest.find('/') {
        Some(i) if rest.len() > i + 1 => server.to_owned(),
        _ => format!("{}/api/v1/write", server.trim_end_matches('/')),
    })
}

fn read_token(path: &Path) -> Result<String, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::TokenFile {
        path: path.to_owned(),
        source,
    })?;
    let token = text.trim();
    if token.is_empty() {
        return Err(ConfigError::EmptyToken(path.to_owned()));
    }
    Ok(token.to_owned())
}

/// A `transport` value that clap did not parse (the config file's, an env file's): the
/// spellings `--transport` accepts.
pub(crate) fn parse_transport(value: Option<&String>) -> Result<Transport, ConfigError> {
    match value.map(|v| v.trim().to_ascii_lowercase()) {
        None => Ok(Transport::Https),
        Some(v) => <Transport as clap::ValueEnum>::from_str(&v, true)
            .map_err(|_| ConfigError::Transport(v)),
    }
}

fn parse_setting(
    setting: &'static str,
    value: Option<&String>,
) -> Result<Option<Duration>, ConfigError> {
    value
        .map(|v| {
            parse_duration(v).ok_or_else(|| ConfigError::Duration {
                setting,
                value: v.clone(),
            })
        })
        .transpose()
}

fn check_range(
    setting: &'static str,
    value: Duration,
    min: Duration,
    max: Duration,
) -> Result<(), ConfigError> {
    if value < min || value > max {
        return Err(ConfigError::OutOfRange {
            setting,
            value,
            min,
            max,
        });
    }
    Ok(())
}

pub use peeper_proto::duration::parse as parse_duration;

/// The host's name from the kernel.
pub fn hostname() -> Option<String> {
    let name = rustix::system::uname()
        .nodename()
        .to_string_lossy()
        .into_owned();
    (!name.is_empty()).then_some(name)
}

pub mod envfile;
pub mod sources;

#[cfg(test)]
mod tests;
