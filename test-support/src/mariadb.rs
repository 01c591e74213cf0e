//! A real MariaDB server (Debian package `mariadb-server`) on a free loopback port and a
//! unix socket, with its data directory in a temporary directory; stopped when dropped.

use crate::exporter::Exporter;
use crate::{free_port, require_binary};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Mariadb {
    pub port: u16,
    pub socket: PathBuf,
    server: PathBuf,
    client: PathBuf,
    extra_args: Vec<String>,
    child: Option<Child>,
    dir: tempfile::TempDir,
}

impl Mariadb {
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// Starts a fresh server with extra `mariadbd` options (`--log-bin`, `--server-id=2`).
    pub fn start_with(extra_args: &[&str]) -> Self {
        let install = require_binary("mariadb-install-db", "mariadb-server");
        let server = require_binary("mariadbd", "mariadb-server");
        let client = require_binary("mariadb", "mariadb-client");
        let dir = tempfile::tempdir().expect("temp dir for mariadb");
        let data = dir.path().join("data");
        // Its own tmpdir: parallel bootstraps sharing /tmp collide on temporary table names.
        let tmp = dir.path().join("tmp");
        std::fs::create_dir(&tmp).expect("mariadb tmpdir");
        let output = Command::new(&install)
            .arg("--no-defaults")
            .arg(format!("--datadir={}", data.display()))
            .arg(format!("--tmpdir={}", tmp.display()))
            .args([
                "--user=root",
                "--auth-root-authentication-method=socket",
                "--skip-test-db",
            ])
            .stdin(Stdio::null())
            .output()
            .expect("run mariadb-install-db");
        assert!(
            output.status.success(),
            "mariadb-install-db failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        let mut db = Mariadb {
            port: free_port(),
            socket: dir.path().join("mysqld.sock"),
            server,
            client,
            extra_args: extra_args.iter().map(|s| (*s).to_owned()).collect(),
            child: None,
            dir,
        };
        db.spawn();
        db
    }

    fn spawn(&mut self) {
        let root = self.dir.path();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(root.join("mariadbd.log"))
            .expect("mariadbd log");
        let child = Command::new(&self.server)
            .arg("--no-defaults")
            .arg(format!("--datadir={}", root.join("data").display()))
            .arg(format!("--socket={}", self.socket.display()))
            .arg(format!("--port={}", self.port))
            .arg(format!(
                "--pid-file={}",
                root.join("mariadbd.pid").display()
            ))
            .arg(format!("--tmpdir={}", root.join("tmp").display()))
            .args([
                "--bind-address=127.0.0.1",
                "--user=root",
                "--innodb-buffer-pool-size=32M",
            ])
            .args(&self.extra_args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start mariadbd");
        self.child = Some(child);
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(60) {
            if self.try_sql("SELECT 1").is_ok() {
                return;
            }
            if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
                panic!("mariadbd exited with {status}:\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!(
            "mariadbd did not accept connections in 60 s:\n{}",
            self.log()
        );
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("mariadbd.log")).unwrap_or_default()
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Runs SQL as root over the socket; the output rows, tab-separated.
    pub fn try_sql(&self, sql: &str) -> Result<String, String> {
        let output = Command::new(&self.client)
            .arg("--no-defaults")
            .arg(format!("--socket={}", self.socket.display()))
            .args(["-uroot", "-N", "-B", "-e", sql])
            .stdin(Stdio::null())
            .output()
            .map_err(|e| e.to_string())?;
        if output.status.success() {
            Ok(String::from_utf8_lossy(&output.stdout).into_owned())
        } else {
            Err(String::from_utf8_lossy(&output.stderr).into_owned())
        }
    }

    pub fn sql(&self, sql: &str) -> String {
        self.try_sql(sql)
            .unwrap_or_else(|e| panic!("SQL {sql:?} failed: {e}"))
    }

    /// Drops the anonymous users (they shadow `'user'@'%'` for local logins) and creates
    /// `user` with `privileges` on `*.*`.
    pub fn create_user(&self, user: &str, password: &str, privileges: &str) {
        for host in self
            .sql("SELECT Host FROM mysql.user WHERE User = ''")
            .lines()
        {
            self.sql(&format!("DROP USER ''@'{host}'"));
        }
        self.sql(&format!(
            "CREATE USER '{user}'@'%' IDENTIFIED BY '{password}'; GRANT {privileges} ON *.* TO '{user}'@'%'"
        ));
    }

    /// The least-privilege monitoring user of the README.
    pub fn create_monitor_user(&self, user: &str, password: &str) {
        self.create_user(
            user,
            password,
            "PROCESS, REPLICATION CLIENT, SELECT, SLAVE MONITOR",
        );
    }

    /// mysqld_exporter (Debian's `prometheus-mysqld-exporter`) with its default collectors,
    /// reading this server as `user` over TCP (`DATA_SOURCE_NAME` wins over `.my.cnf`).
    pub fn exporter(&self, user: &str, password: &str) -> Exporter {
        let dsn = format!("{user}:{password}@tcp(127.0.0.1:{})/", self.port);
        Exporter::start(
            "prometheus-mysqld-exporter",
            "prometheus-mysqld-exporter",
            &[],
            &[("DATA_SOURCE_NAME", &dsn)],
        )
    }

    /// Stops the server (SIGTERM, then SIGKILL after 20 s), keeping its data.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(20) {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = child.kill();
        let _ = child.wait();
    }

    /// Starts it again on the same port, socket and data.
    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }
}

impl Drop for Mariadb {
    fn drop(&mut self) {
        self.stop();
    }
}
