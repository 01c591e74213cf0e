//! `peeper-server agents list|forget` and `checks list|forget`: what liveness tracking
//! knows, read from the store (so every replica's view, and across restarts), and retiring
//! a decommissioned host or an abandoned check so its alert resolves.

use crate::cli::format_utc;
use crate::forward::ForwardError;
use crate::liveness::client::ReadError;
use crate::liveness::model::{AgentKey, CheckKey, State};
use crate::liveness::{LivenessConfig, StoreClient, series, unix_now};
use std::fmt::Write as _;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error(
        "liveness tracking is off (`[liveness] enabled = false`, or no query URL): there is \
         nothing to list or forget"
    )]
    Off,
    #[error(transparent)]
    Read(#[from] ReadError),
    #[error("cannot write to the store: {0}")]
    Write(#[from] ForwardError),
    #[error(
        "no agent {instance:?} of tenant {tenant:?} is known: `peeper-server agents list` shows the known ones"
    )]
    UnknownAgent { tenant: String, instance: String },
    #[error(
        "no check {check:?} on {instance:?} of tenant {tenant:?} is known: `peeper-server checks list` shows the known ones"
    )]
    UnknownCheck {
        tenant: String,
        instance: String,
        check: String,
    },
}

/// Liveness state as the store holds it.
#[derive(Debug)]
pub struct Admin {
    client: StoreClient,
    config: LivenessConfig,
}

impl Admin {
    pub fn new(client: Option<StoreClient>, config: LivenessConfig) -> Result<Self, AdminError> {
        Ok(Admin {
            client: client.ok_or(AdminError::Off)?,
            config,
        })
    }

    async fn state(&self) -> Result<State, AdminError> {
        let (mut state, forgotten) = self.client.read(self.config.recall).await?;
        state.forget(&forgotten);
        Ok(state)
    }

    /// One line per agent: tenant, instance, last push, how long ago, up or silent.
    pub async fn list_agents(&self, tenant: Option<&str>) -> Result<String, AdminError> {
        let state = self.state().await?;
        let now = unix_now();
        let mut out = format!(
            "{:<16}  {:<24}  {:<20}  {:>8}  STATE\n",
            "TENANT", "INSTANCE", "LAST PUSH", "AGE"
        );
        for (key, record) in &state.agents {
            if tenant.is_some_and(|t| t != key.tenant) {
                continue;
            }
            let state = if record.up(now) {
                "up".to_owned()
            } else {
                format!("silent (after {})", age(record.silent_after))
            };
            let _ = writeln!(
                out,
                "{:<16}  {:<24}  {:<20}  {:>8}  {state}",
                key.tenant,
                key.instance,
                format_utc(record.last_seen as u64),
                age(now - record.last_seen),
            );
        }
        Ok(out)
    }

    /// One line per check: tenant, instance, check, last result and its age, state.
    pub async fn list_checks(&self, tenant: Option<&str>) -> Result<String, AdminError> {
        let state = self.state().await?;
        let now = unix_now();
        let mut out = format!(
            "{:<16}  {:<24}  {:<24}  {:<20}  {:>8}  {:>8}  STATE\n",
            "TENANT", "INSTANCE", "CHECK", "LAST RESULT", "AGE", "EVERY"
        );
        for (key, record) in &state.checks {
            if tenant.is_some_and(|t| t != key.tenant) {
                continue;
            }
            let every = record.expected.map_or("-".to_owned(), age);
            let state = if self.config.policy.overdue(record, now) {
                "no result".to_owned()
            } else if record.ok {
                "OK".to_owned()
            } else {
                format!("ERR {}", record.message.as_deref().unwrap_or(""))
            };
            let _ = writeln!(
                out,
                "{:<16}  {:<24}  {:<24}  {:<20}  {:>8}  {every:>8}  {state}",
                key.tenant,
                key.instance(),
                key.check(),
                format_utc(record.last_run as u64),
                age(now - record.last_run),
            );
        }
        Ok(out)
    }

    /// Retires an agent and its checks: a marker every replica honours, and staleness
    /// markers that end their series now.
    pub async fn forget_agent(&self, tenant: &str, instance: &str) -> Result<usize, AdminError> {
        let state = self.state().await?;
        let key = AgentKey {
            tenant: tenant.to_owned(),
            instance: instance.to_owned(),
        };
        let checks: Vec<_> = state
            .checks
            .iter()
            .filter(|(k, _)| k.tenant == tenant && k.instance() == instance)
            .map(|(k, r)| (k.clone(), r.clone()))
            .collect();
        if !state.agents.contains_key(&key) && checks.is_empty() {
            return Err(AdminError::UnknownAgent {
                tenant: tenant.to_owned(),
                instance: instance.to_owned(),
            });
        }
        let now = unix_now();
        let out = series::forget_agent(&key, &checks, now, (now * 1000.0) as i64);
        self.client.write(tenant, out).await?;
        Ok(checks.len())
    }

    /// Retires one check.
    pub async fn forget_check(
        &self,
        tenant: &str,
        instance: &str,
        check: &str,
    ) -> Result<(), AdminError> {
        let state = self.state().await?;
        let found: Vec<(CheckKey, _)> = state
            .checks
            .iter()
            .filter(|(k, _)| k.tenant == tenant && k.instance() == instance && k.check() == check)
            .map(|(k, r)| (k.clone(), r.clone()))
            .collect();
        if found.is_empty() {
            return Err(AdminError::UnknownCheck {
                tenant: tenant.to_owned(),
                instance: instance.to_owned(),
                check: check.to_owned(),
            });
        }
        let now = unix_now();
        let out = found
            .iter()
            .flat_map(|(k, r)| series::forget_check(k, r, now, (now * 1000.0) as i64))
            .collect();
        self.client.write(tenant, out).await?;
        Ok(())
    }
}

/// `45s`, `3m`, `1h30m`, `2d4h`.
fn age(secs: f64) -> String {
    peeper_proto::duration::format(Duration::from_secs(secs.max(0.0) as u64))
}
