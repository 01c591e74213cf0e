//! The model encoded as a remote-write 1.0 `WriteRequest`.

use crate::model::MetricFamily;
use crate::prometheus::{Label, Sample, TimeSeries, WriteRequest};

/// Builds a `WriteRequest` holding every series of `families` at `timestamp_ms`.
///
/// Each series gets `__name__` and `extra` (series labels win over `extra`), sorted by
/// name as remote-write 1.0 requires.
pub fn to_write_request(
    families: &[MetricFamily],
    extra: &[(&str, &str)],
    timestamp_ms: i64,
) -> WriteRequest {
    let mut timeseries = Vec::with_capacity(crate::model::series_count(families));
    for family in families {
        for series in &family.series {
            let mut labels = Vec::with_capacity(series.labels.len() + extra.len() + 1);
            labels.push(Label {
                name: "__name__".to_owned(),
                value: family.name.clone(),
            });
            for (name, value) in &series.labels {
                labels.push(Label {
                    name: name.clone(),
                    value: value.clone(),
                });
            }
            for (name, value) in extra {
                if series.label(name).is_none() {
                    labels.push(Label {
                        name: (*name).to_owned(),
                        value: (*value).to_owned(),
                    });
                }
            }
            labels.sort_by(|a, b| a.name.cmp(&b.name));
            timeseries.push(TimeSeries {
                labels,
                samples: vec![Sample {
                    value: series.value,
                    timestamp: timestamp_ms,
                }],
            });
        }
    }
    WriteRequest {
        timeseries,
        metadata: Vec::new(),
    }
}

/// The number of samples in a request.
pub fn sample_count(request: &WriteRequest) -> usize {
    request.timeseries.iter().map(|t| t.samples.len()).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds_name_and_extra_labels_sorted() {
        let families = vec![MetricFamily::gauge("m", "h").with(&[("job", "own"), ("b", "2")], 1.0)];
        let req = to_write_request(&families, &[("job", "linux"), ("instance", "h1")], 42);
        let names: Vec<_> = req.timeseries[0]
            .labels
            .iter()
            .map(|l| format!("{}={}", l.name, l.value))
            .collect();
        assert_eq!(names, ["__name__=m", "b=2", "instance=h1", "job=own"]);
        assert_eq!(req.timeseries[0].samples[0].timestamp, 42);
        assert_eq!(sample_count(&req), 1);
    }
}
