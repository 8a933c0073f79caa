//! DNSKEY and DS RDATA (RFC 4034 §2 and §5): the key tag, the DS digest
//! computed from an owner name and a DNSKEY, and their presentation text.
//!
//! Only the values a key determines live here; signing keys, their private
//! halves and their roles stay with dnsd, and how a registrar spells a digest
//! type stays with that registrar's adapter.

use std::fmt;
use std::str::FromStr;

use data_encoding::{BASE64, HEXLOWER_PERMISSIVE};

use crate::name::Name;

/// DNSKEY protocol field; always 3 (RFC 4034 §2.1.2).
pub const PROTOCOL: u8 = 3;

/// A DS digest type we compute. Digest type 1 (SHA-1) is never produced
/// (RFC 8624 §3.3); DS records of other types are still carried as [`Ds`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DigestType {
    /// 2, SHA-256 (RFC 4509): what parents and registrars get.
    Sha256,
    /// 4, SHA-384 (RFC 6605).
    Sha384,
}

impl DigestType {
    /// The IANA digest type number.
    pub const fn number(self) -> u8 {
        match self {
            DigestType::Sha256 => 2,
            DigestType::Sha384 => 4,
        }
    }

    /// The digest type for an IANA number, if we compute it.
    pub const fn from_number(number: u8) -> Option<DigestType> {
        match number {
            2 => Some(DigestType::Sha256),
            4 => Some(DigestType::Sha384),
            _ => None,
        }
    }

    fn ring(self) -> &'static ring::digest::Algorithm {
        match self {
            DigestType::Sha256 => &ring::digest::SHA256,
            DigestType::Sha384 => &ring::digest::SHA384,
        }
    }
}

/// The key tag of DNSKEY RDATA (RFC 4034 Appendix B): the 16-bit
/// ones'-complement-style sum of the RDATA read as big-endian words.
/// Algorithm 1 (RSA/MD5) keys, which use another rule, are not supported.
pub fn key_tag(dnskey_rdata: &[u8]) -> u16 {
    let mut acc: u32 = 0;
    for (i, &b) in dnskey_rdata.iter().enumerate() {
        acc += if i & 1 == 0 {
            u32::from(b) << 8
        } else {
            u32::from(b)
        };
    }
    acc += (acc >> 16) & 0xFFFF;
    (acc & 0xFFFF) as u16
}

/// DNSKEY RDATA: flags, protocol 3, algorithm, public key (RFC 4034 §2.1).
pub fn dnskey_rdata(flags: u16, algorithm: u8, public_key: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + public_key.len());
    out.extend_from_slice(&flags.to_be_bytes());
    out.push(PROTOCOL);
    out.push(algorithm);
    out.extend_from_slice(public_key);
    out
}

/// DS RDATA over `owner` and DNSKEY RDATA (RFC 4034 §5.1.4): key tag,
/// algorithm, digest type, digest(canonical owner wire ‖ DNSKEY RDATA).
/// The owner is lower-cased here, so callers may pass it as written.
pub fn ds_rdata(owner: &Name, dnskey_rdata: &[u8], digest: DigestType) -> Vec<u8> {
    let mut ctx = ring::digest::Context::new(digest.ring());
    ctx.update(owner.to_lowercase().as_wire());
    ctx.update(dnskey_rdata);
    let hash = ctx.finish();
    let mut out = Vec::with_capacity(4 + hash.as_ref().len());
    out.extend_from_slice(&key_tag(dnskey_rdata).to_be_bytes());
    out.push(dnskey_rdata.get(3).copied().unwrap_or(0));
    out.push(digest.number());
    out.extend_from_slice(hash.as_ref());
    out
}

/// Why DNSKEY or DS presentation text does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DnssecTextError {
    #[error("expected \"FLAGS PROTOCOL ALGORITHM BASE64KEY\"")]
    DnskeyFields,
    #[error("protocol must be 3, got {0}")]
    Protocol(u8),
    #[error("public key must be non-empty base64")]
    PublicKey,
    #[error("expected \"KEYTAG ALGORITHM DIGESTTYPE HEXDIGEST\"")]
    DsFields,
    #[error("digest must be non-empty hex")]
    DigestHex,
    #[error("digest type {digest_type} needs {expected} hex digits, got {got}")]
    DigestLength {
        digest_type: u8,
        expected: usize,
        got: usize,
    },
}

//----------- Dnskey ----------------------------------------------------------

/// DNSKEY RDATA (RFC 4034 §2): flags, protocol, algorithm and public key.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Dnskey {
    /// 257 for a KSK or CSK (Zone Key + SEP), 256 for a ZSK.
    pub flags: u16,
    /// Always 3 when parsed or built here.
    pub protocol: u8,
    /// DNSSEC algorithm number (13 = ECDSAP256SHA256, 15 = ED25519, …).
    pub algorithm: u8,
    /// The public key octets.
    pub public_key: Vec<u8>,
}

impl Dnskey {
    /// A DNSKEY with protocol 3.
    pub fn new(flags: u16, algorithm: u8, public_key: Vec<u8>) -> Dnskey {
        Dnskey {
            flags,
            protocol: PROTOCOL,
            algorithm,
            public_key,
        }
    }

    /// The RDATA in wire form.
    pub fn rdata(&self) -> Vec<u8> {
        let mut out = dnskey_rdata(self.flags, self.algorithm, &self.public_key);
        out[2] = self.protocol;
        out
    }

    /// The key tag (RFC 4034 Appendix B).
    pub fn key_tag(&self) -> u16 {
        key_tag(&self.rdata())
    }

    /// The DS that points at this key when it is published at `owner`.
    pub fn ds(&self, owner: &Name, digest: DigestType) -> Ds {
        Ds::from_rdata(&ds_rdata(owner, &self.rdata(), digest))
            .expect("ds_rdata writes the four fixed octets")
    }

    /// The public key in base64, as the presentation form writes it.
    pub fn public_key_base64(&self) -> String {
        BASE64.encode(&self.public_key)
    }
}

impl fmt::Display for Dnskey {
    /// `257 3 13 <base64>`, the key in one unbroken block.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {} {}",
            self.flags,
            self.protocol,
            self.algorithm,
            self.public_key_base64()
        )
    }
}

impl FromStr for Dnskey {
    type Err = DnssecTextError;

    /// Parses `FLAGS PROTOCOL ALGORITHM BASE64…`; the key may be split by
    /// white space, as zone files and registrar pages print it.
    fn from_str(text: &str) -> Result<Dnskey, DnssecTextError> {
        let mut parts = text.split_whitespace();
        let (flags, protocol, algorithm) = fixed_fields(&mut parts, DnssecTextError::DnskeyFields)?;
        let key: String = parts.collect();
        if protocol != PROTOCOL {
            return Err(DnssecTextError::Protocol(protocol));
        }
        let public_key = BASE64
            .decode(key.as_bytes())
            .ok()
            .filter(|k| !k.is_empty())
            .ok_or(DnssecTextError::PublicKey)?;
        Ok(Dnskey {
            flags,
            protocol,
            algorithm,
            public_key,
        })
    }
}

//----------- Ds --------------------------------------------------------------

/// DS RDATA (RFC 4034 §5): which key, which algorithm, and its digest.
/// Any digest type is carried; [`Dnskey::ds`] computes types 2 and 4.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ds {
    /// Key tag of the DNSKEY this DS points at.
    pub key_tag: u16,
    /// DNSSEC algorithm number of that DNSKEY.
    pub algorithm: u8,
    /// Digest type number (1 = SHA-1, 2 = SHA-256, 4 = SHA-384).
    pub digest_type: u8,
    /// The digest octets.
    pub digest: Vec<u8>,
}

impl Ds {
    /// Reads DS RDATA in wire form; `None` when shorter than its fixed part.
    pub fn from_rdata(rdata: &[u8]) -> Option<Ds> {
        let (fixed, digest) = rdata.split_at_checked(4)?;
        Some(Ds {
            key_tag: u16::from_be_bytes([fixed[0], fixed[1]]),
            algorithm: fixed[2],
            digest_type: fixed[3],
            digest: digest.to_vec(),
        })
    }

    /// The RDATA in wire form.
    pub fn rdata(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(4 + self.digest.len());
        out.extend_from_slice(&self.key_tag.to_be_bytes());
        out.push(self.algorithm);
        out.push(self.digest_type);
        out.extend_from_slice(&self.digest);
        out
    }

    /// The digest as lower-case hex.
    pub fn digest_hex(&self) -> String {
        HEXLOWER_PERMISSIVE.encode(&self.digest)
    }

    /// Hex digits a digest of `digest_type` has, for the types with a
    /// fixed length (1, 2, 3 and 4); `None` for others.
    pub const fn digest_hex_len(digest_type: u8) -> Option<usize> {
        match digest_type {
            1 => Some(40),
            2 | 3 => Some(64),
            4 => Some(96),
            _ => None,
        }
    }

    /// Builds a DS from a hex digest (either case), checking its length for
    /// the digest types with a fixed one.
    pub fn from_hex(
        key_tag: u16,
        algorithm: u8,
        digest_type: u8,
        digest_hex: &str,
    ) -> Result<Ds, DnssecTextError> {
        if digest_hex.is_empty() || !digest_hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(DnssecTextError::DigestHex);
        }
        if let Some(expected) = Ds::digest_hex_len(digest_type)
            && digest_hex.len() != expected
        {
            return Err(DnssecTextError::DigestLength {
                digest_type,
                expected,
                got: digest_hex.len(),
            });
        }
        // An odd number of digits is not whole octets.
        let digest = HEXLOWER_PERMISSIVE
            .decode(digest_hex.as_bytes())
            .map_err(|_| DnssecTextError::DigestHex)?;
        Ok(Ds {
            key_tag,
            algorithm,
            digest_type,
            digest,
        })
    }
}

impl fmt::Display for Ds {
    /// `<key tag> <alg> <digest type> <lower-case hex>` (dnssec spec §5).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {} {}",
            self.key_tag,
            self.algorithm,
            self.digest_type,
            self.digest_hex()
        )
    }
}

impl FromStr for Ds {
    type Err = DnssecTextError;

    /// Parses `KEYTAG ALGORITHM DIGESTTYPE HEX…`; the digest may be split
    /// into blocks by white space and written in either case.
    fn from_str(text: &str) -> Result<Ds, DnssecTextError> {
        let mut parts = text.split_whitespace();
        let (key_tag, algorithm, digest_type) =
            fixed_fields(&mut parts, DnssecTextError::DsFields)?;
        let digest: String = parts.collect();
        Ds::from_hex(key_tag, algorithm, digest_type, &digest)
    }
}

/// The three numeric fields DNSKEY and DS text start with (a 16-bit one,
/// then two octets); `missing` when one is absent or out of range.
fn fixed_fields<'a>(
    parts: &mut impl Iterator<Item = &'a str>,
    missing: DnssecTextError,
) -> Result<(u16, u8, u8), DnssecTextError> {
    let mut next = || parts.next().and_then(|p| p.parse::<u16>().ok());
    let first = next();
    let second = next().and_then(|n| u8::try_from(n).ok());
    let third = next().and_then(|n| u8::try_from(n).ok());
    match (first, second, third) {
        (Some(a), Some(b), Some(c)) => Ok((a, b, c)),
        _ => Err(missing),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(text: &str) -> Name {
        text.parse().unwrap()
    }

    /// The DNSKEY of `dskey.example.com.` in RFC 4034 §5.4.
    const RFC4034_KEY: &str = "256 3 5 AQOeiiR0GOMYkDshWoSKz9XzfwJr1AYtsmx3TGkJaNXVbfi/2pHm822aJ5iI9BMzNXxeYCmZDRD99WYwYqUSdjMmmAphXdvxegXd/M5+X7OrzKBaMbCVdFLUUh6DhweJBjEVv5f2wwjM9XzcnOf+EPbtG9DMBmADjFDc2w/rljwvFw==";

    #[test]
    fn rfc4034_key_tag_and_digest_input() {
        let key: Dnskey = RFC4034_KEY.parse().unwrap();
        assert_eq!(key.key_tag(), 60485);
        assert_eq!(key.to_string(), RFC4034_KEY);
        // The published DS is SHA-1, which we never produce: check the same
        // digest input (canonical owner ‖ RDATA) with SHA-1 here.
        let mut input = name("dskey.example.com.").as_wire().to_vec();
        input.extend_from_slice(&key.rdata());
        let sha1 = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, &input);
        assert_eq!(
            HEXLOWER_PERMISSIVE.encode(sha1.as_ref()),
            "2bb183af5f22588179a53b0a98631fad1a292118"
        );
        let ds = key.ds(&name("dskey.example.com"), DigestType::Sha256);
        assert_eq!((ds.key_tag, ds.algorithm, ds.digest_type), (60485, 5, 2));
        assert_eq!(ds.digest.len(), 32);
    }

    #[test]
    fn rfc4509_sha256_example() {
        // RFC 4509 §2.2.1: the DNSKEY of dskey.example.com. and its DS.
        let key: Dnskey = "256 3 5 AQOeiiR0GOMYkDshWoSKz9XzfwJr1AYtsmx3TGkJaNXVbfi/2pHm822aJ5iI9BMzNXxeYCmZDRD99WYwYqUSdjMmmAphXdvxegXd/M5+X7OrzKBaMbCVdFLUUh6DhweJBjEVv5f2wwjM9XzcnOf+EPbtG9DMBmADjFDc2w/rljwvFw=="
            .parse()
            .unwrap();
        let ds = key.ds(&name("dskey.example.com."), DigestType::Sha256);
        assert_eq!(
            ds.to_string(),
            "60485 5 2 d4b7d520e7bb5f0f67674a0cceb1e3e0614b93c4f9e99b8383f6a1e4469da50a"
        );
    }

    #[test]
    fn rfc6605_ds_sha256_and_sha384() {
        // RFC 6605 §6.1 and §6.2: the P-256 key of example.net. and its DS
        // records (the RFC prints the digests in upper case).
        let key: Dnskey = "257 3 13 GojIhhXUN/u4v54ZQqGSnyhWJwaubCvTmeexv7bR6edb krSqQpF64cYbcB7wNcP+e+MAnLr+Wi9xMWyQLc8NAA=="
            .parse()
            .unwrap();
        assert_eq!(key.key_tag(), 55648);
        let owner = name("example.net.");
        assert_eq!(
            key.ds(&owner, DigestType::Sha256).to_string(),
            "55648 13 2 b4c8c1fe2e7477127b27115656ad6256f424625bf5c1e2770ce6d6e37df61d17"
        );
        assert_eq!(
            key.ds(&owner, DigestType::Sha384).to_string(),
            "55648 13 4 3be4b980b34443e569255f4a347d4c8e8e18de755fb8072d7b355c44c56b50a61e8050ae636041b9664a04f05aef2680"
        );
    }

    #[test]
    fn owner_case_does_not_change_the_digest() {
        let key: Dnskey = RFC4034_KEY.parse().unwrap();
        assert_eq!(
            key.ds(&name("DSKEY.Example.COM"), DigestType::Sha256),
            key.ds(&name("dskey.example.com"), DigestType::Sha256)
        );
    }

    #[test]
    fn ds_text_round_trip_and_limits() {
        let ds: Ds = "12345 13 2 3490A680 6D47F17A34C29E2CE80E8A999FFBE4BE3490A6806D47F17A34C29E2C"
            .parse()
            .unwrap();
        assert_eq!(
            ds.to_string(),
            "12345 13 2 3490a6806d47f17a34c29e2ce80e8a999ffbe4be3490a6806d47f17a34c29e2c"
        );
        assert_eq!(Ds::from_rdata(&ds.rdata()), Some(ds));
        assert_eq!(
            "1 13 2 abcd".parse::<Ds>(),
            Err(DnssecTextError::DigestLength {
                digest_type: 2,
                expected: 64,
                got: 4
            })
        );
        assert_eq!("1 13 2 xyz".parse::<Ds>(), Err(DnssecTextError::DigestHex));
        // The length is checked before the octets are read.
        assert!(matches!(
            format!("1 13 2 {}", "a".repeat(63)).parse::<Ds>(),
            Err(DnssecTextError::DigestLength { got: 63, .. })
        ));
        assert_eq!("1 13".parse::<Ds>(), Err(DnssecTextError::DsFields));
        // Unknown digest types are carried with any length.
        assert!("1 13 200 ab".parse::<Ds>().is_ok());
    }

    #[test]
    fn dnskey_text_errors() {
        assert_eq!(
            "257 2 13 AAAA".parse::<Dnskey>(),
            Err(DnssecTextError::Protocol(2))
        );
        assert_eq!(
            "257 3 13 !!".parse::<Dnskey>(),
            Err(DnssecTextError::PublicKey)
        );
        assert_eq!(
            "257 3".parse::<Dnskey>(),
            Err(DnssecTextError::DnskeyFields)
        );
    }
}
