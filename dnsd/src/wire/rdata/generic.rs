//! RFC 3597 generic RDATA: `\# <length> <hex ...>`, usable for any type.

use std::fmt::Write as _;

use super::RdataError;
use super::text::{Cursor, decode_hex, hex, parse_number};

/// Parses what follows the `\#` marker.
pub(crate) fn parse(cur: &mut Cursor<'_, '_>) -> Result<Vec<u8>, RdataError> {
    let len_token = cur.next("generic RDATA length")?;
    let len = parse_number(len_token, "generic RDATA length", u16::MAX.into())?;
    let joined: String = cur.rest().iter().map(|t| t.raw()).collect();
    let bytes = decode_hex(&joined, "generic RDATA hex")?;
    if bytes.len() as u64 != len {
        return Err(RdataError::rule(format!(
            "generic RDATA length {len} does not match the {} octets given",
            bytes.len()
        )));
    }
    Ok(bytes)
}

/// `\# <len> <hex>`, or `\# 0` for empty RDATA.
pub(crate) fn print(wire: &[u8]) -> String {
    let mut out = String::with_capacity(8 + wire.len() * 2);
    let _ = write!(out, "\\# {}", wire.len());
    if !wire.is_empty() {
        out.push(' ');
        out.push_str(&hex(wire));
    }
    out
}
