//! `node_nvme_info{device,firmware_revision,model,serial,state}` from `/sys/class/nvme/<device>/`,
//! as node_exporter 1.5's nvme collector reads it through procfs (sysfs/class_nvme.go).
//!
//! Every device must have its four attributes: a missing one (or no `/sys/class/nvme`) is
//! "no data", another error a failure, and either exports nothing.

use super::sysfs::{self, ATTR_MAX};
use super::{LinuxError, Paths};
use peeper_proto::MetricFamily;
use std::ffi::OsString;

/// The attributes read, in the order of the info metric's labels after `device`.
const FILES: [&str; 4] = ["firmware_rev", "model", "serial", "state"];

/// Buffers kept between cycles.
#[derive(Debug)]
pub struct NvmeState {
    names: Vec<OsString>,
    attr: [u8; ATTR_MAX],
}

impl Default for NvmeState {
    fn default() -> Self {
        NvmeState {
            names: Vec::new(),
            attr: [0; ATTR_MAX],
        }
    }
}

impl NvmeState {
    pub fn collect(
        &mut self,
        paths: &Paths,
        out: &mut Vec<MetricFamily>,
    ) -> Result<(), LinuxError> {
        let class = &paths.hw.nvme;
        let failed = |path: &std::path::Path, error: std::io::Error| {
            if sysfs::is_not_found(&error) {
                LinuxError::NoData("no NVMe devices in /sys/class/nvme")
            } else {
                sysfs::io_error(path, error)
            }
        };
        sysfs::sorted_names(class, &mut self.names).map_err(|error| failed(class, error))?;
        let mut info = MetricFamily::gauge(
            "node_nvme_info",
            "Non-numeric data from /sys/class/nvme/<device>, value is always 1.",
        );
        for name in &self.names {
            let device = name.to_string_lossy();
            let mut values: [String; 4] = Default::default();
            for (file, value) in FILES.iter().zip(&mut values) {
                let path = class.join(name).join(file);
                let raw = sysfs::read_attr(&path, &mut self.attr)
                    .map_err(|error| failed(&path, error))?;
                *value = sysfs::valid_utf8(sysfs::trim_space(raw)).into_owned();
            }
            let [firmware_revision, model, serial, state] = &values;
            info.push(
                &[
                    ("device", &device),
                    ("firmware_revision", firmware_revision),
                    ("model", model),
                    ("serial", serial),
                    ("state", state),
                ],
                1.0,
            );
        }
        out.push(info);
        Ok(())
    }
}
