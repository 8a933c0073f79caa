//! Which keys an edge signs a secondary zone with (replication.md §4).
//!
//! An edge holds copies of the primary's keys (fetched by
//! `xfr::keysync`) and decides on its own, from what it serves, which of
//! them publish and which sign:
//!
//! - **published**: the key's DNSKEY is in the apex DNSKEY RRset of the
//!   copy this edge serves. That RRset travels in the plain transfer, so
//!   every edge publishes the primary's set as of the serial it serves.
//! - **active**: the primary says active, the key is published here, and
//!   it has been published here for at least the propagation delay (or
//!   already signs here) — or the zone has no other key that could sign
//!   in its place (a new zone, the first key, the old key withdrawn at
//!   once). So during a rollover
//!   every edge publishes a new key before any edge signs with it (RFC
//!   7583 pre-publication), while a withdrawn key stops signing with the
//!   next copy.
//!
//! At rest the edge keeps, in each key's BIND timing fields, what it needs
//! to decide again after a restart without asking the primary:
//! `Publish` is when the DNSKEY was first seen in a served copy (`Delete`
//! when it is not in the served copy), and `Activate`/`Inactive` record
//! whether the primary said the key is active at the last sync.

use std::sync::Arc;

use super::keys::{KeyState, SigningKey};
use super::store::{KeyStore, KeyStoreError, ZoneKeys};
use crate::wire::{Name, RType};
use crate::zone::Zone;

/// A key the edge holds, with what it knows about it.
#[derive(Debug, Clone)]
pub struct HeldKey {
    pub key: Arc<SigningKey>,
    /// When its DNSKEY was first seen in the served copy (seconds since
    /// the epoch); `None` when it is not in the served copy.
    pub published_since: Option<u64>,
    /// The primary lists the key as active.
    pub primary_active: bool,
}

/// The edge's signing decision for one copy of a zone.
#[derive(Debug, Clone)]
pub struct Decision {
    /// The keys to sign with; `None` when no held key can sign the copy
    /// (it is then served as received).
    pub keys: Option<Arc<ZoneKeys>>,
    /// When a key held back by the propagation delay may start signing:
    /// decide again then, without waiting for a transfer.
    pub next_check: Option<u64>,
}

/// The RDATA of the apex DNSKEY RRset of `zone`: what this edge publishes.
pub fn apex_dnskeys(zone: &Zone) -> Vec<Box<[u8]>> {
    zone.apex()
        .rrset(RType::DNSKEY)
        .map(|set| set.rdatas.iter().map(Box::<[u8]>::from).collect())
        .unwrap_or_default()
}

/// Decides which of `held` publish and sign at `now`, `delay` being the
/// propagation delay in seconds and `signing` the DNSKEY RDATA of the keys
/// that sign the copy served now (they need not wait again).
pub fn decide(
    zone: &Name,
    held: &[HeldKey],
    signing: &[Box<[u8]>],
    now: u64,
    delay: u64,
) -> Decision {
    let candidate = |h: &HeldKey| h.primary_active && h.published_since.is_some();
    // Times are whole seconds, the first sighting rounded down: one second
    // more makes sure the full delay has passed.
    let ready = |h: &HeldKey| {
        candidate(h)
            && (h.published_since.is_some_and(|t| now > t + delay)
                || signing.iter().any(|r| **r == *h.key.dnskey_rdata()))
    };
    let with_active = |is_active: &dyn Fn(&HeldKey) -> bool| {
        ZoneKeys::new(
            zone,
            held.iter()
                .map(|h| {
                    let state = KeyState {
                        published: h.published_since.is_some(),
                        active: is_active(h),
                    };
                    (Arc::clone(&h.key), state)
                })
                .collect(),
        )
    };
    // Keys past the delay sign when they can sign everything; otherwise
    // nothing else could, and every candidate signs at once.
    let ready_keys = with_active(&ready);
    let (keys, held_back) = if ready_keys.check_can_sign().is_ok() {
        (ready_keys, true)
    } else {
        (with_active(&candidate), false)
    };
    let next_check = held_back
        .then(|| {
            held.iter()
                .filter(|h| candidate(h) && !ready(h))
                .filter_map(|h| h.published_since.map(|t| t + delay + 1))
                .min()
        })
        .flatten();
    Decision {
        keys: keys.check_can_sign().is_ok().then(|| Arc::new(keys)),
        next_check,
    }
}

/// The DNSKEY RDATA of the keys that sign with `keys`.
pub fn signing_keys(keys: Option<&ZoneKeys>) -> Vec<Box<[u8]>> {
    keys.map(|keys| {
        keys.keys()
            .iter()
            .filter(|k| k.state.active)
            .map(|k| Box::<[u8]>::from(k.key.dnskey_rdata()))
            .collect()
    })
    .unwrap_or_default()
}

/// Decides from the keys stored for `zone`, first recording in the store
/// which of them the copy about to be served publishes (`dnskeys`), and
/// since when; `signing` as for [`decide`].
pub fn decide_stored(
    store: &KeyStore,
    zone: &Name,
    dnskeys: &[Box<[u8]>],
    signing: &[Box<[u8]>],
    now: u64,
    delay: u64,
) -> Result<Decision, KeyStoreError> {
    let mut held = Vec::new();
    for stored in store.load(zone)? {
        let state = stored.timing.state_at(now);
        let in_copy = dnskeys.iter().any(|r| **r == *stored.key.dnskey_rdata());
        let timing = if in_copy != state.published {
            let wanted = KeyState {
                published: in_copy,
                ..state
            };
            store
                .set_state(zone, stored.key.algorithm(), stored.key.tag(), wanted, now)?
                .timing
        } else {
            stored.timing
        };
        held.push(HeldKey {
            key: stored.key,
            // A key published here with no Publish time was published
            // before any record of it: long enough.
            published_since: in_copy.then(|| timing.publish.unwrap_or(0)),
            primary_active: state.active,
        });
    }
    Ok(decide(zone, &held, signing, now, delay))
}

#[cfg(test)]
mod tests;
