//! The agent's integration-test harness: the shared base (free ports, VictoriaMetrics,
//! waiting, HTTP) plus one module per real service the collectors are tested against.
#![allow(dead_code, unused_imports)]

#[path = "../../../server/tests/support/mod.rs"]
mod base;
pub use base::*;

pub mod apache;
pub mod docker;
pub mod installer;
pub mod mariadb;
pub mod postgres;
pub mod stack;

/// One cycle through the trait, as the scheduler runs it: a down target is reported as
/// `*_up 0`, never as an error.
pub async fn collect(
    collector: &mut dyn peeper_agent::collector::Collector,
) -> Vec<peeper_proto::MetricFamily> {
    let job = collector.job();
    let cycle = peeper_agent::collector::Cycle::standard();
    collector.collect(cycle).await.unwrap_or_else(|e| {
        panic!("the {job} collector must report a down target as up 0, not fail: {e}")
    })
}

/// The value of the series of `name` carrying all of `labels`; panics naming what is missing.
pub fn value(families: &[peeper_proto::MetricFamily], name: &str, labels: &[(&str, &str)]) -> f64 {
    peeper_proto::model::family(families, name)
        .unwrap_or_else(|| panic!("{name} missing"))
        .find(labels)
        .unwrap_or_else(|| panic!("{name}{labels:?} missing"))
        .value
}

/// User plus system CPU time of this test process, in seconds.
pub fn process_cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    ticks / 100.0
}
