//! One sandboxed Lua state per answering thread, built once and reused:
//! no lock on the answer path and no state built per query.
//!
//! The state holds only Lua's base, string, table and math libraries, and
//! scripts never see its globals: each runs with an environment whose
//! misses fall through to a *base* table holding PowerDNS's LUA functions,
//! the safe base functions, read-only views of `string`, `table` and `math`,
//! and (through the base's own `__index`) the per-query variables. Nothing
//! of `os`, `io`, `package`, `debug`, `load*`, `require`, `dofile`,
//! `getfenv`/`setfenv`, `collectgarbage`, `rawset` or `string.dump` is
//! reachable, and neither is a coroutine (a hook does not follow one).
//!
//! Per query a fresh environment table (PowerDNS's default: no global
//! outlives its query); with `--lua-records-shared` one environment per
//! thread, so globals persist as in PowerDNS's shared mode. Compiled chunks
//! are cached per thread by their code (`chunks.rs`).
//!
//! Per-query cost (issue 18 item 7, measured with perf): with a memory limit
//! set, mlua runs every allocating call (a table, a string, a userdata) as a
//! protected call that allocates two C closures, and `Lua::set_hook`
//! allocates and registers its Rust callback. So the memory limit is armed
//! only while a script runs ([`Engine::begin`]/[`Engine::end`]), when every
//! allocation is the script's, and the instruction hook is registered once
//! per state and re-armed per evaluation with the raw `lua_sethook`.

use std::cell::{OnceCell, RefCell};
use std::os::raw::c_int;

use mlua::{HookTriggers, Lua, LuaOptions, StdLib, Table, Value, VmState, ffi};

use super::frame;
use super::functions;
use crate::dynamic::settings;

/// Builds the base environment from the real globals, which scripts never
/// see. `limit_hit` tells the `pcall` wrappers to re-raise the instruction
/// limit rather than let a script swallow it.
const SETUP: &str = r#"
local limit_hit = ...
local real_pcall, real_xpcall, error, setmetatable = pcall, xpcall, error, setmetatable
local function rethrow(ok, ...)
  if not ok and limit_hit() then error((...), 0) end
  return ok, ...
end
local function read_only(t)
  return setmetatable({}, {
    __index = t,
    __newindex = function() error('this table is read-only', 2) end,
    __metatable = false,
  })
end
string.dump = nil
getmetatable('').__metatable = false
return {
  assert = assert, error = error, ipairs = ipairs, next = next, pairs = pairs,
  select = select, tonumber = tonumber, tostring = tostring, type = type,
  unpack = unpack, rawequal = rawequal, rawget = rawget,
  setmetatable = setmetatable, getmetatable = getmetatable, _VERSION = _VERSION,
  pcall = function(...) return rethrow(real_pcall(...)) end,
  xpcall = function(f, h) return rethrow(real_xpcall(f, h)) end,
  string = read_only(string), table = read_only(table), math = read_only(math),
}
"#;

/// The thread's state.
pub(crate) struct Engine {
    pub lua: Lua,
    /// `{__index = base}`: the metatable of every script environment.
    env_meta: Table,
    /// The environment of shared mode.
    shared_env: Table,
    /// The environment of the next default-mode evaluation: reused while
    /// scripts leave it empty (most set no global), replaced once one did,
    /// so no global outlives its query.
    fresh_env: RefCell<Table>,
    /// `--lua-memory-limit` in bytes, armed while a script runs.
    memory_limit: usize,
    /// The state's main thread, which runs every chunk, and mlua's hook
    /// trampoline registered for it: re-armed per evaluation with the raw
    /// `lua_sethook`, which only sets the count.
    raw: RawHook,
}

/// What [`Engine::begin`] needs to re-arm the instruction hook.
struct RawHook {
    state: *mut ffi::lua_State,
    hook: unsafe extern "C-unwind" fn(*mut ffi::lua_State, *mut ffi::lua_Debug),
}

thread_local! {
    static ENGINE: OnceCell<Result<Engine, String>> = const { OnceCell::new() };
}

impl Engine {
    fn new() -> mlua::Result<Engine> {
        let lua = Lua::new_with(
            StdLib::STRING | StdLib::TABLE | StdLib::MATH,
            LuaOptions::new(),
        )?;
        // Lua's own string.rep appends one copy at a time, uncounted by the
        // instruction limit: a million copies cost milliseconds before the
        // memory limit stops them. This one refuses an oversized result up
        // front and copies in one go.
        let string: Table = lua.globals().get("string")?;
        string.raw_set("rep", lua.create_function(string_rep)?)?;
        let raw = RawHook::register(&lua)?;
        let limit_hit =
            lua.create_function(|_, ()| Ok(frame::with(|f| f.limit_hit.get()).unwrap_or(false)))?;
        let base: Table = lua.load(SETUP).set_name("=sandbox").call(limit_hit)?;
        functions::install(&lua, &base)?;
        let vars = lua.create_table()?;
        vars.raw_set(
            "__index",
            lua.create_function(|lua, (_, key): (Table, Value)| match key {
                Value::String(s) => functions::variable(lua, &s.to_str()?),
                _ => Ok(Value::Nil),
            })?,
        )?;
        base.set_metatable(Some(vars))?;
        let env_meta = lua.create_table()?;
        env_meta.raw_set("__index", base)?;
        env_meta.raw_set("__metatable", false)?;
        let shared_env = lua.create_table()?;
        shared_env.set_metatable(Some(env_meta.clone()))?;
        let fresh_env = lua.create_table()?;
        fresh_env.set_metatable(Some(env_meta.clone()))?;
        Ok(Engine {
            lua,
            env_meta,
            shared_env,
            fresh_env: RefCell::new(fresh_env),
            memory_limit: settings::memory_limit(),
            raw,
        })
    }

    /// Before a script runs: its memory limit on, its instruction budget
    /// armed (`lua_sethook` resets the count, so each evaluation gets the
    /// whole budget; 0: no limit).
    pub fn begin(&self, exec_limit: u32) -> mlua::Result<()> {
        self.lua.set_memory_limit(self.memory_limit)?;
        if exec_limit == 0 {
            self.lua.remove_hook();
        } else {
            self.raw.arm(exec_limit);
        }
        Ok(())
    }

    /// After a script ran (also after it failed): no instruction hook, and
    /// no memory limit for the engine's own allocations (see the module
    /// doc: they would each be a protected call).
    pub fn end(&self) {
        self.lua.remove_hook();
        let _ = self.lua.set_memory_limit(0);
    }

    /// The environment for one evaluation.
    pub fn environment(&self, shared: bool) -> mlua::Result<Table> {
        if shared {
            return Ok(self.shared_env.clone());
        }
        Ok(self.fresh_env.borrow().clone())
    }

    /// After a default-mode evaluation: the environment it ran in is kept
    /// for the next one only if the script set no global in it.
    pub fn recycle(&self, env: &Table) -> mlua::Result<()> {
        if env.is_empty() {
            return Ok(());
        }
        let next = self.lua.create_table()?;
        next.set_metatable(Some(self.env_meta.clone()))?;
        *self.fresh_env.borrow_mut() = next;
        Ok(())
    }
}

impl RawHook {
    /// Registers the limit's callback for `lua`'s main thread (the one
    /// `Function::call` runs chunks on) and keeps mlua's trampoline, then
    /// disarms it until an evaluation arms it.
    fn register(lua: &Lua) -> mlua::Result<RawHook> {
        lua.set_hook(
            HookTriggers::new().every_nth_instruction(1),
            |_, _| -> mlua::Result<VmState> {
                frame::with(|f| f.limit_hit.set(true));
                Err(mlua::Error::runtime(
                    "the script exceeded its instruction limit",
                ))
            },
        )?;
        let mut state: *mut ffi::lua_State = std::ptr::null_mut();
        // SAFETY: the closure only records the pointer of the state it is
        // called with, the main thread of `lua` (exec_raw runs it there).
        unsafe { lua.exec_raw::<()>((), |s| state = s)? };
        // SAFETY: `state` is `lua`'s live main thread; reading its hook
        // does not touch the stack.
        let hook = unsafe { ffi::lua_gethook(state) };
        lua.remove_hook();
        match hook {
            Some(hook) => Ok(RawHook { state, hook }),
            None => Err(mlua::Error::runtime("no instruction hook was installed")),
        }
    }

    /// Arms the hook to fire after `limit` instructions. mlua's
    /// `remove_hook` clears only the C hook; the callback stays registered
    /// for the thread, so the trampoline finds it again.
    fn arm(&self, limit: u32) {
        let count = c_int::try_from(limit).unwrap_or(c_int::MAX);
        // SAFETY: `state` is the main thread of the engine's `Lua`, which
        // lives as long as `self` (both are fields of the same `Engine`,
        // used on one thread); `lua_sethook` only stores the hook, mask
        // and count.
        unsafe { ffi::lua_sethook(self.state, Some(self.hook), ffi::LUA_MASKCOUNT, count) };
    }
}

/// Runs `f` with this thread's engine, building it on first use.
pub(crate) fn with_engine<R>(f: impl FnOnce(&Engine) -> R) -> Result<R, String> {
    ENGINE.with(
        |cell| match cell.get_or_init(|| Engine::new().map_err(|e| e.to_string())) {
            Ok(engine) => Ok(f(engine)),
            Err(e) => Err(e.clone()),
        },
    )
}

/// `string.rep(s, n [, sep])`, bounded by the state's memory limit.
fn string_rep(
    lua: &Lua,
    (s, n, sep): (mlua::LuaString, f64, Option<mlua::LuaString>),
) -> mlua::Result<mlua::LuaString> {
    let count = if n.is_nan() || n < 1.0 { 0 } else { n as u64 };
    let s = s.as_bytes();
    let sep = sep.as_ref().map(|s| s.as_bytes());
    let sep_len = sep.as_ref().map_or(0, |s| s.len()) as u64;
    let total = (s.len() as u64 + sep_len)
        .saturating_mul(count)
        .saturating_sub(sep_len);
    if total > settings::memory_limit() as u64 {
        return Err(mlua::Error::MemoryError(format!(
            "string.rep: a result of {total} bytes is over the memory limit"
        )));
    }
    let out = match sep {
        None => s.repeat(count as usize),
        Some(sep) => {
            let mut unit = sep.to_vec();
            unit.extend_from_slice(&s);
            let mut out = s.to_vec();
            out.extend(unit.repeat(count.saturating_sub(1) as usize));
            if count == 0 {
                out.clear();
            }
            out
        }
    };
    lua.create_string(out)
}

/// The state's memory after a failed evaluation: a script that hit the
/// memory limit leaves garbage behind, collected before the next query.
pub(crate) fn collect(engine: &Engine) {
    let _ = engine.lua.gc_collect();
}

/// Whether a chunk's syntax is valid, without running it (load-time check).
pub(crate) fn check_syntax(code: &str) -> Result<(), String> {
    thread_local! {
        static CHECKER: Lua = Lua::new_with(StdLib::NONE, LuaOptions::new()).expect("a bare Lua state");
    }
    CHECKER.with(|lua| {
        lua.load(code)
            .set_name("=LUA record")
            .into_function()
            .map(drop)
            .map_err(|e| {
                let message = match e {
                    mlua::Error::SyntaxError { message, .. } => message,
                    other => other.to_string(),
                };
                // "LUA record:3: unexpected symbol" → "line 3: unexpected symbol"
                match message.strip_prefix("LUA record:") {
                    Some(rest) => format!("line {rest}"),
                    None => message,
                }
            })
    })
}
