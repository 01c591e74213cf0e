//! The push transports' TLS client: the pinning verifier against rcgen certificates (a
//! self-signed `CA:TRUE` one as `openssl req -x509` makes, wrong names, expired, IP SANs),
//! full in-memory handshakes, and the words of every refusal.

use super::*;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use rustls::client::danger::ServerCertVerifier;
use rustls::sign::CertifiedKey;
use rustls::{CertificateError, ClientConnection, ServerConfig, ServerConnection};
use rustls_pki_types::{PrivateKeyDer, ServerName, UnixTime};
use std::time::Duration;

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

/// A certificate with its key.
struct Made {
    der: CertificateDer<'static>,
    pem: String,
    key: KeyPair,
}

/// A self-signed certificate as `openssl req -x509 -subj /CN=localhost -addext
/// subjectAltName=...` makes it: `CA:TRUE`, the names in the SAN, valid from a year ago for
/// `days_left` more days.
fn self_signed(names: &[&str], days_left: i64) -> Made {
    let mut params =
        CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
            .expect("params");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    set_validity(&mut params, -365, days_left);
    let key = KeyPair::generate().expect("key");
    let cert = params.self_signed(&key).expect("self-signed");
    Made {
        der: cert.der().clone(),
        pem: cert.pem(),
        key,
    }
}

/// notBefore `from` days and notAfter `to` days from now (negative: in the past).
fn set_validity(params: &mut CertificateParams, from: i64, to: i64) {
    let at = |days: i64| {
        let now = std::time::SystemTime::now();
        let offset = Duration::from_secs(days.unsigned_abs() * 86_400);
        if days < 0 { now - offset } else { now + offset }.into()
    };
    params.not_before = at(from);
    params.not_after = at(to);
}

fn name(host: &str) -> ServerName<'static> {
    ServerName::try_from(host.to_owned()).expect("server name")
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// The verifier as the agent builds it: the system bundle plus `ca_file`.
fn verifier(ca_file: &[&CertificateDer<'static>]) -> RecordingVerifier {
    let bundle = system_bundle().expect("ca-certificates is installed on Debian");
    let pinning = Pinning::new(
        read_pem_certs(&bundle).unwrap(),
        ca_file.iter().map(|c| (*c).clone()).collect(),
        provider(),
    );
    RecordingVerifier::new(Check::Pinning(pinning), &provider())
}

fn verify(
    verifier: &RecordingVerifier,
    cert: &CertificateDer<'_>,
    host: &str,
) -> Result<(), rustls::Error> {
    verifier
        .verify_server_cert(cert, &[], &name(host), &[], UnixTime::now())
        .map(|_| ())
}

/// The words of a refusal.
fn words(result: Result<(), rustls::Error>) -> String {
    let error = result.expect_err("the certificate must be refused");
    explain(&error).unwrap_or_else(|| panic!("not a certificate refusal: {error}"))
}

#[test]
fn a_pinned_self_signed_ca_certificate_is_accepted_for_its_names() {
    let made = self_signed(&["localhost", "127.0.0.1", "::1"], 30);
    let pinned = verifier(&[&made.der]);
    verify(&pinned, &made.der, "localhost").expect("DNS name in the SAN");
    verify(&pinned, &made.der, "LOCALHOST").expect("DNS names match without case");
    verify(&pinned, &made.der, "127.0.0.1").expect("IPv4 address in the SAN");
    verify(&pinned, &made.der, "::1").expect("IPv6 address in the SAN");
}

#[test]
fn webpki_alone_refuses_a_self_signed_ca_certificate_used_by_the_server() {
    // What the agent said before pinning: the certificate is a trust anchor, and a CA.
    let made = self_signed(&["localhost"], 30);
    let mut roots = rustls::RootCertStore::empty();
    roots.add(made.der.clone()).unwrap();
    let webpki =
        rustls::client::WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider())
            .build()
            .unwrap();
    let error = webpki
        .verify_server_cert(&made.der, &[], &name("localhost"), &[], UnixTime::now())
        .expect_err("webpki refuses a CA as end entity");
    assert_eq!(
        error.to_string(),
        "invalid peer certificate: Other(OtherError(CaUsedAsEndEntity))"
    );
    assert_eq!(
        explain(&error).unwrap(),
        "the server's certificate is a CA certificate (CA:TRUE), which the agent accepts as a \
         server's own only when that exact certificate is in --ca-file (PEEPER_CA_FILE): put it \
         there, or reissue it without CA:TRUE"
    );
}

#[test]
fn a_self_signed_certificate_not_in_the_ca_file_names_the_ca_file() {
    // Not in the CA file at all, or an older certificate of the same name is there (webpki
    // then says CaUsedAsEndEntity): the same story, the same words. Also without CA:TRUE,
    // and when it has expired besides (trusting it comes first).
    let made = self_signed(&["localhost"], 30);
    let other = self_signed(&["localhost"], 30);
    let (_, plain) = ca_and_leaf(&["localhost"], 30);
    let mut params = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    params
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    let key = KeyPair::generate().unwrap();
    let not_ca = params.self_signed(&key).unwrap().der().clone();
    let expired = self_signed(&["localhost"], -1);
    let cases = [
        (&made.der, vec![]),
        (&expired.der, vec![]),
        (&expired.der, vec![&made.der]),
        (&made.der, vec![&other.der]),
        (&made.der, vec![&not_ca]),
        (&not_ca, vec![&made.der]),
        (&plain.der, vec![&made.der]),
    ];
    for (presented, ca_file) in cases {
        let result = verify(&verifier(&ca_file), presented, "localhost");
        assert!(
            matches!(
                result,
                Err(rustls::Error::InvalidCertificate(
                    CertificateError::UnknownIssuer
                ))
            ),
            "{result:?}"
        );
        assert_eq!(
            words(result),
            "the server's certificate is not signed by a CA the agent trusts: put that CA's \
             certificate, or the server's self-signed certificate itself, in --ca-file \
             (PEEPER_CA_FILE)"
        );
    }
}

#[test]
fn a_pinned_certificate_for_other_names_is_refused_naming_them() {
    let made = self_signed(&["localhost", "127.0.0.1"], 30);
    let pinned = verifier(&[&made.der]);
    assert_eq!(
        words(verify(&pinned, &made.der, "127.0.0.2")),
        "the server's certificate is for localhost, 127.0.0.1, not 127.0.0.2: connect by one of \
         those names (--server, PEEPER_SERVER_URL) or reissue the certificate with 127.0.0.2 in \
         its subjectAltName"
    );
    assert_eq!(
        words(verify(&pinned, &made.der, "peeper.example.com")),
        "the server's certificate is for localhost, 127.0.0.1, not peeper.example.com: connect \
         by one of those names (--server, PEEPER_SERVER_URL) or reissue the certificate with \
         peeper.example.com in its subjectAltName"
    );
}

#[test]
fn the_common_name_alone_names_no_host() {
    // CN=localhost but no subjectAltName: refused, as Go and curl refuse it.
    let made = self_signed(&[], 30);
    let pinned = verifier(&[&made.der]);
    assert_eq!(
        words(verify(&pinned, &made.der, "localhost")),
        "the server's certificate names no host in its subjectAltName, so it is not valid for \
         localhost (the agent, like curl and Go, ignores the common name): reissue it with \
         subjectAltName=DNS:localhost"
    );
    assert!(
        words(verify(&pinned, &made.der, "127.0.0.1")).ends_with("subjectAltName=IP:127.0.0.1")
    );
}

#[test]
fn an_expired_pinned_certificate_is_refused_with_its_date() {
    let mut params = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.not_before = rcgen::date_time_ymd(2020, 1, 1);
    params.not_after = rcgen::date_time_ymd(2020, 2, 1);
    let key = KeyPair::generate().unwrap();
    let der = params.self_signed(&key).unwrap().der().clone();
    let pinned = verifier(&[&der]);
    let result = verify(&pinned, &der, "localhost");
    assert!(matches!(
        result,
        Err(rustls::Error::InvalidCertificate(
            CertificateError::ExpiredContext { .. }
        ))
    ));
    assert_eq!(
        words(result),
        "the server's certificate expired on 2020-02-01 00:00:00 UTC: renew it on the server"
    );
    // Expired and for another name: the date is what is said first, as webpki does.
    assert!(words(verify(&pinned, &der, "127.0.0.2")).contains("expired on 2020-02-01"));
}

#[test]
fn a_pinned_certificate_not_valid_yet_asks_to_check_the_clocks() {
    let mut params = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.not_before = rcgen::date_time_ymd(2090, 1, 1);
    params.not_after = rcgen::date_time_ymd(2091, 1, 1);
    let key = KeyPair::generate().unwrap();
    let der = params.self_signed(&key).unwrap().der().clone();
    let text = words(verify(&verifier(&[&der]), &der, "localhost"));
    assert!(
        text.starts_with(
            "the server's certificate is not valid before 2090-01-01 00:00:00 UTC, and this \
             host's clock says 20"
        ),
        "{text}"
    );
    assert!(
        text.ends_with(": check the clocks of the server and of this host"),
        "{text}"
    );
}

/// A private CA (in the CA file) and a leaf it signed, as `peeper-server`'s setup makes them.
fn ca_and_leaf(names: &[&str], leaf_days_left: i64) -> (Made, Made) {
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name.push(DnType::CommonName, "test CA");
    let ca_key = KeyPair::generate().unwrap();
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let ca_made = Made {
        der: ca_cert.der().clone(),
        pem: ca_cert.pem(),
        key: KeyPair::generate().unwrap(),
    };
    let issuer = Issuer::new(ca, ca_key);
    let mut leaf =
        CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).unwrap();
    set_validity(&mut leaf, -400, leaf_days_left);
    let key = KeyPair::generate().unwrap();
    let cert = leaf.signed_by(&key, &issuer).unwrap();
    let leaf_made = Made {
        der: cert.der().clone(),
        pem: cert.pem(),
        key,
    };
    (ca_made, leaf_made)
}

#[test]
fn a_leaf_of_a_ca_in_the_ca_file_is_checked_as_before_with_the_same_words() {
    let (ca, leaf) = ca_and_leaf(&["localhost", "127.0.0.1"], 30);
    let with_ca = verifier(&[&ca.der]);
    verify(&with_ca, &leaf.der, "localhost").expect("chain to the CA file");
    assert_eq!(
        words(verify(&with_ca, &leaf.der, "127.0.0.2")),
        "the server's certificate is for localhost, 127.0.0.1, not 127.0.0.2: connect by one of \
         those names (--server, PEEPER_SERVER_URL) or reissue the certificate with 127.0.0.2 in \
         its subjectAltName"
    );
    // Pinning the CA does not pin what it signed: the leaf still needs its chain.
    assert!(words(verify(&verifier(&[]), &leaf.der, "localhost")).contains("--ca-file"));

    let (ca, expired) = ca_and_leaf(&["localhost"], -2);
    let text = words(verify(&verifier(&[&ca.der]), &expired.der, "localhost"));
    assert!(
        text.starts_with("the server's certificate expired on "),
        "{text}"
    );
    assert!(text.ends_with(" UTC: renew it on the server"), "{text}");
}

#[test]
fn other_refusals_keep_rustls_words_and_say_it_was_the_certificate() {
    let error = rustls::Error::InvalidCertificate(CertificateError::Revoked);
    assert_eq!(
        explain(&error).unwrap(),
        "invalid peer certificate: Revoked (TLS certificate check failed)"
    );
    assert_eq!(explain(&rustls::Error::DecryptError), None);
    // tokio-rustls reports the handshake's refusal as an I/O error wrapping it.
    let io = std::io::Error::new(std::io::ErrorKind::InvalidData, error.clone());
    assert_eq!(certificate_refusal(&io), explain(&error));
    // reqwest's connector wraps that in one more.
    let twice = std::io::Error::other(io);
    assert_eq!(certificate_refusal(&twice), explain(&error));
    assert_eq!(certificate_refusal(&error), explain(&error));
    assert_eq!(certificate_refusal(&std::io::Error::other("refused")), None);
}

#[test]
fn dates_are_utc_calendar_dates() {
    let at = |secs| utc_date(UnixTime::since_unix_epoch(Duration::from_secs(secs)));
    assert_eq!(at(0), "1970-01-01 00:00:00 UTC");
    assert_eq!(at(1_580_515_200), "2020-02-01 00:00:00 UTC");
    assert_eq!(at(1_709_210_096), "2024-02-29 12:34:56 UTC");
    assert_eq!(at(4_102_444_799), "2099-12-31 23:59:59 UTC");
}

/// A server presenting `cert` and signing with `key` (which need not belong to it).
fn server(
    cert: &CertificateDer<'static>,
    key: &KeyPair,
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> ServerConfig {
    #[derive(Debug)]
    struct Fixed(Arc<CertifiedKey>);
    impl rustls::server::ResolvesServerCert for Fixed {
        fn resolve(&self, _: rustls::server::ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
            Some(self.0.clone())
        }
    }
    let provider = provider();
    let key_der = PrivateKeyDer::try_from(key.serialize_der()).unwrap();
    let signing = provider.key_provider.load_private_key(key_der).unwrap();
    let certified = CertifiedKey::new(vec![cert.clone()], signing);
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .unwrap()
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(Fixed(Arc::new(certified))));
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    config
}

/// A full handshake in memory; the client's error if it refuses.
fn handshake(
    client: ClientConfig,
    server: ServerConfig,
    host: &str,
) -> Result<Vec<u8>, rustls::Error> {
    let mut client = ClientConnection::new(Arc::new(client), name(host))?;
    let mut server = ServerConnection::new(Arc::new(server)).unwrap();
    for _ in 0..20 {
        let mut wire = Vec::new();
        while client.wants_write() {
            client.write_tls(&mut wire).unwrap();
        }
        let mut rest = wire.as_slice();
        while !rest.is_empty() {
            server.read_tls(&mut rest).unwrap();
            if server.process_new_packets().is_err() {
                break;
            }
        }
        let mut wire = Vec::new();
        while server.wants_write() {
            server.write_tls(&mut wire).unwrap();
        }
        let mut rest = wire.as_slice();
        while !rest.is_empty() {
            client.read_tls(&mut rest).unwrap();
            client.process_new_packets()?;
        }
        if !client.is_handshaking() && !server.is_handshaking() {
            return Ok(client.alpn_protocol().unwrap_or_default().to_vec());
        }
    }
    panic!("the handshake did not finish");
}

fn ca_file(dir: &tempfile::TempDir, pem: &str) -> PathBuf {
    let path = dir.path().join("ca.pem");
    std::fs::write(&path, pem).unwrap();
    path
}

#[test]
fn handshakes_with_a_pinned_certificate_over_tls_1_2_and_1_3() {
    let dir = tempfile::tempdir().unwrap();
    let made = self_signed(&["localhost", "127.0.0.1"], 30);
    let path = ca_file(&dir, &made.pem);
    for versions in [
        &[&rustls::version::TLS12][..],
        &[&rustls::version::TLS13][..],
    ] {
        let alpn = handshake(
            client_config(Some(&path), ALPN_HTTPS).unwrap(),
            server(&made.der, &made.key, versions),
            "127.0.0.1",
        )
        .expect("a pinned certificate passes");
        assert_eq!(alpn, b"h2");
        let refused = handshake(
            client_config(Some(&path), ALPN_GRPC).unwrap(),
            server(&made.der, &made.key, versions),
            "127.0.0.2",
        )
        .expect_err("wrong name");
        assert!(explain(&refused).unwrap().contains("not 127.0.0.2"));
    }
}

#[test]
fn a_pinned_certificate_served_with_another_key_fails_the_handshake() {
    // The certificate is public; only its private key proves the server is the one pinned.
    let dir = tempfile::tempdir().unwrap();
    let made = self_signed(&["localhost"], 30);
    let path = ca_file(&dir, &made.pem);
    let impostor = KeyPair::generate().unwrap();
    for versions in [
        &[&rustls::version::TLS12][..],
        &[&rustls::version::TLS13][..],
    ] {
        let refused = handshake(
            client_config(Some(&path), ALPN_HTTPS).unwrap(),
            server(&made.der, &impostor, versions),
            "localhost",
        )
        .expect_err("the handshake signature does not verify");
        assert!(
            matches!(
                refused,
                rustls::Error::InvalidCertificate(CertificateError::BadSignature)
            ),
            "{refused:?}"
        );
        assert_eq!(
            explain(&refused).unwrap(),
            "a signature on the server's certificate or its handshake does not verify: the \
             certificate was not signed by the CA it names, or the server does not hold its \
             private key (check the server's certificate and key files, and what stands between \
             the agent and the server)"
        );
    }
}

#[test]
fn the_ca_file_must_hold_certificates() {
    let dir = tempfile::tempdir().unwrap();
    let empty = ca_file(&dir, "nothing\n");
    let error = client_config(Some(&empty), ALPN_HTTPS).unwrap_err();
    assert!(matches!(error.source, PemError::Empty));
    assert_eq!(error.path, empty);
    let missing = dir.path().join("missing.pem");
    assert!(matches!(
        client_config(Some(&missing), ALPN_HTTPS)
            .unwrap_err()
            .source,
        PemError::Io(_)
    ));
    assert_eq!(
        client_config(None, ALPN_GRPC).unwrap().alpn_protocols,
        vec![b"h2".to_vec()]
    );
}
