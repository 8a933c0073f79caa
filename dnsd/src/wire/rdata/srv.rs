//! SRV (RFC 2782) and URI (RFC 7553): priority and weight, then a target.

use std::fmt::Write as _;

use super::RdataError;
use super::reader::Reader;
use super::text::{Cursor, quoted_into};
use crate::wire::Name;

pub(crate) fn parse_srv(
    cur: &mut Cursor<'_, '_>,
    origin: &Name,
    out: &mut Vec<u8>,
) -> Result<(), RdataError> {
    out.extend_from_slice(&cur.u16("SRV priority")?.to_be_bytes());
    out.extend_from_slice(&cur.u16("SRV weight")?.to_be_bytes());
    out.extend_from_slice(&cur.u16("SRV port")?.to_be_bytes());
    out.extend_from_slice(cur.name("SRV target", origin)?.as_wire());
    Ok(())
}

pub(crate) fn print_srv(r: &mut Reader<'_>, out: &mut String) -> Result<(), RdataError> {
    let (priority, weight, port) = (r.u16()?, r.u16()?, r.u16()?);
    let target = r.name()?;
    let _ = write!(out, "{priority} {weight} {port} {target}");
    Ok(())
}

/// URI target: the octets fill the rest of the RDATA, with no length prefix.
pub(crate) fn parse_uri(
    cur: &mut Cursor<'_, '_>,
    _: &Name,
    out: &mut Vec<u8>,
) -> Result<(), RdataError> {
    out.extend_from_slice(&cur.u16("URI priority")?.to_be_bytes());
    out.extend_from_slice(&cur.u16("URI weight")?.to_be_bytes());
    let target = cur.next("URI target")?;
    if target.bytes().is_empty() {
        return Err(RdataError::rule("URI target must not be empty"));
    }
    out.extend_from_slice(target.bytes());
    Ok(())
}

pub(crate) fn print_uri(r: &mut Reader<'_>, out: &mut String) -> Result<(), RdataError> {
    let (priority, weight) = (r.u16()?, r.u16()?);
    let target = r.rest();
    if target.is_empty() {
        return Err(r.fault("URI target is empty"));
    }
    let _ = write!(out, "{priority} {weight} ");
    quoted_into(target, out);
    Ok(())
}
