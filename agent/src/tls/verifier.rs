//! [`RecordingVerifier`]: the agent's one rustls certificate verifier. What differs between
//! its users is what it checks ([`Check`]) and whether it records what the server showed
//! ([`Seen`]); the handshake signatures are verified the same way for all of them.

use super::pinning::Pinning;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{
    WebPkiServerVerifier, verify_server_cert_signed_by_trust_anchor, verify_server_name,
};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::server::ParsedCertificate;
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use std::sync::{Arc, Mutex};

/// What the verifier checks of the certificate the server presents.
#[derive(Debug)]
pub enum Check {
    /// Nothing: any certificate is accepted (the handshake signatures are still checked).
    /// The probes' `insecure` modules; PostgreSQL's encrypt-only `sslmode`.
    Nothing,
    /// webpki's verification (chain and name); a refusal fails the handshake. The probes.
    WebPki(Arc<WebPkiServerVerifier>),
    /// webpki's verification plus the certificates pinned in `--ca-file`; a refusal fails the
    /// handshake. The push transports.
    Pinning(Pinning),
    /// The chain against these roots and the name, judged separately and recorded; the
    /// handshake always goes on, so an expired or untrusted certificate is still reported.
    /// The certs collector.
    Report(Arc<RootCertStore>),
}

/// What a handshake showed, as recorded by a [`RecordingVerifier`] made with
/// [`RecordingVerifier::recording`].
#[derive(Debug, Clone, Default)]
pub struct Seen {
    /// The certificates presented, leaf first, as sent.
    pub chain: Vec<CertificateDer<'static>>,
    /// The version of the last handshake whose signature was checked (`TLS 1.2`, `TLS 1.3`).
    pub version: Option<&'static str>,
    /// With [`Check::Report`]: the chain leads to a trusted root and every certificate in it
    /// is valid now. Otherwise: the certificate was checked and accepted.
    pub verified: bool,
    /// Why not, when not.
    pub verify_error: Option<String>,
    /// With [`Check::Report`]: the leaf is valid for the name checked (the SNI name, or the
    /// IP address). Otherwise false.
    pub hostname_match: bool,
}

/// Verifies the server's certificate by its [`Check`], and records what the server showed
/// when made with [`RecordingVerifier::recording`].
#[derive(Debug)]
pub struct RecordingVerifier {
    check: Check,
    algorithms: WebPkiSupportedAlgorithms,
    /// `None`: nothing is recorded.
    seen: Option<Mutex<Seen>>,
}

/// The verdict on one certificate: what rustls is told, and what is recorded.
struct Verdict {
    result: Result<ServerCertVerified, rustls::Error>,
    verified: bool,
    verify_error: Option<String>,
    hostname_match: bool,
}

impl RecordingVerifier {
    /// A verifier that checks by `check` and records nothing.
    pub fn new(check: Check, provider: &CryptoProvider) -> Self {
        RecordingVerifier {
            check,
            algorithms: provider.signature_verification_algorithms,
            seen: None,
        }
    }

    /// A verifier that checks by `check` and records what each handshake showed.
    pub fn recording(check: Check, provider: &CryptoProvider) -> Self {
        RecordingVerifier {
            seen: Some(Mutex::new(Seen::default())),
            ..RecordingVerifier::new(check, provider)
        }
    }

    /// What the handshakes showed so far (nothing when none got to the certificate).
    pub fn seen(&self) -> Seen {
        self.seen
            .as_ref()
            .and_then(|seen| seen.lock().ok().map(|s| s.clone()))
            .unwrap_or_default()
    }

    /// What the handshake showed, once the server sent its certificate; takes it.
    pub fn take(&self) -> Option<Seen> {
        let seen = self
            .seen
            .as_ref()
            .and_then(|seen| seen.lock().ok().map(|mut s| std::mem::take(&mut *s)))?;
        (!seen.chain.is_empty()).then_some(seen)
    }

    fn note_version(&self, version: &'static str) {
        if let Some(Ok(mut seen)) = self.seen.as_ref().map(Mutex::lock) {
            seen.version = Some(version);
        }
    }

    fn verdict(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Verdict {
        let refusable = |result: Result<ServerCertVerified, rustls::Error>| Verdict {
            verified: result.is_ok(),
            verify_error: result.as_ref().err().map(|e| e.to_string()),
            hostname_match: false,
            result,
        };
        match &self.check {
            Check::Nothing => Verdict {
                result: Ok(ServerCertVerified::assertion()),
                verified: false,
                verify_error: None,
                hostname_match: false,
            },
            Check::WebPki(webpki) => refusable(webpki.verify_server_cert(
                end_entity,
                intermediates,
                server_name,
                ocsp_response,
                now,
            )),
            Check::Pinning(pinning) => refusable(pinning.verify(
                end_entity,
                intermediates,
                server_name,
                ocsp_response,
                now,
            )),
            Check::Report(roots) => self.report(roots, end_entity, intermediates, server_name, now),
        }
    }

    /// [`Check::Report`]: the chain and the name, judged separately; always accepted.
    fn report(
        &self,
        roots: &RootCertStore,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        now: UnixTime,
    ) -> Verdict {
        let (chain, hostname_match) = match ParsedCertificate::try_from(end_entity) {
            Ok(parsed) => (
                verify_server_cert_signed_by_trust_anchor(
                    &parsed,
                    roots,
                    intermediates,
                    now,
                    self.algorithms.all,
                ),
                verify_server_name(&parsed, server_name).is_ok(),
            ),
            Err(e) => (Err(e), false),
        };
        Verdict {
            result: Ok(ServerCertVerified::assertion()),
            verified: chain.is_ok(),
            verify_error: chain.err().map(|e| e.to_string()),
            hostname_match,
        }
    }
}

impl ServerCertVerifier for RecordingVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let verdict = self.verdict(end_entity, intermediates, server_name, ocsp_response, now);
        if let Some(Ok(mut seen)) = self.seen.as_ref().map(Mutex::lock) {
            seen.chain = std::iter::once(end_entity)
                .chain(intermediates)
                .map(|c| c.clone().into_owned())
                .collect();
            seen.verified = verdict.verified;
            seen.verify_error = verdict.verify_error;
            seen.hostname_match = verdict.hostname_match;
        }
        verdict.result
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.note_version("TLS 1.2");
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.note_version("TLS 1.3");
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}
