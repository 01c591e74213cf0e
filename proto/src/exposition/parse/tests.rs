//! The parser against node_exporter's textfile examples and against each refusal of
//! Prometheus' own parser.

use super::*;

fn one_error(text: &str) -> TextError {
    parse_text(text).expect_err(text)
}

#[test]
fn reads_help_type_labels_and_values() {
    let text = "# HELP backup_last_success_timestamp_seconds When the backup last succeeded.\n\
                # TYPE backup_last_success_timestamp_seconds gauge\n\
                backup_last_success_timestamp_seconds{kind=\"full\",host=\"db-1\"} 1.7e9\n\
                \n\
                # a plain comment\n\
                  no_help_metric 3\n\
                special{a=\"\"} NaN\n\
                special{a=\"up\"} +Inf\n\
                special{a=\"down\"} -Inf\n";
    let families = parse_text(text).unwrap();
    assert_eq!(families.len(), 3);
    let backup = &families[0];
    assert_eq!(backup.name, "backup_last_success_timestamp_seconds");
    assert_eq!(
        backup.help.as_deref(),
        Some("When the backup last succeeded.")
    );
    assert_eq!(backup.kind, TextType::Gauge);
    assert_eq!(
        backup.samples[0].labels,
        [
            ("kind".to_owned(), "full".to_owned()),
            ("host".to_owned(), "db-1".to_owned())
        ]
    );
    assert_eq!(backup.samples[0].value, 1.7e9);
    assert_eq!(families[1].help, None);
    assert_eq!(families[1].kind, TextType::Untyped);
    let special = &families[2].samples;
    assert!(special[0].value.is_nan());
    assert_eq!(special[0].label("a"), Some(""));
    assert_eq!(special[1].value, f64::INFINITY);
    assert_eq!(special[2].value, f64::NEG_INFINITY);
}

#[test]
fn histograms_and_summaries_group_their_samples() {
    let text = "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 3\nh_count 2\n\
                # TYPE s summary\ns{quantile=\"0.5\"} 1\ns_sum 2\ns_count 3\n\
                s_bucket 4\n";
    let families = parse_text(text).unwrap();
    let names: Vec<_> = families.iter().map(|f| f.name.as_str()).collect();
    // A summary has no buckets: s_bucket is a family of its own.
    assert_eq!(names, ["h", "s", "s_bucket"]);
    let samples: Vec<_> = families[0]
        .samples
        .iter()
        .map(|s| s.name.as_str())
        .collect();
    assert_eq!(samples, ["h_bucket", "h_bucket", "h_sum", "h_count"]);
    assert_eq!(families[1].kind, TextType::Summary);
    assert_eq!(families[1].samples.len(), 3);
    assert_eq!(families[2].kind, TextType::Untyped);
}

#[test]
fn escapes_blanks_and_timestamps() {
    let text = "# HELP m A \\\\ and a\\nnewline\nm { path = \"C:\\\\x\\\"y\\\"\\nz\" , } 1 1700000000000\n";
    let families = parse_text(text).unwrap();
    assert_eq!(families[0].help.as_deref(), Some("A \\ and a\nnewline"));
    let sample = &families[0].samples[0];
    assert_eq!(sample.label("path"), Some("C:\\x\"y\"\nz"));
    assert_eq!(sample.timestamp_ms, Some(1_700_000_000_000));
}

#[test]
fn a_last_line_without_newline_counts() {
    assert_eq!(parse_text("a 1\nb 2").unwrap().len(), 2);
    assert_eq!(parse_text("").unwrap(), []);
}

#[test]
fn refuses_what_prometheus_refuses_naming_the_line() {
    let cases = [
        ("broken{ 1\n", 1, "invalid label name"),
        ("ok 1\n1bad 2\n", 2, "does not start with a metric name"),
        ("m{a=\"x\",a=\"y\"} 1\n", 1, "appears twice"),
        ("m{__name__=\"x\"} 1\n", 1, "invalid label name"),
        ("m{a=x} 1\n", 1, "needs =\"value\""),
        ("m{a=\"x\" b=\"y\"} 1\n", 1, "expected , or }"),
        ("m{a=\"x\\t\"} 1\n", 1, "invalid escape"),
        ("m{a=\"x} 1\n", 1, "no closing quote"),
        ("m one\n", 1, "not a number"),
        ("m\n", 1, "not a number"),
        ("m 1 12.5\n", 1, "not a timestamp"),
        ("m 1 12 extra\n", 1, "after the timestamp"),
        ("m 1\r\n", 1, "not a number"),
        ("# HELP m a\n# HELP m b\n", 2, "second HELP"),
        ("# HELP m a\\t\n", 1, "invalid escape"),
        ("# TYPE m gauge\n# TYPE m counter\n", 2, "second TYPE"),
        ("m 1\n# TYPE m gauge\n", 2, "after its samples"),
        ("# TYPE m meter\n", 1, "unknown type"),
        ("# TYPE 9m gauge\n", 1, "not a metric name"),
        ("# TYPE h histogram\nh_bucket 1\n", 2, "label le is missing"),
        (
            "# TYPE h histogram\nh_bucket{le=\"x\"} 1\n",
            2,
            "le must be a number",
        ),
        ("# TYPE h histogram\nh 1\n", 2, "without _bucket"),
        ("# TYPE s summary\ns 1\n", 2, "quantile is missing"),
        ("m{a=\"1\"} 1\nother 2\nm{a=\"1\"} 3\n", 3, "appears twice"),
    ];
    for (text, line, message) in cases {
        let error = one_error(text);
        assert_eq!(error.line, line, "{text:?}: {error}");
        assert!(error.message.contains(message), "{text:?}: {error}");
    }
}

#[test]
fn same_labels_in_another_order_are_the_same_series() {
    let error = one_error("m{a=\"1\",b=\"2\"} 1\nm{b=\"2\",a=\"1\"} 1\n");
    assert_eq!(error.line, 2);
}

#[test]
fn reads_what_encode_text_writes() {
    let families = vec![
        crate::MetricFamily::gauge("node_load1", "1m load\naverage.").with(&[], 0.5),
        crate::MetricFamily::counter("x_total", "h").with(&[("a", "q\"\\\n")], 3.0),
    ];
    let text = crate::exposition::encode_text(&families, &[("job", "linux")]);
    let parsed = parse_text(&text).unwrap();
    assert_eq!(parsed[0].help.as_deref(), Some("1m load\naverage."));
    assert_eq!(parsed[0].samples[0].value, 0.5);
    assert_eq!(parsed[1].kind, TextType::Counter);
    assert_eq!(parsed[1].samples[0].label("a"), Some("q\"\\\n"));
    assert_eq!(parsed[1].samples[0].label("job"), Some("linux"));
}
