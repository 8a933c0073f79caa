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
enum Part {
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
fn layout(rtype: RType) -> Option<&'static [Part]> {
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
mod tests {
    use super::*;
    use crate::dnssec::keys::tests::{name, rfc6605_key, rfc8080_key};
    use crate::dnssec::keys::{FLAGS_KSK, FLAGS_ZSK};

    const IN: u16 = 1;

    fn wire(text: &str) -> Vec<u8> {
        name(text).as_wire().to_vec()
    }

    fn rdata(rtype: RType, text: &str) -> Vec<u8> {
        crate::wire::rdata::parse_str(rtype, text, &name("example.com.")).unwrap()
    }

    /// RFC 6605 §6.1: the published RRSIG over www.example.net. A verifies.
    #[test]
    fn rfc6605_published_signature_verifies() {
        let key = rfc6605_key();
        let sig = BASE64
            .decode(b"qx6wLYqmh+l9oCKTN6qIc+bw6ya+KJ8oMz0YP107epXAyGmt+3SNruPFKG7tZoLBLlUzGGus7ZwmwWep666VCw==")
            .unwrap();
        let mut rrsig = Vec::new();
        rrsig.extend_from_slice(&1u16.to_be_bytes()); // A
        rrsig.extend_from_slice(&[13, 3]);
        rrsig.extend_from_slice(&3600u32.to_be_bytes());
        rrsig
            .extend_from_slice(&(timestamp::parse("20100909100439").unwrap() as u32).to_be_bytes());
        rrsig
            .extend_from_slice(&(timestamp::parse("20100812100439").unwrap() as u32).to_be_bytes());
        rrsig.extend_from_slice(&55648u16.to_be_bytes());
        rrsig.extend_from_slice(&wire("example.net."));
        rrsig.extend_from_slice(&sig);
        let a = [192u8, 0, 2, 1];
        let mut scratch = Scratch::new();
        let parsed = verify_rrsig(
            key.dnskey_rdata(),
            &wire("www.example.net."),
            RType::A,
            IN,
            [&a[..]],
            &rrsig,
            &mut scratch,
        )
        .unwrap();
        assert_eq!(
            parsed.to_string(),
            "A 13 3 3600 20100909100439 20100812100439 55648 example.net. \
             qx6wLYqmh+l9oCKTN6qIc+bw6ya+KJ8oMz0YP107epXAyGmt+3SNruPFKG7tZoLBLlUzGGus7ZwmwWep666VCw=="
        );
        // Owner case does not matter; other data does.
        verify_rrsig(
            key.dnskey_rdata(),
            &wire("WWW.Example.NET."),
            RType::A,
            IN,
            [&a[..]],
            &rrsig,
            &mut scratch,
        )
        .unwrap();
        let other = [192u8, 0, 2, 2];
        assert_eq!(
            verify_rrsig(
                key.dnskey_rdata(),
                &wire("www.example.net."),
                RType::A,
                IN,
                [&other[..]],
                &rrsig,
                &mut scratch
            ),
            Err(VerifyError::BadSignature)
        );
        // Our own signature over the same data verifies too.
        let window = Window::fixed(parsed.inception, parsed.expiration);
        let ours = sign_rrset(
            &key,
            &wire("www.example.net."),
            RType::A,
            IN,
            3600,
            [&a[..]],
            window,
            &mut scratch,
        )
        .unwrap();
        assert_eq!(
            &ours[..rrsig.len() - 64],
            &rrsig[..rrsig.len() - 64],
            "same RDATA but the signature"
        );
        verify_rrsig(
            key.dnskey_rdata(),
            &wire("www.example.net."),
            RType::A,
            IN,
            [&a[..]],
            &ours,
            &mut scratch,
        )
        .unwrap();
    }

    /// RFC 8080 §6.1's MX example: the signed data matches the RFC 4034
    /// construction byte for byte, and Ed25519 signing is deterministic.
    #[test]
    fn rfc8080_signed_data_and_determinism() {
        let key = rfc8080_key();
        let mx = rdata(RType::MX, "10 mail.example.com.");
        let window = Window::fixed(1_438_207_200, 1_440_021_600);
        let header = RrsigHeader {
            type_covered: RType::MX,
            algorithm: 15,
            labels: 2,
            original_ttl: 3600,
            expiration: window.expiration,
            inception: window.inception,
            key_tag: key.tag(),
            signer: key.zone().as_wire(),
        };
        let mut scratch = Scratch::new();
        signed_data(&header, &wire("example.com."), IN, [&mx[..]], &mut scratch).unwrap();
        let expected = "000f0f0200000e1055d4fc6055b94ce00e1d076578616d706c6503636f6d00\
                        076578616d706c6503636f6d00000f000100000e100014000a046d61696c076578616d706c6503636f6d00";
        assert_eq!(data_encoding::HEXLOWER.encode(&scratch.message), expected);

        let one = sign_rrset(
            &key,
            &wire("example.com."),
            RType::MX,
            IN,
            3600,
            [&mx[..]],
            window,
            &mut scratch,
        )
        .unwrap();
        let two = sign_rrset(
            &key,
            &wire("EXAMPLE.com."),
            RType::MX,
            IN,
            3600,
            [&mx[..]],
            window,
            &mut scratch,
        )
        .unwrap();
        assert_eq!(one, two);
        let parsed = verify_rrsig(
            key.dnskey_rdata(),
            &wire("example.com."),
            RType::MX,
            IN,
            [&mx[..]],
            &one,
            &mut scratch,
        )
        .unwrap();
        assert_eq!(
            parsed
                .to_string()
                .split(' ')
                .take(8)
                .collect::<Vec<_>>()
                .join(" "),
            "MX 15 2 3600 20150819220000 20150729220000 3613 example.com."
        );
    }

    #[test]
    fn rrsig_fields_follow_rfc4034() {
        let key =
            SigningKey::generate(&name("Example.COM."), Algorithm::EcdsaP256Sha256, FLAGS_KSK)
                .unwrap();
        let a = [192u8, 0, 2, 1];
        let window = Window::fixed(1_000, 2_000_000);
        let mut scratch = Scratch::new();
        for (owner, labels) in [
            ("example.com.", 2),
            ("www.example.com.", 3),
            ("*.example.com.", 2),
            ("*.a.example.com.", 3),
            ("a.*.example.com.", 4),
        ] {
            let sig = sign_rrset(
                &key,
                &wire(owner),
                RType::A,
                IN,
                300,
                [&a[..]],
                window,
                &mut scratch,
            )
            .unwrap();
            let f = Rrsig::parse(&sig).unwrap();
            assert_eq!(f.labels, labels, "{owner}");
            assert_eq!(f.type_covered, RType::A);
            assert_eq!(f.algorithm, 13);
            assert_eq!(f.original_ttl, 300);
            assert_eq!((f.inception, f.expiration), (1_000, 2_000_000));
            assert_eq!(f.key_tag, key.tag());
            assert_eq!(f.signer, wire("example.com."), "signer lower-cased");
            assert_eq!(f.signature.len(), 64);
        }
        assert_eq!(rrsig_labels(&[0]), 0);
        assert_eq!(rrsig_labels(&wire("*.")), 0);
    }

    #[test]
    fn wildcard_signature_verifies_for_expanded_names() {
        let key = rfc6605_key();
        let a = [192u8, 0, 2, 7];
        let mut scratch = Scratch::new();
        let window = Window::fixed(1_000, 2_000_000);
        let sig = sign_rrset(
            &key,
            &wire("*.example.net."),
            RType::A,
            IN,
            60,
            [&a[..]],
            window,
            &mut scratch,
        )
        .unwrap();
        for q in ["x.example.net.", "a.b.example.net.", "*.example.net."] {
            verify_rrsig(
                key.dnskey_rdata(),
                &wire(q),
                RType::A,
                IN,
                [&a[..]],
                &sig,
                &mut scratch,
            )
            .unwrap_or_else(|e| panic!("{q}: {e}"));
        }
        // Compact mode signs the expansion itself: Labels = labels(q).
        let q = wire("a.b.example.net.");
        let sig = sign_rrset(&key, &q, RType::A, IN, 60, [&a[..]], window, &mut scratch).unwrap();
        assert_eq!(Rrsig::parse(&sig).unwrap().labels, 4);
        verify_rrsig(
            key.dnskey_rdata(),
            &q,
            RType::A,
            IN,
            [&a[..]],
            &sig,
            &mut scratch,
        )
        .unwrap();
        assert!(
            verify_rrsig(
                key.dnskey_rdata(),
                &wire("example.net."),
                RType::A,
                IN,
                [&a[..]],
                &sig,
                &mut scratch
            )
            .is_err()
        );
    }

    #[test]
    fn rrset_order_case_and_duplicates_do_not_change_the_signature() {
        let key = rfc8080_key(); // deterministic signatures
        let window = Window::fixed(1_000, 2_000_000);
        let mut scratch = Scratch::new();
        let a = rdata(RType::MX, "10 Mail.Example.COM.");
        let b = rdata(RType::MX, "5 backup.example.com.");
        let a_lower = rdata(RType::MX, "10 mail.example.com.");
        let owner = wire("example.com.");
        let sign = |set: &[&[u8]], scratch: &mut Scratch| {
            sign_rrset(
                &key,
                &owner,
                RType::MX,
                IN,
                300,
                set.iter().copied(),
                window,
                scratch,
            )
            .unwrap()
        };
        let one = sign(&[&a, &b], &mut scratch);
        assert_eq!(one, sign(&[&b, &a], &mut scratch));
        assert_eq!(one, sign(&[&b, &a_lower, &a], &mut scratch));
        assert_ne!(one, sign(&[&a], &mut scratch));
        // TXT data is not a name: its case is signed as is.
        let t1 = rdata(RType::TXT, "\"ABC\"");
        let t2 = rdata(RType::TXT, "\"abc\"");
        let s1 = sign_rrset(
            &key,
            &owner,
            RType::TXT,
            IN,
            300,
            [&t1[..]],
            window,
            &mut scratch,
        )
        .unwrap();
        let s2 = sign_rrset(
            &key,
            &owner,
            RType::TXT,
            IN,
            300,
            [&t2[..]],
            window,
            &mut scratch,
        )
        .unwrap();
        assert_ne!(s1, s2);
        // NSEC next names are not lower-cased (RFC 6840 §5.1).
        let n1 = [&wire("A.example.com.")[..], &[0, 1, 0x40]].concat();
        let n2 = [&wire("a.example.com.")[..], &[0, 1, 0x40]].concat();
        let s1 = sign_rrset(
            &key,
            &owner,
            RType::NSEC,
            IN,
            300,
            [&n1[..]],
            window,
            &mut scratch,
        )
        .unwrap();
        let s2 = sign_rrset(
            &key,
            &owner,
            RType::NSEC,
            IN,
            300,
            [&n2[..]],
            window,
            &mut scratch,
        )
        .unwrap();
        assert_ne!(s1, s2);
        // TTL and class are part of the signed data.
        let c = sign_rrset(
            &key,
            &owner,
            RType::MX,
            3,
            300,
            [&a[..]],
            window,
            &mut scratch,
        )
        .unwrap();
        let t = sign_rrset(
            &key,
            &owner,
            RType::MX,
            IN,
            301,
            [&a[..]],
            window,
            &mut scratch,
        )
        .unwrap();
        let base = sign(&[&a], &mut scratch);
        assert_ne!(c, base);
        assert_ne!(t, base);
    }

    #[test]
    fn canonical_rdata_lowercases_only_names() {
        let canon = |rtype: RType, text: &str| {
            let mut out = Vec::new();
            canonical_rdata(rtype, &rdata(rtype, text), &mut out).unwrap();
            out
        };
        assert_eq!(
            canon(RType::SOA, "NS1.Example.COM. Host.EXAMPLE.com. 1 2 3 4 5"),
            rdata(RType::SOA, "ns1.example.com. host.example.com. 1 2 3 4 5")
        );
        assert_eq!(
            canon(RType::SRV, "0 5 5060 SIP.Example.com."),
            rdata(RType::SRV, "0 5 5060 sip.example.com.")
        );
        assert_eq!(
            canon(
                RType::NAPTR,
                "100 10 \"U\" \"E2U+SIP\" \"!^.*$!SIP:X@Y!\" Target.EXAMPLE."
            ),
            rdata(
                RType::NAPTR,
                "100 10 \"U\" \"E2U+SIP\" \"!^.*$!SIP:X@Y!\" target.example."
            )
        );
        assert_eq!(
            canon(RType::CNAME, "WWW.Example.com."),
            rdata(RType::CNAME, "www.example.com.")
        );
        let rp = [wire("A.B."), wire("C.D.")].concat();
        let mut out = Vec::new();
        canonical_rdata(RType::RP, &rp, &mut out).unwrap();
        assert_eq!(out, [wire("a.b."), wire("c.d.")].concat());
        // Not in the list: SVCB targets, TXT, CAA, HINFO stay as written.
        for (rtype, text) in [
            (RType::HTTPS, "1 Svc.Example.COM. alpn=h2"),
            (RType::TXT, "\"Mixed Case\""),
            (RType::HINFO, "\"PC\" \"Linux\""),
            (RType::CAA, "0 issue \"CA.example\""),
        ] {
            assert_eq!(canon(rtype, text), rdata(rtype, text), "{rtype}");
        }
        // RRSIG signer names are lower-cased; the signature is not.
        let mut rrsig = vec![0, 1, 13, 2, 0, 0, 0, 60, 0, 0, 0, 2, 0, 0, 0, 1, 0, 9];
        rrsig.extend_from_slice(&wire("EXAMPLE."));
        rrsig.extend_from_slice(b"SIGNATURE");
        let mut out = Vec::new();
        canonical_rdata(RType::RRSIG, &rrsig, &mut out).unwrap();
        assert_eq!(&out[18..27], &wire("example.")[..]);
        assert_eq!(&out[27..], b"SIGNATURE");
        // A6 with a prefix name.
        let a6 = [&[64u8][..], &[0xAB; 8], &wire("PREFIX.Example.")].concat();
        let mut out = Vec::new();
        canonical_rdata(RType(38), &a6, &mut out).unwrap();
        assert_eq!(&out[9..], &wire("prefix.example.")[..]);
        assert_eq!(&out[..9], &a6[..9]);
    }

    #[test]
    fn malformed_rdata_is_an_error() {
        let mut out = Vec::new();
        for (rtype, bad) in [
            (RType::MX, &[0u8, 10][..]),
            (RType::MX, &[0, 10, 3, b'a', b'b']),
            (RType::CNAME, &[1, b'a', 0, 9]),
            (RType::NAPTR, &[0, 1, 0, 2, 5]),
            (RType::SOA, &[0, 0]),
            (RType(38), &[200]),
            (RType(38), &[128, 1]),
        ] {
            assert_eq!(
                canonical_rdata(rtype, bad, &mut out),
                Err(SignError::BadRdata(rtype)),
                "{rtype} {bad:?}"
            );
        }
        let key = rfc8080_key();
        let mut scratch = Scratch::new();
        let w = Window::fixed(1, 2);
        let empty: [&[u8]; 0] = [];
        assert_eq!(
            sign_rrset(&key, &wire("a."), RType::A, IN, 1, empty, w, &mut scratch),
            Err(SignError::BadRrset)
        );
        assert_eq!(
            sign_rrset(
                &key,
                &[1, b'a'],
                RType::A,
                IN,
                1,
                [&[1u8, 2, 3, 4][..]],
                w,
                &mut scratch
            ),
            Err(SignError::BadOwner)
        );
        let big = vec![0u8; 70_000];
        assert_eq!(
            sign_rrset(
                &key,
                &wire("a."),
                RType(999),
                IN,
                1,
                [&big[..]],
                w,
                &mut scratch
            ),
            Err(SignError::BadRrset)
        );
    }

    #[test]
    fn verify_rejects_mismatches() {
        let ksk = rfc6605_key();
        let zsk =
            SigningKey::generate(&name("example.net."), Algorithm::EcdsaP256Sha256, FLAGS_ZSK)
                .unwrap();
        let a = [192u8, 0, 2, 1];
        let owner = wire("www.example.net.");
        let mut scratch = Scratch::new();
        let sig = sign_rrset(
            &ksk,
            &owner,
            RType::A,
            IN,
            60,
            [&a[..]],
            Window::fixed(1, 2),
            &mut scratch,
        )
        .unwrap();
        let verify = |dnskey: &[u8], rtype: RType, sig: &[u8], scratch: &mut Scratch| {
            verify_rrsig(dnskey, &owner, rtype, IN, [&a[..]], sig, scratch).map(|_| ())
        };
        assert!(verify(ksk.dnskey_rdata(), RType::A, &sig, &mut scratch).is_ok());
        assert_eq!(
            verify(zsk.dnskey_rdata(), RType::A, &sig, &mut scratch),
            Err(VerifyError::Mismatch("key tag"))
        );
        assert_eq!(
            verify(ksk.dnskey_rdata(), RType::AAAA, &sig, &mut scratch),
            Err(VerifyError::Mismatch("type covered"))
        );
        let mut bad = sig.clone();
        *bad.last_mut().unwrap() ^= 1;
        assert_eq!(
            verify(ksk.dnskey_rdata(), RType::A, &bad, &mut scratch),
            Err(VerifyError::BadSignature)
        );
        let mut later = sig.clone();
        later[8] ^= 0x40; // expiration
        assert_eq!(
            verify(ksk.dnskey_rdata(), RType::A, &later, &mut scratch),
            Err(VerifyError::BadSignature)
        );
        let mut labels = sig.clone();
        labels[3] = 9;
        assert!(matches!(
            verify(ksk.dnskey_rdata(), RType::A, &labels, &mut scratch),
            Err(VerifyError::Mismatch(_))
        ));
        assert_eq!(
            verify(ksk.dnskey_rdata(), RType::A, &sig[..10], &mut scratch),
            Err(VerifyError::Malformed)
        );
    }

    #[test]
    fn window_follows_spec_defaults() {
        let policy = SigPolicy::default();
        let now = 1_700_000_123u64; // 22:15:23 UTC
        let hour = now - now % 3600;
        let seed = jitter_seed(&wire("www.example.com."), RType::A);
        let w = Window::at(now, &policy, seed);
        assert_eq!(u64::from(w.inception), hour - 3600);
        let lifetime = w.expiration - w.inception;
        assert!(
            (13 * 86_400..=14 * 86_400).contains(&lifetime),
            "{lifetime}"
        );
        assert_eq!(w.expiration - w.refresh_at, 7 * 86_400);
        assert!(w.is_valid_at(now) && !w.needs_refresh(now));
        // The same hour gives the same window; the seed is case-blind.
        assert_eq!(Window::at(hour + 3599, &policy, seed), w);
        assert_eq!(seed, jitter_seed(&wire("WWW.example.COM."), RType::A));
        assert_ne!(seed, jitter_seed(&wire("www.example.com."), RType::AAAA));
        // Due when less than the margin remains, or when the clock went back.
        assert!(!w.needs_refresh(u64::from(w.refresh_at) - 1));
        assert!(w.needs_refresh(u64::from(w.refresh_at)));
        assert!(w.needs_refresh(u64::from(w.expiration) + 10));
        assert!(w.needs_refresh(u64::from(w.inception) - 1));
        assert!(!w.is_valid_at(u64::from(w.expiration) + 1));
        // Issue 7's "a third of the validity" is a policy choice.
        let third = SigPolicy {
            refresh: policy.validity / 3,
            jitter: 0,
            ..policy
        };
        let w3 = Window::at(now, &third, seed);
        assert_eq!(w3.expiration - w3.refresh_at, 14 * 86_400 / 3);
        // Jitter spreads expirations over the day.
        let spread: std::collections::HashSet<u32> = (0..50u16)
            .map(|i| Window::at(now, &policy, jitter_seed(&wire("x."), RType(i))).expiration)
            .collect();
        assert!(spread.len() > 40);
        // Serial arithmetic past 2106.
        let far = (1u64 << 32) + 500_000;
        let wf = Window::at(far, &policy, 0);
        assert!(wf.is_valid_at(far) && !wf.needs_refresh(far));
    }

    /// Rough cost of one signature. On the shared 2-vCPU dev VM (release,
    /// two-record A RRset): ECDSA P-256 sign 33 µs, verify 103 µs; Ed25519
    /// sign 27 µs, verify 55 µs. Run with
    /// `cargo test --release -p dnsd --lib signing_cost -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn signing_cost() {
        let mut scratch = Scratch::new();
        let owner = wire("www.example.com.");
        let a = [192u8, 0, 2, 1];
        let b = [192u8, 0, 2, 2];
        for alg in [Algorithm::EcdsaP256Sha256, Algorithm::Ed25519] {
            let key = SigningKey::generate(&name("example.com."), alg, FLAGS_KSK).unwrap();
            let window = Window::at(1_700_000_000, &SigPolicy::default(), 1);
            let n = 2_000;
            let start = std::time::Instant::now();
            for _ in 0..n {
                let sig = sign_rrset(
                    &key,
                    &owner,
                    RType::A,
                    IN,
                    300,
                    [&a[..], &b[..]],
                    window,
                    &mut scratch,
                )
                .unwrap();
                std::hint::black_box(sig);
            }
            let per = start.elapsed() / n;
            let sig = sign_rrset(
                &key,
                &owner,
                RType::A,
                IN,
                300,
                [&a[..], &b[..]],
                window,
                &mut scratch,
            )
            .unwrap();
            let start = std::time::Instant::now();
            for _ in 0..n {
                verify_rrsig(
                    key.dnskey_rdata(),
                    &owner,
                    RType::A,
                    IN,
                    [&a[..], &b[..]],
                    &sig,
                    &mut scratch,
                )
                .unwrap();
            }
            println!(
                "{alg}: sign {per:?} per RRSIG, verify {:?}",
                start.elapsed() / n
            );
        }
    }
}
