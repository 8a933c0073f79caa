//! SVCB and HTTPS (RFC 9460): priority, target, then SvcParams.
//!
//! Presentation: `key=value` tokens in any order, values optionally quoted
//! (the lexer keeps `key="a b"` as one token). Wire: params sorted by key,
//! each key at most once (§2.2). The printer is also the wire validator, so
//! it checks the same rules the parser enforces: increasing keys, values of
//! the right shape, every `mandatory` key present (§8), and `alpn` present
//! when `no-default-alpn` is (§7.1.1).

use std::fmt::Write as _;
use std::net::{Ipv4Addr, Ipv6Addr};

use data_encoding::BASE64;

use super::RdataError;
use super::reader::Reader;
use super::text::{Cursor, escape_into, push_charstr};
use crate::wire::Name;

const MANDATORY: u16 = 0;
const ALPN: u16 = 1;
const NO_DEFAULT_ALPN: u16 = 2;
const PORT: u16 = 3;
const IPV4HINT: u16 = 4;
const ECH: u16 = 5;
const IPV6HINT: u16 = 6;
const DOHPATH: u16 = 7;
const OHTTP: u16 = 8;
/// "Invalid key" (§14.3.2): never allowed.
const INVALID: u16 = 65535;

const NAMES: [(u16, &str); 9] = [
    (MANDATORY, "mandatory"),
    (ALPN, "alpn"),
    (NO_DEFAULT_ALPN, "no-default-alpn"),
    (PORT, "port"),
    (IPV4HINT, "ipv4hint"),
    (ECH, "ech"),
    (IPV6HINT, "ipv6hint"),
    (DOHPATH, "dohpath"),
    (OHTTP, "ohttp"),
];

fn key_text(key: u16) -> String {
    match NAMES.iter().find(|(k, _)| *k == key) {
        Some((_, name)) => (*name).to_string(),
        None => format!("key{key}"),
    }
}

/// A key as written: a registered name or `keyNNNNN`.
fn key_from_text(text: &[u8]) -> Result<u16, RdataError> {
    let shown = || String::from_utf8_lossy(text).into_owned();
    if let Some((key, _)) = NAMES.iter().find(|(_, name)| name.as_bytes() == text) {
        return Ok(*key);
    }
    let digits = text
        .strip_prefix(b"key")
        .ok_or_else(|| RdataError::invalid("SvcParamKey", shown()))?;
    if digits.is_empty() || digits.len() > 5 || !digits.iter().all(u8::is_ascii_digit) {
        return Err(RdataError::invalid("SvcParamKey", shown()));
    }
    let value = digits
        .iter()
        .fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0'));
    match u16::try_from(value) {
        Ok(key) if key != INVALID => Ok(key),
        _ => Err(RdataError::range("SvcParamKey", shown())),
    }
}

pub(crate) fn parse(
    cur: &mut Cursor<'_, '_>,
    origin: &Name,
    out: &mut Vec<u8>,
) -> Result<(), RdataError> {
    out.extend_from_slice(&cur.u16("SVCB priority")?.to_be_bytes());
    out.extend_from_slice(cur.name("SVCB target name", origin)?.as_wire());
    let mut params: Vec<(u16, Vec<u8>)> = Vec::new();
    for token in cur.rest() {
        let bytes = token.bytes();
        let (key, value) = match bytes.iter().position(|&b| b == b'=') {
            Some(i) => (&bytes[..i], Some(&bytes[i + 1..])),
            None => (bytes, None),
        };
        let key = key_from_text(key)?;
        params.push((key, encode_value(key, value)?));
    }
    params.sort_by_key(|(key, _)| *key);
    if let Some(pair) = params.windows(2).find(|p| p[0].0 == p[1].0) {
        return Err(RdataError::rule(format!(
            "SvcParamKey {} appears more than once",
            key_text(pair[0].0)
        )));
    }
    let keys: Vec<u16> = params.iter().map(|(k, _)| *k).collect();
    if let Some((_, list)) = params.iter().find(|(k, _)| *k == MANDATORY) {
        check_mandatory(list, &keys).map_err(RdataError::Rule)?;
    }
    check_no_default_alpn(&keys).map_err(RdataError::Rule)?;
    for (key, value) in params {
        let len = u16::try_from(value.len()).map_err(|_| RdataError::TooLong(value.len()))?;
        out.extend_from_slice(&key.to_be_bytes());
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(&value);
    }
    Ok(())
}

/// `mandatory` (wire form) names only keys that are present (§8).
fn check_mandatory(list: &[u8], keys: &[u16]) -> Result<(), String> {
    for pair in list.chunks_exact(2) {
        let key = u16::from_be_bytes([pair[0], pair[1]]);
        if !keys.contains(&key) {
            return Err(format!(
                "mandatory lists {}, which is not present",
                key_text(key)
            ));
        }
    }
    Ok(())
}

fn check_no_default_alpn(keys: &[u16]) -> Result<(), String> {
    if keys.contains(&NO_DEFAULT_ALPN) && !keys.contains(&ALPN) {
        return Err("no-default-alpn requires alpn".into());
    }
    Ok(())
}

/// Encodes one presentation value (escapes already decoded by the lexer).
fn encode_value(key: u16, value: Option<&[u8]>) -> Result<Vec<u8>, RdataError> {
    let name = key_text(key);
    let required = || -> Result<&[u8], RdataError> {
        value
            .filter(|v| !v.is_empty())
            .ok_or_else(|| RdataError::rule(format!("SvcParam {name} needs a value")))
    };
    let text = |v: &[u8]| String::from_utf8_lossy(v).into_owned();
    let mut out = Vec::new();
    match key {
        MANDATORY => {
            let mut listed = Vec::new();
            for item in required()?.split(|&b| b == b',') {
                let k = key_from_text(item)?;
                if k == MANDATORY {
                    return Err(RdataError::rule("mandatory must not list mandatory"));
                }
                if listed.contains(&k) {
                    return Err(RdataError::rule(format!(
                        "mandatory lists {} twice",
                        key_text(k)
                    )));
                }
                listed.push(k);
            }
            listed.sort_unstable();
            for k in listed {
                out.extend_from_slice(&k.to_be_bytes());
            }
        }
        ALPN => {
            for id in split_value_list(required()?) {
                if id.is_empty() {
                    return Err(RdataError::rule("alpn has an empty protocol id"));
                }
                push_charstr(&id, &mut out)?;
            }
        }
        NO_DEFAULT_ALPN | OHTTP => {
            if value.is_some_and(|v| !v.is_empty()) {
                return Err(RdataError::rule(format!("SvcParam {name} takes no value")));
            }
        }
        PORT => {
            let v = required()?;
            let port = std::str::from_utf8(v)
                .ok()
                .filter(|s| s.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|s| s.parse::<u16>().ok())
                .ok_or_else(|| RdataError::invalid("SVCB port", text(v)))?;
            out.extend_from_slice(&port.to_be_bytes());
        }
        IPV4HINT => {
            for item in required()?.split(|&b| b == b',') {
                let addr: Ipv4Addr = text(item)
                    .parse()
                    .map_err(|_| RdataError::invalid("ipv4hint address", text(item)))?;
                out.extend_from_slice(&addr.octets());
            }
        }
        IPV6HINT => {
            for item in required()?.split(|&b| b == b',') {
                let addr: Ipv6Addr = text(item)
                    .parse()
                    .map_err(|_| RdataError::invalid("ipv6hint address", text(item)))?;
                out.extend_from_slice(&addr.octets());
            }
        }
        ECH => {
            let v = required()?;
            out = BASE64
                .decode(v)
                .map_err(|_| RdataError::invalid("ech base64", text(v)))?;
        }
        DOHPATH => {
            let v = required()?;
            if std::str::from_utf8(v).is_err() {
                return Err(RdataError::rule("dohpath must be UTF-8"));
            }
            out.extend_from_slice(v);
        }
        _ => out.extend_from_slice(value.unwrap_or_default()),
    }
    Ok(out)
}

/// Splits an RFC 9460 Appendix A.1 value-list: items separated by
/// unescaped commas, `\,` and `\\` standing for `,` and `\`.
fn split_value_list(value: &[u8]) -> Vec<Vec<u8>> {
    let mut items = vec![Vec::new()];
    let mut bytes = value.iter();
    while let Some(&b) = bytes.next() {
        match b {
            b',' => items.push(Vec::new()),
            b'\\' => {
                if let (Some(&next), Some(item)) = (bytes.next(), items.last_mut()) {
                    item.push(next);
                }
            }
            _ => {
                if let Some(item) = items.last_mut() {
                    item.push(b);
                }
            }
        }
    }
    items
}

pub(crate) fn print(r: &mut Reader<'_>, out: &mut String) -> Result<(), RdataError> {
    let priority = r.u16()?;
    let target = r.name()?;
    let _ = write!(out, "{priority} {target}");
    let mut keys = Vec::new();
    let mut mandatory: &[u8] = &[];
    while !r.is_empty() {
        let key = r.u16()?;
        let len = r.u16()?;
        let value = r.take(len.into())?;
        if key == INVALID {
            return Err(r.fault("key 65535 is reserved"));
        }
        if keys.last().is_some_and(|&last| last >= key) {
            return Err(r.fault("SvcParamKeys are not in strictly increasing order"));
        }
        keys.push(key);
        if key == MANDATORY {
            mandatory = value;
        }
        out.push(' ');
        out.push_str(&key_text(key));
        print_value(key, value, out)
            .map_err(|reason| r.fault(format!("{}: {reason}", key_text(key))))?;
    }
    check_mandatory(mandatory, &keys).map_err(|e| r.fault(e))?;
    check_no_default_alpn(&keys).map_err(|e| r.fault(e))?;
    Ok(())
}

/// Appends `=value` (or nothing for an empty value where that is allowed).
fn print_value(key: u16, value: &[u8], out: &mut String) -> Result<(), &'static str> {
    let mut text = String::new();
    match key {
        MANDATORY => {
            if value.is_empty() || !value.len().is_multiple_of(2) {
                return Err("bad length");
            }
            let keys: Vec<u16> = value
                .chunks_exact(2)
                .map(|p| u16::from_be_bytes([p[0], p[1]]))
                .collect();
            if keys.contains(&MANDATORY) || keys.windows(2).any(|w| w[0] >= w[1]) {
                return Err("keys must be sorted, unique and not mandatory itself");
            }
            let names: Vec<String> = keys.into_iter().map(key_text).collect();
            text = names.join(",");
        }
        ALPN => {
            let mut rest = value;
            if rest.is_empty() {
                return Err("empty list");
            }
            let mut escaped = Vec::new();
            while let Some((&len, tail)) = rest.split_first() {
                let id = tail.get(..len.into()).ok_or("truncated protocol id")?;
                if id.is_empty() {
                    return Err("empty protocol id");
                }
                if !escaped.is_empty() {
                    escaped.push(b',');
                }
                for &b in id {
                    if b == b',' || b == b'\\' {
                        escaped.push(b'\\');
                    }
                    escaped.push(b);
                }
                rest = &tail[len.into()..];
            }
            escape_into(&escaped, &mut text);
        }
        NO_DEFAULT_ALPN | OHTTP => {
            return if value.is_empty() {
                Ok(())
            } else {
                Err("must be empty")
            };
        }
        PORT => {
            let port: [u8; 2] = value.try_into().map_err(|_| "bad length")?;
            text = u16::from_be_bytes(port).to_string();
        }
        IPV4HINT => {
            if value.is_empty() || !value.len().is_multiple_of(4) {
                return Err("bad length");
            }
            let addrs: Vec<String> = value
                .chunks_exact(4)
                .map(|a| Ipv4Addr::new(a[0], a[1], a[2], a[3]).to_string())
                .collect();
            text = addrs.join(",");
        }
        IPV6HINT => {
            if value.is_empty() || !value.len().is_multiple_of(16) {
                return Err("bad length");
            }
            let mut addrs = Vec::new();
            for a in value.chunks_exact(16) {
                let octets: [u8; 16] = a.try_into().map_err(|_| "bad length")?;
                addrs.push(Ipv6Addr::from(octets).to_string());
            }
            text = addrs.join(",");
        }
        ECH => {
            if value.is_empty() {
                return Err("empty");
            }
            text = BASE64.encode(value);
        }
        DOHPATH => {
            if value.is_empty() || std::str::from_utf8(value).is_err() {
                return Err("must be non-empty UTF-8");
            }
            escape_into(value, &mut text);
        }
        _ => {
            if value.is_empty() {
                return Ok(());
            }
            escape_into(value, &mut text);
        }
    }
    out.push('=');
    if text.bytes().any(|b| matches!(b, b' ' | b';' | b'(' | b')')) {
        out.push('"');
        out.push_str(&text);
        out.push('"');
    } else {
        out.push_str(&text);
    }
    Ok(())
}
