//! The embedded engine: LUA records outside the native subset (`;`-scripts,
//! `and`/`or`, `if`, `local`, `include()`, `string.*`, …) run in a
//! sandboxed Lua 5.1, the dialect PowerDNS runs.
//!
//! ```text
//! load:  code --state::check_syntax--> Script (the chunk text, checked)
//! query: run(Script, frame) -> this thread's Engine (state.rs)
//!        -> chunk (cached per thread) in a fresh or shared environment
//!        -> PowerDNS functions (functions.rs) -> the native evaluator
//! ```
//!
//! Limits: `--lua-exec-limit` instructions per evaluation and
//! `--lua-memory-limit` bytes per thread; either, like any runtime error,
//! answers SERVFAIL at the record's name and leaves the thread's state
//! usable for the next query.

mod chunks;
mod frame;
mod functions;
mod objects;
mod render;
mod resolve;
mod state;

#[cfg(test)]
mod tests;

use std::cell::{Cell, RefCell};

use mlua::Value;

use super::eval::{EvalError, GeoView, HealthView, QueryContext, Value as NativeValue};

pub use super::rule::Script;

impl Script {
    /// A record's code as PowerDNS runs it (`;` starts a script, anything
    /// else is an expression), its syntax checked.
    pub fn record(code: &str) -> Result<Script, String> {
        let chunk = match code.strip_prefix(';') {
            Some(script) => script.to_string(),
            None => format!("return {code}"),
        };
        Script::checked(chunk)
    }

    /// The code of a `LUA LUA` record, run as is by `include()`.
    pub fn included(code: &str) -> Result<Script, String> {
        Script::checked(code.to_string())
    }

    fn checked(chunk: String) -> Result<Script, String> {
        state::check_syntax(&chunk)?;
        Ok(Script { chunk })
    }
}

/// How one evaluation runs (from [`settings`](super::settings) when
/// answering).
#[derive(Clone, Copy, Debug)]
pub struct Mode {
    /// Globals kept per thread (shared mode) instead of fresh.
    pub shared: bool,
    /// Instruction limit; 0: none.
    pub exec_limit: u32,
}

impl Mode {
    /// The process's settings.
    pub fn configured() -> Mode {
        Mode {
            shared: super::settings::shared(),
            exec_limit: super::settings::exec_limit(),
        }
    }
}

/// Runs `script` for one query. The result is the script's return value:
/// a string, or a table of strings (numbers are taken as their text).
pub fn run(
    script: &Script,
    q: &QueryContext<'_>,
    health: &dyn HealthView,
    geo: &dyn GeoView,
    rng: &mut fastrand::Rng,
) -> Result<NativeValue, EvalError> {
    run_in(Mode::configured(), script, q, health, geo, rng)
}

/// [`run`] in a given mode.
pub fn run_in(
    mode: Mode,
    script: &Script,
    q: &QueryContext<'_>,
    health: &dyn HealthView,
    geo: &dyn GeoView,
    rng: &mut fastrand::Rng,
) -> Result<NativeValue, EvalError> {
    let outcome = state::with_engine(|engine| {
        let env = engine.environment(mode.shared).map_err(script_error)?;
        let chunk = chunks::chunk(&engine.lua, &script.chunk).map_err(script_error)?;
        chunk.set_environment(env.clone()).map_err(script_error)?;
        let frame = frame::Frame {
            q,
            health,
            geo,
            rng: RefCell::new(rng),
            data: q.data,
            env,
            limit_hit: Cell::new(false),
        };
        let result = frame::enter(&frame, || {
            engine.begin(mode.exec_limit)?;
            let result = chunk.call::<Value>(());
            engine.end();
            result
        });
        if !mode.shared {
            engine.recycle(&frame.env).map_err(script_error)?;
        }
        match result {
            Ok(value) => texts(value),
            Err(_) if frame.limit_hit.get() => Err(EvalError::ExecLimit),
            Err(e) if is_memory_error(&e) => {
                state::collect(engine);
                Err(EvalError::MemoryLimit)
            }
            Err(e) => Err(script_error(e)),
        }
    });
    outcome.unwrap_or_else(|e| Err(EvalError::Script(format!("no Lua state: {e}"))))
}

/// The script's result as record texts.
fn texts(value: Value) -> Result<NativeValue, EvalError> {
    let text = |v: &Value| -> Result<String, EvalError> {
        match v {
            Value::String(s) => Ok(s.to_string_lossy()),
            Value::Integer(i) => Ok(lua_number_text(*i as f64)),
            Value::Number(n) => Ok(lua_number_text(*n)),
            // A record from resolve() stands for its RDATA.
            Value::UserData(ud) if resolve::record_text(ud).is_some() => {
                Ok(resolve::record_text(ud).unwrap_or_default())
            }
            other => Err(EvalError::Script(format!(
                "the script returned a {}, not record data",
                other.type_name()
            ))),
        }
    };
    match &value {
        Value::Table(t) => {
            let mut out = Vec::with_capacity(t.raw_len());
            for i in 1..=t.raw_len() {
                let v: Value = t.raw_get(i).map_err(script_error)?;
                out.push(text(&v)?);
            }
            Ok(NativeValue::Texts(out))
        }
        other => Ok(NativeValue::Texts(vec![text(other)?])),
    }
}

/// A number as PowerDNS reads it from Lua (`lua_tolstring`, which prints
/// `%.14g`: `1/3` is `0.33333333333333`, `1e15` is `1e+15`).
fn lua_number_text(n: f64) -> String {
    super::eval::format_g(n, 14)
}

fn is_memory_error(e: &mlua::Error) -> bool {
    match e {
        mlua::Error::MemoryError(_) => true,
        mlua::Error::CallbackError { cause, .. } => is_memory_error(cause),
        _ => false,
    }
}

fn script_error(e: mlua::Error) -> EvalError {
    let text = e.to_string();
    // The first line says what went wrong; the rest is Lua's traceback.
    EvalError::Script(text.lines().next().unwrap_or_default().to_string())
}
