//! `node_entropy_available_bits` and `node_entropy_pool_size_bits` from
//! `/proc/sys/kernel/random/` (node_exporter entropy_linux.go).

use super::{LinuxError, Paths};
use peeper_proto::MetricFamily;

pub fn families(available: u64, pool_size: u64, out: &mut Vec<MetricFamily>) {
    out.push(
        MetricFamily::gauge("node_entropy_available_bits", "Bits of available entropy.")
            .with(&[], available as f64),
    );
    out.push(
        MetricFamily::gauge("node_entropy_pool_size_bits", "Bits of entropy pool.")
            .with(&[], pool_size as f64),
    );
}

pub fn collect(
    paths: &Paths,
    buf: &mut String,
    out: &mut Vec<MetricFamily>,
) -> Result<(), LinuxError> {
    let available = super::read_uint(&paths.entropy_avail, buf)?;
    let pool_size = super::read_uint(&paths.entropy_pool_size, buf)?;
    families(available, pool_size, out);
    Ok(())
}
