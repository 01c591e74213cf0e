//! The Linux host collector: node_exporter's metric names, types, labels and help texts, read
//! from `/proc` and `/sys` below the configured root file system.
//!
//! Each area (`cpu`, `stat`, `meminfo`, ...) is a file with pure parsers over `&str` and a
//! function that turns the parsed values into families. This module reads the files (once per
//! cycle, into reused buffers), times every area and reports node_exporter's own
//! `node_scrape_collector_success` and `node_scrape_collector_duration_seconds`.

mod arp;
mod bonding;
pub mod config;
mod conntrack;
mod cpu;
mod cpu_sysfs;
mod cpufreq;
mod cpuinfo;
mod diskstats;
mod edac;
mod entropy;
mod envparse;
mod filefd;
mod filesystem;
mod hwmon;
mod loadavg;
mod mdadm;
mod meminfo;
mod names;
mod netclass;
mod netdev;
mod netstat;
mod nfs;
mod nfsd;
mod nvme;
mod os;
mod paths;
mod power_supply;
mod pressure;
mod rapl;
mod schedstat;
mod sockstat;
mod softnet;
mod stat;
mod sysfs;
mod thermal;
mod time;
mod timex;
mod timezone;
mod udp_queues;
mod uname;
mod vmstat;
mod xfs;
mod zfs;

#[cfg(test)]
mod cpu_tests;
#[cfg(test)]
mod fixtures;
#[cfg(test)]
mod hw_parse_tests;
#[cfg(test)]
mod hw_tests;
#[cfg(test)]
mod kernel_tests;
#[cfg(test)]
mod live_tests;
#[cfg(test)]
mod net_tests;
#[cfg(test)]
mod netclass_tests;
#[cfg(test)]
mod rootfs_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod timezone_tests;

pub use config::LinuxConfig;
use paths::Paths;

use super::{CollectError, CollectFuture, Collector, Cycle};
use peeper_proto::MetricFamily;
use peeper_proto::failures::FailureStreak;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Why one area of the collector failed this cycle.
#[derive(Debug, thiserror::Error)]
pub enum LinuxError {
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot parse {file}: {reason}")]
    Parse { file: &'static str, reason: String },
    #[error("{0}")]
    NoData(&'static str),
    #[error("the {call} system call failed: {source}; {hint}")]
    Syscall {
        call: &'static str,
        hint: &'static str,
        #[source]
        source: std::io::Error,
    },
}

impl LinuxError {
    fn parse(file: &'static str, reason: impl Into<String>) -> Self {
        LinuxError::Parse {
            file,
            reason: reason.into(),
        }
    }
}

/// The areas of the collector, each reported as one of node_exporter's collectors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Area {
    Cpu,
    Cpufreq,
    Stat,
    Meminfo,
    Filesystem,
    Diskstats,
    Netdev,
    Netclass,
    Loadavg,
    Uname,
    Pressure,
    Timex,
    Time,
    Filefd,
    Entropy,
    Vmstat,
    Netstat,
    Sockstat,
    Softnet,
    UdpQueues,
    Arp,
    Conntrack,
    Os,
    Schedstat,
    Hwmon,
    ThermalZone,
    PowerSupplyClass,
    Rapl,
    Nvme,
    Mdadm,
    Bonding,
    Edac,
    Xfs,
    Nfs,
    Nfsd,
    Zfs,
}

impl Area {
    /// In the order they run (`stat` reuses what `cpu` read).
    const ALL: [Area; 36] = [
        Area::Cpu,
        Area::Cpufreq,
        Area::Stat,
        Area::Meminfo,
        Area::Filesystem,
        Area::Diskstats,
        Area::Netdev,
        Area::Netclass,
        Area::Loadavg,
        Area::Uname,
        Area::Pressure,
        Area::Time,
        Area::Timex,
        Area::Filefd,
        Area::Entropy,
        Area::Vmstat,
        Area::Netstat,
        Area::Sockstat,
        Area::Softnet,
        Area::UdpQueues,
        Area::Arp,
        Area::Conntrack,
        Area::Os,
        Area::Schedstat,
        Area::Hwmon,
        Area::ThermalZone,
        Area::PowerSupplyClass,
        Area::Rapl,
        Area::Nvme,
        Area::Mdadm,
        Area::Bonding,
        Area::Edac,
        Area::Xfs,
        Area::Nfs,
        Area::Nfsd,
        Area::Zfs,
    ];

    /// node_exporter's name for the collector: the `collector` label.
    fn name(self) -> &'static str {
        match self {
            Area::Cpu => "cpu",
            Area::Cpufreq => "cpufreq",
            Area::Stat => "stat",
            Area::Meminfo => "meminfo",
            Area::Filesystem => "filesystem",
            Area::Diskstats => "diskstats",
            Area::Netdev => "netdev",
            Area::Netclass => "netclass",
            Area::Loadavg => "loadavg",
            Area::Uname => "uname",
            Area::Pressure => "pressure",
            Area::Time => "time",
            Area::Timex => "timex",
            Area::Filefd => "filefd",
            Area::Entropy => "entropy",
            Area::Vmstat => "vmstat",
            Area::Netstat => "netstat",
            Area::Sockstat => "sockstat",
            Area::Softnet => "softnet",
            Area::UdpQueues => "udp_queues",
            Area::Arp => "arp",
            Area::Conntrack => "conntrack",
            Area::Os => "os",
            Area::Schedstat => "schedstat",
            Area::Hwmon => "hwmon",
            Area::ThermalZone => "thermal_zone",
            Area::PowerSupplyClass => "powersupplyclass",
            Area::Rapl => "rapl",
            Area::Nvme => "nvme",
            Area::Mdadm => "mdadm",
            Area::Bonding => "bonding",
            Area::Edac => "edac",
            Area::Xfs => "xfs",
            Area::Nfs => "nfs",
            Area::Nfsd => "nfsd",
            Area::Zfs => "zfs",
        }
    }
}

/// Reads a whole file into `buf`, reusing its allocation.
fn read_into(path: &Path, buf: &mut String) -> Result<(), LinuxError> {
    buf.clear();
    let io = |source| LinuxError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = std::fs::File::open(path).map_err(io)?;
    file.read_to_string(buf).map_err(io)?;
    Ok(())
}

/// Reads a file holding one unsigned decimal number (`/proc/sys/...`).
fn read_uint(path: &Path, buf: &mut String) -> Result<u64, LinuxError> {
    read_into(path, buf)?;
    buf.trim().parse().map_err(|_| LinuxError::Parse {
        file: "a /proc/sys value",
        reason: format!("{}: not a number: {:?}", path.display(), buf.trim()),
    })
}

/// Whether reading failed because the file does not exist (a kernel feature that is off).
fn not_found(error: &LinuxError) -> bool {
    matches!(error, LinuxError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound)
}

/// Runs an area that exports nothing when one of its files fails, as node_exporter's
/// collectors that read everything before sending anything do.
fn all_or_nothing(
    out: &mut Vec<MetricFamily>,
    area: impl FnOnce(&mut Vec<MetricFamily>) -> Result<(), LinuxError>,
) -> Result<(), LinuxError> {
    let start = out.len();
    let result = area(out);
    if result.is_err() {
        out.truncate(start);
    }
    result
}

/// Everything kept between cycles.
#[derive(Debug)]
struct State {
    paths: Paths,
    /// The `cpu_info` setting: whether the cpu area reads `/proc/cpuinfo`.
    cpu_info: bool,
    buf: String,
    stat_buf: String,
    /// Outcome of reading `/proc/stat` this cycle, shared by the `cpu` and `stat` areas.
    stat_read: Result<(), String>,
    /// Per area, in [`Area::ALL`] order: whether it fails.
    streaks: [FailureStreak; Area::ALL.len()],
    cpu: cpu::CpuState,
    time: time::TimeState,
    meminfo: meminfo::NameCache,
    filesystem: filesystem::FsState,
    netclass: netclass::NetClassState,
    vmstat: names::NameCache,
    netstat: names::NameCache,
    sockstat: names::NameCache,
    os: os::OsState,
    hw: HwState,
}

/// What the hardware and storage areas keep between cycles.
#[derive(Debug, Default)]
struct HwState {
    names: Vec<std::ffi::OsString>,
    hwmon: hwmon::HwmonState,
    thermal: thermal::ThermalState,
    power_supply: power_supply::PowerSupplyState,
    rapl: rapl::RaplState,
    nvme: nvme::NvmeState,
    edac: edac::EdacState,
    zfs: zfs::ZfsState,
}

impl State {
    fn new(config: &LinuxConfig) -> Self {
        State {
            paths: Paths::new(&config.rootfs),
            cpu_info: config.cpu_info,
            buf: String::with_capacity(8192),
            stat_buf: String::with_capacity(8192),
            stat_read: Ok(()),
            streaks: std::array::from_fn(|_| FailureStreak::default()),
            cpu: cpu::CpuState::default(),
            time: time::TimeState::default(),
            meminfo: meminfo::NameCache::default(),
            filesystem: filesystem::FsState::default(),
            netclass: netclass::NetClassState::default(),
            vmstat: names::NameCache::default(),
            netstat: names::NameCache::default(),
            sockstat: names::NameCache::default(),
            os: os::OsState::default(),
            hw: HwState::default(),
        }
    }

    fn collect(&mut self) -> Vec<MetricFamily> {
        let mut out = Vec::with_capacity(128);
        let mut duration = MetricFamily::gauge(
            "node_scrape_collector_duration_seconds",
            "node_exporter: Duration of a collector scrape.",
        );
        let mut success = MetricFamily::gauge(
            "node_scrape_collector_success",
            "node_exporter: Whether a collector succeeded.",
        );
        for (index, area) in Area::ALL.into_iter().enumerate() {
            let start = Instant::now();
            let result = self.run(area, &mut out);
            let elapsed = start.elapsed().as_secs_f64();
            let what = format_args!("linux collector area {}", area.name());
            match &result {
                // node_exporter logs "no data" (a feature the host lacks) at debug only.
                Err(LinuxError::NoData(reason)) => tracing::debug!("{what}: {reason}"),
                _ => self.streaks[index].record(what, &result, ""),
            }
            let ok = if result.is_ok() { 1.0 } else { 0.0 };
            duration.push(&[("collector", area.name())], elapsed);
            success.push(&[("collector", area.name())], ok);
        }
        out.retain(|family| !family.series.is_empty());
        out.push(duration);
        out.push(success);
        out
    }

    fn run(&mut self, area: Area, out: &mut Vec<MetricFamily>) -> Result<(), LinuxError> {
        let paths = &self.paths;
        match area {
            Area::Cpu => {
                let read = read_into(&paths.stat, &mut self.stat_buf);
                self.stat_read = read.as_ref().map(|_| ()).map_err(ToString::to_string);
                read?;
                let (stat, buf) = (&self.stat_buf, &mut self.buf);
                self.cpu.collect(paths, stat, buf, self.cpu_info, out)
            }
            Area::Cpufreq => all_or_nothing(out, |out| cpufreq::collect(paths, &mut self.buf, out)),
            Area::Stat => {
                if let Err(reason) = &self.stat_read {
                    return Err(LinuxError::parse("/proc/stat", reason.clone()));
                }
                let values = stat::parse_stat(&self.stat_buf)?;
                stat::families(&values, out);
                Ok(())
            }
            Area::Meminfo => {
                read_into(&paths.meminfo, &mut self.buf)?;
                let fields = meminfo::parse_meminfo(&self.buf)?;
                self.meminfo.families(&fields, out);
                Ok(())
            }
            Area::Filesystem => self.filesystem.collect(paths, &mut self.buf, out),
            Area::Diskstats => {
                read_into(&paths.diskstats, &mut self.buf)?;
                let disks = diskstats::parse_diskstats(&self.buf)?;
                diskstats::families(paths, &disks, out);
                Ok(())
            }
            Area::Netdev => {
                read_into(&paths.net_dev, &mut self.buf)?;
                let devices = netdev::parse_net_dev(&self.buf)?;
                netdev::families(paths, &devices, out);
                Ok(())
            }
            Area::Netclass => self.netclass.collect(paths, out),
            Area::Loadavg => {
                read_into(&paths.loadavg, &mut self.buf)?;
                let loads = loadavg::parse_loadavg(&self.buf)?;
                loadavg::families(loads, out);
                Ok(())
            }
            Area::Uname => {
                let info = uname::read(paths, &mut self.buf)?;
                out.push(uname::family(&info));
                Ok(())
            }
            Area::Pressure => pressure::collect(paths, &mut self.buf, out),
            Area::Time => self.time.collect(paths, &mut self.buf, out),
            Area::Timex => timex::collect(out),
            Area::Filefd => filefd::collect(paths, &mut self.buf, out),
            Area::Entropy => entropy::collect(paths, &mut self.buf, out),
            Area::Vmstat => vmstat::collect(paths, &mut self.buf, &mut self.vmstat, out),
            Area::Netstat => netstat::collect(paths, &mut self.buf, &mut self.netstat, out),
            Area::Sockstat => sockstat::collect(paths, &mut self.buf, &mut self.sockstat, out),
            Area::Softnet => softnet::collect(paths, &mut self.buf, out),
            Area::UdpQueues => udp_queues::collect(paths, &mut self.buf, out),
            Area::Arp => arp::collect(paths, &mut self.buf, out),
            Area::Conntrack => conntrack::collect(paths, &mut self.buf, out),
            Area::Os => self.os.collect(paths, &mut self.buf, out),
            Area::Schedstat => schedstat::collect(paths, &mut self.buf, out),
            Area::Hwmon => self.hw.hwmon.collect(paths, out),
            Area::ThermalZone => self.hw.thermal.collect(paths, out),
            Area::PowerSupplyClass => self.hw.power_supply.collect(paths, out),
            Area::Rapl => self.hw.rapl.collect(paths, out),
            Area::Nvme => self.hw.nvme.collect(paths, out),
            Area::Mdadm => mdadm::collect(paths, &mut self.buf, out),
            Area::Bonding => bonding::collect(paths, &mut self.buf, out),
            Area::Edac => self.hw.edac.collect(paths, out),
            Area::Xfs => xfs::collect(paths, &mut self.buf, &mut self.hw.names, out),
            Area::Nfs => nfs::collect(paths, &mut self.buf, out),
            Area::Nfsd => nfsd::collect(paths, &mut self.buf, out),
            Area::Zfs => self.hw.zfs.collect(paths, out),
        }
    }
}

/// The Linux host collector (`job="linux"`).
#[derive(Debug)]
pub struct LinuxCollector {
    config: LinuxConfig,
    /// Taken out while a cycle runs on the blocking pool; rebuilt if a cycle was abandoned.
    state: Option<State>,
}

impl LinuxCollector {
    pub fn new(config: &LinuxConfig) -> Self {
        LinuxCollector {
            config: config.clone(),
            state: Some(State::new(config)),
        }
    }

    /// Collects one cycle on the calling thread.
    pub fn collect_now(&mut self) -> Vec<MetricFamily> {
        let config = &self.config;
        self.state
            .get_or_insert_with(|| State::new(config))
            .collect()
    }
}

impl Collector for LinuxCollector {
    fn job(&self) -> &'static str {
        "linux"
    }

    /// Runs the cycle on tokio's blocking pool: file reads and `statfs` calls block, and a
    /// hung network mount must not stall the scheduler's threads.
    fn collect(&mut self, _cycle: Cycle) -> CollectFuture<'_> {
        Box::pin(async move {
            let state = match self.state.take() {
                Some(state) => state,
                None => State::new(&self.config),
            };
            let (state, families) = tokio::task::spawn_blocking(move || {
                let mut state = state;
                let families = state.collect();
                (state, families)
            })
            .await
            .map_err(|error| CollectError::Other(format!("linux collector task: {error}")))?;
            self.state = Some(state);
            Ok(families)
        })
    }
}
