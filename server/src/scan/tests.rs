use super::*;
use peeper_proto::prometheus::{Label, Sample, TimeSeries, WriteRequest};
use prost::Message;

const NOW_MS: i64 = 1_700_000_000_000;

fn series(name: &str, labels: &[(&str, &str)], samples: usize) -> TimeSeries {
    let mut all = vec![Label {
        name: "__name__".into(),
        value: name.into(),
    }];
    all.extend(labels.iter().map(|(n, v)| Label {
        name: (*n).into(),
        value: (*v).into(),
    }));
    all.sort_by(|a, b| a.name.cmp(&b.name));
    TimeSeries {
        labels: all,
        samples: (0..samples)
            .map(|i| Sample {
                value: i as f64,
                timestamp: NOW_MS - i as i64 * 1000,
            })
            .collect(),
    }
}

fn body(ts: Vec<TimeSeries>) -> Vec<u8> {
    WriteRequest {
        timeseries: ts,
        metadata: vec![],
    }
    .encode_to_vec()
}

fn big_body() -> Vec<u8> {
    body(
        (0..200)
            .map(|i| {
                let host = format!("host{i}");
                series(
                    "node_cpu_seconds_total",
                    &[("instance", &host), ("job", "linux"), ("mode", "idle")],
                    2,
                )
            })
            .collect(),
    )
}

#[test]
fn counts_series_and_samples() {
    let s = scan(&big_body(), &Limits::default(), NOW_MS).unwrap();
    assert_eq!(s.series, 200);
    assert_eq!(s.samples, 400);
    assert!(!s.tenant_label && !s.vm_tenancy_label);
    assert_eq!(
        scan(&[], &Limits::default(), NOW_MS).unwrap(),
        Summary::default()
    );
}

#[test]
fn notes_tenant_labels() {
    let b = body(vec![series("up", &[("tenant", "evil")], 1)]);
    let s = scan(&b, &Limits::default(), NOW_MS).unwrap();
    assert!(s.tenant_label && !s.vm_tenancy_label);
    for name in ["vm_account_id", "vm_project_id"] {
        let b = body(vec![series("up", &[(name, "7")], 1)]);
        let s = scan(&b, &Limits::default(), NOW_MS).unwrap();
        assert!(s.vm_tenancy_label, "{name}");
    }
}

#[test]
fn enforces_every_limit_naming_its_setting() {
    let limits = Limits {
        max_labels_per_series: 3,
        max_label_name_len: 8,
        max_label_value_len: 10,
        max_series_per_request: 2,
        max_future_secs: 60,
        ..Limits::default()
    };
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (
            body(vec![series("up", &[("a", "1"), ("b", "2"), ("c", "3")], 1)]),
            "limits.max_labels_per_series",
        ),
        (
            body(vec![series("up", &[("very_long_name", "1")], 1)]),
            "limits.max_label_name_len",
        ),
        (
            body(vec![series("up", &[("a", "01234567890")], 1)]),
            "limits.max_label_value_len",
        ),
        (
            body(vec![
                series("a", &[], 1),
                series("b", &[], 1),
                series("c", &[], 1),
            ]),
            "limits.max_series_per_request",
        ),
        (
            body(vec![TimeSeries {
                labels: series("up", &[], 0).labels,
                samples: vec![Sample {
                    value: 1.0,
                    timestamp: NOW_MS + 61_000,
                }],
            }]),
            "limits.max_future_secs",
        ),
    ];
    for (b, setting) in cases {
        let err = scan(&b, &limits, NOW_MS).unwrap_err();
        let message = err.to_string();
        assert!(message.contains(setting), "{message} should name {setting}");
    }
    // At the limits exactly, everything passes.
    let b = body(vec![
        series("up", &[("a", "0123456789"), ("abcdefgh", "1")], 1),
        series("up", &[], 1),
    ]);
    scan(&b, &limits, NOW_MS).unwrap();
    // The future check can be turned off.
    let far = body(vec![TimeSeries {
        labels: series("up", &[], 0).labels,
        samples: vec![Sample {
            value: 1.0,
            timestamp: i64::MAX,
        }],
    }]);
    let off = Limits {
        max_future_secs: 0,
        ..Limits::default()
    };
    scan(&far, &off, NOW_MS).unwrap();
    assert!(scan(&far, &Limits::default(), NOW_MS).is_err());
}

#[test]
fn error_names_the_metric() {
    let limits = Limits {
        max_label_value_len: 4,
        ..Limits::default()
    };
    let b = body(vec![
        series("up", &[], 1),
        series("my_metric", &[("z", "toolong")], 1),
    ]);
    let message = scan(&b, &limits, NOW_MS).unwrap_err().to_string();
    assert!(
        message.contains("series 1") && message.contains("my_metric"),
        "{message}"
    );
}

#[test]
fn refuses_empty_names_and_invalid_utf8() {
    let b = body(vec![series("up", &[("", "x")], 1)]);
    assert_eq!(
        scan(&b, &Limits::default(), NOW_MS).unwrap_err().reason(),
        "empty_label_name"
    );

    // A label with name "a" and value 0xff, built by hand: prost refuses invalid UTF-8.
    let label = [0x0a, 0x01, b'a', 0x12, 0x01, 0xff];
    let mut ts = vec![0x0a, label.len() as u8];
    ts.extend_from_slice(&label);
    let mut req = vec![0x0a, ts.len() as u8];
    req.extend_from_slice(&ts);
    let err = scan(&req, &Limits::default(), NOW_MS).unwrap_err();
    assert_eq!(err.reason(), "invalid_utf8", "{err}");
}

#[test]
fn skips_unknown_fields_of_every_wire_type() {
    let mut ts = series("up", &[("job", "x")], 1).encode_to_vec();
    // TimeSeries field 3 (exemplars) and 4 (histograms), length-delimited.
    ts.extend_from_slice(&[0x1a, 0x02, 0x08, 0x01, 0x22, 0x00]);
    // Unknown varint (field 9), fixed64 (field 10), fixed32 (field 11).
    ts.extend_from_slice(&[0x48, 0x96, 0x01]);
    ts.extend_from_slice(&[0x51, 1, 2, 3, 4, 5, 6, 7, 8]);
    ts.extend_from_slice(&[0x5d, 1, 2, 3, 4]);
    let mut req = vec![0x0a];
    req.push(ts.len() as u8);
    req.extend_from_slice(&ts);
    // WriteRequest field 3 (metadata) and an unknown field 7.
    req.extend_from_slice(&[0x1a, 0x04, 0x08, 0x01, 0x12, 0x00, 0x38, 0x05]);
    let s = scan(&req, &Limits::default(), NOW_MS).unwrap();
    assert_eq!((s.series, s.samples), (1, 1));
    // prost agrees the body is valid.
    WriteRequest::decode(req.as_slice()).unwrap();
}

#[test]
fn refuses_malformed_input() {
    let good = big_body();
    let cases: Vec<Vec<u8>> = vec![
        good[..good.len() - 3].to_vec(), // truncated
        vec![0x0a, 0xff],                // truncated varint length
        vec![0x0a, 0x10, 0x00],          // length past end
        vec![0x08],                      // truncated varint value
        vec![0x0b],                      // group start (wire type 3)
        vec![0x00, 0x00],                // field number 0
        vec![
            0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f,
        ], // > 64 bits
        vec![0x09, 1, 2, 3],             // truncated fixed64
        vec![0x08, 0x01],                // timeseries as varint
    ];
    for case in cases {
        let err = scan(&case, &Limits::default(), NOW_MS).unwrap_err();
        assert_eq!(err.reason(), "malformed", "{case:?}: {err}");
    }
}

/// A small deterministic generator (xorshift64*) so the fuzz loop is reproducible.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[test]
fn random_mutations_never_panic_and_agree_with_prost_on_structure() {
    let good = big_body();
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    // A huge future window still parses every sample, without refusing mutated timestamps.
    let limits = Limits {
        max_future_secs: u64::MAX,
        ..Limits::default()
    };
    let mut accepted = 0;
    for round in 0..20_000 {
        let mut b = good.clone();
        match round % 4 {
            0 => {
                for _ in 0..1 + rng.below(4) {
                    let i = rng.below(b.len());
                    b[i] = rng.next() as u8;
                }
            }
            1 => b.truncate(rng.below(b.len())),
            2 => {
                let i = rng.below(b.len());
                b.insert(i, rng.next() as u8);
            }
            _ => {
                let i = rng.below(b.len());
                b.remove(i);
                let j = rng.below(b.len());
                b[j] ^= 1 << rng.below(8);
            }
        }
        if let Ok(s) = scan(&b, &limits, NOW_MS) {
            accepted += 1;
            // Where prost decodes the same bytes, both see the same structure. (prost may
            // refuse more: it decodes metadata, which the scanner skips.)
            if let Ok(decoded) = WriteRequest::decode(b.as_slice()) {
                assert_eq!(decoded.timeseries.len(), s.series, "round {round}");
                let samples: usize = decoded.timeseries.iter().map(|t| t.samples.len()).sum();
                assert_eq!(samples, s.samples, "round {round}");
            }
        }
    }
    // Random garbage too.
    for _ in 0..5_000 {
        let len = rng.below(64);
        let b: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        let _ = scan(&b, &limits, NOW_MS);
    }
    assert!(
        accepted > 0,
        "some mutations (e.g. in sample values) stay valid"
    );
}

#[test]
fn names_outside_the_data_model_are_refused_naming_them() {
    let cases: Vec<(TimeSeries, &str, &str)> = vec![
        (
            series("up", &[("bad-name", "1")], 1),
            "\"bad-name\"",
            "invalid_label_name",
        ),
        (
            series("up", &[("1abc", "1")], 1),
            "\"1abc\"",
            "invalid_label_name",
        ),
        (
            series("up", &[("Tenant", "evil")], 1),
            "\"Tenant\"",
            "invalid_label_name",
        ),
        (
            series("up", &[("VM_ACCOUNT_ID", "1")], 1),
            "\"VM_ACCOUNT_ID\"",
            "invalid_label_name",
        ),
        (
            series("9lives", &[], 1),
            "\"9lives\"",
            "invalid_metric_name",
        ),
        (
            series("", &[("job", "x")], 1),
            "\"\"",
            "invalid_metric_name",
        ),
        (
            TimeSeries {
                labels: series("up", &[("job", "x")], 1).labels[1..].to_vec(),
                samples: vec![],
            },
            "no metric name",
            "invalid_metric_name",
        ),
    ];
    for (s, named, reason) in cases {
        let err = scan(&body(vec![s]), &Limits::default(), NOW_MS).unwrap_err();
        assert!(err.to_string().contains(named), "{err}");
        assert_eq!(err.reason(), reason, "{err}");
    }
    // Valid names of every kind pass; `tenant` itself is the server's to overwrite.
    let ok = series(
        "node:cpu_seconds:rate5m",
        &[("_x", "1"), ("A9_b", "2"), ("tenant", "t")],
        1,
    );
    scan(&body(vec![ok]), &Limits::default(), NOW_MS).unwrap();
}

#[test]
fn series_hashes_follow_labels_not_samples() {
    let hashes = |series: Vec<TimeSeries>| {
        let mut out = ScanOutput {
            watched: Vec::new(),
            hashes: Some(Vec::new()),
        };
        scan_into(&body(series), &Limits::default(), NOW_MS, &[], &mut out).unwrap();
        out.hashes.unwrap()
    };
    let a = hashes(vec![
        series("up", &[("job", "a")], 1),
        series("up", &[("job", "b")], 3),
    ]);
    let again = hashes(vec![
        series("up", &[("job", "a")], 5),
        series("up", &[("job", "b")], 1),
    ]);
    assert_eq!(a, again, "the same labels, other samples");
    assert_ne!(a[0], a[1]);
    let shifted = hashes(vec![series("up", &[("jo", "ba")], 1)]);
    assert_ne!(a[0], shifted[0]);
}

#[test]
fn the_name_table_is_the_data_model_for_every_byte() {
    let letter = |b: u8| b.is_ascii_alphabetic() || b == b'_';
    for b in 0..=255u8 {
        let digit = b.is_ascii_digit();
        let colon = b == b':';
        // Alone, and after a valid first byte.
        assert_eq!(
            is_name(&[b], LABEL_START, LABEL_REST),
            letter(b),
            "label {b}"
        );
        assert_eq!(
            is_name(&[b'a', b], LABEL_START, LABEL_REST),
            letter(b) || digit,
            "label a{b}"
        );
        assert_eq!(
            is_name(&[b], METRIC_START, METRIC_REST),
            letter(b) || colon,
            "metric {b}"
        );
        assert_eq!(
            is_name(&[b'a', b, b'z'], METRIC_START, METRIC_REST),
            letter(b) || digit || colon,
            "metric a{b}z"
        );
    }
    assert!(!is_name(b"", LABEL_START, LABEL_REST));
    assert!(!is_name(b"a:b", LABEL_START, LABEL_REST));
    assert!(!is_name(b"long_valid_name_then-", LABEL_START, LABEL_REST));
}
