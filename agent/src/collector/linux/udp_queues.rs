//! `node_udp_queues{queue,ip}` from `/proc/net/udp` and `/proc/net/udp6` (node_exporter
//! udp_queues_linux.go): the bytes queued for sending and receiving, summed over sockets.

use super::{LinuxError, Paths};
use peeper_proto::MetricFamily;

/// The summed `tx_queue` and `rx_queue` columns of a `/proc/net/udp{,6}` table (the first
/// line is its header). A line with fewer than 10 columns, or queues that are not
/// `hex:hex`, fails, as procfs refuses it.
pub fn parse_queues(text: &str, file: &'static str) -> Result<(u64, u64), LinuxError> {
    let (mut tx, mut rx) = (0u64, 0u64);
    for line in text.lines().skip(1) {
        let mut columns = line.split_ascii_whitespace();
        let queues = columns.nth(4);
        if queues.is_none() || columns.nth(4).is_none() {
            return Err(LinuxError::parse(
                file,
                format!("fewer than 10 columns in {line:?}"),
            ));
        }
        let bad = || LinuxError::parse(file, format!("bad tx/rx queues in {line:?}"));
        let (tx_queue, rx_queue) = queues.and_then(|q| q.split_once(':')).ok_or_else(bad)?;
        let hex = |value| u64::from_str_radix(value, 16).map_err(|_| bad());
        tx = tx.wrapping_add(hex(tx_queue)?);
        rx = rx.wrapping_add(hex(rx_queue)?);
    }
    Ok((tx, rx))
}

/// Adds the `tx` and `rx` series of one IP version.
pub fn push(family: &mut MetricFamily, ip: &str, (tx, rx): (u64, u64)) {
    family.push(&[("queue", "tx"), ("ip", ip)], tx as f64);
    family.push(&[("queue", "rx"), ("ip", ip)], rx as f64);
}

/// A missing table (that IP version disabled) is skipped; both missing is "no data". What
/// was read before a failure is still exported, as node_exporter sends it before failing.
pub fn collect(
    paths: &Paths,
    buf: &mut String,
    out: &mut Vec<MetricFamily>,
) -> Result<(), LinuxError> {
    let mut family = MetricFamily::gauge(
        "node_udp_queues",
        "Number of allocated memory in the kernel for UDP datagrams in bytes.",
    );
    let missing = read_tables(paths, buf, &mut family);
    out.push(family);
    if missing? == 2 {
        return Err(LinuxError::NoData("no UDP tables"));
    }
    Ok(())
}

/// Adds the series of each table that exists; returns how many are missing.
fn read_tables(
    paths: &Paths,
    buf: &mut String,
    family: &mut MetricFamily,
) -> Result<usize, LinuxError> {
    let mut missing = 0;
    for (path, file, ip) in [
        (&paths.net_udp, "/proc/net/udp", "v4"),
        (&paths.net_udp6, "/proc/net/udp6", "v6"),
    ] {
        match super::read_into(path, buf) {
            Err(error) if super::not_found(&error) => missing += 1,
            read => {
                read?;
                push(family, ip, parse_queues(buf, file)?);
            }
        }
    }
    Ok(missing)
}
