//! A collector against the exporter it stands in for (ARCHITECTURE.md, "Tests"): both read
//! the same server at the same moment, and every family the exporter emits (but its own
//! self-metrics and the names a test leaves out, each with its reason) must come from the
//! agent with the same type, help text and label sets; the families a test calls steady
//! (values that do not move between two reads a moment apart) must have equal values.

use peeper_agent::collector::Collector;
use peeper_proto::MetricFamily;
use peeper_proto::exposition::{TextType, parse_text};
use peeper_test_support::exporter::Exporter;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

type Labels = BTreeMap<String, String>;

/// What one test compares, and what it leaves out on purpose.
#[derive(Debug)]
pub struct Parity<'a> {
    /// The exporter's name, for messages.
    pub exporter: &'a str,
    /// Name prefixes of the exporter's families left out of the comparison, with the reason.
    pub left_out: &'a [(&'a str, &'a str)],
    /// Labels the exporter writes and the agent leaves out on purpose, with the reason.
    pub dropped_labels: &'a [(&'a str, &'a str)],
    /// Name prefixes of the families whose values must be equal on both sides.
    pub steady: &'a [&'a str],
    /// Steady families whose values differ on purpose, with the reason.
    pub values_differ: &'a [(&'a str, &'a str)],
}

/// The exporter's own metrics: its build, scrape counters and Go runtime.
fn self_metric(name: &str) -> bool {
    name.contains("_exporter_")
        || ["go_", "process_", "promhttp_"]
            .iter()
            .any(|prefix| name.starts_with(prefix))
}

/// One family as both sides are compared. A NaN sample (postgres_exporter writes SQL NULL
/// so) is no value: the agent leaves such series out, and the set only allows them.
#[derive(Debug, Default)]
struct Family {
    kind: String,
    help: String,
    values: BTreeMap<Labels, f64>,
    nan: BTreeSet<Labels>,
}

impl Parity<'_> {
    /// Labels without the dropped ones and without empty values (a label whose value is
    /// empty is no label in Prometheus), sorted.
    fn labels<'l>(&self, labels: impl Iterator<Item = &'l (String, String)>) -> Labels {
        labels
            .filter(|(name, value)| {
                !value.is_empty() && !self.dropped_labels.iter().any(|(d, _)| d == name)
            })
            .cloned()
            .collect()
    }

    fn exporter_families(&self, text: &str) -> BTreeMap<String, Family> {
        let parsed = parse_text(text)
            .unwrap_or_else(|e| panic!("{}'s page does not parse: {e}\n{text}", self.exporter));
        let mut out = BTreeMap::new();
        for family in parsed.into_iter().filter(|f| self.compared(&f.name)) {
            let kind = match family.kind {
                TextType::Counter => "counter",
                TextType::Gauge => "gauge",
                TextType::Untyped => "untyped",
                other => panic!("{}: the agent has no {other:?}", family.name),
            };
            let mut ours = Family {
                kind: kind.to_owned(),
                help: family.help.unwrap_or_default(),
                ..Family::default()
            };
            for sample in &family.samples {
                let labels = self.labels(sample.labels.iter());
                if sample.value.is_nan() {
                    ours.nan.insert(labels);
                } else {
                    ours.values.insert(labels, sample.value);
                }
            }
            out.insert(family.name, ours);
        }
        out
    }

    fn agent_families(&self, families: &[MetricFamily]) -> BTreeMap<String, Family> {
        families
            .iter()
            .map(|family| {
                let values = family
                    .series
                    .iter()
                    .map(|s| (self.labels(s.labels.iter()), s.value))
                    .collect();
                let converted = Family {
                    kind: family.kind.as_str().to_owned(),
                    help: family.help.clone(),
                    values,
                    nan: BTreeSet::new(),
                };
                (family.name.clone(), converted)
            })
            .collect()
    }

    fn steady_value(&self, name: &str) -> bool {
        self.steady.iter().any(|prefix| name.starts_with(prefix))
            && !self.values_differ.iter().any(|(n, _)| *n == name)
    }

    fn compared(&self, name: &str) -> bool {
        !self_metric(name) && !self.left_out.iter().any(|(p, _)| name.starts_with(p))
    }

    /// Every difference between the exporter's page and the agent's families, one line
    /// each; the names the agent does not emit first.
    pub fn differences(&self, exporter_text: &str, agent: &[MetricFamily]) -> Vec<String> {
        let theirs = self.exporter_families(exporter_text);
        let ours = self.agent_families(agent);
        let mut missing = Vec::new();
        let mut problems = Vec::new();
        for (name, their) in &theirs {
            let Some(our) = ours.get(name) else {
                if !their.values.is_empty() {
                    missing.push(name.as_str());
                }
                continue;
            };
            if (&our.kind, &our.help) != (&their.kind, &their.help) {
                problems.push(format!(
                    "{name}: agent {} {:?}, {} {} {:?}",
                    our.kind, our.help, self.exporter, their.kind, their.help
                ));
            }
            for (labels, value) in &their.values {
                match our.values.get(labels) {
                    None => problems.push(format!("{name}{labels:?}: missing from the agent")),
                    Some(mine) if mine != value && self.steady_value(name) => problems.push(
                        format!("{name}{labels:?}: agent {mine}, {} {value}", self.exporter),
                    ),
                    Some(_) => {}
                }
            }
            for labels in our.values.keys() {
                if !their.values.contains_key(labels) && !their.nan.contains(labels) {
                    problems.push(format!("{name}{labels:?}: only the agent has it"));
                }
            }
        }
        if !missing.is_empty() {
            problems.insert(0, format!("names the agent does not emit: {missing:?}"));
        }
        problems
    }

    /// Reads the exporter and the collector at the same moment, up to three times (a
    /// difference must show in three reads running to count), and panics listing the
    /// differences. Returns the agent's last read.
    pub async fn assert_same(
        &self,
        exporter: &Exporter,
        collector: &mut dyn Collector,
    ) -> Vec<MetricFamily> {
        let mut problems = Vec::new();
        for _ in 0..3 {
            let addr = exporter.addr.clone();
            let scrape = tokio::task::spawn_blocking(move || super::http_get(&addr, "/metrics"));
            let ours = super::collect(collector).await;
            let (status, body) = scrape.await.unwrap().expect("scrape the exporter");
            assert_eq!(status, 200, "{} answered {status}: {body}", self.exporter);
            problems = self.differences(&body, &ours);
            if problems.is_empty() {
                return ours;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        panic!(
            "the agent differs from {}:\n{}",
            self.exporter,
            problems.join("\n")
        );
    }
}
