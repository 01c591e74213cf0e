//! nginx's `stub_status` page and the families nginx-prometheus-exporter 0.11 makes of it.
//!
//! The page (ngx_http_stub_status_module) is always these four lines:
//! ```text
//! Active connections: 8
//! server accepts handled requests
//!  15 15 25
//! Reading: 2 Writing: 1 Waiting: 5
//! ```

use super::NginxError;
use peeper_proto::MetricFamily;

/// One reading of the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StubStatus {
    pub active: u64,
    pub accepted: u64,
    pub handled: u64,
    pub requests: u64,
    pub reading: u64,
    pub writing: u64,
    pub waiting: u64,
}

/// The page's words, with `None` where a number stands.
const LAYOUT: [Option<&str>; 16] = [
    Some("Active"),
    Some("connections:"),
    None,
    Some("server"),
    Some("accepts"),
    Some("handled"),
    Some("requests"),
    None,
    None,
    None,
    Some("Reading:"),
    None,
    Some("Writing:"),
    None,
    Some("Waiting:"),
    None,
];

/// Parses the page as the exporter does (its fixed template, any amount of blank space
/// between the words); anything else is not a stub_status page.
pub fn parse(text: &str) -> Result<StubStatus, NginxError> {
    let words: Vec<&str> = text.split_whitespace().collect();
    if words.len() != LAYOUT.len() {
        return Err(NginxError::NotStubStatus);
    }
    let mut numbers = [0u64; 7];
    let mut next = numbers.iter_mut();
    for (word, expected) in words.iter().zip(LAYOUT) {
        match expected {
            Some(label) if *word == label => {}
            Some(_) => return Err(NginxError::NotStubStatus),
            None => {
                let slot = next.next().expect("LAYOUT has seven numbers");
                *slot = word.parse().map_err(|_| NginxError::Parse {
                    value: (*word).to_owned(),
                })?;
            }
        }
    }
    let [
        active,
        accepted,
        handled,
        requests,
        reading,
        writing,
        waiting,
    ] = numbers;
    Ok(StubStatus {
        active,
        accepted,
        handled,
        requests,
        reading,
        writing,
        waiting,
    })
}

/// The exporter's families for one reading, in its order (`nginx_up` is the caller's).
pub fn families(status: &StubStatus) -> Vec<MetricFamily> {
    let counter = |name: &str, help: &str, value: u64| {
        MetricFamily::counter(name, help).with(&[], value as f64)
    };
    let gauge = |name: &str, help: &str, value: u64| {
        MetricFamily::gauge(name, help).with(&[], value as f64)
    };
    vec![
        counter(
            "nginx_connections_accepted",
            "Accepted client connections",
            status.accepted,
        ),
        gauge(
            "nginx_connections_active",
            "Active client connections",
            status.active,
        ),
        counter(
            "nginx_connections_handled",
            "Handled client connections",
            status.handled,
        ),
        gauge(
            "nginx_connections_reading",
            "Connections where NGINX is reading the request header",
            status.reading,
        ),
        gauge(
            "nginx_connections_waiting",
            "Idle client connections",
            status.waiting,
        ),
        gauge(
            "nginx_connections_writing",
            "Connections where NGINX is writing the response back to the client",
            status.writing,
        ),
        counter(
            "nginx_http_requests_total",
            "Total http requests",
            status.requests,
        ),
    ]
}
