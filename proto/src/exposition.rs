//! Prometheus text exposition format 0.0.4: written as `peeper-agent --once --print` shows
//! it ([`encode_text`]) and read as exporters and `*.prom` files hold it ([`parse_text`]).

mod parse;

pub use parse::{
    TextError, TextFamily, TextSample, TextType, is_label_name, is_metric_name, parse_float,
    parse_text,
};

use crate::model::MetricFamily;
use std::fmt::Write;

/// Writes `families` in the text exposition format, families in the given order.
///
/// Each series gets `extra` after its own labels, except a label it carries itself (as
/// [`crate::remote_write::to_write_request`] does).
pub fn encode_text(families: &[MetricFamily], extra: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(families.len() * 256);
    for family in families {
        if family.series.is_empty() {
            continue;
        }
        let _ = writeln!(out, "# HELP {} {}", family.name, escape_help(&family.help));
        let _ = writeln!(out, "# TYPE {} {}", family.name, family.kind.as_str());
        for series in &family.series {
            out.push_str(&family.name);
            let own = series.labels.iter().map(|(n, v)| (n.as_str(), v.as_str()));
            let added = extra
                .iter()
                .filter(|(name, _)| series.label(name).is_none())
                .copied();
            let mut labels = own.chain(added).peekable();
            if labels.peek().is_some() {
                out.push('{');
                for (i, (name, value)) in labels.enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(name);
                    out.push_str("=\"");
                    escape_label_value(&mut out, value);
                    out.push('"');
                }
                out.push('}');
            }
            out.push(' ');
            write_value(&mut out, series.value);
            out.push('\n');
        }
    }
    out
}

fn escape_help(help: &str) -> String {
    help.replace('\\', "\\\\").replace('\n', "\\n")
}

fn escape_label_value(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

/// Formats a value the way Prometheus' Go client does: integers without a fraction, the
/// shortest round-trip form otherwise, `+Inf`/`-Inf`/`NaN` for the special values.
pub fn write_value(out: &mut String, value: f64) {
    if value.is_nan() {
        out.push_str("NaN");
    } else if value.is_infinite() {
        out.push_str(if value > 0.0 { "+Inf" } else { "-Inf" });
    } else if value.fract() == 0.0 && value.abs() < 1e15 {
        let _ = write!(out, "{}", value as i64);
    } else {
        let _ = write!(out, "{value:e}");
        // Rust's `{:e}` gives "1.5e0"; Go gives "1.5"; both parse. Prefer plain when short.
        let plain = format!("{value}");
        if plain.len() <= 20 {
            let start = out.rfind(' ').map_or(0, |i| i + 1);
            out.truncate(start);
            out.push_str(&plain);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_help_type_and_escaped_labels() {
        let families = vec![
            MetricFamily::gauge("node_load1", "1m load average.").with(&[], 0.5),
            MetricFamily::counter("x_total", "Line\nbreak").with(&[("a", "q\"\\\n")], 3.0),
        ];
        let text = encode_text(&families, &[]);
        assert_eq!(
            text,
            "# HELP node_load1 1m load average.\n# TYPE node_load1 gauge\nnode_load1 0.5\n\
             # HELP x_total Line\\nbreak\n# TYPE x_total counter\nx_total{a=\"q\\\"\\\\\\n\"} 3\n"
        );
    }

    #[test]
    fn adds_extra_labels_after_the_own_ones_unless_carried() {
        let families = vec![
            MetricFamily::gauge("a", "h").with(&[], 1.0),
            MetricFamily::gauge("b", "h").with(&[("job", "own"), ("x", "1")], 2.0),
        ];
        let text = encode_text(&families, &[("job", "linux"), ("instance", "h1")]);
        assert_eq!(
            text,
            "# HELP a h\n# TYPE a gauge\na{job=\"linux\",instance=\"h1\"} 1\n\
             # HELP b h\n# TYPE b gauge\nb{job=\"own\",x=\"1\",instance=\"h1\"} 2\n"
        );
    }

    #[test]
    fn formats_special_and_large_values() {
        let mut s = String::from("m ");
        write_value(&mut s, f64::INFINITY);
        assert_eq!(s, "m +Inf");
        let mut s = String::from("m ");
        write_value(&mut s, 1.0e300);
        assert_eq!(s, "m 1e300");
        let mut s = String::from("m ");
        write_value(&mut s, 16_777_216.0);
        assert_eq!(s, "m 16777216");
    }
}
