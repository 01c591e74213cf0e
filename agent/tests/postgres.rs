//! The PostgreSQL collector against a real server (Debian package `postgresql`) started by the
//! harness in a temporary directory on a free loopback port, connecting as a least-privilege
//! `peeper` role in `pg_monitor`; and the real agent binary's `--once --print` with the
//! collector switched on by its environment variables.

mod support;

use peeper_agent::collector::postgres::{PostgresCollector, PostgresConfig};
use peeper_proto::model::family;
use std::process::Command;
use std::time::{Duration, Instant};
use support::postgres::{PEEPER_PASSWORD, Postgres};
use support::{collect, process_cpu_seconds, value};

fn config(pg: &Postgres, password: &str) -> PostgresConfig {
    PostgresConfig {
        enabled: true,
        host: "127.0.0.1".to_owned(),
        port: pg.port,
        user: "peeper".to_owned(),
        password: Some(password.into()),
        password_file: None,
        database: "postgres".to_owned(),
        sslmode: "prefer".to_owned(),
        ca_file: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statistics_of_a_real_server_and_its_outage() {
    let mut pg = Postgres::start();
    pg.psql("CREATE DATABASE app");
    pg.psql_db("app", "CREATE TABLE items (id int, name text)");
    let mut collector = PostgresCollector::new(&config(&pg, PEEPER_PASSWORD));

    let first = collect(&mut collector).await;
    assert_eq!(value(&first, "pg_up", &[]), 1.0);
    assert_eq!(value(&first, "pg_exporter_last_scrape_error", &[]), 0.0);
    let version = pg.psql("SHOW server_version_num");
    let major = version.parse::<u32>().unwrap() / 10000;
    let stat = family(&first, "pg_static").expect("pg_static");
    assert!(
        stat.series[0]
            .label("short_version")
            .unwrap()
            .starts_with(&format!("{major}."))
    );
    assert!(
        stat.series[0]
            .label("version")
            .unwrap()
            .starts_with("PostgreSQL")
    );
    let datid = pg.psql("SELECT oid FROM pg_database WHERE datname = 'app'");
    let app = [("datid", datid.as_str()), ("datname", "app")];
    let inserted_before = value(&first, "pg_stat_database_tup_inserted", &app);
    for name in [
        "pg_stat_database_numbackends",
        "pg_stat_database_xact_commit",
        "pg_stat_database_xact_rollback",
        "pg_stat_database_blks_read",
        "pg_stat_database_blks_hit",
        "pg_stat_database_tup_returned",
        "pg_stat_database_tup_fetched",
        "pg_stat_database_tup_updated",
        "pg_stat_database_tup_deleted",
        "pg_stat_database_conflicts",
        "pg_stat_database_temp_files",
        "pg_stat_database_temp_bytes",
        "pg_stat_database_deadlocks",
        "pg_stat_database_blk_read_time",
        "pg_stat_database_blk_write_time",
        "pg_stat_database_stats_reset",
        "pg_stat_database_active_time_seconds_total",
    ] {
        value(&first, name, &app);
    }
    assert!(value(&first, "pg_database_size_bytes", &[("datname", "app")]) > 1_000_000.0);
    // Every lock mode and connection state of every database, 0 when absent.
    let locks = family(&first, "pg_locks_count").unwrap();
    let databases: usize = pg.psql("SELECT count(*) FROM pg_database").parse().unwrap();
    assert_eq!(locks.series.len(), 9 * databases);
    assert_eq!(
        value(
            &first,
            "pg_locks_count",
            &[("datname", "app"), ("mode", "sireadlock")]
        ),
        0.0
    );
    assert!(
        value(
            &first,
            "pg_locks_count",
            &[("datname", "postgres"), ("mode", "accesssharelock")]
        ) >= 1.0
    );
    assert_eq!(
        family(&first, "pg_stat_activity_count")
            .unwrap()
            .series
            .len(),
        6 * databases
    );
    assert!(
        value(
            &first,
            "pg_stat_activity_count",
            &[("datname", "postgres"), ("state", "active")]
        ) >= 1.0
    );
    value(
        &first,
        "pg_stat_activity_max_tx_duration",
        &[("datname", "app"), ("state", "idle")],
    );
    assert_eq!(
        value(&first, "pg_settings_max_connections", &[]),
        pg.psql("SHOW max_connections").parse::<f64>().unwrap()
    );
    assert!(value(&first, "pg_connections_in_use", &[]) >= 1.0);
    assert_eq!(value(&first, "pg_replication_is_replica", &[]), 0.0);
    assert_eq!(value(&first, "pg_replication_lag_seconds", &[]), 0.0);
    assert!(value(&first, "pg_postmaster_start_time_seconds", &[]) > 1.6e9);
    for name in [
        "pg_stat_bgwriter_buffers_clean_total",
        "pg_stat_bgwriter_maxwritten_clean_total",
        "pg_stat_bgwriter_buffers_alloc_total",
        "pg_stat_bgwriter_stats_reset_total",
    ] {
        value(&first, name, &[]);
    }
    if major < 17 {
        value(&first, "pg_stat_bgwriter_checkpoints_timed_total", &[]);
        value(&first, "pg_stat_bgwriter_buffers_backend_total", &[]);
    }

    // Inserts show up once the server flushed its statistics (asynchronously since PG 15).
    pg.psql_db(
        "app",
        "INSERT INTO items SELECT g, 'x' FROM generate_series(1, 250) AS g",
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let families = collect(&mut collector).await;
        let inserted = value(&families, "pg_stat_database_tup_inserted", &app);
        if inserted >= inserted_before + 250.0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "tup_inserted stayed at {inserted} (before {inserted_before})"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    // Cost of a cycle in this process (agent side only), over many cycles.
    let cycles = 50;
    let (cpu, wall) = (process_cpu_seconds(), Instant::now());
    for _ in 0..cycles {
        collect(&mut collector).await;
    }
    let per_cycle = (process_cpu_seconds() - cpu) / f64::from(cycles);
    eprintln!(
        "postgres collector: {:.2} ms CPU and {:.1} ms wall per cycle ({databases} databases)",
        per_cycle * 1000.0,
        wall.elapsed().as_secs_f64() * 1000.0 / f64::from(cycles)
    );
    assert!(per_cycle < 0.02, "a cycle costs {per_cycle} CPU-s");
    // One connection is kept across cycles.
    assert_eq!(
        pg.psql("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'peeper-agent'"),
        "1"
    );

    // A stopped server: pg_up 0 on the next cycles, without the collector failing.
    pg.stop_server();
    for _ in 0..2 {
        let down = collect(&mut collector).await;
        assert_eq!(value(&down, "pg_up", &[]), 0.0);
        assert!(family(&down, "pg_stat_database_tup_inserted").is_none());
    }
    // Back up: the collector reconnects by itself.
    pg.start_server();
    let again = collect(&mut collector).await;
    assert_eq!(value(&again, "pg_up", &[]), 1.0);
    assert!(value(&again, "pg_stat_database_tup_inserted", &app) >= inserted_before + 250.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_password_and_binary_print() {
    let pg = Postgres::start();
    let mut wrong = PostgresCollector::new(&config(&pg, "not-the-password"));
    for _ in 0..2 {
        let families = collect(&mut wrong).await;
        assert_eq!(value(&families, "pg_up", &[]), 0.0);
    }
    // A server nobody listens on.
    let mut refused = PostgresCollector::new(&PostgresConfig {
        port: support::free_port(),
        ..config(&pg, PEEPER_PASSWORD)
    });
    assert_eq!(value(&collect(&mut refused).await, "pg_up", &[]), 0.0);
    // The Unix socket works too (no TLS there, as libpq).
    let mut socket = PostgresCollector::new(&PostgresConfig {
        host: pg.socket_dir().to_string_lossy().into_owned(),
        sslmode: "require".to_owned(),
        ..config(&pg, PEEPER_PASSWORD)
    });
    assert_eq!(value(&collect(&mut socket).await, "pg_up", &[]), 1.0);

    // The real binary, switched on by its environment.
    let password_file = pg.dir().join("password");
    std::fs::write(&password_file, format!("{PEEPER_PASSWORD}\n")).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_peeper-agent"))
        .env_remove("PEEPER_CONFIG")
        .env_remove("PEEPER_SERVER_URL")
        .env("PEEPER_LINUX_ENABLED", "false")
        .env("PEEPER_POSTGRES_ENABLED", "true")
        .env("PEEPER_POSTGRES_HOST", "127.0.0.1")
        .env("PEEPER_POSTGRES_PORT", pg.port.to_string())
        .env("PEEPER_POSTGRES_USER", "peeper")
        .env("PEEPER_POSTGRES_PASSWORD_FILE", &password_file)
        .env("PEEPER_POSTGRES_DATABASE", "postgres")
        .args(["--once", "--print", "--instance", "pg-host"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for expected in [
        r#"pg_up{job="postgres",instance="pg-host"} 1"#,
        "# TYPE pg_stat_database_tup_inserted counter",
        r#"pg_stat_database_xact_commit{datid="#,
        r#"pg_database_size_bytes{datname="postgres""#,
        r#"pg_stat_activity_count{datname="postgres",state="active""#,
        r#"pg_locks_count{datname="postgres",mode="accessexclusivelock""#,
        "pg_stat_bgwriter_buffers_alloc_total{",
        "pg_replication_lag_seconds{",
        "pg_settings_max_connections{",
        "pg_static{",
    ] {
        assert!(text.contains(expected), "missing {expected} in:\n{text}");
    }
}
