//! SOA (RFC 1035 §3.3.13). The timers accept BIND units (`1h`, `2w`) and
//! are printed as plain seconds.

use std::fmt::Write as _;

use super::RdataError;
use super::reader::Reader;
use super::text::Cursor;
use crate::wire::Name;

pub(crate) fn parse(
    cur: &mut Cursor<'_, '_>,
    origin: &Name,
    out: &mut Vec<u8>,
) -> Result<(), RdataError> {
    out.extend_from_slice(cur.name("SOA primary server name", origin)?.as_wire());
    out.extend_from_slice(cur.name("SOA responsible mailbox", origin)?.as_wire());
    out.extend_from_slice(&cur.u32("SOA serial")?.to_be_bytes());
    for what in ["SOA refresh", "SOA retry", "SOA expire", "SOA minimum"] {
        out.extend_from_slice(&cur.duration(what)?.to_be_bytes());
    }
    Ok(())
}

pub(crate) fn print(r: &mut Reader<'_>, out: &mut String) -> Result<(), RdataError> {
    let mname = r.name()?;
    let rname = r.name()?;
    let _ = write!(out, "{mname} {rname}");
    for _ in 0..5 {
        let _ = write!(out, " {}", r.u32()?);
    }
    Ok(())
}
