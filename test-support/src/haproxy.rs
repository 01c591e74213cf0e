//! A real HAProxy (Debian package `haproxy`) running the production config
//! `compose/haproxy/haproxy.cfg` with loopback ports: TLS on a free 127.0.0.1 port with the
//! given PEM (certificate, chain and key), HTTP/2 in plaintext to `backend`.
//!
//! HAProxy connects to the backend from [`PROXY_SOURCE`] (127.0.0.2), so a test can trust
//! exactly the proxy (`--trusted-proxy 127.0.0.2/32`) while its own clients come from
//! 127.0.0.1.

use crate::{free_port, require_binary, wait_until};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The production config, rendered by [`render`].
pub const PRODUCTION_CONFIG: &str = include_str!("../../compose/haproxy/haproxy.cfg");
/// The address HAProxy's backend connections come from.
pub const PROXY_SOURCE: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));

/// The production config with loopback ports: every line marked `# harness: <what>` is
/// replaced (`bind`, `server`, `internal`, `grafana`), everything else is used as it is.
pub fn render(
    listen: SocketAddr,
    pem: &Path,
    backends: &[SocketAddr],
    internal: SocketAddr,
) -> String {
    let mut out = String::with_capacity(PRODUCTION_CONFIG.len() + 256);
    for line in PRODUCTION_CONFIG.lines() {
        let replaced = match line.split_once("# harness: ").map(|(_, what)| what.trim()) {
            Some("bind") => format!(
                "    bind {listen} ssl crt {} alpn h2,http/1.1",
                pem.display()
            ),
            Some("server") => backends
                .iter()
                .enumerate()
                .map(|(i, backend)| {
                    format!(
                        "    server peeper{} {backend} source {PROXY_SOURCE} proto h2 check inter 1s fall 2 rise 1",
                        i + 1
                    )
                })
                .collect::<Vec<_>>()
                .join("\n"),
            Some("internal") => format!("    bind {internal}"),
            // No Grafana in the tests: its backend stays empty, so every path other than
            // ingest and /health answers 404 as in production without a Grafana.
            // `disabled` rather than an unused port alone: a checked server counts as up
            // until its first check fails, and a request in that window would get 503.
            Some("grafana") => "    server grafana1 127.0.0.1:1 check disabled".to_owned(),
            Some(other) => panic!("haproxy.cfg has an unknown harness marker {other:?}"),
            None => line.to_owned(),
        };
        out.push_str(&replaced);
        out.push('\n');
    }
    out
}

/// A running HAProxy; stopped when dropped.
pub struct Haproxy {
    child: Option<Child>,
    binary: PathBuf,
    dir: tempfile::TempDir,
    config: PathBuf,
    addr: SocketAddr,
    internal: SocketAddr,
}

impl Haproxy {
    /// Starts HAProxy in front of `backend` (a plaintext h1/h2c server) with the TLS `pem`.
    pub fn start(backend: SocketAddr, pem: &Path) -> Haproxy {
        Self::start_many(&[backend], pem)
    }

    /// Starts HAProxy balancing over several replicas.
    pub fn start_many(backends: &[SocketAddr], pem: &Path) -> Haproxy {
        let binary = require_binary("haproxy", "haproxy");
        let dir = tempfile::tempdir().expect("temp dir for haproxy");
        let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
        let internal = SocketAddr::from(([127, 0, 0, 1], free_port()));
        let config = dir.path().join("haproxy.cfg");
        std::fs::write(&config, render(addr, pem, backends, internal)).expect("write haproxy.cfg");
        let check = Command::new(&binary)
            .arg("-c")
            .arg("-f")
            .arg(&config)
            .output()
            .expect("run haproxy -c");
        assert!(
            check.status.success(),
            "haproxy rejects the rendered config {}: {}{}",
            config.display(),
            String::from_utf8_lossy(&check.stdout),
            String::from_utf8_lossy(&check.stderr)
        );
        let mut proxy = Haproxy {
            child: None,
            binary,
            dir,
            config,
            addr,
            internal,
        };
        proxy.spawn();
        proxy
    }

    fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .expect("haproxy log");
        let child = Command::new(&self.binary)
            .arg("-f")
            .arg(&self.config)
            .arg("-db")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log handle"))
            .stderr(log)
            .spawn()
            .expect("start haproxy");
        self.child = Some(child);
        let (addr, internal) = (self.addr, self.internal);
        wait_until(
            "haproxy to accept connections",
            Duration::from_secs(15),
            || TcpStream::connect(addr).is_ok() && TcpStream::connect(internal).is_ok(),
        );
    }

    /// The TLS address clients connect to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The internal (stats, HAProxy metrics) address.
    pub fn internal_addr(&self) -> SocketAddr {
        self.internal
    }

    /// HAProxy's own log (stdout and stderr).
    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("haproxy.log")
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// Stops the process; [`Self::restart`] brings it back on the same ports.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }
}

impl Drop for Haproxy {
    fn drop(&mut self) {
        self.kill();
    }
}
