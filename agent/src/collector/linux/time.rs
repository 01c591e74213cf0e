//! `node_time_seconds`, `node_time_zone_offset_seconds{time_zone}` and the clocksource info
//! metrics (node_exporter time.go, time_linux.go). The zone is the one in effect now, as
//! `timezone.rs` finds it.

use super::timezone::Location;
use super::{LinuxError, Paths};
use peeper_proto::MetricFamily;
use std::time::{SystemTime, UNIX_EPOCH};

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

/// The local zone, loaded on the first cycle: Go loads `time.Local` once per process, so
/// node_exporter too sees a changed `/etc/localtime` only when it restarts.
#[derive(Debug, Default)]
pub struct TimeState {
    local: Option<Location>,
}

impl TimeState {
    pub fn collect(
        &mut self,
        paths: &Paths,
        buf: &mut String,
        out: &mut Vec<MetricFamily>,
    ) -> Result<(), LinuxError> {
        let local = self.local.get_or_insert_with(|| {
            let tz = std::env::var_os("TZ").map(|tz| tz.to_string_lossy().into_owned());
            Location::local(tz.as_deref())
        });
        collect(local, paths, buf, out)
    }
}

fn collect(
    local: &Location,
    paths: &Paths,
    buf: &mut String,
    out: &mut Vec<MetricFamily>,
) -> Result<(), LinuxError> {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let now = since_epoch.as_nanos() as f64 / 1e9;
    out.push(
        MetricFamily::gauge(
            "node_time_seconds",
            "System time in seconds since epoch (1970).",
        )
        .with(&[], now),
    );
    let (zone, offset) = local.lookup(since_epoch.as_secs() as i64);
    out.push(
        MetricFamily::gauge(
            "node_time_zone_offset_seconds",
            "System time zone offset in seconds.",
        )
        .with(&[("time_zone", &zone)], offset as f64),
    );
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
