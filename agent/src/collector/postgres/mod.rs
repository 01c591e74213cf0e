//! The PostgreSQL collector: prometheus-community/postgres_exporter's names, types and labels
//! (`pg_up`, `pg_static`, `pg_stat_database_*`, `pg_stat_database_conflicts_*`,
//! `pg_database_size_bytes`, `pg_stat_activity_*`, `pg_locks_count`, `pg_stat_bgwriter_*`,
//! `pg_stat_archiver_*`, `pg_replication_*`, `pg_replication_slots_*`,
//! `pg_stat_replication_*`, `pg_settings_*`), every default series of Debian's 0.11 but its
//! `server` label (the agent's `instance` names the server).
//!
//! One connection is kept across cycles and re-opened when it breaks. A cycle is a single
//! simple-query round trip carrying every statement (see [`queries::cycle_sql`]), so the
//! collector costs the server one parse of a few catalog views and the agent one read.

pub mod config;
mod queries;
mod settings;
mod stat_database;
mod tls;
mod wal;

#[cfg(test)]
mod tests;

pub use config::PostgresConfig;

use super::{CollectFuture, Collector, Cycle};
use peeper_proto::MetricFamily;
use peeper_proto::failures::FailureStreak;
use queries::{Row, ServerVersion};
use std::time::{Duration, Instant};
use tokio_postgres::{Client, SimpleQueryMessage, SimpleQueryRow};

/// How long connecting (TCP, TLS, authentication) may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// How long the statements of one cycle may take.
const QUERY_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum PostgresError {
    #[error("cannot connect to PostgreSQL at {target} as {user}: {source}")]
    Connect {
        target: String,
        user: String,
        #[source]
        source: tokio_postgres::Error,
    },
    #[error("connecting to PostgreSQL at {0} timed out after {CONNECT_TIMEOUT:?}")]
    ConnectTimeout(String),
    #[error("TLS setup for PostgreSQL: {0}")]
    Tls(String),
    #[error("PostgreSQL statistics query failed: {0}")]
    Query(#[source] tokio_postgres::Error),
    #[error("PostgreSQL statistics query timed out after {QUERY_TIMEOUT:?}")]
    QueryTimeout,
    #[error("unexpected reply from PostgreSQL: {0}")]
    Reply(String),
}

impl PostgresError {
    /// True when the failure means the server cannot be used at all (`pg_up 0`).
    fn is_connection(&self) -> bool {
        match self {
            PostgresError::Connect { .. }
            | PostgresError::ConnectTimeout(_)
            | PostgresError::Tls(_) => true,
            PostgresError::Query(error) => error.is_closed(),
            PostgresError::QueryTimeout | PostgresError::Reply(_) => false,
        }
    }
}

/// A live connection and what was learnt when it was opened.
#[derive(Debug)]
struct Session {
    client: Client,
    version: ServerVersion,
    sql: String,
}

/// The PostgreSQL collector (`job="postgres"`).
#[derive(Debug)]
pub struct PostgresCollector {
    config: PostgresConfig,
    session: Option<Session>,
    /// Whether PostgreSQL is unusable (logged when that starts and ends).
    streak: FailureStreak,
}

impl PostgresCollector {
    pub fn new(config: &PostgresConfig) -> Self {
        PostgresCollector {
            config: config.clone(),
            session: None,
            streak: FailureStreak::default(),
        }
    }

    fn target(&self) -> String {
        if self.config.host.starts_with('/') {
            format!("{}/.s.PGSQL.{}", self.config.host, self.config.port)
        } else {
            format!("{}:{}", self.config.host, self.config.port)
        }
    }

    fn pg_config(&self) -> tokio_postgres::Config {
        let mut pg = tokio_postgres::Config::new();
        pg.host(&self.config.host)
            .port(self.config.port)
            .user(&self.config.user)
            .dbname(&self.config.database)
            .application_name("peeper-agent")
            .connect_timeout(CONNECT_TIMEOUT)
            .keepalives(true);
        if let Some(password) = &self.config.password {
            pg.password(password.expose());
        }
        // Unix sockets never use TLS (as libpq).
        let mode = match self.config.sslmode.as_str() {
            _ if self.config.host.starts_with('/') => tokio_postgres::config::SslMode::Disable,
            "disable" => tokio_postgres::config::SslMode::Disable,
            "require" => tokio_postgres::config::SslMode::Require,
            _ => tokio_postgres::config::SslMode::Prefer,
        };
        pg.ssl_mode(mode);
        pg
    }

    async fn connect(&self) -> Result<Session, PostgresError> {
        let pg = self.pg_config();
        let target = self.target();
        let connect_error = |source| PostgresError::Connect {
            target: target.clone(),
            user: self.config.user.clone(),
            source,
        };
        let connecting = async {
            if pg.get_ssl_mode() == tokio_postgres::config::SslMode::Disable {
                let (client, connection) = pg
                    .connect(tokio_postgres::NoTls)
                    .await
                    .map_err(connect_error)?;
                tokio::spawn(async move {
                    let _ = connection.await;
                });
                Ok(client)
            } else {
                let tls = tls::connector(self.config.ca_file.as_deref())?;
                let (client, connection) = pg.connect(tls).await.map_err(connect_error)?;
                tokio::spawn(async move {
                    let _ = connection.await;
                });
                Ok(client)
            }
        };
        let client = tokio::time::timeout(CONNECT_TIMEOUT + Duration::from_secs(1), connecting)
            .await
            .map_err(|_| PostgresError::ConnectTimeout(target.clone()))??;
        let sets = run(&client, queries::VERSION_SQL).await?;
        let row = sets
            .first()
            .and_then(|set| set.first())
            .ok_or_else(|| PostgresError::Reply("no row for the server version".into()))?;
        let num: u32 = row
            .text(0)
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| PostgresError::Reply("server_version_num is not a number".into()))?;
        if num < 100000 {
            return Err(PostgresError::Reply(format!(
                "PostgreSQL {num} is too old: the collector needs PostgreSQL 10 or later"
            )));
        }
        let version = ServerVersion {
            num,
            full: row.text(1).unwrap_or_default().to_owned(),
        };
        Ok(Session {
            client,
            sql: queries::cycle_sql(num),
            version,
        })
    }

    /// One cycle's statistics from the kept session, opening it first if needed. A session
    /// found broken is re-opened once within the cycle (a server restart costs no sample).
    async fn scrape(&mut self, out: &mut Vec<MetricFamily>) -> Result<(), PostgresError> {
        for attempt in 0..2 {
            let reused = self.session.is_some();
            let session = match self.session.take() {
                Some(session) if !session.client.is_closed() => session,
                _ => self.connect().await?,
            };
            match run(&session.client, &session.sql).await {
                Ok(sets) if sets.len() == queries::SECTIONS => {
                    out.push(queries::static_family(&session.version));
                    queries::families(session.version.num, &sets, out);
                    self.session = Some(session);
                    return Ok(());
                }
                Ok(sets) => {
                    self.session = Some(session);
                    return Err(PostgresError::Reply(format!(
                        "{} result sets instead of {}",
                        sets.len(),
                        queries::SECTIONS
                    )));
                }
                Err(error) if error.is_connection() && reused && attempt == 0 => continue,
                Err(error) => {
                    if !error.is_connection() && !matches!(error, PostgresError::QueryTimeout) {
                        out.push(queries::static_family(&session.version));
                        self.session = Some(session);
                    }
                    return Err(error);
                }
            }
        }
        Err(PostgresError::Reply("connection lost twice".into()))
    }

    /// Collects one cycle: always `pg_up`, the statistics when the server answered.
    pub async fn collect_now(&mut self) -> Vec<MetricFamily> {
        let start = Instant::now();
        let mut out = Vec::with_capacity(320);
        let result = self.scrape(&mut out).await;
        let (up, scrape_error) = match &result {
            Ok(()) => (1.0, 0.0),
            Err(error) if error.is_connection() => (0.0, 1.0),
            Err(_) => (1.0, 1.0),
        };
        match result {
            Ok(()) => {
                let what = format_args!("PostgreSQL statistics from {}", self.target());
                self.streak.succeeded(what, "work again");
            }
            Err(error) => {
                let what = format_args!("PostgreSQL at {}", self.target());
                self.streak.failed(
                    what,
                    error,
                    "reporting pg_up 0 (or pg_exporter_last_scrape_error 1) until it works",
                );
            }
        }
        out.retain(|family| !family.series.is_empty());
        out.push(MetricFamily::gauge(
            "pg_up",
            "Whether the last scrape of metrics from PostgreSQL was able to connect to the server (1 for yes, 0 for no).",
        ).with(&[], up));
        out.push(MetricFamily::gauge(
            "pg_exporter_last_scrape_error",
            "Whether the last scrape of metrics from PostgreSQL resulted in an error (1 for error, 0 for success).",
        ).with(&[], scrape_error));
        let seconds = start.elapsed().as_secs_f64();
        out.push(
            MetricFamily::gauge(
                "pg_exporter_last_scrape_duration_seconds",
                "Duration of the last scrape of metrics from PostgresSQL.",
            )
            .with(&[], seconds),
        );
        out.extend(scrape_collector_families(scrape_error == 0.0, seconds));
        out
    }
}

/// postgres_exporter 0.11's `pg_scrape_collector_*` for its two collectors (`database`:
/// `pg_database_size_bytes`, `bgwriter`: `pg_stat_bgwriter_*`). The agent reads both in the
/// cycle's one round trip, so both report its outcome and its duration.
fn scrape_collector_families(success: bool, seconds: f64) -> [MetricFamily; 2] {
    let mut succeeded = MetricFamily::gauge(
        "pg_scrape_collector_success",
        "postgres_exporter: Whether a collector succeeded.",
    );
    let mut duration = MetricFamily::gauge(
        "pg_scrape_collector_duration_seconds",
        "postgres_exporter: Duration of a collector scrape.",
    );
    for collector in ["bgwriter", "database"] {
        succeeded.push(&[("collector", collector)], if success { 1.0 } else { 0.0 });
        duration.push(&[("collector", collector)], seconds);
    }
    [succeeded, duration]
}

/// Runs `sql` (one or more statements) in one simple-query round trip and splits the rows
/// into one set per statement.
async fn run(client: &Client, sql: &str) -> Result<Vec<Vec<SimpleQueryRow>>, PostgresError> {
    let messages = tokio::time::timeout(QUERY_TIMEOUT, client.simple_query(sql))
        .await
        .map_err(|_| PostgresError::QueryTimeout)?
        .map_err(PostgresError::Query)?;
    let mut sets = Vec::new();
    let mut current = Vec::new();
    for message in messages {
        match message {
            SimpleQueryMessage::Row(row) => current.push(row),
            SimpleQueryMessage::CommandComplete(_) => sets.push(std::mem::take(&mut current)),
            _ => {}
        }
    }
    Ok(sets)
}

impl Collector for PostgresCollector {
    fn job(&self) -> &'static str {
        "postgres"
    }

    fn collect(&mut self, _cycle: Cycle) -> CollectFuture<'_> {
        Box::pin(async move { Ok(self.collect_now().await) })
    }
}
