//! The `http` prober, after blackbox_exporter's prober/http.go: resolves the host itself
//! (pinning the address for the request), sends the module's request, follows up to 10
//! redirects, reads the body and reports status, version, lengths, redirects, TLS and phase
//! durations.
//!
//! Phases: `resolve` is the first lookup, `processing` runs from sending the request to the
//! response headers (it includes connecting and the TLS handshake, which reqwest does not
//! expose separately), `transfer` is reading the body. `connect` and `tls` are reported as 0.

use super::ProbesError;
use super::config::Module;
use super::net::resolve;
use super::samples::{Samples, names};
use super::tls;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

/// Redirects followed at most, as blackbox_exporter.
const MAX_REDIRECTS: usize = 10;
/// Bytes of the body kept for the `fail_if_body_*` checks; the rest is counted only.
const BODY_KEEP: usize = 1 << 20;

/// Probes one target; `Ok` is success.
pub async fn probe(target: &str, module: &Module, out: &mut Samples) -> Result<(), ProbesError> {
    for phase in ["resolve", "connect", "tls", "processing", "transfer"] {
        out.add_phase(names::HTTP_DURATION, phase, 0.0);
    }
    for name in [
        names::HTTP_CONTENT_LENGTH,
        names::HTTP_BODY_LENGTH,
        names::HTTP_REDIRECTS,
        names::HTTP_SSL,
        names::HTTP_STATUS_CODE,
        names::HTTP_VERSION,
        names::FAILED_DUE_TO_REGEX,
    ] {
        out.set(name, 0.0);
    }
    let text = if target.starts_with("http://") || target.starts_with("https://") {
        target.to_owned()
    } else {
        format!("http://{target}")
    };
    let url = reqwest::Url::parse(&text).map_err(|e| ProbesError::Target {
        target: target.to_owned(),
        reason: format!("not a URL: {e}"),
    })?;
    let host = url
        .host_str()
        .ok_or_else(|| ProbesError::Target {
            target: target.to_owned(),
            reason: "the URL has no host".to_owned(),
        })?
        .to_owned();
    let port = url.port_or_known_default().unwrap_or(80);

    let start = Instant::now();
    let ip = resolve(&host, module, out).await?;
    out.add_phase(
        names::HTTP_DURATION,
        "resolve",
        start.elapsed().as_secs_f64(),
    );

    let (tls_config, recorder) = tls::client_config(module, &[b"h2", b"http/1.1"])?;
    let redirects = Arc::new(AtomicUsize::new(0));
    let policy = if module.follow_redirects {
        let redirects = redirects.clone();
        reqwest::redirect::Policy::custom(move |attempt| {
            let count = attempt.previous().len();
            redirects.store(count, Ordering::Relaxed);
            if count > MAX_REDIRECTS {
                attempt.error(format!("more than {MAX_REDIRECTS} redirects"))
            } else {
                attempt.follow()
            }
        })
    } else {
        reqwest::redirect::Policy::none()
    };
    let mut builder = reqwest::Client::builder()
        .tls_backend_preconfigured(tls_config)
        .redirect(policy)
        .no_proxy()
        .pool_max_idle_per_host(0)
        .timeout(module.timeout)
        .user_agent(concat!(
            "peeper-agent/",
            env!("CARGO_PKG_VERSION"),
            " (probe)"
        ));
    if host.parse::<std::net::IpAddr>().is_err() && !host.starts_with('[') {
        builder = builder.resolve(&host, SocketAddr::new(ip, port));
    }
    let client = builder
        .build()
        .map_err(|e| ProbesError::Client(super::chain(&e)))?;

    let method =
        reqwest::Method::from_bytes(module.method.as_bytes()).map_err(|_| ProbesError::Target {
            target: target.to_owned(),
            reason: format!("method {:?} is not valid", module.method),
        })?;
    let mut request = client.request(method, url.clone());
    for (name, value) in &module.headers {
        request = request.header(name.as_str(), value.as_str());
    }
    if let Some(body) = &module.body {
        request = request.body(body.clone());
    }

    let sent = Instant::now();
    let result = request.send().await;
    out.add_phase(
        names::HTTP_DURATION,
        "processing",
        sent.elapsed().as_secs_f64(),
    );
    let redirect_count = redirects.load(Ordering::Relaxed) as f64;
    out.set(names::HTTP_REDIRECTS, redirect_count);
    let mut response = result.map_err(|e| ProbesError::Request {
        url: url.to_string(),
        message: super::chain(&e),
    })?;

    let status = response.status().as_u16();
    out.set(names::HTTP_STATUS_CODE, f64::from(status));
    out.set(
        names::HTTP_VERSION,
        match response.version() {
            reqwest::Version::HTTP_09 => 0.9,
            reqwest::Version::HTTP_10 => 1.0,
            reqwest::Version::HTTP_11 => 1.1,
            reqwest::Version::HTTP_2 => 2.0,
            reqwest::Version::HTTP_3 => 3.0,
            _ => 0.0,
        },
    );
    out.set(
        names::HTTP_CONTENT_LENGTH,
        response
            .headers()
            .get(reqwest::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()?.trim().parse::<f64>().ok())
            .unwrap_or(-1.0),
    );
    let final_tls = response.url().scheme() == "https";

    let transfer = Instant::now();
    let mut kept = Vec::new();
    let mut total = 0usize;
    let mut body_error = None;
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                total += chunk.len();
                if kept.len() < BODY_KEEP {
                    kept.extend_from_slice(&chunk[..chunk.len().min(BODY_KEEP - kept.len())]);
                }
            }
            Ok(None) => break,
            Err(e) => {
                body_error = Some(super::chain(&e));
                break;
            }
        }
    }
    out.add_phase(
        names::HTTP_DURATION,
        "transfer",
        transfer.elapsed().as_secs_f64(),
    );
    out.set(names::HTTP_BODY_LENGTH, total as f64);

    if final_tls {
        out.set(names::HTTP_SSL, 1.0);
        tls::report(&recorder.seen(), out);
    }

    let status_ok = if module.valid_status_codes.is_empty() {
        (200..300).contains(&status)
    } else {
        module.valid_status_codes.contains(&status)
    };
    if !status_ok {
        return Err(ProbesError::Status {
            url: url.to_string(),
            status,
            expected: if module.valid_status_codes.is_empty() {
                "2xx".to_owned()
            } else {
                format!("{:?}", module.valid_status_codes)
            },
        });
    }
    if !module.fail_if_body_contains.is_empty() || !module.fail_if_body_not_contains.is_empty() {
        let body = String::from_utf8_lossy(&kept);
        let found = module
            .fail_if_body_contains
            .iter()
            .find(|s| body.contains(s.as_str()));
        let missing = module
            .fail_if_body_not_contains
            .iter()
            .find(|s| !body.contains(s.as_str()));
        let reason = match (found, missing) {
            (Some(s), _) => Some(format!("the body contains {s:?}")),
            (None, Some(s)) => Some(format!("the body does not contain {s:?}")),
            (None, None) => None,
        };
        if let Some(reason) = reason {
            out.set(names::FAILED_DUE_TO_REGEX, 1.0);
            return Err(ProbesError::Body {
                url: url.to_string(),
                reason,
            });
        }
    }
    if let Some(message) = body_error {
        return Err(ProbesError::Request {
            url: url.to_string(),
            message: format!("reading the body: {message}"),
        });
    }
    if final_tls && module.fail_if_ssl {
        return Err(ProbesError::Ssl {
            url: url.to_string(),
            reason: "the final answer came over TLS (fail_if_ssl)",
        });
    }
    if !final_tls && module.fail_if_not_ssl {
        return Err(ProbesError::Ssl {
            url: url.to_string(),
            reason: "the final answer did not come over TLS (fail_if_not_ssl)",
        });
    }
    Ok(())
}
