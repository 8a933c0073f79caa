//! Persistence of API-managed zones in an embedded, crash-safe database
//! (redb) under `--data-dir`.
//!
//! Every change is one write transaction that is fsynced before it
//! commits, so a change acknowledged to a client survives a crash, and a
//! crash in the middle of a write leaves the previous committed state.
//! Only RRsets that changed are written, so a PATCH to a large zone costs
//! what it touches.

use std::path::{Path, PathBuf};

use redb::{Database, ReadableTable, TableDefinition};

use super::model::{ApiZone, RRsetKey, StoredRRset, ZoneSettings};
use crate::wire::{Name, RType};

/// zone name -> settings (JSON).
const ZONES: TableDefinition<&str, &str> = TableDefinition::new("zones");
/// (zone, owner, type) -> RRset (JSON).
const RRSETS: TableDefinition<(&str, &str, u16), &str> = TableDefinition::new("rrsets");

/// Why storage failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot create data directory {path}: {source}")]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("zone database {path}: {message}")]
    Database { path: PathBuf, message: String },
    #[error("stored zone {zone} is unreadable: {message}")]
    Corrupt { zone: String, message: String },
}

/// The zone database.
pub struct Store {
    db: Database,
    path: PathBuf,
}

impl Store {
    /// Opens (or creates) `<dir>/zones.redb`; the folder is made owner-only.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir {
            path: dir.to_path_buf(),
            source,
        })?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
        }
        let path = dir.join("zones.redb");
        let db = Database::create(&path).map_err(|e| StoreError::Database {
            path: path.clone(),
            message: e.to_string(),
        })?;
        let store = Store { db, path };
        // Create the tables so that readers never meet a missing table.
        store.write(|_, _| Ok(()))?;
        Ok(store)
    }

    fn fail(&self, e: impl std::fmt::Display) -> StoreError {
        StoreError::Database {
            path: self.path.clone(),
            message: e.to_string(),
        }
    }

    /// Runs `f` in one durable write transaction.
    fn write(
        &self,
        f: impl FnOnce(
            &mut redb::Table<&str, &str>,
            &mut redb::Table<(&str, &str, u16), &str>,
        ) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let txn = self.db.begin_write().map_err(|e| self.fail(e))?;
        {
            let mut zones = txn.open_table(ZONES).map_err(|e| self.fail(e))?;
            let mut rrsets = txn.open_table(RRSETS).map_err(|e| self.fail(e))?;
            f(&mut zones, &mut rrsets)?;
        }
        txn.commit().map_err(|e| self.fail(e))
    }

    /// Every stored zone, with wire RDATA derived.
    pub fn load_all(&self) -> Result<Vec<ApiZone>, StoreError> {
        let txn = self.db.begin_read().map_err(|e| self.fail(e))?;
        let zones = txn.open_table(ZONES).map_err(|e| self.fail(e))?;
        let rrsets = txn.open_table(RRSETS).map_err(|e| self.fail(e))?;
        let mut out = Vec::new();
        for entry in zones.iter().map_err(|e| self.fail(e))? {
            let (name, settings) = entry.map_err(|e| self.fail(e))?;
            let zone_name = name.value().to_string();
            let corrupt = |message: String| StoreError::Corrupt {
                zone: zone_name.clone(),
                message,
            };
            let settings: ZoneSettings =
                serde_json::from_str(settings.value()).map_err(|e| corrupt(e.to_string()))?;
            let origin = Name::from_text(&zone_name, None).map_err(|e| corrupt(e.to_string()))?;
            let mut zone = ApiZone {
                name: origin,
                settings,
                rrsets: Default::default(),
            };
            let range = rrsets
                .range((zone_name.as_str(), "", 0u16)..=(zone_name.as_str(), "\u{7f}", u16::MAX))
                .map_err(|e| self.fail(e))?;
            for entry in range {
                let (key, value) = entry.map_err(|e| self.fail(e))?;
                let (_, owner, rtype) = key.value();
                let owner = Name::from_text(owner, None).map_err(|e| corrupt(e.to_string()))?;
                let set: StoredRRset =
                    serde_json::from_str(value.value()).map_err(|e| corrupt(e.to_string()))?;
                zone.rrsets.insert(
                    RRsetKey {
                        owner,
                        rtype: RType(rtype),
                    },
                    set,
                );
            }
            zone.derive_wire().map_err(corrupt)?;
            out.push(zone);
        }
        Ok(out)
    }

    /// Writes what differs between `old` (the stored state, `None` for a
    /// new zone) and `new`, in one durable transaction.
    pub fn save(&self, old: Option<&ApiZone>, new: &ApiZone) -> Result<(), StoreError> {
        let zone_key = new.name.to_string();
        let settings = serde_json::to_string(&new.settings).map_err(|e| self.fail(e))?;
        self.write(|zones, rrsets| {
            if old.is_none_or(|old| old.settings != new.settings) {
                zones
                    .insert(zone_key.as_str(), settings.as_str())
                    .map_err(|e| self.fail(e))?;
            }
            let empty = Default::default();
            let old_sets = old.map_or(&empty, |o| &o.rrsets);
            for (key, set) in &new.rrsets {
                if old_sets.get(key) != Some(set) {
                    let owner = key.owner.to_string();
                    let json = serde_json::to_string(set).map_err(|e| self.fail(e))?;
                    rrsets
                        .insert(
                            (zone_key.as_str(), owner.as_str(), key.rtype.0),
                            json.as_str(),
                        )
                        .map_err(|e| self.fail(e))?;
                }
            }
            for key in old_sets.keys().filter(|k| !new.rrsets.contains_key(*k)) {
                let owner = key.owner.to_string();
                rrsets
                    .remove((zone_key.as_str(), owner.as_str(), key.rtype.0))
                    .map_err(|e| self.fail(e))?;
            }
            Ok(())
        })
    }

    /// Removes a zone and its RRsets.
    pub fn delete(&self, zone: &ApiZone) -> Result<(), StoreError> {
        let zone_key = zone.name.to_string();
        self.write(|zones, rrsets| {
            zones.remove(zone_key.as_str()).map_err(|e| self.fail(e))?;
            for key in zone.rrsets.keys() {
                let owner = key.owner.to_string();
                rrsets
                    .remove((zone_key.as_str(), owner.as_str(), key.rtype.0))
                    .map_err(|e| self.fail(e))?;
            }
            Ok(())
        })
    }
}
