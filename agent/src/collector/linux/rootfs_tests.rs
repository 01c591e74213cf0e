//! Tests against a fake root file system: every area reads below the configured `rootfs`.

use super::fixtures;
use super::hw_tests::HARDWARE;
use super::live_tests::success;
use super::*;
use peeper_proto::model::family;
use peeper_test_support::value;
use std::fs;

/// Writes `files` (path, contents) below `root`.
pub(super) fn write_tree(root: &Path, files: &[(&str, &str)]) {
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

pub(super) fn fake_root() -> tempfile::TempDir {
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
            ("proc/sys/fs/file-nr", "96\t0\t65536\n"),
            ("proc/sys/kernel/random/entropy_avail", "200\n"),
            ("proc/sys/kernel/random/poolsize", "4096\n"),
            ("proc/vmstat", "nr_dirty 1\npgfault 77\noom_kill 2\n"),
            ("proc/net/netstat", "TcpExt: ListenDrops TW\nTcpExt: 5 6\n"),
            ("proc/net/snmp", "Tcp: CurrEstab MaxConn\nTcp: 3 -1\n"),
            ("proc/net/snmp6", "Udp6InDatagrams 8\n"),
            ("proc/net/sockstat", fixtures::SOCKSTAT),
            ("proc/net/softnet_stat", fixtures::SOFTNET_STAT),
            ("proc/net/udp", fixtures::NET_UDP),
            ("proc/net/arp", fixtures::NET_ARP),
            ("proc/sys/net/netfilter/nf_conntrack_count", "12\n"),
            ("proc/sys/net/netfilter/nf_conntrack_max", "65536\n"),
            ("proc/net/stat/nf_conntrack", fixtures::CONNTRACK_STAT),
            (
                "usr/lib/os-release",
                "NAME=\"Fixture OS\"\nID=fixture\nVERSION_ID=1.2.3\n",
            ),
            ("proc/schedstat", fixtures::SCHEDSTAT),
        ],
    );
    dir
}

#[test]
fn rootfs_values_come_from_the_configured_root() {
    let dir = fake_root();
    let config = LinuxConfig {
        rootfs: dir.path().to_path_buf(),
        ..LinuxConfig::default()
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

    // The hardware areas have no files here (they are tested on their own tree).
    for area in Area::ALL
        .map(Area::name)
        .into_iter()
        .filter(|a| !HARDWARE.contains(a))
    {
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
        rootfs: dir.path().to_path_buf(),
        ..LinuxConfig::default()
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
        rootfs: dir.path().to_path_buf(),
        ..LinuxConfig::default()
    };
    let families = LinuxCollector::new(&config).collect_now();
    assert_eq!(success(&families, "cpu"), 0.0);
    assert_eq!(success(&families, "stat"), 0.0);
    assert_eq!(success(&families, "meminfo"), 1.0);
}

#[test]
fn rootfs_network_and_kernel_areas() {
    let dir = fake_root();
    let config = LinuxConfig {
        rootfs: dir.path().to_path_buf(),
        ..LinuxConfig::default()
    };
    let families = LinuxCollector::new(&config).collect_now();
    for (name, want) in [
        ("node_filefd_allocated", 96.0),
        ("node_filefd_maximum", 65536.0),
        ("node_entropy_available_bits", 200.0),
        ("node_entropy_pool_size_bits", 4096.0),
        ("node_vmstat_pgfault", 77.0),
        ("node_vmstat_oom_kill", 2.0),
        ("node_netstat_TcpExt_ListenDrops", 5.0),
        ("node_netstat_Tcp_CurrEstab", 3.0),
        ("node_netstat_Udp6_InDatagrams", 8.0),
        ("node_sockstat_sockets_used", 49.0),
        ("node_sockstat_TCP_tw", 41.0),
        ("node_nf_conntrack_entries", 12.0),
        ("node_nf_conntrack_entries_limit", 65536.0),
        ("node_nf_conntrack_stat_ignore", 16.0),
    ] {
        assert_eq!(value(&families, name, &[]), want, "{name}");
    }
    assert!(family(&families, "node_vmstat_nr_dirty").is_none());
    assert!(family(&families, "node_netstat_TcpExt_TW").is_none());
    // sockstat6 is missing (IPv6 off): skipped, and the area still succeeds.
    assert!(family(&families, "node_sockstat_TCP6_inuse").is_none());
    let cpu1 = [("cpu", "1")];
    assert_eq!(value(&families, "node_softnet_dropped_total", &cpu1), 2.0);
    assert_eq!(
        value(&families, "node_schedstat_timeslices_total", &cpu1),
        561600.0
    );
    // udp6 is missing: only the IPv4 series.
    let queues = family(&families, "node_udp_queues").unwrap();
    assert_eq!(queues.series.len(), 2);
    assert_eq!(
        value(
            &families,
            "node_udp_queues",
            &[("queue", "tx"), ("ip", "v4")]
        ),
        2560.0
    );
    assert_eq!(
        value(&families, "node_arp_entries", &[("device", "eth1")]),
        1.0
    );
    // /etc/os-release is missing, so /usr/lib/os-release is read.
    assert_eq!(
        value(&families, "node_os_version", &[("id", "fixture")]),
        1.2
    );
    // The hardware areas have no files here (they are tested on their own tree).
    for area in Area::ALL
        .map(Area::name)
        .into_iter()
        .filter(|a| !HARDWARE.contains(a))
    {
        assert_eq!(success(&families, area), 1.0, "{area}");
    }
}

#[test]
fn optional_kernel_features_report_no_data() {
    let dir = fake_root();
    for file in [
        "proc/schedstat",
        "proc/net/stat/nf_conntrack",
        "proc/net/udp",
        "usr/lib/os-release",
        "proc/net/netstat",
    ] {
        fs::remove_file(dir.path().join(file)).unwrap();
    }
    let config = LinuxConfig {
        rootfs: dir.path().to_path_buf(),
        ..LinuxConfig::default()
    };
    let mut collector = LinuxCollector::new(&config);
    let families = collector.collect_now();
    for area in ["schedstat", "conntrack", "udp_queues", "os", "netstat"] {
        assert_eq!(success(&families, area), 0.0, "{area}");
    }
    assert!(family(&families, "node_schedstat_running_seconds_total").is_none());
    assert!(family(&families, "node_os_info").is_none());
    // netstat exports nothing when one of its files fails, as node_exporter does.
    assert!(family(&families, "node_netstat_Tcp_CurrEstab").is_none());
    // conntrack exports what it read before the statistics file failed, as node_exporter does.
    assert_eq!(
        value(&families, "node_nf_conntrack_entries_limit", &[]),
        65536.0
    );
    assert!(family(&families, "node_udp_queues").is_none_or(|f| f.series.is_empty()));
    // os-release appears: read at once, then again only when it changes.
    write_tree(dir.path(), &[("etc/os-release", "ID=one\nVERSION_ID=1\n")]);
    let families = collector.collect_now();
    assert_eq!(success(&families, "os"), 1.0);
    assert_eq!(value(&families, "node_os_version", &[("id", "one")]), 1.0);
    let path = dir.path().join("etc/os-release");
    let later =
        fs::metadata(&path).unwrap().modified().unwrap() + std::time::Duration::from_secs(5);
    fs::write(&path, "ID=two\nVERSION_ID=2\n").unwrap();
    fs::File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_modified(later)
        .unwrap();
    let families = collector.collect_now();
    assert_eq!(value(&families, "node_os_version", &[("id", "two")]), 2.0);
}
