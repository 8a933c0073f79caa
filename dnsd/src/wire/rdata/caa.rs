//! CAA (RFC 8659): flags, tag, and a value that fills the rest of the RDATA.

use std::fmt::Write as _;

use super::RdataError;
use super::reader::Reader;
use super::text::{Cursor, quoted_into};
use crate::wire::Name;

/// RFC 8659 §4.1: tags are 1..=15 ASCII letters and digits.
fn valid_tag(tag: &[u8]) -> bool {
    (1..=15).contains(&tag.len()) && tag.iter().all(u8::is_ascii_alphanumeric)
}

pub(crate) fn parse(
    cur: &mut Cursor<'_, '_>,
    _: &Name,
    out: &mut Vec<u8>,
) -> Result<(), RdataError> {
    out.push(cur.u8("CAA flags")?);
    let tag = cur.next("CAA tag")?;
    if !valid_tag(tag.bytes()) {
        return Err(RdataError::invalid("CAA tag", tag.raw()));
    }
    out.push(tag.bytes().len() as u8); // valid_tag bounds it to 15
    out.extend_from_slice(tag.bytes());
    out.extend_from_slice(cur.next("CAA value")?.bytes());
    Ok(())
}

pub(crate) fn print(r: &mut Reader<'_>, out: &mut String) -> Result<(), RdataError> {
    let flags = r.u8()?;
    let tag = r.charstr()?;
    if !valid_tag(tag) {
        return Err(r.fault("tag must be 1 to 15 letters or digits"));
    }
    // valid_tag admits ASCII only, so this is lossless.
    let _ = write!(out, "{flags} {} ", String::from_utf8_lossy(tag));
    quoted_into(r.rest(), out);
    Ok(())
}
