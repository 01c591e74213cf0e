//! The CPU one Linux cycle costs on this host: every area of `LinuxCollector`, as the
//! scheduler runs it (`collect_now` on one thread, state reused between cycles).
//!
//! `cargo bench -p peeper-agent --bench linux` prints the CPU time (user + system, from
//! `/proc/self/stat`) of a fixed number of cycles, then criterion's wall time of one cycle.

use criterion::{Criterion, criterion_group, criterion_main};
use peeper_agent::collector::linux::{LinuxCollector, LinuxConfig};
use peeper_proto::model::series_count;
use peeper_test_support::process_cpu_seconds;
use std::hint::black_box;

/// Enough cycles that the 10 ms tick of `/proc/self/stat` is under 2 % of the total.
const CYCLES: u32 = 2_000;

fn cpu_per_cycle() {
    let mut collector = LinuxCollector::new(&LinuxConfig::default());
    let first = collector.collect_now();
    let before = process_cpu_seconds();
    for _ in 0..CYCLES {
        black_box(collector.collect_now());
    }
    let cpu = process_cpu_seconds() - before;
    eprintln!(
        "linux cycle: {} families, {} series; {CYCLES} cycles took {:.3} s CPU = {:.1} µs CPU a cycle",
        first.len(),
        series_count(&first),
        cpu,
        cpu / f64::from(CYCLES) * 1e6
    );
}

fn bench(c: &mut Criterion) {
    cpu_per_cycle();
    let mut collector = LinuxCollector::new(&LinuxConfig::default());
    c.bench_function("linux_cycle", |b| {
        b.iter(|| black_box(collector.collect_now()))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
