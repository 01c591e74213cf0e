//! `node_softnet_{processed,dropped,times_squeezed}_total{cpu}` from `/proc/net/softnet_stat`
//! (node_exporter 1.5 softnet_linux.go). One line per CPU; the `cpu` label is the line's
//! index, as 1.5 numbers them.

use super::{LinuxError, Paths};
use peeper_proto::MetricFamily;

/// The first three hexadecimal columns of a line: processed, dropped, times squeezed.
pub fn parse_softnet(text: &str) -> Result<Vec<[u32; 3]>, LinuxError> {
    const MIN_COLUMNS: usize = 9;
    let mut cpus = Vec::with_capacity(8);
    for line in text.lines() {
        let columns = line.split_ascii_whitespace();
        if columns.clone().count() < MIN_COLUMNS {
            return Err(LinuxError::parse(
                "/proc/net/softnet_stat",
                format!("fewer than {MIN_COLUMNS} columns in {line:?}"),
            ));
        }
        let mut values = [0u32; 3];
        for (value, column) in values.iter_mut().zip(columns) {
            *value = u32::from_str_radix(column, 16).map_err(|_| {
                LinuxError::parse("/proc/net/softnet_stat", format!("bad value {column:?}"))
            })?;
        }
        cpus.push(values);
    }
    Ok(cpus)
}

pub fn families(cpus: &[[u32; 3]], out: &mut Vec<MetricFamily>) {
    let mut processed = MetricFamily::counter(
        "node_softnet_processed_total",
        "Number of processed packets",
    );
    let mut dropped =
        MetricFamily::counter("node_softnet_dropped_total", "Number of dropped packets");
    let mut squeezed = MetricFamily::counter(
        "node_softnet_times_squeezed_total",
        "Number of times processing packets ran out of quota",
    );
    for (index, values) in cpus.iter().enumerate() {
        let cpu = index.to_string();
        let labels = [("cpu", cpu.as_str())];
        processed.push(&labels, f64::from(values[0]));
        dropped.push(&labels, f64::from(values[1]));
        squeezed.push(&labels, f64::from(values[2]));
    }
    out.extend([processed, dropped, squeezed]);
}

pub fn collect(
    paths: &Paths,
    buf: &mut String,
    out: &mut Vec<MetricFamily>,
) -> Result<(), LinuxError> {
    super::read_into(&paths.net_softnet, buf)?;
    families(&parse_softnet(buf)?, out);
    Ok(())
}
