//! The NFS server's `node_nfsd_*` from `/proc/net/rpc/nfsd`, as node_exporter 1.5's nfsd
//! collector reads them through procfs (nfs/parse_nfsd.go, nfs/parse.go).
//!
//! Without the file (no NFS server module) the area reports "no data"; a line procfs
//! refuses (one it does not know, as newer kernels add) fails it; either exports nothing.

use super::nfs::{V2_METHODS, V3_METHODS, exactly, parse_values, procedures};
use super::{LinuxError, Paths};
use peeper_proto::MetricFamily;

const FILE: &str = "/proc/net/rpc/nfsd";

/// procfs' `V4Ops` fields (the operations of `proc4ops`, by number from 0).
const V4_OPS: [&str; 38] = [
    "Op0Unused",
    "Op1Unused",
    "Op2Future",
    "Access",
    "Close",
    "Commit",
    "Create",
    "DelegPurge",
    "DelegReturn",
    "GetAttr",
    "GetFH",
    "Link",
    "Lock",
    "Lockt",
    "Locku",
    "Lookup",
    "LookupRoot",
    "Nverify",
    "Open",
    "OpenAttr",
    "OpenConfirm",
    "OpenDgrd",
    "PutFH",
    "PutPubFH",
    "PutRootFH",
    "Read",
    "ReadDir",
    "ReadLink",
    "Remove",
    "Rename",
    "Renew",
    "RestoreFH",
    "SaveFH",
    "SecInfo",
    "SetAttr",
    "Verify",
    "Write",
    "RelLockOwner",
];

/// The NFSv4 operations node_exporter leaves out (the unused ones, `PutPubFH` and
/// `PutRootFH`).
const V4_NOT_EXPORTED: [&str; 5] = [
    "Op0Unused",
    "Op1Unused",
    "Op2Future",
    "PutPubFH",
    "PutRootFH",
];

/// What node_exporter exports of `/proc/net/rpc/nfsd`.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerStats {
    /// `rc`: hits, misses, nocache.
    pub reply_cache: [u64; 3],
    /// `fh`: stale, then four the kernel no longer fills.
    pub file_handles: [u64; 5],
    /// `io`: bytes read, written.
    pub io: [u64; 2],
    /// `th`: threads, times all were busy.
    pub threads: [u64; 2],
    /// `ra`: cache size, ten histogram buckets, not found.
    pub read_ahead: [u64; 12],
    pub network: [u64; 4],
    /// `rpc`: calls, bad calls, bad format, bad authentication, bad client.
    pub rpc: [u64; 5],
    pub v2: [u64; 18],
    pub v3: [u64; 22],
    pub v4_ops: [u64; 38],
}

impl Default for ServerStats {
    fn default() -> Self {
        ServerStats {
            reply_cache: [0; 3],
            file_handles: [0; 5],
            io: [0; 2],
            threads: [0; 2],
            read_ahead: [0; 12],
            network: [0; 4],
            rpc: [0; 5],
            v2: [0; 18],
            v3: [0; 22],
            v4_ops: [0; 38],
        }
    }
}

/// procfs' `ParseServerRPCStats`.
pub fn parse_server(text: &str) -> Result<ServerStats, LinuxError> {
    let mut stats = ServerStats::default();
    for line in text.lines() {
        let parts: Vec<&str> = line.split_whitespace().collect();
        if parts.len() < 2 {
            return Err(LinuxError::parse(FILE, format!("invalid line {line:?}")));
        }
        let label = parts[0];
        // `th` goes on with the old, fractional busy-time histogram: only two values count.
        let fields = if label == "th" {
            parts
                .get(1..3)
                .ok_or_else(|| LinuxError::parse(FILE, format!("invalid th line {line:?}")))?
        } else {
            &parts[1..]
        };
        let values = parse_values(FILE, fields)?;
        match label {
            "rc" => stats.reply_cache = exactly(FILE, label, &values)?,
            "fh" => stats.file_handles = exactly(FILE, label, &values)?,
            "io" => stats.io = exactly(FILE, label, &values)?,
            "th" => stats.threads = exactly(FILE, label, &values)?,
            "ra" => stats.read_ahead = exactly(FILE, label, &values)?,
            "net" => stats.network = exactly(FILE, label, &values)?,
            "rpc" => stats.rpc = exactly(FILE, label, &values)?,
            "proc2" => stats.v2 = procedures(FILE, label, &values, 18)?,
            "proc3" => stats.v3 = procedures(FILE, label, &values, 22)?,
            // Null and Compound, which node_exporter does not export.
            "proc4" if values.len() == 3 && values[0] == 2 => {}
            "proc4" => {
                return Err(LinuxError::parse(FILE, format!("invalid proc4 {values:?}")));
            }
            "proc4ops" => stats.v4_ops = procedures(FILE, label, &values, 39)?,
            other => {
                return Err(LinuxError::parse(FILE, format!("unknown line {other:?}")));
            }
        }
    }
    Ok(stats)
}

/// The counters without labels, in node_exporter's order: name, help, value.
fn singles(stats: &ServerStats) -> [(&'static str, &'static str, u64); 9] {
    let [hits, misses, nocache] = stats.reply_cache;
    [
        (
            "node_nfsd_reply_cache_hits_total",
            "Total number of NFSd Reply Cache hits (client lost server response).",
            hits,
        ),
        (
            "node_nfsd_reply_cache_misses_total",
            "Total number of NFSd Reply Cache an operation that requires caching (idempotent).",
            misses,
        ),
        (
            "node_nfsd_reply_cache_nocache_total",
            "Total number of NFSd Reply Cache non-idempotent operations (rename/delete/…).",
            nocache,
        ),
        (
            "node_nfsd_file_handles_stale_total",
            "Total number of NFSd stale file handles",
            stats.file_handles[0],
        ),
        (
            "node_nfsd_disk_bytes_read_total",
            "Total NFSd bytes read.",
            stats.io[0],
        ),
        (
            "node_nfsd_disk_bytes_written_total",
            "Total NFSd bytes written.",
            stats.io[1],
        ),
        (
            "node_nfsd_read_ahead_cache_not_found_total",
            "Total number of NFSd read ahead cache not found.",
            stats.read_ahead[11],
        ),
        (
            "node_nfsd_connections_total",
            "Total number of NFSd TCP connections.",
            stats.network[3],
        ),
        (
            "node_nfsd_server_rpcs_total",
            "Total number of NFSd RPCs.",
            stats.rpc[0],
        ),
    ]
}

pub fn server_families(stats: &ServerStats, out: &mut Vec<MetricFamily>) {
    for (name, help, value) in singles(stats) {
        out.push(MetricFamily::counter(name, help).with(&[], value as f64));
    }
    out.push(
        MetricFamily::gauge(
            "node_nfsd_server_threads",
            "Total number of NFSd kernel threads that are running.",
        )
        .with(&[], stats.threads[0] as f64),
    );
    out.push(
        MetricFamily::gauge(
            "node_nfsd_read_ahead_cache_size_blocks",
            "How large the read ahead cache is in blocks.",
        )
        .with(&[], stats.read_ahead[0] as f64),
    );
    let mut packets = MetricFamily::counter(
        "node_nfsd_packets_total",
        "Total NFSd network packets (sent+received) by protocol type.",
    );
    packets.push(&[("proto", "udp")], stats.network[1] as f64);
    packets.push(&[("proto", "tcp")], stats.network[2] as f64);
    let mut errors = MetricFamily::counter(
        "node_nfsd_rpc_errors_total",
        "Total number of NFSd RPC errors by error type.",
    );
    for (error, value) in [("fmt", 2), ("auth", 3), ("cInt", 4)].map(|(e, i)| (e, stats.rpc[i])) {
        errors.push(&[("error", error)], value as f64);
    }
    let mut requests = MetricFamily::counter(
        "node_nfsd_requests_total",
        "Total number NFSd Requests by method and protocol.",
    );
    // node_exporter leaves out `Null` of NFSv2 and v3.
    for (proto, methods, values) in [
        ("2", &V2_METHODS[..], &stats.v2[..]),
        ("3", &V3_METHODS[..], &stats.v3[..]),
    ] {
        for (method, value) in methods.iter().zip(values).skip(1) {
            requests.push(&[("proto", proto), ("method", method)], *value as f64);
        }
    }
    for (method, value) in V4_OPS.iter().zip(&stats.v4_ops) {
        if !V4_NOT_EXPORTED.contains(method) {
            requests.push(&[("proto", "4"), ("method", method)], *value as f64);
        }
    }
    out.extend([packets, errors, requests]);
}

pub fn collect(
    paths: &Paths,
    buf: &mut String,
    out: &mut Vec<MetricFamily>,
) -> Result<(), LinuxError> {
    match super::read_into(&paths.hw.nfsd, buf) {
        Err(error) if super::not_found(&error) => {
            return Err(LinuxError::NoData("no /proc/net/rpc/nfsd"));
        }
        read => read?,
    }
    server_families(&parse_server(buf)?, out);
    Ok(())
}
