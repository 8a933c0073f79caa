//! Records <-> zone transfer messages.
//!
//! Writing: records are packed into messages of at most a size limit,
//! owner names and the classic RDATA names compressed (RFC 1035 §4.1.4),
//! leaving room for a TSIG RR. Reading: a transfer reply message's answer
//! records, with names decompressed, as [`Record`]s.
//!
//! SKELETON: the signatures are the contract; the transfer work fills them in.

use crate::wire::{Name, RType, Rcode};
use crate::zone::Record;

/// Why a transfer message could not be read.
#[derive(Debug, thiserror::Error)]
pub enum MessageError {
    #[error("malformed message: {0}")]
    Malformed(&'static str),
    #[error("the server answered RCODE {}", .0.0)]
    Rcode(Rcode),
}

/// One message of a reply as read: header fields and answer records.
#[derive(Debug)]
pub struct ReadMessage {
    pub id: u16,
    pub rcode: Rcode,
    pub tc: bool,
    pub aa: bool,
    /// The question, if the message has one.
    pub question: Option<(Name, RType)>,
    /// The answer section, names decompressed (RDATA too, for the types
    /// whose RDATA names may be compressed: RFC 3597 §4).
    pub answers: Vec<Record>,
}

/// Reads a reply message (only the first `len` octets: a TSIG RR after
/// them is the caller's business).
pub fn read_message(_message: &[u8]) -> Result<ReadMessage, MessageError> {
    todo!()
}

/// Builds a transfer's reply messages one at a time.
pub struct MessageWriter {
    // id, question, limit, compressor, the message being built
}

impl MessageWriter {
    /// Replies to request `id` with `question` in the first message;
    /// `limit` is the largest message (≤ 65535) including `reserve`
    /// octets kept free for a TSIG RR.
    pub fn new(
        _id: u16,
        _question: (&Name, RType),
        _limit: usize,
        _reserve: usize,
    ) -> MessageWriter {
        todo!()
    }
    /// Adds a record; returns a finished message when this one did not fit
    /// in the current message (which then starts with it).
    pub fn push(&mut self, _record: &Record) -> Option<Vec<u8>> {
        todo!()
    }
    /// The last message, if it holds any record.
    pub fn finish(self) -> Option<Vec<u8>> {
        todo!()
    }
}
