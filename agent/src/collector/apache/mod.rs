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

use super::{CollectError, CollectFuture, Collector, Cycle};
use peeper_proto::MetricFamily;
use peeper_proto::failures::FailureStreak;
use std::time::Duration;

/// How long to wait for the TCP (and TLS) connection to the status page.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// How long the whole request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// The most of a status page read; a real one is a few kilobytes.
const MAX_BODY: usize = 4 << 20;

/// Why the status page could not be read this cycle.
#[derive(Debug, thiserror::Error)]
pub enum ApacheError {
    #[error("cannot reach {url}: {source}")]
    Request {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error(
        "{url} answered HTTP {status}; it must answer 200 to this host (check `Require ip` in <Location /server-status>)"
    )]
    Status { url: String, status: u16 },
    #[error("{url} answered more than {MAX_BODY} bytes; is it the status page?")]
    TooLarge { url: String },
    #[error("cannot parse the status page: {key}: {value:?} is not a number")]
    Parse { key: String, value: String },
    #[error(
        "the answer is not a mod_status machine-readable page (the URL must end in `?auto` and point at a `SetHandler server-status` location)"
    )]
    NotStatusPage,
    #[error("cannot build the HTTP client: {0}")]
    Client(#[source] reqwest::Error),
}

/// The Apache collector (`job="apache"`).
#[derive(Debug)]
pub struct ApacheCollector {
    config: ApacheConfig,
    /// Built on the first cycle and kept, so connections are reused.
    client: Option<reqwest::Client>,
    /// The target's failure was logged and it has not recovered since.
    streak: FailureStreak,
    /// apache_exporter's `apache_exporter_scrape_failures_total`.
    failures: u64,
}

impl ApacheCollector {
    pub fn new(config: &ApacheConfig) -> Self {
        ApacheCollector {
            config: config.clone(),
            client: None,
            streak: FailureStreak::default(),
            failures: 0,
        }
    }

    fn client(&mut self) -> Result<reqwest::Client, ApacheError> {
        if let Some(client) = &self.client {
            return Ok(client.clone());
        }
        let client = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .pool_max_idle_per_host(1)
            .user_agent(concat!("peeper-agent/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(ApacheError::Client)?;
        self.client = Some(client.clone());
        Ok(client)
    }

    /// Fetches and parses the page once.
    async fn fetch(&mut self) -> Result<Status, ApacheError> {
        let client = self.client()?;
        let url = &self.config.url;
        let request_error = |source| ApacheError::Request {
            url: url.clone(),
            source,
        };
        let mut request = client.get(url);
        if let Some(host) = &self.config.host_override {
            request = request.header(reqwest::header::HOST, host);
        }
        let mut response = request.send().await.map_err(request_error)?;
        let status = response.status().as_u16();
        if status != 200 {
            return Err(ApacheError::Status {
                url: url.clone(),
                status,
            });
        }
        let mut body = Vec::with_capacity(4096);
        while let Some(chunk) = response.chunk().await.map_err(request_error)? {
            if body.len() + chunk.len() > MAX_BODY {
                return Err(ApacheError::TooLarge { url: url.clone() });
            }
            body.extend_from_slice(&chunk);
        }
        parse(&String::from_utf8_lossy(&body))
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
