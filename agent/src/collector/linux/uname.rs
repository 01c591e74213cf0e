//! `node_uname_info` (node_exporter uname.go): the uname system call on the host root, or
//! `<rootfs>/proc/sys/kernel/*` when the host root is mounted elsewhere.

use super::{LinuxError, Paths};
use peeper_proto::MetricFamily;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct UnameInfo {
    pub sysname: String,
    pub release: String,
    pub version: String,
    pub machine: String,
    pub nodename: String,
    pub domainname: String,
}

/// The contents of a `/proc/sys/kernel` file as uname reports it (without the newline).
pub fn kernel_value(text: &str) -> String {
    text.trim_end_matches(['\n', '\r']).to_owned()
}

fn from_syscall() -> UnameInfo {
    let uts = rustix::system::uname();
    let text = |value: &std::ffi::CStr| value.to_string_lossy().into_owned();
    UnameInfo {
        sysname: text(uts.sysname()),
        release: text(uts.release()),
        version: text(uts.version()),
        machine: text(uts.machine()),
        nodename: text(uts.nodename()),
        domainname: text(uts.domainname()),
    }
}

pub fn read(paths: &Paths, buf: &mut String) -> Result<UnameInfo, LinuxError> {
    if paths.host_root() {
        return Ok(from_syscall());
    }
    let mut read = |name: &str| -> Result<String, LinuxError> {
        super::read_into(&paths.kernel.join(name), buf)?;
        Ok(kernel_value(buf))
    };
    let sysname = read("ostype")?;
    let release = read("osrelease")?;
    let version = read("version")?;
    let nodename = read("hostname")?;
    let domainname = read("domainname")?;
    // `arch` exists on newer kernels; the machine does not change under a container.
    let machine = match read("arch") {
        Ok(arch) => arch,
        Err(_) => from_syscall().machine,
    };
    Ok(UnameInfo {
        sysname,
        release,
        version,
        machine,
        nodename,
        domainname,
    })
}

pub fn family(info: &UnameInfo) -> MetricFamily {
    MetricFamily::gauge(
        "node_uname_info",
        "Labeled system information as provided by the uname system call.",
    )
    .with(
        &[
            ("sysname", &info.sysname),
            ("release", &info.release),
            ("version", &info.version),
            ("machine", &info.machine),
            ("nodename", &info.nodename),
            ("domainname", &info.domainname),
        ],
        1.0,
    )
}
