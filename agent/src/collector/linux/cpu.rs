//! The cpu area, as node_exporter 1.5's cpu collector (cpu_linux.go): `node_cpu_seconds_total`
//! and `node_cpu_guest_seconds_total` from the `cpuN` lines of `/proc/stat`, `node_cpu_info`
//! when the `cpu_info` setting is on (`cpuinfo.rs`), and the throttle counters and isolated
//! CPUs from `/sys/devices/system/cpu` (`cpu_sysfs.rs`).

use super::{LinuxError, Paths, cpu_sysfs, cpuinfo};
use peeper_proto::MetricFamily;

/// USER_HZ: the unit of `/proc/stat` CPU times.
const USER_HZ: f64 = 100.0;

/// node_exporter resets a CPU's cached times when idle jumps back this far (a hotplug).
const JUMP_BACK_SECONDS: f64 = 3.0;

/// Field order of a `cpuN` line.
const FIELDS: usize = 10;
const IDLE: usize = 3;
const GUEST: usize = 8;
const GUEST_NICE: usize = 9;

/// The eight modes of `node_cpu_seconds_total`, in `/proc/stat` order.
pub const MODES: [&str; 8] = [
    "user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal",
];

/// One `cpuN` line: the CPU number and its times in seconds
/// (user nice system idle iowait irq softirq steal guest guest_nice; missing fields are 0).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CpuTimes {
    pub cpu: u32,
    pub seconds: [f64; FIELDS],
}

/// Parses the per-CPU lines of `/proc/stat` (the aggregate `cpu` line is skipped).
pub fn parse_cpus(text: &str) -> Result<Vec<CpuTimes>, LinuxError> {
    let mut cpus = Vec::with_capacity(8);
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("cpu") else {
            continue;
        };
        let mut fields = rest.split_ascii_whitespace();
        let Some(id) = fields.next() else {
            continue;
        };
        if rest.starts_with(|c: char| c.is_ascii_whitespace()) {
            continue; // the aggregate "cpu " line
        }
        let cpu: u32 = id
            .parse()
            .map_err(|_| LinuxError::parse("/proc/stat", format!("bad cpu line {line:?}")))?;
        let mut seconds = [0.0; FIELDS];
        for (slot, field) in seconds.iter_mut().zip(fields) {
            let ticks: u64 = field
                .parse()
                .map_err(|_| LinuxError::parse("/proc/stat", format!("bad cpu line {line:?}")))?;
            *slot = ticks as f64 / USER_HZ;
        }
        cpus.push(CpuTimes { cpu, seconds });
    }
    if cpus.is_empty() {
        return Err(LinuxError::parse("/proc/stat", "no cpuN lines"));
    }
    Ok(cpus)
}

/// node_exporter's per-CPU cache: counters never go backwards, except that a jump back of
/// idle by 3 s or more (CPU hotplug) resets the CPU.
#[derive(Debug, Default)]
pub struct CpuState {
    cached: Vec<Option<[f64; FIELDS]>>,
    /// `/sys/devices/system/cpu/isolated`, read on the first cycle only (node_exporter reads
    /// it when the collector starts).
    isolated: Option<Result<Vec<u16>, String>>,
}

impl CpuState {
    /// One cycle of the area over this cycle's `/proc/stat` text. As node_exporter, a
    /// `/proc/cpuinfo` that cannot be read or parsed fails the area before anything else.
    pub fn collect(
        &mut self,
        paths: &Paths,
        stat: &str,
        buf: &mut String,
        cpu_info: bool,
        out: &mut Vec<MetricFamily>,
    ) -> Result<(), LinuxError> {
        let isolated = self
            .isolated
            .get_or_insert_with(|| cpu_sysfs::read_isolated(paths, buf))
            .as_ref()
            .map_err(|reason| cpu_sysfs::isolated_error(reason))?;
        let isolated = cpu_sysfs::isolated_family(isolated);
        if cpu_info {
            super::read_into(&paths.cpuinfo, buf)?;
            out.push(cpuinfo::family(&cpuinfo::parse_cpuinfo(buf)?));
        }
        let cpus = parse_cpus(stat)?;
        self.update(&cpus);
        families(self, &cpus, out);
        out.push(isolated);
        let dirs = cpu_sysfs::cpu_dirs(&paths.sys_cpu);
        cpu_sysfs::throttle_families(&cpu_sysfs::throttles(&dirs, buf), out);
        Ok(())
    }

    pub fn update(&mut self, cpus: &[CpuTimes]) {
        for new in cpus {
            let index = new.cpu as usize;
            if self.cached.len() <= index {
                self.cached.resize(index + 1, None);
            }
            let mut old = self.cached[index].unwrap_or([0.0; FIELDS]);
            if old[IDLE] - new.seconds[IDLE] >= JUMP_BACK_SECONDS {
                old = [0.0; FIELDS];
            }
            for (kept, &fresh) in old.iter_mut().zip(new.seconds.iter()) {
                if fresh >= *kept {
                    *kept = fresh;
                }
            }
            self.cached[index] = Some(old);
        }
    }

    /// The cached (monotonic) times of one CPU.
    pub fn get(&self, cpu: u32) -> Option<&[f64; FIELDS]> {
        self.cached.get(cpu as usize).and_then(Option::as_ref)
    }
}

/// Emits the CPUs present in this cycle's `/proc/stat`, with the cached monotonic values.
pub fn families(state: &CpuState, cpus: &[CpuTimes], out: &mut Vec<MetricFamily>) {
    let mut seconds = MetricFamily::counter(
        "node_cpu_seconds_total",
        "Seconds the CPUs spent in each mode.",
    );
    let mut guest = MetricFamily::counter(
        "node_cpu_guest_seconds_total",
        "Seconds the CPUs spent in guests (VMs) for each mode.",
    );
    seconds.series.reserve(cpus.len() * MODES.len());
    guest.series.reserve(cpus.len() * 2);
    for line in cpus {
        let Some(values) = state.get(line.cpu) else {
            continue;
        };
        let cpu = line.cpu.to_string();
        for (mode, value) in MODES.iter().zip(values.iter()) {
            seconds.push(&[("cpu", &cpu), ("mode", mode)], *value);
        }
        guest.push(&[("cpu", &cpu), ("mode", "user")], values[GUEST]);
        guest.push(&[("cpu", &cpu), ("mode", "nice")], values[GUEST_NICE]);
    }
    out.push(seconds);
    out.push(guest);
}
