//! Live tests against this machine's `/proc` and `/sys`.

use super::*;
use peeper_proto::model::family;
use peeper_test_support::value;
use std::fs;

pub(super) fn success(families: &[MetricFamily], area: &str) -> f64 {
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
    // Areas of kernel features that may be off report "no data" (0) where their file is missing.
    let optional = [
        ("pressure", "/proc/pressure"),
        ("schedstat", "/proc/schedstat"),
        ("conntrack", "/proc/net/stat/nf_conntrack"),
    ];
    // The hardware areas' success on this host is compared with node_exporter's in
    // agent/tests/node_parity.rs.
    let hardware = super::hw_tests::HARDWARE;
    for area in Area::ALL
        .map(Area::name)
        .into_iter()
        .filter(|a| !hardware.contains(a))
    {
        let ok = success(&families, area);
        match optional.iter().find(|(name, _)| *name == area) {
            Some((_, file)) if !Path::new(file).exists() => assert_eq!(ok, 0.0, "{area}"),
            _ => assert_eq!(ok, 1.0, "{area}"),
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

/// The first number in a `/proc` file.
fn proc_number(path: &str) -> f64 {
    let text = fs::read_to_string(path).unwrap();
    text.split_ascii_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn live_kernel_values_match_proc() {
    let families = host().collect_now();
    let maximum = fs::read_to_string("/proc/sys/fs/file-nr").unwrap();
    let maximum: f64 = maximum
        .split_ascii_whitespace()
        .nth(2)
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(value(&families, "node_filefd_maximum", &[]), maximum);
    assert!(value(&families, "node_filefd_allocated", &[]) > 0.0);
    assert_eq!(
        value(&families, "node_entropy_pool_size_bits", &[]),
        proc_number("/proc/sys/kernel/random/poolsize")
    );
    assert!(value(&families, "node_vmstat_pgfault", &[]) > 0.0);
    assert!(value(&families, "node_netstat_Tcp_ActiveOpens", &[]) >= 0.0);
    assert!(family(&families, "node_netstat_Ip_Forwarding").is_some());
    assert!(value(&families, "node_sockstat_sockets_used", &[]) > 0.0);
    let cpus = fs::read_to_string("/proc/net/softnet_stat")
        .unwrap()
        .lines()
        .count();
    let processed = family(&families, "node_softnet_processed_total").unwrap();
    assert_eq!(processed.series.len(), cpus);
    let queues = family(&families, "node_udp_queues").unwrap();
    assert!(queues.find(&[("queue", "rx"), ("ip", "v4")]).is_some());
    if Path::new("/proc/sys/net/netfilter/nf_conntrack_max").exists() {
        assert_eq!(
            value(&families, "node_nf_conntrack_entries_limit", &[]),
            proc_number("/proc/sys/net/netfilter/nf_conntrack_max")
        );
    }
    let arp = fs::read_to_string("/proc/net/arp").unwrap();
    let entries = family(&families, "node_arp_entries").unwrap();
    let counted: f64 = entries.series.iter().map(|s| s.value).sum();
    assert_eq!(counted as usize, arp.lines().count() - 1);
}

#[test]
fn live_os_release() {
    let families = host().collect_now();
    let text = fs::read_to_string("/etc/os-release")
        .or_else(|_| fs::read_to_string("/usr/lib/os-release"))
        .unwrap();
    let id = text
        .lines()
        .find_map(|l| l.strip_prefix("ID="))
        .unwrap()
        .trim_matches('"');
    let info = family(&families, "node_os_info").unwrap();
    assert_eq!(info.series[0].label("id"), Some(id));
}
