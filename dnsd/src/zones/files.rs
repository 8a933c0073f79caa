//! Zones from zone files (`--zone ORIGIN=FILE`): loaded at start and
//! reloaded whole on SIGHUP. A zone that fails to load is left out, or, on
//! reload, keeps its previous version; the other zones go on either way.

use std::collections::BTreeMap;
use std::sync::Arc;

use tracing::{error, info};

use super::keys::{ZoneSigning, key_records};
use super::view::ZoneView;
use crate::config::ZoneSource;
use crate::dnssec::{KeyStoreError, ZoneKeys};
use crate::wire::Name;
use crate::zone::{Served, Zone, build_zone, load};

/// Why a zone could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ZoneLoadError {
    #[error("{0}")]
    Load(#[from] load::LoadErrors),
    #[error("{0}")]
    Build(#[from] crate::zone::BuildError),
    #[error("DNSSEC keys: {0}")]
    Keys(#[from] KeyStoreError),
}

/// Reads, checks and indexes one zone file.
pub fn load_zone(source: &ZoneSource) -> Result<Zone, ZoneLoadError> {
    let records = load::load_file(&source.origin, &source.file)?;
    Ok(build_zone(&source.origin, records)?)
}

/// Reads, checks and indexes one zone file; for a signed zone, loads (or,
/// when it has none yet, generates) its keys and publishes DNSKEY, CDS and
/// CDNSKEY at the apex. Keys that exist but cannot be read fail the zone:
/// it is never served unsigned, and a key is never silently replaced.
fn load_served_zone(
    source: &ZoneSource,
    signing: &ZoneSigning,
) -> Result<(Zone, Option<Arc<ZoneKeys>>), ZoneLoadError> {
    let mut records = load::load_file(&source.origin, &source.file)?;
    if !source.dnssec {
        return Ok((build_zone(&source.origin, records)?, None));
    }
    let keys = signing.keys.ensure_keys(&source.origin, &signing.policy)?;
    records.extend(key_records(&source.origin, &keys));
    Ok((build_zone(&source.origin, records)?, Some(Arc::new(keys))))
}

/// One served zone file, and what is served from it.
#[derive(Clone)]
pub(super) struct FileEntry {
    pub(super) source: ZoneSource,
    served: Served,
}

impl FileEntry {
    pub(super) fn view(&self) -> ZoneView {
        ZoneView::File {
            source: self.source.clone(),
            zone: self.served.zone.clone(),
            keys: self.served.keys.clone(),
        }
    }
}

/// The zone files' writer state: the configured files and what is served
/// from them, by lowercased origin.
pub(super) struct FileZones {
    sources: Vec<ZoneSource>,
    served: BTreeMap<Name, FileEntry>,
}

impl FileZones {
    pub(super) fn new(sources: Vec<ZoneSource>) -> FileZones {
        FileZones {
            sources,
            served: BTreeMap::new(),
        }
    }

    /// How many zone files are configured (served or not).
    pub(super) fn configured(&self) -> usize {
        self.sources.len()
    }

    pub(super) fn get(&self, key: &Name) -> Option<&FileEntry> {
        self.served.get(key)
    }

    pub(super) fn served(&self) -> impl Iterator<Item = Served> + '_ {
        self.served.values().map(|entry| entry.served.clone())
    }

    /// What the catalog serves for the zone at `key`.
    pub(super) fn served_at(&self, key: &Name) -> Option<Served> {
        self.served.get(key).map(|entry| entry.served.clone())
    }

    /// The zones marked `catalog = true` that are served, by lower-case
    /// name (members of the produced catalog zone).
    pub(super) fn catalog_members(&self) -> impl Iterator<Item = &Name> + Clone + '_ {
        self.served
            .iter()
            .filter(|(_, entry)| entry.source.catalog)
            .map(|(key, _)| key)
    }

    pub(super) fn views(&self) -> impl Iterator<Item = ZoneView> + '_ {
        self.served.values().map(FileEntry::view)
    }

    /// Loads every zone file. With `keep_previous`, a zone that fails keeps
    /// the version it had. Returns how many failed.
    pub(super) fn load(&mut self, signing: &ZoneSigning, keep_previous: bool) -> usize {
        let mut served = BTreeMap::new();
        let mut failed = 0;
        for source in &self.sources {
            let key = source.origin.to_lowercase();
            match load_served_zone(source, signing) {
                Ok((zone, keys)) => {
                    info!(
                        zone = %source.origin,
                        file = %source.file.display(),
                        serial = zone.serial,
                        records = zone.record_count,
                        signed = keys.is_some(),
                        "zone loaded"
                    );
                    let entry = FileEntry {
                        source: source.clone(),
                        served: Served {
                            zone: Arc::new(zone),
                            keys,
                            expired: false,
                        },
                    };
                    served.insert(key, entry);
                }
                Err(err) => {
                    failed += 1;
                    let kept = keep_previous
                        .then(|| self.served.get(&key).cloned())
                        .flatten();
                    match kept {
                        Some(old) => {
                            error!(zone = %source.origin, "zone failed to load; still serving serial {}:\n{err}", old.served.zone.serial);
                            served.insert(key, old);
                        }
                        None => {
                            error!(zone = %source.origin, "zone failed to load and is not served:\n{err}")
                        }
                    }
                }
            }
        }
        self.served = served;
        failed
    }
}
