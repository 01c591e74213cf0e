//! TLS for the PostgreSQL connection, with rustls (aws-lc-rs) as everywhere in the agent.
//!
//! As libpq: `prefer` and `require` encrypt without checking the server's certificate
//! (Debian's default cluster uses a self-signed "snakeoil" one) unless a CA file is set, in
//! which case the chain and the host name are verified against it (libpq's
//! `verify-full`).

use super::PostgresError;
use crate::tls::{Check, RecordingVerifier};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use std::path::Path;
use std::sync::Arc;
use tokio_postgres_rustls::MakeRustlsConnect;

/// The rustls connector for `ca_file` (verified) or for encryption only (`None`).
pub fn connector(ca_file: Option<&Path>) -> Result<MakeRustlsConnect, PostgresError> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| PostgresError::Tls(e.to_string()))?;
    let config = match ca_file {
        Some(path) => {
            let mut roots = rustls::RootCertStore::empty();
            let certs = CertificateDer::pem_file_iter(path)
                .and_then(|iter| iter.collect::<Result<Vec<_>, _>>())
                .map_err(|e| {
                    PostgresError::Tls(format!("cannot read CA file {}: {e}", path.display()))
                })?;
            let (added, _) = roots.add_parsable_certificates(certs);
            if added == 0 {
                return Err(PostgresError::Tls(format!(
                    "no certificate in CA file {}",
                    path.display()
                )));
            }
            builder.with_root_certificates(roots).with_no_client_auth()
        }
        // libpq's `sslmode=require` without a root certificate: the handshake's signatures
        // are checked (so the session is really encrypted to whoever holds the key), the
        // certificate is not.
        None => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(RecordingVerifier::new(
                Check::Nothing,
                &provider,
            )))
            .with_no_client_auth(),
    };
    Ok(MakeRustlsConnect::new(config))
}
