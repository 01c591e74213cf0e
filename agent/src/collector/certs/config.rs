//! Settings of the certificate-expiry collector and the endpoint syntax.
//!
//! An endpoint is written `host:port`, optionally followed by `@server_name` (the SNI name
//! to send and to check the certificate against) and optionally preceded by `smtp://` (speak
//! SMTP STARTTLS first) or `https://` (just stripped). The port defaults to 443. Ports 25
//! and 587 use SMTP STARTTLS unless the table form says `starttls = "none"`.

use crate::collector::{Collector, CollectorConfig};
use crate::settings::EnvOverlay;
use crate::settings::{ConfigDuration, ConfigError, EnvLookup};
use serde::Deserialize;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

const SETTING_ENDPOINTS: &str = "certs.endpoints (PEEPER_CERTS_ENDPOINTS)";

/// `[certs]` in the config file (its presence switches the collector on);
/// `PEEPER_CERTS_*` in the environment.
///
/// ```toml
/// [certs]
/// endpoints = [
///   "example.com:443",
///   "10.0.0.5:8443@intranet.example.com",
///   { host = "mail.example.com", port = 2525, starttls = "smtp" },
/// ]
/// endpoints_file = "/etc/peeper/cert-endpoints.txt"
/// files = ["/etc/letsencrypt/live/*/fullchain.pem", "/etc/ssl/private/"]
/// ca_file = "/etc/peeper/internal-ca.pem"
/// timeout = "5s"
/// concurrency = 16
/// ```
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct CertsConfig {
    /// Run the collector (default true when the `[certs]` table is present).
    pub enabled: bool,
    /// Remote TLS endpoints to check (`PEEPER_CERTS_ENDPOINTS`, comma-separated).
    pub endpoints: Vec<Endpoint>,
    /// A file with one endpoint per line, `#` starts a comment; re-read when it changes
    /// (`PEEPER_CERTS_ENDPOINTS_FILE`).
    pub endpoints_file: Option<PathBuf>,
    /// PEM files to read: paths, directories (every file in it) or patterns with `*` and
    /// `?` in any path component (`PEEPER_CERTS_FILES`, comma-separated).
    pub files: Vec<String>,
    /// Extra CA certificates (PEM) trusted besides the system roots (`PEEPER_CERTS_CA_FILE`).
    pub ca_file: Option<PathBuf>,
    /// The most one endpoint check may take, connect to handshake (default 5s; never more
    /// than the collector's cycle budget) (`PEEPER_CERTS_TIMEOUT`).
    pub timeout: ConfigDuration,
    /// How many endpoints are checked at once (default 16) (`PEEPER_CERTS_CONCURRENCY`).
    pub concurrency: usize,
    /// The longest wait between two tries of a failing endpoint (default 1h)
    /// (`PEEPER_CERTS_MAX_BACKOFF`).
    pub max_backoff: ConfigDuration,
    /// How often a healthy endpoint is checked again; between checks its last result is
    /// reported. Default 0: every cycle (`PEEPER_CERTS_CHECK_INTERVAL`).
    pub check_interval: ConfigDuration,
}

impl Default for CertsConfig {
    fn default() -> Self {
        CertsConfig {
            enabled: true,
            endpoints: Vec::new(),
            endpoints_file: None,
            files: Vec::new(),
            ca_file: None,
            timeout: ConfigDuration(Duration::from_secs(5)),
            concurrency: 16,
            max_backoff: ConfigDuration(Duration::from_secs(3600)),
            check_interval: ConfigDuration(Duration::ZERO),
        }
    }
}

impl CollectorConfig for CertsConfig {
    const SECTION: &'static str = "certs";
    type File = Self;

    /// The file's table (absent: off) with the environment over it, validated.
    fn resolve(file: Option<Self>, env: EnvLookup<'_>) -> Result<Self, ConfigError> {
        let mut config = file.unwrap_or(CertsConfig {
            enabled: false,
            ..Default::default()
        });
        let overlay = EnvOverlay::new(env);
        overlay.bool("PEEPER_CERTS_ENABLED", &mut config.enabled)?;
        overlay.path("PEEPER_CERTS_ENDPOINTS_FILE", &mut config.endpoints_file);
        overlay.path("PEEPER_CERTS_CA_FILE", &mut config.ca_file);
        let get = |name: &str| env(name).filter(|v| !v.trim().is_empty());
        if let Some(list) = get("PEEPER_CERTS_ENDPOINTS") {
            config.endpoints = split_list(&list)
                .map(|item| {
                    Endpoint::parse(item).map_err(|message| invalid(SETTING_ENDPOINTS, message))
                })
                .collect::<Result<_, _>>()?;
        }
        if let Some(list) = get("PEEPER_CERTS_FILES") {
            config.files = split_list(&list).map(str::to_owned).collect();
        }
        overlay.duration("PEEPER_CERTS_TIMEOUT", &mut config.timeout)?;
        overlay.duration("PEEPER_CERTS_MAX_BACKOFF", &mut config.max_backoff)?;
        overlay.duration("PEEPER_CERTS_CHECK_INTERVAL", &mut config.check_interval)?;
        overlay.number(
            "PEEPER_CERTS_CONCURRENCY",
            &mut config.concurrency,
            "a number of parallel checks, 1-256",
        )?;
        if config.enabled {
            config.validate()?;
        }
        Ok(config)
    }

    fn enabled(&self) -> bool {
        self.enabled
    }

    fn build(&self) -> Box<dyn Collector> {
        Box::new(super::CertsCollector::new(self))
    }
}

impl CertsConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        if self.endpoints.is_empty() && self.endpoints_file.is_none() && self.files.is_empty() {
            return Err(invalid(
                "certs",
                "the collector is on but watches nothing: set PEEPER_CERTS_ENDPOINTS=example.com:443, \
                 PEEPER_CERTS_ENDPOINTS_FILE or PEEPER_CERTS_FILES (or endpoints/files in [certs])"
                    .to_owned(),
            ));
        }
        if !(1..=256).contains(&self.concurrency) {
            return Err(invalid(
                "certs.concurrency (PEEPER_CERTS_CONCURRENCY)",
                format!("{} is out of range: use 1-256", self.concurrency),
            ));
        }
        if *self.timeout < Duration::from_millis(100) {
            return Err(invalid(
                "certs.timeout (PEEPER_CERTS_TIMEOUT)",
                format!("{} is too short: use at least 100ms, e.g. 5s", self.timeout),
            ));
        }
        if *self.max_backoff < Duration::from_secs(1) {
            return Err(invalid(
                "certs.max_backoff (PEEPER_CERTS_MAX_BACKOFF)",
                format!(
                    "{} is too short: use at least 1s, e.g. 1h",
                    self.max_backoff
                ),
            ));
        }
        if let Some(path) = &self.endpoints_file {
            let text = std::fs::read_to_string(path).map_err(|e| {
                invalid(
                    "certs.endpoints_file (PEEPER_CERTS_ENDPOINTS_FILE)",
                    format!(
                        "cannot read {}: {e}; create it with one host:port per line",
                        path.display()
                    ),
                )
            })?;
            if let Some((line, message)) = parse_endpoints_file(&text).1.into_iter().next() {
                return Err(invalid(
                    "certs.endpoints_file (PEEPER_CERTS_ENDPOINTS_FILE)",
                    format!("{} line {line}: {message}", path.display()),
                ));
            }
        }
        if let Some(path) = &self.ca_file {
            check_ca_file(path)?;
        }
        for pattern in &self.files {
            if pattern.trim().is_empty() {
                return Err(invalid(
                    "certs.files (PEEPER_CERTS_FILES)",
                    "an empty pattern".to_owned(),
                ));
            }
        }
        Ok(())
    }
}

/// The CA file must hold at least one PEM certificate.
fn check_ca_file(path: &Path) -> Result<(), ConfigError> {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;
    let setting = "certs.ca_file (PEEPER_CERTS_CA_FILE)";
    let bytes = std::fs::read(path)
        .map_err(|e| invalid(setting, format!("cannot read {}: {e}", path.display())))?;
    if CertificateDer::pem_slice_iter(&bytes)
        .flatten()
        .next()
        .is_none()
    {
        return Err(invalid(
            setting,
            format!(
                "{} holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
                path.display()
            ),
        ));
    }
    Ok(())
}

fn invalid(setting: &'static str, message: String) -> ConfigError {
    ConfigError::Invalid { setting, message }
}

fn split_list(list: &str) -> impl Iterator<Item = &str> {
    list.split([',', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// The endpoints of an endpoints file, and the (line number, problem) of each bad line.
pub fn parse_endpoints_file(text: &str) -> (Vec<Endpoint>, Vec<(usize, String)>) {
    let mut endpoints = Vec::new();
    let mut errors = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        match Endpoint::parse(line) {
            Ok(endpoint) => endpoints.push(endpoint),
            Err(message) => errors.push((i + 1, message)),
        }
    }
    (endpoints, errors)
}

/// Which protocol to speak before the TLS handshake.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "lowercase")]
pub enum StartTls {
    /// TLS from the first byte.
    None,
    /// SMTP: greeting, `EHLO`, `STARTTLS`.
    Smtp,
}

/// One remote endpoint to check.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq, Hash)]
#[serde(try_from = "EndpointSpec")]
pub struct Endpoint {
    pub host: String,
    pub port: u16,
    /// SNI name and the name the certificate must match (default: the host).
    pub server_name: Option<String>,
    /// Default: SMTP on ports 25 and 587, none elsewhere.
    pub starttls: Option<StartTls>,
}

/// An endpoint as written in the config file: a string or a table.
#[derive(Deserialize)]
#[serde(untagged)]
enum EndpointSpec {
    Text(String),
    Table(EndpointTable),
}

/// `{ host = "mail.example.com", port = 587, server_name = "...", starttls = "smtp" }`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EndpointTable {
    host: String,
    #[serde(default = "default_port")]
    port: u16,
    server_name: Option<String>,
    starttls: Option<StartTls>,
}

fn default_port() -> u16 {
    443
}

impl TryFrom<EndpointSpec> for Endpoint {
    type Error = String;
    fn try_from(spec: EndpointSpec) -> Result<Self, String> {
        match spec {
            EndpointSpec::Text(text) => Endpoint::parse(&text),
            EndpointSpec::Table(t) => {
                let mut endpoint = Endpoint::parse(&format_host_port(&t.host, t.port))?;
                if let Some(name) = t.server_name.filter(|n| !n.trim().is_empty()) {
                    endpoint.server_name = Some(check_name(name.trim())?.to_owned());
                }
                endpoint.starttls = t.starttls.or(endpoint.starttls);
                Ok(endpoint)
            }
        }
    }
}

fn format_host_port(host: &str, port: u16) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

fn check_name(name: &str) -> Result<&str, String> {
    if name.is_empty()
        || name
            .chars()
            .any(|c| c.is_whitespace() || "/@#,".contains(c))
    {
        return Err(format!("{name:?} is not a host name"));
    }
    Ok(name)
}

impl Endpoint {
    /// Parses `[smtp://|https://]host[:port][@server_name]`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let original = text;
        let fail = |why: &str| {
            Err(format!(
                "{original:?} is not an endpoint ({why}): write host:port, e.g. example.com:443, \
                 10.0.0.5:443@example.com or smtp://mail.example.com:587"
            ))
        };
        let mut text = text.trim();
        let mut starttls = None;
        if let Some(rest) = text.strip_prefix("smtp://") {
            starttls = Some(StartTls::Smtp);
            text = rest;
        } else if let Some(rest) = text.strip_prefix("https://") {
            text = rest.split('/').next().unwrap_or("");
        } else if text.contains("://") {
            return fail("only smtp:// and https:// are understood");
        }
        let (address, server_name) = match text.rsplit_once('@') {
            Some((address, name)) => match check_name(name.trim()) {
                Ok(name) => (address.trim(), Some(name.to_owned())),
                Err(_) => return fail("bad name after @"),
            },
            None => (text, None),
        };
        let (host, port) = if let Some(rest) = address.strip_prefix('[') {
            let Some((host, rest)) = rest.split_once(']') else {
                return fail("missing ]");
            };
            match rest.strip_prefix(':') {
                Some(port) => (host, Some(port)),
                None if rest.is_empty() => (host, None),
                None => return fail("junk after ]"),
            }
        } else {
            match address.split_once(':') {
                Some((host, port)) if !port.contains(':') => (host, Some(port)),
                Some(_) => (address, None), // a bare IPv6 address
                None => (address, None),
            }
        };
        if check_name(host).is_err() {
            return fail("bad host");
        }
        let port = match port {
            None => 443,
            Some(port) => match port.trim().parse::<u16>() {
                Ok(p) if p > 0 => p,
                _ => return fail("the port must be 1-65535"),
            },
        };
        Ok(Endpoint {
            host: host.to_owned(),
            port,
            server_name,
            starttls,
        })
    }

    /// The name sent as SNI and checked against the certificate.
    pub fn server_name(&self) -> &str {
        self.server_name.as_deref().unwrap_or(&self.host)
    }

    /// The protocol spoken before TLS.
    pub fn starttls(&self) -> StartTls {
        self.starttls.unwrap_or(match self.port {
            25 | 587 => StartTls::Smtp,
            _ => StartTls::None,
        })
    }
}

/// The `target` label: `host:port`, with `@server_name` when that differs from the host.
impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_host_port(&self.host, self.port))?;
        match &self.server_name {
            Some(name) if *name != self.host => write!(f, "@{name}"),
            _ => Ok(()),
        }
    }
}
