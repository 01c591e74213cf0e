//! `peeper-server certs init`: a development CA and a server certificate signed by it, in
//! the layout of ARCHITECTURE.md ("The certificate layout"), so a fresh install runs over TLS before real certificates exist.
//!
//! ```text
//! <dir>/ca/ca.crt          the CA agents trust (--ca-file)
//! <dir>/ca/ca.key          its key (0600); keep it, or delete it once done issuing
//! <dir>/dev/<host>.crt     the server certificate (leaf, then the CA)
//! <dir>/dev/<host>.key     its key (0600)
//! <dir>/crt/<host>.pem     certificate + chain + key in one file, the form HAProxy loads
//! ```

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};
use std::net::{IpAddr, Ipv6Addr};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum DevCertError {
    #[error("cannot generate the certificate: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0:?} is not a valid host name for a certificate")]
    Host(String),
}

/// The files written by [`init`].
#[derive(Debug, Clone)]
pub struct DevCerts {
    pub ca_cert: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    pub proxy_pem: PathBuf,
}

/// Writes a new CA and a certificate for `host` (plus `localhost`, 127.0.0.1 and ::1) under
/// `dir`. The CA is valid for 10 years, the server certificate for 825 days.
pub fn init(dir: &Path, host: &str) -> Result<DevCerts, DevCertError> {
    init_with_ips(dir, host, &[])
}

/// [`init`], with the server's own addresses (`PEEPER_IP`) in the certificate too, so agents
/// that connect by address verify it as well as those that connect by name.
pub fn init_with_ips(dir: &Path, host: &str, ips: &[IpAddr]) -> Result<DevCerts, DevCertError> {
    if host.is_empty() || host.contains(['/', ' ']) {
        return Err(DevCertError::Host(host.to_owned()));
    }
    let this_year = 1970
        + (std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
            / 31_556_952) as i32;

    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "Peeper development CA");
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    ca_params.not_before = rcgen::date_time_ymd(this_year - 1, 1, 1);
    ca_params.not_after = rcgen::date_time_ymd(this_year + 10, 1, 1);
    let ca_key = KeyPair::generate()?;
    let ca_cert = ca_params.self_signed(&ca_key)?;
    let ca_pem = ca_cert.pem();
    let ca_key_pem = ca_key.serialize_pem();
    let issuer = Issuer::new(ca_params, ca_key);

    let mut names = vec![host.to_owned()];
    if host != "localhost" {
        names.push("localhost".to_owned());
    }
    let mut params = CertificateParams::new(names)?;
    let loopback = [
        IpAddr::from([127, 0, 0, 1]),
        IpAddr::from(Ipv6Addr::LOCALHOST),
    ];
    for ip in loopback.iter().chain(ips) {
        let san = SanType::IpAddress(*ip);
        if !params.subject_alt_names.contains(&san) {
            params.subject_alt_names.push(san);
        }
    }
    params.distinguished_name.push(DnType::CommonName, host);
    params.use_authority_key_identifier_extension = true;
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.not_before = rcgen::date_time_ymd(this_year - 1, 1, 1);
    let expires = std::time::SystemTime::now() + std::time::Duration::from_secs(825 * 86_400);
    params.not_after = expires.into();
    let key = KeyPair::generate()?;
    let cert = params.signed_by(&key, &issuer)?;
    let chain = format!("{}{}", cert.pem(), ca_pem);
    let key_pem = key.serialize_pem();

    let files = DevCerts {
        ca_cert: dir.join("ca/ca.crt"),
        server_cert: dir.join(format!("dev/{host}.crt")),
        server_key: dir.join(format!("dev/{host}.key")),
        proxy_pem: dir.join(format!("crt/{host}.pem")),
    };
    write(&files.ca_cert, &ca_pem, false)?;
    write(&dir.join("ca/ca.key"), &ca_key_pem, true)?;
    write(&files.server_cert, &chain, false)?;
    write(&files.server_key, &key_pem, true)?;
    write(&files.proxy_pem, &format!("{chain}{key_pem}"), true)?;
    Ok(files)
}

fn write(path: &Path, contents: &str, secret: bool) -> Result<(), DevCertError> {
    use std::os::unix::fs::OpenOptionsExt;
    let fail = |source| DevCertError::Write {
        path: path.to_owned(),
        source,
    };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(fail)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options
        .write(true)
        .create(true)
        .truncate(true)
        .mode(if secret { 0o600 } else { 0o644 });
    let mut file = options.open(path).map_err(fail)?;
    std::io::Write::write_all(&mut file, contents.as_bytes()).map_err(fail)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::client::danger::ServerCertVerifier;
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;

    #[test]
    fn writes_a_ca_and_a_server_certificate_that_verifies() {
        let dir = tempfile::tempdir().unwrap();
        let files = init(dir.path(), "peeper.test").unwrap();
        assert_verifies(&files, &["peeper.test", "localhost", "127.0.0.1"]);
        let key_mode = std::fs::metadata(&files.server_key).unwrap().permissions();
        assert_eq!(
            std::os::unix::fs::PermissionsExt::mode(&key_mode) & 0o777,
            0o600
        );
        let proxy = std::fs::read_to_string(&files.proxy_pem).unwrap();
        assert_eq!(proxy.matches("BEGIN CERTIFICATE").count(), 2);
        assert!(proxy.contains("PRIVATE KEY"));
    }

    #[test]
    fn the_servers_own_addresses_verify_too() {
        let dir = tempfile::tempdir().unwrap();
        let ips = ["10.1.2.3".parse().unwrap(), "127.0.0.1".parse().unwrap()];
        let files = init_with_ips(dir.path(), "peeper.test", &ips).unwrap();
        assert_verifies(&files, &["peeper.test", "10.1.2.3", "::1"]);
    }

    fn assert_verifies(files: &DevCerts, names: &[&str]) {
        let ca = CertificateDer::from_pem_file(&files.ca_cert).unwrap();
        let chain: Vec<_> = CertificateDer::pem_file_iter(&files.server_cert)
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(chain.len(), 2, "leaf then CA");
        let mut roots = rustls::RootCertStore::empty();
        roots.add(ca).unwrap();
        let verifier = rustls::client::WebPkiServerVerifier::builder_with_provider(
            std::sync::Arc::new(roots),
            std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider()),
        )
        .build()
        .unwrap();
        for name in names {
            let name = rustls_pki_types::ServerName::try_from(*name).unwrap();
            verifier
                .verify_server_cert(
                    &chain[0],
                    &chain[1..],
                    &name,
                    &[],
                    rustls_pki_types::UnixTime::now(),
                )
                .unwrap_or_else(|e| panic!("{name:?}: {e}"));
        }
    }
}
