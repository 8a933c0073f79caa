//! A (RFC 1035 §3.4.1) and AAAA (RFC 3596): one address each.

use std::fmt::Write as _;
use std::net::{Ipv4Addr, Ipv6Addr};

use super::RdataError;
use super::reader::Reader;
use super::text::Cursor;
use crate::wire::Name;

pub(crate) fn parse_a(
    cur: &mut Cursor<'_, '_>,
    _: &Name,
    out: &mut Vec<u8>,
) -> Result<(), RdataError> {
    let token = cur.next("IPv4 address")?;
    let addr: Ipv4Addr = token
        .raw()
        .parse()
        .map_err(|_| RdataError::invalid("IPv4 address", token.raw()))?;
    out.extend_from_slice(&addr.octets());
    Ok(())
}

pub(crate) fn print_a(r: &mut Reader<'_>, out: &mut String) -> Result<(), RdataError> {
    let b = r.take(4)?;
    // Writing to a String cannot fail.
    let _ = write!(out, "{}", Ipv4Addr::new(b[0], b[1], b[2], b[3]));
    Ok(())
}

pub(crate) fn parse_aaaa(
    cur: &mut Cursor<'_, '_>,
    _: &Name,
    out: &mut Vec<u8>,
) -> Result<(), RdataError> {
    let token = cur.next("IPv6 address")?;
    let addr: Ipv6Addr = token
        .raw()
        .parse()
        .map_err(|_| RdataError::invalid("IPv6 address", token.raw()))?;
    out.extend_from_slice(&addr.octets());
    Ok(())
}

pub(crate) fn print_aaaa(r: &mut Reader<'_>, out: &mut String) -> Result<(), RdataError> {
    let b: [u8; 16] = r.take(16)?.try_into().map_err(|_| r.fault("bad length"))?;
    let _ = write!(out, "{}", Ipv6Addr::from(b));
    Ok(())
}
