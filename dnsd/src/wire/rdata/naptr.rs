//! NAPTR (RFC 3403): order, preference, flags, services, regexp, replacement.

use std::fmt::Write as _;

use super::RdataError;
use super::reader::Reader;
use super::text::{Cursor, quoted_into};
use crate::wire::Name;

pub(crate) fn parse(
    cur: &mut Cursor<'_, '_>,
    origin: &Name,
    out: &mut Vec<u8>,
) -> Result<(), RdataError> {
    out.extend_from_slice(&cur.u16("NAPTR order")?.to_be_bytes());
    out.extend_from_slice(&cur.u16("NAPTR preference")?.to_be_bytes());
    cur.charstr("NAPTR flags", out)?;
    cur.charstr("NAPTR services", out)?;
    cur.charstr("NAPTR regexp", out)?;
    out.extend_from_slice(cur.name("NAPTR replacement", origin)?.as_wire());
    Ok(())
}

pub(crate) fn print(r: &mut Reader<'_>, out: &mut String) -> Result<(), RdataError> {
    let (order, pref) = (r.u16()?, r.u16()?);
    let _ = write!(out, "{order} {pref}");
    for _ in 0..3 {
        out.push(' ');
        quoted_into(r.charstr()?, out);
    }
    let _ = write!(out, " {}", r.name()?);
    Ok(())
}
