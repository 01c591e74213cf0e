//! `node_md_{state,disks,disks_required,blocks,blocks_synced}{device}` from `/proc/mdstat`, as
//! node_exporter 1.5's mdadm collector reads it through procfs (mdstat.go).
//!
//! Without `/proc/mdstat` (no md driver) the area reports "no data"; a file procfs cannot
//! parse fails it; either exports nothing.

use super::{LinuxError, Paths};
use peeper_proto::MetricFamily;

const FILE: &str = "/proc/mdstat";

/// One md device as procfs' `MDStat` holds what node_exporter exports of it.
#[derive(Debug, Clone, PartialEq)]
pub struct MdStat {
    pub name: String,
    /// `active`, `inactive`, `recovering`, `resyncing` or `checking` (or what the file says).
    pub state: String,
    pub disks_active: i64,
    pub disks_total: i64,
    pub disks_failed: i64,
    pub disks_spare: i64,
    pub blocks_total: i64,
    pub blocks_synced: i64,
}

fn parse_error(reason: String) -> LinuxError {
    LinuxError::parse(FILE, reason)
}

/// procfs' `parseMDStat`.
pub fn parse_mdstat(text: &str) -> Result<Vec<MdStat>, LinuxError> {
    let lines: Vec<&str> = text.split('\n').collect();
    let mut stats = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if line.trim().is_empty()
            || line.starts_with(' ')
            || line.starts_with("Personalities")
            || line.starts_with("unused")
        {
            continue;
        }
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.len() < 3 {
            return Err(parse_error(format!("not enough fields in mdline: {line}")));
        }
        let name = fields[0];
        if lines.len() <= i + 3 {
            return Err(parse_error(format!("too few lines for md device {name}")));
        }
        let failed = line.matches("(F)").count() as i64;
        let spare = line.matches("(S)").count() as i64;
        let (active, total, size) = status_line(line, lines[i + 1])?;
        let mut sync_line = lines[i + 2];
        if sync_line.contains("bitmap") {
            sync_line = lines[i + 3];
        }
        let mut state = fields[2];
        let mut synced = size;
        let recovering = sync_line.contains("recovery");
        let resyncing = sync_line.contains("resync");
        let checking = sync_line.contains("check");
        if recovering || resyncing || checking {
            state = if recovering {
                "recovering"
            } else if checking {
                "checking"
            } else {
                "resyncing"
            };
            synced = if sync_line.contains("PENDING") || sync_line.contains("DELAYED") {
                0
            } else {
                recovery_line(sync_line)
                    .ok_or_else(|| parse_error(format!("bad sync line of {name}: {sync_line}")))?
            };
        }
        stats.push(MdStat {
            name: name.to_owned(),
            state: state.to_owned(),
            disks_active: active,
            disks_total: total,
            disks_failed: failed,
            disks_spare: spare,
            blocks_total: size,
            blocks_synced: synced,
        });
    }
    Ok(stats)
}

/// procfs' `evalStatusLine`: (active disks, disks required, size in blocks).
fn status_line(device_line: &str, status_line: &str) -> Result<(i64, i64, i64), LinuxError> {
    let bad = || parse_error(format!("unexpected status line {status_line:?}"));
    let size_field = status_line.split_whitespace().next().ok_or_else(bad)?;
    let size = super::sysfs::parse_int(size_field).ok_or_else(bad)?;
    if device_line.contains("raid0") || device_line.contains("linear") {
        let total = device_line.matches('[').count() as i64;
        return Ok((total, total, size));
    }
    if device_line.contains("inactive") {
        return Ok((0, 0, size));
    }
    let (total, active) = disk_counts(status_line).ok_or_else(bad)?;
    Ok((active, total, size))
}

/// procfs' `(\d+) blocks .*\[(\d+)/(\d+)\] \[([U_]+)\]` on the status line: (total, active)
/// from the last `[n/m] [U_...]` after the first `<digits> blocks `.
fn disk_counts(line: &str) -> Option<(i64, i64)> {
    let blocks = line
        .match_indices(" blocks ")
        .find(|(at, _)| line[..*at].ends_with(|c: char| c.is_ascii_digit()))?;
    let rest = &line[blocks.0 + " blocks ".len()..];
    rest.match_indices('[')
        .filter_map(|(at, _)| counts_at(&rest[at..]))
        .next_back()
}

/// `[<total>/<active>] [<U or _>...]` at the start of `text`.
fn counts_at(text: &str) -> Option<(i64, i64)> {
    let inner = text.strip_prefix('[')?;
    let (total, rest) = split_digits(inner)?;
    let (active, rest) = split_digits(rest.strip_prefix('/')?)?;
    let disks = rest.strip_prefix("] [")?;
    let marks = disks.len() - disks.trim_start_matches(['U', '_']).len();
    if marks == 0 || !disks[marks..].starts_with(']') {
        return None;
    }
    Some((total.parse().ok()?, active.parse().ok()?))
}

/// The leading ASCII digits of `text` (at least one) and what follows.
fn split_digits(text: &str) -> Option<(&str, &str)> {
    let digits = text.len() - text.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    (digits > 0).then(|| text.split_at(digits))
}

/// procfs' `evalRecoveryLine`: the synced blocks of `(<synced>/<total>)`, provided the
/// percentage, finish time and speed also parse as procfs demands.
fn recovery_line(line: &str) -> Option<i64> {
    // `\((\d+)/\d+\)`: the first `(` that starts a match.
    let synced = line.match_indices('(').find_map(|(at, _)| {
        let (synced, rest) = split_digits(&line[at + 1..])?;
        let (_, rest) = split_digits(rest.strip_prefix('/')?)?;
        rest.starts_with(')').then_some(synced)
    })?;
    let synced = synced.parse().ok()?;
    // `= (.+)%`, `finish=(.+)min` and `speed=(.+)[A-Z]`: greedy up to the last terminator.
    let percent = between(line, "= ", |rest| rest.rfind('%'))?;
    super::sysfs::parse_float(percent.trim())?;
    let finish = between(line, "finish=", |rest| rest.rfind("min"))?;
    super::sysfs::parse_float(finish)?;
    let speed = between(line, "speed=", |rest| {
        rest.char_indices()
            .skip(1)
            .filter(|(_, c)| c.is_ascii_uppercase())
            .map(|(at, _)| at)
            .last()
    })?;
    super::sysfs::parse_float(speed)?;
    Some(synced)
}

/// What follows the first `start` up to the end `end` finds in it (at least one character).
fn between<'a>(line: &'a str, start: &str, end: impl Fn(&str) -> Option<usize>) -> Option<&'a str> {
    let from = line.find(start)? + start.len();
    let rest = &line[from..];
    let to = end(rest).filter(|to| *to > 0)?;
    Some(&rest[..to])
}

pub fn families(stats: &[MdStat], out: &mut Vec<MetricFamily>) {
    let state_help = "Indicates the state of md-device.";
    let mut state = MetricFamily::gauge("node_md_state", state_help);
    let mut disks = MetricFamily::gauge(
        "node_md_disks",
        "Number of active/failed/spare disks of device.",
    );
    let mut required =
        MetricFamily::gauge("node_md_disks_required", "Total number of disks of device.");
    let mut blocks = MetricFamily::gauge("node_md_blocks", "Total number of blocks on device.");
    let mut synced = MetricFamily::gauge(
        "node_md_blocks_synced",
        "Number of blocks synced on device.",
    );
    for md in stats {
        let device = md.name.as_str();
        required.push(&[("device", device)], md.disks_total as f64);
        for (name, count) in [
            ("active", md.disks_active),
            ("failed", md.disks_failed),
            ("spare", md.disks_spare),
        ] {
            disks.push(&[("device", device), ("state", name)], count as f64);
        }
        // node_exporter's state label for each activity state it knows.
        for (label, activity) in [
            ("active", "active"),
            ("inactive", "inactive"),
            ("recovering", "recovering"),
            ("resync", "resyncing"),
            ("check", "checking"),
        ] {
            let value = if md.state == activity { 1.0 } else { 0.0 };
            state.push(&[("device", device), ("state", label)], value);
        }
        blocks.push(&[("device", device)], md.blocks_total as f64);
        synced.push(&[("device", device)], md.blocks_synced as f64);
    }
    out.extend([state, disks, required, blocks, synced]);
}

pub fn collect(
    paths: &Paths,
    buf: &mut String,
    out: &mut Vec<MetricFamily>,
) -> Result<(), LinuxError> {
    match super::read_into(&paths.hw.mdstat, buf) {
        Err(error) if super::not_found(&error) => {
            return Err(LinuxError::NoData("no /proc/mdstat"));
        }
        read => read?,
    }
    families(&parse_mdstat(buf)?, out);
    Ok(())
}
