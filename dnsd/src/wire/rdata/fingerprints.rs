//! Certificate and key fingerprints: TLSA (RFC 6698) and SSHFP (RFC 4255).
//! Both end in hex that may be split by blanks; it is printed lower-case.

use std::fmt::Write as _;

use super::RdataError;
use super::reader::Reader;
use super::text::{Cursor, hex};
use crate::wire::Name;

pub(crate) fn parse_tlsa(
    cur: &mut Cursor<'_, '_>,
    _: &Name,
    out: &mut Vec<u8>,
) -> Result<(), RdataError> {
    out.push(cur.u8("TLSA certificate usage")?);
    out.push(cur.u8("TLSA selector")?);
    out.push(cur.u8("TLSA matching type")?);
    out.extend_from_slice(&non_empty(
        cur.hex_rest("TLSA certificate association data")?,
    )?);
    Ok(())
}

pub(crate) fn print_tlsa(r: &mut Reader<'_>, out: &mut String) -> Result<(), RdataError> {
    let (usage, selector, matching) = (r.u8()?, r.u8()?, r.u8()?);
    let data = r.rest();
    if data.is_empty() {
        return Err(r.fault("no certificate association data"));
    }
    let _ = write!(out, "{usage} {selector} {matching} {}", hex(data));
    Ok(())
}

pub(crate) fn parse_sshfp(
    cur: &mut Cursor<'_, '_>,
    _: &Name,
    out: &mut Vec<u8>,
) -> Result<(), RdataError> {
    out.push(cur.u8("SSHFP algorithm")?);
    out.push(cur.u8("SSHFP fingerprint type")?);
    out.extend_from_slice(&non_empty(cur.hex_rest("SSHFP fingerprint")?)?);
    Ok(())
}

pub(crate) fn print_sshfp(r: &mut Reader<'_>, out: &mut String) -> Result<(), RdataError> {
    let (alg, fp_type) = (r.u8()?, r.u8()?);
    let data = r.rest();
    if data.is_empty() {
        return Err(r.fault("no fingerprint"));
    }
    let _ = write!(out, "{alg} {fp_type} {}", hex(data));
    Ok(())
}

fn non_empty(data: Vec<u8>) -> Result<Vec<u8>, RdataError> {
    if data.is_empty() {
        return Err(RdataError::rule("hex data is empty"));
    }
    Ok(data)
}
