//! The families: ssl_exporter's names, labels and help texts, `target` on every endpoint
//! series, and Peeper's extras.

use super::cert::CertInfo;
use super::files::PatternResult;
use super::probe::Checked;
use peeper_proto::MetricFamily;
use std::time::{SystemTime, UNIX_EPOCH};

/// What the families need to know about one endpoint.
pub struct EndpointView<'a> {
    pub target: &'a str,
    pub last: Option<&'a Result<Checked, ()>>,
    pub errors_total: u64,
    pub last_check: Option<SystemTime>,
    pub next_check: SystemTime,
}

fn unix(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

fn push_cert(family: &mut MetricFamily, first: &[(&str, &str)], cert: &CertInfo, value: i64) {
    let mut labels: Vec<(&str, &str)> = first.to_vec();
    labels.extend(cert.labels());
    family.push(&labels, value as f64);
}

/// The endpoint families, in a fixed order.
pub fn endpoint_families<'a>(
    endpoints: impl Iterator<Item = EndpointView<'a>>,
) -> Vec<MetricFamily> {
    let mut success = MetricFamily::gauge("ssl_probe_success", "If the probe was a success");
    let mut version = MetricFamily::gauge("ssl_tls_version_info", "The TLS version used");
    let mut not_after = MetricFamily::gauge(
        "ssl_cert_not_after",
        "NotAfter expressed as a Unix Epoch Time",
    );
    let mut not_before = MetricFamily::gauge(
        "ssl_cert_not_before",
        "NotBefore expressed as a Unix Epoch Time",
    );
    let mut v_not_after = MetricFamily::gauge(
        "ssl_verified_cert_not_after",
        "NotAfter expressed as a Unix Epoch Time",
    );
    let mut v_not_before = MetricFamily::gauge(
        "ssl_verified_cert_not_before",
        "NotBefore expressed as a Unix Epoch Time",
    );
    let mut verified = MetricFamily::gauge(
        "ssl_verified",
        "1 if the presented chain leads to a trusted root (system roots or certs.ca_file) and every certificate in it is valid now",
    );
    let mut hostname = MetricFamily::gauge(
        "ssl_hostname_match",
        "1 if the leaf certificate is valid for the name checked (the SNI name, or the IP address)",
    );
    let mut errors = MetricFamily::counter(
        "peeper_certs_endpoint_errors_total",
        "Failed checks of the endpoint since the agent started",
    );
    let mut last_check = MetricFamily::gauge(
        "peeper_certs_last_check_timestamp_seconds",
        "When the endpoint was last checked, as a Unix time",
    );
    let mut next_check = MetricFamily::gauge(
        "peeper_certs_next_check_timestamp_seconds",
        "When the endpoint will be checked next (estimated; later while it keeps failing), as a Unix time",
    );
    for view in endpoints {
        let target = [("target", view.target)];
        match view.last {
            Some(Ok(checked)) => {
                success.push(&target, 1.0);
                version.push(
                    &[("target", view.target), ("version", checked.tls_version)],
                    1.0,
                );
                for cert in &checked.peer {
                    push_cert(&mut not_after, &target, cert, cert.not_after);
                    push_cert(&mut not_before, &target, cert, cert.not_before);
                }
                if let Some(chain) = &checked.verified_chain {
                    let first = [("target", view.target), ("chain_no", "0")];
                    for cert in chain {
                        push_cert(&mut v_not_after, &first, cert, cert.not_after);
                        push_cert(&mut v_not_before, &first, cert, cert.not_before);
                    }
                }
                verified.push(&target, f64::from(u8::from(checked.verified)));
                hostname.push(&target, f64::from(u8::from(checked.hostname_match)));
            }
            Some(Err(())) => success.push(&target, 0.0),
            None => {}
        }
        errors.push(&target, view.errors_total as f64);
        if let Some(t) = view.last_check {
            last_check.push(&target, unix(t));
        }
        next_check.push(&target, unix(view.next_check).round());
    }
    vec![
        success,
        version,
        not_after,
        not_before,
        v_not_after,
        v_not_before,
        verified,
        hostname,
        errors,
        last_check,
        next_check,
    ]
}

/// The file families, and `ssl_probe_success{target="<pattern>"}` per pattern (1 when it
/// found a certificate), as ssl_exporter's file prober reports it.
pub fn file_families(patterns: &[PatternResult]) -> Vec<MetricFamily> {
    let mut success = MetricFamily::gauge("ssl_probe_success", "If the probe was a success");
    let mut not_after = MetricFamily::gauge(
        "ssl_file_cert_not_after",
        "NotAfter expressed as a Unix Epoch Time for a certificate found in a file",
    );
    let mut not_before = MetricFamily::gauge(
        "ssl_file_cert_not_before",
        "NotBefore expressed as a Unix Epoch Time for a certificate found in a file",
    );
    for pattern in patterns {
        success.push(
            &[("target", &pattern.pattern)],
            f64::from(u8::from(pattern.success())),
        );
        for (path, certs) in &pattern.files {
            let file = path.to_string_lossy();
            for cert in certs {
                push_cert(&mut not_after, &[("file", &file)], cert, cert.not_after);
                push_cert(&mut not_before, &[("file", &file)], cert, cert.not_before);
            }
        }
    }
    vec![success, not_after, not_before]
}
