//! `node_os_info` and `node_os_version` from `<rootfs>/etc/os-release`, or
//! `<rootfs>/usr/lib/os-release` when that is missing (node_exporter os_release.go). The
//! file is parsed again only when its modification time changes.

use super::{LinuxError, Paths};
use peeper_proto::MetricFamily;
use std::path::PathBuf;
use std::time::SystemTime;

/// The `node_os_info` labels, in node_exporter's order, with the os-release key of each.
pub const INFO_LABELS: [(&str, &str); 12] = [
    ("build_id", "BUILD_ID"),
    ("id", "ID"),
    ("id_like", "ID_LIKE"),
    ("image_id", "IMAGE_ID"),
    ("image_version", "IMAGE_VERSION"),
    ("name", "NAME"),
    ("pretty_name", "PRETTY_NAME"),
    ("variant", "VARIANT"),
    ("variant_id", "VARIANT_ID"),
    ("version", "VERSION"),
    ("version_codename", "VERSION_CODENAME"),
    ("version_id", "VERSION_ID"),
];

/// The values of [`INFO_LABELS`], "" for a key the file lacks.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OsRelease {
    pub values: [String; INFO_LABELS.len()],
}

impl OsRelease {
    pub fn get(&self, label: &str) -> &str {
        INFO_LABELS
            .iter()
            .position(|(name, _)| *name == label)
            .map_or("", |index| &self.values[index])
    }
}

/// Parses os-release as node_exporter's env-file parser does: `KEY=value` lines, blank lines
/// and `#` comments skipped, `export ` dropped, values unquoted ('single', "double" with
/// JSON escapes), an unquoted `#` starting a trailing comment.
pub fn parse_os_release(text: &str) -> Result<OsRelease, LinuxError> {
    let mut release = OsRelease::default();
    for (number, line) in text.lines().enumerate() {
        let Some((key, value)) = super::envparse::parse_line(line).map_err(|reason| {
            LinuxError::parse("os-release", format!("line {}: {reason}", number + 1))
        })?
        else {
            continue;
        };
        if let Some(index) = INFO_LABELS.iter().position(|(_, k)| *k == key) {
            release.values[index] = value;
        }
    }
    Ok(release)
}

/// The major.minor part of `VERSION_ID` (`^[0-9]+\.?[0-9]*`), 0 when it has none.
pub fn major_minor(version_id: &str) -> f64 {
    let digits = |s: &str| s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let major = digits(version_id);
    if major == 0 {
        return 0.0;
    }
    let end = match version_id[major..].strip_prefix('.') {
        Some(rest) => major + 1 + digits(rest),
        None => major,
    };
    version_id[..end].parse().unwrap_or(0.0)
}

pub fn families(release: &OsRelease, out: &mut Vec<MetricFamily>) {
    let mut labels: [(&str, &str); INFO_LABELS.len()] = [("", ""); INFO_LABELS.len()];
    for (slot, ((label, _), value)) in labels
        .iter_mut()
        .zip(INFO_LABELS.iter().zip(&release.values))
    {
        *slot = (label, value);
    }
    out.push(
        MetricFamily::gauge(
            "node_os_info",
            "A metric with a constant '1' value labeled by build_id, id, id_like, image_id, image_version, name, pretty_name, variant, variant_id, version, version_codename, version_id.",
        )
        .with(&labels, 1.0),
    );
    let version = major_minor(release.get("version_id"));
    if version > 0.0 {
        out.push(
            MetricFamily::gauge(
                "node_os_version",
                "Metric containing the major.minor part of the OS version.",
            )
            .with(
                &[
                    ("id", release.get("id")),
                    ("id_like", release.get("id_like")),
                    ("name", release.get("name")),
                ],
                version,
            ),
        );
    }
}

/// The file last parsed and its modification time.
#[derive(Debug, Default)]
pub struct OsState {
    cached: Option<(PathBuf, SystemTime, OsRelease)>,
}

impl OsState {
    pub fn collect(
        &mut self,
        paths: &Paths,
        buf: &mut String,
        out: &mut Vec<MetricFamily>,
    ) -> Result<(), LinuxError> {
        let mut found = None;
        for path in [&paths.os_release_etc, &paths.os_release_lib] {
            match std::fs::metadata(path) {
                Ok(meta) => {
                    found = Some((path, meta.modified().unwrap_or(SystemTime::UNIX_EPOCH)));
                    break;
                }
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => continue,
                Err(source) => {
                    return Err(LinuxError::Io {
                        path: path.clone(),
                        source,
                    });
                }
            }
        }
        let Some((path, modified)) = found else {
            return Err(LinuxError::NoData("no os-release file found"));
        };
        let fresh = matches!(&self.cached, Some((p, m, _)) if p == path && *m == modified);
        if !fresh {
            super::read_into(path, buf)?;
            let release = parse_os_release(buf)?;
            self.cached = Some((path.clone(), modified, release));
        }
        if let Some((_, _, release)) = &self.cached {
            families(release, out);
        }
        Ok(())
    }
}
