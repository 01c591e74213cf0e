//! Tests of the network areas (netstat, sockstat, softnet, udp_queues, arp, conntrack) on
//! fixture text shaped like this host's `/proc/net` files.

use super::fixtures::*;
use super::names::NameCache;
use super::*;
use peeper_proto::MetricKind;
use peeper_proto::model::family;
use peeper_test_support::value;

fn netstat_families() -> Vec<MetricFamily> {
    let mut stats = Vec::new();
    netstat::parse_pairs(NET_NETSTAT, "/proc/net/netstat", &mut stats).unwrap();
    netstat::parse_pairs(NET_SNMP, "/proc/net/snmp", &mut stats).unwrap();
    netstat::parse_snmp6(NET_SNMP6, &mut stats).unwrap();
    let mut out = Vec::new();
    netstat::families(&stats, &mut NameCache::default(), &mut out);
    out
}

#[test]
fn netstat_exports_the_default_fields() {
    let out = netstat_families();
    let mut names: Vec<&str> = out.iter().map(|f| f.name.as_str()).collect();
    names.sort_unstable();
    // What node_exporter 1.5 exports from the same three files with its default pattern.
    let mut want = vec![
        "node_netstat_Icmp6_InErrors",
        "node_netstat_Icmp6_InMsgs",
        "node_netstat_Icmp6_OutMsgs",
        "node_netstat_Icmp_InErrors",
        "node_netstat_Icmp_InMsgs",
        "node_netstat_Icmp_OutMsgs",
        "node_netstat_Ip6_InOctets",
        "node_netstat_Ip6_OutOctets",
        "node_netstat_IpExt_InOctets",
        "node_netstat_IpExt_OutOctets",
        "node_netstat_Ip_Forwarding",
        "node_netstat_TcpExt_ListenDrops",
        "node_netstat_TcpExt_ListenOverflows",
        "node_netstat_TcpExt_SyncookiesFailed",
        "node_netstat_TcpExt_SyncookiesRecv",
        "node_netstat_TcpExt_SyncookiesSent",
        "node_netstat_TcpExt_TCPSynRetrans",
        "node_netstat_TcpExt_TCPTimeouts",
        "node_netstat_Tcp_ActiveOpens",
        "node_netstat_Tcp_CurrEstab",
        "node_netstat_Tcp_InErrs",
        "node_netstat_Tcp_InSegs",
        "node_netstat_Tcp_OutRsts",
        "node_netstat_Tcp_OutSegs",
        "node_netstat_Tcp_PassiveOpens",
        "node_netstat_Tcp_RetransSegs",
        "node_netstat_Udp6_InDatagrams",
        "node_netstat_Udp6_InErrors",
        "node_netstat_Udp6_NoPorts",
        "node_netstat_Udp6_OutDatagrams",
        "node_netstat_Udp6_RcvbufErrors",
        "node_netstat_Udp6_SndbufErrors",
        "node_netstat_UdpLite6_InErrors",
        "node_netstat_UdpLite_InErrors",
        "node_netstat_Udp_InDatagrams",
        "node_netstat_Udp_InErrors",
        "node_netstat_Udp_NoPorts",
        "node_netstat_Udp_OutDatagrams",
        "node_netstat_Udp_RcvbufErrors",
        "node_netstat_Udp_SndbufErrors",
    ];
    want.sort_unstable();
    assert_eq!(names, want);
    assert_eq!(
        value(&out, "node_netstat_IpExt_InOctets", &[]),
        5686989312.0
    );
    assert_eq!(value(&out, "node_netstat_Tcp_ActiveOpens", &[]), 89356.0);
    assert_eq!(value(&out, "node_netstat_Tcp_CurrEstab", &[]), 18.0);
    assert_eq!(value(&out, "node_netstat_Icmp6_InErrors", &[]), 1.0);
    assert_eq!(value(&out, "node_netstat_Ip6_OutOctets", &[]), 1160.0);
    let listen = family(&out, "node_netstat_TcpExt_ListenDrops").unwrap();
    assert_eq!(listen.kind, MetricKind::Untyped);
    assert_eq!(listen.help, "Statistic TcpExtListenDrops.");
}

#[test]
fn netstat_field_pattern() {
    for (protocol, name) in [
        ("Tcp", "InErrs"),
        ("TcpExt", "ListenFoo"),
        ("TcpExt", "SyncookiesAnything"),
        ("Foo", "Bar_InErrors"),
        ("Ip", "Forwarding"),
        ("Udp6", "SndbufErrors"),
    ] {
        assert!(netstat::selected(protocol, name), "{protocol}_{name}");
    }
    for (protocol, name) in [
        ("Ip", "DefaultTTL"),
        ("Ip", "InOctets"),
        ("Ip6", "InReceives"),
        ("Tcp", "MaxConn"),
        ("Tcp", "InErrsX"),
        ("TcpExt", "TCPSynRetransX"),
        ("TcpExt", "SynListen"),
        ("Udp", "InCsumErrors"),
        ("UdpLite", "InDatagrams"),
        ("Foo", "BarInErrors"),
        ("Icmp6", "InType1"),
    ] {
        assert!(!netstat::selected(protocol, name), "{protocol}_{name}");
    }
}

#[test]
fn netstat_refuses_mismatched_lines() {
    let mut stats = Vec::new();
    let text = "Tcp: ActiveOpens InSegs\nTcp: 1\n";
    assert!(netstat::parse_pairs(text, "/proc/net/snmp", &mut stats).is_err());
    let text = "Tcp: ActiveOpens InSegs\nTcp: 1 x\n";
    assert!(netstat::parse_pairs(text, "/proc/net/snmp", &mut stats).is_err());
    // A bad value of a field that is not exported is not looked at.
    let text = "Tcp: RtoMin InSegs\nTcp: x 7\n";
    stats.clear();
    netstat::parse_pairs(text, "/proc/net/snmp", &mut stats).unwrap();
    assert_eq!(stats.len(), 1);
    assert_eq!(
        (stats[0].protocol, stats[0].name, stats[0].value),
        ("Tcp", "InSegs", 7.0)
    );
}

#[test]
fn name_cache_builds_each_name_once() {
    let mut stats = Vec::new();
    netstat::parse_pairs(NET_SNMP, "/proc/net/snmp", &mut stats).unwrap();
    let mut cache = NameCache::default();
    let mut first = Vec::new();
    netstat::families(&stats, &mut cache, &mut first);
    let size = cache.len();
    // A later cycle, with a field gone and the order changed, still finds every name.
    stats.reverse();
    stats.pop();
    cache.rewind();
    let mut second = Vec::new();
    netstat::families(&stats, &mut cache, &mut second);
    assert_eq!(cache.len(), size);
    assert_eq!(second.len(), first.len() - 1);
    for f in &second {
        assert_eq!(family(&first, &f.name), Some(f));
    }
}

#[test]
fn sockstat_names_and_page_bytes() {
    let v4 = sockstat::parse_sockstat(SOCKSTAT, "/proc/net/sockstat").unwrap();
    let v6 = sockstat::parse_sockstat(SOCKSTAT6, "/proc/net/sockstat6").unwrap();
    assert_eq!(v4.used, Some(49));
    assert_eq!(v6.used, None);
    let mut names = NameCache::default();
    let mut out = Vec::new();
    sockstat::families(&v4, false, 4096, &mut names, &mut out);
    sockstat::families(&v6, true, 4096, &mut names, &mut out);
    let got: Vec<(&str, f64)> = out
        .iter()
        .map(|f| (f.name.as_str(), f.series[0].value))
        .collect();
    assert_eq!(
        got,
        [
            ("node_sockstat_sockets_used", 49.0),
            ("node_sockstat_TCP_inuse", 30.0),
            ("node_sockstat_TCP_orphan", 0.0),
            ("node_sockstat_TCP_tw", 41.0),
            ("node_sockstat_TCP_alloc", 30.0),
            ("node_sockstat_TCP_mem", 3.0),
            ("node_sockstat_TCP_mem_bytes", 3.0 * 4096.0),
            ("node_sockstat_UDP_inuse", 2.0),
            ("node_sockstat_UDP_mem", 1.0),
            ("node_sockstat_UDP_mem_bytes", 4096.0),
            ("node_sockstat_UDPLITE_inuse", 0.0),
            ("node_sockstat_RAW_inuse", 0.0),
            ("node_sockstat_FRAG_inuse", 0.0),
            ("node_sockstat_FRAG_memory", 0.0),
            ("node_sockstat_TCP6_inuse", 4.0),
            ("node_sockstat_UDP6_inuse", 1.0),
            ("node_sockstat_UDPLITE6_inuse", 0.0),
            ("node_sockstat_RAW6_inuse", 0.0),
            ("node_sockstat_FRAG6_inuse", 0.0),
            ("node_sockstat_FRAG6_memory", 0.0),
        ]
    );
    let tw = family(&out, "node_sockstat_TCP_tw").unwrap();
    assert_eq!(tw.help, "Number of TCP sockets in state tw.");
    assert_eq!(tw.kind, MetricKind::Gauge);
    let used = family(&out, "node_sockstat_sockets_used").unwrap();
    assert_eq!(used.help, "Number of IPv4 sockets in use.");
    for bad in ["TCP: inuse\n", "TCP: inuse 1 tw\n", "TCP: inuse x\n", "\n"] {
        assert!(
            sockstat::parse_sockstat(bad, "/proc/net/sockstat").is_err(),
            "{bad:?}"
        );
    }
}

#[test]
fn softnet_counters_per_line() {
    let cpus = softnet::parse_softnet(SOFTNET_STAT).unwrap();
    assert_eq!(cpus, [[0x18a5a6, 0, 0], [0x16ba42, 2, 10]]);
    let mut out = Vec::new();
    softnet::families(&cpus, &mut out);
    let cpu1 = [("cpu", "1")];
    assert_eq!(
        value(&out, "node_softnet_processed_total", &cpu1),
        1489474.0
    );
    assert_eq!(value(&out, "node_softnet_dropped_total", &cpu1), 2.0);
    assert_eq!(
        value(&out, "node_softnet_times_squeezed_total", &cpu1),
        10.0
    );
    let dropped = family(&out, "node_softnet_dropped_total").unwrap();
    assert_eq!(dropped.kind, MetricKind::Counter);
    assert_eq!(dropped.help, "Number of dropped packets");
    assert_eq!(dropped.series.len(), 2);
    assert!(softnet::parse_softnet("0001 0002 0003\n").is_err());
    assert!(softnet::parse_softnet("zz 0 0 0 0 0 0 0 0\n").is_err());
}

#[test]
fn udp_queues_sum_the_sockets() {
    assert_eq!(
        udp_queues::parse_queues(NET_UDP, "/proc/net/udp").unwrap(),
        (0xa00, 0x100)
    );
    assert_eq!(
        udp_queues::parse_queues(NET_UDP6, "/proc/net/udp6").unwrap(),
        (0, 0x200)
    );
    let header_only = NET_UDP.lines().next().unwrap();
    assert_eq!(
        udp_queues::parse_queues(header_only, "/proc/net/udp").unwrap(),
        (0, 0)
    );
    let short = "header\n  1: 0100007F:0035 00000000:0000 07 00000000:00000000\n";
    assert!(udp_queues::parse_queues(short, "/proc/net/udp").is_err());
    let mut family = MetricFamily::gauge("node_udp_queues", "");
    udp_queues::push(&mut family, "v4", (2560, 256));
    assert_eq!(
        family.find(&[("queue", "tx"), ("ip", "v4")]).unwrap().value,
        2560.0
    );
    assert_eq!(
        family.find(&[("queue", "rx"), ("ip", "v4")]).unwrap().value,
        256.0
    );
}

#[test]
fn arp_entries_per_device() {
    let devices = arp::parse_arp(NET_ARP).unwrap();
    assert_eq!(devices, [("eth0", 2), ("eth1", 1)]);
    let entries = arp::family(&devices);
    assert_eq!(entries.help, "ARP entries by device");
    assert_eq!(entries.find(&[("device", "eth0")]).unwrap().value, 2.0);
    assert!(arp::parse_arp("192.0.2.1 0x1 0x2 eth0\n").is_err());
    assert_eq!(arp::parse_arp("").unwrap(), []);
}

#[test]
fn conntrack_stat_sums_cpus_by_column() {
    let sums = conntrack::parse_stat(CONNTRACK_STAT).unwrap();
    let mut out = Vec::new();
    conntrack::stat_families(&sums, &mut out);
    for (name, want) in [
        ("node_nf_conntrack_stat_found", 4.0),
        ("node_nf_conntrack_stat_invalid", 5.0),
        ("node_nf_conntrack_stat_ignore", 16.0),
        ("node_nf_conntrack_stat_insert", 3.0),
        ("node_nf_conntrack_stat_insert_failed", 1.0),
        ("node_nf_conntrack_stat_drop", 2.0),
        ("node_nf_conntrack_stat_early_drop", 3.0),
        ("node_nf_conntrack_stat_search_restart", 4.0),
    ] {
        assert_eq!(value(&out, name, &[]), want, "{name}");
        assert_eq!(family(&out, name).unwrap().kind, MetricKind::Gauge);
    }
    let header = CONNTRACK_STAT.lines().next().unwrap();
    assert_eq!(conntrack::parse_stat(header).unwrap(), [0; 8]);
    assert!(conntrack::parse_stat("h\n00000001 00000002\n").is_err());
}
