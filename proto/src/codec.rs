//! Body compression for remote-write: snappy *block* format (what remote-write 1.0 sends)
//! and zstd, each decoded with a ceiling on the decoded size that is checked before any
//! buffer of that size is allocated.

use crate::prometheus::WriteRequest;
use prost::Message;

/// How a request body is compressed (`Content-Encoding`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Snappy,
    Zstd,
}

impl Encoding {
    /// Parses a `Content-Encoding` header value; a missing header means snappy, as the
    /// remote-write 1.0 spec says.
    pub fn from_header(value: Option<&str>) -> Result<Self, CodecError> {
        match value.map(str::trim) {
            None | Some("") => Ok(Encoding::Snappy),
            Some(v) if v.eq_ignore_ascii_case("snappy") => Ok(Encoding::Snappy),
            Some(v) if v.eq_ignore_ascii_case("zstd") => Ok(Encoding::Zstd),
            Some(other) => Err(CodecError::UnsupportedEncoding(other.to_owned())),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    #[error("unsupported Content-Encoding {0:?}: send snappy (remote-write 1.0) or zstd")]
    UnsupportedEncoding(String),
    #[error("body is not valid snappy block data: {0}")]
    Snappy(String),
    #[error("body is not valid zstd data: {0}")]
    Zstd(String),
    #[error("decoded body would be {declared} bytes, over the limit of {limit} bytes")]
    TooLarge { declared: u64, limit: usize },
    #[error("body is not a valid remote-write WriteRequest: {0}")]
    Protobuf(#[from] prost::DecodeError),
}

/// The decoded length a snappy block declares in its header, read without decoding.
pub fn snappy_declared_len(body: &[u8]) -> Result<usize, CodecError> {
    snap::raw::decompress_len(body).map_err(|e| CodecError::Snappy(e.to_string()))
}

/// Compresses `data` in the snappy block format.
pub fn snappy_compress(data: &[u8]) -> Vec<u8> {
    // Only fails when the input exceeds snappy's 4 GiB block limit, which batches never do.
    snap::raw::Encoder::new()
        .compress_vec(data)
        .expect("snappy block input under 4 GiB")
}

/// Joins snappy blocks into one block that decompresses to their contents back to back,
/// without decompressing anything. A block is its decoded length (a varint) and a run of
/// elements whose copies reach back at most to the start of that block's own output, so
/// the runs stay valid one after the other under the summed length. Remote-write bodies
/// joined this way decode to one `WriteRequest` holding every body's series (protobuf
/// merges repeated fields of concatenated messages).
pub fn snappy_concat(blocks: &[&[u8]]) -> Result<Vec<u8>, CodecError> {
    let mut total: u64 = 0;
    let mut runs = Vec::with_capacity(blocks.len());
    for block in blocks {
        let (declared, header) = snappy_header(block)?;
        total += declared as u64;
        runs.push(&block[header..]);
    }
    // Snappy's decoded length is a 32-bit varint.
    let total = u32::try_from(total).map_err(|_| {
        CodecError::Snappy("the joined blocks would decode to 4 GiB or more".to_owned())
    })?;
    let mut out = Vec::with_capacity(5 + runs.iter().map(|r| r.len()).sum::<usize>());
    let mut rest = total;
    while rest >= 0x80 {
        out.push((rest as u8) | 0x80);
        rest >>= 7;
    }
    out.push(rest as u8);
    for run in runs {
        out.extend_from_slice(run);
    }
    Ok(out)
}

/// A snappy block's declared decoded length and the size of the varint that holds it.
fn snappy_header(block: &[u8]) -> Result<(usize, usize), CodecError> {
    let mut value: u64 = 0;
    for (i, byte) in block.iter().take(5).enumerate() {
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Ok((value as usize, i + 1));
        }
    }
    Err(CodecError::Snappy(
        "the header's length is missing or longer than 5 bytes".to_owned(),
    ))
}

/// Decompresses a snappy block, refusing before allocation when the header declares more
/// than `limit` bytes.
pub fn snappy_decompress(body: &[u8], limit: usize) -> Result<Vec<u8>, CodecError> {
    let declared = snappy_declared_len(body)?;
    if declared > limit {
        return Err(CodecError::TooLarge {
            declared: declared as u64,
            limit,
        });
    }
    snap::raw::Decoder::new()
        .decompress_vec(body)
        .map_err(|e| CodecError::Snappy(e.to_string()))
}

/// [`snappy_decompress`] into `out`, which is grown (never shrunk) to hold the decoded
/// bytes; returns their length: `out[..len]`. A buffer used again needs no zeroing of what
/// it held before, since the decoder writes every byte up to `len`.
pub fn snappy_decompress_into(
    body: &[u8],
    limit: usize,
    out: &mut Vec<u8>,
) -> Result<usize, CodecError> {
    let declared = snappy_declared_len(body)?;
    if declared > limit {
        return Err(CodecError::TooLarge {
            declared: declared as u64,
            limit,
        });
    }
    if out.len() < declared {
        out.resize(declared, 0);
    }
    snap::raw::Decoder::new()
        .decompress(body, &mut out[..declared])
        .map_err(|e| CodecError::Snappy(e.to_string()))
}

/// Decompresses a zstd frame, refusing when the frame declares more than `limit` bytes or,
/// for frames that do not declare their size, as soon as the output passes `limit`.
pub fn zstd_decompress(body: &[u8], limit: usize) -> Result<Vec<u8>, CodecError> {
    use std::io::Read;
    if let Ok(Some(declared)) = zstd::zstd_safe::get_frame_content_size(body)
        && declared > limit as u64
    {
        return Err(CodecError::TooLarge { declared, limit });
    }
    let decoder =
        zstd::stream::read::Decoder::new(body).map_err(|e| CodecError::Zstd(e.to_string()))?;
    let mut out = Vec::new();
    let read = decoder
        .take(limit as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| CodecError::Zstd(e.to_string()))?;
    if read > limit {
        return Err(CodecError::TooLarge {
            declared: read as u64,
            limit,
        });
    }
    Ok(out)
}

/// Compresses with zstd at the default level.
pub fn zstd_compress(data: &[u8]) -> Vec<u8> {
    zstd::bulk::compress(data, 0).expect("zstd compression of an in-memory buffer")
}

/// Decompresses a body according to its encoding.
pub fn decompress(body: &[u8], encoding: Encoding, limit: usize) -> Result<Vec<u8>, CodecError> {
    match encoding {
        Encoding::Snappy => snappy_decompress(body, limit),
        Encoding::Zstd => zstd_decompress(body, limit),
    }
}

/// Encodes a request as a remote-write body (protobuf, then snappy).
pub fn encode_write_request(request: &WriteRequest) -> Vec<u8> {
    snappy_compress(&request.encode_to_vec())
}

/// Decodes a remote-write body.
pub fn decode_write_request(
    body: &[u8],
    encoding: Encoding,
    limit: usize,
) -> Result<WriteRequest, CodecError> {
    let raw = decompress(body, encoding, limit)?;
    Ok(WriteRequest::decode(raw.as_slice())?)
}

#[cfg(test)]
mod tests;
