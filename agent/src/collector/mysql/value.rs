//! mysqld_exporter 0.14's `parseStatus` (`collector/collector.go`): how one value of
//! `SHOW GLOBAL STATUS`, `SHOW GLOBAL VARIABLES` or `SHOW SLAVE STATUS` becomes a number, or
//! is skipped.

/// `yes`/`on`/`primary` are 1 and `no`/`off`/`disabled`/`connecting`/`non-primary`/
/// `disconnected` are 0 (any case: a replica's IO thread still `Connecting` is not running, a
/// Galera node `Disconnected` is not in the primary component); the two date formats the
/// server writes are their Unix time; a number is itself; anything else is skipped.
pub fn parse_value(raw: &[u8]) -> Option<f64> {
    let text = std::str::from_utf8(raw).ok()?;
    match text.to_ascii_lowercase().as_str() {
        "yes" | "on" | "primary" => return Some(1.0),
        "no" | "off" | "disabled" | "connecting" | "non-primary" | "disconnected" => {
            return Some(0.0);
        }
        _ => {}
    }
    if let Some(seconds) = certificate_time(text).or_else(|| sql_datetime(text)) {
        return Some(seconds);
    }
    go_float(text)
}

/// Go's `strconv.ParseFloat` for decimal text: a value beyond `f64` is refused, not infinite.
fn go_float(text: &str) -> Option<f64> {
    let value: f64 = text.parse().ok()?;
    let word = text.trim_start_matches(['+', '-']).to_ascii_lowercase();
    (value.is_finite() || word == "inf" || word == "infinity").then_some(value)
}

/// Takes `len` ASCII digits (exactly, or 1 to `len` when not `exact`) from the front.
fn digits(text: &mut &str, len: usize, exact: bool) -> Option<u32> {
    let count = text
        .bytes()
        .take(len)
        .take_while(u8::is_ascii_digit)
        .count();
    if count == 0 || (exact && count < len) {
        return None;
    }
    let (number, rest) = text.split_at(count);
    *text = rest;
    number.parse().ok()
}

fn literal(text: &mut &str, expected: &str) -> Option<()> {
    *text = text.strip_prefix(expected)?;
    Some(())
}

/// `15:04:05` with Go's leniencies (a one-digit hour, a fraction after the seconds), and the
/// rest of the text.
fn clock(mut text: &str) -> Option<(u32, u32, u32, &str)> {
    let hour = digits(&mut text, 2, false)?;
    literal(&mut text, ":")?;
    let minute = digits(&mut text, 2, true)?;
    literal(&mut text, ":")?;
    let second = digits(&mut text, 2, true)?;
    if let Some(fraction) = text.strip_prefix('.') {
        let count = fraction.bytes().take_while(u8::is_ascii_digit).count();
        text = &fraction[count..];
    }
    (hour < 24 && minute < 60 && second < 60).then_some((hour, minute, second, text))
}

/// Go's layout `2006-01-02 15:04:05`, in UTC.
fn sql_datetime(mut text: &str) -> Option<f64> {
    let year = digits(&mut text, 4, true)?;
    literal(&mut text, "-")?;
    let month = digits(&mut text, 2, true)?;
    literal(&mut text, "-")?;
    let day = digits(&mut text, 2, true)?;
    literal(&mut text, " ")?;
    let (hour, minute, second, rest) = clock(text)?;
    if !rest.is_empty() {
        return None;
    }
    unix_time(year, month, day, hour * 3600 + minute * 60 + second)
}

/// Go's layout `Jan 02 15:04:05 2006 MST` (OpenSSL's, as in `Ssl_server_not_after`). Go
/// gives a zone it does not know no offset, so every zone counts as UTC.
fn certificate_time(text: &str) -> Option<f64> {
    const MONTHS: [&str; 12] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    let name = text.get(..3)?.to_ascii_lowercase();
    let month = MONTHS.iter().position(|m| *m == name)? as u32 + 1;
    let mut text = &text[3..];
    literal(&mut text, " ")?;
    let day = digits(&mut text, 2, true)?;
    literal(&mut text, " ")?;
    let (hour, minute, second, mut text) = clock(text)?;
    literal(&mut text, " ")?;
    let year = digits(&mut text, 4, true)?;
    literal(&mut text, " ")?;
    let zone_ok = (3..=5).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_uppercase());
    if !zone_ok {
        return None;
    }
    unix_time(year, month, day, hour * 3600 + minute * 60 + second)
}

/// Seconds since 1970 of a valid calendar date plus `seconds` into it (proleptic
/// Gregorian, days from civil as in Howard Hinnant's algorithm).
fn unix_time(year: u32, month: u32, day: u32, seconds: u32) -> Option<f64> {
    let leap = year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400));
    let month_days = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if !(1..=12).contains(&month) || day == 0 || day > month_days[month as usize - 1] {
        return None;
    }
    let (y, m, d) = (i64::from(year), i64::from(month), i64::from(day));
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let day_of_year = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    let days = era * 146_097 + day_of_era - 719_468;
    Some((days * 86_400 + i64::from(seconds)) as f64)
}
