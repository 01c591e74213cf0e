//! The PostgreSQL collector against Debian's postgres_exporter 0.11
//! (`prometheus-postgres-exporter`) with its defaults, both reading the same real server
//! (Debian's `postgresql`) at the same moment as the least-privilege `peeper` role: every
//! family the exporter emits must come from the agent with the same type, help and label
//! sets (see `support/parity.rs`).

mod support;

use peeper_agent::collector::postgres::{PostgresCollector, PostgresConfig};
use peeper_proto::model::family;
use std::time::Duration;
use support::parity::Parity;
use support::postgres::{PEEPER_PASSWORD, Postgres};
use support::{collect, value};

const PARITY: Parity = Parity {
    exporter: "postgres_exporter",
    left_out: &[],
    dropped_labels: &[(
        "server",
        // 0.11 labels its series with the DSN's host:port; the agent's `instance` names the
        // server, and postgres_exporter's later collectors dropped the label too.
        "the agent's instance label names the server",
    )],
    steady: &[
        "pg_up",
        "pg_static",
        "pg_settings_",
        "pg_stat_database_conflicts_",
        "pg_replication_slots_active",
        "pg_stat_archiver_failed_count",
        "pg_stat_bgwriter_stats_reset_total",
    ],
    values_differ: &[(
        "pg_settings_extra_float_digits",
        // pg_settings shows the reading session's value: lib/pq sets 2 for its own session,
        // the agent leaves the server's default.
        "the exporter's driver sets it for its own session",
    )],
};

fn config(pg: &Postgres) -> PostgresConfig {
    PostgresConfig {
        enabled: true,
        host: "127.0.0.1".to_owned(),
        port: pg.port,
        user: "peeper".to_owned(),
        password: Some(PEEPER_PASSWORD.into()),
        password_file: None,
        database: "postgres".to_owned(),
        sslmode: "prefer".to_owned(),
        ca_file: None,
    }
}

/// A server that archives its WAL (to `/bin/true`) and keeps a physical replication slot,
/// so the archiver's and the slots' series have values on both sides.
fn archiving_server() -> Postgres {
    let mut pg = Postgres::start();
    pg.psql("ALTER SYSTEM SET archive_mode = on");
    pg.psql("ALTER SYSTEM SET archive_command = '/bin/true'");
    pg.stop_server();
    pg.start_server();
    pg.psql("CREATE DATABASE app");
    pg.psql_db("app", "CREATE TABLE items (id int)");
    pg.psql("SELECT pg_create_physical_replication_slot('standby1', true)");
    pg.psql("SELECT pg_switch_wal()");
    support::wait_until(
        "PostgreSQL to archive a WAL segment",
        Duration::from_secs(30),
        || pg.psql("SELECT archived_count FROM pg_stat_archiver") != "0",
    );
    pg
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_postgres_collector_emits_what_postgres_exporter_emits() {
    let pg = archiving_server();
    let exporter = pg.exporter("peeper", PEEPER_PASSWORD);
    let mut collector = PostgresCollector::new(&config(&pg));
    // Both keep their connection between reads: read once so that each sees the other's.
    collect(&mut collector).await;
    exporter.metrics();

    let ours = PARITY.assert_same(&exporter, &mut collector).await;

    // What the comparison covers, on this server.
    let major = pg.psql("SHOW server_version_num").parse::<u32>().unwrap() / 10000;
    let datid = pg.psql("SELECT oid FROM pg_database WHERE datname = 'app'");
    let app = [("datid", datid.as_str()), ("datname", "app")];
    if major >= 14 {
        let sessions = family(&ours, "pg_stat_database_sessions").expect("sessions");
        assert_eq!(sessions.kind.as_str(), "untyped");
        assert!(
            value(
                &ours,
                "pg_stat_database_session_time",
                &[("datname", "postgres")]
            ) > 0.0
        );
    }
    assert_eq!(
        value(&ours, "pg_stat_database_xact_commit", &[("datid", "0")]),
        0.0
    );
    assert_eq!(
        value(&ours, "pg_stat_database_conflicts_confl_lock", &app),
        0.0
    );
    assert!(value(&ours, "pg_stat_archiver_archived_count", &[]) >= 1.0);
    assert!(value(&ours, "pg_stat_archiver_last_archive_age", &[]) >= 0.0);
    assert_eq!(
        value(
            &ours,
            "pg_replication_slots_active",
            &[("slot_name", "standby1")]
        ),
        0.0
    );
    assert!(
        value(
            &ours,
            "pg_replication_slots_pg_wal_lsn_diff",
            &[("slot_name", "standby1")]
        ) >= 0.0
    );
    let settings = ours
        .iter()
        .filter(|f| f.name.starts_with("pg_settings_"))
        .count();
    assert!(settings > 200, "{settings} pg_settings_* families");
    assert_eq!(value(&ours, "pg_settings_fsync", &[]), 1.0);
    assert_eq!(
        value(&ours, "pg_settings_shared_buffers_bytes", &[]),
        pg.psql("SELECT setting::bigint * 8192 FROM pg_settings WHERE name = 'shared_buffers'")
            .parse::<f64>()
            .unwrap()
    );
    assert_eq!(
        value(
            &ours,
            "pg_scrape_collector_success",
            &[("collector", "database")]
        ),
        1.0
    );
}
