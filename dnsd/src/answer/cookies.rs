//! DNS Cookies (RFC 7873) with the interoperable server cookie of RFC 9018:
//! a client that sends a client cookie gets back a server cookie it returns
//! with later queries, which proves those queries came from its address
//! (an off-path attacker cannot see the cookie). Response-rate limiting
//! exempts such clients, and `--require-server-cookie` makes a UDP client
//! that has cookies but no valid server cookie prove its address first
//! (BADCOOKIE with a fresh cookie, RFC 7873 §5.2.3).
//!
//! The server cookie is RFC 9018's version 1: `01 | reserved | timestamp |
//! SipHash-2-4(client cookie | 01 | reserved | timestamp | client address,
//! secret)`. Every server of a fleet given the same secret accepts the
//! cookies any of them hands out (anycast). Secrets rotate through a file
//! (`--cookie-secret-file`: the current secret, then optionally the previous
//! one, which is still accepted but never used for new cookies), re-read on
//! SIGHUP.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arc_swap::ArcSwap;
use subtle::ConstantTimeEq as _;

/// A cookie-bearing query's COOKIE option (RFC 7873 §4): the client cookie
/// and the server cookie the client returned, if any.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct ClientCookie {
    pub client: [u8; 8],
    server: [u8; 32],
    server_len: u8,
}

impl std::fmt::Debug for ClientCookie {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientCookie")
            .field("server_len", &self.server_len)
            .finish_non_exhaustive()
    }
}

impl ClientCookie {
    /// The option's value: 8 octets (client cookie only) or 16 to 40
    /// (with a server cookie of 8 to 32); anything else is malformed.
    pub fn parse(value: &[u8]) -> Option<ClientCookie> {
        if !(value.len() == 8 || (16..=40).contains(&value.len())) {
            return None;
        }
        let mut cookie = ClientCookie {
            client: value[..8].try_into().ok()?,
            server: [0; 32],
            server_len: (value.len() - 8) as u8,
        };
        cookie.server[..value.len() - 8].copy_from_slice(&value[8..]);
        Some(cookie)
    }

    /// The server cookie the client returned.
    pub fn server(&self) -> &[u8] {
        &self.server[..usize::from(self.server_len)]
    }
}

/// The secrets server cookies are made and checked with.
#[derive(Clone, PartialEq, Eq)]
pub struct CookieSecrets {
    /// Makes new cookies and checks them.
    pub current: [u8; 16],
    /// Only checks them: cookies handed out before a rotation stay valid.
    pub previous: Option<[u8; 16]>,
}

impl std::fmt::Debug for CookieSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CookieSecrets(<redacted>)")
    }
}

/// Why a cookie secret file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SecretFileError {
    #[error("cannot read cookie secret file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "cookie secret file {path}: expected one or two lines of 32 hex digits (the current secret, then the previous one)"
    )]
    Format { path: PathBuf },
}

impl CookieSecrets {
    /// A random secret: cookies this process hands out are its own.
    pub fn random() -> CookieSecrets {
        let mut current = [0u8; 16];
        for chunk in current.chunks_mut(8) {
            chunk.copy_from_slice(&fastrand::u64(..).to_le_bytes());
        }
        CookieSecrets {
            current,
            previous: None,
        }
    }

    /// Reads `path`: the current secret, then optionally the previous one,
    /// each 16 octets as 32 hex digits on a line of its own.
    pub fn read(path: &Path) -> Result<CookieSecrets, SecretFileError> {
        let text = std::fs::read_to_string(path).map_err(|source| SecretFileError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let format = || SecretFileError::Format {
            path: path.to_path_buf(),
        };
        let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
        let current = lines.next().and_then(hex16).ok_or_else(format)?;
        let previous = match lines.next() {
            Some(line) => Some(hex16(line).ok_or_else(format)?),
            None => None,
        };
        if lines.next().is_some() {
            return Err(format());
        }
        Ok(CookieSecrets { current, previous })
    }
}

fn hex16(text: &str) -> Option<[u8; 16]> {
    if text.len() != 32 {
        return None;
    }
    let mut out = [0u8; 16];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// What the cookie stage decided for a query with a COOKIE option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CookieVerdict {
    /// The client returned a server cookie we made, recently enough.
    pub valid: bool,
    /// The COOKIE option of the reply: the client cookie, then our
    /// server cookie (the returned one while fresh, else a new one).
    pub reply: [u8; 24],
}

/// Cookies as configured: the secrets (swapped on SIGHUP) and whether a
/// valid server cookie is required of cookie-aware UDP clients.
#[derive(Debug)]
pub struct Cookies {
    secrets: ArcSwap<CookieSecrets>,
    /// Where the secrets come from, re-read on SIGHUP.
    file: Option<PathBuf>,
    pub require: bool,
}

/// A server cookie is accepted up to an hour after it was made and five
/// minutes before (clock skew between servers of a fleet); one older than
/// half an hour is replaced by a fresh one (RFC 9018 §4.3).
const MAX_AGE: u32 = 3600;
const MAX_AHEAD: u32 = 300;
const RENEW_AFTER: u32 = 1800;

impl Cookies {
    /// Cookies with `secrets`, re-read from `file` on [`Cookies::reload`].
    pub fn new(secrets: CookieSecrets, file: Option<PathBuf>, require: bool) -> Cookies {
        Cookies {
            secrets: ArcSwap::from_pointee(secrets),
            file,
            require,
        }
    }

    /// Re-reads the secret file (SIGHUP); on an error the secrets in use
    /// stay. Returns whether the secrets were read.
    pub fn reload(&self) -> Result<bool, SecretFileError> {
        let Some(file) = &self.file else {
            return Ok(false);
        };
        self.secrets.store(Arc::new(CookieSecrets::read(file)?));
        Ok(true)
    }

    /// Checks `cookie` from `client` at `now` (Unix seconds) and makes the
    /// reply's COOKIE option.
    pub fn check(&self, cookie: &ClientCookie, client: IpAddr, now: u32) -> CookieVerdict {
        let secrets = self.secrets.load();
        let server = cookie.server();
        let mut reply = [0u8; 24];
        reply[..8].copy_from_slice(&cookie.client);
        let age = server
            .get(4..8)
            .map(|t| now.wrapping_sub(u32::from_be_bytes([t[0], t[1], t[2], t[3]])));
        let made_with = |secret: &[u8; 16]| {
            let want = server_hash(secret, &cookie.client, &server[..8], client);
            bool::from(want.ct_eq(&server[8..16]))
        };
        let in_time = age.is_some_and(|age| age <= MAX_AGE || age.wrapping_neg() <= MAX_AHEAD);
        let well_formed = server.len() == 16 && server[0] == 1 && in_time;
        let current = well_formed && made_with(&secrets.current);
        let valid = current || (well_formed && secrets.previous.as_ref().is_some_and(made_with));
        // A cookie made with the previous secret is replaced, so clients
        // move to the current one before the previous is dropped.
        if current && age.is_some_and(|age| age < RENEW_AFTER) {
            reply[8..].copy_from_slice(server);
        } else {
            reply[8..].copy_from_slice(&make_server_cookie(
                &secrets.current,
                &cookie.client,
                client,
                now,
            ));
        }
        CookieVerdict { valid, reply }
    }
}

/// A fresh version-1 server cookie (RFC 9018 §4.2).
pub fn make_server_cookie(
    secret: &[u8; 16],
    client_cookie: &[u8; 8],
    client: IpAddr,
    now: u32,
) -> [u8; 16] {
    let mut cookie = [0u8; 16];
    cookie[0] = 1;
    cookie[4..8].copy_from_slice(&now.to_be_bytes());
    let hash = server_hash(secret, client_cookie, &cookie[..8], client);
    cookie[8..].copy_from_slice(&hash);
    cookie
}

/// The hash part of a server cookie whose first eight octets (version,
/// reserved, timestamp) are `head`.
fn server_hash(secret: &[u8; 16], client_cookie: &[u8; 8], head: &[u8], client: IpAddr) -> [u8; 8] {
    let mut input = [0u8; 8 + 8 + 16];
    input[..8].copy_from_slice(client_cookie);
    input[8..16].copy_from_slice(head);
    let len = match client {
        IpAddr::V4(v4) => {
            input[16..20].copy_from_slice(&v4.octets());
            20
        }
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => {
                input[16..20].copy_from_slice(&v4.octets());
                20
            }
            None => {
                input[16..32].copy_from_slice(&v6.octets());
                32
            }
        },
    };
    siphash24(secret, &input[..len]).to_le_bytes()
}

/// SipHash-2-4 (Aumasson and Bernstein) with a 128-bit key, 64-bit output.
fn siphash24(key: &[u8; 16], data: &[u8]) -> u64 {
    let k0 = u64::from_le_bytes(key[..8].try_into().unwrap_or_default());
    let k1 = u64::from_le_bytes(key[8..].try_into().unwrap_or_default());
    let mut v = [
        k0 ^ 0x736f_6d65_7073_6575,
        k1 ^ 0x646f_7261_6e64_6f6d,
        k0 ^ 0x6c79_6765_6e65_7261,
        k1 ^ 0x7465_6462_7974_6573,
    ];
    fn round(v: &mut [u64; 4]) {
        v[0] = v[0].wrapping_add(v[1]);
        v[1] = v[1].rotate_left(13) ^ v[0];
        v[0] = v[0].rotate_left(32);
        v[2] = v[2].wrapping_add(v[3]);
        v[3] = v[3].rotate_left(16) ^ v[2];
        v[0] = v[0].wrapping_add(v[3]);
        v[3] = v[3].rotate_left(21) ^ v[0];
        v[2] = v[2].wrapping_add(v[1]);
        v[1] = v[1].rotate_left(17) ^ v[2];
        v[2] = v[2].rotate_left(32);
    }
    let mut compress = |word: u64| {
        v[3] ^= word;
        round(&mut v);
        round(&mut v);
        v[0] ^= word;
    };
    let mut chunks = data.chunks_exact(8);
    for chunk in &mut chunks {
        compress(u64::from_le_bytes(chunk.try_into().unwrap_or_default()));
    }
    let mut last = [0u8; 8];
    last[..chunks.remainder().len()].copy_from_slice(chunks.remainder());
    last[7] = data.len() as u8;
    compress(u64::from_le_bytes(last));
    v[2] ^= 0xff;
    for _ in 0..4 {
        round(&mut v);
    }
    v[0] ^ v[1] ^ v[2] ^ v[3]
}

#[cfg(test)]
mod tests;
