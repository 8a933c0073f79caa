//! A served zone as the registry's callers (the API, metrics) see it:
//! the snapshot, its keys, and what its writer knows about it.

use std::sync::Arc;
use std::time::SystemTime;

use super::model::ApiZone;
use crate::config::ZoneSource;
use crate::config::replication::SecondarySource;
use crate::dnssec::ZoneKeys;
use crate::zone::Zone;

/// What the refresher last did for a secondary zone, for the API and
/// metrics.
#[derive(Debug, Clone, Default)]
pub struct RefreshState {
    /// When the copy was last confirmed current (a transfer or an SOA check).
    pub last_refresh: Option<SystemTime>,
    /// When the next SOA check is due.
    pub next_refresh: Option<SystemTime>,
    /// When the copy stops being served unless refreshed.
    pub expires_at: Option<SystemTime>,
    /// Why the last attempt failed, if it did.
    pub last_error: Option<String>,
}

/// A served zone as callers (the API, metrics) see it.
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
    /// Copied from primaries by zone transfers; read-only through the API.
    Secondary {
        source: SecondarySource,
        /// The copy, once one was received.
        zone: Option<Arc<Zone>>,
        /// The keys an edge signs the copy with (`--key-source`).
        keys: Option<Arc<ZoneKeys>>,
        /// Past the SOA expire time: answered SERVFAIL.
        expired: bool,
        state: RefreshState,
    },
}

impl ZoneView {
    /// The zone's keys, when it is signed.
    pub fn keys(&self) -> Option<&Arc<ZoneKeys>> {
        match self {
            ZoneView::File { keys, .. }
            | ZoneView::Api { keys, .. }
            | ZoneView::Secondary { keys, .. } => keys.as_ref(),
        }
    }

    /// The served snapshot; a secondary has none until its first transfer.
    pub fn zone(&self) -> Option<&Arc<Zone>> {
        match self {
            ZoneView::File { zone, .. } | ZoneView::Api { zone, .. } => Some(zone),
            ZoneView::Secondary { zone, .. } => zone.as_ref(),
        }
    }

    /// The zone's name, case as configured.
    pub fn origin(&self) -> &crate::wire::Name {
        match self {
            ZoneView::File { zone, .. } | ZoneView::Api { zone, .. } => &zone.origin,
            ZoneView::Secondary { source, .. } => &source.origin,
        }
    }
}
