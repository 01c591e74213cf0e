//! node_exporter 1.5 and the agent on the same fake root: a `/proc`, a
//! `/sys/devices/system/cpu` with cpufreq, thermal throttle counts and isolated CPUs, and a
//! udev database with file systems, device mapper and ATA disks, which this host (a KVM guest
//! without udev) does not have. Every series node_exporter's cpu, cpufreq and diskstats
//! collectors emit must come from the agent with the same type, help, labels and value.

use super::*;
use std::path::Path;

const STAT: &str = "cpu  3 0 1 20 0 0 0 0 0 0
cpu0 100 1 50 1000 2 3 4 5 7 1
cpu1 200 0 60 900 0 0 0 0 0 0
intr 1
ctxt 2
btime 1700000000
";

const CPUINFO: &str = "processor\t: 0
vendor_id\t: GenuineIntel
cpu family\t: 6
model\t\t: 85
model name\t: Intel(R) Xeon(R) Gold 6130 CPU @ 2.10GHz
stepping\t: 4
microcode\t: 0x2006e05
cpu MHz\t\t: 2100.000
cache size\t: 22528 KB
physical id\t: 0
siblings\t: 2
core id\t\t: 0
cpu cores\t: 1
flags\t\t: fpu vme de
bogomips\t: 4200.00
power management:

processor\t: 1
vendor_id\t: GenuineIntel
cpu family\t: 6
model\t\t: 85
model name\t: Intel(R) Xeon(R) Gold 6130 CPU @ 2.10GHz
stepping\t: 4
microcode\t: 0x2006e05
cpu MHz\t\t: 1000.000
cache size\t: 22528 KB
physical id\t: 1
siblings\t: 2
core id\t\t: 0
cpu cores\t: 1
power management:

";

/// `/sys/devices/system/cpu`: cpu0 and cpu1 are threads of core 0 of package 0 (cpu1's
/// counts must not be read), cpu2 is core 1 there with a core count only, cpu10 is in
/// package 1, cpu3 has no topology; cpu0 and cpu1 have cpufreq, cpu1 without
/// `cpuinfo_cur_freq`.
const SYS_CPU: [(&str, &str); 39] = [
    ("isolated", "1,3-4\n"),
    ("cpu0/topology/physical_package_id", "0\n"),
    ("cpu0/topology/core_id", "0\n"),
    ("cpu0/thermal_throttle/core_throttle_count", "5\n"),
    ("cpu0/thermal_throttle/package_throttle_count", "40\n"),
    ("cpu1/topology/physical_package_id", "0\n"),
    ("cpu1/topology/core_id", "0\n"),
    ("cpu1/thermal_throttle/core_throttle_count", "99\n"),
    ("cpu1/thermal_throttle/package_throttle_count", "99\n"),
    ("cpu2/topology/physical_package_id", "0\n"),
    ("cpu2/topology/core_id", "1\n"),
    ("cpu2/thermal_throttle/core_throttle_count", "7\n"),
    ("cpu10/topology/physical_package_id", "1\n"),
    ("cpu10/topology/core_id", "0\n"),
    ("cpu10/thermal_throttle/core_throttle_count", "2\n"),
    ("cpu10/thermal_throttle/package_throttle_count", "3\n"),
    ("cpu3/thermal_throttle/core_throttle_count", "1000\n"),
    ("cpu0/cpufreq/cpuinfo_cur_freq", "2100000\n"),
    ("cpu0/cpufreq/cpuinfo_min_freq", "1000000\n"),
    ("cpu0/cpufreq/cpuinfo_max_freq", "3700000\n"),
    ("cpu0/cpufreq/cpuinfo_transition_latency", "0\n"),
    ("cpu0/cpufreq/scaling_cur_freq", "2099998\n"),
    ("cpu0/cpufreq/scaling_min_freq", "1000000\n"),
    ("cpu0/cpufreq/scaling_max_freq", "3700000\n"),
    (
        "cpu0/cpufreq/scaling_available_governors",
        "performance powersave\n",
    ),
    ("cpu0/cpufreq/scaling_driver", "intel_pstate\n"),
    ("cpu0/cpufreq/scaling_governor", "powersave\n"),
    ("cpu0/cpufreq/related_cpus", "0\n"),
    ("cpu0/cpufreq/scaling_setspeed", "<unsupported>\n"),
    ("cpu1/cpufreq/cpuinfo_min_freq", "1000000\n"),
    ("cpu1/cpufreq/cpuinfo_max_freq", "3700000\n"),
    ("cpu1/cpufreq/scaling_cur_freq", "1000000\n"),
    ("cpu1/cpufreq/scaling_min_freq", "1000000\n"),
    ("cpu1/cpufreq/scaling_max_freq", "3700000\n"),
    (
        "cpu1/cpufreq/scaling_available_governors",
        "performance powersave\n",
    ),
    ("cpu1/cpufreq/scaling_driver", "intel_pstate\n"),
    ("cpu1/cpufreq/scaling_governor", "performance\n"),
    ("cpu1/cpufreq/related_cpus", "1\n"),
    ("cpu1/cpufreq/scaling_setspeed", "<unsupported>\n"),
];

const DISKSTATS: &str = "   8       0 sda 10 1 20 30 40 2 50 60 0 70 80 1 2 3 4 5 6
   8       1 sda1 1 0 2 3 4 0 5 6 0 7 8 0 0 0 0 0 0
 253       0 dm-0 11 0 21 31 41 0 51 61 0 71 81 0 0 0 0 0 0
   8      16 sdb 12 0 22 32 42 0 52 62 1 72 82 0 0 0 0 0 0
";

/// udev's records: an ATA disk holding an LVM physical volume (its rotation rate not a
/// number), a logical volume with ext4, and an ATA disk with no file system.
const UDEV: [(&str, &str); 3] = [
    (
        "b8:0",
        "S:disk/by-id/ata-X\nE:ID_ATA=1\nE:ID_ATA_WRITE_CACHE=1\nE:ID_ATA_WRITE_CACHE_ENABLED=0\nE:ID_ATA_ROTATION_RATE_RPM=fast\nE:ID_MODEL=Disk_A\nE:ID_SERIAL_SHORT=SN-A\nE:ID_REVISION=1.0\nE:ID_PATH=pci-0000:00:1f.2-ata-1\nE:ID_WWN=0x5000\nE:ID_FS_TYPE=LVM2_member\nE:ID_FS_USAGE=raid\nE:ID_FS_UUID=pv-uuid\nE:ID_FS_VERSION=LVM2 001\n",
    ),
    (
        "b253:0",
        "E:DM_NAME=vg-root\nE:DM_UUID=LVM-xyz\nE:DM_VG_NAME=vg\nE:DM_LV_NAME=root\nE:ID_FS_TYPE=ext4\nE:ID_FS_USAGE=filesystem\nE:ID_FS_UUID=fs-uuid\nE:ID_FS_VERSION=1.0\n",
    ),
    (
        "b8:16",
        "E:ID_ATA=1\nE:ID_ATA_WRITE_CACHE=1\nE:ID_ATA_WRITE_CACHE_ENABLED=1\nE:ID_ATA_ROTATION_RATE_RPM=7200\nE:ID_FS_TYPE=\nE:ID_MODEL=Disk_B\n",
    ),
];

fn write(root: &Path, path: &str, text: &str) {
    let path = root.join(path);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn fake_root() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "proc/stat", STAT);
    write(root, "proc/cpuinfo", CPUINFO);
    write(root, "proc/diskstats", DISKSTATS);
    for (path, text) in SYS_CPU {
        write(root, &format!("sys/devices/system/cpu/{path}"), text);
    }
    for (device, text) in UDEV {
        write(root, &format!("run/udev/data/{device}"), text);
    }
    dir
}

/// Every series node_exporter has is the agent's too, equal; the agent has no other series
/// of these families, and no `node_cpu_*` or `node_disk_*` family node_exporter lacks.
fn fixture_differences(
    node: &BTreeMap<String, Family>,
    agent: &BTreeMap<String, Family>,
) -> Vec<String> {
    let mut problems = Vec::new();
    for (name, theirs) in node {
        let ours_only_more = name == "node_scrape_collector_success";
        if left_out(name, &Labels::new()) || name == "node_scrape_collector_duration_seconds" {
            continue;
        }
        let Some(ours) = agent.get(name) else {
            problems.push(format!("{name}: the agent has none"));
            continue;
        };
        if (ours.kind.as_str(), ours.help.as_str()) != (theirs.kind.as_str(), theirs.help.as_str())
        {
            problems.push(format!("{name}: agent {} {:?}", ours.kind, ours.help));
        }
        for (labels, value) in &theirs.series {
            match ours.series.get(labels) {
                Some(ours) if ours == value => {}
                other => problems.push(format!("{name}{labels:?}: agent {other:?}, node {value}")),
            }
        }
        for labels in ours.series.keys() {
            if !ours_only_more && !theirs.series.contains_key(labels) {
                problems.push(format!("{name}{labels:?}: only the agent has it"));
            }
        }
    }
    let families = ["node_cpu_", "node_disk_"];
    for name in agent.keys() {
        if families.iter().any(|p| name.starts_with(p)) && !node.contains_key(name) {
            problems.push(format!("{name}: only the agent has it"));
        }
    }
    problems
}

#[test]
fn cpu_cpufreq_and_udev_families_match_node_exporter_on_fixtures() {
    let dir = fake_root();
    let root = dir.path().to_str().unwrap();
    let args = [
        "--collector.cpu".to_owned(),
        "--collector.cpu.info".to_owned(),
        "--collector.cpufreq".to_owned(),
        "--collector.diskstats".to_owned(),
        format!("--path.procfs={root}/proc"),
        format!("--path.sysfs={root}/sys"),
        format!("--path.udev.data={root}/run/udev/data"),
    ];
    let exporter = NodeExporter::spawn(&args);
    let node = exporter.read();
    for name in [
        "node_cpu_info",
        "node_cpu_isolated",
        "node_cpu_core_throttles_total",
        "node_cpu_package_throttles_total",
        "node_cpu_frequency_hertz",
        "node_cpu_scaling_frequency_hertz",
        "node_disk_filesystem_info",
        "node_disk_device_mapper_info",
        "node_disk_ata_write_cache_enabled",
        "node_disk_ata_rotation_rate_rpm",
    ] {
        assert!(
            node.contains_key(name),
            "the fixture must make node_exporter emit {name}"
        );
    }
    let config = LinuxConfig {
        rootfs: dir.path().to_path_buf(),
        cpu_info: true,
        ..LinuxConfig::default()
    };
    let agent = from_agent(&LinuxCollector::new(&config).collect_now());
    let problems = fixture_differences(&node, &agent);
    assert!(
        problems.is_empty(),
        "the agent differs from node_exporter on the fixture:\n{}",
        problems.join("\n")
    );
}
