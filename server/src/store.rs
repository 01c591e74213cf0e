//! Where a tenant's data goes: one remote-write URL (single-node VictoriaMetrics,
//! Prometheus, Mimir), or a VictoriaMetrics **cluster** URL with an `{accountID}`
//! placeholder (`http://vminsert:8480/insert/{accountID}/prometheus/api/v1/write`) that is
//! filled per tenant from the `[tenants.<name>]` tables of the config file:
//!
//! ```toml
//! [tenants.acme]
//! account_id = 42
//! [tenants.globex]
//! account_id = 7
//! project_id = 3      # optional: /insert/7:3/...
//! ```
//!
//! A tenant without a table is **refused** (403 / PERMISSION_DENIED naming the missing
//! `[tenants.<name>]`), never written to a default account: mixing tenants in one account
//! is exactly what cluster mode is there to prevent. URLs are built once at start-up.

use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::fmt;

/// The placeholder of a cluster write URL.
pub const ACCOUNT_PLACEHOLDER: &str = "{accountID}";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("remote_write_url = {value:?} is not an http:// or https:// URL: {message}")]
    Url { value: String, message: String },
    #[error(
        "[tenants.{tenant}] is configured but remote_write_url = {url:?} has no {ACCOUNT_PLACEHOLDER} \
         placeholder: use a cluster URL like \
         http://vminsert:8480/insert/{{accountID}}/prometheus/api/v1/write, or remove [tenants]"
    )]
    TenantsWithoutCluster { tenant: String, url: String },
    #[error("[tenants.{0}]: {1}")]
    TenantName(String, String),
    #[error(
        "tenant {tenant:?} has no VictoriaMetrics account: add `[tenants.{tenant}]` with \
         `account_id = N` to the server's config file (cluster mode refuses unmapped tenants)"
    )]
    Unmapped { tenant: String },
}

/// One tenant's VictoriaMetrics cluster account (`[tenants.<name>]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantConfig {
    /// The cluster's accountID for this tenant.
    pub account_id: u32,
    /// The cluster's projectID (optional; `account_id:project_id` in the URL).
    #[serde(default)]
    pub project_id: Option<u32>,
}

/// The store's write URL(s).
#[derive(Debug, Clone)]
pub enum StoreUrl {
    /// Every tenant goes to the same URL (tenant set by `extra_label` or rewrite).
    Single(reqwest::Url),
    /// VictoriaMetrics cluster: one URL per mapped tenant.
    Cluster {
        template: String,
        by_tenant: HashMap<String, reqwest::Url>,
    },
}

impl StoreUrl {
    /// Parses `url`; a URL holding `{accountID}` is a cluster template whose tenants come
    /// from `tenants`.
    pub fn new(url: &str, tenants: &BTreeMap<String, TenantConfig>) -> Result<Self, StoreError> {
        if !url.contains(ACCOUNT_PLACEHOLDER) {
            if let Some(tenant) = tenants.keys().next() {
                return Err(StoreError::TenantsWithoutCluster {
                    tenant: tenant.clone(),
                    url: url.to_owned(),
                });
            }
            return parse(url, url).map(StoreUrl::Single);
        }
        // Validate the template even before any tenant is mapped.
        parse(&url.replace(ACCOUNT_PLACEHOLDER, "0"), url)?;
        let mut by_tenant = HashMap::with_capacity(tenants.len());
        for (tenant, account) in tenants {
            crate::tokens::validate_tenant(tenant)
                .map_err(|e| StoreError::TenantName(tenant.clone(), e.to_string()))?;
            let id = match account.project_id {
                Some(project) => format!("{}:{project}", account.account_id),
                None => account.account_id.to_string(),
            };
            by_tenant.insert(
                tenant.clone(),
                parse(&url.replace(ACCOUNT_PLACEHOLDER, &id), url)?,
            );
        }
        Ok(StoreUrl::Cluster {
            template: url.to_owned(),
            by_tenant,
        })
    }

    /// The write URL of `tenant` (without the `extra_label` query).
    pub fn url_for(&self, tenant: &str) -> Result<&reqwest::Url, StoreError> {
        match self {
            StoreUrl::Single(url) => Ok(url),
            StoreUrl::Cluster { by_tenant, .. } => {
                by_tenant.get(tenant).ok_or_else(|| StoreError::Unmapped {
                    tenant: tenant.to_owned(),
                })
            }
        }
    }

    pub fn is_cluster(&self) -> bool {
        matches!(self, StoreUrl::Cluster { .. })
    }
}

impl fmt::Display for StoreUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreUrl::Single(url) => write!(f, "{url}"),
            StoreUrl::Cluster {
                template,
                by_tenant,
            } => write!(f, "{template} ({} tenants mapped)", by_tenant.len()),
        }
    }
}

fn parse(url: &str, shown: &str) -> Result<reqwest::Url, StoreError> {
    let error = |message: String| StoreError::Url {
        value: shown.to_owned(),
        message,
    };
    let parsed = reqwest::Url::parse(url).map_err(|e| error(e.to_string()))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(error(format!(
            "scheme {:?} is not supported",
            parsed.scheme()
        )));
    }
    if parsed.host_str().is_none() {
        return Err(error("it has no host".to_owned()));
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenants(list: &[(&str, u32, Option<u32>)]) -> BTreeMap<String, TenantConfig> {
        list.iter()
            .map(|(t, a, p)| {
                (
                    (*t).to_owned(),
                    TenantConfig {
                        account_id: *a,
                        project_id: *p,
                    },
                )
            })
            .collect()
    }

    #[test]
    fn cluster_urls_are_filled_per_tenant() {
        let url = "http://vminsert:8480/insert/{accountID}/prometheus/api/v1/write";
        let store =
            StoreUrl::new(url, &tenants(&[("acme", 42, None), ("globex", 7, Some(3))])).unwrap();
        assert!(store.is_cluster());
        assert_eq!(
            store.url_for("acme").unwrap().as_str(),
            "http://vminsert:8480/insert/42/prometheus/api/v1/write"
        );
        assert_eq!(
            store.url_for("globex").unwrap().as_str(),
            "http://vminsert:8480/insert/7:3/prometheus/api/v1/write"
        );
        let err = store.url_for("initech").unwrap_err().to_string();
        assert!(
            err.contains("[tenants.initech]") && err.contains("account_id"),
            "{err}"
        );
    }

    #[test]
    fn single_urls_and_misconfigurations() {
        let single = StoreUrl::new("http://vm:8428/api/v1/write", &BTreeMap::new()).unwrap();
        assert_eq!(
            single.url_for("any").unwrap().as_str(),
            "http://vm:8428/api/v1/write"
        );
        let err = StoreUrl::new("http://vm:8428/api/v1/write", &tenants(&[("a", 1, None)]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("{accountID}"), "{err}");
        assert!(StoreUrl::new("ftp://x/{accountID}", &BTreeMap::new()).is_err());
        assert!(StoreUrl::new("http://x/{accountID}", &tenants(&[("bad name", 1, None)])).is_err());
    }
}
