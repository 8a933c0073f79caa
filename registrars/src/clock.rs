//! The wall clock, injectable: OVH signs a Unix timestamp into every
//! request, and tests need to skew it.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// A source of Unix time in seconds.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// Seconds since the Unix epoch.
    fn now_unix(&self) -> i64;
}

/// The system clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_unix(&self) -> i64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0)
    }
}

/// The system clock shifted by a settable offset (tests: clock skew).
#[derive(Debug, Default)]
pub struct OffsetClock {
    offset: AtomicI64,
}

impl OffsetClock {
    /// A clock `offset` seconds ahead of (negative: behind) the system.
    pub fn new(offset: i64) -> Self {
        Self {
            offset: AtomicI64::new(offset),
        }
    }

    /// Changes the offset.
    pub fn set_offset(&self, offset: i64) {
        self.offset.store(offset, Ordering::Relaxed);
    }
}

impl Clock for OffsetClock {
    fn now_unix(&self) -> i64 {
        SystemClock.now_unix() + self.offset.load(Ordering::Relaxed)
    }
}
