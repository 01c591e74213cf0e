//! Durations as people write them in flags, env files and config files (`15s`, `1m30s`,
//! `500ms`, `2h`, `30d`, or plain seconds), parsed and printed the same way by agent and
//! server.

use std::time::Duration;

/// Parses `15s`, `1m30s`, `500ms`, `2h`, `1d` or a plain number of seconds (`2.5`).
/// `None` for anything else, including negative or empty text.
pub fn parse(text: &str) -> Option<Duration> {
    let text = text.trim();
    if let Ok(secs) = text.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs));
    }
    let mut total = Duration::ZERO;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
        let number: f64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let seconds = match &rest[..unit_len] {
            "ms" => number / 1000.0,
            "s" => number,
            "m" => number * 60.0,
            "h" => number * 3600.0,
            "d" => number * 86_400.0,
            _ => return None,
        };
        total += Duration::from_secs_f64(seconds);
        rest = &rest[unit_len..];
    }
    (!text.is_empty()).then_some(total)
}

/// Prints a duration in the largest units that keep it short and exact to the second:
/// `45s`, `3m`, `1h30m`, `2d4h`; below a second, `250ms`.
pub fn format(duration: Duration) -> String {
    let secs = duration.as_secs();
    if secs == 0 {
        return format!("{}ms", duration.as_millis());
    }
    let parts = [
        (secs / 86_400, "d"),
        (secs / 3600 % 24, "h"),
        (secs / 60 % 60, "m"),
        (secs % 60, "s"),
    ];
    let first = parts.iter().position(|(n, _)| *n > 0).unwrap_or(3);
    // Two units at most: "2d4h", not "2d4h13m7s".
    parts[first..]
        .iter()
        .take(2)
        .filter(|(n, _)| *n > 0)
        .map(|(n, unit)| format!("{n}{unit}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_what_people_write() {
        assert_eq!(parse("15s"), Some(Duration::from_secs(15)));
        assert_eq!(parse("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse("1m30s"), Some(Duration::from_secs(90)));
        assert_eq!(parse("2h"), Some(Duration::from_secs(7200)));
        assert_eq!(parse("30d"), Some(Duration::from_secs(30 * 86_400)));
        assert_eq!(parse(" 2.5 "), Some(Duration::from_millis(2500)));
        for bad in ["", "-1", "5 minutes", "1w", "s", "NaN"] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn formats_short_and_round_trips() {
        for (d, text) in [
            (Duration::from_secs(45), "45s"),
            (Duration::from_secs(180), "3m"),
            (Duration::from_secs(5400), "1h30m"),
            (Duration::from_secs(2 * 86_400 + 4 * 3600 + 13 * 60), "2d4h"),
            (Duration::from_millis(250), "250ms"),
            (Duration::from_secs(3600), "1h"),
        ] {
            assert_eq!(format(d), text);
        }
        assert_eq!(
            parse(&format(Duration::from_secs(5400))),
            Some(Duration::from_secs(5400))
        );
    }
}
