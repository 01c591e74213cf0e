//! `node_rapl_<zone>_joules_total{index,path}` from `/sys/class/powercap/<zone>/`, as node_exporter
//! 1.5's rapl collector reads them through procfs (sysfs/class_powercap.go) without
//! `--collector.rapl.enable-zone-label`.
//!
//! Without `/sys/class/powercap` (or when it may not be read) the area reports "no data". A
//! zone's `energy_uj` that may not be read ends the area with "no data" too, a bad one with a
//! failure; the zones before it are still exported.

use super::names::Families;
use super::sysfs;
use super::{LinuxError, Paths};
use peeper_proto::{MetricFamily, MetricKind};
use std::collections::HashMap;
use std::ffi::OsString;
use std::path::PathBuf;

/// One RAPL zone: its name without the `-<n>` suffix, its index and directory.
#[derive(Debug, Clone, PartialEq)]
pub struct Zone {
    pub name: String,
    pub index: i64,
    pub path: PathBuf,
}

/// procfs' `getIndexAndName`: `package-1` is (1, `package`); a name without a numeric
/// suffix takes the count of zones of that name met so far.
pub fn index_and_name<'a>(seen: &HashMap<String, i64>, name: &'a str) -> (i64, &'a str) {
    let mut parts = name.split('-');
    if let (Some(base), Some(suffix), None) = (parts.next(), parts.next(), parts.next())
        && let Some(index) = sysfs::parse_int(suffix)
    {
        return (index, base);
    }
    (seen.get(name).copied().unwrap_or(0), name)
}

/// node_exporter's `SanitizeMetricName`: every run of characters outside `[0-9A-Za-z_]`,
/// with the underscores around it, becomes one `_`.
pub fn sanitize_metric_name(name: &str) -> String {
    let valid = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::with_capacity(name.len());
    let mut at = 0;
    while at < chars.len() {
        // A match starts at underscores followed by an invalid character, or at the latter.
        let mut end = at;
        while end < chars.len() && chars[end] == '_' {
            end += 1;
        }
        if end < chars.len() && !valid(chars[end]) {
            while end < chars.len() && !valid(chars[end]) {
                end += 1;
            }
            while end < chars.len() && chars[end] == '_' {
                end += 1;
            }
            out.push('_');
            at = end;
        } else {
            out.push(chars[at]);
            at += 1;
        }
    }
    out
}

/// Buffers kept between cycles.
#[derive(Debug, Default)]
pub struct RaplState {
    names: Vec<OsString>,
    bytes: Vec<u8>,
    zones: Vec<Zone>,
    seen: HashMap<String, i64>,
    families: Families,
}

impl RaplState {
    pub fn collect(
        &mut self,
        paths: &Paths,
        out: &mut Vec<MetricFamily>,
    ) -> Result<(), LinuxError> {
        self.read_zones(&paths.hw.powercap)?;
        let result = self.zone_families();
        self.families.drain_into(out);
        result
    }

    /// procfs' `GetRaplZones`: every entry with a `name` file, which must also have a
    /// numeric `max_energy_range_uj`.
    fn read_zones(&mut self, dir: &std::path::Path) -> Result<(), LinuxError> {
        match sysfs::sorted_names(dir, &mut self.names) {
            Err(error) if sysfs::is_not_found(&error) || sysfs::is_permission(&error) => {
                return Err(LinuxError::NoData("no readable /sys/class/powercap"));
            }
            result => result.map_err(|error| sysfs::io_error(dir, error))?,
        }
        self.zones.clear();
        self.seen.clear();
        for entry in &self.names {
            let path = dir.join(entry);
            if sysfs::read_bytes(&path.join("name"), &mut self.bytes).is_err() {
                continue;
            }
            let full_name = sysfs::valid_utf8(sysfs::trim_space(&self.bytes)).into_owned();
            let (index, name) = index_and_name(&self.seen, &full_name);
            let max = path.join("max_energy_range_uj");
            match sysfs::read_uint_file(&max, &mut self.bytes) {
                Err(sysfs::UintFileError::Io(error))
                    if sysfs::is_not_found(&error) || sysfs::is_permission(&error) =>
                {
                    return Err(LinuxError::NoData("no readable max_energy_range_uj"));
                }
                Err(error) => return Err(error.into_linux(&max)),
                Ok(_) => {}
            }
            self.seen.insert(name.to_owned(), index + 1);
            self.zones.push(Zone {
                name: name.to_owned(),
                index,
                path,
            });
        }
        Ok(())
    }

    /// The zones' counters in order; a zone whose `energy_uj` fails ends the list.
    fn zone_families(&mut self) -> Result<(), LinuxError> {
        for zone in &self.zones {
            let energy = zone.path.join("energy_uj");
            let microjoules = match sysfs::read_uint_file(&energy, &mut self.bytes) {
                Ok(microjoules) => microjoules,
                Err(sysfs::UintFileError::Io(error)) if sysfs::is_permission(&error) => {
                    return Err(LinuxError::NoData("energy_uj may not be read"));
                }
                Err(error) => return Err(error.into_linux(&energy)),
            };
            let name = format!(
                "node_rapl_{}_joules_total",
                sanitize_metric_name(&zone.name)
            );
            let help = format!("Current RAPL {} value in joules", zone.name);
            let index = zone.index.to_string();
            let path = zone.path.to_string_lossy();
            let labels = [("index", index.as_str()), ("path", &path)];
            let joules = microjoules as f64 / 1000000.0;
            // Zones of one name (two `dram`) share a family.
            self.families
                .push(&name, &help, MetricKind::Counter, &labels, joules);
        }
        Ok(())
    }
}
