//! Wall time, injected: everything that judges expiry or schedules work
//! (reservations, outbox leases and back-off, the sweeper, BYO records)
//! asks a [`Clock`], so tests move time forward instead of sleeping.
//!
//! Only wall time lives here. Waiting (timeouts, ticks) stays on tokio's
//! timer, which tests can pause on their own.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use crate::model::UnixTime;

/// A source of the current time in whole Unix seconds.
pub trait Clock: Send + Sync + fmt::Debug {
    /// Now.
    fn now(&self) -> UnixTime;
}

/// The clock handlers and workers share.
pub type SharedClock = Arc<dyn Clock>;

/// The system's wall clock (production).
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> UnixTime {
        chrono::Utc::now().timestamp()
    }
}

/// A clock that moves only when told (tests).
#[derive(Debug)]
pub struct ManualClock(AtomicI64);

impl ManualClock {
    /// A clock showing `start`.
    pub fn new(start: UnixTime) -> ManualClock {
        ManualClock(AtomicI64::new(start))
    }

    /// A clock showing the system's time now, then moving only when told.
    pub fn starting_now() -> ManualClock {
        ManualClock::new(SystemClock.now())
    }

    /// Moves the clock forward by `secs`.
    pub fn advance(&self, secs: i64) {
        self.0.fetch_add(secs, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> UnixTime {
        self.0.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let c = ManualClock::new(100);
        assert_eq!(c.now(), 100);
        c.advance(7200);
        assert_eq!(c.now(), 7300);
        assert!(SystemClock.now() > 1_700_000_000);
    }
}
