//! mysqld_exporter 0.14's default `info_schema.innodb_cmp` and `info_schema.innodb_cmpmem`
//! scrapers (`collector/info_schema_innodb_cmp.go`, `info_schema_innodb_cmpmem.go`):
//! InnoDB's page compression per page size, and its compressed-page memory per page size and
//! buffer pool. Both tables need the PROCESS privilege.

use super::MysqlError;
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Row, Value};
use peeper_proto::MetricFamily;

pub const CMP_SQL: &str = "SELECT page_size, compress_ops, compress_ops_ok, compress_time, \
     uncompress_ops, uncompress_time FROM information_schema.innodb_cmp";

pub const CMPMEM_SQL: &str = "SELECT page_size, buffer_pool_instance, pages_used, pages_free, \
     relocation_ops, relocation_time FROM information_schema.innodb_cmpmem";

/// `innodb_cmp`'s value columns: (metric name after `mysql_info_schema_`, help).
const CMP: [(&str, &str); 5] = [
    (
        "innodb_cmp_compress_ops_total",
        "Number of times a B-tree page of the size PAGE_SIZE has been compressed.",
    ),
    (
        "innodb_cmp_compress_ops_ok_total",
        "Number of times a B-tree page of the size PAGE_SIZE has been successfully compressed.",
    ),
    (
        "innodb_cmp_compress_time_seconds_total",
        "Total time in seconds spent in attempts to compress B-tree pages.",
    ),
    (
        "innodb_cmp_uncompress_ops_total",
        "Number of times a B-tree page of the size PAGE_SIZE has been uncompressed.",
    ),
    (
        "innodb_cmp_uncompress_time_seconds_total",
        "Total time in seconds spent in uncompressing B-tree pages.",
    ),
];

/// `innodb_cmpmem`'s value columns. mysqld_exporter types them all as counters and divides
/// `relocation_time` by 1000.
const CMPMEM: [(&str, &str); 4] = [
    (
        "innodb_cmpmem_pages_used_total",
        "Number of blocks of the size PAGE_SIZE that are currently in use.",
    ),
    (
        "innodb_cmpmem_pages_free_total",
        "Number of blocks of the size PAGE_SIZE that are currently available for allocation.",
    ),
    (
        "innodb_cmpmem_relocation_ops_total",
        "Number of times a block of the size PAGE_SIZE has been relocated.",
    ),
    (
        "innodb_cmpmem_relocation_time_seconds_total",
        "Total time in seconds spent in relocating blocks.",
    ),
];

fn counters(columns: &[(&str, &str)]) -> Vec<MetricFamily> {
    columns
        .iter()
        .map(|(name, help)| MetricFamily::counter(format!("mysql_info_schema_{name}"), *help))
        .collect()
}

/// `mysql_info_schema_innodb_cmp_*` from rows of [`CMP_SQL`] (text values, `None` for NULL).
/// A row with a value that is not a number is left out.
pub fn cmp_families(rows: &[Vec<Option<String>>], out: &mut Vec<MetricFamily>) {
    let mut families = counters(&CMP);
    for row in rows {
        let Some((Some(page_size), values)) = row.split_first() else {
            continue;
        };
        let Some(values) = numbers(values, CMP.len()) else {
            continue;
        };
        for (family, value) in families.iter_mut().zip(values) {
            family.push(&[("page_size", page_size)], value);
        }
    }
    out.extend(families);
}

/// `mysql_info_schema_innodb_cmpmem_*` from rows of [`CMPMEM_SQL`].
pub fn cmpmem_families(rows: &[Vec<Option<String>>], out: &mut Vec<MetricFamily>) {
    let mut families = counters(&CMPMEM);
    for row in rows {
        let [Some(page_size), Some(buffer_pool), values @ ..] = row.as_slice() else {
            continue;
        };
        let Some(mut values) = numbers(values, CMPMEM.len()) else {
            continue;
        };
        values[3] /= 1000.0;
        let labels = [
            ("page_size", page_size.as_str()),
            ("buffer_pool", buffer_pool),
        ];
        for (family, value) in families.iter_mut().zip(values) {
            family.push(&labels, value);
        }
    }
    out.extend(families);
}

fn numbers(values: &[Option<String>], count: usize) -> Option<Vec<f64>> {
    let parsed: Option<Vec<f64>> = values
        .iter()
        .map(|v| v.as_deref().and_then(|v| v.parse().ok()))
        .collect();
    parsed.filter(|p| p.len() == count)
}

/// Runs `query` and returns its rows as text.
pub async fn text_rows(
    conn: &mut Conn,
    query: &'static str,
) -> Result<Vec<Vec<Option<String>>>, MysqlError> {
    let error = |source| MysqlError::Query { query, source };
    let result = conn.query_iter(query).await.map_err(error)?;
    result
        .map_and_drop(|row: Row| {
            (0..row.len())
                .map(|i| match row.as_ref(i) {
                    Some(Value::Bytes(bytes)) => Some(String::from_utf8_lossy(bytes).into_owned()),
                    Some(Value::Int(v)) => Some(v.to_string()),
                    Some(Value::UInt(v)) => Some(v.to_string()),
                    Some(Value::Double(v)) => Some(v.to_string()),
                    _ => None,
                })
                .collect()
        })
        .await
        .map_err(error)
}
