//! Everything Peeper's dashboards show, on loopback, for real: an agent with every collector
//! on (Linux, Docker, Apache, nginx, a MariaDB replica, PostgreSQL, certificates, probes,
//! checks, textfiles)
//! pushing through HAProxy (TLS) to peeper-server into VictoriaMetrics, which also scrapes the
//! stack's own `/metrics` (server, itself, vmalert, Alertmanager, HAProxy) with
//! `compose/victoriametrics/scrape.yml`; vmalert evaluates the rules (so alerts fire).

use super::stack::AGENT;
use peeper_test_support::alerting::{Alertmanager, Vmalert};
use peeper_test_support::apache::{Apache, Mpm};
use peeper_test_support::certs as testutil;
use peeper_test_support::docker::Dockerd;
use peeper_test_support::haproxy::{Haproxy, PROXY_SOURCE};
use peeper_test_support::mariadb::Mariadb;
use peeper_test_support::nginx::Nginx;
use peeper_test_support::postgres::{PEEPER_PASSWORD, Postgres};
use peeper_test_support::server::ServerProcess;
use peeper_test_support::{VictoriaMetrics, repo_root, wait_until};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub const TENANT: &str = "dash";
pub const INSTANCE: &str = "dash-host";
const MYSQL_PASSWORD: &str = "dash-mysql-password";

pub struct DataStack {
    pub dir: tempfile::TempDir,
    pub vm: VictoriaMetrics,
    _server: ServerProcess,
    pub proxy: Haproxy,
    _vmalert: Vmalert,
    _alertmanager: Alertmanager,
    _apache: Apache,
    _nginx: Nginx,
    _primary: Mariadb,
    _replica: Mariadb,
    _postgres: Postgres,
    _engine: Dockerd,
    _endpoint: testutil::Server,
    agent: Child,
}

fn server_binary() -> PathBuf {
    Path::new(AGENT).with_file_name("peeper-server")
}

/// A MariaDB primary and a replica of it; the agent watches the replica (its replication
/// panels need one).
fn replicated_mariadb() -> (Mariadb, Mariadb) {
    let primary = Mariadb::start_with(&["--log-bin=primary-bin", "--server-id=1"]);
    primary.sql(
        "CREATE USER 'repl'@'%' IDENTIFIED BY 'repl'; GRANT REPLICATION SLAVE ON *.* TO 'repl'@'%'",
    );
    let replica = Mariadb::start_with(&["--server-id=2", "--read-only"]);
    replica.create_monitor_user("peeper", MYSQL_PASSWORD);
    replica.sql(&format!(
        "CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT={}, MASTER_USER='repl', \
         MASTER_PASSWORD='repl', MASTER_USE_GTID=no; START SLAVE",
        primary.port
    ));
    primary.sql(
        "CREATE DATABASE d; CREATE TABLE d.t (id INT PRIMARY KEY); INSERT INTO d.t VALUES (1)",
    );
    wait_until("the replica to replicate", Duration::from_secs(30), || {
        replica
            .try_sql("SELECT id FROM d.t")
            .is_ok_and(|rows| rows.trim() == "1")
    });
    (primary, replica)
}

fn containers() -> Dockerd {
    let engine = Dockerd::start();
    engine.run_detached(
        "dash-web",
        &[
            "--memory",
            "64m",
            "--health-cmd",
            "true",
            "--health-interval",
            "1s",
        ],
        &["sh", "-c", "exec sleep 3600"],
    );
    engine.run_detached("dash-job", &[], &["sh", "-c", "exit 3"]);
    engine.docker(&["wait", "dash-job"]);
    engine
}

/// VictoriaMetrics' scrape config with the loopback addresses of this stack.
fn scrape_config(targets: &[(&str, String)]) -> String {
    let mut config =
        std::fs::read_to_string(repo_root().join("compose/victoriametrics/scrape.yml")).unwrap();
    for (name, addr) in targets {
        let marker = format!("  # native: {name}");
        config = config
            .lines()
            .map(|line| match line.strip_suffix(&marker) {
                Some(_) => format!("      - targets: [\"{addr}\"]"),
                None => line.to_owned(),
            })
            .collect::<Vec<_>>()
            .join("\n");
    }
    config
}

impl DataStack {
    pub async fn start() -> DataStack {
        let dir = tempfile::tempdir().unwrap();
        let scrape = dir.path().join("scrape.yml");
        std::fs::write(&scrape, "scrape_configs: []\n").unwrap();
        let vm =
            VictoriaMetrics::start_with(&[&format!("-promscrape.config={}", scrape.display())]);
        let certs = peeper_server::devcert::init(&dir.path().join("certs"), "localhost").unwrap();
        let trusted = format!("{PROXY_SOURCE}/32");
        let server = ServerProcess::start(
            &server_binary(),
            &dir.path().join("server"),
            &vm.write_url(),
            &["--trusted-proxy", &trusted, "--liveness-interval", "2s"],
            &dir.path().join("server.log"),
        );
        let proxy = Haproxy::start(server.addr, &certs.proxy_pem);
        let alertmanager = Alertmanager::start(
            dir.path(),
            &server_binary(),
            &[("PEEPER_ALERT_GROUP_WAIT", "1s".to_owned())],
        );
        let vmalert = Vmalert::start(dir.path(), &vm.base_url(), &alertmanager.addr, "2s");
        std::fs::write(
            &scrape,
            scrape_config(&[
                ("server", server.metrics_addr.to_string()),
                ("victoriametrics", vm.addr.clone()),
                ("vmalert", vmalert.addr.clone()),
                ("alertmanager", alertmanager.addr.clone()),
                ("haproxy", proxy.internal_addr().to_string()),
            ])
            .replace("scrape_interval: 15s", "scrape_interval: 2s"),
        )
        .unwrap();
        vm.reload();
        let apache = Apache::start(Mpm::Event);
        let nginx = Nginx::start();
        let (primary, replica) = replicated_mariadb();
        let postgres = Postgres::start();
        let engine = containers();
        let endpoint = expiring_endpoint(dir.path()).await;
        let agent = spawn_agent(
            &dir,
            &server,
            &proxy,
            &certs.ca_cert,
            &apache,
            &nginx,
            &replica,
            &postgres,
            &engine,
            &endpoint,
        );
        DataStack {
            dir,
            vm,
            _server: server,
            proxy,
            _vmalert: vmalert,
            _alertmanager: alertmanager,
            _apache: apache,
            _nginx: nginx,
            _primary: primary,
            _replica: replica,
            _postgres: postgres,
            _engine: engine,
            _endpoint: endpoint,
            agent,
        }
    }

    /// The agent's log so far.
    pub fn agent_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("agent.log")).unwrap_or_default()
    }

    /// A passive check result, as a cron job pushes it.
    pub fn status(&self, args: &[&str]) {
        let output = Command::new(AGENT)
            .env_remove("PEEPER_CONFIG")
            .args([
                "--server",
                &format!("https://localhost:{}", self.proxy.addr().port()),
            ])
            .arg("--token-file")
            .arg(self.dir.path().join("agent.token"))
            .arg("--ca-file")
            .arg(self.dir.path().join("certs/ca/ca.crt"))
            .args(["--instance", INSTANCE, "status"])
            .args(args)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

impl Drop for DataStack {
    fn drop(&mut self) {
        let _ = self.agent.kill();
        let _ = self.agent.wait();
    }
}

/// A TLS endpoint whose certificate (from a private CA) expires in 20 days.
async fn expiring_endpoint(dir: &Path) -> testutil::Server {
    let ca = testutil::Ca::root("Dashboards CA");
    let now = testutil::now();
    let leaf = ca.leaf(&["localhost"], now - 86_400, now + 20 * 86_400, 11);
    std::fs::write(dir.join("endpoint-ca.pem"), ca.pem()).unwrap();
    testutil::tls_server(vec![leaf.der.clone()], leaf.key).await
}

#[allow(clippy::too_many_arguments)]
fn spawn_agent(
    dir: &tempfile::TempDir,
    server: &ServerProcess,
    proxy: &Haproxy,
    ca: &Path,
    apache: &Apache,
    nginx: &Nginx,
    replica: &Mariadb,
    postgres: &Postgres,
    engine: &Dockerd,
    endpoint: &testutil::Server,
) -> Child {
    let d = dir.path();
    std::fs::write(d.join("agent.token"), server.token(TENANT)).unwrap();
    std::fs::write(d.join("mysql.password"), MYSQL_PASSWORD).unwrap();
    std::fs::write(d.join("pg.password"), PEEPER_PASSWORD).unwrap();
    let probes = d.join("probes");
    std::fs::create_dir_all(&probes).unwrap();
    std::fs::write(
        probes.join("blackbox_dash.yaml"),
        format!(
            "- targets: [\"{}\"]\n  labels: {{group: dash}}\n  module: http_2xx\n\
             - targets: [\"localhost:{}\"]\n  labels: {{group: dash}}\n  module: http_tls_expiry\n",
            apache.status_url(),
            endpoint.port()
        ),
    )
    .unwrap();
    let textfiles = d.join("textfile");
    std::fs::create_dir_all(&textfiles).unwrap();
    std::fs::write(
        textfiles.join("backup.prom"),
        "# TYPE backup_last_success_timestamp_seconds gauge\nbackup_last_success_timestamp_seconds 1.7e9\n",
    )
    .unwrap();
    std::fs::write(
        d.join("agent.toml"),
        "[[checks]]\nname = \"disk-space\"\ncommand = \"echo 42% used\"\ninterval = \"2s\"\n",
    )
    .unwrap();
    Command::new(AGENT)
        .env_remove("PEEPER_CONFIG")
        .arg("--config")
        .arg(d.join("agent.toml"))
        .args([
            "--server",
            &format!("https://localhost:{}", proxy.addr().port()),
        ])
        .arg("--token-file")
        .arg(d.join("agent.token"))
        .arg("--ca-file")
        .arg(ca)
        .args(["--instance", INSTANCE, "--interval", "2s"])
        .arg("--buffer-dir")
        .arg(d.join("buffer"))
        .env("PEEPER_APACHE_ENABLED", "true")
        .env("PEEPER_APACHE_URL", apache.status_url())
        .env("PEEPER_NGINX_ENABLED", "true")
        .env("PEEPER_NGINX_URL", nginx.status_url())
        .env("PEEPER_TEXTFILE_DIR", &textfiles)
        .env("PEEPER_MYSQL_ENABLED", "true")
        .env("PEEPER_MYSQL_HOST", "127.0.0.1")
        .env("PEEPER_MYSQL_PORT", replica.port.to_string())
        .env("PEEPER_MYSQL_USER", "peeper")
        .env("PEEPER_MYSQL_PASSWORD_FILE", d.join("mysql.password"))
        .env("PEEPER_POSTGRES_ENABLED", "true")
        .env("PEEPER_POSTGRES_HOST", "127.0.0.1")
        .env("PEEPER_POSTGRES_PORT", postgres.port.to_string())
        .env("PEEPER_POSTGRES_USER", "peeper")
        .env("PEEPER_POSTGRES_PASSWORD_FILE", d.join("pg.password"))
        .env("PEEPER_DOCKER_ENABLED", "true")
        .env("PEEPER_DOCKER_SOCKET", &engine.socket)
        .env("PEEPER_CERTS_ENABLED", "true")
        .env(
            "PEEPER_CERTS_ENDPOINTS",
            format!("127.0.0.1:{}@localhost", endpoint.port()),
        )
        .env("PEEPER_CERTS_CA_FILE", d.join("endpoint-ca.pem"))
        .env("PEEPER_PROBES_ENABLED", "true")
        .env("PEEPER_PROBES_DIR", &probes)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(d.join("agent.log")).unwrap())
        .spawn()
        .unwrap()
}
