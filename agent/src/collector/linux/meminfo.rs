//! `node_memory_*` from `/proc/meminfo`, named as node_exporter's meminfo collector does:
//! `Active(anon):  1520 kB` becomes `node_memory_Active_anon_bytes` = 1520 × 1024, and a
//! field without a unit (`HugePages_Total`) keeps its name without `_bytes`.

use super::LinuxError;
use peeper_proto::MetricFamily;

/// One line of `/proc/meminfo`: its raw key, its value (bytes when it had a `kB` unit).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MemField<'a> {
    pub key: &'a str,
    pub value: f64,
    pub bytes: bool,
}

pub fn parse_meminfo(text: &str) -> Result<Vec<MemField<'_>>, LinuxError> {
    let mut fields = Vec::with_capacity(64);
    for line in text.lines() {
        let mut parts = line.split_ascii_whitespace();
        let Some(key) = parts.next() else {
            continue; // empty lines occur on some old kernels
        };
        let key = key.strip_suffix(':').unwrap_or(key);
        let Some(value) = parts.next() else {
            return Err(LinuxError::parse(
                "/proc/meminfo",
                format!("no value in {line:?}"),
            ));
        };
        let value: f64 = value
            .parse()
            .map_err(|_| LinuxError::parse("/proc/meminfo", format!("bad value in {line:?}")))?;
        let bytes = match (parts.next(), parts.next()) {
            (None, _) => false,
            (Some(_), None) => true,
            _ => {
                return Err(LinuxError::parse(
                    "/proc/meminfo",
                    format!("invalid line {line:?}"),
                ));
            }
        };
        fields.push(MemField {
            key,
            value: if bytes { value * 1024.0 } else { value },
            bytes,
        });
    }
    if fields.is_empty() {
        return Err(LinuxError::parse("/proc/meminfo", "no fields"));
    }
    Ok(fields)
}

/// The metric key of a field: `Active(anon)` → `Active_anon`, plus `_bytes` for kB values.
pub fn metric_key(key: &str, bytes: bool) -> String {
    let mut name = String::with_capacity(key.len() + 6);
    match (key.find('('), key.rfind(')')) {
        (Some(open), Some(close)) if open < close => {
            name.push_str(&key[..open]);
            name.push('_');
            name.push_str(&key[open + 1..close]);
            name.push_str(&key[close + 1..]);
        }
        _ => name.push_str(key),
    }
    if bytes {
        name.push_str("_bytes");
    }
    name
}

/// Metric names and help texts by field, built once instead of every cycle.
#[derive(Debug, Default)]
pub struct NameCache {
    entries: Vec<CachedName>,
}

#[derive(Debug)]
struct CachedName {
    key: String,
    bytes: bool,
    name: String,
    help: String,
}

impl NameCache {
    fn lookup(&mut self, index: usize, field: &MemField<'_>) -> &CachedName {
        let hit = |entry: &CachedName| entry.key == field.key && entry.bytes == field.bytes;
        // /proc/meminfo keeps its order, so the entry is usually at the same index.
        let position = match self.entries.get(index) {
            Some(entry) if hit(entry) => Some(index),
            _ => self.entries.iter().position(hit),
        };
        let position = position.unwrap_or_else(|| {
            let key = metric_key(field.key, field.bytes);
            self.entries.push(CachedName {
                key: field.key.to_owned(),
                bytes: field.bytes,
                name: format!("node_memory_{key}"),
                help: format!("Memory information field {key}."),
            });
            self.entries.len() - 1
        });
        &self.entries[position]
    }

    pub fn families(&mut self, fields: &[MemField<'_>], out: &mut Vec<MetricFamily>) {
        for (index, field) in fields.iter().enumerate() {
            let entry = self.lookup(index, field);
            // node_exporter types a field as a counter only when its name ends in "_total".
            let family = if entry.name.ends_with("_total") {
                MetricFamily::counter(entry.name.as_str(), entry.help.as_str())
            } else {
                MetricFamily::gauge(entry.name.as_str(), entry.help.as_str())
            };
            out.push(family.with(&[], field.value));
        }
    }
}
