//! The row conversions against rows as MariaDB 10.11 and MySQL 8 return them.

use super::*;
use peeper_proto::MetricKind;
use peeper_proto::model::family;
use peeper_test_support::value;

fn status(rows: &[(&str, &str)]) -> Vec<MetricFamily> {
    let mut status = GlobalStatus::default();
    for (name, value) in rows {
        status.row(name, value.as_bytes());
    }
    let mut out = Vec::new();
    status.finish(&mut out);
    out
}

#[test]
fn values_parse_as_mysqld_exporter_does() {
    assert_eq!(parse_value(b"42"), Some(42.0));
    assert_eq!(parse_value(b"0.125"), Some(0.125));
    assert_eq!(
        parse_value(b"18446744073709551615"),
        Some(18446744073709551615.0)
    );
    assert_eq!(parse_value(b"ON"), Some(1.0));
    assert_eq!(parse_value(b"Yes"), Some(1.0));
    assert_eq!(parse_value(b"OFF"), Some(0.0));
    assert_eq!(parse_value(b"No"), Some(0.0));
    // Any case, and the other states mysqld_exporter 0.14 knows.
    assert_eq!(parse_value(b"on"), Some(1.0));
    assert_eq!(parse_value(b"DISABLED"), Some(0.0));
    assert_eq!(parse_value(b"Connecting"), Some(0.0));
    assert_eq!(parse_value(b"Primary"), Some(1.0));
    assert_eq!(parse_value(b"non-Primary"), Some(0.0));
    assert_eq!(parse_value(b"Disconnected"), Some(0.0));
    assert_eq!(parse_value(b"Preparing"), None);
    assert_eq!(parse_value(b""), None);
    assert_eq!(parse_value(b"NULL"), None);
    assert_eq!(
        parse_value(b"1e400"),
        None,
        "out of range, as Go's ParseFloat"
    );
    assert_eq!(parse_value(b"mysql-bin.000123"), None);
    assert_eq!(parse_value(b"10.11.6-MariaDB-0+deb12u1"), None);
    assert_eq!(parse_value(b"TLSv1.2,TLSv1.3"), None);
}

#[test]
fn names_are_valid_prometheus_names() {
    assert_eq!(
        metric_name("mysql_global_status_", "Aborted_clients"),
        "mysql_global_status_aborted_clients"
    );
    assert_eq!(
        metric_name("mysql_global_variables_", "Innodb.Weird-Name"),
        "mysql_global_variables_innodb_weird_name"
    );
}

#[test]
fn global_status_generic_and_grouped() {
    let f = status(&[
        ("Aborted_clients", "3"),
        ("Uptime", "1200"),
        ("Slave_running", "OFF"),
        ("Rpl_status", "AUTH_MASTER"),
        ("Com_insert", "7"),
        ("Com_select", "99"),
        ("Handler_read_rnd_next", "12"),
        ("Connection_errors_max_connections", "1"),
        ("Innodb_buffer_pool_pages_data", "300"),
        ("Innodb_buffer_pool_pages_dirty", "4"),
        ("Innodb_buffer_pool_pages_free", "7800"),
        ("Innodb_buffer_pool_pages_misc", "0"),
        ("Innodb_buffer_pool_pages_old", "100"),
        ("Innodb_buffer_pool_pages_total", "8100"),
        ("Innodb_buffer_pool_pages_flushed", "55"),
        ("Innodb_buffer_pool_pages_made_young", "2"),
        ("Innodb_rows_inserted", "5"),
        ("Performance_schema_users_lost", "9"),
    ]);
    let generic = family(&f, "mysql_global_status_aborted_clients").unwrap();
    assert_eq!(generic.kind, MetricKind::Untyped);
    assert_eq!(generic.help, "Generic metric from SHOW GLOBAL STATUS.");
    assert_eq!(value(&f, "mysql_global_status_uptime", &[]), 1200.0);
    assert_eq!(value(&f, "mysql_global_status_slave_running", &[]), 0.0);
    assert!(family(&f, "mysql_global_status_rpl_status").is_none());
    assert!(family(&f, "mysql_global_status_com_insert").is_none());

    let commands = family(&f, "mysql_global_status_commands_total").unwrap();
    assert_eq!(commands.kind, MetricKind::Counter);
    assert_eq!(commands.help, "Total number of executed MySQL commands.");
    assert_eq!(
        value(
            &f,
            "mysql_global_status_commands_total",
            &[("command", "insert")]
        ),
        7.0
    );
    assert_eq!(
        value(
            &f,
            "mysql_global_status_commands_total",
            &[("command", "select")]
        ),
        99.0
    );
    assert_eq!(
        value(
            &f,
            "mysql_global_status_handlers_total",
            &[("handler", "read_rnd_next")]
        ),
        12.0
    );
    assert_eq!(
        value(
            &f,
            "mysql_global_status_connection_errors_total",
            &[("error", "max_connections")]
        ),
        1.0
    );
    let pages = family(&f, "mysql_global_status_buffer_pool_pages").unwrap();
    assert_eq!(pages.kind, MetricKind::Gauge);
    assert_eq!(
        pages.series.len(),
        4,
        "data, free, misc, old; not total or dirty"
    );
    assert_eq!(
        value(
            &f,
            "mysql_global_status_buffer_pool_pages",
            &[("state", "old")]
        ),
        100.0
    );
    assert_eq!(
        value(&f, "mysql_global_status_buffer_pool_dirty_pages", &[]),
        4.0
    );
    let changes = family(&f, "mysql_global_status_buffer_pool_page_changes_total").unwrap();
    assert_eq!(changes.series.len(), 2);
    assert_eq!(
        value(
            &f,
            "mysql_global_status_buffer_pool_page_changes_total",
            &[("operation", "flushed")]
        ),
        55.0
    );
    assert_eq!(
        value(
            &f,
            "mysql_global_status_innodb_row_ops_total",
            &[("operation", "inserted")]
        ),
        5.0
    );
    assert_eq!(
        value(
            &f,
            "mysql_global_status_performance_schema_lost_total",
            &[("instrumentation", "users_lost")]
        ),
        9.0
    );
    assert!(family(&f, "mysql_galera_status_info").is_none());
}

#[test]
fn galera_status() {
    let f = status(&[
        ("wsrep_local_state_uuid", "a1b2"),
        ("wsrep_cluster_state_uuid", "c3d4"),
        ("wsrep_provider_version", "26.4.14(r06a0c285)"),
        (
            "wsrep_evs_repl_latency",
            "0.000155/0.000282/0.000515/6.5e-05/12",
        ),
        ("wsrep_cluster_size", "3"),
        ("wsrep_ready", "ON"),
    ]);
    let labels = [
        ("wsrep_local_state_uuid", "a1b2"),
        ("wsrep_cluster_state_uuid", "c3d4"),
        ("wsrep_provider_version", "26.4.14(r06a0c285)"),
    ];
    assert_eq!(value(&f, "mysql_galera_status_info", &labels), 1.0);
    assert_eq!(
        value(&f, "mysql_galera_evs_repl_latency_avg_seconds", &[]),
        0.000282
    );
    assert_eq!(
        value(&f, "mysql_galera_evs_repl_latency_sample_size", &[]),
        12.0
    );
    assert_eq!(
        value(&f, "mysql_global_status_wsrep_cluster_size", &[]),
        3.0
    );
    assert_eq!(value(&f, "mysql_global_status_wsrep_ready", &[]), 1.0);
}

#[test]
fn global_variables_and_version_info() {
    let mut variables = GlobalVariables::default();
    for (name, value) in [
        ("max_connections", "151"),
        ("innodb_buffer_pool_size", "134217728"),
        ("read_only", "OFF"),
        ("innodb_version", "10.11.6"),
        ("version", "10.11.6-MariaDB-0+deb12u1"),
        ("version_comment", "Debian 12"),
        ("datadir", "/var/lib/mysql/"),
        (
            "wsrep_provider_options",
            "base_dir = /var/lib/mysql/; gcache.size = 128M; gcs.fc_limit = 16;",
        ),
    ] {
        variables.row(name, value.as_bytes());
    }
    let mut f = Vec::new();
    variables.finish(&mut f);
    let max = family(&f, "mysql_global_variables_max_connections").unwrap();
    assert_eq!(max.kind, MetricKind::Gauge);
    assert_eq!(max.help, "Generic gauge metric from SHOW GLOBAL VARIABLES.");
    assert_eq!(max.series[0].value, 151.0);
    assert_eq!(value(&f, "mysql_global_variables_read_only", &[]), 0.0);
    assert!(family(&f, "mysql_global_variables_datadir").is_none());
    let labels = [
        ("innodb_version", "10.11.6"),
        ("version", "10.11.6-MariaDB-0+deb12u1"),
        ("version_comment", "Debian 12"),
    ];
    assert_eq!(value(&f, "mysql_version_info", &labels), 1.0);
    assert_eq!(
        family(&f, "mysql_version_info").unwrap().help,
        "MySQL version and distribution."
    );
    assert_eq!(
        value(&f, "mysql_galera_gcache_size_bytes", &[]),
        128.0 * 1024.0 * 1024.0
    );
    assert!(family(&f, "mysql_galera_variables_info").is_none());
}

#[test]
fn gcache_sizes() {
    assert_eq!(
        parse::gcache_size("gcache.size = 1G; x = 1;"),
        1024.0 * 1024.0 * 1024.0
    );
    assert_eq!(parse::gcache_size("gcache.size = 4096;"), 4096.0);
    assert_eq!(parse::gcache_size("gcache.dir = /x;"), 0.0);
}

#[test]
fn slave_status_rows_per_channel() {
    let columns: Vec<String> = [
        "Connection_name",
        "Slave_IO_State",
        "Master_Host",
        "Slave_IO_Running",
        "Slave_SQL_Running",
        "Seconds_Behind_Master",
        "Last_Errno",
        "Master_Server_Id",
    ]
    .map(String::from)
    .to_vec();
    let mut out = Vec::new();
    let row_a: [Option<&[u8]>; 8] = [
        Some(b"a"),
        Some(b"Waiting for master to send event"),
        Some(b"10.0.0.1"),
        Some(b"Yes"),
        Some(b"Yes"),
        Some(b"3"),
        Some(b"0"),
        Some(b"1"),
    ];
    let row_b: [Option<&[u8]>; 8] = [
        Some(b"b"),
        Some(b""),
        Some(b"10.0.0.2"),
        Some(b"No"),
        Some(b"Yes"),
        None,
        Some(b"1045"),
        Some(b"2"),
    ];
    slave_status_row(&columns, &row_a, &mut out);
    slave_status_row(&columns, &row_b, &mut out);
    let a = [
        ("master_host", "10.0.0.1"),
        ("master_uuid", ""),
        ("channel_name", ""),
        ("connection_name", "a"),
    ];
    let b = [("master_host", "10.0.0.2"), ("connection_name", "b")];
    assert_eq!(value(&out, "mysql_slave_status_slave_io_running", &a), 1.0);
    assert_eq!(value(&out, "mysql_slave_status_slave_io_running", &b), 0.0);
    assert_eq!(
        value(&out, "mysql_slave_status_seconds_behind_master", &a),
        3.0
    );
    let behind = family(&out, "mysql_slave_status_seconds_behind_master").unwrap();
    assert_eq!(behind.series.len(), 1, "NULL is skipped");
    assert_eq!(behind.kind, MetricKind::Untyped);
    assert_eq!(behind.help, "Generic metric from SHOW SLAVE STATUS.");
    assert_eq!(value(&out, "mysql_slave_status_last_errno", &b), 1045.0);
    assert!(family(&out, "mysql_slave_status_master_host").is_none());
}

#[test]
fn replica_columns_get_legacy_names() {
    assert_eq!(legacy_column("Replica_IO_Running"), "Slave_IO_Running");
    assert_eq!(
        legacy_column("Seconds_Behind_Source"),
        "Seconds_Behind_Master"
    );
    assert_eq!(legacy_column("Source_Host"), "Master_Host");
    assert_eq!(
        legacy_column("Relay_Source_Log_File"),
        "Relay_Master_Log_File"
    );
    assert_eq!(legacy_column("Last_IO_Errno"), "Last_IO_Errno");
}

#[tokio::test]
async fn unreachable_server_reports_up_zero() {
    // A port nothing listens on: connection refused at once.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = MysqlConfig {
        port,
        password: Some("x".into()),
        ..MysqlConfig::default()
    };
    let mut collector = MysqlCollector::new(&config);
    for _ in 0..2 {
        let f = collector.collect_now().await;
        assert_eq!(f.len(), 1);
        assert_eq!(value(&f, "mysql_up", &[]), 0.0);
    }
}

#[tokio::test]
async fn silent_server_is_up_zero_after_the_connect_timeout() {
    // Accepts the TCP connection but never sends the handshake.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let hold = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let config = MysqlConfig {
        port,
        ..MysqlConfig::default()
    };
    let mut collector = MysqlCollector::new(&config);
    let start = std::time::Instant::now();
    let f = collector.collect_now().await;
    assert_eq!(value(&f, "mysql_up", &[]), 0.0);
    assert!(start.elapsed() < CONNECT_TIMEOUT + Duration::from_secs(2));
    hold.abort();
}

#[test]
fn dates_are_unix_times_as_mysqld_exporter_reads_them() {
    // OpenSSL's form (Ssl_server_not_after); every zone counts as UTC.
    assert_eq!(
        parse_value(b"Dec 31 23:59:59 2030 GMT"),
        Some(1_924_991_999.0)
    );
    assert_eq!(
        parse_value(b"Feb 29 00:00:00 2024 UTC"),
        Some(1_709_164_800.0)
    );
    assert_eq!(
        parse_value(b"Feb 29 00:00:00 2023 UTC"),
        None,
        "no such day"
    );
    assert_eq!(
        parse_value(b"Jan  2 00:00:00 2024 GMT"),
        None,
        "Go wants two digits"
    );
    // SQL's form, with Go's leniencies (one-digit hour, a fraction).
    assert_eq!(parse_value(b"1970-01-02 00:00:00"), Some(86_400.0));
    assert_eq!(parse_value(b"2024-03-01 1:02:03.5"), Some(1_709_254_923.0));
    assert_eq!(parse_value(b"2024-13-01 00:00:00"), None);
    // MariaDB's own short form is not one of them.
    assert_eq!(parse_value(b"261201  6:22:05"), None);
}

#[test]
fn connecting_io_thread_is_not_running() {
    let columns: Vec<String> = ["Master_Host", "Slave_IO_Running", "Slave_SQL_Running"]
        .map(str::to_owned)
        .into();
    let values: Vec<Option<&[u8]>> = vec![
        Some(b"127.0.0.1".as_slice()),
        Some(b"Connecting".as_slice()),
        Some(b"Yes".as_slice()),
    ];
    let mut out = Vec::new();
    slave_status_row(&columns, &values, &mut out);
    let labels = [("master_host", "127.0.0.1")];
    assert_eq!(
        value(&out, "mysql_slave_status_slave_io_running", &labels),
        0.0
    );
    assert_eq!(
        value(&out, "mysql_slave_status_slave_sql_running", &labels),
        1.0
    );
}

#[test]
fn transaction_isolation_by_either_name() {
    for (name, expected) in [
        ("transaction_isolation", "READ-COMMITTED"),
        ("tx_isolation", "REPEATABLE-READ"),
    ] {
        let mut variables = GlobalVariables::default();
        variables.row(name, expected.as_bytes());
        let mut f = Vec::new();
        variables.finish(&mut f);
        let isolation = family(&f, "mysql_transaction_isolation").unwrap();
        assert_eq!(isolation.help, "MySQL transaction isolation.");
        assert_eq!(isolation.series[0].label("level"), Some(expected));
    }
    let mut f = Vec::new();
    GlobalVariables::default().finish(&mut f);
    assert!(family(&f, "mysql_transaction_isolation").is_none());
}

#[test]
fn innodb_compression_tables() {
    let text = |values: &[&str]| -> Vec<Option<String>> {
        values.iter().map(|v| Some((*v).to_owned())).collect()
    };
    let mut out = Vec::new();
    info_schema::cmp_families(&[text(&["8192", "10", "9", "2", "4", "1"])], &mut out);
    info_schema::cmpmem_families(
        &[
            text(&["1024", "0", "3", "5", "7", "2500"]),
            text(&["2048", "0", "x", "0", "0", "0"]),
        ],
        &mut out,
    );
    let page = [("page_size", "8192")];
    assert_eq!(
        value(
            &out,
            "mysql_info_schema_innodb_cmp_compress_ops_ok_total",
            &page
        ),
        9.0
    );
    let time = family(
        &out,
        "mysql_info_schema_innodb_cmp_uncompress_time_seconds_total",
    )
    .unwrap();
    assert_eq!(
        (time.kind, time.series[0].value),
        (MetricKind::Counter, 1.0)
    );
    let pool = [("page_size", "1024"), ("buffer_pool", "0")];
    assert_eq!(
        value(
            &out,
            "mysql_info_schema_innodb_cmpmem_pages_free_total",
            &pool
        ),
        5.0
    );
    // relocation_time is divided by 1000, as mysqld_exporter does.
    assert_eq!(
        value(
            &out,
            "mysql_info_schema_innodb_cmpmem_relocation_time_seconds_total",
            &pool
        ),
        2.5
    );
    // The row with a value that is not a number is left out.
    assert_eq!(
        family(&out, "mysql_info_schema_innodb_cmpmem_pages_used_total")
            .unwrap()
            .series
            .len(),
        1
    );
}
