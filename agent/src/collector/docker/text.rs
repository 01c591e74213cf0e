//! Reading the engine's texts: status lines, RFC 3339 times, label keys.

/// A Docker label key as a Prometheus label name (cAdvisor's sanitising).
pub fn sanitize(key: &str) -> String {
    key.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The exit code in a listed container's status text (`Exited (3) 2 minutes ago`).
pub fn exit_code(status: &str) -> Option<f64> {
    let rest = status.strip_prefix("Exited (")?;
    rest.split(')').next()?.trim().parse().ok()
}

/// The health in a listed container's status text (`Up 3 minutes (healthy)`).
pub fn health_from_status(status: &str) -> Option<&'static str> {
    if status.contains("(healthy)") {
        Some("healthy")
    } else if status.contains("(unhealthy)") {
        Some("unhealthy")
    } else if status.contains("(health: starting)") {
        Some("starting")
    } else {
        None
    }
}

/// Seconds since the Unix epoch of an RFC 3339 time as the engine writes it
/// (`2024-05-01T10:00:00.123456789Z`); `None` for Go's zero time and malformed text.
pub fn parse_rfc3339(text: &str) -> Option<f64> {
    let b = text.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' {
        return None;
    }
    let num = |range: std::ops::Range<usize>| text.get(range)?.parse::<i64>().ok();
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if year <= 1 {
        return None;
    }
    let mut rest = &text[19..];
    let mut fraction = 0.0;
    if let Some(digits) = rest.strip_prefix('.') {
        let end = digits
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(digits.len());
        fraction = format!("0.{}", &digits[..end]).parse().unwrap_or(0.0);
        rest = &digits[end..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let h: i64 = rest.get(1..3)?.parse().ok()?;
            let m: i64 = rest.get(4..6)?.parse().ok()?;
            sign * (h * 3600 + m * 60)
        }
    };
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146097 + doe - 719468;
    Some((days * 86400 + hour * 3600 + minute * 60 + second - offset) as f64 + fraction)
}
