//! The Apache collector: fetches mod_status's machine-readable page (`/server-status?auto`)
//! and reports it with apache_exporter's names (Lusitaniae/apache_exporter).
//!
//! A target that cannot be read reports `apache_up 0` every cycle; the cause is logged once
//! (warn) and the recovery once (info). Unlike apache_exporter, which reports `apache_up 1`
//! for any HTTP answer, an answer that is not a 200 status page also counts as down, so an
//! alert on `apache_up == 0` catches a status page that was switched off or locked out.

pub mod config;
mod parse;

#[cfg(test)]
mod tests;

pub use config::ApacheConfig;
pub use parse::{SCOREBOARD_STATES, Status, families, parse, scoreboard, version_number};

use super::status_page::{FetchError, PageKind, StatusPage};
use super::{CollectError, CollectFuture, Collector, Cycle};
use peeper_proto::MetricFamily;
use peeper_proto::failures::FailureStreak;

/// The page, for the shared fetching code.
const PAGE: PageKind = PageKind {
    name: "the status page",
    access_hint: "`Require ip` in <Location /server-status>",
    // The most of a status page read; a real one is a few kilobytes.
    max_body: 4 << 20,
};

/// Why the status page could not be read this cycle.
#[derive(Debug, thiserror::Error)]
pub enum ApacheError {
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error("cannot parse the status page: {key}: {value:?} is not a number")]
    Parse { key: String, value: String },
    #[error(
        "the answer is not a mod_status machine-readable page (the URL must end in `?auto` and point at a `SetHandler server-status` location)"
    )]
    NotStatusPage,
}

/// The Apache collector (`job="apache"`).
#[derive(Debug)]
pub struct ApacheCollector {
    config: ApacheConfig,
    /// The page and its client, kept so connections are reused.
    page: StatusPage,
    /// The target's failure was logged and it has not recovered since.
    streak: FailureStreak,
    /// apache_exporter's `apache_exporter_scrape_failures_total`.
    failures: u64,
}

impl ApacheCollector {
    pub fn new(config: &ApacheConfig) -> Self {
        ApacheCollector {
            config: config.clone(),
            page: StatusPage::new(PAGE, &config.url, config.host_override.as_deref()),
            streak: FailureStreak::default(),
            failures: 0,
        }
    }

    /// Fetches and parses the page once.
    async fn fetch(&mut self) -> Result<Status, ApacheError> {
        let body = self.page.fetch().await?;
        parse(&body)
    }

    /// One cycle: the families, `apache_up` and the failure counter included.
    pub async fn collect_now(&mut self) -> Vec<MetricFamily> {
        let result = self.fetch().await;
        let (up, mut families) = match result {
            Ok(status) => {
                let what = format_args!("apache status page {}", self.config.url);
                self.streak.succeeded(what, "is readable again");
                (1.0, families(&status))
            }
            Err(error) => {
                self.failures += 1;
                let what = format_args!("apache status page {}", self.config.url);
                self.streak
                    .failed(what, error, "reporting apache_up 0 until it recovers");
                (0.0, Vec::new())
            }
        };
        families.insert(
            0,
            MetricFamily::gauge("apache_up", "Could the apache server be reached").with(&[], up),
        );
        families.push(
            MetricFamily::counter(
                "apache_exporter_scrape_failures_total",
                "Number of errors while scraping apache.",
            )
            .with(&[], self.failures as f64),
        );
        families
    }
}

impl Collector for ApacheCollector {
    fn job(&self) -> &'static str {
        "apache"
    }

    fn collect(&mut self, _cycle: Cycle) -> CollectFuture<'_> {
        Box::pin(async move { Ok::<_, CollectError>(self.collect_now().await) })
    }
}
