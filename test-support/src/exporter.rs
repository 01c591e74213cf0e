//! A Debian-packaged Prometheus exporter (`prometheus-postgres-exporter`,
//! `prometheus-mysqld-exporter`) on a free loopback port, the oracle a collector is compared
//! with; stopped when dropped. Its log is kept to explain an exporter that stops early.

use crate::{free_port, http_get, require_binary};
use std::io::{Read, Seek, SeekFrom};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[derive(Debug)]
pub struct Exporter {
    pub addr: String,
    program: String,
    process: Child,
    log: std::fs::File,
}

impl Exporter {
    /// Runs `program` (from Debian package `package`) with `--web.listen-address`, `args`
    /// and `env`, and waits until it serves `/metrics`.
    pub fn start(program: &str, package: &str, args: &[&str], env: &[(&str, &str)]) -> Self {
        let binary = require_binary(program, package);
        let addr = format!("127.0.0.1:{}", free_port());
        let log = tempfile::tempfile().expect("a temporary file for the exporter's log");
        let process = Command::new(binary)
            .arg(format!("--web.listen-address={addr}"))
            .args(args)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log.try_clone().expect("the exporter's log"))
            .spawn()
            .unwrap_or_else(|e| panic!("run {program}: {e}"));
        let mut exporter = Exporter {
            addr,
            program: program.to_owned(),
            process,
            log,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while !matches!(http_get(&exporter.addr, "/metrics"), Ok((200, _))) {
            if let Ok(Some(status)) = exporter.process.try_wait() {
                panic!("{program} exited ({status}):\n{}", exporter.log());
            }
            assert!(
                Instant::now() < deadline,
                "{program} did not serve /metrics in 20 s:\n{}",
                exporter.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        exporter
    }

    /// One scrape: the exporter reads its target now and answers with the text.
    pub fn metrics(&self) -> String {
        let (status, body) = http_get(&self.addr, "/metrics")
            .unwrap_or_else(|e| panic!("scrape {}: {e}", self.program));
        assert_eq!(status, 200, "{}: {body}", self.program);
        body
    }

    /// What the exporter logged so far.
    pub fn log(&mut self) -> String {
        let mut text = String::new();
        let _ = self.log.seek(SeekFrom::Start(0));
        let _ = self.log.read_to_string(&mut text);
        text
    }
}

impl Drop for Exporter {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}
