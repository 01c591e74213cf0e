//! cAdvisor's usage families (CPU, memory, network, block I/O) from one-shot stats.

use super::Families;
use bollard::models::{
    ContainerBlkioStats, ContainerCpuStats, ContainerMemoryStats, ContainerNetworkStats,
    ContainerStatsResponse,
};
use std::collections::HashMap;

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
    device: impl FnMut(u64, u64) -> String,
) {
    if let Some(cpu) = &stats.cpu_stats {
        add_cpu(out, labels, cpu);
    }
    if let Some(memory) = &stats.memory_stats {
        add_memory(out, labels, memory);
    }
    if let Some(networks) = &stats.networks {
        add_networks(out, labels, networks);
    }
    if let Some(blkio) = &stats.blkio_stats {
        add_blkio(out, labels, blkio, device);
    }
}

fn add_cpu(out: &mut Families, labels: &[(&str, &str)], cpu: &ContainerCpuStats) {
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

/// The network families, per interface in name order.
fn add_networks(
    out: &mut Families,
    labels: &[(&str, &str)],
    networks: &HashMap<String, ContainerNetworkStats>,
) {
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

/// The block I/O families, per device.
fn add_blkio(
    out: &mut Families,
    labels: &[(&str, &str)],
    blkio: &ContainerBlkioStats,
    mut device: impl FnMut(u64, u64) -> String,
) {
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

fn add_memory(out: &mut Families, labels: &[(&str, &str)], memory: &ContainerMemoryStats) {
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
