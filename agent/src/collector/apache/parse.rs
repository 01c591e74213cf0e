//! A pure parser of mod_status's machine-readable page (`/server-status?auto`) and the
//! families apache_exporter (Lusitaniae/apache_exporter, `collector/collector.go`) makes of
//! it: the same names, types, labels and help texts.

use super::ApacheError;
use peeper_proto::MetricFamily;

/// Scoreboard characters and their `state` labels, in the order they are emitted. Every one
/// of them is always present (0 when absent), as in apache_exporter.
pub const SCOREBOARD_STATES: [(char, &str); 11] = [
    ('_', "idle"),
    ('S', "startup"),
    ('R', "read"),
    ('W', "reply"),
    ('K', "keepalive"),
    ('D', "dns"),
    ('C', "closing"),
    ('L', "logging"),
    ('G', "graceful_stop"),
    ('I', "idle_cleanup"),
    ('.', "open_slot"),
];

/// One worker of a proxy balancer (`ProxyStatus On` with mod_proxy_balancer).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BalancerWorker {
    pub balancer: String,
    pub worker: String,
    pub status: Option<String>,
    pub elected: Option<f64>,
    pub busy: Option<f64>,
    /// Kilobytes, from `Sent: 10K`.
    pub sent_kbytes: Option<f64>,
    pub rcvd_kbytes: Option<f64>,
}

/// The values of one status page; `None` where the page did not carry the line.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Status {
    /// `ServerVersion`, e.g. `Apache/2.4.57 (Debian)`.
    pub version: Option<String>,
    pub mpm: Option<String>,
    pub generation_config: Option<f64>,
    pub generation_mpm: Option<f64>,
    pub load: [Option<f64>; 3],
    pub accesses: Option<f64>,
    pub kbytes: Option<f64>,
    pub duration_ms: Option<f64>,
    /// `CPUUser + CPUChildrenUser` and `CPUSystem + CPUChildrenSystem`, in seconds.
    pub cpu_user: f64,
    pub cpu_system: f64,
    pub cpu_found: bool,
    pub cpu_load: Option<f64>,
    pub uptime: Option<f64>,
    pub busy_workers: Option<f64>,
    pub idle_workers: Option<f64>,
    pub processes: Option<f64>,
    pub stopping: Option<f64>,
    /// Event MPM: total, writing, keepalive, closing.
    pub conns: [Option<f64>; 4],
    /// Counts per scoreboard state, [`SCOREBOARD_STATES`] first, then unknown characters
    /// under their own character, in order of appearance.
    pub scoreboard: Option<Vec<(String, f64)>>,
    pub balancer_workers: Vec<BalancerWorker>,
}

fn number(key: &str, value: &str) -> Result<f64, ApacheError> {
    // mod_status writes fractions without a leading zero (`.02`); Rust's parser takes those.
    value.parse::<f64>().map_err(|_| ApacheError::Parse {
        key: key.to_owned(),
        value: value.to_owned(),
    })
}

/// Counts the scoreboard string's characters by state.
pub fn scoreboard(board: &str) -> Vec<(String, f64)> {
    let mut counts: Vec<(String, f64)> = SCOREBOARD_STATES
        .iter()
        .map(|(_, state)| ((*state).to_owned(), 0.0))
        .collect();
    for c in board.chars() {
        match SCOREBOARD_STATES.iter().position(|(ch, _)| *ch == c) {
            Some(index) => counts[index].1 += 1.0,
            None => {
                let label = c.to_string();
                match counts.iter_mut().find(|(state, _)| *state == label) {
                    Some(entry) => entry.1 += 1.0,
                    None => counts.push((label, 1.0)),
                }
            }
        }
    }
    counts
}

/// apache_exporter's version number: `2.4.57` becomes 2.04057.
pub fn version_number(server_version: &str) -> Option<f64> {
    let after_slash = server_version.split('/').nth(1)?;
    let number = after_slash.split(' ').next()?;
    let mut parts = number.split('.');
    let (major, minor, patch) = (parts.next()?, parts.next()?, parts.next()?);
    format!("{major}.{minor:0>2}{patch:0>3}").parse().ok()
}

/// `ProxyBalancer[0]Name` → true.
fn is_balancer_name(key: &str) -> bool {
    key.strip_prefix("ProxyBalancer[")
        .and_then(|rest| rest.split_once(']'))
        .is_some_and(|(index, rest)| is_index(index) && rest == "Name")
}

/// `ProxyBalancer[0]Worker[1]Elected` → `Elected`.
fn balancer_worker_field(key: &str) -> Option<&str> {
    let rest = key.strip_prefix("ProxyBalancer[")?;
    let (index, rest) = rest.split_once(']')?;
    let rest = rest.strip_prefix("Worker[")?;
    let (worker, field) = rest.split_once(']')?;
    (is_index(index)
        && is_index(worker)
        && !field.is_empty()
        && !field.contains(char::is_whitespace))
    .then_some(field)
}

fn is_index(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// Parses the `?auto` page. Fails on a malformed number in a known line (as the exporter
/// does) and on a page that is not a mod_status `?auto` page at all.
pub fn parse(text: &str) -> Result<Status, ApacheError> {
    let mut status = Status::default();
    let mut balancer = "UNKNOWN".to_owned();
    let mut worker = "UNKNOWN".to_owned();
    for line in text.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let (key, value) = (key.trim(), value.trim());
        match key {
            "ServerVersion" => status.version = Some(value.to_owned()),
            "ServerMPM" => status.mpm = Some(value.to_owned()),
            "ParentServerConfigGeneration" => status.generation_config = Some(number(key, value)?),
            "ParentServerMPMGeneration" => status.generation_mpm = Some(number(key, value)?),
            "Load1" => status.load[0] = Some(number(key, value)?),
            "Load5" => status.load[1] = Some(number(key, value)?),
            "Load15" => status.load[2] = Some(number(key, value)?),
            "Total Accesses" => status.accesses = Some(number(key, value)?),
            "Total kBytes" => status.kbytes = Some(number(key, value)?),
            "Total Duration" => status.duration_ms = Some(number(key, value)?),
            "CPUUser" | "CPUChildrenUser" => {
                status.cpu_user += number(key, value)?;
                status.cpu_found = true;
            }
            "CPUSystem" | "CPUChildrenSystem" => {
                status.cpu_system += number(key, value)?;
                status.cpu_found = true;
            }
            "CPULoad" => status.cpu_load = Some(number(key, value)?),
            "Uptime" => status.uptime = Some(number(key, value)?),
            "BusyWorkers" => status.busy_workers = Some(number(key, value)?),
            "IdleWorkers" => status.idle_workers = Some(number(key, value)?),
            "Processes" => status.processes = Some(number(key, value)?),
            "Stopping" => status.stopping = Some(number(key, value)?),
            "ConnsTotal" => status.conns[0] = Some(number(key, value)?),
            "ConnsAsyncWriting" => status.conns[1] = Some(number(key, value)?),
            "ConnsAsyncKeepAlive" => status.conns[2] = Some(number(key, value)?),
            "ConnsAsyncClosing" => status.conns[3] = Some(number(key, value)?),
            "Scoreboard" => status.scoreboard = Some(scoreboard(value)),
            _ if is_balancer_name(key) => balancer = value.to_owned(),
            _ => {
                let Some(field) = balancer_worker_field(key) else {
                    continue;
                };
                if field == "Name" {
                    worker = value.to_owned();
                    continue;
                }
                let entry = match status.balancer_workers.last_mut() {
                    Some(last) if last.balancer == balancer && last.worker == worker => last,
                    _ => {
                        status.balancer_workers.push(BalancerWorker {
                            balancer: balancer.clone(),
                            worker: worker.clone(),
                            ..Default::default()
                        });
                        status.balancer_workers.last_mut().expect("just pushed")
                    }
                };
                let kbytes = |v: &str| number(key, v.trim_end_matches(['k', 'K']));
                match field {
                    "Status" => entry.status = Some(value.to_owned()),
                    "Elected" => entry.elected = Some(number(key, value)?),
                    "Busy" => entry.busy = Some(number(key, value)?),
                    "Sent" => entry.sent_kbytes = Some(kbytes(value)?),
                    "Rcvd" => entry.rcvd_kbytes = Some(kbytes(value)?),
                    _ => {}
                }
            }
        }
    }
    if status.scoreboard.is_none() && status.busy_workers.is_none() {
        return Err(ApacheError::NotStatusPage);
    }
    Ok(status)
}

/// Adds a family with one unlabelled series when the value is present.
fn single(out: &mut Vec<MetricFamily>, mut family: MetricFamily, value: Option<f64>) {
    if let Some(value) = value {
        family.push(&[], value);
        out.push(family);
    }
}

/// Adds a family with one series per present `(label value, value)`, if any.
fn labelled(
    out: &mut Vec<MetricFamily>,
    mut family: MetricFamily,
    label: &str,
    values: &[(&str, Option<f64>)],
) {
    for (name, value) in values {
        if let Some(value) = value {
            family.push(&[(label, name)], *value);
        }
    }
    if !family.series.is_empty() {
        out.push(family);
    }
}

/// apache_exporter's families for one page, `apache_up` not included.
pub fn families(status: &Status) -> Vec<MetricFamily> {
    let mut out = Vec::with_capacity(24);
    server_families(status, &mut out);
    traffic_families(status, &mut out);
    worker_families(status, &mut out);
    balancer_families(&status.balancer_workers, &mut out);
    out
}

/// The server itself: version, MPM, restart generations, load.
fn server_families(status: &Status, out: &mut Vec<MetricFamily>) {
    if let Some(version) = status.version.as_deref().and_then(version_number) {
        out.push(MetricFamily::gauge("apache_version", "Apache server version").with(&[], version));
    }
    out.push(
        MetricFamily::gauge("apache_info", "Apache version information").with(
            &[
                ("version", status.version.as_deref().unwrap_or("UNKNOWN")),
                ("mpm", status.mpm.as_deref().unwrap_or("UNKNOWN")),
            ],
            1.0,
        ),
    );
    labelled(
        out,
        MetricFamily::gauge("apache_generation", "Apache restart generation"),
        "type",
        &[
            ("config", status.generation_config),
            ("mpm", status.generation_mpm),
        ],
    );
    labelled(
        out,
        MetricFamily::gauge("apache_load", "Apache server load"),
        "interval",
        &[
            ("1min", status.load[0]),
            ("5min", status.load[1]),
            ("15min", status.load[2]),
        ],
    );
}

/// What the server did: accesses, bytes, request time, CPU, uptime.
fn traffic_families(status: &Status, out: &mut Vec<MetricFamily>) {
    single(
        out,
        MetricFamily::counter("apache_accesses_total", "Current total apache accesses (*)"),
        status.accesses,
    );
    single(
        out,
        MetricFamily::counter(
            "apache_sent_kilobytes_total",
            "Current total kbytes sent (*)",
        ),
        status.kbytes,
    );
    single(
        out,
        MetricFamily::counter(
            "apache_duration_ms_total",
            "Total duration of all registered requests in ms",
        ),
        status.duration_ms,
    );
    if status.cpu_found {
        let mut cpu = MetricFamily::counter("apache_cpu_time_ms_total", "Apache CPU time");
        cpu.push(&[("type", "user")], 1000.0 * status.cpu_user);
        cpu.push(&[("type", "system")], 1000.0 * status.cpu_system);
        out.push(cpu);
    }
    out.push(
        MetricFamily::gauge(
            "apache_cpuload",
            "The current percentage CPU used by each worker and in total by all workers combined (*)",
        )
        .with(&[], status.cpu_load.unwrap_or(0.0)),
    );
    single(
        out,
        MetricFamily::counter(
            "apache_uptime_seconds_total",
            "Current uptime in seconds (*)",
        ),
        status.uptime,
    );
}

/// Workers, processes, connections and the scoreboard.
fn worker_families(status: &Status, out: &mut Vec<MetricFamily>) {
    labelled(
        out,
        MetricFamily::gauge("apache_workers", "Apache worker statuses"),
        "state",
        &[("busy", status.busy_workers), ("idle", status.idle_workers)],
    );
    labelled(
        out,
        MetricFamily::gauge("apache_processes", "Apache process count"),
        "state",
        &[("all", status.processes), ("stopping", status.stopping)],
    );
    labelled(
        out,
        MetricFamily::gauge("apache_connections", "Apache connection statuses"),
        "state",
        &[
            ("total", status.conns[0]),
            ("writing", status.conns[1]),
            ("keepalive", status.conns[2]),
            ("closing", status.conns[3]),
        ],
    );
    if let Some(board) = &status.scoreboard {
        let mut family = MetricFamily::gauge("apache_scoreboard", "Apache scoreboard statuses");
        for (state, count) in board {
            family.push(&[("state", state)], *count);
        }
        out.push(family);
    }
}

fn balancer_families(workers: &[BalancerWorker], out: &mut Vec<MetricFamily>) {
    if workers.is_empty() {
        return;
    }
    let help = "Apache Proxy Balancer Request Count";
    let mut status = MetricFamily::gauge(
        "apache_proxy_balancer_status",
        "Apache Proxy Balancer Statuses",
    );
    let mut elected = MetricFamily::counter("apache_proxy_balancer_accesses_total", help);
    let mut busy = MetricFamily::gauge(
        "apache_proxy_balancer_busy",
        "Apache Proxy Balancer Active Requests",
    );
    let mut sent = MetricFamily::counter("apache_proxy_balancer_request_kbytes_total", help);
    let mut rcvd = MetricFamily::counter("apache_proxy_balancer_response_kbytes_total", help);
    for w in workers {
        let labels = [
            ("balancer", w.balancer.as_str()),
            ("worker", w.worker.as_str()),
        ];
        if let Some(s) = &w.status {
            status.push(&[labels[0], labels[1], ("status", s)], 1.0);
        }
        for (family, value) in [
            (&mut elected, w.elected),
            (&mut busy, w.busy),
            (&mut sent, w.sent_kbytes),
            (&mut rcvd, w.rcvd_kbytes),
        ] {
            if let Some(value) = value {
                family.push(&labels, value);
            }
        }
    }
    out.extend(
        [status, elected, busy, sent, rcvd]
            .into_iter()
            .filter(|f| !f.series.is_empty()),
    );
}
