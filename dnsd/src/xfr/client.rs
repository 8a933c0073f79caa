//! dnsd as a transfer client: asks a primary for its SOA serial and
//! fetches a zone by IXFR (falling back to AXFR), TSIG-signed when a key is
//! configured.
//!
//! SKELETON: the signatures are the contract; the transfer work fills them in.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use super::diff::Diff;
use super::message::MessageError;
use crate::wire::Name;
use crate::wire::tsig::{Key, ReplyError};
use crate::zone::Record;

/// A primary to ask.
#[derive(Debug, Clone)]
pub struct Primary {
    pub addr: SocketAddr,
    pub key: Option<Arc<Key>>,
}

/// Why a check or transfer failed.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("{addr}: {source}")]
    Io {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("{addr}: timed out")]
    Timeout { addr: SocketAddr },
    #[error("{addr}: {source}")]
    Message {
        addr: SocketAddr,
        source: MessageError,
    },
    #[error("{addr}: TSIG: {source}")]
    Tsig {
        addr: SocketAddr,
        source: ReplyError,
    },
    #[error("{addr}: {reason}")]
    Protocol { addr: SocketAddr, reason: String },
}

/// What a fetch brought.
#[derive(Debug)]
pub enum Fetched {
    /// The primary's serial is not newer than ours.
    UpToDate { serial: u32 },
    /// The whole zone (AXFR, or an IXFR answered in full), SOA first.
    Full(Vec<Record>),
    /// The diffs from our serial to the primary's.
    Incremental(Vec<Diff>),
}

/// The primary's SOA serial for `zone` (UDP, TCP when truncated).
pub async fn soa_serial(
    _primary: &Primary,
    _zone: &Name,
    _timeout: Duration,
) -> Result<u32, FetchError> {
    todo!()
}

/// Fetches `zone`: IXFR from `have` (our serial) when given, AXFR
/// otherwise or when the IXFR fails; `timeout` bounds each read.
pub async fn fetch(
    _primary: &Primary,
    _zone: &Name,
    _have: Option<u32>,
    _timeout: Duration,
) -> Result<Fetched, FetchError> {
    todo!()
}
