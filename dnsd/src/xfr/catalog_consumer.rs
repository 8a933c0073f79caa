//! Consuming catalog zones (`--catalog-consumer ORIGIN=ADDR:PORT[:KEY]`,
//! RFC 9432): the catalog is refreshed like any secondary zone, and after
//! each refresh that brought a new serial (and once after start) its
//! member list is read and applied. Every member becomes a secondary zone
//! of the catalog's own primaries with the catalog's TSIG key; a member no
//! longer listed is removed with its copy and IXFR history; a member whose
//! unique id changed is dropped and transferred afresh (RFC 9432 §5.4).
//!
//! A catalog without `version TXT "2"` is not processed: its members stay
//! as they were. The `group` and `coo` properties are ignored: every
//! member is served the same way, from the catalog's primaries, and a
//! member moved to another catalog is a removal here.
//!
//! Work stays bounded with thousands of members: the registry applies a
//! whole member list under one lock with at most one publish, and the
//! first transfers of new members share a few slots
//! ([`INITIAL_TRANSFERS`]), so a primary's transfer limit is not flooded.

use std::fmt::Write as _;
use std::sync::Arc;

use tracing::{info, warn};

#[cfg(doc)]
use super::replicator::INITIAL_TRANSFERS;
use super::replicator::Replicator;
use crate::config::replication::SecondarySource;
use crate::wire::Name;
use crate::zones::catalog_zone::read_members;

impl Replicator {
    /// Called by a secondary zone's refresher after each successful
    /// refresh: for a consumed catalog, applies its member list when its
    /// serial is new here.
    pub(super) async fn after_refresh(self: &Arc<Self>, origin: &Name) {
        let Some(catalog) = self.consumed_catalog(origin) else {
            return;
        };
        let replicator = self.clone();
        // Thousands of members mean file writes under the registry's
        // lock: off the async workers.
        let done = tokio::task::spawn_blocking(move || replicator.consume(&catalog)).await;
        if let Err(err) = done {
            warn!(zone = %origin, %err, "catalog members not applied");
        }
    }

    fn consumed_catalog(&self, origin: &Name) -> Option<SecondarySource> {
        let key = origin.to_lowercase();
        self.settings
            .catalog_consumers
            .iter()
            .find(|c| c.origin.to_lowercase() == key)
            .cloned()
    }

    /// Reads catalog `catalog`'s copy and applies its member list.
    fn consume(self: &Arc<Self>, catalog: &SecondarySource) {
        let key = catalog.origin.to_lowercase();
        let Some(copy) = self.registry.secondary_copy(&key) else {
            return;
        };
        {
            let mut states = self.catalogs.lock().unwrap_or_else(|p| p.into_inner());
            let state = states.entry(key.clone()).or_default();
            if state.serial == Some(copy.serial) {
                return;
            }
            state.serial = Some(copy.serial);
        }
        let listing = match read_members(&copy) {
            Ok(listing) => listing,
            Err(err) => {
                warn!(zone = %key, serial = copy.serial, "catalog not processed; members kept as they are: {err}");
                return;
            }
        };
        for problem in &listing.skipped {
            warn!(zone = %key, "catalog member skipped: {problem}");
        }
        let plan = self.registry.reconcile_catalog(catalog, &listing.members);
        for zone in &plan.remove {
            self.stop_refresher(zone);
        }
        for (zone, _) in plan.reset.iter().chain(&plan.add) {
            self.start_refresher(SecondarySource {
                origin: zone.clone(),
                primaries: catalog.primaries.clone(),
            });
        }
        let members = self.registry.catalog_member_count(&key);
        info!(
            zone = %key,
            serial = copy.serial,
            members,
            added = plan.add.len(),
            removed = plan.remove.len(),
            reset = plan.reset.len(),
            skipped = plan.skip.len(),
            "catalog applied"
        );
        let mut states = self.catalogs.lock().unwrap_or_else(|p| p.into_inner());
        states.entry(key).or_default().members = members;
    }

    /// Appends the member count of each consumed catalog (Prometheus text).
    pub fn render_catalogs(&self, out: &mut String) {
        if self.settings.catalog_consumers.is_empty() {
            return;
        }
        let states = self.catalogs.lock().unwrap_or_else(|p| p.into_inner());
        let _ = writeln!(
            out,
            "# HELP dnsd_catalog_members Member zones served from each consumed catalog zone.\n\
             # TYPE dnsd_catalog_members gauge"
        );
        for catalog in &self.settings.catalog_consumers {
            let key = catalog.origin.to_lowercase();
            let members = states.get(&key).map_or_else(
                || self.registry.catalog_member_count(&key),
                |state| state.members,
            );
            let label = key.to_string().replace('\\', "\\\\").replace('"', "\\\"");
            let _ = writeln!(out, "dnsd_catalog_members{{catalog=\"{label}\"}} {members}");
        }
    }
}
