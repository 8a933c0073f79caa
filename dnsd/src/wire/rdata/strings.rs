//! Types made of character-strings: TXT and SPF (RFC 1035 §3.3.14, RFC 7208)
//! and HINFO (RFC 1035 §3.3.2). Output is always quoted, as BIND and
//! PowerDNS print it.

use super::reader::Reader;
use super::text::{Cursor, push_charstr, quoted_into, space};
use super::{RdataError, Token};
use crate::wire::Name;

pub(crate) fn parse_txt(
    cur: &mut Cursor<'_, '_>,
    _: &Name,
    out: &mut Vec<u8>,
) -> Result<(), RdataError> {
    let rest = cur.rest();
    if rest.is_empty() {
        return Err(RdataError::Missing("TXT character-string"));
    }
    push_all(rest, out)
}

/// Appends every token as a character-string.
pub(crate) fn push_all(tokens: &[Token<'_>], out: &mut Vec<u8>) -> Result<(), RdataError> {
    for token in tokens {
        push_charstr(token.bytes(), out)?;
    }
    Ok(())
}

pub(crate) fn print_txt(r: &mut Reader<'_>, out: &mut String) -> Result<(), RdataError> {
    if r.is_empty() {
        return Err(r.fault("no character-string"));
    }
    print_all(r, out)
}

/// Prints every remaining character-string, quoted, space separated.
pub(crate) fn print_all(r: &mut Reader<'_>, out: &mut String) -> Result<(), RdataError> {
    while !r.is_empty() {
        let s = r.charstr()?;
        space(out);
        quoted_into(s, out);
    }
    Ok(())
}

pub(crate) fn parse_hinfo(
    cur: &mut Cursor<'_, '_>,
    _: &Name,
    out: &mut Vec<u8>,
) -> Result<(), RdataError> {
    cur.charstr("HINFO CPU", out)?;
    cur.charstr("HINFO OS", out)
}

pub(crate) fn print_hinfo(r: &mut Reader<'_>, out: &mut String) -> Result<(), RdataError> {
    quoted_into(r.charstr()?, out);
    out.push(' ');
    quoted_into(r.charstr()?, out);
    Ok(())
}
