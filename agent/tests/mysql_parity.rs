//! The MySQL collector against Debian's mysqld_exporter 0.14 (`prometheus-mysqld-exporter`)
//! with its default scrapers, both reading the same real MariaDB (Debian's
//! `mariadb-server`) at the same moment as the README's least-privilege user: every family
//! the exporter emits must come from the agent with the same type, help and label sets (see
//! `support/parity.rs`). Once on a plain server, once on a replica whose primary does not
//! answer (its IO thread `Connecting`).

mod support;

use peeper_agent::collector::mysql::{MysqlCollector, MysqlConfig};
use std::time::Duration;
use support::mariadb::Mariadb;
use support::parity::Parity;
use support::{collect, find_value, value};

const PASSWORD: &str = "s3cret-peeper";

const PARITY: Parity = Parity {
    exporter: "mysqld_exporter",
    left_out: &[],
    dropped_labels: &[],
    steady: &[
        "mysql_up",
        "mysql_version_info",
        "mysql_transaction_isolation",
        "mysql_galera_variables_info",
        "mysql_global_variables_",
        "mysql_info_schema_innodb_cmp",
        "mysql_slave_status_slave_io_running",
        "mysql_slave_status_slave_sql_running",
        "mysql_slave_status_master_port",
    ],
    values_differ: &[],
};

fn collector(db: &Mariadb) -> MysqlCollector {
    MysqlCollector::new(&MysqlConfig {
        enabled: true,
        host: "127.0.0.1".to_owned(),
        port: db.port,
        user: "peeper".to_owned(),
        password: Some(PASSWORD.into()),
        ..MysqlConfig::default()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mysql_collector_emits_what_mysqld_exporter_emits() {
    let db = Mariadb::start();
    db.create_monitor_user("peeper", PASSWORD);
    db.sql("CREATE DATABASE app; CREATE TABLE app.t (id INT PRIMARY KEY)");
    let exporter = db.exporter("peeper", PASSWORD);
    let mut collector = collector(&db);

    let ours = PARITY.assert_same(&exporter, &mut collector).await;

    // What the comparison covers, on this server.
    let isolation = db.sql("SELECT @@GLOBAL.tx_isolation");
    assert_eq!(
        value(
            &ours,
            "mysql_transaction_isolation",
            &[("level", isolation.trim())]
        ),
        1.0
    );
    for page_size in ["1024", "16384"] {
        value(
            &ours,
            "mysql_info_schema_innodb_cmp_compress_ops_total",
            &[("page_size", page_size)],
        );
        value(
            &ours,
            "mysql_info_schema_innodb_cmpmem_pages_used_total",
            &[("page_size", page_size), ("buffer_pool", "0")],
        );
    }
    // Galera's status without a cluster: the states mysqld_exporter reads as 0.
    assert_eq!(
        value(&ours, "mysql_global_status_wsrep_cluster_status", &[]),
        0.0
    );
    assert_eq!(value(&ours, "mysql_global_status_wsrep_ready", &[]), 0.0);
    // DISABLED is 0.
    assert_eq!(value(&ours, "mysql_global_variables_have_ssl", &[]), 0.0);
    for scraper in [
        "collect.info_schema.innodb_cmp",
        "collect.info_schema.innodb_cmpmem",
    ] {
        assert_eq!(
            value(
                &ours,
                "mysql_exporter_collector_success",
                &[("collector", scraper)]
            ),
            1.0,
            "{scraper} with the least-privilege user"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_still_connecting_is_not_running_as_in_mysqld_exporter() {
    let replica = Mariadb::start_with(&["--server-id=2"]);
    replica.create_monitor_user("peeper", PASSWORD);
    // A primary nobody listens on: the IO thread keeps `Connecting`.
    replica.sql(&format!(
        "CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT={}, MASTER_USER='repl', \
         MASTER_PASSWORD='repl', MASTER_CONNECT_RETRY=1; START SLAVE",
        support::free_port()
    ));
    let exporter = replica.exporter("peeper", PASSWORD);
    let mut collector = collector(&replica);
    let labels = [("master_host", "127.0.0.1")];
    let mut io_running = None;
    for _ in 0..50 {
        let families = collect(&mut collector).await;
        io_running = find_value(&families, "mysql_slave_status_slave_io_running", &labels);
        if io_running.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(io_running, Some(0.0), "Slave_IO_Running: Connecting is 0");

    let ours = PARITY.assert_same(&exporter, &mut collector).await;
    assert_eq!(
        value(&ours, "mysql_slave_status_slave_io_running", &labels),
        0.0
    );
    assert_eq!(
        value(&ours, "mysql_slave_status_slave_sql_running", &labels),
        1.0
    );
}
