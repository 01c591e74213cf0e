//! `[limits]`: the per-request, per-token, per-tenant and per-connection limits.

use super::ConfigError;
use serde::Deserialize;

/// Per-request limits (`[limits]` in the config file). Every rejection names the setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Largest request body as sent (compressed), in bytes.
    pub max_body_bytes: usize,
    /// Largest decoded body, in bytes; checked from the snappy header before allocating.
    pub max_decoded_bytes: usize,
    /// Most labels (including `__name__`) one series may carry.
    pub max_labels_per_series: usize,
    /// Longest label name, in bytes.
    pub max_label_name_len: usize,
    /// Longest label value, in bytes.
    pub max_label_value_len: usize,
    /// Most series one request may carry.
    pub max_series_per_request: usize,
    /// How far ahead of the server's clock a sample may be, in seconds; 0 turns the check off.
    pub max_future_secs: u64,
    /// How long one forward to the store may take, in seconds.
    pub forward_timeout_secs: u64,
    /// Samples a second one token may send (a token bucket); 0 = unlimited. A token's own
    /// `token create --rate-limit N` overrides it.
    pub max_samples_per_second_per_token: u64,
    /// The bucket's size in samples; 0 = two seconds' worth of the token's rate.
    pub rate_limit_burst_samples: u64,
    /// Distinct series one tenant may write per `series_window_secs`; a batch bringing new
    /// series past it is refused with 429. 0 = no limit.
    pub max_series_per_tenant: u64,
    /// The window of `max_series_per_tenant`, in seconds.
    pub series_window_secs: u64,
    /// Open connections at most; 0 = what the open-file limit allows (raised to its hard
    /// limit at start) minus a reserve.
    pub max_connections: usize,
    /// Open connections from one client address (trusted proxies are not counted).
    pub max_connections_per_address: usize,
    /// Concurrent HTTP/2 streams (requests) on one connection; a trusted proxy's connection
    /// carries many agents and gets `max_streams_per_proxy_connection`.
    pub max_streams_per_connection: u32,
    pub max_streams_per_proxy_connection: u32,
    /// Seconds a new connection (after its TLS handshake) may take to send its first request.
    pub first_request_timeout_secs: u64,
    /// Seconds a connection may sit without a request before it is closed.
    pub idle_timeout_secs: u64,
    /// Seconds a request body may take to arrive (each message, on a gRPC stream).
    pub body_timeout_secs: u64,
    /// Request-body bytes held in flight, server-wide; past it, new requests get 503.
    pub max_inflight_body_bytes: usize,
    /// Request-body bytes one token may have in flight; past it, 429.
    pub max_inflight_body_bytes_per_token: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 32 * 1024 * 1024,
            max_decoded_bytes: 32 * 1024 * 1024,
            max_labels_per_series: 40,
            max_label_name_len: 256,
            max_label_value_len: 4096,
            max_series_per_request: 100_000,
            max_future_secs: 600,
            forward_timeout_secs: 30,
            max_samples_per_second_per_token: 1_000_000,
            rate_limit_burst_samples: 0,
            max_series_per_tenant: 1_000_000,
            series_window_secs: 3600,
            max_connections: 0,
            max_connections_per_address: 256,
            max_streams_per_connection: 32,
            max_streams_per_proxy_connection: 1024,
            first_request_timeout_secs: 10,
            idle_timeout_secs: 120,
            body_timeout_secs: 30,
            max_inflight_body_bytes: 512 * 1024 * 1024,
            max_inflight_body_bytes_per_token: 96 * 1024 * 1024,
        }
    }
}

impl Limits {
    /// Every limit that must not be 0 is not.
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        let nonzero = [
            ("max_body_bytes", self.max_body_bytes as u64),
            ("max_decoded_bytes", self.max_decoded_bytes as u64),
            ("max_labels_per_series", self.max_labels_per_series as u64),
            ("max_label_name_len", self.max_label_name_len as u64),
            ("max_label_value_len", self.max_label_value_len as u64),
            ("max_series_per_request", self.max_series_per_request as u64),
            ("forward_timeout_secs", self.forward_timeout_secs),
            ("series_window_secs", self.series_window_secs),
            (
                "max_connections_per_address",
                self.max_connections_per_address as u64,
            ),
            (
                "max_streams_per_connection",
                u64::from(self.max_streams_per_connection),
            ),
            (
                "max_streams_per_proxy_connection",
                u64::from(self.max_streams_per_proxy_connection),
            ),
            (
                "first_request_timeout_secs",
                self.first_request_timeout_secs,
            ),
            ("idle_timeout_secs", self.idle_timeout_secs),
            ("body_timeout_secs", self.body_timeout_secs),
            (
                "max_inflight_body_bytes",
                self.max_inflight_body_bytes as u64,
            ),
            (
                "max_inflight_body_bytes_per_token",
                self.max_inflight_body_bytes_per_token as u64,
            ),
        ];
        match nonzero.iter().find(|(_, v)| *v == 0) {
            Some((setting, _)) => Err(ConfigError::ZeroLimit { setting }),
            None => Ok(()),
        }
    }
}
