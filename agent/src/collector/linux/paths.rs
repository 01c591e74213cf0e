//! The paths of the files the Linux collector reads, built once below the configured root.

use std::path::{Path, PathBuf};

/// Paths of the files read every cycle, built once.
#[derive(Debug, Clone)]
pub struct Paths {
    pub rootfs: PathBuf,
    /// The root as node_exporter's `--path.rootfs`: no trailing slash, `/` for the host root.
    pub rootfs_str: String,
    pub sys: PathBuf,
    /// `sys/devices/system/cpu`: one `cpuN` directory per CPU.
    pub sys_cpu: PathBuf,
    pub stat: PathBuf,
    pub cpuinfo: PathBuf,
    pub meminfo: PathBuf,
    pub loadavg: PathBuf,
    pub diskstats: PathBuf,
    pub net_dev: PathBuf,
    pub net_class: PathBuf,
    pub mountinfo_init: PathBuf,
    pub mountinfo_self: PathBuf,
    pub pressure: PathBuf,
    pub kernel: PathBuf,
    pub file_nr: PathBuf,
    pub entropy_avail: PathBuf,
    pub entropy_pool_size: PathBuf,
    pub vmstat: PathBuf,
    pub net_netstat: PathBuf,
    pub net_snmp: PathBuf,
    pub net_snmp6: PathBuf,
    pub net_sockstat: PathBuf,
    pub net_sockstat6: PathBuf,
    pub net_softnet: PathBuf,
    pub net_udp: PathBuf,
    pub net_udp6: PathBuf,
    pub net_arp: PathBuf,
    pub conntrack_count: PathBuf,
    pub conntrack_max: PathBuf,
    pub conntrack_stat: PathBuf,
    pub schedstat: PathBuf,
    pub os_release_etc: PathBuf,
    pub os_release_lib: PathBuf,
    pub hw: HwPaths,
}

impl Paths {
    pub fn new(rootfs: &Path) -> Self {
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
            hw: HwPaths::new(&rootfs.join("sys"), &proc),
        }
    }

    pub fn host_root(&self) -> bool {
        self.rootfs_str == "/"
    }
}

/// The directories and files of the hardware and storage areas.
#[derive(Debug, Clone)]
pub struct HwPaths {
    pub hwmon: PathBuf,
    pub thermal: PathBuf,
    pub power_supply: PathBuf,
    pub powercap: PathBuf,
    pub nvme: PathBuf,
    pub edac: PathBuf,
    pub xfs: PathBuf,
    pub mdstat: PathBuf,
    pub nfs: PathBuf,
    pub nfsd: PathBuf,
    pub zfs: PathBuf,
}

impl HwPaths {
    fn new(sys: &Path, proc: &Path) -> Self {
        HwPaths {
            hwmon: sys.join("class/hwmon"),
            thermal: sys.join("class/thermal"),
            power_supply: sys.join("class/power_supply"),
            powercap: sys.join("class/powercap"),
            nvme: sys.join("class/nvme"),
            edac: sys.join("devices/system/edac/mc"),
            xfs: sys.join("fs/xfs"),
            mdstat: proc.join("mdstat"),
            nfs: proc.join("net/rpc/nfs"),
            nfsd: proc.join("net/rpc/nfsd"),
            zfs: proc.join("spl/kstat/zfs"),
        }
    }
}
