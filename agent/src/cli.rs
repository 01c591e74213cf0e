//! The command line. Every flag has a `PEEPER_*` environment twin (clap reads it) and a key
//! in the TOML config file (merged in [`crate::config`]); precedence flag > env > file > default.

use crate::config::Transport;
use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "peeper-agent",
    version,
    about = "Collects host and service metrics and pushes them to a Peeper server or any remote-write receiver."
)]
pub struct Cli {
    /// TOML config file (read again on SIGHUP).
    #[arg(long, env = "PEEPER_CONFIG", global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Env file of `NAME=value` lines (repeatable), e.g. `/etc/default/peeper-agent`: read at
    /// start and again on SIGHUP; its values win over the process environment.
    #[arg(long = "env-file", global = true, value_name = "FILE")]
    pub env_files: Vec<PathBuf>,

    /// Server base URL (`https://peeper.example.com`); `/api/v1/write` is appended. A URL
    /// with a path is used as it is, e.g. `http://vm:8428/api/v1/write`.
    #[arg(long, env = "PEEPER_SERVER_URL", global = true, value_name = "URL")]
    pub server: Option<String>,

    /// File holding the bearer token (the token itself never goes on the command line).
    #[arg(long, env = "PEEPER_TOKEN_FILE", global = true, value_name = "FILE")]
    pub token_file: Option<PathBuf>,

    /// Extra CA certificate(s), PEM, trusted besides the system roots.
    #[arg(long, env = "PEEPER_CA_FILE", global = true, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,

    /// This host's name, the `instance` label (default: the hostname).
    #[arg(long, env = "PEEPER_INSTANCE", global = true, value_name = "NAME")]
    pub instance: Option<String>,

    /// Collection interval, e.g. `15s`, `1m`.
    #[arg(long, env = "PEEPER_INTERVAL", value_name = "DURATION")]
    pub interval: Option<String>,

    /// Time one collector may take per cycle before it is abandoned for that cycle.
    #[arg(long, env = "PEEPER_COLLECT_TIMEOUT", value_name = "DURATION")]
    pub collect_timeout: Option<String>,

    /// Directory for unsent data.
    #[arg(long, env = "PEEPER_BUFFER_DIR", value_name = "DIR")]
    pub buffer_dir: Option<PathBuf>,

    /// Bound on unsent data held by the agent; the oldest is dropped (and counted) past it.
    #[arg(long, env = "PEEPER_BUFFER_MAX_BYTES", value_name = "BYTES")]
    pub buffer_max_bytes: Option<u64>,

    /// While a backlog drains: at most this many batches per second (default 20).
    #[arg(long, env = "PEEPER_DRAIN_RATE", value_name = "BATCHES")]
    pub drain_rate: Option<u32>,

    /// Transport to the server: `https` (Prometheus remote-write) or `grpc` (peeper.v1).
    #[arg(
        long,
        env = "PEEPER_TRANSPORT",
        global = true,
        value_name = "https|grpc",
        value_enum,
        ignore_case = true
    )]
    pub transport: Option<Transport>,

    /// Collect once and exit (with `--print`: print; otherwise push and exit non-zero on failure).
    #[arg(long)]
    pub once: bool,

    /// With `--once`: print the Prometheus text exposition to stdout instead of pushing.
    #[arg(long, requires = "once")]
    pub print: bool,

    /// Log format on stderr: `text` or `json`. The level comes from `PEEPER_LOG` (e.g. `debug`).
    #[arg(
        long,
        env = "PEEPER_LOG_FORMAT",
        value_name = "text|json",
        value_enum,
        default_value_t = LogFormat::Text
    )]
    pub log_format: LogFormat,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the effective configuration (secrets left out) and exit.
    ShowConfig,
    /// Check the effective configuration: each enabled collector's target answers and the
    /// server accepts the token; one line per item, exit non-zero on any failure.
    CheckConfig,
    /// Push one passive check result now (for cron scripts), with the agent's server and token.
    Status {
        /// The check's name (the `check` label): A-Z a-z 0-9 _ . : -
        name: String,
        /// OK or ERR.
        #[arg(value_enum)]
        state: CheckState,
        /// A short message (its first non-empty line kept, at most 200 characters).
        #[arg(long)]
        message: Option<String>,
        /// How often results are expected, e.g. `1h`: pushed as
        /// peeper_check_expected_interval_seconds so silence can raise an alert.
        #[arg(long, value_name = "DURATION")]
        expect_every: Option<String>,
    },
}

/// How the log lines on stderr are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// The state a passive check result reports (`peeper-agent status NAME OK|ERR`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CheckState {
    #[value(name = "OK", alias = "ok")]
    Ok,
    #[value(name = "ERR", alias = "err")]
    Err,
}

impl CheckState {
    /// As written on the command line's canonical form: `OK` or `ERR`.
    pub fn as_str(self) -> &'static str {
        match self {
            CheckState::Ok => "OK",
            CheckState::Err => "ERR",
        }
    }
}
