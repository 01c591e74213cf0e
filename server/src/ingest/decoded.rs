//! Decoded bodies in buffers used again (ARCHITECTURE.md, "Server CPU per request").
//!
//! A fleet's requests decode to some tens of KiB each. A fresh buffer for each is zeroed
//! (`vec![0; n]`) and then written over by the decoder: 6 % of the server's instructions,
//! on memory the cache has not seen. A buffer that comes back here after its request is
//! written over without zeroing, and is warm.

use peeper_proto::codec::{self, CodecError};
use std::cell::RefCell;
use std::ops::Deref;

/// Buffers each thread keeps for the next bodies (one async worker by default).
const KEPT: usize = 4;
/// Larger buffers are not kept: a rare big body would hold its memory for good.
const MAX_KEPT_BYTES: usize = 256 << 10;

thread_local! {
    static FREE: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
}

/// A decoded body: the first `len` bytes of a buffer that goes back to its thread's free
/// list when dropped.
#[derive(Debug)]
pub struct Decoded {
    buf: Vec<u8>,
    len: usize,
}

impl Decoded {
    /// Decodes a snappy block of at most `limit` decoded bytes into a kept buffer.
    pub fn snappy(body: &[u8], limit: usize) -> Result<Self, CodecError> {
        let mut buf = FREE
            .try_with(|free| free.borrow_mut().pop())
            .ok()
            .flatten()
            .unwrap_or_default();
        match codec::snappy_decompress_into(body, limit, &mut buf) {
            Ok(len) => Ok(Decoded { buf, len }),
            Err(e) => {
                give_back(buf);
                Err(e)
            }
        }
    }
}

impl From<Vec<u8>> for Decoded {
    fn from(buf: Vec<u8>) -> Self {
        let len = buf.len();
        Decoded { buf, len }
    }
}

impl Deref for Decoded {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

impl Drop for Decoded {
    fn drop(&mut self) {
        give_back(std::mem::take(&mut self.buf));
    }
}

fn give_back(buf: Vec<u8>) {
    if buf.is_empty() || buf.len() > MAX_KEPT_BYTES {
        return;
    }
    // A thread being torn down has no list any more: the buffer is freed.
    let _ = FREE.try_with(|free| {
        let mut free = free.borrow_mut();
        if free.len() < KEPT {
            free.push(buf);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_buffer_comes_back_and_holds_only_the_next_body() {
        let long = codec::snappy_compress(&[7u8; 5000]);
        let short = codec::snappy_compress(b"short");
        let first = Decoded::snappy(&long, 1 << 20).unwrap();
        assert_eq!(&first[..], &[7u8; 5000][..]);
        let address = first.buf.as_ptr();
        drop(first);
        let second = Decoded::snappy(&short, 1 << 20).unwrap();
        assert_eq!(&second[..], b"short");
        assert_eq!(second.buf.as_ptr(), address, "the same buffer, used again");
    }

    #[test]
    fn a_failed_decode_keeps_the_buffer_and_big_ones_are_not_kept() {
        assert!(Decoded::snappy(b"\xff\xff\xff\xff\x7f", 1 << 20).is_err());
        let big = Decoded::from(vec![1u8; MAX_KEPT_BYTES + 1]);
        drop(big);
        FREE.with(|free| {
            assert!(free.borrow().iter().all(|b| b.len() <= MAX_KEPT_BYTES));
        });
    }
}
