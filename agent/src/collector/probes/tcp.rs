//! The `tcp` prober: connects, and with `tls` makes a TLS handshake and reports the chain
//! (`tcp_connect`, `http_tls_expiry`). No application data is sent.

use super::ProbesError;
use super::config::Module;
use super::net::{host_port, resolve};
use super::samples::Samples;
use super::tls;
use rustls_pki_types::ServerName;
use std::net::SocketAddr;
use std::sync::Arc;

/// Probes one target; `Ok` is success.
pub async fn probe(target: &str, module: &Module, out: &mut Samples) -> Result<(), ProbesError> {
    let (host, port) = host_port(target, module.default_port)?;
    let ip = resolve(&host, module, out).await?;
    let addr = SocketAddr::new(ip, port);
    let stream = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| ProbesError::Connect {
            addr: addr.to_string(),
            message: e.to_string(),
        })?;
    if !module.tls {
        return Ok(());
    }
    let (config, recorder) = tls::client_config(module, &[])?;
    let server_name = ServerName::try_from(host.clone()).map_err(|e| ProbesError::Target {
        target: target.to_owned(),
        reason: format!("{host:?} is not a TLS server name: {e}"),
    })?;
    let result = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(server_name, stream)
        .await;
    // What the server showed is reported even when it did not verify.
    tls::report(&recorder.seen(), out);
    match result {
        Ok(_stream) => Ok(()),
        Err(e) => Err(ProbesError::Tls {
            addr: addr.to_string(),
            message: e.to_string(),
        }),
    }
}
