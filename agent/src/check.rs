//! `peeper-agent check-config`: the effective configuration tried for real, one line per
//! item, like `telegraf --test` or vmagent's `-dryRun`. Each enabled collector runs one cycle
//! (a failed cycle, a target reported down by its `*_up` series, a failed probe: FAIL), then
//! one push of the agent's own build info tells whether the server answers and accepts the
//! token. Returns false if anything failed.

use crate::collector::Cycle;
use crate::config::AgentConfig;
use crate::runtime::{JobFamilies, push_families};
use peeper_proto::MetricFamily;
use std::path::PathBuf;

/// Prints the report on stdout; true when every item passed.
pub async fn check_config(config: &AgentConfig, env_files: &[PathBuf]) -> bool {
    let mut ok = true;
    let mut line = |passed: bool, item: &str, detail: String| {
        ok &= passed;
        println!(
            "{:<4}  {item:<18} {detail}",
            if passed { "ok" } else { "FAIL" }
        );
    };
    let files: Vec<String> = env_files.iter().map(|p| p.display().to_string()).collect();
    line(
        true,
        "configuration",
        format!(
            "valid: instance {}, interval {:?}, env files [{}]",
            config.instance,
            config.interval,
            files.join(", ")
        ),
    );
    for spec in config.collectors.enabled() {
        let mut collector = spec.build();
        let item = format!("collector {}", spec.section());
        let cycle = Cycle::starting_now(config.interval, config.collect_timeout);
        let result = tokio::time::timeout(config.collect_timeout, collector.collect(cycle)).await;
        match result {
            Err(_) => line(
                false,
                &item,
                format!("no answer within {:?}", config.collect_timeout),
            ),
            Ok(Err(err)) => line(false, &item, err.to_string()),
            Ok(Ok(families)) => match down_targets(&families) {
                down if down.is_empty() => {
                    line(true, &item, format!("{} series", series(&families)))
                }
                down => line(false, &item, format!("target down: {}", down.join(", "))),
            },
        }
    }
    let Some(push) = &config.push else {
        line(false, "server", "none configured".to_owned());
        return false;
    };
    let build_info = MetricFamily::gauge("peeper_agent_build_info", "Version of the agent.")
        .with(&[("version", env!("CARGO_PKG_VERSION"))], 1.0);
    match push_families(config, &[JobFamilies::new("agent", vec![build_info])]).await {
        Ok(_) if push.token.is_some() => line(
            true,
            "server",
            format!("{} accepted a push with the token", push.write_url),
        ),
        Ok(_) => line(
            true,
            "server",
            format!("{} accepted a push", push.write_url),
        ),
        Err(err) => line(false, "server", err.to_string()),
    }
    ok
}

fn series(families: &[MetricFamily]) -> usize {
    families.iter().map(|f| f.series.len()).sum()
}

/// The series by which a collector says its target answers.
const TARGET_FLAGS: [&str; 7] = [
    "mysql_up",
    "pg_up",
    "apache_up",
    "nginx_up",
    "docker_up",
    "probe_success",
    "ssl_probe_success",
];

/// The series by which a collector says something could not be read, at 1.
const ERROR_FLAGS: [&str; 1] = ["node_textfile_scrape_error"];

/// The target flags at 0, named with their target, and the error flags at 1.
fn down_targets(families: &[MetricFamily]) -> Vec<String> {
    let mut down = Vec::new();
    for family in families {
        if ERROR_FLAGS.contains(&family.name.as_str()) {
            if family.series.iter().any(|s| s.value != 0.0) {
                down.push(format!("{} 1 (the log names the file)", family.name));
            }
            continue;
        }
        if !TARGET_FLAGS.contains(&family.name.as_str()) {
            continue;
        }
        for series in family.series.iter().filter(|s| s.value == 0.0) {
            let target = series
                .labels
                .iter()
                .find(|(name, _)| matches!(name.as_str(), "target" | "instance" | "name" | "url"))
                .map(|(_, value)| format!(" ({value})"))
                .unwrap_or_default();
            down.push(format!("{}{target}", family.name));
        }
    }
    down
}
