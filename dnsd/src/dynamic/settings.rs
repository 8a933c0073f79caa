//! Process-wide LUA-record settings, as PowerDNS's `lua-records-*`
//! settings are: read where records are compiled (zone loads, the API) and
//! evaluated (the answering threads), which have no configuration of their
//! own. Set once at start ([`LuaSettings::apply`]); the defaults are
//! PowerDNS's.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};

use super::syntax::Whitespace;

/// The LUA-record settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LuaSettings {
    /// `--lua-exec-limit` (`lua-records-exec-limit`): Lua VM instructions
    /// one embedded evaluation may run; 0 for no limit.
    pub exec_limit: u32,
    /// `--lua-memory-limit`: bytes one thread's Lua state may hold.
    pub memory_limit: usize,
    /// `--lua-records-shared` (`enable-lua-records=shared`): globals kept
    /// per thread between queries instead of fresh each query.
    pub shared: bool,
    /// `--lua-strict`: a LUA record that does not compile refuses its zone
    /// instead of answering SERVFAIL at its name.
    pub strict: bool,
    /// `--lua-records-insert-whitespace`: how chunks are joined.
    pub whitespace: Whitespace,
}

impl Default for LuaSettings {
    fn default() -> Self {
        LuaSettings {
            exec_limit: 1000,
            memory_limit: 16 << 20,
            shared: false,
            strict: false,
            whitespace: Whitespace::Join,
        }
    }
}

static EXEC_LIMIT: AtomicU32 = AtomicU32::new(1000);
static MEMORY_LIMIT: AtomicUsize = AtomicUsize::new(16 << 20);
static SHARED: AtomicBool = AtomicBool::new(false);
static STRICT: AtomicBool = AtomicBool::new(false);
static INSERT_WHITESPACE: AtomicBool = AtomicBool::new(false);

impl LuaSettings {
    /// Makes these the settings of the process.
    pub fn apply(&self) {
        EXEC_LIMIT.store(self.exec_limit, Ordering::Relaxed);
        MEMORY_LIMIT.store(self.memory_limit, Ordering::Relaxed);
        SHARED.store(self.shared, Ordering::Relaxed);
        STRICT.store(self.strict, Ordering::Relaxed);
        INSERT_WHITESPACE.store(self.whitespace == Whitespace::Insert, Ordering::Relaxed);
    }
}

/// The instruction limit.
pub fn exec_limit() -> u32 {
    EXEC_LIMIT.load(Ordering::Relaxed)
}

/// The memory limit of one thread's Lua state.
pub fn memory_limit() -> usize {
    MEMORY_LIMIT.load(Ordering::Relaxed)
}

/// Shared mode.
pub fn shared() -> bool {
    SHARED.load(Ordering::Relaxed)
}

/// Strict loading.
pub fn strict() -> bool {
    STRICT.load(Ordering::Relaxed)
}

/// The chunk-joining mode.
pub fn whitespace() -> Whitespace {
    if INSERT_WHITESPACE.load(Ordering::Relaxed) {
        Whitespace::Insert
    } else {
        Whitespace::Join
    }
}
