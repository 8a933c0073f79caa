//! Types whose RDATA is a single domain name: NS, CNAME, PTR, DNAME.

use super::RdataError;
use super::reader::Reader;
use super::text::Cursor;
use crate::wire::Name;

pub(crate) fn parse(
    cur: &mut Cursor<'_, '_>,
    origin: &Name,
    out: &mut Vec<u8>,
) -> Result<(), RdataError> {
    let name = cur.name("target name", origin)?;
    out.extend_from_slice(name.as_wire());
    Ok(())
}

pub(crate) fn print(r: &mut Reader<'_>, out: &mut String) -> Result<(), RdataError> {
    out.push_str(&r.name()?.to_string());
    Ok(())
}
