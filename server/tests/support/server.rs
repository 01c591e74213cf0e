//! `peeper-server` as its own process (so it can be SIGKILLed and restarted), plaintext, on
//! a free loopback port, logging to a file.

use super::{free_port, http_get, wait_until};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub struct ServerProcess {
    child: Option<Child>,
    binary: PathBuf,
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

    /// Starts the process again (after [`Self::sigkill`]) on the same port and data dir.
    pub fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let child = Command::new(&self.binary)
            .env_remove("PEEPER_CONFIG")
            .arg("--plaintext")
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
        let addr = self.addr.to_string();
        wait_until("peeper-server /health", Duration::from_secs(20), || {
            matches!(http_get(&addr, "/health"), Ok((200, _)))
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
