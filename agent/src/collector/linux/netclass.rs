//! `node_network_up`, `node_network_info` and the numeric `/sys/class/net/<iface>/` attributes,
//! as node_exporter's netclass collector emits them by default (netclass_linux.go over procfs'
//! sysfs/net_class.go): every entry of `class/net` that is not a regular file, no device
//! ignored, sysfs rather than netlink.
//!
//! An attribute that is missing or refuses to be read (`ENOENT`, `EACCES`/`EPERM`, `EINVAL` as
//! `carrier` and `speed` give on a down link, `EOPNOTSUPP`) is left out for that interface, as
//! procfs does; any other read error fails the area, as it fails node_exporter's collector.

use super::{LinuxError, Paths};
use peeper_proto::MetricFamily;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// node_exporter's `--collector.netclass.ignore-invalid-speed`, off by default: a negative
/// `speed` (-1 for "unknown") is still exported, as `-125000`.
const IGNORE_INVALID_SPEED: bool = false;

/// The string attributes, in [`Iface::strings`] order.
const STRING_FILES: [&str; 5] = ["address", "broadcast", "duplex", "ifalias", "operstate"];
const ADDRESS: usize = 0;
const BROADCAST: usize = 1;
const DUPLEX: usize = 2;
const IFALIAS: usize = 3;
const OPERSTATE: usize = 4;

/// One numeric attribute: its file, node_exporter's metric name and help, and whether it is a
/// counter.
struct Numeric {
    file: &'static str,
    name: &'static str,
    help: &'static str,
    counter: bool,
}

const fn numeric(
    file: &'static str,
    name: &'static str,
    help: &'static str,
    counter: bool,
) -> Numeric {
    Numeric {
        file,
        name,
        help,
        counter,
    }
}

/// The numeric attributes in the order node_exporter pushes them, with its help text
/// (`Network device property: <name>`).
const NUMERIC: [Numeric; 17] = [
    numeric(
        "addr_assign_type",
        "node_network_address_assign_type",
        "Network device property: address_assign_type",
        false,
    ),
    numeric(
        "carrier",
        "node_network_carrier",
        "Network device property: carrier",
        false,
    ),
    numeric(
        "carrier_changes",
        "node_network_carrier_changes_total",
        "Network device property: carrier_changes_total",
        true,
    ),
    numeric(
        "carrier_up_count",
        "node_network_carrier_up_changes_total",
        "Network device property: carrier_up_changes_total",
        true,
    ),
    numeric(
        "carrier_down_count",
        "node_network_carrier_down_changes_total",
        "Network device property: carrier_down_changes_total",
        true,
    ),
    numeric(
        "dev_id",
        "node_network_device_id",
        "Network device property: device_id",
        false,
    ),
    numeric(
        "dormant",
        "node_network_dormant",
        "Network device property: dormant",
        false,
    ),
    numeric(
        "flags",
        "node_network_flags",
        "Network device property: flags",
        false,
    ),
    numeric(
        "ifindex",
        "node_network_iface_id",
        "Network device property: iface_id",
        false,
    ),
    numeric(
        "iflink",
        "node_network_iface_link",
        "Network device property: iface_link",
        false,
    ),
    numeric(
        "link_mode",
        "node_network_iface_link_mode",
        "Network device property: iface_link_mode",
        false,
    ),
    numeric(
        "mtu",
        "node_network_mtu_bytes",
        "Network device property: mtu_bytes",
        false,
    ),
    numeric(
        "netdev_group",
        "node_network_net_dev_group",
        "Network device property: net_dev_group",
        false,
    ),
    numeric(
        "name_assign_type",
        "node_network_name_assign_type",
        "Network device property: name_assign_type",
        false,
    ),
    numeric(
        "speed",
        "node_network_speed_bytes",
        "Network device property: speed_bytes",
        false,
    ),
    numeric(
        "tx_queue_len",
        "node_network_transmit_queue_length",
        "Network device property: transmit_queue_length",
        false,
    ),
    numeric(
        "type",
        "node_network_protocol_type",
        "Network device property: protocol_type",
        false,
    ),
];
const FLAGS: usize = 7;
const SPEED: usize = 14;

/// What one interface directory held this cycle; reused between cycles.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Iface {
    pub device: String,
    /// `address`, `broadcast`, `duplex`, `ifalias`, `operstate`; empty when unreadable.
    pub strings: [String; 5],
    /// The [`NUMERIC`] attributes; `None` when unreadable or not a number.
    pub values: [Option<i64>; 17],
}

impl Iface {
    fn reset(&mut self, device: &str) {
        self.device.clear();
        self.device.push_str(device);
        self.strings.iter_mut().for_each(String::clear);
        self.values = [None; 17];
    }

    pub fn operstate(&self) -> &str {
        &self.strings[OPERSTATE]
    }

    /// node_exporter's `adminstate` label: bit 0 (`IFF_UP`) of `flags`.
    pub fn adminstate(&self) -> &'static str {
        match self.values[FLAGS] {
            None => "unknown",
            Some(flags) if flags & 1 == 1 => "up",
            Some(_) => "down",
        }
    }
}

/// Parses an integer as Go's `strconv.ParseInt(s, 0, 64)` does: `0x`, `0o`/leading `0` and
/// `0b` prefixes (sysfs writes `flags` and `dev_id` in hex).
pub fn parse_int(text: &str) -> Option<i64> {
    let (negative, digits) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let (radix, digits) = match digits.as_bytes() {
        [b'0', b'x' | b'X', ..] => (16, &digits[2..]),
        [b'0', b'o' | b'O', ..] => (8, &digits[2..]),
        [b'0', b'b' | b'B', ..] => (2, &digits[2..]),
        [b'0', _, ..] => (8, &digits[1..]),
        _ => (10, digits),
    };
    if digits.is_empty() || digits.starts_with(['+', '-']) {
        return None;
    }
    let magnitude = u64::from_str_radix(digits, radix).ok()?;
    if negative {
        0i64.checked_sub_unsigned(magnitude)
    } else {
        i64::try_from(magnitude).ok()
    }
}

/// Stores the contents of attribute file `file` (any surrounding white space is trimmed, as
/// procfs does). Unknown files are ignored.
pub fn apply(iface: &mut Iface, file: &str, text: &str) {
    let text = text.trim();
    if let Some(index) = STRING_FILES.iter().position(|name| *name == file) {
        let slot = &mut iface.strings[index];
        slot.clear();
        slot.push_str(text);
    } else if let Some(index) = NUMERIC.iter().position(|n| n.file == file) {
        iface.values[index] = parse_int(text);
    }
}

/// Whether procfs skips an attribute that failed to read with `error`. `EISDIR` stands for
/// procfs' skipping of entries that are not regular files, as files are opened by name here.
fn ignorable(error: &io::Error) -> bool {
    use rustix::io::Errno;
    matches!(
        error.kind(),
        io::ErrorKind::NotFound | io::ErrorKind::PermissionDenied
    ) || error.raw_os_error().is_some_and(|code| {
        [Errno::INVAL, Errno::OPNOTSUPP, Errno::ISDIR]
            .iter()
            .any(|errno| errno.raw_os_error() == code)
    })
}

/// Reads one attribute with a single `read`, as procfs' `SysReadFile` does: sysfs hands out a
/// whole attribute (at most a page) per call. `Ok(None)` for a skipped attribute.
fn read_attr<'a>(path: &Path, buf: &'a mut [u8]) -> Result<Option<&'a str>, LinuxError> {
    let result = std::fs::File::open(path).and_then(|mut file| file.read(buf));
    match result {
        Ok(n) => Ok(Some(std::str::from_utf8(&buf[..n]).unwrap_or_else(|e| {
            // Keep the valid prefix of a label that is not UTF-8 (`ifalias` is user data).
            std::str::from_utf8(&buf[..e.valid_up_to()]).unwrap_or_default()
        }))),
        Err(error) if ignorable(&error) => Ok(None),
        Err(source) => Err(LinuxError::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Buffers kept between cycles.
#[derive(Debug)]
pub struct NetClassState {
    path: PathBuf,
    buf: Vec<u8>,
    ifaces: Vec<Iface>,
}

impl Default for NetClassState {
    fn default() -> Self {
        NetClassState {
            path: PathBuf::with_capacity(128),
            buf: vec![0; 4096],
            ifaces: Vec::with_capacity(8),
        }
    }
}

impl NetClassState {
    pub fn collect(
        &mut self,
        paths: &Paths,
        out: &mut Vec<MetricFamily>,
    ) -> Result<(), LinuxError> {
        let dir = &paths.net_class;
        let io_error = |source| LinuxError::Io {
            path: dir.clone(),
            source,
        };
        let mut used = 0;
        for entry in std::fs::read_dir(dir).map_err(io_error)? {
            let entry = entry.map_err(io_error)?;
            // procfs lists every entry that is not a regular file (`bonding_masters` is one).
            if entry.file_type().map_err(io_error)?.is_file() {
                continue;
            }
            if used == self.ifaces.len() {
                self.ifaces.push(Iface::default());
            }
            let iface = &mut self.ifaces[used];
            let name = entry.file_name();
            iface.reset(&name.to_string_lossy());
            self.path.as_mut_os_string().clear();
            self.path.push(dir);
            self.path.push(&name);
            let mut found = false;
            for file in STRING_FILES.iter().chain(NUMERIC.iter().map(|n| &n.file)) {
                self.path.push(file);
                let text = read_attr(&self.path, &mut self.buf);
                self.path.pop();
                if let Some(text) = text? {
                    apply(iface, file, text);
                    found = true;
                }
            }
            // An interface removed while it was read is left out rather than reported empty.
            if found || self.path.is_dir() {
                used += 1;
            }
        }
        let ifaces = &mut self.ifaces[..used];
        ifaces.sort_unstable_by(|a, b| a.device.cmp(&b.device));
        families(ifaces, out);
        Ok(())
    }
}

pub fn families(ifaces: &[Iface], out: &mut Vec<MetricFamily>) {
    let mut up = MetricFamily::gauge(
        "node_network_up",
        "Value is 1 if operstate is 'up', 0 otherwise.",
    );
    let mut info = MetricFamily::gauge(
        "node_network_info",
        "Non-numeric data from /sys/class/net/<iface>, value is always 1.",
    );
    let mut numeric: Vec<MetricFamily> = NUMERIC
        .iter()
        .map(|n| {
            if n.counter {
                MetricFamily::counter(n.name, n.help)
            } else {
                MetricFamily::gauge(n.name, n.help)
            }
        })
        .collect();
    for iface in ifaces {
        let device = [("device", iface.device.as_str())];
        up.push(&device, f64::from(u8::from(iface.operstate() == "up")));
        info.push(
            &[
                ("device", &iface.device),
                ("address", &iface.strings[ADDRESS]),
                ("broadcast", &iface.strings[BROADCAST]),
                ("duplex", &iface.strings[DUPLEX]),
                ("operstate", iface.operstate()),
                ("adminstate", iface.adminstate()),
                ("ifalias", &iface.strings[IFALIAS]),
            ],
            1.0,
        );
        for (index, (family, value)) in numeric.iter_mut().zip(iface.values).enumerate() {
            let Some(value) = value else { continue };
            let value = if index == SPEED {
                if value < 0 && IGNORE_INVALID_SPEED {
                    continue;
                }
                // Mb/s to bytes/s in int64, as node_exporter computes it.
                value.wrapping_mul(1000 * 1000) / 8
            } else {
                value
            };
            family.push(&device, value as f64);
        }
    }
    out.push(up);
    out.push(info);
    out.extend(numeric);
}
