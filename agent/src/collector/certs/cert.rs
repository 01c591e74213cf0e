//! What the metrics say about one certificate, in ssl_exporter's label format.

use super::CertsError;
use std::net::{Ipv4Addr, Ipv6Addr};
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::{FromDer, X509Certificate, X509Name};

/// One parsed certificate: validity, ssl_exporter's labels, and the raw names used to
/// build a chain.
#[derive(Debug, Clone, PartialEq)]
pub struct CertInfo {
    pub der: Vec<u8>,
    pub not_before: i64,
    pub not_after: i64,
    /// Decimal, as Go's `big.Int.String()`.
    pub serial_no: String,
    pub issuer_cn: String,
    pub cn: String,
    /// `,a,b,` as ssl_exporter writes lists; empty when there are none.
    pub dnsnames: String,
    pub ips: String,
    pub emails: String,
    pub ou: String,
    pub subject_raw: Vec<u8>,
    pub issuer_raw: Vec<u8>,
}

impl CertInfo {
    pub fn parse(der: &[u8]) -> Result<Self, CertsError> {
        let (_, cert) =
            X509Certificate::from_der(der).map_err(|e| CertsError::Certificate(e.to_string()))?;
        let mut dns = Vec::new();
        let mut ips = Vec::new();
        let mut emails = Vec::new();
        if let Ok(Some(san)) = cert.subject_alternative_name() {
            for name in &san.value.general_names {
                match name {
                    GeneralName::DNSName(n) => dns.push((*n).to_owned()),
                    GeneralName::RFC822Name(e) => emails.push((*e).to_owned()),
                    GeneralName::IPAddress(bytes) => ips.push(format_ip(bytes)),
                    _ => {}
                }
            }
        }
        let ou: Vec<String> = cert
            .subject()
            .iter_organizational_unit()
            .filter_map(|a| a.as_str().ok().map(str::to_owned))
            .collect();
        Ok(CertInfo {
            der: der.to_vec(),
            not_before: cert.validity().not_before.timestamp(),
            not_after: cert.validity().not_after.timestamp(),
            serial_no: cert.tbs_certificate.serial.to_string(),
            issuer_cn: last_cn(cert.issuer()),
            cn: last_cn(cert.subject()),
            dnsnames: join_list(&dns),
            ips: join_list(&ips),
            emails: join_list(&emails),
            ou: join_list(&ou),
            subject_raw: cert.subject().as_raw().to_vec(),
            issuer_raw: cert.issuer().as_raw().to_vec(),
        })
    }

    /// ssl_exporter's labels of a certificate, in its order.
    pub fn labels(&self) -> [(&'static str, &str); 7] {
        [
            ("serial_no", &self.serial_no),
            ("issuer_cn", &self.issuer_cn),
            ("cn", &self.cn),
            ("dnsnames", &self.dnsnames),
            ("ips", &self.ips),
            ("emails", &self.emails),
            ("ou", &self.ou),
        ]
    }
}

/// Go keeps the last CN of a name.
fn last_cn(name: &X509Name<'_>) -> String {
    name.iter_common_name()
        .filter_map(|a| a.as_str().ok())
        .last()
        .unwrap_or("")
        .to_owned()
}

fn join_list(items: &[String]) -> String {
    if items.is_empty() {
        String::new()
    } else {
        format!(",{},", items.join(","))
    }
}

fn format_ip(bytes: &[u8]) -> String {
    if let Ok(v4) = <[u8; 4]>::try_from(bytes) {
        Ipv4Addr::from(v4).to_string()
    } else if let Ok(v6) = <[u8; 16]>::try_from(bytes) {
        Ipv6Addr::from(v6).to_string()
    } else {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// Certificates without repeats (a server may send one twice), keeping the first.
pub fn unique(certs: Vec<CertInfo>) -> Vec<CertInfo> {
    let mut out: Vec<CertInfo> = Vec::with_capacity(certs.len());
    for cert in certs {
        if !out.iter().any(|c| c.der == cert.der) {
            out.push(cert);
        }
    }
    out
}

/// The path from `leaf` up to a trusted root: each step takes the presented intermediate
/// (or else the root) whose subject is the current certificate's issuer. Used only for a
/// chain that webpki verified, to report `ssl_verified_cert_*`.
pub fn build_chain(
    leaf: &CertInfo,
    intermediates: &[CertInfo],
    roots: &[CertInfo],
) -> Vec<CertInfo> {
    let mut chain = vec![leaf.clone()];
    for _ in 0..8 {
        let current = chain.last().expect("chain starts with the leaf");
        if roots.iter().any(|r| r.der == current.der) {
            break;
        }
        let issuer = &current.issuer_raw;
        let next = intermediates
            .iter()
            .find(|c| &c.subject_raw == issuer && !chain.iter().any(|x| x.der == c.der))
            .or_else(|| roots.iter().find(|r| &r.subject_raw == issuer));
        match next {
            Some(next) => {
                let is_root = roots.iter().any(|r| r.der == next.der);
                chain.push(next.clone());
                if is_root {
                    break;
                }
            }
            None => break,
        }
    }
    chain
}
