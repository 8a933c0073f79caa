//! The vocabulary of a message header and its OPT record, typed: header
//! flags, opcodes, response codes, classes and EDNS flags (RFC 1035
//! §4.1.1, RFC 6891, RFC 9824).
//!
//! Each is a newtype over the field's wire width, so an RCODE cannot be
//! passed where a class is meant, and the conversions to and from the wire
//! are the only place the bit layout is spelled out.

use std::fmt;
use std::ops::{BitAnd, BitOr, BitOrAssign};

/// The 16-bit flags word of the header (QR, OPCODE, AA, TC, RD, RA, Z, AD,
/// CD and the low RCODE bits), as it is on the wire.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Flags(pub u16);

impl Flags {
    /// Query/response.
    pub const QR: Flags = Flags(0x8000);
    /// The four OPCODE bits.
    pub const OPCODE: Flags = Flags(0x7800);
    /// Authoritative answer.
    pub const AA: Flags = Flags(0x0400);
    /// Truncated.
    pub const TC: Flags = Flags(0x0200);
    /// Recursion desired.
    pub const RD: Flags = Flags(0x0100);
    /// Recursion available.
    pub const RA: Flags = Flags(0x0080);
    /// Reserved; must be zero in responses.
    pub const Z: Flags = Flags(0x0040);
    /// Authentic data.
    pub const AD: Flags = Flags(0x0020);
    /// Checking disabled.
    pub const CD: Flags = Flags(0x0010);
    /// No flag.
    pub const NONE: Flags = Flags(0);

    /// Reads the word from header octets 2 and 3.
    pub fn from_header(header: &[u8]) -> Flags {
        Flags(u16::from_be_bytes([header[2], header[3]]))
    }

    /// True when every bit of `other` is set here.
    pub fn contains(self, other: Flags) -> bool {
        self.0 & other.0 == other.0
    }

    /// The OPCODE field.
    pub fn opcode(self) -> Opcode {
        Opcode(((self.0 >> 11) & 0xF) as u8)
    }

    /// The high octet, as it sits at offset 2 of the header.
    pub fn high_octet(self) -> u8 {
        (self.0 >> 8) as u8
    }
}

impl BitOr for Flags {
    type Output = Flags;
    fn bitor(self, rhs: Flags) -> Flags {
        Flags(self.0 | rhs.0)
    }
}

impl BitOrAssign for Flags {
    fn bitor_assign(&mut self, rhs: Flags) {
        self.0 |= rhs.0;
    }
}

impl BitAnd for Flags {
    type Output = Flags;
    fn bitand(self, rhs: Flags) -> Flags {
        Flags(self.0 & rhs.0)
    }
}

impl fmt::Debug for Flags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Flags({:#06x})", self.0)
    }
}

/// Operation codes (RFC 1035, RFC 1996, RFC 2136).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Opcode(pub u8);

impl Opcode {
    /// Standard query.
    pub const QUERY: Opcode = Opcode(0);
    /// Zone change notification.
    pub const NOTIFY: Opcode = Opcode(4);
    /// Dynamic update.
    pub const UPDATE: Opcode = Opcode(5);
}

/// Response codes, including the extended ones whose upper eight bits
/// travel in the OPT record (RFC 6891 §6.1.3).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Rcode(pub u16);

impl Rcode {
    pub const NOERROR: Rcode = Rcode(0);
    pub const FORMERR: Rcode = Rcode(1);
    pub const SERVFAIL: Rcode = Rcode(2);
    pub const NXDOMAIN: Rcode = Rcode(3);
    pub const NOTIMP: Rcode = Rcode(4);
    pub const REFUSED: Rcode = Rcode(5);
    pub const YXDOMAIN: Rcode = Rcode(6);
    pub const NOTAUTH: Rcode = Rcode(9);
    /// Extended RCODE 16: header 0, OPT octet 1.
    pub const BADVERS: Rcode = Rcode(16);
    /// A server cookie is required and the client's is missing or bad (RFC 7873).
    pub const BADCOOKIE: Rcode = Rcode(23);

    /// The four bits that go in the header.
    pub fn header_bits(self) -> u8 {
        (self.0 & 0x0F) as u8
    }

    /// The upper eight bits, for the OPT record's TTL field.
    pub fn extended_bits(self) -> u8 {
        (self.0 >> 4) as u8
    }

    /// True for codes that need an OPT record to be expressed.
    pub fn is_extended(self) -> bool {
        self.0 >= 16
    }
}

impl From<Rcode> for u16 {
    fn from(rcode: Rcode) -> u16 {
        rcode.0
    }
}

/// DNS classes (RFC 1035 §3.2.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Class(pub u16);

impl Class {
    pub const IN: Class = Class(1);
    pub const CH: Class = Class(3);

    /// The two octets as they go on the wire.
    pub fn to_be_bytes(self) -> [u8; 2] {
        self.0.to_be_bytes()
    }
}

impl From<Class> for u16 {
    fn from(class: Class) -> u16 {
        class.0
    }
}

/// The 16 flag bits of an OPT record's TTL field (RFC 6891 §6.1.4).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct EdnsFlags(pub u16);

impl EdnsFlags {
    /// DNSSEC OK (RFC 3225).
    pub const DO: EdnsFlags = EdnsFlags(0x8000);
    /// Compact answers OK (RFC 9824 §3.4).
    pub const CO: EdnsFlags = EdnsFlags(0x4000);

    /// True when every bit of `other` is set here.
    pub fn contains(self, other: EdnsFlags) -> bool {
        self.0 & other.0 == other.0
    }
}

impl BitOr for EdnsFlags {
    type Output = EdnsFlags;
    fn bitor(self, rhs: EdnsFlags) -> EdnsFlags {
        EdnsFlags(self.0 | rhs.0)
    }
}

impl BitOrAssign for EdnsFlags {
    fn bitor_assign(&mut self, rhs: EdnsFlags) {
        self.0 |= rhs.0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rcode_splits_between_header_and_opt() {
        assert_eq!(Rcode::BADVERS.header_bits(), 0);
        assert_eq!(Rcode::BADVERS.extended_bits(), 1);
        assert!(Rcode::BADVERS.is_extended());
        assert_eq!(Rcode::REFUSED.header_bits(), 5);
        assert!(!Rcode::REFUSED.is_extended());
    }

    #[test]
    fn opcode_is_read_from_its_four_bits() {
        assert_eq!(Flags(0x2000 | 0x0100).opcode(), Opcode::NOTIFY);
        assert_eq!(Flags(0x7800).opcode(), Opcode(15));
        assert!(Flags(0x8100).contains(Flags::QR | Flags::RD));
        assert!(!Flags(0x8100).contains(Flags::CD));
    }
}
