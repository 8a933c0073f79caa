//! API-managed zones: what the REST API reads and writes, and what is
//! persisted. A zone here is its settings plus RRsets keyed by (owner,
//! type), each record kept as the canonical content string PowerDNS shows
//! and as wire RDATA ready for indexing.

use std::sync::Arc;

use std::collections::BTreeMap;

use imbl::OrdMap;

use serde::{Deserialize, Serialize};

use crate::wire::{Name, RType, rdata};
use crate::zone::Record;

/// Zone settings that are not records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ZoneSettings {
    pub kind: String,
    #[serde(default)]
    pub account: String,
    #[serde(default)]
    pub masters: Vec<String>,
    #[serde(default)]
    pub catalog: String,
    #[serde(default)]
    pub soa_edit_api: String,
    #[serde(default)]
    pub soa_edit: String,
    #[serde(default)]
    pub api_rectify: bool,
    #[serde(default)]
    pub nsec3param: String,
    #[serde(default)]
    pub nsec3narrow: bool,
    #[serde(default)]
    pub notified_serial: u32,
    #[serde(default)]
    pub metadata: BTreeMap<String, Vec<String>>,
}

impl Default for ZoneSettings {
    fn default() -> Self {
        ZoneSettings {
            kind: "Native".into(),
            account: String::new(),
            masters: Vec::new(),
            catalog: String::new(),
            soa_edit_api: "DEFAULT".into(),
            soa_edit: String::new(),
            api_rectify: false,
            nsec3param: String::new(),
            nsec3narrow: false,
            notified_serial: 0,
            metadata: BTreeMap::new(),
        }
    }
}

/// One record of an RRset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredRecord {
    /// Canonical presentation content (LUA: verbatim).
    pub content: String,
    #[serde(default)]
    pub disabled: bool,
    /// Wire RDATA, derived from `content` when loaded.
    #[serde(skip)]
    pub wire: Box<[u8]>,
}

/// An RRset comment (stored and returned, never served).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Comment {
    pub content: String,
    #[serde(default)]
    pub account: String,
    #[serde(default)]
    pub modified_at: u64,
}

/// All records of one (owner, type).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredRRset {
    pub ttl: u32,
    pub records: Vec<StoredRecord>,
    #[serde(default)]
    pub comments: Vec<Comment>,
}

impl StoredRRset {
    /// The records of this set (stored under `key`) that `keep` keeps, as
    /// zone records to index.
    pub fn records_where<'a>(
        &'a self,
        key: &'a RRsetKey,
        keep: impl Fn(&StoredRecord) -> bool + 'a,
    ) -> impl Iterator<Item = Record> + 'a {
        self.records
            .iter()
            .filter(move |r| keep(r))
            .map(|record| Record {
                owner: key.owner.clone(),
                rtype: key.rtype,
                class: 1,
                ttl: self.ttl,
                rdata: record.wire.clone(),
                location: None,
            })
    }
}

/// (owner, type), ordered as PowerDNS lists RRsets: by name, then type.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RRsetKey {
    pub owner: Name,
    pub rtype: RType,
}

/// A zone managed through the API.
///
/// RRsets sit in a persistent ordered map: cloning a zone to change it is
/// O(1) and the old and new versions share everything not changed, so a
/// PATCH to a large zone costs what it touches. Canonical name order puts
/// a name's descendants right after it, which the rule checks rely on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiZone {
    /// Lowercase, absolute.
    pub name: Name,
    pub settings: ZoneSettings,
    pub rrsets: OrdMap<RRsetKey, Arc<StoredRRset>>,
}

impl ApiZone {
    /// Records to index, disabled ones left out.
    pub fn records(&self) -> Vec<Record> {
        self.records_where(|r| !r.disabled)
    }

    /// Every record, disabled ones included: the zone rules apply to all
    /// stored data.
    pub fn all_records(&self) -> Vec<Record> {
        self.records_where(|_| true)
    }

    fn records_where(&self, keep: impl Fn(&StoredRecord) -> bool) -> Vec<Record> {
        let mut out = Vec::new();
        for (key, set) in &self.rrsets {
            out.extend(set.records_where(key, &keep));
        }
        out
    }

    /// The SOA serial, if the zone has a readable SOA.
    pub fn serial(&self) -> Option<u32> {
        let soa = self.soa_record()?;
        let tail = soa.wire.len().checked_sub(20)?;
        Some(u32::from_be_bytes(
            soa.wire[tail..tail + 4].try_into().ok()?,
        ))
    }

    fn soa_record(&self) -> Option<&StoredRecord> {
        let key = RRsetKey {
            owner: self.name.clone(),
            rtype: RType::SOA,
        };
        self.rrsets.get(&key)?.records.first()
    }

    /// Rewrites the SOA serial (content and wire).
    pub fn set_serial(&mut self, serial: u32) {
        let key = RRsetKey {
            owner: self.name.clone(),
            rtype: RType::SOA,
        };
        let Some(record) = self
            .rrsets
            .get_mut(&key)
            .and_then(|set| Arc::make_mut(set).records.first_mut())
        else {
            return;
        };
        let mut wire = record.wire.to_vec();
        let Some(tail) = wire.len().checked_sub(20) else {
            return;
        };
        wire[tail..tail + 4].copy_from_slice(&serial.to_be_bytes());
        if let Ok(text) = rdata::to_text(RType::SOA, &wire) {
            record.content = text;
            record.wire = wire.into_boxed_slice();
        }
    }

    /// Fills in `wire` from `content` for every record (after loading from
    /// storage). Content that no longer parses is an error: storage only
    /// ever holds content that parsed when it was written.
    pub fn derive_wire(&mut self) -> Result<(), String> {
        let mut rrsets = OrdMap::new();
        for (key, set) in &self.rrsets {
            let mut set = StoredRRset::clone(set);
            for record in &mut set.records {
                let wire = parse_content(key.rtype, &record.content, &self.name).map_err(|e| {
                    format!("{} {} {:?}: {e}", key.owner, key.rtype, record.content)
                })?;
                record.wire = wire.into_boxed_slice();
            }
            rrsets.insert(key.clone(), Arc::new(set));
        }
        self.rrsets = rrsets;
        Ok(())
    }
}

/// Parses record content as the API gives it. ALIAS content is a name.
pub fn parse_content(
    rtype: RType,
    content: &str,
    origin: &Name,
) -> Result<Vec<u8>, rdata::RdataError> {
    let parse_as = if rtype == RType::ALIAS {
        RType::CNAME
    } else {
        rtype
    };
    rdata::parse_str(parse_as, content, origin)
}

/// Prints wire RDATA as API content (ALIAS as a name).
pub fn content_text(rtype: RType, wire: &[u8]) -> Result<String, rdata::RdataError> {
    let print_as = if rtype == RType::ALIAS {
        RType::CNAME
    } else {
        rtype
    };
    rdata::to_text(print_as, wire)
}
