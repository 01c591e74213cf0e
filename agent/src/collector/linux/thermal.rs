//! `node_thermal_zone_temp{zone,type}` and `node_cooling_device_{cur,max}_state{name,type}`
//! from `/sys/class/thermal`, as node_exporter 1.5's thermal_zone collector reads them
//! through procfs (sysfs/class_thermal.go, class_cooling_device.go).
//!
//! No zones and no cooling devices (or no `/sys/class/thermal`) is success with no series. A
//! zone whose `temp` answers `ENODATA` is skipped; any other unreadable zone fails the area
//! before anything is exported, an unreadable cooling device after the zones were.

use super::sysfs::{self, ATTR_MAX};
use super::{LinuxError, Paths};
use peeper_proto::MetricFamily;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// One thermal zone: its number (`thermal_zone<n>`), type and temperature in m°C.
#[derive(Debug, Clone, PartialEq)]
pub struct Zone {
    pub name: String,
    pub kind: String,
    pub millicelsius: i64,
}

/// One cooling device: its number, type and states.
#[derive(Debug, Clone, PartialEq)]
pub struct CoolingDevice {
    pub name: String,
    pub kind: String,
    pub max_state: i64,
    pub cur_state: i64,
}

/// Buffers kept between cycles.
#[derive(Debug)]
pub struct ThermalState {
    names: Vec<OsString>,
    attr: [u8; ATTR_MAX],
    bytes: Vec<u8>,
    zones: Vec<Zone>,
    devices: Vec<CoolingDevice>,
}

impl Default for ThermalState {
    fn default() -> Self {
        ThermalState {
            names: Vec::new(),
            attr: [0; ATTR_MAX],
            bytes: Vec::new(),
            zones: Vec::new(),
            devices: Vec::new(),
        }
    }
}

/// An attribute read as procfs' `SysReadFile` does: one read, trimmed.
fn attr(path: &Path, buf: &mut [u8; ATTR_MAX]) -> Result<String, LinuxError> {
    let raw = sysfs::read_attr(path, buf).map_err(|error| sysfs::io_error(path, error))?;
    Ok(sysfs::valid_utf8(sysfs::trim_space(raw)).into_owned())
}

fn int(path: &Path, text: &str) -> Result<i64, LinuxError> {
    sysfs::parse_int(text).ok_or_else(|| {
        LinuxError::parse(
            "/sys/class/thermal",
            format!("{}: not a number: {text:?}", path.display()),
        )
    })
}

impl ThermalState {
    pub fn collect(
        &mut self,
        paths: &Paths,
        out: &mut Vec<MetricFamily>,
    ) -> Result<(), LinuxError> {
        let class = &paths.hw.thermal;
        self.read_zones(class)?;
        let mut temp = MetricFamily::gauge("node_thermal_zone_temp", "Zone temperature in Celsius");
        for zone in &self.zones {
            let labels = [("zone", zone.name.as_str()), ("type", &zone.kind)];
            temp.push(&labels, zone.millicelsius as f64 / 1000.0);
        }
        out.push(temp);
        self.read_cooling_devices(class)?;
        let mut cur = MetricFamily::gauge(
            "node_cooling_device_cur_state",
            "Current throttle state of the cooling device",
        );
        let mut max = MetricFamily::gauge(
            "node_cooling_device_max_state",
            "Maximum throttle state of the cooling device",
        );
        for device in &self.devices {
            let labels = [("name", device.name.as_str()), ("type", &device.kind)];
            cur.push(&labels, device.cur_state as f64);
            max.push(&labels, device.max_state as f64);
        }
        out.extend([cur, max]);
        Ok(())
    }

    fn read_zones(&mut self, class: &Path) -> Result<(), LinuxError> {
        self.zones.clear();
        sysfs::glob_numbered(class, "thermal_zone", &mut self.names);
        let names = std::mem::take(&mut self.names);
        let result = self.read_each_zone(class, &names);
        self.names = names;
        result
    }

    fn read_each_zone(&mut self, class: &Path, names: &[OsString]) -> Result<(), LinuxError> {
        for name in names {
            let dir = class.join(name);
            match self.read_zone(&dir) {
                Ok(mut zone) => {
                    zone.name = name.to_string_lossy()["thermal_zone".len()..].to_owned();
                    self.zones.push(zone);
                }
                Err(LinuxError::Io { source, .. })
                    if sysfs::is_errno(&source, rustix::io::Errno::NODATA) => {}
                Err(error) => return Err(error),
            }
        }
        Ok(())
    }

    /// procfs' `parseClassThermalZone`: `type`, `policy` and `temp` must be read; `mode` and
    /// `passive` may be missing or forbidden but must otherwise read (and `passive` parse).
    fn read_zone(&mut self, dir: &Path) -> Result<Zone, LinuxError> {
        let kind = attr(&dir.join("type"), &mut self.attr)?;
        attr(&dir.join("policy"), &mut self.attr)?;
        let temp_path = dir.join("temp");
        sysfs::read_bytes(&temp_path, &mut self.bytes)
            .map_err(|error| sysfs::io_error(&temp_path, error))?;
        let millicelsius = int(
            &temp_path,
            &sysfs::valid_utf8(sysfs::trim_space(&self.bytes)),
        )?;
        let mode_path = dir.join("mode");
        if let Err(error) = sysfs::read_attr(&mode_path, &mut self.attr)
            && !sysfs::is_not_found(&error)
            && !sysfs::is_permission(&error)
        {
            return Err(sysfs::io_error(&mode_path, error));
        }
        let passive = dir.join("passive");
        match sysfs::read_uint_file(&passive, &mut self.bytes) {
            Err(sysfs::UintFileError::Io(error))
                if sysfs::is_not_found(&error) || sysfs::is_permission(&error) => {}
            Err(error) => return Err(error.into_linux(&passive)),
            Ok(_) => {}
        }
        Ok(Zone {
            name: String::new(),
            kind,
            millicelsius,
        })
    }

    fn read_cooling_devices(&mut self, class: &Path) -> Result<(), LinuxError> {
        self.devices.clear();
        sysfs::glob_numbered(class, "cooling_device", &mut self.names);
        let mut path = PathBuf::new();
        for name in &self.names {
            let dir = class.join(name);
            path.clone_from(&dir);
            path.push("type");
            let kind = attr(&path, &mut self.attr)?;
            path.set_file_name("max_state");
            let max_state = int(&path, &attr(&path, &mut self.attr)?)?;
            path.set_file_name("cur_state");
            let cur_state = int(&path, &attr(&path, &mut self.attr)?)?;
            self.devices.push(CoolingDevice {
                name: name.to_string_lossy()["cooling_device".len()..].to_owned(),
                kind,
                max_state,
                cur_state,
            });
        }
        Ok(())
    }
}
