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
//! A membership change updates the zone by the names that changed (the
//! apex and one PTR per member added or removed), not by a rebuild.
//!
//! The serial moves forward on every membership change and never back,
//! across restarts too: `DATA-DIR/catalog/<catalog>.serial` keeps the
//! serial and a digest of the member set, written on every change; at
//! start the same digest keeps the serial, another moves it on.

use std::collections::BTreeSet;
use std::fs;
use std::io::Write as _;
use std::path::PathBuf;
use std::sync::Arc;

use ring::digest;
use tracing::{info, warn};

use super::catalog_zone::{apex_records, catalog_records, member_id, member_owner, member_record};
use super::error::ZoneError;
use super::secondary::{file_stem, write_atomically};
use super::serial::{next_serial, unix_now};
use crate::wire::Name;
use crate::zone::{NamesBelow, OwnerChange, Served, Zone, build_zone, update_zone};

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
    /// The XOR of the members' SHA-256: a digest of the set that each
    /// change updates by the members it adds or removes.
    digest: [u8; 32],
    served: Served,
}

impl CatalogProducer {
    /// The catalog over `members`, continuing the stored serial.
    pub(super) fn open<'a>(
        origin: Name,
        dir: Option<PathBuf>,
        members: impl Iterator<Item = &'a Name>,
    ) -> Result<CatalogProducer, ZoneError> {
        let key = origin.to_lowercase();
        let members: BTreeSet<Name> = members.map(Name::to_lowercase).collect();
        let mut set_digest = [0u8; 32];
        for member in &members {
            toggle(&mut set_digest, member);
        }
        let stored = dir.as_ref().and_then(|dir| read_state(dir, &key));
        let (serial, changed) = match stored {
            Some((serial, digest)) if digest == set_digest => (serial, false),
            Some((serial, _)) => (next_serial("EPOCH", serial, None, unix_now()), true),
            None => (next_serial("EPOCH", 0, None, unix_now()), true),
        };
        let zone = build_zone(&origin, catalog_records(&origin, serial, &members))?;
        let producer = CatalogProducer {
            key,
            origin,
            dir,
            members,
            digest: set_digest,
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
    /// nothing. Changed: updates the zone by the changed names with the
    /// next serial and returns those names (for the IXFR history).
    pub(super) fn sync<'a>(
        &mut self,
        count: usize,
        members: impl Iterator<Item = &'a Name> + Clone,
    ) -> Option<Vec<Box<[u8]>>> {
        if count == self.members.len() && members.clone().all(|m| self.members.contains(m)) {
            return None;
        }
        let new: BTreeSet<Name> = members.cloned().collect();
        let serial = next_serial("EPOCH", self.served.zone.serial, None, unix_now());
        let mut digest = self.digest;
        let mut changes = vec![OwnerChange {
            owner: self.origin.clone(),
            records: apex_records(&self.origin, serial),
        }];
        for added in new.difference(&self.members) {
            toggle(&mut digest, added);
            changes.push(OwnerChange {
                owner: member_owner(&self.origin, &member_id(added)),
                records: vec![member_record(&self.origin, added)],
            });
        }
        for removed in self.members.difference(&new) {
            toggle(&mut digest, removed);
            changes.push(OwnerChange {
                owner: member_owner(&self.origin, &member_id(removed)),
                records: Vec::new(),
            });
        }
        let names: Vec<Box<[u8]>> = changes
            .iter()
            .map(|c| c.owner.to_lowercase().as_wire().into())
            .collect();
        let below = Below {
            catalog: &self.origin,
            members: &new,
        };
        match update_zone(&self.served.zone, changes, &below) {
            Ok(zone) => {
                info!(zone = %self.origin, serial, members = new.len(), "catalog zone changed");
                self.members = new;
                self.digest = digest;
                self.served.zone = Arc::new(zone);
                self.persist();
                Some(names)
            }
            Err(err) => {
                // The records are ours and well-formed; only a broken
                // invariant gets here. The catalog keeps its members.
                warn!(zone = %self.origin, %err, "catalog zone not updated");
                None
            }
        }
    }

    /// Writes the serial and the member digest, so the next start
    /// continues the serial. A failure is logged: the catalog keeps being
    /// served, only the serial after a restart falls back to the clock.
    fn persist(&self) {
        let Some(dir) = &self.dir else { return };
        let path = state_path(dir, &self.key);
        let line = format!(
            "{} {}\n",
            self.served.zone.serial,
            data_encoding::HEXLOWER.encode(&self.digest)
        );
        if let Err(err) = write_atomically(dir, &path, |file| file.write_all(line.as_bytes())) {
            warn!(zone = %self.origin, file = %path.display(), %err, "catalog serial not written");
        }
    }
}

/// Adds or removes `member` in a set digest.
fn toggle(digest: &mut [u8; 32], member: &Name) {
    let hash = digest::digest(&digest::SHA256, member.as_wire());
    for (d, h) in digest.iter_mut().zip(hash.as_ref()) {
        *d ^= h;
    }
}

fn state_path(dir: &std::path::Path, key: &Name) -> PathBuf {
    dir.join(format!("{}.serial", file_stem(key)))
}

/// The stored serial and member digest, if readable.
fn read_state(dir: &std::path::Path, key: &Name) -> Option<(u32, [u8; 32])> {
    let path = state_path(dir, key);
    let text = match fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => {
            warn!(file = %path.display(), "catalog serial unreadable ({e}); moving on from the clock");
            return None;
        }
    };
    let (serial, digest) = text.trim().split_once(' ')?;
    let serial = serial.parse().ok()?;
    let digest = data_encoding::HEXLOWER.decode(digest.as_bytes()).ok()?;
    Some((serial, digest.try_into().ok()?))
}

/// The catalog's names below a name, for [`update_zone`]: `version` and
/// `zones` under the apex, the member PTR owners under `zones`.
struct Below<'a> {
    catalog: &'a Name,
    members: &'a BTreeSet<Name>,
}

impl NamesBelow for Below<'_> {
    fn any_below(&self, name: &Name) -> bool {
        let zones = self.catalog.prepend_label(b"zones").ok();
        if name.to_lowercase() == self.catalog.to_lowercase() {
            true
        } else if zones.is_some_and(|z| z.to_lowercase() == name.to_lowercase()) {
            !self.members.is_empty()
        } else {
            false
        }
    }

    fn for_each_below(&self, name: &Name, f: &mut dyn FnMut(&Name)) {
        let is_apex = name.to_lowercase() == self.catalog.to_lowercase();
        let is_zones = self
            .catalog
            .prepend_label(b"zones")
            .is_ok_and(|z| z.to_lowercase() == name.to_lowercase());
        if is_apex && let Ok(version) = self.catalog.prepend_label(b"version") {
            f(&version);
        }
        if is_apex || is_zones {
            for member in self.members {
                f(&member_owner(self.catalog, &member_id(member)));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(text: &str) -> Name {
        Name::from_text(text, None).unwrap()
    }

    /// The updated zone equals the catalog built whole over `members`.
    fn assert_same(zone: &Zone, members: &[&Name]) {
        let members: Vec<Name> = members.iter().map(|m| (*m).clone()).collect();
        let whole = build_zone(
            &zone.origin,
            catalog_records(&zone.origin, zone.serial, &members),
        )
        .unwrap();
        let nodes = |z: &Zone| {
            let mut nodes: Vec<(Vec<u8>, String)> = z
                .nodes()
                .map(|n| {
                    (
                        n.name.to_lowercase().as_wire().to_vec(),
                        format!("{:?}", n.rrsets),
                    )
                })
                .collect();
            nodes.sort();
            nodes
        };
        assert_eq!(nodes(zone), nodes(&whole));
        assert_eq!(zone.record_count, whole.record_count);
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
        assert_same(producer.zone(), &[&a, &b]);
        producer.sync(1, [&b].into_iter()).expect("a removed");
        assert_same(producer.zone(), &[&b]);
        producer.sync(2, [&a, &b].into_iter()).expect("a back");
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
