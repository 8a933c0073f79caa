//! The difference between two versions of a zone, as IXFR carries it
//! (RFC 1995 §4): the old SOA, the records deleted, the new SOA, the
//! records added.
//!
//! SKELETON: the signatures are the contract; the IXFR work fills them in.

use crate::zone::{Record, Zone};

/// One serial change of a zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diff {
    /// The SOA before the change.
    pub old_soa: Record,
    /// Records that were in the old version and are not in the new, SOA
    /// excluded; each record once, in canonical order.
    pub deleted: Vec<Record>,
    /// The SOA after the change.
    pub new_soa: Record,
    /// Records in the new version that were not in the old, SOA excluded.
    pub added: Vec<Record>,
}

impl Diff {
    pub fn old_serial(&self) -> u32 {
        soa_serial(&self.old_soa)
    }
    pub fn new_serial(&self) -> u32 {
        soa_serial(&self.new_soa)
    }
}

/// The serial of an SOA record's RDATA (its last 20 octets start with it).
pub fn soa_serial(soa: &Record) -> u32 {
    let tail = &soa.rdata[soa.rdata.len().saturating_sub(20)..];
    tail.get(..4)
        .map_or(0, |b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

/// The difference between `old` and `new` (same origin). When `names`
/// (lower-case wire names) is given, only those names can differ: the
/// writer knows what it changed, and a big zone is not walked. Nodes the
/// two versions share (`Arc::ptr_eq`) are equal without a look.
pub fn diff_zones(_old: &Zone, _new: &Zone, _names: Option<&[Box<[u8]>]>) -> Diff {
    todo!()
}

/// Every record of `zone` (RRsets of a name together; SOA first), as a
/// full transfer sends them.
pub fn zone_records(_zone: &Zone) -> Vec<Record> {
    todo!()
}

/// Why a diff does not apply.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("the diff starts at serial {diff} but the zone is at {zone}")]
    WrongSerial { zone: u32, diff: u32 },
    #[error("the diff deletes {0}, which the zone does not hold")]
    MissingRecord(String),
}

/// `records` (a whole zone, SOA included) with `diffs` applied in order.
pub fn apply(_records: Vec<Record>, _diffs: &[Diff]) -> Result<Vec<Record>, ApplyError> {
    todo!()
}
