//! `node_bonding_slaves{master}` and `node_bonding_active{master}` from
//! `/sys/class/net/bonding_masters` and each master's slaves, as node_exporter 1.5's bonding
//! collector (bonding_linux.go) reads them: a slave is active when its `mii_status` is `up`.
//!
//! Any missing file (no bonding module: no `bonding_masters`) is "no data", another error a
//! failure; either exports nothing.

use super::{LinuxError, Paths};
use peeper_proto::MetricFamily;
use std::path::Path;

/// Whether a read failed because a file is missing, which node_exporter calls "no data".
fn read(path: &Path, buf: &mut String) -> Result<(), LinuxError> {
    super::read_into(path, buf).map_err(|error| {
        if super::not_found(&error) {
            LinuxError::NoData("no bonding interfaces")
        } else {
            error
        }
    })
}

/// Each master with its configured and active slave counts, in `bonding_masters` order.
pub fn read_bonding(net: &Path, buf: &mut String) -> Result<Vec<(String, u32, u32)>, LinuxError> {
    read(&net.join("bonding_masters"), buf)?;
    let masters: Vec<String> = buf.split_whitespace().map(str::to_owned).collect();
    let mut status = Vec::with_capacity(masters.len());
    for master in masters {
        let dir = net.join(&master);
        read(&dir.join("bonding/slaves"), buf)?;
        let slaves: Vec<String> = buf.split_whitespace().map(str::to_owned).collect();
        let (mut configured, mut active) = (0, 0);
        for slave in slaves {
            let state = Path::new("bonding_slave/mii_status");
            let lower = dir.join(format!("lower_{slave}")).join(state);
            // Older kernels name the link `slave_<name>`.
            match super::read_into(&lower, buf) {
                Err(error) if super::not_found(&error) => {
                    read(&dir.join(format!("slave_{slave}")).join(state), buf)?;
                }
                result => result?,
            }
            configured += 1;
            if buf.trim() == "up" {
                active += 1;
            }
        }
        // A master listed twice is counted once, as node_exporter's map keeps the last.
        status.retain(|(name, _, _)| *name != master);
        status.push((master, configured, active));
    }
    Ok(status)
}

pub fn collect(
    paths: &Paths,
    buf: &mut String,
    out: &mut Vec<MetricFamily>,
) -> Result<(), LinuxError> {
    let masters = read_bonding(&paths.net_class, buf)?;
    let mut slaves = MetricFamily::gauge(
        "node_bonding_slaves",
        "Number of configured slaves per bonding interface.",
    );
    let mut active = MetricFamily::gauge(
        "node_bonding_active",
        "Number of active slaves per bonding interface.",
    );
    for (master, configured, up) in &masters {
        slaves.push(&[("master", master)], f64::from(*configured));
        active.push(&[("master", master)], f64::from(*up));
    }
    out.extend([slaves, active]);
    Ok(())
}
