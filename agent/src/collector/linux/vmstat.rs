//! `node_vmstat_<field>` from `/proc/vmstat` (node_exporter vmstat_linux.go), for the fields
//! its default `--collector.vmstat.fields` selects: `^(oom_kill|pgpg|pswp|pg.*fault).*`.

use super::names::NameCache;
use super::{LinuxError, Paths};
use peeper_proto::MetricFamily;

/// Whether node_exporter's default field pattern selects `field`.
pub fn selected(field: &str) -> bool {
    field.starts_with("oom_kill")
        || field.starts_with("pgpg")
        || field.starts_with("pswp")
        || field
            .strip_prefix("pg")
            .is_some_and(|rest| rest.contains("fault"))
}

/// The selected `field value` lines. A line without a value or with a bad one fails, as
/// node_exporter fails on it (it checks only the lines it exports, like this).
pub fn parse_vmstat(text: &str) -> Result<Vec<(&str, f64)>, LinuxError> {
    let mut fields = Vec::with_capacity(16);
    for line in text.lines() {
        let mut parts = line.split_ascii_whitespace();
        let Some(field) = parts.next() else {
            continue;
        };
        if !selected(field) {
            continue;
        }
        let value = parts
            .next()
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| LinuxError::parse("/proc/vmstat", format!("bad line {line:?}")))?;
        fields.push((field, value));
    }
    Ok(fields)
}

pub fn families(fields: &[(&str, f64)], names: &mut NameCache, out: &mut Vec<MetricFamily>) {
    names.rewind();
    for &(field, value) in fields {
        let (name, help) = names.get("", field, || {
            (
                format!("node_vmstat_{field}"),
                format!("/proc/vmstat information field {field}."),
            )
        });
        out.push(MetricFamily::untyped(name, help).with(&[], value));
    }
}

pub fn collect(
    paths: &Paths,
    buf: &mut String,
    names: &mut NameCache,
    out: &mut Vec<MetricFamily>,
) -> Result<(), LinuxError> {
    super::read_into(&paths.vmstat, buf)?;
    families(&parse_vmstat(buf)?, names, out);
    Ok(())
}
