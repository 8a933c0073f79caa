//! The replication service: one shared object that the transports, the
//! answer path (through [`Control`]) and the API ask about transfers and
//! NOTIFY. The background work it owns (NOTIFY out, the refresh of each
//! secondary zone) is started in `tasks.rs`.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use tokio::sync::{Notify, Semaphore};
use tracing::{debug, info};

use super::stats::{Event, ReplicationStats};
use crate::answer::control::Control;
use crate::config::ZoneSource;
use crate::config::replication::{Replication as Settings, SecondarySource, TransferAcl, unmapped};
use crate::dnssec::Signer;
use crate::wire::tsig::Keyring;
use crate::wire::{Name, Rcode};
use crate::zones::Registry;

/// First transfers of new secondary zones running at once (a primary
/// serves 10 by default, `--max-transfers`): a catalog adding thousands of
/// members must not flood its primary.
pub const INITIAL_TRANSFERS: usize = 8;

/// What a consumed catalog last did, for `/metrics` and to skip work
/// (`catalog_consumer.rs`).
#[derive(Debug, Default, Clone)]
pub struct ConsumerState {
    /// The catalog serial whose member list was last read.
    pub(super) serial: Option<u32>,
    /// Members served from it.
    pub(super) members: usize,
}

/// Consumed catalogs by lower-case name.
pub type ConsumerStates = Mutex<HashMap<Name, ConsumerState>>;

/// A running secondary zone's refresher: how to wake it and stop it.
pub(super) struct Refresher {
    /// The zone and its primaries, which NOTIFY is checked against.
    pub(super) source: SecondarySource,
    pub(super) wake: Arc<Notify>,
    pub(super) task: tokio::task::AbortHandle,
}

/// Replication's state, shared by everything that serves or refreshes.
pub struct Replicator {
    pub(super) registry: Arc<Registry>,
    pub(super) settings: Settings,
    /// `allow-transfer` of each file zone, by lower-case name.
    zone_acls: HashMap<Name, Vec<TransferAcl>>,
    /// Transfers being served; a request beyond the cap is refused.
    pub(super) transfer_slots: Arc<Semaphore>,
    pub(super) signer: Arc<Signer>,
    pub stats: ReplicationStats,
    pub(super) refreshers: Mutex<HashMap<Name, Refresher>>,
    /// An edge's key sync (`--key-source`), set once at start.
    keysync: std::sync::OnceLock<Arc<super::keysync::KeySync>>,
    /// First transfers of secondary zones (no copy yet) running at once:
    /// a catalog adding thousands of members must not flood its primary.
    pub(super) initial_transfers: Arc<Semaphore>,
    /// Consumed catalog zones (`catalog_consumer.rs`).
    pub(super) catalogs: ConsumerStates,
}

impl Replicator {
    pub fn new(
        registry: Arc<Registry>,
        settings: Settings,
        zones: &[ZoneSource],
        signer: Arc<Signer>,
    ) -> Arc<Replicator> {
        let zone_acls = zones
            .iter()
            .filter(|z| !z.allow_transfer.is_empty())
            .map(|z| (z.origin.to_lowercase(), z.allow_transfer.clone()))
            .collect();
        Arc::new(Replicator {
            registry,
            transfer_slots: Arc::new(Semaphore::new(settings.max_transfers)),
            settings,
            zone_acls,
            signer,
            stats: ReplicationStats::default(),
            refreshers: Mutex::new(HashMap::new()),
            keysync: std::sync::OnceLock::new(),
            initial_transfers: Arc::new(Semaphore::new(INITIAL_TRANSFERS)),
            catalogs: Default::default(),
        })
    }

    /// Makes this server an edge that signs its signed secondary zones
    /// with keys from `keysync` (once, before [`Replicator::start`]).
    pub fn set_keysync(&self, keysync: Arc<super::keysync::KeySync>) {
        let _ = self.keysync.set(keysync);
    }

    /// The key sync, on an edge.
    pub(super) fn keysync(&self) -> Option<&Arc<super::keysync::KeySync>> {
        self.keysync.get()
    }

    /// Stops refreshing a secondary zone (deleted through the API).
    pub fn stop_refresher(&self, name: &Name) {
        let mut refreshers = self.refreshers.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(old) = refreshers.remove(&name.to_lowercase()) {
            old.task.abort();
        }
        if let Some(keysync) = self.keysync() {
            keysync.forget(name);
        }
    }

    /// The TSIG key named `name`, if configured.
    pub fn key(&self, name: &Name) -> Result<Arc<crate::wire::tsig::Key>, String> {
        self.settings.key(name)
    }

    /// Whether `ip`, with the verified key `key`, may transfer `zone`
    /// (lower case): the global list, then the zone's own.
    pub fn transfer_allowed(&self, zone: &Name, ip: IpAddr, key: Option<&Name>) -> bool {
        self.transfer_acl(zone, ip, key).is_some()
    }

    /// The entries allowing `ip` with `key` to transfer `zone`; whether any
    /// of them asks for conventionally signed transfers.
    pub(super) fn transfer_acl(&self, zone: &Name, ip: IpAddr, key: Option<&Name>) -> Option<bool> {
        let mut allowed = self
            .settings
            .allow_transfer
            .iter()
            .chain(self.zone_acls.get(zone).into_iter().flatten())
            .filter(|acl| acl.allows(ip, key))
            .peekable();
        allowed.peek()?;
        Some(allowed.any(|acl| acl.signed))
    }
}

/// A lower-case wire name from the answer path, as a [`Name`].
fn wire_name(zone: &[u8]) -> Option<Name> {
    Name::from_wire(zone).ok()
}

impl Control for Replicator {
    fn keys(&self) -> &Keyring {
        &self.settings.keys
    }

    fn notify(&self, zone: &[u8], peer: IpAddr, key: Option<&Name>) -> Rcode {
        let Some(zone) = wire_name(zone) else {
            return Rcode::REFUSED;
        };
        let peer = unmapped(peer);
        // The refreshers' own map, never the registry: a NOTIFY is answered
        // on a UDP worker, which must not wait for a zone being built.
        let refreshers = self.refreshers.lock().unwrap_or_else(|p| p.into_inner());
        let Some(refresher) = refreshers.get(&zone) else {
            debug!(%zone, %peer, "NOTIFY refused: not a secondary zone here");
            return Rcode::REFUSED;
        };
        let source = &refresher.source;
        // From one of the zone's primaries, signed with its key when it has one.
        let from_primary = source.primaries.iter().any(|p| {
            unmapped(p.addr.ip()) == peer && p.key.as_ref().is_none_or(|want| Some(want) == key)
        });
        if !from_primary {
            info!(%zone, %peer, "NOTIFY refused: not from a primary of the zone (or not signed with its key)");
            return Rcode::REFUSED;
        }
        // One stored wake-up at most: a flood is one more check.
        refresher.wake.notify_one();
        drop(refreshers);
        self.stats.count(&zone, Event::NotifyReceived);
        Rcode::NOERROR
    }

    fn may_transfer(&self, zone: &[u8], peer: IpAddr, key: Option<&Name>) -> bool {
        wire_name(zone).is_some_and(|zone| self.transfer_allowed(&zone, peer, key))
    }
}
