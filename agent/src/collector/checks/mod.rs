//! Passive OK/ERR checks, as okerr does them: commands run on their own interval, exit 0 is
//! OK and anything else ERR, the first line of output is the message. Cron scripts report
//! the same series with `peeper-agent status` (see [`crate::status`]).

pub mod config;
pub use config::{Check, ChecksConfig};

use super::{CollectError, CollectFuture, Collector, Cycle};
use peeper_proto::{MetricFamily, names};
use std::process::Stdio;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::io::AsyncReadExt;

/// The result of one run of a check.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckResult {
    pub ok: bool,
    pub message: String,
    /// Seconds since the Unix epoch when the run finished.
    pub finished_at: f64,
    /// How long the run took; `None` for a result pushed by `status`, which ran nothing the
    /// agent timed.
    pub duration: Option<Duration>,
}

#[derive(Debug)]
struct CheckState {
    check: Check,
    last_started: Option<Instant>,
    last: Option<CheckResult>,
}

#[derive(Debug)]
pub struct ChecksCollector {
    states: Vec<CheckState>,
}

impl ChecksCollector {
    pub fn new(config: &ChecksConfig) -> Self {
        ChecksCollector {
            states: config
                .checks
                .iter()
                .map(|check| CheckState {
                    check: check.clone(),
                    last_started: None,
                    last: None,
                })
                .collect(),
        }
    }

    /// Runs the checks that are due (a check without an interval of its own: every cycle),
    /// none past the cycle's deadline, and reports every check's last result.
    async fn run_due(&mut self, cycle: Cycle) -> Vec<MetricFamily> {
        let now = Instant::now();
        let due: Vec<usize> = (0..self.states.len())
            .filter(|&i| {
                let state = &self.states[i];
                let interval = state.check.interval.unwrap_or(cycle.interval);
                state
                    .last_started
                    .is_none_or(|t| now.duration_since(t) >= interval)
            })
            .collect();
        let mut runs = tokio::task::JoinSet::new();
        for i in due {
            self.states[i].last_started = Some(now);
            let check = self.states[i].check.clone();
            let timeout = check.timeout.min(cycle.remaining());
            runs.spawn(async move { (i, run_check(&check, timeout).await) });
        }
        // Dropping the set (when the scheduler's timeout fires) aborts the runs, and
        // kill_on_drop then kills their processes.
        while let Some(Ok((i, result))) = runs.join_next().await {
            if !result.ok && self.states[i].last.as_ref().is_none_or(|r| r.ok) {
                tracing::warn!(check = %self.states[i].check.name, message = %result.message, "check is ERR");
            }
            self.states[i].last = Some(result);
        }
        let results: Vec<(&str, &CheckResult)> = self
            .states
            .iter()
            .filter_map(|s| s.last.as_ref().map(|r| (s.check.name.as_str(), r)))
            .collect();
        result_families(&results, None)
    }
}

impl Collector for ChecksCollector {
    fn job(&self) -> &'static str {
        "checks"
    }

    fn collect(&mut self, cycle: Cycle) -> CollectFuture<'_> {
        Box::pin(async move { Ok::<_, CollectError>(self.run_due(cycle).await) })
    }
}

/// Runs `sh -c COMMAND`, killing it after `timeout` (its own, or less when the cycle ends
/// sooner).
pub async fn run_check(check: &Check, timeout: Duration) -> CheckResult {
    let start = Instant::now();
    let spawned = tokio::process::Command::new("/bin/sh")
        .arg("-c")
        .arg(&check.command)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn();
    let mut child = match spawned {
        Ok(child) => child,
        Err(err) => return finished(false, format!("cannot start /bin/sh: {err}"), start),
    };
    let mut stdout = child.stdout.take().expect("piped stdout");
    let mut stderr = child.stderr.take().expect("piped stderr");
    let run = async {
        let (out, err, status) = tokio::join!(
            read_capped(&mut stdout),
            read_capped(&mut stderr),
            child.wait()
        );
        (status, out, err)
    };
    match tokio::time::timeout(timeout, run).await {
        Ok((Ok(status), out, err)) => {
            let message = output_message(&out)
                .or_else(|| output_message(&err))
                .unwrap_or_default();
            let message = if status.success() || !message.is_empty() {
                message
            } else {
                format!("exited with {status}")
            };
            finished(status.success(), message, start)
        }
        Ok((Err(err), _, _)) => finished(false, format!("wait failed: {err}"), start),
        Err(_) => finished(
            false,
            format!("timed out after {timeout:?} and was killed"),
            start,
        ),
    }
}

/// Keeps the first 64 KiB of a stream and discards the rest, so a chatty script neither
/// grows the agent nor blocks on a full pipe.
async fn read_capped(reader: &mut (impl tokio::io::AsyncRead + Unpin)) -> Vec<u8> {
    const CAP: usize = 64 * 1024;
    let mut kept = Vec::new();
    let mut chunk = [0u8; 8192];
    while let Ok(n) = reader.read(&mut chunk).await {
        if n == 0 {
            break;
        }
        let room = CAP.saturating_sub(kept.len());
        kept.extend_from_slice(&chunk[..n.min(room)]);
    }
    kept
}

fn finished(ok: bool, message: String, start: Instant) -> CheckResult {
    CheckResult {
        ok,
        message,
        finished_at: unix_now(),
        duration: Some(start.elapsed()),
    }
}

pub fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// The longest message kept, in characters: it becomes a label value.
const MESSAGE_MAX_CHARS: usize = 200;

/// The one rule for a check's `message` label, whether the text is a check's output or
/// `status --message`: its first non-empty line, trimmed, at most 200 characters (README,
/// "Passive checks"). `None` when the text holds no such line.
pub fn message_text(text: &str) -> Option<String> {
    let line = text.lines().map(str::trim).find(|l| !l.is_empty())?;
    Some(line.chars().take(MESSAGE_MAX_CHARS).collect())
}

fn output_message(bytes: &[u8]) -> Option<String> {
    message_text(&String::from_utf8_lossy(bytes))
}

/// The series of a set of results: status, last run and message for each;
/// `peeper_check_duration_seconds` for the results that were timed (collector runs); and,
/// with `expected_interval`, `peeper_check_expected_interval_seconds` (the
/// `status --expect-every` form). No results, no families.
pub fn result_families(
    results: &[(&str, &CheckResult)],
    expected_interval: Option<Duration>,
) -> Vec<MetricFamily> {
    if results.is_empty() {
        return Vec::new();
    }
    let mut status = MetricFamily::gauge(
        names::CHECK_STATUS,
        "1 if the check's last result was OK, 0 if ERR.",
    );
    let mut last_run = MetricFamily::gauge(
        names::CHECK_LAST_RUN,
        "When the check's last result was produced, in seconds since the Unix epoch.",
    );
    let mut duration = results.iter().any(|(_, r)| r.duration.is_some()).then(|| {
        MetricFamily::gauge(
            "peeper_check_duration_seconds",
            "How long the check's last run took.",
        )
    });
    let mut message = MetricFamily::gauge(
        names::CHECK_MESSAGE,
        "The first line of the check's last output (at most 200 characters), as a label.",
    );
    let mut expected = expected_interval.map(|_| {
        MetricFamily::gauge(
            names::CHECK_EXPECTED_INTERVAL,
            "How often results of this check are expected; silence longer than this is an alert.",
        )
    });
    for (name, result) in results {
        let labels = [("check", *name)];
        status.push(&labels, if result.ok { 1.0 } else { 0.0 });
        last_run.push(&labels, result.finished_at);
        if let (Some(family), Some(took)) = (&mut duration, result.duration) {
            family.push(&labels, took.as_secs_f64());
        }
        message.push(&[("check", name), ("message", &result.message)], 1.0);
        if let (Some(family), Some(every)) = (&mut expected, expected_interval) {
            family.push(&labels, every.as_secs_f64());
        }
    }
    [
        Some(status),
        Some(last_run),
        duration,
        Some(message),
        expected,
    ]
    .into_iter()
    .flatten()
    .collect()
}

#[cfg(test)]
mod tests;
