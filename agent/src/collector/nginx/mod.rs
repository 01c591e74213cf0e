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

use super::{CollectError, CollectFuture, Collector, Cycle};
use peeper_proto::MetricFamily;
use peeper_proto::failures::FailureStreak;
use std::time::Duration;

/// How long to wait for the TCP (and TLS) connection to the page.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// How long the whole request may take (the exporter's default `-nginx.timeout`).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// The most of an answer read; the page is about 100 bytes.
const MAX_BODY: usize = 64 << 10;

/// Why the page could not be read this cycle.
#[derive(Debug, thiserror::Error)]
pub enum NginxError {
    #[error("cannot reach {url}: {source}")]
    Request {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error(
        "{url} answered HTTP {status}; it must answer 200 to this host (check `allow` in the `stub_status` location)"
    )]
    Status { url: String, status: u16 },
    #[error("{url} answered more than {MAX_BODY} bytes; is it the stub_status page?")]
    TooLarge { url: String },
    #[error("cannot parse the stub_status page: {value:?} is not a number")]
    Parse { value: String },
    #[error(
        "the answer is not nginx's stub_status page (the URL must point at a location with `stub_status;`)"
    )]
    NotStubStatus,
    #[error("cannot build the HTTP client: {0}")]
    Client(#[source] reqwest::Error),
}

/// The nginx collector (`job="nginx"`).
#[derive(Debug)]
pub struct NginxCollector {
    config: NginxConfig,
    /// Built on the first cycle and kept, so the connection is reused.
    client: Option<reqwest::Client>,
    /// The target's failure was logged and it has not recovered since.
    streak: FailureStreak,
}

impl NginxCollector {
    pub fn new(config: &NginxConfig) -> Self {
        NginxCollector {
            config: config.clone(),
            client: None,
            streak: FailureStreak::default(),
        }
    }

    fn client(&mut self) -> Result<reqwest::Client, NginxError> {
        if let Some(client) = &self.client {
            return Ok(client.clone());
        }
        let client = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .pool_max_idle_per_host(1)
            .user_agent(concat!("peeper-agent/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(NginxError::Client)?;
        self.client = Some(client.clone());
        Ok(client)
    }

    /// Fetches and parses the page once.
    async fn fetch(&mut self) -> Result<StubStatus, NginxError> {
        let client = self.client()?;
        let url = &self.config.url;
        let request_error = |source| NginxError::Request {
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
            return Err(NginxError::Status {
                url: url.clone(),
                status,
            });
        }
        let mut body = Vec::with_capacity(256);
        while let Some(chunk) = response.chunk().await.map_err(request_error)? {
            if body.len() + chunk.len() > MAX_BODY {
                return Err(NginxError::TooLarge { url: url.clone() });
            }
            body.extend_from_slice(&chunk);
        }
        parse(&String::from_utf8_lossy(&body))
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
