//! Running the collectors: once (print or push) or continuously, each collector on its own
//! task with its own interval jitter and timeout, so a slow one never holds up the others.

mod loops;
mod reload;

use crate::collector::{Collector, Cycle};
use crate::config::AgentConfig;
use crate::push::{Batch, Delivery, DiskQueue, SendOutcome, Sender};
use crate::stats::AgentStats;
use loops::Loops;
use peeper_proto::MetricFamily;
use peeper_proto::codec::encode_write_request;
use peeper_proto::exposition::encode_text;
use peeper_proto::failures::FailureStreak;
use peeper_proto::names::INSTANCE_LABEL;
use peeper_proto::prometheus::WriteRequest;
use peeper_proto::remote_write::{sample_count, to_write_request};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How long continuous mode keeps trying to flush at shutdown.
const SHUTDOWN_DRAIN: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Push(#[from] crate::push::PushError),
    #[error(transparent)]
    Queue(#[from] crate::push::QueueError),
    #[error("push to {url} failed: {detail}")]
    PushFailed { url: String, detail: String },
    #[error("no server configured")]
    NoServer,
}

/// Families and the `job` they are pushed under. The `job` and the agent's `instance` are
/// added to every series as it is encoded (a series' own label of that name wins), rather
/// than copied into each series beforehand.
#[derive(Debug, Clone, PartialEq)]
pub struct JobFamilies {
    pub job: &'static str,
    pub families: Vec<MetricFamily>,
}

impl JobFamilies {
    pub fn new(job: &'static str, families: Vec<MetricFamily>) -> Self {
        JobFamilies { job, families }
    }

    /// The labels every series of these families carries on the wire.
    fn labels<'a>(&'a self, instance: &'a str) -> [(&'a str, &'a str); 2] {
        [("job", self.job), (INSTANCE_LABEL, instance)]
    }
}

/// One collector's cycle under its job, within `config.collect_timeout`, or no families if
/// it failed or timed out (recorded in the stats, logged once per failure streak).
async fn collect_one(
    collector: &mut dyn Collector,
    config: &AgentConfig,
    stats: &AgentStats,
    streak: &mut FailureStreak,
) -> JobFamilies {
    let job = collector.job();
    let timeout = config.collect_timeout;
    let cycle = Cycle::starting_now(config.interval, timeout);
    let start = Instant::now();
    let result = tokio::time::timeout(timeout, collector.collect(cycle)).await;
    let elapsed = start.elapsed();
    let what = format_args!("collector {job}");
    let error = match result {
        Ok(Ok(families)) => {
            stats.record_collection(job, elapsed, true);
            streak.succeeded(what, "works again");
            return JobFamilies::new(job, families);
        }
        Ok(Err(err)) => err.to_string(),
        Err(_) => format!("timed out after {timeout:?}"),
    };
    stats.record_collection(job, elapsed, false);
    streak.failed(what, error, "will keep trying every cycle");
    JobFamilies::new(job, Vec::new())
}

/// The agent's own metrics, under `job="agent"`.
fn agent_families(stats: &AgentStats) -> JobFamilies {
    JobFamilies::new("agent", stats.families())
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Most series in one batch: keeps each request well under the server's limits (10 000
/// series of ~150 bytes is ~1.5 MB decoded) and a 413 split rare.
pub const MAX_SERIES_PER_BATCH: usize = 5_000;

/// Encodes one cycle's families, each with its job and `instance`, as batches of at most
/// [`MAX_SERIES_PER_BATCH`] series.
fn make_batches(groups: &[JobFamilies], instance: &str) -> Vec<Batch> {
    let timestamp_ms = now_ms();
    let mut request = WriteRequest::default();
    for group in groups {
        let encoded = to_write_request(&group.families, &group.labels(instance), timestamp_ms);
        request.timeseries.extend(encoded.timeseries);
    }
    let created_at = SystemTime::now();
    let mut batches = Vec::new();
    while !request.timeseries.is_empty() {
        let rest = request
            .timeseries
            .split_off(request.timeseries.len().min(MAX_SERIES_PER_BATCH));
        batches.push(Batch {
            samples: sample_count(&request) as u64,
            body: encode_write_request(&request).into(),
            created_at,
        });
        request.timeseries = rest;
    }
    batches
}

/// Every enabled collector once, concurrently, plus the agent's own metrics.
async fn collect_all_once(config: &AgentConfig, stats: &Arc<AgentStats>) -> Vec<JobFamilies> {
    let config = Arc::new(config.clone());
    let mut tasks = Vec::new();
    for mut collector in config.collectors.build() {
        let (config, stats) = (config.clone(), stats.clone());
        tasks.push(tokio::spawn(async move {
            let mut streak = FailureStreak::default();
            collect_one(collector.as_mut(), &config, &stats, &mut streak).await
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        // A panicking collector loses its own cycle only.
        if let Ok(group) = task.await {
            all.push(group);
        }
    }
    all.push(agent_families(stats));
    all
}

/// `--once --print`: the exposition text of one cycle, each series with its job and
/// `instance` as pushed.
pub async fn print_once(config: &AgentConfig) -> String {
    let stats = Arc::new(AgentStats::default());
    exposition(&collect_all_once(config, &stats).await, &config.instance)
}

/// The exposition text of families, each series with its job and `instance`.
fn exposition(groups: &[JobFamilies], instance: &str) -> String {
    groups
        .iter()
        .map(|group| encode_text(&group.families, &group.labels(instance)))
        .collect()
}

/// `--once`: collect, push, and fail unless the receiver accepted.
pub async fn push_once(config: &AgentConfig) -> Result<u64, RunError> {
    let stats = Arc::new(AgentStats::default());
    let groups = collect_all_once(config, &stats).await;
    push_families(config, &groups).await
}

/// Pushes families now, each with its job and `instance`, retrying transient failures a few
/// times within about half a minute; fails unless the receiver accepted them.
pub async fn push_families(config: &AgentConfig, groups: &[JobFamilies]) -> Result<u64, RunError> {
    let push = config.push.as_ref().ok_or(RunError::NoServer)?;
    let sender = Sender::try_new(push)?;
    let mut sent = 0;
    for batch in make_batches(groups, &config.instance) {
        sent += send_with_retries(&sender, &batch).await?;
    }
    Ok(sent)
}

async fn send_with_retries(sender: &Sender, batch: &Batch) -> Result<u64, RunError> {
    let mut backoff = crate::push::Backoff::new(Duration::from_secs(1), Duration::from_secs(8));
    loop {
        let fail = |detail: String| RunError::PushFailed {
            url: sender.url().to_owned(),
            detail,
        };
        match sender.send(&batch.body).await {
            SendOutcome::Accepted => return Ok(batch.samples),
            SendOutcome::Retry { detail, after, .. } if backoff.attempts() < 4 => {
                tracing::warn!(%detail, "push failed; retrying");
                tokio::time::sleep(backoff.next_delay(after)).await;
            }
            SendOutcome::Retry { detail, .. } => return Err(fail(detail)),
            SendOutcome::Rejected(detail) => {
                return Err(fail(format!("rejected as bad data: {detail}")));
            }
            SendOutcome::AuthFailed(detail) => {
                return Err(fail(format!(
                    "token refused ({detail}); check --token-file"
                )));
            }
            SendOutcome::TooLarge => return Err(fail("batch too large for the receiver".into())),
        }
    }
}

/// Continuous mode: runs until `shutdown` resolves, then flushes for a few seconds. Each
/// configuration arriving on `reloads` (or the reason it could not be read) is applied as
/// [`reload`] says.
pub async fn run(
    config: AgentConfig,
    mut reloads: tokio::sync::mpsc::Receiver<Result<AgentConfig, String>>,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<(), RunError> {
    let push = config.push.as_ref().ok_or(RunError::NoServer)?;
    let sender = Sender::try_new(push)?;
    let stats = Arc::new(AgentStats::default());
    let disk = DiskQueue::open(&config.buffer_dir, push.buffer_max_bytes)?;
    let (mut delivery, handle) = Delivery::new(sender, disk, push.drain_rate, stats.clone());
    let control = delivery.control();
    let delivery_task = tokio::spawn(delivery.run(SHUTDOWN_DRAIN));
    let mut loops = Loops::start(&config, stats.clone(), handle);
    tracing::info!(
        instance = %config.instance,
        interval = ?config.interval,
        url = %push.write_url,
        collectors = loops.collectors(),
        "agent started"
    );
    notify_systemd(sd_notify::NotifyState::Ready);
    tokio::pin!(shutdown);
    let mut current = config;
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            Some(next) = reloads.recv() => {
                current = reload::apply(current, next, &mut loops, &control, &stats);
            }
        }
    }
    notify_systemd(sd_notify::NotifyState::Stopping);
    tracing::info!("shutting down: flushing queued data");
    // The loops hold the last delivery handles: the delivery loop drains once they are gone.
    loops.abort_all().await;
    let _ = delivery_task.await;
    let load = |c: &std::sync::atomic::AtomicU64| c.load(std::sync::atomic::Ordering::Relaxed);
    // One line with the run's totals: what was produced, delivered, dropped and left queued.
    tracing::info!(
        samples_collected = load(&stats.samples_collected),
        samples_sent = load(&stats.samples_sent),
        dropped_queue_full = stats.dropped("queue_full"),
        dropped_rejected = stats.dropped("rejected"),
        dropped_corrupt = stats.dropped("corrupt"),
        queued_batches = load(&stats.queue_batches),
        "agent stopped"
    );
    Ok(())
}

/// Tells systemd (`Type=notify`) the agent is ready or stopping; nothing without systemd.
fn notify_systemd(state: sd_notify::NotifyState<'_>) {
    let _ = sd_notify::notify(&[state]);
}

#[cfg(test)]
mod tests;
