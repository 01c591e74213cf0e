//! `node_netstat_<Protocol>_<Name>` from `/proc/net/netstat`, `/proc/net/snmp` and
//! `/proc/net/snmp6` (node_exporter netstat_linux.go), for the fields its default
//! `--collector.netstat.fields` selects (see [`selected`]). All are untyped, as there.

use super::names::NameCache;
use super::{LinuxError, Paths};
use peeper_proto::MetricFamily;

/// One statistic: `TcpExt` / `ListenDrops` / 3.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stat<'a> {
    pub protocol: &'a str,
    pub name: &'a str,
    pub value: f64,
}

/// node_exporter's default pattern over `<protocol>_<name>`, written out:
/// `^(.*_(InErrors|InErrs)|Ip_Forwarding|Ip(6|Ext)_(InOctets|OutOctets)|Icmp6?_(InMsgs|OutMsgs)|
/// TcpExt_(Listen.*|Syncookies.*|TCPSynRetrans|TCPTimeouts)|Tcp_(ActiveOpens|InSegs|OutSegs|
/// OutRsts|PassiveOpens|RetransSegs|CurrEstab)|Udp6?_(InDatagrams|OutDatagrams|NoPorts|
/// RcvbufErrors|SndbufErrors))$`. A regex engine for one fixed pattern would cost more.
pub fn selected(protocol: &str, name: &str) -> bool {
    let error_count = |suffix: &str| {
        name == suffix
            || name
                .strip_suffix(suffix)
                .is_some_and(|rest| rest.ends_with('_'))
    };
    if error_count("InErrors") || error_count("InErrs") {
        return true;
    }
    match protocol {
        "Ip" => name == "Forwarding",
        "Ip6" | "IpExt" => matches!(name, "InOctets" | "OutOctets"),
        "Icmp" | "Icmp6" => matches!(name, "InMsgs" | "OutMsgs"),
        "TcpExt" => {
            name.starts_with("Listen")
                || name.starts_with("Syncookies")
                || matches!(name, "TCPSynRetrans" | "TCPTimeouts")
        }
        "Tcp" => matches!(
            name,
            "ActiveOpens"
                | "InSegs"
                | "OutSegs"
                | "OutRsts"
                | "PassiveOpens"
                | "RetransSegs"
                | "CurrEstab"
        ),
        "Udp" | "Udp6" => matches!(
            name,
            "InDatagrams" | "OutDatagrams" | "NoPorts" | "RcvbufErrors" | "SndbufErrors"
        ),
        _ => false,
    }
}

fn number(file: &'static str, protocol: &str, name: &str, value: &str) -> Result<f64, LinuxError> {
    value.parse().map_err(|_| {
        LinuxError::parse(file, format!("invalid value {value:?} of {protocol}{name}"))
    })
}

/// `/proc/net/netstat` and `/proc/net/snmp`: pairs of lines, `Tcp: ActiveOpens ...` then
/// `Tcp: 88818 ...`, split on single spaces as node_exporter splits them. Appends the
/// selected statistics to `stats`.
pub fn parse_pairs<'a>(
    text: &'a str,
    file: &'static str,
    stats: &mut Vec<Stat<'a>>,
) -> Result<(), LinuxError> {
    let mut lines = text.lines();
    while let Some(names) = lines.next() {
        let values = lines.next().unwrap_or("");
        let mut names = names.split(' ');
        let mut values = values.split(' ');
        let head = names.next().unwrap_or("");
        values.next();
        let protocol = head.strip_suffix(':').unwrap_or(head);
        if names.clone().count() != values.clone().count() {
            return Err(LinuxError::parse(
                file,
                format!("field count mismatch for {protocol}"),
            ));
        }
        for (name, value) in names.zip(values) {
            if selected(protocol, name) {
                let value = number(file, protocol, name, value)?;
                stats.push(Stat {
                    protocol,
                    name,
                    value,
                });
            }
        }
    }
    Ok(())
}

/// `/proc/net/snmp6`: one `Icmp6InMsgs  2` a line; the protocol is the name up to and with
/// its first `6`, and a name without a `6` is skipped, as node_exporter does.
pub fn parse_snmp6<'a>(text: &'a str, stats: &mut Vec<Stat<'a>>) -> Result<(), LinuxError> {
    for line in text.lines() {
        let mut fields = line.split_ascii_whitespace();
        let (Some(key), Some(value)) = (fields.next(), fields.next()) else {
            continue;
        };
        let Some(six) = key.find('6') else {
            continue;
        };
        let (protocol, name) = key.split_at(six + 1);
        if selected(protocol, name) {
            let value = number("/proc/net/snmp6", protocol, name, value)?;
            stats.push(Stat {
                protocol,
                name,
                value,
            });
        }
    }
    Ok(())
}

pub fn families(stats: &[Stat<'_>], names: &mut NameCache, out: &mut Vec<MetricFamily>) {
    for stat in stats {
        let (name, help) = names.get(stat.protocol, stat.name, || {
            (
                format!("node_netstat_{}_{}", stat.protocol, stat.name),
                format!("Statistic {}{}.", stat.protocol, stat.name),
            )
        });
        out.push(MetricFamily::untyped(name, help).with(&[], stat.value));
    }
}

/// Reads the three files one after the other into `buf`. Any failure drops what the area
/// had added, as node_exporter exports nothing when one file fails; a missing `snmp6` (IPv6
/// disabled) is not a failure.
pub fn collect(
    paths: &Paths,
    buf: &mut String,
    names: &mut NameCache,
    out: &mut Vec<MetricFamily>,
) -> Result<(), LinuxError> {
    super::all_or_nothing(out, |out| collect_files(paths, buf, names, out))
}

fn collect_files(
    paths: &Paths,
    buf: &mut String,
    names: &mut NameCache,
    out: &mut Vec<MetricFamily>,
) -> Result<(), LinuxError> {
    names.rewind();
    for (path, file) in [
        (&paths.net_netstat, "/proc/net/netstat"),
        (&paths.net_snmp, "/proc/net/snmp"),
    ] {
        super::read_into(path, buf)?;
        let mut stats = Vec::with_capacity(32);
        parse_pairs(buf, file, &mut stats)?;
        families(&stats, names, out);
    }
    match super::read_into(&paths.net_snmp6, buf) {
        Err(error) if super::not_found(&error) => return Ok(()),
        read => read?,
    }
    let mut stats = Vec::with_capacity(16);
    parse_snmp6(buf, &mut stats)?;
    families(&stats, names, out);
    Ok(())
}
