//! TLS for the probes: rustls client configurations that trust the system roots (plus a
//! module's CA file) or anything, and that record the peer's chain and TLS version of the
//! last handshake so the probe can report them, as blackbox_exporter does.

use super::ProbesError;
use super::config::Module;
use super::samples::{Samples, names};
use crate::tls::{Check, RecordingVerifier, Seen};
use rustls::RootCertStore;
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls_pki_types::CertificateDer;
use std::path::Path;
use std::sync::{Arc, OnceLock};

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// Reads PEM certificates from `path`.
pub fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, ProbesError> {
    crate::tls::read_pem_certs(path).map_err(|e| ProbesError::CaFile {
        path: path.display().to_string(),
        message: e.to_string(),
    })
}

/// The system's CA bundle, read once.
fn system_roots() -> Result<Vec<CertificateDer<'static>>, ProbesError> {
    static ROOTS: OnceLock<Result<Vec<CertificateDer<'static>>, String>> = OnceLock::new();
    ROOTS
        .get_or_init(|| match crate::tls::system_bundle() {
            Some(path) => crate::tls::read_pem_certs(&path).map_err(|e| format!("{}: {e}", path.display())),
            None => Err(format!(
                "no system CA bundle found (looked at SSL_CERT_FILE and {}); install the ca-certificates package or give the module a ca_file",
                crate::tls::SYSTEM_BUNDLES.join(", ")
            )),
        })
        .clone()
        .map_err(ProbesError::Roots)
}

/// A fresh client configuration for one probe of `module`, and its verifier, which records
/// the peer's chain, whether it verified, and the TLS version of the last handshake.
/// `alpn`: the protocols offered (`h2`, `http/1.1` for HTTP; none for a bare handshake).
pub fn client_config(
    module: &Module,
    alpn: &[&[u8]],
) -> Result<(rustls::ClientConfig, Arc<RecordingVerifier>), ProbesError> {
    let provider = provider();
    let check = if module.insecure {
        Check::Nothing
    } else {
        let mut roots = RootCertStore::empty();
        let mut certs = system_roots().or_else(|e| {
            if module.ca_file.is_some() {
                Ok(Vec::new())
            } else {
                Err(e)
            }
        })?;
        match &module.ca_file {
            Some(path) => certs.extend(read_certs(path)?),
            None if module.needs_ca_file => {
                return Err(ProbesError::NoCaFile {
                    module: module.name.clone(),
                });
            }
            None => {}
        }
        let (_added, _ignored) = roots.add_parsable_certificates(certs);
        let verifier =
            WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                .build()
                .map_err(|e| {
                    ProbesError::Roots(format!("cannot build the certificate verifier: {e}"))
                })?;
        Check::WebPki(verifier)
    };
    let recorder = Arc::new(RecordingVerifier::recording(check, &provider));
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ProbesError::Roots(format!("cannot set up TLS: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(recorder.clone())
        .with_no_client_auth();
    // Every probe makes a full handshake, so the chain is always seen and checked.
    config.resumption = rustls::client::Resumption::disabled();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Ok((config, recorder))
}

/// The `notAfter` of a DER certificate, in Unix seconds.
pub fn not_after(der: &CertificateDer<'_>) -> Option<i64> {
    x509_parser::parse_x509_certificate(der)
        .ok()
        .map(|(_, cert)| cert.validity().not_after.timestamp())
}

/// Reports blackbox_exporter's TLS families for what a handshake showed.
pub fn report(seen: &Seen, out: &mut Samples) {
    let expiries: Vec<i64> = seen.chain.iter().filter_map(not_after).collect();
    if let Some(earliest) = expiries.iter().min() {
        out.set(names::SSL_EARLIEST_CERT_EXPIRY, *earliest as f64);
        if seen.verified {
            out.set(names::SSL_LAST_CHAIN_EXPIRY, *earliest as f64);
        }
    }
    if let Some(version) = seen.version {
        out.set_labeled(
            names::TLS_VERSION_INFO,
            ("version", version.to_owned()),
            1.0,
        );
    }
}
