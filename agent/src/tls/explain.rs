//! TLS certificate refusals in words: the cause and the fix.

use rustls::CertificateError;
use rustls_pki_types::{ServerName, UnixTime};

/// The sentence for a certificate refusal (`None` for any other TLS error): what is wrong
/// with the server's certificate and what to do about it. Every sentence says "certificate".
pub fn explain(error: &rustls::Error) -> Option<String> {
    let rustls::Error::InvalidCertificate(refusal) = error else {
        return None;
    };
    Some(match refusal {
        CertificateError::UnknownIssuer => "the server's certificate is not signed by a CA the \
             agent trusts: put that CA's certificate, or the server's self-signed certificate \
             itself, in --ca-file (PEEPER_CA_FILE)"
            .to_owned(),
        CertificateError::NotValidForNameContext {
            expected,
            presented,
        } => wrong_name(expected, presented),
        CertificateError::NotValidForName => "the server's certificate is not for the host name \
             the agent connected to: connect by a name in its subjectAltName (--server, \
             PEEPER_SERVER_URL) or reissue the certificate with this name"
            .to_owned(),
        CertificateError::ExpiredContext { not_after, .. } => format!(
            "the server's certificate expired on {}: renew it on the server",
            utc_date(*not_after)
        ),
        CertificateError::Expired => {
            "the server's certificate has expired: renew it on the server".to_owned()
        }
        CertificateError::NotValidYetContext { time, not_before } => format!(
            "the server's certificate is not valid before {}, and this host's clock says {}: \
             check the clocks of the server and of this host",
            utc_date(*not_before),
            utc_date(*time)
        ),
        CertificateError::NotValidYet => "the server's certificate is not valid yet: check the \
             clocks of the server and of this host"
            .to_owned(),
        CertificateError::BadSignature => "a signature on the server's certificate or its \
             handshake does not verify: the certificate was not signed by the CA it names, or \
             the server does not hold its private key (check the server's certificate and key \
             files, and what stands between the agent and the server)"
            .to_owned(),
        CertificateError::Other(other) if format!("{:?}", other.0) == "CaUsedAsEndEntity" => {
            "the server's certificate is a CA certificate (CA:TRUE), which the agent accepts as \
             a server's own only when that exact certificate is in --ca-file (PEEPER_CA_FILE): \
             put it there, or reissue it without CA:TRUE"
                .to_owned()
        }
        _ => format!("{error} (TLS certificate check failed)"),
    })
}

/// The sentence for a certificate refusal that is `error` itself: a [`rustls::Error`], or one
/// inside the `std::io::Error`s that wrap it (tokio-rustls makes one, reqwest's connector wraps
/// that in another, and `io::Error::source` skips them). Callers walking a chain of causes
/// call it on each.
pub fn certificate_refusal(error: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut error = error;
    loop {
        if let Some(rustls_error) = error.downcast_ref::<rustls::Error>() {
            return explain(rustls_error);
        }
        error = error.downcast_ref::<std::io::Error>()?.get_ref()?;
    }
}

/// At most this many of a certificate's names are listed.
const NAMES_LISTED: usize = 6;

fn wrong_name(expected: &ServerName<'_>, presented: &[String]) -> String {
    let host = expected.to_str();
    if presented.is_empty() {
        let kind = match expected {
            ServerName::IpAddress(_) => "IP",
            _ => "DNS",
        };
        return format!(
            "the server's certificate names no host in its subjectAltName, so it is not valid \
             for {host} (the agent, like curl and Go, ignores the common name): reissue it with \
             subjectAltName={kind}:{host}"
        );
    }
    let mut names = presented
        .iter()
        .take(NAMES_LISTED)
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    if presented.len() > NAMES_LISTED {
        names.push_str(&format!(" and {} more", presented.len() - NAMES_LISTED));
    }
    format!(
        "the server's certificate is for {names}, not {host}: connect by one of those names \
         (--server, PEEPER_SERVER_URL) or reissue the certificate with {host} in its \
         subjectAltName"
    )
}

/// `2020-02-01 00:00:00 UTC`.
pub fn utc_date(time: UnixTime) -> String {
    let secs = time.as_secs();
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let (year, month, day) = civil_from_days(days as i64);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}
