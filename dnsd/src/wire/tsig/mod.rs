//! TSIG (RFC 8945): shared-secret transaction signatures on DNS messages.
//!
//! Used both ways: as a server, to verify signed requests (queries, NOTIFY,
//! AXFR/IXFR) and sign the replies, every message of a transfer included;
//! as a secondary, to sign the SOA/IXFR/AXFR requests and NOTIFYs dnsd
//! sends and verify what comes back. Secrets never appear in `Debug` or
//! logs; MACs are compared in constant time.
//!
//! Messages are handled as wire bytes: verifying walks the message only to
//! find where its TSIG RR starts (it must be the last record), and signing
//! appends an RR to a finished message. The MAC inputs are fed to the HMAC
//! piece by piece, so no copy of a message is made to sign or verify it.
//! Key text (`--tsig-key`, BIND key files) is read in `keys.rs`.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use ring::hmac;
use subtle::ConstantTimeEq;

use crate::wire::name::wire_name_len;
use crate::wire::{Name, Rcode};

mod keys;
#[cfg(test)]
mod tests;

/// Seconds a signed message's time may differ from ours (RFC 8945 §10).
pub const FUDGE: u16 = 300;

/// TSIG error codes carried in the TSIG RR's Error field (RFC 8945 §3).
pub const BADSIG: Rcode = Rcode(16);
pub const BADKEY: Rcode = Rcode(17);
pub const BADTIME: Rcode = Rcode(18);
pub const BADTRUNC: Rcode = Rcode(22);

/// Our local policy for truncated MACs (RFC 8945 §5.2.4): a MAC the RFC
/// allows but shorter than this many octets (or than the algorithm's
/// output, when that is shorter) is answered with BADTRUNC. 128 bits is
/// what the RFC's own floor gives SHA-256; it only bites on truncated
/// hmac-sha1.
pub const MIN_MAC_LEN: usize = 16;

/// Unsigned messages allowed in a row between signed ones (RFC 8945 §5.3.1).
pub const MAX_UNSIGNED_RUN: usize = 99;

const TYPE_TSIG: u16 = 250;
const CLASS_ANY: u16 = 255;
const HEADER_LEN: usize = 12;
/// Time Signed is a 48-bit field.
const TIME_MASK: u64 = (1 << 48) - 1;

/// A MAC algorithm (RFC 8945 §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    HmacSha1,
    HmacSha256,
    HmacSha384,
    HmacSha512,
}

impl Algorithm {
    /// Every algorithm dnsd implements.
    pub const ALL: [Algorithm; 4] = [
        Algorithm::HmacSha1,
        Algorithm::HmacSha256,
        Algorithm::HmacSha384,
        Algorithm::HmacSha512,
    ];

    /// The algorithm's name as it appears in the TSIG RR and in
    /// `--tsig-key` (`hmac-sha256`, ...), matched case-insensitively.
    pub fn from_name(name: &str) -> Option<Algorithm> {
        let name = name.strip_suffix('.').unwrap_or(name);
        Algorithm::ALL
            .into_iter()
            .find(|algorithm| algorithm.name().eq_ignore_ascii_case(name))
    }

    /// The name in presentation form, without the trailing dot.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::HmacSha1 => "hmac-sha1",
            Algorithm::HmacSha256 => "hmac-sha256",
            Algorithm::HmacSha384 => "hmac-sha384",
            Algorithm::HmacSha512 => "hmac-sha512",
        }
    }

    /// The name in canonical (lower-case, uncompressed) wire form.
    pub fn wire_name(self) -> &'static [u8] {
        match self {
            Algorithm::HmacSha1 => b"\x09hmac-sha1\x00",
            Algorithm::HmacSha256 => b"\x0bhmac-sha256\x00",
            Algorithm::HmacSha384 => b"\x0bhmac-sha384\x00",
            Algorithm::HmacSha512 => b"\x0bhmac-sha512\x00",
        }
    }

    /// The algorithm an uncompressed wire name stands for, any case.
    pub fn from_wire_name(wire: &[u8]) -> Option<Algorithm> {
        // Length octets are all below b'A', so a case-insensitive compare
        // of the whole wire form only folds the letters.
        Algorithm::ALL
            .into_iter()
            .find(|algorithm| algorithm.wire_name().eq_ignore_ascii_case(wire))
    }

    /// Length of the full MAC in octets.
    pub fn output_len(self) -> usize {
        match self {
            Algorithm::HmacSha1 => 20,
            Algorithm::HmacSha256 => 32,
            Algorithm::HmacSha384 => 48,
            Algorithm::HmacSha512 => 64,
        }
    }

    /// The shortest MAC RFC 8945 §5.2.2.1 lets anyone send: the larger of
    /// 10 octets and half the output. Shorter is a format error.
    pub fn min_mac_len(self) -> usize {
        (self.output_len() / 2).max(10)
    }

    fn ring(self) -> hmac::Algorithm {
        match self {
            Algorithm::HmacSha1 => hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
            Algorithm::HmacSha256 => hmac::HMAC_SHA256,
            Algorithm::HmacSha384 => hmac::HMAC_SHA384,
            Algorithm::HmacSha512 => hmac::HMAC_SHA512,
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a key or key file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("{0}")]
    Invalid(String),
}

/// A shared secret. Its `Debug` and `Display` never show the secret.
#[derive(Clone)]
pub struct Key {
    /// Key name, lower case.
    pub name: Name,
    pub algorithm: Algorithm,
    secret: Arc<[u8]>,
    /// The secret prepared for HMAC once, rather than per message.
    hmac: hmac::Key,
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Key")
            .field("name", &self.name)
            .field("algorithm", &self.algorithm)
            .field("secret", &"<redacted>")
            .finish()
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name, self.algorithm)
    }
}

/// Same name, algorithm and secret (the secrets compared in constant time).
impl PartialEq for Key {
    fn eq(&self, other: &Key) -> bool {
        self.name == other.name
            && self.algorithm == other.algorithm
            && bool::from(self.secret().ct_eq(other.secret()))
    }
}

impl Eq for Key {}

impl Key {
    pub fn new(name: Name, algorithm: Algorithm, secret: Vec<u8>) -> Key {
        let hmac = hmac::Key::new(algorithm.ring(), &secret);
        Key {
            name: name.to_lowercase(),
            algorithm,
            secret: secret.into(),
            hmac,
        }
    }
    pub(crate) fn secret(&self) -> &[u8] {
        &self.secret
    }
    /// Octets the TSIG RR this key signs with adds to a message (full
    /// MAC, no Other Data): what a reply must leave room for.
    pub fn tsig_rr_len(&self) -> usize {
        // owner, type, class, TTL, RDLENGTH; algorithm, time, fudge,
        // MAC size, MAC, original ID, error, other len.
        self.name.wire_len()
            + 10
            + self.algorithm.wire_name().len()
            + 6
            + 2
            + 2
            + self.algorithm.output_len()
            + 6
    }
}

/// The keys dnsd knows, by lower-case name.
#[derive(Debug, Clone, Default)]
pub struct Keyring {
    keys: HashMap<Name, Arc<Key>>,
}

impl Keyring {
    pub fn insert(&mut self, key: Key) {
        self.keys.insert(key.name.clone(), Arc::new(key));
    }
    pub fn get(&self, name: &Name) -> Option<&Arc<Key>> {
        self.keys.get(&name.to_lowercase())
    }
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
    pub fn len(&self) -> usize {
        self.keys.len()
    }
}

/// What verifying a request found.
#[derive(Debug)]
pub enum Verified {
    /// No TSIG RR.
    Unsigned,
    /// Signed and valid. `unsigned_len` is the length of the message
    /// without its TSIG RR (ARCOUNT in the message is not adjusted; callers
    /// that parse the request read only up to `unsigned_len`).
    Valid(RequestSignature),
    /// Signed but failing: answer NOTAUTH with [`Failure::append_to`].
    Failed(Failure),
    /// A TSIG RR that is not last, or malformed, or a MAC length the RFC
    /// forbids (§5.2.2.1): FORMERR.
    Malformed,
}

/// A valid request signature: what the reply must be signed against.
#[derive(Debug, Clone)]
pub struct RequestSignature {
    pub key: Arc<Key>,
    /// The request's MAC (the reply's signature covers it).
    pub mac: Vec<u8>,
    /// Length of the request without its TSIG RR.
    pub unsigned_len: usize,
}

/// A failed verification: the TSIG error and what the error reply's TSIG
/// RR must carry.
#[derive(Debug, Clone)]
pub struct Failure {
    /// BADKEY, BADSIG, BADTIME or BADTRUNC.
    pub error: Rcode,
    /// Length of the request without its TSIG RR.
    pub unsigned_len: usize,
    /// The key name and algorithm as the request spelt them (echoed).
    key_name: Name,
    algorithm: Box<[u8]>,
    /// Set when the request's MAC verified (BADTIME, BADTRUNC): the error
    /// reply is then signed with it (RFC 8945 §5.3.2).
    key: Option<Arc<Key>>,
    request_mac: Vec<u8>,
    time_signed: u64,
    fudge: u16,
}

impl Failure {
    /// Appends the TSIG RR of the error reply to `reply` (a complete
    /// message whose RCODE the caller has set to NOTAUTH) and bumps its
    /// ARCOUNT. BADKEY/BADSIG: empty MAC; BADTIME: signed, with our time
    /// in Other Data (RFC 8945 §5.2.3); BADTRUNC: signed.
    pub fn append_to(&self, reply: &mut Vec<u8>, now: u64) {
        if reply.len() < HEADER_LEN {
            return;
        }
        let id = u16::from_be_bytes([reply[0], reply[1]]);
        let Some(key) = &self.key else {
            // The key or the MAC is what failed: nothing may be signed
            // with it, and the request's time is echoed.
            let rr = TsigFields {
                key_name: self.key_name.as_wire(),
                algorithm: &self.algorithm,
                time_signed: self.time_signed,
                fudge: self.fudge,
                mac: &[],
                original_id: id,
                error: self.error.0,
                other: &[],
            };
            rr.append_to(reply);
            return;
        };
        // BADTIME echoes the client's time (so the client can match the
        // reply to its request) and carries ours in Other Data.
        let our_time = encode_time(now);
        let (time_signed, other): (u64, &[u8]) = if self.error == BADTIME {
            (self.time_signed, &our_time)
        } else {
            (now, &[])
        };
        let mut ctx = hmac::Context::with_key(&key.hmac);
        update_prior_mac(&mut ctx, &self.request_mac);
        ctx.update(reply);
        update_variables(
            &mut ctx,
            &Variables {
                key_name: &key.name,
                algorithm: key.algorithm,
                time_signed,
                fudge: FUDGE,
                error: self.error.0,
                other,
            },
        );
        let mac = ctx.sign();
        let rr = TsigFields {
            key_name: key.name.as_wire(),
            algorithm: key.algorithm.wire_name(),
            time_signed,
            fudge: FUDGE,
            mac: mac.as_ref(),
            original_id: id,
            error: self.error.0,
            other,
        };
        rr.append_to(reply);
    }
}

/// Verifies the TSIG RR of `message`, if any, against `keys` at time `now`
/// (seconds since the epoch). Checks run in RFC 8945 §5.2's order: key,
/// MAC, time, truncation policy.
pub fn verify_request(message: &[u8], keys: &Keyring, now: u64) -> Verified {
    // Without any record there is no TSIG RR; this skips the walk for
    // plain queries without EDNS.
    if message.len() >= HEADER_LEN && message[6..HEADER_LEN].iter().all(|&b| b == 0) {
        return Verified::Unsigned;
    }
    let tsig = match find_tsig(message) {
        Ok(Some(tsig)) => tsig,
        Ok(None) => return Verified::Unsigned,
        Err(Malformed) => return Verified::Malformed,
    };
    let failure = |error: Rcode, key: Option<&Arc<Key>>| {
        Verified::Failed(Failure {
            error,
            unsigned_len: tsig.start,
            key_name: tsig.key_name.clone(),
            algorithm: tsig.algorithm.into(),
            key: key.cloned(),
            request_mac: tsig.mac.to_vec(),
            time_signed: tsig.time_signed,
            fudge: tsig.fudge,
        })
    };
    let key = match keys.get(&tsig.key_name) {
        Some(key) if Algorithm::from_wire_name(tsig.algorithm) == Some(key.algorithm) => key,
        _ => return failure(BADKEY, None),
    };
    let algorithm = key.algorithm;
    if tsig.mac.len() > algorithm.output_len() || tsig.mac.len() < algorithm.min_mac_len() {
        return Verified::Malformed;
    }
    let mut ctx = hmac::Context::with_key(&key.hmac);
    update_message(&mut ctx, message, &tsig);
    update_variables(&mut ctx, &tsig.variables(key));
    if !mac_matches(ctx.sign().as_ref(), tsig.mac) {
        return failure(BADSIG, None);
    }
    if now.abs_diff(tsig.time_signed) > u64::from(tsig.fudge) {
        return failure(BADTIME, Some(key));
    }
    if tsig.mac.len() < MIN_MAC_LEN.min(algorithm.output_len()) {
        return failure(BADTRUNC, Some(key));
    }
    Verified::Valid(RequestSignature {
        key: key.clone(),
        mac: tsig.mac.to_vec(),
        unsigned_len: tsig.start,
    })
}

/// Signs a sequence of reply messages to one request: the first covers the
/// request MAC, each later one the previous MAC (RFC 8945 §5.3.1). dnsd
/// signs every message.
pub struct ResponseSigner {
    key: Arc<Key>,
    /// The digest so far: the prior MAC (the request's, then our last
    /// one), then any messages left unsigned since.
    running: hmac::Context,
    first: bool,
}

impl ResponseSigner {
    pub fn new(request: &RequestSignature) -> ResponseSigner {
        ResponseSigner {
            key: request.key.clone(),
            running: running_digest(&request.key, &request.mac),
            first: true,
        }
    }
    /// Octets [`sign`](Self::sign) adds to each message.
    pub fn tsig_rr_len(&self) -> usize {
        self.key.tsig_rr_len()
    }
    /// Appends a TSIG RR to `message` (complete, header included) and bumps
    /// its ARCOUNT.
    pub fn sign(&mut self, message: &mut Vec<u8>, now: u64) {
        if message.len() < HEADER_LEN {
            return;
        }
        let key = &self.key;
        let mut ctx = self.running.clone();
        ctx.update(message);
        if self.first {
            update_variables(&mut ctx, &Variables::plain(key, now));
        } else {
            update_timers(&mut ctx, now, FUDGE);
        }
        let mac = ctx.sign();
        TsigFields::plain(key, now, mac.as_ref(), message).append_to(message);
        self.running = running_digest(key, mac.as_ref());
        self.first = false;
    }
    /// Sends `message` unsigned: it is folded into the next signed
    /// message's MAC (RFC 8945 §5.3.1 allows up to 99 in a row, never the
    /// first or the last). dnsd itself signs every message; this is for
    /// peers and tests that do not.
    pub fn leave_unsigned(&mut self, message: &[u8]) {
        self.running.update(message);
    }
}

/// A digest that starts with a prior MAC, ready for the next message.
fn running_digest(key: &Key, prior_mac: &[u8]) -> hmac::Context {
    let mut ctx = hmac::Context::with_key(&key.hmac);
    update_prior_mac(&mut ctx, prior_mac);
    ctx
}

/// Why a signed reply to our own request failed verification.
#[derive(Debug, thiserror::Error)]
pub enum ReplyError {
    #[error("reply not signed")]
    Unsigned,
    #[error("reply's TSIG is malformed")]
    Malformed,
    #[error("reply carries TSIG error {0}")]
    Error(u16),
    #[error("reply's MAC does not verify")]
    BadMac,
    #[error("reply's time is outside the fudge window")]
    BadTime,
    #[error("more than 99 unsigned messages in a row")]
    TooManyUnsigned,
    #[error("the last message is not signed")]
    LastUnsigned,
}

/// The client side: signs a request, then verifies the reply messages in
/// order (a transfer may leave up to 99 messages unsigned between signed
/// ones, RFC 8945 §5.3.1; the last must be signed).
pub struct RequestSigner {
    key: Arc<Key>,
    /// The digest of the reply stream so far: the prior MAC (the request's,
    /// then the last verified reply's), then every unsigned message since.
    /// Cloned to check each signed message, so a forgery leaves it intact.
    running: hmac::Context,
    /// A signed reply has verified; later ones digest only the timers.
    verified_any: bool,
    unsigned_run: usize,
}

impl RequestSigner {
    /// Appends a TSIG RR to `request` (complete, header included), bumps
    /// its ARCOUNT and remembers the MAC for verifying the reply.
    pub fn sign(key: Arc<Key>, request: &mut Vec<u8>, now: u64) -> RequestSigner {
        let mut ctx = hmac::Context::with_key(&key.hmac);
        ctx.update(request);
        update_variables(&mut ctx, &Variables::plain(&key, now));
        let mac = ctx.sign();
        if request.len() >= HEADER_LEN {
            TsigFields::plain(&key, now, mac.as_ref(), request).append_to(request);
        }
        RequestSigner {
            running: running_digest(&key, mac.as_ref()),
            key,
            verified_any: false,
            unsigned_run: 0,
        }
    }
    /// Verifies the next reply message; returns its length without the
    /// TSIG RR (the part to parse).
    pub fn verify(&mut self, message: &[u8], now: u64) -> Result<usize, ReplyError> {
        let tsig = find_tsig(message).map_err(|Malformed| ReplyError::Malformed)?;
        let Some(tsig) = tsig else {
            if !self.verified_any {
                return Err(ReplyError::Unsigned);
            }
            if self.unsigned_run >= MAX_UNSIGNED_RUN {
                return Err(ReplyError::TooManyUnsigned);
            }
            self.running.update(message);
            self.unsigned_run += 1;
            return Ok(message.len());
        };
        if tsig.mac.is_empty() && tsig.error != 0 {
            // BADKEY/BADSIG replies cannot be signed; report what they say.
            return Err(ReplyError::Error(tsig.error));
        }
        let algorithm = self.key.algorithm;
        if tsig.key_name != self.key.name
            || Algorithm::from_wire_name(tsig.algorithm) != Some(algorithm)
        {
            return Err(ReplyError::BadMac);
        }
        if tsig.mac.len() > algorithm.output_len() || tsig.mac.len() < algorithm.min_mac_len() {
            return Err(ReplyError::Malformed);
        }
        let mut ctx = self.running.clone();
        update_message(&mut ctx, message, &tsig);
        if self.verified_any {
            update_timers(&mut ctx, tsig.time_signed, tsig.fudge);
        } else {
            update_variables(&mut ctx, &tsig.variables(&self.key));
        }
        if !mac_matches(ctx.sign().as_ref(), tsig.mac) {
            return Err(ReplyError::BadMac);
        }
        if tsig.error != 0 {
            return Err(ReplyError::Error(tsig.error));
        }
        if now.abs_diff(tsig.time_signed) > u64::from(tsig.fudge) {
            return Err(ReplyError::BadTime);
        }
        self.running = running_digest(&self.key, tsig.mac);
        self.verified_any = true;
        self.unsigned_run = 0;
        Ok(tsig.start)
    }
    /// Call after the last message: fails if it was not signed.
    pub fn finish(&self) -> Result<(), ReplyError> {
        if !self.verified_any {
            Err(ReplyError::Unsigned)
        } else if self.unsigned_run > 0 {
            Err(ReplyError::LastUnsigned)
        } else {
            Ok(())
        }
    }
}

// ----------- MAC inputs (RFC 8945 §4.3) -----------

/// The TSIG variables of §4.3.3, digested after the message.
struct Variables<'a> {
    key_name: &'a Name,
    algorithm: Algorithm,
    time_signed: u64,
    fudge: u16,
    error: u16,
    other: &'a [u8],
}

impl<'a> Variables<'a> {
    /// Ours, on a message without error.
    fn plain(key: &'a Key, now: u64) -> Variables<'a> {
        Variables {
            key_name: &key.name,
            algorithm: key.algorithm,
            time_signed: now,
            fudge: FUDGE,
            error: 0,
            other: &[],
        }
    }
}

fn update_variables(ctx: &mut hmac::Context, variables: &Variables<'_>) {
    // Canonical form: the key name lower-cased, class ANY, TTL 0.
    ctx.update(variables.key_name.to_lowercase().as_wire());
    ctx.update(&CLASS_ANY.to_be_bytes());
    ctx.update(&0u32.to_be_bytes());
    ctx.update(variables.algorithm.wire_name());
    update_timers(ctx, variables.time_signed, variables.fudge);
    ctx.update(&variables.error.to_be_bytes());
    ctx.update(&(variables.other.len() as u16).to_be_bytes());
    ctx.update(variables.other);
}

fn update_timers(ctx: &mut hmac::Context, time_signed: u64, fudge: u16) {
    ctx.update(&encode_time(time_signed));
    ctx.update(&fudge.to_be_bytes());
}

/// A prior MAC (the request's, or the previous message's) with its length.
fn update_prior_mac(ctx: &mut hmac::Context, mac: &[u8]) {
    ctx.update(&(mac.len() as u16).to_be_bytes());
    ctx.update(mac);
}

/// The message as it was before the TSIG RR was added: without it, ARCOUNT
/// one lower and the original ID back in place.
fn update_message(ctx: &mut hmac::Context, message: &[u8], tsig: &TsigRecord<'_>) {
    let mut header = [0u8; HEADER_LEN];
    header.copy_from_slice(&message[..HEADER_LEN]);
    header[..2].copy_from_slice(&tsig.original_id.to_be_bytes());
    // find_tsig only returns a TSIG RR counted in ARCOUNT, so it is >= 1.
    let arcount = u16::from_be_bytes([header[10], header[11]]).saturating_sub(1);
    header[10..].copy_from_slice(&arcount.to_be_bytes());
    ctx.update(&header);
    ctx.update(&message[HEADER_LEN..tsig.start]);
}

fn mac_matches(computed: &[u8], received: &[u8]) -> bool {
    // A truncated MAC is compared with the same prefix of ours (§5.2.2.1);
    // the callers have checked received.len() <= computed.len().
    received.len() <= computed.len() && bool::from(computed[..received.len()].ct_eq(received))
}

fn encode_time(time: u64) -> [u8; 6] {
    let bytes = (time & TIME_MASK).to_be_bytes();
    [bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7]]
}

// ----------- the TSIG RR on the wire (RFC 8945 §4.2) -----------

/// A TSIG RR to write.
struct TsigFields<'a> {
    key_name: &'a [u8],
    algorithm: &'a [u8],
    time_signed: u64,
    fudge: u16,
    mac: &'a [u8],
    original_id: u16,
    error: u16,
    other: &'a [u8],
}

impl<'a> TsigFields<'a> {
    /// Ours, on a message without error; the original ID is the message's.
    fn plain(key: &'a Key, now: u64, mac: &'a [u8], message: &[u8]) -> TsigFields<'a> {
        TsigFields {
            key_name: key.name.as_wire(),
            algorithm: key.algorithm.wire_name(),
            time_signed: now,
            fudge: FUDGE,
            mac,
            original_id: u16::from_be_bytes([message[0], message[1]]),
            error: 0,
            other: &[],
        }
    }

    /// Appends the RR (uncompressed) and counts it in ARCOUNT. `message`
    /// holds at least a header.
    fn append_to(&self, message: &mut Vec<u8>) {
        let rdlength =
            self.algorithm.len() + 6 + 2 + 2 + self.mac.len() + 2 + 2 + 2 + self.other.len();
        message.extend_from_slice(self.key_name);
        message.extend_from_slice(&TYPE_TSIG.to_be_bytes());
        message.extend_from_slice(&CLASS_ANY.to_be_bytes());
        message.extend_from_slice(&0u32.to_be_bytes());
        message.extend_from_slice(&(rdlength as u16).to_be_bytes());
        message.extend_from_slice(self.algorithm);
        message.extend_from_slice(&encode_time(self.time_signed));
        message.extend_from_slice(&self.fudge.to_be_bytes());
        message.extend_from_slice(&(self.mac.len() as u16).to_be_bytes());
        message.extend_from_slice(self.mac);
        message.extend_from_slice(&self.original_id.to_be_bytes());
        message.extend_from_slice(&self.error.to_be_bytes());
        message.extend_from_slice(&(self.other.len() as u16).to_be_bytes());
        message.extend_from_slice(self.other);
        let arcount = u16::from_be_bytes([message[10], message[11]]).saturating_add(1);
        message[10..HEADER_LEN].copy_from_slice(&arcount.to_be_bytes());
    }
}

/// A message that cannot carry a valid TSIG RR: FORMERR.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Malformed;

/// A TSIG RR found in a message.
#[derive(Debug)]
struct TsigRecord<'a> {
    /// Offset of the RR: the length of the message without it.
    start: usize,
    key_name: Name,
    /// Uncompressed wire name, as received.
    algorithm: &'a [u8],
    time_signed: u64,
    fudge: u16,
    mac: &'a [u8],
    original_id: u16,
    error: u16,
    other: &'a [u8],
}

impl<'a> TsigRecord<'a> {
    /// The variables as the sender digested them, with `key`'s algorithm
    /// (which matched the received name) in canonical form.
    fn variables(&'a self, key: &Key) -> Variables<'a> {
        Variables {
            key_name: &self.key_name,
            algorithm: key.algorithm,
            time_signed: self.time_signed,
            fudge: self.fudge,
            error: self.error,
            other: self.other,
        }
    }
}

/// Walks `message` to its TSIG RR. `Ok(None)`: there is none; `Err`: the
/// message is cut short, or has a TSIG RR that is not the last record of
/// the additional section, or a malformed one.
fn find_tsig(message: &[u8]) -> Result<Option<TsigRecord<'_>>, Malformed> {
    let mut reader = Reader { message, pos: 0 };
    let header = reader.take(HEADER_LEN)?;
    let count = |i: usize| u16::from_be_bytes([header[i], header[i + 1]]) as usize;
    let (qdcount, ancount, nscount, arcount) = (count(4), count(6), count(8), count(10));
    for _ in 0..qdcount {
        reader.skip_name()?;
        reader.take(4)?;
    }
    let records = ancount + nscount + arcount;
    let mut found = None;
    for index in 0..records {
        let start = reader.pos;
        reader.skip_name()?;
        let rtype = reader.u16()?;
        let class = reader.u16()?;
        reader.take(4)?;
        let rdlength = reader.u16()? as usize;
        let rdata_start = reader.pos;
        reader.take(rdlength)?;
        if rtype == TYPE_TSIG {
            if index + 1 != records || index < ancount + nscount || class != CLASS_ANY {
                return Err(Malformed);
            }
            found = Some(parse_tsig(message, start, rdata_start, rdlength)?);
        }
    }
    if found.is_some() && reader.pos != message.len() {
        return Err(Malformed);
    }
    Ok(found)
}

fn parse_tsig(
    message: &[u8],
    start: usize,
    rdata_start: usize,
    rdlength: usize,
) -> Result<TsigRecord<'_>, Malformed> {
    let key_name = read_name(message, start)?;
    let rdata = &message[rdata_start..rdata_start + rdlength];
    let algorithm_len = wire_name_len(rdata).map_err(|_| Malformed)?;
    let mut reader = Reader {
        message: rdata,
        pos: 0,
    };
    let algorithm = reader.take(algorithm_len)?;
    let time = reader.take(6)?;
    let time_signed = time.iter().fold(0u64, |acc, &b| acc << 8 | u64::from(b));
    let fudge = reader.u16()?;
    let mac_len = reader.u16()? as usize;
    let mac = reader.take(mac_len)?;
    let original_id = reader.u16()?;
    let error = reader.u16()?;
    let other_len = reader.u16()? as usize;
    let other = reader.take(other_len)?;
    if reader.pos != rdata.len() {
        return Err(Malformed);
    }
    Ok(TsigRecord {
        start,
        key_name,
        algorithm,
        time_signed,
        fudge,
        mac,
        original_id,
        error,
        other,
    })
}

/// Reads the (possibly compressed) name at `pos`. Pointers must point
/// backwards, so following them always ends.
fn read_name(message: &[u8], mut pos: usize) -> Result<Name, Malformed> {
    let mut wire = Vec::with_capacity(32);
    let mut limit = pos;
    loop {
        let len = *message.get(pos).ok_or(Malformed)? as usize;
        match len & 0xC0 {
            0x00 if len == 0 => {
                wire.push(0);
                return Name::from_wire(&wire).map_err(|_| Malformed);
            }
            0x00 => {
                let label = message.get(pos..pos + 1 + len).ok_or(Malformed)?;
                wire.extend_from_slice(label);
                if wire.len() >= dnstypes::name::MAX_NAME_LEN {
                    return Err(Malformed);
                }
                pos += 1 + len;
            }
            0xC0 => {
                let low = *message.get(pos + 1).ok_or(Malformed)? as usize;
                let target = (len & 0x3F) << 8 | low;
                if target >= limit {
                    return Err(Malformed);
                }
                limit = target;
                pos = target;
            }
            _ => return Err(Malformed),
        }
    }
}

/// A bounds-checked cursor over wire bytes.
struct Reader<'a> {
    message: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, len: usize) -> Result<&'a [u8], Malformed> {
        let end = self.pos.checked_add(len).ok_or(Malformed)?;
        let bytes = self.message.get(self.pos..end).ok_or(Malformed)?;
        self.pos = end;
        Ok(bytes)
    }
    fn u16(&mut self) -> Result<u16, Malformed> {
        let bytes = self.take(2)?;
        Ok(u16::from_be_bytes([bytes[0], bytes[1]]))
    }
    /// Skips a name, stopping at a compression pointer.
    fn skip_name(&mut self) -> Result<(), Malformed> {
        loop {
            let len = self.take(1)?[0] as usize;
            match len & 0xC0 {
                0x00 if len == 0 => return Ok(()),
                0x00 => {
                    self.take(len)?;
                }
                0xC0 => {
                    self.take(1)?;
                    return Ok(());
                }
                _ => return Err(Malformed),
            }
        }
    }
}
