//! Sealing registrar tokens kept for task tracking (operator opt-in,
//! `POOLMGR_TOKEN_SEALING_KEY`).
//!
//! ChaCha20-Poly1305 with a fresh random 96-bit nonce per seal, stored as
//! standard base64 of `nonce || ciphertext+tag`. Random nonces are safe
//! here: a key seals at most a few tokens per BYO domain, far below the
//! ~2^32 messages where 96-bit random nonces start to risk a collision.
//!
//! The caller passes associated data (the BYO domain and registrar), so a
//! sealed token copied into another row does not open there: a database
//! writer cannot make poolmgr use one customer's token for another domain.

use base64::Engine as _;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use rand::RngCore as _;
use registrars::Secret;

/// Nonce length of ChaCha20-Poly1305 (IETF), bytes.
const NONCE_LEN: usize = 12;
/// Poly1305 tag length, bytes.
const TAG_LEN: usize = 16;

/// Why a key could not be built or a sealed value not opened. Carries
/// nothing secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    /// The configured key is not 64 hex digits.
    #[error("token sealing key must be 32 bytes written as 64 hex digits")]
    BadKey,
    /// Not base64, or too short to hold a nonce and a tag.
    #[error("sealed value is malformed")]
    Malformed,
    /// Authentication failed: wrong key, wrong associated data, or the
    /// value was altered.
    #[error("sealed value does not open with this key")]
    Unauthentic,
}

/// The key tokens are sealed with. `Debug` never shows it.
#[derive(Clone)]
pub struct SealingKey {
    cipher: ChaCha20Poly1305,
}

impl std::fmt::Debug for SealingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealingKey(***)")
    }
}

impl SealingKey {
    /// The key from its configured form: 64 hex digits.
    pub fn from_secret(secret: &Secret) -> Result<Self, SealError> {
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(secret.expose().trim(), &mut bytes).map_err(|_| SealError::BadKey)?;
        let cipher = ChaCha20Poly1305::new(Key::from_slice(&bytes));
        // Don't leave a copy of the key on the stack longer than needed.
        bytes.fill(0);
        Ok(Self { cipher })
    }

    /// Seals `plaintext`, bound to `aad`; base64 of nonce || ciphertext.
    pub fn seal(&self, plaintext: &Secret, aad: &str) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let sealed = self
            .cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext.expose().as_bytes(),
                    aad: aad.as_bytes(),
                },
            )
            // Encryption only fails for messages beyond 256 GiB.
            .expect("ChaCha20-Poly1305 seals any token-sized message");
        let mut out = Vec::with_capacity(NONCE_LEN + sealed.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        base64::engine::general_purpose::STANDARD.encode(out)
    }

    /// Opens a value made by [`SealingKey::seal`] with the same `aad`.
    pub fn open(&self, sealed: &str, aad: &str) -> Result<Secret, SealError> {
        let raw = base64::engine::general_purpose::STANDARD
            .decode(sealed.trim())
            .map_err(|_| SealError::Malformed)?;
        if raw.len() < NONCE_LEN + TAG_LEN {
            return Err(SealError::Malformed);
        }
        let (nonce, body) = raw.split_at(NONCE_LEN);
        let plain = self
            .cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: body,
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| SealError::Unauthentic)?;
        let text = String::from_utf8(plain).map_err(|_| SealError::Malformed)?;
        Ok(Secret::new(text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY_A: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
    const KEY_B: &str = "ff0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    fn key(hex: &str) -> SealingKey {
        SealingKey::from_secret(&Secret::new(hex)).unwrap()
    }

    #[test]
    fn round_trip_with_fresh_nonces() {
        let k = key(KEY_A);
        let token = Secret::new("key:secret");
        let one = k.seal(&token, "example.com|godaddy");
        let two = k.seal(&token, "example.com|godaddy");
        assert_ne!(one, two, "every seal draws a new nonce");
        assert!(!one.contains("secret"));
        let opened = k.open(&one, "example.com|godaddy").unwrap();
        assert_eq!(opened.expose(), "key:secret");
    }

    #[test]
    fn wrong_key_or_context_fails() {
        let sealed = key(KEY_A).seal(&Secret::new("tok"), "a.com|ovh");
        assert_eq!(
            key(KEY_B).open(&sealed, "a.com|ovh").unwrap_err(),
            SealError::Unauthentic
        );
        assert_eq!(
            key(KEY_A).open(&sealed, "b.com|ovh").unwrap_err(),
            SealError::Unauthentic
        );
        assert_eq!(
            key(KEY_A).open("not base64!", "a.com|ovh").unwrap_err(),
            SealError::Malformed
        );
        assert_eq!(
            key(KEY_A).open("AAAA", "a.com|ovh").unwrap_err(),
            SealError::Malformed
        );
    }

    #[test]
    fn bad_keys_are_refused_and_debug_redacts() {
        assert_eq!(
            SealingKey::from_secret(&Secret::new("abcd")).unwrap_err(),
            SealError::BadKey
        );
        assert_eq!(
            SealingKey::from_secret(&Secret::new("zz".repeat(32))).unwrap_err(),
            SealError::BadKey
        );
        let dbg = format!("{:?}", key(KEY_A));
        assert_eq!(dbg, "SealingKey(***)");
        assert!(!dbg.contains("0102"));
    }
}
