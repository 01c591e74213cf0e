//! SIGHUP on a running agent with a backlog on disk: the store is down, the env file turns
//! a collector on and changes the interval, then the config file is broken. The collectors
//! follow the first change, the broken file is refused (one log line, counted) while the
//! agent runs on, and once the store is back every series arrives without a gap and nothing
//! was dropped.

mod support;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use support::stack::AGENT;
use support::{VictoriaMetrics, VmApi, wait_until};

const INSTANCE: &str = "reload-test";

struct Agent {
    child: Child,
    log: std::path::PathBuf,
}

impl Agent {
    fn start(dir: &Path, vm: &VictoriaMetrics) -> Agent {
        let log = dir.join("agent.log");
        let child = Command::new(AGENT)
            .env_remove("PEEPER_CONFIG")
            .env("PEEPER_LOG", "info")
            .args(["--server", &vm.write_url()])
            .arg("--env-file")
            .arg(dir.join("agent.env"))
            .arg("--config")
            .arg(dir.join("agent.toml"))
            .arg("--buffer-dir")
            .arg(dir.join("buffer"))
            .args(["--instance", INSTANCE])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        Agent { child, log }
    }

    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([&format!("-{signal}"), &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn wait_for_log(&self, text: &str, count: usize) {
        wait_until(
            &format!("{count} × {text:?} in the agent's log"),
            Duration::from_secs(15),
            || self.log().matches(text).count() >= count,
        );
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn last(vm: &VmApi, query: &str) -> f64 {
    vm.query_one(query)
        .unwrap_or_else(|| panic!("no value for {query}"))
}

/// The largest distance between consecutive samples of the series of `selector`.
fn largest_gap(vm: &VmApi, selector: &str) -> Duration {
    let series = vm.export(selector);
    assert!(!series.is_empty(), "no series for {selector}");
    let mut gap = 0;
    for (_, samples) in series {
        for pair in samples.windows(2) {
            gap = gap.max(pair[1].0 - pair[0].0);
        }
    }
    Duration::from_millis(gap as u64)
}

#[test]
fn sighup_follows_a_new_config_refuses_a_broken_one_and_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("agent.env"), "PEEPER_INTERVAL=1s\n").unwrap();
    std::fs::write(dir.path().join("agent.toml"), "[linux]\nenabled = true\n").unwrap();
    // Resent samples count once.
    let mut vm = VictoriaMetrics::start_with(&["-dedup.minScrapeInterval=1ms"]);
    let agent = Agent::start(dir.path(), &vm);
    let selector = format!("node_load1{{instance=\"{INSTANCE}\"}}");
    vm.wait_for(&selector, Duration::from_secs(20));

    // The store goes away: batches pile up on disk.
    vm.stop();
    std::thread::sleep(Duration::from_secs(3));

    // Turn the Apache collector on (its target is down: apache_up 0) and slow down to 2s.
    std::fs::write(
        dir.path().join("agent.env"),
        "PEEPER_INTERVAL=2s\nPEEPER_APACHE_ENABLED=true\n\
         PEEPER_APACHE_URL=http://127.0.0.1:9/server-status?auto\n",
    )
    .unwrap();
    agent.signal("HUP");
    agent.wait_for_log("configuration reloaded", 1);
    std::thread::sleep(Duration::from_secs(3));

    // A broken config file: refused, the running configuration stays.
    std::fs::write(dir.path().join("agent.toml"), "[linux\n").unwrap();
    agent.signal("HUP");
    agent.wait_for_log("configuration reload refused", 1);
    let log = agent.log();
    let refusal = log
        .lines()
        .find(|l| l.contains("configuration reload refused"))
        .unwrap();
    assert!(refusal.contains("agent.toml"), "{refusal}");
    std::thread::sleep(Duration::from_secs(3));

    vm.restart();
    vm.wait_for(
        &format!("apache_up{{instance=\"{INSTANCE}\"}} == 0"),
        Duration::from_secs(30),
    );
    // A fresh sample of the queue's length saying it is empty.
    let drained =
        format!("last_over_time(peeper_agent_queue_batches{{instance=\"{INSTANCE}\"}}[3s]) == 0");
    vm.wait_for(&drained, Duration::from_secs(60));
    assert_eq!(
        last(
            &vm,
            &format!("peeper_agent_interval_seconds{{instance=\"{INSTANCE}\"}}")
        ),
        2.0
    );
    let reloads = |result: &str| {
        last(
            &vm,
            &format!(
                "peeper_agent_config_reloads_total{{instance=\"{INSTANCE}\",result=\"{result}\"}}"
            ),
        )
    };
    assert_eq!((reloads("success"), reloads("error")), (1.0, 1.0));
    assert_eq!(
        last(
            &vm,
            &format!("peeper_agent_config_last_reload_successful{{instance=\"{INSTANCE}\"}}")
        ),
        0.0
    );
    let dropped = vm.query(&format!(
        "peeper_agent_queue_dropped_samples_total{{instance=\"{INSTANCE}\"}} > 0"
    ));
    assert!(dropped.is_empty(), "samples dropped: {dropped:?}");
    // Every cycle through the outage and both reloads is there: no gap beyond the slower
    // interval (plus scheduling slack).
    let gap = largest_gap(&vm, &selector);
    assert!(gap <= Duration::from_millis(3_500), "largest gap {gap:?}");
    agent.signal("TERM");
}
