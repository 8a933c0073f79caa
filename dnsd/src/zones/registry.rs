//! The served set: every writer's zones behind one lock, which writer owns
//! which name, and the catalog published from them through `arc-swap`.
//!
//! Each write method here takes the lock, checks that the writer owns the
//! zone (or that nobody does, for a new one), lets the writer's own state
//! (`files.rs`, `api_zones.rs`) make the change, and publishes the result
//! before it lets go of the lock. Readers only ever see whole catalogs.

/// Consuming a catalog zone: its members as secondary zones.
#[path = "catalog_members.rs"]
mod catalog_members;
pub use catalog_members::Plan as CatalogPlan;

#[cfg(test)]
#[path = "registry_tests.rs"]
mod tests;

use std::sync::{Arc, Mutex, MutexGuard};

use arc_swap::ArcSwap;
use tracing::{info, warn};

use super::api_zones::ApiZones;
use super::catalog_producer::CatalogProducer;
use super::error::ZoneError;
use super::files::FileZones;
use super::history::Histories;
use super::keys::ZoneSigning;
use super::model::ApiZone;
use super::retire::Retirer;
use super::secondary::SecondaryZones;
use super::store::{Store, StoreError};
use super::view::RefreshState;
use super::view::ZoneView;
use crate::config::ZoneSource;
use crate::config::replication::SecondarySource;
use crate::dnssec::{KeyPolicy, KeyStore, ZoneKeys};
use crate::wire::Name;
use crate::xfr::Diff;
use crate::zone::{Catalog, Record, Served, SharedCatalog, Zone};

/// A zone published with a new serial (or newly served): what NOTIFY and
/// the catalog of changes need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoneChange {
    pub origin: Name,
    pub serial: u32,
}

/// Where replication keeps its state, and its bounds.
#[derive(Debug, Clone, Default)]
pub struct ReplicationStores {
    /// Secondary zones: configured ones, the rest come from the API.
    pub secondaries: Vec<SecondarySource>,
    /// Copies of secondary zones (`DATA-DIR/secondary`); `None`: memory only.
    pub secondary_dir: Option<std::path::PathBuf>,
    /// IXFR histories (`DATA-DIR/ixfr`); `None`: memory only.
    pub history_dir: Option<std::path::PathBuf>,
    /// Whether changes are recorded as IXFR diffs at all: only when some
    /// client may ask for them (transfers allowed, an API or secondaries).
    /// Otherwise a reload of a large zone file would diff the whole zone
    /// for nobody.
    pub record_history: bool,
    pub history_limits: crate::xfr::history::Limits,
    /// `--key-source`: this server signs its signed secondary zones with
    /// keys fetched from the primary, held back this long after they are
    /// first published (`dnssec::edge`).
    pub edge_key_delay: Option<std::time::Duration>,
    /// Consumed catalogs: the members each added are served at once.
    pub catalog_consumers: Vec<SecondarySource>,
    /// `--catalog`: the catalog zone to produce over the API zones.
    pub catalog: Option<Name>,
    /// Where the produced catalog is kept (`DATA-DIR/catalog`).
    pub catalog_dir: Option<std::path::PathBuf>,
}

/// The keys a secondary copy is published with.
#[derive(Debug, Clone)]
pub enum SecondaryKeys {
    /// Those it had (none, unless this server is an edge).
    Keep,
    /// These (`None`: served as received, unsigned).
    Set(Option<Arc<ZoneKeys>>),
}

/// Which writer owns a served name.
enum Owner<'a> {
    File(&'a ZoneSource),
    Secondary(&'a SecondarySource),
    Api,
    /// The catalog zone this server produces.
    Catalog,
}

/// Everything the lock guards: each writer's zones, the key store, and
/// what publishing records for replication.
struct Inner {
    signing: ZoneSigning,
    files: FileZones,
    secondaries: SecondaryZones,
    api: ApiZones,
    /// The produced catalog zone (`--catalog`), if any.
    catalog_zone: Option<CatalogProducer>,
    histories: Histories,
    /// [`ReplicationStores::record_history`].
    record_history: bool,
    /// What the writer of the next publish knows it changed, by zone, so
    /// the IXFR history need not compare whole zones.
    hints: std::collections::HashMap<Name, ChangeHint>,
    /// Where published changes are announced (NOTIFY); set once.
    changes: Option<tokio::sync::mpsc::UnboundedSender<ZoneChange>>,
    /// First copies of secondary zones wait for [`Registry::publish_pending`]
    /// instead of publishing one by one (set once a publisher runs).
    defer_first_copies: bool,
    /// A first copy is stored but not yet published.
    pending: bool,
}

/// What a writer knows about a change it is about to publish.
enum ChangeHint {
    /// The change is these diffs, in order (an IXFR received).
    Diffs(Vec<Diff>),
    /// Only these names (lower-case wire) can differ.
    Names(Vec<Box<[u8]>>),
}

impl Inner {
    /// The writer that owns `key` (a lowercased zone name), if it is served.
    /// A zone file wins over a stored API zone of the same name.
    fn owner(&self, key: &Name) -> Option<Owner<'_>> {
        if let Some(entry) = self.files.get(key) {
            return Some(Owner::File(&entry.source));
        }
        if let Some(entry) = self.secondaries.get(key) {
            return Some(Owner::Secondary(&entry.source));
        }
        if self.catalog_zone.as_ref().is_some_and(|c| c.key() == key) {
            return Some(Owner::Catalog);
        }
        self.api.get(key).map(|_| Owner::Api)
    }

    /// Refuses an API write to a zone the API does not own.
    fn api_owns(&self, key: &Name) -> Result<(), ZoneError> {
        match self.owner(key) {
            Some(Owner::Api) => Ok(()),
            Some(Owner::File(source)) => Err(ZoneError::FileZone {
                zone: key.clone(),
                file: source.file.clone(),
            }),
            Some(Owner::Secondary(source)) => Err(secondary_error(source)),
            Some(Owner::Catalog) => Err(ZoneError::CatalogZone(key.clone())),
            None => Err(ZoneError::NotFound(key.clone())),
        }
    }

    /// Records what changed between the published catalog `old` and the
    /// one about to replace it: a diff for every zone whose serial moved,
    /// and an announcement for it and for every new zone. `only`: the
    /// zones that can differ (all of them when `None`).
    fn record_changes(
        &mut self,
        old: &Catalog,
        new: &Catalog,
        only: Option<&[Name]>,
    ) -> Vec<ZoneChange> {
        let mut announced = Vec::new();
        let mut removed = Vec::new();
        match only {
            Some(keys) => {
                for key in keys {
                    match new.get(key) {
                        Some(zone) => self.record_change(old, zone, &mut announced),
                        None if old.get(key).is_some() => removed.push(key.clone()),
                        None => {}
                    }
                }
            }
            None => {
                for zone in new.zones() {
                    self.record_change(old, zone, &mut announced);
                }
                removed.extend(
                    old.zones()
                        .filter(|zone| new.get(&zone.origin).is_none())
                        .map(|zone| zone.origin.to_lowercase()),
                );
            }
        }
        for key in removed {
            if self.owner(&key).is_none() {
                self.histories.remove(&key);
            }
        }
        announced
    }

    /// [`Inner::record_changes`] for one zone of the new catalog.
    fn record_change(&mut self, old: &Catalog, zone: &Arc<Zone>, announced: &mut Vec<ZoneChange>) {
        let key = zone.origin.to_lowercase();
        let hint = self.hints.remove(&key);
        match old.get(&zone.origin) {
            Some(previous) if Arc::ptr_eq(previous, zone) => return,
            Some(previous) if previous.serial == zone.serial => return,
            Some(_) if !self.record_history => {}
            Some(previous) => match hint {
                Some(ChangeHint::Diffs(diffs)) => self.histories.push_all(&key, diffs),
                Some(ChangeHint::Names(names)) => {
                    self.histories.record(&key, previous, zone, Some(&names))
                }
                None => self.histories.record(&key, previous, zone, None),
            },
            None => {}
        }
        announced.push(ZoneChange {
            origin: zone.origin.clone(),
            serial: zone.serial,
        });
    }

    /// The zone the catalog serves at `key` (a lower-case zone name): its
    /// owner's, as [`Inner::served`] would give it.
    fn served_at(&self, key: &Name) -> Option<Served> {
        match self.owner(key)? {
            Owner::File(_) => self.files.served_at(key),
            Owner::Secondary(_) => self.secondaries.served_at(key),
            Owner::Api => self.api.served_at(key),
            Owner::Catalog => self.catalog_zone.as_ref().map(CatalogProducer::served),
        }
    }

    /// Every served zone, as the catalog holds it.
    fn served(&self) -> impl Iterator<Item = Served> + '_ {
        self.files
            .served()
            .chain(self.secondaries.served())
            .chain(self.api.served())
            .chain(self.catalog_zone.as_ref().map(CatalogProducer::served))
    }

    /// Every served zone, as callers see it.
    fn views(&self) -> impl Iterator<Item = ZoneView> + '_ {
        self.files
            .views()
            .chain(self.secondaries.views())
            .chain(self.api.views())
            .chain(self.catalog_zone.as_ref().map(catalog_view))
    }

    /// Brings the produced catalog zone up to the current members, and
    /// tells the IXFR history which names changed.
    fn sync_catalog_zone(&mut self) {
        let Some(producer) = &mut self.catalog_zone else {
            return;
        };
        let files = self.files.catalog_members();
        let (api_count, api) = self.api.names();
        let count = files.clone().count() + api_count;
        if let Some(names) = producer.sync(count, files.chain(api)) {
            self.hints
                .insert(producer.key().clone(), ChangeHint::Names(names));
        }
    }
}

/// The produced catalog zone as callers see it: like a zone file (kind
/// `Native` in the API, read-only there), with no file behind it.
fn catalog_view(producer: &CatalogProducer) -> ZoneView {
    let zone = producer.zone().clone();
    ZoneView::File {
        source: ZoneSource {
            origin: zone.origin.clone(),
            file: std::path::PathBuf::new(),
            dnssec: false,
            allow_transfer: Vec::new(),
            catalog: false,
        },
        zone,
        keys: None,
    }
}

/// The API's refusal to change a secondary zone.
fn secondary_error(source: &SecondarySource) -> ZoneError {
    let primaries: Vec<String> = source
        .primaries
        .iter()
        .map(|p| p.addr.to_string())
        .collect();
    ZoneError::Secondary {
        zone: source.origin.clone(),
        primaries: primaries.join(", "),
    }
}

/// Every served zone, and the published catalog.
pub struct Registry {
    shared: SharedCatalog,
    inner: Mutex<Inner>,
    retirer: Retirer,
}

impl Registry {
    /// Loads the zone files and the stored API zones, and publishes them.
    /// Zones that fail are logged and left out; only a store that cannot
    /// be read at all fails the start.
    pub fn open(
        sources: Vec<ZoneSource>,
        store: Option<Store>,
        signing: ZoneSigning,
        replication: ReplicationStores,
    ) -> Result<Registry, StoreError> {
        let mut files = FileZones::new(sources);
        files.load(&signing, false);
        let mut secondaries =
            SecondaryZones::open(replication.secondaries, replication.secondary_dir);
        secondaries.open_catalog_members(&replication.catalog_consumers);
        let catalog_key = replication.catalog.as_ref().map(Name::to_lowercase);
        let api = ApiZones::open(store, &signing, |key| {
            files.get(key).is_some()
                || secondaries.get(key).is_some()
                || catalog_key.as_ref() == Some(key)
        })?;
        let catalog_zone = match replication.catalog {
            Some(origin) => {
                let (_, api_names) = api.names();
                Some(
                    CatalogProducer::open(
                        origin,
                        replication.catalog_dir,
                        files.catalog_members().chain(api_names),
                    )
                    .map_err(|e| StoreError::Catalog(e.to_string()))?,
                )
            }
            None => None,
        };
        let registry = Registry {
            retirer: Retirer::start(),
            shared: Arc::new(ArcSwap::from_pointee(Catalog::new())),
            inner: Mutex::new(Inner {
                signing,
                files,
                secondaries,
                api,
                catalog_zone,
                histories: Histories::new(replication.history_dir, replication.history_limits),
                record_history: replication.record_history,
                hints: Default::default(),
                changes: None,
                defer_first_copies: false,
                pending: false,
            }),
        };
        {
            // Secondary copies on disk may be older than the diffs the
            // history kept after them: replay those.
            let mut guard = registry.lock();
            let inner = &mut *guard;
            inner.secondaries.replay(&mut inner.histories);
            if let Some(delay) = replication.edge_key_delay {
                let now = super::serial::unix_now();
                let store = &inner.signing.keys;
                inner
                    .secondaries
                    .load_edge_keys(store, delay.as_secs(), now);
            }
        }
        // The first catalog may hold large zone files: what loading them
        // left on the heap goes back to the system once it is published.
        registry.publish_whole(&mut registry.lock(), true);
        Ok(registry)
    }

    /// Announces every zone published with a new serial from now on (one
    /// subscriber: replication's NOTIFY sender).
    pub fn subscribe(&self) -> tokio::sync::mpsc::UnboundedReceiver<ZoneChange> {
        let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
        self.lock().changes = Some(sender);
        receiver
    }

    /// The catalog handle the transports read.
    pub fn catalog(&self) -> &SharedCatalog {
        &self.shared
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock left no partial state behind
        // (changes are built aside and swapped in), so poison is harmless.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Builds the catalog from `inner` and swaps it in. Writers call it
    /// while still holding the lock, so catalogs are published in the
    /// order their changes were made.
    fn publish(&self, inner: &mut Inner) {
        self.publish_whole(inner, false);
    }

    /// [`Registry::publish`]; `large`: the replaced catalog's memory goes
    /// back to the system once freed (a reload of large zone files).
    fn publish_whole(&self, inner: &mut Inner, large: bool) {
        // Membership changes reach the catalog zone in this same snapshot.
        inner.sync_catalog_zone();
        let mut catalog = Catalog::new();
        for served in inner.served() {
            catalog.insert_served(served);
        }
        self.swap_in(inner, catalog, None, large);
    }

    /// Publishes a change to the zone at `key` alone (a lower-case zone
    /// name; added, changed or removed). The new catalog shares every
    /// other zone with the current one, so a change costs the same with
    /// a hundred thousand zones as with one. `membership`: the zone was
    /// added or removed, which the produced catalog zone follows.
    fn publish_zone(&self, inner: &mut Inner, key: &Name, membership: bool) {
        let mut keys = vec![key.clone()];
        if membership {
            inner.sync_catalog_zone();
            if let Some(producer) = &inner.catalog_zone {
                keys.push(producer.key().clone());
            }
        }
        let mut catalog = Catalog::clone(&self.shared.load());
        for key in &keys {
            match inner.served_at(key) {
                Some(served) => catalog.insert_served(served),
                None => {
                    catalog.remove(key);
                }
            }
        }
        self.swap_in(inner, catalog, Some(&keys), false);
    }

    /// Records `catalog`'s changes (`only`: in these zones), swaps it in,
    /// and hands the one it replaced to the retire thread (`large`: see
    /// [`Registry::publish_whole`]).
    fn swap_in(&self, inner: &mut Inner, catalog: Catalog, only: Option<&[Name]>, large: bool) {
        // The history is written before the catalog is published, and
        // NOTIFY goes out after: a secondary told of the new serial finds
        // it served, and its diff kept.
        let announced = inner.record_changes(&self.shared.load(), &catalog, only);
        let old = self.shared.swap(Arc::new(catalog));
        self.retirer.retire(old, large);
        if let Some(changes) = &inner.changes {
            for change in announced {
                let _ = changes.send(change);
            }
        }
    }

    /// Every zone, of every writer, by name.
    pub fn list(&self) -> Vec<ZoneView> {
        let mut views: Vec<ZoneView> = self.lock().views().collect();
        views.sort_by(|a, b| a.origin().cmp(b.origin()));
        views
    }

    /// One zone by name.
    pub fn get(&self, name: &Name) -> Option<ZoneView> {
        let inner = self.lock();
        let key = name.to_lowercase();
        match inner.owner(&key)? {
            Owner::File(_) => inner.files.get(&key).map(|entry| entry.view()),
            Owner::Secondary(_) => inner.secondaries.get(&key).map(|entry| entry.view()),
            Owner::Api => inner.api.get(&key).map(|entry| entry.view()),
            Owner::Catalog => inner.catalog_zone.as_ref().map(catalog_view),
        }
    }

    /// The diffs of `name` from `serial` to its newest serial, if the
    /// IXFR history reaches back that far.
    pub fn ixfr_since(&self, name: &Name, serial: u32) -> Option<Vec<Arc<Diff>>> {
        let current = self.shared.load().get(name)?.serial;
        self.lock()
            .histories
            .since(&name.to_lowercase(), serial, current)
    }
}

// ----------- writers: zone files --------------------------------------

impl Registry {
    /// Reloads every zone file (SIGHUP). Returns how many failed.
    pub fn reload_files(&self) -> usize {
        let mut guard = self.lock();
        let inner = &mut *guard;
        let failed = inner.files.load(&inner.signing, true);
        self.publish_whole(inner, true);
        info!(zones = inner.files.configured(), failed, "reload done");
        failed
    }
}

// ----------- writers: zone transfers (secondary zones) -----------------

impl Registry {
    /// Every secondary zone's origin and primaries.
    pub fn secondaries(&self) -> Vec<SecondarySource> {
        self.lock().secondaries.sources().cloned().collect()
    }

    /// The served copy of secondary zone `name`, if one was received.
    pub fn secondary_copy(&self, name: &Name) -> Option<Arc<Zone>> {
        let inner = self.lock();
        inner.secondaries.get(&name.to_lowercase())?.zone().cloned()
    }

    /// Replaces secondary zone `name` with `records`, a whole zone as
    /// received; it is checked like a zone file and persisted before it is
    /// served. Returns the new serial.
    pub fn replace_secondary(&self, name: &Name, records: Vec<Record>) -> Result<u32, ZoneError> {
        self.replace_secondary_signed(name, records, SecondaryKeys::Keep)
    }

    /// [`Registry::replace_secondary`], the copy published with `keys`.
    pub fn replace_secondary_signed(
        &self,
        name: &Name,
        records: Vec<Record>,
        keys: SecondaryKeys,
    ) -> Result<u32, ZoneError> {
        let mut guard = self.lock();
        let inner = &mut *guard;
        let key = name.to_lowercase();
        let first = inner
            .secondaries
            .get(&key)
            .is_some_and(|e| e.zone().is_none());
        let zone = inner.secondaries.replace(&key, records)?;
        if let SecondaryKeys::Set(keys) = keys {
            inner.secondaries.set_keys(&key, keys);
        }
        if first && inner.defer_first_copies {
            // Thousands of new zones (a catalog) arriving one by one would
            // each rebuild the whole served set: they go out together.
            inner.pending = true;
        } else {
            self.publish_zone(inner, &key, false);
        }
        Ok(zone.serial)
    }

    /// Applies `diffs` (an IXFR) to secondary zone `name`: the names they
    /// touch are checked like a zone file, the diffs go to the IXFR
    /// history (which persists them) and the copy is served. Returns the
    /// new serial.
    pub fn apply_secondary(&self, name: &Name, diffs: Vec<Diff>) -> Result<u32, ZoneError> {
        self.apply_secondary_signed(name, diffs, SecondaryKeys::Keep)
    }

    /// [`Registry::apply_secondary`], the copy published with `keys`.
    pub fn apply_secondary_signed(
        &self,
        name: &Name,
        diffs: Vec<Diff>,
        keys: SecondaryKeys,
    ) -> Result<u32, ZoneError> {
        let mut guard = self.lock();
        let inner = &mut *guard;
        let key = name.to_lowercase();
        let zone = inner.secondaries.apply(&key, &diffs)?;
        if let SecondaryKeys::Set(keys) = keys {
            inner.secondaries.set_keys(&key, keys);
        }
        inner.hints.insert(key.clone(), ChangeHint::Diffs(diffs));
        self.publish_zone(inner, &key, false);
        if inner.secondaries.wants_rewrite(&key) {
            // Now and then the whole copy is written again, so a restart
            // never depends on a long history.
            inner.secondaries.rewrite(&key, &zone)?;
        }
        Ok(zone.serial)
    }

    /// Signs the served copy of secondary zone `name` with `keys` from now
    /// on (an edge's key decision changed without a new copy: a key past
    /// its propagation delay, or a key sync after a failed one).
    pub fn set_secondary_keys(&self, name: &Name, keys: Option<Arc<ZoneKeys>>) {
        let mut guard = self.lock();
        let inner = &mut *guard;
        let key = name.to_lowercase();
        if inner.secondaries.set_keys(&key, keys) {
            self.publish_zone(inner, &key, false);
        }
    }

    /// From now on, first copies of secondary zones are published by
    /// [`Registry::publish_pending`], which the caller runs every few
    /// milliseconds, instead of one publish each.
    pub fn defer_first_copies(&self) {
        self.lock().defer_first_copies = true;
    }

    /// Publishes the first copies stored since the last call, if any.
    pub fn publish_pending(&self) {
        let mut guard = self.lock();
        let inner = &mut *guard;
        if std::mem::take(&mut inner.pending) {
            self.publish(inner);
        }
    }

    /// Marks secondary zone `name` current as of now (its primary has no
    /// newer serial).
    pub fn secondary_refreshed(&self, name: &Name) {
        self.lock().secondaries.touch(&name.to_lowercase());
    }

    /// Records the refresh timers of secondary zone `name`.
    pub fn set_secondary_state(&self, name: &Name, state: RefreshState) {
        self.lock()
            .secondaries
            .set_state(&name.to_lowercase(), state);
    }

    /// Stops serving secondary zone `name` (SOA expire passed): SERVFAIL
    /// until a transfer succeeds.
    pub fn expire_secondary(&self, name: &Name) {
        let mut guard = self.lock();
        let inner = &mut *guard;
        let key = name.to_lowercase();
        if inner.secondaries.expire(&key) {
            warn!(zone = %name, "secondary zone expired; answering SERVFAIL until a transfer succeeds");
            self.publish_zone(inner, &key, false);
        }
    }

    /// Adds a secondary zone through the API (`kind: Slave`); a name
    /// served already is refused.
    pub fn create_secondary(&self, source: SecondarySource) -> Result<(), ZoneError> {
        let mut inner = self.lock();
        let key = source.origin.to_lowercase();
        if inner.owner(&key).is_some() {
            return Err(ZoneError::Exists(key));
        }
        inner.secondaries.add_from_api(source)
    }
}

// ----------- writers: the control API ---------------------------------

impl Registry {
    /// Adds a new API zone; a name served already (by any writer) is
    /// refused.
    pub fn create(&self, model: ApiZone) -> Result<Arc<ApiZone>, ZoneError> {
        let mut inner = self.lock();
        let key = model.name.to_lowercase();
        if inner.owner(&key).is_some() {
            return Err(ZoneError::Exists(key));
        }
        let model = inner.api.create(key.clone(), model)?;
        self.publish_zone(&mut inner, &key, true);
        Ok(model)
    }

    /// Changes an API zone with `change`, which gets the current model and
    /// returns the new one, or `None` when nothing changes. Its errors are
    /// the caller's own and come back unchanged.
    pub fn update<T, E: From<ZoneError>>(
        &self,
        name: &Name,
        change: impl FnOnce(&ApiZone) -> Result<(Option<ApiZone>, T), E>,
    ) -> Result<T, E> {
        let mut inner = self.lock();
        let key = name.to_lowercase();
        inner.api_owns(&key)?;
        let before = inner.api.get(&key).map(|entry| entry.model().clone());
        let (result, changed) = inner.api.update(&key, change)?;
        if changed {
            if let (Some(before), Some(after)) = (before, inner.api.get(&key)) {
                let mut names: Vec<Box<[u8]>> =
                    super::api_zones::changed_owners(&before, after.model())
                        .into_iter()
                        .map(|owner| owner.to_lowercase().as_wire().into())
                        .collect();
                names.push(key.as_wire().into());
                inner.hints.insert(key.clone(), ChangeHint::Names(names));
            }
            self.publish_zone(&mut inner, &key, false);
        }
        Ok(result)
    }

    /// Changes an API zone's DNSSEC keys with `change` (which works on the
    /// key store), then re-reads them, moves the serial (PowerDNS bumps it
    /// on key changes) and serves the zone signed or unsigned accordingly.
    pub fn change_keys<T, E: From<ZoneError>>(
        &self,
        name: &Name,
        change: impl FnOnce(&KeyStore, &KeyPolicy, &Name) -> Result<T, E>,
    ) -> Result<T, E> {
        let mut guard = self.lock();
        let inner = &mut *guard;
        let key = name.to_lowercase();
        inner.api_owns(&key)?;
        let result = inner.api.change_keys(&inner.signing, &key, change)?;
        self.publish_zone(inner, &key, false);
        Ok(result)
    }

    /// Removes an API zone, its keys and its stored data; or a secondary
    /// zone the API created, and its copy.
    pub fn delete(&self, name: &Name) -> Result<(), ZoneError> {
        let mut guard = self.lock();
        let inner = &mut *guard;
        let key = name.to_lowercase();
        if let Some(entry) = inner.secondaries.get(&key) {
            if !entry.from_api {
                return Err(secondary_error(&entry.source));
            }
            inner.secondaries.remove(&key)?;
            // An edge's copies of the zone's keys go with the zone.
            if let Err(err) = super::keys::remove_all(&inner.signing.keys, &key) {
                warn!(zone = %key, %err, "secondary zone deleted, but not its key files");
            }
            self.publish_zone(inner, &key, false);
            return Ok(());
        }
        inner.api_owns(&key)?;
        inner.api.delete(&inner.signing.keys, &key)?;
        self.publish_zone(inner, &key, true);
        Ok(())
    }
}
