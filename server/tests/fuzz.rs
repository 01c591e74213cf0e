//! Property tests of the request decoder (`peeper_server::ingest::validate`: size checks,
//! snappy/zstd, the zero-allocation scanner): it never panics, accepts exactly the valid
//! requests within the limits, counts them right, and refuses the rest with a 4xx.
//! Case counts are bounded so the suite stays fast.

use peeper_proto::codec::{self, Encoding};
use peeper_proto::names;
use peeper_proto::prometheus::{Label, Sample, TimeSeries, WriteRequest};
use peeper_proto::status::Answer;
use peeper_server::config::Limits;
use peeper_server::ingest::{Validated, validate};
use proptest::prelude::*;
use prost::Message;

const NOW_MS: i64 = 1_700_000_000_000;

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// A refusal must be a client error the sender can act on, never a retryable one.
fn assert_client_error(class: Answer) {
    assert!(
        matches!(class, Answer::BadData | Answer::TooLarge),
        "unexpected class {class:?}"
    );
}

fn label_text(max: usize) -> impl Strategy<Value = String> {
    prop_oneof![
        // Names the scanner watches for liveness, so those paths are exercised too.
        prop::sample::select(vec![
            "__name__",
            "instance",
            names::CHECK_STATUS,
            names::AGENT_INTERVAL
        ])
        .prop_map(str::to_owned),
        proptest::string::string_regex(&format!("[a-z_][a-z0-9_]{{0,{max}}}")).unwrap(),
        proptest::collection::vec(any::<char>(), 0..max.min(8))
            .prop_map(|c| c.into_iter().collect()),
    ]
}

fn series() -> impl Strategy<Value = TimeSeries> {
    (
        // Mostly a metric name first, as real series have, so valid requests are common.
        proptest::option::weighted(
            0.9,
            proptest::string::string_regex("[a-z_:][a-z0-9_:]{0,10}").unwrap(),
        ),
        proptest::collection::vec((label_text(12), label_text(12)), 0..8),
        proptest::collection::vec((any::<f64>(), (NOW_MS - 86_400_000)..=NOW_MS), 0..4),
    )
        .prop_map(|(metric, labels, samples)| TimeSeries {
            labels: metric
                .map(|m| ("__name__".to_owned(), m))
                .into_iter()
                .chain(labels)
                .map(|(name, value)| Label { name, value })
                .collect(),
            samples: samples
                .into_iter()
                .map(|(value, timestamp)| Sample { value, timestamp })
                .collect(),
        })
}

fn write_request() -> impl Strategy<Value = WriteRequest> {
    proptest::collection::vec(series(), 0..12).prop_map(|timeseries| WriteRequest {
        timeseries,
        metadata: vec![],
    })
}

/// A label name of the Prometheus data model (`[a-zA-Z_][a-zA-Z0-9_]*`), not a case variant
/// of a tenant label.
fn valid_label_name(name: &str) -> bool {
    let reserved = ["tenant", "vm_account_id", "vm_project_id"]
        .iter()
        .any(|r| name.eq_ignore_ascii_case(r) && name != *r);
    !reserved
        && name
            .bytes()
            .enumerate()
            .all(|(i, b)| b.is_ascii_alphabetic() || b == b'_' || (i > 0 && b.is_ascii_digit()))
}

/// A metric name (`[a-zA-Z_:][a-zA-Z0-9_:]*`), the last `__name__` of the series.
fn valid_metric(series: &TimeSeries) -> bool {
    series
        .labels
        .iter()
        .rfind(|l| l.name == "__name__")
        .is_some_and(|l| {
            !l.value.is_empty()
                && l.value.bytes().enumerate().all(|(i, b)| {
                    b.is_ascii_alphabetic()
                        || b == b'_'
                        || b == b':'
                        || (i > 0 && b.is_ascii_digit())
                })
        })
}

/// Whether a request satisfies `limits` (what the scanner must decide).
fn within(request: &WriteRequest, limits: &Limits) -> bool {
    request.timeseries.len() <= limits.max_series_per_request
        && request.timeseries.iter().all(|s| {
            s.labels.len() <= limits.max_labels_per_series
                && valid_metric(s)
                && s.labels.iter().all(|l| {
                    !l.name.is_empty()
                        && valid_label_name(&l.name)
                        && l.name.len() <= limits.max_label_name_len
                        && l.value.len() <= limits.max_label_value_len
                })
        })
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn arbitrary_bytes_never_panic(
        bytes in proptest::collection::vec(any::<u8>(), 0..2048),
        zstd in any::<bool>(),
    ) {
        let encoding = if zstd { Encoding::Zstd } else { Encoding::Snappy };
        if let Err(e) = validate(&bytes, encoding, &Limits::default(), NOW_MS) {
            assert_client_error(e.answer());
        }
        // The same bytes as a decoded protobuf, behind valid snappy.
        if let Err(e) = validate(&codec::snappy_compress(&bytes), Encoding::Snappy, &Limits::default(), NOW_MS) {
            assert_client_error(e.answer());
        }
    }

    #[test]
    fn valid_requests_round_trip_with_the_right_counts(request in write_request(), zstd in any::<bool>()) {
        let limits = Limits::default();
        let raw = request.encode_to_vec();
        let (body, encoding) = if zstd {
            (codec::zstd_compress(&raw), Encoding::Zstd)
        } else {
            (codec::snappy_compress(&raw), Encoding::Snappy)
        };
        let result = validate(&body, encoding, &limits, NOW_MS);
        if within(&request, &limits) {
            let Validated { decoded, summary, watched, hashes } = result.expect("a valid request is accepted");
            prop_assert_eq!(hashes.len(), request.timeseries.len(), "one label hash per series");
            // The series marked for liveness tracking are exactly those with a watched name,
            // and each range decodes to its series.
            // (The scanner takes the last `__name__` when a series repeats it.)
            let is_watched = |s: &TimeSeries| {
                s.labels.iter().rfind(|l| l.name == "__name__").is_some_and(|l| names::WATCHED.contains(&l.value.as_str()))
            };
            let expected: Vec<&TimeSeries> = request.timeseries.iter().filter(|s| is_watched(s)).collect();
            prop_assert_eq!(watched.len(), expected.len());
            for (range, series) in watched.iter().zip(expected) {
                prop_assert_eq!(&TimeSeries::decode(&decoded[range.clone()]).unwrap(), series);
            }
            prop_assert_eq!(&decoded[..], &raw[..]);
            prop_assert_eq!(summary.series, request.timeseries.len());
            let samples: usize = request.timeseries.iter().map(|s| s.samples.len()).sum();
            prop_assert_eq!(summary.samples, samples);
            let tenant = request.timeseries.iter().flat_map(|s| &s.labels).any(|l| l.name == "tenant");
            prop_assert_eq!(summary.tenant_label, tenant);
        } else {
            let e = result.expect_err("a name outside the data model is refused");
            prop_assert_eq!(e.answer(), Answer::BadData);
        }
    }

    #[test]
    fn limits_are_honoured_exactly(
        request in write_request(),
        max_series in 1usize..6,
        max_labels in 1usize..6,
        max_name in 1usize..10,
        max_value in 1usize..10,
    ) {
        let limits = Limits {
            max_series_per_request: max_series,
            max_labels_per_series: max_labels,
            max_label_name_len: max_name,
            max_label_value_len: max_value,
            ..Limits::default()
        };
        let body = codec::encode_write_request(&request);
        let result = validate(&body, Encoding::Snappy, &limits, NOW_MS);
        prop_assert_eq!(result.is_ok(), within(&request, &limits), "{:?}", result.err());
        if let Err(e) = result {
            prop_assert_eq!(e.answer(), Answer::BadData);
            let message = e.to_string();
            prop_assert!(
                message.contains("limits.")
                    || message.contains("empty label name")
                    || message.contains("Prometheus data model")
                    || message.contains("no metric name")
                    || message.contains("the tenant labels"),
                "a refusal names its limit or the rule broken: {}", message
            );
        }
    }

    #[test]
    fn decoded_size_limit_is_checked_before_decoding(request in write_request(), limit in 1usize..512) {
        let limits = Limits { max_decoded_bytes: limit, ..Limits::default() };
        let raw = request.encode_to_vec();
        let result = validate(&codec::snappy_compress(&raw), Encoding::Snappy, &limits, NOW_MS);
        if raw.len() > limit {
            prop_assert_eq!(result.err().map(|e| e.answer()), Some(Answer::TooLarge));
        }
        let result = validate(&codec::zstd_compress(&raw), Encoding::Zstd, &limits, NOW_MS);
        if raw.len() > limit {
            prop_assert_eq!(result.err().map(|e| e.answer()), Some(Answer::TooLarge));
        }
    }
}

proptest! {
    #![proptest_config(config(128))]

    #[test]
    fn mutated_valid_bodies_never_panic(
        request in write_request(),
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        in_protobuf in any::<bool>(),
    ) {
        let mut raw = request.encode_to_vec();
        let mut body = codec::snappy_compress(&raw);
        let target = if in_protobuf { &mut raw } else { &mut body };
        if !target.is_empty() {
            for (index, byte) in &flips {
                let i = index.index(target.len());
                target[i] ^= byte;
            }
        }
        if in_protobuf {
            body = codec::snappy_compress(&raw);
        }
        match validate(&body, Encoding::Snappy, &Limits::default(), NOW_MS) {
            Ok(Validated { summary, .. }) => prop_assert!(summary.series <= Limits::default().max_series_per_request),
            Err(e) => assert_client_error(e.answer()),
        }
    }

    #[test]
    fn truncated_snappy_is_refused(request in write_request(), cut in any::<prop::sample::Index>()) {
        let body = codec::encode_write_request(&request);
        let at = cut.index(body.len());
        match validate(&body[..at], Encoding::Snappy, &Limits::default(), NOW_MS) {
            Ok(_) => prop_assert!(false, "a body cut at {} of {} was accepted", at, body.len()),
            Err(e) => prop_assert_eq!(e.answer(), Answer::BadData),
        }
    }
}

#[test]
fn a_series_with_100k_labels_is_refused_fast() {
    let labels = (0..100_000)
        .map(|i| Label {
            name: format!("l{i:06}"),
            value: "v".into(),
        })
        .collect();
    let body = codec::encode_write_request(&WriteRequest {
        timeseries: vec![TimeSeries {
            labels,
            samples: vec![],
        }],
        metadata: vec![],
    });
    let started = std::time::Instant::now();
    for _ in 0..100 {
        let e = validate(&body, Encoding::Snappy, &Limits::default(), NOW_MS).unwrap_err();
        assert!(
            e.to_string().contains("limits.max_labels_per_series"),
            "{e}"
        );
    }
    // Decompression dominates; the scan stops at label 41. Generous bound for debug builds.
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
}
