//! Reading agents and check results out of an accepted batch: only the series the scanner
//! marked as watched ([`peeper_proto::names::WATCHED`]) are decoded, so a batch without
//! them costs nothing here.

use super::model::{AgentKey, AgentRecord, CheckKey, CheckRecord, Policy};
use peeper_proto::names;
use peeper_proto::prometheus::TimeSeries;
use prost::Message;
use std::collections::BTreeMap;
use std::ops::Range;

/// What one batch says about agents and checks.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Observed {
    pub agents: Vec<(AgentKey, AgentRecord)>,
    pub checks: Vec<(CheckKey, CheckRecord)>,
}

impl Observed {
    pub fn is_empty(&self) -> bool {
        self.agents.is_empty() && self.checks.is_empty()
    }
}

/// The parts of one check's result, as they arrive in separate series.
#[derive(Debug, Default)]
struct Parts {
    status: Option<f64>,
    status_timestamp_ms: i64,
    last_run: Option<f64>,
    message: Option<String>,
    expected: Option<f64>,
}

/// Decodes the `watched` ranges of `decoded` (a `WriteRequest` the scanner validated) for
/// `tenant`, as seen at `now`. Series that do not decode, lack a sample or an `instance`
/// are passed over: the batch itself was valid, this is only bookkeeping.
pub fn observe(
    tenant: &str,
    decoded: &[u8],
    watched: &[Range<usize>],
    now: f64,
    policy: &Policy,
) -> Observed {
    let mut observed = Observed::default();
    let mut checks: BTreeMap<CheckKey, Parts> = BTreeMap::new();
    for range in watched {
        let Some(series) = decoded
            .get(range.clone())
            .and_then(|bytes| TimeSeries::decode(bytes).ok())
        else {
            continue;
        };
        let Some(sample) = series.samples.iter().max_by_key(|s| s.timestamp) else {
            continue;
        };
        let label = |name: &str| {
            series
                .labels
                .iter()
                .find(|l| l.name == name)
                .map(|l| l.value.as_str())
        };
        let (Some(name), Some(instance)) = (label("__name__"), label(names::INSTANCE_LABEL)) else {
            continue;
        };
        if name == names::AGENT_INTERVAL {
            let interval = if sample.value.is_finite() {
                sample.value.max(0.0)
            } else {
                0.0
            };
            let key = AgentKey {
                tenant: tenant.to_owned(),
                instance: instance.to_owned(),
            };
            let record = AgentRecord {
                last_seen: now,
                silent_after: policy.silent_after(interval),
            };
            observed.agents.push((key, record));
            continue;
        }
        let key = CheckKey::new(
            tenant,
            series
                .labels
                .iter()
                .map(|l| (l.name.as_str(), l.value.as_str())),
        );
        let parts = checks.entry(key).or_default();
        match name {
            names::CHECK_STATUS => {
                parts.status = Some(sample.value);
                parts.status_timestamp_ms = sample.timestamp;
            }
            names::CHECK_LAST_RUN => parts.last_run = Some(sample.value),
            names::CHECK_MESSAGE => {
                parts.message = label(names::MESSAGE_LABEL).map(str::to_owned);
            }
            names::CHECK_EXPECTED_INTERVAL => parts.expected = Some(sample.value),
            _ => {}
        }
    }
    for (key, parts) in checks {
        // The status is what makes a result; the other series only add to it.
        let Some(status) = parts.status else { continue };
        let last_run = parts
            .last_run
            .filter(|t| t.is_finite())
            .unwrap_or(parts.status_timestamp_ms as f64 / 1000.0);
        let record = CheckRecord {
            ok: status >= 1.0,
            last_run,
            message: parts.message,
            expected: parts.expected.filter(|e| e.is_finite() && *e > 0.0),
        };
        observed.checks.push((key, record));
    }
    observed
}
