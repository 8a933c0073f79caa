//! LUA records (PowerDNS-compatible), compiled at load and evaluated per
//! query. See `shared/spec/lua-records.md`.
//!
//! Two engines, chosen per record at load: expressions of the native subset
//! are compiled to a typed [`Rule`] and evaluated as a tree walk (the fast
//! path); everything else (`;`-scripts, operators, `include()`, …) runs in
//! the sandboxed Lua of [`embedded`], whose PowerDNS functions call back
//! into the same evaluator, so both engines answer alike.
//!
//! ```text
//! RDATA --syntax::join_chunks--> code --syntax::parse--> Expr
//!       --rule::compile--> LuaRule (native Rule, or Rule::Script for the
//!                          embedded engine, or why it cannot answer)
//! query: engine::evaluate(&LuaRule, &QueryContext, &dyn HealthView, &dyn GeoView)
//!       -> Result<Vec<Answer>, EvalError> -> Outcome (answer / NODATA / SERVFAIL)
//! ```
//!
//! This module does no I/O: the background health checker implements
//! [`HealthView`] (keys are [`CheckKey`]), GeoIP comes in through [`GeoView`]
//! (implemented for `geo::SharedGeo`). [`hash`] reproduces PowerDNS's hashes
//! bit for bit.

pub mod cache;
pub mod embedded;
pub mod engine;
pub mod eval;
pub mod hash;
pub mod health;
pub mod records;
pub mod resolver;
pub mod rule;
pub mod settings;
pub mod stats;
pub mod syntax;

#[cfg(test)]
pub(crate) mod tests;

pub use cache::LuaCache;
pub use engine::{
    compile, compile_rdata, evaluate, evaluate_deferred, evaluate_rule, evaluate_with,
};
pub use eval::{
    AllUp, Answer, CheckKey, CheckKind, Draw, Ecs, EvalError, GeoView, Health, HealthView, NoGeo,
    Outcome, QueryContext, Value, ZoneData,
};
pub use records::LuaQuery;
pub use rule::{Cacheability, CheckOptions, CompileError, LuaRule, Rule, Selector};
pub use settings::LuaSettings;
pub use syntax::Whitespace;
