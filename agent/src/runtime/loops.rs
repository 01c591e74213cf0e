//! The running agent's loops: one per collector and one for the agent's own metrics, each on
//! its own ticker. A loop stops only between cycles (when told to, by a reload), so a cycle in
//! progress always finishes and hands its batches to the delivery queue.

use super::{JobFamilies, collect_one, make_batches};
use crate::collector::{Collector, Spec};
use crate::config::AgentConfig;
use crate::push::DeliveryHandle;
use crate::stats::AgentStats;
use peeper_proto::MetricFamily;
use peeper_proto::failures::FailureStreak;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::task::JoinSet;

/// When a loop's first cycle runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FirstCycle {
    /// At the agent's phase of the interval ([`phase_delay`]): agents started together
    /// spread out, and the loops of one agent tick together, so their batches of a cycle
    /// go to the server in one request (the delivery loop joins them).
    Jittered,
    /// At once: a collector restarted by a reload leaves no gap.
    Now,
}

/// What a loop is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LoopKey {
    /// A collector, by its config section.
    Collector(&'static str),
    SelfMetrics,
}

/// The loops running now, each with the way to stop it between cycles.
#[derive(Debug)]
pub struct Loops {
    tasks: JoinSet<()>,
    stops: BTreeMap<LoopKey, oneshot::Sender<()>>,
    stats: Arc<AgentStats>,
    out: DeliveryHandle,
}

impl Loops {
    /// Every enabled collector's loop and the self-metrics loop.
    pub fn start(config: &AgentConfig, stats: Arc<AgentStats>, out: DeliveryHandle) -> Self {
        let mut loops = Loops {
            tasks: JoinSet::new(),
            stops: BTreeMap::new(),
            stats,
            out,
        };
        for spec in config.collectors.enabled() {
            let key = LoopKey::Collector(spec.section());
            loops.spawn(key, config, FirstCycle::Jittered);
        }
        loops.spawn(LoopKey::SelfMetrics, config, FirstCycle::Jittered);
        loops
    }

    /// Starts (or restarts) the loop for `key` with `config`; a section that is off only stops.
    pub fn spawn(&mut self, key: LoopKey, config: &AgentConfig, first: FirstCycle) {
        self.stop(key);
        let (stop_tx, stop) = oneshot::channel();
        let (config, stats, out) = (config.clone(), self.stats.clone(), self.out.clone());
        match key {
            LoopKey::Collector(section) => {
                let Some(spec) = config.collectors.section(section).filter(|s| s.enabled()) else {
                    return;
                };
                let spec = spec.clone();
                self.tasks.spawn(collector_loop(
                    spec,
                    Arc::new(config),
                    stats,
                    out,
                    first,
                    stop,
                ));
            }
            LoopKey::SelfMetrics => {
                self.tasks
                    .spawn(self_metrics_loop(config, stats, out, first, stop));
            }
        }
        self.stops.insert(key, stop_tx);
    }

    /// Stops the loop for `key` after its current cycle, if it runs.
    pub fn stop(&mut self, key: LoopKey) {
        if let Some(stop) = self.stops.remove(&key) {
            let _ = stop.send(());
        }
    }

    /// How many collector loops run.
    pub fn collectors(&self) -> usize {
        self.stops
            .keys()
            .filter(|k| matches!(k, LoopKey::Collector(_)))
            .count()
    }

    /// At shutdown: every loop ends now; the delivery loop flushes what was handed over.
    pub async fn abort_all(mut self) {
        self.tasks.abort_all();
        while self.tasks.join_next().await.is_some() {}
    }
}

/// The first tick after the configured delay, then one every interval.
/// `None` when the loop was told to stop before its first cycle.
async fn ticker(
    interval: Duration,
    first: FirstCycle,
    stop: &mut oneshot::Receiver<()>,
) -> Option<tokio::time::Interval> {
    if first == FirstCycle::Jittered {
        tokio::select! {
            _ = tokio::time::sleep(phase_delay(interval, agent_phase(), unix_now())) => {}
            _ = &mut *stop => return None,
        }
    }
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    Some(ticker)
}

/// This agent's place in every interval, as a fraction of it: random, chosen once.
fn agent_phase() -> f64 {
    static PHASE: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *PHASE.get_or_init(crate::push::random_fraction)
}

fn unix_now() -> Duration {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
}

/// How long from `now` (since the Unix epoch) until the next instant that is `phase` of the
/// way into an `interval` counted from the epoch: loops with the same interval started at
/// any time tick together.
pub fn phase_delay(interval: Duration, phase: f64, now: Duration) -> Duration {
    let period = interval.as_secs_f64();
    if period <= 0.0 {
        return Duration::ZERO;
    }
    let into = now.as_secs_f64() % period;
    let wait = (phase * period - into).rem_euclid(period);
    Duration::from_secs_f64(wait)
}

/// Waits for the next tick; false when the loop was told to stop.
async fn next_cycle(ticker: &mut tokio::time::Interval, stop: &mut oneshot::Receiver<()>) -> bool {
    tokio::select! {
        biased;
        _ = &mut *stop => false,
        _ = ticker.tick() => true,
    }
}

async fn submit(groups: &[JobFamilies], instance: &str, out: &DeliveryHandle, stats: &AgentStats) {
    for batch in make_batches(groups, instance) {
        let samples = batch.samples;
        out.submit(batch).await;
        stats.record_queued(samples);
    }
}

/// A collector and its failure streak, moved into a task of its own for each cycle.
struct Running {
    collector: Box<dyn Collector>,
    streak: FailureStreak,
}

/// Aborts a cycle's task when the loop is aborted while waiting for it (at shutdown).
struct AbortOnDrop(tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Runs a collector every interval. Each cycle runs in a task of its own, so a collector
/// that panics loses that cycle only: the panic is counted, and the next cycle builds the
/// collector anew from its settings.
async fn collector_loop(
    spec: Arc<dyn Spec>,
    config: Arc<AgentConfig>,
    stats: Arc<AgentStats>,
    out: DeliveryHandle,
    first: FirstCycle,
    mut stop: oneshot::Receiver<()>,
) {
    let Some(mut ticker) = ticker(config.interval, first, &mut stop).await else {
        return;
    };
    let mut idle = None;
    while next_cycle(&mut ticker, &mut stop).await {
        let group;
        (idle, group) = run_cycle(idle, &spec, &config, &stats).await;
        submit(&[group], &config.instance, &out, &stats).await;
    }
}

/// One cycle of a collector, in a task of its own. A panic loses this cycle only: it is
/// counted and logged, and the collector dropped, so the next cycle builds it anew.
async fn run_cycle(
    idle: Option<Running>,
    spec: &Arc<dyn Spec>,
    config: &Arc<AgentConfig>,
    stats: &Arc<AgentStats>,
) -> (Option<Running>, JobFamilies) {
    let mut running = idle.unwrap_or_else(|| Running {
        collector: spec.build(),
        streak: FailureStreak::default(),
    });
    let job = running.collector.job();
    let (config, task_stats) = (config.clone(), stats.clone());
    let cycle = tokio::spawn(async move {
        let (collector, streak) = (running.collector.as_mut(), &mut running.streak);
        let families = collect_one(collector, &config, &task_stats, streak).await;
        (running, families)
    });
    let _abort = AbortOnDrop(cycle.abort_handle());
    match cycle.await {
        Ok((running, families)) => (Some(running), families),
        Err(error) => {
            if error.is_panic() {
                stats.record_panic(job);
                tracing::error!(
                    collector = job,
                    "the collector panicked (a bug: please report it with the log above); it is built anew for its next cycle"
                );
            }
            (None, JobFamilies::new(job, Vec::new()))
        }
    }
}

/// The running agent's heartbeat: its collection interval, by which the server tracks its
/// liveness (`--once` and `status` leave it out, so a cron job is not taken for a dead agent).
fn interval_family(interval: Duration) -> MetricFamily {
    let mut family = MetricFamily::gauge(
        peeper_proto::names::AGENT_INTERVAL,
        "The agent's collection interval; the server marks the agent silent after a few missed ones.",
    );
    family.push(&[], interval.as_secs_f64());
    family
}

async fn self_metrics_loop(
    config: AgentConfig,
    stats: Arc<AgentStats>,
    out: DeliveryHandle,
    first: FirstCycle,
    mut stop: oneshot::Receiver<()>,
) {
    let Some(mut ticker) = ticker(config.interval, first, &mut stop).await else {
        return;
    };
    while next_cycle(&mut ticker, &mut stop).await {
        let mut families = vec![interval_family(config.interval)];
        families.extend(stats.families());
        let group = JobFamilies::new("agent", families);
        submit(&[group], &config.instance, &out, &stats).await;
    }
}

#[cfg(test)]
mod tests;
