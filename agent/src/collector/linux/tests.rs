//! Parser tests on fixture text copied from a real host's `/proc`.

use super::fixtures::*;
use super::*;
use peeper_proto::MetricKind;
use peeper_proto::model::family;
use peeper_test_support::value;

#[test]
fn cpu_lines_become_seconds_per_mode() {
    let cpus = cpu::parse_cpus(STAT).unwrap();
    assert_eq!(cpus.len(), 2);
    assert_eq!(cpus[0].cpu, 0);
    assert_eq!(cpus[0].seconds[0], 215.20);
    assert_eq!(cpus[1].seconds[3], 437.62);
    let mut state = cpu::CpuState::default();
    state.update(&cpus);
    let mut out = Vec::new();
    cpu::families(&state, &cpus, &mut out);
    let seconds = family(&out, "node_cpu_seconds_total").unwrap();
    assert_eq!(seconds.kind, MetricKind::Counter);
    assert_eq!(seconds.help, "Seconds the CPUs spent in each mode.");
    assert_eq!(seconds.series.len(), 2 * 8);
    for mode in cpu::MODES {
        assert!(
            seconds.find(&[("cpu", "1"), ("mode", mode)]).is_some(),
            "{mode}"
        );
    }
    assert_eq!(
        value(
            &out,
            "node_cpu_seconds_total",
            &[("cpu", "1"), ("mode", "user")]
        ),
        223.29
    );
    let guest = family(&out, "node_cpu_guest_seconds_total").unwrap();
    assert_eq!(guest.series.len(), 2 * 2);
    assert!(guest.find(&[("cpu", "0"), ("mode", "nice")]).is_some());
}

#[test]
fn cpu_counters_never_go_back_unless_idle_jumps_back() {
    let line = |user: f64, idle: f64| cpu::CpuTimes {
        cpu: 0,
        seconds: [user, 0.0, 0.0, idle, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
    };
    let mut state = cpu::CpuState::default();
    state.update(&[line(10.0, 100.0)]);
    state.update(&[line(9.0, 99.0)]);
    assert_eq!(state.get(0).unwrap()[0], 10.0);
    assert_eq!(state.get(0).unwrap()[3], 100.0);
    // A hotplug: idle back by more than 3 s resets the CPU.
    state.update(&[line(1.0, 5.0)]);
    assert_eq!(state.get(0).unwrap()[0], 1.0);
    assert_eq!(state.get(0).unwrap()[3], 5.0);
}

#[test]
fn old_kernels_without_guest_columns_parse() {
    let cpus = cpu::parse_cpus("cpu  1 2 3 4\ncpu0 100 200 300 400 500 600 700\n").unwrap();
    assert_eq!(cpus[0].seconds[6], 7.0);
    assert_eq!(cpus[0].seconds[7], 0.0);
    assert!(cpu::parse_cpus("intr 1\n").is_err());
}

#[test]
fn stat_counters() {
    let values = stat::parse_stat(STAT).unwrap();
    let mut out = Vec::new();
    stat::families(&values, &mut out);
    assert_eq!(value(&out, "node_intr_total", &[]), 343193.0);
    assert_eq!(value(&out, "node_context_switches_total", &[]), 482823.0);
    assert_eq!(value(&out, "node_forks_total", &[]), 18095.0);
    assert_eq!(value(&out, "node_boot_time_seconds", &[]), 1795242587.0);
    assert_eq!(value(&out, "node_procs_running", &[]), 1.0);
    assert_eq!(value(&out, "node_procs_blocked", &[]), 0.0);
    let boot = family(&out, "node_boot_time_seconds").unwrap();
    assert_eq!(boot.kind, MetricKind::Gauge);
    assert_eq!(boot.help, "Node boot time, in unixtime.");
    assert_eq!(
        family(&out, "node_context_switches_total").unwrap().kind,
        MetricKind::Counter
    );
}

#[test]
fn meminfo_names_follow_node_exporter() {
    let fields = meminfo::parse_meminfo(MEMINFO).unwrap();
    let mut cache = meminfo::NameCache::default();
    let mut out = Vec::new();
    cache.families(&fields, &mut out);
    assert_eq!(out.len(), MEMINFO.lines().count());
    assert_eq!(
        value(&out, "node_memory_MemTotal_bytes", &[]),
        24684096.0 * 1024.0
    );
    assert_eq!(
        value(&out, "node_memory_Active_anon_bytes", &[]),
        1520.0 * 1024.0
    );
    assert_eq!(
        value(&out, "node_memory_Hugepagesize_bytes", &[]),
        2048.0 * 1024.0
    );
    assert_eq!(value(&out, "node_memory_HugePages_Total", &[]), 0.0);
    let total = family(&out, "node_memory_MemTotal_bytes").unwrap();
    assert_eq!(total.help, "Memory information field MemTotal_bytes.");
    assert_eq!(total.kind, MetricKind::Gauge);
    assert!(family(&out, "node_memory_Inactive_file_bytes").is_some());
    // A second cycle reuses the cached names and gives the same result.
    let mut again = Vec::new();
    cache.families(&fields, &mut again);
    assert_eq!(out, again);
}

#[test]
fn meminfo_keys() {
    assert_eq!(
        meminfo::metric_key("Active(anon)", true),
        "Active_anon_bytes"
    );
    assert_eq!(
        meminfo::metric_key("NFS_Unstable", true),
        "NFS_Unstable_bytes"
    );
    assert_eq!(
        meminfo::metric_key("HugePages_Free", false),
        "HugePages_Free"
    );
    assert!(meminfo::parse_meminfo("MemTotal: x kB\n").is_err());
    assert!(meminfo::parse_meminfo("\nMemTotal: 1 kB\n").is_ok());
}

#[test]
fn net_dev_columns() {
    let devices = netdev::parse_net_dev(NET_DEV).unwrap();
    let names: Vec<&str> = devices.iter().map(|d| d.device).collect();
    assert_eq!(names, ["lo", "ifb0", "ifb1", "eth0"]);
    assert_eq!(devices[3].values[0], 102894670);
    assert_eq!(devices[3].values[8], 235937);
    let paths = Paths::new(Path::new("/nonexistent-root"));
    let mut out = Vec::new();
    netdev::families(&paths, &devices, &mut out);
    assert_eq!(out.len(), 17);
    assert_eq!(
        value(
            &out,
            "node_network_receive_bytes_total",
            &[("device", "lo")]
        ),
        3245.0
    );
    assert_eq!(
        value(
            &out,
            "node_network_transmit_packets_total",
            &[("device", "eth0")]
        ),
        2288.0
    );
    let errs = family(&out, "node_network_receive_errs_total").unwrap();
    assert_eq!(errs.help, "Network device statistic receive_errs.");
    assert_eq!(errs.kind, MetricKind::Counter);
    for name in [
        "receive_frame",
        "receive_multicast",
        "transmit_colls",
        "transmit_carrier",
    ] {
        assert!(family(&out, &format!("node_network_{name}_total")).is_some());
    }
    assert!(netdev::parse_net_dev("h\nh\n  eth0: 1 2 3\n").is_err());
}

#[test]
fn diskstats_fields_and_exclusions() {
    let disks = diskstats::parse_diskstats(DISKSTATS).unwrap();
    let vda = disks.iter().find(|d| d.device == "vda").unwrap();
    assert_eq!((vda.major, vda.minor, vda.count), (254, 0, 17));
    let paths = Paths::new(Path::new("/nonexistent-root"));
    let mut out = Vec::new();
    diskstats::families(&paths, &disks, &mut out);
    let reads = family(&out, "node_disk_reads_completed_total").unwrap();
    // loop* and zram* are excluded by default.
    let devices: Vec<&str> = reads
        .series
        .iter()
        .filter_map(|s| s.label("device"))
        .collect();
    assert_eq!(devices, ["vda"]);
    let vda = [("device", "vda")];
    assert_eq!(
        value(&out, "node_disk_reads_completed_total", &vda),
        30557.0
    );
    assert_eq!(
        value(&out, "node_disk_read_bytes_total", &vda),
        5639986.0 * 512.0
    );
    assert_eq!(
        value(&out, "node_disk_read_time_seconds_total", &vda),
        28525.0 * 0.001
    );
    assert_eq!(
        value(&out, "node_disk_written_bytes_total", &vda),
        8665872.0 * 512.0
    );
    assert_eq!(value(&out, "node_disk_io_now", &vda), 0.0);
    assert_eq!(value(&out, "node_disk_io_time_seconds_total", &vda), 6.524);
    assert_eq!(
        value(&out, "node_disk_discarded_sectors_total", &vda),
        1145056.0
    );
    assert_eq!(value(&out, "node_disk_flush_requests_total", &vda), 134.0);
    assert_eq!(
        value(&out, "node_disk_flush_requests_time_seconds_total", &vda),
        0.001
    );
    let info = family(&out, "node_disk_info").unwrap().find(&vda).unwrap();
    assert_eq!(info.label("major"), Some("254"));
    assert_eq!(info.label("rotational"), Some("0"));
    assert_eq!(
        family(&out, "node_disk_io_now").unwrap().kind,
        MetricKind::Gauge
    );
}

#[test]
fn diskstats_of_old_kernels_have_eleven_fields() {
    let disks = diskstats::parse_diskstats("   8 0 sda 1 2 3 4 5 6 7 8 9 10 11\n").unwrap();
    let paths = Paths::new(Path::new("/nonexistent-root"));
    let mut out = Vec::new();
    diskstats::families(&paths, &disks, &mut out);
    out.retain(|f| !f.series.is_empty());
    assert_eq!(out.len(), 1 + 11);
    assert!(family(&out, "node_disk_discards_completed_total").is_none());
}

#[test]
fn default_disk_exclusion() {
    for device in [
        "ram0",
        "zram1",
        "loop12",
        "fd0",
        "sda1",
        "hda3",
        "vdb2",
        "xvda1",
        "nvme0n1p1",
        "nvme12n3p45",
    ] {
        assert!(diskstats::device_excluded(device), "{device}");
    }
    for device in [
        "sda",
        "vda",
        "xvda",
        "nvme0n1",
        "dm-0",
        "mmcblk0p1",
        "sdaa1",
        "md0",
        "sr0",
        "loop",
        "nvme0n1p",
        "nvmen1p1",
    ] {
        assert!(!diskstats::device_excluded(device), "{device}");
    }
}

#[test]
fn loadavg_values() {
    let loads = loadavg::parse_loadavg(LOADAVG).unwrap();
    assert_eq!(loads, [1.72, 1.15, 0.55]);
    let mut out = Vec::new();
    loadavg::families(loads, &mut out);
    assert_eq!(
        family(&out, "node_load15").unwrap().help,
        "15m load average."
    );
    assert!(loadavg::parse_loadavg("1.0 2.0").is_err());
}

#[test]
fn pressure_totals_in_seconds() {
    let io = pressure::parse_psi(PSI_IO).unwrap();
    assert_eq!(io.some, Some(2982951.0 / 1000.0 / 1000.0));
    let mut out = Vec::new();
    pressure::resource_families("io", &io, &mut out).unwrap();
    let cpu = pressure::parse_psi(PSI_CPU).unwrap();
    pressure::resource_families("cpu", &cpu, &mut out).unwrap();
    let irq =
        pressure::parse_psi("full avg10=0.00 avg60=0.00 avg300=0.00 total=1500000\n").unwrap();
    pressure::resource_families("irq", &irq, &mut out).unwrap();
    let names: Vec<&str> = out.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "node_pressure_io_waiting_seconds_total",
            "node_pressure_io_stalled_seconds_total",
            "node_pressure_cpu_waiting_seconds_total",
            "node_pressure_irq_stalled_seconds_total",
        ]
    );
    assert_eq!(
        value(&out, "node_pressure_io_stalled_seconds_total", &[]),
        2.312607
    );
    assert_eq!(
        value(&out, "node_pressure_irq_stalled_seconds_total", &[]),
        1.5
    );
    // io without a "full" line is "no data", as in node_exporter.
    let some_only = pressure::parse_psi("some avg10=0 avg60=0 avg300=0 total=1\n").unwrap();
    assert!(pressure::resource_families("io", &some_only, &mut out).is_err());
}

#[test]
fn mountinfo_lines() {
    let mounts = filesystem::parse_mountinfo(MOUNTINFO).unwrap();
    let root = mounts.iter().find(|m| m.mountpoint == "/").unwrap();
    assert_eq!((root.major, root.minor), (254, 0));
    assert_eq!((root.device, root.fstype), ("/dev/vda", "ext4"));
    assert!(!root.read_only());
    let text =
        "36 35 98:0 /mnt1 /mnt/my\\040disk ro,noatime master:1 shared:2 - xfs /dev/sdb1 rw\n";
    let mounts = filesystem::parse_mountinfo(text).unwrap();
    assert_eq!(mounts[0].mountpoint, "/mnt/my disk");
    assert_eq!((mounts[0].fstype, mounts[0].device), ("xfs", "/dev/sdb1"));
    assert!(mounts[0].read_only());
    assert!(filesystem::parse_mountinfo("1 2 3\n").is_err());
}

#[test]
fn default_mount_exclusions() {
    for excluded in [
        "/dev",
        "/dev/shm",
        "/proc",
        "/proc/sys",
        "/sys",
        "/sys/fs/cgroup",
        "/run/credentials/x.service",
        "/var/lib/docker/overlay2/abc/merged",
        "/var/lib/containers/storage/overlay",
    ] {
        assert!(filesystem::mount_point_excluded(excluded), "{excluded}");
    }
    for kept in [
        "/",
        "/devices",
        "/home",
        "/run",
        "/run/credentials",
        "/var/lib/docker",
        "/boot/efi",
    ] {
        assert!(!filesystem::mount_point_excluded(kept), "{kept}");
    }
    for excluded in [
        "cgroup", "cgroup2", "proc", "sysfs", "overlay", "squashfs", "tracefs",
    ] {
        assert!(filesystem::fs_type_excluded(excluded), "{excluded}");
    }
    for kept in ["ext4", "xfs", "tmpfs", "btrfs", "nfs4", "vfat", "cgroup3"] {
        assert!(!filesystem::fs_type_excluded(kept), "{kept}");
    }
}

#[test]
fn rootfs_prefix_is_stripped() {
    assert_eq!(filesystem::strip_rootfs("/host", "/host"), "/");
    assert_eq!(filesystem::strip_rootfs("/host", "/host/var"), "/var");
    assert_eq!(filesystem::strip_rootfs("/host", "/boot"), "/boot");
    assert_eq!(filesystem::strip_rootfs("/", "/boot"), "/boot");
    assert_eq!(Paths::new(Path::new("/host/")).rootfs_str, "/host");
    assert_eq!(Paths::new(Path::new("/")).rootfs_str, "/");
}

#[test]
fn uname_kernel_values() {
    assert_eq!(uname::kernel_value("6.18.44\n"), "6.18.44");
    let info = uname::UnameInfo {
        sysname: "Linux".into(),
        nodename: "h".into(),
        ..Default::default()
    };
    let f = uname::family(&info);
    assert_eq!(f.name, "node_uname_info");
    assert_eq!(f.series[0].label("sysname"), Some("Linux"));
    assert_eq!(f.series[0].value, 1.0);
}

#[test]
fn netclass_integers_parse_as_go_base_zero() {
    assert_eq!(netclass::parse_int("1500"), Some(1500));
    assert_eq!(netclass::parse_int("-1"), Some(-1));
    assert_eq!(netclass::parse_int("0x1003"), Some(0x1003));
    assert_eq!(netclass::parse_int("0x0"), Some(0));
    assert_eq!(netclass::parse_int("0"), Some(0));
    assert_eq!(netclass::parse_int("010"), Some(8));
    assert_eq!(netclass::parse_int("0b11"), Some(3));
    assert_eq!(netclass::parse_int("-9223372036854775808"), Some(i64::MIN));
    for bad in [
        "",
        "-",
        "0x",
        "x1",
        "1.5",
        "--1",
        "0x-1",
        "9223372036854775808",
        "up",
    ] {
        assert_eq!(netclass::parse_int(bad), None, "{bad:?}");
    }
}

#[test]
fn netclass_attributes_become_node_exporter_families() {
    let mut up = netclass::Iface {
        device: "eth0".into(),
        ..Default::default()
    };
    for (file, text) in [
        ("address", "52:54:00:12:34:56\n"),
        ("broadcast", "ff:ff:ff:ff:ff:ff\n"),
        ("duplex", "full\n"),
        ("ifalias", "uplink\n"),
        ("operstate", "up\n"),
        ("flags", "0x1003\n"),
        ("mtu", "1500\n"),
        ("speed", "10000\n"),
        ("carrier_changes", "3\n"),
        ("type", "1\n"),
        ("phys_port_id", "ignored\n"),
    ] {
        netclass::apply(&mut up, file, text);
    }
    let mut down = netclass::Iface {
        device: "eth1".into(),
        ..Default::default()
    };
    netclass::apply(&mut down, "operstate", "down\n");
    netclass::apply(&mut down, "speed", "-1\n");
    netclass::apply(&mut down, "mtu", "garbage\n");
    let unknown = netclass::Iface {
        device: "lo".into(),
        ..Default::default()
    };
    assert_eq!(up.adminstate(), "up");
    assert_eq!(unknown.adminstate(), "unknown");
    let mut out = Vec::new();
    netclass::families(&[up, down, unknown], &mut out);
    assert_eq!(out.len(), 2 + 17);
    assert_eq!(value(&out, "node_network_up", &[("device", "eth0")]), 1.0);
    assert_eq!(value(&out, "node_network_up", &[("device", "eth1")]), 0.0);
    let info = family(&out, "node_network_info").unwrap();
    assert_eq!(
        info.help,
        "Non-numeric data from /sys/class/net/<iface>, value is always 1."
    );
    let eth0 = info.find(&[("device", "eth0")]).unwrap();
    let labels: Vec<(&str, &str)> = eth0
        .labels
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        labels,
        [
            ("device", "eth0"),
            ("address", "52:54:00:12:34:56"),
            ("broadcast", "ff:ff:ff:ff:ff:ff"),
            ("duplex", "full"),
            ("operstate", "up"),
            ("adminstate", "up"),
            ("ifalias", "uplink"),
        ]
    );
    assert!(
        info.find(&[
            ("device", "lo"),
            ("adminstate", "unknown"),
            ("operstate", "")
        ])
        .is_some()
    );
    let speed = family(&out, "node_network_speed_bytes").unwrap();
    assert_eq!(speed.help, "Network device property: speed_bytes");
    assert_eq!(speed.kind, MetricKind::Gauge);
    assert_eq!(speed.find(&[("device", "eth0")]).unwrap().value, 1.25e9);
    // node_exporter exports an unknown (-1) speed unless --collector.netclass.ignore-invalid-speed.
    assert_eq!(speed.find(&[("device", "eth1")]).unwrap().value, -125000.0);
    assert_eq!(speed.series.len(), 2);
    let mtu = family(&out, "node_network_mtu_bytes").unwrap();
    assert_eq!(mtu.series.len(), 1);
    assert_eq!(
        value(&out, "node_network_flags", &[("device", "eth0")]),
        4099.0
    );
    let changes = family(&out, "node_network_carrier_changes_total").unwrap();
    assert_eq!(changes.kind, MetricKind::Counter);
    assert_eq!(changes.find(&[("device", "eth0")]).unwrap().value, 3.0);
    assert_eq!(
        value(&out, "node_network_protocol_type", &[("device", "eth0")]),
        1.0
    );
    assert!(
        family(&out, "node_network_carrier")
            .unwrap()
            .series
            .is_empty()
    );
}
