//! The Linux host collector: node_exporter's metric names, types, labels and help texts, read
//! from `/proc` and `/sys` below the configured root file system.
//!
//! Each area (`cpu`, `stat`, `meminfo`, ...) is a file with pure parsers over `&str` and a
//! function that turns the parsed values into families. This module reads the files (once per
//! cycle, into reused buffers), times every area and reports node_exporter's own
//! `node_scrape_collector_success` and `node_scrape_collector_duration_seconds`.

mod arp;
pub mod config;
mod conntrack;
mod cpu;
mod cpu_sysfs;
mod cpufreq;
mod cpuinfo;
mod diskstats;
mod entropy;
mod envparse;
mod filefd;
mod filesystem;
mod loadavg;
mod meminfo;
mod names;
mod netclass;
mod netdev;
mod netstat;
mod os;
mod pressure;
mod schedstat;
mod sockstat;
mod softnet;
mod stat;
mod time;
mod timezone;
mod udp_queues;
mod uname;
mod vmstat;

#[cfg(test)]
mod cpu_tests;
#[cfg(test)]
mod fixtures;
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
}

impl Area {
    /// In the order they run (`stat` reuses what `cpu` read).
    const ALL: [Area; 23] = [
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
        }
    }
}

/// Paths of the files read every cycle, built once.
#[derive(Debug, Clone)]
struct Paths {
    rootfs: PathBuf,
    /// The root as node_exporter's `--path.rootfs`: no trailing slash, `/` for the host root.
    rootfs_str: String,
    sys: PathBuf,
    /// `sys/devices/system/cpu`: one `cpuN` directory per CPU.
    sys_cpu: PathBuf,
    stat: PathBuf,
    cpuinfo: PathBuf,
    meminfo: PathBuf,
    loadavg: PathBuf,
    diskstats: PathBuf,
    net_dev: PathBuf,
    net_class: PathBuf,
    mountinfo_init: PathBuf,
    mountinfo_self: PathBuf,
    pressure: PathBuf,
    kernel: PathBuf,
    file_nr: PathBuf,
    entropy_avail: PathBuf,
    entropy_pool_size: PathBuf,
    vmstat: PathBuf,
    net_netstat: PathBuf,
    net_snmp: PathBuf,
    net_snmp6: PathBuf,
    net_sockstat: PathBuf,
    net_sockstat6: PathBuf,
    net_softnet: PathBuf,
    net_udp: PathBuf,
    net_udp6: PathBuf,
    net_arp: PathBuf,
    conntrack_count: PathBuf,
    conntrack_max: PathBuf,
    conntrack_stat: PathBuf,
    schedstat: PathBuf,
    os_release_etc: PathBuf,
    os_release_lib: PathBuf,
}

impl Paths {
    fn new(rootfs: &Path) -> Self {
        let proc = rootfs.join("proc");
        let mut rootfs_str = rootfs.to_string_lossy().into_owned();
        while rootfs_str.len() > 1 && rootfs_str.ends_with('/') {
            rootfs_str.pop();
        }
        if rootfs_str.is_empty() {
            rootfs_str.push('/');
        }
        Paths {
            rootfs: rootfs.to_path_buf(),
            rootfs_str,
            sys: rootfs.join("sys"),
            sys_cpu: rootfs.join("sys/devices/system/cpu"),
            cpuinfo: proc.join("cpuinfo"),
            net_class: rootfs.join("sys/class/net"),
            stat: proc.join("stat"),
            meminfo: proc.join("meminfo"),
            loadavg: proc.join("loadavg"),
            diskstats: proc.join("diskstats"),
            net_dev: proc.join("net/dev"),
            mountinfo_init: proc.join("1/mountinfo"),
            mountinfo_self: proc.join("self/mountinfo"),
            pressure: proc.join("pressure"),
            kernel: proc.join("sys/kernel"),
            file_nr: proc.join("sys/fs/file-nr"),
            entropy_avail: proc.join("sys/kernel/random/entropy_avail"),
            entropy_pool_size: proc.join("sys/kernel/random/poolsize"),
            vmstat: proc.join("vmstat"),
            net_netstat: proc.join("net/netstat"),
            net_snmp: proc.join("net/snmp"),
            net_snmp6: proc.join("net/snmp6"),
            net_sockstat: proc.join("net/sockstat"),
            net_sockstat6: proc.join("net/sockstat6"),
            net_softnet: proc.join("net/softnet_stat"),
            net_udp: proc.join("net/udp"),
            net_udp6: proc.join("net/udp6"),
            net_arp: proc.join("net/arp"),
            conntrack_count: proc.join("sys/net/netfilter/nf_conntrack_count"),
            conntrack_max: proc.join("sys/net/netfilter/nf_conntrack_max"),
            conntrack_stat: proc.join("net/stat/nf_conntrack"),
            schedstat: proc.join("schedstat"),
            os_release_etc: rootfs.join("etc/os-release"),
            os_release_lib: rootfs.join("usr/lib/os-release"),
        }
    }

    fn host_root(&self) -> bool {
        self.rootfs_str == "/"
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
}

impl State {
    fn new(config: &LinuxConfig) -> Self {
        State {
            paths: Paths::new(&config.rootfs),
            cpu_info: config.cpu_info,
            buf: String::with_capacity(8192),
            stat_buf: String::with_capacity(8192),
            stat_read: Ok(()),
            streaks: Default::default(),
            cpu: cpu::CpuState::default(),
            time: time::TimeState::default(),
            meminfo: meminfo::NameCache::default(),
            filesystem: filesystem::FsState::default(),
            netclass: netclass::NetClassState::default(),
            vmstat: names::NameCache::default(),
            netstat: names::NameCache::default(),
            sockstat: names::NameCache::default(),
            os: os::OsState::default(),
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
            self.streaks[index].record(what, &result, "");
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
