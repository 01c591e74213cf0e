//! Kernel counters from `/proc/stat`, as node_exporter's stat collector (stat_linux.go).

use super::LinuxError;
use peeper_proto::MetricFamily;

/// The non-CPU values of `/proc/stat`; `None` where the kernel did not report the line.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct StatValues {
    pub intr: Option<f64>,
    pub ctxt: Option<f64>,
    pub btime: Option<f64>,
    pub processes: Option<f64>,
    pub procs_running: Option<f64>,
    pub procs_blocked: Option<f64>,
}

pub fn parse_stat(text: &str) -> Result<StatValues, LinuxError> {
    let mut values = StatValues::default();
    for line in text.lines() {
        let mut fields = line.split_ascii_whitespace();
        let (Some(key), Some(value)) = (fields.next(), fields.next()) else {
            continue;
        };
        let slot = match key {
            "intr" => &mut values.intr,
            "ctxt" => &mut values.ctxt,
            "btime" => &mut values.btime,
            "processes" => &mut values.processes,
            "procs_running" => &mut values.procs_running,
            "procs_blocked" => &mut values.procs_blocked,
            _ => continue,
        };
        let parsed: u64 = value
            .parse()
            .map_err(|_| LinuxError::parse("/proc/stat", format!("bad {key} value {value:?}")))?;
        *slot = Some(parsed as f64);
    }
    if values == StatValues::default() {
        return Err(LinuxError::parse("/proc/stat", "no kernel counters"));
    }
    Ok(values)
}

pub fn families(values: &StatValues, out: &mut Vec<MetricFamily>) {
    let mut emit = |value: Option<f64>, family: MetricFamily| {
        if let Some(value) = value {
            out.push(family.with(&[], value));
        }
    };
    emit(
        values.intr,
        MetricFamily::counter("node_intr_total", "Total number of interrupts serviced."),
    );
    emit(
        values.ctxt,
        MetricFamily::counter(
            "node_context_switches_total",
            "Total number of context switches.",
        ),
    );
    emit(
        values.processes,
        MetricFamily::counter("node_forks_total", "Total number of forks."),
    );
    emit(
        values.btime,
        MetricFamily::gauge("node_boot_time_seconds", "Node boot time, in unixtime."),
    );
    emit(
        values.procs_running,
        MetricFamily::gauge(
            "node_procs_running",
            "Number of processes in runnable state.",
        ),
    );
    emit(
        values.procs_blocked,
        MetricFamily::gauge(
            "node_procs_blocked",
            "Number of processes blocked waiting for I/O to complete.",
        ),
    );
}
