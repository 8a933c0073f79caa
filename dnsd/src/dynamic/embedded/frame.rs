//! The query an embedded script is answering, reachable from the Rust
//! functions the script calls.
//!
//! Lua calls back into Rust through functions registered once per thread
//! (`state.rs`), so they cannot borrow the query the way a closure would.
//! [`enter`] makes the frame current for the dynamic extent of one
//! evaluation and [`with`] reads it; outside an evaluation there is none.
//! This is the scoped thread-local pattern: the one `unsafe` below is sound
//! because the pointer is cleared (by a drop guard, so also on unwind)
//! before the frame it points to can go away.

use std::cell::{Cell, RefCell};
use std::ptr::NonNull;

use crate::dynamic::eval::{GeoView, HealthView, QueryContext, ZoneData};

/// What the functions of one evaluation see.
pub(crate) struct Frame<'a> {
    /// The query (`qname`, `who`, `bestwho`, ECS...).
    pub q: &'a QueryContext<'a>,
    /// The health checker.
    pub health: &'a dyn HealthView,
    /// GeoIP.
    pub geo: &'a dyn GeoView,
    /// Randomness for the pick functions.
    pub rng: RefCell<&'a mut fastrand::Rng>,
    /// Served zone data (`include`, `dblookup`).
    pub data: Option<&'a dyn ZoneData>,
    /// The script's global environment (`include()` runs code in it).
    pub env: mlua::Table,
    /// Set when the instruction limit fired, so a `pcall` in the script
    /// cannot swallow it.
    pub limit_hit: Cell<bool>,
}

thread_local! {
    static CURRENT: Cell<Option<NonNull<Frame<'static>>>> = const { Cell::new(None) };
}

/// Runs `f` with `frame` current on this thread (nesting restores the outer
/// frame).
pub(crate) fn enter<R>(frame: &Frame<'_>, f: impl FnOnce() -> R) -> R {
    struct Restore(Option<NonNull<Frame<'static>>>);
    impl Drop for Restore {
        fn drop(&mut self) {
            CURRENT.with(|c| c.set(self.0));
        }
    }
    let ptr = NonNull::from(frame).cast::<Frame<'static>>();
    let _restore = Restore(CURRENT.with(|c| c.replace(Some(ptr))));
    f()
}

/// Calls `f` with the current frame, or returns `None` outside an
/// evaluation (a function called while a chunk is only being compiled).
pub(crate) fn with<R>(f: impl for<'x> FnOnce(&'x Frame<'x>) -> R) -> Option<R> {
    let ptr = CURRENT.with(Cell::get)?;
    // SAFETY: `ptr` was made by `enter` from a live `&Frame` and is reset
    // before that borrow ends; `f` cannot keep the reference (its result
    // type does not depend on the borrow's lifetime).
    let frame: &Frame<'_> = unsafe { ptr.cast::<Frame<'_>>().as_ref() };
    Some(f(frame))
}
