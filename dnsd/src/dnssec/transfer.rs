//! TEMPORARY STUB (replaced by the signed-transfer work).
use crate::dnssec::{Signer, ZoneKeys};
use crate::zone::{Record, Zone};

/// Why a zone could not be signed for a transfer.
#[derive(Debug, thiserror::Error)]
#[error("not yet")]
pub struct TransferSignError;

pub fn signed_zone_records(
    _zone: &Zone,
    _keys: &ZoneKeys,
    _signer: &Signer,
    _now: u64,
) -> Result<Vec<Record>, TransferSignError> {
    Err(TransferSignError)
}
