//! What one probe measured, before it becomes families; and blackbox_exporter's metric
//! names and help texts (prober/prober.go, http.go, icmp.go, utils.go, tls.go).

/// A metric's name and help text.
pub type Name = (&'static str, &'static str);

pub mod names {
    use super::Name;
    pub const SUCCESS: Name = (
        "probe_success",
        "Displays whether or not the probe was a success",
    );
    pub const DURATION: Name = (
        "probe_duration_seconds",
        "Returns how long the probe took to complete in seconds",
    );
    pub const DNS_LOOKUP: Name = (
        "probe_dns_lookup_time_seconds",
        "Returns the time taken for probe dns lookup in seconds",
    );
    pub const IP_PROTOCOL: Name = (
        "probe_ip_protocol",
        "Specifies whether probe ip protocol is IP4 or IP6",
    );
    pub const IP_ADDR_HASH: Name = (
        "probe_ip_addr_hash",
        "Specifies the hash of IP address. It's useful to detect if the IP address changes.",
    );
    pub const HTTP_DURATION: Name = (
        "probe_http_duration_seconds",
        "Duration of http request by phase, summed over all redirects",
    );
    pub const HTTP_CONTENT_LENGTH: Name = (
        "probe_http_content_length",
        "Length of http content response",
    );
    pub const HTTP_BODY_LENGTH: Name = (
        "probe_http_uncompressed_body_length",
        "Length of uncompressed response body",
    );
    pub const HTTP_REDIRECTS: Name = ("probe_http_redirects", "The number of redirects");
    pub const HTTP_SSL: Name = (
        "probe_http_ssl",
        "Indicates if SSL was used for the final redirect",
    );
    pub const HTTP_STATUS_CODE: Name = ("probe_http_status_code", "Response HTTP status code");
    pub const HTTP_VERSION: Name = (
        "probe_http_version",
        "Returns the version of HTTP of the probe response",
    );
    pub const FAILED_DUE_TO_REGEX: Name = (
        "probe_failed_due_to_regex",
        "Indicates if probe failed due to regex",
    );
    pub const SSL_EARLIEST_CERT_EXPIRY: Name = (
        "probe_ssl_earliest_cert_expiry",
        "Returns earliest SSL cert expiry in unixtime",
    );
    pub const SSL_LAST_CHAIN_EXPIRY: Name = (
        "probe_ssl_last_chain_expiry_timestamp_seconds",
        "Returns last SSL chain expiry in timestamp seconds",
    );
    pub const TLS_VERSION_INFO: Name = ("probe_tls_version_info", "Contains the TLS version used");
    pub const ICMP_DURATION: Name = (
        "probe_icmp_duration_seconds",
        "Duration of icmp request by phase",
    );
    pub const ICMP_HOP_LIMIT: Name = (
        "probe_icmp_reply_hop_limit",
        "Replied packet hop limit (TTL for ipv4)",
    );
}

/// One measured value, with at most one label of its own (`phase`, `version`).
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: Name,
    pub label: Option<(&'static str, String)>,
    pub value: f64,
}

/// The values of one probe, in the order first set.
#[derive(Debug, Default, Clone)]
pub struct Samples(pub Vec<Sample>);

impl Samples {
    fn slot(&mut self, name: Name, label: Option<(&'static str, String)>) -> &mut f64 {
        let i = match self
            .0
            .iter()
            .position(|s| s.name.0 == name.0 && s.label == label)
        {
            Some(i) => i,
            None => {
                self.0.push(Sample {
                    name,
                    label,
                    value: 0.0,
                });
                self.0.len() - 1
            }
        };
        &mut self.0[i].value
    }

    /// Sets an unlabelled value.
    pub fn set(&mut self, name: Name, value: f64) {
        *self.slot(name, None) = value;
    }

    /// Sets a value with its own label.
    pub fn set_labeled(&mut self, name: Name, label: (&'static str, String), value: f64) {
        *self.slot(name, Some(label)) = value;
    }

    /// Adds to a phase of a duration family.
    pub fn add_phase(&mut self, name: Name, phase: &'static str, seconds: f64) {
        *self.slot(name, Some(("phase", phase.to_owned()))) += seconds;
    }

    /// The value of an unlabelled sample, for tests.
    pub fn get(&self, name: &str) -> Option<f64> {
        self.0
            .iter()
            .find(|s| s.name.0 == name && s.label.is_none())
            .map(|s| s.value)
    }
}

/// blackbox_exporter's `probe_ip_addr_hash`: FNV-1a (32 bit) of the address bytes as Go
/// holds them (16 bytes for IPv4 too, in the `::ffff:a.b.c.d` form).
pub fn ip_hash(ip: std::net::IpAddr) -> f64 {
    let bytes = match ip {
        std::net::IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
        std::net::IpAddr::V6(v6) => v6.octets(),
    };
    let mut hash: u32 = 0x811c_9dc5;
    for b in bytes {
        hash ^= u32::from(b);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    f64::from(hash)
}
