//! Turning the engine's answers (container list, one-shot stats, inspect) into cAdvisor's
//! families plus Peeper's state families. Pure functions over bollard's models, so they are
//! tested with recorded JSON.

use super::text::{exit_code, health_from_status, parse_rfc3339, sanitize};
use bollard::models::{ContainerInspectResponse, ContainerSummary};
use peeper_proto::MetricFamily;
use std::collections::HashMap;

mod usage;

pub use usage::add_stats;

/// Every container state the engine reports, for the one-hot `container_state` and the
/// `docker_containers` totals.
pub const STATES: [&str; 7] = [
    "created",
    "running",
    "paused",
    "restarting",
    "removing",
    "exited",
    "dead",
];

const HEALTH: [&str; 3] = ["starting", "healthy", "unhealthy"];

#[derive(Clone, Copy)]
enum Kind {
    Gauge,
    Counter,
}

/// The families of one cycle, found by name as series are added.
#[derive(Default)]
pub struct Families {
    list: Vec<MetricFamily>,
    index: HashMap<&'static str, usize>,
}

impl Families {
    fn push(
        &mut self,
        name: &'static str,
        help: &str,
        kind: Kind,
        labels: &[(&str, &str)],
        value: f64,
    ) {
        let index = *self.index.entry(name).or_insert_with(|| {
            self.list.push(match kind {
                Kind::Gauge => MetricFamily::gauge(name, help),
                Kind::Counter => MetricFamily::counter(name, help),
            });
            self.list.len() - 1
        });
        self.list[index].push(labels, value);
    }

    fn gauge(&mut self, name: &'static str, help: &str, labels: &[(&str, &str)], value: f64) {
        self.push(name, help, Kind::Gauge, labels, value);
    }

    fn counter(&mut self, name: &'static str, help: &str, labels: &[(&str, &str)], value: f64) {
        self.push(name, help, Kind::Counter, labels, value);
    }

    pub fn into_vec(self) -> Vec<MetricFamily> {
        self.list
    }
}

/// The identity labels of one container: cAdvisor's `name`, `image`, `id`, then
/// `container_label_<name>` for each configured label the container carries.
pub fn container_labels(
    summary: &ContainerSummary,
    systemd_cgroups: bool,
    wanted: &[String],
) -> Vec<(String, String)> {
    let id = summary.id.as_deref().unwrap_or_default();
    let name = summary
        .names
        .as_ref()
        .and_then(|names| names.first())
        .map(|n| n.trim_start_matches('/'))
        .unwrap_or(id);
    // cAdvisor's `id` is the container's cgroup.
    let cgroup = if systemd_cgroups {
        format!("/system.slice/docker-{id}.scope")
    } else {
        format!("/docker/{id}")
    };
    let mut labels = vec![
        ("name".to_owned(), name.to_owned()),
        (
            "image".to_owned(),
            summary.image.clone().unwrap_or_default(),
        ),
        ("id".to_owned(), cgroup),
    ];
    if let Some(all) = &summary.labels {
        for key in wanted {
            if let Some(value) = all.get(key) {
                labels.push((format!("container_label_{}", sanitize(key)), value.clone()));
            }
        }
    }
    labels
}

/// The state word of a listed container (`running`, `exited`, ...).
pub fn state_of(summary: &ContainerSummary) -> String {
    summary
        .state
        .as_ref()
        .map(ToString::to_string)
        .unwrap_or_default()
}

/// Adds the state families of one listed container (running or not).
pub fn add_state(out: &mut Families, labels: &[(&str, &str)], summary: &ContainerSummary) {
    let state = state_of(summary);
    for candidate in STATES {
        let mut with = labels.to_vec();
        with.push(("state", candidate));
        out.gauge(
            "container_state",
            "Peeper: 1 for the container's current state (created, running, paused, restarting, removing, exited, dead), 0 for the others.",
            &with,
            if state == candidate { 1.0 } else { 0.0 },
        );
    }
    let status = summary.status.as_deref().unwrap_or_default();
    if state != "running"
        && let Some(code) = exit_code(status)
    {
        out.gauge(
            "container_exit_code",
            "Peeper: exit code of a container that is not running.",
            labels,
            code,
        );
    }
    if let Some(health) = health_from_status(status) {
        for candidate in HEALTH {
            let mut with = labels.to_vec();
            with.push(("status", candidate));
            out.gauge(
                "container_health_status",
                "Peeper: 1 for the container's current health-check status (starting, healthy, unhealthy), 0 for the others; only containers with a health check.",
                &with,
                if health == candidate { 1.0 } else { 0.0 },
            );
        }
    }
}

/// Adds what `inspect` knows of a running container.
pub fn add_inspect(
    out: &mut Families,
    labels: &[(&str, &str)],
    inspect: &ContainerInspectResponse,
) {
    if let Some(count) = inspect.restart_count {
        out.gauge(
            "container_restart_count",
            "Peeper: number of times the engine restarted the container.",
            labels,
            count as f64,
        );
    }
    if let Some(started) = inspect
        .state
        .as_ref()
        .and_then(|s| s.started_at.as_deref())
        .and_then(parse_rfc3339)
    {
        out.gauge(
            "container_start_time_seconds",
            "Start time of the container since unix epoch in seconds.",
            labels,
            started,
        );
    }
    let limit = inspect
        .host_config
        .as_ref()
        .and_then(|h| h.memory)
        .unwrap_or(0);
    out.gauge(
        "container_spec_memory_limit_bytes",
        "Memory limit for the container.",
        labels,
        limit.max(0) as f64,
    );
}

/// `container_last_seen` for a container seen this cycle.
pub fn add_last_seen(out: &mut Families, labels: &[(&str, &str)], now: f64) {
    out.gauge(
        "container_last_seen",
        "Last time a container was seen by the exporter",
        labels,
        now,
    );
}

/// The engine's totals: containers per state and images.
pub fn add_engine(out: &mut Families, states: &HashMap<String, usize>, images: Option<i64>) {
    for state in STATES {
        out.gauge(
            "docker_containers",
            "Peeper: containers known to the engine, by state.",
            &[("state", state)],
            states.get(state).copied().unwrap_or(0) as f64,
        );
    }
    if let Some(images) = images {
        out.gauge(
            "docker_images",
            "Peeper: images held by the engine.",
            &[],
            images as f64,
        );
    }
}

/// `docker_engine_info{version}`: the engine's version, value 1.
pub fn add_info(out: &mut Families, version: &str) {
    out.gauge(
        "docker_engine_info",
        "Peeper: the Docker engine's version, value 1.",
        &[("version", version)],
        1.0,
    );
}
