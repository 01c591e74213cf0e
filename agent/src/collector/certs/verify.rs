//! Trust: the system roots plus the configured CA, and the certificate verifier of one
//! check: it lets every handshake finish, records the chain the server presented and
//! whether webpki verifies it (chain and host name judged separately).

use super::CertsError;
use super::cert::CertInfo;
use crate::tls::{Check, RecordingVerifier};
use rustls::RootCertStore;
use rustls::crypto::CryptoProvider;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use std::path::Path;
use std::sync::Arc;

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

    /// A verifier for one connection: records, verifies, and always lets the handshake go
    /// on, so an expired or untrusted certificate is still reported.
    pub fn recorder(&self) -> RecordingVerifier {
        RecordingVerifier::recording(Check::Report(self.roots.clone()), &self.provider)
    }
}
