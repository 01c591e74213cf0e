//! Reading what a collector produced: the value of one series of `Vec<MetricFamily>`.

use peeper_proto::MetricFamily;
use peeper_proto::model::family;

/// The value of the series of `name` carrying all of `labels` (it may carry more); panics
/// naming the family or the series that is missing.
pub fn value(families: &[MetricFamily], name: &str, labels: &[(&str, &str)]) -> f64 {
    let found = family(families, name).unwrap_or_else(|| {
        panic!(
            "{name} missing: no family of that name among the {} collected",
            families.len()
        )
    });
    found
        .find(labels)
        .unwrap_or_else(|| {
            panic!(
                "{name}{labels:?} missing: none of the family's {} series carries these labels",
                found.series.len()
            )
        })
        .value
}

/// Like [`value`], but `None` when the family or the series is missing (for tests that
/// assert an absence).
pub fn find_value(families: &[MetricFamily], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    family(families, name)?.find(labels).map(|s| s.value)
}
