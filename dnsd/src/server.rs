//! The served zones: file-backed zones and API-managed zones, and the
//! catalog built from them.
//!
//! Writers (SIGHUP reloads, API changes) take one mutex, build the new
//! zone off the answer path, persist it when it is API-managed, and then
//! publish a new [`Catalog`] through `arc-swap`. Readers never take the
//! mutex: queries in flight keep the snapshot they started with. A zone
//! that fails to load is left out, or, on reload, keeps its previous
//! version; the other zones go on either way.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use arc_swap::ArcSwap;
use imbl::ordmap::DiffItem;
use tracing::{error, info, warn};

use crate::api::error::{ApiError, unprocessable};
use crate::api::model::{ApiZone, RRsetKey, StoredRRset};
use crate::api::store::{Store, StoreError};
use crate::config::ZoneSource;
use crate::dnssec::{DigestType, KeyPolicy, KeyStore, KeyStoreError, ZoneKeys};
use crate::wire::{Name, RType};
use crate::zone::{
    BuildError, Catalog, NamesBelow, OwnerChange, Record, Served, Zone, build_zone, load,
    update_zone,
};

/// The catalog readers see, shared by every transport.
pub type SharedCatalog = Arc<ArcSwap<Catalog>>;

/// Frees a replaced catalog off the answer path and gives its memory back
/// to the system.
///
/// After a reload of large zones the old snapshot is as big as the new one.
/// The UDP workers drop their references at their next batch; waiting for
/// that here (on a thread of its own) makes this thread, not a worker, pay
/// for freeing millions of nodes. glibc keeps freed memory in its arenas,
/// so without a trim the process would hold both generations' worth of RSS.
fn retire(old: Arc<Catalog>) {
    let spawned = std::thread::Builder::new()
        .name("retire".into())
        .spawn(move || {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
            // An idle worker keeps its reference until its next packet;
            // then that worker frees it and the trim below still helps.
            while Arc::strong_count(&old) > 1 && std::time::Instant::now() < deadline {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            drop(old);
            trim_heap();
        });
    if let Err(e) = spawned {
        warn!(error = %e, "could not start the thread that frees the old zones");
    }
}

/// Returns free heap pages to the system (glibc only; elsewhere a no-op).
fn trim_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks the allocator's own free lists.
    unsafe {
        libc::malloc_trim(0);
    }
}

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

/// Where signed zones keep their keys, and how new keys are made.
pub struct ZoneSigning {
    pub keys: KeyStore,
    pub policy: KeyPolicy,
}

/// Reads, checks and indexes one zone file; for a signed zone, loads (or,
/// when it has none yet, generates) its keys and publishes DNSKEY, CDS and
/// CDNSKEY at the apex. Keys that exist but cannot be read fail the zone:
/// it is never served unsigned, and a key is never silently replaced.
pub fn load_served_zone(
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

/// TTL of DNSKEY, CDS and CDNSKEY records dnsd publishes.
const KEY_TTL: u32 = 3600;

/// The apex DNSKEY RRset (published keys), and CDS (SHA-256) and CDNSKEY
/// for the active key-signing keys (RFC 7344), so a parent or registrar
/// that reads them can install the DS.
pub fn key_records(origin: &Name, keys: &ZoneKeys) -> Vec<Record> {
    let record = |rtype: RType, rdata: &[u8]| Record {
        owner: origin.clone(),
        rtype,
        class: 1,
        ttl: KEY_TTL,
        rdata: rdata.into(),
        location: None,
    };
    let mut out: Vec<Record> = keys
        .dnskey_rdatas()
        .map(|r| record(RType::DNSKEY, r))
        .collect();
    out.extend(
        keys.cds_rdatas(&[DigestType::Sha256])
            .iter()
            .map(|r| record(RType::CDS, r)),
    );
    out.extend(keys.cdnskey_rdatas().map(|r| record(RType::CDNSKEY, r)));
    out
}

/// A served zone as the API sees it.
#[derive(Clone)]
pub enum ZoneView {
    /// Loaded from a zone file; read-only through the API.
    File {
        source: ZoneSource,
        zone: Arc<Zone>,
        keys: Option<Arc<ZoneKeys>>,
    },
    /// Managed through the API and persisted under the data directory.
    Api {
        model: Arc<ApiZone>,
        zone: Arc<Zone>,
        /// Present when the zone is signed.
        keys: Option<Arc<ZoneKeys>>,
    },
}

impl ZoneView {
    /// The zone's keys, when it is signed.
    pub fn keys(&self) -> Option<&Arc<ZoneKeys>> {
        match self {
            ZoneView::File { keys, .. } | ZoneView::Api { keys, .. } => keys.as_ref(),
        }
    }

    /// The served snapshot.
    pub fn zone(&self) -> &Arc<Zone> {
        match self {
            ZoneView::File { zone, .. } | ZoneView::Api { zone, .. } => zone,
        }
    }
}

struct ApiEntry {
    model: Arc<ApiZone>,
    zone: Arc<Zone>,
    /// Present when the zone is signed (it has keys in the key store).
    keys: Option<Arc<ZoneKeys>>,
}

impl ApiEntry {
    fn view(&self) -> ZoneView {
        ZoneView::Api {
            model: self.model.clone(),
            zone: self.zone.clone(),
            keys: self.keys.clone(),
        }
    }
}

struct Inner {
    sources: Vec<ZoneSource>,
    signing: ZoneSigning,
    files: BTreeMap<Name, (ZoneSource, Arc<Zone>)>,
    /// Keys of the signed file zones.
    file_keys: BTreeMap<Name, Arc<ZoneKeys>>,
    api: BTreeMap<Name, ApiEntry>,
    store: Option<Store>,
}

/// Every served zone, and the published catalog.
pub struct Zones {
    shared: SharedCatalog,
    inner: Mutex<Inner>,
}

impl Zones {
    /// Loads the zone files and the stored API zones, and publishes them.
    /// Zones that fail are logged and left out.
    pub fn open(
        sources: Vec<ZoneSource>,
        store: Option<Store>,
        signing: ZoneSigning,
    ) -> Result<Zones, StoreError> {
        let mut inner = Inner {
            sources,
            signing,
            files: BTreeMap::new(),
            file_keys: BTreeMap::new(),
            api: BTreeMap::new(),
            store: None,
        };
        load_files(&mut inner, false);
        let mut store = store;
        if let Some(store) = &mut store {
            for model in store.load_all()? {
                let key = model.name.to_lowercase();
                if inner.files.contains_key(&key) {
                    warn!(zone = %key, "zone is both in a zone file and in the API store; serving the file");
                    continue;
                }
                let keys = match api_zone_keys(&inner.signing.keys, &model.name) {
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
                        inner.api.insert(
                            key,
                            ApiEntry {
                                model: Arc::new(model),
                                zone: Arc::new(zone),
                                keys,
                            },
                        );
                    }
                    Err(err) => error!(zone = %key, %err, "stored api zone cannot be served"),
                }
            }
        }
        inner.store = store;
        let zones = Zones {
            shared: Arc::new(ArcSwap::from_pointee(Catalog::new())),
            inner: Mutex::new(inner),
        };
        zones.publish(&zones.lock());
        Ok(zones)
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

    /// Builds the catalog from `inner` and swaps it in; returns the one it
    /// replaced.
    fn publish(&self, inner: &Inner) -> Arc<Catalog> {
        let mut catalog = Catalog::new();
        for (name, (_, zone)) in &inner.files {
            catalog.insert_served(Served {
                zone: zone.clone(),
                keys: inner.file_keys.get(name).cloned(),
            });
        }
        for entry in inner.api.values() {
            catalog.insert_served(Served {
                zone: entry.zone.clone(),
                keys: entry.keys.clone(),
            });
        }
        self.shared.swap(Arc::new(catalog))
    }

    /// Reloads every zone file (SIGHUP). Returns how many failed.
    pub fn reload_files(&self) -> usize {
        let mut inner = self.lock();
        let failed = load_files(&mut inner, true);
        let old = self.publish(&inner);
        info!(zones = inner.sources.len(), failed, "reload done");
        drop(inner);
        retire(old);
        failed
    }

    /// Every zone, file-backed and API-managed, by name.
    pub fn list(&self) -> Vec<ZoneView> {
        let inner = self.lock();
        let mut views: Vec<ZoneView> = inner
            .files
            .iter()
            .map(|(name, (source, zone))| ZoneView::File {
                source: source.clone(),
                zone: zone.clone(),
                keys: inner.file_keys.get(name).cloned(),
            })
            .collect();
        views.extend(inner.api.values().map(ApiEntry::view));
        views.sort_by(|a, b| a.zone().origin.cmp(&b.zone().origin));
        views
    }

    /// One zone by name.
    pub fn get(&self, name: &Name) -> Option<ZoneView> {
        let inner = self.lock();
        let key = name.to_lowercase();
        if let Some((source, zone)) = inner.files.get(&key) {
            return Some(ZoneView::File {
                source: source.clone(),
                zone: zone.clone(),
                keys: inner.file_keys.get(&key).cloned(),
            });
        }
        inner.api.get(&key).map(ApiEntry::view)
    }

    /// Adds a new API zone: 409 if the name is served already.
    pub fn create(&self, model: ApiZone) -> Result<Arc<ApiZone>, ApiError> {
        let mut inner = self.lock();
        let key = model.name.to_lowercase();
        if inner.files.contains_key(&key) || inner.api.contains_key(&key) {
            return Err(ApiError::Conflict);
        }
        let entry = commit(&mut inner, None, model, None)?;
        let model = entry.model.clone();
        inner.api.insert(key, entry);
        let _ = self.publish(&inner);
        Ok(model)
    }

    /// Changes an API zone with `change`, which gets the current model and
    /// returns the new one, or `None` when nothing changes. File-backed
    /// zones are refused with a clear 422.
    pub fn update<T>(
        &self,
        name: &Name,
        change: impl FnOnce(&ApiZone) -> Result<(Option<ApiZone>, T), ApiError>,
    ) -> Result<T, ApiError> {
        let mut inner = self.lock();
        let key = name.to_lowercase();
        refuse_file_zone(&inner, &key)?;
        let entry = inner.api.get(&key).ok_or(ApiError::NotFound)?;
        let (current, keys) = (entry.model.clone(), entry.keys.clone());
        let (next, result) = change(&current)?;
        if let Some(next) = next {
            let entry = commit(&mut inner, Some(&current), next, keys)?;
            inner.api.insert(key, entry);
            let _ = self.publish(&inner);
        }
        Ok(result)
    }

    /// Changes an API zone's DNSSEC keys with `change` (which works on the
    /// key store), then re-reads them, moves the serial (PowerDNS bumps it
    /// on key changes) and serves the zone signed or unsigned accordingly.
    pub fn change_keys<T>(
        &self,
        name: &Name,
        change: impl FnOnce(&KeyStore, &KeyPolicy, &Name) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        let mut inner = self.lock();
        let key = name.to_lowercase();
        refuse_file_zone(&inner, &key)?;
        let current = inner.api.get(&key).ok_or(ApiError::NotFound)?.model.clone();
        let result = change(&inner.signing.keys, &inner.signing.policy, &current.name)?;
        let keys = api_zone_keys(&inner.signing.keys, &current.name)
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        let mut next = (*current).clone();
        let now = crate::api::serial::unix_now();
        next.set_serial(crate::api::serial::next_serial(
            &next.settings.soa_edit_api,
            current.serial().unwrap_or(0),
            now,
        ));
        let entry = commit(&mut inner, Some(&current), next, keys)?;
        inner.api.insert(key, entry);
        let _ = self.publish(&inner);
        Ok(result)
    }

    /// Removes an API zone and its stored data.
    pub fn delete(&self, name: &Name) -> Result<(), ApiError> {
        let mut inner = self.lock();
        let key = name.to_lowercase();
        refuse_file_zone(&inner, &key)?;
        let model = inner.api.get(&key).ok_or(ApiError::NotFound)?.model.clone();
        // Its keys go too (PowerDNS deletes keys with the zone).
        let store = &inner.signing.keys;
        for stored in store
            .load(&model.name)
            .map_err(|e| ApiError::Internal(e.to_string()))?
        {
            store
                .remove(&model.name, stored.key.algorithm(), stored.key.tag())
                .map_err(|e| ApiError::Internal(e.to_string()))?;
        }
        if let Some(store) = &mut inner.store {
            store
                .delete(&model)
                .map_err(|e| ApiError::Internal(e.to_string()))?;
        }
        inner.api.remove(&key);
        let _ = self.publish(&inner);
        Ok(())
    }
}

fn refuse_file_zone(inner: &Inner, key: &Name) -> Result<(), ApiError> {
    match inner.files.get(key) {
        Some((source, _)) => Err(unprocessable(format!(
            "Zone {key} is loaded from the zone file {}; it is read-only through the API. \
             Edit the file and send SIGHUP to dnsd to reload it.",
            source.file.display()
        ))),
        None => Ok(()),
    }
}

/// Builds the zone (so it is known to be servable), then persists the
/// change durably; only then may the caller publish it. A change to a zone
/// updates its served version by the RRsets that differ (issue 4); a new
/// zone, or a change touching much of one, is built whole.
fn commit(
    inner: &mut Inner,
    old: Option<&ApiZone>,
    model: ApiZone,
    keys: Option<Arc<ZoneKeys>>,
) -> Result<ApiEntry, ApiError> {
    let current = inner.api.get(&model.name.to_lowercase());
    let zone = match (old, current) {
        // The served zone is the one built from `old` with the same keys:
        // update it.
        (Some(old), Some(entry))
            if std::ptr::eq(old, entry.model.as_ref()) && same_keys(&entry.keys, &keys) =>
        {
            next_zone(old, &entry.zone, &model, keys.as_deref())
        }
        _ => {
            let records = with_key_records(model.records(), &model.name, keys.as_deref());
            build_zone(&model.name, records).map(Arc::new)
        }
    }
    .map_err(|e| unprocessable(e.to_string()))?;
    let Inner { api, store, .. } = inner;
    if let Some(store) = store {
        store
            .save(old, &model)
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        if store.wants_compaction() {
            let others = api
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
        zone,
        keys,
    })
}

fn same_keys(a: &Option<Arc<ZoneKeys>>, b: &Option<Arc<ZoneKeys>>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => Arc::ptr_eq(a, b),
        (None, None) => true,
        _ => false,
    }
}

/// `records` plus, for a signed zone, its DNSKEY, CDS and CDNSKEY records.
fn with_key_records(
    mut records: Vec<Record>,
    origin: &Name,
    keys: Option<&ZoneKeys>,
) -> Vec<Record> {
    if let Some(keys) = keys {
        records.extend(key_records(origin, keys));
    }
    records
}

/// The keys of an API zone from the key store: `None` when it has none
/// or none active (the zone is then served unsigned, as PowerDNS's
/// `dnssec` field says). Keys that exist but cannot be read are an error.
fn api_zone_keys(store: &KeyStore, zone: &Name) -> Result<Option<Arc<ZoneKeys>>, KeyStoreError> {
    let stored = store.load(zone)?;
    let now = crate::api::serial::unix_now();
    let keys = ZoneKeys::new(
        zone,
        stored
            .iter()
            .map(|k| (k.key.clone(), k.timing.state_at(now)))
            .collect(),
    );
    Ok(keys.check_can_sign().is_ok().then(|| Arc::new(keys)))
}

/// The served zone for `model`, from `prev`, the one served for `old`:
/// only the names whose RRsets differ are rebuilt. The diff skips the
/// subtrees `old` and `model` share, so a PATCH costs what it touched.
fn next_zone(
    old: &ApiZone,
    prev: &Arc<Zone>,
    model: &ApiZone,
    keys: Option<&ZoneKeys>,
) -> Result<Arc<Zone>, BuildError> {
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
            for record in set.records.iter().filter(|r| !r.disabled) {
                out.push(Record {
                    owner: key.owner.clone(),
                    rtype: key.rtype,
                    class: 1,
                    ttl: set.ttl,
                    rdata: record.wire.clone(),
                    location: None,
                });
            }
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
        self.0.rrsets.range(first..)
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

/// Loads every zone file into `inner.files`. With `keep_previous`, a zone
/// that fails keeps the version it had. Returns how many failed.
fn load_files(inner: &mut Inner, keep_previous: bool) -> usize {
    let mut files = BTreeMap::new();
    let mut file_keys = BTreeMap::new();
    let mut failed = 0;
    for source in &inner.sources {
        let key = source.origin.to_lowercase();
        match load_served_zone(source, &inner.signing) {
            Ok((zone, keys)) => {
                info!(
                    zone = %source.origin,
                    file = %source.file.display(),
                    serial = zone.serial,
                    records = zone.record_count,
                    signed = keys.is_some(),
                    "zone loaded"
                );
                files.insert(key.clone(), (source.clone(), Arc::new(zone)));
                if let Some(keys) = keys {
                    file_keys.insert(key, keys);
                }
            }
            Err(err) => {
                failed += 1;
                let kept = keep_previous
                    .then(|| inner.files.get(&key).cloned())
                    .flatten();
                match kept {
                    Some(old) => {
                        error!(zone = %source.origin, "zone failed to load; still serving serial {}:\n{err}", old.1.serial);
                        if let Some(keys) = inner.file_keys.get(&key) {
                            file_keys.insert(key.clone(), keys.clone());
                        }
                        files.insert(key, old);
                    }
                    None => {
                        error!(zone = %source.origin, "zone failed to load and is not served:\n{err}")
                    }
                }
            }
        }
    }
    inner.files = files;
    inner.file_keys = file_keys;
    failed
}

#[cfg(test)]
mod tests;
