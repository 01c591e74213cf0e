//! The MySQL/MariaDB collector: `SHOW GLOBAL STATUS`, `SHOW GLOBAL VARIABLES`, the replica
//! status and InnoDB's compression tables: mysqld_exporter 0.14's default scrapers, with its
//! names (prometheus/mysqld_exporter), but `info_schema.query_response_time` (a histogram of
//! Percona's and MariaDB's optional plugin).
//!
//! Five queries a cycle over one connection that is kept between cycles (TCP or a unix
//! socket, TLS optional). A broken connection is replaced once within the same cycle, so a
//! server restart does not show as down; a server that cannot be reached or refuses the
//! login reports `mysql_up 0` every cycle, with the cause logged once.

pub mod config;
mod info_schema;
mod parse;
mod value;

#[cfg(test)]
mod tests;

pub use config::MysqlConfig;
pub use parse::{
    GlobalStatus, GlobalVariables, legacy_column, metric_name, parse_value, slave_status_row,
};

use super::{CollectError, CollectFuture, Collector, Cycle};
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, OptsBuilder, Row, SslOpts, Value};
use peeper_proto::MetricFamily;
use peeper_proto::failures::FailureStreak;
use std::time::{Duration, Instant};

/// How long a new connection (TCP, TLS, login) may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// How long a whole cycle (a reconnect and the queries included) may take; beyond it the
/// server counts as down for this cycle and the connection is dropped.
const CYCLE_TIMEOUT: Duration = Duration::from_secs(8);

/// The replica status statements, tried in this order until one is understood: MariaDB's
/// multi-source form, the classic one, and MySQL 8.4's (which dropped `SLAVE`).
const SLAVE_QUERIES: [&str; 3] = [
    "SHOW ALL SLAVES STATUS",
    "SHOW SLAVE STATUS",
    "SHOW REPLICA STATUS",
];
/// ER_PARSE_ERROR: the server does not know that statement.
const ER_PARSE_ERROR: u16 = 1064;

/// Why the server could not be read this cycle.
#[derive(Debug, thiserror::Error)]
pub enum MysqlError {
    #[error("cannot connect to {target}: {source}")]
    Connect {
        target: String,
        #[source]
        source: mysql_async::Error,
    },
    #[error("cannot connect to {target}: no answer within {CONNECT_TIMEOUT:?}")]
    ConnectTimeout { target: String },
    #[error("no answer within {CYCLE_TIMEOUT:?}")]
    CycleTimeout,
    #[error("{query} failed: {source}")]
    Query {
        query: &'static str,
        #[source]
        source: mysql_async::Error,
    },
}

impl MysqlError {
    /// True when the connection is unusable afterwards.
    fn is_fatal(&self) -> bool {
        match self {
            MysqlError::Query { source, .. } => !matches!(source, mysql_async::Error::Server(_)),
            _ => true,
        }
    }
}

/// The parts of a cycle, with mysqld_exporter's scraper names.
const SCRAPERS: [&str; 5] = [
    "collect.global_status",
    "collect.global_variables",
    "collect.slave_status",
    "collect.info_schema.innodb_cmp",
    "collect.info_schema.innodb_cmpmem",
];

/// The MySQL/MariaDB collector (`job="mysql"`).
#[derive(Debug)]
pub struct MysqlCollector {
    config: MysqlConfig,
    /// The open connection; taken out while a cycle uses it, so a cycle abandoned by the
    /// scheduler's timeout drops it instead of leaving it half-read.
    conn: Option<Conn>,
    /// Index into [`SLAVE_QUERIES`] of the statement this server understands.
    slave_query: usize,
    /// Whether the server is down (or refuses the login).
    down: FailureStreak,
    /// Per scraper (in [`SCRAPERS`] order): whether it fails.
    scrapers: [FailureStreak; SCRAPERS.len()],
}

impl MysqlCollector {
    pub fn new(config: &MysqlConfig) -> Self {
        MysqlCollector {
            config: config.clone(),
            conn: None,
            slave_query: 0,
            down: FailureStreak::default(),
            scrapers: Default::default(),
        }
    }

    /// `host:port` or the socket path, for messages.
    fn target(&self) -> String {
        match &self.config.socket {
            Some(socket) => format!("unix socket {}", socket.display()),
            None => format!("{}:{}", self.config.host, self.config.port),
        }
    }

    fn opts(&self) -> OptsBuilder {
        let config = &self.config;
        let mut opts = OptsBuilder::default()
            .user(Some(config.user.clone()))
            .pass(config.password.as_ref().map(|p| p.expose().to_owned()))
            .prefer_socket(false)
            .stmt_cache_size(0)
            .tcp_keepalive(Some(Duration::from_secs(60)));
        opts = match &config.socket {
            Some(socket) => opts.socket(Some(socket.to_string_lossy())),
            None => opts
                .ip_or_hostname(config.host.clone())
                .tcp_port(config.port),
        };
        if config.tls {
            let mut ssl = SslOpts::default();
            if let Some(ca) = &config.ca_file {
                ssl = ssl.with_root_certs(vec![ca.clone().into()]);
            }
            opts = opts.ssl_opts(ssl);
        }
        opts
    }

    async fn connect(&self) -> Result<Conn, MysqlError> {
        match tokio::time::timeout(CONNECT_TIMEOUT, Conn::new(self.opts())).await {
            Ok(Ok(conn)) => Ok(conn),
            Ok(Err(source)) => Err(MysqlError::Connect {
                target: self.target(),
                source,
            }),
            Err(_) => Err(MysqlError::ConnectTimeout {
                target: self.target(),
            }),
        }
    }

    /// Runs the queries over the kept connection, or a new one; replaces a kept connection
    /// that turned out broken once.
    async fn cycle(&mut self) -> Result<Pass, MysqlError> {
        let (mut conn, reused) = match self.conn.take() {
            Some(conn) => (conn, true),
            None => (self.connect().await?, false),
        };
        let mut cycle = self.scrape(&mut conn).await;
        if let Some(error) = cycle.fatal.take() {
            drop(conn);
            if !reused {
                return Err(error);
            }
            tracing::debug!(target = %self.target(), %error, "mysql connection broken; reconnecting");
            conn = self.connect().await?;
            cycle = self.scrape(&mut conn).await;
            if let Some(error) = cycle.fatal.take() {
                return Err(error);
            }
        }
        self.conn = Some(conn);
        Ok(cycle)
    }

    /// The queries over `conn`, one per scraper. A fatal (connection) error stops the cycle; a server
    /// error (a missing privilege) fails only its scraper.
    async fn scrape(&mut self, conn: &mut Conn) -> Pass {
        let mut cycle = Pass {
            families: Vec::with_capacity(1400),
            scrapers: Vec::with_capacity(SCRAPERS.len()),
            fatal: None,
        };
        for index in 0..SCRAPERS.len() {
            let start = Instant::now();
            let result = match index {
                0 => {
                    let mut status = GlobalStatus::default();
                    let result =
                        query_pairs(conn, "SHOW GLOBAL STATUS", |n, v| status.row(n, v)).await;
                    if result.is_ok() {
                        status.finish(&mut cycle.families);
                    }
                    result
                }
                1 => {
                    let mut variables = GlobalVariables::default();
                    let result =
                        query_pairs(conn, "SHOW GLOBAL VARIABLES", |n, v| variables.row(n, v))
                            .await;
                    if result.is_ok() {
                        variables.finish(&mut cycle.families);
                    }
                    result
                }
                2 => self.slave_status(conn, &mut cycle.families).await,
                3 => info_schema::text_rows(conn, info_schema::CMP_SQL)
                    .await
                    .map(|rows| info_schema::cmp_families(&rows, &mut cycle.families)),
                _ => info_schema::text_rows(conn, info_schema::CMPMEM_SQL)
                    .await
                    .map(|rows| info_schema::cmpmem_families(&rows, &mut cycle.families)),
            };
            let seconds = start.elapsed().as_secs_f64();
            match result {
                Ok(()) => cycle.scrapers.push(Ok(seconds)),
                Err(error) if error.is_fatal() => {
                    cycle.fatal = Some(error);
                    return cycle;
                }
                Err(error) => cycle.scrapers.push(Err((error, seconds))),
            }
        }
        cycle
    }

    /// The replica status, with the first statement this server understands.
    async fn slave_status(
        &mut self,
        conn: &mut Conn,
        out: &mut Vec<MetricFamily>,
    ) -> Result<(), MysqlError> {
        loop {
            let query = SLAVE_QUERIES[self.slave_query];
            let result = match conn.query_iter(query).await {
                Ok(result) => result,
                Err(mysql_async::Error::Server(error))
                    if error.code == ER_PARSE_ERROR
                        && self.slave_query + 1 < SLAVE_QUERIES.len() =>
                {
                    self.slave_query += 1;
                    continue;
                }
                Err(source) => return Err(MysqlError::Query { query, source }),
            };
            let replica_names = query.contains("REPLICA");
            let columns: Vec<String> = result
                .columns_ref()
                .iter()
                .map(|c| {
                    let name = c.name_str();
                    if replica_names {
                        legacy_column(&name)
                    } else {
                        name.into_owned()
                    }
                })
                .collect();
            let mut families = Vec::new();
            result
                .for_each_and_drop(|row: Row| {
                    let values: Vec<Option<&[u8]>> = (0..row.len())
                        .map(|i| match row.as_ref(i) {
                            Some(Value::Bytes(bytes)) => Some(bytes.as_slice()),
                            _ => None,
                        })
                        .collect();
                    slave_status_row(&columns, &values, &mut families);
                })
                .await
                .map_err(|source| MysqlError::Query { query, source })?;
            out.extend(families);
            return Ok(());
        }
    }

    /// One cycle: `mysql_up`, the families, and each scraper's success and duration.
    pub async fn collect_now(&mut self) -> Vec<MetricFamily> {
        let up = MetricFamily::gauge("mysql_up", "Whether the MySQL server is up.");
        let result = tokio::time::timeout(CYCLE_TIMEOUT, self.cycle())
            .await
            .unwrap_or(Err(MysqlError::CycleTimeout));
        let cycle = match result {
            Ok(cycle) => cycle,
            Err(error) => {
                let what = format_args!("mysql at {}", self.target());
                self.down.failed(
                    what,
                    error,
                    "down or refusing the login? reporting mysql_up 0 until it recovers",
                );
                return vec![up.with(&[], 0.0)];
            }
        };
        let what = format_args!("mysql at {}", self.target());
        self.down.succeeded(what, "is reachable again");
        let mut out = Vec::with_capacity(cycle.families.len() + 3);
        out.push(up.with(&[], 1.0));
        out.extend(cycle.families);
        let mut success = MetricFamily::gauge(
            "mysql_exporter_collector_success",
            "mysqld_exporter: Whether a collector succeeded.",
        );
        let mut duration = MetricFamily::gauge(
            "mysql_exporter_collector_duration_seconds",
            "Collector time duration.",
        );
        for (index, outcome) in cycle.scrapers.into_iter().enumerate() {
            let (ok, seconds) = match outcome {
                Ok(seconds) => {
                    let what =
                        format_args!("mysql scraper {} at {}", SCRAPERS[index], self.target());
                    self.scrapers[index].succeeded(what, "works again");
                    (1.0, seconds)
                }
                Err((error, seconds)) => {
                    let what =
                        format_args!("mysql scraper {} at {}", SCRAPERS[index], self.target());
                    self.scrapers[index].failed(what, error, "a missing privilege?");
                    (0.0, seconds)
                }
            };
            success.push(&[("collector", SCRAPERS[index])], ok);
            duration.push(&[("collector", SCRAPERS[index])], seconds);
        }
        out.push(success);
        out.push(duration);
        out
    }
}

/// What one pass over a connection produced.
struct Pass {
    families: Vec<MetricFamily>,
    /// Per scraper, in [`SCRAPERS`] order: its duration, or its error and duration.
    scrapers: Vec<Result<f64, (MysqlError, f64)>>,
    /// A connection-level error that ended the pass.
    fatal: Option<MysqlError>,
}

/// Runs a two-column `SHOW` statement and hands each `(name, raw value)` to `each`; NULL
/// values come as empty.
async fn query_pairs(
    conn: &mut Conn,
    query: &'static str,
    mut each: impl FnMut(&str, &[u8]),
) -> Result<(), MysqlError> {
    let error = |source| MysqlError::Query { query, source };
    let result = conn.query_iter(query).await.map_err(error)?;
    result
        .for_each_and_drop(|row: Row| {
            let Some(Value::Bytes(name)) = row.as_ref(0) else {
                return;
            };
            let raw = match row.as_ref(1) {
                Some(Value::Bytes(bytes)) => bytes.as_slice(),
                _ => b"",
            };
            if let Ok(name) = std::str::from_utf8(name) {
                each(name, raw);
            }
        })
        .await
        .map_err(error)
}

impl Collector for MysqlCollector {
    fn job(&self) -> &'static str {
        "mysql"
    }

    fn collect(&mut self, _cycle: Cycle) -> CollectFuture<'_> {
        Box::pin(async move { Ok::<_, CollectError>(self.collect_now().await) })
    }
}
