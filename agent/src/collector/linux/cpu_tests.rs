//! The cpu area's `/proc/cpuinfo` and `/sys/devices/system/cpu` parts, the cpufreq area and
//! diskstats' udev families, on fixtures and fake root file systems.

use super::live_tests::success;
use super::rootfs_tests::write_tree;
use super::*;
use peeper_proto::MetricKind;
use peeper_proto::model::family;
use peeper_test_support::value;

/// Two processors of a real host's `/proc/cpuinfo` (flags shortened).
const CPUINFO: &str = "processor\t: 0
vendor_id\t: AuthenticAMD
cpu family\t: 26
model\t\t: 2
model name\t: AMD EPYC
stepping\t: 1
microcode\t: 0x1000065
cpu MHz\t\t: 2596.124
cache size\t: 1024 KB
physical id\t: 0
siblings\t: 2
core id\t\t: 0
cpu cores\t: 2
apicid\t\t: 0
initial apicid\t: 0
fpu\t\t: yes
fpu_exception\t: yes
cpuid level\t: 28
wp\t\t: yes
flags\t\t: fpu vme de pse tsc msr pae
bugs\t\t: sysret_ss_attrs null_seg spectre_v1
bogomips\t: 5192.24
TLB size\t: 192 4K pages
clflush size\t: 64
cache_alignment\t: 64
address sizes\t: 48 bits physical, 48 bits virtual
power management:

processor\t: 1
vendor_id\t: AuthenticAMD
cpu family\t: 26
model\t\t: 2
model name\t: AMD EPYC
stepping\t: 1
microcode\t: 0x1000065
cpu MHz\t\t: 2596.124
cache size\t: 1024 KB
physical id\t: 0
siblings\t: 2
core id\t\t: 1
cpu cores\t: 2
bogomips\t: 5192.24
power management:

";

const STAT: &str = "cpu  1 2 3 4\ncpu0 100 0 50 1000 0 0 0 0 7 3\ncpu1 200 0 50 1000 0 0 0 0 0 0\n";

#[test]
fn cpuinfo_fields_become_node_cpu_info() {
    let cpus = cpuinfo::parse_cpuinfo(CPUINFO).unwrap();
    assert_eq!(cpus.len(), 2);
    assert_eq!(cpus[1].processor, 1);
    assert_eq!(cpus[1].core, "1");
    let info = cpuinfo::family(&cpus);
    assert_eq!(info.kind, MetricKind::Gauge);
    assert_eq!(info.help, "CPU information from /proc/cpuinfo.");
    let first = info.find(&[("cpu", "0")]).unwrap();
    let labels: Vec<(&str, &str)> = first
        .labels
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        labels,
        [
            ("package", "0"),
            ("core", "0"),
            ("cpu", "0"),
            ("vendor", "AuthenticAMD"),
            ("family", "26"),
            ("model", "2"),
            ("model_name", "AMD EPYC"),
            ("microcode", "0x1000065"),
            ("stepping", "1"),
            ("cachesize", "1024 KB"),
        ]
    );
    assert_eq!(first.value, 1.0);
}

#[test]
fn cpuinfo_is_refused_where_procfs_refuses_it() {
    // The first line must be a processor line.
    assert!(cpuinfo::parse_cpuinfo("vendor_id\t: x\n").is_err());
    assert!(cpuinfo::parse_cpuinfo("").is_err());
    assert!(cpuinfo::parse_cpuinfo("processor\t: x\n").is_err());
    // Numbers procfs parses must be numbers, though no label carries them.
    assert!(cpuinfo::parse_cpuinfo("processor\t: 0\ncpu MHz\t: fast\n").is_err());
    assert!(cpuinfo::parse_cpuinfo("processor\t: 0\nsiblings\t: -1\n").is_err());
    // Base prefixes as Go's ParseUint(s, 0, 32); an empty value (no ": ") is no field.
    let cpus = cpuinfo::parse_cpuinfo("\nprocessor\t: 0x10\nsiblings\t: 0x2\nflags\t:\n").unwrap();
    assert_eq!(cpus[0].processor, 16);
}

/// A fake root with two CPUs in `/proc/stat` and the given `/sys/devices/system/cpu` files.
fn cpu_root(sys_files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write_tree(
        dir.path(),
        &[("proc/stat", STAT), ("proc/cpuinfo", CPUINFO)],
    );
    let files: Vec<(String, &str)> = sys_files
        .iter()
        .map(|(path, text)| (format!("sys/devices/system/cpu/{path}"), *text))
        .collect();
    let files: Vec<(&str, &str)> = files.iter().map(|(p, t)| (p.as_str(), *t)).collect();
    write_tree(dir.path(), &files);
    dir
}

fn collect(root: &tempfile::TempDir, cpu_info: bool) -> Vec<MetricFamily> {
    let config = LinuxConfig {
        rootfs: root.path().to_path_buf(),
        cpu_info,
        ..LinuxConfig::default()
    };
    LinuxCollector::new(&config).collect_now()
}

#[test]
fn cpu_info_follows_the_setting() {
    let root = cpu_root(&[]);
    let off = collect(&root, false);
    assert!(family(&off, "node_cpu_info").is_none());
    let on = collect(&root, true);
    assert_eq!(family(&on, "node_cpu_info").unwrap().series.len(), 2);
    assert_eq!(
        value(&on, "node_cpu_info", &[("cpu", "1"), ("core", "1")]),
        1.0
    );
    let guest = [("cpu", "0"), ("mode", "user")];
    assert_eq!(value(&on, "node_cpu_guest_seconds_total", &guest), 0.07);
    // A cpuinfo procfs refuses fails the whole area, as node_exporter's collector.
    write_tree(root.path(), &[("proc/cpuinfo", "garbage\n")]);
    let failed = collect(&root, true);
    assert_eq!(success(&failed, "cpu"), 0.0);
    assert!(family(&failed, "node_cpu_seconds_total").is_none());
    assert_eq!(success(&collect(&root, false), "cpu"), 1.0);
}

/// Four CPUs: cpu0 and cpu1 are hyperthreads of core 0 of package 0, cpu2 is core 1 of
/// package 0 and only its core count is readable, cpu10 is core 0 of package 1, and cpu3 has
/// no topology.
const THROTTLE_FILES: [(&str, &str); 16] = [
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
];

#[test]
fn throttle_counts_are_read_once_per_core_and_package() {
    let mut files = THROTTLE_FILES.to_vec();
    files.push(("isolated", "1,3-4\n"));
    let root = cpu_root(&files);
    let families = collect(&root, false);
    assert_eq!(success(&families, "cpu"), 1.0);
    let core = |package: &str, core: &str| {
        let labels = [("package", package), ("core", core)];
        value(&families, "node_cpu_core_throttles_total", &labels)
    };
    assert_eq!(
        (core("0", "0"), core("0", "1"), core("1", "0")),
        (5.0, 7.0, 2.0)
    );
    let cores = family(&families, "node_cpu_core_throttles_total").unwrap();
    assert_eq!(cores.series.len(), 3, "cpu3 has no topology");
    assert_eq!(cores.kind, MetricKind::Counter);
    assert_eq!(
        cores.help,
        "Number of times this CPU core has been throttled."
    );
    let packages = family(&families, "node_cpu_package_throttles_total").unwrap();
    assert_eq!(packages.series.len(), 2);
    assert_eq!(
        packages.help,
        "Number of times this CPU package has been throttled."
    );
    let package = |p: &str| {
        value(
            &families,
            "node_cpu_package_throttles_total",
            &[("package", p)],
        )
    };
    assert_eq!((package("0"), package("1")), (40.0, 3.0));
    let isolated = family(&families, "node_cpu_isolated").unwrap();
    let cpus: Vec<&str> = isolated
        .series
        .iter()
        .filter_map(|s| s.label("cpu"))
        .collect();
    assert_eq!(cpus, ["1", "3", "4"]);
}

#[test]
fn hosts_without_thermal_throttle_or_isolated_cpus_have_none() {
    let root = cpu_root(&[("cpu0/topology/core_id", "0\n"), ("isolated", "\n")]);
    let families = collect(&root, false);
    assert_eq!(success(&families, "cpu"), 1.0);
    for name in [
        "node_cpu_core_throttles_total",
        "node_cpu_package_throttles_total",
        "node_cpu_isolated",
    ] {
        assert!(family(&families, name).is_none(), "{name}");
    }
}

#[test]
fn isolated_cpu_lists_parse_as_procfs() {
    assert_eq!(cpu_sysfs::parse_isolated("0-2,5\n").unwrap(), [0, 1, 2, 5]);
    assert_eq!(cpu_sysfs::parse_isolated("").unwrap(), [0u16; 0]);
    assert!(cpu_sysfs::parse_isolated("1-2-3").is_err());
    assert!(cpu_sysfs::parse_isolated("x").is_err());
    assert!(cpu_sysfs::parse_isolated("0-99999999").is_err());
    // An unreadable list fails the cpu area, as it fails node_exporter's collector.
    let root = cpu_root(&[("isolated", "one\n")]);
    assert_eq!(success(&collect(&root, false), "cpu"), 0.0);
}

/// cpu0 with every cpufreq file but the root-only `cpuinfo_cur_freq`, cpu1 without cpufreq.
const CPUFREQ_FILES: [(&str, &str); 11] = [
    ("cpu0/cpufreq/cpuinfo_min_freq", "800000\n"),
    ("cpu0/cpufreq/cpuinfo_max_freq", "3500000\n"),
    ("cpu0/cpufreq/cpuinfo_transition_latency", "0\n"),
    ("cpu0/cpufreq/scaling_cur_freq", "1200000\n"),
    ("cpu0/cpufreq/scaling_min_freq", "800000\n"),
    ("cpu0/cpufreq/scaling_max_freq", "3500000\n"),
    (
        "cpu0/cpufreq/scaling_available_governors",
        "performance powersave\n",
    ),
    ("cpu0/cpufreq/scaling_driver", "intel_pstate\n"),
    ("cpu0/cpufreq/scaling_governor", "powersave\n"),
    ("cpu0/cpufreq/related_cpus", "0\n"),
    ("cpu0/cpufreq/scaling_setspeed", "<unsupported>\n"),
];

#[test]
fn cpufreq_files_become_hertz() {
    let mut files = CPUFREQ_FILES.to_vec();
    files.push(("cpu1/topology/core_id", "1\n"));
    let root = cpu_root(&files);
    let families = collect(&root, false);
    assert_eq!(success(&families, "cpufreq"), 1.0);
    let cpu0 = [("cpu", "0")];
    let hertz = |name: &str| value(&families, name, &cpu0);
    assert_eq!(hertz("node_cpu_frequency_min_hertz"), 800e6);
    assert_eq!(hertz("node_cpu_frequency_max_hertz"), 3.5e9);
    assert_eq!(hertz("node_cpu_scaling_frequency_hertz"), 1.2e9);
    assert_eq!(hertz("node_cpu_scaling_frequency_min_hertz"), 800e6);
    assert_eq!(hertz("node_cpu_scaling_frequency_max_hertz"), 3.5e9);
    let scaling = family(&families, "node_cpu_scaling_frequency_hertz").unwrap();
    assert_eq!(scaling.series.len(), 1, "cpu1 has no cpufreq directory");
    assert_eq!(
        scaling.help,
        "Current scaled CPU thread frequency in hertz."
    );
    assert!(family(&families, "node_cpu_frequency_hertz").is_none());
    // A frequency that is not a number, or a missing file procfs needs, fails the area.
    write_tree(
        root.path(),
        &[(
            "sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_cur_freq",
            "<unknown>\n",
        )],
    );
    let failed = collect(&root, false);
    assert_eq!(success(&failed, "cpufreq"), 0.0);
    assert!(family(&failed, "node_cpu_scaling_frequency_hertz").is_none());
    let root = cpu_root(&CPUFREQ_FILES[..10]);
    assert_eq!(success(&collect(&root, false), "cpufreq"), 0.0);
}

#[test]
fn hosts_without_cpufreq_succeed_with_no_series() {
    let root = cpu_root(&[("cpu0/topology/core_id", "0\n")]);
    let families = collect(&root, false);
    assert_eq!(success(&families, "cpufreq"), 1.0);
    assert!(
        !families
            .iter()
            .any(|f| f.name.starts_with("node_cpu_frequency"))
    );
}

#[test]
fn udev_file_systems_device_mapper_and_ata_become_families() {
    let root = tempfile::tempdir().unwrap();
    write_tree(
        root.path(),
        &[
            ("proc/stat", STAT),
            (
                "proc/diskstats",
                "   8 0 sda 1 0 2 3 4 0 5 6 0 7 8\n 253 0 dm-0 1 0 2 3 4 0 5 6 0 7 8\n 8 16 sdb 1 0 2 3 4 0 5 6 0 7 8\n",
            ),
            (
                "run/udev/data/b8:0",
                "E:ID_ATA=1\nE:ID_ATA_WRITE_CACHE=1\nE:ID_ATA_WRITE_CACHE_ENABLED=0\nE:ID_ATA_ROTATION_RATE_RPM=fast\nE:ID_FS_TYPE=LVM2_member\nE:ID_FS_USAGE=raid\nE:ID_FS_UUID=abc\nE:ID_FS_VERSION=LVM2 001\n",
            ),
            (
                "run/udev/data/b253:0",
                "E:DM_NAME=vg-root\nE:DM_UUID=LVM-xyz\nE:DM_VG_NAME=vg\nE:DM_LV_NAME=root\nE:ID_FS_TYPE=ext4\nE:ID_FS_USAGE=filesystem\nE:ID_FS_UUID=u1\nE:ID_FS_VERSION=1.0\n",
            ),
            ("run/udev/data/b8:16", "E:ID_FS_TYPE=\nE:ID_MODEL=Plain\n"),
        ],
    );
    let families = collect(&root, false);
    assert_eq!(success(&families, "diskstats"), 1.0);
    let fs = family(&families, "node_disk_filesystem_info").unwrap();
    assert_eq!(fs.help, "Info about disk filesystem.");
    assert_eq!(fs.series.len(), 2, "sdb has an empty ID_FS_TYPE");
    let dm0 = fs.find(&[("device", "dm-0")]).unwrap();
    assert_eq!(dm0.labels.len(), 5);
    assert_eq!(
        (
            dm0.label("type"),
            dm0.label("usage"),
            dm0.label("uuid"),
            dm0.label("version")
        ),
        (Some("ext4"), Some("filesystem"), Some("u1"), Some("1.0"))
    );
    let sda = fs.find(&[("device", "sda")]).unwrap();
    assert_eq!(sda.label("version"), Some("LVM2 001"));
    let dm = family(&families, "node_disk_device_mapper_info").unwrap();
    assert_eq!(dm.series.len(), 1);
    let dm0 = &dm.series[0];
    assert_eq!(
        (
            dm0.label("name"),
            dm0.label("vg_name"),
            dm0.label("lv_name"),
            dm0.label("lv_layer")
        ),
        (Some("vg-root"), Some("vg"), Some("root"), None)
    );
    let sda = [("device", "sda")];
    assert_eq!(value(&families, "node_disk_ata_write_cache", &sda), 1.0);
    assert_eq!(
        value(&families, "node_disk_ata_write_cache_enabled", &sda),
        0.0
    );
    // A value that is not a number is left out, as node_exporter does.
    assert!(family(&families, "node_disk_ata_rotation_rate_rpm").is_none());
}
