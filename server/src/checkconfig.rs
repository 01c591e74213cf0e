//! `peeper-server check-config`: the effective configuration (file, env, flags) tried for
//! real, one line per item, exit non-zero on any failure: it validates, loads the TLS
//! certificate and key, reads the token file, and sends the store an empty write (each
//! tenant's URL in cluster mode), which a store that answers accepts.

use crate::auth::TokenCache;
use crate::config::ServerConfig;
use crate::forward::{Forwarder, Prepared};
use crate::store::StoreUrl;
use crate::tls::CertStore;
use peeper_proto::codec::encode_write_request;
use peeper_proto::prometheus::WriteRequest;

/// Prints the report on stdout; true when every item passed.
pub async fn check(config: &ServerConfig) -> bool {
    let mut ok = true;
    let mut line = |passed: bool, item: &str, detail: String| {
        ok &= passed;
        println!(
            "{:<4}  {item:<14} {detail}",
            if passed { "ok" } else { "FAIL" }
        );
    };
    line(
        true,
        "configuration",
        format!(
            "valid: listen {}, {}, metrics on {}",
            config.listen(),
            match config.tls() {
                Some(_) => "TLS".to_owned(),
                None => {
                    let proxies: Vec<String> = config
                        .trusted_proxies()
                        .blocks()
                        .iter()
                        .map(ToString::to_string)
                        .collect();
                    format!("plaintext, trusting proxies [{}]", proxies.join(", "))
                }
            },
            config.metrics_listen()
        ),
    );
    if let Some(paths) = config.tls() {
        match CertStore::load(paths) {
            Ok(_) => line(
                true,
                "tls",
                format!("{} with its key", paths.cert.display()),
            ),
            Err(err) => line(false, "tls", err.to_string()),
        }
    }
    match TokenCache::load_with_limits(config.data_dir(), config.limits()) {
        Ok(tokens) if tokens.is_empty() => line(
            true,
            "tokens",
            "none yet: writes are refused until `peeper-server token create --tenant NAME`"
                .to_owned(),
        ),
        Ok(tokens) => line(true, "tokens", format!("{} accepted", tokens.len())),
        Err(err) => line(false, "tokens", err.to_string()),
    }
    let forwarder = match Forwarder::new(config.forward_timeout()) {
        Ok(forwarder) => forwarder,
        Err(err) => {
            line(false, "store", err.to_string());
            return false;
        }
    };
    for (tenant, url) in store_urls(config.store()) {
        let empty = encode_write_request(&WriteRequest::default());
        let prepared = Prepared {
            url: url.clone(),
            body: empty.into(),
            rewritten: false,
        };
        let item = match &tenant {
            Some(tenant) => format!("store {tenant}"),
            None => "store".to_owned(),
        };
        match forwarder.send(prepared).await {
            Ok(()) => line(true, &item, format!("{url} accepts writes")),
            Err(err) => line(false, &item, format!("{url}: {err}")),
        }
    }
    ok
}

/// The URL of the single store, or each mapped tenant's in cluster mode.
fn store_urls(store: &StoreUrl) -> Vec<(Option<String>, reqwest::Url)> {
    match store {
        StoreUrl::Single(url) => vec![(None, url.clone())],
        StoreUrl::Cluster { by_tenant, .. } => {
            let mut urls: Vec<_> = by_tenant
                .iter()
                .map(|(tenant, url)| (Some(tenant.clone()), url.clone()))
                .collect();
            urls.sort();
            urls
        }
    }
}
