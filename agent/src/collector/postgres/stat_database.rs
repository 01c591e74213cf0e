//! `pg_stat_database` and `pg_stat_database_conflicts` as postgres_exporter 0.11 reports them
//! (its built-in maps in `cmd/postgres_exporter/postgres_exporter.go`). It reads `SELECT *`
//! and reports a column it has no mapping for as an untyped series "Unknown metric from
//! <view>" in the view's own unit (milliseconds, a count, a timestamp's Unix seconds): the
//! columns later PostgreSQL versions added come out that way, each only where the server
//! has it. The agent names its columns instead of `SELECT *`, so a newer server's extra
//! columns never change what it reports unannounced.

use super::queries::Row;
use peeper_proto::MetricFamily;

/// `pg_stat_database` columns after `datid, datname` that postgres_exporter 0.11 maps:
/// (column, kind, help). It reports `stats_reset` as a counter of the reset's Unix time.
const STAT_DATABASE: [(&str, Kind, &str); 17] = [
    (
        "numbackends",
        Kind::Gauge,
        "Number of backends currently connected to this database. This is the only column in this view that returns a value reflecting current state; all other columns return the accumulated values since the last reset.",
    ),
    (
        "xact_commit",
        Kind::Counter,
        "Number of transactions in this database that have been committed",
    ),
    (
        "xact_rollback",
        Kind::Counter,
        "Number of transactions in this database that have been rolled back",
    ),
    (
        "blks_read",
        Kind::Counter,
        "Number of disk blocks read in this database",
    ),
    (
        "blks_hit",
        Kind::Counter,
        "Number of times disk blocks were found already in the buffer cache, so that a read was not necessary (this only includes hits in the PostgreSQL buffer cache, not the operating system's file system cache)",
    ),
    (
        "tup_returned",
        Kind::Counter,
        "Number of rows returned by queries in this database",
    ),
    (
        "tup_fetched",
        Kind::Counter,
        "Number of rows fetched by queries in this database",
    ),
    (
        "tup_inserted",
        Kind::Counter,
        "Number of rows inserted by queries in this database",
    ),
    (
        "tup_updated",
        Kind::Counter,
        "Number of rows updated by queries in this database",
    ),
    (
        "tup_deleted",
        Kind::Counter,
        "Number of rows deleted by queries in this database",
    ),
    (
        "conflicts",
        Kind::Counter,
        "Number of queries canceled due to conflicts with recovery in this database. (Conflicts occur only on standby servers; see pg_stat_database_conflicts for details.)",
    ),
    (
        "temp_files",
        Kind::Counter,
        "Number of temporary files created by queries in this database. All temporary files are counted, regardless of why the temporary file was created (e.g., sorting or hashing), and regardless of the log_temp_files setting.",
    ),
    (
        "temp_bytes",
        Kind::Counter,
        "Total amount of data written to temporary files by queries in this database. All temporary files are counted, regardless of why the temporary file was created, and regardless of the log_temp_files setting.",
    ),
    (
        "deadlocks",
        Kind::Counter,
        "Number of deadlocks detected in this database",
    ),
    (
        "blk_read_time",
        Kind::Counter,
        "Time spent reading data file blocks by backends in this database, in milliseconds",
    ),
    (
        "blk_write_time",
        Kind::Counter,
        "Time spent writing data file blocks by backends in this database, in milliseconds",
    ),
    (
        "stats_reset",
        Kind::Counter,
        "Time at which these statistics were last reset",
    ),
];

/// Columns PostgreSQL added to `pg_stat_database` after 10, which 0.11 reports as unknown:
/// (column, its select expression, the first `server_version_num` that has it).
const STAT_DATABASE_LATER: [(&str, &str, u32); 11] = [
    ("checksum_failures", "checksum_failures", 120000),
    (
        "checksum_last_failure",
        "floor(EXTRACT(EPOCH FROM checksum_last_failure))",
        120000,
    ),
    ("session_time", "session_time", 140000),
    ("active_time", "active_time", 140000),
    (
        "idle_in_transaction_time",
        "idle_in_transaction_time",
        140000,
    ),
    ("sessions", "sessions", 140000),
    ("sessions_abandoned", "sessions_abandoned", 140000),
    ("sessions_fatal", "sessions_fatal", 140000),
    ("sessions_killed", "sessions_killed", 140000),
    (
        "parallel_workers_to_launch",
        "parallel_workers_to_launch",
        180000,
    ),
    (
        "parallel_workers_launched",
        "parallel_workers_launched",
        180000,
    ),
];

/// `pg_stat_database_conflicts` columns after `datid, datname`, as 0.11 maps them.
const CONFLICTS: [(&str, Kind, &str); 5] = [
    (
        "confl_tablespace",
        Kind::Counter,
        "Number of queries in this database that have been canceled due to dropped tablespaces",
    ),
    (
        "confl_lock",
        Kind::Counter,
        "Number of queries in this database that have been canceled due to lock timeouts",
    ),
    (
        "confl_snapshot",
        Kind::Counter,
        "Number of queries in this database that have been canceled due to old snapshots",
    ),
    (
        "confl_bufferpin",
        Kind::Counter,
        "Number of queries in this database that have been canceled due to pinned buffers",
    ),
    (
        "confl_deadlock",
        Kind::Counter,
        "Number of queries in this database that have been canceled due to deadlocks",
    ),
];

/// PostgreSQL 16's conflict column (logical decoding on a standby), unknown to 0.11.
const CONFLICTS_16: (&str, u32) = ("confl_active_logicalslot", 160000);

#[derive(Debug, Clone, Copy)]
enum Kind {
    Gauge,
    Counter,
    /// A column 0.11 has no mapping for: untyped, "Unknown metric from <view>".
    Unknown,
}

/// The columns of `pg_stat_database` reported for a server of `version`: (column, select
/// expression, kind, help).
fn stat_database_columns(version: u32) -> Vec<(&'static str, String, Kind, &'static str)> {
    let known = STAT_DATABASE.iter().map(|(column, kind, help)| {
        let select = match *column {
            "stats_reset" => "COALESCE(floor(EXTRACT(EPOCH FROM stats_reset)), 0)".to_owned(),
            _ => (*column).to_owned(),
        };
        (*column, select, *kind, *help)
    });
    let later = STAT_DATABASE_LATER
        .iter()
        .filter(|(_, _, since)| version >= *since)
        .map(|(column, select, _)| (*column, (*select).to_owned(), Kind::Unknown, ""));
    known.chain(later).collect()
}

fn conflicts_columns(version: u32) -> Vec<(&'static str, Kind, &'static str)> {
    let mut columns = CONFLICTS.to_vec();
    if version >= CONFLICTS_16.1 {
        columns.push((CONFLICTS_16.0, Kind::Unknown, ""));
    }
    columns
}

/// The statement of [`stat_database`]: every database and the shared-objects row (datid 0,
/// no name), which 0.11 reports with `datname=""`.
pub fn stat_database_sql(version: u32) -> String {
    let columns: Vec<String> = stat_database_columns(version)
        .into_iter()
        .map(|(_, select, _, _)| select)
        .collect();
    format!(
        "SELECT datid, datname, {} FROM pg_stat_database",
        columns.join(", ")
    )
}

pub fn conflicts_sql(version: u32) -> String {
    let columns: Vec<&str> = conflicts_columns(version)
        .into_iter()
        .map(|(column, _, _)| column)
        .collect();
    format!(
        "SELECT datid, datname, {} FROM pg_stat_database_conflicts",
        columns.join(", ")
    )
}

/// `pg_stat_database_*`, and `pg_stat_database_active_time_seconds_total` (later exporters'
/// name for `active_time`, in seconds) for dashboards written for those.
pub fn stat_database<R: Row>(version: u32, rows: &[R], out: &mut Vec<MetricFamily>) {
    let columns = stat_database_columns(version);
    let spec: Vec<(&str, Kind, &str)> = columns
        .iter()
        .map(|(column, _, kind, help)| (*column, *kind, *help))
        .collect();
    per_database("pg_stat_database", &spec, rows, out);
    let Some(active) = spec
        .iter()
        .position(|(column, _, _)| *column == "active_time")
    else {
        return;
    };
    let mut seconds = MetricFamily::counter(
        "pg_stat_database_active_time_seconds_total",
        "Time spent executing SQL statements in this database, in seconds",
    );
    for row in rows {
        if let (Some(datid), Some(ms)) = (row.text(0), row.num(2 + active)) {
            seconds.push(
                &[("datid", datid), ("datname", row.text(1).unwrap_or(""))],
                ms / 1000.0,
            );
        }
    }
    out.push(seconds);
}

pub fn conflicts<R: Row>(version: u32, rows: &[R], out: &mut Vec<MetricFamily>) {
    per_database(
        "pg_stat_database_conflicts",
        &conflicts_columns(version),
        rows,
        out,
    );
}

/// One family per column of a view whose rows start with `datid, datname`, labelled with
/// both; a NULL leaves the series out (0.11 writes it as NaN).
fn per_database<R: Row>(
    view: &str,
    columns: &[(&str, Kind, &str)],
    rows: &[R],
    out: &mut Vec<MetricFamily>,
) {
    let unknown = format!("Unknown metric from {view}");
    let mut families: Vec<MetricFamily> = columns
        .iter()
        .map(|(column, kind, help)| {
            let name = format!("{view}_{column}");
            match kind {
                Kind::Gauge => MetricFamily::gauge(name, *help),
                Kind::Counter => MetricFamily::counter(name, *help),
                Kind::Unknown => MetricFamily::untyped(name, unknown.as_str()),
            }
        })
        .collect();
    for row in rows {
        let Some(datid) = row.text(0) else { continue };
        let labels = [("datid", datid), ("datname", row.text(1).unwrap_or(""))];
        for (index, family) in families.iter_mut().enumerate() {
            if let Some(value) = row.num(2 + index) {
                family.push(&labels, value);
            }
        }
    }
    out.extend(families);
}
