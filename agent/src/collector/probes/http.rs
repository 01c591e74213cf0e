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
    set_zeros(out);
    let (url, host, port) = parse_target(target)?;

    let start = Instant::now();
    let ip = resolve(&host, module, out).await?;
    out.add_phase(
        names::HTTP_DURATION,
        "resolve",
        start.elapsed().as_secs_f64(),
    );

    let (tls_config, recorder) = tls::client_config(module, &[b"h2", b"http/1.1"])?;
    let redirects = Arc::new(AtomicUsize::new(0));
    let client = client(
        module,
        tls_config,
        &redirects,
        &host,
        SocketAddr::new(ip, port),
    )?;
    let request = request(&client, module, target, &url)?;

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

    let status = report_head(&response, out);
    let final_tls = response.url().scheme() == "https";

    let transfer = Instant::now();
    let body = read_body(&mut response).await;
    out.add_phase(
        names::HTTP_DURATION,
        "transfer",
        transfer.elapsed().as_secs_f64(),
    );
    out.set(names::HTTP_BODY_LENGTH, body.total as f64);

    if final_tls {
        out.set(names::HTTP_SSL, 1.0);
        tls::report(&recorder.seen(), out);
    }

    check_status(module, &url, status)?;
    check_body(module, &url, &body.kept, out)?;
    if let Some(message) = body.error {
        return Err(ProbesError::Request {
            url: url.to_string(),
            message: format!("reading the body: {message}"),
        });
    }
    check_ssl(module, &url, final_tls)
}

/// Every family of the prober at 0, so a failed probe still reports them all.
fn set_zeros(out: &mut Samples) {
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
}

/// The target as a URL (`http://` when it names no scheme), its host and port.
fn parse_target(target: &str) -> Result<(reqwest::Url, String, u16), ProbesError> {
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
    Ok((url, host, port))
}

/// Follows up to [`MAX_REDIRECTS`] redirects when the module does, counting them in
/// `redirects`.
fn redirect_policy(module: &Module, redirects: &Arc<AtomicUsize>) -> reqwest::redirect::Policy {
    if module.follow_redirects {
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
    }
}

/// A client for one probe: the module's TLS, redirects and timeout, no pooling, and `host`
/// pinned to the address resolved (`addr`) unless it is an address itself.
fn client(
    module: &Module,
    tls_config: rustls::ClientConfig,
    redirects: &Arc<AtomicUsize>,
    host: &str,
    addr: SocketAddr,
) -> Result<reqwest::Client, ProbesError> {
    let mut builder = reqwest::Client::builder()
        .tls_backend_preconfigured(tls_config)
        .redirect(redirect_policy(module, redirects))
        .no_proxy()
        .pool_max_idle_per_host(0)
        .timeout(module.timeout)
        .user_agent(concat!(
            "peeper-agent/",
            env!("CARGO_PKG_VERSION"),
            " (probe)"
        ));
    if host.parse::<std::net::IpAddr>().is_err() && !host.starts_with('[') {
        builder = builder.resolve(host, addr);
    }
    builder
        .build()
        .map_err(|e| ProbesError::Client(super::chain(&e)))
}

/// The module's request: method, headers and body.
fn request(
    client: &reqwest::Client,
    module: &Module,
    target: &str,
    url: &reqwest::Url,
) -> Result<reqwest::RequestBuilder, ProbesError> {
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
    Ok(request)
}

/// Reports the status code, HTTP version and content length of `response`; returns the
/// status code.
fn report_head(response: &reqwest::Response, out: &mut Samples) -> u16 {
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
    status
}

/// What was read of the body.
struct Body {
    /// Its first [`BODY_KEEP`] bytes.
    kept: Vec<u8>,
    /// Its length.
    total: usize,
    /// Why reading stopped early.
    error: Option<String>,
}

async fn read_body(response: &mut reqwest::Response) -> Body {
    let mut body = Body {
        kept: Vec::new(),
        total: 0,
        error: None,
    };
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                body.total += chunk.len();
                if body.kept.len() < BODY_KEEP {
                    let room = BODY_KEEP - body.kept.len();
                    body.kept.extend_from_slice(&chunk[..chunk.len().min(room)]);
                }
            }
            Ok(None) => break,
            Err(e) => {
                body.error = Some(super::chain(&e));
                break;
            }
        }
    }
    body
}

/// The module's `valid_status_codes`, 2xx when none.
fn check_status(module: &Module, url: &reqwest::Url, status: u16) -> Result<(), ProbesError> {
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
    Ok(())
}

/// The module's `fail_if_body_contains` and `fail_if_body_not_contains`.
fn check_body(
    module: &Module,
    url: &reqwest::Url,
    kept: &[u8],
    out: &mut Samples,
) -> Result<(), ProbesError> {
    if module.fail_if_body_contains.is_empty() && module.fail_if_body_not_contains.is_empty() {
        return Ok(());
    }
    let body = String::from_utf8_lossy(kept);
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
    Ok(())
}

/// The module's `fail_if_ssl` and `fail_if_not_ssl`, on how the final answer came.
fn check_ssl(module: &Module, url: &reqwest::Url, final_tls: bool) -> Result<(), ProbesError> {
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
