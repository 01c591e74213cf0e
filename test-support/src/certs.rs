//! Test helpers: certificates made with rcgen and real TLS (and SMTP STARTTLS) servers on
//! 127.0.0.1, each counting the connections it accepted.

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose, SerialNumber,
};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;

pub const DAY: i64 = 86_400;

/// Now as a whole Unix second.
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Sets the validity to two Unix times (the `time` crate is rcgen's, not ours to name).
fn set_validity(params: &mut CertificateParams, not_before: i64, not_after: i64) {
    params.not_before = rcgen::date_time_ymd(1970, 1, 1) + Duration::from_secs(not_before as u64);
    params.not_after = rcgen::date_time_ymd(1970, 1, 1) + Duration::from_secs(not_after as u64);
}

/// A certificate authority.
pub struct Ca {
    pub issuer: CertifiedIssuer<'static, KeyPair>,
}

impl Ca {
    pub fn root(cn: &str) -> Ca {
        let issuer =
            CertifiedIssuer::self_signed(ca_params(cn), KeyPair::generate().unwrap()).unwrap();
        Ca { issuer }
    }

    pub fn intermediate(&self, cn: &str) -> Ca {
        let issuer =
            CertifiedIssuer::signed_by(ca_params(cn), KeyPair::generate().unwrap(), &self.issuer)
                .unwrap();
        Ca { issuer }
    }

    pub fn der(&self) -> CertificateDer<'static> {
        self.issuer.der().clone()
    }

    pub fn pem(&self) -> String {
        self.issuer.pem()
    }

    /// A server certificate for `names` (DNS names or IP addresses), valid between the
    /// two Unix times, with the given serial number.
    pub fn leaf(&self, names: &[&str], not_before: i64, not_after: i64, serial: u64) -> Leaf {
        let mut params =
            CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
                .unwrap();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, names[0]);
        dn.push(DnType::OrganizationalUnitName, "ops");
        params.distinguished_name = dn;
        set_validity(&mut params, not_before, not_after);
        params.serial_number = Some(SerialNumber::from(serial));
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        Leaf {
            der: cert.der().clone(),
            pem: cert.pem(),
            key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        }
    }

    /// A leaf valid from yesterday for a year.
    pub fn good_leaf(&self, names: &[&str]) -> Leaf {
        self.leaf(names, now() - DAY, now() + 365 * DAY, 4242)
    }
}

fn ca_params(cn: &str) -> CertificateParams {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, cn);
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    set_validity(&mut params, now() - 10 * DAY, now() + 3650 * DAY);
    params
}

/// A server certificate and its key.
pub struct Leaf {
    pub der: CertificateDer<'static>,
    pub pem: String,
    pub key: PrivateKeyDer<'static>,
}

/// A running test server.
pub struct Server {
    pub addr: SocketAddr,
    /// Connections accepted so far.
    pub accepted: Arc<AtomicUsize>,
    /// While false, the server closes every connection at once (for [`tls_server`]).
    pub healthy: Arc<AtomicBool>,
}

impl Server {
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

fn acceptor(chain: Vec<CertificateDer<'static>>, key: PrivateKeyDer<'static>) -> TlsAcceptor {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap();
    TlsAcceptor::from(Arc::new(config))
}

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Tls,
    Smtp,
    Stall,
}

async fn serve(mode: Mode, acceptor: Option<TlsAcceptor>) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let server = Server {
        addr: listener.local_addr().unwrap(),
        accepted: Arc::new(AtomicUsize::new(0)),
        healthy: Arc::new(AtomicBool::new(true)),
    };
    let (accepted, healthy) = (server.accepted.clone(), server.healthy.clone());
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            accepted.fetch_add(1, Ordering::SeqCst);
            if mode == Mode::Stall {
                held.push(stream);
                continue;
            }
            if !healthy.load(Ordering::SeqCst) {
                drop(stream);
                continue;
            }
            let acceptor = acceptor.clone().unwrap();
            tokio::spawn(async move {
                let stream = if mode == Mode::Smtp {
                    match smtp_dialogue(stream).await {
                        Some(s) => s,
                        None => return,
                    }
                } else {
                    stream
                };
                if let Ok(mut tls) = acceptor.accept(stream).await {
                    let mut buf = [0u8; 64];
                    let _ = tokio::time::timeout(Duration::from_secs(5), tls.read(&mut buf)).await;
                }
            });
        }
    });
    server
}

/// A TLS server presenting `chain`.
pub async fn tls_server(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Server {
    serve(Mode::Tls, Some(acceptor(chain, key))).await
}

/// An SMTP server that offers STARTTLS, then presents `chain`.
pub async fn smtp_server(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Server {
    serve(Mode::Smtp, Some(acceptor(chain, key))).await
}

/// Accepts connections and never says a word.
pub async fn stalled_server() -> Server {
    serve(Mode::Stall, None).await
}

/// The server side of SMTP up to STARTTLS.
async fn smtp_dialogue(stream: TcpStream) -> Option<TcpStream> {
    let mut reader = BufReader::new(stream);
    reader
        .get_mut()
        .write_all(b"220 mail.test ESMTP ready\r\n")
        .await
        .ok()?;
    let mut line = String::new();
    reader.read_line(&mut line).await.ok()?;
    if !line.starts_with("EHLO") {
        return None;
    }
    reader
        .get_mut()
        .write_all(b"250-mail.test greets you\r\n250-SIZE 10240000\r\n250-STARTTLS\r\n250 HELP\r\n")
        .await
        .ok()?;
    line.clear();
    reader.read_line(&mut line).await.ok()?;
    if line.trim() != "STARTTLS" {
        return None;
    }
    reader
        .get_mut()
        .write_all(b"220 2.0.0 Ready to start TLS\r\n")
        .await
        .ok()?;
    Some(reader.into_inner())
}
