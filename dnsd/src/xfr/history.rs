//! IXFR history: the diffs of each zone, newest last, bounded by count and
//! bytes, and persisted under the data directory so a restart keeps them.
//!
//! SKELETON: the signatures are the contract; the IXFR work fills them in.

use std::path::PathBuf;
use std::sync::Arc;

use super::diff::Diff;
use crate::wire::Name;

/// Bounds of one zone's history.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Most diffs kept.
    pub max_diffs: usize,
    /// Most octets of records kept (RDATA + owner), across the diffs.
    pub max_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_diffs: 1000,
            max_bytes: 64 << 20,
        }
    }
}

/// Why history storage failed.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    #[error("IXFR history {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The history of one zone.
pub struct History {
    // zone, limits, diffs, file
}

impl History {
    /// An empty history kept in memory only.
    pub fn in_memory(_zone: &Name, _limits: Limits) -> History {
        todo!()
    }
    /// The history of `zone` stored under `dir` (created if missing); a
    /// torn or corrupt tail is cut off, never fatal.
    pub fn open(
        _dir: &std::path::Path,
        _zone: &Name,
        _limits: Limits,
    ) -> Result<History, HistoryError> {
        todo!()
    }
    /// Appends a diff (persisted before it returns), then drops the oldest
    /// beyond the limits. A diff whose old serial is not the newest one's
    /// new serial starts the history afresh.
    pub fn push(&mut self, _diff: Diff) -> Result<(), HistoryError> {
        todo!()
    }
    /// The diffs from `serial` to the newest, if the history reaches back
    /// to it; `Some(empty)` when `serial` is the newest.
    pub fn since(&self, _serial: u32) -> Option<Vec<Arc<Diff>>> {
        todo!()
    }
    /// Forgets everything and deletes the file (zone deleted).
    pub fn remove(self) -> Result<(), HistoryError> {
        todo!()
    }
}
