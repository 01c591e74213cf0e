//! One endpoint check: TCP connect, SMTP STARTTLS when asked, TLS handshake, and what the
//! server's certificates say. The caller bounds the time.

use super::CertsError;
use super::cert::{CertInfo, build_chain, unique};
use super::config::{Endpoint, StartTls};
use super::verify::TlsContext;
use rustls::ProtocolVersion;
use rustls_pki_types::ServerName;
use std::sync::Arc;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

/// The most an SMTP server may send before TLS starts.
const MAX_SMTP_BYTES: usize = 64 * 1024;

/// The result of a check that completed its handshake.
#[derive(Debug, Clone, PartialEq)]
pub struct Checked {
    /// ssl_exporter's `version` label: `TLS 1.2`, `TLS 1.3`.
    pub tls_version: &'static str,
    /// The presented certificates, leaf first, without repeats.
    pub peer: Vec<CertInfo>,
    /// Leaf to root, when the chain verified.
    pub verified_chain: Option<Vec<CertInfo>>,
    pub verified: bool,
    pub verify_error: Option<String>,
    pub hostname_match: bool,
}

/// Checks one endpoint once.
pub async fn check(endpoint: &Endpoint, context: &Arc<TlsContext>) -> Result<Checked, CertsError> {
    let target = endpoint.to_string();
    let name = endpoint.server_name();
    let server_name =
        ServerName::try_from(name.to_owned()).map_err(|_| CertsError::ServerName {
            target: target.clone(),
            name: name.to_owned(),
        })?;
    let recorder = Arc::new(context.recorder());
    let config = rustls::ClientConfig::builder_with_provider(context.provider.clone())
        .with_protocol_versions(rustls::ALL_VERSIONS)
        .map_err(|e| CertsError::Tls(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(recorder.clone())
        .with_no_client_auth();

    let connect_error = |source| CertsError::Connect {
        target: target.clone(),
        source,
    };
    let mut tcp = TcpStream::connect((endpoint.host.as_str(), endpoint.port))
        .await
        .map_err(connect_error)?;
    let _ = tcp.set_nodelay(true);
    if endpoint.starttls() == StartTls::Smtp {
        tcp = smtp_starttls(tcp, &target).await?;
    }
    let mut tls = TlsConnector::from(Arc::new(config))
        .connect(server_name, tcp)
        .await
        .map_err(|source| CertsError::Handshake {
            target: target.clone(),
            message: source.to_string(),
        })?;
    let version = match tls.get_ref().1.protocol_version() {
        Some(ProtocolVersion::TLSv1_3) => "TLS 1.3",
        Some(ProtocolVersion::TLSv1_2) => "TLS 1.2",
        _ => "unknown",
    };
    let _ = tls.shutdown().await;
    let presented = recorder
        .take()
        .ok_or_else(|| CertsError::NoCertificate(target.clone()))?;
    let peer: Vec<CertInfo> = presented
        .chain
        .iter()
        .map(|der| CertInfo::parse(der))
        .collect::<Result<_, _>>()?;
    let peer = unique(peer);
    let verified_chain = match (presented.verified, peer.split_first()) {
        (true, Some((leaf, rest))) => Some(build_chain(leaf, rest, &context.root_infos)),
        _ => None,
    };
    Ok(Checked {
        tls_version: version,
        peer,
        verified_chain,
        verified: presented.verified,
        verify_error: presented.verify_error,
        hostname_match: presented.hostname_match,
    })
}

/// SMTP up to the point where TLS starts: the 220 greeting, EHLO (the server must offer
/// STARTTLS), STARTTLS and its 220.
async fn smtp_starttls(tcp: TcpStream, target: &str) -> Result<TcpStream, CertsError> {
    let fail = |message: String| CertsError::StartTls {
        target: target.to_owned(),
        message,
    };
    let mut reader = BufReader::new(tcp);
    let mut budget = MAX_SMTP_BYTES;
    let greeting = read_reply(&mut reader, &mut budget, target).await?;
    if !greeting.starts_with("220") {
        return Err(fail(format!(
            "expected a 220 greeting, got {:?}",
            first_line(&greeting)
        )));
    }
    send(&mut reader, "EHLO peeper-agent\r\n", target).await?;
    let ehlo = read_reply(&mut reader, &mut budget, target).await?;
    if !ehlo.starts_with("250") {
        return Err(fail(format!("EHLO was refused: {:?}", first_line(&ehlo))));
    }
    let offers = ehlo.lines().any(|l| {
        l.get(4..)
            .is_some_and(|kw| kw.trim().eq_ignore_ascii_case("STARTTLS"))
    });
    if !offers {
        return Err(fail(
            "the server does not offer STARTTLS in its EHLO reply".to_owned(),
        ));
    }
    send(&mut reader, "STARTTLS\r\n", target).await?;
    let ready = read_reply(&mut reader, &mut budget, target).await?;
    if !ready.starts_with("220") {
        return Err(fail(format!(
            "STARTTLS was refused: {:?}",
            first_line(&ready)
        )));
    }
    if !reader.buffer().is_empty() {
        return Err(fail(
            "the server sent data after its STARTTLS reply".to_owned(),
        ));
    }
    Ok(reader.into_inner())
}

fn first_line(reply: &str) -> &str {
    reply.lines().next().unwrap_or("")
}

async fn send(
    reader: &mut BufReader<TcpStream>,
    line: &str,
    target: &str,
) -> Result<(), CertsError> {
    reader
        .get_mut()
        .write_all(line.as_bytes())
        .await
        .map_err(|source| CertsError::Connect {
            target: target.to_owned(),
            source,
        })
}

/// One SMTP reply: lines `NNN-...` up to the last `NNN ...`.
async fn read_reply(
    reader: &mut BufReader<TcpStream>,
    budget: &mut usize,
    target: &str,
) -> Result<String, CertsError> {
    let mut reply = String::new();
    loop {
        let mut line = Vec::new();
        let n = (&mut *reader)
            .take(*budget as u64)
            .read_until(b'\n', &mut line)
            .await
            .map_err(|source| CertsError::Connect {
                target: target.to_owned(),
                source,
            })?;
        *budget = budget.saturating_sub(n);
        if n == 0 || *budget == 0 {
            return Err(CertsError::StartTls {
                target: target.to_owned(),
                message: "the connection closed (or sent too much) during the SMTP dialogue"
                    .to_owned(),
            });
        }
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end();
        reply.push_str(text);
        reply.push('\n');
        if text.as_bytes().get(3) != Some(&b'-') {
            return Ok(reply);
        }
    }
}
