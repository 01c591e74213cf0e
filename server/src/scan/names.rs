//! The byte checks of the scan: which names the Prometheus data model allows, and the
//! hash of a series' labels.

/// What each byte may be in a name of the Prometheus data model, as bits: label names are
/// `[a-zA-Z_][a-zA-Z0-9_]*`, metric names `[a-zA-Z_:][a-zA-Z0-9_:]*`. A table, since every
/// byte of every name is looked up (the scan's hottest loop).
pub(super) const NAME_CHARS: [u8; 256] = name_chars();
pub(super) const LABEL_START: u8 = 1;
pub(super) const LABEL_REST: u8 = 2;
pub(super) const METRIC_START: u8 = 4;
pub(super) const METRIC_REST: u8 = 8;

const fn name_chars() -> [u8; 256] {
    let mut table = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        let letter = b.is_ascii_alphabetic() || b == b'_';
        let digit = b.is_ascii_digit();
        let mut bits = 0;
        if letter {
            bits |= LABEL_START | LABEL_REST | METRIC_START | METRIC_REST;
        }
        if digit {
            bits |= LABEL_REST | METRIC_REST;
        }
        if b == b':' {
            bits |= METRIC_START | METRIC_REST;
        }
        table[i] = bits;
        i += 1;
    }
    table
}

/// Whether `name` is a non-empty name whose first byte has the `start` bit and every other
/// byte the `rest` bit of [`NAME_CHARS`].
#[inline]
pub(super) fn is_name(name: &[u8], start: u8, rest: u8) -> bool {
    let Some((first, tail)) = name.split_first() else {
        return false;
    };
    // No early exit in the loop: names are valid almost always, and a loop without one
    // is unrolled.
    let tail_ok = tail
        .iter()
        .fold(rest, |bits, b| bits & NAME_CHARS[usize::from(*b)]);
    NAME_CHARS[usize::from(*first)] & start != 0 && tail_ok != 0
}

/// A fast 64-bit hash of a series' label messages (not cryptographic: a collision only makes
/// a new series pass for a known one under the per-tenant series limit).
#[derive(Debug, Clone, Copy)]
pub(super) struct LabelHash(u64);

impl Default for LabelHash {
    fn default() -> Self {
        LabelHash(0xcbf2_9ce4_8422_2325)
    }
}

impl LabelHash {
    const K: u64 = 0x517c_c1b7_2722_0a95;

    #[inline]
    pub(super) fn add(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let word = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
            self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(Self::K);
        }
        // The last 8 bytes (overlapping the chunks: no copy of a variable length), or the
        // few there are.
        let tail = match bytes.len() {
            n if n >= 8 => u64::from_le_bytes(bytes[n - 8..].try_into().expect("8 bytes")),
            _ => bytes
                .iter()
                .rev()
                .fold(0, |word, b| (word << 8) | u64::from(*b)),
        };
        // The length keeps "ab" + "c" apart from "a" + "bc".
        self.0 =
            (self.0.rotate_left(5) ^ tail ^ ((bytes.len() as u64) << 56)).wrapping_mul(Self::K);
    }

    pub(super) fn finish(self) -> u64 {
        let h = self.0;
        (h ^ (h >> 29)).wrapping_mul(0xbf58_476d_1ce4_e5b9) ^ (h >> 32)
    }
}
