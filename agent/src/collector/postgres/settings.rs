//! `pg_settings_*`: every boolean and numeric run-time parameter, as postgres_exporter 0.11
//! reports them (`cmd/postgres_exporter/pg_setting.go`): the name with `.` as `_`, times in
//! seconds and sizes in bytes with the unit appended to the name (`_seconds`, `_bytes`), the
//! parameter's short description as help, `-1` (the "disabled" marker) left as it is.

use super::queries::Row;
use peeper_proto::MetricFamily;

/// The statement of [`settings`] (0.11's, which leaves out `sync_commit_cancel_wait`).
pub const SETTINGS_SQL: &str = "SELECT name, setting, COALESCE(unit, ''), short_desc, vartype \
     FROM pg_settings WHERE vartype IN ('bool', 'integer', 'real') \
     AND name != 'sync_commit_cancel_wait'";

/// A unit of `pg_settings.unit`: the suffix of the metric name and the factor to it.
/// Milliseconds are divided by 1000 rather than multiplied by 0.001, as 0.11 does, so the
/// values are the same to the last bit.
fn convert(unit: &str, value: f64) -> Option<(&'static str, f64)> {
    let kib = 1024.0;
    let factor = match unit {
        "" => ("", 1.0),
        "ms" => return Some(("seconds", value / 1000.0)),
        "s" => ("seconds", 1.0),
        "min" => ("seconds", 60.0),
        "h" => ("seconds", 3600.0),
        "d" => ("seconds", 86400.0),
        "B" => ("bytes", 1.0),
        "kB" => ("bytes", kib),
        "MB" => ("bytes", kib * kib),
        "GB" => ("bytes", kib * kib * kib),
        "TB" => ("bytes", kib * kib * kib * kib),
        "8kB" => ("bytes", 8.0 * kib),
        "16kB" => ("bytes", 16.0 * kib),
        "32kB" => ("bytes", 32.0 * kib),
        "16MB" => ("bytes", 16.0 * kib * kib),
        "32MB" => ("bytes", 32.0 * kib * kib),
        "64MB" => ("bytes", 64.0 * kib * kib),
        _ => return None,
    };
    Some((factor.0, value * factor.1))
}

/// One family per row of [`SETTINGS_SQL`]: (name, setting, unit, short_desc, vartype).
/// A unit 0.11 does not know (it would stop the exporter) leaves that parameter out.
pub fn settings<R: Row>(rows: &[R], out: &mut Vec<MetricFamily>) {
    for row in rows {
        let (Some(name), Some(setting), Some(unit), Some(description), Some(vartype)) = (
            row.text(0),
            row.text(1),
            row.text(2),
            row.text(3),
            row.text(4),
        ) else {
            continue;
        };
        let name = name.replace('.', "_");
        let family = if vartype == "bool" {
            let on = if setting == "on" { 1.0 } else { 0.0 };
            MetricFamily::gauge(format!("pg_settings_{name}"), description).with(&[], on)
        } else {
            let Ok(raw) = setting.parse::<f64>() else {
                continue;
            };
            let Some((suffix, converted)) = convert(unit, raw) else {
                continue;
            };
            let value = if raw == -1.0 { raw } else { converted };
            if suffix.is_empty() {
                MetricFamily::gauge(format!("pg_settings_{name}"), description).with(&[], value)
            } else {
                MetricFamily::gauge(
                    format!("pg_settings_{name}_{suffix}"),
                    format!("{description} [Units converted to {suffix}.]"),
                )
                .with(&[], value)
            }
        };
        out.push(family);
    }
}
