//! A bounds-checked cursor over wire RDATA, used by the printers (which are
//! also the validators: see `check_wire`).

use super::RdataError;
use crate::wire::name::wire_name_len;
use crate::wire::{Name, RType};

/// Reads fields from wire RDATA; every read checks the bounds.
pub(crate) struct Reader<'a> {
    rtype: RType,
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(rtype: RType, buf: &'a [u8]) -> Reader<'a> {
        Reader { rtype, buf, pos: 0 }
    }

    /// A `Malformed` error for this reader's type.
    pub(crate) fn fault(&self, reason: impl Into<String>) -> RdataError {
        RdataError::Malformed {
            rtype: self.rtype,
            reason: reason.into(),
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.pos >= self.buf.len()
    }

    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], RdataError> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.buf.len());
        let end = end.ok_or_else(|| self.fault("RDATA is truncated"))?;
        let bytes = &self.buf[self.pos..end];
        self.pos = end;
        Ok(bytes)
    }

    pub(crate) fn rest(&mut self) -> &'a [u8] {
        let bytes = &self.buf[self.pos.min(self.buf.len())..];
        self.pos = self.buf.len();
        bytes
    }

    pub(crate) fn u8(&mut self) -> Result<u8, RdataError> {
        Ok(self.take(1)?[0])
    }

    pub(crate) fn u16(&mut self) -> Result<u16, RdataError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    pub(crate) fn u32(&mut self) -> Result<u32, RdataError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// An uncompressed name (RDATA in zones never carries pointers).
    pub(crate) fn name(&mut self) -> Result<Name, RdataError> {
        let rest = &self.buf[self.pos.min(self.buf.len())..];
        let len = wire_name_len(rest).map_err(|e| self.fault(format!("bad name: {e}")))?;
        let bytes = self.take(len)?;
        Name::from_wire(bytes).map_err(|e| self.fault(format!("bad name: {e}")))
    }

    /// A length-prefixed character-string.
    pub(crate) fn charstr(&mut self) -> Result<&'a [u8], RdataError> {
        let len = self.u8()?;
        self.take(len.into())
    }

    /// Fails if bytes are left over.
    pub(crate) fn finish(&self) -> Result<(), RdataError> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(self.fault(format!("{} octets left over", self.buf.len() - self.pos)))
        }
    }
}
