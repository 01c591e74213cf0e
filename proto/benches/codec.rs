//! Encoding costs on the agent's side: model → WriteRequest → snappy body.
use criterion::{Criterion, criterion_group, criterion_main};
use peeper_proto::codec::{Encoding, decode_write_request, encode_write_request};
use peeper_proto::model::MetricFamily;
use peeper_proto::remote_write::to_write_request;
use std::hint::black_box;

fn families() -> Vec<MetricFamily> {
    // Roughly one host's Linux cycle: 2 000 series across a few families.
    (0..20)
        .map(|f| {
            let mut family = MetricFamily::gauge(format!("node_metric_{f}"), "help");
            for i in 0..100 {
                family.push(&[("device", &format!("dev{i}")), ("mode", "x")], i as f64);
            }
            family
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let families = families();
    c.bench_function("encode_2000_series", |b| {
        b.iter(|| {
            let req = to_write_request(
                black_box(&families),
                &[("instance", "h"), ("job", "linux")],
                1,
            );
            encode_write_request(&req)
        })
    });
    let body = encode_write_request(&to_write_request(&families, &[("instance", "h")], 1));
    c.bench_function("decode_2000_series", |b| {
        b.iter(|| decode_write_request(black_box(&body), Encoding::Snappy, 32 << 20).unwrap())
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
