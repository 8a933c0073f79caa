//! `resolve(name, type)` in the script environment, as PowerDNS offers it:
//! a table of the answer's records, each an object with `:toString()`
//! (its RDATA in zone-file format), `:content()`, `:qname()`, `:qtype()`,
//! `:qclass()` and `:ttl()`, as PowerDNS's `DNSResourceRecord`. So
//! PowerDNS's idiom, `for _, r in ipairs(resolve('x.example.net',
//! pdns.A)) do table.insert(t, r:toString()) end`, works unchanged.
//!
//! dnsd also takes the records themselves where record data is expected:
//! `;return resolve('x.example.net', pdns.A)` answers with the addresses,
//! and a record passed to a function (`pickrandom(resolve(...))`) counts
//! as its text. The type may be a number (`pdns.A`, `1`) or a mnemonic
//! (`'A'`).
//!
//! The lookup itself never waits on the network past the resolver's bound
//! (`dynamic::resolver`); when it has no answer the call raises an error,
//! which fails the evaluation (SERVFAIL) unless the script catches it.

use mlua::{AnyUserData, Lua, MetaMethod, Table, UserData, UserDataMethods, Value};

use super::objects::{DnsName, parse_name};
use crate::dynamic::resolver::{self, Resolved};
use crate::wire::{Name, RType};

/// One record of an answer, as a script sees it.
pub(crate) struct Record(pub Resolved);

impl UserData for Record {
    fn add_methods<M: UserDataMethods<Self>>(m: &mut M) {
        for name in ["toString", "tostring", "content"] {
            m.add_method(name, |_, this, ()| Ok(this.0.content.clone()));
        }
        m.add_method("qname", |_, this, ()| Ok(DnsName(this.0.owner.clone())));
        m.add_method("qtype", |_, this, ()| Ok(this.0.rtype.0));
        m.add_method("qclass", |_, _, ()| Ok(1u16));
        m.add_method("ttl", |_, this, ()| Ok(this.0.ttl));
        m.add_meta_method(MetaMethod::ToString, |_, this, ()| {
            Ok(this.0.content.clone())
        });
        m.add_meta_method(MetaMethod::Eq, |_, this, other: AnyUserData| {
            Ok(other.borrow::<Record>().is_ok_and(|o| {
                o.0.rtype == this.0.rtype
                    && o.0.owner == this.0.owner
                    && o.0.content == this.0.content
            }))
        });
    }
}

/// Registers `resolve` in `base`.
pub(crate) fn install(lua: &Lua, base: &Table) -> mlua::Result<()> {
    base.raw_set(
        "resolve",
        lua.create_function(|lua, (name, qtype): (Value, Value)| {
            let name = name_arg(&name)?;
            let rtype = rtype_arg(&qtype)?;
            let answers = resolver::lookup(&name, rtype)
                .map_err(|e| mlua::Error::runtime(format!("resolve('{name}'): {e}")))?;
            let records = lua.create_table_with_capacity(answers.len(), 0)?;
            for (i, record) in answers.iter().enumerate() {
                records.raw_set(i + 1, Record(record.clone()))?;
            }
            Ok(records)
        })?,
    )
}

/// A record passed where record data is expected: its text.
pub(crate) fn record_text(ud: &AnyUserData) -> Option<String> {
    ud.borrow::<Record>().ok().map(|r| r.0.content.clone())
}

fn name_arg(v: &Value) -> mlua::Result<Name> {
    match v {
        Value::String(s) => parse_name(&s.to_str()?),
        Value::UserData(ud) => Ok(ud.borrow::<DnsName>()?.0.clone()),
        other => Err(mlua::Error::runtime(format!(
            "resolve: the name must be a string, not a {}",
            other.type_name()
        ))),
    }
}

/// A type number (`pdns.A`) or mnemonic (`'A'`, `'TYPE65'`).
fn rtype_arg(v: &Value) -> mlua::Result<RType> {
    let rtype = match v {
        Value::Integer(n) => u16::try_from(*n).ok().map(RType),
        Value::Number(n) if n.fract() == 0.0 && (0.0..=65535.0).contains(n) => {
            Some(RType(*n as u16))
        }
        Value::String(s) => RType::from_text(&s.to_str()?),
        _ => None,
    };
    rtype.filter(|t| t.0 != 0 && !t.is_meta()).ok_or_else(|| {
        mlua::Error::runtime("resolve: the type must be a record type number or name")
    })
}

#[cfg(test)]
mod tests {
    use super::super::{Mode, Script, run_in, texts};
    use super::*;
    use crate::dynamic::eval::{AllUp, EvalError, Value as NativeValue};
    use crate::dynamic::tests::{FakeGeo, Q, rng};

    fn eval(code: &str) -> Result<NativeValue, EvalError> {
        let mode = Mode {
            shared: false,
            exec_limit: 1000,
        };
        let script = Script::record(code).unwrap();
        let q = Q::new("www.example.org.");
        run_in(mode, &script, &q.ctx(), &AllUp, &FakeGeo, &mut rng())
    }

    fn record(content: &str) -> Record {
        Record(Resolved {
            owner: parse_name("cdn.example.net").unwrap(),
            rtype: RType::A,
            ttl: 300,
            content: content.into(),
        })
    }

    #[test]
    fn without_a_resolver_or_with_bad_arguments_the_evaluation_fails() {
        // No test installs the process's resolver.
        let e = eval(";return resolve('svc.example.net', pdns.A)").unwrap_err();
        assert!(e.to_string().contains("no resolver is configured"), "{e}");
        for code in [
            ";return resolve('svc.example.net', {})",
            ";return resolve('svc.example.net', 'NOSUCHTYPE')",
            ";return resolve('svc.example.net', 65536)",
            ";return resolve({}, pdns.A)",
            ";return resolve('bad..name', pdns.A)",
        ] {
            assert!(eval(code).is_err(), "{code}");
        }
        // A script may catch the failure and answer something else.
        assert_eq!(
            eval(";local ok = pcall(resolve, 'svc.example.net', 'A') if ok then return '192.0.2.9' end return '192.0.2.8'").unwrap(),
            NativeValue::Texts(vec!["192.0.2.8".into()])
        );
    }

    #[test]
    fn records_read_as_powerdns_records_and_as_their_text() {
        let lua = Lua::new();
        let records = lua
            .create_sequence_from([record("192.0.2.1"), record("192.0.2.2")])
            .unwrap();
        lua.globals().set("r", records.clone()).unwrap();
        let seen: String = lua
            .load(
                "local x = r[1] return table.concat({x:toString(), x:content(), tostring(x), \
                 x:qname():toString(), x:qtype(), x:qclass(), x:ttl(), tostring(r[1] == r[1]), \
                 tostring(r[1] == r[2])}, ' ')",
            )
            .eval()
            .unwrap();
        assert_eq!(
            seen,
            "192.0.2.1 192.0.2.1 192.0.2.1 cdn.example.net. 1 1 300 true false"
        );
        // Returned as they are: the addresses.
        assert_eq!(
            texts(Value::Table(records.clone())).unwrap(),
            NativeValue::Texts(vec!["192.0.2.1".into(), "192.0.2.2".into()])
        );
        // Passed to a native function: their text.
        let rendered = super::super::render::call("pickrandom", &[Value::Table(records)]).unwrap();
        assert_eq!(rendered, "pickrandom({'192.0.2.1','192.0.2.2'})");
    }
}
