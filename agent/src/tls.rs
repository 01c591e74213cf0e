//! Trust material shared by the collectors that speak TLS (certs, probes): where the
//! system's CA bundle lives and how PEM certificate files are read.

use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use std::path::{Path, PathBuf};

/// Where Linux distributions keep the system's CA bundle (what rustls-native-certs reads),
/// Debian's first.
pub const SYSTEM_BUNDLES: [&str; 5] = [
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
    "/etc/ssl/cert.pem",
];

#[derive(Debug, thiserror::Error)]
pub enum PemError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("not PEM certificates: {0}")]
    NotPem(String),
    #[error("holds no PEM certificate")]
    Empty,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_system_bundle_and_refuses_non_pem() {
        let bundle = system_bundle().expect("ca-certificates is installed on Debian");
        assert!(read_pem_certs(&bundle).unwrap().len() > 10);
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "no certificates here\n").unwrap();
        assert!(matches!(read_pem_certs(&empty), Err(PemError::Empty)));
        assert!(matches!(
            read_pem_certs(&dir.path().join("missing")),
            Err(PemError::Io(_))
        ));
    }
}
