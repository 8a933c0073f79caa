//! Name compression (RFC 1035 §4.1.4) while writing a reply.
//!
//! Remembers where each written name suffix starts; a later name whose
//! suffix equals one octet for octet is written as a pointer. Matching is
//! case-sensitive so that every name keeps its own spelling (conformance
//! §12.2). Only names written through the compressor are candidates, never
//! the question: the reply's bytes then depend on the query name only
//! through the records owned by it, which point at the question directly.
//! The table is a fixed array reset per reply, so compression allocates
//! nothing.

/// Offsets of name suffixes already in the message.
pub struct Compressor {
    offsets: [u16; 96],
    len: usize,
}

impl Default for Compressor {
    fn default() -> Self {
        Compressor {
            offsets: [0; 96],
            len: 0,
        }
    }
}

/// Highest offset a pointer can reach.
const MAX_POINTER: usize = 0x3FFF;

impl Compressor {
    /// Forgets every name.
    pub fn clear(&mut self) {
        self.len = 0;
    }

    /// A mark to roll back to with [`Compressor::truncate`].
    pub fn mark(&self) -> usize {
        self.len
    }

    /// Forgets names recorded after `mark` (their bytes were cut off).
    pub fn truncate(&mut self, mark: usize) {
        self.len = self.len.min(mark);
    }

    fn add(&mut self, offset: usize) {
        if offset <= MAX_POINTER && self.len < self.offsets.len() {
            self.offsets[self.len] = offset as u16;
            self.len += 1;
        }
    }

    /// Appends `name` (uncompressed wire) to `msg`, compressed where possible.
    pub fn write_name(&mut self, msg: &mut Vec<u8>, name: &[u8]) {
        let mut pos = 0;
        while pos < name.len() && name[pos] != 0 {
            if let Some(target) = self.find(msg, &name[pos..]) {
                self.write_labels(msg, &name[..pos]);
                msg.extend_from_slice(&(0xC000 | target).to_be_bytes());
                return;
            }
            pos += 1 + name[pos] as usize;
        }
        self.write_labels(msg, &name[..pos]);
        msg.push(0);
    }

    /// Appends whole labels, remembering each suffix they start.
    fn write_labels(&mut self, msg: &mut Vec<u8>, labels: &[u8]) {
        let base = msg.len();
        msg.extend_from_slice(labels);
        let mut pos = 0;
        while pos < labels.len() {
            self.add(base + pos);
            pos += 1 + labels[pos] as usize;
        }
    }

    /// A remembered offset whose name equals `suffix`.
    fn find(&self, msg: &[u8], suffix: &[u8]) -> Option<u16> {
        self.offsets[..self.len]
            .iter()
            .copied()
            .find(|&offset| name_at_equals(msg, offset as usize, suffix))
    }
}

/// Compares the (possibly compressed) name at `offset` with `name`, exactly.
fn name_at_equals(msg: &[u8], mut offset: usize, name: &[u8]) -> bool {
    let mut pos = 0;
    // Pointers in our own output only go backwards; the hop cap is a guard.
    for _ in 0..128 {
        let Some(&len) = msg.get(offset) else {
            return false;
        };
        if len & 0xC0 == 0xC0 {
            let Some(&low) = msg.get(offset + 1) else {
                return false;
            };
            offset = usize::from(u16::from_be_bytes([len, low]) & 0x3FFF);
            continue;
        }
        let len = len as usize;
        if name.get(pos) != Some(&(len as u8)) {
            return false;
        }
        if len == 0 {
            return true;
        }
        let (Some(a), Some(b)) = (
            msg.get(offset + 1..offset + 1 + len),
            name.get(pos + 1..pos + 1 + len),
        ) else {
            return false;
        };
        if a != b {
            return false;
        }
        offset += 1 + len;
        pos += 1 + len;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compresses_against_earlier_suffixes() {
        let mut msg = vec![0u8; 12];
        let mut comp = Compressor::default();
        comp.write_name(&mut msg, b"\x03WWW\x07example\x04test\x00");
        let start = msg.len();
        comp.write_name(&mut msg, b"\x04mail\x07example\x04test\x00");
        assert_eq!(&msg[start..], b"\x04mail\xc0\x10");
        let start = msg.len();
        comp.write_name(&mut msg, b"\x04mail\x07example\x04test\x00");
        assert_eq!(&msg[start..], &[0xc0, start as u8 - 7]);
        // Case differs: no pointer, so the name keeps its own spelling.
        let start = msg.len();
        comp.write_name(&mut msg, b"\x04MAIL\x07EXAMPLE\x04test\x00");
        assert_eq!(&msg[start..], b"\x04MAIL\x07EXAMPLE\xc0\x18");
        let start = msg.len();
        comp.write_name(&mut msg, b"\x00");
        assert_eq!(&msg[start..], b"\x00");
    }
}
