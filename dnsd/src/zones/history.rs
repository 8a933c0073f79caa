//! The IXFR histories of served zones, whichever writer changed them: a
//! diff is recorded whenever a zone is published with a new serial, and
//! kept (bounded, persisted under `DATA-DIR/ixfr/`) for transfers.
//! A zone's history is opened on first use, so zones nobody transfers
//! cost nothing.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use tracing::warn;

use crate::wire::Name;
use crate::xfr::history::{History, Limits};
use crate::xfr::{Diff, diff::diff_zones};
use crate::zone::Zone;

pub(super) struct Histories {
    /// `None`: histories live in memory only.
    dir: Option<PathBuf>,
    limits: Limits,
    open: HashMap<Name, History>,
}

impl Histories {
    pub(super) fn new(dir: Option<PathBuf>, limits: Limits) -> Histories {
        Histories {
            dir,
            limits,
            open: HashMap::new(),
        }
    }

    fn history(&mut self, key: &Name) -> &mut History {
        let (dir, limits) = (&self.dir, self.limits);
        self.open.entry(key.clone()).or_insert_with(|| match dir {
            Some(dir) => History::open(dir, key, limits).unwrap_or_else(|err| {
                warn!(zone = %key, %err, "IXFR history unreadable; starting a new one");
                History::in_memory(key, limits)
            }),
            None => History::in_memory(key, limits),
        })
    }

    /// Records the change from `old` to `new` (same zone, new serial);
    /// `names`, when the writer knows them, are the only names that differ.
    pub(super) fn record(
        &mut self,
        key: &Name,
        old: &Zone,
        new: &Zone,
        names: Option<&[Box<[u8]>]>,
    ) {
        let diff = diff_zones(old, new, names);
        self.push_all(key, vec![diff]);
    }

    /// Records changes known as diffs (an IXFR received), in order.
    pub(super) fn push_all(&mut self, key: &Name, diffs: Vec<Diff>) {
        let history = self.history(key);
        for diff in diffs {
            if let Err(err) = history.push(diff) {
                warn!(zone = %key, %err, "IXFR history not written; clients will get full transfers");
                return;
            }
        }
    }

    /// The diffs from `serial` to `current` (the zone's serial), if kept.
    /// A history that does not end at `current` (its zone moved on while
    /// dnsd was down, or without it) is dropped first.
    pub(super) fn since(
        &mut self,
        key: &Name,
        serial: u32,
        current: u32,
    ) -> Option<Vec<Arc<Diff>>> {
        let history = self.history(key);
        if let Err(err) = history.keep_if_at(current) {
            warn!(zone = %key, %err, "IXFR history could not be cleared");
        }
        history.since(serial)
    }

    /// The diffs from `serial` on, whatever serial they end at (replayed
    /// over a stored copy that is older than the history).
    pub(super) fn after(&mut self, key: &Name, serial: u32) -> Option<Vec<Arc<Diff>>> {
        self.history(key).since(serial)
    }

    /// Forgets a deleted zone's history.
    pub(super) fn remove(&mut self, key: &Name) {
        let history = match self.open.remove(key) {
            Some(history) => history,
            None => match &self.dir {
                Some(dir) => match History::open(dir, key, self.limits) {
                    Ok(history) => history,
                    Err(_) => return,
                },
                None => return,
            },
        };
        if let Err(err) = history.remove() {
            warn!(zone = %key, %err, "IXFR history of a deleted zone not removed");
        }
    }
}
