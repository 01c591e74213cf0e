//! Name resolution as blackbox_exporter's `chooseProtocol` does it, and target parsing.

use super::ProbesError;
use super::config::{IpProtocol, Module};
use super::samples::{Samples, ip_hash, names};
use std::net::IpAddr;
use std::time::Instant;

/// Resolves `host` (a name or an address literal, brackets allowed) to one address of the
/// module's preferred family (or the other, if fallback is on) and reports
/// `probe_dns_lookup_time_seconds`, `probe_ip_protocol` and `probe_ip_addr_hash`.
pub async fn resolve(
    host: &str,
    module: &Module,
    out: &mut Samples,
) -> Result<IpAddr, ProbesError> {
    let start = Instant::now();
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let result = match bare.parse::<IpAddr>() {
        Ok(ip) => Ok(vec![ip]),
        Err(_) => tokio::net::lookup_host((bare, 0))
            .await
            .map(|addrs| addrs.map(|a| a.ip()).collect::<Vec<_>>()),
    };
    let elapsed = start.elapsed().as_secs_f64();
    out.set(names::DNS_LOOKUP, elapsed);
    out.set(names::IP_PROTOCOL, 0.0);
    out.set(names::IP_ADDR_HASH, 0.0);
    let addrs = result.map_err(|e| ProbesError::Resolve {
        host: bare.to_owned(),
        message: e.to_string(),
    })?;
    let wanted = |ip: &IpAddr| match module.ip_protocol {
        IpProtocol::V4 => ip.is_ipv4(),
        IpProtocol::V6 => ip.is_ipv6(),
    };
    let ip = match addrs.iter().find(|ip| wanted(ip)) {
        Some(ip) => *ip,
        None if module.ip_protocol_fallback && !addrs.is_empty() => addrs[0],
        None => {
            return Err(ProbesError::Resolve {
                host: bare.to_owned(),
                message: format!(
                    "no {} address (set preferred_ip_protocol or ip_protocol_fallback for the module)",
                    if module.ip_protocol == IpProtocol::V4 {
                        "IPv4"
                    } else {
                        "IPv6"
                    }
                ),
            });
        }
    };
    out.set(names::IP_PROTOCOL, if ip.is_ipv4() { 4.0 } else { 6.0 });
    out.set(names::IP_ADDR_HASH, ip_hash(ip));
    Ok(ip)
}

/// Splits a `tcp` target (`host:port`, `[v6]:port`, `host` with the module's default port,
/// or a URL whose scheme gives the port) into host and port.
pub fn host_port(target: &str, default_port: Option<u16>) -> Result<(String, u16), ProbesError> {
    let bad = |reason: &str| ProbesError::Target {
        target: target.to_owned(),
        reason: reason.to_owned(),
    };
    if target.contains("://") {
        let url = reqwest::Url::parse(target).map_err(|e| bad(&e.to_string()))?;
        let host = url.host_str().ok_or_else(|| bad("the URL has no host"))?;
        let port = url
            .port_or_known_default()
            .or(default_port)
            .ok_or_else(|| bad("the URL has no port"))?;
        return Ok((
            host.trim_start_matches('[')
                .trim_end_matches(']')
                .to_owned(),
            port,
        ));
    }
    let (host, port) = if let Some(rest) = target.strip_prefix('[') {
        let (host, after) = rest.split_once(']').ok_or_else(|| bad("unclosed `[`"))?;
        (host, after.strip_prefix(':'))
    } else if target.matches(':').count() == 1 {
        let (host, port) = target.split_once(':').unwrap_or((target, ""));
        (host, Some(port))
    } else {
        // A bare name, IPv4 address or unbracketed IPv6 address.
        (target, None)
    };
    let port = match port {
        Some(p) => p
            .parse::<u16>()
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| bad("the port is not a number 1-65535"))?,
        None => default_port.ok_or_else(|| bad("write it as host:port"))?,
    };
    if host.is_empty() {
        return Err(bad("the host is empty"));
    }
    Ok((host.to_owned(), port))
}

/// The host of an `icmp` target: a name or address, or a URL's host.
pub fn icmp_host(target: &str) -> Result<String, ProbesError> {
    if target.contains("://") {
        return host_port(target, Some(0)).map(|(host, _)| host);
    }
    let host = target.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() || host.contains('/') {
        return Err(ProbesError::Target {
            target: target.to_owned(),
            reason: "write a host name or an IP address".to_owned(),
        });
    }
    Ok(host.to_owned())
}
