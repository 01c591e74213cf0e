//! Trust: the system roots plus the configured CA, and a certificate verifier that lets
//! every handshake finish, records the chain the server presented and whether webpki
//! verifies it (chain and host name judged separately).

use super::CertsError;
use super::cert::CertInfo;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{verify_server_cert_signed_by_trust_anchor, verify_server_name};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::server::ParsedCertificate;
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use std::path::Path;
use std::sync::{Arc, Mutex};

/// What every check shares: the crypto provider and the trusted roots.
#[derive(Debug)]
pub struct TlsContext {
    pub provider: Arc<CryptoProvider>,
    pub roots: Arc<RootCertStore>,
    /// The same roots, parsed, to name the verified chain's top.
    pub root_infos: Vec<CertInfo>,
}

impl TlsContext {
    /// Loads `system_roots` (a missing bundle is not an error: only the CA file is trusted
    /// then) and the configured CA file (which must load). Returns a warning to log once
    /// when the bundle could not be read.
    pub fn load(
        system_roots: &Path,
        ca_file: Option<&Path>,
    ) -> Result<(Self, Option<String>), CertsError> {
        let mut ders: Vec<CertificateDer<'static>> = Vec::new();
        let mut warning = None;
        match std::fs::read(system_roots) {
            Ok(bytes) => ders.extend(CertificateDer::pem_slice_iter(&bytes).flatten()),
            Err(e) => {
                warning = Some(format!(
                    "cannot read the system roots {}: {e}; only certs.ca_file is trusted (install ca-certificates)",
                    system_roots.display()
                ))
            }
        }
        if let Some(path) = ca_file {
            let bytes = std::fs::read(path).map_err(|source| CertsError::Read {
                path: path.to_owned(),
                source,
            })?;
            let before = ders.len();
            ders.extend(CertificateDer::pem_slice_iter(&bytes).flatten());
            if ders.len() == before {
                return Err(CertsError::NoCertificates(path.to_owned()));
            }
        }
        let mut roots = RootCertStore::empty();
        roots.add_parsable_certificates(ders.iter().cloned());
        let root_infos = ders
            .iter()
            .filter_map(|d| CertInfo::parse(d).ok())
            .collect();
        let context = TlsContext {
            provider: Arc::new(rustls::crypto::aws_lc_rs::default_provider()),
            roots: Arc::new(roots),
            root_infos,
        };
        Ok((context, warning))
    }
}

/// What the server presented, and what webpki made of it.
#[derive(Debug, Clone, Default)]
pub struct Presented {
    pub chain: Vec<CertificateDer<'static>>,
    /// The chain leads to a trusted root and every certificate in it is valid now.
    pub verified: bool,
    /// Why not, when not.
    pub verify_error: Option<String>,
    /// The leaf is valid for the name checked (the SNI name, or the IP address).
    pub hostname_match: bool,
}

/// A verifier for one connection: records, verifies, and always lets the handshake go on,
/// so an expired or untrusted certificate is still reported.
#[derive(Debug)]
pub struct Recorder {
    context: Arc<TlsContext>,
    seen: Mutex<Option<Presented>>,
}

impl Recorder {
    pub fn new(context: Arc<TlsContext>) -> Self {
        Recorder {
            context,
            seen: Mutex::new(None),
        }
    }

    /// The recorded chain, once the server sent its certificate.
    pub fn take(&self) -> Option<Presented> {
        self.seen.lock().map(|mut s| s.take()).unwrap_or(None)
    }
}

impl ServerCertVerifier for Recorder {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let algorithms = self.context.provider.signature_verification_algorithms.all;
        let (chain, hostname_match) = match ParsedCertificate::try_from(end_entity) {
            Ok(parsed) => (
                verify_server_cert_signed_by_trust_anchor(
                    &parsed,
                    &self.context.roots,
                    intermediates,
                    now,
                    algorithms,
                ),
                verify_server_name(&parsed, server_name).is_ok(),
            ),
            Err(e) => (Err(e), false),
        };
        let mut presented = vec![end_entity.clone().into_owned()];
        presented.extend(intermediates.iter().map(|c| c.clone().into_owned()));
        let record = Presented {
            chain: presented,
            verified: chain.is_ok(),
            verify_error: chain.err().map(|e| e.to_string()),
            hostname_match,
        };
        if let Ok(mut seen) = self.seen.lock() {
            *seen = Some(record);
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.context.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.context.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.context
            .provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
