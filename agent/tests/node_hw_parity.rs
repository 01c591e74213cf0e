//! The Linux collector's hardware and storage areas against the real node_exporter (Debian's
//! `prometheus-node-exporter`, 1.5) on the same recorded `/proc` and `/sys` tree
//! (`agent/src/collector/linux/fixtures/hw`; this host has almost none of these files):
//! node_exporter runs with exactly these collectors and `--path.procfs`/`--path.sysfs` on the
//! tree, the agent with its root there, and both must give the same names, types, help
//! texts, label sets and values, and the same `node_scrape_collector_success`. Also on an
//! empty tree (what a host without the hardware reports) and on a copy with broken files
//! (what each area keeps of a failed read).

mod support;

use peeper_agent::collector::linux::{LinuxCollector, LinuxConfig};
use peeper_proto::MetricFamily;
use peeper_proto::exposition::{TextType, parse_text};
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use support::node_exporter::NodeExporter;

/// node_exporter 1.5's default hardware and storage collectors, each an area of the agent.
const COLLECTORS: [&str; 12] = [
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

/// The names those collectors' series start with.
const PREFIXES: [&str; 13] = [
    "node_hwmon_",
    "node_thermal_zone_",
    "node_cooling_device_",
    "node_power_supply_",
    "node_rapl_",
    "node_nvme_",
    "node_md_",
    "node_bonding_",
    "node_edac_",
    "node_xfs_",
    "node_nfs_",
    "node_nfsd_",
    "node_zfs_",
];

/// Every series by name and labels (sorted, empty ones left out as Prometheus does), with
/// its type, help and value.
type Series = BTreeMap<String, (&'static str, String, f64)>;

fn key(name: &str, labels: &[(String, String)]) -> String {
    let mut labels: Vec<&(String, String)> = labels.iter().filter(|(_, v)| !v.is_empty()).collect();
    labels.sort();
    format!("{name}{labels:?}")
}

fn compared(name: &str, labels: &[(String, String)]) -> bool {
    PREFIXES.iter().any(|prefix| name.starts_with(prefix))
        || (name == "node_scrape_collector_success"
            && labels
                .iter()
                .any(|(n, v)| n == "collector" && COLLECTORS.contains(&v.as_str())))
}

fn from_node_exporter(text: &str) -> Series {
    let families = parse_text(text).unwrap_or_else(|e| panic!("{e}:\n{text}"));
    let mut series = Series::new();
    for family in families {
        let kind = match family.kind {
            TextType::Counter => "counter",
            TextType::Gauge => "gauge",
            TextType::Untyped => "untyped",
            other => panic!("{}: unexpected type {other:?}", family.name),
        };
        let help = family.help.clone().unwrap_or_default();
        for sample in family.samples {
            if compared(&sample.name, &sample.labels) {
                let value = (kind, help.clone(), sample.value);
                series.insert(key(&sample.name, &sample.labels), value);
            }
        }
    }
    series
}

fn from_agent(families: &[MetricFamily]) -> Series {
    let mut series = Series::new();
    for family in families {
        for one in &family.series {
            if compared(&family.name, &one.labels) {
                let value = (family.kind.as_str(), family.help.clone(), one.value);
                let previous = series.insert(key(&family.name, &one.labels), value);
                assert!(
                    previous.is_none(),
                    "{} twice: {:?}",
                    family.name,
                    one.labels
                );
            }
        }
    }
    series
}

/// Every difference, one line each.
fn differences(node: &Series, agent: &Series) -> Vec<String> {
    let mut problems = Vec::new();
    for (series, theirs) in node {
        match agent.get(series) {
            None => problems.push(format!("{series}: missing from the agent ({theirs:?})")),
            Some(ours) if ours != theirs => problems.push(format!(
                "{series}: agent {ours:?}, node_exporter {theirs:?}"
            )),
            Some(_) => {}
        }
    }
    for (series, ours) in agent {
        if !node.contains_key(series) {
            problems.push(format!("{series}: only the agent has it ({ours:?})"));
        }
    }
    problems
}

/// Runs node_exporter and the agent on `root` and fails on any difference; returns the
/// series both have.
fn assert_same(root: &Path) -> Series {
    let procfs = format!("--path.procfs={}", root.join("proc").display());
    let sysfs = format!("--path.sysfs={}", root.join("sys").display());
    let mut args = vec![procfs, sysfs];
    args.extend(COLLECTORS.iter().map(|name| format!("--collector.{name}")));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let exporter = NodeExporter::start(&args);
    let node = from_node_exporter(&exporter.metrics());
    let config = LinuxConfig {
        enabled: true,
        rootfs: root.to_path_buf(),
        ..LinuxConfig::default()
    };
    let agent = from_agent(&LinuxCollector::new(&config).collect_now());
    let problems = differences(&node, &agent);
    assert!(
        problems.is_empty(),
        "the hardware areas differ from node_exporter on {}:\n{}",
        root.display(),
        problems.join("\n")
    );
    node
}

fn recorded_tree() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src/collector/linux/fixtures/hw")
}

fn success_of(series: &Series, collector: &str) -> f64 {
    let labels = [("collector".to_owned(), collector.to_owned())];
    series[&key("node_scrape_collector_success", &labels)].2
}

#[test]
fn the_hardware_areas_match_node_exporter_on_the_recorded_tree() {
    let series = assert_same(&recorded_tree());
    // The comparison covered every area with series, not an empty page.
    for collector in COLLECTORS {
        assert_eq!(success_of(&series, collector), 1.0, "{collector}");
    }
    for prefix in PREFIXES {
        assert!(
            series.keys().any(|name| name.starts_with(prefix)),
            "no {prefix} series"
        );
    }
}

#[test]
fn without_the_files_both_report_the_same_success() {
    let root = tempfile::tempdir().unwrap();
    fs::create_dir_all(root.path().join("proc")).unwrap();
    fs::create_dir_all(root.path().join("sys")).unwrap();
    let series = assert_same(root.path());
    assert_eq!(
        series.len(),
        COLLECTORS.len(),
        "only the success series: {series:?}"
    );
    assert_eq!(
        success_of(&series, "edac"),
        1.0,
        "a glob that matches nothing"
    );
    assert_eq!(success_of(&series, "hwmon"), 0.0, "no /sys/class/hwmon");
}

/// Copies the tree below `from` to `to`, links kept as links.
fn copy_tree(from: &Path, to: &Path) {
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let (source, target) = (entry.path(), to.join(entry.file_name()));
        let kind = entry.file_type().unwrap();
        if kind.is_symlink() {
            std::os::unix::fs::symlink(fs::read_link(&source).unwrap(), &target).unwrap();
        } else if kind.is_dir() {
            fs::create_dir(&target).unwrap();
            copy_tree(&source, &target);
        } else {
            fs::copy(&source, &target).unwrap();
        }
    }
}

#[test]
fn with_broken_files_both_keep_the_same_series() {
    let root = tempfile::tempdir().unwrap();
    copy_tree(&recorded_tree(), root.path());
    let breaks = [
        ("sys/devices/system/edac/mc/mc1/ue_count", None),
        ("sys/class/thermal/cooling_device1/max_state", Some("x\n")),
        ("sys/class/powercap/intel-rapl:1/energy_uj", Some("-1\n")),
        ("sys/class/power_supply/BAT0/capacity", Some("lots\n")),
        ("sys/class/hwmon/hwmon4/device", Some("not a directory\n")),
        ("proc/mdstat", Some("md0 : active\n")),
        ("proc/net/rpc/nfsd", Some("rc 0 0 0\nwdeleg_getattr 0\n")),
        ("sys/class/nvme/nvme1/state", None),
    ];
    for (file, contents) in breaks {
        match contents {
            Some(text) => fs::write(root.path().join(file), text).unwrap(),
            None => fs::remove_file(root.path().join(file)).unwrap(),
        }
    }
    let series = assert_same(root.path());
    for collector in [
        "edac",
        "thermal_zone",
        "rapl",
        "powersupplyclass",
        "hwmon",
        "mdadm",
    ] {
        assert_eq!(success_of(&series, collector), 0.0, "{collector}");
    }
    for collector in ["nfs", "xfs", "zfs", "bonding"] {
        assert_eq!(success_of(&series, collector), 1.0, "{collector}");
    }
}
