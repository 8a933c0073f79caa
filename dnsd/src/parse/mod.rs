//! Wire bytes -> [`Request`]: the header, the one question, and EDNS.
//!
//! The parser borrows the packet and allocates nothing. It decides only
//! what the bytes say; what to answer is `answer`'s job. Outcomes:
//! drop (not a query we may answer), FORMERR (a header we can reply to but a
//! malformed body), or a parsed request.

mod edns;
mod message;

pub use edns::{ClientSubnet, DO_BIT, Edns, EdnsError};
pub use message::{Parsed, Request, parse_request};

/// Header flag bits (RFC 1035 §4.1.1, RFC 4035 §3.1.6) in the 16-bit flags word.
pub mod flags {
    /// Query/response.
    pub const QR: u16 = 0x8000;
    /// Authoritative answer.
    pub const AA: u16 = 0x0400;
    /// Truncated.
    pub const TC: u16 = 0x0200;
    /// Recursion desired.
    pub const RD: u16 = 0x0100;
    /// Recursion available.
    pub const RA: u16 = 0x0080;
    /// Reserved; must be zero in responses.
    pub const Z: u16 = 0x0040;
    /// Authentic data.
    pub const AD: u16 = 0x0020;
    /// Checking disabled.
    pub const CD: u16 = 0x0010;
}

/// Operation codes (RFC 1035, RFC 1996, RFC 2136).
pub mod opcode {
    /// Standard query.
    pub const QUERY: u8 = 0;
    /// Zone change notification.
    pub const NOTIFY: u8 = 4;
    /// Dynamic update.
    pub const UPDATE: u8 = 5;
}

/// Response codes, including the extended ones carried in OPT.
pub mod rcode {
    pub const NOERROR: u16 = 0;
    pub const FORMERR: u16 = 1;
    pub const SERVFAIL: u16 = 2;
    pub const NXDOMAIN: u16 = 3;
    pub const NOTIMP: u16 = 4;
    pub const REFUSED: u16 = 5;
    pub const YXDOMAIN: u16 = 6;
    pub const NOTAUTH: u16 = 9;
    /// Extended RCODE 16 (RFC 6891 §6.1.3): header 0, OPT octet 1.
    pub const BADVERS: u16 = 16;
}

/// DNS classes we distinguish.
pub mod class {
    pub const IN: u16 = 1;
    pub const CH: u16 = 3;
}
