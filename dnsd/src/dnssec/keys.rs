//! Signing keys: algorithms, DNSKEY/DS/CDS/CDNSKEY RDATA, key tags, roles,
//! and the BIND `.key`/`.private` text formats used for import, export and
//! storage (see [`super::store`]).
//!
//! A [`SigningKey`] holds one key pair (algorithm 13 ECDSAP256SHA256 or 15
//! ED25519, RFC 6605 / RFC 8080), the zone it belongs to, its DNSKEY flags
//! and everything derived from them once: the DNSKEY RDATA, the key tag and a
//! stable 64-bit id for caches. Private material never appears in `Debug`
//! output and is wiped (best effort) when the key is dropped.
//!
//! Nothing here reads the clock or touches files.

use std::fmt;

use data_encoding::BASE64;
use dnstypes::Ds;
use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _,
};

use crate::wire::{Name, RType};

/// DNSKEY flag: Zone Key (RFC 4034 §2.1.1). Every DNSSEC zone key has it.
pub const FLAG_ZONE: u16 = 0x0100;
/// DNSKEY flag: Secure Entry Point (RFC 4034 §2.1.1, RFC 3757).
pub const FLAG_SEP: u16 = 0x0001;
/// DNSKEY flag: revoked (RFC 5011 §7).
pub const FLAG_REVOKE: u16 = 0x0080;
/// DNSKEY flags of a ZSK.
pub const FLAGS_ZSK: u16 = FLAG_ZONE;
/// DNSKEY flags of a KSK or CSK.
pub const FLAGS_KSK: u16 = FLAG_ZONE | FLAG_SEP;

pub use dnstypes::dnssec::{DigestType, PROTOCOL, dnskey_rdata, ds_rdata, key_tag};

/// A signing algorithm dnsd signs with online (spec §1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// 13, ECDSA with curve P-256 and SHA-256 (RFC 6605): the default.
    EcdsaP256Sha256,
    /// 15, Ed25519 (RFC 8080).
    Ed25519,
}

impl Algorithm {
    /// The IANA algorithm number.
    pub const fn number(self) -> u8 {
        match self {
            Algorithm::EcdsaP256Sha256 => 13,
            Algorithm::Ed25519 => 15,
        }
    }

    /// The algorithm for an IANA number, if dnsd signs with it.
    pub const fn from_number(number: u8) -> Option<Algorithm> {
        match number {
            13 => Some(Algorithm::EcdsaP256Sha256),
            15 => Some(Algorithm::Ed25519),
            _ => None,
        }
    }

    /// The IANA mnemonic, as BIND writes it after the number.
    pub const fn mnemonic(self) -> &'static str {
        match self {
            Algorithm::EcdsaP256Sha256 => "ECDSAP256SHA256",
            Algorithm::Ed25519 => "ED25519",
        }
    }

    /// Octets of the public key in DNSKEY RDATA.
    pub const fn public_key_len(self) -> usize {
        match self {
            Algorithm::EcdsaP256Sha256 => 64,
            Algorithm::Ed25519 => 32,
        }
    }

    /// Octets of the private key (ECDSA scalar or Ed25519 seed).
    pub const fn private_key_len(self) -> usize {
        32
    }

    /// Octets of a signature; 64 for both.
    pub const fn signature_len(self) -> usize {
        64
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.mnemonic())
    }
}

/// What a key signs (RFC 6781 §3; spec §1 "Key roles").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyRole {
    /// Combined signing key (flags 257): signs everything. The default.
    Csk,
    /// Key-signing key (flags 257) in a split: signs DNSKEY, CDS and CDNSKEY.
    Ksk,
    /// Zone-signing key (flags 256) in a split: signs everything else.
    Zsk,
}

impl KeyRole {
    /// The DNSKEY flags a new key of this role gets.
    pub const fn flags(self) -> u16 {
        match self {
            KeyRole::Csk | KeyRole::Ksk => FLAGS_KSK,
            KeyRole::Zsk => FLAGS_ZSK,
        }
    }

    /// True when a key of this role signs RRsets of `rtype`.
    pub fn signs(self, rtype: RType) -> bool {
        match self {
            KeyRole::Csk => true,
            KeyRole::Ksk => is_key_rrset(rtype),
            KeyRole::Zsk => !is_key_rrset(rtype),
        }
    }
}

impl fmt::Display for KeyRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KeyRole::Csk => "csk",
            KeyRole::Ksk => "ksk",
            KeyRole::Zsk => "zsk",
        })
    }
}

/// The RRsets that only KSKs sign in a split: DNSKEY, CDS and CDNSKEY.
pub fn is_key_rrset(rtype: RType) -> bool {
    matches!(rtype, RType::DNSKEY | RType::CDS | RType::CDNSKEY)
}

/// Roles of a zone's keys by PowerDNS's rule (spec §1 "Role derivation"):
/// per algorithm, if an active key with the SEP flag and an active key
/// without it both exist, the SEP keys are KSKs and the others ZSKs;
/// otherwise every key of that algorithm is a CSK. `keys` is
/// `(algorithm, flags, active)`; the result has one role per entry.
pub fn derive_roles(keys: &[(Algorithm, u16, bool)]) -> Vec<KeyRole> {
    let split = |alg: Algorithm| {
        let active = |sep: bool| {
            keys.iter()
                .any(|&(a, flags, on)| a == alg && on && (flags & FLAG_SEP != 0) == sep)
        };
        active(true) && active(false)
    };
    keys.iter()
        .map(
            |&(alg, flags, _)| match (split(alg), flags & FLAG_SEP != 0) {
                (false, _) => KeyRole::Csk,
                (true, true) => KeyRole::Ksk,
                (true, false) => KeyRole::Zsk,
            },
        )
        .collect()
}

/// Why key material was rejected (before any file is involved).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyMaterialError {
    /// The algorithm number is not one dnsd signs with.
    #[error("DNSSEC algorithm {0} is not supported for signing (13 and 15 are)")]
    UnsupportedAlgorithm(u8),
    /// A field is missing or malformed.
    #[error("{0}")]
    Malformed(String),
    /// The private key is not valid for the algorithm, or does not match the public key.
    #[error("the private key is invalid or does not match the public key")]
    Rejected,
    /// The system random number generator failed.
    #[error("the system random number generator failed")]
    Random,
}

impl KeyMaterialError {
    fn malformed(reason: impl Into<String>) -> KeyMaterialError {
        KeyMaterialError::Malformed(reason.into())
    }
}

/// 32 secret octets, wiped on drop (best effort: without `unsafe` the
/// compiler is only asked, through `black_box`, not to drop the stores).
struct Secret([u8; 32]);

impl Drop for Secret {
    fn drop(&mut self) {
        self.0.fill(0);
        std::hint::black_box(&self.0);
    }
}

enum Pair {
    Ecdsa(EcdsaKeyPair),
    Ed25519(Ed25519KeyPair),
}

/// A zone's private signing key with its derived public data.
pub struct SigningKey {
    /// The zone apex, lower-cased: the RRSIG signer name and DS owner.
    zone: Name,
    algorithm: Algorithm,
    flags: u16,
    pair: Pair,
    /// ECDSA private scalar or Ed25519 seed, kept for export.
    secret: Secret,
    /// flags | protocol | algorithm | public key (RFC 4034 §2.1).
    dnskey: Box<[u8]>,
    tag: u16,
    id: u64,
    rng: SystemRandom,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("zone", &self.zone)
            .field("algorithm", &self.algorithm)
            .field("flags", &self.flags)
            .field("tag", &self.tag)
            .field("private", &"<redacted>")
            .finish()
    }
}

impl SigningKey {
    /// Generates a new key pair for `zone` with the system RNG.
    pub fn generate(
        zone: &Name,
        algorithm: Algorithm,
        flags: u16,
    ) -> Result<SigningKey, KeyMaterialError> {
        check_flags(flags)?;
        let rng = SystemRandom::new();
        let mut secret = Secret([0; 32]);
        match algorithm {
            Algorithm::EcdsaP256Sha256 => {
                let doc = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
                    .map_err(|_| KeyMaterialError::Random)?;
                let scalar =
                    ecdsa_scalar_from_pkcs8(doc.as_ref()).ok_or(KeyMaterialError::Rejected)?;
                secret.0.copy_from_slice(scalar);
                let pair =
                    EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, doc.as_ref(), &rng)
                        .map_err(|_| KeyMaterialError::Rejected)?;
                let public = pair.public_key().as_ref()[1..].to_vec();
                Ok(SigningKey::assemble(
                    zone,
                    algorithm,
                    flags,
                    Pair::Ecdsa(pair),
                    secret,
                    &public,
                ))
            }
            Algorithm::Ed25519 => {
                rng.fill(&mut secret.0)
                    .map_err(|_| KeyMaterialError::Random)?;
                let pair = Ed25519KeyPair::from_seed_unchecked(&secret.0)
                    .map_err(|_| KeyMaterialError::Rejected)?;
                let public = pair.public_key().as_ref().to_vec();
                Ok(SigningKey::assemble(
                    zone,
                    algorithm,
                    flags,
                    Pair::Ed25519(pair),
                    secret,
                    &public,
                ))
            }
        }
    }

    /// Builds a key from its private octets (ECDSA scalar or Ed25519 seed,
    /// as in a BIND `.private` file) and, when known, the DNSKEY public key.
    ///
    /// ECDSA needs the public key (ring cannot derive it); it is checked
    /// against the private key. For Ed25519 it is derived, and checked when given.
    pub fn from_private_bytes(
        zone: &Name,
        algorithm: Algorithm,
        flags: u16,
        private: &[u8],
        public: Option<&[u8]>,
    ) -> Result<SigningKey, KeyMaterialError> {
        check_flags(flags)?;
        if private.len() != algorithm.private_key_len() {
            return Err(KeyMaterialError::malformed(format!(
                "{algorithm} private key must be {} octets, not {}",
                algorithm.private_key_len(),
                private.len()
            )));
        }
        if let Some(public) = public
            && public.len() != algorithm.public_key_len()
        {
            return Err(KeyMaterialError::malformed(format!(
                "{algorithm} public key must be {} octets, not {}",
                algorithm.public_key_len(),
                public.len()
            )));
        }
        let mut secret = Secret([0; 32]);
        secret.0.copy_from_slice(private);
        match algorithm {
            Algorithm::EcdsaP256Sha256 => {
                let public = public.ok_or_else(|| {
                    KeyMaterialError::malformed("an ECDSA key needs its public key (.key file)")
                })?;
                let mut point = [0u8; 65];
                point[0] = 0x04;
                point[1..].copy_from_slice(public);
                let pair = EcdsaKeyPair::from_private_key_and_public_key(
                    &ECDSA_P256_SHA256_FIXED_SIGNING,
                    &secret.0,
                    &point,
                    &SystemRandom::new(),
                )
                .map_err(|_| KeyMaterialError::Rejected)?;
                Ok(SigningKey::assemble(
                    zone,
                    algorithm,
                    flags,
                    Pair::Ecdsa(pair),
                    secret,
                    public,
                ))
            }
            Algorithm::Ed25519 => {
                let pair = match public {
                    Some(public) => Ed25519KeyPair::from_seed_and_public_key(&secret.0, public),
                    None => Ed25519KeyPair::from_seed_unchecked(&secret.0),
                }
                .map_err(|_| KeyMaterialError::Rejected)?;
                let public = pair.public_key().as_ref().to_vec();
                Ok(SigningKey::assemble(
                    zone,
                    algorithm,
                    flags,
                    Pair::Ed25519(pair),
                    secret,
                    &public,
                ))
            }
        }
    }

    fn assemble(
        zone: &Name,
        algorithm: Algorithm,
        flags: u16,
        pair: Pair,
        secret: Secret,
        public: &[u8],
    ) -> SigningKey {
        let dnskey = dnskey_rdata(flags, algorithm.number(), public);
        let zone = zone.to_lowercase();
        let tag = key_tag(&dnskey);
        let id = key_id(&zone, &dnskey);
        SigningKey {
            zone,
            algorithm,
            flags,
            pair,
            secret,
            dnskey: dnskey.into_boxed_slice(),
            tag,
            id,
            rng: SystemRandom::new(),
        }
    }

    /// The zone apex (lower-case): owner of the DNSKEY and signer name.
    pub fn zone(&self) -> &Name {
        &self.zone
    }

    /// The signing algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The DNSKEY flags (256 ZSK, 257 KSK/CSK).
    pub fn flags(&self) -> u16 {
        self.flags
    }

    /// True when the SEP flag is set (KSK or CSK): the key DS records point at.
    pub fn is_sep(&self) -> bool {
        self.flags & FLAG_SEP != 0
    }

    /// The key tag (RFC 4034 Appendix B).
    pub fn tag(&self) -> u16 {
        self.tag
    }

    /// A 64-bit id of (zone, DNSKEY RDATA): unlike the tag, distinct for
    /// distinct keys in practice, and stable across restarts.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// DNSKEY RDATA in wire form; also the CDNSKEY RDATA (RFC 7344 §3.2).
    pub fn dnskey_rdata(&self) -> &[u8] {
        &self.dnskey
    }

    /// The public key as it appears in the DNSKEY RDATA.
    pub fn public_key(&self) -> &[u8] {
        &self.dnskey[4..]
    }

    /// DS RDATA for this key (RFC 4034 §5.1.4): also the CDS RDATA (RFC 7344 §3.1).
    pub fn ds_rdata(&self, digest: DigestType) -> Vec<u8> {
        ds_rdata(&self.zone, &self.dnskey, digest)
    }

    /// DNSKEY RDATA in presentation form: `257 3 13 <base64>`.
    pub fn dnskey_text(&self) -> String {
        format!(
            "{} {PROTOCOL} {} {}",
            self.flags,
            self.algorithm.number(),
            BASE64.encode(self.public_key())
        )
    }

    /// DS RDATA in presentation form: `<tag> <alg> <digest type> <hex>`.
    pub fn ds_text(&self, digest: DigestType) -> String {
        Ds::from_rdata(&self.ds_rdata(digest))
            .expect("DS RDATA has its fixed part")
            .to_string()
    }

    /// Signs `message` (RRSIG RDATA without signature || canonical RRset).
    /// The signature is 64 octets: r||s for ECDSA (RFC 6605 §4), R||S for Ed25519.
    pub fn sign(&self, message: &[u8]) -> Result<ring::signature::Signature, KeyMaterialError> {
        match &self.pair {
            Pair::Ecdsa(pair) => pair
                .sign(&self.rng, message)
                .map_err(|_| KeyMaterialError::Random),
            Pair::Ed25519(pair) => Ok(pair.sign(message)),
        }
    }

    /// The private key in ISC `Private-key-format: v1.3` text, with the
    /// given timing lines: the `.private` file, and PowerDNS's `privatekey`.
    pub fn to_bind_private(&self, timing: &KeyTiming) -> String {
        let mut out = format!(
            "Private-key-format: v1.3\nAlgorithm: {} ({})\nPrivateKey: {}\n",
            self.algorithm.number(),
            self.algorithm.mnemonic(),
            BASE64.encode(&self.secret.0)
        );
        timing.write_lines(&mut out);
        out
    }

    /// The private key as PowerDNS's API shows it in `privatekey`: ISC
    /// `Private-key-format: v1.2` text, no timing lines (the API carries
    /// the key's state in `active` and `published`).
    pub fn to_pdns_private(&self) -> String {
        format!(
            "Private-key-format: v1.2\nAlgorithm: {} ({})\nPrivateKey: {}\n",
            self.algorithm.number(),
            self.algorithm.mnemonic(),
            BASE64.encode(&self.secret.0)
        )
    }

    /// The public key as a BIND `.key` file.
    pub fn to_bind_key(&self) -> String {
        format!(
            "; This is a {}, keyid {}, for {}\n{} IN DNSKEY {}\n",
            if self.is_sep() {
                "key-signing key"
            } else {
                "zone-signing key"
            },
            self.tag,
            self.zone,
            self.zone,
            self.dnskey_text()
        )
    }

    /// Reads a BIND key pair: the `.key` text (a DNSKEY record) and the
    /// `.private` text (v1.2 or v1.3). The DNSKEY owner must be `zone`.
    pub fn from_bind(
        zone: &Name,
        key_text: &str,
        private_text: &str,
    ) -> Result<(SigningKey, KeyTiming), KeyMaterialError> {
        let public = parse_bind_key(zone, key_text)?;
        let private = parse_bind_private(private_text)?;
        if private.algorithm != public.algorithm {
            return Err(KeyMaterialError::malformed(format!(
                "the .private file is for algorithm {}, the .key file for {}",
                private.algorithm.number(),
                public.algorithm.number()
            )));
        }
        let key = SigningKey::from_private_bytes(
            zone,
            public.algorithm,
            public.flags,
            &private.key,
            Some(&public.key),
        )?;
        Ok((key, private.timing))
    }
}

fn check_flags(flags: u16) -> Result<(), KeyMaterialError> {
    if flags & FLAG_ZONE == 0 {
        return Err(KeyMaterialError::malformed(format!(
            "DNSKEY flags {flags} lack the Zone Key bit (256)"
        )));
    }
    Ok(())
}

/// CDS RDATA of the RFC 8078 §4 delete signal: `0 0 0 00`.
pub const CDS_DELETE: [u8; 5] = [0, 0, 0, 0, 0];
/// CDNSKEY RDATA of the RFC 8078 §4 delete signal: `0 3 0 AA==`.
pub const CDNSKEY_DELETE: [u8; 5] = [0, 0, PROTOCOL, 0, 0];

/// FNV-1a over the lower-case zone and the DNSKEY RDATA.
fn key_id(zone: &Name, dnskey: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in zone.as_wire().iter().chain(dnskey) {
        h ^= u64::from(b.to_ascii_lowercase());
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// Finds the private scalar in the PKCS#8 document ring generates for
/// P-256: PrivateKeyInfo { version, algorithm, OCTET STRING { ECPrivateKey
/// { version 1, OCTET STRING d, ... } } } (RFC 5208, RFC 5915).
fn ecdsa_scalar_from_pkcs8(doc: &[u8]) -> Option<&[u8]> {
    let (tag, info, _) = der_read(doc)?;
    if tag != 0x30 {
        return None;
    }
    let (_, _, rest) = der_read(info)?; // version
    let (_, _, rest) = der_read(rest)?; // AlgorithmIdentifier
    let (tag, inner, _) = der_read(rest)?;
    if tag != 0x04 {
        return None;
    }
    let (tag, ec, _) = der_read(inner)?;
    if tag != 0x30 {
        return None;
    }
    let (_, _, rest) = der_read(ec)?; // version 1
    let (tag, scalar, _) = der_read(rest)?;
    (tag == 0x04 && scalar.len() == 32).then_some(scalar)
}

/// One DER TLV: (tag, contents, rest). Lengths up to two octets.
fn der_read(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = match first {
        0..=0x7F => (usize::from(first), rest),
        0x81 => (usize::from(*rest.first()?), &rest[1..]),
        0x82 => (
            usize::from(u16::from_be_bytes([*rest.first()?, *rest.get(1)?])),
            rest.get(2..)?,
        ),
        _ => return None,
    };
    (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
}

// ----------- BIND key files --------------------------------------------------

/// Timing metadata of a BIND v1.3 `.private` file, in seconds since the epoch.
/// A missing field means "always" for Publish/Activate and "never" for
/// Inactive/Delete, as BIND treats keys without timing data.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KeyTiming {
    /// `Created:`.
    pub created: Option<u64>,
    /// `Publish:`: from then on the DNSKEY is in the zone.
    pub publish: Option<u64>,
    /// `Activate:`: from then on the key signs.
    pub activate: Option<u64>,
    /// `Inactive:`: from then on the key no longer signs.
    pub inactive: Option<u64>,
    /// `Delete:`: from then on the DNSKEY is no longer in the zone.
    pub delete: Option<u64>,
}

/// Whether a key is in the DNSKEY RRset and whether it signs (spec §1
/// "Key states": independent flags).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyState {
    /// The DNSKEY is published at the apex.
    pub published: bool,
    /// The key signs.
    pub active: bool,
}

impl KeyTiming {
    /// Timing of a key created, published and activated at `now`.
    pub fn new_at(now: u64) -> KeyTiming {
        KeyTiming {
            created: Some(now),
            publish: Some(now),
            activate: Some(now),
            inactive: None,
            delete: None,
        }
    }

    /// The state these times give at `now`.
    pub fn state_at(&self, now: u64) -> KeyState {
        let reached = |t: Option<u64>| t.is_some_and(|t| t <= now);
        let pending = |t: Option<u64>| t.is_some_and(|t| t > now);
        KeyState {
            published: !pending(self.publish) && !reached(self.delete),
            active: !pending(self.activate) && !reached(self.inactive),
        }
    }

    /// The timing after setting `state` at `now`, keeping past times that
    /// still hold.
    pub fn with_state(&self, state: KeyState, now: u64) -> KeyTiming {
        let mut t = *self;
        let current = self.state_at(now);
        if state.published != current.published {
            if state.published {
                t.publish = Some(now);
                t.delete = None;
            } else {
                t.delete = Some(now);
            }
        }
        if state.active != current.active {
            if state.active {
                t.activate = Some(now);
                t.inactive = None;
            } else {
                t.inactive = Some(now);
            }
        }
        t
    }

    fn write_lines(&self, out: &mut String) {
        for (label, value) in [
            ("Created", self.created),
            ("Publish", self.publish),
            ("Activate", self.activate),
            ("Inactive", self.inactive),
            ("Delete", self.delete),
        ] {
            if let Some(secs) = value {
                out.push_str(label);
                out.push_str(": ");
                out.push_str(&super::timestamp::format(secs));
                out.push('\n');
            }
        }
    }
}

/// The public half, from a `.key` file.
pub(super) struct BindPublic {
    pub(super) flags: u16,
    pub(super) algorithm: Algorithm,
    pub(super) key: Vec<u8>,
}

/// The private half, from a `.private` file.
pub(super) struct BindPrivate {
    pub(super) algorithm: Algorithm,
    pub(super) key: Vec<u8>,
    pub(super) timing: KeyTiming,
}

pub(super) fn parse_bind_key(zone: &Name, text: &str) -> Result<BindPublic, KeyMaterialError> {
    // Comments start with ';'; the record may span lines in parentheses.
    let mut record = String::new();
    for line in text.lines() {
        let line = line.split(';').next().unwrap_or("");
        record.push(' ');
        record.push_str(line);
    }
    let record = record.replace(['(', ')'], " ");
    let tokens: Vec<&str> = record.split_whitespace().collect();
    let at = tokens
        .iter()
        .position(|t| t.eq_ignore_ascii_case("DNSKEY"))
        .ok_or_else(|| KeyMaterialError::malformed("no DNSKEY record in the .key file"))?;
    if at == 0 {
        return Err(KeyMaterialError::malformed(
            "the DNSKEY record has no owner",
        ));
    }
    let owner = Name::from_text(tokens[0], Some(zone))
        .map_err(|e| KeyMaterialError::malformed(format!("bad DNSKEY owner: {e}")))?;
    if owner != *zone {
        return Err(KeyMaterialError::malformed(format!(
            "the DNSKEY is for {owner}, not {zone}"
        )));
    }
    let rdata = crate::wire::rdata::parse_str(RType::DNSKEY, &tokens[at + 1..].join(" "), zone)
        .map_err(|e| KeyMaterialError::malformed(format!("bad DNSKEY: {e}")))?;
    let flags = u16::from_be_bytes([rdata[0], rdata[1]]);
    if rdata[2] != PROTOCOL {
        return Err(KeyMaterialError::malformed(format!(
            "DNSKEY protocol is {}, not 3",
            rdata[2]
        )));
    }
    let algorithm =
        Algorithm::from_number(rdata[3]).ok_or(KeyMaterialError::UnsupportedAlgorithm(rdata[3]))?;
    Ok(BindPublic {
        flags,
        algorithm,
        key: rdata[4..].to_vec(),
    })
}

pub(super) fn parse_bind_private(text: &str) -> Result<BindPrivate, KeyMaterialError> {
    let mut format_seen = false;
    let mut algorithm = None;
    let mut key = None;
    let mut timing = KeyTiming::default();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let (field, value) = line.split_once(':').ok_or_else(|| {
            KeyMaterialError::malformed(format!("line {}: expected \"Field: value\"", n + 1))
        })?;
        let value = value.trim();
        let time = || {
            super::timestamp::parse(value).map(Some).ok_or_else(|| {
                KeyMaterialError::malformed(format!("line {}: bad {field} time {value:?}", n + 1))
            })
        };
        match field.trim().to_ascii_lowercase().as_str() {
            "private-key-format" => {
                if !matches!(value, "v1.2" | "v1.3") {
                    return Err(KeyMaterialError::malformed(format!(
                        "Private-key-format {value} is not supported (v1.2 and v1.3 are)"
                    )));
                }
                format_seen = true;
            }
            "algorithm" => {
                let number: u8 = value
                    .split_whitespace()
                    .next()
                    .and_then(|n| n.parse().ok())
                    .ok_or_else(|| {
                        KeyMaterialError::malformed(format!("bad Algorithm {value:?}"))
                    })?;
                algorithm = Some(
                    Algorithm::from_number(number)
                        .ok_or(KeyMaterialError::UnsupportedAlgorithm(number))?,
                );
            }
            "privatekey" => {
                let compact: String = value.split_whitespace().collect();
                key = Some(
                    BASE64
                        .decode(compact.as_bytes())
                        .map_err(|_| KeyMaterialError::malformed("PrivateKey is not base64"))?,
                );
            }
            "created" => timing.created = time()?,
            "publish" => timing.publish = time()?,
            "activate" => timing.activate = time()?,
            "inactive" => timing.inactive = time()?,
            "delete" => timing.delete = time()?,
            _ => {} // Other BIND fields (Revoke, SyncPublish, ...) are not used.
        }
    }
    if !format_seen {
        return Err(KeyMaterialError::malformed(
            "no Private-key-format line: not an ISC private key",
        ));
    }
    Ok(BindPrivate {
        algorithm: algorithm.ok_or_else(|| KeyMaterialError::malformed("no Algorithm line"))?,
        key: key.ok_or_else(|| KeyMaterialError::malformed("no PrivateKey line"))?,
        timing,
    })
}

#[cfg(test)]
pub(crate) mod tests;
