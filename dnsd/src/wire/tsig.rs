//! TSIG (RFC 8945): shared-secret transaction signatures on DNS messages.
//!
//! Used both ways: as a server, to verify signed requests (queries, NOTIFY,
//! AXFR/IXFR) and sign the replies, every message of a transfer included;
//! as a secondary, to sign the SOA/IXFR/AXFR requests and NOTIFYs dnsd
//! sends and verify what comes back. Secrets never appear in `Debug` or
//! logs; MACs are compared in constant time.
//!
//! SKELETON: the signatures below are the contract the rest of dnsd codes
//! against; bodies are filled in by the TSIG work.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use crate::wire::{Name, Rcode};

/// Seconds a signed message's time may differ from ours (RFC 8945 §10).
pub const FUDGE: u16 = 300;

/// TSIG error codes carried in the TSIG RR's Error field (RFC 8945 §3).
pub const BADSIG: Rcode = Rcode(16);
pub const BADKEY: Rcode = Rcode(17);
pub const BADTIME: Rcode = Rcode(18);
pub const BADTRUNC: Rcode = Rcode(22);

/// A MAC algorithm (RFC 8945 §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    HmacSha1,
    HmacSha256,
    HmacSha384,
    HmacSha512,
}

impl Algorithm {
    /// The algorithm's name as it appears in the TSIG RR and in
    /// `--tsig-key` (`hmac-sha256`, ...), matched case-insensitively.
    pub fn from_name(_name: &str) -> Option<Algorithm> {
        todo!()
    }
    /// The name in presentation form, without the trailing dot.
    pub fn name(self) -> &'static str {
        todo!()
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

impl Key {
    pub fn new(name: Name, algorithm: Algorithm, secret: Vec<u8>) -> Key {
        Key {
            name: name.to_lowercase(),
            algorithm,
            secret: secret.into(),
        }
    }
    /// `ALG:NAME:BASE64SECRET` (kdig's `-y`); ALG may be omitted
    /// (`NAME:SECRET`, meaning hmac-sha256).
    pub fn parse_spec(_spec: &str) -> Result<Key, KeyError> {
        todo!()
    }
    /// The BIND `key "name" { algorithm ...; secret "..."; };` statements
    /// of a key file.
    pub fn parse_key_file(_text: &str) -> Result<Vec<Key>, KeyError> {
        todo!()
    }
    pub(crate) fn secret(&self) -> &[u8] {
        &self.secret
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
}

/// What verifying a request found.
#[derive(Debug)]
pub enum Verified {
    /// No TSIG RR.
    Unsigned,
    /// Signed and valid. `signed_len` is the length of the message without
    /// its TSIG RR (ARCOUNT in the returned copy is not adjusted; callers
    /// that parse the request read only up to `signed_len`).
    Valid(RequestSignature),
    /// Signed but failing: answer NOTAUTH with [`Failure::append_to`].
    Failed(Failure),
    /// A TSIG RR that is not last, or malformed: FORMERR.
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
    /// BADKEY, BADSIG or BADTIME.
    pub error: Rcode,
    /// Length of the request without its TSIG RR.
    pub unsigned_len: usize,
    // (the key name, algorithm, request MAC and times the error RR needs)
}

impl Failure {
    /// Appends the TSIG RR of the error reply to `reply` (a complete
    /// message whose RCODE the caller has set to NOTAUTH) and bumps its
    /// ARCOUNT. BADKEY/BADSIG: empty MAC; BADTIME: signed, with our time
    /// in Other Data (RFC 8945 §5.2.3).
    pub fn append_to(&self, _reply: &mut Vec<u8>, _now: u64) {
        todo!()
    }
}

/// Verifies the TSIG RR of `message`, if any, against `keys` at time `now`
/// (seconds since the epoch).
pub fn verify_request(_message: &[u8], _keys: &Keyring, _now: u64) -> Verified {
    todo!()
}

/// Signs a sequence of reply messages to one request: the first covers the
/// request MAC, each later one the previous MAC (RFC 8945 §5.3.1). dnsd
/// signs every message.
pub struct ResponseSigner {
    // key, prior MAC
}

impl ResponseSigner {
    pub fn new(_request: &RequestSignature) -> ResponseSigner {
        todo!()
    }
    /// Appends a TSIG RR to `message` (complete, header included) and bumps
    /// its ARCOUNT.
    pub fn sign(&mut self, _message: &mut Vec<u8>, _now: u64) {
        todo!()
    }
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
    // key, the MAC of the last verified message, unsigned digest state
}

impl RequestSigner {
    /// Appends a TSIG RR to `request` (complete, header included), bumps
    /// its ARCOUNT and remembers the MAC for verifying the reply.
    pub fn sign(_key: Arc<Key>, _request: &mut Vec<u8>, _now: u64) -> RequestSigner {
        todo!()
    }
    /// Verifies the next reply message; returns its length without the
    /// TSIG RR (the part to parse).
    pub fn verify(&mut self, _message: &[u8], _now: u64) -> Result<usize, ReplyError> {
        todo!()
    }
    /// Call after the last message: fails if it was not signed.
    pub fn finish(&self) -> Result<(), ReplyError> {
        todo!()
    }
}
