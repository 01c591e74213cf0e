//! `node_pressure_*` from `/proc/pressure/{cpu,io,memory,irq}` (node_exporter
//! pressure_linux.go). Totals are microseconds; a missing file skips that resource, and no
//! resource at all (kernel < 4.20 or PSI off) fails the area with "no data".

use super::{LinuxError, Paths};
use peeper_proto::MetricFamily;

/// The `total=` values of a PSI file, in seconds.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct Psi {
    pub some: Option<f64>,
    pub full: Option<f64>,
}

/// Parses `some avg10=0.00 avg60=0.00 avg300=0.00 total=123` / `full ...` lines.
pub fn parse_psi(text: &str) -> Result<Psi, LinuxError> {
    let mut psi = Psi::default();
    for line in text.lines() {
        let mut fields = line.split_ascii_whitespace();
        let slot = match fields.next() {
            Some("some") => &mut psi.some,
            Some("full") => &mut psi.full,
            _ => continue,
        };
        let total = fields
            .find_map(|f| f.strip_prefix("total="))
            .ok_or_else(|| LinuxError::parse("/proc/pressure", format!("no total in {line:?}")))?;
        let micros: u64 = total
            .parse()
            .map_err(|_| LinuxError::parse("/proc/pressure", format!("bad total in {line:?}")))?;
        *slot = Some(micros as f64 / 1000.0 / 1000.0);
    }
    Ok(psi)
}

const CPU_WAITING: (&str, &str) = (
    "node_pressure_cpu_waiting_seconds_total",
    "Total time in seconds that processes have waited for CPU time",
);
const IO_WAITING: (&str, &str) = (
    "node_pressure_io_waiting_seconds_total",
    "Total time in seconds that processes have waited due to IO congestion",
);
const IO_STALLED: (&str, &str) = (
    "node_pressure_io_stalled_seconds_total",
    "Total time in seconds no process could make progress due to IO congestion",
);
const MEMORY_WAITING: (&str, &str) = (
    "node_pressure_memory_waiting_seconds_total",
    "Total time in seconds that processes have waited for memory",
);
const MEMORY_STALLED: (&str, &str) = (
    "node_pressure_memory_stalled_seconds_total",
    "Total time in seconds no process could make progress due to memory congestion",
);
const IRQ_STALLED: (&str, &str) = (
    "node_pressure_irq_stalled_seconds_total",
    "Total time in seconds no process could make progress due to IRQ congestion",
);

/// Which `some` and `full` families a resource exposes.
type Resource = (
    &'static str,
    Option<(&'static str, &'static str)>,
    Option<(&'static str, &'static str)>,
);

const RESOURCES: [Resource; 4] = [
    ("cpu", Some(CPU_WAITING), None),
    ("io", Some(IO_WAITING), Some(IO_STALLED)),
    ("memory", Some(MEMORY_WAITING), Some(MEMORY_STALLED)),
    ("irq", None, Some(IRQ_STALLED)),
];

/// Turns one resource's values into families, or "no data" when a required line is missing.
pub fn resource_families(
    resource: &str,
    psi: &Psi,
    out: &mut Vec<MetricFamily>,
) -> Result<(), LinuxError> {
    let Some((_, some, full)) = RESOURCES.iter().find(|(name, _, _)| *name == resource) else {
        return Ok(());
    };
    // IRQ pressure has no "some" line; every resource but cpu must have "full".
    if psi.some.is_none() && resource != "irq" {
        return Err(LinuxError::NoData(
            "pressure information returned no 'some' data",
        ));
    }
    if psi.full.is_none() && resource != "cpu" {
        return Err(LinuxError::NoData(
            "pressure information returned no 'full' data",
        ));
    }
    for (spec, value) in [(some, psi.some), (full, psi.full)] {
        if let (Some((name, help)), Some(value)) = (spec, value) {
            out.push(MetricFamily::counter(*name, *help).with(&[], value));
        }
    }
    Ok(())
}

pub fn collect(
    paths: &Paths,
    buf: &mut String,
    out: &mut Vec<MetricFamily>,
) -> Result<(), LinuxError> {
    let mut found = 0;
    let mut families = Vec::with_capacity(6);
    for (resource, _, _) in RESOURCES {
        match super::read_into(&paths.pressure.join(resource), buf) {
            Ok(()) => {}
            Err(LinuxError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                continue;
            }
            Err(LinuxError::Io { source, .. })
                if source.raw_os_error() == Some(rustix::io::Errno::OPNOTSUPP.raw_os_error()) =>
            {
                return Err(LinuxError::NoData(
                    "pressure information is disabled, add psi=1 kernel command line to enable it",
                ));
            }
            Err(error) => return Err(error),
        }
        let psi = parse_psi(buf)?;
        resource_families(resource, &psi, &mut families)?;
        found += 1;
    }
    if found == 0 {
        return Err(LinuxError::NoData(
            "pressure information is unavailable, you need a Linux kernel >= 4.20 and/or CONFIG_PSI enabled for your kernel",
        ));
    }
    out.extend(families);
    Ok(())
}
