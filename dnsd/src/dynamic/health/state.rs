//! Per-check state (spec §6.1) and the status update rule (§6.4).
//!
//! The query path touches only two atomics per entry: [`Entry::reported`]
//! (what `status()` answers, packed in one word so a reader never pairs the
//! status of one check with the weight of another) and
//! [`Entry::last_access`]. Everything else sits behind a mutex that only the
//! checker and [`snapshot`](super::HealthChecker::snapshot) take.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::SystemTime;

use tokio::time::Instant;

use super::probe::Outcome;
use crate::dynamic::Health;

/// What the query path sees for one check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Reported {
    /// Registered, first check not completed (`first` in PowerDNS).
    Pending,
    /// `status = false`.
    Down,
    /// `status = true`; `weight` is the body's `stoi` (0 when none).
    Up { weight: i32 },
}

const PENDING: u64 = 1 << 63;
const UP: u64 = 1 << 62;

impl Reported {
    fn pack(self) -> u64 {
        match self {
            Reported::Pending => PENDING,
            Reported::Down => 0,
            // The weight's bits in the low word.
            Reported::Up { weight } => UP | u64::from(weight as u32),
        }
    }

    fn unpack(word: u64) -> Reported {
        if word & PENDING != 0 {
            Reported::Pending
        } else if word & UP != 0 {
            Reported::Up {
                weight: word as u32 as i32,
            }
        } else {
            Reported::Down
        }
    }

    /// The answer for a caller that did not register the key (§6.2): the
    /// weight if positive, else the status; pending reads as down.
    pub(super) fn health(self) -> Health {
        match self {
            Reported::Pending | Reported::Down => Health::Down,
            Reported::Up { weight } => Health::Up {
                weight: u32::try_from(weight).unwrap_or(0),
            },
        }
    }
}

/// The checker's own bookkeeping for one check; never read by queries.
#[derive(Debug)]
pub(super) struct Detail {
    /// Consecutive failed checks (reset by a success).
    pub failures: u32,
    /// Completed checks.
    pub checks: u64,
    /// The tick the last check is attributed to (scheduling, §6.3).
    pub last_tick: Option<Instant>,
    /// When the last check completed (`lastStatusUpdate`).
    pub last_check: Option<SystemTime>,
    /// When the reported health last changed (the first completed check
    /// counts as a change).
    pub last_change: Option<SystemTime>,
    /// Why the last check failed; `None` after a success.
    pub last_error: Option<String>,
    /// When the key was registered.
    pub registered: SystemTime,
}

/// One registered check.
#[derive(Debug)]
pub(super) struct Entry {
    /// [`Reported`], packed. Written by the checker only.
    reported: AtomicU64,
    /// Milliseconds since the checker's epoch of the last `status()` call.
    last_access: AtomicU64,
    /// Checker and snapshot only.
    detail: Mutex<Detail>,
}

impl Entry {
    pub(super) fn new(now_ms: u64) -> Entry {
        Entry {
            reported: AtomicU64::new(Reported::Pending.pack()),
            last_access: AtomicU64::new(now_ms),
            detail: Mutex::new(Detail {
                failures: 0,
                checks: 0,
                last_tick: None,
                last_check: None,
                last_change: None,
                last_error: None,
                registered: SystemTime::now(),
            }),
        }
    }

    pub(super) fn reported(&self) -> Reported {
        Reported::unpack(self.reported.load(Ordering::Acquire))
    }

    /// Records a query-path access (`lastAccess = now`).
    pub(super) fn touch(&self, now_ms: u64) {
        // Relaxed: expiry tolerates a stale read by a whole round.
        self.last_access.store(now_ms, Ordering::Relaxed);
    }

    pub(super) fn last_access(&self) -> u64 {
        self.last_access.load(Ordering::Relaxed)
    }

    pub(super) fn detail(&self) -> MutexGuard<'_, Detail> {
        // A panic while holding it leaves plain data behind: keep using it.
        self.detail.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Applies a completed check (§6.4) and returns true when what queries
    /// see changed (including the first completed check).
    pub(super) fn record(&self, outcome: Outcome, minimum_failures: u32, tick: Instant) -> bool {
        let mut d = self.detail();
        let before = self.reported();
        let now = SystemTime::now();
        d.checks += 1;
        d.last_check = Some(now);
        d.last_tick = Some(tick);
        let after = match outcome {
            Outcome::Up { weight } => {
                d.failures = 0;
                d.last_error = None;
                Reported::Up { weight }
            }
            Outcome::Down(err) => {
                d.failures = d.failures.saturating_add(1);
                d.last_error = Some(err.to_string());
                // `status = ++failures < max(1, minimumFailures)`; the
                // weight is reset on failure.
                if d.failures < minimum_failures.max(1) {
                    Reported::Up { weight: 0 }
                } else {
                    Reported::Down
                }
            }
        };
        self.reported.store(after.pack(), Ordering::Release);
        let changed = before == Reported::Pending || before.health() != after.health();
        if changed {
            d.last_change = Some(now);
        }
        changed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dynamic::health::CheckError;

    fn fail() -> Outcome {
        Outcome::Down(CheckError::Timeout {
            after: std::time::Duration::from_secs(1),
        })
    }

    #[test]
    fn packing_round_trips() {
        for r in [
            Reported::Pending,
            Reported::Down,
            Reported::Up { weight: 0 },
            Reported::Up { weight: 12 },
            Reported::Up { weight: -7 },
            Reported::Up { weight: i32::MAX },
            Reported::Up { weight: i32::MIN },
        ] {
            assert_eq!(Reported::unpack(r.pack()), r);
        }
    }

    #[test]
    fn health_is_weight_when_positive_else_status() {
        assert_eq!(Reported::Pending.health(), Health::Down);
        assert_eq!(Reported::Down.health(), Health::Down);
        assert_eq!(
            Reported::Up { weight: -3 }.health(),
            Health::Up { weight: 0 }
        );
        assert_eq!(
            Reported::Up { weight: 12 }.health(),
            Health::Up { weight: 12 }
        );
    }

    #[test]
    fn one_failure_is_down_by_default_and_one_success_is_up() {
        let e = Entry::new(0);
        let t = Instant::now();
        assert!(e.record(fail(), 1, t), "first completion is a change");
        assert_eq!(e.reported(), Reported::Down);
        assert!(!e.record(fail(), 1, t));
        assert_eq!(e.detail().failures, 2);
        assert!(e.record(Outcome::Up { weight: 0 }, 1, t));
        assert_eq!(e.reported(), Reported::Up { weight: 0 });
        assert_eq!(e.detail().failures, 0);
        assert_eq!(e.detail().last_error, None);
    }

    #[test]
    fn minimum_failures_reads_up_until_n_consecutive_failures() {
        // §6.4: a never-successful target reads up after its first failure.
        let e = Entry::new(0);
        let t = Instant::now();
        assert!(e.record(fail(), 3, t));
        assert_eq!(e.reported(), Reported::Up { weight: 0 });
        assert!(!e.record(fail(), 3, t));
        assert_eq!(e.reported(), Reported::Up { weight: 0 });
        assert!(e.record(fail(), 3, t));
        assert_eq!(e.reported(), Reported::Down);
        // One success resets the count.
        assert!(e.record(Outcome::Up { weight: 0 }, 3, t));
        assert!(!e.record(fail(), 3, t));
        assert!(!e.record(fail(), 3, t));
        assert!(e.record(fail(), 3, t));
        assert_eq!(e.reported(), Reported::Down);
    }

    #[test]
    fn weight_changes_are_changes_and_failures_reset_it() {
        let e = Entry::new(0);
        let t = Instant::now();
        e.record(Outcome::Up { weight: 5 }, 2, t);
        assert!(!e.record(Outcome::Up { weight: 5 }, 2, t));
        assert!(e.record(Outcome::Up { weight: 6 }, 2, t));
        // Non-positive weights read like no weight.
        assert!(e.record(Outcome::Up { weight: 0 }, 2, t));
        assert!(!e.record(Outcome::Up { weight: -1 }, 2, t));
        e.record(Outcome::Up { weight: 9 }, 2, t);
        // Still up (1 < 2) but the weight is gone.
        assert!(e.record(fail(), 2, t));
        assert_eq!(e.reported(), Reported::Up { weight: 0 });
    }
}
