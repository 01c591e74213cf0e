//! The server's configuration: the TOML file ([`FileConfig`]), the flags and their
//! `PEEPER_*` environment twins ([`Overrides`]) merged into [`ServerSettings`] with the
//! precedence flag > env > file > default, then validated into a [`ServerConfig`] before any
//! socket is opened.

mod limits;

pub use limits::Limits;

use crate::liveness::{LivenessConfig, LivenessFile, LivenessOverrides};
use crate::net::{self, Cidr, NetError, TrustedProxies};
use crate::store::{StoreError, StoreUrl, TenantConfig};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Default listen address (`--listen`).
pub const DEFAULT_LISTEN: &str = "0.0.0.0:8480";
/// Default address of the server's own `/metrics` (`--metrics-listen`): loopback only, since
/// it names tenants and their volumes.
pub const DEFAULT_METRICS_LISTEN: &str = "127.0.0.1:9480";
/// Default interval of the store flushes (`--store-flush-interval`).
pub const DEFAULT_STORE_FLUSH: Duration = Duration::from_secs(1);
/// How long a small batch may wait for others of its store URL to go in the same write,
/// while a crowd sends (ARCHITECTURE.md, "Server CPU per request"). Not longer: an agent
/// draining its queue among a crowd waits this long per batch.
pub const DEFAULT_STORE_BATCH_WINDOW: Duration = Duration::from_millis(300);
/// Async worker threads (`--worker-threads`): one, since a request's work is small and a
/// second worker mostly adds wake-ups (ARCHITECTURE.md, "Server CPU per request"); large
/// bodies are decoded on the blocking pool, one per core at once.
pub const DEFAULT_WORKER_THREADS: usize = 1;
/// Default store URL (`--remote-write-url`): a single-node VictoriaMetrics on this host.
pub const DEFAULT_REMOTE_WRITE_URL: &str = "http://127.0.0.1:8428/api/v1/write";
/// Default data directory (`--data-dir`), where `tokens.json` lives.
pub const DEFAULT_DATA_DIR: &str = "/var/lib/peeper-server";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    ReadFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path} is not valid: {message}")]
    ParseFile { path: PathBuf, message: String },
    #[error(
        "no transport security chosen: give both --tls-cert FILE and --tls-key FILE \
         (PEEPER_TLS_CERT, PEEPER_TLS_KEY) to serve HTTPS, or --plaintext (PEEPER_PLAINTEXT=true) \
         to serve plain HTTP behind a TLS-terminating proxy"
    )]
    NoTransport,
    #[error(
        "--plaintext conflicts with --tls-cert/--tls-key: choose HTTPS (both TLS files) or \
         plaintext, not both"
    )]
    PlaintextAndTls,
    #[error(
        "{given} was given without {missing}: HTTPS needs both the certificate chain and its key"
    )]
    HalfTls {
        given: &'static str,
        missing: &'static str,
    },
    #[error(
        "{setting} = {value:?} is not a socket address: write it like `0.0.0.0:8480` or `[::]:8480`"
    )]
    Listen {
        setting: &'static str,
        value: String,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("trusted_proxies (--trusted-proxy, PEEPER_TRUSTED_PROXIES): {0}")]
    TrustedProxy(NetError),
    #[error("forward_mode = {value:?} is not known: use `extra-label` or `rewrite`")]
    ForwardMode { value: String },
    #[error("limits.{setting} must be greater than 0")]
    ZeroLimit { setting: &'static str },
    #[error(
        "worker_threads (--worker-threads, PEEPER_WORKER_THREADS) = {value} is out of range: \
         use 1 to {MAX_WORKER_THREADS}, or leave it unset for {DEFAULT_WORKER_THREADS}"
    )]
    WorkerThreads { value: usize },
    #[error("{setting} = {value:?} is not a duration: write it like 90s, 5m or 1h")]
    Duration {
        setting: &'static str,
        value: String,
    },
    #[error(
        "liveness tracking needs to query the store, and its query URL cannot be derived from \
         remote_write_url ({store}): set query_url (--query-url, PEEPER_QUERY_URL), e.g. \
         http://vmselect:8481/select/{{accountID}}/prometheus/api/v1/query for a cluster, or \
         turn liveness off with `[liveness] enabled = false`"
    )]
    NoQueryUrl { store: String },
    #[error("query_url = {value:?}: {message}")]
    QueryUrl { value: String, message: String },
}

/// How the server hands a tenant's data to the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum ForwardMode {
    /// Forward the client's body unchanged to `<url>?extra_label=tenant=<tenant>`, letting
    /// VictoriaMetrics set (and override) the `tenant` label. Bodies carrying
    /// `vm_account_id`/`vm_project_id` labels are rewritten instead.
    #[default]
    ExtraLabel,
    /// Always decode, replace the tenant labels and re-encode: for stores that do not take
    /// `extra_label` (Prometheus, Mimir).
    Rewrite,
}

impl std::str::FromStr for ForwardMode {
    type Err = ConfigError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "extra-label" => Ok(ForwardMode::ExtraLabel),
            "rewrite" => Ok(ForwardMode::Rewrite),
            other => Err(ConfigError::ForwardMode {
                value: other.to_owned(),
            }),
        }
    }
}

/// The config file (`--config`, `PEEPER_CONFIG`). Keys mirror the flags.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// Address to listen on, e.g. `0.0.0.0:8480`.
    pub listen: Option<String>,
    /// Address of the server's own `/metrics` (default `127.0.0.1:9480`).
    pub metrics_listen: Option<String>,
    /// PEM certificate chain for HTTPS.
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for HTTPS.
    pub tls_key: Option<PathBuf>,
    /// Serve plain HTTP (behind a TLS-terminating proxy).
    pub plaintext: Option<bool>,
    /// The store's remote-write URL.
    pub remote_write_url: Option<String>,
    /// Where `tokens.json` lives.
    pub data_dir: Option<PathBuf>,
    /// `extra-label` (default) or `rewrite`.
    pub forward_mode: Option<ForwardMode>,
    /// Per-request limits.
    pub limits: Option<Limits>,
    /// Proxies whose `X-Forwarded-For` names the client (CIDR blocks), e.g. the HAProxy.
    pub trusted_proxies: Option<Vec<String>>,
    /// VictoriaMetrics cluster accounts by tenant (`[tenants.<name>] account_id = 42`),
    /// used when `remote_write_url` holds `{accountID}`.
    pub tenants: Option<BTreeMap<String, TenantConfig>>,
    /// Agents and checks that fall silent (`[liveness]`).
    pub liveness: Option<LivenessFile>,
    /// How often to ask VictoriaMetrics to flush fresh samples to disk while batches arrive
    /// (default `1s`; `0` = never).
    pub store_flush_interval: Option<String>,
    /// Threads running the async work (default: 1; read at start only).
    pub worker_threads: Option<usize>,
    /// How long a small batch may wait to share one write to the store with others
    /// (default `300ms`; `0` = every batch alone).
    pub store_batch_window: Option<String>,
}

impl FileConfig {
    /// Reads and parses a config file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::ReadFile {
            path: path.to_owned(),
            source,
        })?;
        toml::from_str(&text).map_err(|e| ConfigError::ParseFile {
            path: path.to_owned(),
            message: e.to_string(),
        })
    }
}

/// Settings given by flags or their environment twins (clap resolves flag > env); `None`
/// (or `false` for `plaintext`) falls through to the file, then to the default.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub listen: Option<String>,
    pub metrics_listen: Option<String>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub plaintext: bool,
    pub remote_write_url: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub forward_mode: Option<ForwardMode>,
    /// `--trusted-proxy` (repeatable) / `PEEPER_TRUSTED_PROXIES` (comma-separated); empty
    /// falls through to the file.
    pub trusted_proxies: Vec<String>,
    /// The `[liveness]` flags and env twins.
    pub liveness: LivenessOverrides,
    pub store_flush_interval: Option<String>,
    pub worker_threads: Option<usize>,
    pub store_batch_window: Option<String>,
}

/// The PEM files of the HTTPS listener.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsPaths {
    /// Certificate chain, leaf first.
    pub cert: PathBuf,
    /// The leaf's private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

/// Unvalidated settings; build one directly in tests, or with [`ServerSettings::merge`].
#[derive(Debug, Clone)]
pub struct ServerSettings {
    /// Address to listen on; port 0 picks a free port (see `RunningServer::local_addr`).
    pub listen: SocketAddr,
    /// HTTPS when `Some`, plaintext HTTP (h1 and h2c) when `None`.
    pub tls: Option<TlsPaths>,
    /// The store's remote-write URL, e.g. `http://127.0.0.1:8428/api/v1/write`.
    pub remote_write_url: String,
    /// Where `tokens.json` lives.
    pub data_dir: PathBuf,
    pub forward_mode: ForwardMode,
    pub limits: Limits,
}

impl ServerSettings {
    /// Merges flags/env over the file over the defaults.
    pub fn merge(over: Overrides, file: FileConfig) -> Result<Self, ConfigError> {
        let listen_text = over
            .listen
            .or(file.listen)
            .unwrap_or_else(|| DEFAULT_LISTEN.to_owned());
        let listen = listen_text.parse().map_err(|_| ConfigError::Listen {
            setting: "listen",
            value: listen_text,
        })?;
        let cert = over.tls_cert.or(file.tls_cert);
        let key = over.tls_key.or(file.tls_key);
        let plaintext = over.plaintext || file.plaintext.unwrap_or(false);
        let tls = match (cert, key, plaintext) {
            (Some(_), _, true) | (_, Some(_), true) => return Err(ConfigError::PlaintextAndTls),
            (Some(cert), Some(key), false) => Some(TlsPaths { cert, key }),
            (Some(_), None, false) => {
                return Err(ConfigError::HalfTls {
                    given: "--tls-cert",
                    missing: "--tls-key",
                });
            }
            (None, Some(_), false) => {
                return Err(ConfigError::HalfTls {
                    given: "--tls-key",
                    missing: "--tls-cert",
                });
            }
            (None, None, true) => None,
            (None, None, false) => return Err(ConfigError::NoTransport),
        };
        Ok(ServerSettings {
            listen,
            tls,
            remote_write_url: over
                .remote_write_url
                .or(file.remote_write_url)
                .unwrap_or_else(|| DEFAULT_REMOTE_WRITE_URL.to_owned()),
            data_dir: over
                .data_dir
                .or(file.data_dir)
                .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR)),
            forward_mode: over.forward_mode.or(file.forward_mode).unwrap_or_default(),
            limits: file.limits.unwrap_or_default(),
        })
    }
}

/// The validated configuration [`crate::start`] runs with.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub(crate) listen: SocketAddr,
    pub(crate) tls: Option<TlsPaths>,
    pub(crate) remote_write_url: String,
    pub(crate) store: StoreUrl,
    pub(crate) data_dir: PathBuf,
    pub(crate) forward_mode: ForwardMode,
    pub(crate) limits: Limits,
    pub(crate) trusted_proxies: TrustedProxies,
    pub(crate) liveness: LivenessConfig,
    pub(crate) metrics_listen: SocketAddr,
    /// `None`: never ask the store to flush.
    pub(crate) store_flush: Option<Duration>,
    pub(crate) worker_threads: usize,
    /// `None`: every batch goes to the store in a write of its own.
    pub(crate) store_batch_window: Option<Duration>,
}

impl ServerConfig {
    /// Validates `settings`. Files (TLS, tokens) are read by [`crate::start`]. Trusted
    /// proxies and cluster tenants are added with [`Self::with_trusted_proxies`] and
    /// [`Self::with_tenants`] (or all at once by [`Self::from_sources`]).
    pub fn try_new(settings: ServerSettings) -> Result<Self, ConfigError> {
        let store = StoreUrl::new(&settings.remote_write_url, &BTreeMap::new())?;
        settings.limits.validate()?;
        Ok(ServerConfig {
            listen: settings.listen,
            tls: settings.tls,
            remote_write_url: settings.remote_write_url,
            data_dir: settings.data_dir,
            forward_mode: settings.forward_mode,
            limits: settings.limits,
            trusted_proxies: TrustedProxies::default(),
            liveness: LivenessConfig::derived(&store),
            store,
            // Embedded (tests): any free loopback port, see `RunningServer::metrics_addr`.
            metrics_listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            store_flush: Some(DEFAULT_STORE_FLUSH),
            worker_threads: DEFAULT_WORKER_THREADS,
            store_batch_window: Some(DEFAULT_STORE_BATCH_WINDOW),
        })
    }

    /// Flags/env over the file over the defaults, validated: what `peeper-server` runs.
    pub fn from_sources(over: Overrides, file: FileConfig) -> Result<Self, ConfigError> {
        let proxies = if over.trusted_proxies.is_empty() {
            file.trusted_proxies.clone().unwrap_or_default()
        } else {
            over.trusted_proxies.clone()
        };
        let tenants = file.tenants.clone().unwrap_or_default();
        let proxies = net::parse_cidrs(&proxies).map_err(ConfigError::TrustedProxy)?;
        let liveness_over = over.liveness.clone();
        let liveness_file = file.liveness.clone();
        let metrics_text = over
            .metrics_listen
            .clone()
            .or(file.metrics_listen.clone())
            .unwrap_or_else(|| DEFAULT_METRICS_LISTEN.to_owned());
        let metrics_listen = metrics_text.parse().map_err(|_| ConfigError::Listen {
            setting: "metrics_listen",
            value: metrics_text,
        })?;
        let store_flush = optional_interval(
            "store_flush_interval (--store-flush-interval, PEEPER_STORE_FLUSH_INTERVAL)",
            over.store_flush_interval.clone(),
            file.store_flush_interval.clone(),
            DEFAULT_STORE_FLUSH,
        )?;
        let store_batch_window = optional_interval(
            "store_batch_window (--store-batch-window, PEEPER_STORE_BATCH_WINDOW)",
            over.store_batch_window.clone(),
            file.store_batch_window.clone(),
            DEFAULT_STORE_BATCH_WINDOW,
        )?;
        let worker_threads = over.worker_threads.or(file.worker_threads);
        if let Some(value) = worker_threads.filter(|n| !(1..=MAX_WORKER_THREADS).contains(n)) {
            return Err(ConfigError::WorkerThreads { value });
        }
        let config = Self::try_new(ServerSettings::merge(over, file)?)?
            .with_tenants(tenants.clone())?
            .with_trusted_proxies(proxies);
        let liveness = LivenessConfig::from_sources(
            &liveness_over,
            liveness_file.as_ref(),
            &config.store,
            &tenants,
        )?;
        let mut config = config
            .with_liveness(liveness)
            .with_metrics_listen(metrics_listen);
        config.store_flush = store_flush;
        config.store_batch_window = store_batch_window;
        config.worker_threads = worker_threads.unwrap_or(DEFAULT_WORKER_THREADS);
        Ok(config)
    }

    /// Where the server's own `/metrics` is served (plain HTTP, apart from the ingest port).
    pub fn with_metrics_listen(mut self, addr: SocketAddr) -> Self {
        self.metrics_listen = addr;
        self
    }

    /// Replaces the liveness settings (by default: on, with the query URL derived from a
    /// single-node store URL).
    pub fn with_liveness(mut self, liveness: LivenessConfig) -> Self {
        self.liveness = liveness;
        self
    }

    /// Believes `X-Forwarded-For` from peers in these blocks (see [`crate::net`]).
    pub fn with_trusted_proxies(mut self, blocks: Vec<Cidr>) -> Self {
        self.trusted_proxies = TrustedProxies::new(blocks);
        self
    }

    /// Maps tenants to VictoriaMetrics cluster accounts; needs a URL with `{accountID}`.
    pub fn with_tenants(
        mut self,
        tenants: BTreeMap<String, TenantConfig>,
    ) -> Result<Self, ConfigError> {
        self.store = StoreUrl::new(&self.remote_write_url, &tenants)?;
        self.liveness.query = LivenessConfig::derived(&self.store).query;
        Ok(self)
    }

    pub fn listen(&self) -> SocketAddr {
        self.listen
    }
    pub fn tls(&self) -> Option<&TlsPaths> {
        self.tls.as_ref()
    }
    /// The remote-write URL as configured (a cluster template keeps `{accountID}`).
    pub fn remote_write_url(&self) -> &str {
        &self.remote_write_url
    }
    pub fn store(&self) -> &StoreUrl {
        &self.store
    }
    pub fn trusted_proxies(&self) -> &TrustedProxies {
        &self.trusted_proxies
    }
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }
    pub fn forward_mode(&self) -> ForwardMode {
        self.forward_mode
    }
    pub fn limits(&self) -> &Limits {
        &self.limits
    }
    /// How often the store is asked to flush while batches arrive; `None`: never.
    pub fn store_flush(&self) -> Option<Duration> {
        self.store_flush
    }
    pub fn metrics_listen(&self) -> SocketAddr {
        self.metrics_listen
    }
    /// Async worker threads of `serve`.
    pub fn worker_threads(&self) -> usize {
        self.worker_threads
    }
    /// How long a small batch may wait to share a write; `None`: never.
    pub fn store_batch_window(&self) -> Option<Duration> {
        self.store_batch_window
    }
    /// Sets [`Self::store_batch_window`] (tests: `None` sends every batch alone).
    pub fn with_store_batch_window(mut self, window: Option<Duration>) -> Self {
        self.store_batch_window = window;
        self
    }
    pub fn liveness(&self) -> &LivenessConfig {
        &self.liveness
    }
    /// How long one forward to the store may take.
    pub fn forward_timeout(&self) -> Duration {
        Duration::from_secs(self.limits.forward_timeout_secs)
    }
}

/// The most worker threads accepted: far beyond any core count, below a typo's.
const MAX_WORKER_THREADS: usize = 1024;

/// A duration setting where `0` means "off": flag/env over the file over `default`.
fn optional_interval(
    setting: &'static str,
    over: Option<String>,
    file: Option<String>,
    default: Duration,
) -> Result<Option<Duration>, ConfigError> {
    let Some(text) = over.or(file) else {
        return Ok(Some(default));
    };
    let every = peeper_proto::duration::parse(&text).ok_or(ConfigError::Duration {
        setting,
        value: text,
    })?;
    Ok((!every.is_zero()).then_some(every))
}

#[cfg(test)]
mod tests;
