//! The protobuf wire format, read in place: wire types and a cursor over one message.

use super::ScanError;

pub(super) const WIRE_VARINT: u8 = 0;
pub(super) const WIRE_FIXED64: u8 = 1;
pub(super) const WIRE_LEN: u8 = 2;
pub(super) const WIRE_FIXED32: u8 = 5;

/// A cursor over one protobuf message.
pub(super) struct Reader<'a> {
    pub(super) buf: &'a [u8],
    pos: usize,
    /// Offset of `buf` within the whole body, for error messages.
    pub(super) base: usize,
}

impl<'a> Reader<'a> {
    pub(super) fn new(buf: &'a [u8], base: usize) -> Self {
        Reader { buf, pos: 0, base }
    }

    pub(super) fn done(&self) -> bool {
        self.pos >= self.buf.len()
    }

    pub(super) fn err(&self, what: &'static str) -> ScanError {
        ScanError::Malformed {
            what,
            offset: self.base + self.pos,
        }
    }

    #[inline]
    pub(super) fn varint(&mut self) -> Result<u64, ScanError> {
        // Tags and short lengths are one byte: the common case.
        if let Some(&byte) = self.buf.get(self.pos)
            && byte < 0x80
        {
            self.pos += 1;
            return Ok(u64::from(byte));
        }
        self.varint_slow()
    }

    #[cold]
    fn varint_slow(&mut self) -> Result<u64, ScanError> {
        let mut value = 0u64;
        for i in 0..10 {
            let Some(&byte) = self.buf.get(self.pos) else {
                return Err(self.err("truncated varint"));
            };
            self.pos += 1;
            if i == 9 && byte > 1 {
                return Err(self.err("varint longer than 64 bits"));
            }
            value |= u64::from(byte & 0x7f) << (7 * i);
            if byte < 0x80 {
                return Ok(value);
            }
        }
        Err(self.err("varint longer than 10 bytes"))
    }

    #[inline]
    pub(super) fn tag(&mut self) -> Result<(u64, u8), ScanError> {
        let key = self.varint()?;
        let field = key >> 3;
        if field == 0 {
            return Err(self.err("field number 0"));
        }
        Ok((field, (key & 7) as u8))
    }

    #[inline]
    pub(super) fn len_delimited(&mut self) -> Result<Reader<'a>, ScanError> {
        let len = self.varint()?;
        let start = self.pos;
        let remaining = (self.buf.len() - start) as u64;
        if len > remaining {
            return Err(self.err("length-delimited field runs past its message"));
        }
        self.pos = start + len as usize;
        Ok(Reader::new(&self.buf[start..self.pos], self.base + start))
    }

    pub(super) fn fixed(&mut self, n: usize) -> Result<&'a [u8], ScanError> {
        if self.buf.len() - self.pos < n {
            return Err(self.err("truncated fixed-width field"));
        }
        let out = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    pub(super) fn skip(&mut self, wire: u8) -> Result<(), ScanError> {
        match wire {
            WIRE_VARINT => self.varint().map(drop),
            WIRE_FIXED64 => self.fixed(8).map(drop),
            WIRE_LEN => self.len_delimited().map(drop),
            WIRE_FIXED32 => self.fixed(4).map(drop),
            _ => Err(self.err("unsupported wire type (groups or invalid)")),
        }
    }
}
