//! `node_network_*_total{device}` from `/proc/net/dev`, with node_exporter's legacy names
//! (netdev_common.go, netdev_linux.go); `receive_nohandler` comes from sysfs, as node_exporter
//! reads it over netlink.

use super::{LinuxError, Paths};
use peeper_proto::MetricFamily;

/// The eight receive and eight transmit columns, as node_exporter names them, with the help
/// text it derives (`Network device statistic <key>.`).
const COLUMNS: [(&str, &str); 16] = [
    (
        "node_network_receive_bytes_total",
        "Network device statistic receive_bytes.",
    ),
    (
        "node_network_receive_packets_total",
        "Network device statistic receive_packets.",
    ),
    (
        "node_network_receive_errs_total",
        "Network device statistic receive_errs.",
    ),
    (
        "node_network_receive_drop_total",
        "Network device statistic receive_drop.",
    ),
    (
        "node_network_receive_fifo_total",
        "Network device statistic receive_fifo.",
    ),
    (
        "node_network_receive_frame_total",
        "Network device statistic receive_frame.",
    ),
    (
        "node_network_receive_compressed_total",
        "Network device statistic receive_compressed.",
    ),
    (
        "node_network_receive_multicast_total",
        "Network device statistic receive_multicast.",
    ),
    (
        "node_network_transmit_bytes_total",
        "Network device statistic transmit_bytes.",
    ),
    (
        "node_network_transmit_packets_total",
        "Network device statistic transmit_packets.",
    ),
    (
        "node_network_transmit_errs_total",
        "Network device statistic transmit_errs.",
    ),
    (
        "node_network_transmit_drop_total",
        "Network device statistic transmit_drop.",
    ),
    (
        "node_network_transmit_fifo_total",
        "Network device statistic transmit_fifo.",
    ),
    (
        "node_network_transmit_colls_total",
        "Network device statistic transmit_colls.",
    ),
    (
        "node_network_transmit_carrier_total",
        "Network device statistic transmit_carrier.",
    ),
    (
        "node_network_transmit_compressed_total",
        "Network device statistic transmit_compressed.",
    ),
];

/// One interface line of `/proc/net/dev`.
#[derive(Debug, Clone, PartialEq)]
pub struct NetDevLine<'a> {
    pub device: &'a str,
    pub values: [u64; 16],
}

pub fn parse_net_dev(text: &str) -> Result<Vec<NetDevLine<'_>>, LinuxError> {
    let mut devices = Vec::with_capacity(8);
    // Two header lines, then one line per interface: "  eth0: 1 2 3 ...".
    for line in text.lines().skip(2) {
        if line.trim().is_empty() {
            continue;
        }
        let Some(colon) = line.rfind(':') else {
            return Err(LinuxError::parse(
                "/proc/net/dev",
                format!("no interface in {line:?}"),
            ));
        };
        let device = line[..colon].trim();
        let mut values = [0u64; 16];
        let mut count = 0;
        for (slot, field) in values
            .iter_mut()
            .zip(line[colon + 1..].split_ascii_whitespace())
        {
            *slot = field.parse().map_err(|_| {
                LinuxError::parse("/proc/net/dev", format!("bad value in {line:?}"))
            })?;
            count += 1;
        }
        if count != 16 || device.is_empty() {
            return Err(LinuxError::parse(
                "/proc/net/dev",
                format!("malformed line {line:?}"),
            ));
        }
        devices.push(NetDevLine { device, values });
    }
    Ok(devices)
}

/// Reads `<sys>/class/net/<device>/statistics/rx_nohandler`, if the kernel has it.
fn rx_nohandler(paths: &Paths, device: &str, buf: &mut String) -> Option<f64> {
    let path = paths
        .sys
        .join("class/net")
        .join(device)
        .join("statistics/rx_nohandler");
    super::read_into(&path, buf).ok()?;
    buf.trim().parse::<u64>().ok().map(|v| v as f64)
}

pub fn families(paths: &Paths, devices: &[NetDevLine<'_>], out: &mut Vec<MetricFamily>) {
    let mut families: Vec<MetricFamily> = COLUMNS
        .iter()
        .map(|(name, help)| MetricFamily::counter(*name, *help))
        .collect();
    let mut nohandler = MetricFamily::counter(
        "node_network_receive_nohandler_total",
        "Network device statistic receive_nohandler.",
    );
    let mut buf = String::new();
    for device in devices {
        let labels = [("device", device.device)];
        for (family, value) in families.iter_mut().zip(device.values.iter()) {
            family.push(&labels, *value as f64);
        }
        if let Some(value) = rx_nohandler(paths, device.device, &mut buf) {
            nohandler.push(&labels, value);
        }
    }
    out.extend(families);
    out.push(nohandler);
}
