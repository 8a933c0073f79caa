//! The registry's side of consuming a catalog zone: what a new member
//! list means for the secondary zones the catalog owns (the [`plan`]),
//! and carrying it out under the registry's lock in one publish.
//!
//! A catalog owns the members it added, and only those: a zone served by
//! another writer (a zone file, an API zone, a `--secondary`, another
//! catalog) is never taken over or deleted; it is skipped with a warning.
//! Starting and stopping refreshers is the replicator's part
//! (`xfr::catalog_consumer`).

use std::collections::BTreeMap;

use tracing::warn;

use super::{Inner, Registry};
use crate::config::replication::SecondarySource;
use crate::wire::Name;

/// What a catalog's new member list asks of its local members.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// Listed, not served here: new secondary zones (zone, unique id).
    pub add: Vec<(Name, String)>,
    /// Ours, listed under a new unique id: dropped and transferred afresh.
    pub reset: Vec<(Name, String)>,
    /// Ours, no longer listed: removed with their copies.
    pub remove: Vec<Name>,
    /// Listed, but served here by another writer: left alone.
    pub skip: Vec<Name>,
}

/// Compares `listed` (the catalog's members: zone -> id, lower case) with
/// `owned` (the members it added earlier); `foreign` says whether a zone
/// is served here by someone else.
pub fn plan(
    listed: &BTreeMap<Name, String>,
    owned: &BTreeMap<Name, String>,
    foreign: impl Fn(&Name) -> bool,
) -> Plan {
    let mut plan = Plan::default();
    for (zone, id) in listed {
        match owned.get(zone) {
            Some(old) if old == id => {}
            Some(_) => plan.reset.push((zone.clone(), id.clone())),
            None if foreign(zone) => plan.skip.push(zone.clone()),
            None => plan.add.push((zone.clone(), id.clone())),
        }
    }
    plan.remove = owned
        .keys()
        .filter(|zone| !listed.contains_key(*zone))
        .cloned()
        .collect();
    plan
}

impl Registry {
    /// Brings the members of consumed catalog `catalog` in line with
    /// `listed`: adds, resets and removes secondary zones (new ones from
    /// the catalog's primaries, with its key), removing copies and IXFR
    /// histories of those that go, publishes once, and returns what was
    /// done so the caller can start and stop refreshers.
    pub fn reconcile_catalog(
        &self,
        catalog: &SecondarySource,
        listed: &BTreeMap<Name, String>,
    ) -> Plan {
        let mut guard = self.lock();
        let inner: &mut Inner = &mut guard;
        let key = catalog.origin.to_lowercase();
        let owned = inner
            .secondaries
            .catalog_members
            .get(&key)
            .cloned()
            .unwrap_or_default();
        let plan = plan(listed, &owned, |zone| inner.owner(zone).is_some());
        for zone in &plan.skip {
            warn!(%zone, catalog = %key, "catalog member is served here by another writer; not taken over");
        }
        for zone in &plan.remove {
            inner.secondaries.remove_member(&key, zone);
            inner.histories.remove(zone);
        }
        for (zone, id) in &plan.reset {
            inner.secondaries.reset_member(&key, zone, id.clone());
            inner.histories.remove(zone);
        }
        for (zone, id) in &plan.add {
            let source = SecondarySource {
                origin: zone.clone(),
                primaries: catalog.primaries.clone(),
            };
            inner.secondaries.add_member(&key, source, id.clone());
        }
        let changed = !(plan.add.is_empty() && plan.reset.is_empty() && plan.remove.is_empty());
        if changed && let Err(err) = inner.secondaries.write_members(&key) {
            // Served as listed now; after a restart the old list is read
            // back and the first catalog refresh corrects it.
            warn!(catalog = %key, %err, "catalog member list not written");
        }
        if !(plan.remove.is_empty() && plan.reset.is_empty()) {
            self.publish(inner);
        }
        plan
    }

    /// How many members consumed catalog `catalog` has here.
    pub fn catalog_member_count(&self, catalog: &Name) -> usize {
        self.lock()
            .secondaries
            .catalog_members
            .get(&catalog.to_lowercase())
            .map_or(0, BTreeMap::len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(text: &str) -> Name {
        Name::from_text(text, None).unwrap()
    }

    fn members(list: &[(&str, &str)]) -> BTreeMap<Name, String> {
        list.iter()
            .map(|(zone, id)| (name(zone), id.to_string()))
            .collect()
    }

    #[test]
    fn reconcile_decisions() {
        let listed = members(&[
            ("kept.test.", "1"),
            ("new.test.", "2"),
            ("moved.test.", "new-id"),
            ("file.test.", "4"),
        ]);
        let owned = members(&[
            ("kept.test.", "1"),
            ("moved.test.", "old-id"),
            ("gone.test.", "5"),
        ]);
        let plan = plan(&listed, &owned, |zone| *zone == name("file.test."));
        assert_eq!(
            plan,
            Plan {
                add: vec![(name("new.test."), "2".into())],
                reset: vec![(name("moved.test."), "new-id".into())],
                remove: vec![name("gone.test.")],
                skip: vec![name("file.test.")],
            }
        );
        assert_eq!(
            super::plan(&owned, &owned, |_| false),
            Plan::default(),
            "nothing to do"
        );
    }
}
