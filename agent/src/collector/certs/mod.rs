//! The certificate-expiry collector: checks remote TLS endpoints and PEM files and reports
//! them with ribbybibby/ssl_exporter's names (`ssl_cert_not_after`, `ssl_probe_success`,
//! `ssl_file_cert_not_after`, ...), each endpoint series with `target="host:port"`.
//!
//! Each endpoint is checked once per cycle however often it is listed (the list from the
//! config and the endpoints file is de-duplicated), up to `concurrency` at a time, each
//! check bounded by `timeout`, the whole cycle by the budget the agent gives it; what is
//! not done by then keeps its last result and goes first next cycle. A failing endpoint
//! reports `ssl_probe_success 0` every cycle but is tried ever more rarely (see
//! [`schedule`]).

mod cert;
pub mod config;
mod files;
mod metrics;
mod probe;
pub mod schedule;
mod verify;

#[cfg(test)]
mod tests;

pub use config::{CertsConfig, Endpoint, StartTls};

use super::{CollectError, CollectFuture, Collector, Cycle};
use peeper_proto::MetricFamily;
use peeper_proto::failures::FailureStreaks;
use probe::Checked;
use schedule::{Schedule, Timing};
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};
use verify::TlsContext;

/// A check that would get less than this before the cycle's end waits for the next cycle.
const MIN_CHECK_TIME: Duration = Duration::from_millis(100);

/// Why a check, a file or the collector's setup failed.
#[derive(Debug, thiserror::Error)]
pub enum CertsError {
    #[error("cannot connect to {target}: {source}")]
    Connect {
        target: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{target}: STARTTLS failed: {message}")]
    StartTls { target: String, message: String },
    #[error("{target}: TLS handshake failed: {message}")]
    Handshake { target: String, message: String },
    #[error("{target}: no answer within {after:?}")]
    Timeout { target: String, after: Duration },
    #[error("{target}: {name:?} is not a valid TLS server name; set another with host:port@name")]
    ServerName { target: String, name: String },
    #[error("{0}: the server presented no certificate")]
    NoCertificate(String),
    #[error("cannot parse a certificate: {0}")]
    Certificate(String),
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{0} holds no PEM certificate")]
    NoCertificates(PathBuf),
    #[error("cannot set up TLS: {0}")]
    Tls(String),
}

/// The failure-streak key of the file scan outlasting its cycle.
const FILES_TIMEOUT: &str = "files-timeout";

/// One endpoint's state across cycles.
#[derive(Debug)]
struct EndpointState {
    endpoint: Endpoint,
    schedule: Schedule,
    errors_total: u64,
    /// The last check's result: `Some(Ok)` answered, `Some(Err)` failed, `None` not yet.
    last: Option<Result<Checked, ()>>,
    last_check: Option<SystemTime>,
    next_check: SystemTime,
}

/// The endpoints file and what it said when last read.
#[derive(Debug)]
struct EndpointsFile {
    path: PathBuf,
    modified: Option<SystemTime>,
    endpoints: Vec<Endpoint>,
}

/// The certificate collector (`job="certs"`).
#[derive(Debug)]
pub struct CertsCollector {
    config: CertsConfig,
    roots_path: PathBuf,
    context: Option<Arc<TlsContext>>,
    file: Option<EndpointsFile>,
    /// By target label, in list order.
    states: Vec<(String, EndpointState)>,
    /// Things whose failure was logged and that have not recovered since.
    streaks: FailureStreaks<String>,
}

impl CertsCollector {
    pub fn new(config: &CertsConfig) -> Self {
        // SSL_CERT_FILE or the distribution's bundle; a missing one is reported at first use.
        let roots = crate::tls::system_bundle()
            .unwrap_or_else(|| PathBuf::from(crate::tls::SYSTEM_BUNDLES[0]));
        Self::with_roots(config, roots)
    }

    /// A collector that reads the system roots from `roots_path` (tests use an empty file).
    pub fn with_roots(config: &CertsConfig, roots_path: PathBuf) -> Self {
        CertsCollector {
            config: config.clone(),
            roots_path,
            context: None,
            file: config.endpoints_file.clone().map(|path| EndpointsFile {
                path,
                modified: None,
                endpoints: Vec::new(),
            }),
            states: Vec::new(),
            streaks: FailureStreaks::default(),
        }
    }

    fn timing(&self, interval: Duration) -> Timing {
        Timing {
            interval,
            max_backoff: *self.config.max_backoff,
            check_interval: *self.config.check_interval,
        }
    }

    /// Re-reads the endpoints file when its modification time changed; a file that went
    /// away or became unreadable keeps the last list.
    fn refresh_file(&mut self) {
        let Some(file) = &mut self.file else { return };
        let path = file.path.clone();
        let key = format!("file:{}", path.display());
        let modified = std::fs::metadata(&path).and_then(|m| m.modified());
        let modified = match modified {
            Ok(m) => m,
            Err(e) => {
                let what = format_args!("reading the endpoints file {}", path.display());
                self.streaks.failed(key, what, e, "keeping its last list");
                return;
            }
        };
        if file.modified == Some(modified) {
            return;
        }
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) => {
                let what = format_args!("reading the endpoints file {}", path.display());
                self.streaks.failed(key, what, e, "keeping its last list");
                return;
            }
        };
        let (endpoints, errors) = config::parse_endpoints_file(&text);
        for (line, message) in &errors {
            tracing::warn!(file = %path.display(), line, "skipping a bad line of the endpoints file: {message}");
        }
        tracing::info!(file = %path.display(), endpoints = endpoints.len(), "read the endpoints file");
        file.modified = Some(modified);
        file.endpoints = endpoints;
        let what = format_args!("the endpoints file {}", path.display());
        self.streaks.succeeded(&key, what, "is readable again");
    }

    /// The configured endpoints plus the file's, each target once, keeping the states of
    /// those that stay.
    fn sync_endpoints(&mut self) {
        let mut wanted: Vec<Endpoint> = self.config.endpoints.clone();
        if let Some(file) = &self.file {
            wanted.extend(file.endpoints.iter().cloned());
        }
        let mut old: HashMap<String, EndpointState> =
            std::mem::take(&mut self.states).into_iter().collect();
        let mut seen = HashSet::new();
        for endpoint in wanted {
            let target = endpoint.to_string();
            if !seen.insert(target.clone()) {
                continue;
            }
            let state = match old.remove(&target) {
                Some(state) if state.endpoint == endpoint => state,
                _ => EndpointState {
                    endpoint,
                    schedule: Schedule::default(),
                    errors_total: 0,
                    last: None,
                    last_check: None,
                    next_check: SystemTime::now(),
                },
            };
            self.states.push((target, state));
        }
        self.streaks.retain(|key| !old.contains_key(key));
    }

    fn context(&mut self) -> Result<Arc<TlsContext>, CertsError> {
        if let Some(context) = &self.context {
            return Ok(context.clone());
        }
        let (context, warning) =
            TlsContext::load(&self.roots_path, self.config.ca_file.as_deref())?;
        if let Some(warning) = warning {
            tracing::warn!("{warning}");
        }
        let context = Arc::new(context);
        self.context = Some(context.clone());
        Ok(context)
    }

    /// One cycle: checks the due endpoints and reads the files, all by the cycle's deadline.
    pub async fn collect_now(&mut self, cycle: Cycle) -> Result<Vec<MetricFamily>, CertsError> {
        let start = Instant::now();
        let deadline = cycle.deadline.into_std();
        let wall = SystemTime::now();
        self.refresh_file();
        self.sync_endpoints();
        let context = self.context()?;
        let timing = self.timing(cycle.interval);

        let patterns = self.config.files.clone();
        let files_task = (!patterns.is_empty())
            .then(|| tokio::task::spawn_blocking(move || files::scan(&patterns)));
        self.check_due(&context, start, &timing, deadline).await;
        for (_, state) in &mut self.states {
            state.next_check = wall + state.schedule.next_check_in(start, &timing);
        }
        let mut families =
            metrics::endpoint_families(self.states.iter().map(|(t, s)| metrics::EndpointView {
                target: t,
                last: s.last.as_ref(),
                errors_total: s.errors_total,
                last_check: s.last_check,
                next_check: s.next_check,
            }));
        if let Some(task) = files_task
            && let Some(scanned) = self.finish_scan(task, deadline).await
        {
            for family in metrics::file_families(&scanned) {
                match families.iter_mut().find(|f| f.name == family.name) {
                    Some(same) => same.series.extend(family.series),
                    None => families.push(family),
                }
            }
        }
        families.retain(|f| !f.series.is_empty());
        Ok(families)
    }

    /// Checks the endpoints that are due, the longest unchecked first, and records the
    /// results.
    async fn check_due(
        &mut self,
        context: &Arc<TlsContext>,
        start: Instant,
        timing: &Timing,
        deadline: Instant,
    ) {
        let mut due: Vec<(Option<SystemTime>, String, Endpoint)> = Vec::new();
        for (target, state) in &mut self.states {
            if state.schedule.due(start, timing) {
                due.push((state.last_check, target.clone(), state.endpoint.clone()));
            }
        }
        due.sort_by_key(|(last, _, _)| *last);
        let timeout = *self.config.timeout;
        let results = run_checks(due, context, timeout, self.config.concurrency, deadline).await;
        for (target, result) in results {
            self.record(target, result, start, timing);
        }
    }

    fn record(
        &mut self,
        target: String,
        result: Result<Checked, CertsError>,
        start: Instant,
        timing: &Timing,
    ) {
        let Some(index) = self.states.iter().position(|(t, _)| *t == target) else {
            return;
        };
        let state = &mut self.states[index].1;
        state.last_check = Some(SystemTime::now());
        match result {
            Ok(checked) => {
                state.schedule.succeeded(start, timing);
                state.last = Some(Ok(checked));
                let what = format_args!("certificate endpoint {target}");
                self.streaks.succeeded(&target, what, "answers again");
            }
            Err(error) => {
                state.schedule.failed(start);
                state.errors_total += 1;
                state.last = Some(Err(()));
                let what = format_args!("certificate check of {target}");
                let meanwhile = "reporting ssl_probe_success 0 and retrying ever more rarely";
                self.streaks.failed(target.clone(), what, error, meanwhile);
            }
        }
    }

    /// Waits for the file scan until the deadline (at least [`MIN_CHECK_TIME`]) and logs
    /// its problems once each; `None` when it failed or took too long.
    async fn finish_scan(
        &mut self,
        task: tokio::task::JoinHandle<Vec<files::PatternResult>>,
        deadline: Instant,
    ) -> Option<Vec<files::PatternResult>> {
        let remaining = deadline
            .saturating_duration_since(Instant::now())
            .max(MIN_CHECK_TIME);
        match tokio::time::timeout(remaining, task).await {
            Ok(Ok(scanned)) => {
                let what = "reading certificate files";
                self.streaks
                    .succeeded(&FILES_TIMEOUT.to_owned(), what, "finishes in time again");
                self.log_scan(&scanned);
                Some(scanned)
            }
            Ok(Err(e)) => {
                tracing::warn!("reading certificate files failed: {e}");
                None
            }
            Err(_) => {
                let (what, cause) = ("reading certificate files", "took longer than the cycle");
                self.streaks
                    .failed(FILES_TIMEOUT.to_owned(), what, cause, "skipped this cycle");
                None
            }
        }
    }

    fn log_scan(&mut self, scanned: &[files::PatternResult]) {
        for pattern in scanned {
            for (path, problem) in &pattern.problems {
                let key = format!("path:{}", path.display());
                let what = format_args!("certificate file {}", path.display());
                self.streaks.failed(key, what, problem, "");
            }
            for (path, _) in &pattern.files {
                let key = format!("path:{}", path.display());
                let what = format_args!("certificate file {}", path.display());
                self.streaks.succeeded(&key, what, "is readable again");
            }
            let key = format!("pattern:{}", pattern.pattern);
            let what = format_args!("certificate files {:?}", pattern.pattern);
            if pattern.success() {
                self.streaks.succeeded(&key, what, "are found again");
            } else {
                self.streaks.failed(key, what, "no certificate found", "");
            }
        }
    }
}

/// Runs the checks, `concurrency` at a time, each within `timeout`, all within `deadline`.
/// Returns the finished ones; a check cut short by the deadline (not by its own timeout)
/// is left out, so it keeps its last result and goes first next cycle.
async fn run_checks(
    due: Vec<(Option<SystemTime>, String, Endpoint)>,
    context: &Arc<TlsContext>,
    timeout: Duration,
    concurrency: usize,
    deadline: Instant,
) -> Vec<(String, Result<Checked, CertsError>)> {
    let semaphore = Arc::new(tokio::sync::Semaphore::new(concurrency));
    let mut tasks = tokio::task::JoinSet::new();
    let cutoff = tokio::time::Instant::from_std(deadline);
    // Permits are taken here, in `due` order, so the longest-unchecked endpoints get the
    // first slots whatever order the runtime happens to poll the tasks in.
    for (_, target, endpoint) in due {
        let permit = tokio::select! {
            permit = semaphore.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            _ = tokio::time::sleep_until(cutoff) => break,
        };
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining < MIN_CHECK_TIME {
            break;
        }
        let context = context.clone();
        tasks.spawn(async move {
            let _permit = permit;
            let limit = timeout.min(remaining);
            match tokio::time::timeout(limit, probe::check(&endpoint, &context)).await {
                Ok(result) => Some((target, result)),
                // Cut short by the cycle's budget, not by its own timeout: no verdict; the
                // endpoint keeps its last result and goes first next cycle.
                Err(_) if limit < timeout => None,
                Err(_) => Some((
                    target.clone(),
                    Err(CertsError::Timeout {
                        target,
                        after: timeout,
                    }),
                )),
            }
        });
    }
    let mut results = Vec::new();
    let end = tokio::time::Instant::from_std(deadline + Duration::from_millis(50));
    while let Ok(Some(joined)) = tokio::time::timeout_at(end, tasks.join_next()).await {
        if let Ok(Some(result)) = joined {
            results.push(result);
        }
    }
    // Dropping the set aborts whatever is still running.
    results
}

impl Collector for CertsCollector {
    fn job(&self) -> &'static str {
        "certs"
    }

    fn collect(&mut self, cycle: Cycle) -> CollectFuture<'_> {
        Box::pin(async move {
            self.collect_now(cycle)
                .await
                .map_err(|e| CollectError::Other(e.to_string()))
        })
    }
}
