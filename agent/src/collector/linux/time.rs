//! `node_time_seconds`, `node_time_zone_offset_seconds{time_zone}` and the clocksource info
//! metrics (node_exporter time.go, time_linux.go).

use super::{LinuxError, Paths};
use peeper_proto::MetricFamily;
use std::time::{SystemTime, UNIX_EPOCH};

/// Parses the POSIX TZ string of a TZif footer (`UTC0`, `<+03>-3`, `MSK-3`) into the zone's
/// abbreviation and its offset east of UTC in seconds. Zones with daylight saving rules
/// (`CET-1CEST,M3.5.0,M10.5.0/3`) return `None`: the offset would depend on the date.
pub fn parse_posix_tz(tz: &str) -> Option<(String, i64)> {
    let (name, rest) = if let Some(quoted) = tz.strip_prefix('<') {
        let end = quoted.find('>')?;
        (&quoted[..end], &quoted[end + 1..])
    } else {
        let end = tz
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(tz.len());
        (&tz[..end], &tz[end..])
    };
    if name.len() < 3 {
        return None;
    }
    let (sign, rest) = match rest.as_bytes().first() {
        Some(b'-') => (1, &rest[1..]),
        Some(b'+') => (-1, &rest[1..]),
        _ => (-1, rest),
    };
    let end = rest
        .find(|c: char| !c.is_ascii_digit() && c != ':')
        .unwrap_or(rest.len());
    if end != rest.len() || end == 0 {
        return None; // a DST part follows, or no offset
    }
    let mut seconds = 0i64;
    for (part, unit) in rest.split(':').zip([3600, 60, 1]) {
        seconds += part.parse::<i64>().ok()? * unit;
    }
    // POSIX offsets are west of UTC; Go reports east.
    Some((name.to_owned(), sign * seconds))
}

/// The footer of a TZif (version 2+) file: its last line.
pub fn tzif_footer(data: &[u8]) -> Option<&str> {
    if !data.starts_with(b"TZif") || data.get(4).is_none_or(|v| *v < b'2') {
        return None;
    }
    let body = data.strip_suffix(b"\n")?;
    let start = body.iter().rposition(|b| *b == b'\n')? + 1;
    std::str::from_utf8(&body[start..]).ok()
}

/// The local zone as Go's `time.Now().Zone()` would name it, where it has a fixed offset.
fn local_zone() -> Option<(String, i64)> {
    let file = match std::env::var("TZ") {
        Ok(tz) if tz.is_empty() || tz == "UTC" => return Some(("UTC".to_owned(), 0)),
        Ok(tz) => {
            let tz = tz.trim_start_matches(':').to_owned();
            if tz.starts_with('/') {
                tz
            } else {
                format!("/usr/share/zoneinfo/{tz}")
            }
        }
        Err(_) => "/etc/localtime".to_owned(),
    };
    match std::fs::read(&file) {
        Ok(data) => parse_posix_tz(tzif_footer(&data)?),
        // Go falls back to UTC when the zone file is missing.
        Err(_) => Some(("UTC".to_owned(), 0)),
    }
}

/// The `clocksource*` directories' available and current clocksources.
fn clocksources(paths: &Paths, buf: &mut String) -> Result<Vec<(Vec<String>, String)>, LinuxError> {
    let dir = paths.sys.join("devices/system/clocksource");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Ok(Vec::new());
    };
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| {
            n.strip_prefix("clocksource")
                .is_some_and(|r| r.starts_with(|c: char| c.is_ascii_digit()))
        })
        .collect();
    names.sort();
    let mut sources = Vec::with_capacity(names.len());
    for name in names {
        let base = dir.join(&name);
        super::read_into(&base.join("available_clocksource"), buf)?;
        let available = buf.split_ascii_whitespace().map(str::to_owned).collect();
        super::read_into(&base.join("current_clocksource"), buf)?;
        sources.push((available, buf.trim().to_owned()));
    }
    Ok(sources)
}

pub fn collect(
    paths: &Paths,
    buf: &mut String,
    out: &mut Vec<MetricFamily>,
) -> Result<(), LinuxError> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as f64 / 1e9)
        .unwrap_or(0.0);
    out.push(
        MetricFamily::gauge(
            "node_time_seconds",
            "System time in seconds since epoch (1970).",
        )
        .with(&[], now),
    );
    if let Some((zone, offset)) = local_zone() {
        out.push(
            MetricFamily::gauge(
                "node_time_zone_offset_seconds",
                "System time zone offset in seconds.",
            )
            .with(&[("time_zone", &zone)], offset as f64),
        );
    }
    let sources = clocksources(paths, buf)?;
    let mut available = MetricFamily::gauge(
        "node_time_clocksource_available_info",
        "Available clocksources read from '/sys/devices/system/clocksource'.",
    );
    let mut current = MetricFamily::gauge(
        "node_time_clocksource_current_info",
        "Current clocksource read from '/sys/devices/system/clocksource'.",
    );
    for (index, (names, now_using)) in sources.iter().enumerate() {
        let device = index.to_string();
        for name in names {
            available.push(&[("device", &device), ("clocksource", name)], 1.0);
        }
        current.push(&[("device", &device), ("clocksource", now_using)], 1.0);
    }
    out.push(available);
    out.push(current);
    Ok(())
}
