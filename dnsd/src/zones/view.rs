//! A served zone as the registry's callers (the API, metrics) see it:
//! the snapshot, its keys, and what its writer knows about it.

use std::sync::Arc;

use super::model::ApiZone;
use crate::config::ZoneSource;
use crate::dnssec::ZoneKeys;
use crate::zone::Zone;

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
