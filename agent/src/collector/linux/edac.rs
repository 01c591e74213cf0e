//! `node_edac_{correctable,uncorrectable}_errors_total{controller}` and
//! `node_edac_csrow_{correctable,uncorrectable}_errors_total{controller,csrow}` from
//! `/sys/devices/system/edac/mc/mc<n>/`, as node_exporter 1.5's edac collector
//! (edac_linux.go) reads them: the errors no csrow was found for are the csrow `unknown`.
//!
//! No memory controllers is success with no series. A file that fails ends the area with a
//! failure; what was read before it is still exported, as node_exporter sends it first.

use super::sysfs;
use super::{LinuxError, Paths};
use peeper_proto::MetricFamily;
use std::ffi::OsString;
use std::path::Path;

/// The leading digits of `name` after `prefix` (node_exporter's `mc([0-9]*)` capture).
fn number<'a>(name: &'a str, prefix: &str) -> &'a str {
    let rest = &name[prefix.len().min(name.len())..];
    &rest[..rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len()]
}

/// Buffers kept between cycles.
#[derive(Debug, Default)]
pub struct EdacState {
    controllers: Vec<OsString>,
    csrows: Vec<OsString>,
    bytes: Vec<u8>,
}

/// The four families, in node_exporter's order of pushes.
struct Counters {
    ce: MetricFamily,
    ue: MetricFamily,
    csrow_ce: MetricFamily,
    csrow_ue: MetricFamily,
}

impl EdacState {
    pub fn collect(
        &mut self,
        paths: &Paths,
        out: &mut Vec<MetricFamily>,
    ) -> Result<(), LinuxError> {
        let mut counters = Counters {
            ce: MetricFamily::counter(
                "node_edac_correctable_errors_total",
                "Total correctable memory errors.",
            ),
            ue: MetricFamily::counter(
                "node_edac_uncorrectable_errors_total",
                "Total uncorrectable memory errors.",
            ),
            csrow_ce: MetricFamily::counter(
                "node_edac_csrow_correctable_errors_total",
                "Total correctable memory errors for this csrow.",
            ),
            csrow_ue: MetricFamily::counter(
                "node_edac_csrow_uncorrectable_errors_total",
                "Total uncorrectable memory errors for this csrow.",
            ),
        };
        let result = self.read(&paths.hw.edac, &mut counters);
        out.extend([
            counters.ce,
            counters.ue,
            counters.csrow_ce,
            counters.csrow_ue,
        ]);
        result
    }

    fn count(&mut self, path: &Path) -> Result<f64, LinuxError> {
        sysfs::read_uint_file(path, &mut self.bytes)
            .map(|value| value as f64)
            .map_err(|error| error.into_linux(path))
    }

    fn read(&mut self, mc: &Path, counters: &mut Counters) -> Result<(), LinuxError> {
        sysfs::glob_numbered(mc, "mc", &mut self.controllers);
        let controllers = std::mem::take(&mut self.controllers);
        let result = controllers.iter().try_for_each(|name| {
            let name_text = name.to_string_lossy();
            let controller = number(&name_text, "mc");
            let dir = mc.join(name);
            let labels = [("controller", controller)];
            let unknown = [("controller", controller), ("csrow", "unknown")];
            let value = self.count(&dir.join("ce_count"))?;
            counters.ce.push(&labels, value);
            let value = self.count(&dir.join("ce_noinfo_count"))?;
            counters.csrow_ce.push(&unknown, value);
            let value = self.count(&dir.join("ue_count"))?;
            counters.ue.push(&labels, value);
            let value = self.count(&dir.join("ue_noinfo_count"))?;
            counters.csrow_ue.push(&unknown, value);
            self.csrows(&dir, controller, counters)
        });
        self.controllers = controllers;
        result
    }

    fn csrows(
        &mut self,
        dir: &Path,
        controller: &str,
        counters: &mut Counters,
    ) -> Result<(), LinuxError> {
        sysfs::glob_numbered(dir, "csrow", &mut self.csrows);
        let csrows = std::mem::take(&mut self.csrows);
        let result = csrows.iter().try_for_each(|name| {
            let name_text = name.to_string_lossy();
            let labels = [
                ("controller", controller),
                ("csrow", number(&name_text, "csrow")),
            ];
            let value = self.count(&dir.join(name).join("ce_count"))?;
            counters.csrow_ce.push(&labels, value);
            let value = self.count(&dir.join(name).join("ue_count"))?;
            counters.csrow_ue.push(&labels, value);
            Ok(())
        });
        self.csrows = csrows;
        result
    }
}
