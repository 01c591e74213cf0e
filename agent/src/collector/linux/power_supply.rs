//! `node_power_supply_*{power_supply}` and `node_power_supply_info` from
//! `/sys/class/power_supply/<supply>/`, as node_exporter 1.5's powersupplyclass collector
//! reads them through procfs (sysfs/class_power_supply.go).
//!
//! Every regular file of a supply is read (as procfs does, even those it ignores); a file
//! missing or answering `EINVAL`/`EOPNOTSUPP` is skipped, any other error or a numeric
//! attribute that is not a number fails the area before anything is exported. Without
//! `/sys/class/power_supply` the area reports "no data"; an empty one is success.

use super::names::Families;
use super::netclass::parse_int;
use super::sysfs::{self, ATTR_MAX};
use super::{LinuxError, Paths};
use peeper_proto::{MetricFamily, MetricKind};
use std::ffi::OsString;
use std::io::Read;
use std::path::Path;

/// How a numeric attribute is exported: its file, node_exporter's name and the divisor.
struct Numeric {
    file: &'static str,
    name: &'static str,
    divisor: f64,
}

const fn numeric(file: &'static str, name: &'static str, divisor: f64) -> Numeric {
    Numeric {
        file,
        name,
        divisor,
    }
}

/// The exported numeric attributes: counts as they are, micro-units (µA, µV, µWh, µW) to
/// units, tenths of a degree to degrees.
const NUMERIC: [Numeric; 49] = [
    numeric("authentic", "authentic", 1.0),
    numeric("calibrate", "calibrate", 1.0),
    numeric("capacity", "capacity", 1.0),
    numeric("capacity_alert_max", "capacity_alert_max", 1.0),
    numeric("capacity_alert_min", "capacity_alert_min", 1.0),
    numeric("cycle_count", "cyclecount", 1.0),
    numeric("online", "online", 1.0),
    numeric("present", "present", 1.0),
    numeric("time_to_empty_now", "time_to_empty_seconds", 1.0),
    numeric("time_to_full_now", "time_to_full_seconds", 1.0),
    numeric("current_boot", "current_boot", 1e6),
    numeric("current_max", "current_max", 1e6),
    numeric("current_now", "current_ampere", 1e6),
    numeric("energy_empty", "energy_empty", 1e6),
    numeric("energy_empty_design", "energy_empty_design", 1e6),
    numeric("energy_full", "energy_full", 1e6),
    numeric("energy_full_design", "energy_full_design", 1e6),
    numeric("energy_now", "energy_watthour", 1e6),
    numeric("voltage_boot", "voltage_boot", 1e6),
    numeric("voltage_max", "voltage_max", 1e6),
    numeric("voltage_max_design", "voltage_max_design", 1e6),
    numeric("voltage_min", "voltage_min", 1e6),
    numeric("voltage_min_design", "voltage_min_design", 1e6),
    numeric("voltage_now", "voltage_volt", 1e6),
    numeric("voltage_ocv", "voltage_ocv", 1e6),
    numeric("charge_control_limit", "charge_control_limit", 1e6),
    numeric("charge_control_limit_max", "charge_control_limit_max", 1e6),
    numeric("charge_counter", "charge_counter", 1e6),
    numeric("charge_empty", "charge_empty", 1e6),
    numeric("charge_empty_design", "charge_empty_design", 1e6),
    numeric("charge_full", "charge_full", 1e6),
    numeric("charge_full_design", "charge_full_design", 1e6),
    numeric("charge_now", "charge_ampere", 1e6),
    numeric("charge_term_current", "charge_term_current", 1e6),
    numeric("constant_charge_current", "constant_charge_current", 1e6),
    numeric(
        "constant_charge_current_max",
        "constant_charge_current_max",
        1e6,
    ),
    numeric("constant_charge_voltage", "constant_charge_voltage", 1e6),
    numeric(
        "constant_charge_voltage_max",
        "constant_charge_voltage_max",
        1e6,
    ),
    numeric("precharge_current", "precharge_current", 1e6),
    numeric("input_current_limit", "input_current_limit", 1e6),
    numeric("power_now", "power_watt", 1e6),
    numeric("temp", "temp_celsius", 10.0),
    numeric("temp_alert_max", "temp_alert_max_celsius", 10.0),
    numeric("temp_alert_min", "temp_alert_min_celsius", 10.0),
    numeric("temp_ambient", "temp_ambient_celsius", 10.0),
    numeric("temp_ambient_max", "temp_ambient_max_celsius", 10.0),
    numeric("temp_ambient_min", "temp_ambient_min_celsius", 10.0),
    numeric("temp_max", "temp_max_celsius", 10.0),
    numeric("temp_min", "temp_min_celsius", 10.0),
];

/// Numeric attributes procfs parses (so a bad value fails) but node_exporter does not export.
const PARSED_ONLY: [&str; 7] = [
    "charge_avg",
    "current_avg",
    "energy_avg",
    "power_avg",
    "time_to_empty_avg",
    "time_to_full_avg",
    "voltage_avg",
];

/// The string attributes that become labels of `node_power_supply_info`, after
/// `power_supply` (the directory's name).
const STRINGS: [&str; 11] = [
    "capacity_level",
    "charge_type",
    "health",
    "manufacturer",
    "model_name",
    "serial_number",
    "status",
    "technology",
    "type",
    "usb_type",
    "scope",
];

/// What one supply's directory held this cycle.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Supply {
    pub name: String,
    /// The [`NUMERIC`] attributes present, as read.
    pub values: Vec<(usize, i64)>,
    /// The [`STRINGS`] attributes present and not empty.
    pub strings: Vec<(usize, String)>,
}

/// Stores attribute `file` of `supply` as procfs does: numbers in Go's base-0 syntax.
pub fn apply(supply: &mut Supply, file: &str, text: &str) -> Result<(), String> {
    let number = || parse_int(text).ok_or_else(|| format!("{file}: not a number: {text:?}"));
    if let Some(index) = NUMERIC.iter().position(|n| n.file == file) {
        supply.values.push((index, number()?));
    } else if PARSED_ONLY.contains(&file) {
        number()?;
    } else if let Some(index) = STRINGS.iter().position(|name| *name == file)
        && !text.is_empty()
    {
        supply.strings.push((index, text.to_owned()));
    }
    Ok(())
}

/// Buffers kept between cycles.
#[derive(Debug)]
pub struct PowerSupplyState {
    names: Vec<OsString>,
    files: Vec<OsString>,
    attr: [u8; ATTR_MAX],
    supplies: Vec<Supply>,
    families: Families,
}

impl Default for PowerSupplyState {
    fn default() -> Self {
        PowerSupplyState {
            names: Vec::new(),
            files: Vec::new(),
            attr: [0; ATTR_MAX],
            supplies: Vec::new(),
            families: Families::default(),
        }
    }
}

impl PowerSupplyState {
    pub fn collect(
        &mut self,
        paths: &Paths,
        out: &mut Vec<MetricFamily>,
    ) -> Result<(), LinuxError> {
        let class = &paths.hw.power_supply;
        match sysfs::sorted_names(class, &mut self.names) {
            Err(error) if sysfs::is_not_found(&error) => {
                return Err(LinuxError::NoData("no /sys/class/power_supply"));
            }
            result => result.map_err(|error| sysfs::io_error(class, error))?,
        }
        self.supplies.clear();
        for name in &self.names {
            let mut supply = Supply {
                name: name.to_string_lossy().into_owned(),
                ..Supply::default()
            };
            read_supply(
                &class.join(name),
                &mut self.files,
                &mut self.attr,
                &mut supply,
            )?;
            self.supplies.push(supply);
        }
        families(&self.supplies, &mut self.families);
        self.families.drain_into(out);
        Ok(())
    }
}

/// procfs' `parsePowerSupply` over one supply's directory.
fn read_supply(
    dir: &Path,
    files: &mut Vec<OsString>,
    attr: &mut [u8; ATTR_MAX],
    supply: &mut Supply,
) -> Result<(), LinuxError> {
    files.clear();
    let io_error = |error| sysfs::io_error(dir, error);
    for entry in std::fs::read_dir(dir).map_err(io_error)? {
        let entry = entry.map_err(io_error)?;
        // Links (`device`, `subsystem`) and directories (`power`) are not attributes.
        if entry.file_type().map_err(io_error)?.is_file() {
            files.push(entry.file_name());
        }
    }
    files.sort_unstable();
    for file in files.iter() {
        let path = dir.join(file);
        let mut opened = match std::fs::File::open(&path) {
            Ok(opened) => opened,
            Err(error) if sysfs::is_not_found(&error) => continue,
            Err(error) => return Err(sysfs::io_error(&path, error)),
        };
        let read = match opened.read(attr) {
            Ok(read) => read,
            Err(error) if skipped_read(&error) => continue,
            Err(error) => return Err(sysfs::io_error(&path, error)),
        };
        let text = sysfs::valid_utf8(sysfs::trim_space(&attr[..read]));
        apply(supply, &file.to_string_lossy(), &text)
            .map_err(|reason| LinuxError::parse("/sys/class/power_supply", reason))?;
    }
    Ok(())
}

/// The read errors procfs skips besides a missing file: `EINVAL` and `EOPNOTSUPP` (it
/// compares the error's text, which only a bare `read` error matches, so an `open` that
/// answers them still fails).
fn skipped_read(error: &std::io::Error) -> bool {
    use rustix::io::Errno;
    sysfs::is_not_found(error)
        || sysfs::is_errno(error, Errno::INVAL)
        || sysfs::is_errno(error, Errno::OPNOTSUPP)
}

pub fn families(supplies: &[Supply], families: &mut Families) {
    let gauge = MetricKind::Gauge;
    for supply in supplies {
        let labels = [("power_supply", supply.name.as_str())];
        for (index, value) in &supply.values {
            let numeric = &NUMERIC[*index];
            let name = format!("node_power_supply_{}", numeric.name);
            let help = format!(
                "{} value of /sys/class/power_supply/<power_supply>.",
                numeric.name
            );
            let value = if numeric.divisor == 1.0 {
                *value as f64
            } else {
                *value as f64 / numeric.divisor
            };
            families.push(&name, &help, gauge, &labels, value);
        }
        let mut info: Vec<(&str, &str)> = Vec::with_capacity(1 + supply.strings.len());
        info.push(("power_supply", &supply.name));
        info.extend(
            supply
                .strings
                .iter()
                .map(|(index, text)| (STRINGS[*index], text.as_str())),
        );
        let help = "info of /sys/class/power_supply/<power_supply>.";
        families.push("node_power_supply_info", help, gauge, &info, 1.0);
    }
}
