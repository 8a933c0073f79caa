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
use tracing::{error, info, warn};

use crate::api::error::{ApiError, unprocessable};
use crate::api::model::ApiZone;
use crate::api::store::{Store, StoreError};
use crate::config::ZoneSource;
use crate::wire::Name;
use crate::zone::{Catalog, Zone, build_zone, load};

/// The catalog readers see, shared by every transport.
pub type SharedCatalog = Arc<ArcSwap<Catalog>>;

/// Why a zone could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ZoneLoadError {
    #[error("{0}")]
    Load(#[from] load::LoadErrors),
    #[error("{0}")]
    Build(#[from] crate::zone::BuildError),
}

/// Reads, checks and indexes one zone file.
pub fn load_zone(source: &ZoneSource) -> Result<Zone, ZoneLoadError> {
    let records = load::load_file(&source.origin, &source.file)?;
    Ok(build_zone(&source.origin, records)?)
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
    files: BTreeMap<Name, (ZoneSource, Arc<Zone>)>,
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
    pub fn open(sources: Vec<ZoneSource>, store: Option<Store>) -> Result<Zones, StoreError> {
        let mut inner = Inner {
            sources,
            files: BTreeMap::new(),
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
        for (_, zone) in inner.files.values() {
            catalog.insert(zone.clone());
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
/// change durably; only then may the caller publish it.
fn commit(inner: &mut Inner, old: Option<&ApiZone>, model: ApiZone) -> Result<ApiEntry, ApiError> {
    let zone =
        build_zone(&model.name, model.records()).map_err(|e| unprocessable(e.to_string()))?;
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
        zone: Arc::new(zone),
    })
}

/// Loads every zone file into `inner.files`. With `keep_previous`, a zone
/// that fails keeps the version it had. Returns how many failed.
fn load_files(inner: &mut Inner, keep_previous: bool) -> usize {
    let mut files = BTreeMap::new();
    let mut failed = 0;
    for source in &inner.sources {
        let key = source.origin.to_lowercase();
        match load_zone(source) {
            Ok(zone) => {
                info!(
                    zone = %source.origin,
                    file = %source.file.display(),
                    serial = zone.serial,
                    records = zone.record_count,
                    "zone loaded"
                );
                files.insert(key, (source.clone(), Arc::new(zone)));
            }
            Err(err) => {
                failed += 1;
                let kept = keep_previous
                    .then(|| inner.files.get(&key).cloned())
                    .flatten();
                match kept {
                    Some(old) => {
                        error!(zone = %source.origin, "zone failed to load; still serving serial {}:\n{err}", old.1.serial);
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
    failed
}
