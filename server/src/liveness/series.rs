//! The series liveness tracking writes to the store, built from the [`State`]: what every
//! replica writes each sync, what it writes at once when a silent source comes back, and
//! what `forget` writes. Series are grouped by tenant, since each tenant is written with its
//! own `extra_label` (or cluster account).

use super::model::{AgentKey, AgentRecord, CheckKey, CheckRecord, Policy, State};
use peeper_proto::names;
use peeper_proto::prometheus::{Label, Sample, TimeSeries};
use std::collections::BTreeMap;

/// 1 while the agent pushes, 0 once it has been silent for its `silent_after`.
pub const AGENT_UP: &str = "peeper_agent_up";
/// When a replica last accepted a batch from the agent.
pub const AGENT_LAST_SEEN: &str = "peeper_agent_last_seen_timestamp_seconds";
/// The silence after which the agent counts as down.
pub const AGENT_SILENT_AFTER: &str = "peeper_agent_silent_after_seconds";
/// Written by `agents forget`: when the agent was retired.
pub const AGENT_FORGOTTEN: &str = "peeper_agent_forgotten_timestamp_seconds";
/// 1 when a check's next result is overdue (expected interval plus patience passed).
pub const CHECK_OVERDUE: &str = "peeper_check_overdue";
/// Written by `checks forget`: when the check was retired.
pub const CHECK_FORGOTTEN: &str = "peeper_check_forgotten_timestamp_seconds";

/// Prometheus' staleness marker: the series ends here (queries stop returning it at once).
pub const STALE: f64 = f64::from_bits(0x7ff0_0000_0000_0002);

/// How long a replica waits to read a result's message before carrying the result without
/// one (a sender that pushes no message series at all). VictoriaMetrics shows a new series
/// about 7 s after its first sample.
pub const MESSAGE_PATIENCE: f64 = 60.0;

/// Series to write, by tenant.
pub type ByTenant = BTreeMap<String, Vec<TimeSeries>>;

/// One series with one sample; labels sorted as remote-write requires.
pub fn series(name: &str, labels: &[(&str, &str)], value: f64, timestamp_ms: i64) -> TimeSeries {
    let mut all: Vec<Label> = labels
        .iter()
        .filter(|(n, _)| *n != "__name__")
        .map(|(n, v)| Label {
            name: (*n).to_owned(),
            value: (*v).to_owned(),
        })
        .collect();
    all.push(Label {
        name: "__name__".to_owned(),
        value: name.to_owned(),
    });
    all.sort_by(|a, b| a.name.cmp(&b.name));
    TimeSeries {
        labels: all,
        samples: vec![Sample {
            value,
            timestamp: timestamp_ms,
        }],
    }
}

fn flag(on: bool) -> f64 {
    if on { 1.0 } else { 0.0 }
}

/// The three series of an agent.
pub fn agent(key: &AgentKey, record: &AgentRecord, up: bool, ts_ms: i64) -> Vec<TimeSeries> {
    let labels = [(names::INSTANCE_LABEL, key.instance.as_str())];
    vec![
        series(AGENT_LAST_SEEN, &labels, record.last_seen, ts_ms),
        series(AGENT_UP, &labels, flag(up), ts_ms),
        series(AGENT_SILENT_AFTER, &labels, record.silent_after, ts_ms),
    ]
}

fn check_labels(key: &CheckKey) -> Vec<(&str, &str)> {
    key.labels
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect()
}

/// A check's own series as the agent pushes them, with `ok` as its status; the message
/// only once it is known (never an older result's text with this result's time).
pub fn check_result(key: &CheckKey, record: &CheckRecord, ok: bool, ts_ms: i64) -> Vec<TimeSeries> {
    let labels = check_labels(key);
    let mut out = vec![
        series(names::CHECK_STATUS, &labels, flag(ok), ts_ms),
        series(names::CHECK_LAST_RUN, &labels, record.last_run, ts_ms),
    ];
    if let Some(message) = &record.message {
        let mut with_message = labels.clone();
        with_message.push((names::MESSAGE_LABEL, message));
        out.push(series(names::CHECK_MESSAGE, &with_message, 1.0, ts_ms));
    }
    if let Some(every) = record.expected {
        out.push(series(
            names::CHECK_EXPECTED_INTERVAL,
            &labels,
            every,
            ts_ms,
        ));
    }
    out
}

/// `peeper_check_overdue` of a check.
pub fn check_overdue(key: &CheckKey, overdue: bool, ts_ms: i64) -> TimeSeries {
    series(CHECK_OVERDUE, &check_labels(key), flag(overdue), ts_ms)
}

/// What every replica writes each sync:
/// - every agent's last-seen time, `up` and threshold;
/// - every check with an expected interval: `peeper_check_overdue`;
/// - every check whose last result is older than `carry_after` seconds: that result again
///   (status 0 when overdue), so it neither goes stale nor resolves by itself. Fresher results
///   are left to the agent's own samples, and so is a result whose message this replica has
///   not read yet (for up to [`MESSAGE_PATIENCE`]): every status in the store then comes with
///   its message at the same time, which `PeeperCheckFailed` relies on.
pub fn periodic(
    state: &State,
    policy: &Policy,
    now: f64,
    carry_after: f64,
    ts_ms: i64,
) -> ByTenant {
    let mut out = ByTenant::new();
    for (key, record) in &state.agents {
        out.entry(key.tenant.clone()).or_default().extend(agent(
            key,
            record,
            record.up(now),
            ts_ms,
        ));
    }
    for (key, record) in &state.checks {
        let overdue = policy.overdue(record, now);
        let tenant = out.entry(key.tenant.clone()).or_default();
        if record.expected.is_some() {
            tenant.push(check_overdue(key, overdue, ts_ms));
        }
        let age = now - record.last_run;
        if age > carry_after && (record.message.is_some() || age > MESSAGE_PATIENCE) {
            tenant.extend(check_result(key, record, record.ok && !overdue, ts_ms));
        }
    }
    out
}

/// What `agents forget` writes: the marker, and staleness markers that end the agent's
/// liveness series and its checks' series at once (so their alerts resolve).
pub fn forget_agent(
    key: &AgentKey,
    checks: &[(CheckKey, CheckRecord)],
    now: f64,
    ts_ms: i64,
) -> Vec<TimeSeries> {
    let labels = [(names::INSTANCE_LABEL, key.instance.as_str())];
    let mut out = vec![series(AGENT_FORGOTTEN, &labels, now, ts_ms)];
    out.extend(
        [AGENT_UP, AGENT_LAST_SEEN, AGENT_SILENT_AFTER]
            .into_iter()
            .map(|name| series(name, &labels, STALE, ts_ms)),
    );
    for (check, record) in checks {
        out.extend(forget_check_series(check, record, ts_ms));
    }
    out
}

/// What `checks forget` writes for one check: the marker and staleness markers.
pub fn forget_check(key: &CheckKey, record: &CheckRecord, now: f64, ts_ms: i64) -> Vec<TimeSeries> {
    let marker = [
        (names::INSTANCE_LABEL, key.instance()),
        (names::CHECK_LABEL, key.check()),
    ];
    let mut out = vec![series(CHECK_FORGOTTEN, &marker, now, ts_ms)];
    out.extend(forget_check_series(key, record, ts_ms));
    out
}

fn forget_check_series(key: &CheckKey, record: &CheckRecord, ts_ms: i64) -> Vec<TimeSeries> {
    let mut out: Vec<TimeSeries> = check_result(key, record, false, ts_ms);
    out.push(check_overdue(key, false, ts_ms));
    for s in &mut out {
        s.samples[0].value = STALE;
    }
    out
}
