//! Trust material and the TLS client of the push transports.
//!
//! The collectors that speak TLS (certs, probes, postgres) take from here where the system's
//! CA bundle lives, how PEM certificate files are read, and the one certificate verifier of
//! the agent, [`RecordingVerifier`]: it checks by a [`Check`] (nothing, webpki, webpki with
//! pinning, or a report that never refuses) and records what the server showed ([`Seen`])
//! for those that report it. Both push transports (HTTPS remote-write and gRPC) take their
//! rustls [`ClientConfig`] from [`client_config`]: the system bundle plus `--ca-file` as
//! roots, checked by [`Pinning`].
//!
//! # A self-signed server certificate in `--ca-file`
//!
//! `openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=host -addext subjectAltName=DNS:host`
//! makes a self-signed certificate with `CA:TRUE`. Strict path validation (webpki) refuses a
//! CA certificate as the server's own (`CaUsedAsEndEntity`), yet curl and Go clients accept
//! exactly that certificate when it is the one they were told to trust. The agent does the
//! same: when the normal check fails and the certificate the server presents is byte for byte
//! one of the certificates in `--ca-file`, it is accepted after the two checks that still
//! mean something for a pinned certificate: the host name the agent connects to is among its
//! subjectAltName entries (DNS names and IP addresses; the common name is ignored, as Go and
//! curl do) and now lies within its notBefore..notAfter. The handshake signatures are still
//! verified with its key, so only the holder of that certificate's private key gets through.
//! Only that exact certificate is trusted this way: it does not vouch for any other
//! certificate, signed by it or not, beyond what normal validation already allows.
//!
//! Every certificate refusal is put in words with its fix by [`explain`]
//! ([`certificate_refusal`] finds it in an error chain).

mod connector;
mod explain;
mod pinning;
mod verifier;

pub use connector::{ConnectError, GrpcConnector};
pub use explain::{certificate_refusal, explain, utc_date};
pub use pinning::Pinning;
pub use verifier::{Check, RecordingVerifier, Seen};

use rustls::ClientConfig;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where Linux distributions keep the system's CA bundle (what rustls-native-certs reads),
/// Debian's first.
pub const SYSTEM_BUNDLES: [&str; 5] = [
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
    "/etc/ssl/cert.pem",
];

/// ALPN of the HTTPS transport: HTTP/2 when the server offers it, else HTTP/1.1.
pub const ALPN_HTTPS: &[&[u8]] = &[b"h2", b"http/1.1"];
/// ALPN of the gRPC transport: HTTP/2 only.
pub const ALPN_GRPC: &[&[u8]] = &[b"h2"];

#[derive(Debug, thiserror::Error)]
pub enum PemError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("not PEM certificates: {0}")]
    NotPem(String),
    #[error("holds no PEM certificate")]
    Empty,
}

/// `--ca-file` could not be used.
#[derive(Debug, thiserror::Error)]
#[error("CA file {}: {source}", path.display())]
pub struct CaFileError {
    pub path: PathBuf,
    pub source: PemError,
}

/// The system's CA bundle: `SSL_CERT_FILE` when set, else the first distribution bundle
/// that exists. `None` when there is none (install `ca-certificates`).
pub fn system_bundle() -> Option<PathBuf> {
    let from_env = std::env::var("SSL_CERT_FILE")
        .ok()
        .filter(|v| !v.is_empty());
    from_env
        .iter()
        .map(String::as_str)
        .chain(SYSTEM_BUNDLES)
        .map(PathBuf::from)
        .find(|path| path.is_file())
}

/// Reads every PEM certificate in `path`; a file without one is an error.
pub fn read_pem_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, PemError> {
    let pem = std::fs::read(path)?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| PemError::NotPem(e.to_string()))?;
    if certs.is_empty() {
        return Err(PemError::Empty);
    }
    Ok(certs)
}

/// The rustls client of the push transports (aws-lc-rs, TLS 1.2 and 1.3): trusts the system
/// bundle plus `ca_file`, accepts a self-signed certificate pinned in `ca_file` (see the
/// module's documentation), and offers `alpn` ([`ALPN_HTTPS`] or [`ALPN_GRPC`]).
pub fn client_config(ca_file: Option<&Path>, alpn: &[&[u8]]) -> Result<ClientConfig, CaFileError> {
    let extra = match ca_file {
        Some(path) => read_pem_certs(path).map_err(|source| CaFileError {
            path: path.to_owned(),
            source,
        })?,
        None => Vec::new(),
    };
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let pinning = Pinning::new(system_roots(), extra, provider.clone());
    let verifier = RecordingVerifier::new(Check::Pinning(pinning), &provider);
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("aws-lc-rs supports TLS 1.2 and 1.3")
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Ok(config)
}

/// The system bundle's certificates; none (with a warning) when it is missing or unreadable,
/// so that `--ca-file` alone still works.
fn system_roots() -> Vec<CertificateDer<'static>> {
    let Some(path) = system_bundle() else {
        tracing::warn!(
            searched = %SYSTEM_BUNDLES.join(", "),
            "no system CA bundle (install ca-certificates); only --ca-file is trusted"
        );
        return Vec::new();
    };
    read_pem_certs(&path).unwrap_or_else(|e| {
        tracing::warn!(bundle = %path.display(), error = %e, "cannot read the system CA bundle; only --ca-file is trusted");
        Vec::new()
    })
}

#[cfg(test)]
mod tests;
