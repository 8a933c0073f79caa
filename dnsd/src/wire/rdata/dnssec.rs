//! DNSSEC key material: DS and CDS (RFC 4034 §5, RFC 7344), DNSKEY and
//! CDNSKEY (RFC 4034 §2). Hex is printed lower-case, as PowerDNS does.

use std::fmt::Write as _;

use super::RdataError;
use super::reader::Reader;
use super::text::{Cursor, base64, hex};
use crate::wire::Name;

/// Digest length for the digest types whose length is fixed (RFC 4509,
/// RFC 6605); `None` for others, including 0 in a CDS delete record.
fn digest_len(digest_type: u8) -> Option<usize> {
    match digest_type {
        1 => Some(20),
        2 => Some(32),
        4 => Some(48),
        _ => None,
    }
}

pub(crate) fn parse_ds(
    cur: &mut Cursor<'_, '_>,
    _: &Name,
    out: &mut Vec<u8>,
) -> Result<(), RdataError> {
    out.extend_from_slice(&cur.u16("DS key tag")?.to_be_bytes());
    out.push(cur.u8("DS algorithm")?);
    let digest_type = cur.u8("DS digest type")?;
    out.push(digest_type);
    let digest = cur.hex_rest("DS digest")?;
    check_digest(digest_type, digest.len()).map_err(RdataError::Rule)?;
    out.extend_from_slice(&digest);
    Ok(())
}

fn check_digest(digest_type: u8, len: usize) -> Result<(), String> {
    if len == 0 {
        return Err("DS digest is empty".into());
    }
    match digest_len(digest_type) {
        Some(want) if want != len => Err(format!(
            "DS digest type {digest_type} needs {want} octets of digest, not {len}"
        )),
        _ => Ok(()),
    }
}

pub(crate) fn print_ds(r: &mut Reader<'_>, out: &mut String) -> Result<(), RdataError> {
    let (tag, alg, digest_type) = (r.u16()?, r.u8()?, r.u8()?);
    let digest = r.rest();
    check_digest(digest_type, digest.len()).map_err(|e| r.fault(e))?;
    let _ = write!(out, "{tag} {alg} {digest_type} {}", hex(digest));
    Ok(())
}

pub(crate) fn parse_dnskey(
    cur: &mut Cursor<'_, '_>,
    _: &Name,
    out: &mut Vec<u8>,
) -> Result<(), RdataError> {
    out.extend_from_slice(&cur.u16("DNSKEY flags")?.to_be_bytes());
    out.push(cur.u8("DNSKEY protocol")?);
    out.push(cur.u8("DNSKEY algorithm")?);
    let key = cur.base64_rest("DNSKEY public key")?;
    if key.is_empty() {
        return Err(RdataError::rule("DNSKEY public key is empty"));
    }
    out.extend_from_slice(&key);
    Ok(())
}

pub(crate) fn print_dnskey(r: &mut Reader<'_>, out: &mut String) -> Result<(), RdataError> {
    let (flags, protocol, alg) = (r.u16()?, r.u8()?, r.u8()?);
    let key = r.rest();
    if key.is_empty() {
        return Err(r.fault("public key is empty"));
    }
    let _ = write!(out, "{flags} {protocol} {alg} {}", base64(key));
    Ok(())
}
