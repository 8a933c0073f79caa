//! Key sync on an edge (`--key-source`): before a new copy of a signed
//! secondary zone is published, the zone's keys are fetched from the
//! primary's API over TLS (`keysource.rs`), kept in this server's own key
//! store (`DATA-DIR/keys/<zone>/`, 0700/0600) and turned into the keys the
//! copy is signed with (`dnssec::edge`: published here, pre-published long
//! enough, active on the primary).
//!
//! - A copy without a DNSKEY RRset at its apex is served as received; so
//!   is a zone the primary has no keys for (404 or an empty list).
//! - The first copy of a signed zone is not served until its keys are
//!   synced: the refresh fails and is retried (an unsigned answer under a
//!   DS would be bogus).
//! - A later sync that fails (primary API down, bad certificate, bad API
//!   key) keeps the keys held, is logged without secrets, counted on
//!   `/metrics`, and retried at the next refresh even when the serial
//!   has not moved.
//! - A key held back by the propagation delay starts signing when the
//!   delay passes, by a timer, without waiting for a transfer.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tracing::{info, warn};

use super::keysource::{KeySourceClient, KeySourceError, ListedKey};
use super::stats::{Event, ReplicationStats};
use crate::config::replication::KeySource;
use crate::dnssec::edge::{self, Decision};
use crate::dnssec::keys::{KeyTiming, SigningKey};
use crate::dnssec::store::StoredKey;
use crate::dnssec::{Algorithm, KeyStore, KeyStoreError};
use crate::wire::{Name, RType};
use crate::xfr::Diff;
use crate::zone::{Record, Zone};
use crate::zones::serial::unix_now;
use crate::zones::{Registry, SecondaryKeys};

/// Why a zone's keys could not be synced.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeySyncError {
    #[error(transparent)]
    Source(#[from] KeySourceError),
    #[error("{0}")]
    Store(#[from] KeyStoreError),
    /// A fetched key does not match what the primary listed.
    #[error("key {id} from the key source is unusable: {reason}")]
    BadKey { id: u16, reason: String },
    #[error("key store task failed: {0}")]
    Join(String),
}

/// What a sync changes in the edge's key store.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// Listed keys not held here: fetch their private half and import.
    pub import: Vec<u16>,
    /// Held keys the primary no longer lists: delete.
    pub remove: Vec<(Algorithm, u16)>,
    /// Held keys whose active flag on the primary changed.
    pub set_active: Vec<(Algorithm, u16, bool)>,
}

/// A held key as the plan sees it.
#[derive(Debug, Clone)]
pub struct Held {
    pub algorithm: Algorithm,
    pub tag: u16,
    /// Presentation RDATA (`flags 3 algorithm base64`).
    pub dnskey: String,
    /// What the primary said at the last sync.
    pub primary_active: bool,
}

/// Compares the primary's list with the keys held here. Keys are the same
/// key when their DNSKEY RDATA is the same (a tag alone can collide).
pub fn plan(listed: &[ListedKey], held: &[Held]) -> Plan {
    let mut out = Plan::default();
    for key in listed {
        match held.iter().find(|h| same_dnskey(&h.dnskey, &key.dnskey)) {
            None => out.import.push(key.id),
            Some(h) if h.primary_active != key.active => {
                out.set_active.push((h.algorithm, h.tag, key.active))
            }
            Some(_) => {}
        }
    }
    for h in held {
        if !listed.iter().any(|k| same_dnskey(&h.dnskey, &k.dnskey)) {
            out.remove.push((h.algorithm, h.tag));
        }
    }
    out
}

/// DNSKEY presentation texts equal but for white space inside the base64
/// (PowerDNS and dnsd both write it in one piece; BIND splits it).
fn same_dnskey(a: &str, b: &str) -> bool {
    let canonical = |text: &str| {
        let mut fields = text.split_whitespace();
        let head: Vec<&str> = fields.by_ref().take(3).collect();
        (head.join(" "), fields.collect::<String>())
    };
    canonical(a) == canonical(b)
}

/// The edge's key sync: one per server, shared by the zones' refreshers.
pub struct KeySync {
    client: KeySourceClient,
    store: KeyStore,
    delay: Duration,
    registry: Arc<Registry>,
    /// Zones whose last sync failed: synced again at the next refresh.
    failed: Mutex<HashSet<Name>>,
    /// The pending "a held-back key may sign now" timer of each zone.
    timers: Mutex<HashMap<Name, tokio::task::AbortHandle>>,
}

impl KeySync {
    /// Reads the CA and prepares the client; an unusable CA fails the start.
    pub fn new(
        source: &KeySource,
        store: KeyStore,
        registry: Arc<Registry>,
    ) -> Result<Arc<KeySync>, KeySourceError> {
        Ok(Arc::new(KeySync {
            client: KeySourceClient::new(source)?,
            store,
            delay: source.propagation_delay,
            registry,
            failed: Mutex::new(HashSet::new()),
            timers: Mutex::new(HashMap::new()),
        }))
    }

    /// The keys a new copy of `origin` whose apex DNSKEY RRset is
    /// `dnskeys` is published with. `Err` when the copy must not be served
    /// yet (signed, and no key is held for it).
    pub async fn keys_for_copy(
        self: &Arc<Self>,
        origin: &Name,
        dnskeys: Vec<Box<[u8]>>,
        stats: &ReplicationStats,
    ) -> Result<SecondaryKeys, String> {
        if dnskeys.is_empty() {
            // Not signed (or no longer): served as received.
            self.cancel_timer(origin);
            return Ok(SecondaryKeys::Set(None));
        }
        let synced = self.sync(origin).await;
        match &synced {
            Ok(()) => {
                stats.count(origin, Event::KeySync);
                self.lock_failed().remove(&origin.to_lowercase());
            }
            Err(err) => {
                stats.count(origin, Event::KeySyncFailed);
                self.lock_failed().insert(origin.to_lowercase());
                warn!(zone = %origin, %err, "key sync failed; signing with the keys held, if any");
            }
        }
        let decision = self
            .decide(origin, dnskeys)
            .await
            .map_err(|e| e.to_string())?;
        match (&decision.keys, synced) {
            (None, Err(err)) => Err(format!(
                "the copy is signed but its keys could not be fetched, so it is not served yet: {err}"
            )),
            (keys, _) => {
                self.schedule(origin, decision.next_check);
                Ok(SecondaryKeys::Set(keys.clone()))
            }
        }
    }

    /// After an SOA check found the copy current: syncs again if the last
    /// sync of `origin` failed, and publishes what that changes.
    pub async fn retry_if_failed(self: &Arc<Self>, origin: &Name, stats: &ReplicationStats) {
        if !self.lock_failed().contains(&origin.to_lowercase()) {
            return;
        }
        let Some(copy) = self.registry.secondary_copy(origin) else {
            return;
        };
        match self
            .keys_for_copy(origin, edge::apex_dnskeys(&copy), stats)
            .await
        {
            Ok(SecondaryKeys::Set(keys)) => {
                if self.lock_failed().contains(&origin.to_lowercase()) {
                    return; // failed again: keep what is served
                }
                info!(zone = %origin, "key sync succeeded after an earlier failure");
                self.registry.set_secondary_keys(origin, keys);
            }
            Ok(SecondaryKeys::Keep) | Err(_) => {}
        }
    }

    /// Stops the zone's timer (the zone is gone).
    pub fn forget(&self, origin: &Name) {
        self.cancel_timer(origin);
        self.lock_failed().remove(&origin.to_lowercase());
    }

    /// Fetches the primary's list and brings the key store in line.
    async fn sync(&self, origin: &Name) -> Result<(), KeySyncError> {
        let listed = self.client.list(origin).await?.unwrap_or_default();
        let held = self.held(origin).await?;
        let plan = plan(&listed, &held);
        if plan == Plan::default() {
            return Ok(());
        }
        let mut imports = Vec::new();
        for id in &plan.import {
            let Some(key) = listed.iter().find(|k| k.id == *id) else {
                continue;
            };
            let private = self.client.private_key(origin, *id).await?;
            imports.push((key.clone(), private));
        }
        let store = self.store.clone();
        let zone = origin.to_lowercase();
        let now = unix_now();
        let summary = (plan.import.len(), plan.remove.len(), plan.set_active.len());
        tokio::task::spawn_blocking(move || -> Result<(), KeySyncError> {
            // Removals first: a new key may reuse a withdrawn key's tag.
            for (algorithm, tag) in plan.remove {
                store.remove(&zone, algorithm, tag)?;
            }
            for (listed, private) in imports {
                let key_text = format!("{zone} IN DNSKEY {}", listed.dnskey);
                let (key, _) =
                    SigningKey::from_bind(&zone, &key_text, &private.0).map_err(|e| {
                        KeySyncError::BadKey {
                            id: listed.id,
                            reason: e.to_string(),
                        }
                    })?;
                if key.tag() != listed.id {
                    return Err(KeySyncError::BadKey {
                        id: listed.id,
                        reason: format!("its DNSKEY has tag {}", key.tag()),
                    });
                }
                store.add(&zone, key, imported_timing(listed.active, now))?;
            }
            for (algorithm, tag, active) in plan.set_active {
                let current = stored_key(&store, &zone, algorithm, tag)?
                    .timing
                    .state_at(now);
                let wanted = crate::dnssec::keys::KeyState { active, ..current };
                store.set_state(&zone, algorithm, tag, wanted, now)?;
            }
            Ok(())
        })
        .await
        .map_err(|e| KeySyncError::Join(e.to_string()))??;
        let (imported, removed, changed) = summary;
        info!(zone = %origin, imported, removed, changed, "keys synced from the key source");
        Ok(())
    }

    /// The keys held for `origin`, as the plan compares them.
    async fn held(&self, origin: &Name) -> Result<Vec<Held>, KeySyncError> {
        let store = self.store.clone();
        let zone = origin.to_lowercase();
        let now = unix_now();
        let stored = tokio::task::spawn_blocking(move || store.load(&zone))
            .await
            .map_err(|e| KeySyncError::Join(e.to_string()))??;
        Ok(stored
            .iter()
            .map(|s| Held {
                algorithm: s.key.algorithm(),
                tag: s.key.tag(),
                dnskey: s.key.dnskey_text(),
                primary_active: s.timing.state_at(now).active,
            })
            .collect())
    }

    async fn decide(
        &self,
        origin: &Name,
        dnskeys: Vec<Box<[u8]>>,
    ) -> Result<Decision, KeySyncError> {
        let store = self.store.clone();
        let zone = origin.to_lowercase();
        let delay = self.delay.as_secs();
        // Keys signing the copy served now keep signing without a new wait.
        let view = self.registry.get(origin);
        let signing = edge::signing_keys(view.as_ref().and_then(|v| v.keys()).map(|k| &**k));
        tokio::task::spawn_blocking(move || {
            edge::decide_stored(&store, &zone, &dnskeys, &signing, unix_now(), delay)
        })
        .await
        .map_err(|e| KeySyncError::Join(e.to_string()))?
        .map_err(KeySyncError::from)
    }

    /// Decides again at `at` (seconds since the epoch), with the copy then
    /// served, and publishes the result.
    fn schedule(self: &Arc<Self>, origin: &Name, at: Option<u64>) {
        let key = origin.to_lowercase();
        let mut timers = self.timers.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(old) = timers.remove(&key) {
            old.abort();
        }
        let Some(at) = at else { return };
        let this = Arc::clone(self);
        let origin = origin.clone();
        let task = tokio::spawn(async move {
            let wait = at.saturating_sub(unix_now());
            tokio::time::sleep(Duration::from_secs(wait)).await;
            let Some(copy) = this.registry.secondary_copy(&origin) else {
                return;
            };
            match this.decide(&origin, edge::apex_dnskeys(&copy)).await {
                Ok(decision) => {
                    info!(zone = %origin, "a pre-published key's propagation delay passed; signing keys updated");
                    this.registry.set_secondary_keys(&origin, decision.keys);
                    this.timers
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .remove(&origin.to_lowercase());
                    this.schedule(&origin, decision.next_check);
                }
                Err(err) => warn!(zone = %origin, %err, "cannot re-read the zone's keys"),
            }
        });
        timers.insert(key, task.abort_handle());
    }

    fn cancel_timer(&self, origin: &Name) {
        let mut timers = self.timers.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(old) = timers.remove(&origin.to_lowercase()) {
            old.abort();
        }
    }

    fn lock_failed(&self) -> std::sync::MutexGuard<'_, HashSet<Name>> {
        self.failed.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The apex DNSKEY RDATA of a whole copy as received.
pub fn dnskeys_in(origin: &Name, records: &[Record]) -> Vec<Box<[u8]>> {
    let mut out: Vec<Box<[u8]>> = Vec::new();
    for record in records {
        if record.rtype == RType::DNSKEY && record.owner == *origin && !out.contains(&record.rdata)
        {
            out.push(record.rdata.clone());
        }
    }
    out
}

/// The apex DNSKEY RDATA `current` has once `diffs` are applied.
pub fn dnskeys_after(origin: &Name, current: Option<&Zone>, diffs: &[Diff]) -> Vec<Box<[u8]>> {
    let mut out = current.map(edge::apex_dnskeys).unwrap_or_default();
    for diff in diffs {
        for deleted in dnskeys_in(origin, &diff.deleted) {
            out.retain(|r| *r != deleted);
        }
        for added in dnskeys_in(origin, &diff.added) {
            if !out.contains(&added) {
                out.push(added);
            }
        }
    }
    out
}

/// Timing of a key just fetched: not yet seen in a served copy (the
/// decision records when it is), active as the primary says.
fn imported_timing(primary_active: bool, now: u64) -> KeyTiming {
    KeyTiming {
        created: Some(now),
        publish: None,
        delete: Some(now),
        activate: primary_active.then_some(now),
        inactive: (!primary_active).then_some(now),
    }
}

fn stored_key(
    store: &KeyStore,
    zone: &Name,
    algorithm: Algorithm,
    tag: u16,
) -> Result<StoredKey, KeyStoreError> {
    store
        .load(zone)?
        .into_iter()
        .find(|s| s.key.algorithm() == algorithm && s.key.tag() == tag)
        .ok_or_else(|| KeyStoreError::NotFound {
            zone: zone.to_string(),
            algorithm: algorithm.number(),
            tag,
        })
}

#[cfg(test)]
mod tests;
