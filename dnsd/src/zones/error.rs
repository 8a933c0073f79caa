//! Why a write to the registry failed, in the registry's own words: each
//! caller (the control API today) decides how to report it.

use std::path::PathBuf;

use super::store::StoreError;
use crate::dnssec::KeyStoreError;
use crate::wire::Name;
use crate::zone::BuildError;

/// A write the registry refused or could not complete. Nothing was
/// published, and the zone keeps serving its previous version.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ZoneError {
    /// No zone of that name is served.
    #[error("zone {0} is not served")]
    NotFound(Name),
    /// A zone of that name is served already (by any writer).
    #[error("zone {0} is served already")]
    Exists(Name),
    /// The zone is loaded from a zone file; only a reload changes it.
    #[error("zone {zone} is loaded from the zone file {}", file.display())]
    FileZone { zone: Name, file: PathBuf },
    /// The changed zone cannot be served (e.g. no SOA, CNAME beside data).
    #[error(transparent)]
    Invalid(#[from] BuildError),
    /// The change could not be persisted.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A received copy of a secondary zone breaks the zone rules.
    #[error("received zone is not servable: {0}")]
    Transfer(crate::zone::load::LoadErrors),
    /// A secondary zone's copy or settings could not be written.
    #[error("cannot write {}: {source}", path.display())]
    Persist {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The zone is a secondary: only transfers from its primaries change it.
    #[error("zone {zone} is a secondary of {primaries}; change it on the primary")]
    Secondary { zone: Name, primaries: String },
    /// The zone is the catalog zone dnsd produces (`--catalog`): it
    /// changes only as member zones are created and deleted.
    #[error("zone {0} is the catalog zone produced by this server")]
    CatalogZone(Name),
    /// The zone's DNSSEC keys could not be read or changed.
    #[error(transparent)]
    Keys(#[from] KeyStoreError),
}
