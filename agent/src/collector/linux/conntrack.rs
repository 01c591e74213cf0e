//! `node_nf_conntrack_entries`, `node_nf_conntrack_entries_limit` and the
//! `node_nf_conntrack_stat_*` gauges (node_exporter 1.5 conntrack_linux.go), from
//! `/proc/sys/net/netfilter/` and `/proc/net/stat/nf_conntrack`. Without the module loaded
//! the files are missing and the area reports "no data", as node_exporter does.

use super::{LinuxError, Paths};
use peeper_proto::MetricFamily;

/// The statistics node_exporter exports: the column of `/proc/net/stat/nf_conntrack` each is
/// read from (procfs counts the 17 columns by position), its name and help.
pub const STATS: [(usize, &str, &str); 8] = [
    (
        2,
        "node_nf_conntrack_stat_found",
        "Number of searched entries which were successful.",
    ),
    (
        4,
        "node_nf_conntrack_stat_invalid",
        "Number of packets seen which can not be tracked.",
    ),
    (
        5,
        "node_nf_conntrack_stat_ignore",
        "Number of packets seen which are already connected to a conntrack entry.",
    ),
    (
        8,
        "node_nf_conntrack_stat_insert",
        "Number of entries inserted into the list.",
    ),
    (
        9,
        "node_nf_conntrack_stat_insert_failed",
        "Number of entries for which list insertion was attempted but failed.",
    ),
    (
        10,
        "node_nf_conntrack_stat_drop",
        "Number of packets dropped due to conntrack failure.",
    ),
    (
        11,
        "node_nf_conntrack_stat_early_drop",
        "Number of dropped conntrack entries to make room for new ones, if maximum table size was reached.",
    ),
    (
        16,
        "node_nf_conntrack_stat_search_restart",
        "Number of conntrack table lookups which had to be restarted due to hashtable resizes.",
    ),
];

/// The [`STATS`] columns summed over the per-CPU lines (hexadecimal; the first line is the
/// header). A line that has not exactly 17 columns fails.
pub fn parse_stat(text: &str) -> Result<[u64; STATS.len()], LinuxError> {
    const FILE: &str = "/proc/net/stat/nf_conntrack";
    let mut sums = [0u64; STATS.len()];
    let mut columns: [&str; 17] = [""; 17];
    for line in text.lines().skip(1) {
        let mut count = 0;
        for column in line.split_ascii_whitespace() {
            if let Some(slot) = columns.get_mut(count) {
                *slot = column;
            }
            count += 1;
        }
        if count != columns.len() {
            return Err(LinuxError::parse(
                FILE,
                format!("{count} columns in {line:?}"),
            ));
        }
        for (sum, (index, _, _)) in sums.iter_mut().zip(STATS) {
            let value = u64::from_str_radix(columns[index], 16)
                .map_err(|_| LinuxError::parse(FILE, format!("bad value {:?}", columns[index])))?;
            *sum = sum.wrapping_add(value);
        }
    }
    Ok(sums)
}

pub fn stat_families(sums: &[u64; STATS.len()], out: &mut Vec<MetricFamily>) {
    for ((_, name, help), sum) in STATS.iter().zip(sums) {
        out.push(MetricFamily::gauge(*name, *help).with(&[], *sum as f64));
    }
}

/// What was read before a failure is still exported, as node_exporter sends it first.
pub fn collect(
    paths: &Paths,
    buf: &mut String,
    out: &mut Vec<MetricFamily>,
) -> Result<(), LinuxError> {
    let no_data = |error: LinuxError| {
        if super::not_found(&error) {
            LinuxError::NoData("conntrack probably not loaded")
        } else {
            error
        }
    };
    let entries = super::read_uint(&paths.conntrack_count, buf).map_err(no_data)?;
    out.push(
        MetricFamily::gauge(
            "node_nf_conntrack_entries",
            "Number of currently allocated flow entries for connection tracking.",
        )
        .with(&[], entries as f64),
    );
    let limit = super::read_uint(&paths.conntrack_max, buf).map_err(no_data)?;
    out.push(
        MetricFamily::gauge(
            "node_nf_conntrack_entries_limit",
            "Maximum size of connection tracking table.",
        )
        .with(&[], limit as f64),
    );
    super::read_into(&paths.conntrack_stat, buf).map_err(no_data)?;
    stat_families(&parse_stat(buf)?, out);
    Ok(())
}
