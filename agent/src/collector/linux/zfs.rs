//! `node_zfs_*` (untyped) from the ZFS kstats in `/proc/spl/kstat/zfs`, as node_exporter
//! 1.5's zfs collector (zfs.go, zfs_linux.go) reads them: every `uint64` kstat of the
//! module-wide files as `node_zfs_<subsystem>_<name>`, each pool's `io` as
//! `node_zfs_zpool_<name>{zpool}`, its datasets' `objset-*` as
//! `node_zfs_zpool_dataset_<name>{zpool,dataset}` and its `state` as
//! `node_zfs_zpool_state{zpool,state}`; the help text is the kstat's name.
//!
//! Without `/proc/spl/kstat/zfs` (no ZFS module) the area reports "no data". A module-wide
//! file that is missing is skipped; one that cannot be parsed, or a pool file that cannot be
//! opened or parsed, fails the area, and what was read before is still exported.

use super::names::{Families, NameCache};
use super::{LinuxError, Paths};
use peeper_proto::{MetricFamily, MetricKind};
use std::ffi::OsString;
use std::io::Read;
use std::path::Path;

/// node_exporter's subsystems and the file each is read from.
const SUBSYSTEMS: [(&str, &str); 11] = [
    ("zfs_abd", "abdstats"),
    ("zfs_arc", "arcstats"),
    ("zfs_dbuf", "dbuf_stats"),
    ("zfs_dmu_tx", "dmu_tx"),
    ("zfs_dnode", "dnodestats"),
    ("zfs_fm", "fm"),
    ("zfs_vdev_cache", "vdev_cache_stats"),
    ("zfs_vdev_mirror", "vdev_mirror_stats"),
    ("zfs_xuio", "xuio_stats"),
    ("zfs_zfetch", "zfetchstats"),
    ("zfs_zil", "zil"),
];

const POOL_STATES: [&str; 6] = [
    "online", "degraded", "faulted", "offline", "removed", "unavail",
];

/// The kstat type node_exporter reads (`KSTAT_DATA_UINT64`); others are ignored.
const KSTAT_UINT64: &str = "4";

fn parse_error(file: &str, reason: String) -> LinuxError {
    LinuxError::Parse {
        file: "a ZFS kstat file",
        reason: format!("{file}: {reason}"),
    }
}

/// node_exporter's `metricName`: the kstat's last dotted part, `-` as `_`.
fn metric_name(kstat: &str) -> String {
    kstat.rsplit('.').next().unwrap_or(kstat).replace('-', "_")
}

/// node_exporter's `parseProcfsFile`: each `uint64` row after the `name type data` header,
/// handed to `found` as (name, value); no header is an error.
pub fn parse_kstats<'a>(text: &'a str, mut found: impl FnMut(&'a str, u64)) -> Result<(), String> {
    let mut started = false;
    for line in text.lines() {
        let parts: Vec<&str> = line.split_whitespace().collect();
        if !started && parts == ["name", "type", "data"] {
            started = true;
            continue;
        }
        if !started || parts.len() < 3 || parts[1] != KSTAT_UINT64 {
            continue;
        }
        let value = super::sysfs::parse_uint(parts[2])
            .ok_or_else(|| format!("{} is not an integer: {:?}", parts[0], parts[2]))?;
        found(parts[0], value);
    }
    if started {
        Ok(())
    } else {
        Err("no kstat header".to_owned())
    }
}

/// node_exporter's `parsePoolProcfsFile`: the rows after the header that starts with `nread`
/// (12 columns or more), each column to `found` as (column name, value).
pub fn parse_pool_io<'a>(text: &'a str, mut found: impl FnMut(&'a str, u64)) -> Result<(), String> {
    let mut header: Option<Vec<&str>> = None;
    for line in text.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let Some(columns) = &header else {
            if fields.len() >= 12 && fields[0] == "nread" {
                header = Some(fields);
            }
            continue;
        };
        for (at, column) in columns.iter().enumerate() {
            // node_exporter indexes the row by the header and would crash on a short row.
            let field = fields.get(at).ok_or("a row shorter than its header")?;
            let value = super::sysfs::parse_uint(field)
                .ok_or_else(|| format!("{column} is not an integer: {field:?}"))?;
            found(column, value);
        }
    }
    Ok(())
}

/// node_exporter's `parsePoolObjsetFile`: like [`parse_kstats`], with the dataset's name from
/// its `dataset_name` row (empty, and the pool too, for rows before it).
pub fn parse_objset<'a>(
    text: &'a str,
    mut found: impl FnMut(Option<&'a str>, &'a str, u64),
) -> Result<(), String> {
    let mut dataset = None;
    let mut started = false;
    for line in text.lines() {
        let parts: Vec<&str> = line.split_whitespace().collect();
        if !started && parts == ["name", "type", "data"] {
            started = true;
            continue;
        }
        if !started || parts.len() < 3 {
            continue;
        }
        if parts[0] == "dataset_name" {
            dataset = Some(parts[2]);
        } else if parts[1] == KSTAT_UINT64 {
            let value = super::sysfs::parse_uint(parts[2])
                .ok_or_else(|| format!("{} is not an integer: {:?}", parts[0], parts[2]))?;
            found(dataset, parts[0], value);
        }
    }
    if started {
        Ok(())
    } else {
        Err("no kstat header".to_owned())
    }
}

/// Buffers and names kept between cycles.
#[derive(Debug, Default)]
pub struct ZfsState {
    buf: String,
    pools: Vec<OsString>,
    files: Vec<OsString>,
    names: NameCache,
    families: Families,
}

/// Reads a whole file: `Ok(false)` when it cannot be opened.
fn read_opened(path: &Path, buf: &mut String) -> Result<bool, LinuxError> {
    buf.clear();
    let Ok(mut file) = std::fs::File::open(path) else {
        return Ok(false);
    };
    file.read_to_string(buf)
        .map_err(|source| super::sysfs::io_error(path, source))?;
    Ok(true)
}

impl ZfsState {
    pub fn collect(
        &mut self,
        paths: &Paths,
        out: &mut Vec<MetricFamily>,
    ) -> Result<(), LinuxError> {
        let base = &paths.hw.zfs;
        if std::fs::File::open(base).is_err() {
            return Err(LinuxError::NoData("no /proc/spl/kstat/zfs"));
        }
        self.names.rewind();
        let result = self.read_all(base);
        self.families.drain_into(out);
        result
    }

    /// Adds `node_<subsystem>_<name>` (help `kstat.zfs.misc.<file>.<name>`), its name and help
    /// made once.
    fn push(&mut self, kstat: (&str, &str, &str), labels: &[(&str, &str)], value: f64) {
        let (subsystem, file, row) = kstat;
        let (name, help) = self.names.get(subsystem, row, || {
            let help = format!("kstat.zfs.misc.{file}.{row}");
            (format!("node_{subsystem}_{}", metric_name(&help)), help)
        });
        self.families
            .push(name, help, MetricKind::Untyped, labels, value);
    }

    fn read_all(&mut self, base: &Path) -> Result<(), LinuxError> {
        let mut buf = std::mem::take(&mut self.buf);
        let result = self.read_with(base, &mut buf);
        self.buf = buf;
        result
    }

    fn read_with(&mut self, base: &Path, buf: &mut String) -> Result<(), LinuxError> {
        for (subsystem, file) in SUBSYSTEMS {
            if !read_opened(&base.join(file), buf)? {
                continue;
            }
            let mut rows = Vec::new();
            let parsed = parse_kstats(buf, |name, value| rows.push((name, value)));
            for (name, value) in rows {
                self.push((subsystem, file, name), &[], value as f64);
            }
            parsed.map_err(|reason| parse_error(file, reason))?;
        }
        self.pool_stats(base, buf)
    }

    /// Each pool directory's `io`, `objset-*` and `state`, pools in name order.
    fn pool_stats(&mut self, base: &Path, buf: &mut String) -> Result<(), LinuxError> {
        if super::sysfs::sorted_names(base, &mut self.pools).is_err() {
            self.pools.clear();
        }
        let pools = std::mem::take(&mut self.pools);
        let result = self.pool_files(base, &pools, buf);
        self.pools = pools;
        result
    }

    fn pool_files(
        &mut self,
        base: &Path,
        pools: &[OsString],
        buf: &mut String,
    ) -> Result<(), LinuxError> {
        // As node_exporter's three globs: every pool's io, then every objset, then states.
        for pool in pools {
            let io = base.join(pool).join("io");
            if !base.join(pool).is_dir() || std::fs::symlink_metadata(&io).is_err() {
                continue;
            }
            self.pool_io(&io, &pool.to_string_lossy(), buf)?;
        }
        for pool in pools {
            let dir = base.join(pool);
            if !dir.is_dir() || super::sysfs::sorted_names(&dir, &mut self.files).is_err() {
                continue;
            }
            let objsets = std::mem::take(&mut self.files);
            let result = objsets
                .iter()
                .filter(|name| name.as_encoded_bytes().starts_with(b"objset-"))
                .try_for_each(|name| self.objset(&dir.join(name), &pool.to_string_lossy(), buf));
            self.files = objsets;
            result?;
        }
        for pool in pools {
            let state = base.join(pool).join("state");
            if !base.join(pool).is_dir() || std::fs::symlink_metadata(&state).is_err() {
                continue;
            }
            if !read_opened(&state, buf)? {
                return Err(parse_error("state", "cannot be opened".to_owned()));
            }
            let actual = buf.lines().next().unwrap_or("").to_lowercase();
            for name in POOL_STATES {
                let labels = [("zpool", &*pool.to_string_lossy()), ("state", name)];
                let value = if actual == name { 1.0 } else { 0.0 };
                self.families.push(
                    "node_zfs_zpool_state",
                    "kstat.zfs.misc.state",
                    MetricKind::Gauge,
                    &labels,
                    value,
                );
            }
        }
        Ok(())
    }

    fn pool_io(&mut self, path: &Path, pool: &str, buf: &mut String) -> Result<(), LinuxError> {
        if !read_opened(path, buf)? {
            return Err(parse_error("io", "cannot be opened".to_owned()));
        }
        let mut rows = Vec::new();
        let parsed = parse_pool_io(buf, |name, value| rows.push((name, value)));
        for (name, value) in rows {
            self.push(("zfs_zpool", "io", name), &[("zpool", pool)], value as f64);
        }
        parsed.map_err(|reason| parse_error("io", reason))
    }

    fn objset(&mut self, path: &Path, pool: &str, buf: &mut String) -> Result<(), LinuxError> {
        if !read_opened(path, buf)? {
            return Err(parse_error("objset", "cannot be opened".to_owned()));
        }
        let mut rows = Vec::new();
        let parsed = parse_objset(buf, |dataset, name, value| {
            rows.push((dataset, name, value))
        });
        for (dataset, name, value) in rows {
            let labels = [
                ("zpool", if dataset.is_some() { pool } else { "" }),
                ("dataset", dataset.unwrap_or("")),
            ];
            let kstat = ("zfs_zpool_dataset", "objset", name);
            self.push(kstat, &labels, value as f64);
        }
        parsed.map_err(|reason| parse_error("objset", reason))
    }
}
