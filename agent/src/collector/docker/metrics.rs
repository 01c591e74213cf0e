//! Turning the engine's answers (container list, one-shot stats, inspect) into cAdvisor's
//! families plus Peeper's state families. Pure functions over bollard's models, so they are
//! tested with recorded JSON.

use super::text::{exit_code, health_from_status, parse_rfc3339, sanitize};
use bollard::models::{ContainerInspectResponse, ContainerStatsResponse, ContainerSummary};
use peeper_proto::MetricFamily;
use std::collections::HashMap;

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

const NS: f64 = 1e9;

fn with<'a>(labels: &[(&'a str, &'a str)], extra: (&'a str, &'a str)) -> Vec<(&'a str, &'a str)> {
    let mut v = labels.to_vec();
    v.push(extra);
    v
}

/// Adds cAdvisor's usage families from one-shot stats. `device` names a block device by
/// major and minor number.
pub fn add_stats(
    out: &mut Families,
    labels: &[(&str, &str)],
    stats: &ContainerStatsResponse,
    mut device: impl FnMut(u64, u64) -> String,
) {
    if let Some(cpu) = &stats.cpu_stats {
        if let Some(usage) = &cpu.cpu_usage {
            if let Some(total) = usage.total_usage {
                out.counter(
                    "container_cpu_usage_seconds_total",
                    "Cumulative cpu time consumed in seconds.",
                    &with(labels, ("cpu", "total")),
                    total as f64 / NS,
                );
            }
            if let Some(user) = usage.usage_in_usermode {
                out.counter(
                    "container_cpu_user_seconds_total",
                    "Cumulative user cpu time consumed in seconds.",
                    labels,
                    user as f64 / NS,
                );
            }
            if let Some(system) = usage.usage_in_kernelmode {
                out.counter(
                    "container_cpu_system_seconds_total",
                    "Cumulative system cpu time consumed in seconds.",
                    labels,
                    system as f64 / NS,
                );
            }
        }
        // cAdvisor reports CFS figures only for containers with a CPU quota.
        if let Some(t) = &cpu.throttling_data
            && t.periods.unwrap_or(0) > 0
        {
            out.counter(
                "container_cpu_cfs_periods_total",
                "Number of elapsed enforcement period intervals.",
                labels,
                t.periods.unwrap_or(0) as f64,
            );
            out.counter(
                "container_cpu_cfs_throttled_periods_total",
                "Number of throttled period intervals.",
                labels,
                t.throttled_periods.unwrap_or(0) as f64,
            );
            out.counter(
                "container_cpu_cfs_throttled_seconds_total",
                "Total time duration the container has been throttled.",
                labels,
                t.throttled_time.unwrap_or(0) as f64 / NS,
            );
        }
    }
    if let Some(memory) = &stats.memory_stats {
        add_memory(out, labels, memory);
    }
    if let Some(networks) = &stats.networks {
        let mut names: Vec<&String> = networks.keys().collect();
        names.sort();
        for name in names {
            let n = &networks[name];
            let l = with(labels, ("interface", name));
            let rows: [(&'static str, &str, Option<u64>); 8] = [
                (
                    "container_network_receive_bytes_total",
                    "Cumulative count of bytes received",
                    n.rx_bytes,
                ),
                (
                    "container_network_receive_packets_total",
                    "Cumulative count of packets received",
                    n.rx_packets,
                ),
                (
                    "container_network_receive_errors_total",
                    "Cumulative count of errors encountered while receiving",
                    n.rx_errors,
                ),
                (
                    "container_network_receive_packets_dropped_total",
                    "Cumulative count of packets dropped while receiving",
                    n.rx_dropped,
                ),
                (
                    "container_network_transmit_bytes_total",
                    "Cumulative count of bytes transmitted",
                    n.tx_bytes,
                ),
                (
                    "container_network_transmit_packets_total",
                    "Cumulative count of packets transmitted",
                    n.tx_packets,
                ),
                (
                    "container_network_transmit_errors_total",
                    "Cumulative count of errors encountered while transmitting",
                    n.tx_errors,
                ),
                (
                    "container_network_transmit_packets_dropped_total",
                    "Cumulative count of packets dropped while transmitting",
                    n.tx_dropped,
                ),
            ];
            for (family, help, value) in rows {
                out.counter(family, help, &l, value.unwrap_or(0) as f64);
            }
        }
    }
    if let Some(blkio) = &stats.blkio_stats {
        let sets = [
            (
                &blkio.io_service_bytes_recursive,
                "container_fs_reads_bytes_total",
                "Cumulative count of bytes read",
                "container_fs_writes_bytes_total",
                "Cumulative count of bytes written",
            ),
            (
                &blkio.io_serviced_recursive,
                "container_fs_reads_total",
                "Cumulative count of reads completed",
                "container_fs_writes_total",
                "Cumulative count of writes completed",
            ),
        ];
        for (entries, read_name, read_help, write_name, write_help) in sets {
            // Summed per device: cgroup v1 lists a device once per operation kind.
            let mut per_device: Vec<((u64, u64), f64, f64)> = Vec::new();
            for entry in entries.iter().flatten() {
                let key = (entry.major.unwrap_or(0), entry.minor.unwrap_or(0));
                let value = entry.value.unwrap_or(0) as f64;
                let slot = match per_device.iter().position(|(k, _, _)| *k == key) {
                    Some(i) => i,
                    None => {
                        per_device.push((key, 0.0, 0.0));
                        per_device.len() - 1
                    }
                };
                match entry.op.as_deref().map(str::to_ascii_lowercase).as_deref() {
                    Some("read") => per_device[slot].1 += value,
                    Some("write") => per_device[slot].2 += value,
                    _ => {}
                }
            }
            for ((major, minor), read, write) in per_device {
                let name = device(major, minor);
                let l = with(labels, ("device", &name));
                out.counter(read_name, read_help, &l, read);
                out.counter(write_name, write_help, &l, write);
            }
        }
    }
}

fn add_memory(
    out: &mut Families,
    labels: &[(&str, &str)],
    memory: &bollard::models::ContainerMemoryStats,
) {
    let stats = memory.stats.as_ref();
    let stat = |keys: &[&str]| {
        keys.iter()
            .find_map(|k| stats.and_then(|s| s.get(*k)).copied())
    };
    let usage = memory.usage.unwrap_or(0);
    out.gauge(
        "container_memory_usage_bytes",
        "Current memory usage in bytes, including all memory regardless of when it was accessed",
        labels,
        usage as f64,
    );
    // cgroup v1 names first (hierarchical totals), then cgroup v2's.
    let inactive = stat(&["total_inactive_file", "inactive_file"]).unwrap_or(0);
    out.gauge(
        "container_memory_working_set_bytes",
        "Current working set in bytes.",
        labels,
        usage.saturating_sub(inactive) as f64,
    );
    if let Some(rss) = stat(&["total_rss", "anon", "rss"]) {
        out.gauge(
            "container_memory_rss",
            "Size of RSS in bytes.",
            labels,
            rss as f64,
        );
    }
    if let Some(cache) = stat(&["total_cache", "file", "cache"]) {
        out.gauge(
            "container_memory_cache",
            "Number of bytes of page cache memory.",
            labels,
            cache as f64,
        );
    }
    if let Some(swap) = stat(&["total_swap", "swap"]) {
        out.gauge(
            "container_memory_swap",
            "Container swap usage in bytes.",
            labels,
            swap as f64,
        );
    }
    if let Some(max) = memory.max_usage {
        out.gauge(
            "container_memory_max_usage_bytes",
            "Maximum memory usage recorded in bytes",
            labels,
            max as f64,
        );
    }
    out.counter(
        "container_memory_failcnt",
        "Number of memory usage hits limits",
        labels,
        memory.failcnt.unwrap_or(0) as f64,
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
