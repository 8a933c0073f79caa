//! Lua values written back as native expression text, so that a call from
//! a script runs through the same compiler and evaluator as a natively
//! compiled record (one implementation of every PowerDNS function).
//!
//! `ifportup(443, {'192.0.2.1'})` called from Lua arrives as a number and a
//! table; rendered, it is the text `ifportup(443,{'192.0.2.1'})`, which
//! `rule::compile_expr` checks exactly as it checks a record's code. Tables
//! render their sequence part first, in order, then their string keys,
//! sorted (Lua's own order is unspecified). Anything the native grammar
//! cannot express (a function, a numeric key outside the sequence) is an
//! argument error, as PowerDNS's type conversion would make it.

use std::fmt::Write;

use mlua::{Table, Value};

use super::objects;

/// Deepest table nesting rendered (the native parser's own bound).
const MAX_DEPTH: usize = crate::dynamic::syntax::MAX_DEPTH;

/// `name(arg, …)` as native expression text.
#[cfg(test)]
pub(crate) fn call(name: &str, args: &[Value]) -> Result<String, String> {
    let mut out = String::with_capacity(64);
    call_into(&mut out, name, args)?;
    Ok(out)
}

/// `name(arg, …)` as native expression text, appended to `out` (a buffer
/// the caller reuses: most calls then allocate nothing).
pub(crate) fn call_into(out: &mut String, name: &str, args: &[Value]) -> Result<(), String> {
    out.push_str(name);
    out.push('(');
    for (i, arg) in args.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        value(out, arg, 0)?;
    }
    out.push(')');
    Ok(())
}

fn value(out: &mut String, v: &Value, depth: usize) -> Result<(), String> {
    match v {
        Value::Nil => out.push_str("nil"),
        Value::Boolean(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Integer(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Number(n) => number(out, *n)?,
        Value::String(s) => string(out, &s.as_bytes()),
        Value::Table(t) => table(out, t, depth)?,
        Value::UserData(ud) => match objects::as_native_text(ud)
            .or_else(|| super::resolve::record_text(ud).map(|text| quoted(&text)))
        {
            Some(text) => out.push_str(&text),
            None => return Err("this object cannot be passed here".into()),
        },
        other => return Err(format!("a {} cannot be passed here", other.type_name())),
    }
    Ok(())
}

fn number(out: &mut String, n: f64) -> Result<(), String> {
    if !n.is_finite() {
        return Err(format!("{n} is not a usable number"));
    }
    if n.fract() == 0.0 && n.abs() < 1e15 {
        let _ = write!(out, "{}", n as i64);
    } else {
        let _ = write!(out, "{n}");
    }
    Ok(())
}

/// `text` as a single-quoted literal.
fn quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    string(&mut out, text.as_bytes());
    out
}

/// A single-quoted literal; bytes outside printable ASCII as `\ddd`.
fn string(out: &mut String, bytes: &[u8]) {
    out.push('\'');
    for &b in bytes {
        match b {
            b'\\' | b'\'' => {
                out.push('\\');
                out.push(b as char);
            }
            0x20..=0x7e => out.push(b as char),
            _ => {
                let _ = write!(out, "\\{b:03}");
            }
        }
    }
    out.push('\'');
}

fn table(out: &mut String, t: &Table, depth: usize) -> Result<(), String> {
    if depth >= MAX_DEPTH {
        return Err("tables nested too deeply".into());
    }
    out.push('{');
    let len = t.raw_len();
    let mut first = true;
    for i in 1..=len {
        let v: Value = t.raw_get(i).map_err(|e| e.to_string())?;
        if !first {
            out.push(',');
        }
        first = false;
        value(out, &v, depth + 1)?;
    }
    let mut keyed: Vec<(Vec<u8>, Value)> = Vec::new();
    for pair in t.pairs::<Value, Value>() {
        let (k, v) = pair.map_err(|e| e.to_string())?;
        match k {
            Value::Integer(i) if i >= 1 && (i as usize) <= len => {}
            Value::Number(n) if n >= 1.0 && n.fract() == 0.0 && (n as usize) <= len => {}
            Value::String(s) => keyed.push((s.as_bytes().to_vec(), v)),
            other => {
                return Err(format!(
                    "a table key of type {} cannot be passed here",
                    other.type_name()
                ));
            }
        }
    }
    keyed.sort_by(|a, b| a.0.cmp(&b.0));
    for (k, v) in keyed {
        if !first {
            out.push(',');
        }
        first = false;
        out.push('[');
        string(out, &k);
        out.push_str("]=");
        value(out, &v, depth + 1)?;
    }
    out.push('}');
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use mlua::Lua;

    #[test]
    fn renders_calls_as_the_native_grammar_reads_them() {
        let lua = Lua::new();
        let t: Table = lua
            .load("return {'192.0.2.1', 'a\\'b', 3, selector='all', ['x y']=1.5}")
            .eval()
            .unwrap();
        let text = call("f", &[Value::Integer(443), Value::Table(t)]).unwrap();
        assert_eq!(
            text,
            "f(443,{'192.0.2.1','a\\'b',3,['selector']='all',['x y']=1.5})"
        );
        let bin = lua.create_string([0u8, 200]).unwrap();
        assert_eq!(call("g", &[Value::String(bin)]).unwrap(), "g('\\000\\200')");
    }

    #[test]
    fn refuses_what_the_grammar_cannot_express() {
        let lua = Lua::new();
        let f: Value = lua.load("return function() end").eval().unwrap();
        assert!(call("f", &[f]).is_err());
        let t: Value = lua.load("return {[7]='x'}").eval().unwrap();
        assert!(call("f", &[t]).is_err());
        let deep: Value = lua
            .load("local t = {} for i = 1, 100 do t = {t} end return t")
            .eval()
            .unwrap();
        assert!(call("f", &[deep]).is_err());
    }
}
