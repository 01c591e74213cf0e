//! The command line: `peeper-server [flags]` serves (`serve.rs`); `peeper-server token ...`
//! manages tokens (`token.rs`), `agents` and `checks` what liveness tracks (`liveness.rs`),
//! `certs init` and `alertmanager-config` write an installation's files (`generate.rs`). Every flag has a `PEEPER_*` environment twin (clap resolves flag > env) and a key
//! in the config file (merged in [`crate::config`]). Flags are global, so
//! `peeper-server token create --tenant a --data-dir D` works.

mod generate;
mod liveness;
mod serve;
mod token;

pub use generate::CertsCommand;
pub use liveness::{AgentsCommand, ChecksCommand};
pub use token::{TokenCommand, format_utc};

use crate::config::{
    ConfigError, DEFAULT_DATA_DIR, FileConfig, ForwardMode, Overrides, ServerConfig,
};
use crate::liveness::LivenessOverrides;
use crate::server::ServerError;
use crate::tokens::TokenError;
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(
    name = "peeper-server",
    version,
    about = "Peeper's ingest server: authenticates agents by token, enforces tenants and limits, \
             forwards remote-write to VictoriaMetrics"
)]
pub struct Cli {
    /// TOML config file; its keys mirror the flags, plus a [limits] table.
    #[arg(long, env = "PEEPER_CONFIG", value_name = "FILE", global = true)]
    pub config: Option<PathBuf>,
    /// Address to listen on [default: 0.0.0.0:8480].
    #[arg(long, env = "PEEPER_LISTEN", value_name = "ADDR", global = true)]
    pub listen: Option<String>,
    /// Address of the server's own /metrics, plain HTTP [default: 127.0.0.1:9480]; keep it
    /// off public networks: it names tenants and their volumes.
    #[arg(
        long,
        env = "PEEPER_METRICS_LISTEN",
        value_name = "ADDR",
        global = true
    )]
    pub metrics_listen: Option<String>,
    /// PEM certificate chain for HTTPS (with --tls-key).
    #[arg(long, env = "PEEPER_TLS_CERT", value_name = "FILE", global = true)]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for HTTPS (with --tls-cert).
    #[arg(long, env = "PEEPER_TLS_KEY", value_name = "FILE", global = true)]
    pub tls_key: Option<PathBuf>,
    /// Serve plain HTTP (h1 and h2c), for use behind a TLS-terminating proxy.
    #[arg(long, env = "PEEPER_PLAINTEXT", global = true)]
    pub plaintext: bool,
    /// The store's remote-write URL [default: http://127.0.0.1:8428/api/v1/write].
    #[arg(
        long,
        env = "PEEPER_REMOTE_WRITE_URL",
        value_name = "URL",
        global = true
    )]
    pub remote_write_url: Option<String>,
    /// Directory holding tokens.json [default: /var/lib/peeper-server].
    #[arg(long, env = "PEEPER_DATA_DIR", value_name = "DIR", global = true)]
    pub data_dir: Option<PathBuf>,
    /// How the tenant reaches the store [default: extra-label].
    #[arg(long, env = "PEEPER_FORWARD_MODE", value_enum, global = true)]
    pub forward_mode: Option<ForwardMode>,
    /// A proxy (address or CIDR block) whose X-Forwarded-For names the client, e.g. the
    /// HAProxy in front (repeatable; the env twin is comma-separated).
    #[arg(
        long = "trusted-proxy",
        env = "PEEPER_TRUSTED_PROXIES",
        value_name = "CIDR",
        value_delimiter = ',',
        global = true
    )]
    pub trusted_proxies: Vec<String>,
    /// Silence after which an agent counts as down [default: 3 × its interval, at least 1m].
    #[arg(
        long,
        env = "PEEPER_AGENT_SILENT_AFTER",
        value_name = "DURATION",
        global = true
    )]
    pub agent_silent_after: Option<String>,
    /// How late a check pushed with --expect-every may be [default: 20 % of its interval,
    /// at least 1m].
    #[arg(
        long,
        env = "PEEPER_CHECK_PATIENCE",
        value_name = "DURATION",
        global = true
    )]
    pub check_patience: Option<String>,
    /// How often VictoriaMetrics is asked to flush fresh samples to disk while batches
    /// arrive, shortening what a store crash can lose [default: 1s; 0 = never].
    #[arg(
        long,
        env = "PEEPER_STORE_FLUSH_INTERVAL",
        value_name = "DURATION",
        global = true
    )]
    pub store_flush_interval: Option<String>,
    /// Threads running the async work; large bodies are decoded on a pool of their own
    /// [default: 1; read at start only].
    #[arg(long, env = "PEEPER_WORKER_THREADS", value_name = "N", global = true)]
    pub worker_threads: Option<usize>,
    /// How long a small batch may wait for others going to the same store URL, to share
    /// one write with them, while many agents send (a lone sender never waits); each agent
    /// is still answered only after the store took its data [default: 300ms; 0 = every batch
    /// alone].
    #[arg(
        long,
        env = "PEEPER_STORE_BATCH_WINDOW",
        value_name = "DURATION",
        global = true
    )]
    pub store_batch_window: Option<String>,
    /// How often liveness state is synced with the store [default: 15s].
    #[arg(
        long,
        env = "PEEPER_LIVENESS_INTERVAL",
        value_name = "DURATION",
        global = true
    )]
    pub liveness_interval: Option<String>,
    /// The store's instant-query URL [default: remote_write_url with /api/v1/query].
    #[arg(long, env = "PEEPER_QUERY_URL", value_name = "URL", global = true)]
    pub query_url: Option<String>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create, list or revoke agent tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Agents known to liveness tracking: list them, or forget a decommissioned host.
    #[command(subcommand)]
    Agents(AgentsCommand),
    /// Passive checks known to liveness tracking: list them, or forget one.
    #[command(subcommand)]
    Checks(ChecksCommand),
    /// Print (or write, mode 0600) the Alertmanager configuration rendered from the
    /// TELEGRAM_*, EMAIL_* and PEEPER_ALERT_* variables of the env files.
    AlertmanagerConfig {
        /// Directory of the notification templates (*.tmpl).
        #[arg(
            long,
            value_name = "DIR",
            default_value = "compose/alertmanager/templates"
        )]
        templates: PathBuf,
        /// Write here (readable by the owner only: it holds secrets) instead of stdout.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Turn Telegram on whatever TELEGRAM_ENABLED says (setup.sh --telegram).
        #[arg(long)]
        telegram: bool,
        /// Turn e-mail on whatever EMAIL_ENABLED says (setup.sh --email).
        #[arg(long)]
        email: bool,
    },
    /// Development certificates (a private CA and a server certificate).
    #[command(subcommand)]
    Certs(CertsCommand),
    /// Check the effective configuration: TLS files, token file, and that the store accepts
    /// writes; one line per item, exit non-zero on any failure.
    CheckConfig,
}

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Token(#[from] TokenError),
    #[error(transparent)]
    Server(#[from] ServerError),
    #[error(transparent)]
    Certs(#[from] crate::devcert::DevCertError),
    #[error(transparent)]
    Admin(#[from] crate::admin::AdminError),
    #[error(transparent)]
    Alerting(#[from] crate::alerting::AlertingError),
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
    #[error("the configuration check failed (the FAIL lines above say what to fix)")]
    Check,
}

impl Cli {
    fn overrides(&self) -> Overrides {
        Overrides {
            listen: self.listen.clone(),
            metrics_listen: self.metrics_listen.clone(),
            store_flush_interval: self.store_flush_interval.clone(),
            worker_threads: self.worker_threads,
            store_batch_window: self.store_batch_window.clone(),
            tls_cert: self.tls_cert.clone(),
            tls_key: self.tls_key.clone(),
            plaintext: self.plaintext,
            remote_write_url: self.remote_write_url.clone(),
            data_dir: self.data_dir.clone(),
            forward_mode: self.forward_mode,
            trusted_proxies: self.trusted_proxies.clone(),
            liveness: LivenessOverrides {
                agent_silent_after: self.agent_silent_after.clone(),
                check_patience: self.check_patience.clone(),
                sync_interval: self.liveness_interval.clone(),
                query_url: self.query_url.clone(),
            },
        }
    }

    fn file(&self) -> Result<FileConfig, ConfigError> {
        match &self.config {
            Some(path) => FileConfig::load(path),
            None => Ok(FileConfig::default()),
        }
    }
}

/// Runs the parsed command line; errors are printed as one line on stderr.
pub fn run(cli: Cli) -> ExitCode {
    match dispatch(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("peeper-server: error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn dispatch(cli: Cli) -> Result<(), CliError> {
    let file = cli.file()?;
    match &cli.command {
        Some(Command::Token(command)) => {
            let data_dir = cli
                .data_dir
                .clone()
                .or(file.data_dir)
                .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR));
            token::run(command, data_dir)
        }
        Some(Command::Certs(command)) => generate::certs(command),
        Some(Command::AlertmanagerConfig {
            templates,
            out,
            telegram,
            email,
        }) => generate::alertmanager_config(templates, out.as_deref(), *telegram, *email),
        Some(Command::Agents(command)) => liveness::agents(&cli, file, command),
        Some(Command::Checks(command)) => liveness::checks(&cli, file, command),
        Some(Command::CheckConfig) => {
            let config = ServerConfig::from_sources(cli.overrides(), file)?;
            if runtime()?.block_on(crate::checkconfig::check(&config)) {
                Ok(())
            } else {
                Err(CliError::Check)
            }
        }
        None => {
            let config = ServerConfig::from_sources(cli.overrides(), file)?;
            serve::init_logging();
            serve::serve(&cli, config)
        }
    }
}

/// The single-threaded runtime of the commands that do not serve.
fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(CliError::Runtime)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_dates() {
        assert_eq!(format_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_utc(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(format_utc(951_782_400), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn global_flags_reach_subcommands() {
        let cli = Cli::try_parse_from([
            "peeper-server",
            "token",
            "create",
            "--tenant",
            "a",
            "--data-dir",
            "/d",
            "--allow",
            "10.0.0.0/8",
            "--allow",
            "::1",
        ])
        .unwrap();
        assert_eq!(cli.data_dir, Some(PathBuf::from("/d")));
        match cli.command {
            Some(Command::Token(TokenCommand::Create { tenant, allow, .. })) => {
                assert_eq!(tenant, "a");
                assert_eq!(allow, ["10.0.0.0/8", "::1"]);
            }
            other => panic!("{other:?}"),
        }
        let cli =
            Cli::try_parse_from(["peeper-server", "--forward-mode", "rewrite", "--plaintext"])
                .unwrap();
        assert_eq!(cli.forward_mode, Some(ForwardMode::Rewrite));
        assert!(cli.plaintext);
        assert!(Cli::try_parse_from(["peeper-server", "--forward-mode", "x"]).is_err());
        let cli = Cli::try_parse_from([
            "peeper-server",
            "--trusted-proxy",
            "127.0.0.2/32,10.0.0.0/8",
            "--trusted-proxy",
            "::1",
            "token",
            "create",
            "--tenant",
            "a",
            "--rate-limit",
            "500",
        ])
        .unwrap();
        assert_eq!(cli.trusted_proxies, ["127.0.0.2/32", "10.0.0.0/8", "::1"]);
        assert!(matches!(
            cli.command,
            Some(Command::Token(TokenCommand::Create {
                rate_limit: Some(500),
                ..
            }))
        ));
    }
}
