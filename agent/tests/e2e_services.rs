//! End to end with every service collector: the real agent binary collects a real Apache,
//! MariaDB, PostgreSQL and Docker engine (plus the Linux host), pushes through peeper-server
//! over TLS with a real token, and VictoriaMetrics holds the series under the tenant.

mod support;

use std::time::Duration;
use support::VictoriaMetrics;
use support::apache::{Apache, Mpm};
use support::docker::Dockerd;
use support::mariadb::Mariadb;
use support::postgres::{PEEPER_PASSWORD, Postgres};
use support::stack::Stack;

const MYSQL_PASSWORD: &str = "e2e-mysql-password";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_collectors_reach_victoriametrics_through_the_server() {
    let vm = VictoriaMetrics::start();
    let stack = Stack::start(&vm, "shop").await;
    let apache = Apache::start(Mpm::Event);
    let mysql = Mariadb::start();
    mysql.create_monitor_user("peeper", MYSQL_PASSWORD);
    let postgres = Postgres::start();
    let engine = Dockerd::start();
    engine.run_detached("e2e-web", &[], &["sh", "-c", "exec sleep 300"]);

    let secrets = stack.dir.path();
    std::fs::write(secrets.join("mysql.password"), MYSQL_PASSWORD).unwrap();
    std::fs::write(secrets.join("pg.password"), PEEPER_PASSWORD).unwrap();
    let output = stack
        .agent("shop-db-1", &stack.token_file)
        .env("PEEPER_APACHE_ENABLED", "true")
        .env("PEEPER_APACHE_URL", apache.status_url())
        .env("PEEPER_MYSQL_ENABLED", "true")
        .env("PEEPER_MYSQL_HOST", "127.0.0.1")
        .env("PEEPER_MYSQL_PORT", mysql.port.to_string())
        .env("PEEPER_MYSQL_USER", "peeper")
        .env("PEEPER_MYSQL_PASSWORD_FILE", secrets.join("mysql.password"))
        .env("PEEPER_POSTGRES_ENABLED", "true")
        .env("PEEPER_POSTGRES_HOST", "127.0.0.1")
        .env("PEEPER_POSTGRES_PORT", postgres.port.to_string())
        .env("PEEPER_POSTGRES_USER", "peeper")
        .env("PEEPER_POSTGRES_PASSWORD_FILE", secrets.join("pg.password"))
        .env("PEEPER_DOCKER_ENABLED", "true")
        .env("PEEPER_DOCKER_SOCKET", &engine.socket)
        .arg("--once")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    let at = |query: &str| {
        let found = vm.wait_for(query, Duration::from_secs(30));
        found[0]["value"][1]
            .as_str()
            .unwrap()
            .parse::<f64>()
            .unwrap()
    };
    let host = r#"instance="shop-db-1",tenant="shop""#;
    assert_eq!(at(&format!(r#"apache_up{{{host},job="apache"}}"#)), 1.0);
    assert_eq!(at(&format!(r#"mysql_up{{{host},job="mysql"}}"#)), 1.0);
    assert_eq!(at(&format!(r#"pg_up{{{host},job="postgres"}}"#)), 1.0);
    assert_eq!(at(&format!(r#"docker_up{{{host},job="docker"}}"#)), 1.0);
    assert!(
        at(&format!(
            r#"container_memory_usage_bytes{{{host},name="e2e-web"}}"#
        )) > 0.0
    );
    assert_eq!(
        vm.query(&format!(r#"apache_scoreboard{{{host}}}"#)).len(),
        11,
        "all 11 scoreboard states"
    );
    assert!(
        at(&format!(
            r#"mysql_global_status_commands_total{{{host},command="select"}}"#
        )) >= 0.0
    );
    assert!(
        at(&format!(
            r#"pg_stat_database_xact_commit{{{host},datname="postgres"}}"#
        )) > 0.0
    );
    assert!(
        at(&format!(
            r#"node_memory_MemTotal_bytes{{{host},job="linux"}}"#
        )) > 0.0
    );
    stack.stop().await;
}
