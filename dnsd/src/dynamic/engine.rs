//! Which engine runs a LUA record: chosen per record when it compiles,
//! dispatched per query.
//!
//! Code that is one expression of the native subset compiles to a typed
//! [`Rule`] ([`rule::compile_native`]) and is evaluated as a tree walk
//! ([`eval`]); everything else, and the code of a `LUA LUA` record (run by
//! `include()`, never answered), becomes a [`Rule::Script`] for the
//! embedded Lua engine ([`embedded`]). The native evaluator knows nothing
//! of scripts and the embedded engine calls the native functions, so this
//! module sits above both.

use std::sync::Arc;

use super::embedded::{self, Script};
use super::eval::{self, Answer, Draw, EvalError, GeoView, HealthView, QueryContext, Value};
use super::rule::{self, Cacheability, CompileError, LuaRule, Rule};
use super::syntax::Whitespace;
use crate::wire::rtype::RType;

/// Compiles the code of a record that produces `produced`: natively when
/// it can, else for the embedded engine (a Lua syntax error is a
/// [`CompileError`] with `does_not_compile` set).
pub fn compile(code: &str, produced: RType) -> Result<LuaRule, CompileError> {
    if produced == RType::LUA {
        return for_embedded(code, produced, Script::included(code));
    }
    if code.starts_with(';') {
        return for_embedded(code, produced, Script::record(code));
    }
    match rule::compile_native(code, produced) {
        Err(e) if e.does_not_compile => for_embedded(code, produced, Script::record(code)),
        native => native,
    }
}

/// Compiles LUA RDATA (2-octet produced type, then character-strings),
/// joining the chunks per `mode` (§1.1).
pub fn compile_rdata(rdata: &[u8], mode: Whitespace) -> Result<LuaRule, CompileError> {
    let (produced, code) = rule::rdata_code(rdata, mode)?;
    compile(&code, produced)
}

/// The embedded engine's rule for `code`, or why its syntax is wrong.
fn for_embedded(
    code: &str,
    produced: RType,
    script: Result<Script, String>,
) -> Result<LuaRule, CompileError> {
    let script = script.map_err(|reason| CompileError {
        col: 0,
        reason: format!("Lua syntax error, {reason}"),
        does_not_compile: true,
    })?;
    let rule = Rule::Script(Arc::new(script));
    Ok(LuaRule {
        produced,
        code: code.to_string(),
        cache: Cacheability::of(&rule),
        rule,
        warnings: Vec::new(),
    })
}

/// Evaluates any rule, booleans included, with the engine it was compiled
/// for.
pub fn evaluate_rule(
    rule: &Rule,
    q: &QueryContext<'_>,
    health: &dyn HealthView,
    geo: &dyn GeoView,
    rng: &mut fastrand::Rng,
) -> Result<Value, EvalError> {
    match rule {
        Rule::Script(script) => embedded::run(script, q, health, geo, rng),
        native => eval::evaluate_rule(native, q, health, geo, rng),
    }
}

/// Evaluates a record for one query with fresh randomness.
pub fn evaluate(
    rule: &LuaRule,
    q: &QueryContext<'_>,
    health: &dyn HealthView,
    geo: &dyn GeoView,
) -> Result<Vec<Answer>, EvalError> {
    evaluate_with(rule, q, health, geo, &mut fastrand::Rng::new())
}

/// [`evaluate`] with a caller-provided random source (tests seed it).
pub fn evaluate_with(
    rule: &LuaRule,
    q: &QueryContext<'_>,
    health: &dyn HealthView,
    geo: &dyn GeoView,
    rng: &mut fastrand::Rng,
) -> Result<Vec<Answer>, EvalError> {
    match &rule.rule {
        Rule::Script(script) => match embedded::run(script, q, health, geo, rng)? {
            Value::Texts(texts) => eval::record_data(rule.produced, texts),
            Value::Bool(_) => Err(EvalError::NotRecordData),
        },
        _ => eval::evaluate_with(rule, q, health, geo, rng),
    }
}

/// [`eval::evaluate_deferred`] for native rules; a script's result is
/// always drawn in full.
pub fn evaluate_deferred(
    rule: &LuaRule,
    q: &QueryContext<'_>,
    health: &dyn HealthView,
    geo: &dyn GeoView,
    rng: &mut fastrand::Rng,
) -> Result<Draw, EvalError> {
    match &rule.rule {
        Rule::Script(_) => evaluate_with(rule, q, health, geo, rng).map(Draw::All),
        _ => eval::evaluate_deferred(rule, q, health, geo, rng),
    }
}
