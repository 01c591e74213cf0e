//! `node_load1`, `node_load5`, `node_load15` from `/proc/loadavg` (node_exporter loadavg.go).

use super::LinuxError;
use peeper_proto::MetricFamily;

pub fn parse_loadavg(text: &str) -> Result<[f64; 3], LinuxError> {
    let mut fields = text.split_ascii_whitespace();
    let mut loads = [0.0; 3];
    for load in &mut loads {
        let field = fields
            .next()
            .ok_or_else(|| LinuxError::parse("/proc/loadavg", format!("too short: {text:?}")))?;
        *load = field
            .parse()
            .map_err(|_| LinuxError::parse("/proc/loadavg", format!("bad value {field:?}")))?;
    }
    Ok(loads)
}

pub fn families(loads: [f64; 3], out: &mut Vec<MetricFamily>) {
    out.push(MetricFamily::gauge("node_load1", "1m load average.").with(&[], loads[0]));
    out.push(MetricFamily::gauge("node_load5", "5m load average.").with(&[], loads[1]));
    out.push(MetricFamily::gauge("node_load15", "15m load average.").with(&[], loads[2]));
}
