//! The catalog zone dnsd produces (`--catalog ORIGIN`): its members are
//! every API zone and every zone file marked `catalog = true`, never a
//! secondary zone, never the catalog itself.
//!
//! The registry calls [`CatalogProducer::sync`] on every publish, under
//! its lock, with the members of the moment: so a zone created or deleted
//! appears in the catalog in the same published snapshot, and the change
//! goes to the IXFR history and NOTIFY like any zone's. When membership
//! did not change (the common case: a record edited), `sync` only counts
//! and looks up names; it allocates and rebuilds nothing.
//!
//! The serial moves forward on every membership change and never back,
//! across restarts too: the zone is written under `DATA-DIR/catalog/` on
//! every change, and at start the stored copy gives the serial to keep
//! (same members) or to move on from.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;

use tracing::{info, warn};

use super::catalog_zone::{catalog_records, member_id, member_owner, read_members};
use super::error::ZoneError;
use super::secondary::{file_stem, write_atomically};
use super::serial::{next_serial, unix_now};
use crate::wire::Name;
use crate::zone::{Served, Zone, build_zone, load, write_zone_text};

/// The produced catalog zone and the members it lists.
pub(super) struct CatalogProducer {
    /// Lower case.
    key: Name,
    origin: Name,
    /// `DATA-DIR/catalog`; `None`: memory only (the serial then starts
    /// from the clock at each start, which still moves it forward unless
    /// changes came faster than one a second).
    dir: Option<PathBuf>,
    /// Lower-case member names.
    members: BTreeSet<Name>,
    served: Served,
}

impl CatalogProducer {
    /// The catalog over `members`, continuing the stored copy's serial.
    pub(super) fn open<'a>(
        origin: Name,
        dir: Option<PathBuf>,
        members: impl Iterator<Item = &'a Name>,
    ) -> Result<CatalogProducer, ZoneError> {
        let key = origin.to_lowercase();
        let members: BTreeSet<Name> = members.map(Name::to_lowercase).collect();
        let stored = dir.as_ref().and_then(|dir| {
            let path = dir.join(format!("{}.zone", file_stem(&key)));
            if !path.exists() {
                return None;
            }
            let zone = load::load_file(&origin, &path)
                .map_err(|e| e.to_string())
                .and_then(|records| build_zone(&origin, records).map_err(|e| e.to_string()));
            match zone {
                Ok(zone) => Some(zone),
                Err(err) => {
                    warn!(zone = %origin, file = %path.display(), "stored catalog zone unreadable ({err}); starting a new serial");
                    None
                }
            }
        });
        let (serial, changed) = match &stored {
            Some(zone) => {
                let same = read_members(zone).is_ok_and(|listing| {
                    listing.members.len() == members.len()
                        && members
                            .iter()
                            .all(|m| listing.members.get(m) == Some(&member_id(m)))
                });
                if same {
                    (zone.serial, false)
                } else {
                    (next_serial("EPOCH", zone.serial, None, unix_now()), true)
                }
            }
            None => (next_serial("EPOCH", 0, None, unix_now()), true),
        };
        let zone = build(&origin, serial, &members)?;
        let producer = CatalogProducer {
            key,
            origin,
            dir,
            members,
            served: Served {
                zone: Arc::new(zone),
                keys: None,
                expired: false,
            },
        };
        if changed {
            producer.persist();
        }
        info!(zone = %producer.origin, serial, members = producer.members.len(), "catalog zone produced");
        Ok(producer)
    }

    /// The catalog's lower-case name.
    pub(super) fn key(&self) -> &Name {
        &self.key
    }

    pub(super) fn served(&self) -> Served {
        self.served.clone()
    }

    pub(super) fn zone(&self) -> &Arc<Zone> {
        &self.served.zone
    }

    /// Brings the catalog up to `members` (lower-case names, `count` of
    /// them, no duplicates). Unchanged: returns `None` having built
    /// nothing. Changed: rebuilds the zone with the next serial and
    /// returns the names whose data differ (for the IXFR history).
    pub(super) fn sync<'a>(
        &mut self,
        count: usize,
        mut members: impl Iterator<Item = &'a Name> + Clone,
    ) -> Option<Vec<Box<[u8]>>> {
        if count == self.members.len() && members.clone().all(|m| self.members.contains(m)) {
            return None;
        }
        let new: BTreeSet<Name> = members.by_ref().cloned().collect();
        let mut names: Vec<Box<[u8]>> = vec![self.key.as_wire().into()];
        for changed in new.symmetric_difference(&self.members) {
            let owner = member_owner(&self.key, &member_id(changed));
            names.push(owner.as_wire().into());
        }
        let serial = next_serial("EPOCH", self.served.zone.serial, None, unix_now());
        match build(&self.origin, serial, &new) {
            Ok(zone) => {
                info!(zone = %self.origin, serial, members = new.len(), "catalog zone changed");
                self.members = new;
                self.served.zone = Arc::new(zone);
                self.persist();
                Some(names)
            }
            Err(err) => {
                // Only a member name too long to fit under the catalog
                // can get here; the catalog keeps its previous members.
                warn!(zone = %self.origin, %err, "catalog zone not rebuilt");
                None
            }
        }
    }

    /// Writes the zone, so the next start continues its serial. A failure
    /// is logged: the catalog keeps being served, only the serial after a
    /// restart falls back to the clock.
    fn persist(&self) {
        let Some(dir) = &self.dir else { return };
        let path = dir.join(format!("{}.zone", file_stem(&self.key)));
        if let Err(err) =
            write_atomically(dir, &path, |file| write_zone_text(&self.served.zone, file))
        {
            warn!(zone = %self.origin, file = %path.display(), %err, "catalog zone not written");
        }
    }
}

fn build(origin: &Name, serial: u32, members: &BTreeSet<Name>) -> Result<Zone, ZoneError> {
    Ok(build_zone(
        origin,
        catalog_records(origin, serial, members),
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(text: &str) -> Name {
        Name::from_text(text, None).unwrap()
    }

    #[test]
    fn serial_moves_only_when_membership_does_and_survives_restarts() {
        let dir = std::env::temp_dir().join(format!("dnsd-catalog-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let catalog = name("cat.invalid.");
        let (a, b) = (name("a.test."), name("b.test."));
        let mut producer =
            CatalogProducer::open(catalog.clone(), Some(dir.clone()), [&a].into_iter()).unwrap();
        let first = producer.zone().serial;
        assert!(producer.sync(1, [&a].into_iter()).is_none(), "no change");
        assert_eq!(producer.zone().serial, first);
        let names = producer.sync(2, [&a, &b].into_iter()).expect("b added");
        assert_eq!(names.len(), 2, "apex and b's PTR");
        let second = producer.zone().serial;
        assert!(crate::zones::serial::serial_gt(second, first));
        let restarted =
            CatalogProducer::open(catalog.clone(), Some(dir.clone()), [&a, &b].into_iter())
                .unwrap();
        assert_eq!(restarted.zone().serial, second, "same members: same serial");
        let removed = CatalogProducer::open(catalog, Some(dir.clone()), [&b].into_iter()).unwrap();
        assert!(crate::zones::serial::serial_gt(
            removed.zone().serial,
            second
        ));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
