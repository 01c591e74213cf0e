//! The ingest hot path without the network: decompress + scan + forward-body preparation
//! of one 10k-series request (7 labels a series, one sample each), the relay load of
//! ARCHITECTURE.md ("Benchmarks"). Time per request / 10_000 × 1e6 = CPU-seconds per million samples.

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use peeper_proto::codec::{self, Encoding};
use peeper_proto::prometheus::{Label, Sample, TimeSeries, WriteRequest};
use peeper_server::config::{ForwardMode, Limits};
use peeper_server::{forward, scan};
use std::hint::black_box;

const SERIES: usize = 10_000;
const NOW_MS: i64 = 1_700_000_000_000;

fn relay_request() -> WriteRequest {
    let timeseries = (0..SERIES)
        .map(|i| {
            let mut labels: Vec<Label> = [
                (
                    "__name__",
                    format!("node_network_receive_bytes_total_{}", i % 50),
                ),
                ("device", format!("eth{}", i % 4)),
                ("instance", format!("host-{:04}.example.com", i / 40)),
                ("job", "linux".to_owned()),
                ("region", format!("eu-{}", i % 3)),
                ("service", format!("svc-{}", i % 17)),
                ("team", "platform".to_owned()),
            ]
            .into_iter()
            .map(|(name, value)| Label {
                name: name.to_owned(),
                value,
            })
            .collect();
            labels.sort_by(|a, b| a.name.cmp(&b.name));
            TimeSeries {
                labels,
                samples: vec![Sample {
                    value: (i * 1031) as f64,
                    timestamp: NOW_MS - (i as i64 % 15_000),
                }],
            }
        })
        .collect();
    WriteRequest {
        timeseries,
        metadata: vec![],
    }
}

/// What the server does between reading the body and sending it to the store.
fn hot_path(body: &Bytes, encoding: Encoding, mode: ForwardMode, url: &reqwest::Url) -> usize {
    let limits = Limits::default();
    if encoding == Encoding::Snappy {
        let declared = codec::snappy_declared_len(body).unwrap();
        assert!(declared <= limits.max_decoded_bytes);
    }
    let decoded = codec::decompress(body, encoding, limits.max_decoded_bytes).unwrap();
    let summary = scan::scan(&decoded, &limits, NOW_MS).unwrap();
    let prepared = forward::prepare(
        mode,
        url,
        "acme",
        body.clone(),
        encoding,
        &decoded,
        &summary,
    )
    .unwrap();
    summary.samples + prepared.body.len()
}

fn bench(c: &mut Criterion) {
    let request = relay_request();
    let raw = prost::Message::encode_to_vec(&request);
    let snappy = Bytes::from(codec::snappy_compress(&raw));
    let zstd = Bytes::from(codec::zstd_compress(&raw));
    let url = reqwest::Url::parse("http://127.0.0.1:8428/api/v1/write").unwrap();
    eprintln!(
        "request: {SERIES} series, {} bytes protobuf, {} bytes snappy ({:.1} bytes/sample), {} bytes zstd",
        raw.len(),
        snappy.len(),
        snappy.len() as f64 / SERIES as f64,
        zstd.len()
    );
    let mut group = c.benchmark_group("ingest_10k_series");
    group.throughput(Throughput::Elements(SERIES as u64));
    group.bench_function("scan_only", |b| {
        b.iter(|| scan::scan(black_box(&raw), &Limits::default(), NOW_MS).unwrap())
    });
    group.bench_function("snappy_extra_label", |b| {
        b.iter(|| {
            hot_path(
                black_box(&snappy),
                Encoding::Snappy,
                ForwardMode::ExtraLabel,
                &url,
            )
        })
    });
    group.bench_function("zstd_extra_label", |b| {
        b.iter(|| {
            hot_path(
                black_box(&zstd),
                Encoding::Zstd,
                ForwardMode::ExtraLabel,
                &url,
            )
        })
    });
    group.bench_function("snappy_rewrite", |b| {
        b.iter(|| {
            hot_path(
                black_box(&snappy),
                Encoding::Snappy,
                ForwardMode::Rewrite,
                &url,
            )
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
