//! One resource record as read from a zone file or the API, before indexing.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use crate::wire::{Name, RType};

/// Where a record came from, for error messages (`file:line`).
#[derive(Clone, PartialEq, Eq)]
pub struct Location {
    /// The file, as given (an `$INCLUDE`d file has its own path here).
    pub file: Arc<PathBuf>,
    /// 1-based line of the record's first token.
    pub line: u32,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file.display(), self.line)
    }
}

impl fmt::Debug for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A resource record with its RDATA in uncompressed wire format.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// Owner name, fully qualified, case as written.
    pub owner: Name,
    /// Record type.
    pub rtype: RType,
    /// Class code; 1 (IN) for zone data.
    pub class: u16,
    /// TTL in seconds, 0..=2^31-1 after validation.
    pub ttl: u32,
    /// RDATA in uncompressed wire format; embedded names keep their written case.
    pub rdata: Box<[u8]>,
    /// Source of the record, if it came from a file.
    pub location: Option<Location>,
}
