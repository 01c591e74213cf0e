//! `node_hwmon_*` from `/sys/class/hwmon/<chip>/` (and its `device/`), as node_exporter 1.5's
//! hwmon collector (hwmon_linux.go) names them: a sensor file `<type><n>_<property>` of a
//! known type becomes `node_hwmon_<type>[_<property>]<unit>{chip,sensor}`, its value scaled to
//! the unit (milli-volts to volts, micro-watts to watts, ...).
//!
//! Without `/sys/class/hwmon` the area reports "no data". A chip whose name cannot be derived
//! or whose directory cannot be listed fails the area; the other chips are still reported.

use super::names::Families;
use super::sysfs::{self, ATTR_MAX};
use super::{LinuxError, Paths};
use peeper_proto::{MetricFamily, MetricKind};
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// The sensor types node_exporter reads; other files are ignored.
const SENSOR_TYPES: [&str; 13] = [
    "vrm",
    "beep_enable",
    "update_interval",
    "in",
    "cpu",
    "fan",
    "pwm",
    "temp",
    "curr",
    "power",
    "energy",
    "humidity",
    "intrusion",
];

/// Splits a sensor file name as node_exporter's `^(?P<type>[^0-9]+)(?P<id>[0-9]*)?(_(?P<property>.+))?$`
/// does (leftmost-first, greedy): `temp1_crit_alarm` is (`temp`, 1, `crit_alarm`),
/// `beep_enable` is (`beep_enable`, 0, ``). The number is parsed, so `temp01` is sensor 1.
pub fn explode_sensor_filename(name: &str) -> Option<(&str, u64, &str)> {
    let non_digits = name
        .find(|c: char| c.is_ascii_digit())
        .unwrap_or(name.len());
    if non_digits == 0 {
        return None;
    }
    let rest = &name[non_digits..];
    let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    let (id, after) = rest.split_at(digits);
    let property = match after.strip_prefix('_') {
        None if after.is_empty() => Some(""),
        Some(property) if !property.is_empty() => Some(property),
        _ => None,
    };
    match property {
        Some(property) => {
            // Go's Atoi: an id too large for an int is no match.
            let number = if id.is_empty() {
                0
            } else {
                id.parse::<i64>().ok()? as u64
            };
            Some((&name[..non_digits], number, property))
        }
        // The regex backtracks to the last `_` in the type: `temp_x1y` is (`temp`, 0, `x1y`).
        None => {
            let underscore = name[..non_digits].rfind('_').filter(|at| *at > 0)?;
            Some((&name[..underscore], 0, &name[underscore + 1..]))
        }
    }
}

/// node_exporter's `cleanMetricName`: lower case, every character but `[a-z0-9:_]` an `_`,
/// no `_` at either end.
pub fn clean_metric_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        let lower = c.to_lowercase().next().unwrap_or(c);
        out.push(match lower {
            'a'..='z' | '0'..='9' | ':' | '_' => lower,
            _ => '_',
        });
    }
    out.trim_matches('_').to_owned()
}

/// One chip's sensors: sensor (`temp1`) to property (``, `input`, `label`, ...) to value.
pub type Sensors = BTreeMap<String, BTreeMap<String, String>>;

/// Buffers kept between cycles.
#[derive(Debug)]
pub struct HwmonState {
    chips: Vec<OsString>,
    files: Vec<OsString>,
    attr: [u8; ATTR_MAX],
    bytes: Vec<u8>,
    path: PathBuf,
    sensors: Sensors,
    families: Families,
}

impl Default for HwmonState {
    fn default() -> Self {
        HwmonState {
            chips: Vec::new(),
            files: Vec::new(),
            attr: [0; ATTR_MAX],
            bytes: Vec::with_capacity(64),
            path: PathBuf::with_capacity(128),
            sensors: Sensors::new(),
            families: Families::default(),
        }
    }
}

impl HwmonState {
    pub fn collect(
        &mut self,
        paths: &Paths,
        out: &mut Vec<MetricFamily>,
    ) -> Result<(), LinuxError> {
        let class = &paths.hw.hwmon;
        let mut chips = std::mem::take(&mut self.chips);
        match sysfs::sorted_names(class, &mut chips) {
            Err(error) if sysfs::is_not_found(&error) => {
                self.chips = chips;
                return Err(LinuxError::NoData("no /sys/class/hwmon"));
            }
            Err(error) => {
                self.chips = chips;
                return Err(sysfs::io_error(class, error));
            }
            Ok(()) => {}
        }
        let mut last_error = Ok(());
        for chip in &chips {
            let dir = class.join(chip);
            // Entries that are not (links to) directories are skipped.
            if !std::fs::metadata(&dir).is_ok_and(|meta| meta.is_dir()) {
                continue;
            }
            if let Err(error) = self.chip(&dir) {
                last_error = Err(error);
            }
        }
        self.chips = chips;
        self.families.drain_into(out);
        last_error
    }

    /// Reads one chip and adds its series, or adds nothing and fails.
    fn chip(&mut self, dir: &Path) -> Result<(), LinuxError> {
        let chip = self.chip_label(dir)?;
        self.sensors.clear();
        self.read_sensors(dir)?;
        let device = dir.join("device");
        if std::fs::metadata(&device).is_ok() {
            self.read_sensors(&device)?;
        }
        if let Some(name) = self.human_readable_name(dir) {
            self.families.push(
                "node_hwmon_chip_names",
                "Annotation metric for human-readable chip names",
                MetricKind::Gauge,
                &[("chip", &chip), ("chip_name", &name)],
                1.0,
            );
        }
        for (sensor, properties) in &self.sensors {
            sensor_families(&chip, sensor, properties, &mut self.families);
        }
        Ok(())
    }

    /// node_exporter's `hwmonName`: `<bus>_<device>` of the `device` link, else the `name`
    /// file, else the directory's own name (`hwmon3`), each cleaned.
    fn chip_label(&mut self, dir: &Path) -> Result<String, LinuxError> {
        if let Ok(device) = std::fs::canonicalize(dir.join("device")) {
            let base = |path: Option<&Path>| {
                let name = path.and_then(Path::file_name).unwrap_or_default();
                clean_metric_name(&name.to_string_lossy())
            };
            let name = base(Some(&device));
            let bus = base(device.parent());
            match (bus.is_empty(), name.is_empty()) {
                (false, false) => return Ok(format!("{bus}_{name}")),
                (true, false) => return Ok(name),
                _ => {}
            }
        }
        if let Some(name) = self.human_readable_name(dir) {
            return Ok(name);
        }
        std::fs::canonicalize(dir)
            .ok()
            .and_then(|real| {
                real.file_name()
                    .map(|name| name.to_string_lossy().into_owned())
            })
            .map(|name| clean_metric_name(&name))
            .filter(|name| !name.is_empty())
            .ok_or_else(|| {
                LinuxError::parse(
                    "/sys/class/hwmon",
                    format!("no monitoring name for {}", dir.display()),
                )
            })
    }

    /// The cleaned contents of the chip's `name` file, if it has any.
    fn human_readable_name(&mut self, dir: &Path) -> Option<String> {
        sysfs::read_bytes(&dir.join("name"), &mut self.bytes).ok()?;
        let name = clean_metric_name(&sysfs::valid_utf8(&self.bytes));
        (!name.is_empty()).then_some(name)
    }

    /// node_exporter's `collectSensorData`: every file of a known sensor type in `dir`, read
    /// once (unreadable files are skipped), `\n` trimmed.
    fn read_sensors(&mut self, dir: &Path) -> Result<(), LinuxError> {
        sysfs::sorted_names(dir, &mut self.files).map_err(|error| sysfs::io_error(dir, error))?;
        for file in &self.files {
            let Some(file) = file.to_str() else { continue };
            let Some((kind, number, property)) = explode_sensor_filename(file) else {
                continue;
            };
            if !SENSOR_TYPES.contains(&kind) {
                continue;
            }
            self.path.clear();
            self.path.push(dir);
            self.path.push(file);
            let Ok(raw) = sysfs::read_attr(&self.path, &mut self.attr) else {
                continue;
            };
            let start = raw.iter().position(|b| *b != b'\n').unwrap_or(raw.len());
            let end = raw
                .iter()
                .rposition(|b| *b != b'\n')
                .map_or(start, |i| i + 1);
            let value = sysfs::valid_utf8(&raw[start..end]).into_owned();
            self.sensors
                .entry(format!("{kind}{number}"))
                .or_default()
                .insert(property.to_owned(), value);
        }
        Ok(())
    }
}

/// The series of one sensor, named and scaled as node_exporter's `updateHwmon` does.
pub fn sensor_families(
    chip: &str,
    sensor: &str,
    properties: &BTreeMap<String, String>,
    families: &mut Families,
) {
    let kind = sensor.trim_end_matches(|c: char| c.is_ascii_digit());
    let labels = [("chip", chip), ("sensor", sensor)];
    let gauge = MetricKind::Gauge;
    if let Some(label) = properties.get("label") {
        let labels = [
            ("chip", chip),
            ("sensor", sensor),
            ("label", label.as_str()),
        ];
        let help = "Label for given chip and sensor";
        families.push("node_hwmon_sensor_label", help, gauge, &labels, 1.0);
    }
    let whole = properties.get("").map(String::as_str);
    match kind {
        "beep_enable" => {
            let value = if whole == Some("1") { 1.0 } else { 0.0 };
            let help = "Hardware beep enabled";
            families.push("node_hwmon_beep_enabled", help, gauge, &labels, value);
            return;
        }
        "vrm" => {
            if let Some(value) = whole.and_then(sysfs::parse_float) {
                let name = "node_hwmon_voltage_regulator_version";
                families.push(name, "Hardware voltage regulator", gauge, &labels, value);
            }
            return;
        }
        "update_interval" => {
            if let Some(value) = whole.and_then(sysfs::parse_float) {
                let name = "node_hwmon_update_interval_seconds";
                let help = "Hardware monitor update interval";
                families.push(name, help, gauge, &labels, value * 0.001);
            }
            return;
        }
        _ => {}
    }
    for (element, value) in properties {
        if element == "label" {
            continue;
        }
        let mut name = format!("node_hwmon_{kind}");
        if element == "input" {
            // `input` is the value itself, unless the sensor also has a bare file.
            if whole.is_some() {
                name.push_str("_input");
            }
        } else if !element.is_empty() {
            name.push('_');
            name.push_str(&clean_metric_name(element));
        }
        let Some(value) = sysfs::parse_float(value) else {
            continue;
        };
        let (suffix, help, kind, value) = element_metric(kind, element, value);
        name.push_str(suffix);
        families.push(&name, &help, kind, &labels, value);
    }
}

/// The unit suffix, help, type and scaled value of one sensor element.
fn element_metric(
    kind: &str,
    element: &str,
    value: f64,
) -> (&'static str, String, MetricKind, f64) {
    let gauge = MetricKind::Gauge;
    match (kind, element) {
        (_, "fault" | "alarm") => (
            "",
            format!("Hardware sensor {element} status ({kind})"),
            gauge,
            value,
        ),
        (_, "beep") => (
            "_enabled",
            "Hardware monitor sensor has beeping enabled".to_owned(),
            gauge,
            value,
        ),
        ("in" | "cpu", _) => (
            "_volts",
            format!("Hardware monitor for voltage ({element})"),
            gauge,
            value * 0.001,
        ),
        ("temp", _) if element != "type" => {
            let element = if element.is_empty() { "input" } else { element };
            (
                "_celsius",
                format!("Hardware monitor for temperature ({element})"),
                gauge,
                value * 0.001,
            )
        }
        ("curr", _) => (
            "_amps",
            format!("Hardware monitor for current ({element})"),
            gauge,
            value * 0.001,
        ),
        ("energy", _) => (
            "_joule_total",
            format!("Hardware monitor for joules used so far ({element})"),
            MetricKind::Counter,
            value / 1000000.0,
        ),
        ("power", "accuracy") => (
            "",
            "Hardware monitor power meter accuracy, as a ratio".to_owned(),
            gauge,
            value / 1000000.0,
        ),
        ("power", "average_interval" | "average_interval_min" | "average_interval_max") => (
            "_seconds",
            format!("Hardware monitor power usage update interval ({element})"),
            gauge,
            value * 0.001,
        ),
        ("power", _) => (
            "_watt",
            format!("Hardware monitor for power usage in watts ({element})"),
            gauge,
            value / 1000000.0,
        ),
        ("humidity", _) => (
            "",
            format!(
                "Hardware monitor for humidity, as a ratio (multiply with 100.0 to get the humidity as a percentage) ({element})"
            ),
            gauge,
            value / 1000000.0,
        ),
        ("fan", "input" | "min" | "max" | "target") => (
            "_rpm",
            format!("Hardware monitor for fan revolutions per minute ({element})"),
            gauge,
            value,
        ),
        _ => (
            "",
            format!("Hardware monitor {kind} element {element}"),
            gauge,
            value,
        ),
    }
}
