//! A zero-allocation validator of decoded remote-write 1.0 bodies: it walks the protobuf
//! wire format of a `WriteRequest` over `&[u8]`, counts series and samples, enforces the
//! per-request [`Limits`] and notes which tenant labels clients sent, without building a
//! single `String`. This is what lets the server forward the client's original bytes.
//! [`scan_into`] also notes where the series of a few watched metric names are, so
//! liveness tracking can decode just those, and hashes each series' labels for the
//! per-tenant series limit.
//!
//! Wire layout (prompb): `WriteRequest { 1: repeated TimeSeries, 3: repeated Metadata }`,
//! `TimeSeries { 1: repeated Label, 2: repeated Sample, 3: exemplars, 4: histograms }`,
//! `Label { 1: string name, 2: string value }`, `Sample { 1: double value, 2: int64 ts }`.
//! Unknown fields of any wire type are skipped as protobuf requires.

mod names;
mod wire;

use crate::config::Limits;
use names::{LABEL_REST, LABEL_START, LabelHash, METRIC_REST, METRIC_START, is_name};
use std::ops::Range;
use wire::{Reader, WIRE_FIXED64, WIRE_LEN, WIRE_VARINT};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScanError {
    #[error("body is not a valid remote-write WriteRequest: {what} at byte {offset}")]
    Malformed { what: &'static str, offset: usize },
    #[error(
        "request has more than {limit} series, over the limit (limits.max_series_per_request); \
         send smaller batches"
    )]
    TooManySeries { limit: usize },
    #[error(
        "series {series}{metric} has more than {limit} labels, over the limit \
         (limits.max_labels_per_series)"
    )]
    TooManyLabels {
        series: usize,
        metric: String,
        limit: usize,
    },
    #[error(
        "series {series}{metric} has a label name of {len} bytes, over the limit of {limit} \
         (limits.max_label_name_len)"
    )]
    LabelNameTooLong {
        series: usize,
        metric: String,
        len: usize,
        limit: usize,
    },
    #[error(
        "series {series}{metric} has a label value of {len} bytes, over the limit of {limit} \
         (limits.max_label_value_len)"
    )]
    LabelValueTooLong {
        series: usize,
        metric: String,
        len: usize,
        limit: usize,
    },
    #[error("series {series}{metric} has an empty label name")]
    EmptyLabelName { series: usize, metric: String },
    #[error(
        "series {series}{metric} has the label name {name:?}, outside the Prometheus data model: \
         a label name is a letter or _ followed by letters, digits or _"
    )]
    InvalidLabelName {
        series: usize,
        metric: String,
        name: String,
    },
    #[error(
        "series {series}{metric} has the label {name:?}: the tenant labels (tenant, \
         vm_account_id, vm_project_id) are the server's, in any spelling"
    )]
    ReservedLabel {
        series: usize,
        metric: String,
        name: String,
    },
    #[error(
        "series {series} has no metric name (__name__): every series needs one, a letter, _ or : \
         followed by letters, digits, _ or :"
    )]
    MissingMetricName { series: usize },
    #[error(
        "series {series} has the metric name {name:?}, outside the Prometheus data model: a \
         letter, _ or : followed by letters, digits, _ or :"
    )]
    InvalidMetricName { series: usize, name: String },
    #[error("series {series}{metric} has a label {what} that is not valid UTF-8")]
    InvalidUtf8 {
        series: usize,
        metric: String,
        what: &'static str,
    },
    #[error(
        "series {series}{metric} has a sample at {timestamp_ms} ms, more than {limit_secs} s \
         ahead of the server's clock (limits.max_future_secs)"
    )]
    SampleInFuture {
        series: usize,
        metric: String,
        timestamp_ms: i64,
        limit_secs: u64,
    },
}

impl ScanError {
    /// The `reason` label of the rejection counter for this error.
    pub fn reason(&self) -> &'static str {
        match self {
            ScanError::Malformed { .. } => "malformed",
            ScanError::TooManySeries { .. } => "too_many_series",
            ScanError::TooManyLabels { .. } => "too_many_labels",
            ScanError::LabelNameTooLong { .. } => "label_name_too_long",
            ScanError::LabelValueTooLong { .. } => "label_value_too_long",
            ScanError::EmptyLabelName { .. } => "empty_label_name",
            ScanError::InvalidLabelName { .. } | ScanError::ReservedLabel { .. } => {
                "invalid_label_name"
            }
            ScanError::MissingMetricName { .. } | ScanError::InvalidMetricName { .. } => {
                "invalid_metric_name"
            }
            ScanError::InvalidUtf8 { .. } => "invalid_utf8",
            ScanError::SampleInFuture { .. } => "sample_in_future",
        }
    }
}

/// What a valid body holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    pub series: usize,
    pub samples: usize,
    /// Some series carries a `tenant` label (VictoriaMetrics' `extra_label` overrides it).
    pub tenant_label: bool,
    /// Some series carries `vm_account_id` or `vm_project_id`: the body must be rewritten.
    pub vm_tenancy_label: bool,
}

/// The validation context of one request.
struct Scan<'l> {
    limits: &'l Limits,
    /// Metric names whose series' byte ranges go to `out.watched`.
    watch: &'l [&'l str],
    out: &'l mut ScanOutput,
    /// Samples after this (ms since the epoch) are refused; `None` turns the check off.
    max_timestamp_ms: Option<i64>,
    summary: Summary,
}

/// What [`scan_into`] collects besides the [`Summary`].
#[derive(Debug, Default)]
pub struct ScanOutput {
    /// Byte ranges (within the body) of the series whose `__name__` is watched.
    pub watched: Vec<Range<usize>>,
    /// A 64-bit hash of each series' labels, when asked for (the per-tenant series limit).
    pub hashes: Option<Vec<u64>>,
}

/// Validates a decoded `WriteRequest`; `now_ms` is the server's clock for the future check.
pub fn scan(body: &[u8], limits: &Limits, now_ms: i64) -> Result<Summary, ScanError> {
    scan_into(body, limits, now_ms, &[], &mut ScanOutput::default())
}

/// [`scan`], also noting in `out` the byte range of every `TimeSeries` whose `__name__` is
/// one of `watch`, and each series' label hash if `out.hashes` is `Some`. Nothing is
/// allocated for a series unless it is watched.
pub fn scan_into(
    body: &[u8],
    limits: &Limits,
    now_ms: i64,
    watch: &[&str],
    out: &mut ScanOutput,
) -> Result<Summary, ScanError> {
    let max_timestamp_ms = (limits.max_future_secs > 0).then(|| {
        let ahead = i64::try_from(limits.max_future_secs.saturating_mul(1000)).unwrap_or(i64::MAX);
        now_ms.saturating_add(ahead)
    });
    let mut scan = Scan {
        limits,
        watch,
        out,
        max_timestamp_ms,
        summary: Summary::default(),
    };
    let mut r = Reader::new(body, 0);
    let mut previous = None;
    while !r.done() {
        match r.tag()? {
            (1, WIRE_LEN) => {
                let series = r.len_delimited()?;
                if scan.summary.series == limits.max_series_per_request {
                    return Err(ScanError::TooManySeries {
                        limit: limits.max_series_per_request,
                    });
                }
                scan.series(series, &mut previous)?;
                scan.summary.series += 1;
            }
            (1, _) => return Err(r.err("timeseries field is not length-delimited")),
            (_, wire) => r.skip(wire)?,
        }
    }
    Ok(scan.summary)
}

/// ` (metric NAME)` for error messages, or nothing when `__name__` was not seen yet.
fn metric_suffix(name: Option<&[u8]>) -> String {
    name.map(|n| format!(" (metric {:?})", String::from_utf8_lossy(n)))
        .unwrap_or_default()
}

/// The metric name of the series before, and whether it is watched.
type Previous<'b> = Option<(&'b [u8], bool)>;

impl Scan<'_> {
    fn series<'b>(
        &mut self,
        mut r: Reader<'b>,
        previous: &mut Previous<'b>,
    ) -> Result<(), ScanError> {
        let index = self.summary.series;
        let range = r.base..r.base + r.buf.len();
        let mut labels = 0usize;
        let mut metric: Option<&[u8]> = None;
        let mut hash = LabelHash::default();
        while !r.done() {
            match r.tag()? {
                (1, WIRE_LEN) => {
                    labels += 1;
                    if labels > self.limits.max_labels_per_series {
                        return Err(ScanError::TooManyLabels {
                            series: index,
                            metric: metric_suffix(metric),
                            limit: self.limits.max_labels_per_series,
                        });
                    }
                    let message = r.len_delimited()?;
                    hash.add(message.buf);
                    let (name, value) = label(message)?;
                    if name == b"__name__" {
                        metric = Some(value);
                    }
                    self.check_label(index, metric, name, value)?;
                }
                (2, WIRE_LEN) => {
                    let sample = r.len_delimited()?;
                    self.summary.samples += 1;
                    if let Some(max) = self.max_timestamp_ms {
                        let ts = sample_timestamp(sample)?;
                        if ts > max {
                            return Err(ScanError::SampleInFuture {
                                series: index,
                                metric: metric_suffix(metric),
                                timestamp_ms: ts,
                                limit_secs: self.limits.max_future_secs,
                            });
                        }
                    }
                }
                (1 | 2, _) => return Err(r.err("label or sample field is not length-delimited")),
                (_, wire) => r.skip(wire)?,
            }
        }
        let Some(name) = metric else {
            return Err(ScanError::MissingMetricName { series: index });
        };
        let watched = match *previous {
            // The series of one metric come together: the name was checked with the first.
            Some((last, watched)) if last == name => watched,
            _ => {
                if !is_name(name, METRIC_START, METRIC_REST) {
                    return Err(ScanError::InvalidMetricName {
                        series: index,
                        name: String::from_utf8_lossy(name).into_owned(),
                    });
                }
                self.watch.iter().any(|w| w.as_bytes() == name)
            }
        };
        *previous = Some((name, watched));
        if watched {
            self.out.watched.push(range);
        }
        if let Some(hashes) = &mut self.out.hashes {
            hashes.push(hash.finish());
        }
        Ok(())
    }

    /// The checks every label passes, in one branch for the usual case (a valid name, both
    /// within their limits, an ASCII value); anything else goes to [`Self::unusual_label`].
    #[inline]
    fn check_label(
        &mut self,
        series: usize,
        metric: Option<&[u8]>,
        name: &[u8],
        value: &[u8],
    ) -> Result<(), ScanError> {
        let limits = self.limits;
        let usual = is_name(name, LABEL_START, LABEL_REST)
            && name.len() <= limits.max_label_name_len
            && value.len() <= limits.max_label_value_len
            && value.is_ascii();
        if !usual {
            self.unusual_label(series, metric, name, value)?;
        }
        // Only these lengths can spell a tenant label.
        if name.len() == 6 || name.len() == 13 {
            self.tenant_label(series, metric, name)?;
        }
        Ok(())
    }

    /// Every label check, each with its own error, in the order they are reported; `Ok` for
    /// a valid label that is merely unusual (a value in UTF-8 beyond ASCII).
    #[cold]
    fn unusual_label(
        &self,
        series: usize,
        metric: Option<&[u8]>,
        name: &[u8],
        value: &[u8],
    ) -> Result<(), ScanError> {
        let limits = self.limits;
        if name.is_empty() {
            return Err(ScanError::EmptyLabelName {
                series,
                metric: metric_suffix(metric),
            });
        }
        if name.len() > limits.max_label_name_len {
            return Err(ScanError::LabelNameTooLong {
                series,
                metric: metric_suffix(metric),
                len: name.len(),
                limit: limits.max_label_name_len,
            });
        }
        if value.len() > limits.max_label_value_len {
            return Err(ScanError::LabelValueTooLong {
                series,
                metric: metric_suffix(metric),
                len: value.len(),
                limit: limits.max_label_value_len,
            });
        }
        for (what, bytes) in [("name", name), ("value", value)] {
            if std::str::from_utf8(bytes).is_err() {
                return Err(ScanError::InvalidUtf8 {
                    series,
                    metric: metric_suffix(metric.filter(|m| std::str::from_utf8(m).is_ok())),
                    what,
                });
            }
        }
        if !is_name(name, LABEL_START, LABEL_REST) {
            return Err(ScanError::InvalidLabelName {
                series,
                metric: metric_suffix(metric),
                name: String::from_utf8_lossy(name).into_owned(),
            });
        }
        Ok(())
    }

    /// Notes the tenant labels a client sent, and refuses them in other spellings.
    fn tenant_label(
        &mut self,
        series: usize,
        metric: Option<&[u8]>,
        name: &[u8],
    ) -> Result<(), ScanError> {
        match name {
            b"tenant" => self.summary.tenant_label = true,
            b"vm_account_id" | b"vm_project_id" => self.summary.vm_tenancy_label = true,
            _ if [&b"tenant"[..], b"vm_account_id", b"vm_project_id"]
                .iter()
                .any(|reserved| name.eq_ignore_ascii_case(reserved)) =>
            {
                return Err(ScanError::ReservedLabel {
                    series,
                    metric: metric_suffix(metric),
                    name: String::from_utf8_lossy(name).into_owned(),
                });
            }
            _ => {}
        }
        Ok(())
    }
}

/// The name and value of one `Label` message (absent fields are empty, as in proto3).
#[inline]
fn label<'a>(mut r: Reader<'a>) -> Result<(&'a [u8], &'a [u8]), ScanError> {
    if let Some(usual) = usual_label(r.buf) {
        return Ok(usual);
    }
    let (mut name, mut value): (&[u8], &[u8]) = (&[], &[]);
    while !r.done() {
        match r.tag()? {
            (1, WIRE_LEN) => name = r.len_delimited()?.buf,
            (2, WIRE_LEN) => value = r.len_delimited()?.buf,
            (1 | 2, _) => return Err(r.err("label name or value is not length-delimited")),
            (_, wire) => r.skip(wire)?,
        }
    }
    Ok((name, value))
}

/// A label as encoders write it: the name (field 1) then the value (field 2), each under
/// 128 bytes, so each tag and length is one byte and the fields are found without the
/// general loop. Anything else (`None`) takes that loop.
#[inline]
fn usual_label(buf: &[u8]) -> Option<(&[u8], &[u8])> {
    let (&[0x0a, name_len], rest) = buf.split_first_chunk::<2>()? else {
        return None;
    };
    let (name, rest) = rest.split_at_checked(usize::from(name_len))?;
    let (&[0x12, value_len], value) = rest.split_first_chunk::<2>()? else {
        return None;
    };
    let one_byte_lengths = name_len < 0x80 && value_len < 0x80;
    (one_byte_lengths && value.len() == usize::from(value_len)).then_some((name, value))
}

/// The timestamp of one `Sample` message (0 when absent).
#[inline]
fn sample_timestamp(mut r: Reader<'_>) -> Result<i64, ScanError> {
    let mut ts = 0i64;
    while !r.done() {
        match r.tag()? {
            (1, WIRE_FIXED64) => {
                r.fixed(8)?;
            }
            (2, WIRE_VARINT) => ts = r.varint()? as i64,
            (1 | 2, _) => return Err(r.err("sample value or timestamp has the wrong wire type")),
            (_, wire) => r.skip(wire)?,
        }
    }
    Ok(ts)
}

#[cfg(test)]
mod tests;
