//! The hardware and storage areas on the recorded tree (`fixtures/hw`) and on copies of it
//! with files missing or broken, as node_exporter 1.5 reports them (the same tree is compared
//! with node_exporter itself in `agent/tests/node_hw_parity.rs`).

use super::fixtures::{copy_of, hw_root};
use super::live_tests::success;
use super::*;
use peeper_proto::MetricKind;
use peeper_proto::model::family;
use peeper_test_support::value;
use std::fs;

/// The areas of this file, by node_exporter's collector names.
pub(super) const HARDWARE: [&str; 12] = [
    "hwmon",
    "thermal_zone",
    "powersupplyclass",
    "rapl",
    "nvme",
    "mdadm",
    "bonding",
    "edac",
    "xfs",
    "nfs",
    "nfsd",
    "zfs",
];

fn collect_at(root: &Path) -> Vec<MetricFamily> {
    let config = LinuxConfig {
        enabled: true,
        rootfs: root.to_path_buf(),
        ..LinuxConfig::default()
    };
    LinuxCollector::new(&config).collect_now()
}

fn help(families: &[MetricFamily], name: &str) -> String {
    family(families, name)
        .unwrap_or_else(|| panic!("{name} missing"))
        .help
        .clone()
}

#[test]
fn every_hardware_area_reads_the_recorded_tree() {
    let families = collect_at(&hw_root());
    for area in HARDWARE {
        assert_eq!(success(&families, area), 1.0, "{area}");
    }
    let chip = |chip: &'static str, sensor: &'static str| [("chip", chip), ("sensor", sensor)];
    for (name, labels, want) in [
        (
            "node_hwmon_temp_celsius",
            chip("platform_coretemp_0", "temp1"),
            55.0,
        ),
        (
            "node_hwmon_temp_crit_alarm_celsius",
            chip("platform_coretemp_0", "temp1"),
            0.0,
        ),
        (
            "node_hwmon_fan_rpm",
            chip("platform_applesmc_768", "fan2"),
            1998.0,
        ),
        ("node_hwmon_in_volts", chip("nct6779", "in0"), 0.792),
        ("node_hwmon_pwm", chip("nct6779", "pwm1"), 153.0),
        (
            "node_hwmon_beep_enabled",
            chip("nct6779", "beep_enable0"),
            1.0,
        ),
        (
            "node_hwmon_update_interval_seconds",
            chip("nct6779", "update_interval0"),
            1.0,
        ),
        ("node_hwmon_temp_max_celsius", chip("hwmon3", "temp1"), 90.0),
        ("node_hwmon_curr_amps", chip("hwmon3", "curr1"), 0.25),
        ("node_hwmon_curr_input_amps", chip("hwmon3", "curr1"), 1.5),
        (
            "node_hwmon_power_average_watt",
            chip("hwmon3", "power1"),
            12.345678,
        ),
        (
            "node_hwmon_energy_joule_total",
            chip("hwmon3", "energy1"),
            123.456789,
        ),
        (
            "node_hwmon_temp_crit_hyst_celsius",
            chip("weird_name", "temp1"),
            95.0,
        ),
    ] {
        assert_eq!(value(&families, name, &labels), want, "{name}{labels:?}");
    }
    let labels = family(&families, "node_hwmon_sensor_label").unwrap();
    assert!(labels.find(&[("label", "Left side  ")]).is_some());
    assert!(labels.find(&[("label", "sens\u{FFFD}or")]).is_some());
    // `temp2_input` of hwmon3 is `N/A`: not a number, left out.
    let temps = family(&families, "node_hwmon_temp_celsius").unwrap();
    assert!(temps.find(&chip("hwmon3", "temp2")).is_none());
    assert_eq!(
        help(&families, "node_hwmon_pwm"),
        "Hardware monitor pwm element "
    );
    assert_eq!(
        help(&families, "node_hwmon_temp_crit_hyst_celsius"),
        "Hardware monitor for temperature (Crit-Hyst)"
    );
    let energy = family(&families, "node_hwmon_energy_joule_total").unwrap();
    assert_eq!(energy.kind, MetricKind::Counter);
    let names = family(&families, "node_hwmon_chip_names").unwrap();
    assert_eq!(
        names.series.len(),
        3,
        "applesmc and hwmon3 have no name file"
    );
}

#[test]
fn thermal_power_rapl_and_nvme_on_the_recorded_tree() {
    let root = hw_root();
    let families = collect_at(&root);
    let zone = |zone, kind| [("zone", zone), ("type", kind)];
    let temp = "node_thermal_zone_temp";
    assert_eq!(value(&families, temp, &zone("1", "acpitz")), -12.375);
    assert_eq!(value(&families, temp, &zone("10", "iwlwifi_1")), 41.0);
    let clamp = [("name", "1"), ("type", "intel_powerclamp")];
    assert_eq!(
        value(&families, "node_cooling_device_cur_state", &clamp),
        -1.0
    );

    let bat = [("power_supply", "BAT0")];
    assert_eq!(
        value(&families, "node_power_supply_energy_watthour", &bat),
        36.58
    );
    assert_eq!(
        value(&families, "node_power_supply_temp_celsius", &bat),
        23.5
    );
    assert_eq!(
        value(&families, "node_power_supply_capacity_alert_min", &bat),
        5.0
    );
    assert_eq!(
        help(&families, "node_power_supply_cyclecount"),
        "cyclecount value of /sys/class/power_supply/<power_supply>."
    );
    let info = family(&families, "node_power_supply_info").unwrap();
    let battery = info.find(&bat).unwrap();
    assert_eq!(battery.label("model_name"), Some("LNV-45N1\u{FFFD}"));
    assert_eq!(battery.label("serial_number"), Some("38109"));
    assert_eq!(
        battery.label("health"),
        None,
        "an empty attribute is no label"
    );
    assert_eq!(
        info.find(&[("power_supply", "AC")]).unwrap().labels.len(),
        2
    );

    let powercap = root.join("sys/class/powercap");
    let zone_path = |name: &str| powercap.join(name).to_string_lossy().into_owned();
    let second_dram = zone_path("intel-rapl:1:0");
    let labels = [("index", "1"), ("path", second_dram.as_str())];
    assert_eq!(
        value(&families, "node_rapl_dram_joules_total", &labels),
        1.234567
    );
    let package = zone_path("intel-rapl:0");
    let labels = [("index", "0"), ("path", package.as_str())];
    assert_eq!(
        value(&families, "node_rapl_package_joules_total", &labels),
        240422.366267
    );
    assert_eq!(
        help(&families, "node_rapl_core_joules_total"),
        "Current RAPL core value in joules"
    );

    let nvme = family(&families, "node_nvme_info").unwrap();
    let first = nvme.find(&[("device", "nvme0")]).unwrap();
    assert_eq!(first.label("model"), Some("Samsung SSD 970 PRO 512GB"));
    assert_eq!(first.label("state"), Some("live"));
}

#[test]
fn storage_and_nfs_areas_on_the_recorded_tree() {
    let families = collect_at(&hw_root());
    let md = |device| [("device", device)];
    assert_eq!(
        value(&families, "node_md_blocks_synced", &md("md6")),
        16775552.0
    );
    assert_eq!(value(&families, "node_md_blocks_synced", &md("md11")), 0.0);
    let state = |device, state| [("device", device), ("state", state)];
    assert_eq!(
        value(&families, "node_md_state", &state("md6", "recovering")),
        1.0
    );
    assert_eq!(
        value(&families, "node_md_state", &state("md201", "check")),
        1.0
    );
    assert_eq!(
        value(&families, "node_md_state", &state("md219", "inactive")),
        1.0
    );
    assert_eq!(
        value(&families, "node_md_disks", &state("md3", "spare")),
        2.0
    );
    assert_eq!(
        value(&families, "node_md_disks", &state("md7", "active")),
        3.0
    );

    let master = |name| [("master", name)];
    assert_eq!(value(&families, "node_bonding_slaves", &master("int")), 2.0);
    assert_eq!(value(&families, "node_bonding_active", &master("int")), 1.0);
    assert_eq!(
        value(&families, "node_bonding_slaves", &master("bond0")),
        0.0
    );

    let csrow = [("controller", "0"), ("csrow", "unknown")];
    assert_eq!(
        value(
            &families,
            "node_edac_csrow_uncorrectable_errors_total",
            &csrow
        ),
        6.0
    );
    let controllers = family(&families, "node_edac_correctable_errors_total").unwrap();
    assert_eq!(controllers.series.len(), 2);

    let sda1 = [("device", "sda1")];
    assert_eq!(
        value(&families, "node_xfs_read_calls_total", &sda1),
        94045.0
    );
    assert_eq!(
        value(&families, "node_xfs_write_calls_total", &sda1),
        107739.0
    );
    let devices = family(&families, "node_xfs_vnode_active_total").unwrap();
    assert_eq!(
        devices.series.len(),
        2,
        "sys/fs/xfs/stats is the global file, not a device"
    );

    let v3 = |method| [("proto", "3"), ("method", method)];
    assert_eq!(
        value(&families, "node_nfs_requests_total", &v3("Commit")),
        64.0
    );
    let v4 = [("proto", "4"), ("method", "Clone")];
    assert_eq!(value(&families, "node_nfs_requests_total", &v4), 158.0);
    let v2 = [("proto", "2"), ("method", "Null")];
    assert_eq!(value(&families, "node_nfs_requests_total", &v2), 0.0);
    assert_eq!(value(&families, "node_nfs_rpcs_total", &[]), 4329785.0);
    let tcp = [("protocol", "tcp")];
    assert_eq!(value(&families, "node_nfs_packets_total", &tcp), 18628.0);

    let write = [("proto", "4"), ("method", "Write")];
    assert_eq!(
        value(&families, "node_nfsd_requests_total", &write),
        36.0 * 7.0
    );
    let requests = family(&families, "node_nfsd_requests_total").unwrap();
    assert_eq!(requests.series.len(), 17 + 21 + 33);
    assert_eq!(value(&families, "node_nfsd_server_threads", &[]), 8.0);
    let auth = [("error", "auth")];
    assert_eq!(value(&families, "node_nfsd_rpc_errors_total", &auth), 2.0);
}

#[test]
fn zfs_kstats_on_the_recorded_tree() {
    let families = collect_at(&hw_root());
    assert_eq!(value(&families, "node_zfs_arc_hits", &[]), 8772612.0);
    let hits = family(&families, "node_zfs_arc_hits").unwrap();
    assert_eq!(hits.kind, MetricKind::Untyped);
    assert_eq!(hits.help, "kstat.zfs.misc.arcstats.hits");
    let pool = [("zpool", "pool1")];
    assert_eq!(value(&families, "node_zfs_zpool_nread", &pool), 1884160.0);
    let dataset = [("zpool", "pool1"), ("dataset", "pool1/dataset1")];
    assert_eq!(
        value(&families, "node_zfs_zpool_dataset_nwritten", &dataset),
        12302.0
    );
    let state = |pool, state| [("zpool", pool), ("state", state)];
    assert_eq!(
        value(&families, "node_zfs_zpool_state", &state("pool1", "online")),
        1.0
    );
    let suspended = family(&families, "node_zfs_zpool_state").unwrap();
    assert!(
        suspended
            .series
            .iter()
            .filter(|s| s.label("zpool") == Some("pool2"))
            .all(|s| s.value == 0.0)
    );
}

#[test]
fn without_their_files_the_areas_report_as_node_exporter_does() {
    let dir = tempfile::tempdir().unwrap();
    let mut collector = LinuxCollector::new(&LinuxConfig {
        enabled: true,
        rootfs: dir.path().to_path_buf(),
        ..LinuxConfig::default()
    });
    for _ in 0..2 {
        let families = collector.collect_now();
        // A glob that matches nothing is success; a missing directory or file is "no data".
        for (area, want) in [
            ("hwmon", 0.0),
            ("thermal_zone", 1.0),
            ("powersupplyclass", 0.0),
            ("rapl", 0.0),
            ("nvme", 0.0),
            ("mdadm", 0.0),
            ("bonding", 0.0),
            ("edac", 1.0),
            ("xfs", 1.0),
            ("nfs", 0.0),
            ("nfsd", 0.0),
            ("zfs", 0.0),
        ] {
            assert_eq!(success(&families, area), want, "{area}");
        }
        let prefixes = [
            "node_hwmon",
            "node_thermal",
            "node_power",
            "node_md_",
            "node_xfs",
        ];
        assert!(
            families
                .iter()
                .all(|f| !prefixes.iter().any(|p| f.name.starts_with(p))),
            "no series without files"
        );
    }
    // An empty class directory is success with no series.
    fs::create_dir_all(dir.path().join("sys/class/power_supply")).unwrap();
    let families = collector.collect_now();
    assert_eq!(success(&families, "powersupplyclass"), 1.0);
}

/// Collects on a copy of the tree changed by `change`.
fn with_broken_tree(change: impl FnOnce(&Path)) -> Vec<MetricFamily> {
    let dir = copy_of(&hw_root());
    change(dir.path());
    collect_at(dir.path())
}

/// Breaks `file` of a copy of the tree with `contents` (`None`: removes it) and collects.
fn with_broken(file: &str, contents: Option<&str>) -> Vec<MetricFamily> {
    with_broken_tree(|root| match contents {
        Some(contents) => fs::write(root.join(file), contents).unwrap(),
        None => fs::remove_file(root.join(file)).unwrap(),
    })
}

#[test]
fn a_broken_file_fails_its_area_as_node_exporter_does() {
    // Areas that read everything first export nothing when one file fails.
    for (file, contents, area, gone) in [
        (
            "proc/mdstat",
            Some("md0 : active\n"),
            "mdadm",
            "node_md_disks",
        ),
        (
            "sys/class/power_supply/BAT0/capacity",
            Some("lots\n"),
            "powersupplyclass",
            "node_power_supply_info",
        ),
        ("sys/class/nvme/nvme1/state", None, "nvme", "node_nvme_info"),
        (
            "sys/class/net/int/slave_eth1/bonding_slave/mii_status",
            None,
            "bonding",
            "node_bonding_slaves",
        ),
        (
            "sys/fs/xfs/dm-0/stats/stats",
            Some("rw 1 2 3\n"),
            "xfs",
            "node_xfs_read_calls_total",
        ),
        (
            "proc/net/rpc/nfs",
            Some("net 1 2 3 4\nbogus 1\n"),
            "nfs",
            "node_nfs_rpcs_total",
        ),
        (
            "proc/net/rpc/nfsd",
            Some("rc 0 0 0\nwdeleg_getattr 0\n"),
            "nfsd",
            "node_nfsd_server_rpcs_total",
        ),
        (
            "sys/class/thermal/thermal_zone1/temp",
            Some("warm\n"),
            "thermal_zone",
            "node_thermal_zone_temp",
        ),
    ] {
        let families = with_broken(file, contents);
        assert_eq!(success(&families, area), 0.0, "{area}");
        assert!(family(&families, gone).is_none(), "{gone}");
        let others = HARDWARE.iter().filter(|other| **other != area);
        for other in others {
            assert_eq!(success(&families, other), 1.0, "{other} next to {area}");
        }
    }
}

#[test]
fn areas_that_export_as_they_read_keep_what_came_before_a_failure() {
    // A cooling device fails after the zones were exported.
    let families = with_broken("sys/class/thermal/cooling_device1/max_state", Some("x\n"));
    assert_eq!(success(&families, "thermal_zone"), 0.0);
    assert!(family(&families, "node_thermal_zone_temp").is_some());
    assert!(family(&families, "node_cooling_device_max_state").is_none());
    // The second controller fails after the first one's counters.
    let families = with_broken("sys/devices/system/edac/mc/mc1/ue_count", None);
    assert_eq!(success(&families, "edac"), 0.0);
    let first = [("controller", "0")];
    assert_eq!(
        value(&families, "node_edac_uncorrectable_errors_total", &first),
        5.0
    );
    let ce = family(&families, "node_edac_correctable_errors_total").unwrap();
    assert_eq!(
        ce.series.len(),
        2,
        "mc1's ce_count came before its ue_count"
    );
    // The second package's counter fails after the zones sorted before it.
    let families = with_broken("sys/class/powercap/intel-rapl:1/energy_uj", Some("-1\n"));
    assert_eq!(success(&families, "rapl"), 0.0);
    assert!(family(&families, "node_rapl_core_joules_total").is_some());
    let packages = family(&families, "node_rapl_package_joules_total").unwrap();
    assert_eq!(packages.series.len(), 1);
    // A chip whose `device` cannot be listed fails the area; the other chips still report.
    let families = with_broken_tree(|root| {
        fs::write(
            root.join("sys/class/hwmon/hwmon4/device"),
            "not a directory\n",
        )
        .unwrap();
    });
    assert_eq!(success(&families, "hwmon"), 0.0);
    let chips = family(&families, "node_hwmon_chip_names").unwrap();
    assert!(chips.find(&[("chip", "platform_coretemp_0")]).is_some());
    assert!(chips.find(&[("chip_name", "weird_name")]).is_none());
}
