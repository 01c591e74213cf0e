//! The metric model: what a collector returns for one cycle.
//!
//! A [`MetricFamily`] is one metric name with its help text, type and series. The model knows
//! nothing about encodings; [`crate::exposition`] and [`crate::remote_write`] turn it into
//! bytes.

/// The Prometheus type of a family, as written on its `# TYPE` line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricKind {
    Counter,
    Gauge,
    Untyped,
}

impl MetricKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MetricKind::Counter => "counter",
            MetricKind::Gauge => "gauge",
            MetricKind::Untyped => "untyped",
        }
    }
}

/// One series of a family: its own labels (without `__name__`) and its value.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub labels: Vec<(String, String)>,
    pub value: f64,
}

impl Series {
    /// The value of label `name`, if the series has it.
    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A metric name, its help and type, and every series collected for it in one cycle.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricFamily {
    pub name: String,
    pub help: String,
    pub kind: MetricKind,
    pub series: Vec<Series>,
}

impl MetricFamily {
    pub fn new(name: impl Into<String>, help: impl Into<String>, kind: MetricKind) -> Self {
        MetricFamily {
            name: name.into(),
            help: help.into(),
            kind,
            series: Vec::new(),
        }
    }

    pub fn counter(name: impl Into<String>, help: impl Into<String>) -> Self {
        Self::new(name, help, MetricKind::Counter)
    }

    pub fn gauge(name: impl Into<String>, help: impl Into<String>) -> Self {
        Self::new(name, help, MetricKind::Gauge)
    }

    pub fn untyped(name: impl Into<String>, help: impl Into<String>) -> Self {
        Self::new(name, help, MetricKind::Untyped)
    }

    /// Adds one series.
    pub fn push(&mut self, labels: &[(&str, &str)], value: f64) {
        self.series.push(Series {
            labels: labels
                .iter()
                .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
                .collect(),
            value,
        });
    }

    /// Adds one series and returns the family, for single-series metrics.
    pub fn with(mut self, labels: &[(&str, &str)], value: f64) -> Self {
        self.push(labels, value);
        self
    }

    /// Adds `name=value` to every series that does not carry `name` yet.
    pub fn add_label(&mut self, name: &str, value: &str) {
        for series in &mut self.series {
            if series.label(name).is_none() {
                series.labels.push((name.to_owned(), value.to_owned()));
            }
        }
    }

    /// Finds the series whose labels include all of `want`.
    pub fn find(&self, want: &[(&str, &str)]) -> Option<&Series> {
        self.series
            .iter()
            .find(|s| want.iter().all(|(n, v)| s.label(n) == Some(*v)))
    }
}

/// The number of series in a set of families.
pub fn series_count(families: &[MetricFamily]) -> usize {
    families.iter().map(|f| f.series.len()).sum()
}

/// Finds a family by name.
pub fn family<'a>(families: &'a [MetricFamily], name: &str) -> Option<&'a MetricFamily> {
    families.iter().find(|f| f.name == name)
}
