//! The netclass area on a fixture `/sys/class/net` tree.

use super::live_tests::success;
use super::rootfs_tests::{fake_root, write_tree};
use super::*;
use peeper_proto::model::family;
use peeper_test_support::value;
use std::fs;

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
        rootfs: dir.path().to_path_buf(),
        ..LinuxConfig::default()
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
        rootfs: dir.path().to_path_buf(),
        ..LinuxConfig::default()
    };
    let families = LinuxCollector::new(&config).collect_now();
    assert_eq!(success(&families, "netclass"), 0.0);
    assert_eq!(success(&families, "netdev"), 1.0);
    assert!(family(&families, "node_network_up").is_none());
}
