//! The OPT pseudo-record (RFC 6891) and the options dnsd reads from it.
//!
//! Unknown options are skipped (RFC 6891 §6.1.2) and never echoed; only the
//! facts the answer needs are kept, so this is plain data with no allocation.

use std::net::IpAddr;

use crate::answer::cookies::ClientCookie;
use crate::wire::EdnsFlags;

/// Option codes we read.
mod code {
    pub const NSID: u16 = 3;
    pub const ECS: u16 = 8;
    pub const COOKIE: u16 = 10;
}

/// What a query's OPT record says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Edns {
    /// Requestor's UDP payload size, as sent (clamped by the answer code).
    pub payload: u16,
    /// EDNS version; anything but 0 gets BADVERS.
    pub version: u8,
    /// The EDNS flags word as sent (DO and the must-be-zero bits).
    pub flags: EdnsFlags,
    /// NSID requested (RFC 5001).
    pub nsid: bool,
    /// EDNS Client Subnet (RFC 7871), when present and valid.
    pub client_subnet: Option<ClientSubnet>,
    /// An ECS option was present but malformed (RFC 7871 §6). The answer
    /// path replies FORMERR when ECS processing is on and ignores the option
    /// when it is off (conformance §9.1, §9.4).
    pub client_subnet_malformed: bool,
    /// The COOKIE option (RFC 7873), when well-formed.
    pub cookie: Option<ClientCookie>,
}

impl Edns {
    /// DNSSEC OK.
    pub fn dnssec_ok(&self) -> bool {
        self.flags.contains(EdnsFlags::DO)
    }
}

/// An ECS option from a query, checked against RFC 7871 §6.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientSubnet {
    /// The address, with bits beyond `source_prefix` zero.
    pub address: IpAddr,
    /// SOURCE PREFIX-LENGTH.
    pub source_prefix: u8,
}

/// The OPT record was read but one of its options is malformed: reply
/// FORMERR, still with an OPT since the client speaks EDNS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EdnsError {
    Malformed(Edns),
}

/// Reads OPT from its fixed fields (type, class, TTL, RDLENGTH) and RDATA.
pub(crate) fn parse_opt(fixed: &[u8], rdata: &[u8]) -> Result<Edns, EdnsError> {
    let mut edns = Edns {
        payload: u16::from_be_bytes([fixed[2], fixed[3]]),
        version: fixed[5],
        flags: EdnsFlags(u16::from_be_bytes([fixed[6], fixed[7]])),
        nsid: false,
        client_subnet: None,
        client_subnet_malformed: false,
        cookie: None,
    };
    let mut pos = 0;
    while pos < rdata.len() {
        let Some(head) = rdata.get(pos..pos + 4) else {
            return Err(EdnsError::Malformed(edns));
        };
        let option = u16::from_be_bytes([head[0], head[1]]);
        let len = usize::from(u16::from_be_bytes([head[2], head[3]]));
        let Some(value) = rdata.get(pos + 4..pos + 4 + len) else {
            return Err(EdnsError::Malformed(edns));
        };
        match option {
            code::NSID => edns.nsid = true,
            code::ECS => match parse_client_subnet(value) {
                Some(subnet) => edns.client_subnet = Some(subnet),
                None => {
                    edns.client_subnet = None;
                    edns.client_subnet_malformed = true;
                }
            },
            // RFC 7873 §5.2.2: a client cookie alone is 8 octets, with a
            // server cookie 16 to 40; other lengths are FORMERR.
            code::COOKIE => match ClientCookie::parse(value) {
                Some(cookie) => edns.cookie = Some(cookie),
                // RFC 7873 §5.2.2: a malformed COOKIE is FORMERR.
                None => return Err(EdnsError::Malformed(edns)),
            },
            _ => {}
        }
        pos += 4 + len;
    }
    Ok(edns)
}

/// RFC 7871 §6: family 1 or 2, SOURCE within the family, SCOPE 0 in queries,
/// exactly ceil(SOURCE/8) address octets, no bits set beyond SOURCE.
fn parse_client_subnet(value: &[u8]) -> Option<ClientSubnet> {
    let head = value.get(..4)?;
    let family = u16::from_be_bytes([head[0], head[1]]);
    let source = head[2];
    let scope = head[3];
    let address = &value[4..];
    let max_bits = match family {
        1 => 32,
        2 => 128,
        _ => return None,
    };
    if source > max_bits || scope != 0 || address.len() != usize::from(source).div_ceil(8) {
        return None;
    }
    if let Some(&last) = address.last() {
        let used_bits = source % 8;
        if used_bits != 0 && last & (0xFF >> used_bits) != 0 {
            return None;
        }
    }
    let address = if family == 1 {
        let mut octets = [0u8; 4];
        octets[..address.len()].copy_from_slice(address);
        IpAddr::from(octets)
    } else {
        let mut octets = [0u8; 16];
        octets[..address.len()].copy_from_slice(address);
        IpAddr::from(octets)
    };
    Some(ClientSubnet {
        address,
        source_prefix: source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXED: [u8; 10] = [0, 41, 0x10, 0x00, 0, 0, 0x80, 0, 0, 0];

    #[test]
    fn reads_payload_version_and_do() {
        let edns = parse_opt(&FIXED, &[]).unwrap();
        assert_eq!(edns.payload, 4096);
        assert_eq!(edns.version, 0);
        assert!(edns.dnssec_ok());
    }

    #[test]
    fn unknown_options_skipped_malformed_rejected() {
        assert!(
            parse_opt(&FIXED, &[0, 100, 0, 2, 1, 2, 0, 3, 0, 0])
                .unwrap()
                .nsid
        );
        assert!(parse_opt(&FIXED, &[0, 100, 0, 5, 1]).is_err());
        assert!(parse_opt(&FIXED, &[0, 10, 0, 3, 1, 2, 3]).is_err());
    }

    #[test]
    fn client_subnet_rules() {
        let ok = parse_client_subnet(&[0, 1, 24, 0, 192, 0, 2]).unwrap();
        assert_eq!(ok.address, "192.0.2.0".parse::<IpAddr>().unwrap());
        assert_eq!(parse_client_subnet(&[0, 1, 0, 0]).unwrap().source_prefix, 0);
        assert!(
            parse_client_subnet(&[0, 1, 24, 0, 192, 0, 2, 0]).is_none(),
            "too long"
        );
        assert!(
            parse_client_subnet(&[0, 1, 23, 0, 192, 0, 3]).is_none(),
            "bits past source"
        );
        assert!(parse_client_subnet(&[0, 1, 33, 0, 1, 2, 3, 4, 0]).is_none());
        assert!(parse_client_subnet(&[0, 3, 0, 0]).is_none(), "family");
        assert!(
            parse_client_subnet(&[0, 1, 24, 8, 192, 0, 2]).is_none(),
            "scope"
        );
    }
}
