//! The command line: `peeper-server [flags]` serves; `peeper-server token ...` manages
//! tokens. Every flag has a `PEEPER_*` environment twin (clap resolves flag > env) and a key
//! in the config file (merged in [`crate::config`]). Flags are global, so
//! `peeper-server token create --tenant a --data-dir D` works.

use crate::admin::Admin;
use crate::config::{
    ConfigError, DEFAULT_DATA_DIR, FileConfig, ForwardMode, Overrides, ServerConfig,
};
use crate::forward::Forwarder;
use crate::liveness::{LivenessOverrides, StoreClient};
use crate::server::{self, ServerError};
use crate::tokens::{TokenError, TokenStore};
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

#[derive(Debug, Subcommand)]
pub enum CertsCommand {
    /// Write a new CA and a server certificate for HOST under DIR (ca/, dev/, crt/).
    Init {
        /// Directory to write into (created if missing).
        #[arg(long, default_value = "certs")]
        dir: PathBuf,
        /// The server's host name, as agents will connect to it.
        #[arg(long, default_value = "localhost")]
        host: String,
        /// An address agents may connect by (repeatable); loopback is always in.
        #[arg(long = "ip", value_name = "ADDRESS")]
        ips: Vec<std::net::IpAddr>,
    },
}

#[derive(Debug, Subcommand)]
pub enum AgentsCommand {
    /// Every agent with its last push, its age and its state (up or silent).
    List {
        /// Only this tenant's agents.
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Retire a decommissioned host: its silence alert resolves, and its checks are
    /// forgotten too. An agent that pushes again is tracked again.
    Forget { tenant: String, instance: String },
}

#[derive(Debug, Subcommand)]
pub enum ChecksCommand {
    /// Every passive check with its last result, its age and its state.
    List {
        /// Only this tenant's checks.
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Retire one check: its alerts resolve. A check that reports again is tracked again.
    Forget {
        tenant: String,
        instance: String,
        check: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token for a tenant and print it once on stdout.
    Create {
        /// Tenant name: 1 to 64 of A-Z a-z 0-9 _ . -
        #[arg(long)]
        tenant: String,
        /// Address or CIDR block the token may be used from (repeatable); none = anywhere.
        #[arg(long = "allow", value_name = "CIDR")]
        allow: Vec<String>,
        /// This token's ingestion rate in samples/s (0 = unlimited) instead of
        /// [limits] max_samples_per_second_per_token.
        #[arg(long = "rate-limit", value_name = "SAMPLES_PER_SEC")]
        rate_limit: Option<u64>,
    },
    /// List tokens: id, tenant, created, allow list (never the token or its hash).
    List,
    /// Revoke a token by id; running servers stop accepting it within a second.
    Revoke {
        /// The token's id, as `token list` shows it.
        id: String,
    },
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
            token_command(command, data_dir)
        }
        Some(Command::Certs(CertsCommand::Init { dir, host, ips })) => {
            let files = crate::devcert::init_with_ips(dir, host, ips)?;
            eprintln!(
                "wrote {}, {}, {} and {}",
                files.ca_cert.display(),
                files.server_cert.display(),
                files.server_key.display(),
                files.proxy_pem.display()
            );
            Ok(())
        }
        Some(Command::AlertmanagerConfig {
            templates,
            out,
            telegram,
            email,
        }) => {
            let env = |name: &str| std::env::var(name).ok();
            let force = crate::alerting::Force {
                telegram: *telegram,
                email: *email,
            };
            let text = crate::alerting::render(&env, templates, force)?;
            match out {
                Some(path) => crate::alerting::write_private(path, &text)?,
                None => print!("{text}"),
            }
            Ok(())
        }
        Some(Command::Agents(command)) => {
            let admin = admin(&cli, file)?;
            let out = runtime()?.block_on(async {
                match command {
                    AgentsCommand::List { tenant } => admin.list_agents(tenant.as_deref()).await,
                    AgentsCommand::Forget { tenant, instance } => {
                        let checks = admin.forget_agent(tenant, instance).await?;
                        Ok(format!(
                            "forgot agent {instance} of tenant {tenant} and its {checks} check(s); \
                             their alerts resolve at the next rule evaluation\n"
                        ))
                    }
                }
            })?;
            print!("{out}");
            Ok(())
        }
        Some(Command::Checks(command)) => {
            let admin = admin(&cli, file)?;
            let out = runtime()?.block_on(async {
                match command {
                    ChecksCommand::List { tenant } => admin.list_checks(tenant.as_deref()).await,
                    ChecksCommand::Forget {
                        tenant,
                        instance,
                        check,
                    } => {
                        admin.forget_check(tenant, instance, check).await?;
                        Ok(format!(
                            "forgot check {check} on {instance} of tenant {tenant}; its alerts \
                             resolve at the next rule evaluation\n"
                        ))
                    }
                }
            })?;
            print!("{out}");
            Ok(())
        }
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
            init_logging();
            serve(&cli, config)
        }
    }
}

/// The store access of the server's configuration, for commands that do not listen: the
/// transport settings (TLS or plaintext) are left out, everything else is validated.
fn admin(cli: &Cli, mut file: FileConfig) -> Result<Admin, CliError> {
    let mut over = cli.overrides();
    (over.tls_cert, over.tls_key, over.plaintext) = (None, None, true);
    (file.tls_cert, file.tls_key, file.plaintext) = (None, None, Some(true));
    let config = ServerConfig::from_sources(over, file)?;
    let forwarder = Forwarder::new(config.forward_timeout())
        .map_err(|e| CliError::Server(ServerError::Forward(e)))?;
    let client = StoreClient::new(
        config.liveness(),
        config.store(),
        config.forward_mode(),
        forwarder,
    );
    Ok(Admin::new(client, config.liveness().clone())?)
}

fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(CliError::Runtime)
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

/// Serves until SIGTERM/SIGINT; every SIGHUP reads the config file (and the TLS files) again.
fn serve(cli: &Cli, config: ServerConfig) -> Result<(), CliError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(CliError::Runtime)?;
    runtime.block_on(async {
        use tokio::signal::unix::{SignalKind, signal};
        let mut running = server::start(config).await?;
        let mut hangup = signal(SignalKind::hangup()).map_err(CliError::Runtime)?;
        let _ = sd_notify::notify(&[sd_notify::NotifyState::Ready]);
        let shutdown = server::shutdown_signal();
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                _ = &mut shutdown => break,
                _ = hangup.recv() => {
                    tracing::info!("SIGHUP: reading the configuration again");
                    let next = cli
                        .file()
                        .and_then(|file| ServerConfig::from_sources(cli.overrides(), file))
                        .map_err(|e| e.to_string());
                    running.reload(next);
                }
            }
        }
        let _ = sd_notify::notify(&[sd_notify::NotifyState::Stopping]);
        tracing::info!("signal received");
        running.shutdown().await;
        tracing::info!("stopped");
        Ok(())
    })
}

fn token_command(command: &TokenCommand, data_dir: PathBuf) -> Result<(), CliError> {
    let mut store = TokenStore::open(&data_dir)?;
    match command {
        TokenCommand::Create {
            tenant,
            allow,
            rate_limit,
        } => {
            let (id, token) = store.create_with(tenant, allow, *rate_limit)?;
            println!("{token}");
            eprintln!(
                "created token {id} for tenant {tenant} in {}; it is shown only now, store it \
                 in the agent's token file",
                store.path().display()
            );
        }
        TokenCommand::List => {
            println!(
                "{:<8}  {:<24}  {:<20}  {:<12}  ALLOW",
                "ID", "TENANT", "CREATED", "RATE"
            );
            for t in store.list() {
                let allow = if t.allow.is_empty() {
                    "any".to_owned()
                } else {
                    t.allow.join(",")
                };
                let rate = match t.rate_limit {
                    Some(0) => "unlimited".to_owned(),
                    Some(n) => format!("{n}/s"),
                    None => "default".to_owned(),
                };
                println!(
                    "{:<8}  {:<24}  {:<20}  {rate:<12}  {allow}",
                    t.id,
                    t.tenant,
                    format_utc(t.created)
                );
            }
        }
        TokenCommand::Revoke { id } => {
            let entry = store.revoke(id)?;
            eprintln!("revoked token {} of tenant {}", entry.id, entry.tenant);
        }
    }
    Ok(())
}

/// Unix seconds as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn format_utc(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's civil-from-days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
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
