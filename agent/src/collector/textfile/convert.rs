//! One `*.prom` file's text into the model, and the files of a cycle merged as node_exporter
//! gathers them: a file either contributes all its series or none.

use peeper_proto::exposition::{TextFamily, TextType, parse_text};
use peeper_proto::{MetricFamily, MetricKind};
use std::collections::{HashMap, HashSet};

/// The collector's own families, which no file may define.
pub const OWN_FAMILIES: [&str; 2] = ["node_textfile_mtime_seconds", "node_textfile_scrape_error"];

/// Labels the agent sets on every series; a file's own are kept as `exported_<name>`, as
/// Prometheus does when it scrapes node_exporter (`honor_labels: false`).
const AGENT_LABELS: [&str; 2] = ["job", "instance"];

/// Parses one file into families. `shown` is the file's path as the default help names it.
pub fn file_families(text: &str, shown: &str) -> Result<Vec<MetricFamily>, String> {
    let parsed = parse_text(text).map_err(|e| format!("not valid text exposition: {e}"))?;
    let mut out = Vec::new();
    for family in parsed {
        if family.samples.iter().any(|s| s.timestamp_ms.is_some()) {
            return Err(format!(
                "{} carries timestamps, which node_exporter refuses too: write samples without them",
                family.name
            ));
        }
        if OWN_FAMILIES.contains(&family.name.as_str()) {
            return Err(format!("{} is the collector's own series", family.name));
        }
        convert(family, shown, &mut out);
    }
    Ok(out)
}

/// Counters, gauges and untyped families stay as they are; a histogram or summary becomes
/// one untyped family per sample name (`x_bucket`, `x_sum`, `x_count`; `x`), since the model
/// has no such types: the series stored are the same.
fn convert(family: TextFamily, shown: &str, out: &mut Vec<MetricFamily>) {
    let help = family
        .help
        .unwrap_or_else(|| format!("Metric read from {shown}"));
    let kind = match family.kind {
        TextType::Counter => MetricKind::Counter,
        TextType::Gauge => MetricKind::Gauge,
        TextType::Untyped | TextType::Histogram | TextType::Summary => MetricKind::Untyped,
    };
    let first = out.len();
    for sample in family.samples {
        let index = match out[first..].iter().position(|f| f.name == sample.name) {
            Some(at) => first + at,
            None => {
                out.push(MetricFamily::new(sample.name.clone(), help.clone(), kind));
                out.len() - 1
            }
        };
        out[index].series.push(peeper_proto::Series {
            labels: agent_safe(sample.labels),
            value: sample.value,
        });
    }
}

/// Drops empty labels (Prometheus' "absent") and renames the agent's own.
fn agent_safe(labels: Vec<(String, String)>) -> Vec<(String, String)> {
    let names: HashSet<String> = labels.iter().map(|(n, _)| n.clone()).collect();
    labels
        .into_iter()
        .filter(|(_, value)| !value.is_empty())
        .map(|(name, value)| {
            if !AGENT_LABELS.contains(&name.as_str()) {
                return (name, value);
            }
            let mut renamed = format!("exported_{name}");
            while names.contains(&renamed) {
                renamed = format!("exported_{renamed}");
            }
            (renamed, value)
        })
        .collect()
}

/// The families of the files read so far this cycle.
#[derive(Debug, Default)]
pub struct Gathered {
    families: Vec<MetricFamily>,
    by_name: HashMap<String, usize>,
    series: HashSet<String>,
}

impl Gathered {
    /// Adds one file's families, or none of them when one clashes with an earlier file's
    /// (another type, or a series already read).
    pub fn add(&mut self, families: Vec<MetricFamily>) -> Result<(), String> {
        let mut keys = HashSet::new();
        for family in &families {
            if let Some(&at) = self.by_name.get(&family.name) {
                let earlier = self.families[at].kind;
                if earlier != family.kind {
                    return Err(format!(
                        "{} is {} here but {} in an earlier file",
                        family.name,
                        family.kind.as_str(),
                        earlier.as_str()
                    ));
                }
            }
            for series in &family.series {
                let key = series_key(&family.name, &series.labels);
                if self.series.contains(&key) {
                    return Err(format!(
                        "the series {}{:?} is in an earlier file too",
                        family.name, series.labels
                    ));
                }
                // `m{a=""}` and `m` are one series to Prometheus.
                if !keys.insert(key) {
                    return Err(format!(
                        "the series {}{:?} appears twice",
                        family.name, series.labels
                    ));
                }
            }
        }
        self.series.extend(keys);
        for family in families {
            match self.by_name.get(&family.name) {
                // The earlier file's help text stays.
                Some(&at) => self.families[at].series.extend(family.series),
                None => {
                    self.by_name
                        .insert(family.name.clone(), self.families.len());
                    self.families.push(family);
                }
            }
        }
        Ok(())
    }

    pub fn into_families(self) -> Vec<MetricFamily> {
        self.families
    }
}

fn series_key(name: &str, labels: &[(String, String)]) -> String {
    let mut sorted: Vec<_> = labels.iter().collect();
    sorted.sort();
    let mut key = name.to_owned();
    for (label, value) in sorted {
        key.push('\0');
        key.push_str(label);
        key.push('\0');
        key.push_str(value);
    }
    key
}
