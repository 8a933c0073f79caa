//! Counters of LUA-record evaluations per engine, for `/metrics`: how often
//! each engine ran, failed (SERVFAIL) and hit a limit.

use std::sync::atomic::{AtomicU64, Ordering};

use super::eval::EvalError;

/// One engine's counters.
#[derive(Debug, Default)]
pub struct EngineCounters {
    evaluations: AtomicU64,
    errors: AtomicU64,
    limit_hits: AtomicU64,
}

/// A snapshot of one engine's counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EngineStats {
    /// Evaluations (answers served from the LUA answer cache not counted).
    pub evaluations: u64,
    /// Evaluations that failed (SERVFAIL), limit hits included.
    pub errors: u64,
    /// Evaluations stopped by `--lua-exec-limit` or `--lua-memory-limit`.
    pub limit_hits: u64,
}

/// The natively compiled records.
pub static NATIVE: EngineCounters = EngineCounters::new();
/// The embedded Lua engine.
pub static EMBEDDED: EngineCounters = EngineCounters::new();

impl EngineCounters {
    const fn new() -> EngineCounters {
        EngineCounters {
            evaluations: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            limit_hits: AtomicU64::new(0),
        }
    }

    /// The current values.
    pub fn snapshot(&self) -> EngineStats {
        EngineStats {
            evaluations: self.evaluations.load(Ordering::Relaxed),
            errors: self.errors.load(Ordering::Relaxed),
            limit_hits: self.limit_hits.load(Ordering::Relaxed),
        }
    }
}

/// Counts one evaluation by the embedded engine (`embedded`) or the native
/// one, with its error if it failed.
pub fn count(embedded: bool, error: Option<&EvalError>) {
    let c = if embedded { &EMBEDDED } else { &NATIVE };
    c.evaluations.fetch_add(1, Ordering::Relaxed);
    if let Some(e) = error {
        c.errors.fetch_add(1, Ordering::Relaxed);
        if matches!(e, EvalError::ExecLimit | EvalError::MemoryLimit) {
            c.limit_hits.fetch_add(1, Ordering::Relaxed);
        }
    }
}
