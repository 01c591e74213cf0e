//! [`GrpcConnector`]: TCP plus rustls with the agent's [`ClientConfig`] for tonic channels.

use super::certificate_refusal;
use hyper_util::rt::TokioIo;
use rustls::ClientConfig;
use rustls_pki_types::ServerName;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tonic::codegen::Service;
use tonic::transport::Uri;

/// Opens the TLS connections of a gRPC channel with the agent's own rustls config (tonic's
/// `ClientTlsConfig` cannot take a custom certificate verifier). Give the channel's
/// `Endpoint` the server as `http://host:port`, so tonic adds no TLS of its own, and
/// `origin("https://host:port")` for the requests; this connector always speaks TLS, with
/// the URI's host as the server name, and requires HTTP/2 by ALPN as tonic does.
#[derive(Clone)]
pub struct GrpcConnector {
    tls: tokio_rustls::TlsConnector,
}

impl std::fmt::Debug for GrpcConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GrpcConnector").finish_non_exhaustive()
    }
}

impl GrpcConnector {
    pub fn new(config: ClientConfig) -> Self {
        GrpcConnector {
            tls: tokio_rustls::TlsConnector::from(Arc::new(config)),
        }
    }
}

/// A failed connection, in words (a certificate refusal says what to fix); the I/O error it
/// comes from is its source.
#[derive(Debug)]
pub struct ConnectError {
    message: String,
    source: Option<std::io::Error>,
}

impl std::fmt::Display for ConnectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ConnectError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_ref().map(|e| e as _)
    }
}

impl ConnectError {
    fn new(message: String, source: Option<std::io::Error>) -> Self {
        ConnectError { message, source }
    }
}

type Connecting =
    Pin<Box<dyn Future<Output = Result<TokioIo<TlsStream<TcpStream>>, ConnectError>> + Send>>;

impl Service<Uri> for GrpcConnector {
    type Response = TokioIo<TlsStream<TcpStream>>;
    type Error = ConnectError;
    type Future = Connecting;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), ConnectError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: Uri) -> Connecting {
        let tls = self.tls.clone();
        Box::pin(async move {
            let host = uri
                .host()
                .ok_or_else(|| ConnectError::new(format!("no host in {uri}"), None))?
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_owned();
            let port = uri.port_u16().unwrap_or(443);
            let server_name = ServerName::try_from(host.clone()).map_err(|e| {
                ConnectError::new(format!("{host} is not a host name for TLS: {e}"), None)
            })?;
            let tcp = TcpStream::connect((host.as_str(), port))
                .await
                .map_err(|e| {
                    ConnectError::new(format!("cannot connect to {host}:{port}: {e}"), Some(e))
                })?;
            let _ = tcp.set_nodelay(true);
            let stream = tls.connect(server_name, tcp).await.map_err(|e| {
                let message = certificate_refusal(&e)
                    .unwrap_or_else(|| format!("TLS handshake with {host}:{port} failed: {e}"));
                ConnectError::new(message, Some(e))
            })?;
            if stream.get_ref().1.alpn_protocol() != Some(b"h2".as_slice()) {
                return Err(ConnectError::new(
                    format!(
                        "{host}:{port} did not agree to HTTP/2 (ALPN h2), which gRPC needs: is it \
                         a Peeper server, and does any proxy in between pass HTTP/2 through?"
                    ),
                    None,
                ));
            }
            Ok(TokioIo::new(stream))
        })
    }
}
