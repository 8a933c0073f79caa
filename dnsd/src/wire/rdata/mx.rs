//! MX (RFC 1035 §3.3.9): preference and exchange.

use super::RdataError;
use super::reader::Reader;
use super::text::Cursor;
use crate::wire::Name;

pub(crate) fn parse(
    cur: &mut Cursor<'_, '_>,
    origin: &Name,
    out: &mut Vec<u8>,
) -> Result<(), RdataError> {
    out.extend_from_slice(&cur.u16("MX preference")?.to_be_bytes());
    out.extend_from_slice(cur.name("MX exchange", origin)?.as_wire());
    Ok(())
}

pub(crate) fn print(r: &mut Reader<'_>, out: &mut String) -> Result<(), RdataError> {
    let pref = r.u16()?;
    let exchange = r.name()?;
    out.push_str(&format!("{pref} {exchange}"));
    Ok(())
}
