//! A real nginx (Debian package `nginx`) with `stub_status` on a free loopback port, from a
//! standalone config in a temporary directory; and nginx-prometheus-exporter (Debian package
//! `prometheus-nginx-exporter`) reading it, the oracle the collector is compared with. Both
//! are stopped when dropped.

use crate::{free_port, http_get, require_binary, wait_until};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Nginx {
    pub port: u16,
    binary: PathBuf,
    dir: tempfile::TempDir,
    process: Option<Child>,
}

impl Nginx {
    /// Starts nginx (one worker) and waits until its stub_status page answers.
    pub fn start() -> Self {
        let binary = require_binary("nginx", "nginx");
        let dir = tempfile::tempdir().expect("temp dir for nginx");
        // mktemp's 0700 keeps the workers (user nobody when started as root) out of www/.
        set_mode_755(dir.path());
        let root = dir.path();
        std::fs::create_dir(root.join("www")).unwrap();
        set_mode_755(&root.join("www"));
        std::fs::write(root.join("www/index.html"), "hello from nginx\n").unwrap();
        let port = free_port();
        let temp_paths: String = ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"]
            .iter()
            .map(|kind| format!("  {kind}_temp_path {}/{kind};\n", root.display()))
            .collect();
        let conf = format!(
            "daemon off;\n\
             worker_processes 1;\n\
             pid {root}/nginx.pid;\n\
             error_log {root}/error.log warn;\n\
             events {{ worker_connections 64; }}\n\
             http {{\n\
             {temp_paths}\
             \x20 access_log off;\n\
             \x20 server {{\n\
             \x20   listen 127.0.0.1:{port};\n\
             \x20   root {root}/www;\n\
             \x20   location = /stub_status {{ stub_status; allow 127.0.0.1; deny all; }}\n\
             \x20 }}\n\
             }}\n",
            root = root.display(),
        );
        std::fs::write(root.join("nginx.conf"), conf).unwrap();
        let mut nginx = Nginx {
            port,
            binary,
            dir,
            process: None,
        };
        nginx.spawn();
        nginx
    }

    fn spawn(&mut self) {
        let root = self.dir.path();
        let child = Command::new(&self.binary)
            .arg("-c")
            .arg(root.join("nginx.conf"))
            .arg("-p")
            .arg(root)
            // Before the config is read nginx logs to its built-in path; keep that here too.
            .arg("-e")
            .arg(root.join("error.log"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("run nginx");
        self.process = Some(child);
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(20) {
            if matches!(http_get(&self.addr(), "/stub_status"), Ok((200, _))) {
                return;
            }
            if let Some(status) = self.process.as_mut().and_then(|c| c.try_wait().ok()?) {
                self.process = None;
                panic!("nginx exited at once ({status}):\n{}", self.error_log());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!(
            "nginx did not serve /stub_status in 20 s:\n{}",
            self.error_log()
        );
    }

    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The stub_status page.
    pub fn status_url(&self) -> String {
        format!("http://{}/stub_status", self.addr())
    }

    /// Sends `n` requests for a static page, each on its own connection.
    pub fn requests(&self, n: usize) {
        for _ in 0..n {
            let (status, _) = http_get(&self.addr(), "/index.html").expect("GET /index.html");
            assert_eq!(status, 200);
        }
    }

    /// `n` connections that each made one keep-alive request and stay open, idle: nginx
    /// counts them as waiting until they are dropped.
    pub fn idle_connections(&self, n: usize) -> Vec<TcpStream> {
        (0..n)
            .map(|_| {
                let mut stream = TcpStream::connect(self.addr()).expect("connect to nginx");
                stream
                    .set_read_timeout(Some(Duration::from_secs(10)))
                    .unwrap();
                write!(stream, "GET /index.html HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
                let mut seen = Vec::new();
                let mut buf = [0u8; 1024];
                // The page ends the answer; the connection stays open.
                while !seen.ends_with(b"hello from nginx\n") {
                    let n = stream.read(&mut buf).expect("read from nginx");
                    assert!(n > 0, "nginx closed a keep-alive connection");
                    seen.extend_from_slice(&buf[..n]);
                }
                stream
            })
            .collect()
    }

    /// `n` connections that sent half a request header: nginx counts them as reading until
    /// they are dropped (or its 60 s header timeout).
    pub fn half_sent_requests(&self, n: usize) -> Vec<TcpStream> {
        let streams: Vec<TcpStream> = (0..n)
            .map(|_| {
                let mut stream = TcpStream::connect(self.addr()).expect("connect to nginx");
                write!(stream, "GET /index.html HTTP/1.1\r\nHo").unwrap();
                stream
            })
            .collect();
        let want = format!("Reading: {n} ");
        wait_until(
            "nginx to count the half-sent requests",
            Duration::from_secs(10),
            || http_get(&self.addr(), "/stub_status").is_ok_and(|(_, page)| page.contains(&want)),
        );
        streams
    }

    pub fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("error.log")).unwrap_or_default()
    }

    /// Stops nginx (SIGQUIT: the master waits for its worker) and waits until the port is
    /// closed.
    pub fn stop(&mut self) {
        let Some(mut child) = self.process.take() else {
            return;
        };
        let _ = Command::new("kill")
            .args(["-QUIT", &child.id().to_string()])
            .status();
        if !exited_within(&mut child, Duration::from_secs(10)) {
            // SIGTERM: the master stops its worker at once (a SIGKILL would leave the worker
            // serving without it).
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            if !exited_within(&mut child, Duration::from_secs(5)) {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
        // No panic here: this runs in Drop too.
        let start = Instant::now();
        while TcpStream::connect(self.addr()).is_ok() && start.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Starts it again on the same port.
    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        self.stop();
    }
}

/// prometheus-nginx-exporter reading one stub_status page.
pub struct NginxExporter {
    pub addr: String,
    process: Child,
}

impl NginxExporter {
    /// Starts the exporter against `status_url` (nginx must answer already: the exporter
    /// exits when its first read fails) and waits until it serves `/metrics`.
    pub fn start(status_url: &str) -> Self {
        let binary = require_binary("prometheus-nginx-exporter", "prometheus-nginx-exporter");
        let addr = format!("127.0.0.1:{}", free_port());
        let process = Command::new(binary)
            .arg(format!("-nginx.scrape-uri={status_url}"))
            .arg(format!("-web.listen-address={addr}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("run prometheus-nginx-exporter");
        let exporter = NginxExporter { addr, process };
        wait_until(
            "prometheus-nginx-exporter to serve /metrics",
            Duration::from_secs(20),
            || matches!(http_get(&exporter.addr, "/metrics"), Ok((200, _))),
        );
        exporter
    }

    /// One scrape: the exporter reads the page now and answers with its text.
    pub fn metrics(&self) -> String {
        let (status, body) = http_get(&self.addr, "/metrics").expect("scrape the exporter");
        assert_eq!(status, 200, "{body}");
        body
    }
}

impl Drop for NginxExporter {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

fn exited_within(child: &mut Child, timeout: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if child.try_wait().ok().flatten().is_some() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

fn set_mode_755(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod 755");
}
