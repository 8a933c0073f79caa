//! Compiled chunks, cached per thread by their code: a record's script is
//! compiled once in each answering thread's Lua state, and so is the code
//! `include()` runs.

use std::cell::RefCell;
use std::sync::Arc;

use mlua::{Function, Lua};
use rustc_hash::FxHashMap;

/// Most compiled chunks kept per thread; past it the cache starts over
/// (a reload that changed many records leaves old code behind).
const MAX_CACHED_CHUNKS: usize = 4096;

thread_local! {
    /// FxHash: the keys are zone content, and SipHash of a chunk cost more
    /// than the rest of the lookup.
    static CHUNKS: RefCell<FxHashMap<Arc<str>, Function>> = RefCell::new(FxHashMap::default());
}

/// The compiled chunk for `code` in `lua` (this thread's state).
pub(crate) fn chunk(lua: &Lua, code: &str) -> mlua::Result<Function> {
    if let Some(f) = CHUNKS.with(|c| c.borrow().get(code).cloned()) {
        return Ok(f);
    }
    let f = lua.load(code).set_name("=LUA record").into_function()?;
    CHUNKS.with(|c| {
        let mut chunks = c.borrow_mut();
        if chunks.len() >= MAX_CACHED_CHUNKS {
            chunks.clear();
        }
        chunks.insert(Arc::from(code), f.clone());
    });
    Ok(f)
}
