//! `peeper-server` as its own process (so it can be SIGKILLed and restarted), plaintext, on
//! a free loopback port, logging to a file.

use crate::{free_port, http_get, wait_until};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub struct ServerProcess {
    child: Option<Child>,
    binary: PathBuf,
    /// Run under `prlimit --nofile=N:N` (a service's open-file limit).
    pub nofile: Option<u64>,
    pub addr: SocketAddr,
    /// The server's own `/metrics` (plain HTTP).
    pub metrics_addr: SocketAddr,
    pub data_dir: PathBuf,
    vm_url: String,
    args: Vec<String>,
    pub log: PathBuf,
}

impl ServerProcess {
    /// Starts `binary --plaintext` writing to `vm_url`, with tokens in `data_dir` (shared by
    /// replicas) and `args` added; waits until `/health` answers.
    pub fn start(binary: &Path, data_dir: &Path, vm_url: &str, args: &[&str], log: &Path) -> Self {
        let mut server = ServerProcess {
            child: None,
            binary: binary.to_owned(),
            nofile: None,
            addr: SocketAddr::from(([127, 0, 0, 1], free_port())),
            metrics_addr: SocketAddr::from(([127, 0, 0, 1], free_port())),
            data_dir: data_dir.to_owned(),
            vm_url: vm_url.to_owned(),
            args: args.iter().map(|a| a.to_string()).collect(),
            log: log.to_owned(),
        };
        server.spawn();
        server
    }

    /// Like [`Self::start`], under an open-file limit of `nofile` (soft and hard).
    pub fn start_limited(
        binary: &Path,
        data_dir: &Path,
        vm_url: &str,
        args: &[&str],
        log: &Path,
        nofile: u64,
    ) -> Self {
        let mut server = ServerProcess {
            child: None,
            binary: binary.to_owned(),
            nofile: Some(nofile),
            addr: SocketAddr::from(([127, 0, 0, 1], free_port())),
            metrics_addr: SocketAddr::from(([127, 0, 0, 1], free_port())),
            data_dir: data_dir.to_owned(),
            vm_url: vm_url.to_owned(),
            args: args.iter().map(|a| a.to_string()).collect(),
            log: log.to_owned(),
        };
        server.spawn();
        server
    }

    /// The process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Resident memory of the process, in bytes.
    pub fn rss_bytes(&self) -> u64 {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.pid().unwrap())).unwrap();
        let kb: u64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap();
        kb * 1024
    }

    /// Starts the process again (after [`Self::sigkill`]) on the same port and data dir.
    pub fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let mut command = match self.nofile {
            Some(n) => {
                let mut c = Command::new("prlimit");
                c.arg(format!("--nofile={n}:{n}"))
                    .arg("--")
                    .arg(&self.binary);
                c
            }
            None => Command::new(&self.binary),
        };
        if !self.args.iter().any(|a| a == "--tls-cert") {
            command.arg("--plaintext");
        }
        let child = command
            .env_remove("PEEPER_CONFIG")
            .args(["--listen", &self.addr.to_string()])
            .args(["--remote-write-url", &self.vm_url])
            .arg("--data-dir")
            .arg(&self.data_dir)
            .args(["--metrics-listen", &self.metrics_addr.to_string()])
            .args(&self.args)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start peeper-server");
        self.child = Some(child);
        // The metrics listener answers once the ingest listener is bound (TLS or not).
        let metrics = self.metrics_addr.to_string();
        wait_until("peeper-server's /metrics", Duration::from_secs(20), || {
            matches!(http_get(&metrics, "/metrics"), Ok((200, _)))
        });
    }

    /// `peeper-server ARGS...` with this server's data dir and store, e.g. `token create`;
    /// panics with its stderr unless it succeeds, returns its stdout.
    pub fn command(&self, args: &[&str]) -> String {
        let output = Command::new(&self.binary)
            .env_remove("PEEPER_CONFIG")
            .args(args)
            .arg("--data-dir")
            .arg(&self.data_dir)
            .args(["--remote-write-url", &self.vm_url])
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "peeper-server {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    }

    /// A new token for `tenant`.
    pub fn token(&self, tenant: &str) -> String {
        self.command(&["token", "create", "--tenant", tenant])
            .lines()
            .next()
            .unwrap()
            .trim()
            .to_owned()
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Sends a signal (`HUP`, `TERM`, ...) to the server process.
    pub fn signal(&self, signal: &str) {
        let pid = self.pid().expect("the server runs").to_string();
        let status = Command::new("kill")
            .args([&format!("-{signal}"), &pid])
            .status()
            .unwrap();
        assert!(status.success(), "kill -{signal} {pid}");
    }

    pub fn sigkill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.sigkill();
    }
}
