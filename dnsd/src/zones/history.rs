//! The IXFR histories of served zones, whichever writer changed them: a
//! diff is recorded whenever a zone is published with a new serial, and
//! kept (bounded, persisted under `DATA-DIR/ixfr/`) for transfers.
//! A zone's history is opened on first use, so zones nobody transfers
//! cost nothing; and at most [`MAX_OPEN`] persisted histories stay open,
//! so a server with a hundred thousand zones that each changed once does
//! not keep a hundred thousand histories (and files) open.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use tracing::warn;

use crate::wire::Name;
use crate::xfr::history::{History, Limits};
use crate::xfr::{Diff, diff::diff_zones};
use crate::zone::Zone;

/// Persisted histories kept open (in memory, with their file) at once.
/// One more is opened by closing another: its file holds all of it.
pub(super) const MAX_OPEN: usize = 1024;

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
        if self.dir.is_some() && self.open.len() >= MAX_OPEN && !self.open.contains_key(key) {
            // Any one: each is whole on disk and reopened when asked for.
            if let Some(victim) = self.open.keys().next().cloned() {
                self.open.remove(&victim);
            }
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_dir::TempDir;
    use crate::zone::{build_zone, load};

    fn zone(origin: &Name, serial: u32) -> Zone {
        let text = format!(
            "@ 300 IN SOA ns1 h {serial} 3600 600 86400 60\n@ IN NS ns1\nns1 IN A 192.0.2.{serial}\n"
        );
        build_zone(
            origin,
            load::parse_untrusted(origin, &text, "test").unwrap(),
        )
        .unwrap()
    }

    #[test]
    fn open_histories_are_bounded_and_closed_ones_read_back_whole() {
        let dir = TempDir::new("histories");
        let mut histories = Histories::new(Some(dir.path().to_path_buf()), Limits::default());
        let names: Vec<Name> = (0..MAX_OPEN + 50)
            .map(|i| Name::from_text(&format!("z{i}.pool.test."), None).unwrap())
            .collect();
        for name in &names {
            histories.record(name, &zone(name, 1), &zone(name, 2), None);
            assert!(histories.open.len() <= MAX_OPEN);
        }
        assert_eq!(histories.open.len(), MAX_OPEN);
        // Every zone's diff is there, whether its history stayed open or not.
        for name in &names {
            let diffs = histories.since(name, 1, 2).expect("history kept");
            assert_eq!(diffs.len(), 1, "{name}");
            assert_eq!(diffs[0].added.len(), 1);
        }
        // Memory-only histories are never closed: they are all there is.
        let mut memory = Histories::new(None, Limits::default());
        for name in names.iter().take(MAX_OPEN + 5) {
            memory.record(name, &zone(name, 1), &zone(name, 2), None);
        }
        assert_eq!(memory.open.len(), MAX_OPEN + 5);
    }
}
