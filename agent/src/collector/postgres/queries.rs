//! The statements of one cycle and how their rows become postgres_exporter's families.
//!
//! Every statement of a cycle is sent in one simple-query round trip (see [`cycle_sql`]);
//! the result sets come back in the same order and are turned into families by
//! [`families`]. The parsers work on any [`Row`], so they are tested without a server.

use super::{settings, stat_database, wal};
use peeper_proto::MetricFamily;

/// One result row: its columns as text (`None` for SQL NULL).
pub trait Row {
    fn text(&self, index: usize) -> Option<&str>;

    fn num(&self, index: usize) -> Option<f64> {
        self.text(index).and_then(|v| v.parse().ok())
    }
}

impl Row for tokio_postgres::SimpleQueryRow {
    fn text(&self, index: usize) -> Option<&str> {
        self.get(index)
    }
}

impl Row for Vec<Option<&str>> {
    fn text(&self, index: usize) -> Option<&str> {
        self.get(index).copied().flatten()
    }
}

/// The server's version, read once per connection.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerVersion {
    /// `server_version_num`, e.g. 150005.
    pub num: u32,
    /// `version()`, e.g. `PostgreSQL 15.5 (Debian 15.5-0+deb12u1) on x86_64-pc-linux-gnu, ...`.
    pub full: String,
}

impl ServerVersion {
    /// postgres_exporter's `short_version`: the semantic version of `version()` (`15.5.0`).
    pub fn short(&self) -> String {
        let major = self.num / 10000;
        if major >= 10 {
            format!("{major}.{}.0", self.num % 10000)
        } else {
            format!("{}.{}.{}", major, (self.num / 100) % 100, self.num % 100)
        }
    }
}

/// The statement run once after connecting.
pub const VERSION_SQL: &str = "SELECT current_setting('server_version_num'), version()";

/// The result sets of [`cycle_sql`], in order.
pub const SECTIONS: usize = 11;

/// The lock modes postgres_exporter reports for every database (0 when absent).
const LOCK_MODES: [&str; 9] = [
    "accesssharelock",
    "rowsharelock",
    "rowexclusivelock",
    "shareupdateexclusivelock",
    "sharelock",
    "sharerowexclusivelock",
    "exclusivelock",
    "accessexclusivelock",
    "sireadlock",
];

/// The connection states postgres_exporter reports for every database (0 when absent).
const ACTIVITY_STATES: [&str; 6] = [
    "active",
    "idle",
    "idle in transaction",
    "idle in transaction (aborted)",
    "fastpath function call",
    "disabled",
];

/// `pg_stat_bgwriter` columns before PostgreSQL 17, with postgres_exporter's names.
const BGWRITER: [(&str, &str, &str); 11] = [
    (
        "checkpoints_timed",
        "checkpoints_timed_total",
        "Number of scheduled checkpoints that have been performed",
    ),
    (
        "checkpoints_req",
        "checkpoints_req_total",
        "Number of requested checkpoints that have been performed",
    ),
    (
        "checkpoint_write_time",
        "checkpoint_write_time_total",
        "Total amount of time that has been spent in the portion of checkpoint processing where files are written to disk, in milliseconds",
    ),
    (
        "checkpoint_sync_time",
        "checkpoint_sync_time_total",
        "Total amount of time that has been spent in the portion of checkpoint processing where files are synchronized to disk, in milliseconds",
    ),
    (
        "buffers_checkpoint",
        "buffers_checkpoint_total",
        "Number of buffers written during checkpoints",
    ),
    (
        "buffers_clean",
        "buffers_clean_total",
        "Number of buffers written by the background writer",
    ),
    (
        "maxwritten_clean",
        "maxwritten_clean_total",
        "Number of times the background writer stopped a cleaning scan because it had written too many buffers",
    ),
    (
        "buffers_backend",
        "buffers_backend_total",
        "Number of buffers written directly by a backend",
    ),
    (
        "buffers_backend_fsync",
        "buffers_backend_fsync_total",
        "Number of times a backend had to execute its own fsync call (normally the background writer handles those even when the backend does its own write)",
    ),
    (
        "buffers_alloc",
        "buffers_alloc_total",
        "Number of buffers allocated",
    ),
    (
        "stats_reset",
        "stats_reset_total",
        "Time at which these statistics were last reset",
    ),
];

/// The columns PostgreSQL 17 left in `pg_stat_bgwriter` (the rest moved to
/// `pg_stat_checkpointer`).
const BGWRITER_17: [&str; 4] = [
    "buffers_clean",
    "maxwritten_clean",
    "buffers_alloc",
    "stats_reset",
];

fn bgwriter_columns(version: u32) -> Vec<&'static (&'static str, &'static str, &'static str)> {
    BGWRITER
        .iter()
        .filter(|(column, _, _)| version < 170000 || BGWRITER_17.contains(column))
        .collect()
}

/// A timestamp column as 0.11 reports it: its Unix time in whole seconds (0 when NULL).
fn epoch(column: &str) -> String {
    format!("COALESCE(floor(EXTRACT(EPOCH FROM {column})), 0)")
}

/// All statements of one cycle, for a server of version `version` (`server_version_num`).
/// Needs PostgreSQL 10 or later and the `pg_monitor` role (or superuser).
pub fn cycle_sql(version: u32) -> String {
    let bgwriter: Vec<String> = bgwriter_columns(version)
        .iter()
        .map(|(column, _, _)| {
            if *column == "stats_reset" {
                epoch(column)
            } else {
                (*column).to_owned()
            }
        })
        .collect();
    let modes = LOCK_MODES.map(|m| format!("('{m}')")).join(",");
    let states = ACTIVITY_STATES.map(|s| format!("('{s}')")).join(",");
    format!(
        "{stat};\n\
         SELECT datname, CASE WHEN has_database_privilege(oid, 'CONNECT') \
           OR pg_has_role('pg_read_all_stats', 'MEMBER') THEN pg_database_size(oid) END \
           FROM pg_database;\n\
         SELECT d.datname, s.state, COALESCE(a.count, 0), COALESCE(a.max_tx_duration, 0) \
           FROM (VALUES {states}) AS s(state) CROSS JOIN pg_database d \
           LEFT JOIN (SELECT datname, state, count(*) AS count, \
             MAX(EXTRACT(EPOCH FROM now() - xact_start))::float AS max_tx_duration \
             FROM pg_stat_activity GROUP BY datname, state) a \
           ON s.state = a.state AND d.datname = a.datname;\n\
         SELECT d.datname, m.mode, COALESCE(l.count, 0) \
           FROM (VALUES {modes}) AS m(mode) CROSS JOIN pg_database d \
           LEFT JOIN (SELECT database, lower(mode) AS mode, count(*) AS count FROM pg_locks \
             WHERE database IS NOT NULL GROUP BY database, lower(mode)) l \
           ON m.mode = l.mode AND d.oid = l.database;\n\
         SELECT {bgwriter} FROM pg_stat_bgwriter;\n\
         SELECT CASE WHEN NOT pg_is_in_recovery() THEN 0 \
             WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0 \
             ELSE GREATEST(0, EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())) END, \
           CASE WHEN pg_is_in_recovery() THEN 1 ELSE 0 END, \
           GREATEST(0, EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())), \
           EXTRACT(EPOCH FROM pg_postmaster_start_time()), \
           (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend');\n\
         SELECT application_name, client_addr, state, \
           CASE WHEN pg_is_in_recovery() THEN NULL \
             ELSE pg_wal_lsn_diff(pg_current_wal_lsn(), pg_lsn('0/0'))::float END, \
           CASE WHEN pg_is_in_recovery() THEN NULL \
             ELSE pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::float END \
           FROM pg_stat_replication;\n\
         {settings};\n\
         {conflicts};\n\
         {archiver};\n\
         {slots};",
        stat = stat_database::stat_database_sql(version),
        bgwriter = bgwriter.join(", "),
        settings = settings::SETTINGS_SQL,
        conflicts = stat_database::conflicts_sql(version),
        archiver = wal::ARCHIVER_SQL,
        slots = wal::SLOTS_SQL,
    )
}

/// `pg_static`: the version strings as labels, value 1.
pub fn static_family(version: &ServerVersion) -> MetricFamily {
    MetricFamily::untyped("pg_static", "Version string as reported by postgres").with(
        &[
            ("version", version.full.as_str()),
            ("short_version", &version.short()),
        ],
        1.0,
    )
}

/// Turns the result sets of [`cycle_sql`] into families. `sets` must hold [`SECTIONS`] sets.
pub fn families<R: Row>(version: u32, sets: &[Vec<R>], out: &mut Vec<MetricFamily>) {
    let empty = Vec::new();
    let set = |i: usize| sets.get(i).unwrap_or(&empty);
    stat_database::stat_database(version, set(0), out);
    database_size(set(1), out);
    activity(set(2), out);
    locks(set(3), out);
    bgwriter(version, set(4), out);
    replication(set(5), out);
    stat_replication(set(6), out);
    settings::settings(set(7), out);
    stat_database::conflicts(version, set(8), out);
    wal::archiver(set(9), out);
    wal::replication_slots(set(10), out);
}

fn database_size<R: Row>(rows: &[R], out: &mut Vec<MetricFamily>) {
    let mut fam = MetricFamily::gauge("pg_database_size_bytes", "Disk space used by the database");
    for row in rows {
        if let (Some(datname), Some(size)) = (row.text(0), row.num(1)) {
            fam.push(&[("datname", datname)], size);
        }
    }
    out.push(fam);
}

fn activity<R: Row>(rows: &[R], out: &mut Vec<MetricFamily>) {
    let mut count = MetricFamily::gauge(
        "pg_stat_activity_count",
        "number of connections in this state",
    );
    let mut duration = MetricFamily::gauge(
        "pg_stat_activity_max_tx_duration",
        "max duration in seconds any active transaction has been running",
    );
    for row in rows {
        let (Some(datname), Some(state)) = (row.text(0), row.text(1)) else {
            continue;
        };
        let labels = [("datname", datname), ("state", state)];
        count.push(&labels, row.num(2).unwrap_or(0.0));
        duration.push(&labels, row.num(3).unwrap_or(0.0));
    }
    out.push(count);
    out.push(duration);
}

fn locks<R: Row>(rows: &[R], out: &mut Vec<MetricFamily>) {
    let mut fam = MetricFamily::gauge("pg_locks_count", "Number of locks");
    for row in rows {
        if let (Some(datname), Some(mode)) = (row.text(0), row.text(1)) {
            fam.push(
                &[("datname", datname), ("mode", mode)],
                row.num(2).unwrap_or(0.0),
            );
        }
    }
    out.push(fam);
}

fn bgwriter<R: Row>(version: u32, rows: &[R], out: &mut Vec<MetricFamily>) {
    let Some(row) = rows.first() else { return };
    for (index, (_, name, help)) in bgwriter_columns(version).into_iter().enumerate() {
        out.push(
            MetricFamily::counter(format!("pg_stat_bgwriter_{name}"), *help)
                .with(&[], row.num(index).unwrap_or(0.0)),
        );
    }
}

fn replication<R: Row>(rows: &[R], out: &mut Vec<MetricFamily>) {
    let Some(row) = rows.first() else { return };
    let gauges = [
        (
            0,
            "pg_replication_lag_seconds",
            "Replication lag behind master in seconds",
        ),
        (
            1,
            "pg_replication_is_replica",
            "Indicates if the server is a replica",
        ),
        (
            2,
            "pg_replication_last_replay_seconds",
            "Age of last replay in seconds",
        ),
        (
            3,
            "pg_postmaster_start_time_seconds",
            "Time at which postmaster started",
        ),
        (
            4,
            "pg_connections_in_use",
            "Client connections open now (client backends in pg_stat_activity); compare with pg_settings_max_connections",
        ),
    ];
    for (index, name, help) in gauges {
        out.push(MetricFamily::gauge(name, help).with(&[], row.num(index).unwrap_or(0.0)));
    }
}

fn stat_replication<R: Row>(rows: &[R], out: &mut Vec<MetricFamily>) {
    let mut position = MetricFamily::gauge(
        "pg_stat_replication_pg_current_wal_lsn_bytes",
        "WAL position in bytes",
    );
    let mut diff = MetricFamily::gauge(
        "pg_stat_replication_pg_wal_lsn_diff",
        "Lag in bytes between master and slave",
    );
    for row in rows {
        let labels = [
            ("application_name", row.text(0).unwrap_or("")),
            ("client_addr", row.text(1).unwrap_or("")),
            ("state", row.text(2).unwrap_or("")),
        ];
        if let Some(value) = row.num(3) {
            position.push(&labels, value);
        }
        if let Some(value) = row.num(4) {
            diff.push(&labels, value);
        }
    }
    out.push(position);
    out.push(diff);
}
