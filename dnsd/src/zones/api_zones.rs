//! API-managed zones: their write path (create, change, change keys,
//! delete) and their persistence.
//!
//! A change is built first (so it is known to be servable), then written
//! to the [`Store`] journal, and only then published: a change the caller
//! was told about survives a crash. A change to a zone updates its served
//! version by the RRsets that differ (issue 4); a new zone, or a change
//! touching much of one, is built whole. What a change *is* (PATCH rules,
//! serial rules) is the caller's business: it hands in the next
//! [`ApiZone`].

use std::collections::BTreeMap;
use std::sync::Arc;

use imbl::ordmap::DiffItem;
use tracing::{error, info, warn};

use super::error::ZoneError;
use super::keys::{ZoneSigning, key_records, remove_all, stored_keys, with_key_records};
use super::model::{ApiZone, RRsetKey, StoredRRset};
use super::serial::{next_serial, unix_now};
use super::store::{Store, StoreError};
use super::view::ZoneView;
use crate::dnssec::{KeyPolicy, KeyStore, ZoneKeys};
use crate::wire::{Name, RType};
use crate::zone::{
    BuildError, NamesBelow, OwnerChange, Record, Served, Zone, build_zone, update_zone,
};

/// One served API zone: its model, and what is served from it (keys
/// present when the zone is signed, i.e. has keys in the key store).
pub(super) struct ApiEntry {
    model: Arc<ApiZone>,
    served: Served,
}

impl ApiEntry {
    pub(super) fn model(&self) -> &Arc<ApiZone> {
        &self.model
    }

    pub(super) fn view(&self) -> ZoneView {
        ZoneView::Api {
            model: self.model.clone(),
            zone: self.served.zone.clone(),
            keys: self.served.keys.clone(),
        }
    }
}

/// The API writer's state: its zones by lowercased name, and the store
/// they are persisted in (`None`: kept in memory only).
pub(super) struct ApiZones {
    served: BTreeMap<Name, ApiEntry>,
    store: Option<Store>,
}

impl ApiZones {
    /// Loads every zone in `store`. A zone `taken` by another writer, or
    /// one that cannot be served, is logged and left out.
    pub(super) fn open(
        store: Option<Store>,
        signing: &ZoneSigning,
        taken: impl Fn(&Name) -> bool,
    ) -> Result<ApiZones, StoreError> {
        let mut served = BTreeMap::new();
        let mut store = store;
        if let Some(store) = &mut store {
            for model in store.load_all()? {
                let key = model.name.to_lowercase();
                if taken(&key) {
                    warn!(zone = %key, "zone is both in a zone file and in the API store; serving the file");
                    continue;
                }
                let keys = match stored_keys(&signing.keys, &model.name) {
                    Ok(keys) => keys,
                    Err(err) => {
                        error!(zone = %key, %err, "api zone not served: its DNSSEC keys cannot be read");
                        continue;
                    }
                };
                let records = with_key_records(model.records(), &model.name, keys.as_deref());
                match build_zone(&model.name, records) {
                    Ok(zone) => {
                        info!(zone = %key, serial = zone.serial, records = zone.record_count, signed = keys.is_some(), "api zone loaded");
                        let entry = ApiEntry {
                            model: Arc::new(model),
                            served: Served {
                                zone: Arc::new(zone),
                                keys,
                                expired: false,
                            },
                        };
                        served.insert(key, entry);
                    }
                    Err(err) => error!(zone = %key, %err, "stored api zone cannot be served"),
                }
            }
        }
        Ok(ApiZones { served, store })
    }

    pub(super) fn get(&self, key: &Name) -> Option<&ApiEntry> {
        self.served.get(key)
    }

    /// Every API zone's lower-case name, and how many there are.
    pub(super) fn names(&self) -> (usize, impl Iterator<Item = &Name> + Clone + '_) {
        (self.served.len(), self.served.keys())
    }

    pub(super) fn served(&self) -> impl Iterator<Item = Served> + '_ {
        self.served.values().map(|entry| entry.served.clone())
    }

    /// What the catalog serves for the zone at `key`.
    pub(super) fn served_at(&self, key: &Name) -> Option<Served> {
        self.served.get(key).map(|entry| entry.served.clone())
    }

    pub(super) fn views(&self) -> impl Iterator<Item = ZoneView> + '_ {
        self.served.values().map(ApiEntry::view)
    }

    /// Builds the zone (so it is known to be servable), then persists the
    /// change durably; only then may the caller publish the returned entry.
    fn commit(
        &mut self,
        old: Option<&ApiZone>,
        model: ApiZone,
        keys: Option<Arc<ZoneKeys>>,
    ) -> Result<ApiEntry, ZoneError> {
        let current = self.served.get(&model.name.to_lowercase());
        let zone = match (old, current) {
            // The served zone is the one built from `old` with the same
            // keys: update it.
            (Some(old), Some(entry))
                if std::ptr::eq(old, entry.model.as_ref())
                    && same_keys(&entry.served.keys, &keys) =>
            {
                next_zone(old, &entry.served.zone, &model, keys.as_deref())?
            }
            _ => {
                let records = with_key_records(model.records(), &model.name, keys.as_deref());
                Arc::new(build_zone(&model.name, records)?)
            }
        };
        if let Some(store) = &mut self.store {
            store.save(old, &model)?;
            if store.wants_compaction() {
                let others = self
                    .served
                    .values()
                    .map(|e| e.model.as_ref())
                    .filter(|m| m.name != model.name);
                if let Err(err) = store.compact(others.chain(std::iter::once(&model))) {
                    // The journal still holds everything; compaction can wait.
                    warn!(%err, "could not compact the zone store");
                }
            }
        }
        Ok(ApiEntry {
            model: Arc::new(model),
            served: Served {
                zone,
                keys,
                expired: false,
            },
        })
    }
}

impl ApiZones {
    /// Adds a new zone (the registry has checked that no writer serves
    /// the name).
    pub(super) fn create(&mut self, key: Name, model: ApiZone) -> Result<Arc<ApiZone>, ZoneError> {
        let entry = self.commit(None, model, None)?;
        let model = entry.model.clone();
        self.served.insert(key, entry);
        Ok(model)
    }

    /// Changes zone `key` with `change` (see `Registry::update`); also
    /// says whether anything changed, so the caller knows to publish.
    pub(super) fn update<T, E: From<ZoneError>>(
        &mut self,
        key: &Name,
        change: impl FnOnce(&ApiZone) -> Result<(Option<ApiZone>, T), E>,
    ) -> Result<(T, bool), E> {
        let entry = self.entry(key)?;
        let (current, keys) = (entry.model.clone(), entry.served.keys.clone());
        let (next, result) = change(&current)?;
        let Some(next) = next else {
            return Ok((result, false));
        };
        let entry = self.commit(Some(&current), next, keys)?;
        self.served.insert(key.clone(), entry);
        Ok((result, true))
    }

    /// Changes zone `key`'s keys with `change` (see
    /// `Registry::change_keys`), re-reads them and moves the serial.
    pub(super) fn change_keys<T, E: From<ZoneError>>(
        &mut self,
        signing: &ZoneSigning,
        key: &Name,
        change: impl FnOnce(&KeyStore, &KeyPolicy, &Name) -> Result<T, E>,
    ) -> Result<T, E> {
        let current = self.entry(key)?.model.clone();
        let result = change(&signing.keys, &signing.policy, &current.name)?;
        let keys = stored_keys(&signing.keys, &current.name).map_err(ZoneError::from)?;
        let mut next = (*current).clone();
        next.set_serial(next_serial(
            &next.settings.soa_edit_api,
            current.serial().unwrap_or(0),
            None,
            unix_now(),
        ));
        let entry = self.commit(Some(&current), next, keys)?;
        self.served.insert(key.clone(), entry);
        Ok(result)
    }

    /// Removes zone `key`, its keys (PowerDNS deletes keys with the zone)
    /// and its stored data.
    pub(super) fn delete(&mut self, keys: &KeyStore, key: &Name) -> Result<(), ZoneError> {
        let model = self.entry(key)?.model.clone();
        remove_all(keys, &model.name)?;
        if let Some(store) = &mut self.store {
            store.delete(&model)?;
        }
        self.served.remove(key);
        Ok(())
    }

    fn entry(&self, key: &Name) -> Result<&ApiEntry, ZoneError> {
        self.served
            .get(key)
            .ok_or_else(|| ZoneError::NotFound(key.clone()))
    }
}

fn same_keys(a: &Option<Arc<ZoneKeys>>, b: &Option<Arc<ZoneKeys>>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => Arc::ptr_eq(a, b),
        (None, None) => true,
        _ => false,
    }
}

/// The owners whose RRsets differ between two versions of an API zone, in
/// canonical order. The diff skips the subtrees the two share.
pub(super) fn changed_owners<'m>(old: &'m ApiZone, model: &'m ApiZone) -> Vec<&'m Name> {
    let mut owners: Vec<&Name> = Vec::new();
    for item in old.rrsets.diff(&model.rrsets) {
        let key = match item {
            DiffItem::Add(key, _) | DiffItem::Remove(key, _) => key,
            DiffItem::Update { new: (key, _), .. } => key,
        };
        // Keys come in order, so one owner's RRsets are adjacent.
        if owners.last() != Some(&&key.owner) {
            owners.push(&key.owner);
        }
    }
    owners
}

/// The served zone for `model`, from `prev`, the one served for `old`:
/// only the names whose RRsets differ are rebuilt. The diff skips the
/// subtrees `old` and `model` share, so a PATCH costs what it touched.
pub(super) fn next_zone(
    old: &ApiZone,
    prev: &Arc<Zone>,
    model: &ApiZone,
    keys: Option<&ZoneKeys>,
) -> Result<Arc<Zone>, BuildError> {
    let owners = changed_owners(old, model);
    if owners.is_empty() {
        return Ok(prev.clone());
    }
    if owners.len() > 64 && owners.len() > model.rrsets.len() / 4 {
        // Most of the zone changed (a settings PUT with rrsets): a full
        // build is no slower and simpler.
        let records = with_key_records(model.records(), &model.name, keys);
        return build_zone(&model.name, records).map(Arc::new);
    }
    let served = ServedNames(model, keys);
    let changes = owners.into_iter().map(|owner| OwnerChange {
        owner: owner.clone(),
        records: served.records_at(owner),
    });
    update_zone(prev, changes, &served).map(Arc::new)
}

/// The records an API zone serves (enabled ones), read by owner from its
/// ordered RRset map, where a name's descendants follow the name.
struct ServedNames<'a>(&'a ApiZone, Option<&'a ZoneKeys>);

impl ServedNames<'_> {
    /// The served records of `owner`, as `ApiZone::records` lists them.
    fn records_at(&self, owner: &Name) -> Vec<Record> {
        let mut out = Vec::new();
        if let Some(keys) = self.1
            && owner == &self.0.name
        {
            out.extend(key_records(owner, keys));
        }
        for (key, set) in self.from(owner).take_while(|(key, _)| &key.owner == owner) {
            out.extend(set.records_where(key, |r| !r.disabled));
        }
        out
    }

    /// Owners strictly below `name` with at least one served record.
    fn below<'s>(&'s self, name: &'s Name) -> impl Iterator<Item = &'s Name> + 's {
        self.from(name)
            .skip_while(move |(key, _)| &key.owner == name)
            .take_while(move |(key, _)| key.owner.is_subdomain_of(name))
            .filter(|(_, set)| set.records.iter().any(|r| !r.disabled))
            .map(|(key, _)| &key.owner)
    }

    /// RRsets from `name`'s first one on, in canonical order.
    fn from<'s>(&'s self, name: &Name) -> impl Iterator<Item = (&'s RRsetKey, &'s StoredRRset)> {
        let first = RRsetKey {
            owner: name.clone(),
            rtype: RType(0),
        };
        self.0.rrsets.range(first..).map(|(key, set)| (key, &**set))
    }
}

impl NamesBelow for ServedNames<'_> {
    fn any_below(&self, name: &Name) -> bool {
        self.below(name).next().is_some()
    }

    fn for_each_below(&self, name: &Name, f: &mut dyn FnMut(&Name)) {
        self.below(name).for_each(f);
    }
}
