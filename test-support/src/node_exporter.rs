//! A real node_exporter (Debian package `prometheus-node-exporter`) on a free loopback port
//! with only the collectors a test names, the oracle the agent's collectors are compared
//! with; stopped when dropped.

use crate::{free_port, http_get, require_binary, wait_until};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub struct NodeExporter {
    pub addr: String,
    process: Child,
}

impl NodeExporter {
    /// Starts node_exporter with its default collectors off and `args` (which switch on the
    /// ones wanted, e.g. `--collector.textfile`), without its own Go and process metrics.
    pub fn start(args: &[&str]) -> Self {
        let binary = require_binary("prometheus-node-exporter", "prometheus-node-exporter");
        let addr = format!("127.0.0.1:{}", free_port());
        let process = Command::new(binary)
            .args([
                "--collector.disable-defaults",
                "--web.disable-exporter-metrics",
            ])
            .arg(format!("--web.listen-address={addr}"))
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("run prometheus-node-exporter");
        let exporter = NodeExporter { addr, process };
        wait_until(
            "prometheus-node-exporter to serve /metrics",
            Duration::from_secs(20),
            || matches!(http_get(&exporter.addr, "/metrics"), Ok((200, _))),
        );
        exporter
    }

    /// One scrape: the collectors run now and it answers with their text.
    pub fn metrics(&self) -> String {
        let (status, body) = http_get(&self.addr, "/metrics").expect("scrape node_exporter");
        assert_eq!(status, 200, "{body}");
        body
    }
}

impl Drop for NodeExporter {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}
