//! Allocation state changes.

/// Result of a reserve.
pub enum ReserveOutcome {}
/// Result of a commit.
pub enum CommitOutcome {}
/// Result of a release.
pub enum ReleaseOutcome {}
