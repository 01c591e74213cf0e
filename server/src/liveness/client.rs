//! Liveness state in the store: reading every replica's view back with instant queries
//! (`last_over_time(...[window])`, `nocache=1` so the newest samples are seen), and writing
//! series through the same forwarding path as agents' batches (so the tenant is set the
//! same way: `extra_label`, rewrite, or the tenant's cluster account).

use super::model::{AgentKey, AgentRecord, CheckKey, CheckRecord, Forgotten, Policy, State};
use super::series::{AGENT_FORGOTTEN, AGENT_LAST_SEEN, AGENT_SILENT_AFTER, CHECK_FORGOTTEN};
use super::{LivenessConfig, QueryUrl};
use crate::config::ForwardMode;
use crate::forward::{self, ForwardError, Forwarder};
use crate::scan::Summary;
use crate::store::StoreUrl;
use bytes::Bytes;
use peeper_proto::codec::{Encoding, snappy_compress};
use peeper_proto::names;
use peeper_proto::prometheus::{TimeSeries, WriteRequest};
use prost::Message;
use std::collections::BTreeMap;
use std::time::Duration;

/// Labels of one query result, and its value.
pub(super) type Row = (BTreeMap<String, String>, f64);

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("cannot query the store at {url}: {message}")]
    Request { url: String, message: String },
    #[error("the store answered the query {query:?} with HTTP {status}: {message}")]
    Status {
        query: String,
        status: u16,
        message: String,
    },
    #[error("the store's answer to {query:?} is not a Prometheus query result: {message}")]
    Answer { query: String, message: String },
}

/// Where to read, with the tenant a cluster account belongs to.
#[derive(Debug, Clone)]
struct Target {
    tenant: Option<String>,
    url: reqwest::Url,
}

/// Reads and writes liveness state.
#[derive(Debug, Clone)]
pub struct StoreClient {
    http: reqwest::Client,
    targets: Vec<Target>,
    store: StoreUrl,
    mode: ForwardMode,
    forwarder: Forwarder,
    policy: Policy,
}

impl StoreClient {
    /// A client for `config`'s query URL(s) and `store`; `None` when liveness is off.
    pub fn new(
        config: &LivenessConfig,
        store: &StoreUrl,
        mode: ForwardMode,
        forwarder: Forwarder,
    ) -> Option<Self> {
        let targets = match config.query.as_ref()? {
            QueryUrl::Single(url) => vec![Target {
                tenant: None,
                url: url.clone(),
            }],
            QueryUrl::Cluster(by_tenant) => by_tenant
                .iter()
                .map(|(tenant, url)| Target {
                    tenant: Some(tenant.clone()),
                    url: url.clone(),
                })
                .collect(),
        };
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .connect_timeout(Duration::from_secs(5))
            .user_agent(concat!("peeper-server/", env!("CARGO_PKG_VERSION")))
            .build()
            .ok()?;
        Some(StoreClient {
            http,
            targets,
            store: store.clone(),
            mode,
            forwarder,
            policy: config.policy,
        })
    }

    /// Every agent, check and forget marker reported within `window`, merged.
    pub async fn read(&self, window: Duration) -> Result<(State, Forgotten), ReadError> {
        let mut state = State::default();
        let mut forgotten = Forgotten::default();
        for target in &self.targets {
            let (view, marks) = self.read_target(target, window).await?;
            state.merge(view);
            forgotten.agents.extend(marks.agents);
            forgotten.checks.extend(marks.checks);
        }
        Ok((state, forgotten))
    }

    async fn read_target(
        &self,
        target: &Target,
        window: Duration,
    ) -> Result<(State, Forgotten), ReadError> {
        let answers = self.fetch(target, window).await?;
        let tenant_of = |labels: &BTreeMap<String, String>| {
            labels
                .get("tenant")
                .cloned()
                .or_else(|| target.tenant.clone())
        };
        let mut state = State::default();
        self.add_agents(
            &mut state,
            answers.last_seen,
            answers.silent_after,
            &tenant_of,
        );
        add_checks(
            &mut state,
            [
                answers.last_run,
                answers.status,
                answers.status_at,
                answers.message,
                answers.expected,
            ],
            &tenant_of,
        );
        let forgotten = forgotten(
            answers.agents_forgotten,
            answers.checks_forgotten,
            &tenant_of,
        );
        Ok((state, forgotten))
    }

    /// Every liveness query against `target` over `window`, at once.
    async fn fetch(&self, target: &Target, window: Duration) -> Result<Answers, ReadError> {
        let w = format!("{}s", window.as_secs().max(1));
        let last = |name: &str| format!("last_over_time({name}[{w}])");
        let q = |query: String| self.query(target, query);
        let (
            last_seen,
            silent_after,
            agents_forgotten,
            last_run,
            status,
            status_at,
            message,
            expected,
            checks_forgotten,
        ) = tokio::try_join!(
            // The newest time, not the latest-stamped sample: every replica writes it each
            // sync, and one that does not receive the agent's batches may stamp its older
            // value a few milliseconds after the newer one of the replica that does.
            q(format!("max_over_time({AGENT_LAST_SEEN}[{w}])")),
            q(last(AGENT_SILENT_AFTER)),
            q(last(AGENT_FORGOTTEN)),
            q(last(names::CHECK_LAST_RUN)),
            q(last(names::CHECK_STATUS)),
            // MetricsQL: the time of each series' last sample, to pick the newest message
            // and to tell whether it is the one that came with the newest status.
            q(format!("tlast_over_time({}[{w}])", names::CHECK_STATUS)),
            q(format!("tlast_over_time({}[{w}])", names::CHECK_MESSAGE)),
            q(last(names::CHECK_EXPECTED_INTERVAL)),
            q(last(CHECK_FORGOTTEN)),
        )?;
        Ok(Answers {
            last_seen,
            silent_after,
            agents_forgotten,
            last_run,
            status,
            status_at,
            message,
            expected,
            checks_forgotten,
        })
    }

    /// The agents last seen, each with its own silence threshold (the policy's default
    /// when it reported none).
    fn add_agents(
        &self,
        state: &mut State,
        last_seen: Vec<Row>,
        silent_after: Vec<Row>,
        tenant_of: &impl Fn(&BTreeMap<String, String>) -> Option<String>,
    ) {
        let thresholds: BTreeMap<AgentKey, f64> = agent_rows(silent_after, tenant_of).collect();
        for (key, last_seen) in agent_rows(last_seen, tenant_of) {
            let silent_after = thresholds
                .get(&key)
                .copied()
                .unwrap_or_else(|| self.policy.silent_after(0.0));
            state.merge_agent(
                key,
                AgentRecord {
                    last_seen,
                    silent_after,
                },
            );
        }
    }

    /// One instant query; the rows of its vector result.
    async fn query(&self, target: &Target, query: String) -> Result<Vec<Row>, ReadError> {
        let mut url = target.url.clone();
        url.query_pairs_mut()
            .append_pair("query", &query)
            .append_pair("nocache", "1");
        let response = self
            .http
            .get(url)
            .send()
            .await
            .map_err(|e| ReadError::Request {
                url: target.url.to_string(),
                message: e.without_url().to_string(),
            })?;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        if !status.is_success() {
            return Err(ReadError::Status {
                query,
                status: status.as_u16(),
                message: text.chars().take(300).collect(),
            });
        }
        parse_vector(&text).map_err(|message| ReadError::Answer { query, message })
    }

    /// Writes `series` under `tenant`, as an agent's batch of that tenant would be.
    pub async fn write(&self, tenant: &str, series: Vec<TimeSeries>) -> Result<(), ForwardError> {
        if series.is_empty() {
            return Ok(());
        }
        let decoded = WriteRequest {
            timeseries: series,
            metadata: Vec::new(),
        }
        .encode_to_vec();
        let url = self
            .store
            .url_for(tenant)
            .map_err(|e| ForwardError::Client(e.to_string()))?;
        let body = Bytes::from(snappy_compress(&decoded));
        let prepared = forward::prepare(
            self.mode,
            url,
            tenant,
            body,
            Encoding::Snappy,
            &decoded,
            &Summary::default(),
        )?;
        self.forwarder.send(prepared).await
    }
}

/// The answers of one target's liveness queries.
struct Answers {
    last_seen: Vec<Row>,
    silent_after: Vec<Row>,
    agents_forgotten: Vec<Row>,
    last_run: Vec<Row>,
    status: Vec<Row>,
    /// Each status's newest sample time.
    status_at: Vec<Row>,
    /// Each message's newest sample time.
    message: Vec<Row>,
    expected: Vec<Row>,
    checks_forgotten: Vec<Row>,
}

/// The checks that ran and have a status, with their newest message and expected interval,
/// from the answers about their last run, status (value and time), messages and expected
/// interval.
///
/// A result's message is a new series whenever the text changes, and the store shows a new
/// series seconds after the samples of the status it came with. A check whose newest
/// message is older than its newest status is taken without a message (it is filled in by
/// a later read): paired with the old text, the replica would keep and carry that pairing;
/// left out, it would carry the older result after the new one (ARCHITECTURE.md,
/// "Liveness").
pub(super) fn add_checks(
    state: &mut State,
    [last_run, status, status_at, message, expected]: [Vec<Row>; 5],
    tenant_of: &impl Fn(&BTreeMap<String, String>) -> Option<String>,
) {
    let by_check = |rows: Vec<Row>| -> BTreeMap<CheckKey, f64> {
        rows.into_iter()
            .filter_map(|(labels, value)| Some((check_key(&labels, tenant_of(&labels)?), value)))
            .collect()
    };
    let statuses = by_check(status);
    let status_times = by_check(status_at);
    let expected = by_check(expected);
    let mut messages = newest_messages(message, tenant_of);
    for (key, last_run) in by_check(last_run) {
        let Some(&status) = statuses.get(&key) else {
            continue;
        };
        let status_at = status_times.get(&key).copied().unwrap_or(f64::MIN);
        let message = messages
            .remove(&key)
            .filter(|(message_at, _)| *message_at >= status_at)
            .map(|(_, text)| text);
        let record = CheckRecord {
            ok: status >= 1.0,
            last_run,
            message,
            expected: expected.get(&key).copied().filter(|e| *e > 0.0),
        };
        state.merge_check(key, record);
    }
}

/// Per check, the message whose last sample is the newest, with that sample's time.
fn newest_messages(
    rows: Vec<Row>,
    tenant_of: &impl Fn(&BTreeMap<String, String>) -> Option<String>,
) -> BTreeMap<CheckKey, (f64, String)> {
    let mut messages: BTreeMap<CheckKey, (f64, String)> = BTreeMap::new();
    for (labels, at) in rows {
        let Some(tenant) = tenant_of(&labels) else {
            continue;
        };
        let text = labels
            .get(names::MESSAGE_LABEL)
            .cloned()
            .unwrap_or_default();
        let slot = messages
            .entry(check_key(&labels, tenant))
            .or_insert((f64::MIN, String::new()));
        if at > slot.0 {
            *slot = (at, text);
        }
    }
    messages
}

/// The forget markers of agents and checks.
fn forgotten(
    agents: Vec<Row>,
    checks: Vec<Row>,
    tenant_of: &impl Fn(&BTreeMap<String, String>) -> Option<String>,
) -> Forgotten {
    Forgotten {
        agents: agent_rows(agents, tenant_of).collect(),
        checks: checks
            .into_iter()
            .filter_map(|(labels, at)| {
                let get = |n: &str| labels.get(n).cloned().unwrap_or_default();
                Some((
                    (
                        tenant_of(&labels)?,
                        get(names::INSTANCE_LABEL),
                        get(names::CHECK_LABEL),
                    ),
                    at,
                ))
            })
            .collect(),
    }
}

fn agent_rows<'a>(
    rows: Vec<Row>,
    tenant_of: &'a impl Fn(&BTreeMap<String, String>) -> Option<String>,
) -> impl Iterator<Item = (AgentKey, f64)> + 'a {
    rows.into_iter().filter_map(move |(labels, value)| {
        let key = AgentKey {
            tenant: tenant_of(&labels)?,
            instance: labels.get(names::INSTANCE_LABEL)?.clone(),
        };
        Some((key, value))
    })
}

fn check_key(labels: &BTreeMap<String, String>, tenant: String) -> CheckKey {
    CheckKey::new(
        &tenant,
        labels.iter().map(|(n, v)| (n.as_str(), v.as_str())),
    )
}

/// The rows of a Prometheus instant-query answer (`resultType` vector); NaN values are
/// left out.
pub fn parse_vector(text: &str) -> Result<Vec<Row>, String> {
    let json: serde_json::Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let result = json["data"]["result"]
        .as_array()
        .ok_or_else(|| "no data.result array".to_owned())?;
    let mut rows = Vec::with_capacity(result.len());
    for item in result {
        let labels = item["metric"]
            .as_object()
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                    .collect()
            })
            .unwrap_or_default();
        let value = item["value"][1]
            .as_str()
            .and_then(|v| v.parse::<f64>().ok())
            .ok_or_else(|| format!("a result without a value: {item}"))?;
        if value.is_finite() {
            rows.push((labels, value));
        }
    }
    Ok(rows)
}
