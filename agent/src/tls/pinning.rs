//! [`Pinning`]: webpki's verification, plus the exact certificates of `--ca-file` accepted as
//! the server's own after a name and validity check. The push transports' check, run by
//! [`super::RecordingVerifier`].

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::server::ParsedCertificate;
use rustls::{CertificateError, RootCertStore};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use std::sync::Arc;

/// Verifies the server's certificate as webpki does against the system bundle and the CA
/// file; when that fails and the certificate presented is one of the CA file's (a pinned,
/// typically self-signed `CA:TRUE` certificate), accepts it if it names the host in its
/// subjectAltName and is valid now. Refusals carry the context [`super::explain`] words.
#[derive(Debug)]
pub struct Pinning {
    /// `None` when there is no root at all (no system bundle, no CA file).
    webpki: Option<Arc<WebPkiServerVerifier>>,
    /// The certificates of `--ca-file`, compared byte for byte with the server's.
    pinned: Vec<CertificateDer<'static>>,
}

impl Pinning {
    /// Trusts `system` and `ca_file` certificates as roots, and pins the `ca_file` ones.
    pub fn new(
        system: Vec<CertificateDer<'static>>,
        ca_file: Vec<CertificateDer<'static>>,
        provider: Arc<CryptoProvider>,
    ) -> Self {
        let mut roots = RootCertStore::empty();
        roots.add_parsable_certificates(system);
        roots.add_parsable_certificates(ca_file.iter().cloned());
        // The builder only fails without roots (or with bad CRLs, which are never given).
        let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
            .build()
            .ok();
        Pinning {
            webpki,
            pinned: ca_file,
        }
    }

    fn is_pinned(&self, end_entity: &CertificateDer<'_>) -> bool {
        self.pinned
            .iter()
            .any(|cert| cert.as_ref() == end_entity.as_ref())
    }

    /// The verdict on the certificate presented: accepted, or refused with the context
    /// [`super::explain`] words.
    pub fn verify(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let refused = match &self.webpki {
            Some(webpki) => match webpki.verify_server_cert(
                end_entity,
                intermediates,
                server_name,
                ocsp_response,
                now,
            ) {
                Ok(verified) => return Ok(verified),
                Err(refused) => refused,
            },
            None => CertificateError::UnknownIssuer.into(),
        };
        if self.is_pinned(end_entity) {
            check_pinned(end_entity, server_name, now)
                .map_err(|e| with_plain_names(e, end_entity))?;
            return Ok(ServerCertVerified::assertion());
        }
        if is_self_signed(end_entity) && !is_name_refusal(&refused) {
            // Whatever webpki tripped on first (no issuer, `CaUsedAsEndEntity` when an older
            // certificate of the same name is in the CA file, a bad signature, its dates), the
            // story is one: this self-signed certificate is not one the agent was given. (A
            // name refusal comes only after the chain passed: a self-signed trust anchor.)
            return Err(CertificateError::UnknownIssuer.into());
        }
        Err(with_plain_names(refused, end_entity))
    }
}

/// What is left to check of a certificate trusted as it is: validity now, then the name
/// (subjectAltName only, by webpki's matching).
fn check_pinned(
    end_entity: &CertificateDer<'_>,
    server_name: &ServerName<'_>,
    now: UnixTime,
) -> Result<(), rustls::Error> {
    let (_, cert) = x509_parser::parse_x509_certificate(end_entity)
        .map_err(|_| rustls::Error::from(CertificateError::BadEncoding))?;
    let validity = cert.validity();
    let unix =
        |secs: i64| UnixTime::since_unix_epoch(std::time::Duration::from_secs(secs.max(0) as u64));
    let (not_before, not_after) = (
        validity.not_before.timestamp(),
        validity.not_after.timestamp(),
    );
    let time = now.as_secs() as i64;
    if time < not_before {
        return Err(CertificateError::NotValidYetContext {
            time: now,
            not_before: unix(not_before),
        }
        .into());
    }
    if time > not_after {
        return Err(CertificateError::ExpiredContext {
            time: now,
            not_after: unix(not_after),
        }
        .into());
    }
    let parsed = ParsedCertificate::try_from(end_entity)?;
    rustls::client::verify_server_name(&parsed, server_name)
}

fn is_name_refusal(error: &rustls::Error) -> bool {
    matches!(
        error,
        rustls::Error::InvalidCertificate(
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. }
        )
    )
}

/// Issued by itself: its issuer is its subject.
fn is_self_signed(der: &CertificateDer<'_>) -> bool {
    x509_parser::parse_x509_certificate(der)
        .is_ok_and(|(_, cert)| cert.issuer().as_raw() == cert.subject().as_raw())
}

/// A name refusal lists what the certificate is for as `localhost, 127.0.0.1` (webpki writes
/// `DnsName("localhost")`, `IpAddress(127.0.0.1)`).
fn with_plain_names(error: rustls::Error, end_entity: &CertificateDer<'_>) -> rustls::Error {
    match error {
        rustls::Error::InvalidCertificate(CertificateError::NotValidForNameContext {
            expected,
            presented,
        }) => CertificateError::NotValidForNameContext {
            expected,
            presented: san_names(end_entity).unwrap_or(presented),
        }
        .into(),
        other => other,
    }
}

/// The DNS names and IP addresses of a certificate's subjectAltName, in its order.
pub(super) fn san_names(der: &CertificateDer<'_>) -> Option<Vec<String>> {
    use x509_parser::extensions::GeneralName;
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    let Ok(Some(san)) = cert.subject_alternative_name() else {
        return Some(Vec::new());
    };
    Some(
        san.value
            .general_names
            .iter()
            .filter_map(|name| match name {
                GeneralName::DNSName(dns) => Some((*dns).to_owned()),
                GeneralName::IPAddress(bytes) => ip_text(bytes),
                _ => None,
            })
            .collect(),
    )
}

fn ip_text(bytes: &[u8]) -> Option<String> {
    use std::net::{Ipv4Addr, Ipv6Addr};
    match bytes.len() {
        4 => Some(Ipv4Addr::from(<[u8; 4]>::try_from(bytes).ok()?).to_string()),
        16 => Some(Ipv6Addr::from(<[u8; 16]>::try_from(bytes).ok()?).to_string()),
        _ => None,
    }
}
