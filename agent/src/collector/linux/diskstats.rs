//! `node_disk_*{device}` from `/proc/diskstats`, as node_exporter's diskstats collector
//! (diskstats_linux.go, diskstats_common.go), with its default device exclusion
//! `^(z?ram|loop|fd|(h|s|v|xv)d[a-z]|nvme\d+n\d+p)\d+$`.

use super::{LinuxError, Paths};
use peeper_proto::{MetricFamily, MetricKind};

/// Sectors in `/proc/diskstats` are always 512 bytes.
const SECTOR: f64 = 512.0;
/// Times are in milliseconds.
const TICK: f64 = 1.0 / 1000.0;

/// The per-device families in `/proc/diskstats` field order: name, help, kind, factor.
const STATS: [(&str, &str, MetricKind, f64); 17] = [
    (
        "node_disk_reads_completed_total",
        "The total number of reads completed successfully.",
        MetricKind::Counter,
        1.0,
    ),
    (
        "node_disk_reads_merged_total",
        "The total number of reads merged.",
        MetricKind::Counter,
        1.0,
    ),
    (
        "node_disk_read_bytes_total",
        "The total number of bytes read successfully.",
        MetricKind::Counter,
        SECTOR,
    ),
    (
        "node_disk_read_time_seconds_total",
        "The total number of seconds spent by all reads.",
        MetricKind::Counter,
        TICK,
    ),
    (
        "node_disk_writes_completed_total",
        "The total number of writes completed successfully.",
        MetricKind::Counter,
        1.0,
    ),
    (
        "node_disk_writes_merged_total",
        "The number of writes merged.",
        MetricKind::Counter,
        1.0,
    ),
    (
        "node_disk_written_bytes_total",
        "The total number of bytes written successfully.",
        MetricKind::Counter,
        SECTOR,
    ),
    (
        "node_disk_write_time_seconds_total",
        "This is the total number of seconds spent by all writes.",
        MetricKind::Counter,
        TICK,
    ),
    (
        "node_disk_io_now",
        "The number of I/Os currently in progress.",
        MetricKind::Gauge,
        1.0,
    ),
    (
        "node_disk_io_time_seconds_total",
        "Total seconds spent doing I/Os.",
        MetricKind::Counter,
        TICK,
    ),
    (
        "node_disk_io_time_weighted_seconds_total",
        "The weighted # of seconds spent doing I/Os.",
        MetricKind::Counter,
        TICK,
    ),
    (
        "node_disk_discards_completed_total",
        "The total number of discards completed successfully.",
        MetricKind::Counter,
        1.0,
    ),
    (
        "node_disk_discards_merged_total",
        "The total number of discards merged.",
        MetricKind::Counter,
        1.0,
    ),
    (
        "node_disk_discarded_sectors_total",
        "The total number of sectors discarded successfully.",
        MetricKind::Counter,
        1.0,
    ),
    (
        "node_disk_discard_time_seconds_total",
        "This is the total number of seconds spent by all discards.",
        MetricKind::Counter,
        TICK,
    ),
    (
        "node_disk_flush_requests_total",
        "The total number of flush requests completed successfully",
        MetricKind::Counter,
        1.0,
    ),
    (
        "node_disk_flush_requests_time_seconds_total",
        "This is the total number of seconds spent by all flush requests.",
        MetricKind::Counter,
        TICK,
    ),
];

/// One line of `/proc/diskstats`: the device, its numbers and the raw statistics present
/// (11 on old kernels, 15 with discards, 17 with flushes).
#[derive(Debug, Clone, PartialEq)]
pub struct DiskLine<'a> {
    pub major: u32,
    pub minor: u32,
    pub device: &'a str,
    pub stats: [u64; 17],
    pub count: usize,
}

pub fn parse_diskstats(text: &str) -> Result<Vec<DiskLine<'_>>, LinuxError> {
    let mut disks = Vec::with_capacity(16);
    for line in text.lines() {
        let mut fields = line.split_ascii_whitespace();
        let (Some(major), Some(minor), Some(device)) =
            (fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        let bad = || LinuxError::parse("/proc/diskstats", format!("bad line {line:?}"));
        let major = major.parse().map_err(|_| bad())?;
        let minor = minor.parse().map_err(|_| bad())?;
        let mut stats = [0u64; 17];
        let mut count = 0;
        for (slot, field) in stats.iter_mut().zip(fields) {
            *slot = field.parse().map_err(|_| bad())?;
            count += 1;
        }
        if count < 11 {
            return Err(bad());
        }
        disks.push(DiskLine {
            major,
            minor,
            device,
            stats,
            count,
        });
    }
    Ok(disks)
}

/// node_exporter's default `--collector.diskstats.device-exclude`, matched by hand:
/// `^(z?ram|loop|fd|(h|s|v|xv)d[a-z]|nvme\d+n\d+p)\d+$`.
pub fn device_excluded(device: &str) -> bool {
    let base = device.trim_end_matches(|c: char| c.is_ascii_digit());
    if base.len() == device.len() {
        return false; // needs at least one trailing digit
    }
    match base {
        "ram" | "zram" | "loop" | "fd" => return true,
        _ => {}
    }
    // (h|s|v|xv)d[a-z]
    let letters = base
        .strip_prefix("xv")
        .or_else(|| base.strip_prefix(['h', 's', 'v']));
    if let Some(rest) = letters.and_then(|rest| rest.strip_prefix('d')) {
        let mut chars = rest.chars();
        if matches!((chars.next(), chars.next()), (Some('a'..='z'), None)) {
            return true;
        }
    }
    // nvme\d+n\d+p
    if let Some(rest) = base.strip_prefix("nvme").and_then(|r| r.strip_suffix('p'))
        && let Some((controller, namespace)) = rest.split_once('n')
    {
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        return digits(controller) && digits(namespace);
    }
    false
}

/// Device properties udev recorded in `<root>/run/udev/data/b<major>:<minor>` (`E:` lines).
fn udev_properties(paths: &Paths, disk: &DiskLine<'_>, buf: &mut String) -> Vec<(String, String)> {
    let path = paths
        .rootfs
        .join(format!("run/udev/data/b{}:{}", disk.major, disk.minor));
    if super::read_into(&path, buf).is_err() {
        return Vec::new();
    }
    buf.lines()
        .filter_map(|line| line.strip_prefix("E:"))
        .filter_map(|line| line.split_once('='))
        .filter(|(key, _)| {
            matches!(
                *key,
                "ID_PATH"
                    | "ID_WWN"
                    | "ID_MODEL"
                    | "ID_REVISION"
                    | "ID_SERIAL"
                    | "ID_SERIAL_SHORT"
                    | "SCSI_IDENT_SERIAL"
            )
        })
        .map(|(key, value)| (key.to_owned(), value.to_owned()))
        .collect()
}

/// `node_disk_info{device,major,minor,path,wwn,model,serial,revision,rotational}`.
fn push_info(paths: &Paths, disk: &DiskLine<'_>, buf: &mut String, info: &mut MetricFamily) {
    let udev = udev_properties(paths, disk, buf);
    let get = |key: &str| {
        udev.iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    };
    let serial = [
        get("SCSI_IDENT_SERIAL"),
        get("ID_SERIAL_SHORT"),
        get("ID_SERIAL"),
    ]
    .into_iter()
    .find(|s| !s.is_empty())
    .unwrap_or("");
    let rotational_path = paths
        .sys
        .join("block")
        .join(disk.device)
        .join("queue/rotational");
    let rotational = match super::read_into(&rotational_path, buf) {
        Ok(()) if buf.trim() == "1" => "1",
        _ => "0",
    };
    let major = disk.major.to_string();
    let minor = disk.minor.to_string();
    let labels = [
        ("device", disk.device),
        ("major", major.as_str()),
        ("minor", minor.as_str()),
        ("path", get("ID_PATH")),
        ("wwn", get("ID_WWN")),
        ("model", get("ID_MODEL")),
        ("serial", serial),
        ("revision", get("ID_REVISION")),
        ("rotational", rotational),
    ];
    // An empty label is an absent label in Prometheus; leave it out.
    let labels: Vec<(&str, &str)> = labels.into_iter().filter(|(_, v)| !v.is_empty()).collect();
    info.push(&labels, 1.0);
}

pub fn families(paths: &Paths, disks: &[DiskLine<'_>], out: &mut Vec<MetricFamily>) {
    let mut info = MetricFamily::gauge("node_disk_info", "Info of /sys/block/<block_device>.");
    let mut families: Vec<MetricFamily> = STATS
        .iter()
        .map(|(name, help, kind, _)| MetricFamily::new(*name, *help, *kind))
        .collect();
    let mut buf = String::new();
    for disk in disks.iter().filter(|d| !device_excluded(d.device)) {
        push_info(paths, disk, &mut buf, &mut info);
        let labels = [("device", disk.device)];
        for ((family, spec), raw) in families
            .iter_mut()
            .zip(STATS.iter())
            .zip(disk.stats.iter())
            .take(disk.count)
        {
            family.push(&labels, *raw as f64 * spec.3);
        }
    }
    out.push(info);
    out.extend(families);
}
