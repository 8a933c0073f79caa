//! DNSSEC keys of served zones: where they are kept, which ones sign a
//! zone, and the apex records (DNSKEY, CDS, CDNSKEY) that publish them.

use std::sync::Arc;

use super::serial::unix_now;
use crate::dnssec::{DigestType, KeyPolicy, KeyStore, KeyStoreError, ZoneKeys};
use crate::wire::{Name, RType};
use crate::zone::Record;

/// Where signed zones keep their keys, and how new keys are made.
pub struct ZoneSigning {
    pub keys: KeyStore,
    pub policy: KeyPolicy,
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

/// `records` plus, for a signed zone, its DNSKEY, CDS and CDNSKEY records.
pub(super) fn with_key_records(
    mut records: Vec<Record>,
    origin: &Name,
    keys: Option<&ZoneKeys>,
) -> Vec<Record> {
    if let Some(keys) = keys {
        records.extend(key_records(origin, keys));
    }
    records
}

/// The keys a zone has in the key store: `None` when it has none or none
/// active (the zone is then served unsigned, as PowerDNS's `dnssec` field
/// says). Keys that exist but cannot be read are an error.
pub(super) fn stored_keys(
    store: &KeyStore,
    zone: &Name,
) -> Result<Option<Arc<ZoneKeys>>, KeyStoreError> {
    let stored = store.load(zone)?;
    let now = unix_now();
    let keys = ZoneKeys::new(
        zone,
        stored
            .iter()
            .map(|k| (k.key.clone(), k.timing.state_at(now)))
            .collect(),
    );
    Ok(keys.check_can_sign().is_ok().then(|| Arc::new(keys)))
}

/// Removes every key of `zone` from the store (the zone is gone).
pub(super) fn remove_all(store: &KeyStore, zone: &Name) -> Result<(), KeyStoreError> {
    for stored in store.load(zone)? {
        store.remove(zone, stored.key.algorithm(), stored.key.tag())?;
    }
    Ok(())
}
