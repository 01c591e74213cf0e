//! The server's own metrics, served on `GET /metrics` in the Prometheus text format. Every
//! label has a bounded set of values: status codes, rejection reasons, error kinds, and
//! tenants (which only the operator creates).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Metric, Registry};

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CodeLabels {
    pub code: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct GrpcCodeLabels {
    /// The gRPC status code number (0 = OK).
    pub code: i32,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabels {
    pub reason: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TenantLabels {
    pub tenant: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabels {
    pub kind: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabels {
    pub result: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StateLabels {
    pub state: &'static str,
}

/// Every `reason` of `peeper_server_rejected_requests_total`, exposed at 0 from the start so
/// dashboards and rules see a rate of 0 rather than no series.
pub const REJECT_REASONS: [&str; 22] = [
    "unauthenticated",
    "forbidden_address",
    "tenant_unmapped",
    "body_too_large",
    "decoded_too_large",
    "body_read",
    "body_timeout",
    "server_busy",
    "token_busy",
    "unsupported_encoding",
    "malformed",
    "too_many_series",
    "too_many_labels",
    "label_name_too_long",
    "label_value_too_long",
    "empty_label_name",
    "invalid_utf8",
    "invalid_label_name",
    "invalid_metric_name",
    "sample_in_future",
    "rate_limited",
    "series_limit",
];

/// Every `kind` of `peeper_server_forward_errors_total`, exposed at 0 from the start.
pub const FORWARD_ERROR_KINDS: [&str; 7] = [
    "client",
    "decode",
    "rejected",
    "throttled",
    "unavailable",
    "timeout",
    "connect",
];

/// The counters and histograms the ingest path updates.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    /// `peeper_server_requests_total{code}`: write requests by response status.
    pub requests: Family<CodeLabels, Counter>,
    /// `peeper_server_grpc_batches_total{code}`: gRPC batches (unary calls and stream
    /// messages) by gRPC status code.
    pub grpc_batches: Family<GrpcCodeLabels, Counter>,
    /// `peeper_server_samples_received_total{tenant}`: samples the store accepted.
    pub samples: Family<TenantLabels, Counter>,
    /// `peeper_server_series_received_total{tenant}`: series the store accepted.
    pub series: Family<TenantLabels, Counter>,
    /// `peeper_server_rejected_requests_total{reason}`: one reason per limit or auth failure.
    pub rejected: Family<ReasonLabels, Counter>,
    /// `peeper_server_forward_duration_seconds`: time the store took to answer.
    pub forward_duration: Histogram,
    /// `peeper_server_forward_errors_total{kind}`: forwards the store did not accept.
    pub forward_errors: Family<KindLabels, Counter>,
    /// Writes sent to the store (a write may carry several batches).
    pub store_writes: Counter,
    /// `peeper_server_liveness_syncs_total{result}`: liveness syncs (ok, read_error, write_error).
    pub liveness_syncs: Family<ResultLabels, Counter>,
    /// `peeper_server_agents{state}`: agents known to liveness tracking, up or silent.
    pub agents: Family<StateLabels, Gauge>,
    /// `peeper_server_checks{state}`: passive checks, ok, err or overdue.
    pub checks: Family<StateLabels, Gauge>,
    /// `peeper_server_connections_refused_total{reason}`: connections closed at accept.
    pub connections_refused: Family<ReasonLabels, Counter>,
    /// `peeper_server_connections_closed_idle_total`: connections that sent no request in time.
    pub connections_closed_idle: Counter,
    /// `peeper_server_config_reloads_total{result}`: SIGHUP reloads, success or error.
    pub config_reloads: Family<ResultLabels, Counter>,
}

/// Registers `metric` under `name` and returns it (the registry keeps a clone sharing its
/// values).
fn register<M: Metric + Clone>(registry: &mut Registry, name: &str, help: &str, metric: M) -> M {
    registry.register(name, help, metric.clone());
    metric
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("peeper_server");
        // Fields in registration order: the order of the exposition.
        let metrics = Metrics {
            requests: register(
                &mut registry,
                "requests",
                "Remote-write requests, by HTTP status of the answer",
                Family::<CodeLabels, Counter>::default(),
            ),
            grpc_batches: register(
                &mut registry,
                "grpc_batches",
                "gRPC write batches (unary calls and stream messages), by gRPC status code",
                Family::<GrpcCodeLabels, Counter>::default(),
            ),
            samples: register(
                &mut registry,
                "samples_received",
                "Samples forwarded to and accepted by the store, by tenant",
                Family::<TenantLabels, Counter>::default(),
            ),
            series: register(
                &mut registry,
                "series_received",
                "Series forwarded to and accepted by the store, by tenant",
                Family::<TenantLabels, Counter>::default(),
            ),
            rejected: register(
                &mut registry,
                "rejected_requests",
                "Requests refused before forwarding, by reason (auth failure or limit)",
                Family::<ReasonLabels, Counter>::default(),
            ),
            forward_duration: register(
                &mut registry,
                "forward_duration_seconds",
                "Time from sending a batch to the store until it answered",
                Histogram::new(exponential_buckets(0.001, 2.0, 16)),
            ),
            forward_errors: register(
                &mut registry,
                "forward_errors",
                "Forwards the store did not accept, by kind (unavailable, rejected, timeout, connect)",
                Family::<KindLabels, Counter>::default(),
            ),
            store_writes: register(
                &mut registry,
                "store_writes",
                "Writes sent to the store; one write carries one or several agents' batches \
                 (store_batch_window)",
                Counter::default(),
            ),
            liveness_syncs: register(
                &mut registry,
                "liveness_syncs",
                "Liveness syncs with the store, by result (ok, read_error, write_error)",
                Family::<ResultLabels, Counter>::default(),
            ),
            agents: register(
                &mut registry,
                "agents",
                "Agents known to liveness tracking, by state (up, silent)",
                Family::<StateLabels, Gauge>::default(),
            ),
            checks: register(
                &mut registry,
                "checks",
                "Passive checks known to liveness tracking, by state (ok, err, overdue)",
                Family::<StateLabels, Gauge>::default(),
            ),
            connections_refused: register(
                &mut registry,
                "connections_refused",
                "Connections closed at accept, by the limit they met (max_connections, max_connections_per_address)",
                Family::<ReasonLabels, Counter>::default(),
            ),
            connections_closed_idle: register(
                &mut registry,
                "connections_closed_idle",
                "Connections closed because they sent no request within the first-request or idle timeout",
                Counter::default(),
            ),
            config_reloads: register(
                &mut registry,
                "config_reloads",
                "Reloads of the configuration and TLS certificate (SIGHUP), by result (success, or \
                 error: refused, the running configuration stays)",
                Family::<ResultLabels, Counter>::default(),
            ),
            registry,
        };
        metrics.zero_series();
        metrics
    }

    /// The label values known in advance, exposed at 0 from the start.
    fn zero_series(&self) {
        for result in ["success", "error"] {
            let _ = self.config_reloads.get_or_create(&ResultLabels { result });
        }
        for reason in REJECT_REASONS {
            let _ = self.rejected.get_or_create(&ReasonLabels { reason });
        }
        for kind in FORWARD_ERROR_KINDS {
            let _ = self.forward_errors.get_or_create(&KindLabels { kind });
        }
        for reason in ["max_connections", "max_connections_per_address"] {
            let _ = self
                .connections_refused
                .get_or_create(&ReasonLabels { reason });
        }
    }

    pub fn reject(&self, reason: &'static str) {
        self.rejected.get_or_create(&ReasonLabels { reason }).inc();
    }

    pub fn connection_refused(&self, reason: &'static str) {
        self.connections_refused
            .get_or_create(&ReasonLabels { reason })
            .inc();
    }

    pub fn store_write(&self) {
        self.store_writes.inc();
    }

    pub fn connection_closed_idle(&self) {
        self.connections_closed_idle.inc();
    }

    pub fn liveness_sync(&self, result: &'static str) {
        self.liveness_syncs
            .get_or_create(&ResultLabels { result })
            .inc();
    }

    /// Sets the agents and checks gauges from liveness state at `now`.
    pub fn liveness_state(
        &self,
        state: &crate::liveness::model::State,
        policy: &crate::liveness::Policy,
        now: f64,
    ) {
        let up = state.agents.values().filter(|a| a.up(now)).count();
        let set = |family: &Family<StateLabels, Gauge>, state: &'static str, n: usize| {
            family.get_or_create(&StateLabels { state }).set(n as i64);
        };
        set(&self.agents, "up", up);
        set(&self.agents, "silent", state.agents.len() - up);
        let overdue = state
            .checks
            .values()
            .filter(|c| policy.overdue(c, now))
            .count();
        let ok = state
            .checks
            .values()
            .filter(|c| c.ok && !policy.overdue(c, now))
            .count();
        set(&self.checks, "ok", ok);
        set(&self.checks, "overdue", overdue);
        set(&self.checks, "err", state.checks.len() - ok - overdue);
    }

    /// The text exposition of every metric.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .expect("writing to a String cannot fail");
        out
    }
}
