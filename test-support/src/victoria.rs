//! A real single-node VictoriaMetrics (Debian package `victoria-metrics`) on a free loopback
//! port with its data in a temporary directory, and its query API.

use crate::{free_port, http_get, require_binary, url_encode, wait_until};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A real single-node VictoriaMetrics (Debian package `victoria-metrics`).
pub struct VictoriaMetrics {
    child: Option<Child>,
    extra_args: Vec<String>,
    api: VmApi,
    binary: PathBuf,
    data: tempfile::TempDir,
}

/// The query side of a VictoriaMetrics at `addr`: the harness's own, or one an installer
/// started.
pub struct VmApi {
    pub addr: String,
}

impl std::ops::Deref for VictoriaMetrics {
    type Target = VmApi;
    fn deref(&self) -> &VmApi {
        &self.api
    }
}

impl VictoriaMetrics {
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// Starts with extra flags, e.g. `-dedup.minScrapeInterval=1ms` to count resent samples once.
    pub fn start_with(extra_args: &[&str]) -> Self {
        let binary = require_binary("victoria-metrics", "victoria-metrics");
        let data = tempfile::tempdir().expect("temp dir for VictoriaMetrics");
        let addr = format!("127.0.0.1:{}", free_port());
        let mut vm = VictoriaMetrics {
            child: None,
            extra_args: extra_args.iter().map(|a| a.to_string()).collect(),
            api: VmApi { addr },
            binary,
            data,
        };
        vm.spawn();
        vm
    }

    fn spawn(&mut self) {
        let log = std::fs::File::create(self.data.path().join("vm.log")).expect("vm log");
        let child = Command::new(&self.binary)
            .arg(format!("-httpListenAddr={}", self.addr))
            .arg(format!(
                "-storageDataPath={}",
                self.data.path().join("data").display()
            ))
            .arg("-search.latencyOffset=1s")
            .arg("-retentionPeriod=1")
            .args(&self.extra_args)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start victoria-metrics");
        self.child = Some(child);
        let addr = self.addr.clone();
        wait_until("VictoriaMetrics /health", Duration::from_secs(30), || {
            matches!(http_get(&addr, "/health"), Ok((200, _)))
        });
    }

    /// Stops the process gracefully (SIGTERM: VictoriaMetrics flushes what it accepted),
    /// keeping its data for [`Self::restart`].
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(20);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Re-reads `-promscrape.config` (SIGHUP).
    pub fn reload(&self) {
        if let Some(child) = &self.child {
            let _ = Command::new("kill")
                .args(["-HUP", &child.id().to_string()])
                .status();
        }
    }

    /// SIGKILLs the process (what it held in memory is lost), keeping its data.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn write_url(&self) -> String {
        format!("http://{}/api/v1/write", self.addr)
    }

    pub fn data_dir(&self) -> &Path {
        self.data.path()
    }
}

impl VmApi {
    /// Flushes fresh data so queries see it.
    pub fn flush(&self) {
        let _ = http_get(&self.addr, "/internal/force_flush");
    }

    /// Runs an instant query and returns the `data.result` array.
    pub fn query(&self, promql: &str) -> Vec<serde_json::Value> {
        self.flush();
        let path = format!("/api/v1/query?query={}", url_encode(promql));
        let (status, body) = http_get(&self.addr, &path).expect("query VictoriaMetrics");
        assert_eq!(status, 200, "query {promql} failed: {body}");
        let json: serde_json::Value = serde_json::from_str(&body).expect("query JSON");
        json["data"]["result"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// Every raw sample of the series matching `selector` (VictoriaMetrics' JSON export):
    /// one `(labels, [(timestamp_ms, value)])` per series, samples in time order.
    pub fn export(&self, selector: &str) -> Vec<(serde_json::Value, Vec<(i64, f64)>)> {
        self.flush();
        let path = format!("/api/v1/export?match[]={}", url_encode(selector));
        let (status, body) = http_get(&self.addr, &path).expect("export from VictoriaMetrics");
        assert_eq!(status, 200, "export {selector} failed: {body}");
        body.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|line| {
                let json: serde_json::Value = serde_json::from_str(line).expect("export JSON");
                let values = json["values"].as_array().cloned().unwrap_or_default();
                let times = json["timestamps"].as_array().cloned().unwrap_or_default();
                let mut samples: Vec<(i64, f64)> = times
                    .iter()
                    .zip(values)
                    .map(|(t, v)| (t.as_i64().unwrap(), v.as_f64().unwrap_or(f64::NAN)))
                    .collect();
                samples.sort_by_key(|(t, _)| *t);
                (json["metric"].clone(), samples)
            })
            .collect()
    }

    /// The value of a query that returns exactly one series.
    pub fn query_one(&self, promql: &str) -> Option<f64> {
        let result = self.query(promql);
        let first = result.first()?;
        first["value"][1].as_str()?.parse().ok()
    }

    /// Waits until `promql` returns at least one series, returning them.
    pub fn wait_for(&self, promql: &str, timeout: Duration) -> Vec<serde_json::Value> {
        let mut found = Vec::new();
        wait_until(
            &format!("VictoriaMetrics to return {promql}"),
            timeout,
            || {
                found = self.query(promql);
                !found.is_empty()
            },
        );
        found
    }
}

impl Drop for VictoriaMetrics {
    fn drop(&mut self) {
        self.stop();
    }
}
