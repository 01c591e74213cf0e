//! The Apache collector against the real apache2 (Debian package `apache2`) with each MPM,
//! started by the harness on a free loopback port; and the real agent binary's
//! `--once --print` with the collector switched on by its environment variables.

mod support;

use peeper_agent::collector::apache::{ApacheCollector, ApacheConfig, SCOREBOARD_STATES};
use peeper_proto::model::family;
use std::process::Command;
use std::time::{Duration, Instant};
use support::apache::{Apache, Mpm};
use support::{collect, value};

fn collector(url: &str) -> ApacheCollector {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    ApacheCollector::new(&ApacheConfig {
        enabled: true,
        url: url.to_owned(),
        host_override: None,
    })
}

/// Requests are counted and the scoreboard covers every slot, for one MPM.
async fn counts_requests_and_slots(mpm: Mpm) {
    let apache = Apache::start(mpm);
    let mut collector = collector(&apache.status_url());
    let before = collect(&mut collector).await;
    assert_eq!(
        value(&before, "apache_up", &[]),
        1.0,
        "{}",
        apache.error_log()
    );
    let accesses_before = value(&before, "apache_accesses_total", &[]);

    const N: usize = 25;
    apache.requests(N);
    let after = collect(&mut collector).await;
    let accesses_after = value(&after, "apache_accesses_total", &[]);
    assert!(
        accesses_after - accesses_before >= N as f64,
        "{}: apache_accesses_total went from {accesses_before} to {accesses_after} after {N} requests",
        mpm.name()
    );
    assert!(value(&after, "apache_sent_kilobytes_total", &[]) >= 0.0);
    assert!(value(&after, "apache_uptime_seconds_total", &[]) >= 0.0);
    assert_eq!(
        value(&after, "apache_info", &[("mpm", mpm.name())]),
        1.0,
        "apache_info names the MPM"
    );
    assert!(value(&after, "apache_version", &[]) > 2.04);
    assert!(value(&after, "apache_workers", &[("state", "busy")]) >= 1.0);

    let scoreboard = family(&after, "apache_scoreboard").expect("apache_scoreboard");
    for (_, state) in SCOREBOARD_STATES {
        assert!(
            scoreboard.find(&[("state", state)]).is_some(),
            "{}: scoreboard state {state} missing",
            mpm.name()
        );
    }
    let slots: f64 = scoreboard.series.iter().map(|s| s.value).sum();
    assert_eq!(
        slots,
        mpm.slots() as f64,
        "{}: scoreboard states sum to the slot count",
        mpm.name()
    );
    // The status request itself is being answered while the page is written.
    assert!(value(&after, "apache_scoreboard", &[("state", "reply")]) >= 1.0);
    assert_eq!(
        value(&after, "apache_exporter_scrape_failures_total", &[]),
        0.0
    );

    let connections = family(&after, "apache_connections");
    if mpm == Mpm::Event {
        assert_eq!(
            connections
                .expect("apache_connections with the event MPM")
                .series
                .len(),
            4
        );
        assert!(value(&after, "apache_processes", &[("state", "all")]) >= 1.0);
    } else {
        assert!(connections.is_none());
    }
}

#[tokio::test]
async fn event_mpm() {
    counts_requests_and_slots(Mpm::Event).await;
}

#[tokio::test]
async fn worker_mpm() {
    counts_requests_and_slots(Mpm::Worker).await;
}

#[tokio::test]
async fn prefork_mpm() {
    counts_requests_and_slots(Mpm::Prefork).await;
}

#[tokio::test]
async fn cost_per_cycle() {
    let apache = Apache::start(Mpm::Event);
    let mut collector = collector(&apache.status_url());
    collect(&mut collector).await;
    const CYCLES: u32 = 30;
    let cpu_before = thread_cpu();
    let start = Instant::now();
    for _ in 0..CYCLES {
        let families = collect(&mut collector).await;
        assert_eq!(value(&families, "apache_up", &[]), 1.0);
    }
    let cpu = thread_cpu() - cpu_before;
    println!(
        "apache collector: {:.2} ms CPU and {:.2} ms wall per cycle (this test binary's profile)",
        cpu.as_secs_f64() * 1000.0 / f64::from(CYCLES),
        start.elapsed().as_secs_f64() * 1000.0 / f64::from(CYCLES)
    );
    assert!(
        cpu / CYCLES < Duration::from_millis(20),
        "{:?} CPU per cycle",
        cpu / CYCLES
    );
}

#[tokio::test]
async fn stopped_apache_is_up_zero_every_cycle_and_recovers() {
    let mut apache = Apache::start(Mpm::Event);
    let mut collector = collector(&apache.status_url());
    assert_eq!(value(&collect(&mut collector).await, "apache_up", &[]), 1.0);

    apache.stop();
    for cycle in 1..=2 {
        let start = Instant::now();
        let families = collect(&mut collector).await;
        assert_eq!(value(&families, "apache_up", &[]), 0.0);
        assert_eq!(
            value(&families, "apache_exporter_scrape_failures_total", &[]),
            cycle as f64
        );
        assert!(family(&families, "apache_scoreboard").is_none());
        assert!(
            start.elapsed().as_secs() < 3,
            "a refused connection fails fast"
        );
    }

    apache.restart();
    let families = collect(&mut collector).await;
    assert_eq!(
        value(&families, "apache_up", &[]),
        1.0,
        "{}",
        apache.error_log()
    );
    assert!(family(&families, "apache_scoreboard").is_some());
}

#[tokio::test]
async fn wrong_url_is_up_zero() {
    let apache = Apache::start(Mpm::Event);
    // A 404, and an HTML page instead of `?auto`: both are not a usable status page.
    for path in ["/no-such-status?auto", "/index.html"] {
        let mut collector = collector(&format!("http://{}{path}", apache.addr()));
        let families = collect(&mut collector).await;
        assert_eq!(value(&families, "apache_up", &[]), 0.0, "{path}");
    }
}

#[test]
fn agent_binary_prints_apache_metrics() {
    let apache = Apache::start(Mpm::Event);
    apache.requests(3);
    let output = Command::new(env!("CARGO_BIN_EXE_peeper-agent"))
        .env_remove("PEEPER_CONFIG")
        .env("PEEPER_LINUX_ENABLED", "false")
        .env("PEEPER_APACHE_ENABLED", "true")
        .env("PEEPER_APACHE_URL", apache.status_url())
        .args(["--once", "--print", "--instance", "web1"])
        .output()
        .expect("run peeper-agent");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "peeper-agent failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let has = |name: &str, labels: &[&str], value: Option<&str>| {
        stdout.lines().any(|line| {
            line.starts_with(&format!("{name}{{"))
                && labels.iter().all(|l| line.contains(l))
                && value.is_none_or(|v| line.ends_with(&format!(" {v}")))
        })
    };
    let ours = ["job=\"apache\"", "instance=\"web1\""];
    assert!(
        has("apache_up", &ours, Some("1")),
        "apache_up 1 missing from:\n{stdout}"
    );
    for state in ["idle", "open_slot", "reply", "graceful_stop"] {
        let label = format!("state=\"{state}\"");
        assert!(
            has("apache_scoreboard", &[ours[0], ours[1], &label], None),
            "apache_scoreboard {state} missing from:\n{stdout}"
        );
    }
    for name in [
        "# TYPE apache_accesses_total counter",
        "apache_workers{",
        "apache_cpuload{",
        "apache_info{",
        "apache_connections{",
    ] {
        assert!(stdout.contains(name), "{name:?} missing from:\n{stdout}");
    }
}

/// CPU time of the calling thread so far (`/proc/thread-self/schedstat`, nanoseconds).
/// `#[tokio::test]` runs everything of the test, the collector's I/O included, on it.
fn thread_cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap();
    Duration::from_nanos(stat.split_whitespace().next().unwrap().parse().unwrap())
}
