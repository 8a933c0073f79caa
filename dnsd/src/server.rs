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
    File { source: ZoneSource, zone: Arc<Zone> },
    /// Managed through the API and persisted under the data directory.
    Api {
        model: Arc<ApiZone>,
        zone: Arc<Zone>,
    },
}

impl ZoneView {
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
                match build_zone(&model.name, model.records()) {
                    Ok(zone) => {
                        info!(zone = %key, serial = zone.serial, records = zone.record_count, "api zone loaded");
                        inner.api.insert(
                            key,
                            ApiEntry {
                                model: Arc::new(model),
                                zone: Arc::new(zone),
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

    fn publish(&self, inner: &Inner) {
        let mut catalog = Catalog::new();
        for (name, (_, zone)) in &inner.files {
            catalog.insert_served(Served {
                zone: zone.clone(),
                keys: inner.file_keys.get(name).cloned(),
            });
        }
        for entry in inner.api.values() {
            catalog.insert(entry.zone.clone());
        }
        self.shared.store(Arc::new(catalog));
    }

    /// Reloads every zone file (SIGHUP). Returns how many failed.
    pub fn reload_files(&self) -> usize {
        let mut inner = self.lock();
        let failed = load_files(&mut inner, true);
        self.publish(&inner);
        info!(zones = inner.sources.len(), failed, "reload done");
        failed
    }

    /// Every zone, file-backed and API-managed, by name.
    pub fn list(&self) -> Vec<ZoneView> {
        let inner = self.lock();
        let mut views: Vec<ZoneView> = inner
            .files
            .values()
            .map(|(source, zone)| ZoneView::File {
                source: source.clone(),
                zone: zone.clone(),
            })
            .collect();
        views.extend(inner.api.values().map(|e| ZoneView::Api {
            model: e.model.clone(),
            zone: e.zone.clone(),
        }));
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
            });
        }
        inner.api.get(&key).map(|e| ZoneView::Api {
            model: e.model.clone(),
            zone: e.zone.clone(),
        })
    }

    /// Adds a new API zone: 409 if the name is served already.
    pub fn create(&self, model: ApiZone) -> Result<Arc<ApiZone>, ApiError> {
        let mut inner = self.lock();
        let key = model.name.to_lowercase();
        if inner.files.contains_key(&key) || inner.api.contains_key(&key) {
            return Err(ApiError::Conflict);
        }
        let entry = commit(&mut inner, None, model)?;
        let model = entry.model.clone();
        inner.api.insert(key, entry);
        self.publish(&inner);
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
        let current = inner.api.get(&key).ok_or(ApiError::NotFound)?.model.clone();
        let (next, result) = change(&current)?;
        if let Some(next) = next {
            let entry = commit(&mut inner, Some(&current), next)?;
            inner.api.insert(key, entry);
            self.publish(&inner);
        }
        Ok(result)
    }

    /// Removes an API zone and its stored data.
    pub fn delete(&self, name: &Name) -> Result<(), ApiError> {
        let mut inner = self.lock();
        let key = name.to_lowercase();
        refuse_file_zone(&inner, &key)?;
        let model = inner.api.get(&key).ok_or(ApiError::NotFound)?.model.clone();
        if let Some(store) = &mut inner.store {
            store
                .delete(&model)
                .map_err(|e| ApiError::Internal(e.to_string()))?;
        }
        inner.api.remove(&key);
        self.publish(&inner);
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
fn commit(inner: &mut Inner, old: Option<&ApiZone>, model: ApiZone) -> Result<ApiEntry, ApiError> {
    let current = inner.api.get(&model.name.to_lowercase());
    let zone = match (old, current) {
        // The served zone is the one built from `old`: update it.
        (Some(old), Some(entry)) if std::ptr::eq(old, entry.model.as_ref()) => {
            next_zone(old, &entry.zone, &model)
        }
        _ => build_zone(&model.name, model.records()).map(Arc::new),
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
    })
}

/// The served zone for `model`, from `prev`, the one served for `old`:
/// only the names whose RRsets differ are rebuilt. The diff skips the
/// subtrees `old` and `model` share, so a PATCH costs what it touched.
fn next_zone(old: &ApiZone, prev: &Arc<Zone>, model: &ApiZone) -> Result<Arc<Zone>, BuildError> {
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
        return build_zone(&model.name, model.records()).map(Arc::new);
    }
    let served = ServedNames(model);
    let changes = owners.into_iter().map(|owner| OwnerChange {
        owner: owner.clone(),
        records: served.records_at(owner),
    });
    update_zone(prev, changes, &served).map(Arc::new)
}

/// The records an API zone serves (enabled ones), read by owner from its
/// ordered RRset map, where a name's descendants follow the name.
struct ServedNames<'a>(&'a ApiZone);

impl ServedNames<'_> {
    /// The served records of `owner`, as `ApiZone::records` lists them.
    fn records_at(&self, owner: &Name) -> Vec<Record> {
        let mut out = Vec::new();
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
