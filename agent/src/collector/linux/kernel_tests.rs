//! Tests of the kernel and system areas (filefd, entropy, vmstat, os, schedstat) on fixture
//! text shaped like this host's files.

use super::fixtures::*;
use super::names::NameCache;
use super::*;
use peeper_proto::MetricKind;
use peeper_proto::model::family;
use peeper_test_support::value;

#[test]
fn file_nr_allocated_and_maximum() {
    let values = filefd::parse_file_nr(FILE_NR).unwrap();
    assert_eq!(values, [1425.0, 9223372036854775807.0]);
    let mut out = Vec::new();
    filefd::families(values, &mut out);
    let maximum = family(&out, "node_filefd_maximum").unwrap();
    assert_eq!(maximum.help, "File descriptor statistics: maximum.");
    assert_eq!(maximum.kind, MetricKind::Gauge);
    assert_eq!(value(&out, "node_filefd_allocated", &[]), 1425.0);
    assert!(
        filefd::parse_file_nr("1425 0 100\n").is_err(),
        "columns are tab-separated"
    );
    assert!(filefd::parse_file_nr("x\t0\t1\n").is_err());
}

#[test]
fn entropy_families() {
    let mut out = Vec::new();
    entropy::families(256, 4096, &mut out);
    assert_eq!(value(&out, "node_entropy_available_bits", &[]), 256.0);
    assert_eq!(value(&out, "node_entropy_pool_size_bits", &[]), 4096.0);
    assert_eq!(out[1].help, "Bits of entropy pool.");
}

#[test]
fn vmstat_default_fields() {
    let fields = vmstat::parse_vmstat(VMSTAT).unwrap();
    let names: Vec<&str> = fields.iter().map(|(name, _)| *name).collect();
    assert_eq!(
        names,
        [
            "pgpgin",
            "pgpgout",
            "pswpin",
            "pswpout",
            "pgfault",
            "pgmajfault",
            "oom_kill"
        ]
    );
    let mut cache = NameCache::default();
    let mut out = Vec::new();
    vmstat::families(&fields, &mut cache, &mut out);
    let pgfault = family(&out, "node_vmstat_pgfault").unwrap();
    assert_eq!(pgfault.kind, MetricKind::Untyped);
    assert_eq!(pgfault.help, "/proc/vmstat information field pgfault.");
    assert_eq!(pgfault.series[0].value, 330960326.0);
    for field in [
        "oom_kill",
        "pgpgin",
        "pswpout",
        "pgfault",
        "pgmajfault",
        "pgxfaultx",
    ] {
        assert!(vmstat::selected(field), "{field}");
    }
    for field in [
        "thp_fault_alloc",
        "numa_hit",
        "pgalloc_normal",
        "nr_dirty",
        "pfault",
    ] {
        assert!(!vmstat::selected(field), "{field}");
    }
    assert!(vmstat::parse_vmstat("pgfault\n").is_err());
    assert!(vmstat::parse_vmstat("pgfault x\n").is_err());
    assert!(vmstat::parse_vmstat("nr_dirty x\n").unwrap().is_empty());
}

#[test]
fn os_release_info_and_version() {
    let release = os::parse_os_release(OS_RELEASE).unwrap();
    let mut out = Vec::new();
    os::families(&release, &mut out);
    let info = &family(&out, "node_os_info").unwrap().series[0];
    let labels: Vec<(&str, &str)> = info
        .labels
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        labels,
        [
            ("build_id", ""),
            ("id", "debian"),
            ("id_like", ""),
            ("image_id", ""),
            ("image_version", ""),
            ("name", "Debian GNU/Linux"),
            ("pretty_name", "Debian GNU/Linux 12 (bookworm)"),
            ("variant", ""),
            ("variant_id", ""),
            ("version", "12 (bookworm)"),
            ("version_codename", "bookworm"),
            ("version_id", "12"),
        ]
    );
    let version = family(&out, "node_os_version").unwrap();
    assert_eq!(
        version.help,
        "Metric containing the major.minor part of the OS version."
    );
    let series = version
        .find(&[
            ("id", "debian"),
            ("id_like", ""),
            ("name", "Debian GNU/Linux"),
        ])
        .unwrap();
    assert_eq!(series.value, 12.0);
    // Without a VERSION_ID (Debian testing, Arch) there is no node_os_version.
    let rolling = os::parse_os_release("NAME=Arch\nID=arch\n").unwrap();
    let mut out = Vec::new();
    os::families(&rolling, &mut out);
    assert!(family(&out, "node_os_version").is_none());
    assert_eq!(
        family(&out, "node_os_info").unwrap().series[0].label("id"),
        Some("arch")
    );
}

#[test]
fn os_version_major_minor() {
    assert_eq!(os::major_minor("12"), 12.0);
    assert_eq!(os::major_minor("22.04"), 22.04);
    assert_eq!(os::major_minor("3.18.4"), 3.18);
    assert_eq!(os::major_minor("7."), 7.0);
    assert_eq!(os::major_minor("rolling"), 0.0);
    assert_eq!(os::major_minor(""), 0.0);
}

#[test]
fn env_lines_as_node_exporter_reads_them() {
    let parse = |line| envparse::parse_line(line).unwrap();
    let pair = |key: &'static str, value: &str| Some((key, value.to_owned()));
    assert_eq!(parse("ID=debian"), pair("ID", "debian"));
    assert_eq!(
        parse("  export NAME = \"Debian GNU/Linux\"  "),
        pair("NAME", "Debian GNU/Linux")
    );
    assert_eq!(parse("NAME='it''s'"), pair("NAME", "its"));
    assert_eq!(
        parse("NAME=\"a \\\"b\\\" \\\\ \\u00e9\""),
        pair("NAME", "a \"b\" \\ é")
    );
    assert_eq!(parse("NAME=\"\\ud83d\\ude00\""), pair("NAME", "😀"));
    assert_eq!(
        parse("NAME=plain text # comment"),
        pair("NAME", "plain text")
    );
    assert_eq!(
        parse("NAME=\"quoted # kept\" # comment"),
        pair("NAME", "quoted # kept")
    );
    assert_eq!(parse("# comment"), None);
    assert_eq!(parse(""), None);
    assert_eq!(parse("VARIANT="), None);
    assert_eq!(parse("VARIANT=\"\""), None);
    for bad in [
        "NOSEPARATOR",
        "=value",
        "1KEY=x",
        "KE-Y=x",
        "NAME=\"open",
        "NAME='open",
        "NAME=\"\\x\"",
        "NAME=\"\\u12\"",
        "NAME=\"\\ud83d\"",
        "NAME=a\u{1}b",
    ] {
        assert!(envparse::parse_line(bad).is_err(), "{bad:?}");
    }
    assert!(os::parse_os_release("ID=debian\nNAME=\"open\n").is_err());
}

#[test]
fn schedstat_cpu_lines() {
    let cpus = schedstat::parse_schedstat(SCHEDSTAT);
    assert_eq!(cpus.len(), 2);
    assert_eq!(
        cpus[1],
        schedstat::CpuSched {
            cpu: "1",
            running_ns: 2218183346000,
            waiting_ns: 99829069000,
            timeslices: 561600,
        }
    );
    let mut out = Vec::new();
    schedstat::families(&cpus, &mut out);
    let cpu0 = [("cpu", "0")];
    assert_eq!(
        value(&out, "node_schedstat_running_seconds_total", &cpu0),
        2523.448069
    );
    assert_eq!(
        value(&out, "node_schedstat_waiting_seconds_total", &cpu0),
        190.926813
    );
    assert_eq!(
        value(&out, "node_schedstat_timeslices_total", &cpu0),
        740512.0
    );
    let running = family(&out, "node_schedstat_running_seconds_total").unwrap();
    assert_eq!(running.kind, MetricKind::Counter);
    assert_eq!(
        running.help,
        "Number of seconds CPU spent running a process."
    );
    assert!(schedstat::parse_schedstat("cpu0 1 2 3\ncpux 1 2 3 4 5 6 7 8 9\n").is_empty());
}

#[test]
fn timex_scales_as_node_exporter() {
    // A clock disciplined by NTP in nanosecond mode (status 0x2001: PLL | NANO).
    let clock = timex::KernelClock {
        state: 0,
        offset: -1_500_000,
        freq: 65536 * 12,
        maxerror: 250_000,
        esterror: 1_000,
        status: 0x2001,
        constant: 7,
        tick: 10_000,
        tai: 37,
        ..Default::default()
    };
    let mut out = Vec::new();
    timex::families(&clock, &mut out);
    assert_eq!(value(&out, "node_timex_offset_seconds", &[]), -0.0015);
    let ratio = value(&out, "node_timex_frequency_adjustment_ratio", &[]);
    assert!((ratio - 1.000012).abs() < 1e-12, "{ratio}");
    assert_eq!(value(&out, "node_timex_maxerror_seconds", &[]), 0.25);
    assert_eq!(value(&out, "node_timex_tick_seconds", &[]), 0.01);
    assert_eq!(value(&out, "node_timex_tai_offset_seconds", &[]), 37.0);
    assert_eq!(value(&out, "node_timex_sync_status", &[]), 1.0);
    assert_eq!(out.len(), 17);
    // Microsecond mode, and TIME_ERROR: not synchronised.
    let unsynced = timex::KernelClock {
        state: 5,
        offset: 1_500,
        status: 0x0040,
        ..clock
    };
    let mut out = Vec::new();
    timex::families(&unsynced, &mut out);
    assert_eq!(value(&out, "node_timex_offset_seconds", &[]), 0.0015);
    assert_eq!(value(&out, "node_timex_sync_status", &[]), 0.0);
}

#[test]
fn timex_reads_this_hosts_clock() {
    let clock = timex::read().expect("adjtimex with modes 0 needs no privilege");
    assert!((0..=5).contains(&clock.state), "{clock:?}");
    assert!(clock.tick > 0, "{clock:?}");
}
