//! A peeper-server (in-process, TLS from a fresh dev CA, a real token) writing to a real
//! VictoriaMetrics, and the real agent binary configured to push to it.

use peeper_server::config::{ForwardMode, Limits, ServerConfig, ServerSettings, TlsPaths};
use peeper_server::tokens::TokenStore;
use peeper_test_support::VictoriaMetrics;
use std::path::{Path, PathBuf};
use std::process::Command;

pub const AGENT: &str = env!("CARGO_BIN_EXE_peeper-agent");

/// A server on a free loopback port with TLS from a fresh dev CA, writing to `vm`.
pub struct Stack {
    pub server: Option<peeper_server::RunningServer>,
    pub dir: tempfile::TempDir,
    pub ca: PathBuf,
    pub token_file: PathBuf,
}

impl Stack {
    pub async fn start(vm: &VictoriaMetrics, tenant: &str) -> Stack {
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let dir = tempfile::tempdir().unwrap();
        let certs = peeper_server::devcert::init(&dir.path().join("certs"), "localhost").unwrap();
        let data_dir = dir.path().join("server");
        let (_id, token) = TokenStore::open(&data_dir)
            .unwrap()
            .create(tenant, &[])
            .unwrap();
        let token_file = dir.path().join("agent.token");
        std::fs::write(&token_file, format!("{token}\n")).unwrap();
        let config = ServerConfig::try_new(ServerSettings {
            listen: "127.0.0.1:0".parse().unwrap(),
            tls: Some(TlsPaths {
                cert: certs.server_cert.clone(),
                key: certs.server_key.clone(),
            }),
            remote_write_url: vm.write_url(),
            data_dir,
            forward_mode: ForwardMode::ExtraLabel,
            limits: Limits::default(),
        })
        .unwrap();
        let server = peeper_server::start(config).await.unwrap();
        Stack {
            server: Some(server),
            ca: certs.ca_cert,
            token_file,
            dir,
        }
    }

    pub fn server_url(&self) -> String {
        // The certificate names localhost; connecting by name checks the host name too.
        let port = self.server.as_ref().unwrap().local_addr().port();
        format!("https://localhost:{port}")
    }

    pub fn agent(&self, instance: &str, token_file: &Path) -> Command {
        let mut command = Command::new(AGENT);
        command
            .env_remove("PEEPER_CONFIG")
            .args(["--server", &self.server_url()])
            .arg("--token-file")
            .arg(token_file)
            .arg("--ca-file")
            .arg(&self.ca)
            .args(["--instance", instance])
            .arg("--buffer-dir")
            .arg(self.dir.path().join("buffer"));
        command
    }

    pub async fn stop(mut self) {
        if let Some(server) = self.server.take() {
            server.shutdown().await;
        }
    }
}
