//! PowerDNS LUA records (type 65402, lua-records.md §1): the produced type,
//! then the code as TXT-style character-strings. The code is kept verbatim;
//! compiling it is the dynamic-records module's job, not the codec's.

use super::RdataError;
use super::reader::Reader;
use super::strings::{print_all, push_all};
use super::text::Cursor;
use crate::wire::{Name, RType};

pub(crate) fn parse(
    cur: &mut Cursor<'_, '_>,
    _: &Name,
    out: &mut Vec<u8>,
) -> Result<(), RdataError> {
    let token = cur.next("LUA produced type")?;
    let rtype = RType::from_text(token.raw())
        .ok_or_else(|| RdataError::invalid("LUA produced type", token.raw()))?;
    // `LUA LUA` holds code for `include()`; a meta type produces nothing.
    if rtype.is_meta() {
        return Err(RdataError::invalid("LUA produced type", token.raw()));
    }
    out.extend_from_slice(&rtype.0.to_be_bytes());
    let chunks = cur.rest();
    if chunks.is_empty() {
        return Err(RdataError::Missing("LUA code"));
    }
    push_all(chunks, out)
}

pub(crate) fn print(r: &mut Reader<'_>, out: &mut String) -> Result<(), RdataError> {
    let rtype = RType(r.u16()?);
    // The text form refuses these; wire RDATA (the generic `\#` form, a
    // transfer) must not carry what the text form cannot print back.
    if rtype.is_meta() {
        return Err(r.fault("a LUA record cannot produce a meta type"));
    }
    if r.is_empty() {
        return Err(r.fault("no code"));
    }
    out.push_str(&rtype.to_string());
    print_all(r, out)
}
