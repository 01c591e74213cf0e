//! Reading a web server's own small status page over HTTP (Apache's `server-status?auto`,
//! nginx's `stub_status`): one client kept across cycles, an optional `Host` header, only a
//! 200 answer counts, and the body read up to a bound so a wrong URL cannot fill memory.

use std::time::Duration;

/// How long to wait for the TCP (and TLS) connection to the page.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// How long the whole request may take (nginx-prometheus-exporter's default timeout).
pub(super) const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// What a page is, for the messages of [`FetchError`].
#[derive(Debug, Clone, Copy)]
pub struct PageKind {
    /// "the status page", "the stub_status page".
    pub name: &'static str,
    /// Where access to the page is granted, for a refused request.
    pub access_hint: &'static str,
    /// The most of an answer read.
    pub max_body: usize,
}

/// Why the page could not be fetched this cycle.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("cannot reach {url}: {source}")]
    Request {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("{url} answered HTTP {status}; it must answer 200 to this host (check {hint})")]
    Status {
        url: String,
        status: u16,
        hint: &'static str,
    },
    #[error("{url} answered more than {max} bytes; is it {page}?")]
    TooLarge {
        url: String,
        max: usize,
        page: &'static str,
    },
    #[error("cannot build the HTTP client: {0}")]
    Client(#[source] reqwest::Error),
}

/// One status page and the client that reads it.
#[derive(Debug)]
pub struct StatusPage {
    kind: PageKind,
    url: String,
    host_override: Option<String>,
    /// Built on first use and kept, so the connection is reused across cycles.
    client: Option<reqwest::Client>,
}

impl StatusPage {
    pub fn new(kind: PageKind, url: &str, host_override: Option<&str>) -> Self {
        StatusPage {
            kind,
            url: url.to_owned(),
            host_override: host_override.map(str::to_owned),
            client: None,
        }
    }

    fn client(&mut self) -> Result<reqwest::Client, FetchError> {
        if let Some(client) = &self.client {
            return Ok(client.clone());
        }
        let client = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .pool_max_idle_per_host(1)
            .user_agent(concat!("peeper-agent/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(FetchError::Client)?;
        self.client = Some(client.clone());
        Ok(client)
    }

    /// Fetches the page once: its body as text (invalid UTF-8 replaced).
    pub async fn fetch(&mut self) -> Result<String, FetchError> {
        let client = self.client()?;
        let url = &self.url;
        let request_error = |source| FetchError::Request {
            url: url.clone(),
            source,
        };
        let mut request = client.get(url);
        if let Some(host) = &self.host_override {
            request = request.header(reqwest::header::HOST, host);
        }
        let mut response = request.send().await.map_err(request_error)?;
        let status = response.status().as_u16();
        if status != 200 {
            return Err(FetchError::Status {
                url: url.clone(),
                status,
                hint: self.kind.access_hint,
            });
        }
        let mut body = Vec::with_capacity(4096);
        while let Some(chunk) = response.chunk().await.map_err(request_error)? {
            if body.len() + chunk.len() > self.kind.max_body {
                return Err(FetchError::TooLarge {
                    url: url.clone(),
                    max: self.kind.max_body,
                    page: self.kind.name,
                });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(String::from_utf8_lossy(&body).into_owned())
    }
}
