//! TLS for the probes: rustls client configurations that trust the system roots (plus a
//! module's CA file) or anything, and that record the peer's chain and TLS version of the
//! last handshake so the probe can report them, as blackbox_exporter does.

use super::ProbesError;
use super::config::Module;
use super::samples::{Samples, names};
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

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

/// What the last handshake showed.
#[derive(Debug, Default, Clone)]
pub struct Seen {
    pub chain: Vec<CertificateDer<'static>>,
    pub version: Option<&'static str>,
    /// Whether the chain verified against the trusted roots.
    pub verified: bool,
}

/// Wraps the real verifier and records what it was shown.
#[derive(Debug)]
pub struct Recorder {
    /// `None`: accept any certificate (the handshake signatures are still checked).
    inner: Option<Arc<WebPkiServerVerifier>>,
    provider: Arc<CryptoProvider>,
    seen: Mutex<Seen>,
}

impl Recorder {
    pub fn seen(&self) -> Seen {
        self.seen.lock().map(|s| s.clone()).unwrap_or_default()
    }

    fn note_version(&self, version: &'static str) {
        if let Ok(mut seen) = self.seen.lock() {
            seen.version = Some(version);
        }
    }
}

impl ServerCertVerifier for Recorder {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let result = match &self.inner {
            Some(inner) => {
                inner.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
            }
            None => Ok(ServerCertVerified::assertion()),
        };
        if let Ok(mut seen) = self.seen.lock() {
            seen.chain = std::iter::once(end_entity)
                .chain(intermediates)
                .map(|c| c.clone().into_owned())
                .collect();
            seen.verified = self.inner.is_some() && result.is_ok();
        }
        result
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.note_version("TLS 1.2");
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.note_version("TLS 1.3");
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// A fresh client configuration for one probe of `module`, and its recorder.
/// `alpn`: the protocols offered (`h2`, `http/1.1` for HTTP; none for a bare handshake).
pub fn client_config(
    module: &Module,
    alpn: &[&[u8]],
) -> Result<(rustls::ClientConfig, Arc<Recorder>), ProbesError> {
    let provider = provider();
    let inner = if module.insecure {
        None
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
        Some(verifier)
    };
    let recorder = Arc::new(Recorder {
        inner,
        provider: provider.clone(),
        seen: Mutex::new(Seen::default()),
    });
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
