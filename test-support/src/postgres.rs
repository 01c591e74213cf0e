//! A real PostgreSQL cluster (Debian package `postgresql`) in a temporary directory, on a
//! free loopback port, stopped when dropped.
//!
//! `initdb` refuses to run as root, so the directory is handed to the `postgres` user and the
//! server tools run through `runuser -u postgres --`.

use crate::exporter::Exporter;
use crate::{free_port, require_binary};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The password of the least-privilege `peeper` role the harness creates.
pub const PEEPER_PASSWORD: &str = "peeper-test-password";

pub struct Postgres {
    dir: tempfile::TempDir,
    bin: PathBuf,
    runuser: PathBuf,
    pub port: u16,
    running: bool,
}

/// The newest `/usr/lib/postgresql/<version>/bin` holding `initdb`.
fn bin_dir() -> PathBuf {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("bin"))
        .filter(|bin| bin.join("initdb").is_file() && bin.join("pg_ctl").is_file())
        .collect();
    found.sort_by_key(|p| {
        p.parent()
            .and_then(|v| v.file_name())
            .and_then(|v| v.to_str())
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(0)
    });
    found.pop().unwrap_or_else(|| {
        panic!(
            "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb). This test runs \
             against the real server: install it with `apt-get install postgresql` or run the \
             README's test command (`./scripts/test.sh`), which installs it."
        )
    })
}

fn check(what: &str, output: std::io::Result<Output>) -> String {
    let output = output.unwrap_or_else(|e| panic!("{what}: cannot run: {e}"));
    assert!(
        output.status.success(),
        "{what} failed ({}):\n{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

impl Postgres {
    /// initdb, start, and create the `peeper` role (LOGIN, PASSWORD, member of pg_monitor).
    pub fn start() -> Self {
        let bin = bin_dir();
        let runuser = require_binary("runuser", "util-linux");
        let dir = tempfile::tempdir().expect("temp dir for PostgreSQL");
        check(
            "chown the PostgreSQL dir",
            Command::new("chown")
                .arg("-R")
                .arg("postgres:postgres")
                .arg(dir.path())
                .output(),
        );
        let mut pg = Postgres {
            dir,
            bin,
            runuser,
            port: free_port(),
            running: false,
        };
        std::fs::create_dir(pg.socket_dir()).expect("socket dir");
        check(
            "chown the socket dir",
            Command::new("chown")
                .arg("postgres:postgres")
                .arg(pg.socket_dir())
                .output(),
        );
        check(
            "initdb",
            pg.as_postgres("initdb")
                .arg("-D")
                .arg(pg.data_dir())
                .args([
                    "-U",
                    "postgres",
                    "--auth-local=trust",
                    "--auth-host=scram-sha-256",
                ])
                .output(),
        );
        pg.start_server();
        pg.psql("CREATE ROLE peeper LOGIN PASSWORD 'peeper-test-password'");
        pg.psql("GRANT pg_monitor TO peeper");
        pg
    }

    fn as_postgres(&self, tool: &str) -> Command {
        let mut command = Command::new(&self.runuser);
        command
            .args(["-u", "postgres", "--"])
            .arg(self.bin.join(tool));
        command
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn socket_dir(&self) -> PathBuf {
        self.dir.path().join("sock")
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// (Re)starts the server and waits until it accepts connections.
    pub fn start_server(&mut self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1",
            self.port,
            self.socket_dir().display()
        );
        check(
            "pg_ctl start",
            self.as_postgres("pg_ctl")
                .arg("-D")
                .arg(self.data_dir())
                .arg("-l")
                .arg(self.dir.path().join("server.log"))
                .args(["-w", "-t", "60", "-o", &options, "start"])
                .output(),
        );
        self.running = true;
    }

    /// Stops the server (fast shutdown), keeping its data.
    pub fn stop_server(&mut self) {
        if self.running {
            let _ = self
                .as_postgres("pg_ctl")
                .arg("-D")
                .arg(self.data_dir())
                .args(["-m", "fast", "-w", "stop"])
                .output();
            self.running = false;
        }
    }

    /// Runs one statement as the superuser over the Unix socket; returns the unaligned output.
    pub fn psql_db(&self, database: &str, sql: &str) -> String {
        check(
            &format!("psql -c {sql:?}"),
            Command::new(self.bin.join("psql"))
                .arg("-h")
                .arg(self.socket_dir())
                .args([
                    "-p",
                    &self.port.to_string(),
                    "-U",
                    "postgres",
                    "-d",
                    database,
                ])
                .args(["-v", "ON_ERROR_STOP=1", "-At", "-c", sql])
                .output(),
        )
        .trim()
        .to_owned()
    }

    pub fn psql(&self, sql: &str) -> String {
        self.psql_db("postgres", sql)
    }

    /// postgres_exporter (Debian's `prometheus-postgres-exporter`) with its defaults, reading
    /// this server's `postgres` database as `user` over TCP.
    pub fn exporter(&self, user: &str, password: &str) -> Exporter {
        let dsn = format!(
            "postgresql://{user}:{password}@127.0.0.1:{}/postgres?sslmode=disable",
            self.port
        );
        Exporter::start(
            "prometheus-postgres-exporter",
            "prometheus-postgres-exporter",
            &[],
            &[("DATA_SOURCE_NAME", &dsn)],
        )
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        if self.running {
            let _ = self
                .as_postgres("pg_ctl")
                .arg("-D")
                .arg(self.data_dir())
                .args(["-m", "immediate", "-w", "stop"])
                .output();
        }
    }
}
