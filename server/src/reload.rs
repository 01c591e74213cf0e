//! `SIGHUP` (`systemctl reload peeper-server`): the config file read again and the TLS
//! certificate loaded again. The certificate takes effect for new connections at once; the
//! token file needs no signal (it is re-read whenever it changes). Other settings shape the
//! listeners and the request state built at start, so a change to one of them is named in
//! the log as applying at the next restart. A configuration or certificate that cannot be
//! used is refused with one log line and counted; the running one stays.

use crate::config::ServerConfig;
use crate::metrics::{Metrics, ResultLabels};
use crate::tls::CertStore;
use std::sync::Arc;

/// What a reload needs from the running server.
#[derive(Debug)]
pub struct Reloader {
    running: ServerConfig,
    certs: Option<Arc<CertStore>>,
    metrics: Arc<Metrics>,
}

impl Reloader {
    pub fn new(
        running: ServerConfig,
        certs: Option<Arc<CertStore>>,
        metrics: Arc<Metrics>,
    ) -> Self {
        Reloader {
            running,
            certs,
            metrics,
        }
    }

    /// Applies `next`, or records why it could not be read. True when applied.
    pub fn apply(&mut self, next: Result<ServerConfig, String>) -> bool {
        let result = next.and_then(|next| self.switch(next));
        let success = result.is_ok();
        let label = ResultLabels {
            result: if success { "success" } else { "error" },
        };
        self.metrics.config_reloads.get_or_create(&label).inc();
        match result {
            Ok(restart) if restart.is_empty() => tracing::info!("configuration reloaded"),
            Ok(restart) => tracing::warn!(
                settings = ?restart,
                "configuration reloaded; these settings changed and apply at the next restart"
            ),
            Err(problem) => tracing::error!(
                "configuration reload refused, the running configuration stays: {problem}"
            ),
        }
        success
    }

    /// The certificate swapped; returns the settings that need a restart.
    fn switch(&mut self, next: ServerConfig) -> Result<Vec<&'static str>, String> {
        match (&self.certs, next.tls()) {
            (Some(certs), Some(paths)) => certs.reload(paths).map_err(|e| e.to_string())?,
            (None, None) => {}
            _ => {
                return Err(
                    "switching between TLS and --plaintext needs a restart (systemctl restart peeper-server)"
                        .to_owned(),
                );
            }
        }
        let restart = changed_settings(&self.running, &next);
        self.running = next;
        Ok(restart)
    }
}

/// Settings other than the certificate that differ.
fn changed_settings(a: &ServerConfig, b: &ServerConfig) -> Vec<&'static str> {
    let fields: [(&'static str, String, String); 9] = [
        (
            "listen",
            format!("{:?}", a.listen()),
            format!("{:?}", b.listen()),
        ),
        (
            "metrics_listen",
            format!("{:?}", a.metrics_listen()),
            format!("{:?}", b.metrics_listen()),
        ),
        (
            "remote_write_url / tenants",
            format!("{:?}", a.store()),
            format!("{:?}", b.store()),
        ),
        (
            "data_dir",
            format!("{:?}", a.data_dir()),
            format!("{:?}", b.data_dir()),
        ),
        (
            "forward_mode",
            format!("{:?}", a.forward_mode()),
            format!("{:?}", b.forward_mode()),
        ),
        (
            "limits",
            format!("{:?}", a.limits()),
            format!("{:?}", b.limits()),
        ),
        (
            "trusted_proxies",
            format!("{:?}", a.trusted_proxies()),
            format!("{:?}", b.trusted_proxies()),
        ),
        (
            "liveness",
            format!("{:?}", a.liveness()),
            format!("{:?}", b.liveness()),
        ),
        (
            "store_flush_interval",
            format!("{:?}", a.store_flush()),
            format!("{:?}", b.store_flush()),
        ),
    ];
    fields
        .into_iter()
        .filter(|(_, was, is)| was != is)
        .map(|(name, _, _)| name)
        .collect()
}
