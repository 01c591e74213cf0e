//! What liveness tracking knows, with no I/O: agents and checks, how two views of them merge
//! (the newest report wins), and the judgments made from them at a given time (silent,
//! overdue). All times are Unix seconds as `f64`, as the series carry them.

use peeper_proto::names;
use std::collections::BTreeMap;

/// One agent: a tenant's host.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AgentKey {
    pub tenant: String,
    pub instance: String,
}

/// What is known of an agent.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AgentRecord {
    /// When a replica last accepted a batch from it.
    pub last_seen: f64,
    /// Silence longer than this makes it `up 0`, in seconds.
    pub silent_after: f64,
}

impl AgentRecord {
    pub fn up(&self, now: f64) -> bool {
        now - self.last_seen <= self.silent_after
    }
}

/// One check: its tenant and the labels of its series (`check`, `instance`, `job`, ...),
/// sorted, without `__name__`, `tenant` and `message`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CheckKey {
    pub tenant: String,
    pub labels: Vec<(String, String)>,
}

impl CheckKey {
    /// Builds a key from any label list, dropping the labels that are not part of a check's
    /// identity.
    pub fn new<'a>(tenant: &str, labels: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let mut labels: Vec<(String, String)> = labels
            .into_iter()
            .filter(|(name, _)| !IGNORED_LABELS.contains(name))
            .map(|(n, v)| (n.to_owned(), v.to_owned()))
            .collect();
        labels.sort();
        labels.dedup_by(|a, b| a.0 == b.0);
        CheckKey {
            tenant: tenant.to_owned(),
            labels,
        }
    }

    pub fn label(&self, name: &str) -> &str {
        self.labels
            .iter()
            .find(|(n, _)| n == name)
            .map_or("", |(_, v)| v.as_str())
    }

    pub fn instance(&self) -> &str {
        self.label(names::INSTANCE_LABEL)
    }

    pub fn check(&self) -> &str {
        self.label(names::CHECK_LABEL)
    }
}

/// Labels that do not identify a check: the metric name, the tenant (kept apart) and the
/// store's tenancy labels, and the message (it changes with every result).
const IGNORED_LABELS: [&str; 5] = [
    "__name__",
    "tenant",
    "vm_account_id",
    "vm_project_id",
    names::MESSAGE_LABEL,
];

/// A check's last result.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckRecord {
    pub ok: bool,
    /// When the result was produced (the check's own timestamp).
    pub last_run: f64,
    /// The first line the check printed. `None` until known: a new message is a new
    /// series, which the store shows seconds after the status it came with, and a result
    /// read back before then is taken without its text rather than with an older one.
    pub message: Option<String>,
    /// How often results are expected (`status --expect-every`), in seconds.
    pub expected: Option<f64>,
}

/// How long silence may last before it is a problem.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Policy {
    /// `PEEPER_AGENT_SILENT_AFTER`; `None`: 3 × the agent's interval, at least a minute.
    pub agent_silent_after: Option<f64>,
    /// `PEEPER_CHECK_PATIENCE`; `None`: 20 % of the expected interval, at least a minute.
    pub check_patience: Option<f64>,
}

/// The floor of both defaults.
const MIN_DEFAULT_SECS: f64 = 60.0;

impl Policy {
    pub fn silent_after(&self, interval: f64) -> f64 {
        self.agent_silent_after
            .unwrap_or((3.0 * interval).max(MIN_DEFAULT_SECS))
    }

    pub fn patience(&self, expected: f64) -> f64 {
        self.check_patience
            .unwrap_or((0.2 * expected).max(MIN_DEFAULT_SECS))
    }

    /// Whether the check's next result is overdue at `now`; never for a check without an
    /// expected interval.
    pub fn overdue(&self, check: &CheckRecord, now: f64) -> bool {
        check
            .expected
            .is_some_and(|every| now - check.last_run > every + self.patience(every))
    }
}

/// Everything known, merged from this replica's batches and the store.
#[derive(Debug, Default, Clone)]
pub struct State {
    pub agents: BTreeMap<AgentKey, AgentRecord>,
    pub checks: BTreeMap<CheckKey, CheckRecord>,
}

/// `peeper-server agents forget` / `checks forget` markers: when each was retired.
#[derive(Debug, Default, Clone)]
pub struct Forgotten {
    pub agents: BTreeMap<AgentKey, f64>,
    /// (tenant, instance, check) → when.
    pub checks: BTreeMap<(String, String, String), f64>,
}

impl Forgotten {
    fn check_forgotten(&self, key: &CheckKey, record: &CheckRecord) -> bool {
        let agent = AgentKey {
            tenant: key.tenant.clone(),
            instance: key.instance().to_owned(),
        };
        let by_agent = self.agents.get(&agent);
        let by_check = self.checks.get(&(
            key.tenant.clone(),
            key.instance().to_owned(),
            key.check().to_owned(),
        ));
        [by_agent, by_check]
            .into_iter()
            .flatten()
            .any(|&at| at >= record.last_run)
    }
}

impl State {
    /// Takes `record` unless a newer report of the agent is already known. Returns the
    /// record this replaced, if any.
    pub fn merge_agent(&mut self, key: AgentKey, record: AgentRecord) -> Option<AgentRecord> {
        match self.agents.get_mut(&key) {
            Some(known) if known.last_seen >= record.last_seen => Some(*known),
            Some(known) => Some(std::mem::replace(known, record)),
            None => {
                self.agents.insert(key, record);
                None
            }
        }
    }

    /// Takes `record` if it is a newer result than the one known; for the same result, fills
    /// in what the known view lacked (its message once it shows, its expected interval).
    /// A newer result sent without `--expect-every` keeps the expected interval known: the
    /// promise stands until a result sets another or an operator forgets the check, and
    /// every replica judges it alike whichever of them received the result. Returns the
    /// record replaced, if any. (The same result read back from the store may carry status
    /// 0 for "overdue": the known status is kept.)
    pub fn merge_check(&mut self, key: CheckKey, mut record: CheckRecord) -> Option<CheckRecord> {
        match self.checks.get_mut(&key) {
            Some(known) if known.last_run == record.last_run => {
                let before = known.clone();
                known.message = known.message.take().or(record.message);
                known.expected = known.expected.or(record.expected);
                Some(before)
            }
            Some(known) if known.last_run > record.last_run => Some(known.clone()),
            Some(known) => {
                record.expected = record.expected.or(known.expected);
                Some(std::mem::replace(known, record))
            }
            None => {
                self.checks.insert(key, record);
                None
            }
        }
    }

    /// Merges another view (the store's) into this one.
    pub fn merge(&mut self, other: State) {
        for (key, record) in other.agents {
            self.merge_agent(key, record);
        }
        for (key, record) in other.checks {
            self.merge_check(key, record);
        }
    }

    /// Drops what an operator retired since it last reported: an agent (with its checks)
    /// or one check. Returns how many entries were dropped.
    pub fn forget(&mut self, forgotten: &Forgotten) -> usize {
        let before = self.agents.len() + self.checks.len();
        self.agents.retain(|key, record| {
            forgotten
                .agents
                .get(key)
                .is_none_or(|&at| at < record.last_seen)
        });
        self.checks
            .retain(|key, record| !forgotten.check_forgotten(key, record));
        before - self.agents.len() - self.checks.len()
    }
}

#[cfg(test)]
mod tests;
