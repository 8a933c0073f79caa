//! LUA records at the name a lookup reached (lua-records.md §3, §11).
//!
//! Which records run: every LUA record whose produced type is QTYPE, or is
//! CNAME (a synthesised CNAME is chased like a static one), or, for ANY,
//! every one. Results are parsed as RDATA of the produced type, merged with
//! the static records of that type (duplicates removed, one TTL: the LUA
//! record's, or the static set's when lower), and owned by the
//! [`Outcome`] (`Outcome::dynamic`). An evaluation error is SERVFAIL; an
//! empty result is NODATA.
//!
//! Only names that own LUA records come here, so static answers pay one
//! emptiness check and nothing else; this path allocates freely. With a
//! [`LuaCache`], a record whose result is a function of (rule, client, name)
//! is evaluated and parsed once per health/GeoIP generation (`lua_cache.rs`);
//! for an `if*up` with the `random` selector that result is the set of up
//! candidates, and each query draws one from it.

use std::cell::Cell;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use super::cache::{CacheKey, Generations, LuaCache, Produced};
use super::eval::RequestFacts;
use super::rule::{Rule, rdata_code};
use super::{settings, stats};
use crate::dynamic::{
    self, AllUp, Draw, Ecs, EvalError, GeoView, Health, HealthView, LuaRule, NoGeo, QueryContext,
};
use crate::outcome::{Data, Outcome, Owner, Section, SynthName};
use crate::wire::{Name, RType, rdata};
use crate::zone::{Catalog, Node, RRset, Zone};

/// What LUA records see of the query, and the views they consult.
#[derive(Clone, Copy)]
pub struct LuaQuery<'a> {
    /// The transport source address (`who`).
    pub client: IpAddr,
    /// The query's ECS option, when present and ECS processing is on.
    pub ecs: Option<Ecs>,
    /// The health checker.
    pub health: &'a dyn HealthView,
    /// GeoIP.
    pub geo: &'a dyn GeoView,
    /// Results of earlier evaluations; `None`: evaluate every time.
    pub cache: Option<&'a LuaCache>,
    /// The served zones, for scripts' `dblookup()` (`include()` reads the
    /// record's own zone); `None`: only that zone.
    pub zones: Option<&'a Catalog>,
    /// The request's header and transport, for scripts (`dh`, `tcp`, …).
    pub request: RequestFacts,
}

impl LuaQuery<'static> {
    /// A query from `client` with every target up and no GeoIP (tests,
    /// benches, tools).
    pub fn plain(client: IpAddr) -> LuaQuery<'static> {
        LuaQuery {
            client,
            ecs: None,
            health: &AllUp,
            geo: &NoGeo,
            cache: None,
            zones: None,
            request: RequestFacts::default(),
        }
    }
}

/// What the LUA records at a node decided.
pub(crate) enum LuaStep<'z> {
    /// The reply is complete (an answer, or SERVFAIL).
    Done,
    /// A LUA CNAME was placed in the answer: continue at its target.
    Chase(Owner<'z>),
    /// Nothing from LUA: the static rules apply (static data of QTYPE, or
    /// NODATA).
    Static,
}

/// Answers QTYPE (not ANY, not LUA) at `node`, which owns LUA records.
/// `name` is the lowercase name of this lookup step, `owner` its owner.
#[allow(clippy::too_many_arguments)]
pub(crate) fn answer<'z>(
    zone: &'z Zone,
    node: &'z Node,
    owner: Owner<'z>,
    name: &[u8],
    qtype: RType,
    lua: &LuaQuery<'_>,
    qname: &[u8],
    out: &mut Outcome<'z>,
) -> LuaStep<'z> {
    let Some(ctx) = Context::new(zone, node, name, lua) else {
        return LuaStep::Static;
    };
    let direct = match ctx.produce(node, qtype) {
        Ok(direct) => direct,
        Err(()) => return servfail(out),
    };
    if let Some(produced) = direct
        && !produced.is_empty()
    {
        push_merged(node, owner, qtype, produced, &ctx, out);
        return LuaStep::Done;
    }
    if qtype == RType::CNAME || node.rrset(qtype).is_some() {
        return LuaStep::Static;
    }
    let target = match ctx.produce(node, RType::CNAME) {
        Ok(Some(targets)) => targets.into_iter().next(),
        Ok(None) => None,
        Err(()) => return servfail(out),
    };
    let Some(target) = target else {
        return LuaStep::Static;
    };
    let Some(synth) = SynthName::concat(&[], &target) else {
        return servfail(out);
    };
    let set = RRset {
        rtype: RType::CNAME,
        ttl: ctx.ttl,
        rdatas: [target].into_iter().collect(),
    };
    push_dynamic(owner, set, &ctx, out);
    if out.chain_contains(synth.as_wire(), qname) {
        return LuaStep::Done;
    }
    match out.add_synth(synth) {
        Some(index) => LuaStep::Chase(Owner::Synth(index)),
        None => LuaStep::Done,
    }
}

/// The full ANY answer at `node` (static sets merged with what every LUA
/// record produces). Returns false when nothing is there (NODATA).
pub(crate) fn answer_any<'z>(
    zone: &'z Zone,
    node: &'z Node,
    owner: Owner<'z>,
    name: &[u8],
    lua: &LuaQuery<'_>,
    out: &mut Outcome<'z>,
) -> bool {
    let Some(ctx) = Context::new(zone, node, name, lua) else {
        return false;
    };
    let mut types: Vec<RType> = node
        .lua
        .iter()
        .map(|l| l.produced)
        .filter(|&t| t != RType::RRSIG && t != RType::LUA)
        .collect();
    types.sort();
    types.dedup();
    let mut produced = Vec::with_capacity(types.len());
    for &rtype in &types {
        match ctx.produce(node, rtype) {
            Ok(records) => produced.push((rtype, records.unwrap_or_default())),
            Err(()) => {
                servfail(out);
                return true;
            }
        }
    }
    let mut any = false;
    for set in node.rrsets.iter().filter(|s| !s.rtype.is_stored_only()) {
        if !types.contains(&set.rtype) {
            out.push(Section::Answer, owner, Data::Set(set), set.ttl);
            any = true;
        }
    }
    for (rtype, records) in produced {
        if !records.is_empty() {
            push_merged(node, owner, rtype, records, &ctx, out);
            any = true;
        } else if let Some(set) = node.rrset(rtype) {
            out.push(Section::Answer, owner, Data::Set(set), set.ttl);
            any = true;
        }
    }
    any
}

/// The types the NSEC bitmap lists at a name with LUA records: what the
/// records produce, never LUA itself (spec §12).
pub(crate) fn produced_types(node: &Node) -> impl Iterator<Item = RType> + '_ {
    node.lua.iter().map(|l| l.produced)
}

/// SERVFAIL with empty sections (spec §11).
fn servfail<'z>(out: &mut Outcome<'z>) -> LuaStep<'z> {
    out.servfail();
    LuaStep::Done
}

/// One evaluation site: the query context and the LUA records' TTL.
struct Context<'a> {
    qname: Name,
    owner: &'a Name,
    zone: &'a Name,
    lua: LuaQuery<'a>,
    ttl: u32,
    data: ScriptData<'a>,
}

impl<'a> Context<'a> {
    fn new(zone: &'a Zone, node: &'a Node, name: &[u8], lua: &LuaQuery<'a>) -> Option<Self> {
        let ttl = node.rrset(RType::LUA)?.ttl;
        Some(Context {
            qname: Name::from_wire(name).ok()?,
            owner: &node.name,
            zone: &zone.origin,
            lua: *lua,
            ttl,
            data: ScriptData {
                zone,
                zones: lua.zones,
            },
        })
    }

    /// Runs every LUA record at `node` that produces `rtype` and returns
    /// the RDATA, duplicates removed; `None` when no record produces it.
    fn produce(&self, node: &Node, rtype: RType) -> Result<Option<Vec<Box<[u8]>>>, ()> {
        // `LUA LUA` records are code for `include()`, never answers.
        if rtype == RType::LUA {
            return Ok(None);
        }
        let q = QueryContext::new(
            &self.qname,
            self.owner,
            self.zone,
            self.lua.client,
            self.lua.ecs,
        )
        .with_data(&self.data)
        .with_request(self.lua.request);
        let mut found = None;
        for record in node.lua.iter().filter(|l| l.produced == rtype) {
            let records: &mut Vec<Box<[u8]>> = found.get_or_insert_with(Vec::new);
            let Ok(rule) = &record.rule else {
                return Err(());
            };
            let produced = self.run(rule, &q);
            let set: &[Box<[u8]>] = match &produced {
                Produced::Records(set) => set,
                // The `random` selector's pick, made per query from the
                // candidates of the current health generation; the
                // thread-local generator allocates nothing.
                Produced::OneOf(cands) => {
                    std::slice::from_ref(&cands[fastrand::usize(..cands.len())])
                }
                Produced::Fail => return Err(()),
            };
            for wire in set {
                if !records.iter().any(|r| same_rdata(rtype, r, wire)) {
                    records.push(wire.clone());
                }
            }
        }
        Ok(found)
    }

    /// One record's result: from the cache when the rule allows it and an
    /// entry of the current generations is there, else evaluated (and
    /// stored when the evaluation was a function of the key).
    fn run(&self, rule: &Arc<LuaRule>, q: &QueryContext<'_>) -> Produced {
        let Some(cache) = self.lua.cache.filter(|_| rule.is_cacheable()) else {
            let mut rng = fastrand::Rng::new();
            return evaluate_parsed(rule, q, self.lua.health, self.lua.geo, &mut rng, false).0;
        };
        let key = CacheKey {
            rule,
            client: rule.reads_client().then(|| q.bestwho()),
            qname: rule.reads_qname().then(|| self.qname.as_wire()),
        };
        // Read before evaluating: a change during the evaluation leaves the
        // entry stamped with the older generation, so it is never served.
        let generations = Generations {
            health: self.lua.health.generation(),
            geo: self.lua.geo.generation(),
        };
        let now = Instant::now();
        if let Some(hit) = cache.get(&key, generations, now) {
            return hit;
        }
        let health = Recording {
            inner: self.lua.health,
            saw_unknown: Cell::new(false),
        };
        let mut rng = fastrand::Rng::new();
        let seed = rng.get_seed();
        let (produced, complete) = evaluate_parsed(rule, q, &health, self.lua.geo, &mut rng, true);
        // Not stored: a tie broken at random, a registering call's Unknown.
        if complete && !health.saw_unknown.get() && rng.get_seed() == seed {
            cache.insert(&key, generations, now, produced.clone());
        }
        produced
    }

    /// The ECS scope of records produced here (spec §5).
    fn scope(&self) -> u8 {
        QueryContext::new(
            &self.qname,
            self.owner,
            self.zone,
            self.lua.client,
            self.lua.ecs,
        )
        .ecs_scope()
    }
}

/// The served data a script reads: the record's zone for `include()`, the
/// zone that holds a name for `dblookup()`.
struct ScriptData<'a> {
    zone: &'a Zone,
    zones: Option<&'a Catalog>,
}

impl dynamic::ZoneData for ScriptData<'_> {
    fn lua_code(&self, name: &Name) -> Vec<String> {
        let Some(set) = self
            .zone
            .node(name.to_lowercase().as_wire())
            .and_then(|node| node.rrset(RType::LUA))
        else {
            return Vec::new();
        };
        set.rdatas
            .iter()
            .filter_map(|r| rdata_code(r, settings::whitespace()).ok())
            .filter(|(produced, _)| *produced == RType::LUA)
            .map(|(_, code)| code)
            .collect()
    }

    fn lookup(&self, name: &Name, rtype: RType) -> Vec<String> {
        let lower = name.to_lowercase();
        let zone: &Zone = match self.zones.and_then(|c| c.find(lower.as_wire(), false)) {
            Some((served, _)) => &served.zone,
            None if lower.is_subdomain_of(&self.zone.origin) => self.zone,
            None => return Vec::new(),
        };
        let Some(set) = zone.node(lower.as_wire()).and_then(|n| n.rrset(rtype)) else {
            return Vec::new();
        };
        set.rdatas
            .iter()
            .filter_map(|r| rdata::to_text(rtype, r).ok())
            .collect()
    }
}

/// Evaluates `rule` and parses its results as RDATA of the produced type,
/// duplicates removed. With `defer`, a `random` selector's pick is left to
/// the caller ([`Produced::OneOf`], see [`dynamic::evaluate_deferred`]). The
/// flag is false for a result that must not be cached whatever the rule
/// (`IncompleteCheck`).
fn evaluate_parsed(
    rule: &LuaRule,
    q: &QueryContext<'_>,
    health: &dyn HealthView,
    geo: &dyn GeoView,
    rng: &mut fastrand::Rng,
    defer: bool,
) -> (Produced, bool) {
    let rtype = rule.produced;
    let evaluated = if defer {
        dynamic::evaluate_deferred(rule, q, health, geo, rng)
    } else {
        dynamic::evaluate_with(rule, q, health, geo, rng).map(Draw::All)
    };
    stats::count(
        matches!(rule.rule, Rule::Script(_)),
        evaluated.as_ref().err(),
    );
    let answers = match evaluated {
        Ok(Draw::All(answers)) => answers,
        Ok(Draw::OneOf(cands)) => return (one_of(rtype, &cands, rng), true),
        Err(err) => {
            tracing::debug!(%err, code = rule.code, "LUA record failed");
            return (Produced::Fail, err != EvalError::IncompleteCheck);
        }
    };
    let mut records: Vec<Box<[u8]>> = Vec::with_capacity(answers.len());
    for answer in answers {
        let Some(wire) = to_rdata(rtype, answer.as_str()) else {
            tracing::debug!(value = answer.as_str(), %rtype, "LUA result is not RDATA");
            return (Produced::Fail, true);
        };
        if !records.iter().any(|r| same_rdata(rtype, r, &wire)) {
            records.push(wire.into_boxed_slice());
        }
    }
    (Produced::Records(records.into()), true)
}

/// Candidates of a draw still to be made, parsed. Should one not parse (a
/// type whose RDATA only some addresses make), the draw is made here, as
/// evaluation without deferral would make it; having drawn, the result is
/// not cached.
fn one_of(rtype: RType, cands: &[dynamic::Answer], rng: &mut fastrand::Rng) -> Produced {
    let parsed: Option<Vec<Box<[u8]>>> = cands
        .iter()
        .map(|c| to_rdata(rtype, c.as_str()).map(Vec::into_boxed_slice))
        .collect();
    if let Some(parsed) = parsed {
        return Produced::OneOf(parsed.into());
    }
    let pick = &cands[rng.usize(..cands.len())];
    match to_rdata(rtype, pick.as_str()) {
        Some(wire) => Produced::Records(vec![wire.into_boxed_slice()].into()),
        None => {
            tracing::debug!(value = pick.as_str(), %rtype, "LUA result is not RDATA");
            Produced::Fail
        }
    }
}

/// The health view during an evaluation that may be cached: notes whether
/// any call registered its key (answered [`Health::Unknown`]).
struct Recording<'a> {
    inner: &'a dyn HealthView,
    saw_unknown: Cell<bool>,
}

impl HealthView for Recording<'_> {
    fn status(&self, check: &dynamic::CheckKey) -> Health {
        let health = self.inner.status(check);
        if health == Health::Unknown {
            self.saw_unknown.set(true);
        }
        health
    }

    fn generation(&self) -> u64 {
        self.inner.generation()
    }
}

/// Pushes the LUA records of `rtype` merged with the static set of that type.
fn push_merged<'z>(
    node: &'z Node,
    owner: Owner<'z>,
    rtype: RType,
    produced: Vec<Box<[u8]>>,
    ctx: &Context<'_>,
    out: &mut Outcome<'z>,
) {
    let mut ttl = ctx.ttl;
    let mut rdatas: Vec<&[u8]> = Vec::with_capacity(produced.len());
    if let Some(static_set) = node.rrset(rtype) {
        ttl = ttl.min(static_set.ttl);
        rdatas.extend(static_set.rdatas.iter());
    }
    for wire in &produced {
        if !rdatas.iter().any(|r| same_rdata(rtype, r, wire)) {
            rdatas.push(wire);
        }
    }
    let set = RRset {
        rtype,
        ttl,
        rdatas: rdatas.into_iter().collect(),
    };
    push_dynamic(owner, set, ctx, out);
}

/// Stores `set` in the outcome and places it in the answer.
fn push_dynamic<'z>(owner: Owner<'z>, set: RRset, ctx: &Context<'_>, out: &mut Outcome<'z>) {
    let (rtype, ttl) = (set.rtype, set.ttl);
    if let Some(index) = out.add_dynamic(set) {
        out.push(Section::Answer, owner, Data::Dynamic(rtype, index), ttl);
        out.ecs_scope = out.ecs_scope.max(ctx.scope());
    }
}

/// One result string as wire RDATA of `rtype`: TXT is one character-string
/// (split at 255 octets), names are absolute (spec §3).
fn to_rdata(rtype: RType, text: &str) -> Option<Vec<u8>> {
    if rtype == RType::TXT {
        return Some(rdata::txt_rdata(text).into_vec());
    }
    rdata::parse_str(rtype, text, &Name::root()).ok()
}

/// RDATA equality: embedded names of the classic types compare without case.
fn same_rdata(rtype: RType, a: &[u8], b: &[u8]) -> bool {
    match rtype {
        RType::NS | RType::CNAME | RType::PTR | RType::DNAME | RType::MX => {
            a.eq_ignore_ascii_case(b)
        }
        _ => a == b,
    }
}

#[cfg(test)]
mod tests;
