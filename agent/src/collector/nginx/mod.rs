//! The nginx collector: reads the `stub_status` page (ngx_http_stub_status_module) and
//! reports it with nginx-prometheus-exporter 0.11's names, types and help texts.
//!
//! A target that cannot be read reports `nginx_up 0` (and nothing else) every cycle, as the
//! exporter does; the cause is logged once (warn) and the recovery once (info). Like the
//! exporter, only a 200 answer that is a stub_status page counts as up, so an alert on
//! `nginx_up == 0` also catches a page that was removed or locked out.

pub mod config;
mod parse;

#[cfg(test)]
mod tests;

pub use config::NginxConfig;
pub use parse::{StubStatus, families, parse};

use super::status_page::{FetchError, PageKind, StatusPage};
use super::{CollectError, CollectFuture, Collector, Cycle};
use peeper_proto::MetricFamily;
use peeper_proto::failures::FailureStreak;

/// The page, for the shared fetching code.
const PAGE: PageKind = PageKind {
    name: "the stub_status page",
    access_hint: "`allow` in the `stub_status` location",
    // The page is about 100 bytes.
    max_body: 64 << 10,
};

/// Why the page could not be read this cycle.
#[derive(Debug, thiserror::Error)]
pub enum NginxError {
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error("cannot parse the stub_status page: {value:?} is not a number")]
    Parse { value: String },
    #[error(
        "the answer is not nginx's stub_status page (the URL must point at a location with `stub_status;`)"
    )]
    NotStubStatus,
}

/// The nginx collector (`job="nginx"`).
#[derive(Debug)]
pub struct NginxCollector {
    config: NginxConfig,
    /// The page and its client, kept so the connection is reused.
    page: StatusPage,
    /// The target's failure was logged and it has not recovered since.
    streak: FailureStreak,
}

impl NginxCollector {
    pub fn new(config: &NginxConfig) -> Self {
        NginxCollector {
            config: config.clone(),
            page: StatusPage::new(PAGE, &config.url, config.host_override.as_deref()),
            streak: FailureStreak::default(),
        }
    }

    /// Fetches and parses the page once.
    async fn fetch(&mut self) -> Result<StubStatus, NginxError> {
        let body = self.page.fetch().await?;
        parse(&body)
    }

    /// One cycle: the families, `nginx_up` included.
    pub async fn collect_now(&mut self) -> Vec<MetricFamily> {
        let result = self.fetch().await;
        let url = &self.config.url;
        let (up, mut families) = match result {
            Ok(status) => {
                let what = format_args!("nginx stub_status page {url}");
                self.streak.succeeded(what, "is readable again");
                (1.0, families(&status))
            }
            Err(error) => {
                let what = format_args!("nginx stub_status page {url}");
                self.streak
                    .failed(what, error, "reporting nginx_up 0 until it recovers");
                (0.0, Vec::new())
            }
        };
        families.push(
            MetricFamily::gauge("nginx_up", "Status of the last metric scrape").with(&[], up),
        );
        families
    }
}

impl Collector for NginxCollector {
    fn job(&self) -> &'static str {
        "nginx"
    }

    fn collect(&mut self, _cycle: Cycle) -> CollectFuture<'_> {
        Box::pin(async move { Ok::<_, CollectError>(self.collect_now().await) })
    }
}
