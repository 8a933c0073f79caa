//! Wire bytes -> [`Request`]: the header, the one question, and EDNS.
//!
//! The parser borrows the packet and allocates nothing. It decides only
//! what the bytes say; what to answer is `answer`'s job. Outcomes:
//! drop (not a query we may answer), FORMERR (a header we can reply to but a
//! malformed body), or a parsed request.

mod edns;
mod message;

pub use edns::{ClientSubnet, Edns, EdnsError};
pub use message::{Parsed, Question, Request, parse_request};

/// How the query arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Udp,
    Tcp,
}
