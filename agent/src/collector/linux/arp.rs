//! `node_arp_entries{device}` from `/proc/net/arp` (node_exporter arp_linux.go): the number
//! of neighbour entries per device.

use super::{LinuxError, Paths};
use peeper_proto::MetricFamily;

/// Entries per device, in the order the devices first appear. The header line (`IP address
/// HW type ...`) is skipped; a line of fewer than 6 columns fails, as node_exporter fails.
pub fn parse_arp(text: &str) -> Result<Vec<(&str, u32)>, LinuxError> {
    let mut devices: Vec<(&str, u32)> = Vec::with_capacity(4);
    for line in text.lines() {
        let columns = line.split_ascii_whitespace();
        if columns.clone().count() < 6 {
            return Err(LinuxError::parse(
                "/proc/net/arp",
                format!("unexpected ARP table format: {line:?}"),
            ));
        }
        let mut columns = columns;
        if columns.next() == Some("IP") {
            continue;
        }
        let Some(device) = columns.last() else {
            continue;
        };
        match devices.iter_mut().find(|(name, _)| *name == device) {
            Some((_, count)) => *count += 1,
            None => devices.push((device, 1)),
        }
    }
    Ok(devices)
}

pub fn family(devices: &[(&str, u32)]) -> MetricFamily {
    let mut entries = MetricFamily::gauge("node_arp_entries", "ARP entries by device");
    for (device, count) in devices {
        entries.push(&[("device", device)], f64::from(*count));
    }
    entries
}

pub fn collect(
    paths: &Paths,
    buf: &mut String,
    out: &mut Vec<MetricFamily>,
) -> Result<(), LinuxError> {
    super::read_into(&paths.net_arp, buf)?;
    out.push(family(&parse_arp(buf)?));
    Ok(())
}
