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

    /// Records the change from `old` to `new` (same zone, new serial).
    pub(super) fn record(&mut self, key: &Name, old: &Zone, new: &Zone) {
        let diff = diff_zones(old, new, None);
        if let Err(err) = self.history(key).push(diff) {
            warn!(zone = %key, %err, "IXFR history not written; clients will get full transfers");
        }
    }

    /// The diffs from `serial` to the zone's newest, if kept.
    pub(super) fn since(&mut self, key: &Name, serial: u32) -> Option<Vec<Arc<Diff>>> {
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
