//! The agent's integration-test harness: the shared crate `peeper-test-support` (free ports,
//! VictoriaMetrics, waiting, HTTP, the real services, test certificates, `value`) re-exported
//! as it is, plus what needs the agent's own types or binaries.
#![allow(dead_code, unused_imports)]

pub use peeper_test_support::*;

pub mod datastack;
pub mod parity;
pub mod stack;

use std::path::Path;

/// The directory of this build's binaries (`peeper-agent` and `peeper-server`), for helpers
/// of the shared crate that run them.
pub fn bin_dir() -> &'static Path {
    Path::new(stack::AGENT)
        .parent()
        .expect("the binaries' directory")
}

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
