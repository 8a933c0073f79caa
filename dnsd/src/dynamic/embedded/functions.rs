//! PowerDNS's LUA-record environment for embedded scripts: the function
//! table (lua-records.md, PowerDNS's `setupLuaRecords`), the objects'
//! constructors, the per-query variables and the constants.
//!
//! Every function the native compiler knows is registered as a bridge: its
//! arguments are rendered to native expression text (`render.rs`), compiled
//! by `rule::compile_expr` (cached per thread by that text) and evaluated by
//! `eval::evaluate_rule`, against the same health checker and GeoIP as a
//! native record. So `ifportup` behaves the same whichever engine runs it.
//! The functions only a Lua runtime can offer (`include`, `dblookup`,
//! `newCA`, `geoiplookup`, …) are written here; `resolve` in resolve.rs.

use std::cell::RefCell;
use std::net::IpAddr;
use std::sync::Arc;

use mlua::{Lua, MultiValue, Table, Value};
use rustc_hash::FxHashMap;

use super::frame::{self, Frame};
use super::objects::{
    self, AddressSet, ComboAddress, DnsName, LuaNetmask, NetmaskGroup, mlua_text, parse_name,
};
use super::render;
use crate::dynamic::eval::{self, Value as NativeValue};
use crate::dynamic::hash::burtle_ci;
use crate::dynamic::rule::{self, Rule};
use crate::wire::RType;

/// What a bridged function returns to Lua.
#[derive(Clone, Copy)]
enum Returns {
    /// One string (PowerDNS returns `string`).
    One,
    /// A table of strings (PowerDNS returns `vector<string>`).
    List,
    /// A boolean (the geo and netmask predicates).
    Bool,
}

/// The native functions, with what each returns in PowerDNS.
const BRIDGED: &[(&str, Returns)] = &[
    ("ifportup", Returns::List),
    ("ifurlup", Returns::List),
    ("ifurlextup", Returns::List),
    ("pickselfweighted", Returns::One),
    ("pickrandom", Returns::One),
    ("pickrandomsample", Returns::List),
    ("pickhashed", Returns::One),
    ("pickwhashed", Returns::One),
    ("picknamehashed", Returns::One),
    ("pickwrandom", Returns::One),
    ("pickchashed", Returns::One),
    ("pickclosest", Returns::One),
    ("closestMagic", Returns::One),
    ("latlon", Returns::One),
    ("latlonloc", Returns::One),
    ("all", Returns::List),
    ("view", Returns::One),
    ("country", Returns::Bool),
    ("continent", Returns::Bool),
    ("region", Returns::Bool),
    ("asnum", Returns::Bool),
    ("netmask", Returns::Bool),
    ("countryCode", Returns::One),
    ("continentCode", Returns::One),
    ("regionCode", Returns::One),
    ("createReverse", Returns::One),
    ("createReverse6", Returns::One),
    ("createForward", Returns::One),
    ("createForward6", Returns::One),
    ("filterForward", Returns::List),
];

/// Most compiled calls kept per thread; past it the cache starts over.
const MAX_CACHED_CALLS: usize = 4096;

thread_local! {
    /// Compiled native calls by their rendered text (FxHash: the texts come
    /// from zone content, and SipHash showed in the profile).
    static CALLS: RefCell<FxHashMap<String, Result<Arc<Rule>, String>>> = RefCell::new(FxHashMap::default());
    /// The buffer calls are rendered into; a cache hit allocates nothing.
    static RENDERED: RefCell<String> = RefCell::new(String::with_capacity(128));
}

/// Fills `base` with the environment.
pub(crate) fn install(lua: &Lua, base: &Table) -> mlua::Result<()> {
    for &(name, returns) in BRIDGED {
        let f = lua.create_function(move |lua, mut args: MultiValue| {
            let rule =
                rendered_rule(name, args.make_contiguous()).map_err(|e| arg_error(name, &e))?;
            let value = in_frame(|f| {
                eval::evaluate_rule(&rule, f.q, f.health, f.geo, &mut f.rng.borrow_mut())
            })?
            .map_err(|e| mlua::Error::runtime(format!("{name}: {e}")))?;
            to_lua(lua, value, returns)
        })?;
        base.raw_set(name, f)?;
    }
    install_objects(lua, base)?;
    install_data(lua, base)?;
    install_geo(lua, base)?;
    super::resolve::install(lua, base)?;
    base.raw_set("GeoIPQueryAttribute", geoip_attributes(lua)?)?;
    base.raw_set("pdns", pdns_constants(lua)?)?;
    // Lua's `print`, which PowerDNS leaves to scripts (its docs' examples
    // call it), goes to the log: dnsd has no stdout to write to.
    base.raw_set(
        "print",
        lua.create_function(|_, args: MultiValue| {
            let parts: Vec<String> = args
                .iter()
                .map(|v| match v {
                    Value::String(s) => s.to_string_lossy(),
                    Value::Integer(i) => i.to_string(),
                    Value::Number(n) => eval::format_g(*n, 14),
                    Value::Boolean(b) => b.to_string(),
                    other => other.type_name().to_string(),
                })
                .collect();
            tracing::info!(target: "dnsd::lua", "{}", parts.join("\t"));
            Ok(())
        })?,
    )?;
    // `pdnsrandom([n])`: below `n` when given, else any 32-bit number.
    base.raw_set(
        "pdnsrandom",
        lua.create_function(|_, upper: Option<u32>| {
            in_frame(|f| {
                let mut rng = f.rng.borrow_mut();
                match upper {
                    Some(n) if n > 0 => rng.u32(..n),
                    _ => rng.u32(..),
                }
            })
        })?,
    )?;
    base.raw_set(
        "pdnslog",
        lua.create_function(|_, (msg, _level): (String, Option<i64>)| {
            tracing::info!(target: "dnsd::lua", "{msg}");
            Ok(())
        })?,
    )?;
    Ok(())
}

/// The per-query variables, read lazily (most scripts use one or two):
/// the `__index` of the base environment.
pub(crate) fn variable(lua: &Lua, key: &str) -> mlua::Result<Value> {
    let value = frame::with(|f| -> mlua::Result<Value> {
        let q = f.q;
        Ok(match key {
            "who" => Value::UserData(lua.create_userdata(ComboAddress::new(q.who.to_canonical()))?),
            "bestwho" => Value::UserData(lua.create_userdata(ComboAddress::new(q.bestwho()))?),
            "ecswho" => match q.ecs {
                Some(e) => Value::UserData(lua.create_userdata(LuaNetmask(rule::Netmask {
                    addr: q.bestwho(),
                    len: e.source_prefix,
                }))?),
                None => Value::Nil,
            },
            "qname" => Value::UserData(lua.create_userdata(DnsName(q.qname.clone()))?),
            "zone" => Value::UserData(lua.create_userdata(DnsName(q.zone.clone()))?),
            "dh" => Value::UserData(lua.create_userdata(objects::DnsHeader {
                id: q.request.id,
                flags: q.request.flags,
            })?),
            "tcp" => Value::Boolean(q.request.tcp),
            "dnssecOK" => Value::Boolean(q.request.dnssec_ok),
            "ednsPKTSize" => Value::Integer(i64::from(q.request.edns_size)),
            // A stable number per zone: dnsd has no backend ids.
            "zoneid" => Value::Integer(i64::from(burtle_ci(q.zone.as_wire(), 0) >> 1)),
            _ => Value::Nil,
        })
    });
    value.unwrap_or(Ok(Value::Nil))
}

fn arg_error(name: &str, reason: &str) -> mlua::Error {
    mlua::Error::runtime(format!("{name}: {reason}"))
}

/// The compiled rule of the call `name(args)`: rendered into the thread's
/// buffer, then looked up (rendering reads tables raw and runs no Lua, so
/// the buffer is never borrowed twice; if it were, a fresh one is used).
fn rendered_rule(name: &str, args: &[Value]) -> Result<Arc<Rule>, String> {
    RENDERED.with(|buf| match buf.try_borrow_mut() {
        Ok(mut text) => {
            text.clear();
            render::call_into(&mut text, name, args)?;
            compiled(&text)
        }
        Err(_) => {
            let mut text = String::new();
            render::call_into(&mut text, name, args)?;
            compiled(&text)
        }
    })
}

/// The rule for a rendered call, compiled once per thread.
fn compiled(text: &str) -> Result<Arc<Rule>, String> {
    CALLS.with(|cache| {
        let mut cache = cache.borrow_mut();
        if let Some(hit) = cache.get(text) {
            return hit.clone();
        }
        if cache.len() >= MAX_CACHED_CALLS {
            cache.clear();
        }
        let compiled = rule::compile_expr(text)
            .map(|(rule, _warnings)| Arc::new(rule))
            .map_err(|e| e.reason);
        cache.insert(text.to_string(), compiled.clone());
        compiled
    })
}

/// Runs `f` with the current frame; a function called outside an
/// evaluation (there is none) is an error.
fn in_frame<R>(f: impl for<'x> FnOnce(&'x Frame<'x>) -> R) -> mlua::Result<R> {
    frame::with(f).ok_or_else(|| mlua::Error::runtime("called outside a query"))
}

fn to_lua(lua: &Lua, value: NativeValue, returns: Returns) -> mlua::Result<Value> {
    Ok(match (value, returns) {
        (NativeValue::Bool(b), _) => Value::Boolean(b),
        (NativeValue::Texts(texts), Returns::List) => {
            Value::Table(lua.create_sequence_from(texts)?)
        }
        (NativeValue::Texts(mut texts), _) => {
            Value::String(lua.create_string(texts.drain(..).next().unwrap_or_default())?)
        }
    })
}

fn install_objects(lua: &Lua, base: &Table) -> mlua::Result<()> {
    base.raw_set(
        "newCA",
        lua.create_function(|_, text: String| {
            ComboAddress::parse(&text)
                .ok_or_else(|| mlua::Error::runtime(format!("newCA: '{text}' is not an address")))
        })?,
    )?;
    base.raw_set(
        "newCAFromRaw",
        lua.create_function(|_, (raw, port): (mlua::LuaString, Option<u16>)| {
            Ok(objects::from_raw(&raw.as_bytes(), port))
        })?,
    )?;
    base.raw_set(
        "newCAS",
        lua.create_function(|_, ()| Ok(AddressSet::default()))?,
    )?;
    base.raw_set(
        "newDN",
        lua.create_function(|_, text: String| Ok(DnsName(parse_name(&text)?)))?,
    )?;
    base.raw_set(
        "newNMG",
        lua.create_function(|_, masks: Option<Vec<String>>| NetmaskGroup::from_masks(masks))?,
    )?;
    base.raw_set(
        "newNetmask",
        lua.create_function(|_, (v, bits): (Value, Option<u8>)| {
            let text = match &v {
                Value::UserData(ud) => ud.borrow::<ComboAddress>()?.addr.to_string(),
                other => mlua_text(other)?,
            };
            let text = match bits {
                Some(b) => format!("{}/{b}", text.split('/').next().unwrap_or_default()),
                None => text,
            };
            rule::Netmask::parse(&text).map(LuaNetmask).ok_or_else(|| {
                mlua::Error::runtime(format!("newNetmask: '{text}' is not a netmask"))
            })
        })?,
    )?;
    Ok(())
}

/// `include()` and `dblookup()`: the served zones.
fn install_data(lua: &Lua, base: &Table) -> mlua::Result<()> {
    base.raw_set(
        "include",
        lua.create_function(|lua, label: String| {
            let (codes, env) = in_frame(|f| {
                let zone = f.q.zone;
                let codes = match parse_name(&format!("{label}.{zone}")) {
                    Ok(name) => f.data.map(|d| d.lua_code(&name)).unwrap_or_default(),
                    Err(e) => {
                        tracing::warn!("include('{label}') in zone {zone}: {e}");
                        Vec::new()
                    }
                };
                (codes, f.env.clone())
            })?;
            for code in codes {
                let chunk = super::chunks::chunk(lua, &code)?;
                chunk.set_environment(env.clone())?;
                chunk.call::<()>(())?;
            }
            Ok(())
        })?,
    )?;
    base.raw_set(
        "dblookup",
        lua.create_function(|lua, (name, qtype): (String, Value)| {
            let rtype = match &qtype {
                Value::Integer(n) => u16::try_from(*n).ok().map(RType),
                Value::Number(n) => Some(RType(*n as u16)),
                Value::String(s) => RType::from_text(&s.to_str()?),
                _ => None,
            }
            .ok_or_else(|| {
                mlua::Error::runtime("dblookup: the type must be a type number or name")
            })?;
            let found = match parse_name(&name) {
                Ok(name) => {
                    in_frame(|f| f.data.map(|d| d.lookup(&name, rtype)).unwrap_or_default())?
                }
                // PowerDNS logs a malformed name and returns nothing.
                Err(_) => Vec::new(),
            };
            lua.create_sequence_from(found)
        })?,
    )?;
    Ok(())
}

fn install_geo(lua: &Lua, base: &Table) -> mlua::Result<()> {
    base.raw_set(
        "geoiplookup",
        lua.create_function(|_, (addr, attr): (String, i64)| {
            let Ok(ip) = addr.parse::<IpAddr>() else {
                return Ok("unknown".to_string());
            };
            in_frame(|f| eval::geo_attribute(&f.geo.locate(ip), attr))
        })?,
    )?;
    base.raw_set(
        "latlonMagic",
        lua.create_function(|_, ()| {
            in_frame(|f| match eval::magic_address(f.q.qname) {
                Some(ip) => eval::geo_attribute(&f.geo.locate(ip), eval::GEO_LOCATION),
                None => "unknown".to_string(),
            })
        })?,
    )?;
    Ok(())
}

/// PowerDNS's `GeoIPQueryAttribute` enum.
fn geoip_attributes(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    for (i, name) in [
        "ASn",
        "City",
        "Continent",
        "Country",
        "Country2",
        "Name",
        "Region",
        "Location",
    ]
    .iter()
    .enumerate()
    {
        t.raw_set(*name, i as i64)?;
    }
    Ok(t)
}

/// The `pdns` table: type numbers (`pdns.A`) and log levels.
fn pdns_constants(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    for (name, code) in [
        ("A", 1),
        ("NS", 2),
        ("CNAME", 5),
        ("SOA", 6),
        ("PTR", 12),
        ("HINFO", 13),
        ("MX", 15),
        ("TXT", 16),
        ("RP", 17),
        ("AAAA", 28),
        ("LOC", 29),
        ("SRV", 33),
        ("NAPTR", 35),
        ("DNAME", 39),
        ("DS", 43),
        ("SSHFP", 44),
        ("RRSIG", 46),
        ("NSEC", 47),
        ("DNSKEY", 48),
        ("NSEC3", 50),
        ("TLSA", 52),
        ("SVCB", 64),
        ("HTTPS", 65),
        ("SPF", 99),
        ("ANY", 255),
        ("CAA", 257),
        ("LUA", 65402),
    ] {
        t.raw_set(name, code)?;
    }
    let levels = lua.create_table()?;
    for (name, level) in [
        ("Alert", 1),
        ("Critical", 2),
        ("Error", 3),
        ("Warning", 4),
        ("Notice", 5),
        ("Info", 6),
        ("Debug", 7),
        ("None", -1),
    ] {
        levels.raw_set(name, level)?;
    }
    t.raw_set("loglevels", levels)?;
    Ok(t)
}
