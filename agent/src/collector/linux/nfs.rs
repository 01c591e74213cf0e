//! The NFS client's `node_nfs_*` from `/proc/net/rpc/nfs`, as node_exporter 1.5's nfs
//! collector reads them through procfs (nfs/parse_nfs.go, nfs/parse.go): packets and
//! connections, RPCs, and `node_nfs_requests_total{proto,method}` for every NFSv2, v3 and v4
//! procedure procfs knows (zero where the kernel has no such line).
//!
//! Without the file (no NFS client module) the area reports "no data"; a line procfs
//! refuses fails it; either exports nothing.

use super::{LinuxError, Paths};
use peeper_proto::MetricFamily;

const FILE: &str = "/proc/net/rpc/nfs";

/// procfs' `V2Stats` fields, the `method` label of protocol 2.
pub const V2_METHODS: [&str; 18] = [
    "Null", "GetAttr", "SetAttr", "Root", "Lookup", "ReadLink", "Read", "WrCache", "Write",
    "Create", "Remove", "Rename", "Link", "SymLink", "MkDir", "RmDir", "ReadDir", "FsStat",
];

/// procfs' `V3Stats` fields.
pub const V3_METHODS: [&str; 22] = [
    "Null",
    "GetAttr",
    "SetAttr",
    "Lookup",
    "Access",
    "ReadLink",
    "Read",
    "Write",
    "Create",
    "MkDir",
    "SymLink",
    "MkNod",
    "Remove",
    "RmDir",
    "Rename",
    "Link",
    "ReadDir",
    "ReadDirPlus",
    "FsStat",
    "FsInfo",
    "PathConf",
    "Commit",
];

/// procfs' `ClientV4Stats` fields.
const V4_METHODS: [&str; 59] = [
    "Null",
    "Read",
    "Write",
    "Commit",
    "Open",
    "OpenConfirm",
    "OpenNoattr",
    "OpenDowngrade",
    "Close",
    "Setattr",
    "FsInfo",
    "Renew",
    "SetClientID",
    "SetClientIDConfirm",
    "Lock",
    "Lockt",
    "Locku",
    "Access",
    "Getattr",
    "Lookup",
    "LookupRoot",
    "Remove",
    "Rename",
    "Link",
    "Symlink",
    "Create",
    "Pathconf",
    "StatFs",
    "ReadLink",
    "ReadDir",
    "ServerCaps",
    "DelegReturn",
    "GetACL",
    "SetACL",
    "FsLocations",
    "ReleaseLockowner",
    "Secinfo",
    "FsidPresent",
    "ExchangeID",
    "CreateSession",
    "DestroySession",
    "Sequence",
    "GetLeaseTime",
    "ReclaimComplete",
    "LayoutGet",
    "GetDeviceInfo",
    "LayoutCommit",
    "LayoutReturn",
    "SecinfoNoName",
    "TestStateID",
    "FreeStateID",
    "GetDeviceList",
    "BindConnToSession",
    "DestroyClientID",
    "Seek",
    "Allocate",
    "DeAllocate",
    "LayoutStats",
    "Clone",
];

/// What node_exporter exports of `/proc/net/rpc/nfs`.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientStats {
    /// `net`: packets, UDP packets, TCP packets, TCP connections.
    pub network: [u64; 4],
    /// `rpc`: calls, retransmissions, authentication refreshes.
    pub rpc: [u64; 3],
    pub v2: [u64; 18],
    pub v3: [u64; 22],
    pub v4: [u64; 59],
}

impl Default for ClientStats {
    fn default() -> Self {
        ClientStats {
            network: [0; 4],
            rpc: [0; 3],
            v2: [0; 18],
            v3: [0; 22],
            v4: [0; 59],
        }
    }
}

/// The values of a line, all unsigned decimal (procfs' `ParseUint64s`).
pub fn parse_values(file: &'static str, fields: &[&str]) -> Result<Vec<u64>, LinuxError> {
    fields
        .iter()
        .map(|field| {
            super::sysfs::parse_uint(field)
                .ok_or_else(|| LinuxError::parse(file, format!("bad value {field:?}")))
        })
        .collect()
}

/// Copies exactly `N` values, or fails as procfs does on a line of another length.
pub fn exactly<const N: usize>(
    file: &'static str,
    line: &str,
    values: &[u64],
) -> Result<[u64; N], LinuxError> {
    values
        .try_into()
        .map_err(|_| LinuxError::parse(file, format!("invalid {line} line: {values:?}")))
}

/// A `proc<n>` line: its first value counts the rest, which must be at least `N` (all but
/// NFSv4 clients), and the first `N` are kept, missing ones zero.
pub fn procedures<const N: usize>(
    file: &'static str,
    line: &str,
    values: &[u64],
    at_least: usize,
) -> Result<[u64; N], LinuxError> {
    let count = values[0] as usize;
    if values.len() - 1 != count || count < at_least {
        return Err(LinuxError::parse(
            file,
            format!("invalid {line} line: {values:?}"),
        ));
    }
    let mut out = [0; N];
    for (slot, value) in out.iter_mut().zip(&values[1..]) {
        *slot = *value;
    }
    Ok(out)
}

/// procfs' `ParseClientRPCStats`.
pub fn parse_client(text: &str) -> Result<ClientStats, LinuxError> {
    let mut stats = ClientStats::default();
    for line in text.lines() {
        let parts: Vec<&str> = line.split_whitespace().collect();
        if parts.len() < 2 {
            return Err(LinuxError::parse(FILE, format!("invalid line {line:?}")));
        }
        let values = parse_values(FILE, &parts[1..])?;
        match parts[0] {
            "net" => stats.network = exactly(FILE, "net", &values)?,
            "rpc" => stats.rpc = exactly(FILE, "rpc", &values)?,
            "proc2" => stats.v2 = procedures(FILE, "proc2", &values, 18)?,
            "proc3" => stats.v3 = procedures(FILE, "proc3", &values, 22)?,
            // Older kernels count fewer NFSv4 procedures: the rest stay zero.
            "proc4" => stats.v4 = procedures(FILE, "proc4", &values, 0)?,
            other => {
                return Err(LinuxError::parse(FILE, format!("unknown line {other:?}")));
            }
        }
    }
    Ok(stats)
}

pub fn client_families(stats: &ClientStats, out: &mut Vec<MetricFamily>) {
    let [_, udp, tcp, connections] = stats.network;
    let [calls, retransmissions, refreshes] = stats.rpc;
    let mut packets = MetricFamily::counter(
        "node_nfs_packets_total",
        "Total NFSd network packets (sent+received) by protocol type.",
    );
    packets.push(&[("protocol", "udp")], udp as f64);
    packets.push(&[("protocol", "tcp")], tcp as f64);
    out.push(packets);
    for (name, help, value) in [
        (
            "node_nfs_connections_total",
            "Total number of NFSd TCP connections.",
            connections,
        ),
        (
            "node_nfs_rpcs_total",
            "Total number of RPCs performed.",
            calls,
        ),
        (
            "node_nfs_rpc_retransmissions_total",
            "Number of RPC transmissions performed.",
            retransmissions,
        ),
        (
            "node_nfs_rpc_authentication_refreshes_total",
            "Number of RPC authentication refreshes performed.",
            refreshes,
        ),
    ] {
        out.push(MetricFamily::counter(name, help).with(&[], value as f64));
    }
    let mut requests = MetricFamily::counter(
        "node_nfs_requests_total",
        "Number of NFS procedures invoked.",
    );
    let protocols: [(&str, &[&str], &[u64]); 3] = [
        ("2", &V2_METHODS, &stats.v2),
        ("3", &V3_METHODS, &stats.v3),
        ("4", &V4_METHODS, &stats.v4),
    ];
    for (proto, methods, values) in protocols {
        for (method, value) in methods.iter().zip(values) {
            requests.push(&[("proto", proto), ("method", method)], *value as f64);
        }
    }
    out.push(requests);
}

pub fn collect(
    paths: &Paths,
    buf: &mut String,
    out: &mut Vec<MetricFamily>,
) -> Result<(), LinuxError> {
    match super::read_into(&paths.hw.nfs, buf) {
        Err(error) if super::not_found(&error) => {
            return Err(LinuxError::NoData("no /proc/net/rpc/nfs"));
        }
        read => read?,
    }
    client_families(&parse_client(buf)?, out);
    Ok(())
}
