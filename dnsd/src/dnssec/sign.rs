//! RRSIG generation and verification (RFC 4034 §3, §6; RFC 6840 §5.1).
//!
//! [`sign_rrset`] turns one RRset into the RDATA of its RRSIG. The signed
//! data is the RRSIG RDATA without the signature, followed by every RR of
//! the set in canonical form: owner lower-cased (a wildcard owner keeps its
//! `*` label), the original TTL, names inside RDATA lower-cased for the types
//! RFC 4034 §6.2 lists (as corrected by RFC 6840 §5.1: not NSEC), RRs sorted
//! by canonical RDATA and duplicates dropped.
//!
//! The validity times come from a [`Window`], computed per spec §2.2 from a
//! [`SigPolicy`]; [`Window::needs_refresh`] says when a cached signature
//! must be replaced.
//!
//! Hot path: a call allocates only its output; the signed data and the
//! canonical RDATA are built in a caller-owned [`Scratch`] that is reused.
//! No clock is read here: callers pass `now`.

use std::fmt;

use data_encoding::BASE64;

use super::keys::{Algorithm, KeyMaterialError, SigningKey, key_tag};
use super::timestamp;
use crate::wire::name::wire_name_len;
use crate::wire::{Name, RType};

// ----------- Validity window ---------------------------------------------------

/// When signatures start and stop being valid (spec §2.2). All in seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SigPolicy {
    /// Inception is this long before the start of the current hour (default 1 h).
    pub inception_offset: u32,
    /// Expiration is this long after inception, before jitter (default 14 days).
    pub validity: u32,
    /// Up to this much is taken off the validity, per (owner, type), so
    /// refreshes spread out and replicas agree (default 1 day).
    pub jitter: u32,
    /// Re-sign when less than this remains before expiration (default 7
    /// days, spec §2.2; issue 7 says a third of the validity, 4.67 days:
    /// `SigPolicy { refresh: validity / 3, .. }` gives that).
    pub refresh: u32,
}

impl Default for SigPolicy {
    fn default() -> SigPolicy {
        SigPolicy {
            inception_offset: 3600,
            validity: 14 * 86_400,
            jitter: 86_400,
            refresh: 7 * 86_400,
        }
    }
}

/// The validity of one signature: its inception and expiration (RRSIG
/// fields, 32-bit serial time) and when it is due for replacement.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Window {
    /// RRSIG Signature Inception.
    pub inception: u32,
    /// RRSIG Signature Expiration.
    pub expiration: u32,
    /// From this time on the signature should be replaced.
    pub refresh_at: u32,
}

impl Window {
    /// The window for a signature made at `now` (seconds since the epoch).
    ///
    /// Inception is `inception_offset` before the start of the hour, so every
    /// signature made within one hour has the same times (good for caches
    /// and replicas); expiration is `validity - jitter` later, where the
    /// jitter is `jitter_seed` reduced modulo `policy.jitter` (see
    /// [`jitter_seed`]). A policy whose refresh margin exceeds the validity
    /// makes windows that are due at once; [`SigPolicy::default`] is sane.
    pub fn at(now: u64, policy: &SigPolicy, jitter_seed: u64) -> Window {
        let hour = now - now % 3600;
        let inception = hour.saturating_sub(u64::from(policy.inception_offset));
        let jitter = match policy.jitter {
            0 => 0,
            j => jitter_seed % u64::from(j),
        };
        let lifetime = u64::from(policy.validity).saturating_sub(jitter);
        let expiration = inception + lifetime;
        let refresh_at = expiration.saturating_sub(u64::from(policy.refresh));
        Window {
            inception: timestamp::serial(inception),
            expiration: timestamp::serial(expiration),
            refresh_at: timestamp::serial(refresh_at),
        }
    }

    /// Fixed times, e.g. to reproduce a published signature; never due for
    /// refresh before expiration.
    pub fn fixed(inception: u32, expiration: u32) -> Window {
        Window {
            inception,
            expiration,
            refresh_at: expiration,
        }
    }

    /// True when a signature with this window should be replaced at `now`:
    /// less than the refresh margin remains, or `now` is before inception
    /// (the clock went back).
    pub fn needs_refresh(&self, now: u64) -> bool {
        let now = timestamp::serial(now);
        timestamp::serial_diff(self.refresh_at, now) <= 0
            || timestamp::serial_diff(self.inception, now) > 0
    }

    /// True when `now` lies within inception..=expiration.
    pub fn is_valid_at(&self, now: u64) -> bool {
        let now = timestamp::serial(now);
        timestamp::serial_diff(self.inception, now) <= 0
            && timestamp::serial_diff(self.expiration, now) >= 0
    }
}

/// A jitter seed for (owner, type) that every replica computes alike:
/// FNV-1a over the lower-cased owner wire and the type code.
pub fn jitter_seed(owner: &[u8], rtype: RType) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in owner.iter().chain(&rtype.0.to_be_bytes()) {
        h ^= u64::from(b.to_ascii_lowercase());
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

// ----------- Errors and scratch --------------------------------------------------

/// Why an RRset could not be signed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignError {
    /// The owner is not a valid uncompressed wire name.
    #[error("owner is not a valid wire name")]
    BadOwner,
    /// RDATA of a type with embedded names does not parse.
    #[error("malformed {0} RDATA")]
    BadRdata(RType),
    /// An RDATA is longer than 65535 octets, or the set is empty.
    #[error("RRset is empty or has RDATA longer than 65535 octets")]
    BadRrset,
    /// The key failed to sign (RNG failure).
    #[error(transparent)]
    Key(#[from] KeyMaterialError),
}

/// Buffers reused across calls: the signed data and canonical RDATA.
/// One per worker thread; contents are meaningless between calls.
#[derive(Default)]
pub struct Scratch {
    message: Vec<u8>,
    canon: Vec<u8>,
    spans: Vec<(u32, u32)>,
}

impl Scratch {
    /// Empty buffers; they grow to the largest RRset signed and stay.
    pub fn new() -> Scratch {
        Scratch::default()
    }
}

impl fmt::Debug for Scratch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scratch")
            .field("capacity", &self.message.capacity())
            .finish()
    }
}

// ----------- Signing -------------------------------------------------------------

/// Number of labels for the RRSIG Labels field: root and a leading `*`
/// not counted (RFC 4034 §3.1.3). `owner` must be valid wire.
pub fn rrsig_labels(owner: &[u8]) -> u8 {
    let mut count = 0u8;
    let mut pos = 0;
    while let Some(&len) = owner.get(pos) {
        if len == 0 {
            break;
        }
        count += 1;
        pos += 1 + usize::from(len);
    }
    if owner.len() >= 2 && owner[0] == 1 && owner[1] == b'*' {
        count -= 1;
    }
    count
}

/// Signs one RRset and returns the RRSIG RDATA (RFC 4034 §3.1).
///
/// `owner` is the uncompressed wire owner in any case. For a wildcard
/// RRset signed the RFC 4035 way pass the wildcard owner (`*.example.`):
/// Labels then excludes the `*`. Compact denial (spec §4 item 3) signs a
/// wildcard expansion as if the query name existed: pass the query name.
/// `ttl` becomes the Original TTL; the signer name is the key's zone.
#[allow(clippy::too_many_arguments)] // The fields of an RRset, plus key, window and scratch.
pub fn sign_rrset<'r>(
    key: &SigningKey,
    owner: &[u8],
    rtype: RType,
    class: u16,
    ttl: u32,
    rdatas: impl IntoIterator<Item = &'r [u8]>,
    window: Window,
    scratch: &mut Scratch,
) -> Result<Vec<u8>, SignError> {
    if wire_name_len(owner) != Ok(owner.len()) {
        return Err(SignError::BadOwner);
    }
    let header = RrsigHeader {
        type_covered: rtype,
        algorithm: key.algorithm().number(),
        labels: rrsig_labels(owner),
        original_ttl: ttl,
        expiration: window.expiration,
        inception: window.inception,
        key_tag: key.tag(),
        signer: key.zone().as_wire(),
    };
    let prefix_len = signed_data(&header, owner, class, rdatas, scratch)?;
    let signature = key.sign(&scratch.message)?;
    let mut out = Vec::with_capacity(prefix_len + signature.as_ref().len());
    out.extend_from_slice(&scratch.message[..prefix_len]);
    out.extend_from_slice(signature.as_ref());
    Ok(out)
}

/// The RRSIG RDATA fields that precede the signature.
struct RrsigHeader<'a> {
    type_covered: RType,
    algorithm: u8,
    labels: u8,
    original_ttl: u32,
    expiration: u32,
    inception: u32,
    key_tag: u16,
    signer: &'a [u8],
}

/// Builds the signed data in `scratch.message`; returns the length of the
/// RRSIG RDATA prefix at its start. `owner` must be valid wire.
fn signed_data<'r>(
    header: &RrsigHeader<'_>,
    owner: &[u8],
    class: u16,
    rdatas: impl IntoIterator<Item = &'r [u8]>,
    scratch: &mut Scratch,
) -> Result<usize, SignError> {
    let Scratch {
        message,
        canon,
        spans,
    } = scratch;
    message.clear();
    canon.clear();
    spans.clear();
    message.extend_from_slice(&header.type_covered.0.to_be_bytes());
    message.push(header.algorithm);
    message.push(header.labels);
    message.extend_from_slice(&header.original_ttl.to_be_bytes());
    message.extend_from_slice(&header.expiration.to_be_bytes());
    message.extend_from_slice(&header.inception.to_be_bytes());
    message.extend_from_slice(&header.key_tag.to_be_bytes());
    let signer_at = message.len();
    message.extend_from_slice(header.signer);
    message[signer_at..].make_ascii_lowercase();
    let prefix_len = message.len();

    for rdata in rdatas {
        let start = canon.len();
        canonical_rdata(header.type_covered, rdata, canon)?;
        if canon.len() - start > usize::from(u16::MAX) {
            return Err(SignError::BadRrset);
        }
        spans.push((start as u32, canon.len() as u32));
    }
    if spans.is_empty() {
        return Err(SignError::BadRrset);
    }
    let slice = |&(a, b): &(u32, u32)| &canon[a as usize..b as usize];
    spans.sort_unstable_by(|x, y| slice(x).cmp(slice(y)));
    spans.dedup_by(|x, y| slice(x) == slice(y));

    // The owner as given, lower-cased: the caller passes the wildcard
    // owner itself for an RFC 4035-style wildcard signature.
    for span in spans.iter() {
        let rdata = slice(span);
        let at = message.len();
        message.extend_from_slice(owner);
        message[at..].make_ascii_lowercase();
        message.extend_from_slice(&header.type_covered.0.to_be_bytes());
        message.extend_from_slice(&class.to_be_bytes());
        message.extend_from_slice(&header.original_ttl.to_be_bytes());
        message.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
        message.extend_from_slice(rdata);
    }
    Ok(prefix_len)
}

fn count_labels(owner: &[u8]) -> usize {
    let mut count = 0;
    let mut pos = 0;
    while let Some(&len) = owner.get(pos) {
        if len == 0 {
            break;
        }
        count += 1;
        pos += 1 + usize::from(len);
    }
    count
}

// ----------- Canonical RDATA -------------------------------------------------------

/// One part of an RDATA layout, for finding embedded names.
#[derive(Clone, Copy)]
pub(crate) enum Part {
    /// An uncompressed domain name: lower-cased in canonical form.
    Name,
    /// So many fixed octets.
    Fixed(usize),
    /// A <character-string>: length octet and data.
    CharStr,
    /// Everything that is left (signature, bitmap).
    Rest,
}

/// Layouts of the types whose RDATA names are lower-cased (RFC 4034 §6.2
/// item 3, minus NSEC per RFC 6840 §5.1; HINFO has no names). A6 is
/// handled apart. Other types are copied verbatim.
pub(crate) fn layout(rtype: RType) -> Option<&'static [Part]> {
    use Part::*;
    Some(match rtype.0 {
        // NS, MD, MF, CNAME, MB, MG, MR, PTR, DNAME
        2 | 3 | 4 | 5 | 7 | 8 | 9 | 12 | 39 => &[Name],
        6 => &[Name, Name, Fixed(20)],                      // SOA
        14 | 17 => &[Name, Name],                           // MINFO, RP
        15 | 18 | 21 | 36 => &[Fixed(2), Name],             // MX, AFSDB, RT, KX
        26 => &[Fixed(2), Name, Name],                      // PX
        33 => &[Fixed(6), Name],                            // SRV
        35 => &[Fixed(4), CharStr, CharStr, CharStr, Name], // NAPTR
        24 | 46 => &[Fixed(18), Name, Rest],                // SIG, RRSIG
        30 => &[Name, Rest],                                // NXT
        _ => return None,
    })
}

/// Appends the canonical form of `rdata` (RFC 4034 §6.2) to `out`.
pub fn canonical_rdata(rtype: RType, rdata: &[u8], out: &mut Vec<u8>) -> Result<(), SignError> {
    let start = out.len();
    out.extend_from_slice(rdata);
    let bad = || SignError::BadRdata(rtype);
    if rtype.0 == 38 {
        // A6 (RFC 2874): prefix length, address suffix, prefix name if any.
        let prefix = usize::from(*rdata.first().ok_or_else(bad)?);
        if prefix > 128 {
            return Err(bad());
        }
        let at = 1 + (128 - prefix).div_ceil(8);
        if prefix > 0 {
            let len = wire_name_len(rdata.get(at..).ok_or_else(bad)?).map_err(|_| bad())?;
            if at + len != rdata.len() {
                return Err(bad());
            }
            out[start + at..start + at + len].make_ascii_lowercase();
        } else if at != rdata.len() {
            return Err(bad());
        }
        return Ok(());
    }
    let Some(parts) = layout(rtype) else {
        return Ok(());
    };
    let mut pos = 0;
    for part in parts {
        match part {
            Part::Name => {
                let len = wire_name_len(&rdata[pos..]).map_err(|_| bad())?;
                out[start + pos..start + pos + len].make_ascii_lowercase();
                pos += len;
            }
            Part::Fixed(n) => pos += n,
            Part::CharStr => pos += 1 + usize::from(*rdata.get(pos).ok_or_else(bad)?),
            Part::Rest => pos = rdata.len(),
        }
        if pos > rdata.len() {
            return Err(bad());
        }
    }
    if pos != rdata.len() {
        return Err(bad());
    }
    Ok(())
}

// ----------- RRSIG RDATA parsing and verification ------------------------------

/// RRSIG RDATA split into its fields (RFC 4034 §3.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rrsig<'a> {
    /// Type Covered.
    pub type_covered: RType,
    /// Algorithm number.
    pub algorithm: u8,
    /// Labels.
    pub labels: u8,
    /// Original TTL.
    pub original_ttl: u32,
    /// Signature Expiration.
    pub expiration: u32,
    /// Signature Inception.
    pub inception: u32,
    /// Key Tag.
    pub key_tag: u16,
    /// Signer's Name, uncompressed wire.
    pub signer: &'a [u8],
    /// Signature.
    pub signature: &'a [u8],
}

impl<'a> Rrsig<'a> {
    /// Splits RRSIG RDATA; `None` when it is malformed.
    pub fn parse(rdata: &'a [u8]) -> Option<Rrsig<'a>> {
        if rdata.len() < 19 {
            return None;
        }
        let u16_at = |i: usize| u16::from_be_bytes([rdata[i], rdata[i + 1]]);
        let u32_at =
            |i: usize| u32::from_be_bytes([rdata[i], rdata[i + 1], rdata[i + 2], rdata[i + 3]]);
        let signer_len = wire_name_len(&rdata[18..]).ok()?;
        Some(Rrsig {
            type_covered: RType(u16_at(0)),
            algorithm: rdata[2],
            labels: rdata[3],
            original_ttl: u32_at(4),
            expiration: u32_at(8),
            inception: u32_at(12),
            key_tag: u16_at(16),
            signer: &rdata[18..18 + signer_len],
            signature: &rdata[18 + signer_len..],
        })
    }
}

impl fmt::Display for Rrsig<'_> {
    /// Presentation form, e.g. `A 13 3 3600 20100909100439 20100812100439 55648 example.net. <base64>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let signer = Name::from_wire(self.signer).map_err(|_| fmt::Error)?;
        write!(
            f,
            "{} {} {} {} {} {} {} {} {}",
            self.type_covered,
            self.algorithm,
            self.labels,
            self.original_ttl,
            timestamp::format(u64::from(self.expiration)),
            timestamp::format(u64::from(self.inception)),
            self.key_tag,
            signer,
            BASE64.encode(self.signature)
        )
    }
}

/// Why an RRSIG did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The RRSIG RDATA or the DNSKEY RDATA is malformed.
    #[error("malformed RRSIG or DNSKEY")]
    Malformed,
    /// Type covered, algorithm, key tag or labels do not fit the RRset and key.
    #[error("RRSIG does not match the RRset or key: {0}")]
    Mismatch(&'static str),
    /// The signature is wrong.
    #[error("bad signature")]
    BadSignature,
    /// The RRset could not be put in canonical form.
    #[error(transparent)]
    Rrset(#[from] SignError),
}

/// Verifies `rrsig` (RDATA) over an RRset with the key in `dnskey` (RDATA),
/// as a validator would (RFC 4035 §5.3), except for the validity times,
/// which callers check with [`Rrsig`] fields. `ttl` is not used: the
/// signature covers the Original TTL. Returns the parsed RRSIG.
#[allow(clippy::too_many_arguments)] // The fields of an RRset, plus key, RRSIG and scratch.
pub fn verify_rrsig<'r, 's>(
    dnskey: &[u8],
    owner: &[u8],
    rtype: RType,
    class: u16,
    rdatas: impl IntoIterator<Item = &'r [u8]>,
    rrsig: &'s [u8],
    scratch: &mut Scratch,
) -> Result<Rrsig<'s>, VerifyError> {
    let sig = Rrsig::parse(rrsig).ok_or(VerifyError::Malformed)?;
    if dnskey.len() < 5 || wire_name_len(owner) != Ok(owner.len()) {
        return Err(VerifyError::Malformed);
    }
    if sig.type_covered != rtype {
        return Err(VerifyError::Mismatch("type covered"));
    }
    if sig.algorithm != dnskey[3] {
        return Err(VerifyError::Mismatch("algorithm"));
    }
    if sig.key_tag != key_tag(dnskey) {
        return Err(VerifyError::Mismatch("key tag"));
    }
    let owner_labels = rrsig_labels(owner);
    if sig.labels > owner_labels {
        return Err(VerifyError::Mismatch("labels above the owner's count"));
    }
    // RFC 4035 §5.3.2: fewer labels than the owner means a wildcard expansion.
    let mut expanded = Vec::new();
    let signed_owner = if sig.labels < owner_labels {
        let mut pos = 0;
        for _ in 0..count_labels(owner) - usize::from(sig.labels) {
            pos += 1 + usize::from(owner[pos]);
        }
        expanded.extend_from_slice(&[1, b'*']);
        expanded.extend_from_slice(&owner[pos..]);
        &expanded[..]
    } else {
        owner
    };
    let header = RrsigHeader {
        type_covered: sig.type_covered,
        algorithm: sig.algorithm,
        labels: sig.labels,
        original_ttl: sig.original_ttl,
        expiration: sig.expiration,
        inception: sig.inception,
        key_tag: sig.key_tag,
        signer: sig.signer,
    };
    signed_data(&header, signed_owner, class, rdatas, scratch)?;
    let public = &dnskey[4..];
    let mut point = [0u8; 65];
    let (alg, key): (&dyn ring::signature::VerificationAlgorithm, &[u8]) =
        match Algorithm::from_number(sig.algorithm) {
            Some(Algorithm::EcdsaP256Sha256) if public.len() == 64 => {
                point[0] = 4;
                point[1..].copy_from_slice(public);
                (&ring::signature::ECDSA_P256_SHA256_FIXED, &point)
            }
            Some(Algorithm::Ed25519) if public.len() == 32 => (&ring::signature::ED25519, public),
            _ => return Err(VerifyError::Malformed),
        };
    ring::signature::UnparsedPublicKey::new(alg, key)
        .verify(&scratch.message, sig.signature)
        .map_err(|_| VerifyError::BadSignature)?;
    Ok(sig)
}

#[cfg(test)]
mod tests;
