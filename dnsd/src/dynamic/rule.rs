//! AST → [`Rule`]: the compiled, typed form of one LUA record.
//!
//! Everything that does not depend on the query is decided here, at zone
//! load: the function exists, its arity and argument shapes are right,
//! addresses and netmasks parse, weights are positive, option tables resolve
//! to [`CheckOptions`] with PowerDNS's defaults (spec §6.7), `pickchashed`
//! points are precomputed. What PowerDNS would only find at query time
//! (SERVFAIL) dnsd refuses here with the reason, so `check-zone` reports it.
//! Behaviour that PowerDNS merely warns about (an unknown selector falls back
//! to `random`) compiles, with a warning in [`LuaRule::warnings`].
//!
//! Why one long file: it is PowerDNS's whole function table (lua-records.md
//! §3) as one `match`, each function's argument rules beside its siblings',
//! which is how they are read against the spec. The embedded-Lua work (issue
//! 18) is the point to split it per family (pick*, if*up, geo, views).

use std::collections::BTreeMap;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::net::IpAddr;
use std::sync::Arc;

use super::hash::chash_points;
use super::syntax::{self, Expr, ExprKind, Field, Whitespace};
use crate::wire::rtype::RType;

/// Most entries in one list (spec §2: bound list sizes).
pub const MAX_LIST: usize = 1024;
/// Most `pickchashed` points in one record (sum of weights).
pub const MAX_CHASH_POINTS: u64 = 1 << 16;
/// PowerDNS's default `useragent` for URL checks.
pub const DEFAULT_USER_AGENT: &str = "PowerDNS Authoritative Server";

/// One compiled LUA record.
#[derive(Clone, Debug, PartialEq)]
pub struct LuaRule {
    /// The type the record produces (`LUA A "…"` → A).
    pub produced: RType,
    /// The code after chunk joining, as PowerDNS would run it.
    pub code: String,
    /// The compiled expression.
    pub rule: Rule,
    /// Things the operator should know that do not stop the record (unknown
    /// selector treated as `random`, the dnsd-only `pickfirst`, ignored
    /// options). Log them once at load.
    pub warnings: Vec<String>,
    /// What an answer cache may do with this record's results
    /// ([`Cacheability::of`] the rule, decided at compile time).
    pub cache: Cacheability,
}

impl LuaRule {
    /// True when a result may be reused for the same cache key (see
    /// [`Cacheability::cacheable`]).
    pub fn is_cacheable(&self) -> bool {
        self.cache.cacheable
    }

    /// True when the result depends on the query name.
    pub fn reads_qname(&self) -> bool {
        self.cache.reads_qname
    }

    /// True when the result depends on the client (`bestwho`).
    pub fn reads_client(&self) -> bool {
        self.cache.reads_client
    }
}

/// Which inputs a rule's result depends on, for answer caches.
///
/// Every rule may read the health view and GeoIP; these flags say what else
/// matters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cacheability {
    /// False when the rule can draw randomness whatever the health states
    /// (`pickrandom`, `pickrandomsample`, `pickwrandom`, `view` with several
    /// values): its result is not a function of the key. The `random`
    /// selector and backup selector of the `if*up` functions do not count:
    /// [`evaluate_deferred`](super::eval::evaluate_deferred) leaves that
    /// draw to the caller, and what it returns is cacheable. Rules that only
    /// draw to break ties (`pickclosest`, `closestMagic`, selector
    /// `pickclosest`) are cacheable here; the cache still refuses an
    /// evaluation that drew.
    pub cacheable: bool,
    /// The result depends on the query name (`createReverse*`,
    /// `createForward*`, `filterForward` of those, `closestMagic`,
    /// `picknamehashed`), so the name is part of the key.
    pub reads_qname: bool,
    /// The result depends on the client (`bestwho`): hashes of it, GeoIP
    /// of it, netmasks and views, the `hashed` and `pickclosest`
    /// selectors. When false, every client shares one entry.
    pub reads_client: bool,
}

impl Cacheability {
    /// Classifies a compiled rule.
    pub fn of(rule: &Rule) -> Cacheability {
        Cacheability {
            cacheable: !rule.draws_randomness_undeferred(),
            reads_qname: rule.reads_qname(),
            reads_client: rule.reads_client(),
        }
    }
}

/// Why a LUA record cannot answer. Either way the record loads and answers
/// SERVFAIL at its name, as in PowerDNS (unless `--lua-strict`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompileError {
    /// 1-based column in the joined code (0: the record as a whole).
    pub col: usize,
    /// What is wrong.
    pub reason: String,
    /// True when the code cannot be compiled at all (a Lua syntax error,
    /// malformed RDATA): the API refuses such a record (422). False for
    /// code that compiles but is certain to fail at query time (a wrong
    /// argument to a known function), which PowerDNS stores and fails per
    /// query.
    pub does_not_compile: bool,
}

impl fmt::Display for CompileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.col == 0 {
            write!(f, "LUA record: {}", self.reason)
        } else {
            write!(f, "LUA record, column {}: {}", self.col, self.reason)
        }
    }
}

impl std::error::Error for CompileError {}

impl From<syntax::SyntaxError> for CompileError {
    fn from(e: syntax::SyntaxError) -> Self {
        CompileError {
            col: e.col,
            reason: e.reason,
            does_not_compile: true,
        }
    }
}

/// An error in an expression the subset can express (wrong arity, a bad
/// address, a boolean result...): PowerDNS loads such a record and fails
/// the query, and so does dnsd (lua-records.md §2).
fn refuse<T>(col: usize, reason: impl Into<String>) -> Result<T, CompileError> {
    Err(CompileError {
        col,
        reason: reason.into(),
        does_not_compile: false,
    })
}

/// A construct outside the native subset (other Lua, functions only a Lua
/// runtime offers), or RDATA that holds no code: the native compiler gives
/// up, and [`compile`] hands the code to the embedded engine.
fn outside<T>(col: usize, reason: impl Into<String>) -> Result<T, CompileError> {
    Err(CompileError {
        col,
        reason: reason.into(),
        does_not_compile: true,
    })
}

/// A selector (spec §7.4 plus dnsd's `pickfirst`, §16).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Selector {
    /// Every candidate, in order.
    All,
    /// One, uniformly at random (PowerDNS's default).
    Random,
    /// `candidates[burtle(bestwho) % n]`.
    Hashed,
    /// The geographically closest (§9.3).
    PickClosest,
    /// Nothing: NODATA.
    Empty,
    /// dnsd extension: the first candidate in written order.
    PickFirst,
}

impl Selector {
    /// The selector named `name`; `None` for an unknown name (PowerDNS then
    /// warns and uses `random`).
    pub fn from_name(name: &str) -> Option<Selector> {
        Some(match name {
            "all" => Selector::All,
            "random" => Selector::Random,
            "hashed" => Selector::Hashed,
            "pickclosest" => Selector::PickClosest,
            "empty" => Selector::Empty,
            "pickfirst" => Selector::PickFirst,
            _ => return None,
        })
    }
}

/// The option table of `ifportup`/`ifurlup`/`ifurlextup`/`pickselfweighted`
/// resolved with PowerDNS's defaults (§6.7). Equality and hashing use only
/// [`raw`](Self::raw), the table as PowerDNS keys checks by: `{timeout=2}` and
/// `{timeout='2'}` are one check, `{}` and `{timeout='2'}` are two.
#[derive(Clone, Debug)]
pub struct CheckOptions {
    /// `selector`, default `random`.
    pub selector: Selector,
    /// `backupSelector`, default `random`.
    pub backup_selector: Selector,
    /// `source`: local address to bind the probe to.
    pub source: Option<IpAddr>,
    /// `timeout` in whole seconds (`atoi`), default 2. ≤ 0 means no limit from
    /// the option (the checker still applies its own hard cap).
    pub timeout_secs: i64,
    /// `interval` in seconds; `None` (absent or ≤ 0) means the global
    /// `lua-health-checks-interval`.
    pub interval_secs: Option<u64>,
    /// `minimumFailures`, at least 1.
    pub minimum_failures: u32,
    /// `failOnIncompleteCheck='true'`.
    pub fail_on_incomplete_check: bool,
    /// `stringmatch` (URL checks).
    pub stringmatch: Option<String>,
    /// `useragent` (URL checks), default [`DEFAULT_USER_AGENT`].
    pub useragent: String,
    /// `byteslimit` (URL checks), 0 = unlimited.
    pub byteslimit: u64,
    /// `httpcode` (URL checks), default 200; the final status must equal it.
    pub httpcode: i64,
    /// `headers` (URL checks), names with `_` replaced by `-`, sorted by name.
    pub headers: Vec<(String, String)>,
    /// The table as strings (numbers in decimal; `headers` rendered
    /// canonically), sorted by key: the check's identity.
    pub raw: BTreeMap<String, String>,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions {
            selector: Selector::Random,
            backup_selector: Selector::Random,
            source: None,
            timeout_secs: 2,
            interval_secs: None,
            minimum_failures: 1,
            fail_on_incomplete_check: false,
            stringmatch: None,
            useragent: DEFAULT_USER_AGENT.to_string(),
            byteslimit: 0,
            httpcode: 200,
            headers: Vec::new(),
            raw: BTreeMap::new(),
        }
    }
}

impl PartialEq for CheckOptions {
    fn eq(&self, other: &Self) -> bool {
        self.raw == other.raw
    }
}

impl Eq for CheckOptions {}

impl Hash for CheckOptions {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.raw.hash(state);
    }
}

/// An IP network; a bare address is a host mask (/32 or /128). Host bits
/// need not be zero (as in PowerDNS).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Netmask {
    /// The address as written.
    pub addr: IpAddr,
    /// Prefix length, ≤ 32 for IPv4, ≤ 128 for IPv6.
    pub len: u8,
}

impl Netmask {
    /// Parses `a.b.c.d[/n]` or `x::y[/n]`.
    pub fn parse(text: &str) -> Option<Netmask> {
        let (a, l) = match text.split_once('/') {
            Some((a, l)) => (a, Some(l)),
            None => (text, None),
        };
        let addr: IpAddr = a.trim().parse().ok()?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let len = match l {
            Some(l) => {
                let l: u8 = l.trim().parse().ok()?;
                if l > max {
                    return None;
                }
                l
            }
            None => max,
        };
        Some(Netmask { addr, len })
    }

    /// True when `ip` is inside; an address of the other family never is.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.len)).unwrap_or(0);
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.len))
                    .unwrap_or(0);
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

/// A `{{w, 'value'}, …}` list with positive weights, in written order.
#[derive(Clone, Debug, PartialEq)]
pub struct Weighted {
    /// (weight > 0, value).
    pub items: Vec<(u64, String)>,
}

/// One `view()` rule: netmasks and the values to pick from.
#[derive(Clone, Debug, PartialEq)]
pub struct ViewRule {
    /// The masks (any one matching selects the rule).
    pub masks: Vec<Netmask>,
    /// The values (non-empty); one is returned at random.
    pub values: Vec<String>,
}

/// A `createReverse` format string, split into literal text and placeholders
/// `%N%` (`%%` is a literal `%`).
#[derive(Clone, Debug, PartialEq)]
pub struct Format(pub Vec<FormatPart>);

/// A piece of a [`Format`].
#[derive(Clone, Debug, PartialEq)]
pub enum FormatPart {
    /// Literal text.
    Text(String),
    /// `%N%`, N ≥ 1.
    Arg(usize),
}

/// What address a health check probes.
#[derive(Clone, Debug, PartialEq)]
pub enum Probe {
    /// `ifportup(port, …)`: TCP connect to each address on `port`.
    Port(u16),
    /// `ifurlup(url, …)`: HTTP(S) GET of `url` pinned to each address.
    Url(String),
}

/// The source of `filterForward`'s address.
#[derive(Clone, Debug, PartialEq)]
pub enum ForwardSource {
    /// A literal address string.
    Literal(String),
    /// `createForward()`.
    Forward,
    /// `createForward6()`.
    Forward6,
}

/// One record's code for the embedded engine (built and run there).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Script {
    /// The Lua chunk: `return <code>` for an expression, the code after the
    /// `;` for a script, the code itself for an included (`LUA LUA`) record.
    pub chunk: String,
}

/// A compiled expression. Lists are in written order; addresses are parsed.
#[derive(Clone, Debug, PartialEq)]
pub enum Rule {
    /// A string, number or table of strings: returned as is.
    Literal(Vec<String>),
    /// `ifportup` / `ifurlup` over a list of sets (a flat list is one set).
    IfUp {
        /// What is probed.
        probe: Probe,
        /// The sets, each non-empty.
        sets: Vec<Vec<IpAddr>>,
        /// Options, shared with every [`CheckKey`](super::eval::CheckKey).
        options: Arc<CheckOptions>,
    },
    /// `ifurlextup({{[ip]=url, …}, …})`; entries sorted by the IP *string*.
    IfUrlExtUp {
        /// The sets of (address, URL).
        sets: Vec<Vec<(IpAddr, String)>>,
        /// Options.
        options: Arc<CheckOptions>,
    },
    /// `pickselfweighted(url, addrs)`.
    PickSelfWeighted {
        /// The weight URL.
        url: String,
        /// Candidates, in order.
        addrs: Vec<IpAddr>,
        /// Options (selectors ignored, as in PowerDNS).
        options: Arc<CheckOptions>,
    },
    /// `pickrandom(list)`.
    PickRandom(Vec<String>),
    /// `pickrandomsample(n, list)`.
    PickRandomSample {
        /// n as given (negative means all, §8).
        n: i64,
        /// The list.
        items: Vec<String>,
    },
    /// `pickhashed(list)`.
    PickHashed(Vec<String>),
    /// `pickwhashed({{w,v},…})`.
    PickWHashed(Weighted),
    /// `picknamehashed({{w,v},…})`.
    PickNameHashed(Weighted),
    /// `pickwrandom({{w,v},…})`.
    PickWRandom(Weighted),
    /// `pickchashed({{w,v},…})` with each entry's sorted points.
    PickCHashed {
        /// Values in order.
        values: Vec<String>,
        /// Points per value, sorted.
        points: Vec<Vec<u32>>,
    },
    /// `pickclosest(list)`.
    PickClosest(Vec<IpAddr>),
    /// `closestMagic()`.
    ClosestMagic,
    /// `all(list)`.
    All(Vec<String>),
    /// `view({…})`.
    View(Vec<ViewRule>),
    /// `country(cc | {cc,…})`: boolean.
    Country(Vec<String>),
    /// `continent(…)`: boolean.
    Continent(Vec<String>),
    /// `region(…)`: boolean (the subdivision code).
    Region(Vec<String>),
    /// `asnum(n | {n,…})`: boolean.
    AsNum(Vec<String>),
    /// `netmask({masks})`: boolean.
    Netmask(Vec<Netmask>),
    /// `countryCode()`.
    CountryCode,
    /// `continentCode()`.
    ContinentCode,
    /// `regionCode()`: the subdivision code, lower case, `--` if unknown.
    RegionCode,
    /// `latlon()`: `"%f %f"`, `0.000000 0.000000` if unknown.
    LatLon,
    /// `latlonloc()`: the location as LOC presentation text.
    LatLonLoc,
    /// `createReverse(fmt [, exceptions])`.
    CreateReverse {
        /// The format.
        format: Format,
        /// Exceptions keyed by address.
        exceptions: Vec<(IpAddr, String)>,
    },
    /// `createReverse6(fmt [, exceptions])`.
    CreateReverse6 {
        /// The format.
        format: Format,
        /// Exceptions keyed by address.
        exceptions: Vec<(IpAddr, String)>,
    },
    /// `createForward()`.
    CreateForward,
    /// `createForward6()`.
    CreateForward6,
    /// Code outside the native subset, run by the embedded Lua engine
    /// ([`super::embedded`]).
    Script(Arc<Script>),
    /// `filterForward(addr, newNMG{…} [, fallback])`.
    FilterForward {
        /// The address.
        addr: ForwardSource,
        /// The netmask group.
        group: Vec<Netmask>,
        /// The fallback (`Some("")`: NODATA).
        fallback: Option<String>,
    },
}

impl Rule {
    /// True for the functions that return a boolean (only usable inside
    /// logic, which the subset lacks).
    pub fn is_boolean(&self) -> bool {
        matches!(
            self,
            Rule::Country(_)
                | Rule::Continent(_)
                | Rule::Region(_)
                | Rule::AsNum(_)
                | Rule::Netmask(_)
        )
    }

    /// True when evaluation may draw randomness for reasons other than a
    /// tie: a random pick among several values, or a `random` selector or
    /// backup selector (the backup applies whenever every target is down).
    pub fn draws_randomness(&self) -> bool {
        let random = |o: &CheckOptions| {
            o.selector == Selector::Random || o.backup_selector == Selector::Random
        };
        match self {
            Rule::IfUp { options, .. } | Rule::IfUrlExtUp { options, .. } => random(options),
            Rule::PickRandom(items) => items.len() > 1,
            Rule::PickRandomSample { items, .. } => items.len() > 1,
            Rule::PickWRandom(w) => w.items.len() > 1,
            Rule::View(rules) => rules.iter().any(|r| r.values.len() > 1),
            // A script may do anything (math.random, shared globals).
            Rule::Script(_) => true,
            _ => false,
        }
    }

    /// [`draws_randomness`](Self::draws_randomness) without the uniform
    /// pick of a `random` selector or backup selector, which
    /// [`evaluate_deferred`](super::eval::evaluate_deferred) does not make.
    pub fn draws_randomness_undeferred(&self) -> bool {
        match self {
            Rule::IfUp { .. } | Rule::IfUrlExtUp { .. } => false,
            _ => self.draws_randomness(),
        }
    }

    /// True when the result may depend on `bestwho`. Every variant is
    /// listed, so a new function has to be classified.
    pub fn reads_client(&self) -> bool {
        let selector_reads = |s: Selector| matches!(s, Selector::Hashed | Selector::PickClosest);
        match self {
            Rule::IfUp { options, .. } | Rule::IfUrlExtUp { options, .. } => {
                selector_reads(options.selector) || selector_reads(options.backup_selector)
            }
            Rule::Literal(_)
            | Rule::PickRandom(_)
            | Rule::PickRandomSample { .. }
            | Rule::PickNameHashed(_)
            | Rule::PickWRandom(_)
            | Rule::All(_)
            | Rule::CreateReverse { .. }
            | Rule::CreateReverse6 { .. }
            | Rule::CreateForward
            | Rule::CreateForward6
            | Rule::FilterForward { .. } => false,
            Rule::PickSelfWeighted { .. }
            | Rule::PickHashed(_)
            | Rule::PickWHashed(_)
            | Rule::PickCHashed { .. }
            | Rule::PickClosest(_)
            | Rule::ClosestMagic
            | Rule::View(_)
            | Rule::Country(_)
            | Rule::Continent(_)
            | Rule::Region(_)
            | Rule::AsNum(_)
            | Rule::Netmask(_)
            | Rule::Script(_)
            | Rule::CountryCode
            | Rule::ContinentCode
            | Rule::RegionCode
            | Rule::LatLon
            | Rule::LatLonLoc => true,
        }
    }

    /// True when the result depends on the query name.
    pub fn reads_qname(&self) -> bool {
        match self {
            Rule::PickNameHashed(_)
            | Rule::ClosestMagic
            | Rule::CreateReverse { .. }
            | Rule::CreateReverse6 { .. }
            | Rule::CreateForward
            | Rule::CreateForward6
            | Rule::Script(_) => true,
            Rule::FilterForward { addr, .. } => !matches!(addr, ForwardSource::Literal(_)),
            _ => false,
        }
    }
}

/// Compiles the code of a record that produces `produced` with the native
/// compiler. A top-level boolean function (`country('us')`) is refused:
/// PowerDNS cannot turn a boolean into record data either (SERVFAIL). Code
/// outside the subset is an error with `does_not_compile` set, which
/// `engine::compile` hands to the embedded engine.
pub fn compile_native(code: &str, produced: RType) -> Result<LuaRule, CompileError> {
    let expr = syntax::parse(code)?;
    let mut c = Compiler::default();
    let rule = c.rule(&expr)?;
    if rule.is_boolean() {
        return refuse(
            expr.col,
            "this function returns a boolean, which is not record data",
        );
    }
    if matches!(produced, RType::A | RType::AAAA) {
        check_families(&rule, produced)?;
    }
    Ok(LuaRule {
        produced,
        code: code.to_string(),
        cache: Cacheability::of(&rule),
        rule,
        warnings: c.warnings,
    })
}

/// Compiles one expression without the top-level checks of [`compile`]
/// (booleans allowed, no family check). Returns the rule and its warnings.
pub fn compile_expr(code: &str) -> Result<(Rule, Vec<String>), CompileError> {
    let expr = syntax::parse(code)?;
    let mut c = Compiler::default();
    let rule = c.rule(&expr)?;
    Ok((rule, c.warnings))
}

/// The produced type and the code (chunks joined per `mode`) of LUA RDATA.
pub fn rdata_code(rdata: &[u8], mode: Whitespace) -> Result<(RType, String), CompileError> {
    if rdata.len() < 3 {
        return outside(0, "RDATA too short: no produced type and code");
    }
    let produced = RType(u16::from_be_bytes([rdata[0], rdata[1]]));
    if produced == RType::RRSIG || produced.is_meta() {
        return outside(
            0,
            format!("a LUA record cannot produce type {}", produced.0),
        );
    }
    let mut chunks = Vec::new();
    let mut rest = &rdata[2..];
    while let Some((&len, tail)) = rest.split_first() {
        let len = usize::from(len);
        if tail.len() < len {
            return outside(0, "RDATA: character-string runs past the end");
        }
        chunks.push(&tail[..len]);
        rest = &tail[len..];
    }
    Ok((
        produced,
        syntax::join_chunks(&syntax::presentation(&chunks), mode),
    ))
}

/// An address of the wrong family in an A/AAAA record can only give SERVFAIL
/// (unparsable RDATA, §7.1.3): refuse it at load.
fn check_families(rule: &Rule, produced: RType) -> Result<(), CompileError> {
    let want_v4 = produced == RType::A;
    let bad = |a: &IpAddr| a.is_ipv4() != want_v4;
    let bad_text = |s: &String| s.parse::<IpAddr>().map(|a| bad(&a)).unwrap_or(true);
    let fam = if want_v4 { "IPv4" } else { "IPv6" };
    let found = match rule {
        Rule::IfUp { sets, .. } => sets
            .iter()
            .flatten()
            .find(|a| bad(a))
            .map(ToString::to_string),
        Rule::IfUrlExtUp { sets, .. } => sets
            .iter()
            .flatten()
            .find(|(a, _)| bad(a))
            .map(|(a, _)| a.to_string()),
        Rule::PickSelfWeighted { addrs, .. } | Rule::PickClosest(addrs) => {
            addrs.iter().find(|a| bad(a)).map(ToString::to_string)
        }
        Rule::Literal(items)
        | Rule::PickRandom(items)
        | Rule::PickHashed(items)
        | Rule::All(items)
        | Rule::PickRandomSample { items, .. } => items.iter().find(|s| bad_text(s)).cloned(),
        Rule::PickWHashed(w) | Rule::PickNameHashed(w) | Rule::PickWRandom(w) => w
            .items
            .iter()
            .map(|(_, v)| v)
            .find(|s| bad_text(s))
            .cloned(),
        Rule::PickCHashed { values, .. } => values.iter().find(|s| bad_text(s)).cloned(),
        Rule::View(rules) => rules
            .iter()
            .flat_map(|r| &r.values)
            .find(|s| bad_text(s))
            .cloned(),
        Rule::CreateForward6 if want_v4 => Some("createForward6()".into()),
        Rule::CreateForward if !want_v4 => Some("createForward()".into()),
        _ => None,
    };
    match found {
        Some(v) => refuse(
            0,
            format!(
                "'{v}' is not an {fam} address, so a LUA {} record would always SERVFAIL",
                if want_v4 { "A" } else { "AAAA" }
            ),
        ),
        None => Ok(()),
    }
}

// ----------- the compiler -----------------------------------------------------

#[derive(Default)]
struct Compiler {
    warnings: Vec<String>,
}

/// Lua's `tostring` for a number (`%.14g`): integers without a fraction.
pub(crate) fn lua_number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

/// C's `atoi`: optional whitespace, sign, digits; anything else stops; no
/// digits gives 0. Saturates instead of overflowing.
pub(crate) fn atoi(s: &str) -> i64 {
    let t = s.trim_start();
    let (neg, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let mut v: i64 = 0;
    for b in digits.bytes().take_while(u8::is_ascii_digit) {
        v = v.saturating_mul(10).saturating_add(i64::from(b - b'0'));
    }
    if neg { -v } else { v }
}

fn fn_arity(
    name: &str,
    args: &[Expr],
    min: usize,
    max: usize,
    col: usize,
) -> Result<(), CompileError> {
    if args.len() < min || args.len() > max {
        let want = if min == max {
            format!("{min}")
        } else {
            format!("{min} to {max}")
        };
        return refuse(
            col,
            format!("{name}() takes {want} argument(s), got {}", args.len()),
        );
    }
    Ok(())
}

const OPTION_NAMES: &str = "selector, backupSelector, source, timeout, interval, minimumFailures, \
                            failOnIncompleteCheck, stringmatch, useragent, byteslimit, httpcode, headers";

impl Compiler {
    fn rule(&mut self, e: &Expr) -> Result<Rule, CompileError> {
        let (name, args) = match &e.kind {
            ExprKind::Call { name, args } => (name.as_str(), args.as_slice()),
            ExprKind::Str(_) | ExprKind::Num(_) => {
                return Ok(Rule::Literal(vec![self.text(e, "value")?]));
            }
            ExprKind::Table(_) => return Ok(Rule::Literal(self.list(e, "value list", true)?)),
            ExprKind::Bool(_) => return refuse(e.col, "a boolean is not record data"),
            ExprKind::Nil => return refuse(e.col, "nil is not record data"),
        };
        let col = e.col;
        let rule = match name {
            "ifportup" => {
                fn_arity(name, args, 2, 3, col)?;
                let port = self.port(&args[0])?;
                let sets = self.sets(&args[1])?;
                let options = self.options(args.get(2), name, false)?;
                Rule::IfUp {
                    probe: Probe::Port(port),
                    sets,
                    options,
                }
            }
            "ifurlup" => {
                fn_arity(name, args, 2, 3, col)?;
                let url = self.url(&args[0])?;
                let sets = self.sets(&args[1])?;
                let options = self.options(args.get(2), name, true)?;
                Rule::IfUp {
                    probe: Probe::Url(url),
                    sets,
                    options,
                }
            }
            "ifurlextup" => {
                fn_arity(name, args, 1, 2, col)?;
                let sets = self.ext_sets(&args[0])?;
                let options = self.options(args.get(1), name, true)?;
                Rule::IfUrlExtUp { sets, options }
            }
            "pickselfweighted" => {
                fn_arity(name, args, 2, 3, col)?;
                let url = self.url(&args[0])?;
                let addrs = self.addr_list(&args[1])?;
                let options = self.options(args.get(2), name, true)?;
                if options.raw.contains_key("selector")
                    || options.raw.contains_key("backupSelector")
                {
                    self.warnings.push(
                        "pickselfweighted ignores selector and backupSelector (as PowerDNS does); \
                         it SERVFAILs when every address is down"
                            .into(),
                    );
                }
                Rule::PickSelfWeighted {
                    url,
                    addrs,
                    options,
                }
            }
            "pickrandom" => {
                fn_arity(name, args, 1, 1, col)?;
                Rule::PickRandom(self.list(&args[0], "list", false)?)
            }
            "pickrandomsample" => {
                fn_arity(name, args, 2, 2, col)?;
                let n = self.int(&args[0], "the sample size")?;
                Rule::PickRandomSample {
                    n,
                    items: self.list(&args[1], "list", false)?,
                }
            }
            "pickhashed" => {
                fn_arity(name, args, 1, 1, col)?;
                Rule::PickHashed(self.list(&args[0], "list", false)?)
            }
            "pickwhashed" => {
                fn_arity(name, args, 1, 1, col)?;
                Rule::PickWHashed(self.weighted(&args[0])?)
            }
            "picknamehashed" => {
                fn_arity(name, args, 1, 1, col)?;
                Rule::PickNameHashed(self.weighted(&args[0])?)
            }
            "pickwrandom" => {
                fn_arity(name, args, 1, 1, col)?;
                Rule::PickWRandom(self.weighted(&args[0])?)
            }
            "pickchashed" => {
                fn_arity(name, args, 1, 1, col)?;
                let w = self.weighted(&args[0])?;
                let total: u64 = w.items.iter().map(|(w, _)| *w).sum();
                if total > MAX_CHASH_POINTS {
                    return refuse(
                        col,
                        format!(
                            "pickchashed weights add up to {total}, above the limit of {MAX_CHASH_POINTS}"
                        ),
                    );
                }
                let points = w
                    .items
                    .iter()
                    .map(|(weight, v)| chash_points(v, u32::try_from(*weight).unwrap_or(u32::MAX)))
                    .collect();
                Rule::PickCHashed {
                    values: w.items.into_iter().map(|(_, v)| v).collect(),
                    points,
                }
            }
            "pickclosest" => {
                fn_arity(name, args, 1, 1, col)?;
                Rule::PickClosest(self.addr_list(&args[0])?)
            }
            "closestMagic" => {
                fn_arity(name, args, 0, 0, col)?;
                Rule::ClosestMagic
            }
            "all" => {
                fn_arity(name, args, 1, 1, col)?;
                Rule::All(self.list(&args[0], "list", false)?)
            }
            "view" => {
                fn_arity(name, args, 1, 1, col)?;
                Rule::View(self.view(&args[0])?)
            }
            "country" | "continent" | "region" | "asnum" => {
                fn_arity(name, args, 1, 1, col)?;
                let values = match &args[0].kind {
                    ExprKind::Table(_) => self.list(&args[0], "list", false)?,
                    _ => vec![self.text(&args[0], "the code")?],
                };
                match name {
                    "country" => Rule::Country(values),
                    "continent" => Rule::Continent(values),
                    "region" => Rule::Region(values),
                    _ => Rule::AsNum(values),
                }
            }
            "netmask" => {
                fn_arity(name, args, 1, 1, col)?;
                Rule::Netmask(self.masks(&args[0])?)
            }
            "regionCode" | "latlon" | "latlonloc" => {
                fn_arity(name, args, 0, 0, col)?;
                match name {
                    "regionCode" => Rule::RegionCode,
                    "latlon" => Rule::LatLon,
                    _ => Rule::LatLonLoc,
                }
            }
            "countryCode" | "continentCode" => {
                fn_arity(name, args, 0, 0, col)?;
                if name == "countryCode" {
                    Rule::CountryCode
                } else {
                    Rule::ContinentCode
                }
            }
            "createReverse" | "createReverse6" => {
                fn_arity(name, args, 1, 2, col)?;
                let max = if name == "createReverse" { 6 } else { 41 };
                let format = self.format(&args[0], max)?;
                let exceptions = match args.get(1) {
                    Some(t) => self.exceptions(t)?,
                    None => Vec::new(),
                };
                if name == "createReverse" {
                    Rule::CreateReverse { format, exceptions }
                } else {
                    Rule::CreateReverse6 { format, exceptions }
                }
            }
            "createForward" => {
                fn_arity(name, args, 0, 0, col)?;
                Rule::CreateForward
            }
            "createForward6" => {
                fn_arity(name, args, 0, 0, col)?;
                Rule::CreateForward6
            }
            "filterForward" => {
                fn_arity(name, args, 2, 3, col)?;
                let addr = match &args[0].kind {
                    ExprKind::Call { name: n, args: a } if n == "createForward" && a.is_empty() => {
                        ForwardSource::Forward
                    }
                    ExprKind::Call { name: n, args: a }
                        if n == "createForward6" && a.is_empty() =>
                    {
                        ForwardSource::Forward6
                    }
                    _ => {
                        let s = self.text(&args[0], "the address")?;
                        if s.parse::<IpAddr>().is_err() {
                            return refuse(
                                args[0].col,
                                format!("filterForward: '{s}' is not an IP address"),
                            );
                        }
                        ForwardSource::Literal(s)
                    }
                };
                let group = match &args[1].kind {
                    ExprKind::Call { name: n, args: a } if n == "newNMG" && a.len() == 1 => {
                        self.masks(&a[0])?
                    }
                    _ => {
                        return refuse(
                            args[1].col,
                            "filterForward: the second argument must be newNMG({...})",
                        );
                    }
                };
                let fallback = match args.get(2) {
                    Some(f) => Some(self.text(f, "the fallback")?),
                    None => None,
                };
                Rule::FilterForward {
                    addr,
                    group,
                    fallback,
                }
            }
            "newNMG" => {
                return refuse(
                    col,
                    "newNMG() is only supported as the second argument of filterForward()",
                );
            }
            "pickfirst" => {
                return refuse(
                    col,
                    "pickfirst is a selector, not a function: use {selector='pickfirst'}",
                );
            }
            // PowerDNS's own functions and the Lua base functions its
            // environment offers (`tostring(pdnsrandom(3))` is a whole
            // record): the embedded engine has them.
            "include" | "dblookup" | "resolve" | "newCA" | "newCAFromRaw" | "newCAS" | "newDN"
            | "newNetmask" | "pdnslog" | "pdnsrandom" | "print" | "geoiplookup" | "latlonMagic"
            | "tostring" | "tonumber" | "type" | "select" | "unpack" | "assert" | "error"
            | "pcall" | "xpcall" | "next" | "ipairs" | "pairs" | "rawequal" | "rawget"
            | "setmetatable" | "getmetatable" => {
                return outside(col, format!("{name}() needs the embedded engine"));
            }
            // Not in PowerDNS's environment either: certain to fail.
            _ => return refuse(col, format!("unknown function {name}()")),
        };
        Ok(rule)
    }

    /// A string or number as text.
    fn text(&mut self, e: &Expr, what: &str) -> Result<String, CompileError> {
        match &e.kind {
            ExprKind::Str(s) => Ok(s.clone()),
            ExprKind::Num(n) => Ok(lua_number(*n)),
            _ => refuse(
                e.col,
                format!("{what} must be a string, found {}", kind_name(e)),
            ),
        }
    }

    fn int(&mut self, e: &Expr, what: &str) -> Result<i64, CompileError> {
        match &e.kind {
            ExprKind::Num(n) => Ok(n.trunc() as i64),
            ExprKind::Str(s) => match s.trim().parse::<f64>() {
                Ok(n) => Ok(n.trunc() as i64),
                Err(_) => refuse(e.col, format!("{what} must be a number, found '{s}'")),
            },
            _ => refuse(
                e.col,
                format!("{what} must be a number, found {}", kind_name(e)),
            ),
        }
    }

    fn port(&mut self, e: &Expr) -> Result<u16, CompileError> {
        let p = self.int(e, "the port")?;
        Ok(p.clamp(0, 65535) as u16)
    }

    fn url(&mut self, e: &Expr) -> Result<String, CompileError> {
        let u = self.text(e, "the URL")?;
        let lower = u.to_ascii_lowercase();
        if !(lower.starts_with("http://") || lower.starts_with("https://")) {
            return refuse(e.col, format!("'{u}' is not an http:// or https:// URL"));
        }
        Ok(u)
    }

    fn positional<'e>(&mut self, e: &'e Expr, what: &str) -> Result<Vec<&'e Expr>, CompileError> {
        let ExprKind::Table(fields) = &e.kind else {
            return refuse(
                e.col,
                format!("{what} must be a table, found {}", kind_name(e)),
            );
        };
        if fields.len() > MAX_LIST {
            return refuse(e.col, format!("{what} has more than {MAX_LIST} entries"));
        }
        fields
            .iter()
            .map(|f| match f {
                Field::Positional(v) => Ok(v),
                Field::Named { key, value } => refuse(
                    value.col,
                    format!("{what} must be a positional list, found key '{key}'"),
                ),
            })
            .collect()
    }

    /// A positional table of strings/numbers.
    fn list(
        &mut self,
        e: &Expr,
        what: &str,
        allow_empty: bool,
    ) -> Result<Vec<String>, CompileError> {
        let items = self.positional(e, what)?;
        if items.is_empty() && !allow_empty {
            return refuse(e.col, format!("the {what} is empty"));
        }
        items
            .into_iter()
            .map(|v| self.text(v, "each entry"))
            .collect()
    }

    fn addr(&mut self, e: &Expr) -> Result<IpAddr, CompileError> {
        let s = self.text(e, "an address")?;
        s.parse()
            .or_else(|_| refuse(e.col, format!("'{s}' is not an IP address")))
    }

    fn addr_list(&mut self, e: &Expr) -> Result<Vec<IpAddr>, CompileError> {
        let items = self.positional(e, "address list")?;
        if items.is_empty() {
            return refuse(e.col, "the address list is empty");
        }
        items.into_iter().map(|v| self.addr(v)).collect()
    }

    /// A flat address list (one set) or a list of sets.
    fn sets(&mut self, e: &Expr) -> Result<Vec<Vec<IpAddr>>, CompileError> {
        let items = self.positional(e, "address list")?;
        if items.is_empty() {
            return refuse(e.col, "the address list is empty");
        }
        let tables = items
            .iter()
            .filter(|v| matches!(v.kind, ExprKind::Table(_)))
            .count();
        if tables == 0 {
            return Ok(vec![
                items
                    .into_iter()
                    .map(|v| self.addr(v))
                    .collect::<Result<_, _>>()?,
            ]);
        }
        if tables != items.len() {
            return refuse(e.col, "an address list mixes addresses and sets");
        }
        let mut sets = Vec::new();
        for set in items {
            let members = self.positional(set, "address set")?;
            sets.push(
                members
                    .into_iter()
                    .map(|v| self.addr(v))
                    .collect::<Result<Vec<_>, _>>()?,
            );
        }
        if sets.iter().all(Vec::is_empty) {
            return refuse(e.col, "every address set is empty");
        }
        Ok(sets)
    }

    fn ext_sets(&mut self, e: &Expr) -> Result<Vec<Vec<(IpAddr, String)>>, CompileError> {
        let items = self.positional(e, "ifurlextup's list")?;
        if items.is_empty() {
            return refuse(e.col, "ifurlextup's list is empty");
        }
        let mut sets = Vec::new();
        for set in items {
            let ExprKind::Table(fields) = &set.kind else {
                return refuse(
                    set.col,
                    "ifurlextup takes a list of tables {['ip']='url', …}",
                );
            };
            let mut entries: Vec<(String, IpAddr, String)> = Vec::new();
            for f in fields {
                let Field::Named { key, value } = f else {
                    return refuse(
                        set.col,
                        "ifurlextup's tables map an address to a URL: {['192.0.2.1']='https://…'}",
                    );
                };
                let Ok(ip) = key.parse::<IpAddr>() else {
                    return refuse(value.col, format!("'{key}' is not an IP address"));
                };
                let url = self.url(value)?;
                entries.retain(|(k, _, _)| k != key);
                entries.push((key.clone(), ip, url));
            }
            // PowerDNS iterates a std::map: sorted by the IP string.
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            sets.push(
                entries
                    .into_iter()
                    .map(|(_, ip, url)| (ip, url))
                    .collect::<Vec<_>>(),
            );
        }
        if sets.iter().all(Vec::is_empty) {
            return refuse(e.col, "every set of ifurlextup is empty");
        }
        Ok(sets)
    }

    fn weighted(&mut self, e: &Expr) -> Result<Weighted, CompileError> {
        let items = self.positional(e, "weighted list")?;
        if items.is_empty() {
            return refuse(e.col, "the weighted list is empty");
        }
        let mut out = Vec::new();
        for it in items {
            let pair = self.positional(it, "weighted entry {weight, value}")?;
            if pair.len() != 2 {
                return refuse(it.col, "each weighted entry must be {weight, 'value'}");
            }
            let w = atoi(&self.text(pair[0], "the weight")?);
            if w <= 0 {
                return refuse(pair[0].col, format!("weight {w} is not positive"));
            }
            out.push((w as u64, self.text(pair[1], "the value")?));
        }
        Ok(Weighted { items: out })
    }

    fn masks(&mut self, e: &Expr) -> Result<Vec<Netmask>, CompileError> {
        let items = self.positional(e, "netmask list")?;
        items
            .into_iter()
            .map(|v| {
                let s = self.text(v, "a netmask")?;
                Netmask::parse(&s)
                    .map_or_else(|| refuse(v.col, format!("'{s}' is not a netmask")), Ok)
            })
            .collect()
    }

    fn view(&mut self, e: &Expr) -> Result<Vec<ViewRule>, CompileError> {
        let rules = self.positional(e, "view rules")?;
        let mut out = Vec::new();
        for r in rules {
            let parts = self.positional(r, "view rule {{masks}, {values}}")?;
            if parts.len() < 2 {
                return refuse(r.col, "a view rule needs {{masks}, {values}}");
            }
            let masks = self.masks(parts[0])?;
            let values = self.list(parts[1], "view values", true)?;
            if values.is_empty() {
                return refuse(
                    parts[1].col,
                    "a view rule's value list is empty (PowerDNS SERVFAILs when it matches)",
                );
            }
            out.push(ViewRule { masks, values });
        }
        Ok(out)
    }

    fn format(&mut self, e: &Expr, max_arg: usize) -> Result<Format, CompileError> {
        let s = self.text(e, "the format")?;
        let mut parts = Vec::new();
        let mut text = String::new();
        let mut rest = s.as_str();
        while let Some(i) = rest.find('%') {
            text.push_str(&rest[..i]);
            rest = &rest[i + 1..];
            if let Some(r) = rest.strip_prefix('%') {
                text.push('%');
                rest = r;
                continue;
            }
            let end = rest.find('%');
            let n = end.and_then(|j| rest[..j].parse::<usize>().ok());
            match (end, n) {
                (Some(j), Some(n)) if (1..=max_arg).contains(&n) => {
                    if !text.is_empty() {
                        parts.push(FormatPart::Text(std::mem::take(&mut text)));
                    }
                    parts.push(FormatPart::Arg(n));
                    rest = &rest[j + 1..];
                }
                _ => {
                    return refuse(
                        e.col,
                        format!("format '{s}': only %1% to %{max_arg}% and %% are supported"),
                    );
                }
            }
        }
        text.push_str(rest);
        if !text.is_empty() {
            parts.push(FormatPart::Text(text));
        }
        Ok(Format(parts))
    }

    fn exceptions(&mut self, e: &Expr) -> Result<Vec<(IpAddr, String)>, CompileError> {
        let ExprKind::Table(fields) = &e.kind else {
            return refuse(e.col, "exceptions must be a table {['ip']='name'}");
        };
        fields
            .iter()
            .map(|f| match f {
                Field::Named { key, value } => {
                    let Ok(ip) = key.parse::<IpAddr>() else {
                        return refuse(
                            value.col,
                            format!("exception key '{key}' is not an IP address"),
                        );
                    };
                    Ok((ip, self.text(value, "the exception name")?))
                }
                Field::Positional(v) => refuse(
                    v.col,
                    "exceptions map an address to a name: {['192.0.2.1']='host.example.'}",
                ),
            })
            .collect()
    }

    fn options(
        &mut self,
        e: Option<&Expr>,
        func: &str,
        url_check: bool,
    ) -> Result<Arc<CheckOptions>, CompileError> {
        let mut o = CheckOptions::default();
        let Some(e) = e else {
            return Ok(Arc::new(o));
        };
        let ExprKind::Table(fields) = &e.kind else {
            return refuse(
                e.col,
                format!("{func}'s options must be a table, found {}", kind_name(e)),
            );
        };
        for f in fields {
            let Field::Named { key, value } = f else {
                return refuse(e.col, "options must be key = value pairs");
            };
            let col = value.col;
            if key == "headers" {
                if !url_check {
                    return refuse(
                        col,
                        format!("option 'headers' applies to URL checks only, not {func}()"),
                    );
                }
                let ExprKind::Table(hs) = &value.kind else {
                    return refuse(col, "headers must be a table of name = 'value'");
                };
                let mut headers = Vec::new();
                for h in hs {
                    let Field::Named {
                        key: name,
                        value: v,
                    } = h
                    else {
                        return refuse(col, "headers must be a table of name = 'value'");
                    };
                    headers.push((name.replace('_', "-"), self.text(v, "a header value")?));
                }
                headers.sort();
                let canon = headers
                    .iter()
                    .map(|(n, v)| format!("{n}: {v}"))
                    .collect::<Vec<_>>()
                    .join("\n");
                o.raw.insert(key.clone(), canon);
                o.headers = headers;
                continue;
            }
            let v = match &value.kind {
                ExprKind::Str(s) => s.clone(),
                ExprKind::Num(n) => lua_number(*n),
                ExprKind::Bool(_) => {
                    return refuse(
                        col,
                        format!("option {key}: a boolean is not accepted, quote it ('true')"),
                    );
                }
                _ => return refuse(col, format!("option {key} must be a string or a number")),
            };
            match key.as_str() {
                "selector" | "backupSelector" => {
                    let sel = match Selector::from_name(&v) {
                        Some(s) => s,
                        None => {
                            self.warnings.push(format!(
                                "unknown {key} '{v}': using 'random', as PowerDNS does"
                            ));
                            Selector::Random
                        }
                    };
                    if sel == Selector::PickFirst {
                        self.warnings.push(format!(
                            "{key}='pickfirst' is a dnsd extension: a PowerDNS server answering the same name picks at random"
                        ));
                    }
                    if key == "selector" {
                        o.selector = sel;
                    } else {
                        o.backup_selector = sel;
                    }
                }
                "source" => match v.parse::<IpAddr>() {
                    Ok(a) => o.source = Some(a),
                    Err(_) => {
                        return refuse(col, format!("option source: '{v}' is not an IP address"));
                    }
                },
                "timeout" => o.timeout_secs = atoi(&v),
                "interval" => o.interval_secs = u64::try_from(atoi(&v)).ok().filter(|&i| i > 0),
                "minimumFailures" => {
                    o.minimum_failures = u32::try_from(atoi(&v).max(1)).unwrap_or(u32::MAX)
                }
                "failOnIncompleteCheck" => o.fail_on_incomplete_check = v == "true",
                "stringmatch" | "useragent" | "byteslimit" | "httpcode" if !url_check => {
                    return refuse(
                        col,
                        format!("option '{key}' applies to URL checks only, not {func}()"),
                    );
                }
                "stringmatch" => o.stringmatch = Some(v.clone()),
                "useragent" => o.useragent = v.clone(),
                "byteslimit" => o.byteslimit = u64::try_from(atoi(&v)).unwrap_or(0),
                "httpcode" => o.httpcode = atoi(&v),
                _ => {
                    return refuse(
                        col,
                        format!("unknown option '{key}' (known: {OPTION_NAMES})"),
                    );
                }
            }
            o.raw.insert(key.clone(), v);
        }
        Ok(Arc::new(o))
    }
}

fn kind_name(e: &Expr) -> &'static str {
    match e.kind {
        ExprKind::Call { .. } => "a function call",
        ExprKind::Str(_) => "a string",
        ExprKind::Num(_) => "a number",
        ExprKind::Bool(_) => "a boolean",
        ExprKind::Nil => "nil",
        ExprKind::Table(_) => "a table",
    }
}
