//! Peeper's test harness, shared by the agent's and the server's tests (a dev-dependency of
//! both): real services from Debian packages, started on free loopback ports in temporary
//! directories and stopped when dropped; test certificates and TLS servers; and helpers to
//! read collected metrics.
//!
//! It depends on `peeper-proto` only, never on `peeper-agent` or `peeper-server` (their unit
//! tests would see two copies of their own types). Helpers that need one of their types stay
//! in that crate's `tests/support/`; helpers that run one of their binaries take its path
//! (`env!("CARGO_BIN_EXE_…")` exists only in the owning crate's integration tests).
//!
//! A missing service never passes silently: its test fails naming the package to install.

pub mod alerting;
pub mod apache;
pub mod certs;
pub mod docker;
pub mod exporter;
pub mod haproxy;
pub mod installer;
pub mod legit;
pub mod mariadb;
mod metrics;
pub mod nginx;
pub mod node_exporter;
pub mod packages;
pub mod postgres;
pub mod server;
mod victoria;

pub use metrics::{find_value, value};
pub use victoria::{VictoriaMetrics, VmApi};

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The workspace root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_owned()
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind 127.0.0.1:0")
        .port()
}

/// Finds a binary on PATH or in the usual Debian locations, or fails the test saying how to
/// get it. A missing service never passes silently.
pub fn require_binary(name: &str, package: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut dirs: Vec<PathBuf> = std::env::split_paths(&path).collect();
    dirs.extend(["/usr/bin", "/usr/sbin", "/usr/local/bin"].map(PathBuf::from));
    for dir in dirs {
        let candidate = dir.join(name);
        if candidate.is_file() {
            return candidate;
        }
    }
    panic!(
        "`{name}` is not installed. This test runs against the real {name}: install it with \
         `apt-get install {package}` or run the README's test command (`./scripts/test.sh`), \
         which installs it."
    )
}

/// Waits until `check` returns true, or panics naming `what` after `timeout`.
pub fn wait_until(what: &str, timeout: Duration, mut check: impl FnMut() -> bool) {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if check() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("timed out after {timeout:?} waiting for {what}");
}

/// A plain HTTP/1.0 GET against loopback; returns (status, body).
pub fn http_get(addr: &str, path: &str) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n")?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Ok((status, body))
}

/// Percent-encodes a query parameter value.
pub fn url_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// User plus system CPU time of this test process, in seconds.
pub fn process_cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    ticks / 100.0
}
