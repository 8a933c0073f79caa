//! Loading zones into catalogs and publishing them.
//!
//! A new [`Catalog`] is built off the answer path and swapped in whole
//! (`arc-swap`), so queries in flight keep the snapshot they started with
//! and readers never wait. A zone that fails to load is left out, or, on
//! reload, keeps its previous version; the other zones go on either way.

use std::sync::Arc;

use arc_swap::ArcSwap;
use tracing::{error, info};

use crate::config::ZoneSource;
use crate::zone::{Catalog, Zone, build_zone, load};

/// The catalog readers see, shared by every transport.
pub type SharedCatalog = Arc<ArcSwap<Catalog>>;

/// Why a zone could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ZoneLoadError {
    #[error("{0}")]
    Load(#[from] load::LoadErrors),
    #[error("{0}")]
    Build(#[from] crate::zone::BuildError),
}

/// Reads, checks and indexes one zone file.
pub fn load_zone(source: &ZoneSource) -> Result<Zone, ZoneLoadError> {
    let records = load::load_file(&source.origin, &source.file)?;
    Ok(build_zone(&source.origin, records)?)
}

/// Loads every zone. Zones that fail keep the version in `previous`, if
/// there is one, and are otherwise not served. Returns the catalog and the
/// number of zones that failed.
pub fn load_catalog(sources: &[ZoneSource], previous: Option<&Catalog>) -> (Catalog, usize) {
    let mut catalog = Catalog::new();
    let mut failed = 0;
    for source in sources {
        match load_zone(source) {
            Ok(zone) => {
                info!(
                    zone = %source.origin,
                    file = %source.file.display(),
                    serial = zone.serial,
                    records = zone.record_count,
                    "zone loaded"
                );
                catalog.insert(Arc::new(zone));
            }
            Err(err) => {
                failed += 1;
                let kept = previous.and_then(|p| p.get(&source.origin)).cloned();
                match kept {
                    Some(old) => {
                        error!(zone = %source.origin, "zone failed to load; still serving serial {}:\n{err}", old.serial);
                        catalog.insert(old);
                    }
                    None => {
                        error!(zone = %source.origin, "zone failed to load and is not served:\n{err}")
                    }
                }
            }
        }
    }
    (catalog, failed)
}

/// Reloads every zone and publishes the result.
pub fn reload(shared: &SharedCatalog, sources: &[ZoneSource]) -> usize {
    let previous = shared.load_full();
    let (catalog, failed) = load_catalog(sources, Some(&previous));
    shared.store(Arc::new(catalog));
    info!(zones = sources.len(), failed, "reload done");
    failed
}
