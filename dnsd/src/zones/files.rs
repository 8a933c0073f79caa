//! Zones from zone files (`--zone ORIGIN=FILE`): loaded at start and
//! reloaded whole on SIGHUP. A zone that fails to load is left out, or, on
//! reload, keeps its previous version; the other zones go on either way.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use tracing::{error, info};

use super::keys::{ZoneSigning, key_records};
use super::view::ZoneView;
use crate::config::ZoneSource;
use crate::dnssec::{KeyStoreError, ZoneKeys};
use crate::wire::Name;
use crate::zone::{Record, Served, Zone, build_zone, load};

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
    read_and_index(&source.origin, &source.file, &[])
}

/// Reads, checks and indexes one zone file, with `extra` records (its
/// DNSSEC keys) added to what is served; the checks and the indexing run
/// side by side ([`load::load_file_indexed`]).
pub(super) fn read_and_index(
    origin: &Name,
    file: &Path,
    extra: &[Record],
) -> Result<Zone, ZoneLoadError> {
    let built = load::load_file_indexed(origin, file, |records| {
        build_zone(origin, records.iter().chain(extra))
    })?;
    Ok(built?)
}

/// Reads, checks and indexes one zone file; for a signed zone, loads (or,
/// when it has none yet, generates) its keys and publishes DNSKEY, CDS and
/// CDNSKEY at the apex. Keys that exist but cannot be read fail the zone:
/// it is never served unsigned, and a key is never silently replaced.
fn load_served_zone(
    source: &ZoneSource,
    signing: &ZoneSigning,
) -> Result<(Zone, Option<Arc<ZoneKeys>>), ZoneLoadError> {
    if !source.dnssec {
        return Ok((read_and_index(&source.origin, &source.file, &[])?, None));
    }
    let keys = signing.keys.ensure_keys(&source.origin, &signing.policy)?;
    let keys_served = key_records(&source.origin, &keys);
    let zone = read_and_index(&source.origin, &source.file, &keys_served)?;
    Ok((zone, Some(Arc::new(keys))))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_dir::TempDir;
    use crate::zone::write_zone_text;

    fn text_of(zone: &Zone) -> String {
        let mut out = Vec::new();
        write_zone_text(zone, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    /// Checking and indexing side by side gives the zone that checking
    /// first and indexing the kept records gives, duplicates, cuts,
    /// wildcards and an owner that comes back included; and a file with
    /// errors gives the same errors and no zone.
    #[test]
    fn side_by_side_load_matches_check_then_build() {
        let dir = TempDir::new("files-load");
        let origin: Name = "example.test.".parse().unwrap();
        let path = dir.0.join("zone.db");
        std::fs::write(
            &path,
            "$TTL 300\n@ SOA ns1 h 7 2 3 4 5\n@ NS ns1\nns1 A 192.0.2.1\n\
             www A 192.0.2.2\nWWW 60 A 192.0.2.2\nwww TXT \"x\"\n*.w A 192.0.2.3\n\
             sub NS ns.sub\nns.sub A 192.0.2.4\nmail MX 10 www\nwww A 192.0.2.5\n",
        )
        .unwrap();
        let zone = read_and_index(&origin, &path, &[]).unwrap();
        let records = load::load_file(&origin, &path).unwrap();
        let expected = build_zone(&origin, records.clone()).unwrap();
        assert_eq!(text_of(&zone), text_of(&expected));
        assert_eq!(zone.record_count, records.len());
        assert_eq!(zone.record_count, 10, "one exact duplicate dropped");
        assert_eq!(
            zone.nodes()
                .map(|n| n.records_loaded as usize)
                .sum::<usize>(),
            10
        );
        assert_eq!(zone.serial, 7);

        std::fs::write(
            &path,
            "$TTL 300\n@ SOA ns1 h 7 2 3 4 5\n@ NS ns1\nc CNAME www\nc A 192.0.2.1\n",
        )
        .unwrap();
        let side_by_side = read_and_index(&origin, &path, &[]).unwrap_err();
        let sequential = load::load_file(&origin, &path).unwrap_err();
        assert_eq!(side_by_side.to_string(), sequential.to_string());
        assert!(side_by_side.to_string().contains("beside other data"));
    }
}
