//! The sync loop: every `sync_interval`, read the store's view (the first successful read
//! looks back `recall`, later ones a few syncs), merge, and write every judgment; between
//! syncs, write at once what came back from silence.

use super::{Liveness, StoreClient, series, unix_now};
use crate::metrics::Metrics;
use peeper_proto::failures::FailureStreak;
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio::sync::watch;

const WRITING: &str = "liveness: writing to the store";
const RETRYING: &str = "retrying every sync";

/// Runs until `shutdown` turns true.
pub async fn run(
    liveness: Arc<Liveness>,
    client: StoreClient,
    metrics: Arc<Metrics>,
    mut shutdown: watch::Receiver<bool>,
) {
    let config = liveness.config().clone();
    let mut ticker = tokio::time::interval(config.sync_interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut recalled = false;
    let (mut reads, mut writes) = (FailureStreak::default(), FailureStreak::default());
    loop {
        tokio::select! {
            _ = stopped(&mut shutdown) => return,
            _ = liveness.wake.notified() => {
                let pending = liveness.take_pending();
                let mut by_tenant: BTreeMap<String, Vec<_>> = BTreeMap::new();
                for (tenant, s) in pending {
                    by_tenant.entry(tenant).or_default().push(s);
                }
                let written = write_all(&client, by_tenant).await;
                writes.record(WRITING, &written, RETRYING);
            }
            _ = ticker.tick() => {
                let window = if recalled { config.steady_window() } else { config.recall };
                let read = client.read(window).await.map(|(view, forgotten)| {
                    let dropped = liveness.merge(view, &forgotten);
                    if dropped > 0 {
                        tracing::info!(dropped, "liveness: forgot retired agents or checks");
                    }
                    recalled = true;
                });
                metrics.liveness_sync(if read.is_ok() { "ok" } else { "read_error" });
                reads.record("liveness: reading state from the store", &read, RETRYING);
                let now = unix_now();
                let stamp = ((now - config.write_delay.as_secs_f64()) * 1000.0) as i64;
                let state = liveness.snapshot();
                metrics.liveness_state(&state, &config.policy, now);
                let periodic = series::periodic(&state, &config.policy, now, config.carry_after(), stamp);
                let written = write_all(&client, periodic).await;
                if written.is_err() {
                    metrics.liveness_sync("write_error");
                }
                writes.record(WRITING, &written, RETRYING);
            }
        }
    }
}

async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|stop| *stop).await;
}

async fn write_all(
    client: &StoreClient,
    by_tenant: series::ByTenant,
) -> Result<(), crate::forward::ForwardError> {
    let mut first_error = None;
    for (tenant, batch) in by_tenant {
        if let Err(e) = client.write(&tenant, batch).await {
            first_error.get_or_insert(e);
        }
    }
    first_error.map_or(Ok(()), Err)
}
