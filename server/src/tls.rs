//! The server's certificate, replaceable while it runs: `SIGHUP` loads the files again and
//! new handshakes use the new certificate, so a renewed certificate needs no restart;
//! connections already open keep the one they started with. A certificate that cannot be
//! loaded is refused and the running one stays.

use crate::config::TlsPaths;
use crate::server::ServerError;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::sync::{Arc, RwLock};
use tokio_rustls::TlsAcceptor;

/// The certificate every new handshake gets.
#[derive(Debug)]
pub struct CertStore {
    current: RwLock<Arc<CertifiedKey>>,
}

impl ResolvesServerCert for CertStore {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(Arc::clone(
            &self.current.read().unwrap_or_else(|e| e.into_inner()),
        ))
    }
}

impl CertStore {
    pub fn load(paths: &TlsPaths) -> Result<Arc<CertStore>, ServerError> {
        Ok(Arc::new(CertStore {
            current: RwLock::new(certified_key(paths)?),
        }))
    }

    /// Loads the files again; on error the running certificate stays.
    pub fn reload(&self, paths: &TlsPaths) -> Result<(), ServerError> {
        let key = certified_key(paths)?;
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = key;
        Ok(())
    }

    /// The acceptor of the listener: TLS 1.2 and 1.3, h2 and HTTP/1.1 by ALPN.
    pub fn acceptor(self: &Arc<Self>) -> Result<TlsAcceptor, ServerError> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| ServerError::TlsSetup(e.to_string()))?
            .with_no_client_auth()
            .with_cert_resolver(Arc::clone(self) as Arc<dyn ResolvesServerCert>);
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(TlsAcceptor::from(Arc::new(config)))
    }
}

/// The chain and key of `paths`, checked to belong together.
fn certified_key(paths: &TlsPaths) -> Result<Arc<CertifiedKey>, ServerError> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&paths.cert)
        .and_then(|iter| iter.collect())
        .map_err(|e| ServerError::TlsCert {
            path: paths.cert.clone(),
            message: e.to_string(),
        })?;
    if certs.is_empty() {
        return Err(ServerError::TlsCert {
            path: paths.cert.clone(),
            message: "no CERTIFICATE block in the file".to_owned(),
        });
    }
    crate::perms::report(crate::perms::private_key(&paths.key));
    let key = PrivateKeyDer::from_pem_file(&paths.key).map_err(|e| ServerError::TlsKey {
        path: paths.key.clone(),
        message: e.to_string(),
    })?;
    let provider = rustls::crypto::aws_lc_rs::default_provider();
    CertifiedKey::from_der(certs, key, &provider)
        .map(Arc::new)
        .map_err(|e| ServerError::TlsConfig {
            cert: paths.cert.clone(),
            key: paths.key.clone(),
            message: e.to_string(),
        })
}
