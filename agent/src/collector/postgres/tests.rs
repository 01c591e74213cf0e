//! The statements and the row parsers, without a server (the live server is tested in
//! `agent/tests/postgres.rs`).

use super::queries::{self, ServerVersion, cycle_sql, families};
use peeper_proto::model::family;
use peeper_test_support::value;

type Set<'a> = Vec<Vec<Option<&'a str>>>;

#[test]
fn short_version_is_postgres_exporters_semver() {
    let v = |num| {
        ServerVersion {
            num,
            full: String::new(),
        }
        .short()
    };
    assert_eq!(v(150005), "15.5.0");
    assert_eq!(v(170000), "17.0.0");
    assert_eq!(v(90624), "9.6.24");
}

#[test]
fn one_statement_per_section_and_columns_by_version() {
    for version in [100000, 130000, 150005, 170002] {
        let sql = cycle_sql(version);
        assert_eq!(sql.matches(";\n").count() + 1, queries::SECTIONS, "{sql}");
        assert_eq!(sql.contains("active_time"), version >= 140000);
        assert_eq!(sql.contains("checkpoints_timed"), version < 170000);
        assert!(sql.contains("buffers_alloc"));
    }
}

fn row<'a>(values: &[&'a str]) -> Vec<Option<&'a str>> {
    values
        .iter()
        .map(|v| if *v == "NULL" { None } else { Some(*v) })
        .collect()
}

fn fixture() -> Vec<Set<'static>> {
    // Base columns, then (PG 15) checksum_failures, checksum_last_failure, session_time,
    // active_time, idle_in_transaction_time, sessions, sessions_abandoned, sessions_fatal,
    // sessions_killed.
    let base = |datid: &'static str, datname: &'static str, rest: [&'static str; 26]| {
        let mut values = vec![datid, datname];
        values.extend(rest);
        row(&values)
    };
    let stat = vec![
        base(
            "5",
            "postgres",
            [
                "2",
                "100",
                "1",
                "50",
                "900",
                "1000",
                "800",
                "10",
                "2",
                "1",
                "0",
                "0",
                "0",
                "0",
                "1.5",
                "0",
                "1700000000",
                "NULL",
                "NULL",
                "4000.5",
                "2500",
                "10",
                "6",
                "0",
                "1",
                "0",
            ],
        ),
        base(
            "16384",
            "app",
            [
                "0",
                "7",
                "0",
                "1",
                "2",
                "3",
                "4",
                "250",
                "0",
                "0",
                "0",
                "1",
                "8192",
                "0",
                "0",
                "0",
                "0",
                "3",
                "1700000100",
                "0",
                "0",
                "0",
                "0",
                "0",
                "0",
                "0",
            ],
        ),
        // The shared-objects row (datid 0, no name): datname "" as postgres_exporter 0.11.
        base(
            "0",
            "NULL",
            [
                "0", "0", "0", "0", "0", "0", "0", "0", "0", "0", "0", "0", "0", "0", "0", "0",
                "0", "NULL", "NULL", "0", "0", "0", "0", "0", "0", "0",
            ],
        ),
    ];
    let size = vec![
        row(&["postgres", "7500000"]),
        row(&["app", "7600000"]),
        row(&["secret", "NULL"]),
    ];
    let activity = vec![
        row(&["postgres", "active", "1", "0.002"]),
        row(&["postgres", "idle", "0", "0"]),
        row(&["app", "idle in transaction", "2", "35.5"]),
    ];
    let locks = vec![
        row(&["postgres", "accesssharelock", "3"]),
        row(&["app", "sireadlock", "0"]),
    ];
    let bgwriter = vec![row(&[
        "12",
        "3",
        "1000.5",
        "20.25",
        "400",
        "5",
        "0",
        "70",
        "0",
        "900",
        "1700000000",
    ])];
    let replication = vec![row(&["0", "0", "0", "1699990000.25", "4"])];
    let replicas = vec![row(&[
        "walreceiver",
        "10.0.0.2",
        "streaming",
        "50331648",
        "1024",
    ])];
    let settings = vec![
        row(&[
            "max_connections",
            "100",
            "",
            "Sets the maximum number of concurrent connections.",
            "integer",
        ]),
        row(&[
            "shared_buffers",
            "16384",
            "8kB",
            "Sets the number of shared memory buffers used by the server.",
            "integer",
        ]),
        row(&[
            "statement_timeout",
            "1500",
            "ms",
            "Sets the maximum allowed duration of any statement.",
            "integer",
        ]),
        row(&["lock_timeout", "-1", "ms", "Lock wait limit.", "integer"]),
        row(&["fsync", "on", "", "Forces synchronization.", "bool"]),
        row(&[
            "pg_stat_statements.track_utility",
            "off",
            "",
            "Track.",
            "bool",
        ]),
        row(&[
            "odd",
            "3",
            "furlong",
            "A unit 0.11 does not know.",
            "integer",
        ]),
    ];
    let conflicts = vec![row(&["16384", "app", "0", "1", "2", "3", "4"])];
    let archiver = vec![row(&["7", "1", "12.5"])];
    let slots = vec![
        row(&["standby1", "NULL", "t", "4096"]),
        row(&["logical1", "app", "f", "NULL"]),
    ];
    vec![
        stat,
        size,
        activity,
        locks,
        bgwriter,
        replication,
        replicas,
        settings,
        conflicts,
        archiver,
        slots,
    ]
}

#[test]
fn rows_become_postgres_exporter_families() {
    let mut out = Vec::new();
    families(150005, &fixture(), &mut out);
    let app = [("datid", "16384"), ("datname", "app")];
    assert_eq!(value(&out, "pg_stat_database_tup_inserted", &app), 250.0);
    assert_eq!(value(&out, "pg_stat_database_temp_bytes", &app), 8192.0);
    assert_eq!(
        value(
            &out,
            "pg_stat_database_numbackends",
            &[("datname", "postgres")]
        ),
        2.0
    );
    assert_eq!(
        value(
            &out,
            "pg_stat_database_blk_read_time",
            &[("datname", "postgres")]
        ),
        1.5
    );
    assert_eq!(
        value(
            &out,
            "pg_stat_database_stats_reset",
            &[("datname", "postgres")]
        ),
        1.7e9
    );
    assert_eq!(
        value(
            &out,
            "pg_stat_database_active_time_seconds_total",
            &[("datname", "postgres")]
        ),
        2.5
    );
    assert_eq!(
        family(&out, "pg_stat_database_xact_commit")
            .unwrap()
            .kind
            .as_str(),
        "counter"
    );
    assert_eq!(
        family(&out, "pg_stat_database_numbackends")
            .unwrap()
            .kind
            .as_str(),
        "gauge"
    );

    assert_eq!(
        value(&out, "pg_database_size_bytes", &[("datname", "app")]),
        7.6e6
    );
    assert!(
        family(&out, "pg_database_size_bytes")
            .unwrap()
            .find(&[("datname", "secret")])
            .is_none()
    );
    assert_eq!(
        value(
            &out,
            "pg_stat_activity_count",
            &[("datname", "app"), ("state", "idle in transaction")]
        ),
        2.0
    );
    assert_eq!(
        value(
            &out,
            "pg_stat_activity_max_tx_duration",
            &[("datname", "app"), ("state", "idle in transaction")]
        ),
        35.5
    );
    assert_eq!(
        value(
            &out,
            "pg_locks_count",
            &[("datname", "postgres"), ("mode", "accesssharelock")]
        ),
        3.0
    );
    assert_eq!(
        value(&out, "pg_stat_bgwriter_checkpoints_timed_total", &[]),
        12.0
    );
    assert_eq!(
        value(&out, "pg_stat_bgwriter_checkpoint_write_time_total", &[]),
        1000.5
    );
    assert_eq!(
        value(&out, "pg_stat_bgwriter_stats_reset_total", &[]),
        1.7e9
    );
    assert_eq!(value(&out, "pg_replication_is_replica", &[]), 0.0);
    assert_eq!(
        value(&out, "pg_postmaster_start_time_seconds", &[]),
        1699990000.25
    );
    assert_eq!(value(&out, "pg_connections_in_use", &[]), 4.0);
    let replica = [
        ("application_name", "walreceiver"),
        ("client_addr", "10.0.0.2"),
        ("state", "streaming"),
    ];
    assert_eq!(
        value(&out, "pg_stat_replication_pg_wal_lsn_diff", &replica),
        1024.0
    );
    assert_eq!(
        value(
            &out,
            "pg_stat_replication_pg_current_wal_lsn_bytes",
            &replica
        ),
        50331648.0
    );
    assert_eq!(value(&out, "pg_settings_max_connections", &[]), 100.0);
}

#[test]
fn later_columns_conflicts_archiver_and_slots() {
    let mut out = Vec::new();
    families(150005, &fixture(), &mut out);
    let app = [("datid", "16384"), ("datname", "app")];
    let shared = [("datid", "0"), ("datname", "")];
    assert_eq!(value(&out, "pg_stat_database_xact_commit", &shared), 0.0);
    assert_eq!(
        family(&out, "pg_stat_database_xact_commit")
            .unwrap()
            .series
            .len(),
        3
    );
    // The columns 0.11 has no mapping for: untyped, in the view's unit, NULL left out.
    let session_time = family(&out, "pg_stat_database_session_time").unwrap();
    assert_eq!(session_time.kind.as_str(), "untyped");
    assert_eq!(session_time.help, "Unknown metric from pg_stat_database");
    assert_eq!(
        value(
            &out,
            "pg_stat_database_session_time",
            &[("datname", "postgres")]
        ),
        4000.5
    );
    assert_eq!(
        value(
            &out,
            "pg_stat_database_active_time",
            &[("datname", "postgres")]
        ),
        2500.0
    );
    assert_eq!(value(&out, "pg_stat_database_checksum_failures", &app), 3.0);
    assert_eq!(
        value(&out, "pg_stat_database_checksum_last_failure", &app),
        1_700_000_100.0
    );
    assert_eq!(
        family(&out, "pg_stat_database_checksum_failures")
            .unwrap()
            .series
            .len(),
        1
    );
    assert_eq!(
        value(
            &out,
            "pg_stat_database_sessions",
            &[("datname", "postgres")]
        ),
        6.0
    );
    assert_eq!(
        value(
            &out,
            "pg_stat_database_sessions_fatal",
            &[("datname", "postgres")]
        ),
        1.0
    );
    let deadlock = family(&out, "pg_stat_database_conflicts_confl_deadlock").unwrap();
    assert_eq!(deadlock.kind.as_str(), "counter");
    assert_eq!(
        value(&out, "pg_stat_database_conflicts_confl_deadlock", &app),
        4.0
    );
    assert_eq!(
        value(&out, "pg_stat_database_conflicts_confl_tablespace", &app),
        0.0
    );
    assert_eq!(value(&out, "pg_stat_archiver_archived_count", &[]), 7.0);
    assert_eq!(value(&out, "pg_stat_archiver_failed_count", &[]), 1.0);
    assert_eq!(value(&out, "pg_stat_archiver_last_archive_age", &[]), 12.5);
    let physical = [("slot_name", "standby1"), ("database", "")];
    let logical = [("slot_name", "logical1"), ("database", "app")];
    assert_eq!(value(&out, "pg_replication_slots_active", &physical), 1.0);
    assert_eq!(value(&out, "pg_replication_slots_active", &logical), 0.0);
    assert_eq!(
        value(&out, "pg_replication_slots_pg_wal_lsn_diff", &physical),
        4096.0
    );
    assert_eq!(
        family(&out, "pg_replication_slots_pg_wal_lsn_diff")
            .unwrap()
            .series
            .len(),
        1
    );
}

#[test]
fn settings_in_base_units_as_postgres_exporter_0_11() {
    let mut out = Vec::new();
    families(150005, &fixture(), &mut out);
    let max = family(&out, "pg_settings_max_connections").unwrap();
    assert_eq!(
        (max.kind.as_str(), max.help.as_str()),
        (
            "gauge",
            "Sets the maximum number of concurrent connections."
        )
    );
    let buffers = family(&out, "pg_settings_shared_buffers_bytes").unwrap();
    assert_eq!(buffers.series[0].value, 16384.0 * 8192.0);
    assert_eq!(
        buffers.help,
        "Sets the number of shared memory buffers used by the server. [Units converted to bytes.]"
    );
    assert_eq!(
        value(&out, "pg_settings_statement_timeout_seconds", &[]),
        1.5
    );
    // -1 (disabled) is not converted.
    assert_eq!(value(&out, "pg_settings_lock_timeout_seconds", &[]), -1.0);
    assert_eq!(value(&out, "pg_settings_fsync", &[]), 1.0);
    assert_eq!(
        value(&out, "pg_settings_pg_stat_statements_track_utility", &[]),
        0.0
    );
    assert!(out.iter().all(|f| !f.name.starts_with("pg_settings_odd")));
}

#[test]
fn columns_follow_the_server_version() {
    for (version, checksums, sessions, logical_slot, parallel) in [
        (110000, false, false, false, false),
        (120000, true, false, false, false),
        (140000, true, true, false, false),
        (160000, true, true, true, false),
        (180000, true, true, true, true),
    ] {
        let sql = cycle_sql(version);
        assert_eq!(sql.contains("checksum_failures"), checksums, "{version}");
        assert_eq!(sql.contains("sessions_abandoned"), sessions, "{version}");
        assert_eq!(sql.contains("confl_active_logicalslot"), logical_slot);
        assert_eq!(sql.contains("parallel_workers_launched"), parallel);
    }
}

#[test]
fn postgres_17_bgwriter_has_only_its_remaining_columns() {
    let mut sets = fixture();
    sets[4] = vec![row(&["5", "0", "900", "1700000000"])];
    let mut out = Vec::new();
    families(170000, &sets, &mut out);
    assert_eq!(
        value(&out, "pg_stat_bgwriter_buffers_alloc_total", &[]),
        900.0
    );
    assert!(family(&out, "pg_stat_bgwriter_checkpoints_timed_total").is_none());
}

#[test]
fn static_family_carries_both_versions() {
    let version = ServerVersion {
        num: 150005,
        full: "PostgreSQL 15.5 (Debian 15.5-0+deb12u1)".to_owned(),
    };
    let fam = queries::static_family(&version);
    assert_eq!(fam.name, "pg_static");
    assert_eq!(fam.series[0].label("short_version"), Some("15.5.0"));
    assert_eq!(fam.series[0].value, 1.0);
}

#[test]
fn the_password_is_not_in_debug_output() {
    let config = super::PostgresConfig {
        password: Some("hunter2".into()),
        ..Default::default()
    };
    assert!(!format!("{config:?}").contains("hunter2"));
}
