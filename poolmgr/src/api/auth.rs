//! Bearer-token authentication (PDM §10.5): tokens are configured as
//! SHA-256 hashes with a scope and, optionally, a name, presented as
//! `Authorization: Bearer …`, compared in constant time. `caller` tokens
//! reach the allocation and registrar routes; `operator` tokens also reach
//! listings and may act on every allocation.
//!
//! A token speaks for an [`Identity`]: the entry's name
//! (`NAME=scope:sha256hex`), or for an unnamed entry `token:` and the first
//! 16 hex digits of its hash. Allocations belong to the identity that
//! reserved them, so two tokens under one name (a rotation) share their
//! allocations, and two unnamed tokens never do. The middleware hands the
//! handlers a [`Caller`] as a request extension.

use std::path::Path;

use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;

use super::error::ApiError;

/// What a token may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scope {
    /// Reserve, commit, renew, release, check, registrar calls.
    Caller,
    /// Everything a caller may do, plus listings and metrics.
    Operator,
}

impl Scope {
    fn parse(s: &str) -> Option<Scope> {
        match s.trim() {
            "caller" => Some(Scope::Caller),
            "operator" => Some(Scope::Operator),
            _ => None,
        }
    }
}

/// Who a token speaks for (never the secret): the configured name, or
/// `token:<16 hex digits of the hash>` for an unnamed entry, which an
/// operator can find in the configuration.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Identity(String);

impl Identity {
    /// The identity as stored with allocations.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A configured name: 1–64 characters of `A-Z a-z 0-9 . _ -`, first a
    /// letter or digit (so it can never look like a derived `token:` one).
    fn named(name: &str) -> Option<Identity> {
        let ok = !name.is_empty()
            && name.len() <= 64
            && name.as_bytes()[0].is_ascii_alphanumeric()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        ok.then(|| Identity(name.to_owned()))
    }

    /// The identity of an unnamed entry with this hash.
    fn of_hash(hash: &[u8; 32]) -> Identity {
        Identity(format!("token:{}", hex::encode(&hash[..8])))
    }
}

impl std::fmt::Display for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// An accepted token: whom it speaks for and what it may do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    /// Its identity.
    pub identity: Identity,
    /// Its scope.
    pub scope: Scope,
}

/// Who sent a request, as the middleware established it; a request
/// extension on every authenticated route.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Caller {
    /// Authentication is off (`POOLMGR_AUTH_DISABLED`, PDM's behaviour):
    /// anyone may act on anything, and nothing is owned.
    Unauthenticated,
    /// A configured token.
    Token(Principal),
}

/// A configuration mistake in the token list.
#[derive(Debug, thiserror::Error)]
pub enum AuthConfigError {
    /// An entry is not `[NAME=]scope:64-hex-digits`.
    #[error(
        "{source_name}: entry {index}: expected [NAME=]caller:<sha256 hex> or [NAME=]operator:<sha256 hex>, \
         NAME being 1-64 of A-Z a-z 0-9 . _ - (see `poolmgr hash-token`)"
    )]
    Entry {
        /// Where the entry came from.
        source_name: String,
        /// 1-based position.
        index: usize,
    },
    /// One token configured under two identities: whose would its
    /// allocations be?
    #[error("{source_name}: entry {index}: this token is already configured under another name")]
    Ambiguous {
        /// Where the entry came from.
        source_name: String,
        /// 1-based position.
        index: usize,
    },
    /// The token file could not be read.
    #[error("{path}: {error}")]
    File {
        /// The file.
        path: String,
        /// Why.
        error: std::io::Error,
    },
    /// Neither tokens nor the explicit opt-out.
    #[error(
        "no bearer tokens configured: set POOLMGR_AUTH_TOKENS or POOLMGR_AUTH_TOKENS_FILE, or POOLMGR_AUTH_DISABLED=true to serve without authentication"
    )]
    Missing,
}

/// One configured token.
#[derive(Clone)]
struct Entry {
    scope: Scope,
    identity: Identity,
    hash: [u8; 32],
}

/// The configured tokens, or none when authentication is off.
#[derive(Clone, Default)]
pub struct Auth {
    enabled: bool,
    hashes: Vec<Entry>,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth")
            .field("enabled", &self.enabled)
            .field("tokens", &self.hashes.len())
            .finish()
    }
}

impl Auth {
    /// Authentication switched off (explicit operator choice).
    pub fn disabled() -> Auth {
        Auth::default()
    }

    /// Reads `[NAME=]scope:hex` entries from the setting and the file; at
    /// least one entry is required.
    pub fn from_settings(
        inline: Option<&str>,
        file: Option<&Path>,
    ) -> Result<Auth, AuthConfigError> {
        let mut hashes = Vec::new();
        if let Some(list) = inline {
            parse_entries(list.split(','), "POOLMGR_AUTH_TOKENS", &mut hashes)?;
        }
        if let Some(path) = file {
            let text = std::fs::read_to_string(path).map_err(|error| AuthConfigError::File {
                path: path.display().to_string(),
                error,
            })?;
            let lines = text.lines().filter(|l| !l.trim_start().starts_with('#'));
            parse_entries(lines, &path.display().to_string(), &mut hashes)?;
        }
        if hashes.is_empty() {
            return Err(AuthConfigError::Missing);
        }
        Ok(Auth {
            enabled: true,
            hashes,
        })
    }

    /// Whether tokens are checked.
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// The identity and scope of a presented token, or `None` when it
    /// matches nothing. Every configured hash is compared, so the time
    /// taken does not say which one matched; a token listed with both
    /// scopes gets the wider one.
    pub fn authenticate(&self, token: &str) -> Option<Principal> {
        use sha2::Digest;
        let digest: [u8; 32] = sha2::Sha256::digest(token.as_bytes()).into();
        let mut best: Option<&Entry> = None;
        for entry in &self.hashes {
            if bool::from(entry.hash.ct_eq(&digest)) && best.is_none_or(|b| entry.scope > b.scope) {
                best = Some(entry);
            }
        }
        best.map(|e| Principal {
            identity: e.identity.clone(),
            scope: e.scope,
        })
    }

    /// The scope of a presented token, or `None` when it matches nothing.
    pub fn scope_of(&self, token: &str) -> Option<Scope> {
        self.authenticate(token).map(|p| p.scope)
    }
}

fn parse_entries<'a>(
    entries: impl Iterator<Item = &'a str>,
    source_name: &str,
    out: &mut Vec<Entry>,
) -> Result<(), AuthConfigError> {
    for (i, entry) in entries.enumerate() {
        let entry = entry.trim();
        if entry.is_empty() {
            continue;
        }
        let bad = || AuthConfigError::Entry {
            source_name: source_name.to_owned(),
            index: i + 1,
        };
        let (name, entry) = match entry.split_once('=') {
            Some((name, rest)) => (
                Some(Identity::named(name.trim()).ok_or_else(bad)?),
                rest.trim(),
            ),
            None => (None, entry),
        };
        let (scope, hex_hash) = entry.split_once(':').ok_or_else(bad)?;
        let scope = Scope::parse(scope).ok_or_else(bad)?;
        let hex_hash = hex_hash.trim().trim_start_matches("sha256:");
        let mut hash = [0u8; 32];
        hex::decode_to_slice(hex_hash, &mut hash).map_err(|_| bad())?;
        let identity = name.unwrap_or_else(|| Identity::of_hash(&hash));
        if out.iter().any(|e| e.hash == hash && e.identity != identity) {
            return Err(AuthConfigError::Ambiguous {
                source_name: source_name.to_owned(),
                index: i + 1,
            });
        }
        out.push(Entry {
            scope,
            identity,
            hash,
        });
    }
    Ok(())
}

/// The line to configure for `token` with `scope`, under `name` when
/// given (`NAME=scope:hex`).
pub fn hash_entry(scope: &str, token: &str, name: Option<&str>) -> Result<String, String> {
    use sha2::Digest;
    Scope::parse(scope).ok_or_else(|| format!("scope {scope:?} is not caller or operator"))?;
    if token.trim().len() < 16 {
        return Err("a token must have at least 16 characters".into());
    }
    let prefix = match name {
        Some(name) => {
            let id = Identity::named(name.trim()).ok_or_else(|| {
                format!("name {name:?} must be 1-64 of A-Z a-z 0-9 . _ -, starting with a letter or digit")
            })?;
            format!("{id}=")
        }
        None => String::new(),
    };
    Ok(format!(
        "{prefix}{}:{}",
        scope.trim(),
        hex::encode(sha2::Sha256::digest(token.trim().as_bytes()))
    ))
}

/// Middleware: requires a token with at least `needed` scope.
pub async fn require(
    auth: std::sync::Arc<Auth>,
    needed: Scope,
    req: Request,
    next: Next,
) -> Response {
    let mut req = req;
    if !auth.enabled() {
        req.extensions_mut().insert(Caller::Unauthenticated);
        return next.run(req).await;
    }
    let presented = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, token) = v.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        });
    match presented.and_then(|t| auth.authenticate(t)) {
        Some(principal) if principal.scope >= needed => {
            req.extensions_mut().insert(Caller::Token(principal));
            next.run(req).await
        }
        Some(_) => ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "this token's scope does not allow this route (operator scope needed)",
        )
        .into_response(),
        None => {
            let mut resp = ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "missing or unknown bearer token (Authorization: Bearer <token>)",
            )
            .into_response();
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer realm=\"poolmgr\""),
            );
            resp
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_and_hashes() {
        let caller = hash_entry("caller", "caller-token-0123456789", None).unwrap();
        let operator = hash_entry("operator", "operator-token-0123456789", None).unwrap();
        let auth = Auth::from_settings(Some(&format!("{caller}, {operator}")), None).unwrap();
        assert_eq!(
            auth.scope_of("caller-token-0123456789"),
            Some(Scope::Caller)
        );
        assert_eq!(
            auth.scope_of("operator-token-0123456789"),
            Some(Scope::Operator)
        );
        assert_eq!(auth.scope_of("caller-token-012345678"), None);
        assert!(!format!("{auth:?}").contains(&caller[7..]));
    }

    #[test]
    fn bad_configuration_is_refused() {
        assert!(matches!(
            Auth::from_settings(None, None),
            Err(AuthConfigError::Missing)
        ));
        assert!(Auth::from_settings(Some("admin:00"), None).is_err());
        assert!(Auth::from_settings(Some("caller:zz"), None).is_err());
        assert!(hash_entry("caller", "short", None).is_err());
        assert!(hash_entry("caller", "caller-token-0123456789", Some("a b")).is_err());
        assert!(Auth::from_settings(Some("-x=caller:00"), None).is_err());
        // One token under two names: whose would its allocations be?
        let a = hash_entry("caller", "caller-token-0123456789", Some("a")).unwrap();
        let b = hash_entry("operator", "caller-token-0123456789", Some("b")).unwrap();
        let e = Auth::from_settings(Some(&format!("{a},{b}")), None).unwrap_err();
        assert!(
            matches!(e, AuthConfigError::Ambiguous { index: 2, .. }),
            "{e}"
        );
    }

    #[test]
    fn identities_are_names_or_derived_from_the_hash() {
        let named =
            hash_entry("caller", "catalyst-token-0123456789", Some("catalyst-api")).unwrap();
        assert!(named.starts_with("catalyst-api=caller:"), "{named}");
        // A rotation: a second token under the same name.
        let rotated =
            hash_entry("caller", "catalyst-token-9876543210", Some("catalyst-api")).unwrap();
        let unnamed = hash_entry("caller", "crossplane-token-0123456789", None).unwrap();
        let both = hash_entry("operator", "crossplane-token-0123456789", None).unwrap();
        let auth = Auth::from_settings(Some(&format!("{named},{rotated},{unnamed},{both}")), None)
            .unwrap();
        let p = auth.authenticate("catalyst-token-0123456789").unwrap();
        assert_eq!(
            (p.identity.as_str(), p.scope),
            ("catalyst-api", Scope::Caller)
        );
        let p2 = auth.authenticate("catalyst-token-9876543210").unwrap();
        assert_eq!(p2.identity, p.identity);
        let hex = unnamed.strip_prefix("caller:").unwrap();
        let p = auth.authenticate("crossplane-token-0123456789").unwrap();
        assert_eq!(p.identity.as_str(), format!("token:{}", &hex[..16]));
        // Listed with both scopes: the wider one.
        assert_eq!(p.scope, Scope::Operator);
        assert!(auth.authenticate("catalyst-token-012345678").is_none());
    }
}
