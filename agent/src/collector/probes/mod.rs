//! The probes collector: blackbox-style checks of sites, ports and hosts listed in
//! `blackbox_*.yaml` files, reported with blackbox_exporter's names (`probe_success`,
//! `probe_duration_seconds`, `probe_http_status_code`, `probe_ssl_earliest_cert_expiry`, ...).
//!
//! Every series carries its group's labels plus `target` and `module` (blackbox_exporter's
//! `instance` is the target; here `instance` is this host). Probes run concurrently up to
//! `concurrency`, each within its module's timeout, and the whole cycle by the deadline the
//! scheduler gives it: a probe cut short reports `probe_success 0`. A
//! failing target's cause is logged once, its recovery once.

pub mod config;
mod http;
mod icmp;
mod net;
pub mod samples;
pub mod targets;
mod tcp;
mod tls;

#[cfg(test)]
mod tests;

pub use config::{Module, ModuleConfig, ProbesConfig, ProbesTable};
pub use targets::{ProbeTarget, TargetFiles};

use super::{CollectError, CollectFuture, Collector, Cycle};
use config::Prober;
use peeper_proto::MetricFamily;
use peeper_proto::failures::FailureStreaks;
use samples::{Samples, names};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// Why a probe failed, or a target file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ProbesError {
    #[error(
        "cannot list the probe target directory {dir}: {message}; create it and put blackbox_*.yaml files in it, or set PEEPER_PROBES_DIR"
    )]
    TargetDir { dir: String, message: String },
    #[error("probe target file {file}: {message}")]
    TargetFile { file: String, message: String },
    #[error("target {target:?}: {reason}")]
    Target { target: String, reason: String },
    #[error("cannot resolve {host}: {message}")]
    Resolve { host: String, message: String },
    #[error("cannot connect to {addr}: {message}")]
    Connect { addr: String, message: String },
    #[error("TLS handshake with {addr} failed: {message}")]
    Tls { addr: String, message: String },
    #[error("request to {url} failed: {message}")]
    Request { url: String, message: String },
    #[error("{url} answered HTTP {status}, expected {expected}")]
    Status {
        url: String,
        status: u16,
        expected: String,
    },
    #[error("{url}: {reason}")]
    Body { url: String, reason: String },
    #[error("{url}: {reason}")]
    Ssl { url: String, reason: &'static str },
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
    #[error("CA file {path}: {message}")]
    CaFile { path: String, message: String },
    #[error(
        "module {module} needs a CA file: set PEEPER_PROBES_CA_FILE (e.g. certs/ca/ca.crt), `ca_file` in [probes] or in [probes.modules.{module}]"
    )]
    NoCaFile { module: String },
    #[error("{0}")]
    Roots(String),
    #[error(
        "cannot open an ICMP socket ({message}): run the agent as root, give it CAP_NET_RAW (`setcap cap_net_raw+ep`, or `cap_add: [NET_RAW]` in Compose), or allow its group unprivileged ping with `sysctl net.ipv4.ping_group_range=\"0 2147483647\"`"
    )]
    IcmpSocket { message: String },
    #[error("ICMP to {ip}: {message}")]
    Icmp { ip: String, message: String },
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    #[error(
        "not started: the cycle's time budget ({0:?}) ran out; raise probes.concurrency or the agent's collect_timeout"
    )]
    Budget(Duration),
}

/// An error and its sources on one line (reqwest's own message is terse).
pub(crate) fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// What one probe of one target gave.
#[derive(Debug)]
pub struct Outcome {
    pub target: ProbeTarget,
    pub samples: Samples,
    pub error: Option<ProbesError>,
}

impl Outcome {
    pub fn success(&self) -> bool {
        self.error.is_none()
    }
}

/// Runs one probe within `timeout`, keeping whatever it measured if it is cut short.
pub async fn run_probe(target: ProbeTarget, module: Arc<Module>, timeout: Duration) -> Outcome {
    let start = Instant::now();
    let mut samples = Samples::default();
    samples.set(names::SUCCESS, 0.0);
    samples.set(names::DURATION, 0.0);
    let work = async {
        match module.prober {
            Prober::Http => http::probe(&target.target, &module, &mut samples).await,
            Prober::Tcp => tcp::probe(&target.target, &module, &mut samples).await,
            Prober::Icmp => icmp::probe(&target.target, &module, &mut samples).await,
        }
    };
    let error = match tokio::time::timeout(timeout, work).await {
        Ok(Ok(())) => None,
        Ok(Err(error)) => Some(error),
        Err(_) => Some(ProbesError::Timeout(timeout)),
    };
    samples.set(names::SUCCESS, if error.is_none() { 1.0 } else { 0.0 });
    samples.set(names::DURATION, start.elapsed().as_secs_f64());
    Outcome {
        target,
        samples,
        error,
    }
}

/// Probes every target concurrently (at most `concurrency` at once), ending by `deadline`.
pub async fn run_all(
    list: Vec<ProbeTarget>,
    modules: &BTreeMap<String, Arc<Module>>,
    concurrency: usize,
    deadline: Instant,
) -> Vec<Outcome> {
    let budget = deadline.saturating_duration_since(Instant::now());
    let permits = Arc::new(tokio::sync::Semaphore::new(concurrency.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    let count = list.len();
    for (index, target) in list.into_iter().enumerate() {
        let Some(module) = modules.get(&target.module).cloned() else {
            continue;
        };
        let permits = permits.clone();
        tasks.spawn(async move {
            let permit = tokio::time::timeout_at(deadline, permits.acquire_owned()).await;
            let left = deadline.saturating_duration_since(Instant::now());
            let outcome = match permit {
                Ok(Ok(_permit)) if !left.is_zero() => {
                    run_probe(target, module.clone(), module.timeout.min(left)).await
                }
                _ => {
                    let mut samples = Samples::default();
                    samples.set(names::SUCCESS, 0.0);
                    samples.set(names::DURATION, 0.0);
                    Outcome {
                        target,
                        samples,
                        error: Some(ProbesError::Budget(budget)),
                    }
                }
            };
            (index, outcome)
        });
    }
    let mut outcomes: Vec<Option<Outcome>> = (0..count).map(|_| None).collect();
    while let Some(joined) = tasks.join_next().await {
        if let Ok((index, outcome)) = joined {
            outcomes[index] = Some(outcome);
        }
    }
    outcomes.into_iter().flatten().collect()
}

/// Turns outcomes into families: each series gets the group's labels, `module` and `target`.
pub fn families(outcomes: &[Outcome]) -> Vec<MetricFamily> {
    let mut families: Vec<MetricFamily> = Vec::new();
    for outcome in outcomes {
        let mut base: Vec<(&str, &str)> = outcome
            .target
            .labels
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        base.push(("module", &outcome.target.module));
        base.push(("target", &outcome.target.target));
        for sample in &outcome.samples.0 {
            let family = match families.iter().position(|f| f.name == sample.name.0) {
                Some(i) => &mut families[i],
                None => {
                    families.push(MetricFamily::gauge(sample.name.0, sample.name.1));
                    families.last_mut().expect("just pushed")
                }
            };
            let mut labels = base.clone();
            if let Some((name, value)) = &sample.label {
                labels.push((name, value.as_str()));
            }
            family.push(&labels, sample.value);
        }
    }
    families
}

/// The probes collector (`job="probes"`).
#[derive(Debug)]
pub struct ProbesCollector {
    config: ProbesConfig,
    modules: BTreeMap<String, Arc<Module>>,
    files: TargetFiles,
    /// Per `module target`: whether it fails.
    failing: FailureStreaks<String>,
    /// The ICMP permission problem was logged (it is the same for every target).
    icmp_denied_logged: bool,
}

impl ProbesCollector {
    pub fn new(config: &ProbesConfig) -> Self {
        ProbesCollector {
            config: config.clone(),
            modules: config
                .modules
                .iter()
                .map(|(name, module)| (name.clone(), Arc::new(module.clone())))
                .collect(),
            files: TargetFiles::new(&config.dir),
            failing: FailureStreaks::default(),
            icmp_denied_logged: false,
        }
    }

    /// One cycle: re-read changed files, probe everything by `deadline`, report.
    pub async fn collect_now(&mut self, deadline: Instant) -> Vec<MetricFamily> {
        let modules = &self.modules;
        let list = self.files.refresh(
            &|name: &str| modules.contains_key(name),
            &self.config.default_module,
        );
        let outcomes = run_all(list, &self.modules, self.config.concurrency, deadline).await;
        self.log(&outcomes);
        let mut families = families(&outcomes);
        let mut valid = MetricFamily::gauge(
            "peeper_probes_file_valid",
            "Whether the probe target file could be used at its last change (0: its previous targets are kept)",
        );
        for (file, ok) in self.files.validity() {
            valid.push(&[("file", &file)], if ok { 1.0 } else { 0.0 });
        }
        families.push(valid);
        families
    }

    /// Logs each target's failure once and its recovery once.
    fn log(&mut self, outcomes: &[Outcome]) {
        let mut seen = std::collections::BTreeSet::new();
        for outcome in outcomes {
            let (target, module) = (&outcome.target.target, &outcome.target.module);
            let key = format!("{module} {target}");
            let what = format_args!("probe {module} of {target}");
            match &outcome.error {
                None => {
                    self.failing.succeeded(&key, what, "succeeds again");
                }
                Some(error @ ProbesError::IcmpSocket { .. }) => {
                    if !std::mem::replace(&mut self.icmp_denied_logged, true) {
                        tracing::error!(%error, "icmp probes report probe_success 0");
                    }
                    self.failing.failed_quietly(key.clone());
                }
                Some(error) => {
                    let meanwhile = "reporting probe_success 0 until it succeeds";
                    self.failing.failed(key.clone(), what, error, meanwhile);
                }
            }
            seen.insert(key);
        }
        self.failing.retain(|key| seen.contains(key));
    }
}

impl Collector for ProbesCollector {
    fn job(&self) -> &'static str {
        "probes"
    }

    fn collect(&mut self, cycle: Cycle) -> CollectFuture<'_> {
        Box::pin(async move { Ok::<_, CollectError>(self.collect_now(cycle.deadline).await) })
    }
}
