//! Pure conversions of `SHOW GLOBAL STATUS`, `SHOW GLOBAL VARIABLES` and `SHOW SLAVE STATUS`
//! rows into mysqld_exporter's families (prometheus/mysqld_exporter, `collector/
//! global_status.go`, `global_variables.go`, `slave_status.go`): the same names, types,
//! labels and help texts.

use peeper_proto::MetricFamily;

pub use super::value::parse_value;

/// mysqld_exporter's `validPrometheusName`: lower case, anything but `[a-z0-9_]` → `_`.
pub fn metric_name(prefix: &str, key: &str) -> String {
    let mut name = String::with_capacity(prefix.len() + key.len());
    name.push_str(prefix);
    name.extend(key.chars().map(|c| {
        if c.is_ascii_alphanumeric() || c == '_' {
            c.to_ascii_lowercase()
        } else {
            '_'
        }
    }));
    name
}

const STATUS: &str = "mysql_global_status_";

/// The grouped families of `SHOW GLOBAL STATUS`, filled as rows arrive.
#[derive(Debug)]
struct Grouped {
    commands: MetricFamily,
    handlers: MetricFamily,
    connection_errors: MetricFamily,
    buffer_pool_pages: MetricFamily,
    buffer_pool_dirty_pages: MetricFamily,
    buffer_pool_page_changes: MetricFamily,
    innodb_row_ops: MetricFamily,
    performance_schema_lost: MetricFamily,
}

impl Grouped {
    fn new() -> Self {
        Grouped {
            commands: MetricFamily::counter(
                "mysql_global_status_commands_total",
                "Total number of executed MySQL commands.",
            ),
            handlers: MetricFamily::counter(
                "mysql_global_status_handlers_total",
                "Total number of executed MySQL handlers.",
            ),
            connection_errors: MetricFamily::counter(
                "mysql_global_status_connection_errors_total",
                "Total number of MySQL connection errors.",
            ),
            buffer_pool_pages: MetricFamily::gauge(
                "mysql_global_status_buffer_pool_pages",
                "Innodb buffer pool pages by state.",
            ),
            buffer_pool_dirty_pages: MetricFamily::gauge(
                "mysql_global_status_buffer_pool_dirty_pages",
                "Innodb buffer pool dirty pages.",
            ),
            buffer_pool_page_changes: MetricFamily::counter(
                "mysql_global_status_buffer_pool_page_changes_total",
                "Innodb buffer pool page state changes.",
            ),
            innodb_row_ops: MetricFamily::counter(
                "mysql_global_status_innodb_row_ops_total",
                "Total number of MySQL InnoDB row operations.",
            ),
            performance_schema_lost: MetricFamily::counter(
                "mysql_global_status_performance_schema_lost_total",
                "Total number of MySQL instrumentations that could not be loaded or created due to memory constraints.",
            ),
        }
    }

    /// Files `key` (already lower case) under its group; false when it belongs to none.
    fn add(&mut self, key: &str, value: f64) -> bool {
        let groups: [(&str, &str); 6] = [
            ("com_", "command"),
            ("handler_", "handler"),
            ("connection_errors_", "error"),
            ("innodb_buffer_pool_pages_", "state"),
            ("innodb_rows_", "operation"),
            ("performance_schema_", "instrumentation"),
        ];
        for (index, (prefix, label)) in groups.iter().enumerate() {
            let Some(rest) = key.strip_prefix(prefix) else {
                continue;
            };
            let family = match index {
                0 => &mut self.commands,
                1 => &mut self.handlers,
                2 => &mut self.connection_errors,
                3 => match rest {
                    "data" | "free" | "misc" | "old" => &mut self.buffer_pool_pages,
                    "dirty" => {
                        self.buffer_pool_dirty_pages.push(&[], value);
                        return true;
                    }
                    "total" => return true,
                    _ => {
                        self.buffer_pool_page_changes
                            .push(&[("operation", rest)], value);
                        return true;
                    }
                },
                4 => &mut self.innodb_row_ops,
                _ => &mut self.performance_schema_lost,
            };
            family.push(&[(label, rest)], value);
            return true;
        }
        false
    }

    fn into_families(self, out: &mut Vec<MetricFamily>) {
        out.extend(
            [
                self.commands,
                self.handlers,
                self.connection_errors,
                self.buffer_pool_pages,
                self.buffer_pool_dirty_pages,
                self.buffer_pool_page_changes,
                self.innodb_row_ops,
                self.performance_schema_lost,
            ]
            .into_iter()
            .filter(|f| !f.series.is_empty()),
        );
    }
}

/// Builds the families of `SHOW GLOBAL STATUS` row by row.
#[derive(Debug)]
pub struct GlobalStatus {
    generic: Vec<MetricFamily>,
    grouped: Grouped,
    /// wsrep_local_state_uuid, wsrep_cluster_state_uuid, wsrep_provider_version,
    /// wsrep_evs_repl_latency.
    wsrep: [String; 4],
}

impl Default for GlobalStatus {
    fn default() -> Self {
        GlobalStatus {
            generic: Vec::with_capacity(512),
            grouped: Grouped::new(),
            wsrep: Default::default(),
        }
    }
}

impl GlobalStatus {
    pub fn row(&mut self, name: &str, raw: &[u8]) {
        if let Some(value) = parse_value(raw) {
            let key = metric_name("", name);
            if !self.grouped.add(&key, value) {
                self.generic.push(
                    MetricFamily::untyped(
                        STATUS.to_owned() + &key,
                        "Generic metric from SHOW GLOBAL STATUS.",
                    )
                    .with(&[], value),
                );
            }
            return;
        }
        let slot = match name.to_ascii_lowercase().as_str() {
            "wsrep_local_state_uuid" => 0,
            "wsrep_cluster_state_uuid" => 1,
            "wsrep_provider_version" => 2,
            "wsrep_evs_repl_latency" => 3,
            _ => return,
        };
        self.wsrep[slot] = String::from_utf8_lossy(raw).into_owned();
    }

    pub fn finish(self, out: &mut Vec<MetricFamily>) {
        out.extend(self.generic);
        self.grouped.into_families(out);
        let [local_uuid, cluster_uuid, provider_version, latency] = &self.wsrep;
        if !local_uuid.is_empty() {
            out.push(
                MetricFamily::gauge("mysql_galera_status_info", "PXC/Galera status information.")
                    .with(
                        &[
                            ("wsrep_local_state_uuid", local_uuid),
                            ("wsrep_cluster_state_uuid", cluster_uuid),
                            ("wsrep_provider_version", provider_version),
                        ],
                        1.0,
                    ),
            );
        }
        if !latency.is_empty() {
            let values: Vec<Option<f64>> = latency.split('/').map(|v| v.parse().ok()).collect();
            let names = [
                (
                    "min_seconds",
                    "PXC/Galera group communication latency. Min value.",
                ),
                (
                    "avg_seconds",
                    "PXC/Galera group communication latency. Avg value.",
                ),
                (
                    "max_seconds",
                    "PXC/Galera group communication latency. Max value.",
                ),
                (
                    "stdev",
                    "PXC/Galera group communication latency. Standard Deviation.",
                ),
                (
                    "sample_size",
                    "PXC/Galera group communication latency. Sample Size.",
                ),
            ];
            if values.len() == names.len() && values.iter().all(Option::is_some) {
                for ((name, help), value) in names.iter().zip(values) {
                    out.push(
                        MetricFamily::gauge(format!("mysql_galera_evs_repl_latency_{name}"), *help)
                            .with(&[], value.unwrap_or_default()),
                    );
                }
            }
        }
    }
}

/// Builds the families of `SHOW GLOBAL VARIABLES` row by row.
#[derive(Debug, Default)]
pub struct GlobalVariables {
    families: Vec<MetricFamily>,
    /// innodb_version, version, version_comment, wsrep_cluster_name, wsrep_provider_options,
    /// transaction_isolation, tx_isolation (its name before MySQL 8 and MariaDB 11.1).
    text: [String; 7],
}

impl GlobalVariables {
    pub fn row(&mut self, name: &str, raw: &[u8]) {
        if let Some(value) = parse_value(raw) {
            self.families.push(
                MetricFamily::gauge(
                    metric_name("mysql_global_variables_", name),
                    "Generic gauge metric from SHOW GLOBAL VARIABLES.",
                )
                .with(&[], value),
            );
            return;
        }
        let slot = match name.to_ascii_lowercase().as_str() {
            "innodb_version" => 0,
            "version" => 1,
            "version_comment" => 2,
            "wsrep_cluster_name" => 3,
            "wsrep_provider_options" => 4,
            "transaction_isolation" => 5,
            "tx_isolation" => 6,
            _ => return,
        };
        self.text[slot] = String::from_utf8_lossy(raw).into_owned();
    }

    pub fn finish(self, out: &mut Vec<MetricFamily>) {
        out.extend(self.families);
        let [
            innodb_version,
            version,
            comment,
            cluster,
            provider_options,
            isolation,
            tx_isolation,
        ] = &self.text;
        out.push(
            MetricFamily::gauge("mysql_version_info", "MySQL version and distribution.").with(
                &[
                    ("innodb_version", innodb_version),
                    ("version", version),
                    ("version_comment", comment),
                ],
                1.0,
            ),
        );
        if !cluster.is_empty() {
            out.push(
                MetricFamily::gauge(
                    "mysql_galera_variables_info",
                    "PXC/Galera variables information.",
                )
                .with(&[("wsrep_cluster_name", cluster)], 1.0),
            );
        }
        if !provider_options.is_empty() {
            out.push(
                MetricFamily::gauge("mysql_galera_gcache_size_bytes", "PXC/Galera gcache size.")
                    .with(&[], gcache_size(provider_options)),
            );
        }
        let level = if isolation.is_empty() {
            tx_isolation
        } else {
            isolation
        };
        if !level.is_empty() {
            out.push(
                MetricFamily::gauge(
                    "mysql_transaction_isolation",
                    "MySQL transaction isolation.",
                )
                .with(&[("level", level)], 1.0),
            );
        }
    }
}

/// `gcache.size = 128M;` in `wsrep_provider_options`, in bytes (0 when absent).
pub fn gcache_size(options: &str) -> f64 {
    let Some(start) = options.find("gcache.size = ") else {
        return 0.0;
    };
    let rest = &options[start + "gcache.size = ".len()..];
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let Ok(value) = rest[..digits].parse::<f64>() else {
        return 0.0;
    };
    match &rest.as_bytes()[digits..] {
        [b'M', b';', ..] => value * 1024.0 * 1024.0,
        [b'G', b';', ..] => value * 1024.0 * 1024.0 * 1024.0,
        [b';', ..] => value,
        _ => 0.0,
    }
}

/// The legacy column name of a `SHOW REPLICA STATUS` column (MySQL 8.0.22+ renamed them),
/// so dashboards written for `mysql_slave_status_slave_io_running` keep working.
pub fn legacy_column(column: &str) -> String {
    column
        .replace("Source", "Master")
        .replace("source", "master")
        .replace("Replica", "Slave")
        .replace("replica", "slave")
}

/// Adds the families of one row of `SHOW SLAVE STATUS` (one per replication channel).
/// `columns` are already legacy names; `values` are the raw values (None for NULL).
pub fn slave_status_row(columns: &[String], values: &[Option<&[u8]>], out: &mut Vec<MetricFamily>) {
    let text = |name: &str| -> String {
        columns
            .iter()
            .position(|c| c == name)
            .and_then(|i| values.get(i).copied().flatten())
            .map(|v| String::from_utf8_lossy(v).into_owned())
            .unwrap_or_default()
    };
    let master_host = text("Master_Host");
    let master_uuid = text("Master_UUID");
    let channel_name = text("Channel_Name");
    let connection_name = text("Connection_name");
    let labels = [
        ("master_host", master_host.as_str()),
        ("master_uuid", master_uuid.as_str()),
        ("channel_name", channel_name.as_str()),
        ("connection_name", connection_name.as_str()),
    ];
    for (column, raw) in columns.iter().zip(values) {
        let Some(value) = raw.and_then(parse_value) else {
            continue;
        };
        let name = metric_name("mysql_slave_status_", column);
        let help = "Generic metric from SHOW SLAVE STATUS.";
        match out.iter_mut().find(|f| f.name == name) {
            Some(family) => family.push(&labels, value),
            None => out.push(MetricFamily::untyped(name, help).with(&labels, value)),
        }
    }
}
