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

/// The udev properties node_exporter reads (`E:` lines of `run/udev/data/b<major>:<minor>`).
const UDEV_KEYS: [&str; 20] = [
    "ID_PATH",
    "ID_WWN",
    "ID_MODEL",
    "ID_REVISION",
    "ID_SERIAL",
    "ID_SERIAL_SHORT",
    "SCSI_IDENT_SERIAL",
    "ID_FS_TYPE",
    "ID_FS_USAGE",
    "ID_FS_UUID",
    "ID_FS_VERSION",
    "DM_NAME",
    "DM_UUID",
    "DM_VG_NAME",
    "DM_LV_NAME",
    "DM_LV_LAYER",
    "ID_ATA",
    "ID_ATA_WRITE_CACHE",
    "ID_ATA_WRITE_CACHE_ENABLED",
    "ID_ATA_ROTATION_RATE_RPM",
];

/// The ATA gauges node_exporter 1.5 reads from udev: property, name, help.
const ATA: [(&str, &str, &str); 3] = [
    (
        "ID_ATA_WRITE_CACHE",
        "node_disk_ata_write_cache",
        "ATA disk has a write cache.",
    ),
    (
        "ID_ATA_WRITE_CACHE_ENABLED",
        "node_disk_ata_write_cache_enabled",
        "ATA disk has its write cache enabled.",
    ),
    (
        "ID_ATA_ROTATION_RATE_RPM",
        "node_disk_ata_rotation_rate_rpm",
        "ATA disk rotation rate in RPMs (0 for SSDs).",
    ),
];

/// A device's udev properties (of [`UDEV_KEYS`]); none where udev has no file for it.
#[derive(Debug, Default)]
struct Udev(Vec<(&'static str, String)>);

impl Udev {
    fn read(paths: &Paths, disk: &DiskLine<'_>, buf: &mut String) -> Self {
        let path = paths
            .rootfs
            .join(format!("run/udev/data/b{}:{}", disk.major, disk.minor));
        if super::read_into(&path, buf).is_err() {
            return Udev::default();
        }
        let properties = buf
            .lines()
            .filter_map(|line| line.strip_prefix("E:"))
            .filter_map(|line| line.split_once('='))
            .filter_map(|(key, value)| {
                let known = UDEV_KEYS.iter().find(|k| **k == key)?;
                Some((*known, value.to_owned()))
            });
        // A key udev wrote twice counts with its last value, as in node_exporter's map.
        let mut udev = Udev::default();
        for (key, value) in properties {
            udev.0.retain(|(k, _)| *k != key);
            udev.0.push((key, value));
        }
        udev
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The value, empty where absent (node_exporter's lookup in a Go map).
    fn value(&self, key: &str) -> &str {
        self.get(key).unwrap_or("")
    }
}

/// Pushes one series with the non-empty ones of `labels` (an empty label is an absent label
/// in Prometheus).
fn push_present(family: &mut MetricFamily, labels: &[(&str, &str)], value: f64) {
    let labels: Vec<(&str, &str)> = labels
        .iter()
        .copied()
        .filter(|(_, v)| !v.is_empty())
        .collect();
    family.push(&labels, value);
}

/// `node_disk_info{device,major,minor,path,wwn,model,serial,revision,rotational}`.
fn push_info(
    paths: &Paths,
    disk: &DiskLine<'_>,
    udev: &Udev,
    buf: &mut String,
    info: &mut MetricFamily,
) {
    let serial = [
        udev.value("SCSI_IDENT_SERIAL"),
        udev.value("ID_SERIAL_SHORT"),
        udev.value("ID_SERIAL"),
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
        ("path", udev.value("ID_PATH")),
        ("wwn", udev.value("ID_WWN")),
        ("model", udev.value("ID_MODEL")),
        ("serial", serial),
        ("revision", udev.value("ID_REVISION")),
        ("rotational", rotational),
    ];
    push_present(info, &labels, 1.0);
}

/// The families node_exporter 1.5 builds from udev alone: `node_disk_filesystem_info` (a
/// device udev found a file system on), `node_disk_device_mapper_info` (a device-mapper
/// device) and the `node_disk_ata_*` gauges (an ATA disk).
#[derive(Debug)]
struct UdevFamilies {
    filesystem: MetricFamily,
    device_mapper: MetricFamily,
    ata: [MetricFamily; 3],
}

impl UdevFamilies {
    fn new() -> Self {
        UdevFamilies {
            filesystem: MetricFamily::gauge(
                "node_disk_filesystem_info",
                "Info about disk filesystem.",
            ),
            device_mapper: MetricFamily::gauge(
                "node_disk_device_mapper_info",
                "Info about disk device mapper.",
            ),
            ata: ATA.map(|(_, name, help)| MetricFamily::gauge(name, help)),
        }
    }

    fn push(&mut self, device: &str, udev: &Udev) {
        let fs_type = udev.value("ID_FS_TYPE");
        if !fs_type.is_empty() {
            let labels = [
                ("device", device),
                ("type", fs_type),
                ("usage", udev.value("ID_FS_USAGE")),
                ("uuid", udev.value("ID_FS_UUID")),
                ("version", udev.value("ID_FS_VERSION")),
            ];
            push_present(&mut self.filesystem, &labels, 1.0);
        }
        let dm_name = udev.value("DM_NAME");
        if !dm_name.is_empty() {
            let labels = [
                ("device", device),
                ("name", dm_name),
                ("uuid", udev.value("DM_UUID")),
                ("vg_name", udev.value("DM_VG_NAME")),
                ("lv_name", udev.value("DM_LV_NAME")),
                ("lv_layer", udev.value("DM_LV_LAYER")),
            ];
            push_present(&mut self.device_mapper, &labels, 1.0);
        }
        if udev.value("ID_ATA").is_empty() {
            return;
        }
        for (family, (property, _, _)) in self.ata.iter_mut().zip(ATA) {
            // node_exporter skips (and logs) a property that is absent or not a number.
            if let Some(value) = udev.get(property).and_then(|v| v.parse::<f64>().ok()) {
                family.push(&[("device", device)], value);
            }
        }
    }

    fn into_families(self) -> impl Iterator<Item = MetricFamily> {
        [self.filesystem, self.device_mapper]
            .into_iter()
            .chain(self.ata)
    }
}

pub fn families(paths: &Paths, disks: &[DiskLine<'_>], out: &mut Vec<MetricFamily>) {
    let mut info = MetricFamily::gauge("node_disk_info", "Info of /sys/block/<block_device>.");
    let mut families: Vec<MetricFamily> = STATS
        .iter()
        .map(|(name, help, kind, _)| MetricFamily::new(*name, *help, *kind))
        .collect();
    let mut from_udev = UdevFamilies::new();
    let mut buf = String::new();
    for disk in disks.iter().filter(|d| !device_excluded(d.device)) {
        let udev = Udev::read(paths, disk, &mut buf);
        push_info(paths, disk, &udev, &mut buf, &mut info);
        from_udev.push(disk.device, &udev);
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
    out.extend(from_udev.into_families());
}
