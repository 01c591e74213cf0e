//! Settings of the probes collector: the `[probes]` table, its `PEEPER_PROBES_*` twins and
//! the modules (blackbox_exporter's well-known ones, plus any defined in the file).

use crate::collector::{Collector, CollectorConfig};
use crate::settings::EnvOverlay;
use crate::settings::{ConfigDuration, ConfigError, EnvLookup};
use peeper_proto::duration::parse as parse_duration;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// The modules every agent knows, as blackbox_exporter's example configuration names them.
pub const BUILTIN_MODULES: [&str; 7] = [
    "http_2xx",
    "http_2xx_custom_ca",
    "http_2xx_tls_strict",
    "http_tls_expiry",
    "http_post_json_2xx",
    "tcp_connect",
    "icmp",
];

/// `[probes]` in the config file (its presence switches the collector on);
/// `PEEPER_PROBES_ENABLED`, `PEEPER_PROBES_DIR`, `PEEPER_PROBES_TIMEOUT`,
/// `PEEPER_PROBES_CONCURRENCY`, `PEEPER_PROBES_CA_FILE` in the environment.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ProbesTable {
    pub enabled: bool,
    /// Directory holding the target files `blackbox_*.yaml` (re-read when they change).
    pub dir: PathBuf,
    /// Time one probe may take (`5s`); a module's own `timeout` overrides it. Probes are
    /// also cut short so the whole cycle ends by the scheduler's deadline.
    pub timeout: ConfigDuration,
    /// How many probes run at the same time.
    pub concurrency: usize,
    /// CA certificate(s), PEM, trusted by `http_2xx_custom_ca` (e.g. `certs/ca/ca.crt`).
    pub ca_file: Option<PathBuf>,
    /// Module used by a group that names none.
    pub default_module: String,
    /// Modules defined or adjusted here: `[probes.modules.NAME]`. A built-in name starts
    /// from the built-in module; any other name starts from a plain `http` probe.
    pub modules: BTreeMap<String, ModuleConfig>,
}

impl Default for ProbesTable {
    fn default() -> Self {
        ProbesTable {
            enabled: true,
            dir: PathBuf::from("/etc/peeper/probes"),
            timeout: ConfigDuration(Duration::from_secs(5)),
            concurrency: 16,
            ca_file: None,
            default_module: "http_2xx".to_owned(),
            modules: BTreeMap::new(),
        }
    }
}

/// The probes collector's validated settings.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbesConfig {
    pub enabled: bool,
    pub dir: PathBuf,
    pub concurrency: usize,
    pub default_module: String,
    /// Every module by name: the built-in ones and the file's.
    pub modules: BTreeMap<String, Module>,
}

/// One module in `[probes.modules.NAME]`; every key is optional.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ModuleConfig {
    /// `http`, `tcp` or `icmp` (default `http`, or the built-in module's).
    pub prober: Option<String>,
    /// Time this module's probes may take, e.g. `3s`.
    pub timeout: Option<String>,
    /// HTTP method (default `GET`).
    pub method: Option<String>,
    /// Request headers.
    pub headers: Option<BTreeMap<String, String>>,
    /// Request body, sent as it is.
    pub body: Option<String>,
    /// Status codes that count as success (default: any 2xx).
    pub valid_status_codes: Option<Vec<u16>>,
    /// CA certificate(s), PEM, trusted besides the system roots.
    pub ca_file: Option<PathBuf>,
    /// Accept any certificate (the chain is still reported).
    pub insecure: Option<bool>,
    /// Follow up to 10 redirects (default true).
    pub follow_redirects: Option<bool>,
    /// Fail unless the final answer came over TLS.
    pub fail_if_not_ssl: Option<bool>,
    /// Fail if the final answer came over TLS.
    pub fail_if_ssl: Option<bool>,
    /// Fail unless the body contains each of these strings.
    pub fail_if_body_not_contains: Option<Vec<String>>,
    /// Fail if the body contains any of these strings.
    pub fail_if_body_contains: Option<Vec<String>>,
    /// `tcp`: do a TLS handshake after connecting and report the certificate chain.
    pub tls: Option<bool>,
    /// `ip4` or `ip6`: the address family tried first (default `ip4`).
    pub preferred_ip_protocol: Option<String>,
    /// Use the other family when the preferred one has no address (default true).
    pub ip_protocol_fallback: Option<bool>,
}

/// How a module probes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prober {
    Http,
    Tcp,
    Icmp,
}

/// The address family a module prefers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IpProtocol {
    V4,
    V6,
}

/// A validated module.
#[derive(Debug, Clone, PartialEq)]
pub struct Module {
    pub name: String,
    pub prober: Prober,
    pub timeout: Duration,
    pub method: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
    pub valid_status_codes: Vec<u16>,
    pub ca_file: Option<PathBuf>,
    /// `http_2xx_custom_ca` without a CA file: the probe fails with this hint.
    pub needs_ca_file: bool,
    pub insecure: bool,
    pub follow_redirects: bool,
    pub fail_if_not_ssl: bool,
    pub fail_if_ssl: bool,
    pub fail_if_body_not_contains: Vec<String>,
    pub fail_if_body_contains: Vec<String>,
    pub tls: bool,
    /// Port used when a `tcp` target names none (443 for `http_tls_expiry`).
    pub default_port: Option<u16>,
    pub ip_protocol: IpProtocol,
    pub ip_protocol_fallback: bool,
}

impl Module {
    fn base(name: &str, prober: Prober, timeout: Duration) -> Self {
        Module {
            name: name.to_owned(),
            prober,
            timeout,
            method: "GET".to_owned(),
            headers: Vec::new(),
            body: None,
            valid_status_codes: Vec::new(),
            ca_file: None,
            needs_ca_file: false,
            insecure: false,
            follow_redirects: true,
            fail_if_not_ssl: false,
            fail_if_ssl: false,
            fail_if_body_not_contains: Vec::new(),
            fail_if_body_contains: Vec::new(),
            tls: false,
            default_port: None,
            ip_protocol: IpProtocol::V4,
            ip_protocol_fallback: true,
        }
    }

    /// The built-in module `name`, if there is one.
    fn builtin(name: &str, timeout: Duration, ca_file: Option<&PathBuf>) -> Option<Self> {
        let module = match name {
            "http_2xx" => Module::base(name, Prober::Http, timeout),
            "http_2xx_custom_ca" => Module {
                ca_file: ca_file.cloned(),
                needs_ca_file: true,
                ..Module::base(name, Prober::Http, timeout)
            },
            "http_2xx_tls_strict" => Module {
                fail_if_not_ssl: true,
                ..Module::base(name, Prober::Http, timeout)
            },
            // A handshake only: the chain is reported even when it does not verify, so an
            // expired or privately signed certificate still shows its dates.
            "http_tls_expiry" => Module {
                tls: true,
                insecure: true,
                default_port: Some(443),
                ..Module::base(name, Prober::Tcp, timeout)
            },
            "http_post_json_2xx" => Module {
                method: "POST".to_owned(),
                headers: vec![("Content-Type".to_owned(), "application/json".to_owned())],
                body: Some("{}".to_owned()),
                ..Module::base(name, Prober::Http, timeout)
            },
            "tcp_connect" => Module::base(name, Prober::Tcp, timeout),
            "icmp" => Module::base(name, Prober::Icmp, timeout),
            _ => return None,
        };
        Some(module)
    }

    /// `table` over the built-in module of the same name (or a plain `http` one).
    fn from_config(
        name: &str,
        table: &ModuleConfig,
        timeout: Duration,
        ca_file: Option<&PathBuf>,
    ) -> Result<Self, String> {
        let mut m = Module::builtin(name, timeout, ca_file)
            .unwrap_or_else(|| Module::base(name, Prober::Http, timeout));
        if let Some(prober) = &table.prober {
            m.prober = match prober.trim() {
                "http" => Prober::Http,
                "tcp" => Prober::Tcp,
                "icmp" => Prober::Icmp,
                other => {
                    return Err(format!(
                        "prober {other:?} is not known: use http, tcp or icmp"
                    ));
                }
            };
        }
        if let Some(t) = &table.timeout {
            m.timeout = parse_duration(t)
                .filter(|d| !d.is_zero())
                .ok_or_else(|| format!("timeout {t:?} is not a duration like `5s` or `500ms`"))?;
        }
        if let Some(method) = &table.method {
            let method = method.trim().to_ascii_uppercase();
            if method.is_empty() || !method.bytes().all(|b| b.is_ascii_alphabetic()) {
                return Err(format!("method {method:?} is not an HTTP method"));
            }
            m.method = method;
        }
        if let Some(headers) = &table.headers {
            for (k, v) in headers {
                if reqwest::header::HeaderName::from_bytes(k.as_bytes()).is_err()
                    || reqwest::header::HeaderValue::from_str(v).is_err()
                {
                    return Err(format!("header {k:?}: {v:?} is not a valid HTTP header"));
                }
                m.headers.retain(|(old, _)| !old.eq_ignore_ascii_case(k));
                m.headers.push((k.clone(), v.clone()));
            }
        }
        if table.body.is_some() {
            m.body = table.body.clone();
        }
        if let Some(codes) = &table.valid_status_codes {
            if let Some(bad) = codes.iter().find(|c| !(100..=599).contains(*c)) {
                return Err(format!("valid_status_codes: {bad} is not an HTTP status"));
            }
            m.valid_status_codes = codes.clone();
        }
        if table.ca_file.is_some() {
            m.ca_file = table.ca_file.clone();
        }
        let flags = [
            (&table.insecure, &mut m.insecure),
            (&table.follow_redirects, &mut m.follow_redirects),
            (&table.fail_if_not_ssl, &mut m.fail_if_not_ssl),
            (&table.fail_if_ssl, &mut m.fail_if_ssl),
            (&table.tls, &mut m.tls),
            (&table.ip_protocol_fallback, &mut m.ip_protocol_fallback),
        ];
        for (from, to) in flags {
            if let Some(value) = from {
                *to = *value;
            }
        }
        if let Some(list) = &table.fail_if_body_not_contains {
            m.fail_if_body_not_contains = list.clone();
        }
        if let Some(list) = &table.fail_if_body_contains {
            m.fail_if_body_contains = list.clone();
        }
        if let Some(p) = &table.preferred_ip_protocol {
            m.ip_protocol = match p.trim() {
                "ip4" => IpProtocol::V4,
                "ip6" => IpProtocol::V6,
                other => return Err(format!("preferred_ip_protocol {other:?}: use ip4 or ip6")),
            };
        }
        Ok(m)
    }
}

impl CollectorConfig for ProbesConfig {
    const SECTION: &'static str = "probes";
    type File = ProbesTable;

    /// The file's table (absent: off) with the environment over it, validated.
    fn resolve(file: Option<ProbesTable>, env: EnvLookup<'_>) -> Result<Self, ConfigError> {
        let mut table = file.unwrap_or(ProbesTable {
            enabled: false,
            ..Default::default()
        });
        let overlay = EnvOverlay::new(env);
        overlay.bool("PEEPER_PROBES_ENABLED", &mut table.enabled)?;
        overlay.required_path("PEEPER_PROBES_DIR", &mut table.dir);
        overlay.duration("PEEPER_PROBES_TIMEOUT", &mut table.timeout)?;
        overlay.path("PEEPER_PROBES_CA_FILE", &mut table.ca_file);
        overlay.number(
            "PEEPER_PROBES_CONCURRENCY",
            &mut table.concurrency,
            "a number of probes run at once, 1-1024",
        )?;
        if !(1..=1024).contains(&table.concurrency) {
            return Err(ConfigError::Invalid {
                setting: "probes.concurrency (PEEPER_PROBES_CONCURRENCY)",
                message: format!("{} must be between 1 and 1024", table.concurrency),
            });
        }
        if table.timeout.is_zero() {
            return Err(ConfigError::invalid(
                "probes.timeout (PEEPER_PROBES_TIMEOUT)",
                "a probe needs more than no time: use e.g. 5s",
            ));
        }
        let modules = modules(&table)?;
        if !modules.contains_key(&table.default_module) {
            return Err(ConfigError::Invalid {
                setting: "probes.default_module",
                message: format!(
                    "{:?} is not a module; known: {}",
                    table.default_module,
                    modules.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
            });
        }
        Ok(ProbesConfig {
            enabled: table.enabled,
            dir: table.dir,
            concurrency: table.concurrency,
            default_module: table.default_module,
            modules,
        })
    }

    fn enabled(&self) -> bool {
        self.enabled
    }

    fn build(&self) -> Box<dyn Collector> {
        Box::new(super::ProbesCollector::new(self))
    }
}

/// The built-in modules and the file's, validated.
fn modules(table: &ProbesTable) -> Result<BTreeMap<String, Module>, ConfigError> {
    let (timeout, ca_file) = (*table.timeout, table.ca_file.as_ref());
    let mut modules = BTreeMap::new();
    for name in BUILTIN_MODULES {
        if let Some(module) = Module::builtin(name, timeout, ca_file) {
            modules.insert(name.to_owned(), module);
        }
    }
    for (name, config) in &table.modules {
        let module = Module::from_config(name, config, timeout, ca_file).map_err(|message| {
            ConfigError::Invalid {
                setting: "probes.modules",
                message: format!("module {name:?}: {message}"),
            }
        })?;
        modules.insert(name.clone(), module);
    }
    Ok(modules)
}
