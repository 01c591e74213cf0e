//! Liveness: agents and passive checks that fall silent become alerts by themselves, and
//! stay alerts until they report again or an operator forgets them (ARCHITECTURE.md,
//! "Liveness").
//!
//! - Every accepted batch is looked at for the series agents send every cycle
//!   (`peeper_agent_interval_seconds`) and for check results ([`observe`]).
//! - Every `sync_interval`, each replica reads every replica's view back from the store,
//!   merges it with its own ([`model`]), and writes the judgments: `peeper_agent_up`,
//!   `peeper_agent_last_seen_timestamp_seconds`, `peeper_check_overdue`, and the last result
//!   of checks that went quiet ([`series`]). The store is the only shared state, so replicas
//!   stay stateless and a restarted one picks up where the others are.
//! - Periodic samples are stamped `write_delay` in the past, so a replica that has not yet
//!   read a fresh report never writes a value that sorts after it; the replica that saw a
//!   silent source come back writes the change at once.

pub mod client;
pub mod model;
pub mod observe;
pub mod series;
mod sync;

pub use client::StoreClient;
pub use model::Policy;
pub use sync::run;

use crate::config::ConfigError;
use crate::store::{StoreUrl, TenantConfig};
use model::State;
use observe::Observed;
use peeper_proto::prometheus::TimeSeries;
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::Notify;

/// Defaults of the `[liveness]` settings.
pub const DEFAULT_SYNC_INTERVAL: Duration = Duration::from_secs(15);
pub const DEFAULT_RECALL: Duration = Duration::from_secs(30 * 86_400);
pub const DEFAULT_WRITE_DELAY: Duration = Duration::from_secs(5);

/// `[liveness]` in the config file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LivenessFile {
    /// Track agents and checks (default true).
    pub enabled: Option<bool>,
    /// Silence after which an agent is down (default: 3 × its interval, at least 1m).
    pub agent_silent_after: Option<String>,
    /// How late a check's result may be beyond its expected interval (default: 20 % of
    /// the interval, at least 1m).
    pub check_patience: Option<String>,
    /// How often state is synced with the store (default 15s).
    pub sync_interval: Option<String>,
    /// How far back a starting server looks for agents and checks (default 30d).
    pub recall: Option<String>,
    /// How far in the past periodic samples are stamped (default 5s); more than the
    /// store's delay before fresh samples can be queried.
    pub write_delay: Option<String>,
    /// The store's instant-query URL (default: derived from remote_write_url).
    pub query_url: Option<String>,
}

/// The flags and env twins of the `[liveness]` settings (flag > env > file > default).
#[derive(Debug, Clone, Default)]
pub struct LivenessOverrides {
    pub agent_silent_after: Option<String>,
    pub check_patience: Option<String>,
    pub sync_interval: Option<String>,
    pub query_url: Option<String>,
}

/// Where the store answers queries.
#[derive(Debug, Clone)]
pub enum QueryUrl {
    Single(reqwest::Url),
    /// VictoriaMetrics cluster: one `/select/<account>/...` URL per mapped tenant.
    Cluster(HashMap<String, reqwest::Url>),
}

/// Validated liveness settings.
#[derive(Debug, Clone)]
pub struct LivenessConfig {
    pub policy: Policy,
    pub sync_interval: Duration,
    pub recall: Duration,
    pub write_delay: Duration,
    /// `None`: liveness is off.
    pub query: Option<QueryUrl>,
}

impl LivenessConfig {
    /// Defaults for `store`, on when its query URL can be derived (single-node
    /// VictoriaMetrics or Prometheus: `.../api/v1/write` → `.../api/v1/query`).
    pub fn derived(store: &StoreUrl) -> Self {
        LivenessConfig {
            policy: Policy {
                agent_silent_after: None,
                check_patience: None,
            },
            sync_interval: DEFAULT_SYNC_INTERVAL,
            recall: DEFAULT_RECALL,
            write_delay: DEFAULT_WRITE_DELAY,
            query: derive_query_url(store).map(QueryUrl::Single),
        }
    }

    /// Flags/env over the file over the defaults, validated against the store.
    pub fn from_sources(
        over: &LivenessOverrides,
        file: Option<&LivenessFile>,
        store: &StoreUrl,
        tenants: &BTreeMap<String, TenantConfig>,
    ) -> Result<Self, ConfigError> {
        let empty = LivenessFile::default();
        let file = file.unwrap_or(&empty);
        let pick = |flag: &Option<String>, file: &Option<String>| flag.clone().or(file.clone());
        let duration = |setting: &'static str, value: Option<String>| {
            value
                .map(|text| {
                    peeper_proto::duration::parse(&text).ok_or(ConfigError::Duration {
                        setting,
                        value: text,
                    })
                })
                .transpose()
        };
        let mut config = LivenessConfig::derived(store);
        config.policy.agent_silent_after = duration(
            "liveness.agent_silent_after (--agent-silent-after, PEEPER_AGENT_SILENT_AFTER)",
            pick(&over.agent_silent_after, &file.agent_silent_after),
        )?
        .map(|d| d.as_secs_f64());
        config.policy.check_patience = duration(
            "liveness.check_patience (--check-patience, PEEPER_CHECK_PATIENCE)",
            pick(&over.check_patience, &file.check_patience),
        )?
        .map(|d| d.as_secs_f64());
        if let Some(d) = duration(
            "liveness.sync_interval (--liveness-interval, PEEPER_LIVENESS_INTERVAL)",
            pick(&over.sync_interval, &file.sync_interval),
        )? {
            if d < Duration::from_millis(100) {
                return Err(ConfigError::Duration {
                    setting: "liveness.sync_interval: at least 100ms",
                    value: peeper_proto::duration::format(d),
                });
            }
            config.sync_interval = d;
        }
        if let Some(d) = duration("liveness.recall", file.recall.clone())? {
            config.recall = d;
        }
        if let Some(d) = duration("liveness.write_delay", file.write_delay.clone())? {
            config.write_delay = d;
        }
        if let Some(url) = pick(&over.query_url, &file.query_url) {
            config.query = Some(query_url(&url, store, tenants)?);
        }
        if file.enabled == Some(false) {
            config.query = None;
        } else if config.query.is_none() {
            return Err(ConfigError::NoQueryUrl {
                store: store.to_string(),
            });
        }
        Ok(config)
    }

    pub fn enabled(&self) -> bool {
        self.query.is_some()
    }

    /// Window of the reads after the first: several syncs, so a replica sees what the
    /// others wrote even if one of their syncs was late.
    pub fn steady_window(&self) -> Duration {
        (self.sync_interval * 8 + self.write_delay).max(Duration::from_secs(300))
    }

    /// How old a check result must be before replicas write it again: by then every replica
    /// has read it, so none can write an older one after it.
    pub fn carry_after(&self) -> f64 {
        (self.sync_interval * 2 + self.write_delay).as_secs_f64()
    }
}

fn derive_query_url(store: &StoreUrl) -> Option<reqwest::Url> {
    let StoreUrl::Single(write) = store else {
        return None;
    };
    let path = write.path().strip_suffix("/api/v1/write")?;
    let mut url = write.clone();
    url.set_path(&format!("{path}/api/v1/query"));
    url.set_query(None);
    Some(url)
}

fn query_url(
    url: &str,
    store: &StoreUrl,
    tenants: &BTreeMap<String, TenantConfig>,
) -> Result<QueryUrl, ConfigError> {
    let none = BTreeMap::new();
    let parsed =
        StoreUrl::new(url, if store.is_cluster() { tenants } else { &none }).map_err(|e| {
            ConfigError::QueryUrl {
                value: url.to_owned(),
                message: e.to_string(),
            }
        })?;
    match (parsed, store.is_cluster()) {
        (StoreUrl::Single(url), false) => Ok(QueryUrl::Single(url)),
        (StoreUrl::Cluster { by_tenant, .. }, true) => Ok(QueryUrl::Cluster(by_tenant)),
        (_, cluster) => Err(ConfigError::QueryUrl {
            value: url.to_owned(),
            message: if cluster {
                "the store is a cluster, so the query URL needs the {accountID} placeholder \
                 too, e.g. http://vmselect:8481/select/{accountID}/prometheus/api/v1/query"
                    .to_owned()
            } else {
                "{accountID} only makes sense with a cluster remote_write_url".to_owned()
            },
        }),
    }
}

/// Unix seconds now.
pub fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// The running server's liveness state, shared by the ingest path and the sync loop.
#[derive(Debug)]
pub struct Liveness {
    config: LivenessConfig,
    inner: Mutex<Inner>,
    /// Wakes the sync loop to write [`Inner::pending`] at once.
    wake: Notify,
}

#[derive(Debug, Default)]
struct Inner {
    state: State,
    /// Sources that came back from silence: written at once, stamped now.
    pending: Vec<(String, TimeSeries)>,
}

impl Liveness {
    pub fn new(config: LivenessConfig) -> Self {
        Liveness {
            config,
            inner: Mutex::new(Inner::default()),
            wake: Notify::new(),
        }
    }

    pub fn config(&self) -> &LivenessConfig {
        &self.config
    }

    /// What a batch of `tenant` says, read before the batch is forwarded (its decoded
    /// bytes are dropped then); apply it with [`Self::record`] once the store accepted it.
    pub fn observe(
        &self,
        tenant: &str,
        decoded: &[u8],
        watched: &[std::ops::Range<usize>],
    ) -> Observed {
        if !self.config.enabled() || watched.is_empty() {
            return Observed::default();
        }
        observe::observe(tenant, decoded, watched, unix_now(), &self.config.policy)
    }

    /// Takes in what an accepted batch said. A source that was silent (or a check that was
    /// overdue) is written back at once, so the alert resolves without waiting for a sync.
    pub fn record(&self, observed: Observed) {
        if observed.is_empty() {
            return;
        }
        let now = unix_now();
        let ts_ms = (now * 1000.0) as i64;
        let policy = self.config.policy;
        let mut inner = self.inner.lock().expect("liveness lock");
        let mut came_back = Vec::new();
        for (key, record) in observed.agents {
            let before = inner.state.merge_agent(key.clone(), record);
            if before.is_some_and(|b| !b.up(now)) {
                came_back.extend(
                    series::agent(&key, &record, true, ts_ms)
                        .into_iter()
                        .map(|s| (key.tenant.clone(), s)),
                );
            }
        }
        let carry_after = self.config.carry_after();
        for (key, record) in observed.checks {
            let Some(before) = inner.state.merge_check(key.clone(), record.clone()) else {
                continue;
            };
            if before.last_run >= record.last_run {
                continue; // an older result arriving late changes nothing
            }
            if policy.overdue(&before, now) && !policy.overdue(&record, now) {
                came_back.push((
                    key.tenant.clone(),
                    series::check_overdue(&key, false, ts_ms),
                ));
            }
            // The syncs were carrying the previous result, stamped later than this one's
            // own samples may be: write this one stamped now, so the newest status and
            // message in the store are this result's (ARCHITECTURE.md, "Liveness").
            if now - before.last_run > carry_after {
                let carried = series::check_result(&key, &record, record.ok, ts_ms);
                came_back.extend(carried.into_iter().map(|s| (key.tenant.clone(), s)));
            }
        }
        if !came_back.is_empty() {
            inner.pending.extend(came_back);
            drop(inner);
            self.wake.notify_one();
        }
    }

    /// Merges the store's view and drops what was forgotten.
    fn merge(&self, view: State, forgotten: &model::Forgotten) -> usize {
        let mut inner = self.inner.lock().expect("liveness lock");
        inner.state.merge(view);
        inner.state.forget(forgotten)
    }

    fn snapshot(&self) -> State {
        self.inner.lock().expect("liveness lock").state.clone()
    }

    fn take_pending(&self) -> Vec<(String, TimeSeries)> {
        std::mem::take(&mut self.inner.lock().expect("liveness lock").pending)
    }
}

#[cfg(test)]
mod tests;
