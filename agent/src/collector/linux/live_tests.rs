//! Live tests against this machine's `/proc`, and a fake root file system for `rootfs`.

use super::*;
use peeper_proto::model::family;
use peeper_test_support::value;
use std::fs;

fn success(families: &[MetricFamily], area: &str) -> f64 {
    value(
        families,
        "node_scrape_collector_success",
        &[("collector", area)],
    )
}

fn host() -> LinuxCollector {
    LinuxCollector::new(&LinuxConfig::default())
}

#[test]
fn live_meminfo_matches_proc() {
    let families = host().collect_now();
    let text = fs::read_to_string("/proc/meminfo").unwrap();
    let kb: f64 = text
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap();
    assert_eq!(
        value(&families, "node_memory_MemTotal_bytes", &[]),
        kb * 1024.0
    );
}

#[test]
fn live_cpu_series_per_cpu_and_mode() {
    let families = host().collect_now();
    let stat = fs::read_to_string("/proc/stat").unwrap();
    let cpus = stat
        .lines()
        .filter(|l| l.starts_with("cpu") && !l.starts_with("cpu "))
        .count();
    let online = std::thread::available_parallelism().map_or(1, |n| n.get());
    assert!(cpus >= online, "{cpus} cpu lines, {online} usable CPUs");
    let seconds = family(&families, "node_cpu_seconds_total").unwrap();
    assert_eq!(seconds.series.len(), cpus * 8);
    for cpu in 0..cpus {
        let cpu = cpu.to_string();
        for mode in cpu::MODES {
            assert!(seconds.find(&[("cpu", &cpu), ("mode", mode)]).is_some());
        }
    }
}

#[test]
fn live_loadavg_matches_proc() {
    let before = fs::read_to_string("/proc/loadavg").unwrap();
    let families = host().collect_now();
    let after = fs::read_to_string("/proc/loadavg").unwrap();
    let got = [
        value(&families, "node_load1", &[]),
        value(&families, "node_load5", &[]),
        value(&families, "node_load15", &[]),
    ];
    let parse = |text: &str| loadavg::parse_loadavg(text).unwrap();
    assert!(
        got == parse(&before) || got == parse(&after),
        "{got:?} vs {before} / {after}"
    );
}

#[test]
fn live_loopback_traffic_counts_up() {
    let text = fs::read_to_string("/proc/net/dev").unwrap();
    let before = netdev::parse_net_dev(&text)
        .unwrap()
        .iter()
        .find(|d| d.device == "lo")
        .map(|d| d.values[0] as f64)
        .expect("lo in /proc/net/dev");
    let families = host().collect_now();
    let got = value(
        &families,
        "node_network_receive_bytes_total",
        &[("device", "lo")],
    );
    assert!(got >= before, "{got} < {before}");
}

#[test]
fn live_root_filesystem_and_areas() {
    let families = host().collect_now();
    let size = value(
        &families,
        "node_filesystem_size_bytes",
        &[("mountpoint", "/")],
    );
    assert!(size > 0.0);
    let avail = value(
        &families,
        "node_filesystem_avail_bytes",
        &[("mountpoint", "/")],
    );
    assert!(avail <= size);
    let error = value(
        &families,
        "node_filesystem_device_error",
        &[("mountpoint", "/")],
    );
    assert_eq!(error, 0.0);
    assert!(family(&families, "node_filesystem_mount_info").is_some());
    // /proc and /sys are excluded by default.
    let sizes = family(&families, "node_filesystem_size_bytes").unwrap();
    assert!(sizes.find(&[("mountpoint", "/proc")]).is_none());
    for area in Area::ALL.map(Area::name) {
        let ok = success(&families, area);
        if area == "pressure" && !Path::new("/proc/pressure").exists() {
            assert_eq!(ok, 0.0);
        } else {
            assert_eq!(ok, 1.0, "{area}");
        }
    }
    let info = family(&families, "node_uname_info").unwrap();
    assert_eq!(info.series[0].label("sysname"), Some("Linux"));
    assert!(value(&families, "node_time_seconds", &[]) > 1.6e9);
    // No name twice.
    let mut names: Vec<&str> = families.iter().map(|f| f.name.as_str()).collect();
    names.sort_unstable();
    let total = names.len();
    names.dedup();
    assert_eq!(names.len(), total);
}

#[tokio::test]
async fn collect_runs_on_the_blocking_pool() {
    let mut collector = host();
    assert_eq!(collector.job(), "linux");
    let first = collector.collect(Cycle::standard()).await.unwrap();
    let second = collector.collect(Cycle::standard()).await.unwrap();
    assert!(family(&first, "node_cpu_seconds_total").is_some());
    assert!(family(&second, "node_memory_MemTotal_bytes").is_some());
}

/// Writes `files` (path, contents) below `root`.
fn write_tree(root: &Path, files: &[(&str, &str)]) {
    for (path, contents) in files {
        let path = root.join(path);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, contents).unwrap();
    }
}

const FAKE_MOUNTINFO: &str = "\
27 1 254:0 / / rw,relatime - ext4 /dev/vda rw
22 27 0:21 / /proc rw,relatime - proc proc rw
28 27 8:17 / /data ro,relatime shared:1 - xfs /dev/sdb1 rw
29 27 8:33 / /missing rw - ext4 /dev/sdc1 rw
30 27 8:49 / /my\\040disk rw - ext4 /dev/sdd1 rw
31 27 0:40 / /snap/core rw - squashfs /dev/loop0 ro
";

fn fake_root() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write_tree(
        dir.path(),
        &[
            (
                "proc/stat",
                "cpu  1 2 3 4 5 6 7 8 9 10\ncpu0 100 0 50 1000 0 0 0 0 0 0\ncpu3 200 0 50 1000 0 0 0 0 0 0\nintr 42\nctxt 4242\nbtime 1700000000\nprocesses 77\nprocs_running 2\nprocs_blocked 1\n",
            ),
            (
                "proc/meminfo",
                "MemTotal:       1000 kB\nMemFree:         500 kB\nActive(file):    100 kB\nHugePages_Total:       3\n",
            ),
            ("proc/loadavg", "0.25 0.50 0.75 1/100 123\n"),
            (
                "proc/net/dev",
                "Inter-|   Receive\n face |bytes\n    lo:  111 2 0 0 0 0 0 0  222 3 0 0 0 0 0 0\n  eth9:  999 9 1 2 3 4 5 6  888 8 7 6 5 4 3 2\n",
            ),
            ("sys/class/net/lo/statistics/rx_nohandler", "7\n"),
            (
                "proc/diskstats",
                "   8 16 sdb 10 0 20 30 40 0 50 60 0 70 80\n   8 17 sdb1 1 0 2 3 4 0 5 6 0 7 8\n",
            ),
            (
                "run/udev/data/b8:16",
                "S:disk/by-id/x\nE:ID_PATH=pci-0000:00:1f.2-ata-2\nE:ID_MODEL=FakeDisk\nE:ID_SERIAL_SHORT=SN123\n",
            ),
            ("sys/block/sdb/queue/rotational", "1\n"),
            ("proc/1/mountinfo", FAKE_MOUNTINFO),
            ("data/.keep", ""),
            ("my disk/.keep", ""),
            (
                "proc/pressure/cpu",
                "some avg10=0.00 avg60=0.00 avg300=0.00 total=2000000\n",
            ),
            (
                "proc/pressure/io",
                "some avg10=0 avg60=0 avg300=0 total=3000000\nfull avg10=0 avg60=0 avg300=0 total=1000000\n",
            ),
            ("proc/sys/kernel/ostype", "Linux\n"),
            ("proc/sys/kernel/osrelease", "5.10.0-fake\n"),
            ("proc/sys/kernel/version", "#1 SMP fake\n"),
            ("proc/sys/kernel/hostname", "fixture-host\n"),
            ("proc/sys/kernel/domainname", "(none)\n"),
            ("proc/sys/kernel/arch", "aarch64\n"),
            (
                "sys/devices/system/clocksource/clocksource0/available_clocksource",
                "tsc hpet \n",
            ),
            (
                "sys/devices/system/clocksource/clocksource0/current_clocksource",
                "tsc\n",
            ),
        ],
    );
    dir
}

#[test]
fn rootfs_values_come_from_the_configured_root() {
    let dir = fake_root();
    let config = LinuxConfig {
        enabled: true,
        rootfs: dir.path().to_path_buf(),
    };
    let families = LinuxCollector::new(&config).collect_now();

    let cpu = |c: &str, m: &str| {
        value(
            &families,
            "node_cpu_seconds_total",
            &[("cpu", c), ("mode", m)],
        )
    };
    assert_eq!(cpu("0", "user"), 1.0);
    assert_eq!(cpu("3", "idle"), 10.0);
    assert_eq!(
        family(&families, "node_cpu_seconds_total")
            .unwrap()
            .series
            .len(),
        16
    );
    assert_eq!(value(&families, "node_context_switches_total", &[]), 4242.0);
    assert_eq!(
        value(&families, "node_boot_time_seconds", &[]),
        1700000000.0
    );
    assert_eq!(
        value(&families, "node_memory_MemTotal_bytes", &[]),
        1024000.0
    );
    assert_eq!(
        value(&families, "node_memory_Active_file_bytes", &[]),
        102400.0
    );
    assert_eq!(value(&families, "node_memory_HugePages_Total", &[]), 3.0);
    assert_eq!(value(&families, "node_load5", &[]), 0.5);

    let eth9 = [("device", "eth9")];
    assert_eq!(
        value(&families, "node_network_receive_frame_total", &eth9),
        4.0
    );
    assert_eq!(
        value(&families, "node_network_transmit_carrier_total", &eth9),
        3.0
    );
    assert_eq!(
        value(
            &families,
            "node_network_receive_nohandler_total",
            &[("device", "lo")]
        ),
        7.0
    );

    let sdb = [("device", "sdb")];
    assert_eq!(
        value(&families, "node_disk_read_bytes_total", &sdb),
        20.0 * 512.0
    );
    assert_eq!(
        value(&families, "node_disk_io_time_weighted_seconds_total", &sdb),
        0.08
    );
    let reads = family(&families, "node_disk_reads_completed_total").unwrap();
    assert_eq!(reads.series.len(), 1, "sdb1 is a partition and excluded");
    let info = family(&families, "node_disk_info")
        .unwrap()
        .find(&sdb)
        .unwrap();
    assert_eq!(info.label("model"), Some("FakeDisk"));
    assert_eq!(info.label("serial"), Some("SN123"));
    assert_eq!(info.label("path"), Some("pci-0000:00:1f.2-ata-2"));
    assert_eq!(info.label("rotational"), Some("1"));
    assert_eq!(info.label("minor"), Some("16"));

    let root = [("mountpoint", "/")];
    assert!(value(&families, "node_filesystem_size_bytes", &root) > 0.0);
    assert_eq!(
        value(
            &families,
            "node_filesystem_readonly",
            &[("mountpoint", "/data")]
        ),
        1.0
    );
    assert!(
        value(
            &families,
            "node_filesystem_size_bytes",
            &[("mountpoint", "/my disk")]
        ) > 0.0
    );
    let missing = family(&families, "node_filesystem_device_error")
        .unwrap()
        .find(&[("mountpoint", "/missing")])
        .unwrap();
    assert_eq!(missing.value, 1.0);
    assert_eq!(
        missing.label("device_error"),
        Some("no such file or directory")
    );
    assert_eq!(missing.label("device"), Some("/dev/sdc1"));
    let sizes = family(&families, "node_filesystem_size_bytes").unwrap();
    assert!(sizes.find(&[("mountpoint", "/missing")]).is_none());
    assert!(sizes.find(&[("mountpoint", "/proc")]).is_none());
    assert!(sizes.find(&[("mountpoint", "/snap/core")]).is_none());
    let mount = family(&families, "node_filesystem_mount_info")
        .unwrap()
        .find(&[("mountpoint", "/data")])
        .unwrap();
    assert_eq!(
        (mount.label("major"), mount.label("minor")),
        (Some("8"), Some("17"))
    );

    assert_eq!(
        value(&families, "node_pressure_cpu_waiting_seconds_total", &[]),
        2.0
    );
    assert_eq!(
        value(&families, "node_pressure_io_stalled_seconds_total", &[]),
        1.0
    );
    assert!(family(&families, "node_pressure_memory_waiting_seconds_total").is_none());

    let uname = &family(&families, "node_uname_info").unwrap().series[0];
    assert_eq!(uname.label("nodename"), Some("fixture-host"));
    assert_eq!(uname.label("release"), Some("5.10.0-fake"));
    assert_eq!(uname.label("machine"), Some("aarch64"));
    assert_eq!(uname.label("domainname"), Some("(none)"));

    let current = [("device", "0"), ("clocksource", "tsc")];
    assert_eq!(
        value(&families, "node_time_clocksource_current_info", &current),
        1.0
    );
    let available = family(&families, "node_time_clocksource_available_info").unwrap();
    assert_eq!(available.series.len(), 2);

    for area in Area::ALL.map(Area::name) {
        assert_eq!(success(&families, area), 1.0, "{area}");
    }
}

#[test]
fn a_missing_area_reports_failure_and_the_rest_still_report() {
    let dir = fake_root();
    fs::remove_file(dir.path().join("proc/meminfo")).unwrap();
    fs::remove_dir_all(dir.path().join("proc/pressure")).unwrap();
    fs::write(dir.path().join("proc/loadavg"), "garbage\n").unwrap();
    let config = LinuxConfig {
        enabled: true,
        rootfs: dir.path().to_path_buf(),
    };
    let mut collector = LinuxCollector::new(&config);
    for _ in 0..2 {
        let families = collector.collect_now();
        for area in ["meminfo", "pressure", "loadavg"] {
            assert_eq!(success(&families, area), 0.0, "{area}");
        }
        for area in [
            "cpu",
            "stat",
            "filesystem",
            "diskstats",
            "netdev",
            "netclass",
            "uname",
            "time",
        ] {
            assert_eq!(success(&families, area), 1.0, "{area}");
        }
        assert!(family(&families, "node_memory_MemTotal_bytes").is_none());
        assert!(family(&families, "node_load1").is_none());
        assert!(family(&families, "node_network_receive_bytes_total").is_some());
        let durations = family(&families, "node_scrape_collector_duration_seconds").unwrap();
        assert_eq!(durations.series.len(), Area::ALL.len());
    }
    // Once the file is back, the area recovers.
    fs::write(dir.path().join("proc/meminfo"), "MemTotal: 8 kB\n").unwrap();
    let families = collector.collect_now();
    assert_eq!(success(&families, "meminfo"), 1.0);
    assert_eq!(value(&families, "node_memory_MemTotal_bytes", &[]), 8192.0);
}

#[test]
fn missing_proc_stat_fails_cpu_and_stat() {
    let dir = fake_root();
    fs::remove_file(dir.path().join("proc/stat")).unwrap();
    let config = LinuxConfig {
        enabled: true,
        rootfs: dir.path().to_path_buf(),
    };
    let families = LinuxCollector::new(&config).collect_now();
    assert_eq!(success(&families, "cpu"), 0.0);
    assert_eq!(success(&families, "stat"), 0.0);
    assert_eq!(success(&families, "meminfo"), 1.0);
}

#[test]
fn live_loopback_in_netclass() {
    let families = host().collect_now();
    assert_eq!(success(&families, "netclass"), 1.0);
    let mtu: f64 = fs::read_to_string("/sys/class/net/lo/mtu")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(
        value(&families, "node_network_mtu_bytes", &[("device", "lo")]),
        mtu
    );
    let operstate = fs::read_to_string("/sys/class/net/lo/operstate").unwrap();
    let up = value(&families, "node_network_up", &[("device", "lo")]);
    // lo's operstate is "unknown", and node_exporter's `up` is 1 only for "up".
    assert_eq!(up, if operstate.trim() == "up" { 1.0 } else { 0.0 });
    let info = family(&families, "node_network_info").unwrap();
    let lo = info
        .find(&[("device", "lo")])
        .expect("lo in node_network_info");
    assert_eq!(lo.label("operstate"), Some(operstate.trim()));
    assert_eq!(lo.label("adminstate"), Some("up"));
    assert_eq!(
        value(&families, "node_network_iface_id", &[("device", "lo")]),
        1.0
    );
    // Every interface of this host appears once.
    let ups = family(&families, "node_network_up").unwrap();
    assert_eq!(
        ups.series.len(),
        fs::read_dir("/sys/class/net")
            .unwrap()
            .filter(|e| !e.as_ref().unwrap().file_type().unwrap().is_file())
            .count()
    );
}

#[test]
fn netclass_reads_a_fixture_tree() {
    let dir = tempfile::tempdir().unwrap();
    let up = "sys/devices/pci0000:00/0000:00:03.0/net/eth0";
    let down = "sys/class/net/eth1";
    let mut files = vec![("sys/class/net/bonding_masters", "\n")];
    let up_files = [
        ("address", "52:54:00:12:34:56\n"),
        ("addr_assign_type", "0\n"),
        ("broadcast", "ff:ff:ff:ff:ff:ff\n"),
        ("carrier", "1\n"),
        ("carrier_changes", "2\n"),
        ("carrier_down_count", "1\n"),
        ("carrier_up_count", "1\n"),
        ("dev_id", "0x0\n"),
        ("dormant", "0\n"),
        ("duplex", "full\n"),
        ("flags", "0x1003\n"),
        ("ifalias", "\n"),
        ("ifindex", "2\n"),
        ("iflink", "2\n"),
        ("link_mode", "0\n"),
        ("mtu", "1500\n"),
        ("name_assign_type", "4\n"),
        ("netdev_group", "0\n"),
        ("operstate", "up\n"),
        ("speed", "1000\n"),
        ("tx_queue_len", "1000\n"),
        ("type", "1\n"),
        ("statistics/rx_bytes", "42\n"),
    ];
    let down_files = [
        ("address", "52:54:00:ab:cd:ef\n"),
        ("flags", "0x1002\n"),
        ("ifindex", "3\n"),
        ("mtu", "9000\n"),
        ("operstate", "down\n"),
        ("tx_queue_len", "500\n"),
    ];
    let paths: Vec<(String, &str)> = up_files
        .iter()
        .map(|(f, t)| (format!("{up}/{f}"), *t))
        .chain(down_files.iter().map(|(f, t)| (format!("{down}/{f}"), *t)))
        .collect();
    files.extend(paths.iter().map(|(p, t)| (p.as_str(), *t)));
    write_tree(dir.path(), &files);
    // Real sysfs links class/net/<iface> to the device directory.
    std::os::unix::fs::symlink(dir.path().join(up), dir.path().join("sys/class/net/eth0")).unwrap();
    // A carrier that refuses to be read: /proc/self/clear_refs has no read operation, so
    // reading it fails with EINVAL, as `carrier` does on a down link (or EACCES when not root).
    std::os::unix::fs::symlink(
        "/proc/self/clear_refs",
        dir.path().join(down).join("carrier"),
    )
    .unwrap();
    // `speed` is a directory here: not a regular file, skipped as procfs skips it.
    fs::create_dir(dir.path().join(down).join("speed")).unwrap();

    let config = LinuxConfig {
        enabled: true,
        rootfs: dir.path().to_path_buf(),
    };
    let families = LinuxCollector::new(&config).collect_now();
    assert_eq!(success(&families, "netclass"), 1.0);
    let v = |name: &str, device: &str| value(&families, name, &[("device", device)]);
    let absent = |name: &str, device: &str| {
        family(&families, name).is_none_or(|f| f.find(&[("device", device)]).is_none())
    };

    assert_eq!(v("node_network_up", "eth0"), 1.0);
    assert_eq!(v("node_network_up", "eth1"), 0.0);
    let info = family(&families, "node_network_info").unwrap();
    assert_eq!(info.series.len(), 2, "bonding_masters is not an interface");
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
            ("ifalias", ""),
        ]
    );
    assert_eq!(info.series[0].label("device"), Some("eth0"));
    let eth1 = info.find(&[("device", "eth1")]).unwrap();
    assert_eq!(eth1.label("address"), Some("52:54:00:ab:cd:ef"));
    assert_eq!(eth1.label("broadcast"), Some(""));
    assert_eq!(eth1.label("duplex"), Some(""));
    assert_eq!(eth1.label("operstate"), Some("down"));
    assert_eq!(eth1.label("adminstate"), Some("down"));
    assert_eq!(eth1.value, 1.0);

    for (name, want) in [
        ("node_network_address_assign_type", 0.0),
        ("node_network_carrier", 1.0),
        ("node_network_carrier_changes_total", 2.0),
        ("node_network_carrier_up_changes_total", 1.0),
        ("node_network_carrier_down_changes_total", 1.0),
        ("node_network_device_id", 0.0),
        ("node_network_dormant", 0.0),
        ("node_network_flags", 4099.0),
        ("node_network_iface_id", 2.0),
        ("node_network_iface_link", 2.0),
        ("node_network_iface_link_mode", 0.0),
        ("node_network_mtu_bytes", 1500.0),
        ("node_network_net_dev_group", 0.0),
        ("node_network_name_assign_type", 4.0),
        ("node_network_speed_bytes", 125_000_000.0),
        ("node_network_transmit_queue_length", 1000.0),
        ("node_network_protocol_type", 1.0),
    ] {
        assert_eq!(v(name, "eth0"), want, "{name}");
    }
    assert_eq!(v("node_network_flags", "eth1"), 4098.0);
    assert_eq!(v("node_network_iface_id", "eth1"), 3.0);
    assert_eq!(v("node_network_mtu_bytes", "eth1"), 9000.0);
    assert_eq!(v("node_network_transmit_queue_length", "eth1"), 500.0);
    for name in [
        "node_network_carrier",
        "node_network_speed_bytes",
        "node_network_carrier_changes_total",
        "node_network_dormant",
        "node_network_protocol_type",
    ] {
        assert!(absent(name, "eth1"), "{name}");
    }
    // No series without a device, and no name twice.
    let mut names: Vec<&str> = families.iter().map(|f| f.name.as_str()).collect();
    names.sort_unstable();
    let total = names.len();
    names.dedup();
    assert_eq!(names.len(), total);
}

#[test]
fn netclass_without_sys_class_net_fails_alone() {
    let dir = fake_root();
    fs::remove_dir_all(dir.path().join("sys/class/net")).unwrap();
    let config = LinuxConfig {
        enabled: true,
        rootfs: dir.path().to_path_buf(),
    };
    let families = LinuxCollector::new(&config).collect_now();
    assert_eq!(success(&families, "netclass"), 0.0);
    assert_eq!(success(&families, "netdev"), 1.0);
    assert!(family(&families, "node_network_up").is_none());
}
