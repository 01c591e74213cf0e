//! `node_cpu_frequency_{,min_,max_}hertz{cpu}` and
//! `node_cpu_scaling_frequency_{,min_,max_}hertz{cpu}` from each CPU's `cpufreq/` directory,
//! as node_exporter 1.5's cpufreq collector (cpufreq_linux.go over procfs 0.8's
//! `SystemCpufreq`). 1.5 has no `node_cpu_scaling_governor`. A host without cpufreq (most
//! virtual machines) has none of them and the area still succeeds.

use super::cpu_sysfs::cpu_dirs;
use super::{LinuxError, Paths};
use peeper_proto::MetricFamily;
use std::io::ErrorKind;
use std::path::Path;

/// The frequency files in kHz, each with its family's name and help text.
const FREQUENCIES: [(&str, &str, &str); 6] = [
    (
        "cpuinfo_cur_freq",
        "node_cpu_frequency_hertz",
        "Current cpu thread frequency in hertz.",
    ),
    (
        "cpuinfo_min_freq",
        "node_cpu_frequency_min_hertz",
        "Minimum cpu thread frequency in hertz.",
    ),
    (
        "cpuinfo_max_freq",
        "node_cpu_frequency_max_hertz",
        "Maximum cpu thread frequency in hertz.",
    ),
    (
        "scaling_cur_freq",
        "node_cpu_scaling_frequency_hertz",
        "Current scaled CPU thread frequency in hertz.",
    ),
    (
        "scaling_min_freq",
        "node_cpu_scaling_frequency_min_hertz",
        "Minimum scaled CPU thread frequency in hertz.",
    ),
    (
        "scaling_max_freq",
        "node_cpu_scaling_frequency_max_hertz",
        "Maximum scaled CPU thread frequency in hertz.",
    ),
];

/// Files procfs reads too: one that cannot be read fails the collector, though no metric of
/// 1.5 carries them.
const REQUIRED: [&str; 6] = [
    "cpuinfo_transition_latency",
    "scaling_available_governors",
    "scaling_driver",
    "scaling_governor",
    "related_cpus",
    "scaling_setspeed",
];

/// `cpuinfo_transition_latency` is read as a number like the frequencies (absent is fine).
const LATENCY: &str = REQUIRED[0];

/// A frequency file as procfs' `ReadUintFromFile`: absent or unreadable for this user
/// (`cpuinfo_cur_freq` is root's) is `None`, anything but a decimal number an error.
fn read_khz(path: &Path, buf: &mut String) -> Result<Option<u64>, LinuxError> {
    match super::read_into(path, buf) {
        Ok(()) => {}
        Err(LinuxError::Io { source, .. })
            if matches!(
                source.kind(),
                ErrorKind::NotFound | ErrorKind::PermissionDenied
            ) =>
        {
            return Ok(None);
        }
        Err(error) => return Err(error),
    }
    let text = buf.trim();
    match text.parse::<u64>() {
        Ok(khz) if !text.starts_with('+') => Ok(Some(khz)),
        _ => Err(LinuxError::parse(
            "a cpufreq file",
            format!("{}: not a number: {text:?}", path.display()),
        )),
    }
}

/// One CPU's frequencies in kHz, in [`FREQUENCIES`] order.
pub fn read_cpu(dir: &Path, buf: &mut String) -> Result<[Option<u64>; 6], LinuxError> {
    let mut khz = [None; 6];
    for (slot, (file, _, _)) in khz.iter_mut().zip(FREQUENCIES) {
        *slot = read_khz(&dir.join(file), buf)?;
    }
    read_khz(&dir.join(LATENCY), buf)?;
    for file in &REQUIRED[1..] {
        super::read_into(&dir.join(file), buf)?;
    }
    Ok(khz)
}

pub fn collect(
    paths: &Paths,
    buf: &mut String,
    out: &mut Vec<MetricFamily>,
) -> Result<(), LinuxError> {
    let mut families: Vec<MetricFamily> = FREQUENCIES
        .iter()
        .map(|(_, name, help)| MetricFamily::gauge(*name, *help))
        .collect();
    for (name, dir) in cpu_dirs(&paths.sys_cpu) {
        let cpufreq = dir.join("cpufreq");
        match std::fs::metadata(&cpufreq) {
            Ok(_) => {}
            Err(error) if error.kind() == ErrorKind::NotFound => continue,
            Err(source) => {
                return Err(LinuxError::Io {
                    path: cpufreq,
                    source,
                });
            }
        }
        let khz = read_cpu(&cpufreq, buf)?;
        let cpu = [("cpu", &name["cpu".len()..])];
        for (family, value) in families.iter_mut().zip(khz) {
            if let Some(khz) = value {
                // sysfs gives kHz; node_exporter reports hertz.
                family.push(&cpu, khz as f64 * 1000.0);
            }
        }
    }
    out.extend(families);
    Ok(())
}
