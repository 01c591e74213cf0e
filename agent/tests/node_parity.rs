//! The Linux collector against the real node_exporter (Debian's `prometheus-node-exporter`,
//! 1.5): node_exporter runs with exactly the collectors the agent has, both read this host at
//! the same moment, and every metric node_exporter emits must come from the agent too, with
//! the same type, help text and label sets; gauges that do not move must have equal values.
//! The time zone is compared again in zones with daylight saving time (`TZ` set for a child
//! run of this test binary, which both node_exporter and the agent then read).

mod support;

/// The areas whose files this host lacks (cpufreq, thermal throttling, udev), against
/// node_exporter on a fake `/proc`, `/sys` and udev database.
#[path = "node_parity/fixtures.rs"]
mod fixtures;

use peeper_agent::collector::linux::{LinuxCollector, LinuxConfig};
use peeper_proto::MetricFamily;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Seek, SeekFrom};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// node_exporter's collectors the agent implements, each an area of the Linux collector.
const COLLECTORS: [&str; 36] = [
    "cpu",
    "cpufreq",
    "stat",
    "meminfo",
    "filesystem",
    "diskstats",
    "netdev",
    "netclass",
    "loadavg",
    "uname",
    "pressure",
    "time",
    "timex",
    "filefd",
    "entropy",
    "vmstat",
    "netstat",
    "sockstat",
    "softnet",
    "udp_queues",
    "arp",
    "conntrack",
    "os",
    "schedstat",
    // The hardware and storage areas: on this host mostly without files, so their
    // `node_scrape_collector_success` is what is compared; node_hw_parity.rs compares
    // their series on a recorded tree.
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

/// Default collectors of node_exporter that the agent does not implement yet (collector,
/// name prefix); node_exporter runs them too so this list stays visible, and their series
/// are left out of the comparison. Empty since `timex` came.
const NOT_YET_COLLECTORS: [(&str, &str); 0] = [];

/// Labels the agent adds where it follows a later node_exporter than Debian's 1.5, on
/// purpose: they are left out of the agent's label sets before comparing.
const LATER_LABELS: [(&str, &str); 2] = [
    // node_exporter 1.6 added the interface's administrative state.
    ("node_network_info", "adminstate"),
    // node_exporter 1.9 added whether the disk rotates.
    ("node_disk_info", "rotational"),
];

/// Names the agent emits after a later node_exporter than Debian's 1.5 (1.9 added the mount
/// info); every other name the agent emits must come from node_exporter too.
const LATER_NAMES: [&str; 1] = ["node_filesystem_mount_info"];

/// Devices node_exporter 1.8 and the agent leave out of diskstats by default, and 1.5 does
/// not: their `node_disk_*` series of node_exporter are left out of the comparison.
const LATER_EXCLUDED_DISKS: &str = "zram";

/// Upstream's defaults, passed explicitly because Debian's package patches them (it
/// excludes `lo` from netdev, and `/run`, `/mnt`, `/media` from filesystem).
const UPSTREAM_FLAGS: [&str; 2] = [
    "--collector.netdev.device-exclude=",
    "--collector.filesystem.mount-points-exclude=^/(dev|proc|run/credentials/.+|sys|var/lib/docker/.+|var/lib/containers/storage/.+)($|/)",
];

/// Gauges whose values do not move between two reads a moment apart: equal on both sides.
const STEADY: [&str; 30] = [
    "node_boot_time_seconds",
    "node_cpu_frequency_max_hertz",
    "node_cpu_frequency_min_hertz",
    "node_cpu_info",
    "node_cpu_isolated",
    "node_cpu_scaling_frequency_max_hertz",
    "node_cpu_scaling_frequency_min_hertz",
    "node_disk_device_mapper_info",
    "node_disk_filesystem_info",
    "node_disk_info",
    "node_entropy_pool_size_bits",
    "node_filefd_maximum",
    "node_filesystem_readonly",
    "node_filesystem_size_bytes",
    "node_memory_MemTotal_bytes",
    "node_network_info",
    "node_network_mtu_bytes",
    "node_network_up",
    "node_nf_conntrack_entries_limit",
    "node_os_info",
    "node_os_version",
    "node_scrape_collector_success",
    "node_time_clocksource_available_info",
    "node_time_clocksource_current_info",
    "node_time_zone_offset_seconds",
    "node_timex_loop_time_constant",
    "node_timex_status",
    "node_timex_sync_status",
    "node_timex_tick_seconds",
    "node_uname_info",
];

struct NodeExporter {
    child: Child,
    addr: String,
}

impl NodeExporter {
    /// node_exporter with the collectors and flags that match the agent's `config`.
    fn start(config: &LinuxConfig) -> Self {
        let mut args: Vec<String> = COLLECTORS
            .iter()
            .chain(NOT_YET_COLLECTORS.iter().map(|(name, _)| name))
            .map(|name| format!("--collector.{name}"))
            .collect();
        args.extend(UPSTREAM_FLAGS.map(str::to_owned));
        if config.cpu_info {
            args.push("--collector.cpu.info".to_owned());
        }
        Self::spawn(&args)
    }

    /// node_exporter with its default collectors off and `args`, once it answers.
    fn spawn(args: &[String]) -> Self {
        let binary =
            support::require_binary("prometheus-node-exporter", "prometheus-node-exporter");
        let addr = format!("127.0.0.1:{}", support::free_port());
        let mut log = tempfile::tempfile().expect("a temporary file for node_exporter's log");
        let child = Command::new(binary)
            .arg(format!("--web.listen-address={addr}"))
            .arg("--collector.disable-defaults")
            .args(args)
            .stdout(Stdio::null())
            .stderr(log.try_clone().unwrap())
            .spawn()
            .expect("start prometheus-node-exporter");
        let mut exporter = NodeExporter { child, addr };
        let deadline = Instant::now() + Duration::from_secs(20);
        while !support::http_get(&exporter.addr, "/metrics").is_ok_and(|(status, _)| status == 200)
        {
            if let Ok(Some(status)) = exporter.child.try_wait() {
                let mut text = String::new();
                log.seek(SeekFrom::Start(0)).unwrap();
                log.read_to_string(&mut text).unwrap();
                panic!("node_exporter exited ({status}):\n{text}");
            }
            assert!(
                Instant::now() < deadline,
                "node_exporter did not answer in 20 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        exporter
    }

    /// One scrape, parsed.
    fn read(&self) -> BTreeMap<String, Family> {
        let (status, body) = support::http_get(&self.addr, "/metrics").expect("scrape");
        assert_eq!(status, 200, "node_exporter answered {status}: {body}");
        parse_exposition(&body)
    }
}

impl Drop for NodeExporter {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

type Labels = BTreeMap<String, String>;

/// A label whose value is empty is no label at all in Prometheus: node_exporter writes
/// such labels (`node_os_info{variant=""}`), the agent may leave them out.
fn without_empty(labels: impl Iterator<Item = (String, String)>) -> Labels {
    labels.filter(|(_, value)| !value.is_empty()).collect()
}

/// One metric as both sides are compared: type, help and each series' labels and value.
#[derive(Debug, Default)]
struct Family {
    kind: String,
    help: String,
    series: BTreeMap<Labels, f64>,
}

/// Undoes the text format's escapes (`\\`, `\n`, and `\"` in label values).
fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match (c, c == '\\') {
            (_, true) => match chars.next() {
                Some('n') => out.push('\n'),
                Some(other) => out.push(other),
                None => out.push('\\'),
            },
            (c, false) => out.push(c),
        }
    }
    out
}

/// `a="x",b="y\"z"` into labels.
fn parse_labels(mut text: &str) -> Labels {
    let mut labels = Labels::new();
    while let Some((name, rest)) = text.split_once("=\"") {
        let bytes = rest.as_bytes();
        let mut end = 0;
        while bytes[end] != b'"' {
            end += if bytes[end] == b'\\' { 2 } else { 1 };
        }
        labels.insert(
            name.trim_start_matches(',').to_owned(),
            unescape(&rest[..end]),
        );
        text = &rest[end + 1..];
    }
    labels
}

/// The text exposition format as node_exporter writes it.
fn parse_exposition(text: &str) -> BTreeMap<String, Family> {
    let mut families: BTreeMap<String, Family> = BTreeMap::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, help) = rest.split_once(' ').unwrap_or((rest, ""));
            families.entry(name.to_owned()).or_default().help = unescape(help);
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            families.entry(name.to_owned()).or_default().kind = kind.to_owned();
        } else if !line.is_empty() && !line.starts_with('#') {
            let (series, value) = line.rsplit_once(' ').unwrap();
            let (name, labels) = match series.split_once('{') {
                Some((name, labels)) => {
                    let labels = parse_labels(labels.trim_end_matches('}'));
                    (name, without_empty(labels.into_iter()))
                }
                None => (series, Labels::new()),
            };
            let value = match value {
                "+Inf" => f64::INFINITY,
                "-Inf" => f64::NEG_INFINITY,
                other => other.parse().unwrap(),
            };
            let family = families.entry(name.to_owned()).or_default();
            family.series.insert(labels, value);
        }
    }
    families
}

/// The agent's families in the same shape, without [`LATER_LABELS`].
fn from_agent(families: &[MetricFamily]) -> BTreeMap<String, Family> {
    let mut out = BTreeMap::new();
    for family in families {
        let later = |label: &str| LATER_LABELS.contains(&(family.name.as_str(), label));
        let series = family
            .series
            .iter()
            .map(|s| {
                let labels = s.labels.iter().filter(|(name, _)| !later(name));
                (without_empty(labels.cloned()), s.value)
            })
            .collect();
        let family_out = Family {
            kind: family.kind.as_str().to_owned(),
            help: family.help.clone(),
            series,
        };
        out.insert(family.name.clone(), family_out);
    }
    out
}

/// Whether node_exporter's `name` (with `labels`) is outside the comparison: its own
/// build and runtime metrics, the collectors not implemented yet and the disks a later
/// node_exporter excludes.
fn left_out(name: &str, labels: &Labels) -> bool {
    let not_yet = NOT_YET_COLLECTORS.iter().any(|(collector, prefix)| {
        name.starts_with(prefix) || labels.get("collector").is_some_and(|c| c == collector)
    });
    let later_excluded = name.starts_with("node_disk_")
        && labels
            .get("device")
            .is_some_and(|d| d.starts_with(LATER_EXCLUDED_DISKS));
    not_yet
        || later_excluded
        || name == "node_exporter_build_info"
        || ["go_", "process_", "promhttp_"]
            .iter()
            .any(|prefix| name.starts_with(prefix))
}

/// Every difference between the two reads, one line each.
fn differences(node: &BTreeMap<String, Family>, agent: &BTreeMap<String, Family>) -> Vec<String> {
    let mut missing = Vec::new();
    let mut problems = Vec::new();
    for (name, theirs) in node {
        let expected: BTreeMap<&Labels, f64> = theirs
            .series
            .iter()
            .filter(|(labels, _)| !left_out(name, labels))
            .map(|(labels, value)| (labels, *value))
            .collect();
        if expected.is_empty() {
            continue;
        }
        let Some(ours) = agent.get(name) else {
            missing.push(name.as_str());
            continue;
        };
        if ours.kind != theirs.kind || ours.help != theirs.help {
            problems.push(format!(
                "{name}: agent has {} {:?}, node_exporter {} {:?}",
                ours.kind, ours.help, theirs.kind, theirs.help
            ));
        }
        let their_sets: BTreeSet<&Labels> = expected.keys().copied().collect();
        let our_sets: BTreeSet<&Labels> = ours.series.keys().collect();
        for labels in their_sets.difference(&our_sets) {
            problems.push(format!("{name}{labels:?}: missing from the agent"));
        }
        for labels in our_sets.difference(&their_sets) {
            problems.push(format!("{name}{labels:?}: only the agent has it"));
        }
        if STEADY.contains(&name.as_str()) {
            for (labels, value) in &expected {
                match ours.series.get(*labels) {
                    Some(ours) if ours != value => problems.push(format!(
                        "{name}{labels:?}: agent {ours}, node_exporter {value}"
                    )),
                    _ => {}
                }
            }
        }
    }
    if !missing.is_empty() {
        problems.insert(0, format!("names the agent does not emit: {missing:?}"));
    }
    let extra: Vec<&String> = agent
        .keys()
        .filter(|n| !node.contains_key(*n) && !LATER_NAMES.contains(&n.as_str()))
        .collect();
    if !extra.is_empty() {
        problems.insert(0, format!("names node_exporter does not emit: {extra:?}"));
    }
    problems
}

/// Reads node_exporter and the agent at the same moment.
async fn read_both(exporter: &NodeExporter, collector: &mut LinuxCollector) -> Vec<String> {
    let addr = exporter.addr.clone();
    let scrape = tokio::task::spawn_blocking(move || support::http_get(&addr, "/metrics"));
    let ours = support::collect(collector).await;
    let (status, body) = scrape.await.unwrap().expect("scrape node_exporter");
    assert_eq!(status, 200, "node_exporter answered {status}: {body}");
    differences(&parse_exposition(&body), &from_agent(&ours))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_linux_collector_emits_what_node_exporter_emits() {
    // `node_cpu_info` is off by default on both sides: on here, so it is compared too.
    let config = LinuxConfig {
        cpu_info: true,
        ..LinuxConfig::default()
    };
    let exporter = NodeExporter::start(&config);
    let mut collector = LinuxCollector::new(&config);
    // Another test may add or remove an interface or a mount between the two reads: a
    // difference must show in three reads running to count.
    let mut problems = Vec::new();
    for _ in 0..3 {
        problems = read_both(&exporter, &mut collector).await;
        if problems.is_empty() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    panic!(
        "the Linux collector differs from node_exporter:\n{}",
        problems.join("\n")
    );
}

/// Zones with daylight saving time in both hemispheres: on any date one of them is in it.
const DST_ZONES: [(&str, [&str; 2]); 2] = [
    ("Europe/Berlin", ["CET", "CEST"]),
    ("Australia/Sydney", ["AEST", "AEDT"]),
];

/// Set (to the zone's abbreviations) for the child runs of the zone test.
const ZONE_CHILD: &str = "PEEPER_PARITY_ZONE_ABBREVIATIONS";
const ZONE_TEST: &str = "the_zone_offset_matches_node_exporter_in_daylight_saving_zones";

/// `node_time_zone_offset_seconds` of both, read now.
fn zone_offsets(exporter: &NodeExporter, collector: &mut LinuxCollector) -> [Family; 2] {
    let name = "node_time_zone_offset_seconds";
    let mut theirs = exporter.read();
    let mut ours = from_agent(&collector.collect_now());
    let take = |families: &mut BTreeMap<String, Family>| families.remove(name);
    let missing = |who: &str| format!("{who} has no {name}");
    [
        take(&mut theirs).unwrap_or_else(|| panic!("{}", missing("node_exporter"))),
        take(&mut ours).unwrap_or_else(|| panic!("{}", missing("the agent"))),
    ]
}

/// In a child run: both sides name the zone in effect now, one of `abbreviations`, with the
/// same offset. A second read covers a transition between node_exporter's read and ours.
fn compare_zone(abbreviations: &str) {
    let exporter = NodeExporter::start(&LinuxConfig::default());
    let mut collector = LinuxCollector::new(&LinuxConfig::default());
    let mut pair = zone_offsets(&exporter, &mut collector);
    if pair[0].series != pair[1].series {
        pair = zone_offsets(&exporter, &mut collector);
    }
    let [theirs, ours] = pair;
    assert_eq!(ours.series, theirs.series, "agent, then node_exporter");
    let zone = theirs.series.keys().next().and_then(|l| l.get("time_zone"));
    assert!(
        zone.is_some_and(|z| abbreviations.split(',').any(|a| a == z)),
        "node_exporter's zone {zone:?} is none of {abbreviations}: is tzdata installed?"
    );
}

#[test]
fn the_zone_offset_matches_node_exporter_in_daylight_saving_zones() {
    if let Ok(abbreviations) = std::env::var(ZONE_CHILD) {
        return compare_zone(&abbreviations);
    }
    let this_test = std::env::current_exe().expect("the test binary's path");
    for (zone, abbreviations) in DST_ZONES {
        let child = Command::new(&this_test)
            .args([ZONE_TEST, "--exact", "--nocapture"])
            .env("TZ", zone)
            .env(ZONE_CHILD, abbreviations.join(","))
            .output()
            .expect("run this test binary again");
        let stdout = String::from_utf8_lossy(&child.stdout);
        let stderr = String::from_utf8_lossy(&child.stderr);
        assert!(
            child.status.success() && stdout.contains("1 passed"),
            "with TZ={zone}:\n{stdout}\n{stderr}"
        );
    }
}

#[test]
fn the_exposition_parser_reads_escapes() {
    let text = "# HELP m a \\\\ b\\nc\n# TYPE m gauge\nm{a=\"x\\\"y\",b=\"\"} 1.5e+09\nm 2\n";
    let families = parse_exposition(text);
    let m = &families["m"];
    assert_eq!((m.kind.as_str(), m.help.as_str()), ("gauge", "a \\ b\nc"));
    // The empty label `b` is no label.
    let labels: Labels = [("a", "x\"y")]
        .map(|(n, v)| (n.to_owned(), v.to_owned()))
        .into();
    assert_eq!(m.series[&labels], 1.5e9);
    assert_eq!(m.series[&Labels::new()], 2.0);
}
