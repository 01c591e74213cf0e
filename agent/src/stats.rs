//! The agent's own metrics (`peeper_agent_*`). The product host opens no port, so they are
//! not served: they travel with the data as the `agent` job, one set per cycle.

use peeper_proto::MetricFamily;
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Counters shared by the scheduler and the pusher.
#[derive(Debug, Default)]
pub struct AgentStats {
    pub samples_collected: AtomicU64,
    pub samples_sent: AtomicU64,
    pub batches_sent: AtomicU64,
    pub queue_bytes: AtomicU64,
    pub queue_batches: AtomicU64,
    pub queue_oldest_age_ms: AtomicU64,
    pub queue_write_errors: AtomicU64,
    pub config_reloads_success: AtomicU64,
    pub config_reloads_error: AtomicU64,
    /// 0 after a refused reload, 1 once the running configuration was read successfully.
    pub config_last_reload_failed: std::sync::atomic::AtomicBool,
    push_errors: Mutex<BTreeMap<&'static str, u64>>,
    dropped_samples: Mutex<BTreeMap<&'static str, u64>>,
    collectors: Mutex<BTreeMap<&'static str, CollectorRun>>,
}

#[derive(Debug, Default, Clone, Copy)]
struct CollectorRun {
    duration: Duration,
    success: bool,
    failures: u64,
    panics: u64,
}

/// Why a push failed, as the `reason` label of `peeper_agent_push_errors_total`.
pub const PUSH_ERROR_REASONS: [&str; 6] = [
    "network",
    "server_error",
    "throttled",
    "auth",
    "rejected",
    "too_large",
];

impl AgentStats {
    /// Samples handed to the delivery queue (the collectors' and the agent's own).
    pub fn record_queued(&self, samples: u64) {
        self.samples_collected.fetch_add(samples, Ordering::Relaxed);
    }

    pub fn record_collection(&self, job: &'static str, duration: Duration, success: bool) {
        let mut collectors = self.collectors.lock().expect("stats lock");
        let run = collectors.entry(job).or_default();
        run.duration = duration;
        run.success = success;
        if !success {
            run.failures += 1;
        }
    }

    /// A cycle that panicked: a failure, counted apart too, since it is a bug in the agent.
    pub fn record_panic(&self, job: &'static str) {
        let mut collectors = self.collectors.lock().expect("stats lock");
        let run = collectors.entry(job).or_default();
        run.success = false;
        run.failures += 1;
        run.panics += 1;
    }

    pub fn record_push_error(&self, reason: &'static str) {
        *self
            .push_errors
            .lock()
            .expect("stats lock")
            .entry(reason)
            .or_default() += 1;
    }

    pub fn record_dropped(&self, reason: &'static str, samples: u64) {
        *self
            .dropped_samples
            .lock()
            .expect("stats lock")
            .entry(reason)
            .or_default() += samples;
    }

    /// One SIGHUP handled: the new configuration applied, or refused (the old one runs on).
    pub fn record_reload(&self, success: bool) {
        let counter = if success {
            &self.config_reloads_success
        } else {
            &self.config_reloads_error
        };
        counter.fetch_add(1, Ordering::Relaxed);
        self.config_last_reload_failed
            .store(!success, Ordering::Relaxed);
    }

    pub fn record_queue_write_error(&self) {
        self.queue_write_errors.fetch_add(1, Ordering::Relaxed);
    }

    pub fn record_sent(&self, samples: u64) {
        self.samples_sent.fetch_add(samples, Ordering::Relaxed);
        self.batches_sent.fetch_add(1, Ordering::Relaxed);
    }

    pub fn dropped(&self, reason: &str) -> u64 {
        self.dropped_samples
            .lock()
            .expect("stats lock")
            .get(reason)
            .copied()
            .unwrap_or(0)
    }

    pub fn push_errors(&self, reason: &str) -> u64 {
        self.push_errors
            .lock()
            .expect("stats lock")
            .get(reason)
            .copied()
            .unwrap_or(0)
    }

    /// The current values as metric families.
    pub fn families(&self) -> Vec<MetricFamily> {
        let mut out = vec![
            MetricFamily::gauge("peeper_agent_build_info", "Version of the agent.")
                .with(&[("version", env!("CARGO_PKG_VERSION"))], 1.0),
        ];
        out.extend(self.collector_families());
        out.extend(self.sent_families());
        out.push(self.push_error_family());
        out.push(self.dropped_family());
        out.extend(self.queue_families());
        out.extend(self.reload_families());
        out
    }

    /// Per collector: its last cycle's duration and success, its failures and panics.
    fn collector_families(&self) -> [MetricFamily; 4] {
        let mut duration = MetricFamily::gauge(
            "peeper_agent_collector_duration_seconds",
            "Time the collector's last cycle took.",
        );
        let mut success = MetricFamily::gauge(
            "peeper_agent_collector_success",
            "1 if the collector's last cycle finished in time without error.",
        );
        let mut failures = MetricFamily::counter(
            "peeper_agent_collector_failures_total",
            "Cycles in which the collector failed or timed out.",
        );
        let mut panics = MetricFamily::counter(
            "peeper_agent_collector_panics_total",
            "Cycles in which the collector panicked (a bug: please report it); the collector is \
             built anew for its next cycle.",
        );
        for (job, run) in self.collectors.lock().expect("stats lock").iter() {
            duration.push(&[("collector", job)], run.duration.as_secs_f64());
            success.push(&[("collector", job)], if run.success { 1.0 } else { 0.0 });
            failures.push(&[("collector", job)], run.failures as f64);
            panics.push(&[("collector", job)], run.panics as f64);
        }
        [duration, success, failures, panics]
    }

    /// Samples queued, samples and batches acknowledged.
    fn sent_families(&self) -> [MetricFamily; 3] {
        [
            MetricFamily::counter(
                "peeper_agent_samples_collected_total",
                "Samples queued for delivery: the collectors' and the agent's own.",
            )
            .with(&[], load(&self.samples_collected)),
            MetricFamily::counter(
                "peeper_agent_samples_sent_total",
                "Samples the server acknowledged.",
            )
            .with(&[], load(&self.samples_sent)),
            MetricFamily::counter(
                "peeper_agent_batches_sent_total",
                "Batches the server acknowledged.",
            )
            .with(&[], load(&self.batches_sent)),
        ]
    }

    fn push_error_family(&self) -> MetricFamily {
        let mut push_errors = MetricFamily::counter(
            "peeper_agent_push_errors_total",
            "Failed push attempts, by reason.",
        );
        let errors = self.push_errors.lock().expect("stats lock");
        for reason in PUSH_ERROR_REASONS {
            push_errors.push(
                &[("reason", reason)],
                errors.get(reason).copied().unwrap_or(0) as f64,
            );
        }
        push_errors
    }

    fn dropped_family(&self) -> MetricFamily {
        let mut dropped = MetricFamily::counter(
            "peeper_agent_queue_dropped_samples_total",
            "Samples given up on, by reason: queue_full (oldest pushed out past --buffer-max-bytes), \
             rejected (the receiver answered 400), corrupt (a queued record failed its checksum).",
        );
        let drops = self.dropped_samples.lock().expect("stats lock");
        for reason in ["queue_full", "rejected", "corrupt"] {
            dropped.push(
                &[("reason", reason)],
                drops.get(reason).copied().unwrap_or(0) as f64,
            );
        }
        dropped
    }

    /// The disk queue: what it holds, its oldest batch's age, its write errors.
    fn queue_families(&self) -> [MetricFamily; 4] {
        [
            MetricFamily::gauge(
                "peeper_agent_queue_bytes",
                "Bytes of unsent data held by the agent.",
            )
            .with(&[], load(&self.queue_bytes)),
            MetricFamily::gauge(
                "peeper_agent_queue_batches",
                "Batches of unsent data held by the agent.",
            )
            .with(&[], load(&self.queue_batches)),
            MetricFamily::gauge(
                "peeper_agent_queue_oldest_batch_age_seconds",
                "Age of the oldest batch still waiting to be sent (0 when none waits).",
            )
            .with(&[], load(&self.queue_oldest_age_ms) / 1000.0),
            MetricFamily::counter(
                "peeper_agent_queue_write_errors_total",
                "Batches the disk queue failed to write (disk full or read-only); they wait in memory.",
            )
            .with(&[], load(&self.queue_write_errors)),
        ]
    }

    /// Configuration reloads (SIGHUP) by result, and whether the last one was applied.
    fn reload_families(&self) -> [MetricFamily; 2] {
        [
            MetricFamily::counter(
                "peeper_agent_config_reloads_total",
                "Reloads of the configuration (SIGHUP), by result: success, or error (refused; the \
                 previous configuration keeps running).",
            )
            .with(&[("result", "success")], load(&self.config_reloads_success))
            .with(&[("result", "error")], load(&self.config_reloads_error)),
            MetricFamily::gauge(
                "peeper_agent_config_last_reload_successful",
                "1 unless the last reload was refused (then the previous configuration runs).",
            )
            .with(
                &[],
                if self.config_last_reload_failed.load(Ordering::Relaxed) {
                    0.0
                } else {
                    1.0
                },
            ),
        ]
    }
}

fn load(counter: &AtomicU64) -> f64 {
    counter.load(Ordering::Relaxed) as f64
}
