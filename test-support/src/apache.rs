//! A real Apache httpd (Debian package `apache2`) with mod_status on a free loopback port,
//! from a standalone config in a temporary directory; stopped when dropped.

use crate::{free_port, http_get, require_binary};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const MODULES: &str = "/usr/lib/apache2/modules";

/// The multi-processing module to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mpm {
    Prefork,
    Worker,
    Event,
}

impl Mpm {
    pub fn name(self) -> &'static str {
        match self {
            Mpm::Prefork => "prefork",
            Mpm::Worker => "worker",
            Mpm::Event => "event",
        }
    }

    /// The scoreboard's slot count for the config below: ServerLimit for prefork,
    /// ServerLimit × ThreadLimit (= ThreadsPerChild) for the threaded MPMs.
    pub fn slots(self) -> usize {
        match self {
            Mpm::Prefork => 4,
            Mpm::Worker | Mpm::Event => 2 * 4,
        }
    }

    fn limits(self) -> &'static str {
        match self {
            Mpm::Prefork => {
                "StartServers 1\nMinSpareServers 1\nMaxSpareServers 2\nServerLimit 4\nMaxRequestWorkers 4\n"
            }
            Mpm::Worker | Mpm::Event => {
                "StartServers 1\nServerLimit 2\nThreadLimit 4\nThreadsPerChild 4\nMaxRequestWorkers 8\nMinSpareThreads 1\nMaxSpareThreads 8\n"
            }
        }
    }
}

pub struct Apache {
    pub mpm: Mpm,
    pub port: u16,
    binary: PathBuf,
    conf: PathBuf,
    dir: tempfile::TempDir,
    running: bool,
}

impl Apache {
    /// Starts apache2 with `mpm` and waits until its status page answers.
    pub fn start(mpm: Mpm) -> Self {
        let binary = require_binary("apache2", "apache2");
        let dir = tempfile::tempdir().expect("temp dir for apache2");
        // mktemp's 0700 keeps www-data (the workers' user) out: every request would be 403.
        set_mode_755(dir.path());
        let port = free_port();
        let root = dir.path();
        std::fs::create_dir(root.join("www")).unwrap();
        set_mode_755(&root.join("www"));
        std::fs::write(root.join("www/index.html"), "hello from apache\n").unwrap();
        let conf = root.join("httpd.conf");
        let module =
            |name: &str, file: &str| format!("LoadModule {name}_module {MODULES}/mod_{file}.so\n");
        let text = format!(
            "ServerRoot {root}\n\
             ServerName 127.0.0.1\n\
             Listen 127.0.0.1:{port}\n\
             PidFile {root}/httpd.pid\n\
             DefaultRuntimeDir {root}\n\
             ErrorLog {root}/error.log\n\
             LogLevel warn\n\
             User www-data\n\
             Group www-data\n\
             {mpm_module}{authz_core}{authz_host}{status}\
             {limits}\
             ExtendedStatus On\n\
             DocumentRoot {root}/www\n\
             <Location /server-status>\n  SetHandler server-status\n  Require ip 127.0.0.1 ::1\n</Location>\n",
            root = root.display(),
            mpm_module = module(
                &format!("mpm_{}", mpm.name()),
                &format!("mpm_{}", mpm.name())
            ),
            authz_core = module("authz_core", "authz_core"),
            authz_host = module("authz_host", "authz_host"),
            status = module("status", "status"),
            limits = mpm.limits(),
        );
        std::fs::write(&conf, text).unwrap();
        let mut apache = Apache {
            mpm,
            port,
            binary,
            conf,
            dir,
            running: false,
        };
        apache.spawn();
        apache
    }

    fn spawn(&mut self) {
        let output = Command::new(&self.binary)
            .arg("-f")
            .arg(&self.conf)
            .args(["-k", "start"])
            .stdin(Stdio::null())
            .output()
            .expect("run apache2 -k start");
        assert!(
            output.status.success(),
            "apache2 -k start failed: {}{}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr),
            self.error_log()
        );
        self.running = true;
        let addr = self.addr();
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(20) {
            if matches!(http_get(&addr, "/server-status?auto"), Ok((200, _))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!(
            "apache2 ({}) did not serve /server-status in 20 s:\n{}",
            self.mpm.name(),
            self.error_log()
        );
    }

    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The machine-readable status page.
    pub fn status_url(&self) -> String {
        format!("http://{}/server-status?auto", self.addr())
    }

    /// Sends `n` requests for a static page, each on its own connection.
    pub fn requests(&self, n: usize) {
        for _ in 0..n {
            let (status, _) = http_get(&self.addr(), "/index.html").expect("GET /index.html");
            assert_eq!(status, 200);
        }
    }

    pub fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("error.log")).unwrap_or_default()
    }

    fn pid(&self) -> Option<u32> {
        std::fs::read_to_string(self.dir.path().join("httpd.pid"))
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    /// Stops apache2 and waits until its parent process is gone.
    pub fn stop(&mut self) {
        if !std::mem::take(&mut self.running) {
            return;
        }
        let pid = self.pid();
        let _ = Command::new(&self.binary)
            .arg("-f")
            .arg(&self.conf)
            .args(["-k", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        if let Some(pid) = pid {
            let proc = PathBuf::from(format!("/proc/{pid}"));
            let start = Instant::now();
            while proc.exists() && start.elapsed() < Duration::from_secs(10) {
                std::thread::sleep(Duration::from_millis(50));
            }
            if proc.exists() {
                let _ = Command::new("kill")
                    .args(["-KILL", &pid.to_string()])
                    .status();
            }
        }
        // No panic here: this runs in Drop too.
        let start = Instant::now();
        while std::net::TcpStream::connect(self.addr()).is_ok()
            && start.elapsed() < Duration::from_secs(10)
        {
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Starts it again on the same port.
    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }
}

impl Drop for Apache {
    fn drop(&mut self) {
        self.stop();
    }
}

fn set_mode_755(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod 755");
}
