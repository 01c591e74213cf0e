//! The MySQL collector against the real MariaDB (Debian package `mariadb-server`), started
//! by the harness on a free loopback port and a unix socket, with the README's
//! least-privilege user; and the real agent binary's `--once --print`.

mod support;

use peeper_agent::collector::mysql::{MysqlCollector, MysqlConfig};
use peeper_proto::MetricFamily;
use peeper_proto::model::family;
use std::process::Command;
use std::time::{Duration, Instant};
use support::mariadb::Mariadb;
use support::{collect, value};

const PASSWORD: &str = "s3cret-peeper";

fn tcp_config(db: &Mariadb, password: &str) -> MysqlConfig {
    MysqlConfig {
        enabled: true,
        host: "127.0.0.1".to_owned(),
        port: db.port,
        user: "peeper".to_owned(),
        password: Some(password.into()),
        ..MysqlConfig::default()
    }
}

/// A server with the monitoring user and a table to write to.
fn server() -> Mariadb {
    let db = Mariadb::start();
    db.create_monitor_user("peeper", PASSWORD);
    db.sql("CREATE DATABASE app; CREATE TABLE app.t (id INT PRIMARY KEY AUTO_INCREMENT, v INT)");
    db
}

fn inserts(families: &[MetricFamily]) -> f64 {
    value(
        families,
        "mysql_global_status_commands_total",
        &[("command", "insert")],
    )
}

#[tokio::test]
async fn reads_status_variables_and_counts_inserts() {
    let db = server();
    let mut collector = MysqlCollector::new(&tcp_config(&db, PASSWORD));
    let before = collect(&mut collector).await;
    assert_eq!(value(&before, "mysql_up", &[]), 1.0, "{}", db.log());

    let version = family(&before, "mysql_version_info").expect("mysql_version_info");
    let version_label = version.series[0].label("version").unwrap();
    assert!(version_label.contains("MariaDB"), "{version_label}");
    // MariaDB 10.10+ has no innodb_version variable: the label is there, empty, as in mysqld_exporter.
    assert!(version.series[0].label("innodb_version").is_some());
    assert_eq!(
        value(&before, "mysql_global_variables_port", &[]),
        f64::from(db.port)
    );
    assert!(value(&before, "mysql_global_variables_max_connections", &[]) > 0.0);
    assert!(value(&before, "mysql_global_status_uptime", &[]) >= 0.0);
    assert!(
        value(
            &before,
            "mysql_global_status_buffer_pool_pages",
            &[("state", "data")]
        ) > 0.0
    );
    assert!(family(&before, "mysql_global_status_handlers_total").is_some());
    assert!(family(&before, "mysql_global_status_performance_schema_lost_total").is_some());
    assert!(family(&before, "mysql_global_status_connection_errors_total").is_some());
    // Not a replica: no replica metrics, but the query itself worked.
    assert!(
        before
            .iter()
            .all(|f| !f.name.starts_with("mysql_slave_status_"))
    );
    for scraper in [
        "collect.global_status",
        "collect.global_variables",
        "collect.slave_status",
    ] {
        assert_eq!(
            value(
                &before,
                "mysql_exporter_collector_success",
                &[("collector", scraper)]
            ),
            1.0,
            "{scraper} with the least-privilege user"
        );
    }

    const N: usize = 5;
    for i in 0..N {
        db.sql(&format!("INSERT INTO app.t (v) VALUES ({i})"));
    }
    let after = collect(&mut collector).await;
    assert!(
        inserts(&after) - inserts(&before) >= N as f64,
        "commands_total{{command=\"insert\"}} went from {} to {} after {N} INSERTs",
        inserts(&before),
        inserts(&after)
    );
    let writes = |f: &[MetricFamily]| {
        value(
            f,
            "mysql_global_status_handlers_total",
            &[("handler", "write")],
        )
    };
    assert!(writes(&after) - writes(&before) >= N as f64);
}

#[tokio::test]
async fn keeps_one_connection_and_measures_cost() {
    let db = server();
    let mut collector = MysqlCollector::new(&tcp_config(&db, PASSWORD));
    let first = collect(&mut collector).await;
    let connections = value(&first, "mysql_global_status_connections", &[]);

    const CYCLES: u32 = 30;
    let cpu_before = thread_cpu();
    let start = Instant::now();
    let mut last = first;
    for _ in 0..CYCLES {
        last = collect(&mut collector).await;
    }
    let cpu = thread_cpu() - cpu_before;
    let wall = start.elapsed();
    assert_eq!(
        value(&last, "mysql_global_status_connections", &[]),
        connections,
        "no new connection while the server is healthy"
    );
    let series: usize = last.iter().map(|f| f.series.len()).sum();
    println!(
        "mysql collector: {series} series, {:.2} ms CPU and {:.2} ms wall per cycle (this test binary's profile)",
        cpu.as_secs_f64() * 1000.0 / f64::from(CYCLES),
        wall.as_secs_f64() * 1000.0 / f64::from(CYCLES)
    );
    assert!(
        cpu / CYCLES < Duration::from_millis(50),
        "{:?} CPU per cycle",
        cpu / CYCLES
    );
}

#[tokio::test]
async fn unix_socket() {
    let db = server();
    let config = MysqlConfig {
        socket: Some(db.socket.clone()),
        // Not used with a socket: a port nothing listens on proves it.
        port: 1,
        ..tcp_config(&db, PASSWORD)
    };
    let mut collector = MysqlCollector::new(&config);
    let families = collect(&mut collector).await;
    assert_eq!(value(&families, "mysql_up", &[]), 1.0);
    assert!(inserts(&families) >= 0.0);
}

#[tokio::test]
async fn wrong_password_is_up_zero_every_cycle() {
    let db = server();
    let mut collector = MysqlCollector::new(&tcp_config(&db, "wrong"));
    for _ in 0..2 {
        let families = collect(&mut collector).await;
        assert_eq!(value(&families, "mysql_up", &[]), 0.0);
        assert_eq!(families.len(), 1);
    }
}

#[tokio::test]
async fn stopped_server_is_up_zero_and_recovers() {
    let mut db = server();
    let mut collector = MysqlCollector::new(&tcp_config(&db, PASSWORD));
    assert_eq!(value(&collect(&mut collector).await, "mysql_up", &[]), 1.0);

    db.stop();
    for _ in 0..2 {
        let start = Instant::now();
        let families = collect(&mut collector).await;
        assert_eq!(value(&families, "mysql_up", &[]), 0.0);
        assert!(start.elapsed() < Duration::from_secs(6));
    }

    db.restart();
    let families = collect(&mut collector).await;
    assert_eq!(value(&families, "mysql_up", &[]), 1.0, "{}", db.log());

    // A restart between two cycles is not reported as down: the stale connection is
    // replaced within the cycle.
    db.restart();
    let families = collect(&mut collector).await;
    assert_eq!(value(&families, "mysql_up", &[]), 1.0);
}

#[tokio::test]
async fn missing_privilege_fails_only_that_scraper() {
    let db = Mariadb::start();
    db.create_user("peeper", PASSWORD, "SELECT");
    let mut collector = MysqlCollector::new(&tcp_config(&db, PASSWORD));
    let families = collect(&mut collector).await;
    assert_eq!(value(&families, "mysql_up", &[]), 1.0);
    let ok = |scraper| {
        value(
            &families,
            "mysql_exporter_collector_success",
            &[("collector", scraper)],
        )
    };
    assert_eq!(ok("collect.global_status"), 1.0);
    assert_eq!(
        ok("collect.slave_status"),
        0.0,
        "replica status needs SLAVE MONITOR"
    );
}

#[tokio::test]
async fn replica_status() {
    let primary = Mariadb::start_with(&["--log-bin=primary-bin", "--server-id=1"]);
    primary.sql(
        "CREATE USER 'repl'@'%' IDENTIFIED BY 'repl'; GRANT REPLICATION SLAVE ON *.* TO 'repl'@'%'",
    );
    let replica = Mariadb::start_with(&["--server-id=2", "--read-only"]);
    replica.create_monitor_user("peeper", PASSWORD);
    replica.sql(&format!(
        "CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT={}, MASTER_USER='repl', \
         MASTER_PASSWORD='repl', MASTER_USE_GTID=no; START SLAVE",
        primary.port
    ));
    primary.sql(
        "CREATE DATABASE r; CREATE TABLE r.t (id INT PRIMARY KEY); INSERT INTO r.t VALUES (1)",
    );
    support::wait_until(
        "the replica to apply the primary's writes",
        Duration::from_secs(30),
        || {
            replica
                .try_sql("SELECT id FROM r.t")
                .is_ok_and(|rows| rows.trim() == "1")
        },
    );

    let mut collector = MysqlCollector::new(&tcp_config(&replica, PASSWORD));
    let families = collect(&mut collector).await;
    let labels = [("master_host", "127.0.0.1"), ("connection_name", "")];
    assert_eq!(
        value(&families, "mysql_slave_status_slave_io_running", &labels),
        1.0
    );
    assert_eq!(
        value(&families, "mysql_slave_status_slave_sql_running", &labels),
        1.0
    );
    assert!(
        value(
            &families,
            "mysql_slave_status_seconds_behind_master",
            &labels
        ) >= 0.0
    );
    assert_eq!(
        value(&families, "mysql_slave_status_master_port", &labels),
        f64::from(primary.port)
    );
    assert_eq!(
        value(&families, "mysql_global_variables_read_only", &[]),
        1.0
    );
}

#[test]
fn agent_binary_prints_mysql_metrics() {
    let db = server();
    let password_file = db.dir().join("peeper.password");
    std::fs::write(&password_file, format!("{PASSWORD}\n")).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_peeper-agent"))
        .env_remove("PEEPER_CONFIG")
        .env("PEEPER_LINUX_ENABLED", "false")
        .env("PEEPER_MYSQL_ENABLED", "true")
        .env("PEEPER_MYSQL_HOST", "127.0.0.1")
        .env("PEEPER_MYSQL_PORT", db.port.to_string())
        .env("PEEPER_MYSQL_USER", "peeper")
        .env("PEEPER_MYSQL_PASSWORD_FILE", &password_file)
        .args(["--once", "--print", "--instance", "db1"])
        .output()
        .expect("run peeper-agent");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "peeper-agent failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let has = |prefix: &str| {
        stdout.lines().any(|l| {
            l.starts_with(prefix) && l.contains("job=\"mysql\"") && l.contains("instance=\"db1\"")
        })
    };
    assert!(
        has("mysql_up{job=\"mysql\",instance=\"db1\"} 1"),
        "mysql_up 1 missing:\n{stdout}"
    );
    for prefix in [
        "mysql_version_info{",
        "mysql_global_status_commands_total{command=\"insert\"",
        "mysql_global_status_uptime{",
        "mysql_global_variables_max_connections{",
        "mysql_global_status_buffer_pool_pages{state=\"free\"",
    ] {
        assert!(has(prefix), "{prefix} missing:\n{stdout}");
    }
}

/// CPU time of the calling thread so far (`/proc/thread-self/schedstat`, nanoseconds).
/// `#[tokio::test]` runs everything of the test, the collector's I/O included, on it.
fn thread_cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap();
    Duration::from_nanos(stat.split_whitespace().next().unwrap().parse().unwrap())
}
