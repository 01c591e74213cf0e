//! `node_filesystem_*{device,mountpoint,fstype}` as node_exporter's filesystem collector
//! (filesystem_linux.go, filesystem_common.go): mounts from `/proc/1/mountinfo` (falling back
//! to `/proc/self/mountinfo`), node_exporter's default exclusions, `statfs` on
//! `<rootfs>/<mountpoint>` with a 5 s timeout after which the mount is marked stuck (reported
//! with `device_error` 1 and skipped until its `statfs` returns).

use super::{LinuxError, Paths};
use peeper_proto::MetricFamily;
use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// node_exporter's `--collector.filesystem.mount-timeout` default.
const MOUNT_TIMEOUT: Duration = Duration::from_secs(5);

/// node_exporter's default `--collector.filesystem.fs-types-exclude`.
const EXCLUDED_FS_TYPES: [&str; 25] = [
    "autofs",
    "binfmt_misc",
    "bpf",
    "cgroup",
    "cgroup2",
    "configfs",
    "debugfs",
    "devpts",
    "devtmpfs",
    "fusectl",
    "hugetlbfs",
    "iso9660",
    "mqueue",
    "nsfs",
    "overlay",
    "proc",
    "procfs",
    "pstore",
    "rpc_pipefs",
    "securityfs",
    "selinuxfs",
    "squashfs",
    "erofs",
    "sysfs",
    "tracefs",
];

/// One line of mountinfo.
#[derive(Debug, Clone, PartialEq)]
pub struct Mount<'a> {
    pub major: u32,
    pub minor: u32,
    /// With `\040` and `\011` decoded, as node_exporter does.
    pub mountpoint: String,
    pub options: &'a str,
    pub fstype: &'a str,
    pub device: &'a str,
    pub super_options: &'a str,
}

impl Mount<'_> {
    /// Read-only when either the mount or the super block options say `ro`.
    pub fn read_only(&self) -> bool {
        let has_ro = |options: &str| options.split(',').any(|o| o == "ro");
        has_ro(self.options) || has_ro(self.super_options)
    }
}

/// Parses `/proc/<pid>/mountinfo`:
/// `id parent major:minor root mountpoint options [optional...] - fstype source superoptions`.
pub fn parse_mountinfo(text: &str) -> Result<Vec<Mount<'_>>, LinuxError> {
    let mut mounts = Vec::with_capacity(32);
    for line in text.lines() {
        if line.trim().is_empty() {
            continue;
        }
        let bad = || LinuxError::parse("mountinfo", format!("malformed line {line:?}"));
        let fields: Vec<&str> = line.split_ascii_whitespace().collect();
        if fields.len() < 10 {
            return Err(bad());
        }
        let (major, minor) = fields[2].split_once(':').ok_or_else(bad)?;
        let separator = fields[6..].iter().position(|f| *f == "-").ok_or_else(bad)? + 6;
        if fields.len() < separator + 3 {
            return Err(bad());
        }
        mounts.push(Mount {
            major: major.parse().map_err(|_| bad())?,
            minor: minor.parse().map_err(|_| bad())?,
            mountpoint: fields[4].replace("\\040", " ").replace("\\011", "\t"),
            options: fields[5],
            fstype: fields[separator + 1],
            device: fields[separator + 2],
            super_options: fields[separator + 3],
        });
    }
    Ok(mounts)
}

/// node_exporter's default `--collector.filesystem.mount-points-exclude`, matched by hand:
/// `^/(dev|proc|run/credentials/.+|sys|var/lib/docker/.+|var/lib/containers/storage/.+)($|/)`.
pub fn mount_point_excluded(mountpoint: &str) -> bool {
    let Some(rest) = mountpoint.strip_prefix('/') else {
        return false;
    };
    for exact in ["dev", "proc", "sys"] {
        if let Some(tail) = rest.strip_prefix(exact)
            && (tail.is_empty() || tail.starts_with('/'))
        {
            return true;
        }
    }
    [
        "run/credentials/",
        "var/lib/docker/",
        "var/lib/containers/storage/",
    ]
    .iter()
    .any(|prefix| {
        rest.strip_prefix(prefix)
            .is_some_and(|tail| !tail.is_empty())
    })
}

pub fn fs_type_excluded(fstype: &str) -> bool {
    EXCLUDED_FS_TYPES.contains(&fstype)
}

/// node_exporter's `rootfsStripPrefix`: the mount point as the host sees it.
pub fn strip_rootfs(rootfs: &str, mountpoint: &str) -> String {
    if rootfs == "/" {
        return mountpoint.to_owned();
    }
    match mountpoint.strip_prefix(rootfs) {
        Some("") => "/".to_owned(),
        Some(rest) => rest.to_owned(),
        None => mountpoint.to_owned(),
    }
}

/// What `statfs` returned, already multiplied out as node_exporter does.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Usage {
    pub size: f64,
    pub free: f64,
    pub avail: f64,
    pub files: f64,
    pub files_free: f64,
}

fn statfs(path: &PathBuf) -> Result<Usage, String> {
    match rustix::fs::statfs(path) {
        Ok(st) => {
            let block = st.f_bsize as f64;
            Ok(Usage {
                size: st.f_blocks as f64 * block,
                free: st.f_bfree as f64 * block,
                avail: st.f_bavail as f64 * block,
                files: st.f_files as f64,
                files_free: st.f_ffree as f64,
            })
        }
        Err(errno) => Err(errno_text(errno)),
    }
}

/// An errno as Go prints it (`permission denied`), the way node_exporter's label shows it.
fn errno_text(errno: rustix::io::Errno) -> String {
    let text = std::io::Error::from_raw_os_error(errno.raw_os_error()).to_string();
    let text = match text.find(" (os error") {
        Some(at) => &text[..at],
        None => text.as_str(),
    };
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

type Stuck = Arc<Mutex<HashSet<String>>>;

/// A long-lived thread doing `statfs` calls, so a hung mount can be abandoned.
#[derive(Debug)]
struct StatWorker {
    jobs: Sender<(String, PathBuf)>,
    results: Receiver<Result<Usage, String>>,
}

impl StatWorker {
    fn spawn(stuck: Stuck) -> Option<StatWorker> {
        let (jobs, job_rx) = mpsc::channel::<(String, PathBuf)>();
        let (result_tx, results) = mpsc::channel();
        std::thread::Builder::new()
            .name("peeper-statfs".into())
            .spawn(move || {
                for (mountpoint, path) in job_rx {
                    let result = statfs(&path);
                    // Under the lock, so the collector either sees the result or marks the
                    // mount stuck, never both; a late return unmarks it.
                    let mut stuck = stuck.lock().unwrap_or_else(PoisonError::into_inner);
                    stuck.remove(&mountpoint);
                    if result_tx.send(result).is_err() {
                        return; // abandoned after a timeout
                    }
                }
            })
            .ok()
            .map(|_| StatWorker { jobs, results })
    }
}

/// State kept between cycles: the worker and the mounts that timed out.
#[derive(Debug, Default)]
pub struct FsState {
    worker: Option<StatWorker>,
    stuck: Stuck,
}

impl FsState {
    /// `statfs` with the mount timeout; `Err` carries node_exporter's `device_error` text.
    fn stat(&mut self, mountpoint: &str, path: PathBuf) -> Result<Usage, String> {
        if self.worker.is_none() {
            self.worker = StatWorker::spawn(Arc::clone(&self.stuck));
        }
        let Some(worker) = &self.worker else {
            return statfs(&path); // no thread available: stat inline
        };
        if worker.jobs.send((mountpoint.to_owned(), path)).is_err() {
            self.worker = None;
            return Err("statfs worker exited".to_owned());
        }
        match worker.results.recv_timeout(MOUNT_TIMEOUT) {
            Ok(result) => result,
            Err(RecvTimeoutError::Timeout) => {
                let mut stuck = self.stuck.lock().unwrap_or_else(PoisonError::into_inner);
                if let Ok(result) = worker.results.try_recv() {
                    return result; // came in just after the timeout
                }
                stuck.insert(mountpoint.to_owned());
                drop(stuck);
                tracing::warn!(
                    mountpoint,
                    "statfs timed out; the mount is marked stuck until it answers"
                );
                self.worker = None;
                Err("mountpoint timeout".to_owned())
            }
            Err(RecvTimeoutError::Disconnected) => {
                self.worker = None;
                Err("statfs worker exited".to_owned())
            }
        }
    }

    fn is_stuck(&self, mountpoint: &str) -> bool {
        self.stuck
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(mountpoint)
    }

    pub fn collect(
        &mut self,
        paths: &Paths,
        buf: &mut String,
        out: &mut Vec<MetricFamily>,
    ) -> Result<(), LinuxError> {
        if let Err(error) = super::read_into(&paths.mountinfo_init, buf) {
            let missing = matches!(&error, LinuxError::Io { source, .. }
                if source.kind() == std::io::ErrorKind::NotFound);
            if !missing {
                return Err(error);
            }
            super::read_into(&paths.mountinfo_self, buf)?;
        }
        let mounts = parse_mountinfo(buf)?;
        let mut stats: Vec<FsStat> = Vec::with_capacity(mounts.len());
        for mount in &mounts {
            let mountpoint = strip_rootfs(&paths.rootfs_str, &mount.mountpoint);
            if mount_point_excluded(&mountpoint) || fs_type_excluded(mount.fstype) {
                continue;
            }
            let ro = if mount.read_only() { 1.0 } else { 0.0 };
            let usage = if self.is_stuck(&mountpoint) {
                Err("mountpoint timeout".to_owned())
            } else {
                let path = paths.rootfs.join(mountpoint.trim_start_matches('/'));
                self.stat(&mountpoint, path)
            };
            let stat = FsStat {
                device: mount.device,
                mountpoint,
                fstype: mount.fstype,
                major: mount.major,
                minor: mount.minor,
                ro,
                usage,
            };
            // Expose a mount once, even when it is listed several times.
            if !stats.iter().any(|seen| seen.same_labels(&stat)) {
                stats.push(stat);
            }
        }
        families(&stats, out);
        Ok(())
    }
}

/// One mount's result, before it becomes series.
#[derive(Debug, Clone, PartialEq)]
pub struct FsStat<'a> {
    pub device: &'a str,
    pub mountpoint: String,
    pub fstype: &'a str,
    pub major: u32,
    pub minor: u32,
    pub ro: f64,
    pub usage: Result<Usage, String>,
}

impl FsStat<'_> {
    fn error(&self) -> &str {
        self.usage.as_ref().err().map_or("", String::as_str)
    }

    fn same_labels(&self, other: &FsStat<'_>) -> bool {
        self.device == other.device
            && self.mountpoint == other.mountpoint
            && self.fstype == other.fstype
            && self.major == other.major
            && self.minor == other.minor
            && self.error() == other.error()
    }
}

pub fn families(stats: &[FsStat<'_>], out: &mut Vec<MetricFamily>) {
    let gauge = MetricFamily::gauge;
    let mut device_error = gauge(
        "node_filesystem_device_error",
        "Whether an error occurred while getting statistics for the given device.",
    );
    let mut readonly = gauge("node_filesystem_readonly", "Filesystem read-only status.");
    let mut size = gauge("node_filesystem_size_bytes", "Filesystem size in bytes.");
    let mut free = gauge(
        "node_filesystem_free_bytes",
        "Filesystem free space in bytes.",
    );
    let mut avail = gauge(
        "node_filesystem_avail_bytes",
        "Filesystem space available to non-root users in bytes.",
    );
    let mut files = gauge("node_filesystem_files", "Filesystem total file nodes.");
    let mut files_free = gauge(
        "node_filesystem_files_free",
        "Filesystem total free file nodes.",
    );
    let mut mount_info = gauge(
        "node_filesystem_mount_info",
        "Filesystem mount information.",
    );
    for stat in stats {
        let error = stat.error();
        let mut labels = vec![
            ("device", stat.device),
            ("mountpoint", stat.mountpoint.as_str()),
            ("fstype", stat.fstype),
        ];
        // node_exporter's `device_error` label holds the error text, empty (absent) if none.
        if !error.is_empty() {
            labels.push(("device_error", error));
        }
        device_error.push(&labels, if error.is_empty() { 0.0 } else { 1.0 });
        readonly.push(&labels, stat.ro);
        let Ok(usage) = &stat.usage else {
            continue;
        };
        size.push(&labels, usage.size);
        free.push(&labels, usage.free);
        avail.push(&labels, usage.avail);
        files.push(&labels, usage.files);
        files_free.push(&labels, usage.files_free);
        let major = stat.major.to_string();
        let minor = stat.minor.to_string();
        mount_info.push(
            &[
                ("device", stat.device),
                ("major", &major),
                ("minor", &minor),
                ("mountpoint", &stat.mountpoint),
            ],
            1.0,
        );
    }
    out.extend([
        device_error,
        readonly,
        size,
        free,
        avail,
        files,
        files_free,
        mount_info,
    ]);
}
