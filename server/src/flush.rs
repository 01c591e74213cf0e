//! Shortening the window in which an acknowledged batch can still be lost: VictoriaMetrics
//! keeps fresh samples in memory for several seconds before they are on disk, and 1.79 has no
//! flag to shorten that (`-inmemoryDataFlushInterval` came later). While batches arrive, the
//! server asks it to flush (`/internal/force_flush`) every `store_flush_interval`; README's
//! delivery guarantees give the window measured with and without it.

use crate::store::StoreUrl;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::sync::watch;

/// Notes that a batch reached the store since the last flush.
#[derive(Debug, Default)]
pub struct Dirty(AtomicBool);

impl Dirty {
    pub fn mark(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    fn take(&self) -> bool {
        self.0.swap(false, Ordering::Relaxed)
    }
}

/// The flush URL of a single-node VictoriaMetrics (`.../api/v1/write` → `.../internal/force_flush`).
pub fn flush_url(store: &StoreUrl) -> Option<reqwest::Url> {
    let StoreUrl::Single(write) = store else {
        return None;
    };
    let base = write.path().strip_suffix("/api/v1/write")?;
    let mut url = write.clone();
    url.set_path(&format!("{base}/internal/force_flush"));
    url.set_query(None);
    Some(url)
}

/// Flushes every `every` while batches arrive, until shutdown. A store without the endpoint
/// (not VictoriaMetrics) stops the loop after one log line.
pub async fn run(
    url: reqwest::Url,
    every: Duration,
    dirty: Arc<Dirty>,
    mut shutdown: watch::Receiver<bool>,
) {
    let Ok(client) = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
    else {
        return;
    };
    let mut ticker = tokio::time::interval(every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut failing = false;
    loop {
        tokio::select! {
            _ = crate::listener::stopped(&mut shutdown) => return,
            _ = ticker.tick() => {}
        }
        if !dirty.take() {
            continue;
        }
        match client.get(url.clone()).send().await {
            Ok(r) if r.status().is_success() => {
                if std::mem::take(&mut failing) {
                    tracing::info!("the store flushes again");
                }
            }
            Ok(r) if r.status() == reqwest::StatusCode::NOT_FOUND => {
                tracing::info!(%url, "the store has no force_flush endpoint (not VictoriaMetrics): not flushing");
                return;
            }
            Ok(r) => {
                if !std::mem::replace(&mut failing, true) {
                    tracing::warn!(%url, status = %r.status(), "cannot flush the store; retrying");
                }
            }
            Err(e) => {
                if !std::mem::replace(&mut failing, true) {
                    tracing::warn!(%url, "cannot flush the store; retrying: {}", e.without_url());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flush_url_is_derived_for_single_node_victoriametrics_only() {
        let single = StoreUrl::new("http://vm:8428/api/v1/write", &Default::default()).unwrap();
        assert_eq!(
            flush_url(&single).unwrap().as_str(),
            "http://vm:8428/internal/force_flush"
        );
        let mimir = StoreUrl::new("http://mimir/api/v1/push", &Default::default()).unwrap();
        assert!(flush_url(&mimir).is_none());
    }
}
