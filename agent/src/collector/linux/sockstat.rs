//! `node_sockstat_*` from `/proc/net/sockstat` and `/proc/net/sockstat6` (node_exporter
//! sockstat_linux.go): `node_sockstat_sockets_used`, then `node_sockstat_<PROTO>_<key>` for
//! every key a protocol's line has, plus `_mem_bytes` (pages × page size) where it has `mem`.

use super::names::NameCache;
use super::{LinuxError, Paths};
use peeper_proto::MetricFamily;

/// One protocol line: `TCP: inuse 30 orphan 0 tw 41 alloc 30 mem 0`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Protocol<'a> {
    pub name: &'a str,
    /// Always exported, 0 when the line lacks it.
    pub inuse: i64,
    pub orphan: Option<i64>,
    pub tw: Option<i64>,
    pub alloc: Option<i64>,
    pub mem: Option<i64>,
    pub memory: Option<i64>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sockstat<'a> {
    /// `sockets: used N`, only in the IPv4 file.
    pub used: Option<i64>,
    pub protocols: Vec<Protocol<'a>>,
}

pub fn parse_sockstat<'a>(text: &'a str, file: &'static str) -> Result<Sockstat<'a>, LinuxError> {
    let mut stat = Sockstat::default();
    for line in text.lines() {
        // Split on single spaces, as procfs does: the kernel writes exactly one.
        let mut fields = line.split(' ');
        let head = fields.next().unwrap_or("");
        let count = fields.clone().count();
        if count < 2 || count % 2 != 0 {
            return Err(LinuxError::parse(file, format!("malformed line {line:?}")));
        }
        let name = head.strip_suffix(':').unwrap_or(head);
        let mut protocol = Protocol {
            name,
            ..Default::default()
        };
        let mut used = 0;
        while let (Some(key), Some(value)) = (fields.next(), fields.next()) {
            let value: i64 = value
                .parse()
                .map_err(|_| LinuxError::parse(file, format!("bad value in {line:?}")))?;
            match key {
                "used" => used = value,
                "inuse" => protocol.inuse = value,
                "orphan" => protocol.orphan = Some(value),
                "tw" => protocol.tw = Some(value),
                "alloc" => protocol.alloc = Some(value),
                "mem" => protocol.mem = Some(value),
                "memory" => protocol.memory = Some(value),
                _ => {}
            }
        }
        if name == "sockets" {
            stat.used = Some(used);
        } else {
            stat.protocols.push(protocol);
        }
    }
    Ok(stat)
}

/// Appends the families of one file; `used` is exported for IPv4 only, as node_exporter does.
pub fn families(
    stat: &Sockstat<'_>,
    ipv6: bool,
    page_size: i64,
    names: &mut NameCache,
    out: &mut Vec<MetricFamily>,
) {
    if let (false, Some(used)) = (ipv6, stat.used) {
        out.push(
            MetricFamily::gauge(
                "node_sockstat_sockets_used",
                "Number of IPv4 sockets in use.",
            )
            .with(&[], used as f64),
        );
    }
    for protocol in &stat.protocols {
        let pairs = [
            ("inuse", Some(protocol.inuse)),
            ("orphan", protocol.orphan),
            ("tw", protocol.tw),
            ("alloc", protocol.alloc),
            ("mem", protocol.mem),
            ("memory", protocol.memory),
            ("mem_bytes", protocol.mem.map(|pages| pages * page_size)),
        ];
        for (key, value) in pairs {
            let Some(value) = value else { continue };
            let (name, help) = names.get(protocol.name, key, || {
                (
                    format!("node_sockstat_{}_{key}", protocol.name),
                    format!("Number of {} sockets in state {key}.", protocol.name),
                )
            });
            out.push(MetricFamily::gauge(name, help).with(&[], value as f64));
        }
    }
}

/// A missing file (IPv4 or IPv6 disabled) is skipped, not a failure; a file that fails
/// otherwise drops both, as node_exporter exports nothing then.
pub fn collect(
    paths: &Paths,
    buf: &mut String,
    names: &mut NameCache,
    out: &mut Vec<MetricFamily>,
) -> Result<(), LinuxError> {
    super::all_or_nothing(out, |out| read_both(paths, buf, names, out))
}

fn read_both(
    paths: &Paths,
    buf: &mut String,
    names: &mut NameCache,
    out: &mut Vec<MetricFamily>,
) -> Result<(), LinuxError> {
    names.rewind();
    let page_size = rustix::param::page_size() as i64;
    for (path, file, ipv6) in [
        (&paths.net_sockstat, "/proc/net/sockstat", false),
        (&paths.net_sockstat6, "/proc/net/sockstat6", true),
    ] {
        match super::read_into(path, buf) {
            Err(error) if super::not_found(&error) => continue,
            read => read?,
        }
        let stat = parse_sockstat(buf, file)?;
        families(&stat, ipv6, page_size, names, out);
    }
    Ok(())
}
