//! WAL archiving and retention as postgres_exporter 0.11 reports them (its built-in maps
//! `pg_stat_archiver` and `pg_replication_slots`).

use super::queries::Row;
use peeper_proto::MetricFamily;

/// `pg_stat_archiver`: 0.11's query, with only the columns it reports.
pub const ARCHIVER_SQL: &str = "SELECT archived_count, failed_count, \
     EXTRACT(EPOCH FROM now() - last_archived_time) FROM pg_stat_archiver";

/// `pg_replication_slots`. 0.11's query fails on a standby (`pg_current_wal_lsn()` is not
/// allowed during recovery) and loses the slots' `active` with it; here the lag is NULL there.
pub const SLOTS_SQL: &str = "SELECT slot_name, database, active, \
     CASE WHEN pg_is_in_recovery() THEN NULL \
       ELSE pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn) END \
     FROM pg_replication_slots";

/// `pg_stat_archiver_*`. `last_archive_age` is NULL (left out; 0.11 writes NaN) until the
/// first WAL segment is archived.
pub fn archiver<R: Row>(rows: &[R], out: &mut Vec<MetricFamily>) {
    let Some(row) = rows.first() else { return };
    let mut archived = MetricFamily::counter(
        "pg_stat_archiver_archived_count",
        "Number of WAL files that have been successfully archived",
    );
    let mut failed = MetricFamily::counter(
        "pg_stat_archiver_failed_count",
        "Number of failed attempts for archiving WAL files",
    );
    let mut age = MetricFamily::gauge(
        "pg_stat_archiver_last_archive_age",
        "Time in seconds since last WAL segment was successfully archived",
    );
    for (index, family) in [&mut archived, &mut failed, &mut age]
        .into_iter()
        .enumerate()
    {
        if let Some(value) = row.num(index) {
            family.push(&[], value);
        }
    }
    out.extend([archived, failed, age]);
}

/// `pg_replication_slots_active` and `pg_replication_slots_pg_wal_lsn_diff`, per slot; a
/// physical slot has no database (`database=""`, as 0.11).
pub fn replication_slots<R: Row>(rows: &[R], out: &mut Vec<MetricFamily>) {
    let mut active = MetricFamily::gauge(
        "pg_replication_slots_active",
        "Flag indicating if the slot is active",
    );
    let mut lag = MetricFamily::gauge(
        "pg_replication_slots_pg_wal_lsn_diff",
        "Replication lag in bytes",
    );
    for row in rows {
        let Some(slot) = row.text(0) else { continue };
        let labels = [("slot_name", slot), ("database", row.text(1).unwrap_or(""))];
        match row.text(2) {
            Some("t") => active.push(&labels, 1.0),
            Some("f") => active.push(&labels, 0.0),
            _ => {}
        }
        if let Some(bytes) = row.num(3) {
            lag.push(&labels, bytes);
        }
    }
    out.extend([active, lag]);
}
