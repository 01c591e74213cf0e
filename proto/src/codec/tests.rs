use super::*;
use crate::model::MetricFamily;
use crate::remote_write::to_write_request;

fn sample_request() -> WriteRequest {
    let mut family = MetricFamily::counter("node_cpu_seconds_total", "CPU time.");
    for cpu in 0..4 {
        for mode in ["idle", "user", "system"] {
            family.push(
                &[("cpu", &cpu.to_string()), ("mode", mode)],
                cpu as f64 * 1.5,
            );
        }
    }
    to_write_request(
        &[family],
        &[("instance", "h"), ("job", "linux")],
        1_700_000_000_000,
    )
}

#[test]
fn snappy_round_trip() {
    let req = sample_request();
    let body = encode_write_request(&req);
    let back = decode_write_request(&body, Encoding::Snappy, 1 << 20).unwrap();
    assert_eq!(back, req);
}

#[test]
fn zstd_round_trip() {
    let req = sample_request();
    let body = zstd_compress(&req.encode_to_vec());
    let back = decode_write_request(&body, Encoding::Zstd, 1 << 20).unwrap();
    assert_eq!(back, req);
}

#[test]
fn snappy_header_over_limit_is_refused_before_decoding() {
    // A header declaring 1 GiB followed by nothing: refused from the header alone.
    let mut body = Vec::new();
    let mut n: u64 = 1 << 30;
    while n >= 0x80 {
        body.push((n as u8) | 0x80);
        n >>= 7;
    }
    body.push(n as u8);
    match snappy_decompress(&body, 32 << 20) {
        Err(CodecError::TooLarge { declared, limit }) => {
            assert_eq!(declared, 1 << 30);
            assert_eq!(limit, 32 << 20);
        }
        other => panic!("expected TooLarge, got {other:?}"),
    }
}

#[test]
fn snappy_into_a_used_buffer_gives_exactly_the_body() {
    let big = encode_write_request(&sample_request());
    let small = snappy_compress(b"short");
    let mut buf = Vec::new();
    let len = snappy_decompress_into(&big, 1 << 20, &mut buf).unwrap();
    assert_eq!(buf[..len], sample_request().encode_to_vec()[..]);
    // A smaller body after a larger one: its bytes only, the buffer not shrunk.
    let capacity = buf.len();
    let len = snappy_decompress_into(&small, 1 << 20, &mut buf).unwrap();
    assert_eq!(&buf[..len], b"short");
    assert_eq!(buf.len(), capacity);
    assert!(matches!(
        snappy_decompress_into(&big, 16, &mut buf),
        Err(CodecError::TooLarge { limit: 16, .. })
    ));
    let mut cut = big.clone();
    cut.truncate(big.len() / 2);
    assert!(snappy_decompress_into(&cut, 1 << 20, &mut buf).is_err());
}

#[test]
fn zstd_over_limit_is_refused() {
    let body = zstd_compress(&vec![0u8; 4096]);
    assert!(matches!(
        zstd_decompress(&body, 1024),
        Err(CodecError::TooLarge { .. })
    ));
}

#[test]
fn garbage_and_truncation_are_errors_not_panics() {
    let body = encode_write_request(&sample_request());
    for cut in [1, body.len() / 2, body.len() - 1] {
        assert!(decode_write_request(&body[..cut], Encoding::Snappy, 1 << 20).is_err());
    }
    assert!(decode_write_request(b"\xff\xff\xff\xff\xff\xff", Encoding::Snappy, 1 << 20).is_err());
    assert!(decode_write_request(b"not zstd", Encoding::Zstd, 1 << 20).is_err());
}

#[test]
fn content_encoding_header() {
    assert_eq!(Encoding::from_header(None).unwrap(), Encoding::Snappy);
    assert_eq!(Encoding::from_header(Some("ZSTD")).unwrap(), Encoding::Zstd);
    let err = Encoding::from_header(Some("gzip")).unwrap_err().to_string();
    assert!(err.contains("gzip") && err.contains("snappy"), "{err}");
}

#[test]
fn joined_snappy_blocks_decode_to_one_request_with_every_series() {
    let first = sample_request();
    let mut second = sample_request();
    for series in &mut second.timeseries {
        series.labels[0].value.push_str("_other");
    }
    // Over 64 KiB of repetitive text: a multi-byte length header and long back-references.
    let big = WriteRequest {
        timeseries: (0..2000)
            .flat_map(|_| sample_request().timeseries)
            .collect(),
        metadata: Vec::new(),
    };
    let empty = WriteRequest::default();
    let requests = [&first, &second, &empty, &big];
    let blocks: Vec<Vec<u8>> = requests.iter().map(|r| encode_write_request(r)).collect();
    let refs: Vec<&[u8]> = blocks.iter().map(Vec::as_slice).collect();
    let joined = snappy_concat(&refs).unwrap();
    let decoded = decode_write_request(&joined, Encoding::Snappy, 64 << 20).unwrap();
    let expected: Vec<_> = requests
        .iter()
        .flat_map(|r| r.timeseries.iter().cloned())
        .collect();
    assert_eq!(decoded.timeseries, expected);
    assert_eq!(snappy_concat(&[blocks[0].as_slice()]).unwrap(), blocks[0]);
    assert!(snappy_concat(&[&[0x80, 0x80, 0x80, 0x80, 0x80, 0x01][..]]).is_err());
    assert!(snappy_concat(&[&[][..]]).is_err());
}
