//! The cpu area's `/sys/devices/system/cpu` part, as node_exporter 1.5's cpu collector
//! (cpu_linux.go): `node_cpu_core_throttles_total{package,core}` and
//! `node_cpu_package_throttles_total{package}` from each CPU's `thermal_throttle/` (where the
//! kernel has it: Intel CPUs with the therm_throt driver), and `node_cpu_isolated{cpu}` from
//! `isolated`.

use super::{LinuxError, Paths};
use peeper_proto::MetricFamily;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The `cpu[0-9]*` directories below `dir`, in name order (as Go's `filepath.Glob` lists
/// them: `cpu10` before `cpu2`). A missing directory has none.
pub fn cpu_dirs(dir: &Path) -> Vec<(String, PathBuf)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut cpus: Vec<(String, PathBuf)> = entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            let number = name.strip_prefix("cpu")?;
            number
                .starts_with(|c: char| c.is_ascii_digit())
                .then(|| (name.clone(), entry.path()))
        })
        .collect();
    cpus.sort_unstable();
    cpus
}

/// node_exporter's `readUintFromFile`: the trimmed contents as a decimal `u64`.
fn read_uint(path: &Path, buf: &mut String) -> Option<u64> {
    super::read_into(path, buf).ok()?;
    let text = buf.trim();
    if text.starts_with('+') {
        return None;
    }
    text.parse().ok()
}

/// The throttle counts: per package, and per (package, core).
#[derive(Debug, Default, PartialEq)]
pub struct Throttles {
    pub packages: BTreeMap<u64, u64>,
    pub cores: BTreeMap<(u64, u64), u64>,
}

/// Reads the throttle counts of `cpus` as node_exporter does: a CPU without a readable
/// `topology/physical_package_id` and `core_id` is skipped; each core's count is read from
/// the first CPU of that core that has it, each package's from the first CPU of that package.
pub fn throttles(cpus: &[(String, PathBuf)], buf: &mut String) -> Throttles {
    let mut found = Throttles::default();
    for (_, dir) in cpus {
        let throttle = dir.join("thermal_throttle");
        // Nothing can be read without it; skipping the topology reads changes nothing.
        if !throttle.is_dir() {
            continue;
        }
        let topology = dir.join("topology");
        let Some(package) = read_uint(&topology.join("physical_package_id"), buf) else {
            continue;
        };
        let Some(core) = read_uint(&topology.join("core_id"), buf) else {
            continue;
        };
        if !found.cores.contains_key(&(package, core))
            && let Some(count) = read_uint(&throttle.join("core_throttle_count"), buf)
        {
            found.cores.insert((package, core), count);
        }
        if !found.packages.contains_key(&package)
            && let Some(count) = read_uint(&throttle.join("package_throttle_count"), buf)
        {
            found.packages.insert(package, count);
        }
    }
    found
}

pub fn throttle_families(throttles: &Throttles, out: &mut Vec<MetricFamily>) {
    let mut packages = MetricFamily::counter(
        "node_cpu_package_throttles_total",
        "Number of times this CPU package has been throttled.",
    );
    for (package, count) in &throttles.packages {
        packages.push(&[("package", &package.to_string())], *count as f64);
    }
    let mut cores = MetricFamily::counter(
        "node_cpu_core_throttles_total",
        "Number of times this CPU core has been throttled.",
    );
    for ((package, core), count) in &throttles.cores {
        let (package, core) = (package.to_string(), core.to_string());
        cores.push(&[("package", &package), ("core", &core)], *count as f64);
    }
    out.push(packages);
    out.push(cores);
}

/// Parses `isolated` (`1,3-5`) as procfs' `parseIsolatedCPUs`.
pub fn parse_isolated(text: &str) -> Result<Vec<u16>, String> {
    let number = |text: &str| {
        text.parse::<i64>()
            .map_err(|_| format!("invalid cpu number {text:?} in isolated"))
    };
    let mut cpus = Vec::new();
    for part in text.trim_end_matches('\n').split(',') {
        if part.is_empty() {
            continue;
        }
        if part.contains('-') {
            let mut ends = part.split('-');
            let (Some(start), Some(end), None) = (ends.next(), ends.next(), ends.next()) else {
                return Err(format!("invalid cpu range: {part}"));
            };
            let (start, end) = (number(start)?, number(end)?);
            // No kernel has more CPUs than a u16 counts; refuse a range that would not end.
            if end.saturating_sub(start) > i64::from(u16::MAX) {
                return Err(format!("invalid cpu range: {part}"));
            }
            // procfs stores each as a uint16, wrapping as Go's conversion does.
            cpus.extend((start..=end).map(|cpu| cpu as u16));
            continue;
        }
        cpus.push(number(part)? as u16);
    }
    Ok(cpus)
}

/// Reads `isolated` once, when the collector starts, as node_exporter does. A kernel without
/// the file has no isolated CPUs; a file that cannot be read or parsed fails the cpu area.
pub fn read_isolated(paths: &Paths, buf: &mut String) -> Result<Vec<u16>, String> {
    let path = paths.sys.join("devices/system/cpu/isolated");
    match super::read_into(&path, buf) {
        Ok(()) => parse_isolated(buf),
        Err(error) if super::not_found(&error) => Ok(Vec::new()),
        Err(error) => Err(error.to_string()),
    }
}

pub fn isolated_family(cpus: &[u16]) -> MetricFamily {
    let mut isolated = MetricFamily::gauge(
        "node_cpu_isolated",
        "Whether each core is isolated, information from /sys/devices/system/cpu/isolated.",
    );
    for cpu in cpus {
        isolated.push(&[("cpu", &cpu.to_string())], 1.0);
    }
    isolated
}

/// Turns the error of a failed `isolated` read into the area's error.
pub fn isolated_error(reason: &str) -> LinuxError {
    LinuxError::parse("/sys/devices/system/cpu/isolated", reason.to_owned())
}
