//! Starting and stopping replication's background work: the NOTIFY
//! sender, which follows every published change, and one refresher per
//! secondary zone (at start, and as the API adds them).

use std::sync::Arc;

use tokio::sync::Notify;

use super::replicator::{Refresher, Replicator};
use crate::config::replication::SecondarySource;

/// How long a newly transferred zone may wait to be served, so that a
/// catalog's thousands of new members cost one publish per batch.
const FIRST_COPIES_EVERY: std::time::Duration = std::time::Duration::from_millis(50);

impl Replicator {
    /// Starts the background work on the current runtime: NOTIFY on every
    /// change, and a refresher per secondary zone.
    pub fn start(self: &Arc<Self>) {
        let changes = self.registry.subscribe();
        tokio::spawn(super::notify::send_on_changes(self.clone(), changes));
        for source in self.registry.secondaries() {
            self.start_refresher(source);
        }
        // New secondary zones' first copies go out in batches.
        self.registry.defer_first_copies();
        let registry = self.registry.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(FIRST_COPIES_EVERY);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let registry = registry.clone();
                let _ = tokio::task::spawn_blocking(move || registry.publish_pending()).await;
            }
        });
    }

    /// Starts refreshing a secondary zone (at start, or created through
    /// the API).
    pub fn start_refresher(self: &Arc<Self>, source: SecondarySource) {
        let key = source.origin.to_lowercase();
        let wake = Arc::new(Notify::new());
        let task = tokio::spawn(super::refresh::run(
            self.clone(),
            source.clone(),
            wake.clone(),
        ));
        let mut refreshers = self.refreshers.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(old) = refreshers.insert(
            key,
            Refresher {
                source,
                wake,
                task: task.abort_handle(),
            },
        ) {
            old.task.abort();
        }
    }
}
