//! `node_schedstat_{running,waiting}_seconds_total{cpu}` and `node_schedstat_timeslices_total`
//! from `/proc/schedstat` (node_exporter schedstat_linux.go). Kernels built without
//! `CONFIG_SCHEDSTATS` have no such file: "no data", as node_exporter reports it.

use super::{LinuxError, Paths};
use peeper_proto::MetricFamily;

/// One `cpuN` line: its number, and its 7th, 8th and 9th values (running and waiting
/// nanoseconds, timeslices).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CpuSched<'a> {
    pub cpu: &'a str,
    pub running_ns: u64,
    pub waiting_ns: u64,
    pub timeslices: u64,
}

/// The `cpuN v1 ... v9` lines (others, such as `version` and `domain0`, are skipped, and so
/// is a `cpu` line with fewer than nine numbers, as procfs's pattern skips it).
pub fn parse_schedstat(text: &str) -> Vec<CpuSched<'_>> {
    let mut cpus = Vec::with_capacity(8);
    for line in text.lines() {
        let mut fields = line.split(' ');
        let Some(cpu) = fields.next().and_then(|f| f.strip_prefix("cpu")) else {
            continue;
        };
        if cpu.is_empty() || !cpu.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let mut values = [0u64; 9];
        let mut count = 0;
        for (slot, field) in values.iter_mut().zip(fields) {
            match field.parse() {
                Ok(value) if field.bytes().all(|b| b.is_ascii_digit()) => *slot = value,
                _ => break,
            }
            count += 1;
        }
        if count < values.len() {
            continue;
        }
        cpus.push(CpuSched {
            cpu,
            running_ns: values[6],
            waiting_ns: values[7],
            timeslices: values[8],
        });
    }
    cpus
}

pub fn families(cpus: &[CpuSched<'_>], out: &mut Vec<MetricFamily>) {
    let mut running = MetricFamily::counter(
        "node_schedstat_running_seconds_total",
        "Number of seconds CPU spent running a process.",
    );
    let mut waiting = MetricFamily::counter(
        "node_schedstat_waiting_seconds_total",
        "Number of seconds spent by processing waiting for this CPU.",
    );
    let mut timeslices = MetricFamily::counter(
        "node_schedstat_timeslices_total",
        "Number of timeslices executed by CPU.",
    );
    for cpu in cpus {
        let labels = [("cpu", cpu.cpu)];
        running.push(&labels, cpu.running_ns as f64 / 1e9);
        waiting.push(&labels, cpu.waiting_ns as f64 / 1e9);
        timeslices.push(&labels, cpu.timeslices as f64);
    }
    out.extend([running, waiting, timeslices]);
}

pub fn collect(
    paths: &Paths,
    buf: &mut String,
    out: &mut Vec<MetricFamily>,
) -> Result<(), LinuxError> {
    match super::read_into(&paths.schedstat, buf) {
        Err(error) if super::not_found(&error) => {
            return Err(LinuxError::NoData("schedstat file does not exist"));
        }
        read => read?,
    }
    families(&parse_schedstat(buf), out);
    Ok(())
}
